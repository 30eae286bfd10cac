"""Discovery's cost as the landing zone grows: 1k, 10k and 100k old files, already loaded (in the ledger) and
seen by an earlier run, plus one new file. Measured: ``nightly.pipeline.new_files`` (listing, the
ledger's look-ups, hashing, recording), its seconds and the bytes its hashing reader read, and the exponent
b of seconds ∝ old files^b. Target: only the new file's bytes are read, and b <= 0.2. Beside it, the weekly
full pass (every folder listed, ``DGWH_DISCOVERY_FULL=1``) at each size.

The old files are tiny and their ledger and ``ops.landing_seen`` rows are written in bulk with ``COPY``,
so the 100k zone costs seconds to build, not a night of loads; the earlier run is one discovery once the
old files' folders have been still for the settle window.
"""

from __future__ import annotations

import hashlib
import math
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

SIZES = (1_000, 10_000, 100_000)
PER_FOLDER = 1_000
NEW_FILE_ROWS = 2_000
EXPONENT_TARGET = 0.2
HEADER = "ปีงบประมาณ,ชื่อหน่วยงาน,คะแนน\n"


def _old_rel(i: int) -> str:
    return f"readiness/{2550 + i % 10}/batch_{i // PER_FOLDER:04d}/old_{i:06d}.csv"


def _add_old(landing: Path, conn, first: int, last: int) -> int:
    """Old files ``first``..``last - 1``: written, then their ledger and fingerprint rows COPYed in."""
    from ingest.discover import fingerprint

    written: list[tuple[str, str, int]] = []
    for i in range(first, last):
        rel = _old_rel(i)
        data = f"{HEADER}{2550 + i % 10},หน่วยงาน {i},{i % 100}\n".encode()
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append((rel, hashlib.sha256(data).hexdigest(), len(data)))
    zone, received = str(landing).rstrip("/"), datetime(2020, 1, 1, tzinfo=UTC)
    with conn.transaction():
        with conn.cursor().copy("COPY ops.file_ledger (source, content_sha256, path, size_bytes, received_at, "
                                "run_id, status) FROM STDIN") as copy:
            for rel, sha, size in written:
                copy.write_row(("readiness", sha, rel, size, received, "bench-discovery", "loaded"))
        with conn.cursor().copy("COPY ops.landing_seen (landing_zone, path, source, fingerprint, content_sha256) "
                                "FROM STDIN") as copy:
            for rel, sha, _ in written:
                st = os.stat(landing / rel)
                info = {"size": st.st_size, "mtime": st.st_mtime, "created": st.st_ctime, "ino": st.st_ino}
                copy.write_row((zone, rel, "readiness", fingerprint(info), sha))
    return sum(size for _, _, size in written)


def _exponent(sizes: list[int], seconds: list[float]) -> float | None:
    """Least-squares slope of log(seconds) on log(old files)."""
    if len(sizes) < 2 or min(seconds) <= 0:
        return None
    xs, ys = [math.log(n) for n in sizes], [math.log(s) for s in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def discovery_phase(root: str, sizes: tuple[int, ...] = SIZES, repeats: int = 3,
                    state: str | None = None) -> dict[str, object]:
    """Each size in turn (the zone grows): one new file beside the old ones, ``new_files`` ``repeats`` times
    (the new file is not loaded, so each time it is new again); the median time. ``state``: the embedded
    warehouse to use (another phase's, stopped, saves a server's creation); default one of its own."""
    from ground.embedded_pg import EmbeddedWarehouse
    from ground.schema import ensure_schema
    from ground.warehouse import connect
    from ingest.discover import FOLDER_TICK_S, DiscoveryStats, _listing, hash_threads
    from nightly.pipeline import new_files

    base = Path(root)
    landing = base / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    state_dir = Path(state) if state else base / "state"
    os.environ.update({"DGWH_STATE_DIR": str(state_dir), "LANDING_ZONE": str(landing), "DGWH_SETTLE_S": "0"})
    os.environ.pop("DGWH_DISCOVERY_FULL", None)
    os.environ.pop("WAREHOUSE_URL", None)
    per_size: list[dict[str, object]] = []
    have, old_bytes = 0, 0
    try:
        with connect(autocommit=True) as conn:
            ensure_schema(conn)
            for n in sorted(sizes):
                build = time.perf_counter()
                old_bytes += _add_old(landing, conn, have, n)
                have = n
                time.sleep(FOLDER_TICK_S + 0.1)  # old files are old: their folders still for longer than a tick
                new_files()  # the earlier run: it lists the new folders and records them
                build_s = time.perf_counter() - build
                new = landing / "readiness" / "2569" / f"new_beside_{n}.csv"
                new.parent.mkdir(parents=True, exist_ok=True)
                new.write_bytes((HEADER + "".join(f"2569,หน่วยงานใหม่ {n} {r},{r % 100}\n"
                                                  for r in range(NEW_FILE_ROWS))).encode())
                runs = []
                for _ in range(repeats):
                    stats = DiscoveryStats()
                    start = time.perf_counter()
                    found = new_files(stats=stats)
                    runs.append((time.perf_counter() - start, stats, found))
                start = time.perf_counter()
                _listing(str(landing))
                list_s = time.perf_counter() - start
                os.environ["DGWH_DISCOVERY_FULL"] = "1"
                full = DiscoveryStats()
                start = time.perf_counter()
                new_files(stats=full)
                full_s = time.perf_counter() - start
                del os.environ["DGWH_DISCOVERY_FULL"]
                seconds = statistics.median(r[0] for r in runs)
                stats, found = runs[-1][1], runs[-1][2]
                per_size.append({
                    "old_files": n, "seconds": round(seconds, 4), "runs_s": [round(r[0], 4) for r in runs],
                    "listing_s": round(list_s, 4), "full_pass_s": round(full_s, 4),
                    "folders_listed": stats.folders_listed, "folders_unchanged": stats.folders_unchanged,
                    "full_pass_bytes_read": full.bytes_read, "bytes_read": stats.bytes_read,
                    "new_file_bytes": new.stat().st_size,
                    "bytes_if_all_hashed": old_bytes + new.stat().st_size, "recognised": stats.recognised,
                    "hashed": len(stats.hashed), "new_found": [f.relative_path for f in found],
                    "build_zone_s": round(build_s, 2)})
                new.unlink()
    finally:
        if not os.environ.get("WAREHOUSE_URL"):
            EmbeddedWarehouse(state_dir).stop()
    exponent = _exponent([int(p["old_files"]) for p in per_size], [float(p["seconds"]) for p in per_size])
    only_new = all(p["bytes_read"] == p["new_file_bytes"] and p["hashed"] == 1 for p in per_size)
    return {"sizes": per_size, "exponent": round(exponent, 3) if exponent is not None else None,
            "reads_only_new_bytes": only_new, "hash_threads": hash_threads()}


def add_to_results(results: dict, discovery: dict) -> dict:
    """``discovery`` and ``discovery_growth_exponent`` in the results, and the target among the others."""
    exponent = discovery["exponent"]
    largest = discovery["sizes"][-1]
    met = bool(discovery["reads_only_new_bytes"]) and exponent is not None and exponent <= EXPONENT_TARGET
    results["discovery"] = discovery
    results["discovery_growth_exponent"] = exponent
    results["targets"].append({
        "name": f"discovery of one new file among {largest['old_files']:,} old ones reads only its bytes, "
                f"time ~ old files^b with b <= {EXPONENT_TARGET}",
        "value": f"{largest['bytes_read']:,} of {largest['new_file_bytes']:,} new bytes read; b = {exponent}",
        "met": met})
    return results


def line(results: dict) -> str:
    """One line: the discovery target, met or not."""
    d = results["discovery"]
    target = results["targets"][-1]
    sizes = " · ".join(f"{p['old_files']:,} old: {p['seconds']:.2f} s, {p['bytes_read']:,} B read "
                       f"(new file {p['new_file_bytes']:,} B; full pass {p.get('full_pass_s', 0):.2f} s)"
                       for p in d["sizes"])
    return (f"discovery: {sizes} · growth exponent b = {d['exponent']} (<= {EXPONENT_TARGET}; only new bytes "
            f"read: {'yes' if d['reads_only_new_bytes'] else 'no'}): {'met' if target['met'] else 'NOT met'}")

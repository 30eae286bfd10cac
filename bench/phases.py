"""The two measured phases. Each runs in the process that calls it (``bench.run`` gives each a fresh
spawned process, so peak memory is the phase's own) against a workspace's embedded warehouse.

- ``ingest_phase``: the local organisations' readiness files of one scale, loaded three ways.
- ``nightly_phase``: the whole landing zone as history, then the nights: no-op, one new file, full rebuild.

The nightly is the pipeline's own functions in the order the ``dg_nightly`` DAG calls them
(``new_files``, ``process_file`` per file, ``build_needed``, then ``dbt build`` and ``record_build`` when
needed), without Airflow around them.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from bench.loaders import BenchError, Timing, copy_files, ingest_files, reset_schema, to_sql_files
from bench.measure import Clock, RssSampler
from bench.workspace import Workspace, write_agency_correction, write_local_correction, write_national

FACT = ("marts", "fct_readiness_responses")


def ingest_phase(root: str, scale: int, copy_repeats: int = 3) -> dict[str, object]:
    """Project ingest (first, for a clean memory peak), then raw COPY (median of ``copy_repeats``),
    then ``to_sql``, all of the same files; the three must agree on the row count."""
    ws = Workspace(Path(root), scale)
    ws.use()
    from expectations.gate import get_gate
    from ground.schema import ensure_schema
    from ground.sources import SOURCES
    from ground.warehouse import connect, warehouse_url
    from ingest.parse import parse_file
    from nightly.pipeline import new_files

    url = warehouse_url()
    with connect(autocommit=True) as conn:
        ensure_schema(conn)
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])
        reset_schema(conn)
    gate_build = Clock()
    with gate_build:
        gate = get_gate()
    paths = ws.local_files()
    wanted = {p.resolve() for p in paths}
    files = [f for f in new_files() if Path(f.uri).resolve() in wanted]
    if len(files) != len(paths):
        raise BenchError(f"expected {len(paths)} new local-organisation files, found {len(files)}")
    # Warm-up, not loaded: the first validation imports and caches what every later one reuses.
    gate.validate(parse_file(paths[0], SOURCES["readiness"]))
    gc.collect()
    with RssSampler() as ingest_rss:
        ingest = ingest_files(files, gate, f"bench-scale-{scale}")
    with connect(autocommit=True) as conn:
        copies = sorted((copy_files(conn, paths, "copy_readiness") for _ in range(max(1, copy_repeats))),
                        key=lambda t: t.seconds)
        copy = copies[len(copies) // 2]
        with RssSampler() as to_sql_rss:
            to_sql = to_sql_files(url, paths, "to_sql_readiness")
        reset_schema(conn)
    if not ingest.rows == copy.rows == to_sql.rows:
        raise BenchError(f"row counts differ: ingest {ingest.rows}, COPY {copy.rows}, to_sql {to_sql.rows}")
    return {
        "scale": scale, "files": len(paths), "rows": ingest.rows, "rows_per_file": ingest.rows // len(paths),
        "bytes": sum(p.stat().st_size for p in paths), "server_version": server_version,
        "gate_build_s": round(gate_build.seconds, 3),
        "ingest": ingest.as_dict(), "copy": copy.as_dict(), "copy_runs_s": [round(t.seconds, 4) for t in copies],
        "to_sql": to_sql.as_dict(),
        "ingest_rss": {"baseline_mb": round(ingest_rss.baseline_mb, 1), "peak_mb": round(ingest_rss.peak_mb, 1),
                       "growth_mb": round(ingest_rss.growth_mb, 1)},
        "to_sql_rss": {"baseline_mb": round(to_sql_rss.baseline_mb, 1), "peak_mb": round(to_sql_rss.peak_mb, 1),
                       "growth_mb": round(to_sql_rss.growth_mb, 1)},
    }


def _dbt_summary(state: Path) -> dict[str, object]:
    """Where dbt spent its time (run_results.json): per resource type and the slowest nodes."""
    data = json.loads((state / "dbt_target" / "run_results.json").read_text())
    by_type: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for r in data["results"]:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] += r["execution_time"]
        counts[kind] += 1
    slowest = sorted(data["results"], key=lambda r: r["execution_time"], reverse=True)[:8]
    return {"elapsed_s": round(data["elapsed_time"], 2), "invocation_id": data["metadata"]["invocation_id"],
            "node_seconds_by_type": {k: round(v, 2) for k, v in sorted(by_type.items())}, "nodes": dict(counts),
            "slowest": [[r["unique_id"].split(".")[-1], round(r["execution_time"], 2)] for r in slowest]}


def _dbt(args: list[str], state: Path) -> dict[str, object]:
    from psycopg import sql

    from ground.warehouse import connect
    from nightly.transform import run_dbt

    start = time.perf_counter()
    outcome = run_dbt(args)
    seconds = time.perf_counter() - start
    if not outcome.success:
        raise BenchError(f"dbt {' '.join(args)} failed: {outcome.failures[:5]}")
    summary = _dbt_summary(state)
    with connect(autocommit=True) as conn:
        rows, rebuilt = conn.execute(
            sql.SQL("SELECT count(*), count(*) FILTER (WHERE dbt_invocation_id = %s) FROM {}").format(
                sql.Identifier(*FACT)), (summary["invocation_id"],)).fetchone()
    return {"seconds": round(seconds, 3), "models": outcome.models, "tests_passed": outcome.tests_passed,
            "fact_rows": rows, "fact_rows_written": rebuilt, **summary}


def _load_history(gate) -> dict[str, object]:
    """Every file not loaded yet, as a night loads them (the sample's one bad file is rejected, as designed);
    the sample's small files (everything but the local organisations' national files) timed on their own."""
    from nightly.pipeline import batches, new_files, process_files

    start = time.perf_counter()
    files = new_files()
    small = [f for f in files if "readiness_local_" not in f.relative_path]
    outcomes = [o for batch in batches(small) for o in process_files(batch, gate, "bench-history")]
    small_timing = Timing(sum(o.rows_loaded for o in outcomes), time.perf_counter() - start, len(small))
    rest = [f for f in files if f not in small]
    outcomes += [o for batch in batches(rest) for o in process_files(batch, gate, "bench-history")]
    timing = Timing(sum(o.rows_loaded for o in outcomes), time.perf_counter() - start, len(files))
    return {**timing.as_dict(), "small_files": small_timing.as_dict(),
            "files_by_status": {s: sum(1 for o in outcomes if o.status == s)
                                for s in ("loaded", "rejected", "skipped")}}


def national_phase(root: str, scale: int, limit: int | None = None) -> dict[str, object]:
    """Every organisation's own file for one survey year (``write_national``), loaded from empty as a night
    loads them: discovery (listing and hashing), then ``process_files`` per load batch. Airflow is not run
    here: each batch is one mapped ``load_files`` task, whose overhead ``make prod-check`` shows."""
    ws = Workspace(Path(root), scale)
    ws.use()

    from expectations.gate import get_gate
    from ground.schema import ensure_schema
    from ground.warehouse import connect
    from nightly.pipeline import batches, new_files, process_files

    year, written = write_national(ws, limit)
    os.environ["LANDING_ZONE"] = str(ws.national_landing)
    with connect(autocommit=True) as conn:
        ensure_schema(conn)
    gate = get_gate()
    with RssSampler() as rss:
        start = time.perf_counter()
        files = new_files()
        discovered = time.perf_counter()
        load_batches = batches(files)
        outcomes = [o for batch in load_batches for o in process_files(batch, gate, "bench-national")]
        seconds = time.perf_counter() - start
    if len(files) != len(written) or any(o.status != "loaded" for o in outcomes):
        bad = [(o.path, o.status, o.reason) for o in outcomes if o.status != "loaded"][:3]
        raise BenchError(f"national: {len(written)} files written, {len(files)} found, not loaded: {bad}")
    return {"survey_year_be": year, "files": len(files), "rows": sum(o.rows_loaded for o in outcomes),
            "seconds": round(seconds, 3), "discover_s": round(discovered - start, 3),
            "load_s": round(seconds - (discovered - start), 3), "files_per_s": round(len(files) / seconds, 1),
            "load_batches": len(load_batches), "rss": _rss(rss)}


def _rss(sampler: RssSampler) -> dict[str, float]:
    return {"baseline_mb": round(sampler.baseline_mb, 1), "peak_mb": round(sampler.peak_mb, 1),
            "growth_mb": round(sampler.growth_mb, 1)}


def _night(gate, run_id: str, select: list[str], state: Path, expect_files: int) -> dict[str, object]:
    """One night as the ``dg_nightly`` DAG runs it: discover, load the new files in batches, decide
    (``decide_build``: skip dbt when nothing was loaded and the project is unchanged since the last
    recorded build; when only new files changed, build what they reach), then ``dbt build`` and record
    the build only when needed. ``select`` (the smoke test's narrowing) overrides the decision's."""
    from nightly import service
    from nightly.pipeline import process_files

    start = time.perf_counter()
    load_batches = service.discover()
    files = [f for batch in load_batches for f in batch]
    discovered = time.perf_counter()
    if len(files) != expect_files:
        raise BenchError(f"{run_id}: expected {expect_files} new file(s), found {[f.relative_path for f in files]}")
    rows = 0
    for batch in load_batches:
        for outcome in process_files(batch, gate, run_id):
            if outcome.status != "loaded":
                raise BenchError(f"{run_id}: {outcome.path} was {outcome.status}: {outcome.reason}")
            rows += outcome.rows_loaded
    loaded = time.perf_counter()
    decision = service.decide(run_id, node_key=None)
    decided = time.perf_counter()
    if decision["build"]:
        # the DAG's build: its selection and exclusions, its results and night scope under the run id
        args = ["build", *select] if select else service.build_args(decision)
        os.environ["DGWH_RUN_ID"] = run_id
        try:
            dbt = {**_built(args, state, run_id, decision["fingerprint"]), "select": decision["select"]}
        finally:
            os.environ.pop("DGWH_RUN_ID", None)
    else:
        dbt = {"skipped": True, "reason": decision["reason"], "seconds": 0.0, "fact_rows_written": 0}
    return {"seconds": round(time.perf_counter() - start, 3), "discover_s": round(discovered - start, 3),
            "load_s": round(loaded - discovered, 3), "decide_s": round(decided - loaded, 3),
            "build_needed": decision["build"], "reason": decision["reason"], "files": [f.relative_path for f in files],
            "rows": rows, "dbt": dbt}


def _built(args: list[str], state: Path, run_id: str, fingerprint: str | None = None) -> dict[str, object]:
    """``dbt <args>`` (``bench.phases._dbt``: it raises unless dbt succeeded), then the build recorded as
    the DAG's ``publish_marts`` records it."""
    from ground.warehouse import connect
    from nightly.transform import ledger_mark, project_fingerprint, record_build

    with connect(autocommit=True) as conn:
        files_through = ledger_mark(conn)
    result = _dbt(args, state)
    with connect(autocommit=True) as conn:
        record_build(conn, run_id, fingerprint or project_fingerprint(), files_through)
    return result


def nightly_phase(root: str, scale: int, dbt_args: list[str] | None = None, repeats: int = 2) -> dict[str, object]:
    """History (every file not yet loaded) and the first build, then the nights as ``dg_nightly`` runs them
    (``_night``): no-op, the national local-organisation file corrected, no-op again, one agency's one-row
    answer; then full rebuilds (``dbt build --full-refresh``). No-op and full rebuild run ``repeats`` times
    each (1 or 2; the machine may be shared). ``dbt_args`` narrow dbt (smoke test only)."""
    ws = Workspace(Path(root), scale)
    ws.use()
    from expectations.gate import get_gate

    select = list(dbt_args or [])
    gate = get_gate()
    noop: list[dict[str, object]] = []
    with RssSampler() as rss:
        with RssSampler() as history_rss:  # every file of ten years, one after the other
            history = _load_history(gate)
        first_build = _built(["build", *select], ws.state, "bench-history")
        noop.append(_night(gate, "bench-noop-1", select, ws.state, 0))
        write_local_correction(ws)
        delta = _night(gate, "bench-delta-local", select, ws.state, 1)
        if repeats > 1:
            noop.append(_night(gate, "bench-noop-2", select, ws.state, 0))
        write_agency_correction(ws)
        delta_small = _night(gate, "bench-delta-agency", select, ws.state, 1)
        full = [_built(["build", "--full-refresh", *select], ws.state, f"bench-full-{i + 1}")
                for i in range(max(1, repeats))]
    return {"scale": scale, "dbt_args": select, "history": {**history, "rss": _rss(history_rss)},
            "first_build": first_build, "noop": noop, "delta": delta, "delta_small": delta_small,
            "full_rebuild": full, "rss": _rss(rss)}

"""Discovery by metadata: a file hashed before and unchanged since is not read again; only new or changed
files are, and a copied, renamed or touched file is still recognised by its content. Bytes read are counted
by the hashing reader itself, on a real file system."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import pytest

from ingest.discover import DiscoveryStats, Known, SkippedFile, discover, fingerprint

OLD = 300


def _zone(root: Path, n: int) -> dict[str, bytes]:
    files = {f"readiness/2565/old_{i:05d}.csv": f"a,b\n{i},x\n".encode() for i in range(n)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _known(root: Path, files: dict[str, bytes]) -> dict[str, Known]:
    import fsspec

    fs = fsspec.filesystem("file")
    return {rel: Known(fingerprint(fs.info(str(root / rel))), hashlib.sha256(data).hexdigest())
            for rel, data in files.items()}


def test_known_files_are_not_read_and_only_the_new_files_bytes_are(tmp_path):
    files = _zone(tmp_path, OLD)
    known = _known(tmp_path, files)
    new = tmp_path / "readiness/2566/new.csv"
    new.parent.mkdir(parents=True)
    new.write_bytes(b"a,b\n" + b"1,y\n" * 1000)

    stats = DiscoveryStats()
    found = discover(str(tmp_path), known=known, stats=stats)
    assert len(found) == OLD + 1 and stats.recognised == OLD
    assert [lf.relative_path for lf, _ in stats.hashed] == ["readiness/2566/new.csv"]
    assert stats.bytes_read == new.stat().st_size
    by_path = {f.relative_path: f.sha256 for f in found}
    assert by_path["readiness/2565/old_00007.csv"] == hashlib.sha256(files["readiness/2565/old_00007.csv"]).hexdigest()

    # Without what earlier runs hashed, every byte is read (what discovery did before).
    full = DiscoveryStats()
    discover(str(tmp_path), stats=full)
    assert full.bytes_read == sum(map(len, files.values())) + new.stat().st_size


def test_a_touched_rewritten_or_renamed_file_is_read_again(tmp_path):
    files = _zone(tmp_path, 5)
    known = _known(tmp_path, files)
    touched, rewritten = tmp_path / "readiness/2565/old_00001.csv", tmp_path / "readiness/2565/old_00002.csv"
    os.utime(touched)
    stamp = rewritten.stat().st_mtime_ns
    rewritten.write_bytes(b"a,b\n9,z\n")  # same size, mtime put back as cp -p or rsync -t would
    os.utime(rewritten, ns=(stamp, stamp))
    shutil.move(tmp_path / "readiness/2565/old_00003.csv", tmp_path / "readiness/2565/renamed.csv")

    stats = DiscoveryStats()
    found = {f.relative_path: f.sha256 for f in discover(str(tmp_path), known=known, stats=stats)}
    assert sorted(lf.relative_path.rsplit("/", 1)[1] for lf, _ in stats.hashed) == \
        ["old_00001.csv", "old_00002.csv", "renamed.csv"]
    assert found["readiness/2565/old_00002.csv"] == hashlib.sha256(b"a,b\n9,z\n").hexdigest()
    assert found["readiness/2565/renamed.csv"] == hashlib.sha256(files["readiness/2565/old_00003.csv"]).hexdigest()
    assert stats.bytes_read == 3 * 8


@pytest.fixture(scope="module")
def wh(make_warehouse):
    wh = make_warehouse("discovery")
    wh.use()
    return wh


def _ledger(wh, rel: str, data: bytes, status: str = "loaded") -> None:
    with wh.connect() as conn:
        conn.execute("""INSERT INTO ops.file_ledger (source, content_sha256, path, size_bytes, received_at, status,
                            reject_code) VALUES (%s, %s, %s, %s, now(), %s, %s)""",
                     (rel.split("/", 1)[0], hashlib.sha256(data).hexdigest(), rel, len(data), status,
                      "bad_header" if status == "rejected" else None))


def test_a_night_reads_only_new_bytes_and_names_a_copy_as_the_duplicate_it_is(wh, monkeypatch, caplog):
    from nightly.pipeline import new_files

    wh.use()
    files = _zone(wh.landing, 20)
    first = DiscoveryStats()
    assert {f.relative_path for f in new_files(stats=first)} == set(files)
    assert first.bytes_read == sum(map(len, files.values()))
    # Loaded, or rejected (and quarantined: the original stays in the landing zone): either way, done.
    for n, (rel, data) in enumerate(files.items()):
        _ledger(wh, rel, data, "rejected" if n % 5 == 0 else "loaded")

    again = DiscoveryStats()
    assert new_files(stats=again) == [] and again.bytes_read == 0 and again.recognised == 20

    # A copy under another name: read once, named as the duplicate, and not read the night after.
    copy = wh.landing / "readiness/2565/copy_of_old.csv"
    shutil.copy(wh.landing / "readiness/2565/old_00004.csv", copy)
    caplog.set_level(logging.INFO, logger="nightly.pipeline")
    dup = DiscoveryStats()
    assert new_files(stats=dup) == [] and dup.bytes_read == copy.stat().st_size
    assert any("readiness/2565/copy_of_old.csv has the same bytes as readiness/2565/old_00004.csv" in r.getMessage()
               for r in caplog.records)
    after = DiscoveryStats()
    assert new_files(stats=after) == [] and after.bytes_read == 0 and after.recognised == 21

    # A new file within the settle window is neither read nor remembered; settled, it is read once.
    fresh = wh.landing / "readiness/2566/fresh.csv"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"a,b\n7,q\n")
    monkeypatch.setenv("DGWH_SETTLE_S", "3600")
    waiting = DiscoveryStats()
    skipped: list[SkippedFile] = []
    assert new_files(stats=waiting) == [] and waiting.bytes_read == 0
    from ingest.discover import last_skips

    assert any(s.relative_path == "readiness/2566/fresh.csv" and "settle window" in s.reason
               for s in last_skips(str(wh.landing)) + skipped)
    monkeypatch.setenv("DGWH_SETTLE_S", "0")
    settled = DiscoveryStats()
    assert [f.relative_path for f in new_files(stats=settled)] == ["readiness/2566/fresh.csv"]
    assert settled.bytes_read == fresh.stat().st_size
    # Not in the ledger yet (its load failed, or it changed while loaded): read again until it is.
    retried = DiscoveryStats()
    assert [f.relative_path for f in new_files(stats=retried)] == ["readiness/2566/fresh.csv"]
    assert retried.bytes_read == fresh.stat().st_size

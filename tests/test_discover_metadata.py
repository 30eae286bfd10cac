"""Discovery by metadata: a file hashed before and unchanged since is not read again; only new or changed
files are, and a copied, renamed or touched file is still recognised by its content. Bytes read are counted
by the hashing reader itself, on a real file system."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ingest.discover import DiscoveryStats, Known, discover, fingerprint

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

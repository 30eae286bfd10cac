"""Every file the night meets ends loaded or rejected with a ledger row; none fails the load.

The fuzz test damages valid files a thousand ways (tests/corpus/mutate.py, a fixed seed) and reads them as
the night does (the isolated reader, the GX gate; a sample of every outcome through the whole load path,
``nightly.pipeline.process_files``). The hostile corpus goes through the night's one pass in
tests/test_validation.py (``test_every_hostile_file_ends_loaded_or_rejected_with_its_reason``). Then what
else a night meets: a load killed mid-file (its staging copy), a file changed after it was listed, the same
bytes under a new name, a landing zone that cannot be opened, a reader stopped from outside, and the state
folder's mode.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from expectations.gate import Gate
from ground.registry import alias_keys
from ground.rows import ParsedFile
from ground.settings import get_settings
from ground.sources import SOURCES
from ingest.isolate import ReaderStopped, parse_many_isolated
from ingest.readers import FileRejected
from ingest.staging import process_dir
from nightly.pipeline import batches, new_files, process_files
from nightly.summary import build_summary, format_summary
from tests.conftest import REPO
from tests.corpus.hostile import plan_csv, plan_row
from tests.corpus.mutate import mutants
from tests.test_nothing_lost import plan_workbook
from tests.test_reliability import assert_ledger_consistent

CORPUS = Path(__file__).resolve().parent / "corpus"
FUZZ_FILES = 1000
FUZZ_SEED = 20261207
SAMPLE_EACH = 4  # mutants of each outcome (reject code, batched, alone) sent through the whole night


@pytest.fixture(scope="module")
def readers(make_warehouse):
    wh = make_warehouse("readers")
    wh.use()
    wh.gate = Gate(list(alias_keys()))
    return wh


def _night(wh, run_id: str) -> tuple[dict[str, object], dict[str, tuple]]:
    """The landing zone's new files through the night's load path in its load batches: every batch must
    finish (a file that fails would raise here), and every file must end with a ledger row."""
    found = new_files()
    outcomes = {o.path: o for batch in batches(found) for o in process_files(batch, wh.gate, run_id)}
    with wh.connect() as conn:
        ledger = {r[0]: r[1:] for r in conn.execute(
            "SELECT path, status, reject_code, reject_reason, quarantine_path FROM ops.file_ledger WHERE run_id = %s",
            (run_id,)).fetchall()}
        assert_ledger_consistent(conn)
    assert len(found) == len(outcomes) == len(ledger), (len(found), len(outcomes), len(ledger))
    for path, (status, code, reason, quarantined) in ledger.items():
        assert outcomes[path].status == status in ("loaded", "rejected"), (path, outcomes[path])
        if status == "rejected":
            assert code and reason and Path(quarantined).is_file() and Path(f"{quarantined}.feedback.txt").is_file()
    return outcomes, ledger


def test_a_thousand_damaged_files_each_end_loaded_or_rejected(readers, tmp_path):
    """Truncated, bit-flipped, overwritten, ZIP headers patched, parts reordered, dropped, doubled or damaged:
    each mutant of a valid file is read by the isolated reader as the night reads it and ends parsed or
    rejected, never as an error; every parsed one that can share a GX run is validated in one run per source
    (the others fail their table-level checks alone: a GX run each, so a sample of them and of the rest goes
    through the whole night's path, ledger row and quarantine included)."""
    readers.use()
    valid = {p.relative_to(CORPUS / "good").as_posix(): p.read_bytes()
             for p in sorted((CORPUS / "good").rglob("*")) if p.is_file()}
    valid["integration_plan/plan_2565.xlsx"] = plan_workbook(tmp_path / "plan.xlsx", "I2").read_bytes()
    by_source: dict[str, list[tuple[str, Path]]] = {}
    for n, (name, kind, data) in enumerate(mutants(valid, FUZZ_FILES, FUZZ_SEED)):
        source, rest = name.split("/", 1)
        path = tmp_path / source / f"{n:04d}_{kind}_{Path(rest).name}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        by_source.setdefault(source, []).append((kind, path))
    assert sum(map(len, by_source.values())) == FUZZ_FILES
    kinds: Counter[str] = Counter()
    sample: list[Path] = []
    for source, files in by_source.items():
        results = parse_many_isolated([path for _, path in files], SOURCES[source])
        errors = [(path.name, r) for (_, path), r in zip(files, results, strict=True)
                  if isinstance(r, BaseException) and not isinstance(r, FileRejected)]
        assert errors == [], errors[:5]
        standing = [r for r in results if isinstance(r, ParsedFile) and r.records and not r.missing_columns]
        for result in readers.gate.validate_many(standing):
            assert result.evaluated > 0
        batched = {id(r) for r in standing}
        for (_kind, path), r in zip(files, results, strict=True):
            what = r.code if isinstance(r, FileRejected) else "batched" if id(r) in batched else "alone"
            kinds[what] += 1
            if kinds[what] <= SAMPLE_EACH:
                sample.append(path)
    print("fuzz outcomes:", dict(kinds))
    assert {"not_xlsx", "encoding", "batched", "alone"} <= set(kinds), kinds  # damage both spares and breaks
    for path in sample:
        target = readers.landing / path.parent.name / "fuzz" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    _outcomes, ledger = _night(readers, "fuzz")
    assert len(ledger) == len(sample)


# ---------------------------------------------------------------------------------------------- what else a night meets

STAGER = """
import sys, time
from ingest.discover import discover, snapshot
from ingest.staging import process_dir
from pathlib import Path
lf = next(f for f in discover(sys.argv[1]) if f.relative_path == sys.argv[2])
with snapshot(lf, process_dir(Path(sys.argv[3]))) as snap:
    print(snap.uri, flush=True)
    time.sleep(120)
"""


def test_a_load_killed_mid_file_leaves_no_staging_copy_after_the_next_run_starts(readers, tmp_path):
    readers.use()
    rel = "integration_plan/staging/big.csv"
    plan_csv(readers.landing / rel, b"".join(plan_row(f"DG65-K{i}") for i in range(2_000)))
    staging = readers.state / "staging"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.Popen([sys.executable, "-c", STAGER, str(readers.landing), rel, str(staging)], cwd=REPO,
                              env=env, stdout=subprocess.PIPE, text=True)
    copy = Path(killed.stdout.readline().strip())
    assert copy.is_file() and copy.is_relative_to(staging)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    legacy = staging / "snap-abc123"  # the layout before: a copy with no owner to ask
    legacy.mkdir()
    (legacy / "snapshot.csv").write_bytes(b"x")
    live = process_dir(staging)  # this process's: alive, so kept
    (live / "in-use").write_bytes(b"y")
    new_files()  # the next run's start
    assert not copy.exists() and not copy.parent.parent.exists() and not legacy.exists()
    assert (live / "in-use").is_file()


def _summary_text(wh, run_id: str) -> str:
    with wh.connect() as conn:
        return format_summary(build_summary(conn, run_id))


def test_a_file_changed_after_it_was_listed_is_named_in_the_summary_and_loads_next_run(readers):
    readers.use()
    rel = "integration_plan/changed/late_edit.csv"
    path = plan_csv(readers.landing / rel, plan_row("DG65-L1"))
    [listed] = [f for f in new_files() if f.relative_path == rel]
    plan_csv(path, plan_row("DG65-L1") + plan_row("DG65-L2"))  # the agency saves again while the night runs
    [outcome] = process_files([listed], readers.gate, "changed-night")
    assert outcome.status == "skipped" and "changed after it was found" in outcome.reason
    text = _summary_text(readers, "changed-night")
    assert "files found but not loaded: 1" in text and f"  - {rel}: " in text and "next run" in text, text
    [again] = [f for f in new_files() if f.relative_path == rel]
    assert process_files([again], readers.gate, "changed-next").pop().status == "loaded"
    assert "files found but not loaded" not in _summary_text(readers, "changed-next")


def test_the_same_bytes_under_a_new_name_are_named_with_the_file_they_duplicate(readers):
    readers.use()
    first = "integration_plan/dup/plan_v1.csv"
    data = plan_row("DG65-D1") + plan_row("DG65-D2")
    plan_csv(readers.landing / first, data)
    [lf] = [f for f in new_files() if f.relative_path == first]
    assert process_files([lf], readers.gate, "dup-1").pop().status == "loaded"
    renamed = "integration_plan/dup/plan_final.csv"
    twins = ("integration_plan/dup/new_a.csv", "integration_plan/dup/new_b.csv")
    shutil.copy(readers.landing / first, readers.landing / renamed)
    for twin in twins:  # two new files with one content: loaded once
        plan_csv(readers.landing / twin, plan_row("DG65-D3"))
    found = [f.relative_path for f in new_files() if f.relative_path.startswith("integration_plan/dup/")]
    assert found == [twins[0]]
    text = _summary_text(readers, "dup-2")
    assert f"  - {renamed}: the same bytes as {first} (loaded before): not loaded again" in text, text
    assert f"  - {twins[1]}: the same bytes as {twins[0]}, found in the same run" in text, text


def test_an_unsupported_or_unreachable_landing_zone_fails_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DGWH_STATE_DIR": str(tmp_path / "state")}
    for zone in ("ftp://x", "nosuch://x/landing"):
        done = subprocess.run([str(REPO / ".venv" / "bin" / "dgwh"), "sample", "--for-run"], cwd=REPO,
                              env={**env, "LANDING_ZONE": zone}, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
        assert f"LANDING_ZONE {zone}: unsupported or unreachable landing zone" in done.stderr


def test_the_state_folder_is_private_from_its_creation_and_an_older_wider_one_is_narrowed(tmp_path, monkeypatch):
    state = tmp_path / "checkout" / ".state"
    monkeypatch.setenv("DGWH_STATE_DIR", str(state))
    old = os.umask(0o022)  # a usual umask: folders would be 0755
    try:
        assert get_settings().state_dir == state
        assert state.stat().st_mode & 0o777 == 0o700
        os.chmod(state, 0o755)  # a checkout from before
        get_settings()
        assert state.stat().st_mode & 0o777 == 0o700
    finally:
        os.umask(old)
    airflow_state = tmp_path / "other" / ".state"  # Airflow's script creates it when it comes first
    script = (REPO / "scripts" / "airflow.sh").read_text()
    line = next(x for x in script.splitlines() if "umask 077" in x and "$STATE" in x)
    subprocess.run(["bash", "-c", f"umask 022; STATE={airflow_state}; {line}"], check=True)
    assert airflow_state.stat().st_mode & 0o777 == 0o700


def test_a_reader_stopped_from_outside_is_a_stop_not_the_files_rejection(tmp_path, monkeypatch):
    """SIGTERM to the reader's child (a stopping worker) raises ReaderStopped: the file is not quarantined."""
    blocked = tmp_path / "blocked.csv"
    os.mkfifo(blocked)  # opening it waits for a writer: the child is still reading when the signal comes
    fork = os.fork

    def fork_then_stop() -> int:
        pid = fork()
        if pid:
            threading.Timer(0.5, os.kill, (pid, signal.SIGTERM)).start()
        return pid

    monkeypatch.setattr(os, "fork", fork_then_stop)
    with pytest.raises(ReaderStopped, match="blocked.csv was stopped \\(SIGTERM\\)"):
        parse_many_isolated([blocked], SOURCES["integration_plan"])


class Unforeseen(Exception):
    """An exception class no reader check lists."""


class NativePanic(BaseException):
    """What a native reader's panic is (pyo3's PanicException derives from BaseException)."""


@pytest.mark.parametrize("isolation", ["1", "0"])
@pytest.mark.parametrize("raised, code, words", [
    (Unforeseen("bad tag at byte 42"), "unreadable", "Unforeseen: bad tag at byte 42"),
    (SystemExit(3), "unreadable", "SystemExit: 3"),
    (NativePanic("index out of bounds"), "reader_failed", "the reader crashed (NativePanic: index out of bounds)"),
])
def test_whatever_the_reader_raises_is_the_files_rejection(tmp_path, monkeypatch, isolation, raised, code, words):
    """By construction, not by a list of exception types: a class nobody foresaw rejects the file, naming it. In
    the reader's child even SystemExit is the reader's own (stops reach the child as signals)."""
    import ingest.isolate

    def reader(path, source, plans):
        raise raised

    monkeypatch.setattr(ingest.isolate, "parse_file", reader)
    monkeypatch.setenv("DGWH_READER_ISOLATION", isolation)
    path = plan_csv(tmp_path / "a.csv", plan_row("DG65-U1"))
    if isolation == "0" and isinstance(raised, SystemExit):  # in-process, an exit is the process's own stop
        with pytest.raises(SystemExit):
            parse_many_isolated([path], SOURCES["integration_plan"])
        return
    [result] = parse_many_isolated([path], SOURCES["integration_plan"])
    assert isinstance(result, FileRejected) and result.code == code and words in result.message_en, result
    assert str(tmp_path) not in result.message_en

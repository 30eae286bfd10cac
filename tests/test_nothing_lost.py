"""Nothing lost, nothing twice: each numbered case of the fault probes, reproduced on a real warehouse.

Wrong settings never invent data (case 1); a poison workbook is refused without allocating, and a reader
that dies anyway is quarantined and the night goes on (2); a file being written is loaded once, whole (3);
cross-agency duplicate project codes are isolated and a loaded file can be withdrawn (4); locks heal (5);
supersession follows the order files were received (6); skipped landing entries are named (7).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expectations.gate import Gate
from ground.registry import alias_keys
from ground.schema import ensure_schema
from ingest.discover import LandingZoneError, SkippedFile, discover
from nightly.pipeline import new_files, process_file, process_files
from nightly.transform import run_dbt
from tests.conftest import REPO
from tests.test_reliability import DG_PLAN, OPM, PLAN_HEADER, PRD, assert_ledger_consistent, write_plan

ENV = {**os.environ, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false"}


def minimal_xlsx(path: Path, cells: dict[str, str], dimension: str | None = None) -> Path:
    """The smallest workbook calamine opens: one sheet, inline-string cells at the given references."""
    rows: dict[int, list[tuple[str, str]]] = {}
    for ref, value in cells.items():
        rows.setdefault(int("".join(ch for ch in ref if ch.isdigit())), []).append((ref, value))
    sheet_rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>' for ref, v in cs) + "</row>"
        for r, cs in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
                        f'Type="{doc}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} {rel_ns}><sheets><sheet '
                            'name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{doc}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}>{dim}<sheetData>'
                                     f"{sheet_rows}</sheetData></worksheet>"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def plan_workbook(path: Path, far_cell: str, dimension: str | None = None, stray: str = "stray") -> Path:
    """A plausible integration-plan workbook (header and one row) with one stray value at ``far_cell``."""
    cols = "ABCDEFGHI"
    cells = {f"{c}1": h for c, h in zip(cols, PLAN_HEADER, strict=True)}
    values = ["2565", DG_PLAN, OPM, "DG65-X1", "x", "แพลตฟอร์มกลาง", "เกษตร", "100", "100"]
    cells.update({f"{c}2": v for c, v in zip(cols, values, strict=True)})
    cells[far_cell] = stray
    return minimal_xlsx(path, cells, dimension)


@pytest.fixture(scope="module")
def night(make_warehouse):
    wh = make_warehouse("nothing-lost")
    wh.use()
    wh.gate = Gate(list(alias_keys()))
    return wh


def ledger(wh, path_like: str) -> list[tuple]:
    with wh.connect() as conn:
        return conn.execute("SELECT path, status, reject_code, reject_reason, quarantine_path FROM ops.file_ledger "
                            "WHERE path LIKE %s ORDER BY file_id", (path_like,)).fetchall()


# ---------------------------------------------------------------------------------------------------- case 1


def test_a_missing_or_unreadable_configured_landing_zone_fails_make_run_in_one_line(tmp_path):
    missing = tmp_path / "share" / "not-mounted"
    state = tmp_path / "state"
    run = subprocess.run(["make", "-s", "run"], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**ENV, "LANDING_ZONE": str(missing), "DGWH_STATE_DIR": str(state)})
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: LANDING_ZONE {missing} does not exist (a typo, or a share not mounted?); nothing was "
                      "loaded, and no sample data is written to a configured landing zone"], run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not missing.exists() and not missing.parent.exists(), "the configured landing zone was created"
    assert not (state / "last_run.log").exists(), "the pipeline ran"
    # The DAG's discovery refuses it too (a zone unmounted between make run and the night).
    with pytest.raises(LandingZoneError, match="does not exist"):
        discover(str(missing))
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(LandingZoneError, match="is not a folder"):
        discover(str(not_a_dir))
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0)
        with pytest.raises(LandingZoneError, match="cannot be read"):
            discover(str(locked))


def test_an_empty_configured_landing_zone_gets_no_sample_data(tmp_path):
    zone = tmp_path / "zone"
    zone.mkdir()
    out = subprocess.run([sys.executable, "-m", "sampledata.generate", "--for-run"], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env={**ENV, "LANDING_ZONE": str(zone)})
    assert out.returncode == 0, out.stderr
    assert "(configured): no sample data written" in out.stdout
    assert list(zone.iterdir()) == []


def test_a_night_on_an_empty_landing_zone_names_the_zone_and_what_to_check(night, tmp_path, monkeypatch):
    """A wrong LANDING_ZONE must not pass for a quiet night: the summary says where it looked, that it listed
    nothing (or nothing in a source's folder), and what to check."""
    from nightly.service import discover as discover_night
    from nightly.summary import build_summary, format_summary

    night.use()
    zone = tmp_path / "landing"
    zone.mkdir()
    monkeypatch.setenv("LANDING_ZONE", str(zone))
    assert discover_night(run_id="empty-zone") == []
    (zone / "2566").mkdir()
    (zone / "2566" / "plan.csv").write_text("x\n")  # the year folders of a source, without the source folder
    assert discover_night(run_id="no-source-folder") == []
    with night.connect() as conn:
        ensure_schema(conn)
        texts = {run: format_summary(build_summary(conn, run)).splitlines()
                 for run in ("empty-zone", "no-source-folder", "never-discovered")}
    empty = texts["empty-zone"].index(f"landing zone: {zone}: 0 entries listed, nothing to load")
    assert "check that LANDING_ZONE is where the agencies deliver" in texts["empty-zone"][empty + 1]
    assert "readiness/" in texts["empty-zone"][empty + 1] and "make sample" in texts["empty-zone"][empty + 1]
    assert f"landing zone: {zone}: 1 entry listed, 0 of them files of the sources (0 unchanged since an " \
           "earlier night, 0 read)" in texts["no-source-folder"]
    assert any(line.startswith("  check that LANDING_ZONE") for line in texts["no-source-folder"])
    assert f"landing zone: {zone} (what discovery listed is not recorded: it did not run this night)" \
        in texts["never-discovered"]


def _checkout(tmp_path: Path) -> Path:
    """A checkout's seeds, with a hand-edited alias, and no ../shared beside it."""
    root = tmp_path / "checkout"
    (root / "dbt_project").mkdir(parents=True)
    subprocess.run(["cp", "-rp", str(REPO / "dbt_project" / "seeds"), str(root / "dbt_project" / "seeds")],
                   check=True)
    aliases = root / "dbt_project" / "seeds" / "agency_aliases.csv"
    aliases.write_text(aliases.read_text(encoding="utf-8") + "กรมทดสอบ,D0001,hand-edited\n", encoding="utf-8")
    return root


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_generator_never_rewrites_tracked_seeds_even_without_shared(tmp_path):
    root = _checkout(tmp_path)
    seeds = root / "dbt_project" / "seeds"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in seeds.iterdir()}
    env = {**ENV, "DGWH_REPO_ROOT": str(root), "DGWH_SHARED_DIR": str(tmp_path / "no-shared")}
    env.pop("LANDING_ZONE", None)
    out = subprocess.run([sys.executable, "-m", "sampledata.generate", "--for-run"], cwd=REPO, capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert "sample landing zone written to" in out.stdout  # a fresh checkout's default landing/ gets the sample
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in seeds.iterdir()} == before
    # Without ../shared the sample's agencies are the tracked registry's: the same files as with it, but for
    # the budget-bill books that only ../shared holds (workbooks carry their save time: CSVs compared).
    with_shared = tmp_path / "with-shared"
    subprocess.run([sys.executable, "-m", "sampledata.generate", "--landing", str(with_shared)], cwd=REPO,
                   check=True, capture_output=True, timeout=600, env={**ENV, "DGWH_REPO_ROOT": str(root)})
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in seeds.iterdir()} == before
    ours = {k: v for k, v in _digests(root / "landing").items() if not k.startswith("budget_bill")}
    theirs = {k: v for k, v in _digests(with_shared).items() if not k.startswith("budget_bill")}
    assert ours.keys() == theirs.keys() and len(ours) > 100
    assert {k: v for k, v in ours.items() if k.endswith(".csv")} == {
        k: v for k, v in theirs.items() if k.endswith(".csv")}
    # A second make run: the landing zone has files, nothing is written.
    again = subprocess.run([sys.executable, "-m", "sampledata.generate", "--for-run"], cwd=REPO,
                           capture_output=True, text=True, timeout=300, env=env)
    assert "already has files: no sample data written" in again.stdout
    # Only an explicit refresh rewrites the tracked seeds, and only the one that differs.
    subprocess.run([sys.executable, "-m", "sampledata.generate", "--refresh-seeds", "--landing",
                    str(tmp_path / "refresh")], cwd=REPO, check=True, capture_output=True, timeout=600,
                   env={**ENV, "DGWH_REPO_ROOT": str(root)})
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in seeds.iterdir()}
    assert after["agency_aliases.csv"][0] == (REPO / "dbt_project" / "seeds" / "agency_aliases.csv").read_bytes()
    assert {k: v for k, v in after.items() if k != "agency_aliases.csv"} == {
        k: v for k, v in before.items() if k != "agency_aliases.csv"}


# ---------------------------------------------------------------------------------------------------- case 2


@pytest.mark.parametrize("far_cell, dimension", [("XFD1048576", None), ("ZZ200000", None), ("J3", "A1:XFD1048576")])
def test_a_sparse_workbook_is_refused_before_the_reader_allocates(night, far_cell, dimension):
    night.use()
    rel = f"integration_plan/2570/poison_{far_cell}.xlsx"
    path = plan_workbook(night.landing / rel, far_cell, dimension)
    assert path.stat().st_size < 2000  # about 1.6 KB
    lf = next(f for f in new_files() if f.relative_path == rel)
    outcome = process_file(lf, night.gate, "poison")
    assert (outcome.status, outcome.reason.split(":")[0]) == ("rejected", "sheet_too_large"), outcome.reason
    shown = dimension.split(":")[1] if dimension else far_cell
    assert shown in outcome.reason and "DGWH_MAX_SHEET_CELLS" in outcome.reason
    [(_, status, code, reason, quarantined)] = ledger(night, rel)
    assert (status, code) == ("rejected", "sheet_too_large") and shown in reason
    assert Path(quarantined).read_bytes() == path.read_bytes()
    assert Path(quarantined + ".feedback.txt").exists()
    assert rel not in {f.relative_path for f in new_files()}, "a poison file is read again the next night"


def test_a_reader_exhausting_its_memory_is_quarantined_and_the_night_goes_on(night, monkeypatch):
    """The backstop: with the range check lifted, the ZZ200000 workbook makes calamine allocate 5 GB; the
    reader's child process hits its memory limit, the file is quarantined with that reason, the good files
    read before and after it in the same batch (one reader process until it dies, then a new one) load,
    and none is picked up again."""
    night.use()
    monkeypatch.setenv("DGWH_MAX_SHEET_CELLS", str(10**12))
    monkeypatch.setenv("DGWH_READER_MEMORY_MB", "300")
    poison = "integration_plan/2571/b_poison.xlsx"
    write_plan(night, "integration_plan/2571/a_good.csv", 2571, PRD, [("DG71-G1", 1_000)], 2)
    plan_workbook(night.landing / poison, "ZZ200000", stray="exhausts the reader")
    write_plan(night, "integration_plan/2571/c_good.csv", 2571, OPM, [("DG71-G2", 2_000)], 2)
    for age, name in enumerate(("c_good.csv", "b_poison.xlsx", "a_good.csv"), start=1):  # found in this order
        os.utime(night.landing / "integration_plan/2571" / name, (time.time() - 60 * age,) * 2)
    found = new_files()
    assert [f.relative_path.rsplit("/", 1)[1] for f in found] == ["a_good.csv", "b_poison.xlsx", "c_good.csv"]
    outcomes = {o.path: o for o in process_files(found, night.gate, "backstop")}
    assert outcomes[poison].status == "rejected" and outcomes[poison].reason.startswith("reader_failed"), \
        outcomes[poison].reason
    assert "DGWH_READER_MEMORY_MB=300" in outcomes[poison].reason
    assert [outcomes[f"integration_plan/2571/{n}"].status for n in ("a_good.csv", "c_good.csv")] == ["loaded"] * 2
    [(_, status, code, _, quarantined)] = ledger(night, poison)
    assert (status, code) == ("rejected", "reader_failed") and Path(quarantined).exists()
    assert new_files() == []
    with night.connect() as conn:
        assert_ledger_consistent(conn)


def test_a_reader_that_takes_too_long_is_stopped_and_the_file_refused(night, monkeypatch):
    night.use()
    monkeypatch.setenv("DGWH_READER_TIMEOUT_S", "0.3")
    rel = "integration_plan/2572/slow.csv"
    write_plan(night, rel, 2572, OPM, [(f"DG72-{i}", 100) for i in range(60_000)], 2)
    [lf] = new_files()
    outcome = process_file(lf, night.gate, "slow")
    assert outcome.status == "rejected" and "longer than 0.3s (DGWH_READER_TIMEOUT_S)" in outcome.reason, \
        outcome.reason
    assert ledger(night, rel)[0][1:3] == ("rejected", "reader_failed")
    assert new_files() == []


# ---------------------------------------------------------------------------------------------------- case 3


def test_a_file_being_written_is_loaded_once_whole_the_next_night(night, monkeypatch):
    night.use()
    rel = "integration_plan/2573/growing.csv"
    path = night.landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(PLAN_HEADER)
    rows = [f"2573,{DG_PLAN},{OPM},DG73-{i},โครงการ {i},แพลตฟอร์มกลาง,เกษตร,{i}00,{i}00" for i in range(1, 7)]
    path.write_text("\n".join([header, *rows[:3]]) + "\n", encoding="utf-8")

    # Within the settle window: skipped, named, and not hashed into the ledger.
    monkeypatch.setenv("DGWH_SETTLE_S", "60")
    skipped: list[SkippedFile] = []
    assert [f for f in discover(str(night.landing), skipped) if f.relative_path == rel] == []
    [waiting] = [s for s in skipped if s.relative_path == rel]
    assert "settle window DGWH_SETTLE_S=60s" in waiting.reason

    # Discovered half-written (no settle window), then the sender appends the rest before it is parsed.
    monkeypatch.setenv("DGWH_SETTLE_S", "0")
    [half] = new_files()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(rows[3:]) + "\n")
    outcome = process_file(half, night.gate, "in-flight")
    assert outcome.status == "skipped" and "changed after it was found" in outcome.reason
    assert ledger(night, rel) == []

    # The next night loads the whole file, once.
    [whole] = new_files()
    assert whole.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    outcome = process_file(whole, night.gate, "next-night")
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 6)
    assert new_files() == []
    with night.connect() as conn:
        assert conn.execute("SELECT count(*) FROM raw.integration_plan WHERE project_code LIKE 'DG73-%'"
                            ).fetchone()[0] == 6
        assert_ledger_consistent(conn)


def test_the_ledger_hash_is_the_hash_of_the_bytes_loaded(night):
    """A file replaced between discovery and parsing (same size): nothing of either version is recorded."""
    night.use()
    rel = "integration_plan/2574/swapped.csv"
    write_plan(night, rel, 2574, OPM, [("DG74-A", 100)], 3)
    [lf] = new_files()
    write_plan(night, rel, 2574, OPM, [("DG74-B", 100)], 3)
    assert process_file(lf, night.gate, "swapped").status == "skipped"
    [lf2] = new_files()
    assert process_file(lf2, night.gate, "swapped-2").status == "loaded"
    with night.connect() as conn:
        codes = conn.execute("SELECT project_code FROM raw.integration_plan r JOIN ops.file_ledger l USING (file_id) "
                             "WHERE l.path = %s", (rel,)).fetchall()
        assert codes == [("DG74-B",)]
        assert conn.execute("SELECT content_sha256 FROM ops.file_ledger WHERE path = %s", (rel,)).fetchone()[0] == \
            hashlib.sha256((night.landing / rel).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------------- case 5

HOLDER = r"""
import os, sys, time
from nightly.runlock import acquire
from ground.warehouse import connect
conn = connect(autocommit=True)
acquire(conn, sys.argv[1], wait_s=0, pid=os.getpid(), dag_id="dg_nightly")
print("HOLDING", os.getpid(), flush=True)
time.sleep(600)
"""


def _holder(owner: str, child: bool = False) -> subprocess.Popen:
    script = HOLDER.replace("time.sleep(600)", "import subprocess\nprint(subprocess.Popen(['sleep', '600']).pid, "
                            "flush=True)\ntime.sleep(600)") if child else HOLDER
    proc = subprocess.Popen([sys.executable, "-c", script, owner], cwd=REPO, env={**ENV, **os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("HOLDING"), line + proc.stderr.read()
    return proc


def _lock_row(wh) -> tuple | None:
    with wh.connect() as conn:
        return conn.execute("SELECT owner, holder_pid FROM ops.run_lock WHERE lock_name = 'pipeline'").fetchone()


def test_a_lock_whose_process_was_killed_is_taken_over_at_once_naming_the_old_holder(night, capsys):
    from nightly.runlock import acquire, release

    night.use()
    proc = _holder("killed-run")
    assert _lock_row(night) == ("killed-run", proc.pid)
    proc.kill()  # kill -9: no handler runs, the lease stays behind
    proc.wait()
    assert _lock_row(night) == ("killed-run", proc.pid)
    started = time.monotonic()
    with night.connect() as conn:
        acquire(conn, "next-run", wait_s=0)
        assert time.monotonic() - started < 5
        err = capsys.readouterr().err
        assert f"took over the warehouse lock from killed-run, dg_nightly, pid {proc.pid} on " in err
        assert "no longer runs" in err
        assert release(conn, "next-run")


LOADER = r"""
import os, sys, time
from nightly.pipeline import new_files, process_files
from nightly.runlock import acquire
from ground.warehouse import connect
conn = connect(autocommit=True)
acquire(conn, sys.argv[1], wait_s=0, pid=os.getpid(), dag_id="dg_nightly")
outcomes = process_files(new_files(), run_id=sys.argv[1])
print("LOADED", len(outcomes), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_ends_the_holder_and_the_lock_goes_only_once_it_is_gone(night, sig):
    """Before: the handler gave the lease back and the run went on. Now the process (and its children) end at
    once; the lease stays with the dead process until the next run takes it over."""
    import psutil

    from nightly.runlock import acquire, release

    night.use()
    proc = _holder(f"interrupted-{sig.name}", child=True)
    reader = int(proc.stdout.readline())  # a child of the holder, as a reader process is
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig.value, err
    assert not psutil.pid_exists(reader) or psutil.Process(reader).status() == psutil.STATUS_ZOMBIE
    assert err.strip().splitlines()[-1] == f"run interrupted-{sig.name} stopped by {sig.name}"
    assert _lock_row(night) == (f"interrupted-{sig.name}", proc.pid)
    with night.connect() as conn:
        acquire(conn, "after-it", wait_s=0)
        assert conn.execute("SELECT status FROM ops.pipeline_runs WHERE run_id = %s",
                            (f"interrupted-{sig.name}",)).fetchone() == ("killed",)
        assert release(conn, "after-it")


STUBBORN = r"""
import os, signal, subprocess, sys, time
from nightly.runlock import acquire
from ground.warehouse import connect
conn = connect(autocommit=True)
acquire(conn, "stubborn-run", wait_s=0, pid=os.getpid(), dag_id="dg_nightly")
child = subprocess.Popen(["sleep", "600"])
signal.signal(signal.SIGTERM, lambda *a: None)  # as Airflow's task runner does between our tasks: goes on
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("HOLDING", child.pid, flush=True)
time.sleep(600)
"""


def test_ctrl_c_to_progress_stops_the_whole_run_then_records_it_and_releases_the_lock(night, tmp_path):
    """make run's wrapper: the run goes on after SIGTERM (Airflow's handler between tasks), so it is killed;
    only then is the run recorded interrupted and its lock released, in one line, exit 130."""
    import psutil

    night.use()
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "nightly.progress", "--log", str(log), "--dag", "dg_nightly",
                             "--", sys.executable, "-c", STUBBORN], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**ENV, **os.environ, "AIRFLOW_HOME": str(tmp_path / "no-airflow")})
    deadline = time.monotonic() + 120
    while "HOLDING" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.2)
    child = int(log.read_text().split("HOLDING", 1)[1].split()[0])
    holder = _lock_row(night)[1]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    [line] = out.splitlines()
    assert line.endswith(f"interrupted (SIGINT): every task of the run stopped; run stubborn-run recorded as "
                         f"interrupted, warehouse lock released; log: {log.resolve()}")
    for pid in (holder, child):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert _lock_row(night) is None
    with night.connect() as conn:
        assert conn.execute("SELECT status FROM ops.pipeline_runs WHERE run_id = 'stubborn-run'").fetchone() == \
            ("interrupted",)
    assert log.is_symlink() and log.resolve().parent == tmp_path / "runs"


def test_a_killed_nights_files_are_listed_by_the_next_summary_once(night):
    """Before: a night killed with kill -9 after its loads had no row in ops.pipeline_runs, and its files
    appeared in no summary. Now its row says running, the next run marks it killed, and the next summary lists
    what it loaded and rejected, once."""
    from nightly.runlock import release
    from nightly.service import summarise

    night.use()
    with night.connect() as conn:  # the module's earlier lock tests leave runs of their own
        ensure_schema(conn)
        conn.execute("UPDATE ops.pipeline_runs SET reported_in = 'earlier' WHERE reported_in IS NULL")
    good = write_plan(night, "integration_plan/2571/killed_a.csv", 2571, OPM, [("DG71-K1", 10)], 3)
    write_plan(night, "integration_plan/2571/killed_b.csv", 2571, OPM, [("DG71-K2", 20)], 3)
    bad = night.landing / "integration_plan/2571/killed_bad.csv"
    bad.write_text("not,a,plan\n1,2,3\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", LOADER, "killed-night"], cwd=REPO, env={**ENV, **os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("LOADED"), line + proc.stderr.read()
        with night.connect() as conn:
            assert conn.execute("SELECT status, finished_at FROM ops.pipeline_runs WHERE run_id = 'killed-night'"
                                ).fetchone() == ("running", None)
    finally:
        proc.kill()  # kill -9
        proc.wait()
    for path in (good, bad, good.with_name("killed_b.csv")):
        path.unlink()
    with night.connect() as conn:
        from nightly.runlock import acquire

        acquire(conn, "next-night", wait_s=0)
    text, ok, _ = summarise("next-night", {"build": False, "reason": "nothing new"}, None)
    again, _, _ = summarise("next-night-2", {"build": False, "reason": "nothing new"}, None)
    with night.connect() as conn:
        row = conn.execute("SELECT status, reported_in FROM ops.pipeline_runs WHERE run_id = 'killed-night'"
                           ).fetchone()
        assert release(conn, "next-night")
    assert ok and row == ("killed", "next-night")
    lines = text.splitlines()
    assert "earlier runs that ended without a summary: 1" in lines, text
    assert any(x.startswith("  - killed-night: killed (started ") and x.endswith("2 file(s) loaded, 1 rejected")
               for x in lines), text
    assert "      loaded: integration_plan/2571/killed_a.csv" in lines
    assert "      loaded: integration_plan/2571/killed_b.csv" in lines
    assert any(x.startswith("      rejected: integration_plan/2571/killed_bad.csv: ") for x in lines), text
    assert "killed-night" not in again, "listed twice"


def test_a_waiting_run_says_what_it_waits_for_and_make_unlock_frees_a_stuck_lock(night, capsys):
    from nightly.runlock import RunLocked, acquire, release

    night.use()
    proc = _holder("live-run")
    try:
        with night.connect() as conn, pytest.raises(RunLocked) as locked:
            acquire(conn, "waiting-run", wait_s=1)
        err = capsys.readouterr().err
        assert f"waiting for the warehouse lock held by live-run, dg_nightly, pid {proc.pid} on " in err
        assert "giving up in" in err
        assert re.search(r"waited [1-9]\d*s\. It releases", str(locked.value)), str(locked.value)
        # a wait made of several tries (the sensor's pokes) says how long it has waited in all, not "0s"
        with night.connect() as conn, pytest.raises(RunLocked) as locked:
            acquire(conn, "waiting-run", wait_s=0, waiting_since=time.time() - 42)
        assert re.search(r"waited 4[23]s\. It releases", str(locked.value)), str(locked.value)
        assert "`make unlock` if it is stuck" in str(locked.value)
        # make unlock refuses while the holder still runs here, FORCE=1 frees it.
        refused = subprocess.run(["make", "-s", "unlock"], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "which is still running" in refused.stderr, refused.stderr
        assert _lock_row(night) == ("live-run", proc.pid)
        forced = subprocess.run(["make", "-s", "unlock", "FORCE=1"], cwd=REPO, capture_output=True, text=True,
                                timeout=120, env={**os.environ, "FORCE": "1"})
        assert forced.returncode == 0 and "released the warehouse lock held by live-run, dg_nightly, pid" in \
            forced.stdout, forced.stdout + forced.stderr
        assert _lock_row(night) is None
    finally:
        proc.kill()
        proc.wait()
    # A lease with no process of its own (a scheduler's run) is taken over once its Airflow run has ended.
    with night.connect() as conn:
        acquire(conn, "scheduled-run", wait_s=0, dag_id="dg_nightly")
        asked = []

        def run_gone(dag_id: str, run_id: str) -> bool:
            asked.append((dag_id, run_id))
            return True

        acquire(conn, "after-it", wait_s=0, run_gone=run_gone)
        assert asked == [("dg_nightly", "scheduled-run")]
        assert "its Airflow run dg_nightly / scheduled-run has ended" in capsys.readouterr().err
        assert release(conn, "after-it")
    assert subprocess.run(["make", "-s", "unlock"], cwd=REPO, capture_output=True, text=True,
                          timeout=120).stdout.strip() == "the warehouse is not locked"


def test_a_dbt_build_whose_run_lost_the_lock_refuses_to_build_and_writes_nothing(night, tmp_path, monkeypatch):
    """The night's dbt.build (the real operator of the parsed DAG) checks the lease before it builds: a run marked
    failed from the UI whose lease the next run took over fails at once, with no retry, naming the holder, and
    sets up no build (no selection, no run id for dbt's results, no target folder, no dbt result)."""
    import gc

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import AirflowFailException

    from ground.settings import get_settings
    from nightly.runlock import acquire, release

    night.use()
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    monkeypatch.delenv("DGWH_RUN_ID", raising=False)
    dag = DagBag(dag_folder=str(REPO / "dags" / "dg_nightly.py")).dags["dg_nightly"]
    build = dag.get_task("dbt.build")
    lost, holder = "manual__lost-its-lease", "scheduled__next-night"
    with night.connect() as conn:
        acquire(conn, lost, wait_s=0, dag_id="dg_nightly")
        release(conn, lost)  # marked failed from the UI: its lease given back, the next night takes it
        acquire(conn, holder, wait_s=0, dag_id="dg_nightly")
        try:
            select_before = build.select
            with pytest.raises(AirflowFailException) as refused:
                build._pre_execute_hook({"run_id": lost, "task": build, "dag": dag, "ti": None, "params": {}})
        finally:
            gc.unfreeze()  # the hook freezes the heap for the build it would have run
            release(conn, holder)
        assert str(refused.value).startswith(f"run {lost} no longer holds the warehouse lock ({holder}, dg_nightly")
        assert str(refused.value).endswith("this task writes nothing")
        assert build.select == select_before and os.environ.get("DGWH_RUN_ID") is None
        assert not get_settings().dbt_run_target_dir(lost).exists()
        ensure_schema(conn)
        assert conn.execute("SELECT count(*) FROM ops.dbt_results WHERE run_id = %s", (lost,)).fetchone()[0] == 0


# ---------------------------------------------------------------------------------------------------- cases 4, 6

REPORT_HEADER = ("รหัสแผน,ปีงบประมาณที่รายงาน,รหัสโครงการ,ชื่อโครงการ,หน่วยงานรับผิดชอบหลัก,ปีที่เริ่มตามแผน,สถานะ,"
                 "ปีที่เริ่มดำเนินการจริง,ปัญหาอุปสรรค,รายละเอียดปัญหาอุปสรรค,วันที่รายงาน")
KRISDIKA, DOPA = "สำนักงานคณะกรรมการกฤษฎีกา", "กรมการปกครอง"  # leads of DG2559_2561-01 and -02 (plan_projects)
STATUS = {"started": "เริ่มดำเนินการแล้ว", "not_started": "ยังไม่เริ่มดำเนินการ"}


def write_report(wh, rel: str, fy: int, agency: str, projects: list[tuple[str, str]], day: int) -> Path:
    lines = [REPORT_HEADER] + [
        f"dg_2559_2561,{fy},{code},โครงการ {code},{agency},2559,{STATUS[status]},"
        f"{fy if status == 'started' else ''},,,{fy - 543}-09-{day:02d}" for code, status in projects]
    path = wh.landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stamp = datetime(2016, 9, day, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def load_all(wh, run_id: str) -> dict[str, str]:
    outcomes = [process_file(f, wh.gate, run_id) for f in new_files()]
    assert all(o.status == "loaded" for o in outcomes), [(o.path, o.reason) for o in outcomes]
    return {o.path: o.status for o in outcomes}


# What the project-report tests below read (the current reports, their conflicts and, upstream of both, the
# ledger's staging), with those models' tests; make withdraw builds the whole project.
BUILD_REPORTS = ("build", "--select", "+int_project_reports_current", "+int_project_report_conflicts",
                 "--indirect-selection", "cautious")


def current_reports(wh, fy: int) -> set[tuple[str, str, str]]:
    with wh.connect() as conn:
        rows = conn.execute("SELECT c.project_code, c.agency_id, c.status, l.path FROM intermediate."
                            "int_project_reports_current c JOIN ops.file_ledger l USING (file_id) "
                            "WHERE c.plan_code = 'dg_2559_2561' AND c.reporting_fy_be = %s", (fy,)).fetchall()
    return {(code, agency, status) for code, agency, status, _ in rows}


def test_a_project_code_two_agencies_report_is_isolated_and_withdraw_rebuilds_without_the_file(night):
    night.use()
    a, b = "project_reports/2559/krisdika.csv", "project_reports/2559/dopa.csv"
    write_report(night, a, 2559, KRISDIKA, [("DG2559_2561-01", "started"), ("DG2559_2561-03", "started")], 10)
    write_report(night, b, 2559, DOPA, [("DG2559_2561-01", "not_started"), ("DG2559_2561-02", "started")], 11)
    load_all(night, "dup")
    outcome = run_dbt(list(BUILD_REPORTS))
    assert outcome.success, outcome.failures  # the uniqueness test on int_project_reports_current holds
    # -01 is claimed by both files: the lead's (Krisdika, D0009) row stays; both files are named.
    assert current_reports(night, 2559) == {("DG2559_2561-01", "D0009", "started"),
                                            ("DG2559_2561-03", "D0009", "started"),
                                            ("DG2559_2561-02", "D0094", "started")}
    with night.connect() as conn:
        conflicts = conn.execute("SELECT project_code, path, is_kept, conflicting_files FROM intermediate."
                                 "int_project_report_conflicts ORDER BY path").fetchall()
    assert conflicts == [("DG2559_2561-01", b, False, f"{b} | {a}"), ("DG2559_2561-01", a, True, f"{b} | {a}")]

    # make withdraw: the reason in the ledger, the marts rebuilt without the file.
    run = subprocess.run(["make", "-s", "withdraw", f"FILE={b}", "REASON=sent to the wrong plan; x'; --"],
                         cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"withdrew {b} (file id" in run.stdout and "marts rebuilt without it" in run.stdout
    # a short result on the terminal (before: dbt's whole log, 770 lines); dbt's log in the file it names
    assert len(run.stdout.splitlines()) == 2 and not run.stderr.strip(), run.stdout + run.stderr
    dbt_log = Path(run.stdout.rsplit("dbt's log: ", 1)[1].strip())
    assert dbt_log.is_file() and "Completed successfully" in dbt_log.read_text()
    assert current_reports(night, 2559) == {("DG2559_2561-01", "D0009", "started"),
                                            ("DG2559_2561-03", "D0009", "started")}
    with night.connect() as conn:
        assert conn.execute("SELECT w.reason FROM ops.file_withdrawals w JOIN ops.file_ledger l USING (file_id) "
                            "WHERE l.path = %s", (b,)).fetchone() == ("sent to the wrong plan; x'; --",)
        assert conn.execute("SELECT count(*) FROM intermediate.int_project_report_conflicts").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM ops.run_lock").fetchone()[0] == 0
        assert_ledger_consistent(conn)  # raw and the ledger keep the withdrawn file
    again = subprocess.run(["make", "-s", "withdraw", f"FILE={b}", "REASON=twice"], cwd=REPO, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode != 0 and again.stderr.splitlines()[0].startswith(f"error: {b} (file id ")
    assert again.stderr.splitlines()[0].endswith(") is already withdrawn")
    missing = subprocess.run(["make", "-s", "withdraw", "FILE=nope.csv", "REASON=x"], cwd=REPO, capture_output=True,
                             text=True, timeout=600)
    assert missing.returncode != 0 and missing.stderr.startswith("error: no file 'nope.csv' in the ledger")
    assert "Traceback" not in missing.stderr


def test_a_correction_with_an_older_mtime_supersedes_in_the_order_received(night):
    """cp -p / rsync -t: the correction arrives a night later with an older mtime; it still wins."""
    night.use()
    write_report(night, "project_reports/2560/krisdika_first.csv", 2560, KRISDIKA,
                 [("DG2559_2561-01", "not_started")], 20)
    load_all(night, "first-night")
    write_report(night, "project_reports/2560/krisdika_correction.csv", 2560, KRISDIKA,
                 [("DG2559_2561-01", "started")], 5)
    load_all(night, "second-night")
    outcome = run_dbt(list(BUILD_REPORTS))
    assert outcome.success, outcome.failures
    assert current_reports(night, 2560) == {("DG2559_2561-01", "D0009", "started")}
    with night.connect() as conn:
        order = conn.execute("SELECT path, received_at > file_modified_at FROM staging.stg_file_ledger WHERE path "
                             "LIKE 'project_reports/2560/%' ORDER BY received_at").fetchall()
    assert [p for p, _ in order] == ["project_reports/2560/krisdika_first.csv",
                                     "project_reports/2560/krisdika_correction.csv"]
    assert order[1][1], "the correction's received time is its mtime, not when it arrived"


# ---------------------------------------------------------------------------------------------------- case 7


def test_every_skipped_landing_entry_is_listed_in_the_summary_with_why(night, monkeypatch):
    from nightly.summary import build_summary, format_summary

    night.use()
    entries = {"integration_plan/2575/.hidden.csv": "is hidden",
               "integration_plan/2575/_draft.csv": "starting with '_'",
               "integration_plan/2575/old.xls": "old Excel .xls", "projct_reports/2575/typo.csv": "misspelled folder",
               "budget_bill/2575/book.xlsx": "not one of .csv", "integration_plan/2575/~$open.xlsx": "lock file"}
    for rel in entries:
        (night.landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (night.landing / rel).write_text("x\n")
    monkeypatch.setenv("DGWH_SETTLE_S", "3600")
    write_plan(night, "integration_plan/2575/fresh.csv", 2575, OPM, [("DG75-1", 1)], 1)
    os.utime(night.landing / "integration_plan/2575/fresh.csv")  # just written
    entries["integration_plan/2575/fresh.csv"] = "settle window DGWH_SETTLE_S=3600s"
    assert "integration_plan/2575/fresh.csv" not in {f.relative_path for f in new_files()}  # the night's discovery
    os.utime(night.landing / "integration_plan/2575/fresh.csv", (0, 0))  # settled by the time of the summary
    with night.connect() as conn:
        ensure_schema(conn)
        summary = build_summary(conn, "skips")
    shown = {e["path"]: e["why"] for e in summary["skipped"]}
    for rel, why in entries.items():
        assert why in shown.get(rel, ""), (rel, shown.get(rel))
    text = format_summary(summary)
    assert f"landing entries not loaded: {len(shown)} (each tried again next run)" in text
    assert "  - projct_reports/2575/typo.csv: is not in a source folder (project_reports, readiness, " in text
    for rel in entries:
        (night.landing / rel).unlink()


@pytest.mark.parametrize("args, line", [
    (["FROM=abc", "TO=2565"], "error: FROM='abc' is not a year: give a Buddhist Era year such as 2565"),
    (["FROM=2400", "TO=2565"], "error: FROM=2400 is outside the fiscal years the warehouse covers (2550-2600)"),
    (["FROM=2022", "TO=2565"], "error: FROM=2022 looks like a CE year: give the Buddhist Era year (2565)"),
    (["FROM=2566", "TO=2565"], "error: FROM (2566) is after TO (2565)"),
    (["FROM=2563", "TO=2565'; touch x; '"], "error: TO=\"2565'; touch x; '\" is not a year: give a Buddhist Era "
                                            "year such as 2565"),
])
def test_a_wrong_backfill_range_fails_in_one_line(tmp_path, args, line):
    run = subprocess.run(["make", "-s", "backfill", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**ENV, "DGWH_STATE_DIR": str(tmp_path / "state")})
    assert run.returncode != 0
    # make's own "make: *** ... Error 2" ("make[1]: ..." when make test runs the suite) is not ours
    assert [x for x in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", x)] == [line]
    assert not (tmp_path / "state" / "last_backfill.log").exists(), "Airflow ran for a range that cannot run"


# ---------------------------------------------------------------------------------------------------- end to end
# A night through Airflow with poison workbooks, a file in flight and a cross-agency conflict beside good files,
# and the next night loading the in-flight file once: tests/test_airflow.py (its one full night carries them).


# ---------------------------------------------------------------------------------------------------- case 7: the rest
# make stop during a run, a deleted postmaster.pid, one-line errors, permissions, one run status, cell size.

WAITER = r"""
import sys, time
from nightly.runlock import acquire
from ground.warehouse import connect, stopped_reason
for attempt in range(200):  # as Airflow retries take_run_lock: connect again and wait again
    try:
        with connect(autocommit=True) as conn:
            print("WAITING", flush=True)
            acquire(conn, "waiting-run", wait_s=300)
    except Exception as exc:
        why = stopped_reason(exc)
        if why:
            print("STOPPED: " + why, flush=True)
            sys.exit(1)
        print("RETRY " + type(exc).__name__, flush=True)
        time.sleep(0.2)
"""


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _make(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**ENV, **os.environ})


@pytest.fixture(scope="module")
def stoppable(make_warehouse):
    """A warehouse of its own: these tests stop it (the others' server stays up)."""
    wh = make_warehouse("stoppable")
    wh.use()
    with wh.connect() as conn:
        ensure_schema(conn)
    yield wh
    from ground.embedded_pg import EmbeddedWarehouse

    EmbeddedWarehouse(wh.state).stopped_marker.unlink(missing_ok=True)


def test_make_stop_stops_the_warehouse_while_a_run_waits_and_it_stays_stopped(stoppable):
    """Before: the waiting run's reconnect (Airflow's retry of take_run_lock) started the server again
    within half a second of `make stop`. Now the stop holds and the run ends with one line, not retried."""
    sys.path.insert(0, str(REPO / "dags"))  # the DAGs' own package, as Airflow's dags folder puts it
    from common.failfast import no_retry

    from ground.embedded_pg import EmbeddedWarehouse, EmbeddedWarehouseStopped
    from ground.warehouse import connect
    from nightly.runerror import reason

    stoppable.use()
    server = EmbeddedWarehouse(stoppable.state)
    port = server.config().port
    holder = _holder("working-run")
    waiter = subprocess.Popen([sys.executable, "-c", WAITER], cwd=REPO, env={**ENV, **os.environ},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert waiter.stdout.readline().strip() == "WAITING"
        time.sleep(0.5)
        stopped = _make("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == ("embedded warehouse stopped; it stays stopped until `make run` or "
                                          "`make warehouse-url`")
        out, err = waiter.communicate(timeout=60)
        for _ in range(15):  # 3 s: before, it was running again within half a second
            assert not server.is_running() and not _port_open(port), "something started the server again"
            time.sleep(0.2)
        assert waiter.returncode == 1, out + err
        # its waiting connection broke: stopped during the run (a retry would get "... and stays stopped")
        assert out.splitlines()[-1] == ("STOPPED: the embedded warehouse was stopped with `make stop` during the "
                                        "run, which stops here; `make run` starts it again and loads what is "
                                        "left"), out + err
        assert "RETRY" not in out
        # Under Airflow the same error fails the task at once (AirflowFailException: no retry) ...
        with pytest.raises(EmbeddedWarehouseStopped) as down:
            connect()
        assert type(no_retry(down.value)).__name__ == "AirflowFailException"
        # ... and `make run` prints one line from the run's log, the traceback staying in the log.
        crashed = subprocess.run([sys.executable, "-c", "from ground.warehouse import connect; connect()"],
                                 cwd=REPO, env={**ENV, **os.environ}, capture_output=True, text=True, timeout=60)
        assert "Traceback" in crashed.stderr
        assert reason(crashed.stderr) == ("the embedded warehouse was stopped with `make stop` and stays stopped; "
                                          "`make run` or `make warehouse-url` starts it again")
        assert _make("stop").stdout.strip() == "embedded warehouse was not running"
    finally:
        holder.kill()
        holder.wait()
        waiter.kill()
        waiter.wait()
    # An explicit start (make run's first step, make warehouse-url) ends the stop.
    url = _make("warehouse-url")
    assert url.returncode == 0 and url.stdout.strip().endswith(f"@127.0.0.1:{port}/warehouse"), url.stderr
    assert server.is_running() and not server.stopped_marker.exists()
    with stoppable.connect() as conn:
        conn.execute("DELETE FROM ops.run_lock")


def test_a_deleted_postmaster_pid_neither_breaks_make_run_nor_fools_make_stop(stoppable):
    from ground.embedded_pg import EmbeddedWarehouse

    stoppable.use()
    server = EmbeddedWarehouse(stoppable.state)
    server.start()
    port = server.config().port
    pid = server.orphan_pid()
    assert pid is not None
    (server.pgdata / "postmaster.pid").unlink()
    # make stop finds the server by its data directory instead of saying "not running".
    stopped = _make("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == (f"embedded warehouse stopped (its postmaster.pid was missing: found the server, "
                                      f"pid {pid}, by its data directory); it stays stopped until `make run` or "
                                      f"`make warehouse-url`")
    assert not _port_open(port) and server.orphan_pid() is None
    # make run's first step (warehouse check) stops a server left without its pid file and starts it cleanly.
    server.start()
    pid = server.orphan_pid()
    (server.pgdata / "postmaster.pid").unlink()
    check = subprocess.run([sys.executable, "-m", "ground.warehouse", "check"], cwd=REPO, capture_output=True,
                           text=True, timeout=120, env={**ENV, **os.environ})
    assert check.returncode == 0, check.stderr
    assert "Traceback" not in check.stderr
    assert check.stderr.strip() == ("the embedded warehouse's postmaster.pid was missing while its server (pid "
                                    f"{pid}) still ran: stopped that server to start it again cleanly")
    assert check.stdout.strip() == f"warehouse reachable at 127.0.0.1:{port}"
    assert server.is_running() and (server.pgdata / "postmaster.pid").exists()


def test_an_unreachable_warehouse_fails_make_run_fast_in_one_line_naming_host_and_port(tmp_path):
    """Before: ~15 silent minutes of retries, then a traceback. Now one line within the connect budget."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    zone = tmp_path / "zone"
    zone.mkdir()
    secret = "pw-never-shown"
    env = {**ENV, "DGWH_STATE_DIR": str(tmp_path / "state"), "LANDING_ZONE": str(zone), "DGWH_CONNECT_BUDGET_S": "3",
           "WAREHOUSE_URL": f"postgresql://dg_pipeline:{secret}@127.0.0.1:{closed}/warehouse"}
    started = time.monotonic()
    run = subprocess.run(["make", "-s", "run"], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode != 0
    lines = [x for x in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: ", x)]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: cannot connect to the warehouse postgresql://dg_pipeline:***@127.0.0.1:{closed}"
                               f"/warehouse at 127.0.0.1:{closed}: connection failed"), lines
    assert "Connection refused" in lines[0] and "tried " in lines[0] and "DGWH_CONNECT_BUDGET_S" in lines[0]
    assert secret not in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "state" / "last_run.log").exists(), "Airflow started"
    # A host that does not answer at all: bounded by the connect timeout, not the kernel's minutes.
    begun = time.monotonic()
    check = subprocess.run([sys.executable, "-m", "ground.warehouse", "check"], cwd=REPO, capture_output=True,
                           text=True, timeout=120, env={**env, "WAREHOUSE_URL": "postgresql://u:p@10.255.255.1/w",
                                                        "DGWH_CONNECT_TIMEOUT_S": "1", "DGWH_CONNECT_BUDGET_S": "2"})
    assert check.returncode == 1 and time.monotonic() - begun < 30
    assert check.stderr.count("\n") == 1 and check.stderr.startswith(
        "error: cannot connect to the warehouse postgresql://u:***@10.255.255.1/w at 10.255.255.1:5432: "), check.stderr
    assert time.monotonic() - started < 300


def _acl(path: Path) -> list[tuple[int, int, int]]:
    from ground.embedded_pg import _acl_entries

    return sorted(_acl_entries(path))


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as a service user only when started as root")
def test_starting_the_server_adds_no_other_execute_and_initpw_is_private_from_creation(tmp_path):
    """Before: every parent folder the service user could not pass got o+x (e.g. /root 0701), and .initpw was
    0644 while initdb ran. Now one ACL entry for the service user alone, and .initpw is 0600 throughout."""
    import pwd
    import threading

    from ground.embedded_pg import SERVICE_USER, EmbeddedWarehouse

    root = Path(__import__("tempfile").mkdtemp(prefix="dgwh-test-perm-"))  # 0700, as /root
    try:
        parent = root / "home"
        parent.mkdir(mode=0o750)
        os.chmod(parent, 0o750)
        before = {p: p.stat().st_mode & 0o7777 for p in (root, parent)}
        server = EmbeddedWarehouse(parent / "state")
        seen: set[int] = set()
        done = threading.Event()

        def watch() -> None:
            pw = server.state / ".initpw"
            while not done.is_set():
                try:
                    seen.add(pw.stat().st_mode & 0o7777)
                except FileNotFoundError:
                    pass
                time.sleep(0.001)

        watcher = threading.Thread(target=watch)
        old = os.umask(0)  # whatever the caller's umask
        watcher.start()
        try:
            server.start()
        finally:
            done.set()
            watcher.join()
            os.umask(old)
        try:
            assert seen == {0o600}, seen
            uid = pwd.getpwnam(SERVICE_USER).pw_uid
            for folder in (root, parent):
                mode = folder.stat().st_mode & 0o7777
                assert mode & 0o007 == before[folder] & 0o007 == 0, (folder, oct(mode))
                entries = _acl(folder)
                assert (2, 1, uid) in entries, entries  # user:dgwh:--x
                assert [e for e in entries if e[0] == 4] == [(4, (before[folder] >> 3) & 7, 0xFFFFFFFF)]
                assert [e for e in entries if e[0] == 2] == [(2, 1, uid)]
            assert server.state.stat().st_mode & 0o077 == 0 and _acl(server.state) == [
                (1, 7, 0xFFFFFFFF), (4, 0, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)]  # 0700, no ACL
            with __import__("psycopg").connect(server.config().url(), autocommit=True) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            server.stop()
    finally:
        __import__("shutil").rmtree(root, ignore_errors=True)


def test_quarantined_copies_are_0600_in_0700_folders_from_creation(tmp_path):
    from nightly.quarantine import quarantine

    zone = tmp_path / "landing"
    bad = zone / "integration_plan" / "2565" / "bad.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("not,a,plan\n1,2,3\n", encoding="utf-8")
    lf = discover(str(zone))[0]
    qdir = tmp_path / "q" / "quarantine"
    old = os.umask(0o022)
    try:
        target = quarantine(lf, qdir, "no_header", "no header", "ไม่พบหัวตาราง", [], "perm-run")
    finally:
        os.umask(old)
    for path in (target, *(Path(str(target) + s) for s in (".report.md", ".report.json", ".feedback.txt"))):
        assert path.stat().st_mode & 0o777 == 0o600, (path, oct(path.stat().st_mode))
    assert target.parent.stat().st_mode & 0o777 == 0o700
    assert qdir.stat().st_mode & 0o777 == 0o700 and qdir.parent.stat().st_mode & 0o777 == 0o700
    target.parent.chmod(0o755)  # a day folder made by an older version is narrowed
    quarantine(lf, qdir, "no_header", "no header", "ไม่พบหัวตาราง", [], "perm-run")
    assert target.parent.stat().st_mode & 0o777 == 0o700


def test_a_check_that_failed_then_passed_on_retry_shows_its_final_result(night):
    from nightly.summary import build_summary, format_summary

    night.use()
    with night.connect() as conn:
        ensure_schema(conn)
        for suite, ok in (("reconcile.file_ledger", False), ("reconcile.budget_by_year", True),
                          ("reconcile.file_ledger", True)):
            conn.execute("INSERT INTO ops.validation_runs (run_id, file_id, path, suite, success, evaluated, failed, "
                         "critical_failed, details) VALUES ('retried-run', NULL, 'marts.x', %s, %s, 3, %s, %s, '[]')",
                         (suite, ok, 0 if ok else 2, 0 if ok else 2))
        text = format_summary(build_summary(conn, "retried-run", {}))
    assert "FAILED" not in text, text
    assert ("checks after dbt: 2 of 2 passed; reconcile.file_ledger passed on retry (failed 1 of 2 tries)"
            in text.splitlines()), text


def _big_cell_workbook(path: Path, shared: bool) -> Path:
    """A plan workbook whose row 3, column E holds 300,000 characters (as a shared or an inline string)."""
    cols = "ABCDEFGHI"
    cells = {f"{c}1": h for c, h in zip(cols, PLAN_HEADER, strict=True)}
    for r in (2, 3):
        values = ["2565", DG_PLAN, OPM, f"DG65-C{r}", "x", "แพลตฟอร์มกลาง", "เกษตร", "100", "100"]
        cells.update({f"{c}{r}": v for c, v in zip(cols, values, strict=True)})
    cells["E3"] = "ก" * 300_000
    minimal_xlsx(path, cells)
    if shared:  # the same cells, E3 through the shared-strings part as Excel writes long text
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n).decode() for n in zf.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"]
        sheet = re.sub(r'<c r="E3" t="inlineStr"><is><t>ก+</t></is></c>', '<c r="E3" t="s"><v>0</v></c>', sheet)
        parts["xl/worksheets/sheet1.xml"] = sheet
        ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        big = "ก" * 300_000
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{ns}" count="1" uniqueCount="1"><si><t>{big}</t></si></sst>'
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            "</Relationships>", '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in parts.items():
                zf.writestr(name, text)
    return path


@pytest.mark.parametrize("shared", [False, True], ids=["inline", "shared-string"])
def test_a_workbook_cell_with_an_enormous_string_is_refused_naming_sheet_row_and_column(night, shared):
    from ground.sources import SOURCES
    from ingest.readers import FileRejected, read_xlsx

    night.use()
    rel = f"integration_plan/2565/big_cell_{'shared' if shared else 'inline'}.xlsx"
    path = _big_cell_workbook(night.landing / rel, shared)
    with pytest.raises(FileRejected) as refused:
        read_xlsx(path, SOURCES["integration_plan"])
    assert refused.value.code == "cell_too_large" and refused.value.row == 3
    assert str(refused.value) == ("sheet 'data', row 3, column E: a cell of 300,000 characters; at most 131,072 per "
                                  "cell (DGWH_MAX_CELL_CHARS)")
    outcomes = [process_file(f, night.gate, "big-cell") for f in new_files() if f.relative_path == rel]
    assert [o.status for o in outcomes] == ["rejected"], outcomes
    rows = ledger(night, rel)
    assert rows[0][1:3] == ("rejected", "cell_too_large") and "row 3, column E" in rows[0][3]
    path.unlink()

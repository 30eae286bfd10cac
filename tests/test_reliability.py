"""Faults and least privilege on a small warehouse of its own, with counts asserted after each.

The tests run in file order on one warehouse: a warehouse down at start, unreadable landing entries, two
loaders racing on the same files, a corrupt resubmission, dbt failing in the middle of a build, the
pipeline role's privileges and, last, a scan of everything the pipeline wrote for its passwords.
Killed mid-load: tests/test_ingest_faults.py; two runs at once: tests/test_airflow.py; a backfill through Airflow:
tests/test_airflow_backfill.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import ground.settings
from expectations.gate import Gate
from ground.embedded_pg import ADMIN_ROLE, EmbeddedWarehouse, EmbeddedWarehouseError
from ground.registry import alias_keys
from ground.settings import session_limits
from ground.sources import SOURCES
from ground.warehouse import WarehouseUnavailable
from ingest.discover import discover
from nightly.pipeline import new_files, process_file
from nightly.transform import run_dbt
from tests.conftest import REPO

PLAN_HEADER = ["fiscal_year_be", "budget_plan_name", "agency_name", "project_code", "project_name_th", "approach",
               "focus_area", "requested_baht", "allocated_baht"]
DG_PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"
OPM, PRD = "สำนักงานปลัดสำนักนายกรัฐมนตรี", "กรมประชาสัมพันธ์"
PIPELINE_SCHEMAS = {"raw", "ops", "staging", "intermediate", "marts", "reference"}
RACERS = 2
RACE_FILES = 10
RACER = r"""
import json, sys, time
from pathlib import Path
from expectations.gate import get_gate
from nightly.pipeline import new_files, process_file
prefix, order, go, run_id = sys.argv[1:5]
gate = get_gate()  # built before the start signal, so both loaders reach the files together
files = [f for f in new_files() if f.relative_path.startswith(prefix)]
if order == "reverse":
    files.reverse()
print("READY", len(files), flush=True)
while not Path(go).exists():
    time.sleep(0.005)
print(json.dumps([process_file(f, gate, run_id=run_id).as_dict() for f in files]), flush=True)
"""


def write_plan(wh, rel: str, fy: int, agency: str, projects: list[tuple[str, int]], day: int) -> Path:
    """An integration-plan CSV received on ``day`` (its mtime orders resubmissions)."""
    path = wh.landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(PLAN_HEADER)] + [
        f"{fy},{DG_PLAN},{agency},{code},โครงการ {code},แพลตฟอร์มกลาง,เกษตร,{abs(amount)},{amount}"
        for code, amount in projects]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stamp = datetime(2026, 1, day, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def assert_ledger_consistent(conn: psycopg.Connection) -> dict[str, int]:
    """Every ledger row: rows in = loaded + rejected, and raw holds exactly its loaded rows. Returns the counts."""
    ledger = conn.execute("SELECT file_id, source, path, status, rows_in, rows_loaded, rows_rejected "
                          "FROM ops.file_ledger").fetchall()
    in_raw: dict[int, int] = {}
    for source in SOURCES:
        in_raw.update(conn.execute(sql.SQL("SELECT file_id, count(*) FROM {} GROUP BY file_id").format(
            sql.Identifier("raw", source))).fetchall())
    for file_id, _source, path, status, rows_in, loaded, rejected in ledger:
        assert rows_in == loaded + rejected, path
        assert in_raw.get(file_id, 0) == loaded, (path, status, in_raw.get(file_id), loaded)
        assert status == "loaded" or loaded == 0, path
    assert set(in_raw) <= {r[0] for r in ledger}, "raw rows without a ledger row"
    return {"files": len(ledger), "raw_rows": sum(in_raw.values()), "rows_in": sum(r[4] for r in ledger)}


def passwords(wh) -> list[str]:
    return list(EmbeddedWarehouse(wh.state).config().passwords.values())


def assert_no_password_in_state_files(wh) -> int:
    """No warehouse password in any file under the state dir but the server's own (its data and ``pg.json``);
    returns how many files were read."""
    scanned = 0
    for path in wh.state.rglob("*"):
        if path.is_file() and path.name != "pg.json" and "pgdata" not in path.relative_to(wh.state).parts:
            scanned += 1
            data = path.read_bytes()
            for pw in passwords(wh):
                assert pw.encode() not in data, path
    return scanned


def admin(wh, database: str = "warehouse") -> psycopg.Connection:
    return psycopg.connect(EmbeddedWarehouse(wh.state).config().url(ADMIN_ROLE, database), autocommit=True)


def dbt_ok(*args: str) -> None:
    outcome = run_dbt(list(args))
    assert outcome.success, (args, outcome.failures)


def mart_rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    cols = [c for (c,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = %s "
        "AND column_name NOT IN ('dbt_invocation_id', 'dbt_built_at') ORDER BY ordinal_position", (table,))]
    rows = conn.execute(sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier("marts", table))).fetchall()
    return sorted(rows, key=repr)


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a FIFO opened for hashing would block forever)."""
    def expired(*_):
        raise TimeoutError(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def rel(make_warehouse):
    """Two agencies' FY 2565 integration plans, loaded and built into the marts."""
    wh = make_warehouse("reliability")
    wh.use()
    write_plan(wh, "integration_plan/2565/opm.csv", 2565, OPM, [("DG65-R1", 1_000_000), ("DG65-R2", 2_500_000)], 1)
    write_plan(wh, "integration_plan/2565/prd.csv", 2565, PRD, [("DG65-R3", 700_000)], 1)
    wh.gate = Gate(list(alias_keys()))
    outcomes = [process_file(f, wh.gate, "rel-setup") for f in new_files()]
    assert [o.status for o in outcomes] == ["loaded", "loaded"], [o.reason for o in outcomes]
    dbt_ok("seed")
    dbt_ok("run")
    return wh


def test_warehouse_down_at_start_fails_clearly_and_loads_nothing_until_it_is_back(rel, monkeypatch):
    rel.use()
    with rel.connect() as conn:
        before = assert_ledger_consistent(conn)
    new = write_plan(rel, "integration_plan/2566/opm.csv", 2566, OPM, [("DG66-R1", 900_000)], 5)
    quarantined = set(rel.state.rglob("quarantine/**/*"))

    # An external warehouse URL where nothing listens: the error names it, masked.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    secret = "pw-" + secrets.token_hex(12)
    monkeypatch.setenv("WAREHOUSE_URL", f"postgresql://dg_pipeline:{secret}@127.0.0.1:{closed_port}/warehouse")
    with pytest.raises(WarehouseUnavailable) as down:
        new_files()
    shown = "".join(traceback.format_exception(down.value))
    assert f"cannot connect to the warehouse postgresql://dg_pipeline:***@127.0.0.1:{closed_port}/warehouse" in shown
    assert secret not in shown
    monkeypatch.delenv("WAREHOUSE_URL")

    # The embedded server stopped, and another program took its port: it cannot start.
    rel.stop()
    port = EmbeddedWarehouse(rel.state).config().port
    pending = discover(str(rel.landing))[-1]
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the server's old connections linger
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        for attempt in (new_files, lambda: process_file(pending, rel.gate, "rel-down")):
            with pytest.raises(EmbeddedWarehouseError) as down:
                attempt()
            shown = "".join(traceback.format_exception(down.value))
            assert "did not start" in shown and "Address already in use" in shown, shown
            assert not any(pw in shown for pw in passwords(rel))
    assert set(rel.state.rglob("quarantine/**/*")) == quarantined, "a file was quarantined while the warehouse was down"

    # Back: the pending file loads once, nothing else changed.
    pending = new_files()
    assert [f.relative_path for f in pending] == ["integration_plan/2566/opm.csv"]
    outcome = process_file(pending[0], rel.gate, "rel-after-outage")
    assert (outcome.status, outcome.rows_in, outcome.rows_loaded) == ("loaded", 1, 1), outcome.reason
    with rel.connect() as conn:
        after = assert_ledger_consistent(conn)
    assert after == {"files": before["files"] + 1, "raw_rows": before["raw_rows"] + 1, "rows_in": before["rows_in"] + 1}
    assert new.exists() and new_files() == []


def test_unreadable_landing_entries_are_skipped_by_name_and_the_rest_loads(rel, caplog, tmp_path):
    rel.use()
    with rel.connect() as conn:
        before = assert_ledger_consistent(conn)
    base = rel.landing / "integration_plan" / "2567"
    write_plan(rel, "integration_plan/2567/opm.csv", 2567, OPM, [("DG67-R1", 400_000)], 6)
    unreadable = base / "prd.csv"
    if os.geteuid() != 0:
        write_plan(rel, "integration_plan/2567/prd.csv", 2567, PRD, [("DG67-R2", 300_000)], 6)
        unreadable.chmod(0)
    else:  # root reads whatever the mode says: a link to nothing cannot be read by anyone
        unreadable.symlink_to(base / "deleted-before-upload-finished.csv")
    with pytest.raises(OSError):
        unreadable.read_bytes()
    os.mkfifo(base / "pipe.csv")  # opening it to hash would block for ever
    secret = tmp_path / "secret.csv"
    write_plan(rel, "integration_plan/2567/prd.csv.tmp", 2567, PRD, [("DG67-SECRET", 1)], 6).rename(secret)
    (base / "elsewhere.csv").symlink_to(secret)  # a link out of the landing zone is never followed
    (base / "loop.csv").symlink_to(base / "loop.csv")

    caplog.set_level(logging.WARNING, logger="ingest.discover")
    with time_limit(120):
        pending = new_files()
    assert [f.relative_path for f in pending] == ["integration_plan/2567/opm.csv"]
    warned = {r.getMessage().split()[2]: r.getMessage() for r in caplog.records if r.name == "ingest.discover"}
    assert set(warned) == {f"integration_plan/2567/{n}" for n in ("prd.csv", "pipe.csv", "elsewhere.csv", "loop.csv")}
    assert "outside the landing zone" in warned["integration_plan/2567/elsewhere.csv"]
    assert "not a regular file" in warned["integration_plan/2567/pipe.csv"]
    assert process_file(pending[0], rel.gate, "rel-unreadable").status == "loaded"
    with rel.connect() as conn:
        after = assert_ledger_consistent(conn)
        assert conn.execute("SELECT count(*) FROM raw.integration_plan WHERE project_code = 'DG67-SECRET'"
                            ).fetchone()[0] == 0
    assert after == {"files": before["files"] + 1, "raw_rows": before["raw_rows"] + 1, "rows_in": before["rows_in"] + 1}

    # Readable again (the upload finished, the link and the pipe were removed): it loads the next run.
    for name in ("prd.csv", "pipe.csv", "elsewhere.csv", "loop.csv"):
        (base / name).unlink()
    write_plan(rel, "integration_plan/2567/prd.csv", 2567, PRD, [("DG67-R2", 300_000)], 7)
    pending = new_files()
    assert [f.relative_path for f in pending] == ["integration_plan/2567/prd.csv"]
    assert process_file(pending[0], rel.gate, "rel-readable").status == "loaded"
    with rel.connect() as conn:
        assert assert_ledger_consistent(conn)["files"] == before["files"] + 2


def test_two_loaders_racing_on_the_same_files_load_each_once(rel, tmp_path):
    """Both loaders list the same ten files (one of them bad) before either starts, then run at once, in
    opposite orders: every file is loaded or quarantined by one of them, and the other reports it skipped."""
    rel.use()
    with rel.connect() as conn:
        before = assert_ledger_consistent(conn)
    expected_rows = {}
    for i in range(RACE_FILES - 1):
        projects = [(f"DG68-{i:02d}-{j}", 100_000 * (j + 1)) for j in range(i % 3 + 1)]
        write_plan(rel, f"integration_plan/2568/race_{i:02d}.csv", 2568, OPM, projects, 8)
        expected_rows[f"integration_plan/2568/race_{i:02d}.csv"] = len(projects)
    # every row fails a value check, so the file is rejected whole
    write_plan(rel, "integration_plan/2568/race_bad.csv", 2568, PRD, [("DG68-B1", -5), ("DG68-B2", -5)], 8)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false"}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, "integration_plan/2568/", order, str(go), f"race-{n}"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for n, order in enumerate(("forward", "reverse"))]
    try:
        for proc in racers:
            ready = proc.stdout.readline()
            assert ready.split() == ["READY", str(RACE_FILES)], ready + proc.stderr.read()[-3000:]
        go.touch()
        results = []
        for proc in racers:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in racers:
            proc.kill() if proc.poll() is None else None
    by_path: dict[str, list[dict]] = {}
    for outcomes in results:
        assert len(outcomes) == RACE_FILES
        for o in outcomes:
            by_path.setdefault(o["path"], []).append(o)
    assert set(by_path) == {*expected_rows, "integration_plan/2568/race_bad.csv"}
    for path, outcomes in by_path.items():
        statuses = sorted(o["status"] for o in outcomes)
        done = "rejected" if path.endswith("race_bad.csv") else "loaded"
        assert statuses == sorted([done, "skipped"]), (path, outcomes)
        winner = next(o for o in outcomes if o["status"] == done)
        assert winner["rows_in"] == winner["rows_loaded"] + winner["rows_rejected"]
        if done == "loaded":
            assert winner["rows_loaded"] == expected_rows[path]
            assert next(o for o in outcomes if o["status"] == "skipped")["reason"] == "already loaded by another run"
    with rel.connect() as conn:
        after = assert_ledger_consistent(conn)
        ledger = conn.execute("SELECT path, count(*), min(status) FROM ops.file_ledger WHERE path LIKE %s "
                              "GROUP BY path", ("integration_plan/2568/%",)).fetchall()
        validations = conn.execute("SELECT count(*), count(DISTINCT file_id) FROM ops.validation_runs v JOIN "
                                   "ops.file_ledger l USING (file_id) WHERE l.path LIKE %s",
                                   ("integration_plan/2568/%",)).fetchone()
    assert {p: (n, s) for p, n, s in ledger} == {
        **{p: (1, "loaded") for p in expected_rows}, "integration_plan/2568/race_bad.csv": (1, "rejected")}
    assert validations == (RACE_FILES, RACE_FILES)
    rows = sum(expected_rows.values())
    assert after == {"files": before["files"] + RACE_FILES, "raw_rows": before["raw_rows"] + rows,
                     "rows_in": before["rows_in"] + rows + 2}


def test_corrupt_resubmission_leaves_the_earlier_good_data_in_the_marts(rel):
    rel.use()
    query = ("SELECT projects, amount_baht FROM marts.budget_by_agency_year WHERE fiscal_year_be = 2565 "
             "AND source = 'integration_plan' AND agency_name_th = %s")
    with rel.connect() as conn:
        good = conn.execute(query, (OPM,)).fetchall()
        budget_before = [r for r in mart_rows(conn, "budget_by_year") if r[0] == 2565]
    assert good == [(2, 3_500_000)]
    # every row fails (a file with some good rows would load them and supersede the earlier file)
    write_plan(rel, "integration_plan/2565/opm_corrected.csv", 2565, OPM, [("DG65-R1", -1_200_000), ("DG65-R2", -1)],
               20)
    (pending,) = new_files()
    outcome = process_file(pending, rel.gate, "rel-corrupt")
    assert (outcome.status, outcome.rows_in, outcome.rows_rejected) == ("rejected", 2, 2)
    assert outcome.reason.startswith("validation.negative_amount")
    dbt_ok("run")
    with rel.connect() as conn:
        assert conn.execute(query, (OPM,)).fetchall() == good
        assert [r for r in mart_rows(conn, "budget_by_year") if r[0] == 2565] == budget_before
        quarantine = conn.execute("SELECT quarantine_path FROM ops.file_ledger WHERE file_id = %s",
                                  (outcome.file_id,)).fetchone()[0]
        assert_ledger_consistent(conn)
    assert Path(quarantine).read_bytes() == (rel.landing / pending.relative_path).read_bytes()


def test_dbt_failing_mid_build_keeps_the_last_good_marts(rel, monkeypatch):
    """A BI query holds marts.budget_by_year while a build that would change it swaps tables: the swap times
    out, the mart keeps its last good rows (readers never see a half-built one), the failure is recorded, the
    other models build, and the next build succeeds."""
    rel.use()
    write_plan(rel, "integration_plan/2569/opm.csv", 2569, OPM, [("DG69-R1", 800_000)], 21)
    (pending,) = new_files()
    assert process_file(pending, rel.gate, "rel-dbt").status == "loaded"
    run_id = "rel'; DROP TABLE ops.dbt_results;--"
    with rel.connect() as conn:
        last_good = mart_rows(conn, "budget_by_year")
    assert 2569 not in {r[0] for r in last_good}
    # dbt gives up on the lock after 3 s and, with no retry, fails the model; the BI session outstays its role's
    # idle limit on purpose
    monkeypatch.setattr(ground.settings, "session_limits",
                        lambda: dataclasses.replace(session_limits(), ddl_lock_retries=0))
    monkeypatch.setenv("DGWH_RUN_ID", run_id)
    with rel.connect("bi_reader") as bi:
        bi.autocommit = False
        bi.execute("SET idle_in_transaction_session_timeout = 0")
        assert bi.execute("SELECT count(*) FROM marts.budget_by_year").fetchone()[0] == len(last_good)
        outcome = run_dbt(["run", "--vars", '{"ddl_lock_timeout": "3s"}'])
        assert bi.execute("SELECT count(*) FROM marts.budget_by_year").fetchone()[0] == len(last_good)
        bi.rollback()
    assert not outcome.success
    assert outcome.failures == ["budget_by_year: error"]
    with rel.connect() as conn:
        assert mart_rows(conn, "budget_by_year") == last_good
        new_lines = conn.execute("SELECT count(*) FROM marts.fct_budget_lines WHERE fiscal_year_be = 2569").fetchone()
        assert new_lines == (1,), "the models the failure did not touch were not built"
        # half-built tables or views, not the index a contract's primary key keeps from its build table's name
        leftovers = conn.execute("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE n.nspname = 'marts' AND c.relkind IN ('r', 'p', 'v', 'm') AND relname LIKE %s",
                                 ("%__dbt_%",)).fetchall()
        status, message = conn.execute(
            "SELECT status, message FROM ops.dbt_results WHERE run_id = %s AND unique_id = %s",
            (run_id, "model.dg_warehouse.budget_by_year")).fetchone()
    assert leftovers == []
    assert status == "error" and "lock timeout" in message
    dbt_ok("run", "--select", "budget_by_year")
    with rel.connect() as conn:
        rebuilt = mart_rows(conn, "budget_by_year")
        assert_ledger_consistent(conn)
    assert 2569 in {r[0] for r in rebuilt} and set(last_good) <= set(rebuilt)


def test_pipeline_role_owns_only_what_it_writes_and_nothing_more(rel):
    rel.use()

    def roles(conn):
        flags = {r[0]: r[1:] for r in conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolinherit FROM pg_roles "
            "WHERE rolname IN ('dg_pipeline', 'bi_reader')")}
        member_of = conn.execute("SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                                 "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'dg_pipeline'").fetchall()
        return flags, member_of

    with admin(rel) as conn:
        assert roles(conn) == ({"dg_pipeline": (False, False, False, True), "bi_reader": (False, False, False, False)},
                               [])
        owners = dict(conn.execute("SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace "
                                   "WHERE nspname = ANY(%s)", (list(PIPELINE_SCHEMAS),)).fetchall())
        assert owners == {s: "dg_pipeline" for s in PIPELINE_SCHEMAS}
        owned_where = {r[0] for r in conn.execute(
            "SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relowner = 'dg_pipeline'::regrole AND n.nspname <> 'pg_toast'")}  # toast: its tables' own
        assert owned_where == PIPELINE_SCHEMAS
        foreign = conn.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                               "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) "
                               "AND c.relowner <> 'dg_pipeline'::regrole",
                               (list(PIPELINE_SCHEMAS),)).fetchall()
        assert foreign == []
        public = conn.execute("SELECT datname FROM pg_database, aclexplode(datacl) a WHERE a.grantee = 0 "
                              "AND datname IN ('warehouse', 'postgres')").fetchall()
        assert public == [] and conn.execute("SELECT datacl IS NOT NULL FROM pg_database WHERE datname = 'postgres'"
                                             ).fetchone() == (True,)
    with rel.connect("bi_reader") as bi:  # the grants dbt makes still work without CREATEROLE
        assert bi.execute("SELECT count(*) FROM marts.budget_by_year").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("SELECT 1 FROM raw.integration_plan")
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(EmbeddedWarehouse(rel.state).config().url("bi_reader", "postgres"))

    # A warehouse made by an older version (CREATEROLE, admin of bi_reader) is narrowed when it next starts.
    with admin(rel) as conn:
        conn.execute("ALTER ROLE dg_pipeline CREATEROLE")
        conn.execute("GRANT bi_reader TO dg_pipeline WITH ADMIN OPTION")
        assert roles(conn)[1] == [("bi_reader",)]
    rel.stop()
    rel.url()
    with admin(rel) as conn:
        assert roles(conn) == ({"dg_pipeline": (False, False, False, True), "bi_reader": (False, False, False, False)},
                               [])


def test_no_password_in_logs_summary_reports_or_any_file_the_pipeline_wrote(rel, caplog, capsys):
    """Last: a pass (a load, a rejection, dbt, the summary, the HTML report) with DEBUG logging, then every file
    under the state dir (logs, dbt target, GX results, quarantine, reports) is searched for the passwords."""
    from nightly.summary import build_summary, format_summary
    from reporting.nightly import build_report

    rel.use()
    caplog.set_level(logging.DEBUG)
    write_plan(rel, "integration_plan/2570/opm.csv", 2570, OPM, [("DG70-R1", 10)], 22)
    write_plan(rel, "integration_plan/2570/prd.csv", 2570, PRD, [("DG70-R2", -10)], 22)
    outcomes = sorted(process_file(f, rel.gate, "rel-secrets").status for f in new_files())
    assert outcomes == ["loaded", "rejected"]
    dbt_ok("run", "--select", "budget_by_year")
    with rel.connect() as conn:
        summary = build_summary(conn, "rel-secrets")
        report = build_report(conn, rel.state / "reports", "rel-secrets")
        assert_ledger_consistent(conn)
    text = format_summary(summary)
    assert "warehouse: postgresql://dg_pipeline:***@127.0.0.1:" in text
    captured = capsys.readouterr()
    shown = "\n".join([caplog.text, captured.out, captured.err, text, json.dumps(summary, default=str)])
    assert caplog.records and report.is_file()
    scanned = assert_no_password_in_state_files(rel)
    for pw in passwords(rel):
        assert pw not in shown
    assert scanned > 20 and {"dbt.log", "postgres.log"} <= {p.name for p in rel.state.rglob("*.log")}


def test_the_generated_passwords_never_reach_git():
    """pg.json (the embedded warehouse's passwords) lives in the state dir, which git ignores wherever it is."""
    for path in (".state/pg.json", ".state/postgres.log", ".state/dbt_logs/dbt.log", ".env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
        assert ignored.returncode == 0, f"{path} is not ignored by git"
    tracked = subprocess.run(["git", "ls-files", "--", ".state", "*pg.json", ".env"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked == []

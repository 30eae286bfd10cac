"""Stopping a run, through `make run` and real Airflow: Ctrl-C during the loads and during dbt, each followed at
once by another `make run`; a load task that fails all its tries.

Before: Ctrl-C gave the lock back and the night went on to the end reporting success while a second run built
beside it; a night whose load task failed three times reported success with exit 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from ground.schema import ensure_schema
from tests.conftest import REPO, seed_airflow_home
from tests.test_reliability import assert_ledger_consistent

PICKS = ["readiness/2562", "readiness/2563", "integration_plan/2564", "budget_bill/2564"]


@pytest.fixture(scope="module")
def stop_wh(make_warehouse, sample_files: Path, airflow_template: Path):
    """A dozen sample files, one load batch each (so the loads take a while), and a migrated Airflow home."""
    wh = make_warehouse("stop")
    wh.use()
    wh.sample_files = sample_files
    for rel in PICKS:
        shutil.copytree(sample_files / rel, wh.landing / rel)
    reports = wh.landing / "project_reports" / "2563"
    reports.mkdir(parents=True)
    for path in sorted((sample_files / "project_reports" / "2563").iterdir())[:6]:
        shutil.copy(path, reports / path.name)
    wh.files = sorted(str(p.relative_to(wh.landing)) for p in wh.landing.rglob("*") if p.is_file())
    seed_airflow_home(wh.state / "airflow", airflow_template)
    with wh.connect() as conn:  # started here, not by the test and a make run at once
        ensure_schema(conn)
    wh.env = {**os.environ, "DGWH_STATE_DIR": str(wh.state), "LANDING_ZONE": str(wh.landing),
              "DGWH_LOAD_BATCH_FILES": "1", "DGWH_SETTLE_S": "0", "DGWH_LOCK_POKE_S": "1"}
    return wh


def _make(wh, target: str, **env: str) -> subprocess.Popen:
    """``make <target>`` in a session of its own, as a terminal runs it (Ctrl-C reaches its whole group)."""
    return subprocess.Popen(["make", "-s", target], cwd=REPO, env={**wh.env, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _query(wh, sql: str, *args) -> list[tuple]:
    with wh.connect() as conn:
        return conn.execute(sql, args).fetchall()


def _wait_for(what, timeout: float = 900.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what.__doc__}")


class Holder:
    """The process holding the lock for a run (``airflow dags test``) and when it was seen gone."""

    def __init__(self, wh, run_id: str) -> None:
        (self.pid,) = _query(wh, "SELECT holder_pid FROM ops.run_lock WHERE owner = %s", run_id)[0]
        self.gone_at: float | None = None
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while psutil.pid_exists(self.pid) and psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        self.gone_at = time.time()


def _running(wh, exclude: set[str]) -> str | None:
    """the next run holding the lock"""
    rows = _query(wh, "SELECT owner FROM ops.run_lock")
    return rows[0][0] if rows and rows[0][0] not in exclude else None


def _ctrl_c(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    return out


def test_ctrl_c_during_loads_and_during_dbt_stops_each_run_and_the_next_one_completes(stop_wh):
    wh = stop_wh
    first = _make(wh, "run")
    run_a = _wait_for(lambda: _running(wh, set()))
    holder_a = Holder(wh, run_a)

    def a_loaded_one() -> bool:
        """run A's first loaded file"""
        return bool(_query(wh, "SELECT 1 FROM ops.file_ledger WHERE run_id = %s", run_a))

    _wait_for(a_loaded_one, every=0.2)
    os.killpg(first.pid, signal.SIGINT)  # Ctrl-C during the loads ...
    second = _make(wh, "run")  # ... and another make run at once
    out_a, _ = first.communicate(timeout=120)
    stopped_at = time.time()

    run_b = _wait_for(lambda: _running(wh, {run_a}))
    holder_b = Holder(wh, run_b)

    def b_built_one() -> bool:
        """run B's first dbt node"""
        return bool(_query(wh, "SELECT 1 FROM ops.dbt_results WHERE run_id = %s AND resource_type = 'model'", run_b))

    _wait_for(b_built_one, every=0.2)
    third = _make(wh, "run")
    out_b = _ctrl_c(second)  # Ctrl-C during dbt, a third make run already started
    out_c, _ = third.communicate(timeout=1500)
    assert third.returncode == 0, out_c

    # each interrupted run says so in one line, exits non-zero, and its process tree is gone
    for out, run in ((out_a, run_a), (out_b, run_b)):
        said = [line for line in out.splitlines() if "interrupted (SIGINT)" in line]
        assert len(said) == 1 and f"run {run} recorded as interrupted, warehouse lock released" in said[0], out
        assert "run status: success" not in out and "Nightly summary" not in out
    assert first.returncode != 0 and stopped_at - holder_a.gone_at < 60
    assert holder_a.gone_at is not None and holder_b.gone_at is not None

    runs = dict(_query(wh, "SELECT run_id, status FROM ops.pipeline_runs"))
    assert {k: runs[k] for k in (run_a, run_b)} == {run_a: "interrupted", run_b: "interrupted"}
    [(run_c, started_c, summary_c)] = _query(wh, "SELECT run_id, started_at, summary FROM ops.pipeline_runs "
                                                 "WHERE status = 'success'")
    [(started_b,)] = _query(wh, "SELECT started_at FROM ops.pipeline_runs WHERE run_id = %s", run_b)
    # no two runs wrote at once: each next run took the lock only after the one before was gone, and the one
    # before wrote nothing after that (its last file, its last dbt result)
    assert started_b.timestamp() > holder_a.gone_at - 0.2
    assert started_c.timestamp() > holder_b.gone_at - 0.2
    last_a = _query(wh, "SELECT max(processed_at) FROM ops.file_ledger WHERE run_id = %s", run_a)[0][0]
    last_b = _query(wh, "SELECT greatest((SELECT max(processed_at) FROM ops.file_ledger WHERE run_id = %s), "
                        "(SELECT max(recorded_at) FROM ops.dbt_results WHERE run_id = %s))", run_b, run_b)[0][0]
    assert last_a < started_b and last_b < started_c
    # every file once, the ledger equal to raw, the marts built by the third run
    with wh.connect() as conn:
        assert_ledger_consistent(conn)
        ledger = sorted(p for (p,) in conn.execute("SELECT path FROM ops.file_ledger").fetchall())
    assert ledger == wh.files
    assert summary_c["dbt"]["success"]
    # the third night's summary names the two interrupted ones and what they loaded
    listed = {n["run_id"]: n for n in summary_c["unreported"]}
    assert set(listed) == {run_a, run_b} and listed[run_a]["loaded"], summary_c["unreported"]
    assert "earlier runs that ended without a summary: 2" in out_c
    # each run's log is its own file
    logs = list((wh.state / "runs").glob("last_run-*.log"))
    assert len(logs) == 3 and (wh.state / "last_run.log").resolve() in {p.resolve() for p in logs}


def test_a_load_task_that_fails_every_try_fails_the_night_naming_it_and_its_file(stop_wh):
    """Before: load_files failed three times and the night said `run status: success`, exit 0."""
    wh = stop_wh
    rel = "integration_plan/2565/" + sorted(p.name for p in (wh.sample_files / "integration_plan/2565").iterdir())[0]
    (wh.landing / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wh.sample_files / rel, wh.landing / rel)
    with wh.connect() as conn:  # a warehouse fault on this source's table: every try of its load fails
        conn.execute("CREATE FUNCTION ops.refuse_rows() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$BEGIN RAISE EXCEPTION 'disk full (test)'; END$$")
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON raw.integration_plan "
                     "FOR EACH ROW EXECUTE FUNCTION ops.refuse_rows()")
    try:
        run = _make(wh, "run", DGWH_RETRY_DELAY_S="1")
        out, _ = run.communicate(timeout=1200)
    finally:
        with wh.connect() as conn:
            conn.execute("DROP TRIGGER refuse ON raw.integration_plan")
            conn.execute("DROP FUNCTION ops.refuse_rows()")
    assert run.returncode != 0, out
    assert f"error: the run did not complete: load_files[0] failed holding {rel}" in out, out
    [(status, summary)] = _query(wh, "SELECT status, summary FROM ops.pipeline_runs ORDER BY started_at DESC "
                                     "LIMIT 1")
    assert status == "failed"
    assert summary["failed_tasks"] == [{"task": "load_files[0]", "state": "failed", "files": [rel],
                                        "not_loaded": [rel]}]
    assert not _query(wh, "SELECT 1 FROM ops.file_ledger WHERE path = %s", rel)
    assert not _query(wh, "SELECT 1 FROM ops.run_lock")

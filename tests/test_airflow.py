"""Real Airflow: DAG files import fast and cleanly, the nightly DAG runs end to end with one task per dbt
model (beside good files: two poison workbooks, a file still being written and two agencies claiming one
project code), a second run waits for the first's lock, a night with nothing new skips dbt, and
the next night loads the in-flight file once. (The two-year backfill through Airflow: test_airflow_backfill.)"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

from prodcheck.warehouse import marts_fingerprint
from tests.conftest import BOOKS, REPO, seed_airflow_home
from tests.test_nothing_lost import DOPA, KRISDIKA, plan_workbook, write_report
from tests.test_reliability import OPM, assert_ledger_consistent, write_plan

PARSE_CHECK = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
bags = [DagBag(dag_folder=path) for path in sys.argv[1:]]
heavy = ("great_expectations", "dbt", "pandas", "psycopg", "python_calamine", "pythainlp", "expectations", "reporting")
loaded = sorted({m.split(".")[0] for m in set(sys.modules) - before if m.split(".")[0] in heavy})
print(json.dumps({"errors": {k: str(v)[-500:] for b in bags for k, v in b.import_errors.items()},
                  "dags": sorted(d for b in bags for d in b.dags), "heavy": loaded}))
"""


def test_dags_import_without_errors_and_load_nothing_heavy_at_parse_time(tmp_path):
    """The dag-processor parses these files again and again: they must import cleanly and leave GX, dbt,
    pandas, the database driver and the pipeline's own packages to the tasks (a fresh interpreter, so
    nothing the test process imported hides an import; parse speed itself is the benchmark's)."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": f"{REPO}:{REPO / 'dags'}"}
    done = subprocess.run([sys.executable, "-c", PARSE_CHECK, *map(str, sorted((REPO / "dags").glob("*.py")))],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert parsed["dags"] == ["dg_backfill", "dg_nightly"]
    assert parsed["heavy"] == [], f"imported while parsing the DAGs: {parsed['heavy']}"


def test_nightly_dag_shape(tmp_path, monkeypatch):
    """Idiom checks: Bangkok schedule, no catch-up, mapped loads, one dbt build with a mapped task per node
    it builds, Assets for every contract mart."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags" / "dg_nightly.py")).dags["dg_nightly"]
    assert dag.catchup is False and dag.max_active_runs == 1
    timetable = dag.timetable.serialize()
    assert timetable["expression"] == "0 2 * * *" and timetable["timezone"] == "Asia/Bangkok"
    assert type(dag.get_task("load_files")).__name__.endswith("MappedOperator")
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert dbt_tasks == {"dbt.plan", "dbt.build", "dbt.node"}, "one dbt build a night, each node's result apart"
    assert dag.get_task("dbt.plan").upstream_task_ids == {"build_needed"}
    assert type(dag.get_task("dbt.node")).__name__.endswith("MappedOperator")  # one task per node it builds
    assert dag.get_task("dbt.node").upstream_task_ids == {"dbt.plan", "dbt.build"}
    build = dag.get_task("dbt.build")
    assert (build._pre_execute_hook.__name__, build._post_execute_hook.__name__) == ("_warehouse_env", "_thaw"), \
        "what the build freezes at its start it thaws at its end"
    assert build.retries >= 2 and build.pool == "warehouse"
    from common.dbt_group import plan_nodes

    assert models <= {uid.split(".")[-1] for uid in plan_nodes({})}, "a full build shows every model"
    contract = ["project_status_by_year", "obstacles_by_year", "budget_by_year", "budget_by_agency_year",
                "readiness_by_year", "readiness_summary_by_year", "submission_coverage", "dim_agency",
                "dim_fiscal_year"]
    outlets = {a.uri for a in dag.get_task("publish_marts").outlets}
    assert {f"postgres://warehouse:5432/warehouse/marts/{m}" for m in contract} <= outlets
    for task in dag.tasks:
        assert task.execution_timeout is not None, task.task_id
    assert dag.get_task("take_run_lock").retries >= 3, "a warehouse down at start must be retried"
    assert dag.params["force_build"] is False, "operators need a way to build on a night with nothing new"


def test_lineage_datasets_of_a_dbt_build_and_of_landing_files(monkeypatch):
    """From the manifest: a full build reads only what it does not build (the raw tables, the ledger) and
    writes every mart; a build of one staging model reads its raw table and writes that model alone. Landing
    files by path (Thai names percent-encoded) or their object store's URL."""
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    from common.dbt_group import _nodes, manifest
    from common.lineage import dbt_lineage, file_uri

    nodes, sources = _nodes(), manifest()["sources"]
    marts = {n["name"] for n in nodes.values() if n["schema"] == "marts" and n["resource_type"] == "model"}
    inputs, outputs = dbt_lineage(nodes, sources, nodes)
    assert {u.rsplit("/", 1)[1] for u in outputs if "/marts/" in u} == marts
    raw = {f"postgres://warehouse:5432/warehouse/raw/{s['identifier']}" for s in sources.values()
           if s["schema"] == "raw"}
    assert raw <= set(inputs) and not set(inputs) & set(outputs)
    staged = [uid for uid, n in nodes.items() if n["name"] == "stg_budget_bill"]
    inputs, outputs = dbt_lineage(nodes, sources, staged)
    assert "postgres://warehouse:5432/warehouse/raw/budget_bill" in inputs
    assert outputs == ["postgres://warehouse:5432/warehouse/staging/stg_budget_bill"]
    assert file_uri("/srv/landing/งบ 2567.csv") == "file:///srv/landing/%E0%B8%87%E0%B8%9A%202567.csv"
    assert file_uri("s3://bucket/budget_bill/2567/a.csv") == "s3://bucket/budget_bill/2567/a.csv"


def _airflow(wh, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRFLOW_HOME": str(wh.state / "airflow"), **(extra_env or {})}
    return subprocess.run([str(REPO / "scripts" / "airflow.sh"), *args], env=env, capture_output=True, text=True,
                          timeout=1200)


# The module's nights: a one-hour settle window (the in-flight file waits), reader limits the poison hits.
NIGHT_ENV = {"DGWH_SETTLE_S": "3600", "DGWH_MAX_SHEET_CELLS": "150000000", "DGWH_READER_MEMORY_MB": "300"}


@pytest.fixture(scope="module")
def airflow_wh(make_warehouse, sample_files: Path, airflow_template: Path):
    """A landing zone of a few years of every source plus the two real books, run once through Airflow."""
    wh = make_warehouse("airflow")
    wh.use()
    wh.sample_files = sample_files
    picks = ["readiness/2562", "readiness/2563", "readiness/2564", "readiness/2565", "integration_plan/2564",
             "integration_plan/2565", "budget_bill/2564"]
    for rel in picks:
        shutil.copytree(sample_files / rel, wh.landing / rel)
    for path in sorted((sample_files / "project_reports" / "2563").iterdir())[:6]:
        (wh.landing / "project_reports" / "2563").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, wh.landing / "project_reports" / "2563" / path.name)
    for book in BOOKS.glob("*.csv"):
        (wh.landing / "budget_bill" / "2565").mkdir(parents=True, exist_ok=True)
        shutil.copy(book, wh.landing / "budget_bill" / "2565" / book.name)
    # Beside the good files: two agencies claim one project code; two poison workbooks (one refused
    # by its declared range, one that exhausts the reader's memory); all delivered a day ago.
    write_report(wh, "project_reports/2559/krisdika.csv", 2559, KRISDIKA,
                 [("DG2559_2561-01", "started"), ("DG2559_2561-03", "started")], 10)
    write_report(wh, "project_reports/2559/dopa.csv", 2559, DOPA,
                 [("DG2559_2561-01", "not_started"), ("DG2559_2561-02", "started")], 11)
    for name, cell in (("poison_range", "XFD1048576"), ("poison_memory", "ZZ200000")):
        plan_workbook(wh.landing / f"integration_plan/2565/{name}.xlsx", cell)
    yesterday = time.time() - 86400
    for path in wh.landing.rglob("*"):
        if path.is_file():
            os.utime(path, (yesterday, yesterday))
    wh.files_in_landing = sum(1 for p in wh.landing.rglob("*") if p.is_file())
    # ... and a file still being written: every night of this module runs with a one-hour settle window.
    wh.inflight = write_plan(wh, "integration_plan/2566/inflight.csv", 2566, OPM, [("DG66-E1", 5)], 1)
    os.utime(wh.inflight)
    seed_airflow_home(wh.state / "airflow", airflow_template)
    run = _airflow(wh, "dags", "test", "dg_nightly", extra_env=NIGHT_ENV)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    wh.first_run_log = run.stdout + run.stderr
    return wh


def test_nightly_dag_run_loads_everything_and_builds_marts(airflow_wh):
    with airflow_wh.connect() as conn:
        files, rows_in, loaded, rejected = conn.execute(
            "SELECT count(*), sum(rows_in), sum(rows_loaded), sum(rows_rejected) FROM ops.file_ledger").fetchone()
        run_id, status, summary = conn.execute(
            "SELECT run_id, status, summary FROM ops.pipeline_runs ORDER BY finished_at DESC LIMIT 1").fetchone()
        book_rows = conn.execute("SELECT count(*) FROM raw.budget_bill b JOIN ops.file_ledger l USING (file_id) "
                                 "WHERE l.path LIKE %s", ("budget_bill/2565/%",)).fetchone()[0]
        total = conn.execute("""SELECT amount_baht FROM marts.budget_by_year WHERE fiscal_year_be = 2565
            AND budget_plan_code = 'dg_integration' AND source = 'budget_bill'""").fetchone()[0]
        invocations = conn.execute("SELECT count(DISTINCT invocation_id) FROM ops.dbt_results WHERE run_id = %s",
                                   (run_id,)).fetchone()[0]
        readiness = conn.execute("SELECT count(DISTINCT survey_year_be) FROM marts.readiness_summary_by_year"
                                 ).fetchone()[0]
    assert files == airflow_wh.files_in_landing and rows_in == loaded + rejected
    assert status == "success", summary
    assert book_rows == 2598 + 1990 and total > Decimal(0)
    assert readiness == 4
    assert invocations == 3, "dbt started more than once for the build, the cross-model and the reconcile tests"
    nodes = _node_states(airflow_wh, run_id)  # a full build: one result task per layer, named by it
    layers = ["layer:intermediate", "layer:marts", "layer:seeds", "layer:staging"]
    assert nodes == dict.fromkeys(layers, "success"), nodes
    assert summary["dbt"]["success"] and summary["dbt"]["tests_failed"] == 0
    assert Path(summary["report"]).is_file()
    assert "=== Nightly summary" in airflow_wh.first_run_log


def _lineage_events(wh, run_id: str) -> list[dict]:
    """The night's OpenLineage task events (COMPLETE) that scripts/airflow.sh's file transport wrote."""
    events = []
    for line in (wh.state / "lineage" / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        airflow = event.get("run", {}).get("facets", {}).get("airflow", {})
        if event.get("eventType") == "COMPLETE" and airflow.get("dagRun", {}).get("run_id") == run_id:
            events.append(event)
    return events


def test_the_nights_lineage_links_landing_files_to_raw_tables_to_marts(airflow_wh):
    """The first night's events, read back: a load batch read landing files and wrote their raw table,
    dbt.build read that raw table and wrote marts; table names as the mart Assets name them."""
    with airflow_wh.connect() as conn:
        run_id = conn.execute("SELECT run_id FROM ops.pipeline_runs ORDER BY started_at LIMIT 1").fetchone()[0]
        loaded = {path for (path,) in conn.execute("SELECT path FROM ops.file_ledger WHERE status = 'loaded'")}
    events = _lineage_events(airflow_wh, run_id)
    assert events, "no OpenLineage event of the night"
    names = {"postgres://warehouse:5432"}

    def datasets(event: dict, side: str) -> set[tuple[str, str]]:
        return {(d["namespace"], d["name"]) for d in event.get(side, [])}

    loads = [e for e in events if e["job"]["name"].endswith(".load_files")]
    raw_from_files: dict[str, set[str]] = {}
    for event in loads:
        for namespace, name in datasets(event, "outputs"):
            assert namespace in names and name.startswith("warehouse.raw."), (namespace, name)
            files = {n for ns, n in datasets(event, "inputs") if ns == "file"}
            raw_from_files.setdefault(name, set()).update(files)
    landings = tuple(f"{p}/" for p in {str(airflow_wh.landing), str(airflow_wh.landing.resolve())})
    read = {next((f.removeprefix(p) for p in landings if f.startswith(p)), f)
            for files in raw_from_files.values() for f in map(unquote, files)}
    assert read == loaded, "the load events' inputs are exactly the files the ledger holds as loaded"
    assert {"warehouse.raw.budget_bill", "warehouse.raw.readiness"} <= set(raw_from_files)
    (build,) = [e for e in events if e["job"]["name"].endswith(".dbt.build")]
    inputs, outputs = datasets(build, "inputs"), datasets(build, "outputs")
    assert {("postgres://warehouse:5432", name) for name in raw_from_files} <= inputs, inputs
    assert ("postgres://warehouse:5432", "warehouse.marts.budget_by_year") in outputs, outputs
    assert not {n for _, n in outputs} & {n for _, n in inputs}, "what the build wrote is not among what it read"
    others = [e for e in events if not e["job"]["name"].endswith((".load_files", ".dbt.build"))]
    assert not [e["job"]["name"] for e in others if e.get("inputs")], "a later task carries a load's datasets"


def test_second_run_waits_for_the_lock_then_gives_up_clearly(airflow_wh):
    """Two runs at once: while one holds the warehouse, another waits, then stops with a clear message,
    having loaded nothing; it does not steal or release the other's lock."""
    from nightly.runlock import acquire, release

    extra = airflow_wh.landing / "readiness" / "2566"
    shutil.copytree(airflow_wh.sample_files / "readiness" / "2566", extra)
    with airflow_wh.connect() as conn:
        before = conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0]
        acquire(conn, "other-run", wait_s=0)
        try:
            run = _airflow(airflow_wh, "dags", "test", "dg_nightly", extra_env={**NIGHT_ENV, "DGWH_LOCK_WAIT_S": "3",
                                                                          "DGWH_LOCK_POKE_S": "1"})
            held_by = conn.execute("SELECT owner FROM ops.run_lock").fetchone()
        finally:
            assert release(conn, "other-run")
        after = conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0]
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "another pipeline run (other-run" in out
    assert held_by == ("other-run",)
    assert after == before
    shutil.rmtree(extra)


class _LateProxy:
    """A TCP port where nothing listens until ``open()``; then it forwards every connection to the warehouse.
    The warehouse seen through it is 'down at start' and comes back while Airflow waits to retry."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.socket()  # bound, not listening: the port is ours and refuses connections
        self.server.bind(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.listening = False

    def open(self) -> None:
        self.server.listen()
        self.listening = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()


def _task_states(wh, run_id: str) -> dict[str, str]:
    """Each task's final state in the run (Airflow's own metadata database, SQLite under AIRFLOW_HOME)."""
    with contextlib.closing(sqlite3.connect(wh.state / "airflow" / "airflow.db")) as db:
        return {task: state for task, state, index in db.execute(
            "SELECT task_id, state, map_index FROM task_instance WHERE dag_id = 'dg_nightly' AND run_id = ?",
            (run_id,)) if index in (-1, 0)}


def _node_states(wh, run_id: str) -> dict[str, str]:
    """Each ``dbt.node`` task's final state in the run, by the node it shows (its rendered map index)."""
    with contextlib.closing(sqlite3.connect(wh.state / "airflow" / "airflow.db")) as db:
        return dict(db.execute("SELECT rendered_map_index, state FROM task_instance WHERE dag_id = 'dg_nightly' "
                               "AND run_id = ? AND task_id = 'dbt.node' AND map_index >= 0", (run_id,)).fetchall())


def _last_run(wh) -> tuple[str, str, dict, int]:
    with wh.connect() as conn:
        run_id, status, summary = conn.execute(
            "SELECT run_id, status, summary FROM ops.pipeline_runs ORDER BY finished_at DESC LIMIT 1").fetchone()
        dbt_rows = conn.execute("SELECT count(*) FROM ops.dbt_results WHERE run_id = %s", (run_id,)).fetchone()[0]
    return run_id, status, summary, dbt_rows


def test_warehouse_down_at_start_is_retried_then_a_night_with_nothing_new_skips_dbt(airflow_wh):
    """The first attempt of take_run_lock finds no warehouse: a clear error naming it (password masked),
    nothing loaded; Airflow retries the task and the warehouse is back by then. Nothing new has arrived
    since the fixture's night was built, so the night runs no dbt task, leaves the marts as they are,
    publishes no Asset event and is recorded as a success saying why. (A file that arrives during an
    outage loads once the warehouse is back: tests/test_reliability.py; ``force_build`` is
    ``build_needed(force=True)``: tests/test_build_needed.py.)"""
    url = urlsplit(airflow_wh.url())
    with airflow_wh.connect() as conn:
        marts = marts_fingerprint(conn)
        files_before = conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0]
    proxy = _LateProxy(url.port)
    env = {**os.environ, **NIGHT_ENV, "AIRFLOW_HOME": str(airflow_wh.state / "airflow"),
           "DGWH_CONNECT_RETRY_DELAY_S": "2", "DGWH_CONNECT_BUDGET_S": "3",  # a first try that gives up soon
           "WAREHOUSE_URL": urlunsplit(url._replace(netloc=url.netloc.replace(f":{url.port}", f":{proxy.port}")))}
    run = subprocess.Popen([str(REPO / "scripts" / "airflow.sh"), "dags", "test", "dg_nightly"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    files_while_down: list[int] = []

    def follow() -> None:  # the warehouse comes back once the first attempt has failed on it
        for line in run.stdout:
            lines.append(line)
            if not proxy.listening and "cannot connect to the warehouse" in line:
                with airflow_wh.connect() as conn:
                    files_while_down.append(conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0])
                proxy.open()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        run.wait(timeout=1200)
        reader.join(timeout=60)
    finally:
        proxy.close()
        run.kill()
    out = "".join(lines)
    assert run.returncode == 0, out[-4000:]
    assert files_while_down == [files_before], "something loaded while the warehouse was down"
    assert f"cannot connect to the warehouse postgresql://dg_pipeline:***@127.0.0.1:{proxy.port}/" in out
    assert url.password not in out

    run_id, status, summary, dbt_rows = _last_run(airflow_wh)
    assert status == "success", summary
    states = _task_states(airflow_wh, run_id)
    assert states["take_run_lock"] == "success" and states["summarise"] == "success"
    with contextlib.closing(sqlite3.connect(airflow_wh.state / "airflow" / "airflow.db")) as db:
        tries = db.execute("SELECT try_number FROM task_instance WHERE dag_id = 'dg_nightly' AND run_id = ? "
                           "AND task_id = 'take_run_lock'", (run_id,)).fetchone()[0]
    assert tries >= 2, "take_run_lock was not retried"
    assert dbt_rows == 0, "a dbt task ran on a night with nothing to do"
    assert summary["dbt"]["skipped"] and "no new files and the dbt project is unchanged" in summary["dbt"]["reason"]
    assert "dbt build: skipped" in out and "marts left as they are" in out
    skipped = [t for t in states if t.startswith("dbt.")] + ["dbt_cross_model_tests", "reconcile_marts",
                                                            "publish_marts", "dbt_docs"]
    assert {t: states[t] for t in skipped} == dict.fromkeys(skipped, "skipped")
    with airflow_wh.connect() as conn:
        assert marts_fingerprint(conn) == marts
        files_after, rows_in, loaded, rejected = conn.execute(
            "SELECT count(*), sum(rows_in), sum(rows_loaded), sum(rows_rejected) FROM ops.file_ledger").fetchone()
        held = conn.execute("SELECT count(*) FROM ops.run_lock WHERE expires_at > now()").fetchone()[0]
    assert files_after == files_before and rows_in == loaded + rejected and held == 0
    shown = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "nightly.summary"], cwd=REPO,
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert shown.returncode == 0 and "dbt build: skipped" in shown.stdout, shown.stdout + shown.stderr


def test_poison_in_flight_and_conflicting_files_beside_good_ones_and_the_next_night_loads_the_rest_once(
        airflow_wh, monkeypatch):
    """End to end, on the fixture's night through Airflow: the poison workbooks are refused with
    their reasons, the file being written waits (said in the summary), the cross-agency project code is
    isolated with both files named, every good file loaded once, the night a success. The next night loads
    the in-flight file, once, and builds only the dbt nodes it reaches."""
    out = airflow_wh.first_run_log
    with airflow_wh.connect() as conn:
        night1 = dict(conn.execute("SELECT path, coalesce(reject_code, status) FROM ops.file_ledger").fetchall())
        status = conn.execute("SELECT status FROM ops.pipeline_runs ORDER BY started_at LIMIT 1").fetchone()[0]
        current_2559 = conn.execute("SELECT count(*) FROM intermediate.int_project_reports_current "
                                    "WHERE reporting_fy_be = 2559").fetchone()[0]
        assert_ledger_consistent(conn)
    assert night1.pop("integration_plan/2565/poison_range.xlsx") == "sheet_too_large"
    assert night1.pop("integration_plan/2565/poison_memory.xlsx") == "reader_failed"
    assert set(night1.values()) == {"loaded"} and len(night1) == airflow_wh.files_in_landing - 2
    assert "integration_plan/2566/inflight.csv" not in night1
    assert status == "success" and current_2559 == 3
    assert "integration_plan/2566/inflight.csv: was modified" in out and "settle window" in out
    assert "project code DG2559_2561-01 (dg_2559_2561, FY 2559) is reported by several agencies' files" in out

    os.utime(airflow_wh.inflight, (time.time() - 7200,) * 2)  # written long ago by the next night
    run = _airflow(airflow_wh, "dags", "test", "dg_nightly", extra_env=NIGHT_ENV)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    run_id, status, summary, _ = _last_run(airflow_wh)
    states = _task_states(airflow_wh, run_id)
    assert status == "success" and states["publish_marts"] == "success", summary
    # The one new integration-plan file builds what it reaches, through Airflow; the rest is skipped.
    assert "building what they change: source:raw.integration_plan+" in summary["dbt"]["reason"]
    nodes = _node_states(airflow_wh, run_id)  # one dbt.node task per node the night builds, named by it
    reached = {"stg_integration_plan", "fct_budget_lines", "budget_by_year", "stg_file_ledger"}
    untouched = {"stg_readiness", "readiness_by_year", "project_status_by_year", "agencies"}
    assert {n: nodes.get(n) for n in reached} == dict.fromkeys(reached, "success"), nodes
    assert not untouched & set(nodes), f"tasks started for nodes the new file does not reach: {untouched & set(nodes)}"
    assert states["dbt.build"] == "success"
    with airflow_wh.connect() as conn:  # dbt built only what the file reaches, in one invocation
        built = dict(conn.execute("SELECT split_part(unique_id, '.', 3), count(DISTINCT invocation_id) "
                                  "FROM ops.dbt_results WHERE run_id = %s AND resource_type IN ('model', 'seed') "
                                  "GROUP BY 1", (run_id,)).fetchall())
    assert set(built) == set(nodes) and set(built.values()) == {1}, built
    with airflow_wh.connect() as conn:
        assert conn.execute("SELECT count(*) FROM raw.integration_plan WHERE project_code = 'DG66-E1'"
                            ).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM ops.file_ledger WHERE path = 'integration_plan/2566/inflight.csv'"
                            ).fetchone()[0] == 1
        assert_ledger_consistent(conn)


def test_each_dbt_node_task_shows_its_own_result_and_a_retried_build_leaves_out_what_succeeded(
        airflow_wh, monkeypatch):
    """``dbt.node`` reads dbt's recorded results: a failed node fails its task, the nodes dbt skipped for it
    skip theirs naming it, a failed test fails its node's task, a node with no result fails; the latest
    result wins (a retried build's). A retried ``dbt.build`` excludes the nodes that succeeded with their
    tests, and only those. Rows of a made-up run, removed afterwards (a failed row would make the next
    night build everything)."""
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
    from common import dbt_group

    airflow_wh.use()
    nodes, tests = dbt_group._nodes(), dbt_group._own_tests()
    failing = "model.dg_warehouse.stg_integration_plan"
    child = next(uid for uid, n in nodes.items() if failing in n["depends_on"].get("nodes", []))
    ok, tested = "model.dg_warehouse.stg_readiness", "model.dg_warehouse.dim_plan"
    assert tests[ok] and tests[tested]
    run_id = "test-node-results"
    rows = [(failing, "model", "error", "boom: relation does not exist"), (child, "model", "skipped", ""),
            (ok, "model", "success", ""), (tested, "model", "success", ""),
            *[(t, "test", "pass", "") for t in tests[ok]], (tests[tested][0], "test", "fail", "3 rows")]

    def record(rows: list[tuple[str, str, str, str]]) -> None:
        with airflow_wh.connect() as conn:
            conn.cursor().executemany("INSERT INTO ops.dbt_results (invocation_id, run_id, unique_id, resource_type, "
                                      "status, message) VALUES ('test', %s, %s, %s, %s, %s)",
                                      [(run_id, *r) for r in rows])

    class Retry:  # what _selection reads of a task instance: its try and the decision (none here)
        try_number = 2

        @staticmethod
        def xcom_pull(**_):
            return None

    try:
        record(rows)
        assert dbt_group.node_result(ok, run_id) == f"stg_readiness: success, {len(tests[ok])} test(s) passed"
        with pytest.raises(AirflowFailException, match="stg_integration_plan: error: boom"):
            dbt_group.node_result(failing, run_id)
        with pytest.raises(AirflowSkipException, match="a node it reads failed \\(stg_integration_plan\\)"):
            dbt_group.node_result(child, run_id)
        with pytest.raises(AirflowFailException, match="dim_plan: built, but test\\(s\\) failed"):
            dbt_group.node_result(tested, run_id)
        with pytest.raises(AirflowFailException, match="no result"):
            dbt_group.node_result("model.dg_warehouse.stg_budget_bill", run_id)
        # a full build shows one task per layer, each failing with its failed nodes' names; a few nodes, one each
        everything = dbt_group.plan_nodes({})
        assert dbt_group.plan_tasks(everything) == ["layer:intermediate", "layer:marts", "layer:seeds",
                                                    "layer:staging"]
        assert dbt_group.plan_tasks([ok, tested]) == [ok, tested]
        with pytest.raises(AirflowFailException, match="staging: 1 of 2 node\\(s\\) failed: stg_integration_plan; "
                                                       "stg_integration_plan: error: boom"):
            dbt_group.layer_result("staging", [ok, failing, tested], run_id)
        assert dbt_group.layer_result("staging", [ok], run_id) == "staging: 1 of 1 node(s) built with their tests"
        with pytest.raises(AirflowSkipException, match="none of its 1 node"):
            dbt_group.layer_result(dbt_group._layer(child), [child], run_id)
        _, exclude = dbt_group._selection(Retry(), type("Dag", (), {"task_ids": []}), run_id, {})
        left_out = {x.removeprefix("fqn:").split(".")[-1] for x in exclude if x.startswith("fqn:")}
        assert left_out == {"stg_readiness"}
        assert "tag:reconcile" in exclude and set(dbt_group.cross_model_tests()) <= set(exclude)
        time.sleep(0.01)
        record([(failing, "model", "success", "")])  # the retried build's result
        assert dbt_group.node_result(failing, run_id).startswith("stg_integration_plan: success")
    finally:
        with airflow_wh.connect() as conn:
            conn.execute("DELETE FROM ops.dbt_results WHERE run_id = %s", (run_id,))

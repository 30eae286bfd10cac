"""What an operator of a production Airflow expects, against real Airflow and PostgreSQL:
the warehouse pool sized by configuration; a failed run alerting through a local SMTP sink and a local
HTTP sink; the 06:00 Bangkok deadline alert; the run-lock sensor rescheduling (worker slot given back)
rather than blocking; warn-only dbt source freshness in the summary; make run's progress lines; make docs.

One small probe DAG (the project's own lock sensor, pool, notifier) runs through ``airflow dags test``
under ``nightly.progress`` as ``make run`` does; the real DAGs are parsed for their wiring."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socketserver
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, seed_airflow_home
from tests.test_reliability import PLAN_HEADER

AIRFLOW = REPO / ".venv" / "bin" / "airflow"


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept mail (no TLS, no auth): the messages land in ``self.messages``."""

    allow_reuse_address = True

    def __init__(self) -> None:
        self.messages: list[dict] = []
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        envelope: dict = {"to": []}
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip()
            upper = verb.upper()
            if upper.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif upper.startswith("MAIL FROM"):
                envelope = {"from": verb[10:].strip(), "to": []}
                self.reply("250 ok")
            elif upper.startswith("RCPT TO"):
                envelope["to"].append(verb[8:].strip())
                self.reply("250 ok")
            elif upper == "DATA":
                self.reply("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                envelope["message"] = message_from_bytes(data)
                self.server.messages.append(envelope)
                self.reply("250 queued")
            elif upper == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class HttpSink(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: list[dict] = []
        super().__init__(("127.0.0.1", 0), _HttpHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook?token=t0ken"


class _HttpHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append({"type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def sinks(monkeypatch):
    smtp, http = SmtpSink(), HttpSink()
    env = {"DGWH_ALERT_EMAIL_TO": "ops@example.org, oncall@example.org",
           "DGWH_ALERT_WEBHOOK_URL": http.url,
           "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({
               "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
               "extra": {"from_email": "airflow@example.org", "disable_ssl": True, "disable_tls": True,
                         "retry_limit": 0, "timeout": 10}})}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield smtp, http, env
    smtp.shutdown()
    http.shutdown()
    smtp.server_close()
    http.server_close()


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory, airflow_template) -> Path:
    """A migrated Airflow home (the session's template, made by scripts/airflow.sh as make run's), the pool sized
    3 by configuration: the script sets the pool again when its configured size changes."""
    home = seed_airflow_home(tmp_path_factory.mktemp("airflow-home"), airflow_template)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "DGWH_WAREHOUSE_POOL_SLOTS": "3"}
    done = subprocess.run([str(REPO / "scripts" / "airflow.sh"), "pools", "get", "warehouse", "-o", "json"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (home / "pool-get.json").write_text(done.stdout)
    return home


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_warehouse_pool_is_sized_by_configuration_and_used_by_warehouse_tasks(airflow_home, monkeypatch):
    from nightly.pools import warehouse_pool_slots

    printed = (airflow_home / "pool-get.json").read_text()
    pool = json.loads(printed[printed.index("["):])[0]
    assert pool["pool"] == "warehouse" and int(pool["slots"]) == 3
    resized = subprocess.run([str(REPO / "scripts" / "airflow.sh"), "pools", "get", "warehouse", "-o", "json"],
                             env={**os.environ, "AIRFLOW_HOME": str(airflow_home), "DGWH_WAREHOUSE_POOL_SLOTS": "6"},
                             capture_output=True, text=True, timeout=300)
    assert '"slots": "6"' in resized.stdout.replace("'", '"') or '"slots": 6' in resized.stdout, resized.stdout
    assert warehouse_pool_slots({}) == 4
    with pytest.raises(ValueError, match="DGWH_WAREHOUSE_POOL_SLOTS"):
        warehouse_pool_slots({"DGWH_WAREHOUSE_POOL_SLOTS": "0"})
    # the deployment's init creates it from the same module (prod-check runs that init.sh too)
    assert "python -m nightly.pools" in (REPO / "docker" / "airflow" / "init.sh").read_text()
    compose_env = (REPO / "docker-compose.yml").read_text()
    assert "DGWH_WAREHOUSE_POOL_SLOTS: ${DGWH_WAREHOUSE_POOL_SLOTS:-4}" in compose_env

    dags = _dags(monkeypatch, airflow_home)
    for dag in dags.values():
        pooled = {t.task_id for t in dag.tasks if t.pool == "warehouse"}
        assert "dbt.build" in pooled  # the group's plan and per-node results hold no warehouse session
        assert "take_run_lock" not in pooled, "waiting for the lock must not hold a warehouse slot"
        assert all(t.max_active_tis_per_dagrun is None for t in dag.tasks)
    assert {"load_files", "reconcile_marts", "source_freshness", "dbt_cross_model_tests"} <= {
        t.task_id for t in dags["dg_nightly"].tasks if t.pool == "warehouse"}


def _dags(monkeypatch, home: Path) -> dict:
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def test_nightly_has_a_0600_bangkok_deadline_whose_callback_notifies(airflow_home, monkeypatch, sinks):
    from airflow.sdk import AsyncCallback
    from airflow.sdk.definitions.deadline import DagRunLogicalDateDeadline

    from nightly.alerts import deadline_missed

    dags = _dags(monkeypatch, airflow_home)
    nightly = dags["dg_nightly"]
    [alert] = nightly.deadline
    assert isinstance(alert.reference, DagRunLogicalDateDeadline)
    assert isinstance(alert.callback, AsyncCallback) and alert.callback.path == "nightly.alerts.deadline_missed"
    timetable = nightly.timetable.serialize()
    assert timetable["expression"] == "0 2 * * *" and timetable["timezone"] == "Asia/Bangkok"
    assert timedelta(hours=2) + alert.interval == timedelta(hours=6), "02:00 start + interval must be 06:00"
    # what the scheduler stores and the triggerer gets back
    from airflow.serialization.encoders import encode_deadline_alert
    encoded = json.dumps(encode_deadline_alert(alert), default=str)
    assert "nightly.alerts.deadline_missed" in encoded and "06:00" in encoded

    smtp, http, _ = sinks
    context = {"dag_run": {"dag_id": "dg_nightly", "run_id": "scheduled__2026-11-29T19:00:00+00:00",
                           "state": "running"},
               "deadline": {"id": "x", "deadline_time": "2026-11-29T23:00:00+00:00"}}
    outcome = asyncio.run(deadline_missed(context=context, **alert.callback.kwargs))
    assert outcome == "email: sent; webhook: sent"  # text: what Airflow's callback.output column holds
    [post] = http.posts
    assert post["json"]["event"] == "deadline_missed" and "06:00 Asia/Bangkok" in post["json"]["text"]
    assert post["type"].startswith("application/json")
    [mail] = smtp.messages
    assert "dg_nightly has not finished in time" in mail["message"]["Subject"]
    assert len(mail["to"]) == 2


PROBE_DAG = '''
import pendulum
from airflow.sdk import dag, get_current_context, task
from common import run_lock
from nightly.alerts import FailureAlert
from nightly.pools import WAREHOUSE_POOL


@dag(dag_id="ops_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok"),
     catchup=False, on_failure_callback=FailureAlert())
def ops_probe():
    @task.sensor(**run_lock.LOCK_SENSOR)
    def take_run_lock(dag_run=None):
        return run_lock.poke(dag_run.run_id)

    @task(pool=WAREHOUSE_POOL, map_index_template="{{ batch_label }}")
    def load_files(name: str, dag_run=None):
        get_current_context()["batch_label"] = name
        if name != "b.csv":
            return name
        # the real load of a landing file that changes between its listing and its load
        from pathlib import Path
        from nightly.pipeline import new_files, process_files

        [listed] = new_files()
        Path(listed.uri).write_bytes(Path(listed.uri).read_bytes() + b"2573,x,y,z,a,b,c,1,1")
        return [o.as_dict() for o in process_files([listed], run_id=dag_run.run_id)]

    @task(retries=0)
    def breaks():
        raise RuntimeError("probe failure on purpose")

    @task(trigger_rule="all_done")
    def give_back(dag_run=None):
        run_lock.give_back(dag_run.run_id)

    loaded = load_files.expand(name=["a.csv", "b.csv", "c.csv"])
    take_run_lock() >> loaded >> give_back()
    loaded >> breaks()  # a leaf that fails: the run fails


ops_probe()
'''


def _reschedules(airflow_home: Path) -> int:
    """How many times the probe's lock sensor gave its slot back so far (Airflow's metadata database)."""
    try:
        with contextlib.closing(sqlite3.connect(airflow_home / "airflow.db", timeout=5)) as db:
            return db.execute("SELECT count(*) FROM task_reschedule r JOIN task_instance t ON t.id = r.ti_id "
                              "WHERE t.dag_id = 'ops_probe' AND t.task_id = 'take_run_lock'").fetchone()[0]
    except sqlite3.Error:  # not created yet, or busy: ask again
        return 0


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_a_failed_run_alerts_the_lock_sensor_reschedules_and_progress_is_printed(
        airflow_home, make_warehouse, sinks, tmp_path):
    from nightly.runlock import acquire, release

    smtp, http, alert_env = sinks
    wh = make_warehouse("ops")
    wh.use()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "ops_probe.py").write_text(textwrap.dedent(PROBE_DAG))
    env = {**os.environ, **alert_env, "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
           "PYTHONPATH": f"{REPO}:{REPO / 'dags'}", "DGWH_LOCK_POKE_S": "1", "DGWH_LOCK_WAIT_S": "120"}
    log = tmp_path / "run.log"
    landed = wh.landing / "integration_plan" / "2573" / "b.csv"  # load_files of b.csv changes it once listed
    landed.parent.mkdir(parents=True)
    landed.write_text(",".join(PLAN_HEADER) + "\n", encoding="utf-8")
    with wh.connect() as conn:
        acquire(conn, "other-run", wait_s=0)
        run = subprocess.Popen([sys.executable, "-m", "nightly.progress", "--log", str(log), "--dag", "ops_probe",
                                "--", str(AIRFLOW), "dags", "test", "ops_probe"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        printed: list[str] = []

        def release_after_two_reschedules() -> None:  # by what happened, not a clock (a loaded machine pokes late)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and _reschedules(airflow_home) < 2:
                time.sleep(0.5)
            release(conn, "other-run")

        releaser = threading.Thread(target=release_after_two_reschedules, daemon=True)
        try:
            for line in run.stdout:  # the other run ends once the sensor has given its slot back twice
                printed.append(line)
                if "take_run_lock: waiting" in line and not releaser.is_alive() and releaser.ident is None:
                    releaser.start()
            run.wait(timeout=600)
        finally:
            if run.poll() is None:
                run.kill()
            release(conn, "other-run")
        holder = conn.execute("SELECT owner FROM ops.run_lock").fetchone()
    run.stdout = "".join(printed)
    out, full = run.stdout, log.read_text()
    assert run.returncode != 0, out + full[-3000:]
    assert "probe failure on purpose" in full, "the full log is not in its file"
    # progress: one line per stage and per load batch, as each finishes
    lines = out.splitlines()
    # one line says what it waits for (before: nothing, or "see the log"); the log says it at most once a minute
    # (before: a line a second, each "waited 0s")
    waiting = [line for line in lines if "take_run_lock: waiting" in line]
    assert len(waiting) == 1 and "(for the warehouse lock held by other-run, on " in waiting[0], out
    assert full.count("is using the warehouse") <= 2 and "waited 0s" not in full, full[-3000:]
    assert any("take_run_lock: success" in line for line in lines), out
    files = [line.split("] ", 1)[1] for line in lines if "batch " in line and " of 3 " in line]
    assert [f.split(":")[0].rsplit(" ", 1)[0] for f in files] == [f"batch {n} of 3" for n in (1, 2, 3)], out
    assert sorted(f.split(": ")[1] for f in files) == ["a.csv", "b.csv", "c.csv"], out
    # a file changed after it was listed is not counted as loaded: named, with why; 0 + 0 + 1 = its one file
    assert {f.split(": ")[1]: f.split(":")[0].rsplit(" ", 1)[1] for f in files} == \
        {"a.csv": "loaded", "b.csv": "done", "c.csv": "loaded"}, out
    [changed] = [f for f in files if ": b.csv" in f]
    assert changed.endswith(": b.csv: 0 loaded, 0 rejected, 1 not loaded: integration_plan/2573/b.csv (changed "
                            "after it was found: left for the next run)"), out
    assert any(line.endswith("breaks: failed") for line in lines), out
    assert "probe failure on purpose" not in out, "progress printed the log, not one line per task"
    # the lock sensor gave its slot back between pokes: rescheduled, one try, not blocking
    with contextlib.closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        run_id = db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'ops_probe' ORDER BY id DESC").fetchone()[0]
        reschedules = db.execute("SELECT count(*) FROM task_reschedule r JOIN task_instance t ON t.id = r.ti_id "
                                 "WHERE t.dag_id = 'ops_probe' AND t.run_id = ? AND t.task_id = 'take_run_lock'",
                                 (run_id,)).fetchone()[0]
        tries, state = db.execute("SELECT try_number, state FROM task_instance WHERE dag_id = 'ops_probe' "
                                  "AND run_id = ? AND task_id = 'take_run_lock'", (run_id,)).fetchone()
    assert reschedules >= 2 and tries == 1 and state == "success"
    assert holder is None, "the probe's give_back did not release the lease it took"
    # the failure alert reached both sinks, once
    [post] = http.posts
    assert post["json"]["event"] == "run_failed" and post["json"]["run_id"] == run_id
    assert "breaks" in post["json"]["text"]
    [mail] = smtp.messages
    assert f"ops_probe failed: {run_id}" in mail["message"]["Subject"]
    assert "<ops@example.org>" in mail["to"] or "ops@example.org" in " ".join(mail["to"])
    assert "t0ken" not in full, "the webhook URL (its token) reached the log"


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_source_freshness_is_warn_only_and_reaches_the_summary(make_warehouse, monkeypatch):
    from ground.manifest import manifest
    from ground.schema import ensure_schema
    from nightly.summary import format_freshness, format_summary
    from nightly.transform import source_freshness

    wh = make_warehouse("freshness")
    wh.use()
    with wh.connect() as conn:
        ensure_schema(conn)
        conn.execute("CREATE TABLE IF NOT EXISTS ops.file_withdrawals (file_id bigint)")
    result = source_freshness()
    assert result["checked"] >= 5, result
    assert result["status"] in ("warn", "error") and result["stale"], "empty raw tables are not fresh"
    sources = {s["name"] for s in manifest()["sources"].values()}
    assert {name for name, _, _ in result["stale"]} <= sources, "only sources have an age (not dbt's hooks)"
    assert {(status, age) for _, status, age in result["stale"]} == {("no data yet", None)}, result["stale"]
    line = format_freshness(result)
    assert line.startswith("source freshness (warn only): ") and "stale" in line
    assert "no data yet" in line and "days" not in line, line
    summary = {"run_id": "r", "warehouse": "w", "files": {}, "rejected": [], "marts": {}, "unmatched_agencies": [],
               "freshness": result}
    assert line in format_summary(summary)
    # a warehouse that cannot be reached: still no exception, the summary says so
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://dg_pipeline:pw@127.0.0.1:9/warehouse")
    down = source_freshness()
    assert down["status"] == "error" and down["checked"] == 0 and down["note"]


def test_make_docs_serves_report_data_docs_and_dbt_docs_read_only(tmp_path):
    state = tmp_path / "state"
    (state / "reports").mkdir(parents=True)
    (state / "reports" / "latest.html").write_text("<h1>nightly report</h1>")
    site = state / "gx" / "uncommitted" / "data_docs" / "local_site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<h1>data docs</h1>")
    (state / "dbt_target").mkdir()
    (state / "dbt_target" / "static_index.html").write_text("<h1>dbt docs</h1>")
    (state / "dbt_target" / "manifest.json").write_text("{}")
    (state / "pg.json").write_text('{"password": "secret"}')
    env = {**os.environ, "DGWH_STATE_DIR": str(state), "DGWH_DOCS_PORT": "0"}
    server = subprocess.Popen(["make", "-s", "docs"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        first = server.stdout.readline()
        assert "http://127.0.0.1:" in first, first
        url = first.split("docs (read-only): ", 1)[1].split()[0]

        def get(path: str, method: str = "GET") -> tuple[int, str]:
            try:
                with urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + path, method=method,
                                                                   data=b"x" if method != "GET" else None)) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, ""

        assert get("/report/latest.html") == (200, "<h1>nightly report</h1>")
        assert get("/data-docs/index.html") == (200, "<h1>data docs</h1>")
        assert get("/dbt-docs/static_index.html") == (200, "<h1>dbt docs</h1>")
        status, index = get("/")
        assert status == 200 and all(p in index for p in ("/report/", "/data-docs/", "/dbt-docs/"))
        assert get("/report/") == (200, "<h1>nightly report</h1>"), "a folder redirects to its start page"
        for path in ("/pg.json", "/report/../pg.json", "/report/%2e%2e/pg.json", "/dbt-docs/manifest.json"):
            assert get(path)[0] == 404, path
        assert get("/gx/")[0] == 404, "nothing else of the state dir is served"
        assert get("/report/latest.html", "POST")[0] == 501, "the docs server must be read-only"
        stop = subprocess.run(["make", "-s", "docs-stop"], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=60)
        assert "stopped the docs server" in stop.stdout, stop.stdout + stop.stderr
        deadline = time.monotonic() + 15
        while server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.poll() is not None, "make docs-stop did not stop the server"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)

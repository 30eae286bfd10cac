"""The operator scenarios, each through Airflow's REST API, each checked against the warehouse."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

from ingest.discover import settle_seconds
from prodcheck import warehouse as wh
from prodcheck.stack import wait_for
from prodcheck.topology import Topology

NIGHTLY, BACKFILL = "dg_nightly", "dg_backfill"
BACKFILL_CONF = {"fy_from": 2564, "fy_to": 2565}
RUN_TIMEOUT_S = float(os.environ.get("DGWH_PROD_CHECK_RUN_TIMEOUT_S", 1800))  # per DAG run
S_NIGHT = "nightly on sample files in object storage (S3): marts built, Asset events recorded"
S_SHARED = ("shared storage: quarantine, GX results and Data Docs, dbt docs and the report on the shared volume, "
            "none on a worker's own disk; served read-only by the docs service")
S_KILL = "worker SIGKILLed mid-load_files: retried on the other worker, run succeeds, counts hold"
S_LOCK = "nightly and backfill at once: the backfill waits on the lock"
S_BACKFILL = f"backfill {BACKFILL_CONF} gives the full run's marts"
S_RESTART = "scheduler restarted mid-run: the run completes"
S_TWO = "two nightly runs at once: one waits on the lock, the other its turn, nothing loaded twice"
# A few files of every source from the sample landing zone (the whole zone is make run's job).
BATCH_A = ("readiness/2563", "readiness/2564", "integration_plan/2564", "integration_plan/2565", "budget_bill/2564",
           "project_reports/2563:4")

S_ALIVE = "every service still running at the end (none crashed)"
REJECTED = "integration_plan/2565/header_only_resubmission.csv"
SCENARIOS = (S_NIGHT, S_SHARED, S_KILL, S_LOCK, S_BACKFILL, S_RESTART, S_TWO, S_ALIVE)
# What must be on the shared volume after a night (relative to it), and never in a worker's own state folder.
SHARED_ARTEFACTS = ("gx/uncommitted/validations", "gx/uncommitted/data_docs/local_site/index.html",
                    "dbt_target/static_index.html", "reports/latest.html", "quarantine")


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    runs: list[tuple[str, str]] = field(default_factory=list)  # (dag_id, run_id) whose failed tasks explain it


def upload_batch(sample: Path, topo: Topology, batch: tuple[str, ...]) -> int:
    """Put a batch of sample files into the landing bucket, as an agency's upload would."""
    fs, copied = topo.landing_fs(), 0
    for item in batch:
        folder, _, first = item.partition(":")
        files = sorted(p for p in (sample / folder).rglob("*") if p.is_file())
        for path in files[:int(first)] if first else files:
            fs.put_file(str(path), f"{topo.landing_url}/{path.relative_to(sample).as_posix()}")
            copied += 1
    return copied


def upload_landing(sample: Path, topo: Topology) -> int:
    """The first night's files: a few of every source and one the night must reject."""
    return upload_batch(sample, topo, BATCH_A) + upload_rejected(sample, topo)


def upload_rejected(sample: Path, topo: Topology) -> int:
    """A file the night must reject and quarantine: a sample plan's header with no rows under it."""
    header = next((sample / "integration_plan").rglob("*.csv")).read_bytes().splitlines(keepends=True)[0]
    topo.landing_fs().pipe_file(f"{topo.landing_url}/{REJECTED}", header)
    return 1


class Operator:
    def __init__(self, topo: Topology, sample: Path, log: Callable[[str], None] = print) -> None:
        self.topo, self.api, self.sample, self.log = topo, topo.api, sample, log
        self.results: list[Result] = []
        self.reference: dict[str, str] = {}

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.topo.warehouse_url, autocommit=True)

    def record(self, result: Result) -> None:
        self.results.append(result)
        self.log(f"{'PASS' if result.ok else 'FAIL'}  {result.name}: {result.detail}")

    def _ti(self, dag_id: str, run_id: str, task_id: str) -> dict | None:
        return next((t for t in self.api.task_instances(dag_id, run_id) if t["task_id"] == task_id), None)

    # --- the first night: a worker killed in the middle of a load; a backfill waiting for the lock -------
    def first_night(self, copied: int, uploaded_at: float) -> tuple[str, str | None]:
        """``copied`` files were uploaded at ``uploaded_at`` (time.monotonic()): the night starts once they are
        older than the settle window, as files that arrived during the day are at 02:00."""
        if (wait := settle_seconds() + 1 - (time.monotonic() - uploaded_at)) > 0:
            self.log(f"waiting {wait:.0f}s: files younger than the settle window (DGWH_SETTLE_S) wait for a later run")
            time.sleep(wait)
        for dag_id in (NIGHTLY, BACKFILL):
            self.api.unpause(dag_id)
        r1 = self._first_run()
        self.log(f"unpaused both DAGs; following {NIGHTLY} {r1} on {copied} sample files")
        state: dict = {"bf": None, "killed": None}

        def on_poll() -> None:
            tis = self.api.task_instances(NIGHTLY, r1)
            if state["killed"] is None:
                for ti in tis:
                    running = ti["task_id"] == "load_files" and ti["state"] == "running"
                    if running and (worker := self._worker_running(ti)):
                        self.log(f"SIGKILL {worker} and its task processes while it runs load_files[{ti['map_index']}]")
                        self.topo.stack.kill_tree(self.topo.running.pop(worker))
                        state["killed"] = {"worker": worker, "map_index": ti["map_index"]}
                        break
            if (killed := state["killed"]) and not killed.get("back"):
                retry = next((t for t in tis if t["task_id"] == "load_files" and t["map_index"] == killed["map_index"]
                              and t["try_number"] >= 2 and t["state"] in ("running", "success")), None)
                if retry:  # the retry is under way on the other worker: bring the killed one back
                    killed["retry_on"] = self._worker_running(retry) if retry["state"] == "running" else None
                    self.topo.start(killed["worker"])
                    killed["back"] = True
                    self.log(f"load_files[{killed['map_index']}] try {retry['try_number']} {retry['state']} "
                             f"on the other worker; {killed['worker']} started again")
            # The backfill is triggered once the night's dbt tasks run (minutes before the night ends, so its
            # lock task surely meets a held lock); the night's marts are read once published, while the
            # night still holds the lock and the waiting backfill cannot have touched them.
            building = any(t["task_id"].startswith("dbt.") and t["state"] in ("running", "success") for t in tis)
            if state["bf"] is None and building:
                state["bf"] = self.api.trigger(BACKFILL, BACKFILL_CONF)
                self.log(f"the night's dbt tasks run; triggered {BACKFILL} {state['bf']} {BACKFILL_CONF} while "
                         f"{r1} holds the lock")
            published = any(t["task_id"] == "publish_marts" and t["state"] == "success" for t in tis)
            if not self.reference and published:
                with self.connect() as conn:
                    self.reference = wh.marts_fingerprint(conn)
                self.log(f"marts published by {r1}: {len(self.reference)} marts fingerprinted")

        outcome = self.api.wait_run(NIGHTLY, r1, RUN_TIMEOUT_S, on_poll)
        if state["killed"] and not state["killed"].get("back"):
            self.topo.start(state["killed"]["worker"])  # back for what comes next
        with self.connect() as conn:
            rows = wh.mart_rows(conn)
            problems = wh.ledger_problems(conn)
            loaded = wh.files_by_run(conn).get(r1, 0)
        from ground.manifest import public_marts

        empty = [m for m in public_marts() if not rows.get(m)]
        events = {e["uri"] for e in self.api.asset_events(NIGHTLY, r1) if e.get("source_task_id") == "publish_marts"}
        no_event = sorted(m for m in rows if not any(u.endswith(f"/marts/{m}") for u in events))
        self.record(Result(
            S_NIGHT,
            outcome == "success" and not empty and not no_event and not problems and loaded == copied,
            f"run {outcome}; {loaded}/{copied} files in the ledger; contract marts with rows "
            f"{len(public_marts()) - len(empty)}/{len(public_marts())}" + (f" (empty: {empty})" if empty else "")
            + f"; Asset events for {len(events)} mart URIs" + (f", none for {no_event}" if no_event else "")
            + (f"; ledger: {problems[:3]}" if problems else ""), [(NIGHTLY, r1)]))
        self.log(f"{NIGHTLY} {r1}: {self.timing(NIGHTLY, r1)}")
        self._record_shared(r1)
        self._record_kill(r1, state["killed"], outcome, problems, loaded == copied)
        return r1, state["bf"]

    def timing(self, dag_id: str, run_id: str) -> str:
        """The run's duration, and how many task instances its dbt group ran and over how long."""
        from datetime import datetime

        def at(value: str) -> datetime:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))

        run = self.api.run(dag_id, run_id)
        dbt = [t for t in self.api.task_instances(dag_id, run_id)
               if t["task_id"].startswith("dbt.") and t["state"] in ("success", "failed") and t.get("start_date")
               and t.get("end_date")]
        span = ((max(at(t["end_date"]) for t in dbt) - min(at(t["start_date"]) for t in dbt)).total_seconds()
                if dbt else 0.0)
        total = (at(run["end_date"]) - at(run["start_date"])).total_seconds() if run.get("end_date") else float("nan")
        return (f"{total:.0f} s from start to end; the dbt group ran {len(dbt)} task instance(s) over {span:.0f} s "
                f"(first start to last end)")

    def _record_shared(self, run_id: str) -> None:
        shared = self.topo.shared_state_dir
        missing = [a for a in SHARED_ARTEFACTS if not (shared / a).exists()]
        own = sorted(self.topo.stack.root.glob("hosts/*/*"))  # each process's own disk
        strays = sorted(str(p.relative_to(self.topo.stack.root)) for d in own for a in SHARED_ARTEFACTS
                        if (p := d / a.split("/", 1)[0]).exists())
        docs = self.topo.env_file["DGWH_DOCS_URL"]
        served = {path: _http_status("GET", f"{docs}{path}") for path in ("/report/", "/data-docs/", "/dbt-docs/")}
        write = _http_status("PUT", f"{docs}/report/latest.html")
        report = (shared / "reports" / "latest.html")
        linked = report.exists() and f"{docs}/data-docs/" in report.read_text(encoding="utf-8")
        with self.connect() as conn:
            rejected = conn.execute("SELECT status, quarantine_path FROM ops.file_ledger WHERE path = %s",
                                    (REJECTED,)).fetchone()
        quarantined = bool(rejected and rejected[0] == "rejected" and rejected[1]
                           and Path(rejected[1]).is_relative_to(shared) and Path(rejected[1]).exists())
        self.record(Result(
            S_SHARED, not missing and not strays and set(served.values()) == {200} and write >= 400 and linked
            and quarantined,
            f"on the shared volume: {len(SHARED_ARTEFACTS) - len(missing)}/{len(SHARED_ARTEFACTS)}"
            + (f" (missing: {missing})" if missing else "")
            + f"; on a process's own disk: {strays or 'none'}; docs service GET {served}, PUT {write}; "
            f"the report links Data Docs at the docs service: {'yes' if linked else 'no'}; {REJECTED}: "
            f"{rejected[0] if rejected else 'not in the ledger'}, its copy on the shared volume: "
            f"{'yes' if quarantined else 'no'}", [(NIGHTLY, run_id)]))

    def services_alive(self) -> None:
        dead = {name: s.popen.poll() for name, s in self.topo.running.items() if s.popen.poll() is not None}
        self.record(Result(S_ALIVE, not dead, f"{len(self.topo.running)} processes running"
                           + (f"; exited (name: code): {dead}" if dead else "")))

    def _first_run(self) -> str:
        """Unpaused, dg_nightly (catchup=False) runs at once for the latest 02:00; an operator's trigger
        would only queue behind it (max_active_runs=1). Follow that run; trigger one if none comes."""
        try:
            return wait_for("the scheduler's run for the latest 02:00", lambda: next(
                (r["dag_run_id"] for r in self.api.runs(NIGHTLY) if r["run_type"] == "scheduled"), None),
                timeout=90, interval=2)
        except TimeoutError:
            return self.api.trigger(NIGHTLY)

    def _record_kill(self, run_id: str, killed: dict | None, outcome: str, problems: list[str], all_in: bool) -> None:
        name = S_KILL
        if not killed:
            self.record(Result(name, False, "no running load_files task was seen on a worker", [(NIGHTLY, run_id)]))
            return
        tries = sorted(self.api.tries(NIGHTLY, run_id, "load_files", killed["map_index"]),
                       key=lambda t: t["try_number"])
        final = tries[-1] if tries else {"state": None, "try_number": 0}
        attempts = ", ".join(f"{t['try_number']}={t['state']}" for t in tries)
        twice = [p for p in problems if "times" in p]
        self.record(Result(
            name, outcome == "success" and final["state"] == "success" and final["try_number"] >= 2
            and not problems and all_in,
            f"{killed['worker']} killed; load_files[{killed['map_index']}] tries: {attempts}, the retry seen on "
            f"{killed.get('retry_on') or 'the only worker up'}; run {outcome}; rows in = loaded + rejected and "
            f"raw = ledger for every file: {'yes' if not problems else problems[:3]}; "
            f"each file once: {'no' if twice else 'yes'}",
            [(NIGHTLY, run_id)]))

    # --- the backfill: the scheduler restarted under it; two nights triggered while it holds the lock -----
    def backfill_and_two_nights(self, r1: str, bf: str | None) -> None:
        if bf is None:
            return  # not reached: reported by not_reached()
        with self.connect() as conn:
            files_before = sum(wh.files_by_run(conn).values())
        state: dict = {"restarted": False, "nights": None}

        def on_poll() -> None:
            if state["restarted"]:
                return
            if any(t["task_id"].startswith("dbt.") and t["state"] in ("running", "success")
                   for t in self.api.task_instances(BACKFILL, bf)):
                state["nights"] = (self.api.trigger(NIGHTLY), self.api.trigger(NIGHTLY))
                self.log(f"backfill building: triggered {NIGHTLY} {state['nights'][0]} and {state['nights'][1]} "
                         "at once; restarting the scheduler (SIGTERM, then a new process) ...")
                self.topo.restart("scheduler")
                state["restarted"] = True

        outcome = self.api.wait_run(BACKFILL, bf, RUN_TIMEOUT_S, on_poll)
        self.log(f"{BACKFILL} {bf}: {self.timing(BACKFILL, bf)}")
        lock_ti = self._ti(BACKFILL, bf, "take_run_lock")
        night = self.api.run(NIGHTLY, r1)
        waited = self._waited_for(BACKFILL, bf, r1)
        with self.connect() as conn:
            after = wh.marts_fingerprint(conn)
        differ = sorted(t for t in set(after) | set(self.reference) if after.get(t) != self.reference.get(t))
        events = [e for e in self.api.asset_events(BACKFILL, bf) if e.get("source_task_id") == "finish"]
        self.record(Result(S_LOCK,
                           waited and outcome == "success",
                           f"take_run_lock {'logged waiting for' if waited else 'never logged waiting for'} {r1}; "
                           f"the night ended {night['end_date']}, the lock task {lock_ti and lock_ti['end_date']}; "
                           f"run {outcome}", [(BACKFILL, bf)]))
        self.record(Result(S_BACKFILL,
                           outcome == "success" and not differ and bool(self.reference) and bool(events),
                           f"run {outcome}; {len(after)} marts compared row by row: "
                           + (f"different: {differ}" if differ else "all equal") + f"; {len(events)} Asset events",
                           [(BACKFILL, bf)]))
        self.record(Result(S_RESTART,
                           state["restarted"] and outcome == "success",
                           f"restarted during the backfill's dbt tasks; run {outcome}" if state["restarted"]
                           else "the backfill's dbt tasks were never seen running", [(BACKFILL, bf)]))
        if state["nights"]:
            self._two_nights(bf, *state["nights"], files_before)

    def _two_nights(self, bf: str, r2: str, r3: str, files_before: int) -> None:
        outcome2 = self.api.wait_run(NIGHTLY, r2, RUN_TIMEOUT_S)
        outcome3 = self.api.wait_run(NIGHTLY, r3, RUN_TIMEOUT_S)
        night2, night3 = self.api.run(NIGHTLY, r2), self.api.run(NIGHTLY, r3)
        on_lock = self._waited_for(NIGHTLY, r2, bf)
        queued = bool(night3["start_date"] and night2["end_date"] and night3["start_date"] >= night2["end_date"])
        with self.connect() as conn:
            problems = wh.ledger_problems(conn)
            files_after = sum(wh.files_by_run(conn).values())
        self.record(Result(
            S_TWO,
            outcome2 == outcome3 == "success" and on_lock and queued and files_after == files_before and not problems,
            f"{r2}: {outcome2}, its take_run_lock waited for the backfill's lock ({'yes' if on_lock else 'no'}); "
            f"{r3}: {outcome3}, started after {r2} ended ({'yes' if queued else 'no'}: max_active_runs=1); ledger "
            f"{files_before} -> {files_after} files" + (f"; ledger: {problems[:3]}" if problems else ""),
            [(NIGHTLY, r2), (NIGHTLY, r3)]))

    def _waited_for(self, dag_id: str, run_id: str, holder: str) -> bool:
        """Whether the run's take_run_lock logged a poke that found the lock held by ``holder`` (the sensor
        gives its worker slot back between pokes, so the task's start and end dates do not show the wait)."""
        ti = self._ti(dag_id, run_id, "take_run_lock")
        if not ti or ti["state"] != "success":
            return False
        tries = range(1, (ti["try_number"] or 1) + 1)
        text = "\n".join(self.api.log(dag_id, run_id, "take_run_lock", n) for n in tries)
        return any("waiting" in line and holder in line for line in text.splitlines())

    def not_reached(self, why: str) -> None:
        done = {r.name for r in self.results}
        for name in SCENARIOS:
            if name not in done:
                self.record(Result(name, False, f"not reached: {why}"))

    def _worker_running(self, ti: dict) -> str | None:
        """The worker whose process tree runs this task instance (by its pid, or its process title)."""
        for name, started in self.topo.running.items():
            if not name.startswith("worker"):
                continue
            try:
                tree = psutil.Process(started.popen.pid).children(recursive=True)
            except psutil.Error:
                continue
            for proc in tree:
                try:
                    if proc.pid == ti.get("pid") or ti["id"] in " ".join(proc.cmdline()):
                        return name
                except psutil.Error:
                    continue
        return None

    def failed_task_logs(self, dag_id: str, run_id: str, limit: int = 60) -> str:
        out = []
        try:
            for ti in self.api.task_instances(dag_id, run_id):
                if ti["state"] in ("failed", "up_for_retry", "running", "queued"):
                    for attempt in range(1, (ti["try_number"] or 1) + 1):
                        text = self.api.log(dag_id, run_id, ti["task_id"], attempt, ti["map_index"])
                        lines = text.splitlines()[-limit:]
                        out.append(f"--- {dag_id} {run_id} {ti['task_id']}[{ti['map_index']}] try {attempt} "
                                   f"({ti['state']}) ---\n" + "\n".join(lines))
        except Exception as exc:  # noqa: BLE001 (the logs explain a failure; fetching them must not hide it)
            out.append(f"(could not fetch task logs: {exc})")
        return "\n".join(out)


def _http_status(method: str, url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"x" if method == "PUT" else None),
                                    timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0

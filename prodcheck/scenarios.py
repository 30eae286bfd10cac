"""The operator scenarios, each through Airflow's REST API, each checked against the warehouse."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

from prodcheck import warehouse as wh
from prodcheck.topology import WORKERS, Topology

NIGHTLY, BACKFILL = "dg_nightly", "dg_backfill"
BACKFILL_CONF = {"fy_from": 2564, "fy_to": 2565}
RUN_TIMEOUT_S = 600
# A few files of every source from the sample landing zone (the whole zone is make run's job): the first
# night's files, then the files that arrive for the nights the worker is killed in.
BATCH_A = ("readiness/2563", "readiness/2564", "integration_plan/2564", "integration_plan/2565", "budget_bill/2564",
           "project_reports/2563:4")
BATCH_B = ("readiness/2565", "budget_bill/2565", "project_reports/2564:4")


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    runs: list[tuple[str, str]] = field(default_factory=list)  # (dag_id, run_id) whose failed tasks explain it


def copy_batch(sample: Path, landing: Path, batch: tuple[str, ...]) -> int:
    copied = 0
    for item in batch:
        folder, _, first = item.partition(":")
        files = sorted(p for p in (sample / folder).rglob("*") if p.is_file())
        for path in files[:int(first)] if first else files:
            target = landing / path.relative_to(sample)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied += 1
    return copied


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

    # --- 1 and 2: the first night, and a backfill that has to wait for it -------------------------------
    def nightly_then_backfill(self) -> None:
        copied = copy_batch(self.sample, self.topo.landing, BATCH_A)
        for dag_id in (NIGHTLY, BACKFILL):
            self.api.unpause(dag_id)
        r1 = self.api.trigger(NIGHTLY)
        self.log(f"triggered {NIGHTLY} {r1} on {copied} files; the backfill is triggered once its marts are published")
        state = {"bf": None}

        def on_poll() -> None:
            if state["bf"] is None and (ti := self._ti(NIGHTLY, r1, "publish_marts")) and ti["state"] == "success":
                with self.connect() as conn:  # the night's marts, before the backfill can take the lock
                    self.reference = wh.marts_fingerprint(conn)
                state["bf"] = self.api.trigger(BACKFILL, BACKFILL_CONF)
                self.log(f"triggered {BACKFILL} {state['bf']} {BACKFILL_CONF} while {r1} holds the lock")

        outcome = self.api.wait_run(NIGHTLY, r1, RUN_TIMEOUT_S, on_poll)
        with self.connect() as conn:
            rows = wh.mart_rows(conn)
            problems = wh.ledger_problems(conn)
            loaded = wh.files_by_run(conn).get(r1, 0)
        from ingest.transform import CONTRACT_MARTS

        empty = [m for m in CONTRACT_MARTS if not rows.get(m)]
        events = {e["uri"] for e in self.api.asset_events(NIGHTLY, r1)}
        missing_events = sorted(m for m in rows if not any(u.endswith(f"/marts/{m}") for u in events))
        ok = outcome == "success" and not empty and not missing_events and not problems and loaded == copied
        self.record(Result("nightly on the sample landing zone", ok,
                           f"run {outcome}; {loaded}/{copied} files in the ledger; contract marts with rows "
                           f"{len(CONTRACT_MARTS) - len(empty)}/{len(CONTRACT_MARTS)}"
                           + (f" (empty or missing: {empty})" if empty else "")
                           + f"; Asset events for {len(events)} mart URIs"
                           + (f", none for {missing_events}" if missing_events else "")
                           + (f"; ledger: {problems[:3]}" if problems else ""), [(NIGHTLY, r1)]))
        if state["bf"] is None:
            self.record(Result("backfill waits on the lock, then equals the full run", False,
                               "the night ended before its marts were seen published; no backfill triggered",
                               [(NIGHTLY, r1)]))
            return
        self.backfill(state["bf"], r1)

    def backfill(self, bf: str, r1: str) -> None:
        restarted = {"at": None}

        def on_poll() -> None:  # restart the scheduler once the backfill's dbt tasks are under way
            if restarted["at"] is None and any(t["task_id"].startswith("dbt.") and t["state"] in ("running", "success")
                                               for t in self.api.task_instances(BACKFILL, bf)):
                self.log("restarting the scheduler (SIGTERM, then a new process) mid-backfill ...")
                self.topo.restart("scheduler")
                restarted["at"] = time.monotonic()

        outcome = self.api.wait_run(BACKFILL, bf, RUN_TIMEOUT_S, on_poll)
        lock_ti = self._ti(BACKFILL, bf, "check_range_and_lock")
        night = self.api.run(NIGHTLY, r1)
        waited = bool(lock_ti and lock_ti["start_date"] and night["end_date"]
                      and lock_ti["start_date"] < night["end_date"] <= (lock_ti["end_date"] or ""))
        with self.connect() as conn:
            after = wh.marts_fingerprint(conn)
        differ = sorted(t for t in set(after) | set(self.reference) if after.get(t) != self.reference.get(t))
        events = self.api.asset_events(BACKFILL, bf)
        self.record(Result("two runs at once: the backfill waits on the nightly's lock",
                           waited and outcome == "success",
                           f"check_range_and_lock started {lock_ti and lock_ti['start_date']}, the night ended "
                           f"{night['end_date']}, the lock task ended {lock_ti and lock_ti['end_date']}",
                           [(BACKFILL, bf)]))
        self.record(Result(f"backfill {BACKFILL_CONF} equals the full run's marts", outcome == "success" and not differ
                           and bool(self.reference) and bool(events),
                           f"run {outcome}; {len(after)} marts compared row by row, "
                           + (f"different: {differ}" if differ else "all equal")
                           + f"; {len(events)} Asset events", [(BACKFILL, bf)]))
        self.record(Result("scheduler restarted mid-run: the run completes",
                           restarted["at"] is not None and outcome == "success",
                           "restarted during the backfill's dbt tasks; run " + outcome if restarted["at"]
                           else "the backfill's dbt tasks were never seen running", [(BACKFILL, bf)]))

    # --- 3 and 4: two nights at once, a worker killed in the middle of a load --------------------------
    def two_nights_and_a_dead_worker(self) -> None:
        copied = copy_batch(self.sample, self.topo.landing, BATCH_B)
        r2, r3 = self.api.trigger(NIGHTLY), self.api.trigger(NIGHTLY)
        self.log(f"{copied} new files; triggered {NIGHTLY} {r2} and {r3} at once")
        killed: dict = {}

        def on_poll() -> None:
            if killed:
                return
            for ti in self.api.task_instances(NIGHTLY, r2):
                if ti["task_id"] == "load_file" and ti["state"] == "running":
                    worker = self._worker_running(ti)
                    if worker:
                        self.log(f"SIGKILL {worker} (and its task processes) while it runs "
                                 f"load_file[{ti['map_index']}]")
                        self.topo.stack.kill_tree(self.topo.running.pop(worker))
                        killed.update(worker=worker, map_index=ti["map_index"])
                        return

        outcome2 = self.api.wait_run(NIGHTLY, r2, RUN_TIMEOUT_S, on_poll)
        outcome3 = self.api.wait_run(NIGHTLY, r3, RUN_TIMEOUT_S)
        if killed:
            self.topo.start(killed["worker"])  # back for whatever comes next
        with self.connect() as conn:
            problems = wh.ledger_problems(conn)
            by_run = wh.files_by_run(conn)
        night2, night3 = self.api.run(NIGHTLY, r2), self.api.run(NIGHTLY, r3)
        queued = bool(night3["start_date"] and night2["end_date"] and night3["start_date"] >= night2["end_date"])
        self.record(Result("two nightly runs at once: one waits, nothing is loaded twice",
                           outcome2 == outcome3 == "success" and queued and by_run.get(r2) == copied
                           and not by_run.get(r3) and not problems,
                           f"{r2}: {outcome2}, {by_run.get(r2, 0)}/{copied} files; {r3}: {outcome3}, started "
                           f"{night3['start_date']} after the first ended {night2['end_date']} "
                           f"(max_active_runs=1), {by_run.get(r3, 0)} files"
                           + (f"; ledger: {problems[:3]}" if problems else ""), [(NIGHTLY, r2), (NIGHTLY, r3)]))
        if not killed:
            self.record(Result("worker SIGKILLed mid-load_file: retried on the other worker", False,
                               "no running load_file task was seen on a worker", [(NIGHTLY, r2)]))
            return
        tries = self.api.tries(NIGHTLY, r2, "load_file", killed["map_index"])
        final = max(tries, key=lambda t: t["try_number"])
        attempts = ", ".join(f"{t['try_number']}={t['state']}" for t in sorted(tries, key=lambda t: t["try_number"]))
        ok = (outcome2 == "success" and final["state"] == "success" and final["try_number"] >= 2
              and not problems and by_run.get(r2) == copied)
        self.record(Result("worker SIGKILLed mid-load_file: retried on the other worker", ok,
                           f"load_file[{killed['map_index']}] tries: {attempts}"
                           + f" (only {WORKERS - 1} worker alive for the retry); run {outcome2}; rows in = loaded + "
                           f"rejected and raw = ledger for every file: {'yes' if not problems else problems[:3]}; "
                           f"each file once: {'yes' if not any('times' in p for p in problems) else 'no'}",
                           [(NIGHTLY, r2)]))

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
                if ti["state"] in ("failed", "upstream_failed", "up_for_retry") or (ti["try_number"] or 0) > 1:
                    for attempt in range(1, (ti["try_number"] or 1) + 1):
                        text = self.api.log(dag_id, run_id, ti["task_id"], attempt, ti["map_index"])
                        lines = text.splitlines()[-limit:]
                        out.append(f"--- {dag_id} {run_id} {ti['task_id']}[{ti['map_index']}] try {attempt} "
                                   f"({ti['state']}) ---\n" + "\n".join(lines))
        except Exception as exc:  # noqa: BLE001 (the logs explain a failure; fetching them must not hide it)
            out.append(f"(could not fetch task logs: {exc})")
        return "\n".join(out)

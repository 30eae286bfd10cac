"""``make run``'s progress: run an Airflow CLI command with its whole output in a log file, and print one
line as each stage (task) and each load batch and dbt node finishes, read from the run's task instances in the
checkout's own Airflow metadata database (SQLite, ``$AIRFLOW_HOME/airflow.db``, read-only).

    python -m nightly.progress --log .state/last_run.log --dag dg_nightly -- scripts/airflow.sh dags test dg_nightly

Lines look like ``[  41s] batch 3 of 6 loaded: readiness: 200 file(s), readiness/2559/a.csv (+199 more): 198
loaded, 2 rejected`` (``done`` when a file was not loaded: changed after it was listed, named with why) and
``[ 190s] dbt node 12 of 40 success: fct_readiness_responses``. With another metadata database
(``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` not SQLite) it only runs the command.

Each run's log is a file of its own (``<log dir>/runs/<name>-<time>-<pid>.log``); ``--log`` becomes a link to
the newest. SIGINT or SIGTERM (Ctrl-C, ``kill``, make passing it on) stop the run: the command's whole process
group (it runs in a session of its own) is sent SIGTERM, then SIGKILL after ``STOP_GRACE_S``; once nothing of
it is left, the run is recorded ``interrupted`` in ``ops.pipeline_runs`` and its warehouse lock released; one
line says so, and the exit status is 128 + the signal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ground.text import clip

FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
STOP_GRACE_S = 5.0  # then SIGKILL: between tasks Airflow's own SIGTERM handler lets the run go on
FILE_TASK = "load_files"  # one mapped task per load batch (nightly.pipeline.batches)
DBT_NODE_TASK = "dbt.node"  # mapped: one per node the night builds (per layer on a big night), labelled so
MAX_NAMED = 3  # files not loaded named on a batch's line (the summary names them all)


@dataclass
class Tracker:
    """What has been reported so far for one DAG run."""

    dag_id: str
    after_id: int  # dag_run ids up to this one existed before the command started
    run_id: str | None = None
    reported: set[tuple[str, int]] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    why_waiting: Callable[[], str] | None = None  # what a waiting task waits for, in a few words
    batches_done: int = 0
    dbt_done: int = 0

    def poll(self, db: sqlite3.Connection) -> list[str]:
        """New lines since the last poll."""
        if self.run_id is None:
            row = db.execute("SELECT run_id FROM dag_run WHERE dag_id = ? AND id > ? ORDER BY id LIMIT 1",
                             (self.dag_id, self.after_id)).fetchone()
            if row is None:
                return []
            self.run_id = row[0]
        rows = db.execute("SELECT task_id, map_index, state, rendered_map_index FROM task_instance "
                          "WHERE dag_id = ? AND run_id = ? ORDER BY end_date, task_id, map_index",
                          (self.dag_id, self.run_id)).fetchall()
        batches_total = sum(1 for t, m, _, _ in rows if t == FILE_TASK and m >= 0)
        dbt_total = sum(1 for t, m, _, _ in rows if t == DBT_NODE_TASK and m >= 0)
        lines = []
        for task_id, map_index, state, label in rows:
            key = (task_id, map_index)
            if state == "up_for_reschedule" and task_id not in self.waiting:
                self.waiting.add(task_id)
                why = self.why_waiting() if self.why_waiting else ""
                lines.append(f"{task_id}: waiting ({why or 'rescheduled; see the log for why'})")
            if state not in FINISHED or key in self.reported:
                continue
            self.reported.add(key)
            if task_id == FILE_TASK and map_index >= 0:
                self.batches_done += 1
                files = batch_outcomes(db, self.dag_id, self.run_id, map_index) if state == "success" else None
                lines.append(batch_line(self.batches_done, batches_total, state, label, files))
            elif task_id == FILE_TASK:
                lines.append(f"{task_id}: {state} (no new files)" if state == "skipped" else f"{task_id}: {state}")
            elif task_id == DBT_NODE_TASK and map_index >= 0:
                self.dbt_done += 1
                if state == "upstream_failed":  # one line per node of a build that never started says nothing
                    continue
                lines.append(f"dbt node {self.dbt_done} of {dbt_total} {state}: {label or map_index}")
            else:
                lines.append(f"{task_id}: {state}")
        return lines


def batch_outcomes(db: sqlite3.Connection, dag_id: str, run_id: str, map_index: int) -> list[dict] | None:
    """What a finished load batch did with each of its files: its task's result (``FileOutcome.as_dict`` each,
    ``status`` loaded, rejected or skipped), from Airflow's XCom table; None when it returned something else."""
    try:
        row = db.execute("SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? "
                         "AND key = 'return_value'", (dag_id, run_id, FILE_TASK, map_index)).fetchone()
    except sqlite3.Error:
        return None
    value = row[0] if row else None
    for _ in range(2):  # Airflow keeps the value's JSON text as a JSON value: text inside text
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError:
                return None
    if isinstance(value, list) and all(isinstance(o, dict) and "status" in o for o in value):
        return value
    return None


def _why(outcome: dict) -> str:
    """Why a file was not loaded, in a few words: its reason without the path it starts with, nor details in
    brackets (hashes, errors)."""
    reason, path = str(outcome.get("reason") or "not loaded"), str(outcome.get("path") or "")
    reason = reason[len(path):] if path and reason.startswith(path) else reason
    return re.sub(r"\s*\([^()]*\)", "", reason).strip(" :;") or "not loaded"


def batch_line(done: int, total: int, state: str, label: str | None, files: list[dict] | None) -> str:
    """``batch 2 of 6 loaded: <label>: 200 loaded, 0 rejected``. A file passed over (changed after it was
    listed, loaded by another run meanwhile) is not counted as loaded: the batch is ``done``, the file named
    with why; loaded + rejected + not loaded = the batch's files."""
    passed = [o for o in files or [] if o["status"] not in ("loaded", "rejected")]
    what = state if state != "success" else "done" if passed else "loaded"
    line = f"batch {done} of {total} {what}" + (f": {label}" if label else "")
    if files is None:
        return line
    loaded = sum(1 for o in files if o["status"] == "loaded")
    rejected = sum(1 for o in files if o["status"] == "rejected")
    line += f": {loaded} loaded, {rejected} rejected"
    if passed:
        named = "; ".join(f"{o.get('path')} ({_why(o)})" for o in passed[:MAX_NAMED])
        more = f"; +{len(passed) - MAX_NAMED} more (see the summary)" if len(passed) > MAX_NAMED else ""
        line += f", {len(passed)} not loaded: {named}{more}"
    return line


def _open(db_path: Path) -> sqlite3.Connection | None:
    if not db_path.exists():
        return None
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)


def _last_run_id(db_path: Path, dag_id: str) -> int:
    with contextlib.suppress(sqlite3.Error):
        db = _open(db_path)
        if db is not None:
            with contextlib.closing(db):
                return int(db.execute("SELECT coalesce(max(id), 0) FROM dag_run WHERE dag_id = ?",
                                      (dag_id,)).fetchone()[0])
    return 0


def metadata_db() -> Path | None:
    """The SQLite metadata database ``scripts/airflow.sh`` uses, or None when Airflow is configured elsewhere."""
    conn = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if conn and not conn.startswith("sqlite:"):
        return None
    if conn:
        return Path(conn.split("///", 1)[-1])
    state = Path(os.environ.get("DGWH_STATE_DIR", Path(__file__).resolve().parent.parent / ".state"))
    return Path(os.environ.get("AIRFLOW_HOME") or state / "airflow") / "airflow.db"


def lock_wait() -> str:
    """What a waiting run waits for: the holder of the warehouse lock and how long it will wait at most."""
    from ground.warehouse import connect
    from nightly.runlock import holder

    try:
        with connect(autocommit=True) as conn:
            held = holder(conn)
    except Exception:  # noqa: BLE001 - only words for a progress line
        return ""
    limit = float(os.environ.get("DGWH_LOCK_WAIT_S", 1800))
    return (f"for the warehouse lock held by {held.describe()}; gives up after {limit:.0f}s" if held else "")


def run_log(log_path: Path) -> Path:
    """A new log file of this run's own, ``log_path`` made a link to it (replaced at once, never half-written)."""
    runs = log_path.parent / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    own = runs / f"{log_path.stem}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    link = log_path.parent / f".{log_path.name}.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(own.relative_to(log_path.parent))
    os.replace(link, log_path)
    return own


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # only zombies left (their parent ended and nobody reaped them yet) write nothing
    import psutil

    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return False
    return True


def stop_group(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the command's process group, SIGKILL after ``grace_s``; returns once none of it is left."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and not (proc.poll() is not None and _group_gone(pgid)):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait()
    while not _group_gone(pgid):
        time.sleep(0.1)


def record_interrupted(run_id: str | None, pid: int, dag_id: str) -> str:
    """Once nothing of the run is left: the run ``interrupted`` in ops.pipeline_runs, the lock its process held
    released. Returns what was done, for the closing line."""
    from ground.warehouse import connect
    from nightly.runlock import holder, release

    try:
        with connect(autocommit=True) as conn:
            held = holder(conn)
            ours = held is not None and held.pid == pid and held.host == socket.gethostname()
            run_id = held.owner if ours else run_id
            if run_id is None:
                return "it had not started a run"
            conn.execute("""INSERT INTO ops.pipeline_runs (run_id, status, dag_id, finished_at)
                            VALUES (%s, 'interrupted', %s, now())
                            ON CONFLICT (run_id) DO UPDATE SET status = 'interrupted', finished_at = now()
                            WHERE ops.pipeline_runs.status IN ('running', 'killed')""", (run_id, dag_id))
            released = ours and release(conn, run_id)
    except Exception as exc:  # noqa: BLE001 - a stopped or unreachable warehouse: the next run takes it over
        return f"not recorded ({clip(' '.join(str(exc).split()), 200)})"
    return f"run {run_id} recorded as interrupted" + (", warehouse lock released" if released else "")


def run_with_progress(argv: list[str], log_path: Path, dag_id: str, db_path: Path | None,
                      out: Callable[[str], None] = print, interval_s: float = 1.0) -> int:
    """Run ``argv`` with stdout and stderr into a log of its own (``log_path`` links to it); print progress
    lines while it runs; on SIGINT/SIGTERM stop it whole and say so in one line (exit 128 + signal)."""
    started = time.monotonic()
    tracker = Tracker(dag_id, _last_run_id(db_path, dag_id) if db_path else 0, why_waiting=lock_wait)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    own_log = run_log(log_path)

    def report() -> None:
        if db_path is None:
            return
        try:
            db = _open(db_path)
            if db is None:
                return
            with contextlib.closing(db):
                for line in tracker.poll(db):
                    out(f"[{time.monotonic() - started:5.0f}s] {line}")
        except sqlite3.Error:  # busy or not migrated yet: the next poll sees it
            pass

    def stop(signum, frame):
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open(own_log, "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                while proc.poll() is None:
                    time.sleep(interval_s)
                    report()
            except Stopped as stopped:
                for sig in previous:  # a second Ctrl-C does not cut the stopping short
                    signal.signal(sig, signal.SIG_IGN)
                stop_group(proc)
                report()
                done = record_interrupted(tracker.run_id, proc.pid, dag_id)
                out(f"[{time.monotonic() - started:5.0f}s] interrupted ({stopped}): every task of the run stopped; "
                    f"{done}; log: {own_log}")
                return 128 + stopped.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    report()
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, type=Path, help="where the command's whole output goes")
    parser.add_argument("--dag", required=True, help="the DAG whose run to follow")
    parser.add_argument("--explain", action="store_true",
                        help="when the command fails, print why in one line (nightly.runerror) from its log")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    code = run_with_progress(command, args.log, args.dag, metadata_db(), out=lambda line: print(line, flush=True))
    if code and code < 128 and args.explain:
        from nightly.runerror import main as explain

        explain([str(args.log.resolve())])
    return code


if __name__ == "__main__":
    sys.exit(main())

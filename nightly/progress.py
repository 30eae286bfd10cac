"""``make run``'s progress: run an Airflow CLI command with its whole output in a log file, and print one
line as each stage (task) and each load batch and dbt node finishes, read from the run's task instances in the
checkout's own Airflow metadata database (SQLite, ``$AIRFLOW_HOME/airflow.db``, read-only).

    python -m nightly.progress --log .state/last_run.log --dag dg_nightly -- scripts/airflow.sh dags test dg_nightly

Lines look like ``[  41s] batch 3 of 6 loaded: readiness: 200 file(s), readiness/2559/a.csv (+199 more)`` and
``[ 190s] dbt node 12 of 40 success: fct_readiness_responses``. With another metadata database
(``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` not SQLite) it only runs the command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
FILE_TASK = "load_files"  # one mapped task per load batch (nightly.pipeline.batches)
DBT_NODE_TASK = "dbt.node"  # mapped: one per node the night builds, labelled with the node


@dataclass
class Tracker:
    """What has been reported so far for one DAG run."""

    dag_id: str
    after_id: int  # dag_run ids up to this one existed before the command started
    run_id: str | None = None
    reported: set[tuple[str, int]] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
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
                lines.append(f"{task_id}: waiting (rescheduled; see the log for why)")
            if state not in FINISHED or key in self.reported:
                continue
            self.reported.add(key)
            if task_id == FILE_TASK and map_index >= 0:
                self.batches_done += 1
                what = "loaded" if state == "success" else state
                lines.append(f"batch {self.batches_done} of {batches_total} {what}" + (f": {label}" if label else ""))
            elif task_id == FILE_TASK:
                lines.append(f"{task_id}: {state} (no new files)" if state == "skipped" else f"{task_id}: {state}")
            elif task_id == DBT_NODE_TASK and map_index >= 0:
                self.dbt_done += 1
                lines.append(f"dbt node {self.dbt_done} of {dbt_total} {state}: {label or map_index}")
            else:
                lines.append(f"{task_id}: {state}")
        return lines


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


def run_with_progress(argv: list[str], log_path: Path, dag_id: str, db_path: Path | None,
                      out: Callable[[str], None] = print, interval_s: float = 1.0) -> int:
    """Run ``argv`` with stdout and stderr into ``log_path``; print progress lines while it runs."""
    started = time.monotonic()
    tracker = Tracker(dag_id, _last_run_id(db_path, dag_id) if db_path else 0)
    log_path.parent.mkdir(parents=True, exist_ok=True)

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

    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:
                time.sleep(interval_s)
                report()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait(timeout=60)
            raise
    report()
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, type=Path, help="where the command's whole output goes")
    parser.add_argument("--dag", required=True, help="the DAG whose run to follow")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    return run_with_progress(command, args.log, args.dag, metadata_db(),
                             out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())

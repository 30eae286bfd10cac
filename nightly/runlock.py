"""One pipeline run at a time per warehouse: a lease row in ``ops.run_lock``.

Airflow's ``max_active_runs`` only covers one DAG under a scheduler; ``make run`` (``airflow dags test``),
a backfill and the nightly can still overlap. The ledger's unique key already stops a file loading twice;
this lease also keeps two dbt builds from rebuilding the same tables at once.

Locks that heal:

- The lease names its holder: the run (and DAG), the host, and, when one process runs the whole run
  (``airflow dags test``: ``scripts/airflow.sh`` sets ``DGWH_LOCK_HOLDER_PID``), that process and its
  start time. SIGINT/SIGTERM end that process at once, its children with it (``stop_on_signals``); the lease
  is released by whoever finds the process gone (``nightly.progress``, which ran it, or the next run), never
  while a thread of the run could still write.
- Every run that takes the lease has a row in ``ops.pipeline_runs`` from then on, status ``running``; a run
  found dead (its lease taken over, or a ``running`` row while another run holds the lease) is marked
  ``killed``, one stopped by a signal ``interrupted`` (``mark_ended``).
- A lease whose holder is gone is taken over at once, with a warning naming the old holder: its process
  no longer runs on this host (or the pid now belongs to another process), or its Airflow run has ended
  (``run_gone``, asked through the Task SDK). Otherwise it expires after its lease (6 h).
- A run waiting for the lease says, every minute, what it waits for.
- ``make unlock`` (``python -m nightly.runlock unlock``) releases it by hand; it refuses while the holder's
  process still runs on this host, unless ``FORCE=1``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from ground.schema import ensure_ops

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(hours=6)
WAIT_REPORT_S = 60.0


class RunLocked(RuntimeError):
    """Another run holds the warehouse."""


@dataclass(frozen=True)
class Holder:
    owner: str
    taken_at: datetime
    expires_at: datetime
    host: str | None = None
    pid: int | None = None
    pid_start: str | None = None
    dag_id: str | None = None

    def describe(self) -> str:
        """``<run>, <DAG>, pid <n> on <host>, since <time>`` (the parts that are known)."""
        where = f"pid {self.pid} on {self.host}" if self.pid else f"on {self.host}" if self.host else ""
        parts = [self.owner, self.dag_id or "", where, f"since {self.taken_at:%Y-%m-%d %H:%M:%S %Z}"]
        return ", ".join(p for p in parts if p)


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), telling a reused pid apart; None if it is not running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return stat[stat.rindex(b")") + 2:].split()[19].decode()
    except (OSError, ValueError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass  # it exists, owned by someone else
    return "?"


def holder_gone(holder: Holder) -> bool:
    """True when the lease's process is known to have ended: same host, and the pid is gone or reused."""
    if holder.pid is None or holder.host != socket.gethostname():
        return False
    start = process_start(holder.pid)
    return start is None or (holder.pid_start not in (None, "?") and start not in ("?", holder.pid_start))


def airflow_run_gone(dag_id: str, run_id: str) -> bool:
    """From inside an Airflow task: has that DAG run finished (success or failed)? False when unknown."""
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        return str(RuntimeTaskInstance.get_dagrun_state(dag_id, run_id)).lower().endswith(("success", "failed"))
    except Exception:  # noqa: BLE001 - outside a task, or a run this Airflow does not know: not gone
        return False


def _ensure_table(conn: psycopg.Connection) -> None:
    """ops.run_lock is one of the ops migrations (ground.schema)."""
    ensure_ops(conn)


def holder(conn: psycopg.Connection, name: str = "pipeline") -> Holder | None:
    """Who holds the lease now (None: nobody)."""
    _ensure_table(conn)
    return _holder(conn, name)


def _holder(conn: psycopg.Connection, name: str) -> Holder | None:
    held = conn.execute("SELECT owner, taken_at, expires_at, holder_host, holder_pid, holder_pid_start, dag_id "
                        "FROM ops.run_lock WHERE lock_name = %s", (name,)).fetchone()
    return Holder(*held) if held else None


def _try(conn: psycopg.Connection, owner: str, lease: timedelta, name: str, pid: int | None = None,
         dag_id: str | None = None, run_gone: Callable[[str, str], bool] | None = None) -> Holder | None:
    """Take the lease if free, expired, ours or its holder is gone; else return who holds it."""
    _ensure_table(conn)
    me = (socket.gethostname(), pid, process_start(pid) if pid else None, dag_id)
    row = conn.execute(
        """INSERT INTO ops.run_lock (lock_name, owner, expires_at, holder_host, holder_pid, holder_pid_start, dag_id)
           VALUES (%s, %s, now() + %s, %s, %s, %s, %s)
           ON CONFLICT (lock_name) DO UPDATE SET owner = excluded.owner, taken_at = now(),
               expires_at = excluded.expires_at, holder_host = excluded.holder_host,
               holder_pid = excluded.holder_pid, holder_pid_start = excluded.holder_pid_start,
               dag_id = excluded.dag_id
           WHERE ops.run_lock.expires_at < now() OR ops.run_lock.owner = excluded.owner
           RETURNING owner""", (name, owner, lease, *me)).fetchone()
    if row is not None:
        _record_start(conn, owner, dag_id)
        return None
    held = _holder(conn, name)
    if held is None:
        return _try(conn, owner, lease, name, pid, dag_id, run_gone)  # released in between
    gone = holder_gone(held)
    why = f"its process (pid {held.pid} on {held.host}) no longer runs"
    if not gone and run_gone is not None and held.dag_id:
        gone = run_gone(held.dag_id, held.owner)
        why = f"its Airflow run {held.dag_id} / {held.owner} has ended"
    if not gone:
        return held
    taken = conn.execute(
        """UPDATE ops.run_lock SET owner = %s, taken_at = now(), expires_at = now() + %s, holder_host = %s,
               holder_pid = %s, holder_pid_start = %s, dag_id = %s
           WHERE lock_name = %s AND owner = %s AND taken_at = %s RETURNING owner""",
        (owner, lease, *me, name, held.owner, held.taken_at)).fetchone()
    if taken is None:  # someone else changed it first: look again
        return _try(conn, owner, lease, name, pid, dag_id, run_gone)
    mark_ended(conn, held.owner, "killed")
    _record_start(conn, owner, dag_id)
    log.warning("took over the warehouse lock from %s: %s", held.describe(), why)
    print(f"took over the warehouse lock from {held.describe()}: {why}", file=sys.stderr, flush=True)
    return None


def _record_start(conn: psycopg.Connection, owner: str, dag_id: str | None) -> None:
    """The run's row, status ``running``, from the moment it holds the lease; any other ``running`` row
    belongs to a run that ended without saying so (no two runs hold the lease): ``killed``."""
    conn.execute("UPDATE ops.pipeline_runs SET status = 'killed', finished_at = now() "
                 "WHERE status = 'running' AND run_id <> %s", (owner,))
    conn.execute("""INSERT INTO ops.pipeline_runs (run_id, status, dag_id) VALUES (%s, 'running', %s)
                    ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL,
                        dag_id = coalesce(excluded.dag_id, ops.pipeline_runs.dag_id)""", (owner, dag_id))


def mark_ended(conn: psycopg.Connection, owner: str, status: str) -> bool:
    """Record how a run that could not record it itself ended (``killed``, ``interrupted``); a final status
    it recorded (success, failed) stays. True when a row changed."""
    _ensure_table(conn)
    return conn.execute("""UPDATE ops.pipeline_runs SET status = %s, finished_at = now()
                           WHERE run_id = %s AND status IN ('running', 'killed', 'interrupted')
                           RETURNING 1""", (status, owner)).fetchone() is not None


def _holder_pid() -> int | None:
    value = os.environ.get("DGWH_LOCK_HOLDER_PID", "")
    return int(value) if value.isdigit() else None


def acquire(conn: psycopg.Connection, owner: str, wait_s: float | None = None,
            lease: timedelta = DEFAULT_LEASE, name: str = "pipeline", pid: int | None = None,
            dag_id: str | None = None, run_gone: Callable[[str, str], bool] | None = None,
            waiting_since: float | None = None) -> None:
    """Wait up to ``wait_s`` (env ``DGWH_LOCK_WAIT_S``, default 30 min) for the lease, then raise RunLocked.

    ``pid``: the process whose life bounds the lease (default ``DGWH_LOCK_HOLDER_PID``; None: not bound to
    one process, as under a scheduler). When it is this process, SIGINT and SIGTERM end it (``stop_on_signals``).
    ``waiting_since``: when the run started waiting (``time.time()``), for a wait made of several calls (the
    sensor's pokes); the messages say how long it has waited in all."""
    if wait_s is None:
        wait_s = float(os.environ.get("DGWH_LOCK_WAIT_S", 1800))
    pid = pid if pid is not None else _holder_pid()
    deadline = time.monotonic() + wait_s
    next_report = time.monotonic()
    since = time.time() if waiting_since is None else waiting_since
    while True:
        holder = _try(conn, owner, lease, name, pid, dag_id, run_gone)
        if holder is None:
            if pid == os.getpid():
                stop_on_signals(owner)
            return
        if time.monotonic() >= deadline:
            raise RunLocked(
                f"another pipeline run ({holder.describe()}) is using the warehouse; waited "
                f"{max(0.0, time.time() - since):.0f}s. It "
                f"releases the lock when it ends (or at {holder.expires_at:%Y-%m-%d %H:%M:%S %Z} if it died; "
                f"`make unlock` if it is stuck). Nothing was loaded by this run.")
        if time.monotonic() >= next_report:
            message = (f"waiting for the warehouse lock held by {holder.describe()} (waited "
                       f"{max(0.0, time.time() - since):.0f}s; lease until "
                       f"{holder.expires_at:%Y-%m-%d %H:%M:%S %Z}); giving up in {deadline - time.monotonic():.0f}s")
            log.warning("%s", message)
            print(message, file=sys.stderr, flush=True)
            next_report = time.monotonic() + WAIT_REPORT_S
        time.sleep(min(5.0, max(0.2, deadline - time.monotonic())))


def release(conn: psycopg.Connection, owner: str, name: str = "pipeline") -> bool:
    """Give the lease back; only its owner can."""
    _ensure_table(conn)
    return conn.execute("DELETE FROM ops.run_lock WHERE lock_name = %s AND owner = %s RETURNING 1",
                        (name, owner)).fetchone() is not None


def stop_descendants(pid: int, grace_s: float = 5.0) -> None:
    """SIGTERM every process below ``pid`` (readers, dbt's children), SIGKILL what is left after ``grace_s``."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=grace_s)


_STOPPING_RUN: str | None = None  # the run whose process this is, once it holds the lease (``stop_on_signals``)


def rearm_stop() -> None:
    """Airflow's task runner sets a SIGTERM handler of its own for each task (it only calls the operator's
    ``on_kill`` and goes on): each task of a run whose process holds the lease sets ``stop_on_signals`` again."""
    if _STOPPING_RUN is not None:
        stop_on_signals(_STOPPING_RUN)


def stop_on_signals(owner: str) -> None:
    """SIGINT/SIGTERM (Ctrl-C, ``kill``) to the process that runs the whole run end it: its child processes are
    stopped and it exits at once, so no task of the run goes on after it (Airflow would otherwise fail the
    task that was running and carry on with the next). The lease stays until the process is gone: then
    ``nightly.progress`` (which started it) releases it, or the next run takes it over."""
    global _STOPPING_RUN
    if threading.current_thread() is not threading.main_thread():
        return
    _STOPPING_RUN = owner

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_descendants(os.getpid())
        print(f"run {owner} stopped by {signal.Signals(signum).name}", file=sys.stderr, flush=True)
        os._exit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, handler)


def force_release(conn: psycopg.Connection, force: bool = False, name: str = "pipeline") -> str:
    """``make unlock``: release the lease whoever holds it; refused while its process still runs here."""
    _ensure_table(conn)
    held = _holder(conn, name)
    if held is None:
        return "the warehouse is not locked"
    if held.pid and held.host == socket.gethostname() and not holder_gone(held) and not force:
        raise RunLocked(f"the warehouse lock is held by {held.describe()}, which is still running: stop it, "
                        "or run `make unlock FORCE=1`")
    conn.execute("DELETE FROM ops.run_lock WHERE lock_name = %s AND owner = %s AND taken_at = %s",
                 (name, held.owner, held.taken_at))
    return f"released the warehouse lock held by {held.describe()}"


def main(argv: list[str] | None = None, force: bool | None = None) -> int:
    """``unlock`` (``force``: also while its holder runs here; default: FORCE in the environment) or ``status``."""
    from ground.warehouse import connect

    args = sys.argv[1:] if argv is None else argv
    if args[:1] not in (["unlock"], ["status"]):
        print("usage: python -m nightly.runlock unlock|status", file=sys.stderr)
        return 2
    from ground.embedded_pg import EmbeddedWarehouseError

    try:
        conn = connect(autocommit=True)
    except (psycopg.Error, EmbeddedWarehouseError) as exc:
        print(f"error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    with conn:
        if args[0] == "status":
            _ensure_table(conn)
            held = _holder(conn, "pipeline")
            print(f"locked by {held.describe()}" if held else "the warehouse is not locked")
            return 0
        try:
            if force is None:
                force = os.environ.get("FORCE", "") not in ("", "0")
            print(force_release(conn, force=force))
        except RunLocked as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``make withdraw FILE=<path in the landing zone | file id> REASON=<why>``: take a loaded file out of the marts.

The ledger keeps the file (and raw its rows) with the withdrawal in ``ops.file_withdrawals`` (reason,
when, who); dbt's ``stg_file_ledger`` leaves withdrawn files out, so their rows drop out of every model
that joins the ledger and the file an agency sent before it supersedes again. The incremental facts'
partitions built from the file are deleted in the same transaction, so the build that follows (under
the run lock) rebuilds them from what remains. The same bytes are never loaded again; an agency
resends a corrected file as usual.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from ground.schema import ensure_schema
from nightly.transform import DbtOutcome


class WithdrawError(RuntimeError):
    """The file cannot be withdrawn (not found, not loaded, already withdrawn)."""


@dataclass(frozen=True)
class Withdrawn:
    file_id: int
    path: str
    source: str
    fact_rows_deleted: int


def _find(conn: psycopg.Connection, selector: str) -> tuple[int, str, str, str]:
    selector = selector.strip()
    if selector.isdigit():
        rows = conn.execute("SELECT file_id, path, source, status FROM ops.file_ledger WHERE file_id = %s",
                            (int(selector),)).fetchall()
    else:
        rows = conn.execute("SELECT file_id, path, source, status FROM ops.file_ledger WHERE path = %s OR "
                            "right(%s, length(path) + 1) = '/' || path ORDER BY file_id",
                            (selector, selector)).fetchall()
    if not rows:
        raise WithdrawError(f"no file {selector!r} in the ledger: give its path under the landing zone "
                            "(as the summary shows it) or its file id")
    loaded = [r for r in rows if r[3] == "loaded"]
    if not loaded:
        raise WithdrawError(f"{selector!r} was rejected, not loaded: there is nothing to withdraw")
    if len(loaded) > 1:
        ids = ", ".join(str(r[0]) for r in loaded)
        raise WithdrawError(f"{selector!r} names {len(loaded)} loaded versions (file ids {ids}): give the file id")
    return loaded[0]


def withdraw(conn: psycopg.Connection, selector: str, reason: str, by: str | None = None) -> Withdrawn:
    """Record the withdrawal and delete the facts' rows built from the file, in one transaction."""
    if not reason.strip():
        raise WithdrawError("a reason is required: make withdraw FILE=... REASON='...'")
    ensure_schema(conn)
    with conn.transaction():
        file_id, path, source, _ = _find(conn, selector)
        done = conn.execute("INSERT INTO ops.file_withdrawals (file_id, reason, withdrawn_by) VALUES (%s, %s, %s) "
                            "ON CONFLICT (file_id) DO NOTHING RETURNING withdrawn_at",
                            (file_id, reason.strip(), by)).fetchone()
        if done is None:
            raise WithdrawError(f"{path} (file id {file_id}) is already withdrawn")
        deleted = 0
        for (table,) in conn.execute(
                "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
                "USING (table_schema, table_name) WHERE c.table_schema = 'marts' AND c.column_name = 'file_id' "
                "AND t.table_type = 'BASE TABLE' ORDER BY 1").fetchall():
            deleted += conn.execute(sql.SQL("DELETE FROM {} WHERE file_id = %s").format(
                sql.Identifier("marts", table)), (file_id,)).rowcount
    return Withdrawn(file_id, path, source, deleted)


def rebuild(log_path: Path) -> tuple[DbtOutcome | None, int | None]:
    """``dbt build`` in a child process of its own session, its whole log into ``log_path``: (outcome, None), or
    (None, signal) when SIGINT/SIGTERM stopped it, once nothing of it is left (``nightly.progress.stop_group``)."""
    from nightly.progress import Stopped, stop_group

    result = log_path.with_suffix(".json")

    def stop(signum, frame):
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "nightly.withdraw", "--build", str(result)], stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    cwd=Path(__file__).resolve().parent.parent)
            try:
                proc.wait()
            except Stopped as stopped:
                for sig in previous:
                    signal.signal(sig, signal.SIG_IGN)
                stop_group(proc)
                return None, stopped.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not result.exists():
        return DbtOutcome(False, 0, 0, 0, [f"dbt ended with status {proc.returncode}"]), None
    outcome = DbtOutcome(**json.loads(result.read_text()))
    result.unlink()
    return outcome, None


USAGE = ("usage: make withdraw FILE=<path under the landing zone, or file id> REASON='<why>' "
         "(or dgwh withdraw FILE --reason '<why>')")


def main() -> int:
    """FILE and REASON come from the environment (make passes its command-line variables there), never a shell;
    ``--build RESULT`` is the rebuild's child."""
    if sys.argv[1:2] == ["--build"]:  # the child of ``rebuild``
        from nightly.transform import run_dbt

        outcome = run_dbt(["build"])
        Path(sys.argv[2]).write_text(json.dumps(dataclasses.asdict(outcome)))
        return 0 if outcome.success else 1
    selector, reason = os.environ.get("FILE", ""), os.environ.get("REASON", "")
    if not selector:
        print(USAGE, file=sys.stderr)
        return 2
    return withdraw_and_rebuild(selector, reason)


def withdraw_and_rebuild(selector: str, reason: str) -> int:
    """Withdraw the file and rebuild the marts under the run lock. Prints a few lines; dbt's log goes to a file of
    its own (named). SIGINT/SIGTERM stop the rebuild whole: the run is recorded interrupted, the lock released once
    dbt is gone, one line says so."""
    from ground.settings import get_settings
    from ground.warehouse import connect
    from nightly.runlock import RunLocked, acquire, mark_ended, release

    owner = f"withdraw-{os.getpid()}"
    log_path = get_settings().state_dir / "runs" / f"withdraw-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with connect(autocommit=True) as conn:
        try:
            acquire(conn, owner, pid=os.getpid())
        except RunLocked as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        status = "failed"
        try:
            try:
                done = withdraw(conn, selector, reason, by=getpass.getuser())
            except WithdrawError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"withdrew {done.path} (file id {done.file_id}, {done.source}): {reason.strip()}", flush=True)
            outcome, signum = rebuild(log_path)
            if signum is not None:
                status = "interrupted"
                print(f"interrupted ({signal.Signals(signum).name}): the rebuild stopped, recorded as interrupted, "
                      f"warehouse lock released; the withdrawal stands and the next run rebuilds the marts; dbt's "
                      f"log: {log_path}", file=sys.stderr)
                return 128 + signum
            if not outcome.success:
                print(f"error: the marts did not rebuild ({'; '.join(outcome.failures[:3])}); the withdrawal "
                      f"stands and the next run with force_build rebuilds them; dbt's log: {log_path}", file=sys.stderr)
                return 1
            status = "success"
            print(f"marts rebuilt without it ({outcome.models} models, {outcome.tests_passed} tests passed); "
                  f"dbt's log: {log_path}")
        finally:
            mark_ended(conn, owner, status)
            release(conn, owner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""One pipeline run at a time per warehouse: a lease row in ``ops.run_lock``.

Airflow's ``max_active_runs`` only covers one DAG under a scheduler; ``make run`` (``airflow dags test``),
a backfill and the nightly can still overlap. The ledger's unique key already stops a file loading twice;
this lease also keeps two dbt builds from rebuilding the same tables at once. A lease expires, so a
crashed run never blocks the next night for good.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.run_lock (
    lock_name  text PRIMARY KEY,
    owner      text NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
"""
DEFAULT_LEASE = timedelta(hours=6)


class RunLocked(RuntimeError):
    """Another run holds the warehouse."""


@dataclass(frozen=True)
class Holder:
    owner: str
    taken_at: datetime
    expires_at: datetime


def _ensure_table(conn: psycopg.Connection) -> None:
    with conn.transaction():  # concurrent CREATE ... IF NOT EXISTS can still collide without the lock
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('dgwh.schema'))")
        conn.execute(DDL)


def _try(conn: psycopg.Connection, owner: str, lease: timedelta, name: str) -> Holder | None:
    """Take the lease if free, expired or already ours; else return who holds it."""
    _ensure_table(conn)
    row = conn.execute(
        """INSERT INTO ops.run_lock (lock_name, owner, expires_at) VALUES (%s, %s, now() + %s)
           ON CONFLICT (lock_name) DO UPDATE SET owner = excluded.owner, taken_at = now(),
               expires_at = excluded.expires_at
           WHERE ops.run_lock.expires_at < now() OR ops.run_lock.owner = excluded.owner
           RETURNING owner""", (name, owner, lease)).fetchone()
    if row is not None:
        return None
    held = conn.execute("SELECT owner, taken_at, expires_at FROM ops.run_lock WHERE lock_name = %s",
                        (name,)).fetchone()
    return Holder(*held) if held else None


def acquire(conn: psycopg.Connection, owner: str, wait_s: float | None = None,
            lease: timedelta = DEFAULT_LEASE, name: str = "pipeline") -> None:
    """Wait up to ``wait_s`` (env ``DGWH_LOCK_WAIT_S``, default 30 min) for the lease, then raise RunLocked."""
    if wait_s is None:
        wait_s = float(os.environ.get("DGWH_LOCK_WAIT_S", 1800))
    deadline = time.monotonic() + wait_s
    while True:
        holder = _try(conn, owner, lease, name)
        if holder is None:
            return
        if time.monotonic() >= deadline:
            raise RunLocked(
                f"another pipeline run ({holder.owner}, since {holder.taken_at:%Y-%m-%d %H:%M:%S %Z}) is using the "
                f"warehouse; waited {wait_s:.0f}s. It releases the lock when it ends (or at "
                f"{holder.expires_at:%Y-%m-%d %H:%M:%S %Z} if it died). Nothing was loaded by this run.")
        time.sleep(min(5.0, max(0.2, deadline - time.monotonic())))


def release(conn: psycopg.Connection, owner: str, name: str = "pipeline") -> bool:
    """Give the lease back; only its owner can."""
    _ensure_table(conn)
    return conn.execute("DELETE FROM ops.run_lock WHERE lock_name = %s AND owner = %s RETURNING 1",
                        (name, owner)).fetchone() is not None

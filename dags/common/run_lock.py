"""Task bodies that take and give back the warehouse's run lease (ingest/runlock.py).

A warehouse that cannot be reached is worth retrying (the task's retries, CONNECT_RETRY); another run
holding the lease is not: the task already waited DGWH_LOCK_WAIT_S for it, so it fails without retries.
"""

from __future__ import annotations

import os
from datetime import timedelta

# take_run_lock's retries when the warehouse is down at start: 1, 2, 4, 8 x the delay (default 1 minute).
CONNECT_RETRY = {
    "retries": 4,
    "retry_delay": timedelta(seconds=float(os.environ.get("DGWH_CONNECT_RETRY_DELAY_S", 60))),
    "retry_exponential_backoff": True,
}


def take(run_id: str) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from ingest.runlock import RunLocked, acquire
    from ingest.warehouse import connect

    with connect(autocommit=True) as conn:  # WarehouseUnavailable propagates: Airflow retries it
        try:
            acquire(conn, run_id)
        except RunLocked as exc:
            raise AirflowFailException(str(exc)) from None


def give_back(run_id: str) -> None:
    from ingest.runlock import release
    from ingest.warehouse import connect

    with connect(autocommit=True) as conn:
        release(conn, run_id)

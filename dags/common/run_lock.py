"""Task bodies that take and give back the warehouse's run lease (ingest/runlock.py).

A warehouse that cannot be reached is worth retrying (the task's retries, CONNECT_RETRY); another run
holding the lease is not: the task already waited DGWH_LOCK_WAIT_S for it, so it fails without retries.
"""

from __future__ import annotations

import os
from datetime import timedelta

# The task that takes the lease: retried when the warehouse is down at start (about 1, 2, 4, 8 x the delay,
# default 1 minute, plus Airflow's jitter), and given time to wait DGWH_LOCK_WAIT_S for the lease, so a
# long wait ends in RunLocked (no retry) rather than in a timeout (which would be retried). Both are read
# when the DAG is parsed: set them where the dag-processor runs.
LOCK_WAIT_S = float(os.environ.get("DGWH_LOCK_WAIT_S", 1800))
CONNECT_RETRY = {
    "retries": 4,
    "retry_delay": timedelta(seconds=float(os.environ.get("DGWH_CONNECT_RETRY_DELAY_S", 60))),
    "retry_exponential_backoff": 2.0,
    "execution_timeout": timedelta(seconds=LOCK_WAIT_S + 600),
}


def take(run_id: str) -> None:
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from ingest.runlock import RunLocked, acquire, airflow_run_gone
    from ingest.warehouse import connect

    dag_id = get_current_context()["dag"].dag_id  # a lease whose Airflow run has ended is taken over
    with connect(autocommit=True) as conn:  # WarehouseUnavailable propagates: Airflow retries it
        try:
            acquire(conn, run_id, dag_id=dag_id, run_gone=airflow_run_gone)
        except RunLocked as exc:
            raise AirflowFailException(str(exc)) from None


def give_back(run_id: str) -> None:
    from ingest.runlock import release
    from ingest.warehouse import connect

    with connect(autocommit=True) as conn:
        release(conn, run_id)

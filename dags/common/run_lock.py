"""Task bodies that take and give back the warehouse's run lease (nightly/runlock.py).

Taking the lease is a sensor in ``reschedule`` mode: while another run, nightly or backfill, holds the
warehouse, each poke tries once and hands its worker slot back until the next poke (``DGWH_LOCK_POKE_S``,
default 30 s), for up to ``DGWH_LOCK_WAIT_S`` (default 30 minutes) in all; then it fails without retries,
saying who holds the lease. A warehouse that cannot be reached is worth retrying (the task's retries,
about 1, 2, 4, 8 x ``DGWH_CONNECT_RETRY_DELAY_S`` plus Airflow's jitter). These are read when the DAG is
parsed: set them where the dag-processor runs.
"""

from __future__ import annotations

import os
from datetime import timedelta

LOCK_WAIT_S = float(os.environ.get("DGWH_LOCK_WAIT_S", 1800))
LOCK_POKE_S = float(os.environ.get("DGWH_LOCK_POKE_S", 30))
LOCK_SENSOR = {
    "mode": "reschedule",
    "poke_interval": LOCK_POKE_S,
    "timeout": LOCK_WAIT_S,
    "retries": 4,
    "retry_delay": timedelta(seconds=float(os.environ.get("DGWH_CONNECT_RETRY_DELAY_S", 60))),
    "retry_exponential_backoff": 2.0,
    "execution_timeout": timedelta(minutes=10),  # one poke; the wait is bounded by ``timeout``
}


def poke(run_id: str):
    """One attempt at the lease: done (with the run id as the task's XCom) or not yet, saying why."""
    import logging

    from airflow.sdk import PokeReturnValue, get_current_context

    from ground.warehouse import connect
    from nightly.runlock import RunLocked, acquire, airflow_run_gone

    dag_id = get_current_context()["dag"].dag_id  # a lease whose Airflow run has ended is taken over
    with connect(autocommit=True) as conn:  # WarehouseUnavailable propagates: Airflow retries it
        try:
            acquire(conn, run_id, wait_s=0, dag_id=dag_id, run_gone=airflow_run_gone)
        except RunLocked as exc:
            logging.getLogger(__name__).warning("waiting, worker slot given back until the next poke "
                                                "(DGWH_LOCK_POKE_S=%.0f, up to DGWH_LOCK_WAIT_S=%.0f in all): %s",
                                                LOCK_POKE_S, LOCK_WAIT_S, exc)
            return PokeReturnValue(is_done=False)
    return PokeReturnValue(is_done=True, xcom_value=run_id)


def give_back(run_id: str) -> None:
    from ground.warehouse import connect
    from nightly.runlock import release

    with connect(autocommit=True) as conn:
        release(conn, run_id)

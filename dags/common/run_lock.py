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


_LOGGED: dict[str, float] = {}  # run id -> when its wait was last logged (`dags test` pokes every second)
WAIT_LOG_S = 60.0
ACTIVE = {"running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting", "deferred"}


def poke(run_id: str):
    """One attempt at the lease: done (with the run id as the task's XCom) or not yet, saying why (at most once a
    minute per run, with how long it has waited in all)."""
    import logging
    import time

    from airflow.sdk import PokeReturnValue, get_current_context

    from ground.warehouse import connect
    from nightly.runlock import RunLocked, acquire, airflow_run_gone

    context = get_current_context()
    dag_id = context["dag"].dag_id  # a lease whose Airflow run has ended is taken over
    first = context["ti"].get_first_reschedule_date(context) or context["ti"].start_date
    since = first.timestamp() if first is not None else None
    with connect(autocommit=True) as conn:  # WarehouseUnavailable propagates: Airflow retries it
        try:
            acquire(conn, run_id, wait_s=0, dag_id=dag_id, run_gone=airflow_run_gone, waiting_since=since)
        except RunLocked as exc:
            if since is not None and time.time() - since >= LOCK_WAIT_S:  # before the sensor's own timeout
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(exc)) from exc
            if time.monotonic() - _LOGGED.get(run_id, -WAIT_LOG_S) >= WAIT_LOG_S:
                _LOGGED[run_id] = time.monotonic()
                logging.getLogger(__name__).warning(
                    "waiting, worker slot given back until the next poke (DGWH_LOCK_POKE_S=%.0f, up to "
                    "DGWH_LOCK_WAIT_S=%.0f in all): %s", LOCK_POKE_S, LOCK_WAIT_S, exc)
            return PokeReturnValue(is_done=False)
    _LOGGED.pop(run_id, None)
    return PokeReturnValue(is_done=True, xcom_value=run_id)


def still_ours(run_id: str) -> None:
    """Before a task writes: fail it at once (no retry) when another run holds the lease, e.g. after this run
    was marked failed from the UI and its lease given back while this task still ran."""
    from airflow.sdk.exceptions import AirflowFailException

    from ground.warehouse import connect
    from nightly.runlock import holder

    with connect(autocommit=True) as conn:
        held = holder(conn)
    if held is not None and held.owner != run_id:
        raise AirflowFailException(f"run {run_id} no longer holds the warehouse lock ({held.describe()} does): "
                                   "this task writes nothing")


def task_states(dag_id: str, run_id: str) -> dict[str, str]:
    """Every task instance of the run and its state (a mapped one as ``<task>_<map index>``)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
    return {k: str(v or "none").lower().rsplit(".", 1)[-1] for k, v in (states.get(run_id) or {}).items()}


def give_back(run_id: str, states: dict[str, str] | None = None, me: str | None = None) -> bool:
    """Release the lease; given the run's task ``states``, only when no task but ``me`` can still write (a
    task marked failed from the UI leaves its siblings running). Otherwise the lease stays until the run has
    ended, when the next run takes it over (``nightly.runlock.airflow_run_gone``). True when released."""
    import logging

    from ground.warehouse import connect
    from nightly.runlock import release

    busy = sorted(k for k, v in (states or {}).items() if v in ACTIVE and k != me)
    if busy:
        logging.getLogger(__name__).warning("the warehouse lock stays with run %s until it ends: %s still run",
                                            run_id, ", ".join(busy[:10]))
        return False
    with connect(autocommit=True) as conn:
        release(conn, run_id)
    return True

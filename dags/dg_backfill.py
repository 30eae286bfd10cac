"""Backfill: rebuild fiscal years FROM..TO (BE) from everything ever received.

Every file ever received is in raw and the ledger. The incremental facts delete and re-insert exactly
the partitions of those years (dbt vars ``fy_from``/``fy_to``); the marts above them are rebuilt from
the facts. Running the same range twice leaves the same marts. The range is a parameter, never derived
from the clock; the run takes the same warehouse lease as the nightly."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from common import lineage, run_lock
from common.assets import MARTS
from common.dbt_group import cross_model_tests, dbt_task_group, run_cross_model_tests
from common.failfast import fail_fast

from nightly import alerts
from nightly.backfill_range import FY_MAX, FY_MIN
from nightly.pools import WAREHOUSE_POOL

FY_VARS = {"fy_from": "{{ params.fy_from }}", "fy_to": "{{ params.fy_to }}"}


def _on_failure(context) -> None:
    run_lock.give_back(context["dag_run"].run_id)


@dag(
    dag_id="dg_backfill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok"),
    catchup=False,
    max_active_runs=1,
    params={"fy_from": Param(2559, type="integer", minimum=FY_MIN, maximum=FY_MAX),
            "fy_to": Param(2568, type="integer", minimum=FY_MIN, maximum=FY_MAX)},
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1), "execution_timeout": timedelta(hours=2),
                  "on_execute_callback": lineage.forget},
    on_failure_callback=[alerts.FailureAlert(), _on_failure],
    tags=["dg-warehouse"],
    doc_md=__doc__,
)
def dg_backfill():
    @task(retries=0)
    @fail_fast
    def check_range(params=None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        fy_from, fy_to = int(params["fy_from"]), int(params["fy_to"])
        if fy_from > fy_to:
            raise AirflowFailException(f"FROM ({fy_from}) is after TO ({fy_to})")

    @task.sensor(**run_lock.LOCK_SENSOR)
    @fail_fast
    def take_run_lock(dag_run=None):
        return run_lock.poke(dag_run.run_id)

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def dbt_cross_model_tests(names: list[str], params=None, dag_run=None) -> dict:
        return run_cross_model_tests(dag_run.run_id, names,
                                     {"fy_from": int(params["fy_from"]), "fy_to": int(params["fy_to"])})

    @task(outlets=MARTS, trigger_rule="all_done", retries=0)
    @fail_fast
    def finish(params=None, dag_run=None, ti=None) -> str:
        """Any failed task fails the backfill (this leaf decides the run's state), naming the task."""
        from nightly.service import backfill_line

        states = run_lock.task_states(dag_run.dag_id, dag_run.run_id)
        try:
            line, outcome = backfill_line(dag_run.run_id, int(params["fy_from"]), int(params["fy_to"]))
        finally:
            run_lock.give_back(dag_run.run_id, states, me=ti.task_id)
        failed = sorted(k for k, v in states.items() if v == "failed")
        if failed:
            line = line.replace(": ok,", ": FAILED,", 1) + "; failed task(s): " + ", ".join(failed)
        print(line)
        if failed or not outcome.success:
            raise RuntimeError(line + ": " + "; ".join(outcome.failures[:10]))
        return line

    dbt = dbt_task_group("dbt", dbt_vars=FY_VARS, pool=WAREHOUSE_POOL)
    check_range() >> take_run_lock() >> dbt >> dbt_cross_model_tests(cross_model_tests()) >> finish()


dg_backfill()

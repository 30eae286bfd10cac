"""Backfill: rebuild the marts for fiscal years FROM..TO (BE) from everything ever received.

Every file ever received is in raw and the ledger; the marts are rebuilt from them with
``dbt build --full-refresh``, so a backfill is idempotent. The range is a parameter, never
derived from the clock."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="dg_backfill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok"),
    catchup=False,
    max_active_runs=1,
    params={"fy_from": Param(2559, type="integer", minimum=2550, maximum=2600),
            "fy_to": Param(2568, type="integer", minimum=2550, maximum=2600)},
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1), "execution_timeout": timedelta(hours=2)},
    tags=["dg-warehouse"],
    doc_md=__doc__,
)
def dg_backfill():
    @task
    def rebuild(params=None) -> dict:
        from ingest.transform import run_dbt

        fy_from, fy_to = int(params["fy_from"]), int(params["fy_to"])
        if fy_from > fy_to:
            raise ValueError(f"FROM ({fy_from}) is after TO ({fy_to})")
        outcome = run_dbt(["build", "--full-refresh"])
        if not outcome.success:
            raise RuntimeError("dbt build failed: " + "; ".join(outcome.failures[:5]))
        print(f"backfill FY {fy_from}-{fy_to}: {outcome.models} models and seeds rebuilt, "
              f"{outcome.tests_passed} tests passed")
        return outcome.__dict__

    rebuild()


dg_backfill()

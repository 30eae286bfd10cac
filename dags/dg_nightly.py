"""Nightly load: discover new landing-zone files, validate and load each (one mapped task per file),
build the marts with dbt, and print a summary. Logic lives in ingest/ and expectations/."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

MARTS = [Asset(f"postgres://warehouse/marts/{name}") for name in (
    "project_status_by_year", "obstacles_by_year", "budget_by_year", "budget_by_agency_year",
    "readiness_by_year", "readiness_summary_by_year", "submission_coverage", "dim_agency", "dim_fiscal_year")]


def _record_failure(context) -> None:
    from ingest.summary import build_summary, record_run
    from ingest.warehouse import connect

    run_id = context["dag_run"].run_id
    with connect(autocommit=True) as conn:
        record_run(conn, build_summary(conn, run_id), "failed")


@dag(
    dag_id="dg_nightly",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Asia/Bangkok"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True,
                  "execution_timeout": timedelta(minutes=30)},
    on_failure_callback=_record_failure,
    tags=["dg-warehouse"],
    doc_md=__doc__,
)
def dg_nightly():
    @task
    def discover_new_files() -> list[dict]:
        from ingest.pipeline import new_files

        return [f.as_dict() for f in new_files()]

    @task(max_active_tis_per_dagrun=4)
    def load_file(file: dict, dag_run=None) -> dict:
        from ingest.discover import LandingFile
        from ingest.pipeline import process_file

        return process_file(LandingFile.from_dict(file), run_id=dag_run.run_id).as_dict()

    @task(trigger_rule="all_done", outlets=MARTS)
    def dbt_build() -> dict:
        from ingest.transform import run_dbt

        outcome = run_dbt(["build"])
        if not outcome.success:
            raise RuntimeError("dbt build failed: " + "; ".join(outcome.failures[:5]))
        return outcome.__dict__

    @task(trigger_rule="all_done")
    def summarise(dbt: dict | None = None, dag_run=None) -> str:
        from ingest.summary import build_summary, format_summary, record_run
        from ingest.warehouse import connect

        with connect(autocommit=True) as conn:
            summary = build_summary(conn, dag_run.run_id, dbt)
            record_run(conn, summary, "success" if dbt and dbt.get("success") else "failed")
        text = format_summary(summary)
        print(text)
        return text

    loaded = load_file.expand(file=discover_new_files())
    built = dbt_build()
    loaded >> built
    summarise(built)


dg_nightly()

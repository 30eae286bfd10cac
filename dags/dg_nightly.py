"""Nightly load: discover new landing-zone files, validate and load each (one mapped task per file),
build the marts with dbt (one task per model, from the dbt manifest), publish the mart Assets, write the
HTML report and record a summary. Each task is one step of nightly/service.py; this is wiring.

A night with nothing to do skips dbt: when no file arrived since the last successful build, the dbt
project is unchanged since then and every model's relation is there (``nightly.transform.build_needed``),
the dbt tasks, the checks after them, the Asset events and dbt docs are skipped and the run is recorded
as a success saying why.
Trigger with the param ``force_build`` (conf ``{"force_build": true}``) to build anyway."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from common import lineage, run_lock
from common.assets import MARTS
from common.dbt_group import cross_model_tests, dbt_task_group, run_cross_model_tests
from common.failfast import fail_fast

from nightly import alerts
from nightly.pools import WAREHOUSE_POOL


def _on_failure(context) -> None:
    """Record what the run did and hand the warehouse back, whatever failed."""
    from ground.warehouse import connect, stopped_reason
    from nightly.summary import build_summary, mark_reported, record_run, unreported_nights
    from nightly.transform import dbt_results_for_run

    run_id = context["dag_run"].run_id
    try:
        with connect(autocommit=True) as conn:
            done = conn.execute("SELECT 1 FROM ops.pipeline_runs WHERE run_id = %s AND summary IS NOT NULL "
                                "AND status = 'failed'", (run_id,)).fetchone()
            if done:  # summarise recorded it, naming the failed tasks: keep that
                run_lock.give_back(run_id)
                return
            summary = build_summary(conn, run_id, dbt_results_for_run(conn, run_id).__dict__)
            summary["unreported"] = unreported_nights(conn, run_id)
            record_run(conn, summary, "failed")
            mark_reported(conn, summary)
        run_lock.give_back(run_id)
    except Exception as exc:
        if stopped_reason(exc) is None:
            raise
        # make stop: nothing to record in a stopped warehouse; the lock is taken over by the next run


@dag(
    dag_id="dg_nightly",
    schedule=CronTriggerTimetable(alerts.NIGHTLY_CRON, timezone=alerts.NIGHTLY_TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=float(os.environ.get("DGWH_RETRY_DELAY_S", 120))),
                  "retry_exponential_backoff": 2.0,
                  "execution_timeout": timedelta(minutes=30), "on_execute_callback": lineage.forget},
    on_failure_callback=[alerts.FailureAlert(), _on_failure],
    # Late: not finished by 06:00 Asia/Bangkok (four hours after the 02:00 start); the triggerer sends it.
    # `airflow dags test` (make run, make backfill, the tests) has no scheduler to watch a deadline, and Airflow
    # 3.3.2's dag.test() fails a finished run looking its alert up (DeadlineAlertModel.get_by_id on an alert
    # it never stored): scripts/airflow.sh sets DGWH_DEADLINE_ALERT=0 for `dags test`.
    deadline=None if os.environ.get("DGWH_DEADLINE_ALERT") == "0" else DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=alerts.NIGHTLY_DEADLINE_AFTER_START,
        callback=AsyncCallback(alerts.deadline_missed, kwargs={"finish_by": alerts.NIGHTLY_FINISH_BY})),
    params={"force_build": Param(False, type="boolean", title="Force the dbt build",
                                 description="Build and test every model even when no file arrived and "
                                             "the dbt project is unchanged since the last build.")},
    tags=["dg-warehouse"],
    doc_md=__doc__,
)
def dg_nightly():
    @task.sensor(**run_lock.LOCK_SENSOR)
    @fail_fast
    def take_run_lock(dag_run=None):
        """Waits (DGWH_LOCK_WAIT_S) while another run, nightly or backfill, uses the warehouse, without
        holding a worker slot between pokes; retried while the warehouse cannot be reached."""
        return run_lock.poke(dag_run.run_id)

    @task
    @fail_fast
    def discover_new_files(dag_run=None) -> list[list[dict]]:
        """The new files in load batches (one source each; DGWH_LOAD_BATCH_FILES, DGWH_LOAD_BATCH_MB)."""
        from nightly.service import discover

        return [[f.as_dict() for f in batch] for batch in discover(run_id=dag_run.run_id)]

    @task(pool=WAREHOUSE_POOL, map_index_template="{{ batch_label }}")
    @fail_fast
    def load_files(batch: list[dict], dag_run=None) -> list[dict]:
        """Parse each file, validate the batch in one GX run, load or quarantine each file in its own
        transaction; a retry loads only what is not in the ledger yet."""
        from airflow.sdk import get_current_context

        from ingest.discover import LandingFile
        from nightly.pipeline import batch_label, process_files

        context = get_current_context()
        context["batch_label"] = batch_label(batch)  # the UI's name for the batch
        run_lock.still_ours(dag_run.run_id)
        files = [LandingFile.from_dict(f) for f in batch]
        outcomes = [o.as_dict() for o in process_files(files, run_id=dag_run.run_id)]
        lineage.report_loads(context["ti"], batch, outcomes)
        return outcomes

    @task(trigger_rule="all_done")
    @fail_fast
    def loads_done(lock_owner: str | None = None, dag_run=None) -> str:
        """One file's failure must not stop the marts being built from everything else, but a run
        without the lock builds nothing. Builds the night's GX Data Docs."""
        from airflow.sdk.exceptions import AirflowSkipException

        from nightly.service import validation_docs

        if lock_owner != dag_run.run_id:
            raise AirflowSkipException("this run does not hold the warehouse lock: nothing to build")
        return validation_docs(dag_run.run_id)

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    @fail_fast
    def build_needed(params=None, dag_run=None, ti=None) -> bool:
        """Skips the dbt group (and, through their trigger rules, the checks, Assets and docs after it)
        when nothing changed since the last successful build; ``summarise`` still runs and says why. When
        only new files changed, the dbt tasks of nodes they do not reach skip themselves (``nodes``)."""
        from nightly.service import decide

        decision = decide(dag_run.run_id, force=bool((params or {}).get("force_build")), node_key="fqn")
        ti.xcom_push(key="decision", value=decision)
        return decision["build"]

    @task(pool=WAREHOUSE_POOL, retries=0)
    @fail_fast
    def source_freshness() -> dict:
        """Warn-only: how long since each source last received rows; reported in the summary, never fails."""
        from nightly.transform import source_freshness as check

        return check()

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def reconcile_marts(dag_run=None) -> str:
        """Marts agree with raw: budget totals, project counts, survey responses, ledger counts."""
        from nightly.service import reconcile_marts as reconcile

        return reconcile(dag_run.run_id)

    @task(pool=WAREHOUSE_POOL, trigger_rule="none_failed_min_one_success")
    @fail_fast
    def dbt_cross_model_tests(names: list[str], dag_run=None) -> dict:
        """After every dbt task that ran succeeded (those a night's files do not reach skip themselves)."""
        return run_cross_model_tests(dag_run.run_id, names)

    @task(outlets=MARTS)
    @fail_fast
    def publish_marts(dag_run=None, ti=None) -> dict:
        """Every dbt task and check succeeded: record the build (so a night with nothing new can skip
        dbt) and tell data-aware DAGs and BI refreshes the marts changed."""
        from nightly.service import publish

        return publish(dag_run.run_id, ti.xcom_pull(task_ids="build_needed", key="decision") or {})

    @task
    @fail_fast
    def dbt_docs() -> str:
        """dbt's documentation site (catalog of every mart and column) as one self-contained page, linked
        from the report."""
        import logging

        from nightly.transform import DOCS_GENERATE, run_dbt

        outcome = run_dbt(list(DOCS_GENERATE))
        if not outcome.success:
            logging.getLogger(__name__).warning("dbt docs generate failed; the marts stand")
        return "ok" if outcome.success else "failed"

    @task(trigger_rule="all_done", retries=0)
    def summarise(dbt: dict | None = None, freshness: dict | None = None, dag_run=None, ti=None) -> str:
        """Any failed task fails the night (a DAG run's state comes from its leaves: this one), naming the task
        and, for a load batch, the files it held."""
        from nightly.service import summarise as summary
        from reporting.nightly import report_for

        states = run_lock.task_states(dag_run.dag_id, dag_run.run_id)
        failed = None
        try:
            text, ok, failed = summary(dag_run.run_id, ti.xcom_pull(task_ids="build_needed", key="decision") or {},
                                       dbt, freshness, report=report_for, task_states=states,
                                       batches=ti.xcom_pull(task_ids="discover_new_files") or [])
        finally:
            run_lock.give_back(dag_run.run_id, states, me=ti.task_id)
        print(text)
        if not ok:
            what = "; ".join(f"{t['task']} failed" + (f" holding {', '.join(t['files'][:5])}"
                                                      + (f" (+{len(t['files']) - 5} more)" if len(t['files']) > 5
                                                         else "") if t["files"] else "") for t in failed)
            raise RuntimeError("the run did not complete" + (f": {what}" if what else
                               " (lock, loads, dbt or the checks after it): see the failed tasks and the summary"))
        return text

    lock = take_run_lock()
    files = discover_new_files()
    lock >> files
    loaded = load_files.expand(batch=files)
    gate = loads_done(lock)
    dbt = dbt_task_group("dbt", pool=WAREHOUSE_POOL)
    tested = dbt_cross_model_tests(cross_model_tests())
    published = publish_marts()
    loaded >> gate >> build_needed() >> dbt >> tested >> reconcile_marts() >> published
    fresh = source_freshness()
    gate >> fresh
    published >> dbt_docs() >> summarise(published, fresh)


dg_nightly()

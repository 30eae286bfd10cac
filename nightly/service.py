"""A night and a backfill, step by step: the one place their sequence is written.

Each step is a plain function. The DAGs (``dags/dg_nightly.py``, ``dags/dg_backfill.py``) run each step as
a task, with retries, pools and one dbt build with a task per node's result; ``run_night`` and ``run_backfill`` run the
same steps in this process, in the same order, for the benchmarks, the tests and anyone without Airflow.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ground.settings import Settings, get_settings
from ground.warehouse import connect
from ingest.discover import DiscoveryStats, LandingFile
from nightly import listing
from nightly.pipeline import FileOutcome, batches, new_files, process_files
from nightly.transform import (
    FILE_NIGHT_EXCLUDE,
    DbtOutcome,
    dbt_results_for_run,
    decide_build,
    ledger_mark,
    project_fingerprint,
    record_build,
    record_night_scope,
    run_dbt,
    selected_nodes,
)

log = logging.getLogger(__name__)


def discover(settings: Settings | None = None, run_id: str | None = None) -> list[list[LandingFile]]:
    """The night's new landing files in load batches (one source each; DGWH_LOAD_BATCH_FILES/MB). With a
    ``run_id``, what it listed is kept for the run's summary (``nightly.listing``)."""
    settings = settings or get_settings()
    stats = DiscoveryStats()
    found = new_files(settings, stats)
    if run_id is not None:
        listing.record(settings.shared_state_dir, run_id, settings.landing_zone, stats)
    return batches(found)


def load(run_id: str, gate=None, settings: Settings | None = None) -> list[FileOutcome]:
    """Discover and load every new file, batch by batch (in Airflow: one mapped task per batch). Without a
    ``gate``, the process's own (``expectations.gate.get_gate``)."""
    return [o for batch in discover(settings, run_id) for o in process_files(batch, gate, run_id, settings)]


def validation_docs(run_id: str) -> str:
    """The night's GX Data Docs; a view of results already stored, so a failure here never stops the night."""
    from expectations.docs import build_data_docs

    try:
        return str(build_data_docs(run_id=run_id))
    except Exception:
        log.exception("building GX Data Docs failed; the loads stand")
        return ""


def decide(run_id: str, force: bool = False, node_key: str | None = "unique_id") -> dict:
    """Whether (and what) to build, as a record the later steps read: ``build``, ``reason``, ``select`` (dbt
    selectors, None for everything), ``nodes`` (the selected nodes by ``node_key``; none without one),
    ``fingerprint`` and ``files_through`` (the newest ledger row the build includes; later files wait)."""
    fingerprint = project_fingerprint()
    with connect(autocommit=True) as conn:
        files_through = ledger_mark(conn)
        decision = decide_build(conn, run_id, fingerprint, force=force)
        record_night_scope(conn, run_id, decision.years if decision.needed else None, decision.files)
    log.info("%s", decision.reason)
    return {"build": decision.needed, "reason": decision.reason, "select": decision.select,
            "exclude": list(FILE_NIGHT_EXCLUDE) if decision.select is not None else [],
            "fingerprint": fingerprint, "files_through": files_through,
            "nodes": selected_nodes(decision.select, node_key) if decision.select is not None and node_key else None}


def build_args(decision: dict) -> list[str]:
    """``dbt build``'s arguments for a decision: its selection, less what a file-only night leaves out and the
    reconcile tests (they run once, after the build, in ``reconcile_marts``)."""
    args = ["build"] + (["--select", *decision["select"]] if decision.get("select") else [])
    return [*args, "--exclude", "tag:reconcile", *(decision.get("exclude") or [])]


def build(decision: dict, run_id: str, dbt_vars: dict | None = None, indirect_selection: str | None = None
          ) -> DbtOutcome:
    """``dbt build`` of what the decision selects, its results recorded under ``run_id`` (in Airflow: Cosmos's
    tasks, then the cross-model tests). The reconcile tests (tag ``reconcile``) are not part of it: they run
    once, after the build, in ``reconcile_marts``."""
    args = build_args(decision)
    if indirect_selection:  # "cautious": only the tests whose every parent is selected (Airflow's dbt.seeds)
        args += ["--indirect-selection", indirect_selection]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    before = os.environ.get("DGWH_RUN_ID")
    os.environ["DGWH_RUN_ID"] = run_id  # macros/record_dbt_results.sql files the results under it
    try:
        return run_dbt(args)
    finally:
        if before is None:
            os.environ.pop("DGWH_RUN_ID", None)
        else:
            os.environ["DGWH_RUN_ID"] = before


def reconcile_marts(run_id: str) -> str:
    """Marts agree with staging, the ledger with raw (``nightly.reconcile``: ``dbt test --select tag:reconcile``);
    raises with the disagreements."""
    from nightly.reconcile import reconcile

    with connect(autocommit=True) as conn:
        result = reconcile(conn, run_id)
    if not result.success:
        raise RuntimeError(result.summary())
    return result.summary()


def publish(run_id: str, decision: dict) -> dict:
    """Record a successful build (so a night with nothing new can skip dbt); what dbt did this run."""
    with connect(autocommit=True) as conn:
        outcome = dbt_results_for_run(conn, run_id)
        if outcome.success and decision.get("fingerprint"):
            record_build(conn, run_id, decision["fingerprint"], decision["files_through"])
    return {**outcome.__dict__, "reason": decision.get("reason")}


def summarise(run_id: str, decision: dict | None, published: dict | None, freshness: dict | None = None,
              report: Callable[[psycopg.Connection, str], Path] | None = None,
              task_states: dict[str, str] | None = None, batches: list[list[dict]] | None = None
              ) -> tuple[str, bool, list[dict]]:
    """Record the run in ops.pipeline_runs and return the printed summary and whether the night succeeded.
    ``report`` writes the night's HTML report (``reporting.nightly.report_for``; the reporting layer sits above
    this one, so the caller hands it in). ``task_states``: the run's tasks and their states (in Airflow), with
    ``batches``, the load batches the mapped ``load_files`` tasks held: any failed task makes the night a failed
    one, named with its files (the third value). The summary also lists earlier runs that ended without one."""
    from nightly.summary import (
        build_summary,
        failed_tasks,
        format_summary,
        mark_reported,
        night_outcome,
        record_run,
        unreported_nights,
    )

    with connect(autocommit=True) as conn:
        ok, dbt = night_outcome(decision, published)
        dbt = dbt or {**dbt_results_for_run(conn, run_id).__dict__, "reason": (decision or {}).get("reason")}
        summary = build_summary(conn, run_id, dbt)
        loaded = {p for (p,) in conn.execute("SELECT path FROM ops.file_ledger WHERE run_id = %s", (run_id,))}
        failed = failed_tasks(task_states or {}, batches or [], loaded)
        summary["failed_tasks"] = failed
        summary["unreported"] = unreported_nights(conn, run_id)
        ok = ok and not failed
        if report is not None:
            summary["report"] = str(report(conn, run_id))
        summary["freshness"] = freshness
        record_run(conn, summary, "success" if ok else "failed")
        mark_reported(conn, summary)
    return format_summary(summary), ok, failed


@dataclass
class Night:
    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    decision: dict | None = None
    dbt: DbtOutcome | None = None
    reconciled: str | None = None
    summary: str = ""
    success: bool = False


def run_night(run_id: str, force: bool = False, gate=None, docs: bool = True,
              report: Callable[[psycopg.Connection, str], Path] | None = None) -> Night:
    """A whole night in this process: load, (Data Docs,) decide, build, reconcile, publish, summarise (with the
    HTML report when given ``report``). A failed build is recorded as a failed run, as the DAG records it."""
    night = Night(run_id, files=load(run_id, gate))
    if docs:
        validation_docs(run_id)
    night.decision = decide(run_id, force, node_key=None)
    published = None
    if night.decision["build"]:
        night.dbt = build(night.decision, run_id)
        if night.dbt.success:
            night.reconciled = reconcile_marts(run_id)
            published = publish(run_id, night.decision)
    night.summary, night.success, _ = summarise(run_id, night.decision, published, report=report)
    return night


def backfill_line(run_id: str, fy_from: int, fy_to: int) -> tuple[str, DbtOutcome]:
    """The backfill's closing line (``make backfill`` prints it) from dbt's recorded results."""
    with connect(autocommit=True) as conn:
        outcome = dbt_results_for_run(conn, run_id)
    return (f"backfill FY {fy_from}-{fy_to}: {'ok' if outcome.success else 'FAILED'}, "
            f"{outcome.models} models and seeds rebuilt, {outcome.tests_passed} tests passed, "
            f"{outcome.tests_failed} failed"), outcome


def run_backfill(run_id: str, fy_from: int, fy_to: int) -> str:
    """Rebuild fiscal years FROM..TO (BE) from everything ever received: the incremental facts replace
    exactly those partitions (dbt vars ``fy_from``/``fy_to``), the marts above them rebuild."""
    from nightly.backfill_range import check

    check(str(fy_from), str(fy_to))
    build({"select": None}, run_id, {"fy_from": fy_from, "fy_to": fy_to})
    line, outcome = backfill_line(run_id, fy_from, fy_to)
    if not outcome.success:
        raise RuntimeError(line + ": " + "; ".join(outcome.failures[:10]))
    return line

"""The checks after ``dbt build`` (step ``reconcile_marts``): the marts agree with staging, the ledger with raw.

The checks are dbt tests, ``dbt_project/tests/reconcile/`` (tag ``reconcile``, not part of the nightly
``dbt build``), so each rule they rely on is written once, in the dbt project: "the newest file wins"
(``macros/newest_file_rows.sql``), the registry matching (``int_agency_keys``, ``int_budget_plan_keys``), a
bill's own year (``macros/book_fiscal_year.sql``) and the lead agency's claim
(``macros/project_report_claims.sql``). Each mart check is an independent aggregate over staging, not through
the facts and intermediate models the mart is built from, compared with the mart row by row:

- ``reconcile.file_ledger``: every ledger row has exactly ``rows_loaded`` rows in raw (none unless loaded) and
  ``rows_in = rows_loaded + rows_rejected``; no raw rows without a ledger row (every raw source dbt declares).
- ``reconcile.budget_by_year``: amount, line items and agencies per fiscal year, budget plan and source.
- ``reconcile.project_status_by_year``: planned, started, started early and not started projects per plan,
  reporting year and planned-start year.
- ``reconcile.readiness_summary_by_year``: agencies targeted and responded per survey year and level.

A test returns one row per mismatch: the key, a ``problem`` ('row only in the mart', 'row missing from the
mart', 'figures differ'; the ledger's own) and the figures side by side, ``mart_<figure>`` and ``raw_<figure>``
(recomputed from raw as staging types it). dbt stores them (``store_failures``) in schema ``reconcile``, one
table per check (``reconcile.budget_by_year``, ...), out of ``marts`` and out of bi_reader's reach. Each check
is recorded in ``ops.validation_runs`` (``file_id`` NULL, ``path`` the mart or the ledger, ``suite`` the check's
name, ``details`` the first ``MAX_MISMATCHES_KEPT`` mismatches).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ground.manifest import manifest, manifest_path
from ground.settings import get_settings
from nightly.transform import run_dbt

MAX_MISMATCHES_KEPT = 50
TAG = "reconcile"


@dataclass(frozen=True)
class _Spec:
    name: str  # the check, as recorded and summarised
    test: str  # the dbt test (dbt_project/tests/reconcile/<test>.sql)
    compared: str  # the relation checked, whose rows count as evaluated
    only_other_side: str  # the test's problem for a key the compared relation lacks


CHECKS = (
    _Spec("reconcile.file_ledger", "reconcile_file_ledger", "ops.file_ledger", "raw rows without a ledger row"),
    _Spec("reconcile.budget_by_year", "reconcile_budget_by_year", "marts.budget_by_year", "row missing from the mart"),
    _Spec("reconcile.project_status_by_year", "reconcile_project_status_by_year", "marts.project_status_by_year",
          "row missing from the mart"),
    _Spec("reconcile.readiness_summary_by_year", "reconcile_readiness_summary_by_year",
          "marts.readiness_summary_by_year", "row missing from the mart"),
)


@dataclass
class Check:
    """One check's result. ``evaluated``: the rows compared, i.e. the mart's (the ledger's) rows plus the keys
    only the other side has; ``mismatches``: the first ``MAX_MISMATCHES_KEPT`` stored mismatch rows as dicts (or
    the error, when the check could not run); ``failed``: how many mismatches dbt found in all."""

    name: str
    mart: str
    evaluated: int = 0
    mismatches: list[dict] = field(default_factory=list)
    failed: int = 0

    @property
    def mismatch_count(self) -> int:
        return max(self.failed, len(self.mismatches))

    @property
    def success(self) -> bool:
        return self.mismatch_count == 0


@dataclass
class ReconcileResult:
    run_id: str
    checks: list[Check]

    @property
    def success(self) -> bool:
        return all(c.success for c in self.checks)

    def summary(self) -> str:
        failed = [c for c in self.checks if not c.success]
        text = f"reconcile: {len(self.checks) - len(failed)} of {len(self.checks)} checks passed"
        return text + "".join(f"; {c.name}: {c.mismatch_count} mismatch(es), e.g. {_json(c.mismatches[0])}"
                              for c in failed)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@contextmanager
def _dbt_run_id(run_id: str) -> Iterator[None]:
    """dbt's on-run-end hook (macros/record_dbt_results.sql) files the results under DGWH_RUN_ID."""
    before = os.environ.get("DGWH_RUN_ID")
    os.environ["DGWH_RUN_ID"] = run_id
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DGWH_RUN_ID", None)
        else:
            os.environ["DGWH_RUN_ID"] = before


def _run_tests(conn: psycopg.Connection, run_id: str, specs: tuple[_Spec, ...]) -> tuple[dict[str, tuple], str]:
    """``dbt test`` of the specs' tests; per test, dbt's (status, failures, message) as its on-run-end hook recorded
    them in ops.dbt_results under ``run_id``, and what dbt said about the run as a whole."""
    started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    select = ["--select", f"tag:{TAG}"] if specs == CHECKS else ["--select", *(s.test for s in specs)]
    with _dbt_run_id(run_id):
        outcome = run_dbt(["test", *select])
    rows = conn.execute(
        """SELECT DISTINCT ON (unique_id) substring(unique_id FROM '[^.]+$'), status, failures, message
           FROM ops.dbt_results
           WHERE run_id = %s AND resource_type = 'test' AND recorded_at >= %s
             AND substring(unique_id FROM '[^.]+$') = ANY(%s)
           ORDER BY unique_id, recorded_at DESC""", (run_id, started, [s.test for s in specs])).fetchall()
    overall = "dbt ran without it" if outcome.success else (
        "dbt test failed" + (": " + "; ".join(outcome.failures[:10]) if outcome.failures else ""))
    overall += f" (dbt's log: {get_settings().state_dir / 'dbt_logs'})"
    return {name: (status, failures, message) for name, status, failures, message in rows}, overall


def _stored_relation(test: str, run_id: str) -> sql.Composed | None:
    """Where dbt stored the test's failing rows (its schema and alias), from the manifest of the dbt run that just
    ran (the run's own target folder: another run's dbt never rewrites it), else the project's parsed manifest."""
    paths = [get_settings().dbt_run_target_dir(run_id) / "manifest.json", manifest_path()]
    path = next((p for p in paths if p.exists()), None)
    nodes = manifest(path)["nodes"].values() if path else ()
    node = next((n for n in nodes if n["resource_type"] == "test" and n["name"] == test), None)
    return None if node is None else sql.Identifier(node["schema"], node.get("alias") or node["name"])


def _count(conn: psycopg.Connection, query: sql.Composable, params: tuple = ()) -> int:
    return conn.execute(query, params).fetchone()[0]


def _not_run(check: Check, spec: _Spec, error: str) -> Check:
    """A check that could not run fails, with the reason: it never passes for want of an answer."""
    check.mismatches = [{"problem": "the check could not run", "test": spec.test, "error": error}]
    check.failed = 1
    return check


def _check(conn: psycopg.Connection, spec: _Spec, result: tuple | None, overall: str, run_id: str) -> Check:
    check = Check(spec.name, spec.compared)
    if result is None:
        return _not_run(check, spec, f"dbt recorded no result for test {spec.test}: {overall}")
    status, failures, message = result
    if status not in ("pass", "fail", "warn"):  # error (SQL or compilation), skipped, ...
        return _not_run(check, spec, message or f"dbt gave the test status {status!r}")
    stored = _stored_relation(spec.test, run_id)
    if stored is None or conn.execute("SELECT to_regclass(%s)", (stored.as_string(conn),)).fetchone()[0] is None:
        return _not_run(check, spec, f"dbt stored no rows for test {spec.test} (is store_failures off?)")
    cursor = conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(stored))
    order = sql.SQL(", ").join(sql.Literal(i) for i in range(1, len(cursor.description) + 1))
    cursor = conn.execute(sql.SQL("SELECT * FROM {} ORDER BY {} LIMIT {}").format(
        stored, order, sql.Literal(MAX_MISMATCHES_KEPT)))
    names = [c.name for c in cursor.description]
    check.mismatches = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    check.failed = max(failures or 0, len(check.mismatches))
    check.evaluated = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*spec.compared.split("."))))
    check.evaluated += _count(conn, sql.SQL("SELECT count(*) FROM {} WHERE problem = %s").format(stored),
                              (spec.only_other_side,))
    return check


def run_checks(conn: psycopg.Connection, run_id: str, names: list[str] | None = None) -> list[Check]:
    """The checks named (all by default), in ``CHECKS`` order, run by one ``dbt test``; nothing is recorded."""
    specs = CHECKS if names is None else tuple(s for s in CHECKS if s.name in names)
    unknown = set(names or ()) - {s.name for s in specs}
    if unknown or not specs:
        raise ValueError(f"no such reconcile check: {', '.join(sorted(unknown)) or 'none named'}")
    results, overall = _run_tests(conn, run_id, specs)
    return [_check(conn, spec, results.get(spec.test), overall, run_id) for spec in specs]


def check_file_ledger(conn: psycopg.Connection, run_id: str = "manual") -> Check:
    """``reconcile.file_ledger`` alone: it reads only the ledger and raw, so it runs before any mart exists."""
    return run_checks(conn, run_id, ["reconcile.file_ledger"])[0]


def record(conn: psycopg.Connection, run_id: str, check: Check) -> None:
    failed = check.mismatch_count
    conn.execute(
        """INSERT INTO ops.validation_runs (run_id, file_id, path, suite, success, evaluated, failed,
               critical_failed, details) VALUES (%s, NULL, %s, %s, %s, %s, %s, %s, %s)""",
        (run_id, check.mart, check.name, check.success, check.evaluated, failed, failed,
         _json(check.mismatches[:MAX_MISMATCHES_KEPT])))


def reconcile(conn: psycopg.Connection, run_id: str, record_results: bool = True) -> ReconcileResult:
    """Run every check after ``dbt build`` (``dbt test --select tag:reconcile``, its results filed under ``run_id``
    in ops.dbt_results as the build's are); each is recorded in ``ops.validation_runs`` under ``run_id``.

    dbt reads the warehouse on its own connections, so it sees only what is committed. ``conn`` reads the stored
    mismatches and records the checks in its transaction as it is (nothing is committed here)."""
    checks = run_checks(conn, run_id)
    if record_results:
        for check in checks:
            record(conn, run_id, check)
    return ReconcileResult(run_id, checks)

"""Checks after ``dbt build``: the marts agree with the raw rows they were built from.

Each check recomputes a mart's figures from ``raw.*``, ``ops.file_ledger`` and the registry seeds
(schema ``reference``) without reading any dbt model, and compares them with the mart:

- ``reconcile.file_ledger``: every loaded file has exactly ``rows_loaded`` rows in raw, and
  ``rows_in = rows_loaded + rows_rejected``.
- ``reconcile.budget_by_year``: amount, line items and agencies per fiscal year, budget plan and
  source, from the current rows (newest file per agency and year; per book for the budget bill).
- ``reconcile.project_status_by_year``: planned, started, started early and not started projects
  per plan, reporting year and planned-start year, from the current project reports.
- ``reconcile.readiness_summary_by_year``: agencies targeted and responded per survey year and
  level, from the current readiness rows.

Agency and plan names are matched with ``ground.thai.name_key`` (kept equal to the dbt macro by a
test). Raw rows are fetched grouped, so memory follows the number of agencies and years, not rows.
Each check is recorded in ``ops.validation_runs`` (``file_id`` NULL, ``path`` the mart).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg

from ground.settings import readable_years
from ground.sources import SOURCES
from ground.thai import name_key

MAX_MISMATCHES_KEPT = 50
STARTED = ("started", "completed")


@dataclass
class Check:
    name: str
    mart: str
    evaluated: int = 0
    mismatches: list[dict] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.mismatches


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
        return text + "".join(f"; {c.name}: {len(c.mismatches)} mismatch(es), e.g. {c.mismatches[0]}" for c in failed)


def _key(value: object) -> str | None:
    return None if value is None else name_key(str(value))


class _Registry:
    """Agency ids by name key (registered names win over aliases) and budget-plan codes by name key."""

    def __init__(self, conn: psycopg.Connection) -> None:
        ranked: dict[str, tuple[int, str]] = {}
        names = conn.execute(
            "SELECT agency_id, agency_name_th, 0 FROM reference.agencies "
            "UNION ALL SELECT agency_id, alias, 1 FROM reference.agency_aliases").fetchall()
        for agency_id, name, kind in names:
            key = _key(name)
            if key is not None and (key not in ranked or (kind, agency_id) < ranked[key]):
                ranked[key] = (kind, agency_id)
        self.agency_ids = {k: v[1] for k, v in ranked.items()}
        plans = [(name_key(n), code) for code, n in conn.execute(
            "SELECT budget_plan_code, budget_plan_name_th FROM reference.budget_plans").fetchall()]
        self.plans = sorted(plans, key=lambda p: (-len(p[0]), p[1]))  # longest key, then code
        self._plan_cache: dict[str | None, str | None] = {}

    def agency(self, name: object) -> tuple[str | None, str | None]:
        key = _key(name)
        return self.agency_ids.get(key) if key is not None else None, key

    def scope(self, name: object) -> str | None:
        """Supersession scope of a name: ``coalesce(agency_id, 'name:' || agency_key)``."""
        agency_id, key = self.agency(name)
        return agency_id or (None if key is None else f"name:{key}")

    def plan_code(self, plan_name: object) -> str | None:
        key = _key(plan_name)
        if key not in self._plan_cache:
            self._plan_cache[key] = None if key is None else next(
                (code for plan_key, code in self.plans if key.startswith(plan_key)), None)
        return self._plan_cache[key]


def _received(conn: psycopg.Connection) -> dict[int, datetime]:
    """When each file was received, as dbt's ``stg_file_ledger`` decides it (issue 20: never earlier than the end
    of the last run before the one that loaded it; withdrawn files left out): that rule lives in the model."""
    return dict(conn.execute("SELECT file_id, received_at FROM staging.stg_file_ledger").fetchall())


def _current(groups: list[tuple], scope: Callable[[tuple], tuple], received: dict[int, datetime]) -> list[tuple]:
    """Groups (first element file_id) of the newest file within each scope; the rest are superseded."""
    newest: dict[tuple, tuple[datetime, int]] = {}
    groups = [g for g in groups if g[0] in received]  # issue 20: withdrawn files are not current
    for g in groups:
        rank = (received[g[0]], g[0])
        s = scope(g)
        if s not in newest or rank > newest[s]:
            newest[s] = rank
    return [g for g in groups if newest[scope(g)] == (received[g[0]], g[0])]


def _compare(check: Check, expected: dict[tuple, dict], actual: dict[tuple, dict], key_names: Iterable[str]) -> Check:
    names = list(key_names)
    for key in sorted(set(expected) | set(actual), key=lambda k: tuple(str(v) for v in k)):
        check.evaluated += 1
        want, have = expected.get(key), actual.get(key)
        if want is None or have is None:
            problem = "row only in the mart" if want is None else "row missing from the mart"
            check.mismatches.append({**dict(zip(names, key, strict=True)), "problem": problem})
            continue
        diffs = {m: {"mart": str(have.get(m)), "raw": str(v)} for m, v in want.items() if have.get(m) != v}
        if diffs:
            check.mismatches.append({**dict(zip(names, key, strict=True)), "differences": diffs})
    return check


def check_file_ledger(conn: psycopg.Connection) -> Check:
    check = Check("reconcile.file_ledger", "ops.file_ledger")
    raw_counts: dict[int, int] = defaultdict(int)
    for table in SOURCES:
        query = psycopg.sql.SQL("SELECT file_id, count(*) FROM {} GROUP BY file_id").format(
            psycopg.sql.Identifier("raw", table))
        for file_id, n in conn.execute(query).fetchall():
            raw_counts[file_id] += n
    ledger = conn.execute("SELECT file_id, path, status, rows_in, rows_loaded, rows_rejected FROM ops.file_ledger")
    for file_id, path, status, rows_in, loaded, rejected in ledger.fetchall():
        check.evaluated += 1
        in_raw = raw_counts.pop(file_id, 0)
        expected_raw = loaded if status == "loaded" else 0
        if in_raw != expected_raw or rows_in != loaded + rejected:
            check.mismatches.append({"file_id": file_id, "path": path, "rows_in": rows_in, "rows_loaded": loaded,
                                     "rows_rejected": rejected, "rows_in_raw": in_raw})
    for file_id, n in raw_counts.items():
        check.mismatches.append({"file_id": file_id, "problem": "raw rows without a ledger row", "rows_in_raw": n})
    return check


def _bill_year(ref_doc: object) -> int | None:
    """The bill's fiscal year (BE) from REF_DOC "<year>.<issue>.<book>", CE or BE, recomputed here
    independently of the dbt macro the mart uses."""
    match = re.match(r"\s*(\d{4})", str(ref_doc or ""))
    year = int(match.group(1)) if match else 0
    first, last = readable_years()
    return year + 543 if first - 543 <= year <= last - 543 else year if first <= year <= last else None


def check_budget_by_year(conn: psycopg.Connection, registry: _Registry, received: dict[int, datetime]) -> Check:
    # Amounts are rounded per row to the mart's 2 decimals before summing, as staging casts them.
    plan = conn.execute(
        """SELECT file_id, fiscal_year_be, budget_plan_name, agency_name, sum(round(allocated_baht, 2)), count(*)
           FROM raw.integration_plan GROUP BY 1, 2, 3, 4""").fetchall()
    bill = conn.execute(
        """SELECT file_id, ref_doc, fiscal_year_be, budget_plan, budgetary_unit, sum(round(amount_baht, 2)), count(*)
           FROM raw.budget_bill GROUP BY 1, 2, 3, 4, 5""").fetchall()
    lines: list[tuple[str, int | None, object, object, Decimal | None, int]] = []
    for g in _current(plan, lambda g: (registry.scope(g[3]), g[1]), received):
        lines.append(("integration_plan", g[1], g[2], g[3], g[4], g[5]))
    for g in _current(bill, lambda g: (g[1],), received):
        if g[2] is not None and g[2] == _bill_year(g[1]):  # the bill's own year; other instalments are its schedule
            lines.append(("budget_bill", g[2], g[3], g[4], g[5], g[6]))
    expected: dict[tuple, dict] = {}
    agencies: dict[tuple, set[str]] = defaultdict(set)
    for source, year, plan_name, agency_name, amount, n in lines:
        code = registry.plan_code(plan_name)
        if year is None or code is None:
            continue  # the mart covers integration plans with a fiscal year only
        key = (year, code, source)
        figures = expected.setdefault(key, {"amount_baht": Decimal("0.00"), "line_items": 0})
        figures["amount_baht"] += amount or 0
        figures["line_items"] += n
        agency_id, agency_key = registry.agency(agency_name)
        if agency_id or agency_key is not None:
            agencies[key].add(agency_id or f"name:{agency_key}")
    for key, figures in expected.items():
        figures["agencies"] = len(agencies[key])
    actual = {(r[0], r[1], r[2]): {"amount_baht": r[3], "line_items": r[4], "agencies": r[5]} for r in conn.execute(
        "SELECT fiscal_year_be, budget_plan_code, source, amount_baht, line_items, agencies FROM marts.budget_by_year")}
    return _compare(Check("reconcile.budget_by_year", "marts.budget_by_year"), expected, actual,
                    ("fiscal_year_be", "budget_plan_code", "source"))


def _lead_claims_only(conn: psycopg.Connection, registry: _Registry, current: list[tuple]) -> list[tuple]:
    """A project code several current files report (plan, year, code): only the lead agency's file's rows,
    when exactly one file is the lead's, else none (issue 20; dbt's macro project_report_claims)."""
    leads = {(p, c): a for p, c, a in conn.execute(
        "SELECT lower(trim(plan_code)), upper(trim(project_code)), lead_agency_id FROM reference.plan_projects")}
    files: dict[tuple, set[int]] = defaultdict(set)
    lead_files: dict[tuple, set[int]] = defaultdict(set)
    for g in current:
        key = (g[3], g[2], g[4])
        files[key].add(g[0])
        lead = leads.get((g[3], g[4]))
        if lead is not None and registry.agency(g[1])[0] == lead:
            lead_files[key].add(g[0])
    return [g for g in current if len(files[(g[3], g[2], g[4])]) == 1
            or (len(lead_files[(g[3], g[2], g[4])]) == 1 and g[0] in lead_files[(g[3], g[2], g[4])])]


def check_project_status(conn: psycopg.Connection, registry: _Registry, received: dict[int, datetime]) -> Check:
    groups = conn.execute(
        """SELECT file_id, agency_name, reporting_fy_be, lower(trim(plan_code)), upper(trim(project_code)), status,
                  actual_start_fy_be, count(*)
           FROM raw.project_reports GROUP BY 1, 2, 3, 4, 5, 6, 7""").fetchall()
    current = _current(groups, lambda g: (registry.scope(g[1]), g[2]), received)
    current = _lead_claims_only(conn, registry, current)  # issue 20, as dbt's project_report_claims
    reports: dict[tuple, list[tuple]] = defaultdict(list)
    for _, _, year, plan, project, status, actual, n in current:
        reports[(plan, year, project)] += [(status, actual)] * n
    planned: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for plan, project, start in conn.execute(
            "SELECT plan_code, project_code, planned_start_fy_be FROM reference.plan_projects"):
        planned[plan].append((project, start))
    expected: dict[tuple, dict] = {}
    for plan, year in {(g[3], g[2]) for g in current}:
        for project, start in planned.get(plan, []):
            figures = expected.setdefault((plan, year, start), dict.fromkeys(
                ("projects_planned", "started", "started_early", "not_started"), 0))
            matches = reports.get((plan, year, project)) or [(None, None)]
            for status, actual in matches:
                figures["projects_planned"] += 1
                figures["started"] += status in STARTED
                figures["started_early"] += status in STARTED and actual is not None and actual < start
                figures["not_started"] += status == "not_started"
    actual = {(r[0], r[1], r[2]): dict(zip(("projects_planned", "started", "started_early", "not_started"), r[3:],
                                           strict=True)) for r in conn.execute(
        """SELECT plan_code, reporting_fy_be, planned_start_fy_be, projects_planned, started, started_early,
                  not_started FROM marts.project_status_by_year""")}
    return _compare(Check("reconcile.project_status_by_year", "marts.project_status_by_year"), expected, actual,
                    ("plan_code", "reporting_fy_be", "planned_start_fy_be"))


def check_readiness_summary(conn: psycopg.Connection, registry: _Registry, received: dict[int, datetime]) -> Check:
    groups = conn.execute(
        """SELECT file_id, agency_name, survey_year_be, agency_level, count(*), count(*) FILTER (WHERE responded)
           FROM raw.readiness GROUP BY 1, 2, 3, 4""").fetchall()
    current = _current(groups, lambda g: (registry.scope(g[1]), g[2]), received)
    expected: dict[tuple, dict] = {}
    for _, _, year, level, targeted, responded in current:
        figures = expected.setdefault((year, level), {"agencies_targeted": 0, "agencies_responded": 0})
        figures["agencies_targeted"] += targeted
        figures["agencies_responded"] += responded
    actual = {(r[0], r[1]): {"agencies_targeted": r[2], "agencies_responded": r[3]} for r in conn.execute(
        """SELECT survey_year_be, agency_level, agencies_targeted, agencies_responded
           FROM marts.readiness_summary_by_year""")}
    return _compare(Check("reconcile.readiness_summary_by_year", "marts.readiness_summary_by_year"), expected, actual,
                    ("survey_year_be", "agency_level"))


def record(conn: psycopg.Connection, run_id: str, check: Check) -> None:
    conn.execute(
        """INSERT INTO ops.validation_runs (run_id, file_id, path, suite, success, evaluated, failed,
               critical_failed, details) VALUES (%s, NULL, %s, %s, %s, %s, %s, %s, %s)""",
        (run_id, check.mart, check.name, check.success, check.evaluated, len(check.mismatches),
         len(check.mismatches), json.dumps(check.mismatches[:MAX_MISMATCHES_KEPT], ensure_ascii=False, default=str)))


def reconcile(conn: psycopg.Connection, run_id: str, record_results: bool = True) -> ReconcileResult:
    """Run every check after ``dbt build``; each is recorded in ``ops.validation_runs`` under ``run_id``.

    Uses the caller's connection and transaction as they are (nothing is committed here).
    """
    registry = _Registry(conn)
    received = _received(conn)
    checks = [check_file_ledger(conn), check_budget_by_year(conn, registry, received),
              check_project_status(conn, registry, received), check_readiness_summary(conn, registry, received)]
    if record_results:
        for check in checks:
            record(conn, run_id, check)
    return ReconcileResult(run_id, checks)

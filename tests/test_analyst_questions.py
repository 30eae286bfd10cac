"""The analysts' first questions, each answered by one SQL query against the marts as
``bi_reader``, checked against answers computed here, independently of dbt, from the record-level
data: ``raw`` rows, the file ledger (the newest file per agency and year, or per budget book, wins)
and the reference seeds, with the Python name key (``ground.thai``) and agency registry."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from ground.registry import alias_keys
from ground.thai import name_key, to_arabic_digits

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"

# One query per question, exactly as an analyst would run it in a BI tool.
BEHIND_PLAN = """
    SELECT project_id, lead_agency_id, lead_agency_name_th, planned_start_fy_be AS behind_since_fy_be, years_behind
    FROM marts.project_status
    WHERE reporting_fy_be = %(fy)s AND is_behind_plan
    ORDER BY years_behind DESC, project_id"""

PROGRESS_BY_STRATEGY_AND_DOMAIN_PHASE = """
    SELECT p.plan_code, p.reporting_fy_be, s.strategy_name_th, d.phase,
           count(*) AS projects,
           count(*) FILTER (WHERE p.status IN ('started', 'started_early')) AS started,
           count(*) FILTER (WHERE p.is_behind_plan) AS behind_plan
    FROM marts.project_status AS p
    JOIN marts.dim_strategy AS s USING (plan_code, strategy_no)
    JOIN marts.dim_capability_domain AS d USING (capability_domain_code)
    GROUP BY GROUPING SETS ((p.plan_code, p.reporting_fy_be, s.strategy_name_th),
                            (p.plan_code, p.reporting_fy_be, d.phase))"""

BUDGET_OBSTACLES = """
    SELECT p.reporting_fy_be, p.project_id, p.reporting_agency_id, a.agency_name_th, p.obstacle_note_th
    FROM marts.project_status AS p
    LEFT JOIN marts.dim_agency AS a ON a.agency_id = p.reporting_agency_id
    WHERE 'budget' = ANY (string_to_array(p.obstacle_categories, ';'))
    ORDER BY p.reporting_fy_be, a.agency_name_th"""

REQUESTED_VS_ALLOCATED = """
    SELECT fiscal_year_be, approach_name_th, focus_area_name_th, coalesce(agency_id, agency_name_th) AS agency,
           requested_baht, allocated_baht
    FROM marts.budget_requested_allocated
    WHERE budget_plan_code = 'dg_integration'"""

PLAN_VS_BILL = """
    SELECT fiscal_year_be, project_code, bill_item_id, bill_baht, bill_lines, match_rule
    FROM marts.budget_plan_vs_bill
    WHERE budget_plan_code = 'dg_integration' AND bill_lines > 0
    ORDER BY fiscal_year_be, project_code NULLS LAST"""


def _ask(wh, sql: str, params: dict | None = None) -> list[tuple]:
    with wh.connect("bi_reader") as conn:
        return conn.execute(sql, params or {}).fetchall()


def _seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _agency_ref(name: str | None) -> str:
    key = name_key(name or "")
    return alias_keys().get(key) or f"name:{key}"


def _current(wh, table: str, scope) -> list[dict]:
    """Rows of raw.<table> from the newest file (received_at, then file_id) of each scope."""
    with wh.connect() as conn:
        cur = conn.execute(f"""SELECT r.*, l.received_at FROM raw.{table} AS r
                               JOIN ops.file_ledger AS l USING (file_id)""")  # noqa: S608 - fixed names
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    newest: dict[object, tuple] = {}
    for r in rows:
        s = scope(r)
        newest[s] = max(newest.get(s, (r["received_at"], r["file_id"])), (r["received_at"], r["file_id"]))
    return [r for r in rows if newest[scope(r)] == (r["received_at"], r["file_id"])]


@pytest.fixture(scope="module")
def projects() -> dict[tuple[str, str], dict[str, str]]:
    return {(p["plan_code"], p["project_code"]): p for p in _seed("plan_projects")}


@pytest.fixture(scope="module")
def status_rows(sample_warehouse, projects) -> list[dict]:
    """Plan project x reporting year, with the current report (or None), as project_status should have."""
    sample_warehouse.use()
    reports = _current(sample_warehouse, "project_reports",
                       lambda r: (_agency_ref(r["agency_name"]), r["reporting_fy_be"]))
    by_project = {(r["plan_code"].strip().lower(), r["reporting_fy_be"], r["project_code"].strip().upper()): r
                  for r in reports}
    years = {(plan, fy) for plan, fy, _ in by_project}
    out = []
    for plan, fy in sorted(years):
        for (p_plan, code), p in projects.items():
            if p_plan == plan:
                out.append({"plan": plan, "fy": fy, "code": code, "project": p,
                            "report": by_project.get((plan, fy, code))})
    return out


def _behind(row: dict) -> bool:
    report = row["report"]
    planned = int(row["project"]["planned_start_fy_be"])
    return bool(report) and report["status"] == "not_started" and planned <= row["fy"]


def test_which_projects_and_lead_agencies_are_behind_plan_and_since_when(sample, status_rows):
    names = {a["agency_id"]: a["agency_name_th"] for a in _seed("agencies")}
    years = sorted({r["fy"] for r in status_rows})
    behind_somewhere = 0
    for fy in years:
        expected = set()
        for r in status_rows:
            if r["fy"] == fy and _behind(r):
                p = r["project"]
                planned = int(p["planned_start_fy_be"])
                expected.add((r["code"], p["lead_agency_id"], names[p["lead_agency_id"]], planned, fy - planned + 1))
        answer = _ask(sample, BEHIND_PLAN, {"fy": fy})
        assert len(answer) == len(set(answer))
        assert set(answer) == expected, fy
        behind_somewhere += len(expected)
    assert behind_somewhere > 0  # the sample has projects behind plan, so the check means something


def test_progress_by_strategy_and_by_capability_domain_phase(sample, status_rows):
    phase = {d["capability_domain_no"]: int(d["phase"]) for d in _seed("capability_domains")}
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in status_rows:
        p = r["project"]
        started = bool(r["report"]) and r["report"]["status"] in ("started", "completed")
        for key in ((r["plan"], r["fy"], f"ยุทธศาสตร์ที่ {p['strategy_no']}", None),
                    (r["plan"], r["fy"], None, phase[p["capability_domain_no"]])):
            counts = expected[key]
            counts[0] += 1
            counts[1] += started
            counts[2] += _behind(r)
    answer = {tuple(r[:4]): list(r[4:]) for r in _ask(sample, PROGRESS_BY_STRATEGY_AND_DOMAIN_PHASE)}
    assert answer == dict(expected)
    # phase 2's new domains appear in the later plans, so the phase split is there to compare
    assert {k[3] for k in answer if k[3] is not None} == {1, 2}


def test_which_agencies_report_budget_obstacles_and_what_they_wrote(sample, status_rows):
    names = {a["agency_id"]: a["agency_name_th"] for a in _seed("agencies")}
    expected = set()
    for r in status_rows:
        report = r["report"]
        if report and "budget" in [c.strip() for c in (report["obstacle_categories"] or "").split(";")]:
            agency = alias_keys().get(name_key(report["agency_name"] or ""))
            note = (report["obstacle_note"] or "").strip() or None
            expected.add((r["fy"], r["code"], agency, names.get(agency), note))
    answer = _ask(sample, BUDGET_OBSTACLES)
    assert len(answer) == len(set(answer))
    assert set(answer) == expected
    assert any(note for *_, note in expected)  # agencies wrote something, and it reaches the mart


def _plan_codes() -> list[tuple[str, str]]:
    """(plan-name key, budget_plan_code), longest first: a name takes the longest registered prefix."""
    return sorted(((name_key(p["budget_plan_name_th"]), p["budget_plan_code"]) for p in _seed("budget_plans")),
                  key=lambda kc: (-len(kc[0]), kc[1]))


def _plan_code(name: str | None) -> str | None:
    key = name_key(name or "")
    return next((code for prefix, code in _plan_codes() if key.startswith(prefix)), None)


@pytest.fixture(scope="module")
def plan_rows(sample_warehouse) -> list[dict]:
    sample_warehouse.use()
    rows = _current(sample_warehouse, "integration_plan",
                    lambda r: (_agency_ref(r["agency_name"]), r["fiscal_year_be"]))
    return [r for r in rows if _plan_code(r["budget_plan_name"]) == "dg_integration"]


def test_requested_against_allocated_by_year_approach_focus_area_and_agency(sample, plan_rows):
    approach = {a["approach_code"]: a["approach_name_th"] for a in _seed("approaches")}
    focus = {f["focus_area_code"]: f["focus_area_name_th"] for f in _seed("focus_areas")}
    expected: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in plan_rows:
        ref = _agency_ref(r["agency_name"])
        agency = ref if not ref.startswith("name:") else r["agency_name"]
        key = (r["fiscal_year_be"], approach.get(r["approach"]), focus.get(r["focus_area"]), agency)
        expected[key][0] += r["requested_baht"] or 0
        expected[key][1] += r["allocated_baht"] or 0
    answer = {tuple(r[:4]): list(r[4:]) for r in _ask(sample, REQUESTED_VS_ALLOCATED)}
    assert answer == dict(expected)
    # Thai labels are the briefing's words (seed 003)
    assert "ด้านสุขภาพการแพทย์" in {k[2] for k in answer}


def _bill_year(line: dict) -> int | None:
    """The bill's year (its book's, from REF_DOC: 2022.3.1 = FY 2565) for its own-year lines, the
    bill's appropriation; None for the other instalments of an obligation (its schedule)."""
    m = re.match(r"\s*(\d{4})", line["ref_doc"] or "")
    year = int(m.group(1)) if m else 0
    book = year if 2400 <= year <= 2700 else year + 543 if 1857 <= year <= 2157 else None
    return book if book is not None and line["fiscal_year_be"] == book else None


def _project_key(name: str | None) -> str:
    return to_arabic_digits(name_key(name or "")).removeprefix("โครงการ")


def _match(bill: dict, plan: list[dict]) -> tuple[str | None, int]:
    """(project_code, rule) by the documented ladder; (None, 8) ambiguous, (None, 9) no candidate."""
    ranks: dict[int, list[str]] = defaultdict(list)
    if bill["key"]:
        for p in plan:
            if (p["fy"], p["plan"]) != (bill["fy"], bill["plan"]) or not p["key"]:
                continue
            same_agency = p["agency"] == bill["agency"]
            if same_agency and p["key"] == bill["key"]:
                ranks[1].append(p["code"])
            elif same_agency and min(len(p["key"]), len(bill["key"])) >= 8 and (
                    p["key"] in bill["key"] or bill["key"] in p["key"]):
                ranks[2].append(p["code"])
            elif p["key"] == bill["key"]:
                ranks[3].append(p["code"])
    if not ranks:
        return None, 9
    rule = min(ranks)
    return (ranks[rule][0], rule) if len(ranks[rule]) == 1 else (None, 8)


def test_which_plan_projects_reached_the_bill_and_which_bill_lines_match_no_project(sample, plan_rows):
    plan = [{"fy": r["fiscal_year_be"], "plan": "dg_integration", "code": r["project_code"].strip().upper(),
             "agency": _agency_ref(r["agency_name"]), "key": _project_key(r["project_name_th"])} for r in plan_rows]
    bills = _current(sample, "budget_bill", lambda r: r["ref_doc"])
    rules = {1: "same_agency_same_name", 2: "same_agency_name_contains", 3: "same_name_other_agency"}
    matched: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    unmatched = set()
    for b in bills:
        line = {"fy": _bill_year(b), "plan": _plan_code(b["budget_plan"]), "agency": _agency_ref(b["budgetary_unit"]),
                "key": _project_key(b["project"] or b["output"] or b["item_description"])}
        if line["plan"] != "dg_integration" or line["fy"] is None:
            continue
        code, rule = _match(line, plan)
        amount = b["amount_baht"] or Decimal(0)
        if code:
            m = matched[(line["fy"], code)]
            m[0] += amount
            m[1] += 1
            m[2] = max(m[2], rule)
        else:
            unmatched.add((line["fy"], b["item_id"], amount,
                           "ambiguous_bill_line" if rule == 8 else "unmatched_bill_line"))
    answer = _ask(sample, PLAN_VS_BILL)
    got_matched = {(fy, code): [baht, lines, rule] for fy, code, _, baht, lines, rule in answer if code}
    got_unmatched = {(fy, item, baht, rule) for fy, code, item, baht, _, rule in answer if not code}
    assert got_matched == {k: [v[0], v[1], rules[v[2]]] for k, v in matched.items()}
    assert got_unmatched == unmatched
    # both sides are there on the sample: plan projects reached the bill, and the real FY 2565 books
    # hold lines no sample project matches
    assert matched and unmatched


def test_project_marts_have_the_contract_columns_and_bi_reader_reads_them(sample):
    contract = {
        "project_status": ["plan_code", "project_id", "project_name_th", "strategy_no", "capability_domain_code",
                           "lead_agency_id", "planned_start_fy_be", "reporting_fy_be", "status", "is_behind_plan",
                           "years_behind", "obstacle_categories", "obstacle_note_th"],
        "dim_plan": ["plan_code", "plan_name_th", "fy_from_be", "fy_to_be", "strategies", "capability_domains",
                     "projects"],
        "dim_project": ["project_id", "plan_code", "project_name_th", "strategy_no", "capability_domain_code",
                        "lead_agency_id", "supporting_agency_ids", "planned_start_fy_be"],
        "dim_capability_domain": ["capability_domain_code", "domain_name_th", "phase"],
        "dim_strategy": ["plan_code", "strategy_no", "strategy_name_th"],
        "agency_scorecard": ["agency_id", "fiscal_year_be", "projects_led", "pct_started_on_time",
                             "projects_behind_plan", "obstacles_reported", "allocated_baht", "readiness_score",
                             "readiness_band", "submissions_on_time"],
        "budget_plan_vs_bill": ["fiscal_year_be", "project_code", "agency_id", "requested_baht", "allocated_baht",
                                "bill_baht", "bill_lines", "match_rule"],
        "budget_requested_allocated": ["fiscal_year_be", "approach_code", "focus_area_code", "agency_id",
                                       "requested_baht", "allocated_baht"],
    }
    for table, columns in contract.items():
        found = {r[0] for r in _ask(sample, """SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'marts' AND table_name = %(t)s""", {"t": table})}
        assert set(columns) <= found, (table, set(columns) - found)
        (count,) = _ask(sample, f'SELECT count(*) FROM marts."{table}"')[0]  # noqa: S608 - fixed names
        assert count > 0, table
    # the published figures, now from the project-level mart
    rows = dict(_ask(sample, """SELECT planned_start_fy_be, count(*) FILTER (WHERE status = 'not_started')
        FROM marts.project_status WHERE plan_code = 'dg_2559_2561' AND reporting_fy_be = 2559 GROUP BY 1"""))
    (counts,) = _ask(sample, """SELECT count(*), count(*) FILTER (WHERE status IN ('started', 'started_early'))
        FROM marts.project_status WHERE plan_code = 'dg_2559_2561' AND reporting_fy_be = 2559
        AND planned_start_fy_be = 2559""")
    assert counts == (21, 17) and rows == {2559: 4, 2560: 9}

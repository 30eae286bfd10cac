"""The marts on the full sample: the published figures of contract.md, recomputed from records."""

from __future__ import annotations

import csv
import unicodedata
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BOOKS


def one(wh, sql, params=()):
    with wh.connect() as conn:
        return conn.execute(sql, params).fetchall()


def test_project_status_published_figures(sample):
    rows = {r[0]: r[1:] for r in one(sample, """
        SELECT planned_start_fy_be, projects_planned, started, started_early, not_started, pct_started, pct_not_started
        FROM marts.project_status_by_year WHERE plan_code = 'dg_2559_2561' AND reporting_fy_be = 2559""")}
    assert rows[2559] == (21, 17, 0, 4, Decimal("80.95"), Decimal("19.05"))
    assert rows[2560] == (15, 6, 6, 9, Decimal("40.00"), Decimal("60.00"))


def test_integration_plan_fy2565_with_resubmission(sample):
    (row,) = one(sample, """SELECT agencies, projects, amount_baht, amount_million_baht FROM marts.budget_by_year
        WHERE fiscal_year_be = 2565 AND budget_plan_code = 'dg_integration' AND source = 'integration_plan'""")
    assert row == (29, 50, Decimal("2409396200.00"), Decimal("2409.3962"))
    # the superseded draft is still in raw and the ledger
    (draft,) = one(sample, "SELECT count(*) FROM ops.file_ledger WHERE path LIKE %s AND status = 'loaded'",
                   ("%2565_draft.csv",))
    assert draft == (1,)


@pytest.mark.parametrize("level, targeted, responded, rate", [
    ("department", 315, 292, Decimal("92.70")), ("special_local", 2, 2, Decimal("100.00")),
    ("province", 1609, 1556, Decimal("96.71"))])
def test_readiness_2563_response(sample, level, targeted, responded, rate):
    (row,) = one(sample, """SELECT agencies_targeted, agencies_responded, response_rate_pct
        FROM marts.readiness_summary_by_year WHERE survey_year_be = 2563 AND agency_level = %s""", (level,))
    assert row == (targeted, responded, rate)


def test_readiness_2561_means(sample):
    rows = dict(one(sample, """SELECT agency_level, mean_overall_score FROM marts.readiness_summary_by_year
                              WHERE survey_year_be = 2561"""))
    assert rows["department"] == Decimal("60.28")
    assert rows["province"] == Decimal("45.67")


def _books_dg_total() -> Decimal:
    """Independently of the pipeline: the books' own FY 2565 Digital Government lines."""
    total = Decimal(0)
    for book in sorted(BOOKS.glob("*.csv")):
        with open(book, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                plan = unicodedata.normalize("NFC", r["BUDGET_PLAN"]).replace(" ", "")
                if plan.startswith("แผนงานบูรณาการรัฐบาลดิจิทัล") and r["FISCAL_YEAR"] == "2022":
                    total += Decimal(r["AMOUNT"].replace(",", ""))
    return total


@pytest.mark.skipif(not BOOKS.exists(), reason="../shared/data is not beside this checkout")
def test_real_books_dg_total(sample):
    (row,) = one(sample, """SELECT amount_baht FROM marts.budget_by_year WHERE fiscal_year_be = 2565
        AND budget_plan_code = 'dg_integration' AND source = 'budget_bill'""")
    expected = _books_dg_total()
    assert expected > 0
    assert row[0] == expected


def test_every_contract_mart_has_its_columns(sample):
    contract = {
        "project_status_by_year": ["plan_code", "reporting_fy_be", "planned_start_fy_be", "projects_planned", "started",
                                   "started_early", "not_started", "pct_started", "pct_not_started"],
        "obstacles_by_year": ["plan_code", "reporting_fy_be", "category", "projects_reporting"],
        "budget_by_year": ["fiscal_year_be", "budget_plan_code", "source", "agencies", "projects", "amount_baht",
                           "amount_million_baht"],
        "budget_by_agency_year": ["fiscal_year_be", "budget_plan_code", "source", "agency_id", "agency_name_th",
                                  "projects", "amount_baht"],
        "readiness_by_year": ["survey_year_be", "agency_id", "agency_name_th", "agency_level", "overall_score",
                              "readiness_band", "rank_in_level", "score_change"],
        "readiness_summary_by_year": ["survey_year_be", "agency_level", "agencies_targeted", "agencies_responded",
                                      "response_rate_pct", "mean_overall_score"],
        "submission_coverage": ["fiscal_year_be", "agency_id", "submission_type", "files_received", "files_rejected",
                                "latest_received_at", "is_complete"],
        "dim_agency": ["agency_id", "agency_name_th", "agency_name_en", "ministry_name_th", "agency_level", "aliases"],
        "dim_fiscal_year": ["fiscal_year_be", "fiscal_year_ce", "starts_on", "ends_on"],
    }
    for table, columns in contract.items():
        found = {r[0] for r in one(sample, """SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'marts' AND table_name = %s""", (table,))}
        assert set(columns) <= found, (table, set(columns) - found)
        (count,) = one(sample, f'SELECT count(*) FROM marts."{table}"')[0]  # noqa: S608 - fixed names
        assert count > 0, table


def test_budget_by_approach_focus_adds_up_to_budget_by_year(sample):
    """The approach x focus split of each year, plan and source sums to budget_by_year's figures."""
    rows = one(sample, """
        SELECT y.fiscal_year_be, y.budget_plan_code, y.source, y.amount_baht, y.line_items, sum(a.amount_baht),
               sum(a.line_items), count(a.approach_code)
        FROM marts.budget_by_year AS y
        LEFT JOIN marts.budget_by_approach_focus_year AS a USING (fiscal_year_be, budget_plan_code, source)
        GROUP BY 1, 2, 3, 4, 5""")
    assert rows
    for fy, plan, source, amount, lines, split_amount, split_lines, _ in rows:
        assert (split_amount, split_lines) == (amount, lines), (fy, plan, source)
    # the integration plan classifies every project: FY 2565 over the three approaches
    (approaches, amount) = one(sample, """SELECT count(DISTINCT approach_code), sum(amount_baht)
        FROM marts.budget_by_approach_focus_year
        WHERE fiscal_year_be = 2565 AND budget_plan_code = 'dg_integration' AND source = 'integration_plan'
          AND approach_code IS NOT NULL""")[0]
    assert (approaches, amount) == (3, Decimal("2409396200.00"))


def test_readiness_by_dimension_matches_the_summary(sample):
    """Each responder scores every pillar, so each dimension has the summary's responders, and the
    mean of the six dimension means is the mean overall score (up to per-agency rounding)."""
    rows = one(sample, """
        SELECT s.survey_year_be, s.agency_level, s.agencies_responded, s.mean_overall_score,
               min(d.respondents), max(d.respondents), avg(d.mean_score), count(*)
        FROM marts.readiness_summary_by_year AS s
        JOIN marts.readiness_by_dimension_year AS d USING (survey_year_be, agency_level)
        GROUP BY 1, 2, 3, 4""")
    assert len(rows) == len(one(sample, "SELECT 1 FROM marts.readiness_summary_by_year WHERE agencies_responded > 0"))
    for year, level, responded, mean, lo, hi, dimension_mean, dimensions in rows:
        assert (lo, hi, dimensions) == (responded, responded, 6), (year, level)
        assert abs(dimension_mean - mean) <= Decimal("0.01"), (year, level, dimension_mean, mean)
    (dept_2561,) = one(sample, """SELECT round(avg(mean_score), 2) FROM marts.readiness_by_dimension_year
                                 WHERE survey_year_be = 2561 AND agency_level = 'department'""")[0]
    assert abs(dept_2561 - Decimal("60.28")) <= Decimal("0.01")


def test_ega_and_dga_are_one_agency(sample):
    rows = one(sample, """SELECT DISTINCT agency_id FROM intermediate.int_project_reports_current
                         WHERE agency_name LIKE 'สำนักงานรัฐบาลอิเล็กทรอนิกส์%%' OR agency_name = 'สพร.'
                            OR agency_name LIKE 'สำนักงานพัฒนารัฐบาลดิจิทัล%%'""")
    assert len(rows) == 1 and rows[0][0] is not None


def test_bi_reader_reads_marts_only(sample):
    import psycopg

    with sample.connect("bi_reader") as conn:
        assert conn.execute("SELECT count(*) FROM marts.budget_by_year").fetchone()[0] > 0
        for sql in ("SELECT 1 FROM raw.budget_bill LIMIT 1", "SELECT 1 FROM ops.file_ledger LIMIT 1",
                    "SELECT 1 FROM staging.stg_budget_bill LIMIT 1",
                    "SELECT 1 FROM intermediate.int_agency_keys LIMIT 1",
                    "DELETE FROM marts.budget_by_year", "CREATE TABLE marts.x (i int)",
                    "CREATE TABLE public.x (i int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)


def test_plan_against_bill_explains_every_unmatched_row(sample):
    """Every plan project without a bill line and every bill line without a project says why, and the why
    agrees with the records: whether the other side has anything of that year, plan and agency."""
    rows = one(sample, """SELECT fiscal_year_be, budget_plan_code, project_code, agency_id, match_rule,
                                 unmatched_reason, unmatched_reason_th, nearest_code, nearest_is_same_agency
                          FROM marts.budget_plan_vs_bill""")
    sides = one(sample, """SELECT DISTINCT source, fiscal_year_be, budget_plan_code,
                                  coalesce(agency_id, 'name:' || agency_key)
                           FROM marts.fct_budget_lines
                           WHERE budget_plan_code IS NOT NULL AND fiscal_year_be IS NOT NULL
                             AND is_year_appropriation""")
    years = {(s, fy, plan) for s, fy, plan, _ in sides}
    agencies = {(s, fy, plan, agency) for s, fy, plan, agency in sides}
    matched = {"same_agency_same_name", "same_agency_name_contains", "same_name_other_agency"}
    unmatched = [r for r in rows if r[4] not in matched]
    assert unmatched, "the sample has unmatched rows (FY 2565's plan and bill name their projects differently)"
    for fy, plan, project, agency, rule, reason, reason_th, nearest, same_agency in rows:
        if rule in matched:
            assert reason is None and nearest is None, (fy, project, rule)
            continue
        assert reason and reason_th, (fy, plan, project, rule)
        other = "budget_bill" if project else "integration_plan"
        if rule == "ambiguous_bill_line":
            assert reason == "several_candidates"
        elif (other, fy, plan) not in years:
            assert reason in ("no_bill_for_year", "no_plan_for_year"), (fy, plan, project, reason)
        elif agency is not None and (other, fy, plan, agency) not in agencies:
            assert reason in ("no_bill_line_of_agency", "no_plan_project_of_agency"), (fy, plan, project, reason)
        elif agency is not None:
            assert reason in ("name_differs", "name_differs_amount_equal") and nearest and same_agency, \
                (fy, plan, project, reason)


def test_data_as_of_is_the_last_successful_night(sample):
    (expected,) = one(sample, "SELECT max(finished_at) FROM ops.pipeline_runs WHERE status = 'success'")[0]
    assert expected is not None
    with sample.connect("bi_reader") as conn:
        as_of, as_of_th, status = conn.execute(
            "SELECT data_as_of, data_as_of_th, last_run_status FROM marts.data_as_of").fetchone()
    assert as_of == expected and status == "success"
    bangkok = expected.astimezone(ZoneInfo("Asia/Bangkok"))
    assert as_of_th.startswith(f"{bangkok.day} ") and f" {bangkok.year + 543} {bangkok:%H:%M} น." in as_of_th


def test_province_units_carry_their_province_and_small_levels_are_flagged(sample):
    missing = one(sample, """SELECT count(*) FROM marts.readiness_by_year r
                            LEFT JOIN marts.dim_agency a ON a.agency_id = r.agency_id
                            WHERE r.agency_level = 'province'
                              AND (r.province_name_th IS NULL
                                   OR r.province_name_th IS DISTINCT FROM coalesce(a.province_name_th,
                                                                                   r.province_name_th))""")
    assert missing == [(0,)]
    levels = {r[0]: r[1:] for r in one(sample, """SELECT agency_level, agencies_targeted, is_small_level,
                                                         agency_level_label_n_th
                                                  FROM marts.readiness_summary_by_year
                                                  WHERE survey_year_be = 2563""")}
    assert levels["special_local"][:2] == (2, True) and levels["special_local"][2].endswith("· 2 หน่วย")
    assert levels["province"][:2] == (1609, False) and "1,609" in levels["province"][2]

"""Read-only queries against schema ``marts``: everything the report shows, nothing bi_reader could not read."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import psycopg
from psycopg import sql

SCHEMA = "marts"
APPROACH_FOCUS_MART = "budget_by_approach_focus_year"
MISSING_ROWS_PER_TYPE = 500
FORMULA_START = ("=", "+", "-", "@")


def formula_safe(value: object) -> object:
    """Text as written in an agency's file (e.g. an unregistered agency name) may start like a spreadsheet
    formula; the report shows it quoted, as the quarantine reports do, so a copy into a spreadsheet runs nothing."""
    if isinstance(value, str) and value.lstrip()[:1] in FORMULA_START:
        return "'" + value
    return value


def _frame(conn: psycopg.Connection, query: sql.Composable, params: tuple | dict = ()) -> pd.DataFrame:
    """Rows as a DataFrame; numeric (Decimal) columns become floats so charts get JSON numbers, and text
    that looks like a formula is quoted."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description or []]
        df = pd.DataFrame(cur.fetchall(), columns=columns)
    for col in df.columns:
        if df[col].map(lambda v: isinstance(v, Decimal)).any():
            df[col] = df[col].map(lambda v: None if v is None else float(v)).astype("float64")
        elif df[col].map(lambda v: isinstance(v, str)).any():
            df[col] = df[col].map(formula_safe)
    return df


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def mart_exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{name}",)).fetchone()
    return bool(row and row[0])


def mart_columns(conn: psycopg.Connection, name: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position", (SCHEMA, name)).fetchall()
    return [r[0] for r in rows]


def project_status(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT plan_code, reporting_fy_be, planned_start_fy_be, projects_planned, started, started_early,"
        " not_started, projects_planned - started - not_started AS not_reported"
        " FROM {} ORDER BY plan_code, reporting_fy_be, planned_start_fy_be").format(_table("project_status_by_year")))


def budget_by_year(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT fiscal_year_be, budget_plan_code, source, agencies, projects, amount_million_baht"
        " FROM {} ORDER BY fiscal_year_be, budget_plan_code, source").format(_table("budget_by_year")))


def budget_by_agency(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT fiscal_year_be, source, agency_name_th, sum(projects)::integer AS projects,"
        " round(sum(amount_baht) / 1000000, 4) AS amount_million_baht"
        " FROM {} GROUP BY fiscal_year_be, source, agency_name_th"
        " ORDER BY fiscal_year_be, source, agency_name_th").format(_table("budget_by_agency_year")))


def approach_focus(conn: psycopg.Connection, year: str, approach: str, focus: str, amount: str) -> pd.DataFrame:
    """The optional approach x focus-area mart, with its columns named by the caller after inspection."""
    return _frame(conn, sql.SQL(
        "SELECT {y} AS fiscal_year_be, {a}::text AS approach, {f}::text AS focus_area, sum({m}) AS amount"
        " FROM {t} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").format(
            y=sql.Identifier(year), a=sql.Identifier(approach), f=sql.Identifier(focus), m=sql.Identifier(amount),
            t=_table(APPROACH_FOCUS_MART)))


def readiness_bands(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT survey_year_be, agency_level, coalesce(readiness_band, 'unknown') AS readiness_band,"
        " count(*)::integer AS agencies FROM {} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").format(
            _table("readiness_by_year")))


def readiness_summary(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT survey_year_be, agency_level, agencies_targeted, agencies_responded, response_rate_pct,"
        " mean_overall_score FROM {} ORDER BY survey_year_be, agency_level").format(
            _table("readiness_summary_by_year")))


def obstacles(conn: psycopg.Connection) -> pd.DataFrame:
    return _frame(conn, sql.SQL(
        "SELECT plan_code, reporting_fy_be, category, projects_reporting FROM {}"
        " ORDER BY plan_code, reporting_fy_be, category").format(_table("obstacles_by_year")))


def coverage_by_year(conn: psycopg.Connection) -> pd.DataFrame:
    """Expected submissions per year and type: complete, a file rejected, received but not complete (e.g. listed
    in the survey without answering), nothing received."""
    return _frame(conn, sql.SQL(
        "SELECT fiscal_year_be, submission_type,"
        " count(*)::integer AS expected,"
        " count(*) FILTER (WHERE is_complete)::integer AS complete,"
        " count(*) FILTER (WHERE NOT is_complete AND (files_rejected > 0 OR rows_rejected > 0))::integer AS rejected,"
        " count(*) FILTER (WHERE NOT is_complete AND coalesce(files_rejected, 0) = 0 AND coalesce(rows_rejected, 0) = 0"
        "  AND files_received > 0)::integer"
        "  AS incomplete,"
        " count(*) FILTER (WHERE NOT is_complete AND coalesce(files_received, 0) = 0)::integer AS not_received"
        " FROM {} GROUP BY 1, 2 ORDER BY 1, 2").format(_table("submission_coverage")))


def missing_submissions(conn: psycopg.Connection, limit_per_type: int = MISSING_ROWS_PER_TYPE) -> pd.DataFrame:
    """Agencies without a complete submission in the latest year of each submission type."""
    return _frame(conn, sql.SQL(
        "WITH latest AS (SELECT submission_type, max(fiscal_year_be) AS fiscal_year_be FROM {cov} GROUP BY 1),"
        " missing AS ("
        "  SELECT c.fiscal_year_be, c.submission_type, c.agency_id, a.agency_name_th, a.agency_level,"
        "   a.ministry_name_th, c.files_received, c.files_rejected, c.latest_received_at,"
        "   row_number() OVER (PARTITION BY c.submission_type ORDER BY a.agency_level, a.ministry_name_th,"
        "    a.agency_name_th, c.agency_id) AS n"
        "  FROM {cov} c JOIN latest l USING (submission_type, fiscal_year_be)"
        "  LEFT JOIN {dim} a ON a.agency_id = c.agency_id"
        "  WHERE NOT c.is_complete)"
        " SELECT fiscal_year_be, submission_type, agency_id, agency_name_th, agency_level, ministry_name_th,"
        "  files_received, files_rejected, latest_received_at FROM missing WHERE n <= %s"
        " ORDER BY submission_type, n").format(cov=_table("submission_coverage"), dim=_table("dim_agency")),
        (limit_per_type,))


def bill_coverage(conn: psycopg.Connection) -> pd.DataFrame:
    """Budget books per bill year: loaded or rejected, lines loaded and rejected, own-year amount."""
    return _frame(conn, sql.SQL(
        "SELECT bill_fy_be, ref_doc, is_loaded, lines_loaded, lines_rejected, obligation_lines,"
        " amount_baht, integration_plan_baht FROM {} ORDER BY bill_fy_be DESC NULLS LAST, ref_doc"
    ).format(_table("budget_bill_coverage")))


"""The Superset dashboards as code: writes ``bi/superset/`` in Superset's import format (a dashboard
export bundle: metadata.yaml, databases/, datasets/, charts/, dashboards/).

    python -m bi.assets            # regenerate bi/superset/ from this spec and the dbt manifest

Datasets: one per mart (every model in schema ``marts`` of dbt_project/target/manifest.json, so
``make manifest`` first). Charts and the three dashboards (projects, budget, readiness) are below.
UUIDs are derived from names, so regenerating gives the same files. Labels are Thai; fiscal years
are Buddhist Era, put on axes as text so they show as 2565, not 2,565.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parent
BUNDLE = ROOT / "superset"
MANIFEST = ROOT.parent / "dbt_project" / "target" / "manifest.json"
NS = uuid.UUID("6f0b7c5e-4f8e-4d7b-9a53-1d2c3b4a5f60")
DATABASE_NAME = "DG warehouse (marts)"
DATABASE_FILE = "databases/DG_warehouse_marts.yaml"
# The compose stack's address; bi.provision puts the real host, port and password in at import.
DATABASE_URI = "postgresql+psycopg2://bi_reader:XXXXXXXXXX@warehouse:5432/warehouse"


def _uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{name}"))


def _col(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


def _where(sql: str) -> dict:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql}


# Saved metrics only answer within one plan and one reporting year (one survey year, one budget plan and
# source): over a mix they are NULL, so a self-service chart never sums two plans or two years unless it
# groups by them. Each guard is the condition the metric needs.
ONE_PLAN, ONE_RFY = "count(DISTINCT plan_code) = 1", "count(DISTINCT reporting_fy_be) = 1"
ONE_SURVEY, ONE_FY = "count(DISTINCT survey_year_be) = 1", "count(DISTINCT fiscal_year_be) = 1"
ONE_BUDGET_PLAN, ONE_SOURCE = "count(DISTINCT budget_plan_code) = 1", "count(DISTINCT source) = 1"
DUE = "planned_start_fy_be <= reporting_fy_be"
STARTED = "status IN ('started', 'started_early')"
COUNT = ",d"
PCT = ",.2f"
MILLION = ",.4f"  # million baht in headline figures and tables: as the budget documents publish them
MILLION_CHART = ",.2f"  # million baht on chart axes and bars
BAHT = ",.0f"


def _m(name: str, label: str, sql: str, fmt: str, description: str, *guards: str) -> dict:
    expression = f"CASE WHEN {' AND '.join(guards)} THEN {sql} END" if guards else sql
    return {"metric_name": name, "verbose_name": label, "metric_type": None, "expression": expression,
            "description": description, "d3format": fmt, "currency": None, "extra": None, "warning_text": None}


def _pct(part: str, whole: str) -> str:
    return f"round(100.0 * {part} / nullif({whole}, 0), 2)"


METRICS: dict[str, list[dict]] = {
    "project_status_by_year": [
        _m("projects_due", "โครงการที่ถึงกำหนดเริ่ม · projects due", f"sum(projects_planned) FILTER (WHERE {DUE})",
           COUNT, "Projects planned to start in or before the reporting year, one plan and one year.",
           ONE_PLAN, ONE_RFY),
        _m("started_of_due", "เริ่มแล้ว (ที่ถึงกำหนด) · started of due", f"sum(started) FILTER (WHERE {DUE})", COUNT,
           "Projects due that had started, one plan and one year.", ONE_PLAN, ONE_RFY),
        _m("pct_started_of_due", "ร้อยละที่เริ่มแล้ว · % started of due",
           _pct(f"sum(started) FILTER (WHERE {DUE})", f"sum(projects_planned) FILTER (WHERE {DUE})"), PCT,
           "Started / due, 0-100, one plan and one year.", ONE_PLAN, ONE_RFY),
        _m("projects_planned", "โครงการตามแผน · projects planned", "sum(projects_planned)", COUNT,
           "Projects of the plan, one plan and one year.", ONE_PLAN, ONE_RFY),
        _m("started_on_plan", "เริ่มแล้ว (ไม่ก่อนแผน) · started, not early", "sum(started) - sum(started_early)", COUNT,
           "Started projects except those started before their planned year.", ONE_PLAN, ONE_RFY),
        _m("started_early", "เริ่มก่อนแผน · started early", "sum(started_early)", COUNT,
           "Projects started before their planned year.", ONE_PLAN, ONE_RFY),
        _m("not_started", "ยังไม่เริ่ม · not started", "sum(not_started)", COUNT, "Projects reported not started.",
           ONE_PLAN, ONE_RFY),
        _m("not_reported", "ไม่ได้รายงาน · not reported", "sum(not_reported)", COUNT,
           "Projects with no current report.", ONE_PLAN, ONE_RFY),
        _m("pct_started", "ร้อยละที่เริ่มแล้ว · % started", _pct("sum(started)", "sum(projects_planned)"), PCT,
           "Started / planned, 0-100, one plan and one year.", ONE_PLAN, ONE_RFY),
        _m("latest_reporting_fy", "ปีที่รายงานล่าสุด · latest reporting year", "max(reporting_fy_be)", "d",
           "The latest reporting year (a maximum, never a sum): the plan filter opens at the plan reported last."),
    ],
    "project_status": [
        _m("projects", "โครงการ · projects", "count(*)", COUNT, "Projects, one plan and one reporting year.",
           ONE_PLAN, ONE_RFY),
        _m("behind_plan", "ล่าช้ากว่าแผน · behind plan", "count(*) FILTER (WHERE is_behind_plan)", COUNT,
           "Projects due and not started, one plan and one reporting year.", ONE_PLAN, ONE_RFY),
        _m("pct_started_of_due", "ร้อยละที่เริ่มแล้ว · % started of due",
           _pct(f"count(*) FILTER (WHERE {STARTED} AND {DUE})", f"count(*) FILTER (WHERE {DUE})"), PCT,
           "Started / due, 0-100, one plan and one reporting year.", ONE_PLAN, ONE_RFY),
    ],
    "obstacles_by_year": [
        _m("projects_reporting", "โครงการที่รายงานปัญหา · projects reporting", "sum(projects_reporting)", COUNT,
           "Projects reporting an obstacle of the category, one plan and one year.", ONE_PLAN, ONE_RFY),
    ],
    "budget_by_year": [
        _m("amount_million_baht", "จำนวนเงิน (ล้านบาท) · million baht", "sum(amount_baht) / 1e6", MILLION,
           "Amount in million baht, one budget plan, source and year.", ONE_BUDGET_PLAN, ONE_SOURCE, ONE_FY),
        _m("projects", "โครงการ · projects", "sum(projects)", COUNT, "Projects, one budget plan, source and year.",
           ONE_BUDGET_PLAN, ONE_SOURCE, ONE_FY),
    ],
    "budget_by_agency_year": [
        _m("amount_million_baht", "จำนวนเงิน (ล้านบาท) · million baht", "sum(amount_baht) / 1e6", MILLION,
           "Amount in million baht, one budget plan and one source.", ONE_BUDGET_PLAN, ONE_SOURCE),
    ],
    "budget_requested_allocated": [
        _m("requested_million_baht", "คำของบประมาณ (ล้านบาท) · requested", "sum(requested_baht) / 1e6", MILLION,
           "Requested, million baht, one budget plan and year.", ONE_BUDGET_PLAN, ONE_FY),
        _m("allocated_million_baht", "ได้รับจัดสรร (ล้านบาท) · allocated", "sum(allocated_baht) / 1e6", MILLION,
           "Allocated, million baht, one budget plan and year.", ONE_BUDGET_PLAN, ONE_FY),
        _m("pct_allocated", "ร้อยละที่ได้รับจัดสรร · % allocated", _pct("sum(allocated_baht)", "sum(requested_baht)"),
           PCT, "Allocated / requested, 0-100, one budget plan and year.", ONE_BUDGET_PLAN, ONE_FY),
    ],
    "budget_plan_vs_bill": [
        _m("allocated_million_baht", "ได้รับจัดสรรตามแผน (ล้านบาท) · allocated", "sum(allocated_baht) / 1e6", MILLION,
           "Allocated in the integration plan, million baht, one budget plan.", ONE_BUDGET_PLAN, ONE_FY),
        _m("bill_matched_million_baht", "ใน พ.ร.บ. ที่ตรงกับโครงการ (ล้านบาท) · in the bill, matched",
           "sum(bill_baht) FILTER (WHERE project_code IS NOT NULL) / 1e6", MILLION,
           "Bill amounts matched to a plan project, million baht.", ONE_BUDGET_PLAN, ONE_FY),
        _m("bill_unmatched_million_baht", "ใน พ.ร.บ. ที่ไม่ตรงกับโครงการ (ล้านบาท) · in the bill, unmatched",
           "sum(bill_baht) FILTER (WHERE project_code IS NULL) / 1e6", MILLION,
           "Bill lines matched to no plan project, million baht.", ONE_BUDGET_PLAN, ONE_FY),
        _m("bill_million_baht", "ใน พ.ร.บ. (ล้านบาท) · in the bill", "sum(bill_baht) / 1e6", MILLION,
           "All bill amounts of the plan, million baht.", ONE_BUDGET_PLAN, ONE_FY),
    ],
    "readiness_summary_by_year": [
        _m("agencies_targeted", "หน่วยงานเป้าหมาย · targeted", "sum(agencies_targeted)", COUNT,
           "Agencies the survey targeted, one survey year.", ONE_SURVEY),
        _m("agencies_responded", "หน่วยงานที่ตอบ · responded", "sum(agencies_responded)", COUNT,
           "Agencies that answered, one survey year.", ONE_SURVEY),
        _m("response_rate_pct", "อัตราการตอบ (ร้อยละ) · response rate",
           _pct("sum(agencies_responded)", "sum(agencies_targeted)"), PCT, "Responded / targeted, 0-100.", ONE_SURVEY),
        _m("mean_overall_score", "คะแนนเฉลี่ย · mean score",
           "round(sum(mean_overall_score * agencies_responded) / nullif(sum(agencies_responded), 0), 2)", PCT,
           "Mean overall score of responders (weighted by responders), one survey year.", ONE_SURVEY),
    ],
    "readiness_by_year": [
        _m("agencies", "หน่วยงาน · agencies", "count(*)", COUNT, "Responding agencies, one survey year.", ONE_SURVEY),
        _m("mean_overall_score", "คะแนนเฉลี่ย · mean score", "round(avg(overall_score), 2)", PCT,
           "Mean overall score, one survey year.", ONE_SURVEY),
    ],
    "readiness_by_dimension_year": [
        _m("mean_score", "คะแนนเฉลี่ย · mean score",
           "round(sum(mean_score * respondents) / nullif(sum(respondents), 0), 2)", PCT,
           "Mean dimension score weighted by respondents, one survey year.", ONE_SURVEY),
    ],
    "agency_scorecard": [
        _m("projects_led", "โครงการที่เป็นเจ้าภาพ · projects led", "sum(projects_led)", COUNT,
           "Projects led, one fiscal year.", ONE_FY),
        _m("peak_projects_led", "โครงการที่เป็นเจ้าภาพ (ปีที่มากที่สุด) · projects led, peak year",
           "max(projects_led)", COUNT, "Most projects led in one fiscal year (a maximum, never a sum): the agency "
           "profile opens at the agency with the most to show."),
        _m("allocated_million_baht", "ได้รับจัดสรร (ล้านบาท) · allocated", "sum(allocated_baht) / 1e6", MILLION,
           "Allocated, million baht, one fiscal year.", ONE_FY),
    ],
    "submission_coverage": [
        _m("files_received", "ไฟล์ที่ได้รับ · files received", "sum(files_received)", COUNT, "Files received."),
        _m("files_rejected", "ไฟล์ที่ถูกปฏิเสธ · files rejected", "sum(files_rejected)", COUNT, "Files rejected."),
    ],
}
# Datasets without a metric of their own above: the count of their distinct first column (their key).
DEFAULT_METRIC_LABEL = "จำนวนที่ไม่ซ้ำ · distinct count of "

# Dataset columns beyond the marts' own (whose Thai labels sit in the marts, from dbt): a bar per plan and
# reporting year, a strategy's name, and the lead agency under the name the agency filter uses.
def _from_dim_agency(column: str, label: str, key: str, table: str, description: str) -> tuple:
    sql = f"(SELECT d.{column} FROM marts.dim_agency d WHERE d.agency_id = {table}.{key})"  # noqa: S608 - constants
    return (column, label, sql, description)


LABEL_COLUMNS: dict[str, list[tuple[str, str, str, str]]] = {
    "project_status_by_year": [
        ("plan_year_th", "แผน · ปีที่รายงาน", "plan_name_th || ' · ' || reporting_fy_be",
         "Plan and reporting year, one bar each."),
    ],
    "project_status": [
        ("strategy_th", "ยุทธศาสตร์", "'ยุทธศาสตร์ที่ ' || strategy_no", "Strategy number, in Thai."),
        ("agency_name_th", "หน่วยงานรับผิดชอบหลัก", "lead_agency_name_th",
         "The lead agency's name (the agency filter of the dashboards)."),
        _from_dim_agency("ministry_name_th", "กระทรวง", "lead_agency_id", "project_status",
                         "The lead agency's ministry."),
    ],
    "budget_plan_vs_bill": [
        _from_dim_agency("ministry_name_th", "กระทรวง", "agency_id", "budget_plan_vs_bill", "The agency's ministry."),
    ],
}

YEAR_COLUMNS = {"fiscal_year_be", "reporting_fy_be", "survey_year_be", "planned_start_fy_be", "actual_start_fy_be",
                "bill_fy_be"}
# Superset's table shows NULL as "N/A": the columns that are empty for a reason show, in tables, a twin
# (``<column>_shown``, the column's Thai label) that is blank or says so. Numbers become text there.
BLANKS: dict[str, dict[str, str]] = {
    "budget_plan_vs_bill": {"nearest_name_th": "ไม่มี · none", "nearest_similarity_pct": "", "project_name_th": "",
                            "requested_baht": "", "allocated_baht": ""},
    "project_status": {"obstacle_note_th": ""},
    "readiness_by_year": {"score_change": "", "province_name_th": ""},
}
SHOWN = "_shown"


def _shown(column: dict, blank: str) -> dict:
    """The table twin of a mart column (``mart_columns``): text, blank (or ``blank``) where the column is NULL."""
    name, numeric = column["name"], (column["type"] or "").startswith(("NUMERIC", "INTEGER", "BIGINT"))
    text = f"to_char({name}, 'FM999,999,999,999,990{'' if name.endswith('_baht') else '.00'}')" if numeric else name
    return {"column_name": name + SHOWN, "verbose_name": column["label"], "is_dttm": False, "is_active": True,
            "type": "TEXT", "advanced_data_type": None, "groupby": True, "filterable": True,
            "expression": f"coalesce({text}, '{blank}')", "python_date_format": None, "extra": None,
            "description": f"{column['description'] or name} Shown in tables: "
                           f"{repr(blank) if blank else 'blank'} where it is null."}


FY = _col("fiscal_year_be::text", "ปีงบประมาณ (พ.ศ.)")
REPORTING_FY = _col("reporting_fy_be::text", "ปีที่รายงาน (พ.ศ.)")
SURVEY_YEAR = _col("survey_year_be::text", "ปีที่สำรวจ (พ.ศ.)")
DG_PLAN = _where("budget_plan_code = 'dg_integration'")
PLAN_SOURCE = _where("source = 'integration_plan'")
PROVINCE_LEVEL = _where("agency_level = 'province'")
COLOURS = "supersetColors"


def bar(dataset: str, x: dict | str, metrics: list, groupby: list | None = None, filters: list | None = None,
        stacked: bool = False, fmt: str = COUNT, labels: bool = True) -> dict:
    """Bars with their values on them (``labels``; off where side-by-side bars of equal height would overlap
    theirs: the tooltip has them)."""
    return {"viz_type": "echarts_timeseries_bar", "dataset": dataset, "params": {
        "x_axis": x, "metrics": metrics, "groupby": groupby or [], "adhoc_filters": filters or [],
        "row_limit": 10000, "stack": "Stack" if stacked else None, "show_legend": True, "rich_tooltip": True,
        "x_axis_sort_asc": True, "orientation": "vertical", "y_axis_format": fmt, "show_value": labels,
        "truncateXAxis": True, "xAxisLabelRotation": 0, "sort_series_type": "sum", "color_scheme": COLOURS}}


def line(dataset: str, x: dict | str, metrics: list, groupby: list | None = None, fmt: str = PCT) -> dict:
    return {"viz_type": "echarts_timeseries_line", "dataset": dataset, "params": {
        "x_axis": x, "metrics": metrics, "groupby": groupby or [], "adhoc_filters": [], "row_limit": 10000,
        "show_legend": True, "rich_tooltip": True, "x_axis_sort_asc": True, "y_axis_format": fmt,
        "markerEnabled": True, "show_value": True, "truncateXAxis": True, "color_scheme": COLOURS}}


def big(dataset: str, metric: str, subheader: str, filters: list | None = None, fmt: str = COUNT) -> dict:
    return {"viz_type": "big_number_total", "dataset": dataset, "params": {
        "metric": metric, "adhoc_filters": filters or [], "subheader": subheader, "header_font_size": 0.3,
        "subheader_font_size": 0.15, "y_axis_format": fmt, "time_format": "smart_date"}}


def table(dataset: str, columns: list[str], filters: list | None = None, order_by: list | None = None,
          formats: dict[str, str] | None = None, long: bool = False) -> dict:
    """Every row (loaded whole: up to 100,000), numbers with thousands separators. Not paged from the database:
    Superset 6.1's server pagination always shows a "Search by" list of raw column names, and "Show 0 entries per
    page" once a filter leaves fewer rows than a page. A ``long`` table shows 50 rows a page and a search box
    over every column; any other shows all its rows on one page, no controls."""
    shown = [c + SHOWN if c in BLANKS.get(dataset, {}) else c for c in columns]
    config = {c: {"d3NumberFormat": "d" if c in YEAR_COLUMNS else (formats or {}).get(c, ",")}
              for c in shown if not c.endswith(SHOWN)}
    return {"viz_type": "table", "dataset": dataset, "params": {
        "query_mode": "raw", "all_columns": shown, "adhoc_filters": filters or [], "row_limit": 100000,
        "order_by_cols": [json.dumps([c, asc]) for c, asc in (order_by or [])], "server_pagination": False,
        "page_length": 50 if long else 0, "include_search": long, "table_timestamp_format": "smart_date",
        "column_config": config, "show_totals": False}}


def as_of() -> dict:
    """The last successful night and the newest night's status (marts.data_as_of, one row): one line of text."""
    template = ("{{#each data}}**{{data_as_of_th}}** · ผลรอบล่าสุด · last night's run: {{last_run_status_th}}"
                "{{/each}}")
    return {"viz_type": "handlebars", "dataset": "data_as_of", "height": 14, "params": {
        "query_mode": "raw", "all_columns": ["data_as_of_th", "last_run_status_th"], "adhoc_filters": [],
        "row_limit": 1, "order_by_cols": [], "handlebarsTemplate": template}}


def country_map(dataset: str, entity: str, metric: str, filters: list | None = None, fmt: str = PCT) -> dict:
    """Superset's Thailand map (its GeoJSON keys provinces by ISO 3166-2 code), shaded by ``metric``."""
    return {"viz_type": "country_map", "dataset": dataset, "height": 80, "params": {
        "select_country": "thailand", "entity": entity, "metric": metric, "adhoc_filters": filters or [],
        "row_limit": 100, "linear_color_scheme": "superset_seq_1", "number_format": fmt}}


def markdown(text: str) -> dict:
    return {"markdown": text}


class Filter(NamedTuple):
    """A native select filter on ``column``. A required one is single-select and opens at its first value:
    by ``sort_metric`` (a saved metric of the target dataset) or by value, descending unless ``ascending``.
    The target (which dataset lists the values) is ``dataset``, else dim_agency or the first chart's."""

    column: str
    name: str
    required: bool = False
    ascending: bool = True
    parents: tuple[str, ...] = ()
    dataset: str | None = None
    sort_metric: str | None = None


AS_OF = "ข้อมูล ณ · data as of"
# Dashboards: rows of charts (name -> chart) and notes; widths in Superset's 12-column grid.
PROJECTS = "โครงการตามแผนพัฒนารัฐบาลดิจิทัล"
DASHBOARDS: dict[str, dict] = {
    "projects": {
        "title": PROJECTS,
        "rows": [
            {AS_OF: as_of()},
            {"โครงการที่ถึงกำหนดเริ่ม": big("project_status_by_year", "projects_due",
                                            "ถึงกำหนดเริ่มภายในปีที่รายงาน · due"),
             "เริ่มดำเนินการแล้ว": big("project_status_by_year", "started_of_due", "ที่ถึงกำหนด · started"),
             "ร้อยละที่เริ่มดำเนินการแล้ว": big("project_status_by_year", "pct_started_of_due",
                                                "ของที่ถึงกำหนด · % started", fmt=PCT),
             "โครงการที่ล่าช้ากว่าแผน (จำนวน)": big("project_status", "behind_plan", "ล่าช้ากว่าแผน · behind plan")},
            {"สถานะตามปีที่เริ่มตามแผน": table(
                "project_status_by_year", ["plan_name_th", "reporting_fy_be", "planned_start_fy_be", "projects_planned",
                                           "started", "started_early", "not_started", "not_reported", "pct_started"],
                order_by=[("planned_start_fy_be", True)], formats={"pct_started": PCT}),
             "สถานะโครงการ แยกตามแผนและปีที่รายงาน": bar(
                 "project_status_by_year", "plan_year_th",
                 ["started_on_plan", "started_early", "not_started", "not_reported"], stacked=True)},
            {"ร้อยละที่เริ่มดำเนินการแล้ว (ของที่ถึงกำหนด) ตามยุทธศาสตร์": bar(
                "project_status", "strategy_th", ["pct_started_of_due"], fmt=PCT),
             "ร้อยละที่เริ่มดำเนินการแล้ว (ของที่ถึงกำหนด) ตามระยะของขีดความสามารถ": bar(
                 "project_status", _col("'ระยะที่ ' || capability_domain_phase", "ระยะ"), ["pct_started_of_due"],
                 fmt=PCT)},
            {"โครงการที่ล่าช้ากว่าแผน": table(
                "project_status", ["plan_name_th", "reporting_fy_be", "project_id", "project_name_th", "agency_name_th",
                                   "planned_start_fy_be", "years_behind"],
                [_where("is_behind_plan")], [("years_behind", False)]),
             "ปัญหาและอุปสรรค ตามด้าน": bar(
                 "obstacles_by_year", "category_name_th", ["projects_reporting"])},
            {"ปัญหาและอุปสรรคที่หน่วยงานรายงาน": table(
                "project_status", ["plan_name_th", "reporting_fy_be", "agency_name_th", "project_id",
                                   "obstacle_categories_th", "obstacle_note_th"],
                [_where("obstacle_categories IS NOT NULL")])},
        ],
        "filters": [Filter("plan_name_th", "แผน", True, False, sort_metric="latest_reporting_fy"),
                    Filter("reporting_fy_be", "ปีที่รายงาน (พ.ศ.)", True, False, ("plan_name_th",)),
                    Filter("strategy_th", "ยุทธศาสตร์"), Filter("ministry_name_th", "กระทรวง"),
                    Filter("agency_name_th", "หน่วยงาน")],
    },
    "budget": {
        "title": "งบประมาณแผนงานบูรณาการรัฐบาลดิจิทัล",
        "rows": [
            {AS_OF: as_of()},
            {"คำของบประมาณ (ล้านบาท)": big("budget_requested_allocated", "requested_million_baht",
                                           "แผนงานบูรณาการ · requested", [DG_PLAN], MILLION),
             "ได้รับจัดสรรตามแผนบูรณาการ (ล้านบาท)": big("budget_by_year", "amount_million_baht",
                                                        "แผนงานบูรณาการ · allocated", [DG_PLAN, PLAN_SOURCE], MILLION),
             "ใน พ.ร.บ. งบประมาณ (ล้านบาท)": big("budget_by_year", "amount_million_baht",
                                                "ปีของ พ.ร.บ. เอง · in the bill",
                                                [DG_PLAN, _where("source = 'budget_bill'")], MILLION)},
            {"งบประมาณแผนงานบูรณาการรายปี": table(
                "budget_by_year", ["fiscal_year_be", "agencies", "projects", "amount_million_baht"],
                [DG_PLAN, PLAN_SOURCE], [("fiscal_year_be", False)], {"amount_million_baht": MILLION}),
             "แผนงานบูรณาการเทียบกับ พ.ร.บ. งบประมาณ (ล้านบาท)": bar(
                 "budget_plan_vs_bill", FY, ["allocated_million_baht", "bill_matched_million_baht",
                                             "bill_unmatched_million_baht"], filters=[DG_PLAN], fmt=MILLION_CHART,
                 labels=False)},
            {"คำของบประมาณเทียบกับที่ได้รับจัดสรร (ล้านบาท)": bar(
                "budget_requested_allocated", FY, ["requested_million_baht", "allocated_million_baht"],
                filters=[DG_PLAN], fmt=MILLION_CHART),
             "ได้รับจัดสรรตามแนวทาง (ล้านบาท)": bar(
                 "budget_requested_allocated", FY, ["allocated_million_baht"], ["approach_name_th"], [DG_PLAN],
                 stacked=True, fmt=MILLION_CHART)},
            {"ได้รับจัดสรรตามด้าน (ล้านบาท)": bar(
                "budget_requested_allocated", FY, ["allocated_million_baht"], ["focus_area_name_th"], [DG_PLAN],
                stacked=True, fmt=MILLION_CHART),
             "รายการใน พ.ร.บ. ที่ไม่ตรงกับโครงการใด": table(
                 "budget_plan_vs_bill", ["fiscal_year_be", "agency_name_th", "bill_baht", "unmatched_reason_th",
                                         "nearest_name_th", "nearest_similarity_pct"],
                 [DG_PLAN, _where("project_code IS NULL")], [("bill_baht", False)],
                 {"bill_baht": BAHT})},
            {"ความครบถ้วนของ พ.ร.บ. งบประมาณ (รายเล่ม)": table(
                "budget_bill_coverage", ["bill_fy_be", "ref_doc", "is_loaded_th", "lines_loaded", "lines_rejected",
                                         "obligation_lines", "amount_baht"],
                order_by=[("bill_fy_be", False)], formats={"amount_baht": BAHT})},
        ],
        "filters": [Filter("fiscal_year_be", "ปีงบประมาณ (พ.ศ.)", True, False), Filter("ministry_name_th", "กระทรวง"),
                    Filter("agency_name_th", "หน่วยงาน")],
    },
    "readiness": {
        "title": "ความพร้อมรัฐบาลดิจิทัลของหน่วยงานภาครัฐ",
        "rows": [
            {AS_OF: as_of()},
            {"หน่วยงานเป้าหมาย": big("readiness_summary_by_year", "agencies_targeted", "targeted"),
             "หน่วยงานที่ตอบแบบสำรวจ": big("readiness_summary_by_year", "agencies_responded", "responded"),
             "อัตราการตอบ (ร้อยละ)": big("readiness_summary_by_year", "response_rate_pct", "response rate", fmt=PCT),
             "คะแนนเฉลี่ย": big("readiness_summary_by_year", "mean_overall_score", "mean score", fmt=PCT)},
            {"การตอบแบบสำรวจตามระดับหน่วยงาน": table(
                "readiness_summary_by_year", ["survey_year_be", "agency_level_name_th", "agencies_targeted",
                                              "agencies_responded", "response_rate_pct", "mean_overall_score"],
                order_by=[("agencies_targeted", False)],
                formats={"response_rate_pct": PCT, "mean_overall_score": PCT}),
             "หมายเหตุ": markdown(
                 "**ท้องถิ่นรูปแบบพิเศษ** คือ กรุงเทพมหานครและเมืองพัทยา: 2 หน่วยงาน "
                 "ร้อยละจึงเปลี่ยนทีละ 50 — ดูจำนวนหน่วยงาน (n) ในตารางก่อนเทียบกับระดับอื่น  \n"
                 "*Special local = Bangkok and Pattaya, two units: read their n before comparing rates.*  \n\n"
                 "ตัวเลขทุกช่องเป็นของปีที่สำรวจที่เลือกเท่านั้น (ไม่รวมหลายปี).  \n\n"
                 "แผนที่รายจังหวัดแสดงหน่วยงานระดับจังหวัด กรุงเทพมหานครไม่มีหน่วยงานระดับนี้จึงไม่มีสี  \n"
                 "*The province map shows province-level units; Bangkok has none, so it stays blank.*")},
            {"คะแนนเฉลี่ยตามระดับหน่วยงาน": bar(
                "readiness_summary_by_year", "agency_level_name_th", ["mean_overall_score"], fmt=PCT),
             "คะแนนตามมิติ": bar(
                 "readiness_by_dimension_year", "dimension_name_th", ["mean_score"], ["agency_level_name_th"],
                 fmt=PCT)},
            {"หน่วยงานตามระดับความพร้อม": bar(
                "readiness_by_year", "readiness_band_name_th", ["agencies"], ["agency_level_name_th"], stacked=True),
             "คะแนนเฉลี่ยของหน่วยงานระดับจังหวัด รายจังหวัด": country_map(
                 "readiness_by_year", "province_iso_code", "mean_overall_score", [PROVINCE_LEVEL])},
            {"ความพร้อมรายจังหวัด": table(
                "readiness_by_year", ["survey_year_be", "province_name_th", "agency_name_th", "overall_score",
                                      "readiness_band_name_th", "rank_in_level", "score_change"],
                [PROVINCE_LEVEL], [("overall_score", False)], {"overall_score": PCT}, long=True)},
            {"ผลรายหน่วยงาน": table(
                "readiness_by_year", ["survey_year_be", "agency_name_th", "agency_level_name_th", "ministry_name_th",
                                      "province_name_th", "overall_score", "readiness_band_name_th", "rank_in_level",
                                      "score_change"],
                order_by=[("overall_score", False)], formats={"overall_score": PCT}, long=True)},
        ],
        "filters": [Filter("survey_year_be", "ปีที่สำรวจ (พ.ศ.)", True, False),
                    Filter("agency_level_name_th", "ระดับหน่วยงาน"), Filter("ministry_name_th", "กระทรวง"),
                    Filter("province_name_th", "จังหวัด"), Filter("agency_name_th", "หน่วยงาน")],
    },
    "agency": {
        "title": "ข้อมูลรายหน่วยงาน",
        "rows": [
            {AS_OF: as_of()},
            {"คะแนนความพร้อมรายปี": line("readiness_by_year", SURVEY_YEAR, ["mean_overall_score"]),
             "คะแนนรายด้าน": table(
                 "readiness_by_year", ["survey_year_be", "overall_score", "readiness_band_name_th", "score_strategy",
                                       "score_public_services", "score_infrastructure", "score_data",
                                       "score_personnel", "score_regulation", "rank_in_level"],
                 order_by=[("survey_year_be", False)],
                 formats={c: PCT for c in ("overall_score", "score_strategy", "score_public_services",
                                           "score_infrastructure", "score_data", "score_personnel",
                                           "score_regulation")})},
            {"โครงการที่เป็นเจ้าภาพและสถานะ": table(
                "project_status", ["plan_name_th", "reporting_fy_be", "project_id", "project_name_th", "status_name_th",
                                   "planned_start_fy_be", "years_behind"],
                order_by=[("reporting_fy_be", False)]),
             "รายการงบประมาณ": table(
                 "budget_plan_vs_bill", ["fiscal_year_be", "project_name_th", "requested_baht", "allocated_baht",
                                         "bill_baht", "match_rule_name_th"],
                 order_by=[("fiscal_year_be", False)],
                 formats={"bill_baht": BAHT})},
            {"การส่งข้อมูล": table(
                "submission_coverage", ["fiscal_year_be", "submission_type_name_th", "files_received", "files_rejected",
                                        "rows_rejected", "latest_received_at", "is_complete_th"],
                order_by=[("fiscal_year_be", False)])},
        ],
        "filters": [Filter("agency_name_th", "หน่วยงาน", True, False, dataset="agency_scorecard",
                           sort_metric="peak_projects_led")],
    },
}


def marts_from_manifest(manifest: Path = MANIFEST) -> dict[str, str]:
    """Every mart (``ground.manifest.mart_names``), with its description, in the manifest's order."""
    from ground.manifest import manifest as read
    from ground.manifest import mart_names

    marts = set(mart_names(manifest))
    return {n["name"]: n.get("description", "").strip() for n in read(manifest)["nodes"].values()
            if n["resource_type"] == "model" and n["name"] in marts}


def _dump(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")


def mart_columns(manifest: Path = MANIFEST) -> dict[str, list[dict]]:
    """Each mart's columns as the dbt YAML declares them: name, data_type, Thai label, description."""
    from ground.manifest import manifest as read
    from ground.manifest import mart_names

    marts = set(mart_names(manifest))
    out: dict[str, list[dict]] = {}
    for node in read(manifest)["nodes"].values():
        if node["resource_type"] != "model" or node["name"] not in marts:
            continue
        cols = []
        for name, col in node["columns"].items():
            meta = {**col.get("config", {}).get("meta", {}), **col.get("meta", {})}
            description = " ".join(filter(None, [meta.get("description_th"), (col.get("description") or "").strip()]))
            cols.append({"name": name, "type": (col.get("data_type") or "").upper() or None,
                         "label": meta.get("label_th"), "description": description or None})
        out[node["name"]] = cols
    return out


def dataset_columns(mart: str, columns: list[dict]) -> list[dict]:
    """The dataset's columns: the mart's (Thai label and description from dbt), the label columns above and the
    table twins of BLANKS."""
    own = {c["name"] for c in columns}
    out = [{"column_name": c["name"], "verbose_name": c["label"], "is_dttm": "TIMESTAMP" in (c["type"] or ""),
            "is_active": True, "type": c["type"], "advanced_data_type": None, "groupby": True, "filterable": True,
            "expression": None, "description": c["description"], "python_date_format": None, "extra": None}
           for c in columns]
    for name, label, expression, description in LABEL_COLUMNS.get(mart, []):
        if name not in own:
            out.append({"column_name": name, "verbose_name": label, "is_dttm": False, "is_active": True,
                        "type": "TEXT", "advanced_data_type": None, "groupby": True, "filterable": True,
                        "expression": expression, "description": description, "python_date_format": None,
                        "extra": None})
    blanks = BLANKS.get(mart, {})
    out += [_shown(c, blanks[c["name"]]) for c in columns if c["name"] in blanks]
    return out


def dataset_metrics(mart: str, columns: list[dict]) -> list[dict]:
    metrics = list(METRICS.get(mart, []))
    if not metrics and columns:
        key = columns[0]
        metrics.append(_m(f"distinct_{key['name']}", DEFAULT_METRIC_LABEL + (key["label"] or key["name"]),
                          f"count(DISTINCT {key['name']})", COUNT, f"Distinct values of {key['name']}."))
    metrics.append(_m("count", "จำนวนแถว · rows", "COUNT(*)", COUNT, "Rows of the dataset."))
    return metrics


def _chart_columns(chart: dict) -> set[str]:
    """Column names a chart's x axis names: a filter on such a column would cut a trend to one point."""
    x = chart["params"].get("x_axis")
    text = x["sqlExpression"] if isinstance(x, dict) else (x or "")
    text += " ".join(sql for name, _, sql, _ in LABEL_COLUMNS.get(chart["dataset"], []) if name == text)
    return {w for w in text.replace("::", " ").replace("||", " ").replace("(", " ").replace(")", " ").split()
            if w.isidentifier()}


def native_filters(key: str, dash: dict, charts: list[tuple[int, dict]], columns: dict[str, set[str]]) -> list[dict]:
    """A select filter per ``Filter``. A required one opens applied at its first value, the dashboard waiting for
    it (Superset's ``requiredFirst``: no Apply needed), in the order of its sort metric or its values (the latest
    year first); a filter leaves out the charts whose dataset lacks the column and the trend charts drawn along
    it."""
    out = []
    used = [c["dataset"] for _, c in charts if "dataset" in c]
    for f in dash["filters"]:
        target = f.dataset or ("dim_agency" if f.column in columns.get("dim_agency", set()) else next(
            d for d in used if f.column in columns[d]))
        excluded = [cid for cid, c in charts
                    if "dataset" not in c or f.column not in columns[c["dataset"]] or f.column in _chart_columns(c)]
        out.append({
            "id": f"NATIVE_FILTER-{key}-{f.column}", "name": f.name, "filterType": "filter_select",
            "type": "NATIVE_FILTER",
            "targets": [{"datasetUuid": _uuid("dataset", target), "column": {"name": f.column}}],
            "controlValues": {"enableEmptyFilter": f.required, "defaultToFirstItem": f.required,
                              "multiSelect": not f.required, "searchAllOptions": False, "inverseSelection": False,
                              "sortAscending": f.ascending},
            "requiredFirst": f.required, "sortMetric": f.sort_metric,
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [f"NATIVE_FILTER-{key}-{p}" for p in f.parents],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded}, "description": "", "chartsInScope": [],
            "tabsInScope": []})
    return out


def _position(title: str, rows: list[list[tuple[int, str, str | None, str | int]]]) -> dict:
    """Rows of (chart id, name, chart uuid or None for a note, note text or the chart's height)."""
    pos: dict = {"DASHBOARD_VERSION_KEY": "v2",
                 "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
                 "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
                 "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}}}
    for r, row in enumerate(rows, start=1):
        rid = f"ROW-{r}"
        pos["GRID_ID"]["children"].append(rid)
        pos[rid] = {"type": "ROW", "id": rid, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                    "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        width = 12 // len(row)
        for cid, name, chart_uuid, text in row:
            part = f"CHART-{cid}" if chart_uuid else f"MARKDOWN-{cid}"
            pos[rid]["children"].append(part)
            meta = ({"width": width, "height": text, "chartId": cid, "uuid": chart_uuid, "sliceName": name}
                    if chart_uuid else {"width": width, "height": 60, "code": text})
            pos[part] = {"type": "CHART" if chart_uuid else "MARKDOWN", "id": part, "children": [],
                         "parents": ["ROOT_ID", "GRID_ID", rid], "meta": meta}
    return pos


def write(bundle: Path = BUNDLE, manifest: Path = MANIFEST) -> Path:
    if bundle.exists():
        shutil.rmtree(bundle)
    db_uuid = _uuid("database", DATABASE_NAME)
    _dump(bundle / "metadata.yaml", {"version": "1.0.0", "type": "assets", "timestamp": "2026-11-29T00:00:00+00:00"})
    _dump(bundle / DATABASE_FILE, {
        "database_name": DATABASE_NAME, "sqlalchemy_uri": DATABASE_URI, "cache_timeout": None,
        "expose_in_sqllab": True, "allow_run_async": False, "allow_ctas": False, "allow_cvas": False,
        "allow_dml": False, "allow_file_upload": False, "extra": {"allows_virtual_table_explore": True},
        "uuid": db_uuid, "version": "1.0.0"})
    marts = marts_from_manifest(manifest)
    mart_cols = mart_columns(manifest)
    used = {c["dataset"] for d in DASHBOARDS.values() for row in d["rows"] for c in row.values() if "dataset" in c}
    missing = used - set(marts)
    if missing:
        raise SystemExit(f"charts use marts the manifest lacks: {sorted(missing)} (run make manifest)")
    columns: dict[str, set[str]] = {}
    for name, description in sorted(marts.items()):
        cols = dataset_columns(name, mart_cols[name])
        columns[name] = {c["column_name"] for c in cols}
        _dump(bundle / "datasets" / "DG_warehouse_marts" / f"{name}.yaml", {
            "table_name": name, "main_dttm_col": None, "description": description or None,
            "default_endpoint": None, "offset": 0, "cache_timeout": None, "schema": "marts", "sql": None,
            "params": None, "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
            "extra": None, "normalize_columns": False, "always_filter_main_dttm": False,
            "uuid": _uuid("dataset", name), "metrics": dataset_metrics(name, mart_cols[name]), "columns": cols,
            "version": "1.0.0", "database_uuid": db_uuid})
    n = 0
    for key, dash in DASHBOARDS.items():
        rows, charts = [], []
        for row in dash["rows"]:
            placed = []
            for name, chart in row.items():
                n += 1
                if "markdown" in chart:
                    placed.append((n, name, None, chart["markdown"]))
                    continue
                chart_uuid = _uuid("chart", f"{key}:{name}")
                charts.append((n, chart))
                height = chart.get("height") or (22 if chart["viz_type"] == "big_number_total" else 60)
                placed.append((n, name, chart_uuid, height))
                params = {"viz_type": chart["viz_type"], **chart["params"]}
                _dump(bundle / "charts" / f"{key}_{len(charts):02d}.yaml", {
                    "slice_name": name, "description": None, "certified_by": None, "certification_details": None,
                    "viz_type": chart["viz_type"], "params": params, "query_context": None, "cache_timeout": None,
                    "uuid": chart_uuid, "version": "1.0.0", "dataset_uuid": _uuid("dataset", chart["dataset"])})
            rows.append(placed)
        _dump(bundle / "dashboards" / f"{key}.yaml", {
            "dashboard_title": dash["title"], "description": None, "css": "", "slug": f"dg-{key}",
            "certified_by": None, "certification_details": None, "published": True,
            "uuid": _uuid("dashboard", key), "position": _position(dash["title"], rows),
            # No dashboard colour scheme (each chart has its own): it would colour the map by category, not value.
            "metadata": {"refresh_frequency": 0,
                         "native_filter_configuration": native_filters(key, dash, charts, columns),
                         "cross_filters_enabled": False, "timed_refresh_immune_slices": [],
                         "expanded_slices": {}, "label_colors": {}, "shared_label_colors": []},
            "version": "1.0.0"})
    return bundle


if __name__ == "__main__":
    print(write())

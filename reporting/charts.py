"""Altair charts for the nightly report: each builder takes a mart extract and returns a Vega-Lite spec dict.

Labels are bilingual (Thai first) and every chart uses a Thai-capable font stack, so Thai text renders
in SVG instead of tofu boxes.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

# Fonts that carry Thai glyphs: Noto/Sarabun where installed, then Debian's fonts-thai-tlwg.
FONT_FAMILY = '"Noto Sans Thai", "Sarabun", "Loma", "Garuda", "Waree", "Tahoma", sans-serif'
FACET_WIDTH = 230
TOP_AGENCIES = 15

LEVELS = {
    "department": "ระดับกรม (department)",
    "province": "ระดับจังหวัด (province)",
    "special_local": "ท้องถิ่นรูปแบบพิเศษ (special local)",
    "local": "ท้องถิ่น (local)",
}
SOURCES = {
    "integration_plan": "แผนบูรณาการ (integration plan)",
    "budget_bill": "พ.ร.บ.งบประมาณ (budget bill)",
}
OBSTACLES = {
    "law": "กฎหมาย (law)",
    "budget": "งบประมาณ (budget)",
    "data": "ข้อมูล (data)",
    "personnel": "บุคลากร (personnel)",
    "equipment": "อุปกรณ์ (equipment)",
    "other": "อื่น ๆ (other)",
}
STATUSES = {
    "started_not_early": "เริ่มแล้ว (started)",
    "started_early": "เริ่มก่อนกำหนด (started early)",
    "not_started": "ยังไม่เริ่ม (not started)",
    "not_reported": "ไม่ได้รายงาน (not reported)",
}
STATUS_COLOURS = ["#2e7d32", "#81c784", "#e53935", "#bdbdbd"]
BANDS = ["E-Government", "Open", "Data-centric", "Fully digital", "Smart", "unknown"]
SUBMISSION_TYPES = {
    "project_report": "รายงานสถานะโครงการ (project report)",
    "readiness_survey": "แบบสำรวจความพร้อม (readiness survey)",
}
COVERAGE = {
    "complete": "ส่งครบ (complete)",
    "rejected": "ไฟล์ถูกปฏิเสธ (file rejected)",
    "incomplete": "ได้รับแต่ไม่ครบ/ไม่ได้ตอบ (received, not complete)",
    "not_received": "ยังไม่ส่ง (nothing received)",
}
COVERAGE_COLOURS = ["#2e7d32", "#8e24aa", "#fb8c00", "#e53935"]

FY = "ปีงบประมาณ (FY, BE)"
SURVEY_YEAR = "ปีที่สำรวจ (survey year, BE)"
MILLION_BAHT = "ล้านบาท (million baht)"


def _label(series: pd.Series, names: dict[str, str]) -> pd.Series:
    return series.map(lambda v: names.get(v, v))


def _finish(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """Top-level config shared by every chart (font, sizes) and the validated Vega-Lite dict."""
    styled = chart.configure(font=FONT_FAMILY).configure_axis(
        labelFontSize=12, titleFontSize=12).configure_legend(
        labelFontSize=12, titleFontSize=12, labelLimit=320).configure_header(
        labelFontSize=13, titleFontSize=13).configure_title(fontSize=14, anchor="start")
    return styled.to_dict()


def _legend_highlight(field: str) -> alt.Parameter:
    return alt.selection_point(fields=[field], bind="legend")


def project_status(df: pd.DataFrame) -> dict[str, Any]:
    """Stacked bars per reporting year, one panel per plan: started (not early), early, not started, not reported."""
    data = df.assign(started_not_early=df["started"] - df["started_early"])
    long = data.melt(id_vars=["plan_code", "reporting_fy_be", "planned_start_fy_be"],
                     value_vars=list(STATUSES), var_name="status_code", value_name="projects")
    long["status"] = _label(long["status_code"], STATUSES)
    long["order"] = long["status_code"].map(list(STATUSES).index)
    pick = _legend_highlight("status")
    base = alt.Chart(long).mark_bar().encode(
        x=alt.X("reporting_fy_be:O", title="ปีที่รายงาน (reporting FY, BE)"),
        y=alt.Y("sum(projects):Q", title="โครงการ (projects)"),
        color=alt.Color("status:N", title="สถานะ (status)",
                        scale=alt.Scale(domain=list(STATUSES.values()), range=STATUS_COLOURS)),
        order=alt.Order("order:Q"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
        tooltip=[alt.Tooltip("plan_code:N", title="แผน (plan)"),
                 alt.Tooltip("reporting_fy_be:O", title="ปีที่รายงาน (FY)"),
                 alt.Tooltip("status:N", title="สถานะ (status)"),
                 alt.Tooltip("sum(projects):Q", title="โครงการ (projects)")],
    ).add_params(pick).properties(width=FACET_WIDTH, height=220)
    return _finish(base.facet(column=alt.Column("plan_code:N", title="แผน (plan)")).resolve_scale(x="independent"))


def budget_by_year(df: pd.DataFrame) -> dict[str, Any]:
    """Amounts per fiscal year, stacked by budget plan, one panel per source."""
    data = df.assign(source_label=_label(df["source"], SOURCES))
    pick = _legend_highlight("budget_plan_code")
    base = alt.Chart(data).mark_bar().encode(
        x=alt.X("fiscal_year_be:O", title=FY),
        y=alt.Y("sum(amount_million_baht):Q", title=MILLION_BAHT),
        color=alt.Color("budget_plan_code:N", title="แผนงาน (budget plan)"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
        tooltip=[alt.Tooltip("fiscal_year_be:O", title="ปีงบฯ (FY)"),
                 alt.Tooltip("budget_plan_code:N", title="แผนงาน (plan)"),
                 alt.Tooltip("source_label:N", title="แหล่ง (source)"),
                 alt.Tooltip("agencies:Q", title="หน่วยงาน (agencies)"),
                 alt.Tooltip("projects:Q", title="โครงการ (projects)"),
                 alt.Tooltip("sum(amount_million_baht):Q", title=MILLION_BAHT, format=",.2f")],
    ).add_params(pick).properties(width=360, height=260)
    return _finish(base.facet(column=alt.Column("source_label:N", title="แหล่งข้อมูล (source)")))


def budget_by_agency(df: pd.DataFrame, top: int = TOP_AGENCIES) -> dict[str, Any]:
    """Top agencies by amount for a year and source the reader picks (defaults: latest year, integration plan)."""
    years = sorted(int(y) for y in df["fiscal_year_be"].unique())
    sources = [s for s in SOURCES if s in set(df["source"])] or sorted(df["source"].unique())
    year = alt.param(name="fy", value=years[-1],
                     bind=alt.binding_select(options=years, name="ปีงบประมาณ (FY) "))
    source = alt.param(name="source", value=sources[0],
                       bind=alt.binding_select(options=sources, labels=[SOURCES.get(s, s) for s in sources],
                                               name=" แหล่ง (source) "))
    chart = alt.Chart(df).add_params(year, source).transform_filter(
        (alt.datum.fiscal_year_be == year) & (alt.datum.source == source)
    ).transform_aggregate(
        amount_million_baht="sum(amount_million_baht)", projects="sum(projects)", groupby=["agency_name_th"]
    ).transform_window(
        rank="row_number()", sort=[alt.SortField("amount_million_baht", order="descending")]
    ).transform_filter(alt.datum.rank <= top).mark_bar(color="#1565c0").encode(
        x=alt.X("amount_million_baht:Q", title=MILLION_BAHT),
        y=alt.Y("agency_name_th:N", sort="-x", title=None, axis=alt.Axis(labelLimit=360)),
        tooltip=[alt.Tooltip("agency_name_th:N", title="หน่วยงาน (agency)"),
                 alt.Tooltip("projects:Q", title="โครงการ (projects)"),
                 alt.Tooltip("amount_million_baht:Q", title=MILLION_BAHT, format=",.2f")],
    ).properties(width=520, height=alt.Step(22),
                 title=f"{top} หน่วยงานที่ได้รับงบประมาณสูงสุด (top {top} agencies by amount)")
    return _finish(chart)


def approach_focus(df: pd.DataFrame, amount_title: str) -> dict[str, Any]:
    """Amounts per fiscal year stacked by focus area, one panel per approach."""
    pick = _legend_highlight("focus_area")
    base = alt.Chart(df).mark_bar().encode(
        x=alt.X("fiscal_year_be:O", title=FY),
        y=alt.Y("sum(amount):Q", title=amount_title),
        color=alt.Color("focus_area:N", title="ด้าน (focus area)"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
        tooltip=[alt.Tooltip("fiscal_year_be:O", title="ปีงบฯ (FY)"), alt.Tooltip("approach:N", title="แนวทาง"),
                 alt.Tooltip("focus_area:N", title="ด้าน"),
                 alt.Tooltip("sum(amount):Q", title=amount_title, format=",.2f")],
    ).add_params(pick).properties(width=FACET_WIDTH, height=240)
    return _finish(base.facet(column=alt.Column("approach:N", title="แนวทาง (approach)")))


def readiness_bands(df: pd.DataFrame) -> dict[str, Any]:
    """Share of responding agencies per maturity band, per survey year, one panel per agency level."""
    data = df.assign(level=_label(df["agency_level"], LEVELS),
                     band_order=df["readiness_band"].map(lambda b: BANDS.index(b) if b in BANDS else len(BANDS)))
    domain = [b for b in BANDS if b in set(data["readiness_band"])]
    base = alt.Chart(data).mark_bar().encode(
        x=alt.X("survey_year_be:O", title=SURVEY_YEAR),
        y=alt.Y("sum(agencies):Q", stack="normalize", title="สัดส่วนหน่วยงาน (share of agencies)",
                axis=alt.Axis(format="%")),
        color=alt.Color("readiness_band:N", title="ระดับความพร้อม (maturity band)",
                        scale=alt.Scale(domain=domain, scheme="redyellowgreen"), sort=domain),
        order=alt.Order("band_order:Q"),
        tooltip=[alt.Tooltip("level:N", title="ระดับหน่วยงาน (level)"),
                 alt.Tooltip("survey_year_be:O", title="ปี (year)"),
                 alt.Tooltip("readiness_band:N", title="ระดับ (band)"),
                 alt.Tooltip("sum(agencies):Q", title="หน่วยงาน (agencies)")],
    ).properties(width=FACET_WIDTH, height=220)
    return _finish(base.facet(column=alt.Column("level:N", title="ระดับหน่วยงาน (agency level)",
                                                sort=list(LEVELS.values()))))


def _level_lines(df: pd.DataFrame, field: str, title: str, chart_title: str) -> dict[str, Any]:
    data = df.assign(level=_label(df["agency_level"], LEVELS))
    pick = _legend_highlight("level")
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("survey_year_be:O", title=SURVEY_YEAR),
        y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False)),
        color=alt.Color("level:N", title="ระดับหน่วยงาน (agency level)", sort=list(LEVELS.values())),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.2)),
        tooltip=[alt.Tooltip("level:N", title="ระดับ (level)"), alt.Tooltip("survey_year_be:O", title="ปี (year)"),
                 alt.Tooltip("agencies_targeted:Q", title="เป้าหมาย (targeted)"),
                 alt.Tooltip("agencies_responded:Q", title="ตอบ (responded)"),
                 alt.Tooltip("response_rate_pct:Q", title="อัตราตอบ % (response rate)", format=".2f"),
                 alt.Tooltip("mean_overall_score:Q", title="คะแนนเฉลี่ย (mean score)", format=".2f")],
    ).add_params(pick).properties(width=560, height=260, title=chart_title)
    return _finish(chart)


def readiness_mean_score(df: pd.DataFrame) -> dict[str, Any]:
    return _level_lines(df, "mean_overall_score", "คะแนนเฉลี่ย 0–100 (mean overall score)",
                        "คะแนนความพร้อมเฉลี่ยรายระดับ (mean readiness score by level)")


def readiness_response_rate(df: pd.DataFrame) -> dict[str, Any]:
    return _level_lines(df, "response_rate_pct", "อัตราการตอบ % (response rate)",
                        "อัตราการตอบแบบสำรวจรายระดับ (response rate by level)")


def obstacles(df: pd.DataFrame) -> dict[str, Any]:
    """Projects naming each obstacle category, per reporting year, one panel per plan."""
    data = df.assign(category_label=_label(df["category"], OBSTACLES))
    pick = _legend_highlight("category_label")
    base = alt.Chart(data).mark_bar().encode(
        x=alt.X("reporting_fy_be:O", title="ปีที่รายงาน (reporting FY, BE)"),
        y=alt.Y("sum(projects_reporting):Q", title="โครงการที่รายงาน (projects reporting)"),
        color=alt.Color("category_label:N", title="ประเภทอุปสรรค (obstacle category)",
                        sort=list(OBSTACLES.values())),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
        tooltip=[alt.Tooltip("plan_code:N", title="แผน (plan)"), alt.Tooltip("reporting_fy_be:O", title="ปี (FY)"),
                 alt.Tooltip("category_label:N", title="ประเภท (category)"),
                 alt.Tooltip("sum(projects_reporting):Q", title="โครงการ (projects)")],
    ).add_params(pick).properties(width=FACET_WIDTH, height=220)
    return _finish(base.facet(column=alt.Column("plan_code:N", title="แผน (plan)")).resolve_scale(x="independent"))


def coverage(df: pd.DataFrame) -> dict[str, Any]:
    """Expected submissions per year by state (see COVERAGE); one panel per submission type."""
    long = df.melt(id_vars=["fiscal_year_be", "submission_type"], value_vars=list(COVERAGE),
                   var_name="state_code", value_name="agencies")
    long["state"] = _label(long["state_code"], COVERAGE)
    long["order"] = long["state_code"].map(list(COVERAGE).index)
    long["type"] = _label(long["submission_type"], SUBMISSION_TYPES)
    base = alt.Chart(long).mark_bar().encode(
        x=alt.X("fiscal_year_be:O", title=FY),
        y=alt.Y("sum(agencies):Q", title="หน่วยงาน (agencies)"),
        color=alt.Color("state:N", title="การส่ง (submission)",
                        scale=alt.Scale(domain=list(COVERAGE.values()), range=COVERAGE_COLOURS)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("type:N", title="ประเภท (type)"), alt.Tooltip("fiscal_year_be:O", title="ปี (year)"),
                 alt.Tooltip("state:N", title="การส่ง (submission)"),
                 alt.Tooltip("sum(agencies):Q", title="หน่วยงาน (agencies)")],
    ).properties(width=360, height=240)
    return _finish(base.facet(column=alt.Column("type:N", title="ประเภทการส่ง (submission type)"))
                   .resolve_scale(x="independent", y="independent"))

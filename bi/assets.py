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


def _metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label, "optionName": "metric_" + label}


def _where(sql: str) -> dict:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql}


FY = _col("fiscal_year_be::text", "ปีงบประมาณ (พ.ศ.)")
REPORTING_FY = _col("reporting_fy_be::text", "ปีที่รายงาน (พ.ศ.)")
SURVEY_YEAR = _col("survey_year_be::text", "ปีที่สำรวจ (พ.ศ.)")
DG_PLAN = _where("budget_plan_code = 'dg_integration'")
STATUS_TH = _col("CASE status WHEN 'started' THEN 'เริ่มดำเนินการแล้ว' WHEN 'started_early' THEN 'เริ่มก่อนแผน' "
                 "WHEN 'not_started' THEN 'ยังไม่เริ่มดำเนินการ' ELSE 'ไม่ได้รายงาน' END", "สถานะ")
CATEGORY_TH = _col("CASE category WHEN 'law' THEN 'ด้านกฎหมาย' WHEN 'budget' THEN 'ด้านงบประมาณ' "
                   "WHEN 'data' THEN 'ด้านข้อมูล' WHEN 'personnel' THEN 'ด้านบุคลากร' "
                   "WHEN 'equipment' THEN 'ด้านอุปกรณ์' ELSE 'ปัญหาอื่นๆ' END", "ด้าน")
LEVEL_TH = _col("CASE agency_level WHEN 'department' THEN 'ระดับกรม' WHEN 'province' THEN 'ระดับจังหวัด' "
                "WHEN 'special_local' THEN 'ท้องถิ่นรูปแบบพิเศษ' ELSE 'ท้องถิ่น' END", "ระดับหน่วยงาน")
PLAN_TH = _col("'แผน พ.ศ. ' || replace(substr(plan_code, 4), '_', '-')", "แผน")
PCT_STARTED = _metric("round(100.0 * count(*) FILTER (WHERE status IN ('started', 'started_early')) / count(*), 2)",
                      "ร้อยละที่เริ่มดำเนินการแล้ว")


def bar(dataset: str, x: dict | str, metrics: list, groupby: list | None = None, filters: list | None = None,
        stacked: bool = False) -> dict:
    return {"viz_type": "echarts_timeseries_bar", "dataset": dataset, "params": {
        "x_axis": x, "metrics": metrics, "groupby": groupby or [], "adhoc_filters": filters or [],
        "row_limit": 10000, "stack": "Stack" if stacked else None, "show_legend": True, "rich_tooltip": True,
        "x_axis_sort_asc": True, "orientation": "vertical", "y_axis_format": "SMART_NUMBER",
        "truncateXAxis": True, "xAxisLabelRotation": 0, "sort_series_type": "sum"}}


def table(dataset: str, columns: list[str], filters: list | None = None, order_by: list | None = None) -> dict:
    return {"viz_type": "table", "dataset": dataset, "params": {
        "query_mode": "raw", "all_columns": columns, "adhoc_filters": filters or [], "row_limit": 1000,
        "order_by_cols": [json.dumps([c, asc]) for c, asc in (order_by or [])], "server_pagination": False,
        "include_search": True, "table_timestamp_format": "smart_date"}}


DASHBOARDS: dict[str, dict] = {
    "projects": {
        "title": "โครงการตามแผนพัฒนารัฐบาลดิจิทัล",
        "charts": {
            "สถานะโครงการตามปีที่รายงาน": bar(
                "project_status", REPORTING_FY, [_metric("count(*)", "โครงการ")], [STATUS_TH], stacked=True),
            "ร้อยละที่เริ่มดำเนินการแล้ว ตามยุทธศาสตร์": bar(
                "project_status", _col("'ยุทธศาสตร์ที่ ' || strategy_no", "ยุทธศาสตร์"), [PCT_STARTED], [PLAN_TH]),
            "ร้อยละที่เริ่มดำเนินการแล้ว ตามระยะของขีดความสามารถ": bar(
                "project_status", REPORTING_FY, [PCT_STARTED],
                [_col("'ระยะที่ ' || capability_domain_phase", "ระยะ")]),
            "โครงการที่ล่าช้ากว่าแผน": table(
                "project_status", ["reporting_fy_be", "project_id", "project_name_th", "lead_agency_name_th",
                                   "planned_start_fy_be", "years_behind"],
                [_where("is_behind_plan")], [("reporting_fy_be", False), ("years_behind", False)]),
            "ปัญหาและอุปสรรค ตามด้าน": bar(
                "obstacles_by_year", REPORTING_FY, [_metric("sum(projects_reporting)", "โครงการที่รายงาน")],
                [CATEGORY_TH], stacked=True),
            "ปัญหาและอุปสรรคที่หน่วยงานรายงาน": table(
                "project_status", ["reporting_fy_be", "lead_agency_name_th", "project_id", "obstacle_categories_th",
                                   "obstacle_note_th"],
                [_where("obstacle_categories IS NOT NULL")], [("reporting_fy_be", False)]),
        },
    },
    "budget": {
        "title": "งบประมาณแผนงานบูรณาการรัฐบาลดิจิทัล",
        "charts": {
            "งบประมาณแผนงานบูรณาการรายปี": table(
                "budget_by_year", ["fiscal_year_be", "agencies", "projects", "amount_million_baht"],
                [DG_PLAN, _where("source = 'integration_plan'")], [("fiscal_year_be", False)]),
            "แผนงานบูรณาการเทียบกับ พ.ร.บ. งบประมาณ (ล้านบาท)": bar(
                "budget_plan_vs_bill", FY,
                [_metric("sum(allocated_baht) / 1e6", "ได้รับจัดสรรตามแผน"),
                 _metric("sum(bill_baht) FILTER (WHERE project_code IS NOT NULL) / 1e6", "ใน พ.ร.บ. ที่ตรงกับโครงการ"),
                 _metric("sum(bill_baht) FILTER (WHERE project_code IS NULL) / 1e6", "ใน พ.ร.บ. ที่ไม่ตรงกับโครงการใด")],
                filters=[DG_PLAN]),
            "รายการใน พ.ร.บ. ที่ไม่ตรงกับโครงการใด": table(
                "budget_plan_vs_bill", ["fiscal_year_be", "agency_name_th", "project_name_th", "bill_baht",
                                        "match_rule"],
                [DG_PLAN, _where("project_code IS NULL")], [("bill_baht", False)]),
            "คำของบประมาณเทียบกับที่ได้รับจัดสรร (ล้านบาท)": bar(
                "budget_requested_allocated", FY,
                [_metric("sum(requested_baht) / 1e6", "คำของบประมาณ"),
                 _metric("sum(allocated_baht) / 1e6", "ได้รับจัดสรร")], filters=[DG_PLAN]),
            "ได้รับจัดสรรตามแนวทาง (ล้านบาท)": bar(
                "budget_requested_allocated", FY, [_metric("sum(allocated_baht) / 1e6", "ได้รับจัดสรร")],
                ["approach_name_th"], [DG_PLAN], stacked=True),
            "ได้รับจัดสรรตามด้าน (ล้านบาท)": bar(
                "budget_requested_allocated", FY, [_metric("sum(allocated_baht) / 1e6", "ได้รับจัดสรร")],
                ["focus_area_name_th"], [DG_PLAN], stacked=True),
            "ความครบถ้วนของ พ.ร.บ. งบประมาณ (รายเล่ม)": table(
                "budget_bill_coverage", ["bill_fy_be", "ref_doc", "is_loaded", "lines_loaded", "lines_rejected",
                                         "obligation_lines", "amount_baht"],
                order_by=[("bill_fy_be", False)]),
        },
    },
    "readiness": {
        "title": "ความพร้อมรัฐบาลดิจิทัลของหน่วยงานภาครัฐ",
        "charts": {
            "คะแนนเฉลี่ยตามระดับหน่วยงาน": bar(
                "readiness_summary_by_year", SURVEY_YEAR, [_metric("max(mean_overall_score)", "คะแนนเฉลี่ย")],
                [LEVEL_TH]),
            "อัตราการตอบแบบสำรวจ (ร้อยละ)": bar(
                "readiness_summary_by_year", SURVEY_YEAR, [_metric("max(response_rate_pct)", "ร้อยละที่ตอบ")],
                [LEVEL_TH]),
            "คะแนนตามมิติ ระดับกรม": bar(
                "readiness_by_dimension_year", SURVEY_YEAR, [_metric("max(mean_score)", "คะแนนเฉลี่ย")],
                ["dimension_name_th"], [_where("agency_level = 'department'")]),
            "หน่วยงานตามระดับความพร้อม": bar(
                "readiness_by_year", SURVEY_YEAR, [_metric("count(*)", "หน่วยงาน")], ["readiness_band"],
                stacked=True),
            "ผลรายหน่วยงาน": table(
                "readiness_by_year", ["survey_year_be", "agency_name_th", "agency_level", "overall_score",
                                      "readiness_band", "rank_in_level", "score_change"],
                [_where("agency_level = 'department'")], [("survey_year_be", False), ("overall_score", False)]),
        },
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


def _position(title: str, chart_ids: list[tuple[str, str]]) -> dict:
    pos: dict = {"DASHBOARD_VERSION_KEY": "v2",
                 "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
                 "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
                 "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}}}
    for i in range(0, len(chart_ids), 2):
        row = f"ROW-{i // 2 + 1}"
        pos["GRID_ID"]["children"].append(row)
        pos[row] = {"type": "ROW", "id": row, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                    "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for j, (name, chart_uuid) in enumerate(chart_ids[i:i + 2]):
            cid = f"CHART-{i + j + 1}"
            pos[row]["children"].append(cid)
            pos[cid] = {"type": "CHART", "id": cid, "children": [], "parents": ["ROOT_ID", "GRID_ID", row],
                        "meta": {"width": 6, "height": 60, "chartId": 0, "uuid": chart_uuid, "sliceName": name}}
    return pos


def write(bundle: Path = BUNDLE, manifest: Path = MANIFEST) -> Path:
    if bundle.exists():
        shutil.rmtree(bundle)
    db_uuid = _uuid("database", DATABASE_NAME)
    _dump(bundle / "metadata.yaml", {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-11-29T00:00:00+00:00"})
    _dump(bundle / DATABASE_FILE, {
        "database_name": DATABASE_NAME, "sqlalchemy_uri": DATABASE_URI, "cache_timeout": None,
        "expose_in_sqllab": True, "allow_run_async": False, "allow_ctas": False, "allow_cvas": False,
        "allow_dml": False, "allow_file_upload": False, "extra": {"allows_virtual_table_explore": True},
        "uuid": db_uuid, "version": "1.0.0"})
    marts = marts_from_manifest(manifest)
    used = {c["dataset"] for d in DASHBOARDS.values() for c in d["charts"].values()}
    missing = used - set(marts)
    if missing:
        raise SystemExit(f"charts use marts the manifest lacks: {sorted(missing)} (run make manifest)")
    for name, description in sorted(marts.items()):
        _dump(bundle / "datasets" / "DG_warehouse_marts" / f"{name}.yaml", {
            "table_name": name, "main_dttm_col": None, "description": description or None,
            "default_endpoint": None, "offset": 0, "cache_timeout": None, "schema": "marts", "sql": None,
            "params": None, "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
            "extra": None, "normalize_columns": False, "always_filter_main_dttm": False,
            "uuid": _uuid("dataset", name), "metrics": [], "columns": [], "version": "1.0.0",
            "database_uuid": db_uuid})
    for key, dash in DASHBOARDS.items():
        chart_ids = []
        for name, chart in dash["charts"].items():
            chart_uuid = _uuid("chart", f"{key}:{name}")
            chart_ids.append((name, chart_uuid))
            params = {"viz_type": chart["viz_type"], **chart["params"]}
            _dump(bundle / "charts" / f"{key}_{len(chart_ids):02d}.yaml", {
                "slice_name": name, "description": None, "certified_by": None, "certification_details": None,
                "viz_type": chart["viz_type"], "params": params, "query_context": None, "cache_timeout": None,
                "uuid": chart_uuid, "version": "1.0.0", "dataset_uuid": _uuid("dataset", chart["dataset"])})
        _dump(bundle / "dashboards" / f"{key}.yaml", {
            "dashboard_title": dash["title"], "description": None, "css": "", "slug": f"dg-{key}",
            "certified_by": None, "certification_details": None, "published": True,
            "uuid": _uuid("dashboard", key), "position": _position(dash["title"], chart_ids),
            "metadata": {"color_scheme": "supersetColors", "refresh_frequency": 0, "native_filter_configuration": [],
                         "cross_filters_enabled": True, "timed_refresh_immune_slices": [],
                         "expanded_slices": {}, "label_colors": {}, "shared_label_colors": [],
                         "color_scheme_domain": []},
            "version": "1.0.0"})
    return bundle


if __name__ == "__main__":
    print(write())

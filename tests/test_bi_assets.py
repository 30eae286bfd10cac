"""The dashboards as code (bi/superset/): fresh from bi.assets, a dataset for every mart, and dbt
exposures that point at the dashboards the bundle really has. No Superset needed."""

from __future__ import annotations

import json
import re

import yaml

from bi import assets
from tests.conftest import REPO


def test_bundle_is_fresh_and_has_a_dataset_per_mart(tmp_path):
    fresh = assets.write(tmp_path / "superset")
    committed = assets.BUNDLE
    names = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*.yaml"))
    assert names == sorted(str(p.relative_to(committed)) for p in committed.rglob("*.yaml")), "run python -m bi.assets"
    for name in names:
        assert (fresh / name).read_text() == (committed / name).read_text(), f"{name}: run python -m bi.assets"
    datasets = {yaml.safe_load(p.read_text())["table_name"] for p in committed.glob("datasets/*/*.yaml")}
    assert datasets == set(assets.marts_from_manifest())
    assert {"project_status", "budget_plan_vs_bill", "budget_requested_allocated", "agency_scorecard"} <= datasets


def test_exposures_point_at_the_bundles_dashboards():
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    slugs = {yaml.safe_load(p.read_text())["slug"] for p in assets.BUNDLE.glob("dashboards/*.yaml")}
    urls = [e["url"] for e in manifest["exposures"].values() if e["type"] == "dashboard" and e.get("url")]
    pointed = {m.group(1) for u in urls if (m := re.search(r"/superset/dashboard/([^/]+)/", u))}
    assert pointed <= slugs and {"dg-projects", "dg-budget", "dg-readiness", "dg-agency"} == slugs
    for path in assets.BUNDLE.glob("dashboards/*.yaml"):
        dash = yaml.safe_load(path.read_text())
        parts = [v for v in dash["position"].values() if isinstance(v, dict)]
        charts = {v["meta"]["uuid"] for v in parts if v.get("type") == "CHART"}
        known = {yaml.safe_load(p.read_text())["uuid"] for p in assets.BUNDLE.glob("charts/*.yaml")}
        assert charts and charts <= known, path.name


def test_compose_and_make_bi_run_one_superset_version():
    """The compose image (docker/superset/Dockerfile) and make bi / the tests (bi/requirements.txt) pin the same
    Superset release, so the dashboards are tested on the version production runs."""
    image = re.search(r"^FROM apache/superset:(\S+)", (REPO / "docker/superset/Dockerfile").read_text(), re.M)
    pin = re.search(r"^apache-superset==(\S+)", (REPO / "bi/requirements.txt").read_text(), re.M)
    assert image and pin, "a Superset version in docker/superset/Dockerfile and bi/requirements.txt"
    assert image.group(1) == pin.group(1), (image.group(1), pin.group(1))


def _datasets() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(assets.BUNDLE.glob("datasets/*/*.yaml"))]


def test_every_dataset_column_has_a_thai_label_and_a_description():
    unlabelled = [f"{d['table_name']}.{c['column_name']}" for d in _datasets() for c in d["columns"]
                  if not (c["verbose_name"] and re.search("[\u0e01-\u0e5b]", c["verbose_name"]))]
    undescribed = [f"{d['table_name']}.{c['column_name']}" for d in _datasets() for c in d["columns"]
                   if not c["description"]]
    assert not unlabelled, f"{len(unlabelled)} columns without a Thai label (meta.label_th): {unlabelled}"
    assert not undescribed, f"{len(undescribed)} columns without a description: {undescribed}"


def test_every_dataset_has_a_saved_metric_besides_count_and_charts_carry_no_label_case():
    for dataset in _datasets():
        metrics = [m for m in dataset["metrics"] if m["expression"].upper() != "COUNT(*)"]
        assert metrics, dataset["table_name"]
        assert all(m["verbose_name"] and m["d3format"] for m in dataset["metrics"]), dataset["table_name"]
    for path in assets.BUNDLE.glob("charts/*.yaml"):
        assert not re.search(r"\bCASE\b", path.read_text(), re.I), f"{path.name}: a label belongs in the marts"


def test_metrics_are_null_over_two_plans_or_years():
    """The saved metrics of the plan and year marts answer within one plan and one year only (a maximum, which
    never adds anything up, answers over any)."""
    by_name = {d["table_name"]: d for d in _datasets()}
    for mart, guards in (("project_status_by_year", ("plan_code", "reporting_fy_be")),
                         ("project_status", ("plan_code", "reporting_fy_be")),
                         ("readiness_summary_by_year", ("survey_year_be",)),
                         ("budget_by_year", ("budget_plan_code", "source", "fiscal_year_be"))):
        for metric in by_name[mart]["metrics"]:
            if metric["metric_name"] != "count" and not metric["expression"].startswith("max("):
                assert all(f"count(DISTINCT {g}) = 1" in metric["expression"] for g in guards), (mart, metric)


def test_every_dashboard_has_filters_headline_figures_and_tables_of_all_rows():
    for path in assets.BUNDLE.glob("dashboards/*.yaml"):
        dash = yaml.safe_load(path.read_text())
        assert dash["metadata"]["native_filter_configuration"], path.name
        ids = [v["meta"]["chartId"] for v in dash["position"].values()
               if isinstance(v, dict) and v.get("type") == "CHART"]
        assert len(ids) == len(set(ids)), path.name  # filter scopes name charts by these ids
    charts = [yaml.safe_load(p.read_text()) for p in assets.BUNDLE.glob("charts/*.yaml")]
    assert {c["slice_name"] for c in charts if c["viz_type"] == "big_number_total"} >= {
        "โครงการที่ถึงกำหนดเริ่ม", "เริ่มดำเนินการแล้ว", "ร้อยละที่เริ่มดำเนินการแล้ว", "คำของบประมาณ (ล้านบาท)",
        "ได้รับจัดสรรตามแผนบูรณาการ (ล้านบาท)", "หน่วยงานเป้าหมาย", "อัตราการตอบ (ร้อยละ)", "คะแนนเฉลี่ย"}
    tables = [c["params"] for c in charts if c["viz_type"] == "table"]
    # Every row (none cut at 1,000), without server pagination's "Search by" list of raw column names.
    assert tables and all(t["row_limit"] >= 100_000 and not t["server_pagination"] for t in tables)
    # Superset's table shows NULL as "N/A": the columns empty for a reason are shown through their blank twins.
    marts = {d["uuid"]: d["table_name"] for d in _datasets()}
    for chart in charts:
        if chart["viz_type"] == "table":
            blanks = assets.BLANKS.get(marts[chart["dataset_uuid"]], {})
            assert not set(chart["params"]["all_columns"]) & set(blanks), chart["slice_name"]

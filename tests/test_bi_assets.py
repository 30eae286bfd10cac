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
    assert pointed == slugs == {"dg-projects", "dg-budget", "dg-readiness"}
    for path in assets.BUNDLE.glob("dashboards/*.yaml"):
        dash = yaml.safe_load(path.read_text())
        parts = [v for v in dash["position"].values() if isinstance(v, dict)]
        charts = {v["meta"]["uuid"] for v in parts if v.get("type") == "CHART"}
        known = {yaml.safe_load(p.read_text())["uuid"] for p in assets.BUNDLE.glob("charts/*.yaml")}
        assert charts and charts <= known, path.name

"""dbt's own tooling on the sample warehouse: source freshness and the generated docs."""

from __future__ import annotations

import json
import re

from ground.settings import get_settings
from nightly.transform import DOCS_GENERATE, DOCS_PAGE, run_dbt

RAW_TABLES = {"project_reports", "readiness", "integration_plan", "budget_bill"}


def test_source_freshness_passes_on_the_sample(sample):
    outcome = run_dbt(["source", "freshness"])
    assert outcome.success, outcome.failures
    results = json.loads((get_settings().state_dir / "dbt_target" / "sources.json").read_text())["results"]
    status = {r["unique_id"].split(".")[-1]: r["status"] for r in results
              if r["unique_id"].startswith("source.dg_warehouse.raw.")}
    assert status == dict.fromkeys(RAW_TABLES, "pass")


def test_docs_generate_documents_every_mart(sample):
    outcome = run_dbt(list(DOCS_GENERATE))
    assert outcome.success, outcome.failures
    target = get_settings().state_dir / "dbt_target"
    page = (target / DOCS_PAGE).read_text()
    # self-contained: the manifest and catalog are inside the page, so opened from disk it fetches nothing
    assert "project_status_by_year" in page and "readiness_summary_by_year" in page
    assert len(page) > (target / "index.html").stat().st_size
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    marts = {uid: node for uid, node in manifest.items()
             if node["resource_type"] == "model" and node["config"]["schema"] == "marts"}
    assert {"project_status_by_year", "budget_by_year", "readiness_summary_by_year", "dim_fiscal_year",
            "fct_budget_lines", "readiness_by_dimension_year"} <= {n["name"] for n in marts.values()}
    for uid, node in marts.items():
        assert uid in catalog, f"{node['name']} is not in the catalog"
        built = set(catalog[uid]["columns"])
        documented = {name for name, col in node["columns"].items() if col.get("description", "").strip()}
        assert built == set(node["columns"]) == documented, (node["name"], built ^ documented)
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["description"].strip(), node["name"]
    # the docs open on the project's overview for analysts (models/overview.md), not dbt's generic "Welcome!"
    overview = json.loads((target / "manifest.json").read_text())["docs"]["doc.dg_warehouse.__overview__"]
    text = overview["block_contents"]
    assert "What each mart answers" in text and "ตารางแต่ละตารางตอบคำถามอะไร" in text
    named = set(re.findall(r"`([a-z_]+)`", text)) - {"marts", "bi_reader", "..._be"}
    # every mart, and only marts: a new mart without its question fails here
    assert named == {n["name"] for n in marts.values()}, named ^ {n["name"] for n in marts.values()}
    assert "doc.dg_warehouse.__overview__" in page

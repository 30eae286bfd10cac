"""Every mart column has a Thai label and an English description, held once in the model's dbt YAML
(``config.meta.label_th`` and ``description``), and the labels reach the manifest BI tools and dbt docs read."""

from __future__ import annotations

import json
import re

from ground.settings import REPO_ROOT

THAI = re.compile(r"[\u0e00-\u0e7f]")
MANIFEST = REPO_ROOT / "dbt_project" / "target" / "manifest.json"


def _marts() -> dict[str, dict]:
    nodes = json.loads(MANIFEST.read_text())["nodes"].values()
    return {n["name"]: n for n in nodes if n["resource_type"] == "model" and n["config"]["schema"] == "marts"}


def test_every_mart_column_has_a_thai_label_and_a_description():
    marts = _marts()
    assert {"project_status", "project_obstacles", "budget_plan_vs_bill", "readiness_by_year"} <= set(marts)
    lacking = []
    for name, node in sorted(marts.items()):
        if not node["description"].strip():
            lacking.append(f"{name}: no description")
        assert node["columns"], f"{name} documents no column"
        for column, spec in node["columns"].items():
            label = spec.get("config", {}).get("meta", {}).get("label_th") or ""
            if not THAI.search(label):
                lacking.append(f"{name}.{column}: no Thai label (config.meta.label_th)")
            if not spec.get("description", "").strip():
                lacking.append(f"{name}.{column}: no description")
    assert not lacking, "\n".join(lacking)


def test_every_code_column_people_read_has_a_thai_label_column_beside_it():
    """A code column (plan, budget plan, source, status, level, band, category, match rule) has its
    *_name_th / *_label_th beside it in the same mart."""
    beside = {"plan_code": ("plan_name_th",), "budget_plan_code": ("budget_plan_name_th",),
              "source": ("source_name_th",), "status": ("status_name_th",),
              "agency_level": ("agency_level_name_th",), "readiness_band": ("readiness_band_name_th",),
              "category": ("category_name_th",), "match_rule": ("match_rule_name_th",),
              "approach_code": ("approach_label_th",), "submission_type": ("submission_type_name_th",),
              "is_behind_plan": ("is_behind_plan_th",), "unmatched_reason": ("unmatched_reason_th",)}
    facts = {"fct_budget_lines", "fct_readiness_responses"}  # incremental facts: their columns are fixed
    missing = [f"{name}.{code} without {labels[0]}"
               for name, node in _marts().items() if name not in facts
               for code, labels in beside.items()
               if code in node["columns"] and not any(label in node["columns"] for label in labels)]
    assert not missing, "\n".join(missing)

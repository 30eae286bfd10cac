"""The marts as Airflow Assets: data-aware DAGs and BI refreshes schedule on these URIs."""

from __future__ import annotations

from airflow.sdk import Asset

MART_NAMES = (
    "project_status_by_year", "obstacles_by_year", "budget_by_year", "budget_by_agency_year",
    "readiness_by_year", "readiness_summary_by_year", "submission_coverage", "dim_agency", "dim_fiscal_year",
    "budget_by_approach_focus_year", "readiness_by_dimension_year", "fct_readiness_responses", "fct_budget_lines")
MARTS = [Asset(f"postgres://warehouse/marts/{name}") for name in MART_NAMES]

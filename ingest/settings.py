"""Configuration from environment variables, with working defaults (see contract.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Airflow connection the warehouse is inside Airflow (ingest/warehouse.py, dags/common/dbt_group.py).
WAREHOUSE_CONN_ID = "dg_warehouse"


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    landing_zone: str
    warehouse_url: str | None
    state_dir: Path

    @property
    def quarantine_dir(self) -> Path:
        return Path(os.environ.get("QUARANTINE_DIR", self.state_dir / "quarantine"))

    @property
    def reports_dir(self) -> Path:
        return Path(os.environ.get("REPORTS_DIR", self.state_dir / "reports"))

    @property
    def dbt_project_dir(self) -> Path:
        return self.repo_root / "dbt_project"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"


@lru_cache(maxsize=1)
def plausible_fiscal_years() -> tuple[int, int]:
    """(first, last) plausible fiscal year, BE: the dbt vars ``fy_min_be``/``fy_max_be``, one setting for all."""
    with open(REPO_ROOT / "dbt_project" / "dbt_project.yml", encoding="utf-8") as fh:
        project = yaml.safe_load(fh)
    return int(project["vars"]["fy_min_be"]), int(project["vars"]["fy_max_be"])


def get_settings() -> Settings:
    """Read the environment each call so tests and DAG runs can point elsewhere."""
    repo_root = Path(os.environ.get("DGWH_REPO_ROOT", REPO_ROOT))
    return Settings(
        repo_root=repo_root,
        landing_zone=os.environ.get("LANDING_ZONE") or str(repo_root / "landing"),
        warehouse_url=os.environ.get("WAREHOUSE_URL") or None,
        state_dir=Path(os.environ.get("DGWH_STATE_DIR", repo_root / ".state")),
    )

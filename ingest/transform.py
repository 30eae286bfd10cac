"""Run dbt against the warehouse: credentials go to dbt through the environment, never argv or logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ingest.settings import get_settings
from ingest.warehouse import warehouse_url


@dataclass
class DbtOutcome:
    success: bool
    models: int
    tests_passed: int
    tests_failed: int
    failures: list[str]


def dbt_env(url: str | None = None) -> dict[str, str]:
    parts = urlsplit(url or warehouse_url())
    return {
        "DBT_PG_HOST": parts.hostname or "127.0.0.1",
        "DBT_PG_PORT": str(parts.port or 5432),
        "DBT_PG_USER": unquote(parts.username or ""),
        "DBT_PG_PASSWORD": unquote(parts.password or ""),
        "DBT_PG_DBNAME": parts.path.lstrip("/") or "postgres",
    }


def run_dbt(args: list[str]) -> DbtOutcome:
    """``dbt <args>`` in-process (dbtRunner)."""
    from dbt.cli.main import dbtRunner

    settings = get_settings()
    os.environ.update(dbt_env())
    project = str(settings.dbt_project_dir)
    cli = [*args, "--project-dir", project, "--profiles-dir", project,
           "--target-path", str(settings.state_dir / "dbt_target"), "--log-path", str(settings.state_dir / "dbt_logs")]
    result = dbtRunner().invoke(cli)
    models = tests_passed = tests_failed = 0
    failures: list[str] = []
    for node in (result.result or []) if hasattr(result.result, "__iter__") else []:
        resource = getattr(node.node, "resource_type", "")
        status = str(node.status)
        if resource == "test":
            if status in ("pass", "warn"):
                tests_passed += 1
            else:
                tests_failed += 1
                failures.append(f"{node.node.name}: {status}")
        elif resource in ("model", "seed"):
            if status == "success":
                models += 1
            else:
                failures.append(f"{node.node.name}: {status}")
    return DbtOutcome(bool(result.success), models, tests_passed, tests_failed, failures)

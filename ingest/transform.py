"""Run dbt against the warehouse: credentials go to dbt through the environment, never argv or logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
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


def build_manifest() -> Path:
    """``dbt parse`` into ``dbt_project/target/manifest.json``, which the DAGs render their dbt tasks from.

    Parsing never connects, so placeholder credentials do when no warehouse is configured."""
    from dbt.cli.main import dbtRunner

    settings = get_settings()
    for key, value in {"DBT_PG_HOST": "localhost", "DBT_PG_PORT": "5432", "DBT_PG_USER": "parse",
                       "DBT_PG_PASSWORD": "", "DBT_PG_DBNAME": "warehouse"}.items():
        os.environ.setdefault(key, value)
    project = settings.dbt_project_dir
    result = dbtRunner().invoke(["parse", "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--target-path", str(project / "target"),
                                 "--log-path", str(settings.state_dir / "dbt_logs"), "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return project / "target" / "manifest.json"


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
        if resource in ("test", "unit_test"):
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


def dbt_results_for_run(conn, run_id: str) -> DbtOutcome:
    """What every dbt invocation of one Airflow run did (rows written by the on-run-end hook)."""
    if conn.execute("SELECT to_regclass('ops.dbt_results')").fetchone()[0] is None:
        return DbtOutcome(False, 0, 0, 0, ["no dbt results recorded"])
    rows = conn.execute(
        """SELECT DISTINCT ON (unique_id) unique_id, resource_type, status FROM ops.dbt_results
           WHERE run_id = %s ORDER BY unique_id, recorded_at DESC""", (run_id,)).fetchall()
    ok = {"success", "pass", "warn"}
    models = sum(1 for _, kind, status in rows if kind in ("model", "seed") and status == "success")
    tests_passed = sum(1 for _, kind, status in rows if kind in ("test", "unit_test") and status in ok)
    failures = [f"{uid}: {status}" for uid, _, status in rows if status not in ok]
    tests_failed = sum(1 for _, kind, status in rows if kind in ("test", "unit_test") and status not in ok)
    return DbtOutcome(bool(rows) and not failures, models, tests_passed, tests_failed, failures)


if __name__ == "__main__":
    print(build_manifest())

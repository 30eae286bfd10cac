"""``make backfill`` through Airflow (the ``dg_backfill`` DAG: one dbt build, its results per layer) on a
warehouse whose full run the nightly service made: the backfill leaves the full run's marts and rebuilds only its years.

A module of its own, so it runs beside tests/test_airflow.py instead of after it: its warehouse is built by
``nightly.service.run_night`` (what dg_nightly's tasks call, in one process) rather than by an Airflow night.
Running the same range again rebuilds the same partitions to the same rows: tests/test_dbt_incremental.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from prodcheck.warehouse import marts_fingerprint
from tests.conftest import REPO, seed_airflow_home, service_night

YEARS = "SELECT survey_year_be, min(dbt_invocation_id) FROM marts.fct_readiness_responses GROUP BY 1"


@pytest.fixture(scope="module")
def full_run(make_warehouse, sample_files: Path, airflow_template: Path):
    """Four survey years and a year of each budget source, loaded and built by one night of the service."""
    wh = make_warehouse("backfill")
    wh.use()
    for rel in ("readiness/2562", "readiness/2563", "readiness/2564", "readiness/2565", "integration_plan/2564",
                "integration_plan/2565", "budget_bill/2564", "project_reports/2563"):
        shutil.copytree(sample_files / rel, wh.landing / rel)
    service_night("test-full-run")
    seed_airflow_home(wh.state / "airflow", airflow_template)
    return wh


def test_a_two_year_backfill_gives_the_full_runs_marts_and_rebuilds_only_its_years(full_run):
    with full_run.connect() as conn:
        full = marts_fingerprint(conn)
        built = dict(conn.execute(YEARS).fetchall())
    assert set(built) == {2562, 2563, 2564, 2565}
    run = subprocess.run(["make", "-s", "backfill", "FROM=2563", "TO=2564"], cwd=REPO, capture_output=True,
                         text=True, timeout=1200, env={**os.environ, "AIRFLOW_HOME": str(full_run.state / "airflow")})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "backfill FY 2563-2564: ok" in run.stdout
    with full_run.connect() as conn:
        assert marts_fingerprint(conn) == full, "the backfill changed the marts"
        rebuilt = dict(conn.execute(YEARS).fetchall())
        invocations, models = conn.execute(
            "SELECT count(DISTINCT invocation_id), count(DISTINCT unique_id) FILTER (WHERE resource_type = 'model') "
            "FROM ops.dbt_results WHERE run_id <> %s", ("test-full-run",)).fetchone()
    assert rebuilt[2562] == built[2562] and rebuilt[2565] == built[2565], "years outside the range were rebuilt"
    assert rebuilt[2563] != built[2563] and rebuilt[2564] != built[2564], "the range was not rebuilt"
    # one dbt build for the range (then the cross-model tests), each model's result recorded for its Airflow task
    assert invocations <= 2 and models > 20, (invocations, models)

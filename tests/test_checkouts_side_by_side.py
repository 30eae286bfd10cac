"""Two checkouts on one machine run side by side (contract): each has its own embedded warehouse, in
the checkout, with its own port, passwords and data; stopping one leaves the other running."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.conftest import REPO

ENV_POINTING_ELSEWHERE = ("DGWH_STATE_DIR", "DGWH_REPO_ROOT", "WAREHOUSE_URL", "LANDING_ZONE", "AIRFLOW_HOME")


def _warehouse(checkout: Path, command: str) -> str:
    """``python -m ground.warehouse <command>`` run from the checkout with nothing in the environment
    pointing at a warehouse or state dir: what ``make warehouse-url`` / ``make stop`` do there."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_POINTING_ELSEWHERE}
    env["PYTHONPATH"] = str(checkout)
    run = subprocess.run([sys.executable, "-m", "ground.warehouse", command], cwd=checkout, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip().splitlines()[-1]


def test_two_checkouts_each_start_their_own_warehouse_inside_the_checkout():
    checkouts = [Path(tempfile.mkdtemp(prefix=f"dgwh-checkout-{n}-")) for n in "ab"]
    try:
        for checkout in checkouts:
            shutil.copytree(REPO / "ground", checkout / "ground", ignore=shutil.ignore_patterns("__pycache__"))
            (checkout / "dbt_project").mkdir()  # the settings the warehouse applies (its roles' limits)
            shutil.copy(REPO / "dbt_project" / "dbt_project.yml", checkout / "dbt_project")
        urls = [_warehouse(c, "url") for c in checkouts]
        assert urls[0] != urls[1]
        assert all((c / ".state" / "pgdata").is_dir() for c in checkouts), "state is not inside the checkout"
        for n, url in enumerate(urls):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE SCHEMA IF NOT EXISTS ops")
                conn.execute("CREATE TABLE IF NOT EXISTS ops.whoami (checkout int)")
                conn.execute("INSERT INTO ops.whoami VALUES (%s)", (n,))
        for n, url in enumerate(urls):
            with psycopg.connect(url, autocommit=True) as conn:
                assert conn.execute("SELECT array_agg(checkout) FROM ops.whoami").fetchone()[0] == [n]

        assert _warehouse(checkouts[0], "stop").startswith("embedded warehouse stopped")
        with psycopg.connect(urls[1], autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM ops.whoami").fetchone()[0] == 1
        assert _warehouse(checkouts[0], "url") == urls[0], "a restarted checkout kept neither its port nor its data"
    finally:
        for checkout in checkouts:
            try:
                with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                    _warehouse(checkout, "stop")
            finally:
                shutil.rmtree(checkout, ignore_errors=True)

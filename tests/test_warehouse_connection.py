"""The warehouse as the Airflow connection ``dg_warehouse``: the dbt tasks' profile is
mapped from it by Cosmos (no profiles file with credentials), the pipeline's own tasks resolve it, and a real
dbt task run through Airflow gets its credentials from it alone, with no password in any file or log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import REPO, seed_airflow_home
from tests.test_reliability import assert_no_password_in_state_files, passwords

MODEL_TASK = "dbt.build"  # the night's one dbt build (Cosmos), here of dim_plan: it reads two seeds, no model
# What must not reach the Airflow task: every other way credentials used to reach dbt or the pipeline.
NOT_INHERITED = ("WAREHOUSE_URL", "AIRFLOW_CONN_DG_WAREHOUSE", "DBT_PG_HOST", "DBT_PG_PORT", "DBT_PG_USER",
                 "DBT_PG_PASSWORD", "DBT_PG_DBNAME")


def _dags(tmp_path: Path, monkeypatch) -> dict:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def test_every_dbt_task_maps_its_profile_from_the_warehouse_connection(tmp_path, monkeypatch):
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    dags = _dags(tmp_path, monkeypatch)
    checked = 0
    for dag_id in ("dg_nightly", "dg_backfill"):
        for task in dags[dag_id].tasks:
            if not task.task_id.startswith("dbt.") or not hasattr(task, "profile_config"):
                continue  # dbt.plan and dbt.node run no dbt
            config = task.profile_config
            assert config.profiles_yml_filepath is None, task.task_id
            assert (config.profile_name, config.target_name) == ("dg_warehouse", "warehouse")
            mapping = config.profile_mapping
            assert isinstance(mapping, PostgresUserPasswordProfileMapping), task.task_id
            assert mapping.conn_id == "dg_warehouse"
            assert mapping.profile_args["schema"] == "staging"
            checked += 1
    assert checked == 2  # dbt.build in each DAG

    # Rendered from a real connection (Airflow's environment backend): the password goes to dbt through an
    # environment variable, never into the profile Cosmos writes.
    password = "s3cret-Only-In-The-Connection"
    monkeypatch.setenv("AIRFLOW_CONN_DG_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": "wh.example", "port": 6543, "login": "dg_pipeline",
        "password": password, "schema": "warehouse"}))
    mapping = dags["dg_nightly"].get_task(MODEL_TASK).profile_config.profile_mapping
    mapping._conn = None
    assert mapping.can_claim_connection()
    contents = mapping.get_profile_file_contents("dg_warehouse", "warehouse")
    assert password not in contents
    import yaml

    output = yaml.safe_load(contents)["dg_warehouse"]["outputs"]["warehouse"]
    assert output == {"type": "postgres", "host": "wh.example", "port": 6543, "user": "dg_pipeline",
                      "dbname": "warehouse", "schema": "staging", "threads": 4, "connect_timeout": 10,
                      "retries": 2, "password": "{{ env_var('COSMOS_CONN_POSTGRES_PASSWORD') }}"}
    assert mapping.env_vars == {"COSMOS_CONN_POSTGRES_PASSWORD": password}
    # The profiles file dbt uses outside Airflow (make targets, tests) holds no credentials either.
    profiles = yaml.safe_load((REPO / "dbt_project" / "profiles.yml").read_text())
    for key in ("host", "port", "user", "password", "dbname"):
        assert "env_var(" in str(profiles["dg_warehouse"]["outputs"]["warehouse"][key]), key


def test_the_pipelines_python_tasks_resolve_the_warehouse_from_the_same_connection(tmp_path, monkeypatch):
    """WAREHOUSE_URL unset: the connection (another server) is the warehouse, and no embedded server is made;
    WAREHOUSE_URL set: it wins, as the contract says."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    import airflow.sdk  # noqa: F401 - as in a task: Airflow is loaded

    from ground.warehouse import bi_reader_url, connection_url, mask_url, warehouse_url

    monkeypatch.setenv("DGWH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_DG_WAREHOUSE", raising=False)
    assert connection_url() is None
    password = "p@ss/w:rd-from-the-connection"
    monkeypatch.setenv("AIRFLOW_CONN_DG_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": "wh.example", "port": 6543, "login": "dg_pipeline",
        "password": password, "schema": "warehouse", "extra": {"sslmode": "require", "not_libpq": "x1234"}}))
    url = f"postgresql://dg_pipeline:{quote(password, safe='')}@wh.example:6543/warehouse?sslmode=require"
    assert connection_url() == url and warehouse_url() == url
    assert mask_url(url) == "postgresql://dg_pipeline:***@wh.example:6543/warehouse?sslmode=require"
    monkeypatch.setenv("BI_READER_PASSWORD", "bi-reader-secret")
    assert bi_reader_url().startswith("postgresql://bi_reader:bi-reader-secret@wh.example:6543/warehouse")
    assert not (tmp_path / "state" / "pg.json").exists(), "an embedded server was made beside the connection"
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://u:p@elsewhere:5432/wh")
    assert warehouse_url() == "postgresql://u:p@elsewhere:5432/wh"
    # The command line too (a process that has not loaded Airflow looks the connection up when it is set).
    monkeypatch.delenv("WAREHOUSE_URL")
    done = subprocess.run([sys.executable, "-m", "ground.warehouse", "url"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == url


@pytest.fixture(scope="module")
def conn_wh(make_warehouse, airflow_template):
    from ground.schema import ensure_schema

    wh = make_warehouse("connection")
    wh.use()
    with wh.connect() as conn:
        ensure_schema(conn)
    seed_airflow_home(wh.state / "airflow", airflow_template)
    return wh


def _task_test(wh, **env: str) -> subprocess.CompletedProcess:
    """``airflow tasks test`` of one dbt task through scripts/airflow.sh, which defines the connection; none of
    the other ways credentials could reach dbt is in the environment."""
    base = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    base.update({"AIRFLOW_HOME": str(wh.state / "airflow"), "DGWH_STATE_DIR": str(wh.state),
                 "LANDING_ZONE": str(wh.landing), "AIRFLOW__COSMOS__CACHE_DIR": str(wh.state / "cosmos"),
                 "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO", **env})
    return subprocess.run([str(REPO / "scripts" / "airflow.sh"), "tasks", "test", "dg_nightly", MODEL_TASK,
                           "-t", json.dumps({"dbt_select": ["dim_plan"]})],
                          cwd=REPO, env=base, capture_output=True, text=True, timeout=1200)


def test_a_dbt_task_runs_with_credentials_from_the_connection_alone_and_no_password_is_written(conn_wh):
    wh = conn_wh
    # The seeds dim_plan reads, built by the pipeline's own dbt runner (whose credentials come from the same
    # connection: the test above); then the Cosmos task.
    from nightly.service import build

    assert build({"select": ["resource_type:seed"]}, "test-seeds", None, "cautious").success
    with wh.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS marts.dim_plan")
    run = _task_test(wh)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    with wh.connect() as conn:
        assert conn.execute("SELECT count(*) FROM marts.dim_plan").fetchone()[0] == 3
        recorded = conn.execute("SELECT status FROM ops.dbt_results WHERE unique_id LIKE 'model.%.dim_plan' "
                                "AND run_id <> 'test-seeds' ORDER BY recorded_at DESC LIMIT 1").fetchone()
    assert recorded == ("success",)
    # Cosmos's profile came from the connection: the server's address in it, the password an env_var().
    profiles = list((wh.state / "cosmos").rglob("profiles.yml"))
    assert profiles, "Cosmos wrote no profile"
    import yaml

    from ground.embedded_pg import EmbeddedWarehouse

    for profile in profiles:
        output = yaml.safe_load(profile.read_text())["dg_warehouse"]["outputs"]["warehouse"]
        assert (output["host"], output["port"], output["user"], output["dbname"]) == (
            "127.0.0.1", EmbeddedWarehouse(wh.state).config().port, "dg_pipeline", "warehouse")
        assert output["password"] == "{{ env_var('COSMOS_CONN_POSTGRES_PASSWORD') }}"
    # No password in the output, the task logs, Airflow's database (rendered templates) or any other file.
    scanned = assert_no_password_in_state_files(wh)
    for pw in passwords(wh):
        assert pw not in output
    assert scanned > 5 and list((wh.state / "airflow").rglob("*.db"))


def test_the_dbt_task_uses_the_connection_s_password_not_another_source(conn_wh):
    """The same server with a wrong password in the connection: the dbt task is refused, so its credentials
    came from the connection (and the wrong password is not printed either)."""
    wh = conn_wh
    wrong = "not-the-password-0f-dg_pipeline"
    url = wh.url()
    bad = url.replace(url.split("//", 1)[1].split("@", 1)[0], f"dg_pipeline:{wrong}")
    with wh.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS marts.dim_plan")
    run = _task_test(wh, AIRFLOW_CONN_DG_WAREHOUSE=bad)
    output = run.stdout + run.stderr  # `tasks test` exits 0 whatever the task did: the task's log says
    assert 'password authentication failed for user "dg_pipeline"' in output, output[-3000:]
    with wh.connect() as conn:
        assert conn.execute("SELECT to_regclass('marts.dim_plan')").fetchone()[0] is None
    assert wrong not in output

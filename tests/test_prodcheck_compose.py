"""make prod-check runs docker-compose.yml's own commands and settings: every Airflow service becomes a
process whose environment and command name no container host, port or path any more (a new one in the
compose file or the Dockerfile makes this fail until prodcheck/compose.py translates it)."""

from __future__ import annotations

import re
from pathlib import Path

from prodcheck import compose
from tests.conftest import REPO

CONTAINER_NAMES = re.compile(r"(metadata-db|redis|warehouse|airflow-apiserver):\d+|/opt/(dgwh|airflow)\b")


def _processes(tmp_path: Path) -> dict[str, compose.Process]:
    example = compose.read_env_file(REPO / ".env.example")
    env = {**example, "LANDING_ZONE": str(tmp_path / "landing")}
    spec = compose.load_compose(env)
    local = compose.Local(root=tmp_path, ports={"metadata-db:5432": 1001, "redis:6379": 1002,
                                                "warehouse:5432": 1003, "airflow-apiserver:8080": 1004})
    return {name: compose.airflow_process(spec, name, local, {}) for name in compose.AIRFLOW_SERVICES}


def test_every_airflow_service_runs_from_the_compose_file_with_nothing_of_the_container_left(tmp_path):
    processes = _processes(tmp_path)
    for name, process in processes.items():
        leftovers = {k: v for k, v in process.env.items() if CONTAINER_NAMES.search(v)}
        assert not leftovers, (name, leftovers)
        assert not [a for a in process.argv if CONTAINER_NAMES.search(a)], (name, process.argv)
    env = processes["airflow-scheduler"].env
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@127.0.0.1:1001/airflow")
    assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@127.0.0.1:1002/0")
    assert env["WAREHOUSE_URL"].endswith("@127.0.0.1:1003/warehouse")
    assert env["AIRFLOW_CONN_DG_WAREHOUSE"] == env["WAREHOUSE_URL"]  # the dbt tasks' connection: the same server
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:1004/execution/"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(REPO / "dags")  # the Dockerfile's ENV, through its COPY
    assert env["LANDING_ZONE"] == str(tmp_path / "landing")  # the bind mount's source
    assert Path(env["DGWH_STATE_DIR"]).is_relative_to(tmp_path)  # a named volume: a folder of the check
    assert processes["airflow-init"].argv == ["bash", str(REPO / "docker" / "airflow" / "init.sh")]
    assert processes["airflow-worker"].argv[-2:] == ["celery", "worker"]
    assert processes["airflow-dag-processor"].argv[-1] == "dag-processor"


def test_compose_interpolation_follows_compose_rules():
    env = {"SET": "x", "EMPTY": ""}
    assert compose.interpolate("${SET:-d}/${EMPTY:-d}/${UNSET:-d}/${EMPTY-d}/$$HOME", env) == "x/d/d//$HOME"
    try:
        compose.interpolate("${UNSET:?see .env.example}", env)
    except ValueError as exc:
        assert "UNSET" in str(exc)
    else:
        raise AssertionError("a required variable that is unset must fail")

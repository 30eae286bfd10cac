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
    assert env["LANDING_ZONE"] == str(tmp_path / "landing")  # the bind mount's source (no LANDING_ZONE_URL)
    # each process its own disk (as on hosts of their own); the shared volume one folder all of them mount
    states = {name: p.env["DGWH_STATE_DIR"] for name, p in processes.items()}
    assert len(set(states.values())) == len(states) and all(Path(v).is_relative_to(tmp_path / "hosts")
                                                             for v in states.values()), states
    assert {p.env["DGWH_SHARED_STATE_DIR"] for p in processes.values()} == {str(tmp_path / "volumes" / "dgwh-shared")}
    assert env["LANDING_ZONE"] == str(tmp_path / "landing") and env["AWS_ENDPOINT_URL_S3"] == ""  # the folder
    assert processes["airflow-init"].argv == ["bash", str(REPO / "docker" / "airflow" / "init.sh")]
    assert processes["airflow-worker"].argv[-2:] == ["celery", "worker"]
    assert processes["airflow-dag-processor"].argv[-1] == "dag-processor"


def test_object_storage_and_the_docs_service_from_the_compose_file(tmp_path):
    example = compose.read_env_file(REPO / ".env.example")
    env = {**example, "LANDING_ZONE": str(tmp_path / "landing"), "LANDING_ZONE_URL": "s3://bucket/landing",
           "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}
    spec = compose.load_compose(env)
    local = compose.Local(root=tmp_path, ports={})
    worker = compose.airflow_process(spec, "airflow-worker", local, {}, host="worker1").env
    assert worker["LANDING_ZONE"] == "s3://bucket/landing" and worker["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9"
    docs = compose.airflow_process(spec, "docs", local, {})
    assert docs.argv[:3] == ["python", "-m", "reporting.serve"]
    assert docs.env["DGWH_SHARED_STATE_DIR"] == worker["DGWH_SHARED_STATE_DIR"]  # serves what the workers wrote
    [volume] = spec["services"]["docs"]["volumes"]
    assert volume["read_only"] is True and volume["source"] == "dgwh-shared"


def test_compose_interpolation_follows_compose_rules():
    env = {"SET": "x", "EMPTY": ""}
    assert compose.interpolate("${SET:-d}/${EMPTY:-d}/${UNSET:-d}/${EMPTY-d}/$$HOME", env) == "x/d/d//$HOME"
    try:
        compose.interpolate("${UNSET:?see .env.example}", env)
    except ValueError as exc:
        assert "UNSET" in str(exc)
    else:
        raise AssertionError("a required variable that is unset must fail")

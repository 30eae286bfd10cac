"""Bring up the compose topology as processes: metadata PostgreSQL, Redis, the warehouse, airflow-init,
then api-server, scheduler, dag-processor, triggerer and two Celery workers."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prodcheck import compose
from prodcheck.api import AirflowApi
from prodcheck.stack import Stack, Started, free_port, postgres_server, wait_for

WORKERS = 2
# Settings of the check itself, not of production (printed when the stack starts): a task whose worker
# died is noticed after 45 s without a heartbeat instead of Airflow's 5 minutes; the DAGs start paused so
# the first night starts when the operator unpauses dg_nightly (after the landing zone is filled), not
# when the dag-processor first parses it (the compose file's setting). Tasks a killed worker had taken
# from Redis but not started stay "queued" until task_queued_timeout (10 minutes by default): 5 here.
CHECK_OVERRIDES = {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
                   "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
                   "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true"}


@dataclass
class Topology:
    stack: Stack
    landing: Path
    env_file: dict[str, str] = field(default_factory=dict)
    processes: dict[str, compose.Process] = field(default_factory=dict)
    running: dict[str, Started] = field(default_factory=dict)
    api: AirflowApi | None = None
    warehouse_url: str = ""

    def start(self, name: str) -> Started:
        self.running[name] = self.stack.start(self.processes[name])
        return self.running[name]

    def restart(self, name: str) -> None:
        self.stack.stop(self.running.pop(name))
        self.start(name)


def make_env_file(root: Path, landing: Path) -> dict[str, str]:
    """A fresh ``.env`` from ``.env.example`` with new random secrets (docker/generate_env.py), mode 0600."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_env", compose.REPO / "docker" / "generate_env.py")
    generate_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate_env)
    path = root / ".env"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_env.render(generate_env.EXAMPLE.read_text()))
    env = compose.read_env_file(path)
    env["LANDING_ZONE"] = str(landing)
    return env


def bring_up(topo: Topology, log=print) -> None:
    """Start everything into ``topo`` (so whatever started is stopped even if a later step fails)."""
    stack, root, landing = topo.stack, topo.stack.root, topo.landing
    env = topo.env_file = make_env_file(root, landing)
    ports = {"metadata-db:5432": free_port(), "redis:6379": free_port(), "warehouse:5432": free_port(),
             "airflow-apiserver:8080": free_port()}
    spec = compose.load_compose(env)
    services = spec["services"]

    log("starting metadata-db, warehouse (PostgreSQL) and redis ...")
    postgres_server(stack, "metadata-db", services["metadata-db"], ports["metadata-db:5432"], env)
    postgres_server(stack, "warehouse", services["warehouse"], ports["warehouse:5432"], env)
    redis = services["redis"]
    redis_cmd = list(redis["command"])
    redis_cmd[-1] += f" --port {ports['redis:6379']} --bind 127.0.0.1 --dir {shlex.quote(str(root / 'redis'))}"
    (root / "redis").mkdir(exist_ok=True)
    topo.processes["redis"] = compose.Process("redis", redis_cmd, {**os.environ, **{k: str(v) for k, v in
                                                                                    redis["environment"].items()}})
    topo.start("redis")

    local = compose.Local(root=root, ports=ports)
    base = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
            # a container's /tmp is its own: Cosmos keeps its dbt partial-parse cache there
            "TMPDIR": str(root / "tmp"),
            "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(ports["airflow-apiserver:8080"]),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **CHECK_OVERRIDES}
    for name in compose.AIRFLOW_SERVICES:
        if name == "airflow-worker":
            for n in range(1, WORKERS + 1):
                proc = compose.airflow_process(spec, name, local, {
                    **base, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})
                proc.argv += ["--celery-hostname", f"worker{n}@%h"]
                proc.name = f"worker{n}"
                topo.processes[proc.name] = proc
        else:
            proc = compose.airflow_process(spec, name, local, base)
            topo.processes[name.removeprefix("airflow-")] = proc
    (root / "tmp").mkdir(exist_ok=True)
    for path in local.paths.values():  # the named volumes and the Airflow home
        if path.is_relative_to(root) and not path.is_relative_to(landing):
            path.mkdir(parents=True, exist_ok=True)
    init = topo.processes["init"]
    topo.warehouse_url = init.env["WAREHOUSE_URL"]
    log("airflow-init: db migrate, admin user ...")
    stack.run(init, timeout=600)
    for name in ("apiserver", "scheduler", "dag-processor", "triggerer",
                 *(f"worker{n}" for n in range(1, WORKERS + 1))):
        topo.start(name)
    topo.api = AirflowApi(f"http://127.0.0.1:{ports['airflow-apiserver:8080']}", env["AIRFLOW_ADMIN_USER"],
                          env["AIRFLOW_ADMIN_PASSWORD"])
    wait_for("api-server", lambda: topo.api.request("GET", "/api/v2/version"), timeout=180, interval=2)
    wait_for("dag-processor: both DAGs parsed", lambda: {d["dag_id"] for d in topo.api.request(
        "GET", "/api/v2/dags", params={"limit": 100})["dags"]} >= {"dg_nightly", "dg_backfill"},
        timeout=240, interval=3)

"""Bring up the compose topology as processes: metadata PostgreSQL, Redis, the warehouse, an S3 server
for the landing zone, airflow-init, then api-server, scheduler, dag-processor, triggerer, two Celery
workers and the docs server.

The workers run as if on two hosts: each has its own state folder (compose.py), the landing zone is
object storage they read over the S3 protocol (moto's server, through s3fs, as ``LANDING_ZONE_URL``
configures it in the compose file), and what later tasks and operators read is in the shared volume."""

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
# from Redis but not started stay "queued" until task_queued_timeout (10 minutes by default, checked every
# 2 minutes): 2 minutes here, checked every 30 s.
CHECK_OVERRIDES = {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
                   "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
                   "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "30",
                   "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true"}


LANDING_BUCKET = "dgwh-landing"


@dataclass
class Topology:
    stack: Stack
    landing: Path  # the (empty) folder compose's LANDING_ZONE bind mount still names
    env_file: dict[str, str] = field(default_factory=dict)
    processes: dict[str, compose.Process] = field(default_factory=dict)
    running: dict[str, Started] = field(default_factory=dict)
    api: AirflowApi | None = None
    warehouse_url: str = ""

    @property
    def landing_url(self) -> str:
        return self.env_file["LANDING_ZONE_URL"]

    @property
    def shared_state_dir(self) -> Path:
        """The shared volume's folder, as the workers were given it (compose.py maps it; not a second rule)."""
        return Path(self.processes["worker1"].env["DGWH_SHARED_STATE_DIR"])

    def landing_fs(self):
        """The landing bucket as the operator's side sees it (s3fs, the credentials of the .env)."""
        import s3fs

        return s3fs.S3FileSystem(key=self.env_file["AWS_ACCESS_KEY_ID"], secret=self.env_file["AWS_SECRET_ACCESS_KEY"],
                                 endpoint_url=self.env_file["AWS_ENDPOINT_URL_S3"], skip_instance_cache=True)

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
    # One generated secret in 64 starts with "-"; the admin password always does here, so the check proves
    # that airflow-init passes secrets in a form no option parser mistakes for an option.
    env["AIRFLOW_ADMIN_PASSWORD"] = "-" + env["AIRFLOW_ADMIN_PASSWORD"].lstrip("-")
    return env


def start_s3(topo: Topology, port: int) -> None:
    """moto's S3 server, the landing bucket in it, and the .env settings that point the stack at it."""
    import secrets

    import boto3

    topo.processes["s3"] = compose.Process("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                                  "-p", str(port)], dict(os.environ))
    topo.start("s3")
    endpoint = f"http://127.0.0.1:{port}"
    topo.env_file.update({"LANDING_ZONE_URL": f"s3://{LANDING_BUCKET}/landing", "AWS_ENDPOINT_URL_S3": endpoint,
                          "AWS_ACCESS_KEY_ID": "prodcheck", "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(24),
                          "AWS_DEFAULT_REGION": "us-east-1"})
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="prodcheck",
                          aws_secret_access_key=topo.env_file["AWS_SECRET_ACCESS_KEY"])
    wait_for("the S3 server", lambda: client.list_buckets() is not None, timeout=60, interval=1,
             alive=topo.stack.check_alive)
    client.create_bucket(Bucket=LANDING_BUCKET)


def bring_up(topo: Topology, log=print, on_landing=None) -> None:
    """Start everything into ``topo`` (so whatever started is stopped even if a later step fails);
    ``on_landing(topo)`` runs as soon as the landing bucket exists (agencies upload while the stack starts)."""
    stack, root, landing = topo.stack, topo.stack.root, topo.landing
    env = topo.env_file = make_env_file(root, landing)
    ports = {"metadata-db:5432": free_port(), "redis:6379": free_port(), "warehouse:5432": free_port(),
             "airflow-apiserver:8080": free_port(), "docs:8090": free_port()}
    log("starting the S3 server (moto) for the landing zone ...")
    start_s3(topo, free_port())
    if on_landing is not None:
        on_landing(topo)
    env["DGWH_DOCS_URL"] = f"http://127.0.0.1:{ports['docs:8090']}"
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
                    **base, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}, host=f"worker{n}")
                proc.argv += ["--celery-hostname", f"worker{n}@%h"]
                proc.name = f"worker{n}"
                topo.processes[proc.name] = proc
        else:
            proc = compose.airflow_process(spec, name, local, base)
            topo.processes[name.removeprefix("airflow-")] = proc
    docs = compose.airflow_process(spec, "docs", local, {k: base[k] for k in ("PATH", "HOME", "LANG")})
    docs.argv = [{"0.0.0.0": "127.0.0.1", "8090": str(ports["docs:8090"])}.get(a, a) for a in docs.argv]
    topo.processes["docs"] = docs
    (root / "tmp").mkdir(exist_ok=True)
    for path in local.paths.values():  # the named volumes and the Airflow home
        if path.is_relative_to(root) and not path.is_relative_to(landing):
            path.mkdir(parents=True, exist_ok=True)
    init = topo.processes["init"]
    topo.warehouse_url = init.env["WAREHOUSE_URL"]
    log("airflow-init: db migrate, admin user ...")
    stack.run(init, timeout=600)
    for name in ("apiserver", "scheduler", "dag-processor", "triggerer",
                 *(f"worker{n}" for n in range(1, WORKERS + 1)), "docs"):
        topo.start(name)
    topo.api = AirflowApi(f"http://127.0.0.1:{ports['airflow-apiserver:8080']}", env["AIRFLOW_ADMIN_USER"],
                          env["AIRFLOW_ADMIN_PASSWORD"])
    topo.api.alive = stack.check_alive
    wait_for("api-server", lambda: topo.api.request("GET", "/api/v2/version"), timeout=180, interval=2,
             alive=stack.check_alive)
    wait_for("dag-processor: both DAGs parsed", lambda: {d["dag_id"] for d in topo.api.request(
        "GET", "/api/v2/dags", params={"limit": 100})["dags"]} >= {"dg_nightly", "dg_backfill"},
        timeout=240, interval=3, alive=stack.check_alive)

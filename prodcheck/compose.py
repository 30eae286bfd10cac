"""docker-compose.yml (and the Airflow image's ENV) as local processes: one source of truth.

Every service's command and environment are read from the compose file, interpolated with an ``.env``
made by ``docker/generate_env.py`` from ``.env.example``. Only what containers get from Docker is
translated, and only here:

- service host names and ports (``metadata-db:5432``, ``redis:6379``, ``warehouse:5432``,
  ``airflow-apiserver:8080``) become ``127.0.0.1:<free port>``;
- container paths become host folders: bind mounts their source, named volumes a folder each under the
  check's state dir (shared by the processes that mount them, as a volume is by containers),
  ``/opt/dgwh/app`` (the image's copy of the repository) the repository itself, and the folders the image
  creates and nothing mounts (``/opt/dgwh/state``) a folder of each process's own under ``hosts/<name>``,
  as if every process ran on a host of its own;
- ports that containers may all use at once but processes on one host may not (the API server's, the
  log servers', the scheduler's health check) get free ports, through Airflow's own settings.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "airflow" / "Dockerfile"
IMAGE_APP = "/opt/dgwh/app"  # where the Dockerfile copies the repository
IMAGE_AIRFLOW_HOME = "/opt/airflow"  # the base image's AIRFLOW_HOME
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker")
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            env[name.strip()] = value
    return env


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""
    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3)
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else interpolate(arg, env)
        if op in (":?", "?") and not current:
            raise ValueError(f"compose: {name} is required ({arg})")
        return current or ""
    return _VAR.sub(one, value)


def _interpolate_tree(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(n, env) for n in node]
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, env) for k, v in node.items()}
    return node


def load_compose(env: dict[str, str]) -> dict:
    """The compose file with its anchors merged and its variables interpolated."""
    return _interpolate_tree(yaml.safe_load(COMPOSE_FILE.read_text()), env)


def image_env() -> dict[str, str]:
    """The ``ENV`` of the Airflow image's Dockerfile (``NAME=value`` pairs, line continuations)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def image_copies() -> dict[str, Path]:
    """Image path -> repository path for the Dockerfile's ``COPY`` of files from the repository."""
    copies = {}
    for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        if line.startswith("COPY "):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            *sources, target = words
            if len(sources) == 1 and not target.startswith("/tmp"):
                copies[target.rstrip("/")] = REPO / sources[0].rstrip("/")
    return copies


def image_dirs() -> list[str]:
    """The folders the Dockerfile creates (``install -d``), innermost only: a container's own disk."""
    dirs: list[str] = []
    for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        if line.startswith("RUN install -d"):
            dirs += [w for w in line.split() if w.startswith("/")]
    return [d for d in dirs if not any(o.startswith(d + "/") for o in dirs)]


@dataclass
class Local:
    """Where the containers' names and paths live on this machine."""

    root: Path  # the check's state dir
    ports: dict[str, int]  # "service:container port" -> local port
    paths: dict[str, Path] = field(default_factory=dict)  # container path -> host path, longest first

    def path(self, value: str) -> str:
        for container, host in sorted(self.paths.items(), key=lambda kv: -len(kv[0])):
            if value == container or value.startswith(container + "/"):
                return str(host) + value[len(container):]
        return value

    def hosts(self, value: str) -> str:
        for key, port in self.ports.items():
            value = value.replace(f"@{key}", f"@127.0.0.1:{port}").replace(f"//{key}", f"//127.0.0.1:{port}")
        return value


def mounts(service: dict, local: Local) -> dict[str, Path]:
    """Container path -> host path for a service's volumes."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target, kind = volume["source"], volume["target"], volume.get("type", "volume")
        else:
            source, target = volume.split(":")[:2]
            kind = "bind" if source.startswith((".", "/")) else "volume"
        found[target] = (REPO / source).resolve() if kind == "bind" else local.root / "volumes" / source
    return found


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)


def airflow_process(compose: dict, service_name: str, local: Local, extra_env: dict[str, str],
                    host: str | None = None) -> Process:
    """One service of the Airflow image as a process: the image's ENV, the service's environment and
    command. ``host`` names the process's own folders (default: the service name)."""
    service = compose["services"][service_name]
    service_mounts = mounts(service, local)
    local.paths.update(service_mounts)
    local.paths.setdefault(IMAGE_APP, REPO)
    for target, source in image_copies().items():
        local.paths.setdefault(target, source)
    local.paths.setdefault(IMAGE_AIRFLOW_HOME, local.root / "airflow-home")
    own = {d: local.root / "hosts" / (host or service_name) / d.strip("/").replace("/", "-")
           for d in image_dirs() if d not in service_mounts and d not in local.paths}
    for folder in own.values():
        folder.mkdir(parents=True, exist_ok=True)
    mapped = Local(local.root, local.ports, {**local.paths, **own})
    env = {"AIRFLOW_HOME": IMAGE_AIRFLOW_HOME, **image_env(), **{k: str(v) for k, v in
                                                                  service.get("environment", {}).items()}}
    env = {k: local.hosts(mapped.path(v)) for k, v in env.items()}
    env.update(extra_env)
    command = service["command"]
    argv = command.split() if isinstance(command, str) else list(command)
    argv = [mapped.path(a) for a in argv]
    venv_bin = Path(sys.executable).parent
    if argv[0] not in ("bash", "sh", "python"):  # the image's entrypoint: anything else is an airflow command
        argv = [str(venv_bin / "airflow"), *argv]
    return Process(service_name, argv, env)

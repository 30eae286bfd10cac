"""The production docker-compose stack, tested the ways possible without a Docker engine.

- ``docker-compose config`` (Debian's docker-compose 1.29, which .ci/run installs) validates the file with
  ``.env.example`` and with a generated ``.env``; the parsed result is checked service by service;
- the raw file holds no secret: every one comes from a ``${VAR}`` that ``.env.example`` defines;
- the PostgreSQL init scripts run against a real throwaway server, and the roles they create are
  tried: bi_reader reads schema marts (after the project's own grant macro) and nothing else;
- the Airflow image is checked statically: its Airflow version and Python are the lock's, it copies
  every package the DAGs import, and the requirements filter it runs keeps the lock's pins.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
import yaml
from psycopg import sql

from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKER = REPO / "docker"
AIRFLOW_DOCKERFILE = DOCKER / "airflow" / "Dockerfile"
SUPERSET_DOCKERFILE = DOCKER / "superset" / "Dockerfile"
WAREHOUSE_INIT = DOCKER / "warehouse" / "10-warehouse-roles.sh"
WAREHOUSE_LIMITS = DOCKER / "warehouse" / "20-bi-reader-limits.sh"
METADATA_INIT = DOCKER / "metadata-db" / "10-app-databases.sh"
GRANT_MACRO = REPO / "dbt_project" / "macros" / "grant_bi_reader.sql"

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
SERVICES = AIRFLOW_SERVICES | {"metadata-db", "redis", "warehouse", "superset-init", "superset"}
ONE_SHOT = {"airflow-init", "superset-init", "warehouse-settings"}
# ${NAME}, ${NAME:-default}, ${NAME:?message}; $${NAME} is an escaped dollar for the container's shell.
VAR_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_entries(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            entries[name.strip()] = value
    return entries


def docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: `apt-get install docker-compose` (Debian's 1.29 validates "
                    "a compose file without a Docker engine); .ci/run installs it when missing")
    return exe


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """docker-compose with only the env file: the test process's own variables (LANDING_ZONE set by
    other tests, say) would otherwise override it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)}
    return subprocess.run([docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE), *args],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def compose_config(env_file: Path) -> dict:
    run = compose(env_file, "config")
    assert run.returncode == 0, run.stderr
    return yaml.safe_load(run.stdout)


@pytest.fixture
def example_env(tmp_path) -> Path:
    env_file = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, env_file)
    return env_file


# --- docker-compose.yml --------------------------------------------------------------------------------


def test_compose_config_validates_with_env_example(example_env):
    config = compose_config(example_env)
    example = env_entries(ENV_EXAMPLE)
    services = config["services"]
    assert SERVICES <= set(services), SERVICES - set(services)

    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "metadata-db"
        warehouse = urlsplit(env["WAREHOUSE_URL"])
        assert (warehouse.hostname, warehouse.username, warehouse.path) == ("warehouse", "dg_pipeline", "/warehouse")
        assert warehouse.password == example["WAREHOUSE_PIPELINE_PASSWORD"]
        # The Airflow connection the dbt tasks' profile is mapped from (Cosmos): the same URL, one secret.
        assert env["AIRFLOW_CONN_DG_WAREHOUSE"] == env["WAREHOUSE_URL"], name
        from airflow.sdk.definitions.connection import Connection

        conn = Connection.from_uri(env["AIRFLOW_CONN_DG_WAREHOUSE"], conn_id="dg_warehouse")
        assert (conn.conn_type, conn.host, conn.port, conn.login, conn.schema) == (
            "postgres", "warehouse", 5432, "dg_pipeline", "warehouse")
        assert conn.password == example["WAREHOUSE_PIPELINE_PASSWORD"]
        assert env["BI_READER_PASSWORD"] == example["BI_READER_PASSWORD"]
        # The host folder from .env is mounted read-only where the container's LANDING_ZONE points.
        landing = [v for v in services[name]["volumes"] if isinstance(v, dict) and v["target"] == env["LANDING_ZONE"]]
        assert landing and landing[0]["source"] == example["LANDING_ZONE"] and landing[0]["read_only"] is True
        assert services[name]["build"]["dockerfile"] == "docker/airflow/Dockerfile"
    assert services["airflow-worker"]["command"] in ("celery worker", ["celery", "worker"])

    # The BI side never receives the pipeline's credentials, and only superset-init the BI password.
    for name in ("superset", "superset-init", "redis", "metadata-db"):
        assert example["WAREHOUSE_PIPELINE_PASSWORD"] not in str(services[name].get("environment", {})), name
    assert "BI_READER_PASSWORD" not in services["superset"]["environment"]
    assert services["superset-init"]["environment"]["BI_READER_PASSWORD"] == example["BI_READER_PASSWORD"]


def test_compose_services_have_healthchecks_restarts_and_ordered_starts(example_env):
    services = compose_config(example_env)["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart", "no") == "no", name
        else:
            assert service.get("restart") in ("always", "unless-stopped"), name
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"

    def needs(name: str, dependency: str, condition: str) -> None:
        assert services[name]["depends_on"][dependency]["condition"] == condition, (name, dependency)

    for name in AIRFLOW_SERVICES:
        for dependency in ("metadata-db", "redis", "warehouse"):
            needs(name, dependency, "service_healthy")
        if name != "airflow-init":
            needs(name, "airflow-init", "service_completed_successfully")
    needs("airflow-worker", "airflow-apiserver", "service_healthy")
    needs("superset-init", "metadata-db", "service_healthy")
    needs("superset-init", "warehouse", "service_healthy")
    needs("superset", "superset-init", "service_completed_successfully")


def test_lineage_goes_to_a_file_on_the_shared_volume_metrics_are_off_and_flower_is_a_monitoring_profile(
        example_env):
    """OpenLineage by default to a file transport writing on the shared volume (another transport: .env);
    Airflow's metrics are off until switched on; Flower starts only with its profile."""
    services = compose_config(example_env)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__OPENLINEAGE__DISABLED"] == "false" and env["AIRFLOW__OPENLINEAGE__NAMESPACE"]
        assert env["AIRFLOW__METRICS__OTEL_ON"] == "false", name
    worker = services["airflow-worker"]["environment"]
    assert (worker["OPENLINEAGE__TRANSPORT__TYPE"], worker["OPENLINEAGE__TRANSPORT__APPEND"]) == ("file", "true")
    assert worker["OPENLINEAGE__TRANSPORT__LOG_FILE_PATH"].startswith(worker["DGWH_SHARED_STATE_DIR"] + "/lineage/")
    assert '"$DGWH_SHARED_STATE_DIR/lineage"' in (DOCKER / "airflow" / "init.sh").read_text(), \
        "airflow-init makes the events' folder"
    assert env_entries(ENV_EXAMPLE)["OPENLINEAGE_TRANSPORT"] == "file"  # "http" and OPENLINEAGE_URL: Marquez

    flower = services["flower"]
    assert flower["profiles"] == ["monitoring"]
    assert flower["command"] in ("celery flower", ["celery", "flower"])
    assert flower["build"]["dockerfile"] == "docker/airflow/Dockerfile"
    assert flower["environment"]["AIRFLOW__CELERY__BROKER_URL"] == services["airflow-worker"]["environment"][
        "AIRFLOW__CELERY__BROKER_URL"]
    assert all(not s.get("profiles") for n, s in services.items() if n != "flower"), "only Flower is optional"
    example = env_entries(ENV_EXAMPLE)
    assert flower["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"] == \
        f"{example['FLOWER_USER']}:{example['FLOWER_PASSWORD']}", "Flower can stop workers: never without a login"


def test_compose_data_lives_in_named_volumes(example_env):
    config = compose_config(example_env)
    named = set(config["volumes"])

    def mounts(service: str) -> dict[str, str]:
        found = {}
        for volume in config["services"][service]["volumes"]:
            if isinstance(volume, dict):
                found[volume["target"]] = volume["source"]
            else:
                source, target = volume.split(":")[:2]
                found[target] = source
        return found

    assert mounts("warehouse")["/var/lib/postgresql/data"] in named
    assert mounts("metadata-db")["/var/lib/postgresql/data"] in named
    assert mounts("redis")["/data"] in named
    for name in AIRFLOW_SERVICES:
        assert mounts(name)["/opt/airflow/logs"] in named
        # what tasks on other workers and operators read: a volume every worker mounts; scratch stays per container
        assert mounts(name)["/opt/dgwh/shared"] in named
        assert "/opt/dgwh/state" not in mounts(name)
    assert mounts("docs")["/opt/dgwh/shared"] == mounts("airflow-worker")["/opt/dgwh/shared"]
    assert mounts("warehouse")["/docker-entrypoint-initdb.d/10-warehouse-roles.sh"] == str(WAREHOUSE_INIT)
    for service, script in (("warehouse", "/docker-entrypoint-initdb.d/20-bi-reader-limits.sh"),
                            ("warehouse-settings", "/opt/dgwh/20-bi-reader-limits.sh")):
        assert mounts(service)[script] == str(WAREHOUSE_LIMITS)
        assert mounts(service)["/opt/dgwh/dbt_project.yml"] == str(REPO / "dbt_project" / "dbt_project.yml")
    assert mounts("metadata-db")["/docker-entrypoint-initdb.d/10-app-databases.sh"] == str(METADATA_INIT)


def test_airflow_settings_in_compose_are_options_of_the_locked_airflow(tmp_path, monkeypatch):
    """AIRFLOW__SECTION__KEY names checked against the installed Airflow's own option list, so a typo or
    an option Airflow 3 renamed fails here instead of being silently ignored in production."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from airflow.configuration import conf

    env = yaml.safe_load(COMPOSE.read_text())["x-airflow-common"]["environment"]
    settings = [name.split("__")[1:] for name in env if name.startswith("AIRFLOW__")]
    assert len(settings) >= 10
    described = conf.configuration_description
    for section, key in settings:
        if section == "CELERY":  # described by the celery provider, which the image has and .venv does not
            continue
        options = described.get(section.lower(), {}).get("options", {})
        assert key.lower() in options, f"AIRFLOW__{section}__{key}: no such option in Airflow's configuration"


def test_every_compose_variable_is_in_env_example_and_every_example_variable_is_used():
    used = set(VAR_REF.findall(COMPOSE.read_text()))
    defined = set(env_entries(ENV_EXAMPLE))
    assert used, "docker-compose.yml reads nothing from .env"
    assert used - defined == set(), f"not in .env.example: {sorted(used - defined)}"
    assert defined - used == set(), f"in .env.example but unused: {sorted(defined - used)}"


def _strings(node, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def test_no_literal_secret_in_compose_file():
    text = COMPOSE.read_text()
    raw = yaml.safe_load(text)
    only_a_variable = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:[-?][^}]*)?\}$")
    checked = 0
    for path, value in _strings(raw):
        key = path.rsplit(".", 1)[-1]
        if SECRET_NAME.search(key):
            assert only_a_variable.match(value), f"{path} is not taken from .env: {value!r}"
            checked += 1
        for match in re.finditer(r"://([^/@\s]*)@", value):  # credentials inside a URL
            password = match.group(1).partition(":")[2]
            assert only_a_variable.match(password), f"{path}: a URL with a literal password"
            checked += 1
    assert checked >= 10, "the secret checks matched almost nothing: has the file's layout changed?"
    for name, value in env_entries(ENV_EXAMPLE).items():
        if SECRET_NAME.search(name):
            assert value.startswith("change-me"), f".env.example: {name} must hold a change-me placeholder"
            assert value not in text, f"docker-compose.yml contains {name}'s value"


def test_a_missing_secret_stops_compose_with_its_name(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(line + "\n" for line in ENV_EXAMPLE.read_text().splitlines()
                                if not line.startswith("BI_READER_PASSWORD=")))
    run = compose(env_file, "config")
    assert run.returncode != 0
    assert "BI_READER_PASSWORD" in run.stderr


def test_generate_env_writes_fresh_secrets_that_compose_accepts(tmp_path):
    generate = load_module(DOCKER / "generate_env.py")
    target = tmp_path / ".env"
    assert generate.main([str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    example, generated = env_entries(ENV_EXAMPLE), env_entries(target)
    assert set(generated) == set(example)
    made = {}
    for name, value in example.items():
        if value.startswith("change-me"):
            made[name] = generated[name]
            assert re.fullmatch(r"[A-Za-z0-9_=-]{32,}", generated[name]), name  # URL-safe
        else:
            assert generated[name] == value, name
    assert len(set(made.values())) == len(made), "two secrets are equal"
    assert len(base64.urlsafe_b64decode(made["AIRFLOW_FERNET_KEY"])) == 32
    config = compose(target, "config")
    assert config.returncode == 0, config.stderr
    assert urlsplit(yaml.safe_load(config.stdout)["services"]["airflow-worker"]["environment"]["WAREHOUSE_URL"]
                    ).password == made["WAREHOUSE_PIPELINE_PASSWORD"]
    before = target.read_text()
    assert generate.main([str(target)]) == 1  # never overwrites
    assert target.read_text() == before


def test_dot_env_is_ignored_by_git_and_the_example_is_not():
    def ignored(name: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO).returncode == 0

    assert ignored(".env") and ignored(".env.production")
    assert not ignored(".env.example")


# --- images ----------------------------------------------------------------------------------------------


def lock_version(package: str) -> str:
    from tests.test_production_providers import _lock_pins

    if (version := _lock_pins().get(package)) is None:
        raise AssertionError(f"{package} is not pinned in requirements.lock")
    return version


def test_airflow_image_is_the_locked_airflow_on_python_311():
    dockerfile = AIRFLOW_DOCKERFILE.read_text()
    version = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.M)
    assert version and version.group(1) == lock_version("apache-airflow")
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python3\.11$", dockerfile, re.M)
    # the runtime lock, each file by its hash, nothing resolved (pip cannot move Airflow), and checked after
    assert "pip install --no-cache-dir --no-deps --require-hashes -r /tmp/dgwh-build/requirements.txt" in dockerfile
    assert "requirements-runtime.lock" in dockerfile and not re.search(r"\brequirements\.lock", dockerfile)
    assert 'sys.exit(m.version("apache-airflow") != sys.argv[1])\' \\\n        "${AIRFLOW_VERSION}"' in dockerfile
    assert "pip check" in dockerfile
    requires = re.search(r'requires-python = "([^"]+)"', (REPO / "pyproject.toml").read_text())
    assert requires and ">=3.11" in requires.group(1) and "<3.12" in requires.group(1)


def test_images_come_from_pinned_tags():
    images = [m.group(1) for p in (AIRFLOW_DOCKERFILE, SUPERSET_DOCKERFILE)
              for m in re.finditer(r"^FROM (\S+)", p.read_text(), re.M)]
    images += [s["image"] for s in yaml.safe_load(COMPOSE.read_text())["services"].values()
               if "build" not in s and "image" in s and not s["image"].startswith("dg-warehouse/")]
    assert len(images) >= 4
    for image in images:
        assert ":" in image and not image.endswith(":latest"), image


def _copies(dockerfile: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            pairs += [(source, parts[-1]) for source in parts[:-1]]
    return pairs


def test_image_copy_sources_exist_and_are_in_the_build_context():
    for dockerfile in (AIRFLOW_DOCKERFILE, SUPERSET_DOCKERFILE):
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text().splitlines()
        assert "*" in ignore  # an allowlist: the context holds what the image copies and nothing else
        allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
        for source, _ in _copies(dockerfile):
            assert (REPO / source).exists(), f"{dockerfile.relative_to(REPO)} copies missing {source}"
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), \
                f"{source} is excluded from the build context by {dockerfile.name}.dockerignore"


def _imported_top_names(py_files: list[Path]) -> set[str]:
    names = set()
    for path in py_files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):  # also imports inside functions
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_airflow_image_copies_every_package_the_dags_import():
    """Follow imports from dags/ through the repo's own packages: each must be in the image."""
    copied = {source.rstrip("/") for source, _ in _copies(AIRFLOW_DOCKERFILE)}
    own = {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()}
    needed, frontier = set(), {"dags"}
    while frontier:
        folder = frontier.pop()
        needed.add(folder)
        found = _imported_top_names(sorted((REPO / folder).rglob("*.py"))) & own
        frontier |= found - needed
    assert "ingest" in needed
    assert needed - copied == set(), f"docker/airflow/Dockerfile does not copy {sorted(needed - copied)}"
    assert "dbt_project" in copied  # not imported, but the DAGs run it


def test_requirements_filter_keeps_the_runtime_lock_but_airflow_core_with_every_hash():
    flt = load_module(DOCKER / "airflow" / "filter_requirements.py")
    lock = (REPO / "requirements-runtime.lock").read_text().splitlines()
    kept = flt.image_requirements(lock)
    names = {flt.requirement_name(line) for line in kept}
    assert not names & {"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"}  # the image's own
    assert {n for n in names if n.startswith("apache-airflow-providers-")} == flt.PRODUCTION_PROVIDERS
    assert not names & {"pgserver", "pytest", "ruff", "sqlfluff", "moto", "uv"}
    for needed in ("dbt-core", "dbt-postgres", "great-expectations", "astronomer-cosmos", "psycopg", "pandas", "s3fs"):
        assert needed in names, needed
    assert all(re.fullmatch(r"\S+==\S+( --hash=sha256:[0-9a-f]{64})+", line) for line in kept), kept[:3]
    every = flt.entries(lock)
    assert len(every) == len(kept) + 4  # apache-airflow, -core, -task-sdk, pgserver
    assert all(flt.EXCLUDED.match(flt.requirement_name(e)) for e in every if e not in kept)

    image = ["# image constraints", "PyYAML==5.4.1", "great_expectations==1.0.0", "hvac==2.3.0",
             'grpcio==1.70.0 ; python_version < "3.12"', "apache-airflow-providers-amazon==9.0.0"]
    changes = flt.overridden(image, kept)
    assert f"pyyaml: 5.4.1 -> {lock_version('pyyaml')}" in changes
    assert not any(c.startswith("hvac") for c in changes)
    with pytest.raises(ValueError, match="not pinned"):
        flt.image_requirements(["pandas>=2"])
    with pytest.raises(ValueError, match="no hash"):
        flt.image_requirements(["pandas==3.1.1"])


def test_pip_check_fails_the_build_only_for_what_the_stack_runs(tmp_path):
    flt = load_module(DOCKER / "airflow" / "filter_requirements.py")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("dbt-core==1.11.16\nprotobuf==6.33.6\n")
    report = tmp_path / "pip-check.txt"
    unused = "apache-airflow-providers-google 18.0.0 has requirement protobuf<6, but you have protobuf 6.33.6."
    report.write_text(unused + "\n")
    assert flt.check(report, requirements) == 0  # the base image's unused cloud provider: a warning
    for line in ("dbt-core 1.11.16 has requirement protobuf<6, but you have protobuf 6.33.6.",
                 "apache-airflow-providers-celery 3.26.0 requires kombu, which is not installed.",
                 "apache-airflow-core 3.3.2 has requirement sqlalchemy<2.2, but you have sqlalchemy 2.2.0."):
        report.write_text(f"{unused}\n{line}\n")
        assert flt.check(report, requirements) == 1, line
    report.write_text("No broken requirements found.\n")
    assert flt.check(report, requirements) == 0


def test_superset_config_builds_quoted_urls_from_the_environment(monkeypatch):
    path = DOCKER / "superset" / "superset_config.py"
    monkeypatch.delenv("SUPERSET_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SUPERSET_SECRET_KEY"):
        load_module(path)
    monkeypatch.setenv("SUPERSET_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SUPERSET_DB_PASSWORD", "p@ss/word:1")
    monkeypatch.setenv("BI_READER_PASSWORD", "bi pw#?")
    config = load_module(path)
    assert config.SECRET_KEY == "k" * 40
    meta = urlsplit(config.SQLALCHEMY_DATABASE_URI)
    assert (meta.hostname, meta.username, meta.path) == ("metadata-db", "superset", "/superset")
    marts = urlsplit(config.marts_uri())
    assert (marts.scheme, marts.hostname, marts.port, marts.username, marts.path) == (
        "postgresql+psycopg2", "warehouse", 5432, "bi_reader", "/warehouse")
    assert unquote(meta.password) == "p@ss/word:1" and unquote(marts.password) == "bi pw#?"


def test_shell_scripts_parse_and_are_executable():
    scripts = sorted(DOCKER.rglob("*.sh"))
    assert len(scripts) >= 4
    for script in scripts:
        run = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert run.returncode == 0, f"{script.name}: {run.stderr}"
        assert os.access(script, os.X_OK), f"{script.name} is not executable (git add --chmod=+x)"


# --- the PostgreSQL init scripts, on a real server ------------------------------------------------------


@pytest.fixture(scope="module")
def bare_server() -> Iterator[dict]:
    """A PostgreSQL with nothing but its superuser, like the postgres image before its init scripts."""
    from ground.embedded_pg import ADMIN_ROLE, EmbeddedWarehouse, _bin_dir

    class BareServer(EmbeddedWarehouse):
        def _bootstrap(self) -> None:  # the init scripts under test create databases and roles
            pass

    root = Path(tempfile.mkdtemp(prefix="dgwh-test-compose-"))
    server = BareServer(root / "state")
    cfg = server.start()
    try:
        yield {"port": cfg.port, "admin_password": cfg.passwords[ADMIN_ROLE], "bin": _bin_dir(), "home": root}
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_init(server: dict, script: Path, **passwords: str) -> subprocess.CompletedProcess:
    """Run an init script as the postgres image would: POSTGRES_USER/POSTGRES_DB, libpq variables."""
    env = {"PATH": f"{server['bin']}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
           "HOME": str(server["home"]), "PGHOST": "127.0.0.1", "PGPORT": str(server["port"]),
           "PGPASSWORD": server["admin_password"], "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres",
           **passwords}
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)


def url(server: dict, role: str, password: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(host="127.0.0.1", port=server["port"], user=role, password=password,
                                          dbname=database)


def public_acl_entries(conn: psycopg.Connection, catalog_sql: str, name: str) -> int:
    """How many privileges PUBLIC holds on an object; an unset ACL means PostgreSQL's defaults (PUBLIC too)."""
    acl = conn.execute(catalog_sql, (name,)).fetchone()[0]
    assert acl is not None, f"{name} still has the default privileges (some granted to PUBLIC)"
    return conn.execute("SELECT count(*) FROM aclexplode(%s::aclitem[]) WHERE grantee = 0", (acl,)).fetchone()[0]


DB_ACL = "SELECT datacl::text FROM pg_database WHERE datname = %s"
SCHEMA_ACL = "SELECT nspacl::text FROM pg_namespace WHERE nspname = %s"


def grant_macro_statements() -> list[str]:
    """The SQL grant_bi_reader() emits when bi_reader exists, read from the macro itself."""
    body = GRANT_MACRO.read_text().split("{% if exists.rows | length > 0 %}", 1)[1].split("{% endif %}", 1)[0]
    statements = [s.strip() for s in body.split(";") if s.strip()]
    assert statements and all(re.match(r"(grant|alter default privileges)\b", s) for s in statements), statements
    return statements


@pytest.fixture(scope="module")
def warehouse_roles(bare_server) -> dict:
    passwords = {"WAREHOUSE_PIPELINE_PASSWORD": "pipe'line \\ pw " + secrets.token_hex(8),
                 "BI_READER_PASSWORD": 'bi "reader" $HOME ' + secrets.token_hex(8)}
    run = run_init(bare_server, WAREHOUSE_INIT, **passwords)
    assert run.returncode == 0, run.stderr
    for password in passwords.values():
        assert password not in run.stdout + run.stderr
    return {"pipeline": url(bare_server, "dg_pipeline", passwords["WAREHOUSE_PIPELINE_PASSWORD"], "warehouse"),
            "bi": url(bare_server, "bi_reader", passwords["BI_READER_PASSWORD"], "warehouse"),
            "bi_postgres": url(bare_server, "bi_reader", passwords["BI_READER_PASSWORD"], "postgres"),
            "admin": url(bare_server, "postgres", bare_server["admin_password"], "warehouse"), "server": bare_server}


def test_warehouse_init_creates_owner_and_reader_roles_and_grants_public_nothing(warehouse_roles):
    with psycopg.connect(warehouse_roles["admin"], autocommit=True) as conn:
        roles = {name: tuple(flags) for name, *flags in conn.execute(
            """SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb
               FROM pg_roles WHERE rolname IN ('dg_pipeline', 'bi_reader')""")}
        assert roles == {"dg_pipeline": (True, False, False, False), "bi_reader": (True, False, False, False)}
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'warehouse'").fetchone()
        assert owner == ("dg_pipeline",)
        assert public_acl_entries(conn, DB_ACL, "warehouse") == 0
        assert public_acl_entries(conn, DB_ACL, "postgres") == 0
        assert public_acl_entries(conn, SCHEMA_ACL, "public") == 0


def test_bi_reader_session_limits_come_from_the_project_settings_on_every_start(warehouse_roles, tmp_path):
    from ground.settings import duration_s, session_limits

    limits = session_limits().bi_role_settings()
    project = REPO / "dbt_project" / "dbt_project.yml"
    # first start (initdb.d), then warehouse-settings on a later `up`: idempotent; from a checkout (prod-check)
    # the script finds the project file beside it
    for env in ({"DGWH_DBT_PROJECT_FILE": str(project)}, {}):
        run = run_init(warehouse_roles["server"], WAREHOUSE_LIMITS, **env)
        assert run.returncode == 0, run.stderr
    with psycopg.connect(warehouse_roles["bi"], autocommit=True) as conn:
        for name, value in limits.items():
            shown = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]
            assert duration_s(shown) == duration_s(value) > 0, (name, shown, value)
    broken = tmp_path / "dbt_project.yml"
    broken.write_text(project.read_text().replace("  bi_statement_timeout:", "  other:"))
    run = run_init(warehouse_roles["server"], WAREHOUSE_LIMITS, DGWH_DBT_PROJECT_FILE=str(broken))
    assert run.returncode != 0 and "bi_statement_timeout" in run.stderr


def test_bi_reader_reads_marts_after_the_grant_macro_and_nothing_else(warehouse_roles):
    with psycopg.connect(warehouse_roles["pipeline"], autocommit=True) as conn:
        for schema in ("raw", "ops", "staging", "marts"):
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("CREATE TABLE {}.t AS SELECT 1 AS n").format(sql.Identifier(schema)))
        conn.execute("CREATE TABLE public.t AS SELECT 1 AS n")
        for statement in grant_macro_statements():
            conn.execute(statement)
        conn.execute("CREATE TABLE marts.later AS SELECT 2 AS n")  # default privileges cover new tables

    with psycopg.connect(warehouse_roles["bi"], autocommit=True) as conn:
        assert conn.execute("SELECT n FROM marts.t").fetchone() == (1,)
        assert conn.execute("SELECT n FROM marts.later").fetchone() == (2,)
        for statement in ("SELECT n FROM raw.t", "SELECT n FROM ops.t", "SELECT n FROM staging.t",
                          "SELECT n FROM public.t", "CREATE TABLE public.x (i int)", "CREATE TABLE marts.x (i int)",
                          "CREATE SCHEMA bi", "CREATE TEMP TABLE x (i int)", "DELETE FROM marts.t"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(warehouse_roles["bi_postgres"])


def test_metadata_init_gives_airflow_and_superset_a_database_each(bare_server):
    passwords = {"AIRFLOW_DB_PASSWORD": secrets.token_urlsafe(16), "SUPERSET_DB_PASSWORD": secrets.token_urlsafe(16)}
    run = run_init(bare_server, METADATA_INIT, **passwords)
    assert run.returncode == 0, run.stderr
    admin = url(bare_server, "postgres", bare_server["admin_password"], "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        owners = dict(conn.execute("""SELECT datname, pg_get_userbyid(datdba) FROM pg_database
                                      WHERE datname IN ('airflow', 'superset')""").fetchall())
        assert owners == {"airflow": "airflow", "superset": "superset"}
        assert public_acl_entries(conn, DB_ACL, "airflow") == public_acl_entries(conn, DB_ACL, "superset") == 0
        supers = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname IN ('airflow', 'superset') AND rolsuper")
        assert supers.fetchone() == (0,)
    for role, own, other in (("airflow", "airflow", "superset"), ("superset", "superset", "airflow")):
        password = passwords[f"{role.upper()}_DB_PASSWORD"]
        with psycopg.connect(url(bare_server, role, password, own), autocommit=True) as conn:
            conn.execute("CREATE TABLE public.t (i int)")  # it owns its database's schema
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(url(bare_server, role, password, other))


def test_init_scripts_refuse_to_run_without_their_passwords(bare_server):
    run = run_init(bare_server, WAREHOUSE_INIT, BI_READER_PASSWORD="x")
    assert run.returncode != 0 and "WAREHOUSE_PIPELINE_PASSWORD" in run.stderr


def test_secrets_reach_command_lines_in_a_form_no_option_parser_takes_for_an_option():
    """One generated secret in 64 starts with "-" (token_urlsafe); ``--password "$X"`` then fails argparse
    (``airflow users create``: "expected one argument", found by make prod-check). ``--password=$X`` cannot."""
    separate = re.compile(r"""--password\s+["'$]|["']--password["']\s*,""")
    files = [*DOCKER.rglob("*.sh"), REPO / "bi" / "local.py", REPO / "scripts" / "airflow.sh"]
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in files
                 for n, line in enumerate(path.read_text().splitlines(), 1) if separate.search(line)]
    assert not offenders, offenders
    assert "--password=" in (DOCKER / "airflow" / "init.sh").read_text()

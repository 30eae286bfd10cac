"""Shared fixtures: real embedded PostgreSQL warehouses in temporary state directories."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DGWH_SHARED_DIR", REPO.parent / "shared"))
BOOKS = SHARED / "data" / "budget_bill_fy2565"
# Tests write landing files and load them at once: no settle window unless a test sets one.
os.environ.setdefault("DGWH_SETTLE_S", "0")


class Warehouse:
    """A checkout-like state dir with its own embedded server; ``use()`` points the env at it."""

    def __init__(self, root: Path) -> None:
        self.state = root / "state"
        self.landing = root / "landing"
        self.landing.mkdir(parents=True, exist_ok=True)

    def use(self) -> None:
        os.environ["DGWH_STATE_DIR"] = str(self.state)
        os.environ["LANDING_ZONE"] = str(self.landing)
        os.environ.pop("WAREHOUSE_URL", None)

    def url(self, role: str = "dg_pipeline") -> str:
        from ground.embedded_pg import EmbeddedWarehouse

        return EmbeddedWarehouse(self.state).start().url(role)

    def connect(self, role: str = "dg_pipeline") -> psycopg.Connection:
        return psycopg.connect(self.url(role), autocommit=True)

    def stop(self) -> None:
        from ground.embedded_pg import EmbeddedWarehouse

        EmbeddedWarehouse(self.state).stop()


@pytest.fixture(scope="session")
def make_warehouse() -> Iterator:
    """Warehouses live in their own temp dirs: pytest resets its basetemp to 0700 on every start,
    which would lock the unprivileged server user out of a running session's data."""
    made: list[tuple[Warehouse, Path]] = []

    def factory(name: str) -> Warehouse:
        root = Path(tempfile.mkdtemp(prefix=f"dgwh-test-{name}-"))
        wh = Warehouse(root)
        made.append((wh, root))
        return wh

    yield factory
    for wh, root in made:
        wh.stop()
        if os.environ.get("DGWH_TEST_KEEP"):  # look at a test's warehouse, Airflow home and logs afterwards
            print(f"kept {root}")
            continue
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_template(tmp_path_factory) -> Path:
    """An Airflow home as scripts/airflow.sh makes it (``airflow db migrate``, then the warehouse pool), made once
    per session by whichever xdist worker asks first; ``seed_airflow_home`` starts a test's home from its
    metadata database instead of migrating again (each migration and pool cost about 8 s of CPU)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the session's, not the worker's
    template = shared / "airflow-template"
    with open(shared / "airflow-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait here while the first one makes it
        if not (template / ".pools").exists():
            env = {k: v for k, v in os.environ.items() if k != "DGWH_WAREHOUSE_POOL_SLOTS"}
            done = subprocess.run([str(REPO / "scripts" / "airflow.sh"), "version"], capture_output=True, text=True,
                                  timeout=600, env={**env, "AIRFLOW_HOME": str(template)})
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return template


def seed_airflow_home(home: Path, template: Path) -> Path:
    """``home`` as scripts/airflow.sh leaves a new home: the template's migrated database, with the default
    warehouse pool, and the markers that tell the script both are done. Nothing else: Airflow writes its own
    airflow.cfg (and fernet key) on first use; the template holds no connection or variable to decrypt."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / ".migrated").exists():
        for name in ("airflow.db", ".pools", ".migrated"):  # .migrated last: the database is whole before it
            shutil.copy2(template / name, home / name)
    return home


@pytest.fixture(scope="session")
def sample_files() -> Iterator[Path]:
    """The generated sample landing zone, written once per session to a temp dir (seeds there too)."""
    from sampledata.generate import generate

    root = Path(tempfile.mkdtemp(prefix="dgwh-test-sample-files-"))
    (root / "seeds").mkdir()
    generate(root / "landing", root / "seeds", SHARED if SHARED.exists() else None)
    yield root / "landing"
    shutil.rmtree(root, ignore_errors=True)


def service_night(run_id: str):
    """One night of the nightly service (``nightly.service.run_night``: load, build, reconcile, record) on the
    warehouse in use, without the HTML report and Data Docs; it must succeed."""
    from expectations.gate import Gate
    from ground.registry import alias_keys
    from nightly.service import run_night

    night = run_night(run_id, gate=Gate(list(alias_keys())), docs=False)
    assert night.success and night.dbt.success, (night.summary, night.dbt)
    return night


@pytest.fixture(scope="session")
def sample_warehouse(make_warehouse) -> Warehouse:
    """The full sample landing zone through one night of the nightly service (``service_night``)."""
    from sampledata.generate import generate

    wh = make_warehouse("sample")
    wh.use()
    generate(wh.landing, REPO / "dbt_project" / "seeds", SHARED if SHARED.exists() else None)
    wh.outcomes = service_night("test-sample").files
    return wh


@pytest.fixture
def sample(sample_warehouse) -> Warehouse:
    sample_warehouse.use()
    return sample_warehouse


# The fast lane (`make test-fast`): everything but what runs Airflow, a dbt build or the sample
# warehouse. A test is slow when its module runs Airflow or dbt, or it uses a fixture that builds.
SLOW_MODULES = {"test_airflow", "test_airflow_backfill", "test_bench_smoke", "test_checkouts_side_by_side",
                "test_dbt_incremental", "test_dbt_docs", "test_reliability", "test_budget_plan_names",
                "test_nothing_lost", "test_bi", "test_warehouse_connection", "test_stop"}
SLOW_FIXTURES = {"sample_warehouse", "real_bill", "documents_warehouse", "prodcheck_root"}


# `make test` runs on TEST_WORKERS processes (pytest-xdist, --dist loadgroup). Each group below runs whole on
# one worker, so a module's fixtures and the sample warehouse are built once; the modules that share the
# sample warehouse are one group (with DGWH_TEST_BI=1 it holds the Superset check too). The longest groups go
# first, so the workers finish at about the same time; the Makefile passes --no-loadscope-reorder, without
# which xdist orders groups by their number of tests instead (and the Airflow module, with few tests and
# the longest run, started late). The Airflow backfill is a module of its own for the same reason: after the
# Airflow module's four nights on one worker it made that worker the last to finish.
LONGEST_FIRST = ("test_airflow", "sample", "test_airflow_backfill", "test_stop", "test_nothing_lost",
                 "test_dbt_incremental", "test_operations", "test_bench_smoke", "test_warehouse_connection",
                 "test_reliability")


def _module(item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1] if item.module else ""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items) -> None:
    on_sample = {_module(i) for i in items if "sample_warehouse" in getattr(i, "fixturenames", ())}
    for item in items:
        module = _module(item)
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        item.add_marker(pytest.mark.xdist_group("sample" if module in on_sample else module))
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    order = {id(item): n for n, item in enumerate(items)}

    def key(item) -> tuple[int, int]:
        group = "sample" if _module(item) in on_sample else _module(item)
        return rank.get(group, len(rank)), order[id(item)]

    items.sort(key=key)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session) -> None:
    """pytest-xdist's loadgroup sends a group to one worker by suffixing node ids; pytest 9.2 computes node ids
    another way and the suffix silently vanishes (both workers then build the same fixtures at once). Fail
    loudly instead of running the suite that way: pytest is pinned to 9.1.1 for this."""
    items = session.items
    if items and getattr(session.config.option, "loadgroup", False) and "@" not in items[0].nodeid:
        raise pytest.UsageError("pytest-xdist --dist loadgroup did not group the tests (node ids carry no @group): "
                                f"pytest {pytest.__version__} is not the pinned one (requirements.lock)")

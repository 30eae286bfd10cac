"""Test where you deploy: the test environment carries the providers the production image runs with
(requirements.lock pins them; docker/airflow/filter_requirements.py installs those pins into the image),
the DAGs parse with exactly that set, and every Asset URI survives Airflow's own URI checks (the postgres
provider's sanitizer rejected the old ``postgres://warehouse/marts/<name>``)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import REPO

DAG_IDS = {"dg_nightly", "dg_backfill"}


def _filter_module():
    spec = importlib.util.spec_from_file_location("filter_requirements",
                                                  REPO / "docker" / "airflow" / "filter_requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock_pins(lock: str = "requirements.lock") -> dict[str, str]:
    """Canonical name -> pinned version of each of the lock's entries."""
    flt = _filter_module()
    return {flt.requirement_name(entry): flt.pinned_version(entry)
            for entry in flt.entries((REPO / lock).read_text().splitlines())}


@pytest.fixture()
def dagbag(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.syspath_prepend(str(REPO / "dags"))  # Airflow puts the DAGs folder on sys.path
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return DagBag(dag_folder=str(REPO / "dags"))


def test_the_environment_carries_exactly_the_production_providers_at_the_locked_versions():
    from airflow.providers_manager import ProvidersManager

    production = _filter_module().PRODUCTION_PROVIDERS
    pins = _lock_pins()
    assert {n for n in pins if n.startswith("apache-airflow-providers-")} == production
    installed = {p for p in ProvidersManager().providers if p.startswith("apache-airflow-providers-")}
    assert installed == production, f"missing {sorted(production - installed)}, extra {sorted(installed - production)}"
    for name in production:
        assert importlib.metadata.version(name) == pins[name], name
    assert pins["apache-airflow"] == importlib.metadata.version("apache-airflow")


def test_dags_parse_with_the_production_providers_without_import_errors(dagbag):
    from airflow.providers_manager import ProvidersManager

    assert "postgres" in ProvidersManager().asset_uri_handlers, "the postgres provider's URI checks are not loaded"
    assert dagbag.import_errors == {}, dagbag.import_errors
    assert set(dagbag.dag_ids) == DAG_IDS


def _asset_uris(dagbag) -> set[str]:
    return {outlet.uri for dag in dagbag.dags.values() for task in dag.tasks for outlet in task.outlets}


def _airflow_checks(uri: str) -> str:
    """The URI as Airflow stores it: the provider's handler for its scheme, then the SDK's normalisation."""
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.definitions.asset import _sanitize_uri

    handler = ProvidersManager().asset_uri_handlers[urlsplit(uri).scheme]
    assert urlunsplit(handler(urlsplit(uri))) == uri, "the provider would rewrite this URI"
    return _sanitize_uri(uri)


def test_every_asset_uri_passes_airflows_own_uri_checks_unchanged(dagbag):
    uris = _asset_uris(dagbag)
    manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert uris == {f"postgres://warehouse:5432/warehouse/marts/{name}" for name in marts}
    for uri in uris:
        assert _airflow_checks(uri) == uri
    for dag_id in DAG_IDS:  # both DAGs announce every mart they rebuild
        assert {o.uri for t in dagbag.dags[dag_id].tasks for o in t.outlets} == uris, dag_id


@pytest.mark.parametrize("url, expected", [
    ("postgresql://dg_pipeline:s3cret@warehouse:5432/warehouse", "postgres://warehouse:5432/warehouse/marts/m"),
    ("postgresql://dg_pipeline:s3cret@db.example.org/dw", "postgres://db.example.org:5432/dw/marts/m"),
    ("postgresql://u@127.0.0.1:6543/", "postgres://127.0.0.1:6543/warehouse/marts/m"),
    ("", "postgres://warehouse:5432/warehouse/marts/m"),
])
def test_mart_uris_from_any_warehouse_url_are_valid_and_never_carry_credentials(url, expected, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from common.assets import mart_uri

    uri = mart_uri("m", url)
    assert uri == expected and "s3cret" not in uri and "@" not in uri
    assert _airflow_checks(uri) == uri


def test_the_old_asset_uris_fail_the_same_checks():
    """The checks above can fail: the URIs this project shipped before are rejected by them."""
    with pytest.raises(ValueError, match="database, schema, and table"):
        _airflow_checks("postgres://warehouse/marts/budget_by_year")


def test_the_executors_and_auth_managers_the_providers_declare_import():
    """docker-compose.yml runs the CeleryExecutor and FAB's auth manager: with celery 5.7 the provider's
    executor failed to import (celery.backends.database.retry is gone), which no DAG parse shows."""
    from airflow._shared.module_loading import import_string
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    declared = [*manager.executor_class_names, *manager.auth_managers]
    assert "airflow.providers.celery.executors.celery_executor.CeleryExecutor" in declared
    assert "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager" in declared
    for name in declared:
        import_string(name)
    import_string("airflow.providers.celery.executors.celery_executor_utils.execute_workload")

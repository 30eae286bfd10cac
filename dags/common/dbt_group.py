"""The dbt project as an Airflow task group: one task per model, one for the seeds (astronomer-cosmos).

Rendered from the prebuilt ``dbt_project/target/manifest.json`` (``make manifest``), so parsing a DAG
never runs dbt. Each task runs ``dbt build --select <node>`` in-process (dbtRunner): the model's own tests
run with it (cautious indirect selection), and a failed model is retried on its own. The seeds (the
registry and reference lists) load together in one task first (``dbt.seeds``): thirteen tasks of a few rows
each cost a dbt start-up apiece. Tests that span several models run in one task after the group
(``cross_model_tests``).

Credentials come from the Airflow connection ``dg_warehouse`` (``ground.settings.WAREHOUSE_CONN_ID``) through
Cosmos's ``PostgresUserPasswordProfileMapping``: Cosmos writes a profiles.yml with host, port, user and database
and ``password: "{{ env_var('COSMOS_CONN_POSTGRES_PASSWORD') }}"``, and sets that variable for the dbt run
only. No profiles file with credentials, no password in rendered templates or logs (Airflow masks a
connection's password once a task has read it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ground.manifest import manifest, manifest_path
from ground.settings import WAREHOUSE_CONN_ID, get_settings

# dbt's profile settings besides the connection's host, port, user, password and database
# (dbt_project/profiles.yml has the same for dbt outside Airflow).
PROFILE_ARGS = {"schema": "staging", "threads": 4, "connect_timeout": 10, "retries": 2}


def profile_config():
    """The dbt profile ``dg_warehouse`` (target ``warehouse``) mapped from the Airflow connection."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return ProfileConfig(profile_name="dg_warehouse", target_name="warehouse",
                         profile_mapping=PostgresUserPasswordProfileMapping(conn_id=WAREHOUSE_CONN_ID,
                                                                            profile_args=dict(PROFILE_ARGS)))


def _warehouse_env(context: Any) -> None:
    """pre_execute hook: skip a node the night's new files do not reach (``build_needed``'s ``nodes``), else
    the embedded warehouse started if it is down (never after ``make stop``: the task fails at once), and the
    run id dbt records in ops.dbt_results."""
    import gc
    import os

    from common.failfast import no_retry
    from ground.warehouse import warehouse_url

    _skip_unselected(context)
    # Cosmos runs a full gc.collect() after each dbt command (astronomer-cosmos#2334). What is alive when the
    # task starts (Airflow, dbt, the DAG; in `dags test` every task before) lives on: leave it out of that
    # collection, until the task is done (_thaw).
    gc.freeze()
    try:
        warehouse_url()
    except Exception as exc:  # make stop: fail the model's task at once instead of retrying it
        instead = no_retry(exc)
        if instead is None:
            raise
        raise instead from exc
    os.environ["DGWH_RUN_ID"] = str(context["run_id"])


def _thaw(context: Any, result: Any = None) -> None:
    """post_execute hook: what _warehouse_env froze is collectable again (in `dags test` one process runs every
    task, so cyclic garbage frozen at a task's start would otherwise stay for the whole run). A failed task
    skips this; its process ends with the task under a scheduler, and a `dags test` run at the run's end."""
    import gc

    gc.unfreeze()


def _skip_unselected(context: Any) -> None:
    """A run whose ``build_needed`` chose the nodes to build (only new files changed) skips the others; the
    group's trigger rule lets a chosen node run when an upstream node was skipped so."""
    from airflow.sdk.exceptions import AirflowSkipException

    nodes = _selected_nodes(context["ti"], context["dag"])
    if nodes is None:
        return
    select = context["task"].select  # Cosmos selects each node by its fqn: "fqn:dg_warehouse.staging.stg_x"
    select = select[0] if isinstance(select, list | tuple) else select
    if str(select).removeprefix("fqn:") not in nodes:
        raise AirflowSkipException("not reached by the night's new files: left as the last build made it")


def _selected_nodes(ti: Any, dag: Any) -> list[str] | None:
    """The nodes the night's ``build_needed`` chose to build (dotted fqns), or None: build them all (no
    decision, e.g. in dg_backfill or ``airflow tasks test``, or a full build)."""
    decision = ti.xcom_pull(task_ids="build_needed", key="decision") if "build_needed" in dag.task_ids else None
    return (decision or {}).get("nodes")


def cross_model_tests() -> list[str]:
    """Tests reading more than one model or seed (relationships, cross-mart agreements). A per-model build
    cannot run them before every parent exists, so they run together after the group. The reconcile tests
    (tag ``reconcile``) are not among them: ``reconcile_marts`` runs them next."""
    nodes = manifest()["nodes"]
    return sorted(node["name"] for node in nodes.values() if node["resource_type"] == "test"
                  and "reconcile" not in node["config"].get("tags", [])
                  and len({n for n in node["depends_on"]["nodes"] if not n.startswith("test.")}) > 1)


def dbt_task_group(group_id: str, dbt_vars: dict[str, Any] | None = None, full_refresh: bool = False,
                   pool: str | None = None):
    """The dbt DAG as tasks; ``dbt_vars`` values may be Jinja templates (e.g. ``{{ params.fy_from }}``);
    ``pool``: the Airflow pool every dbt task takes a slot of (nightly/pools.py)."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

    project = get_settings().dbt_project_dir
    manifest = manifest_path()
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} is missing: run `make manifest` (dbt parse) before loading the DAGs")
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=project, manifest_path=manifest, partial_parse=True),
        profile_config=profile_config(),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL,
                                         invocation_mode=InvocationMode.DBT_RUNNER,
                                         test_indirect_selection=TestIndirectSelection.CAUTIOUS),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                                   exclude=["resource_type:seed"]),
        # --no-write-json: a task's manifest.json and run_results.json die with its temp copy of the project
        # (results go to ops.dbt_results); writing and then re-reading them for OpenLineage, which has no
        # transport here, was a second of each task's three.
        operator_args={"pre_execute": _warehouse_env, "post_execute": _thaw, "install_deps": False,
                       "emit_datasets": False, "full_refresh": full_refresh, "vars": dbt_vars or {},
                       "dbt_cmd_global_flags": ["--no-write-json", "--log-level-file", "none"]},
        # A node runs when none upstream failed and one ran: an upstream node the night's files do not reach
        # skips itself (``_skip_unselected``); a group whose roots the short circuit skipped skips whole.
        default_args={"trigger_rule": "none_failed_min_one_success",
                      "retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": 2.0,
                      "execution_timeout": timedelta(minutes=30), **({"pool": pool} if pool else {})},
    )
    roots = list(group.get_roots())
    with group:
        seeds = _seeds_task(pool)(dbt_vars=dbt_vars or {})
    seeds >> roots
    return group


def seed_nodes() -> list[str]:
    """Every seed of the project by its dotted fqn (as the night's decision names nodes)."""
    return sorted(".".join(n["fqn"]) for n in manifest()["nodes"].values() if n["resource_type"] == "seed")


def _seeds_task(pool: str | None):
    """``dbt build`` of the seeds (with their tests) in one task, before every model task. On a night whose
    new files reach no seed it succeeds having built nothing: a skip would skip the models after it."""
    from airflow.sdk import task

    from common.failfast import fail_fast

    @task(task_id="seeds", trigger_rule="none_failed_min_one_success", retries=2, retry_delay=timedelta(minutes=1),
          retry_exponential_backoff=2.0, execution_timeout=timedelta(minutes=30), **({"pool": pool} if pool else {}))
    @fail_fast
    def seeds(dbt_vars: dict[str, Any], dag=None, dag_run=None, ti=None) -> str:
        from nightly.service import build

        nodes = _selected_nodes(ti, dag)
        wanted = [n for n in seed_nodes() if nodes is None or n in nodes]
        if not wanted:
            return "no seed reached by the night's new files"
        # cautious: a relationships test from a model to a seed waits for the model (cross-model tests)
        outcome = build({"select": [f"fqn:{n}" for n in wanted]}, dag_run.run_id, dbt_vars or None, "cautious")
        if not outcome.success:
            raise RuntimeError("dbt seeds failed: " + "; ".join(outcome.failures[:10]))
        return f"{outcome.models} seed(s) built, {outcome.tests_passed} test(s) passed"

    return seeds


def run_cross_model_tests(run_id: str, names: list[str], dbt_vars: dict[str, Any] | None = None) -> dict:
    """The body of the task after the group: one ``dbt test`` over the cross-model tests."""
    import json
    import os

    from nightly.transform import run_dbt

    os.environ["DGWH_RUN_ID"] = run_id
    args = ["test", "--select", *names] if names else ["test", "--select", "tag:__none__"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    outcome = run_dbt(args)
    if not outcome.success:
        raise RuntimeError("cross-model dbt tests failed: " + "; ".join(outcome.failures[:10]))
    return outcome.__dict__

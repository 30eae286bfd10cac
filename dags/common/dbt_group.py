"""The dbt project as an Airflow task group: one ``dbt build`` for the night, each node's result shown apart.

A night starts dbt once for its build, not once per node (each start is dbt's import, a parse of the project
and a manifest load: most of a per-node task's time). ``dbt.plan`` lists the nodes the night builds (the
``build_needed`` decision's nodes, or every model and seed), without dbt; ``dbt.build`` runs one
``dbt build`` of that selection (dbt's own selectors, ``source:raw.<source>+``, when only new files changed)
in-process through Cosmos; ``dbt.node`` is mapped over the plan, one small task per node named by it, which
reads the node's result and its tests' from ``ops.dbt_results`` and succeeds, fails or skips as the node did.
On a night that builds more than ``NODE_TASKS_UP_TO`` nodes (a full build), ``dbt.node`` is one task per layer
(seeds, staging, intermediate, marts), which logs each node's result and fails naming its failed nodes.
So the Airflow task starts and the dbt work follow what the night builds, and the grid still shows each node.

A node that fails keeps its last good relation (dbt's table swap), dbt skips what it feeds (those nodes'
tasks skip, saying which parent failed) and builds everything else. A retried ``dbt.build`` (an error,
a killed worker) builds only what has not yet succeeded with its tests in the run. Tests that span several
models run after the group (``cross_model_tests``), the reconcile tests after those.

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
BUILT_KINDS = ("model", "seed", "snapshot")
_OK = {"success", "pass", "warn"}


def profile_config():
    """The dbt profile ``dg_warehouse`` (target ``warehouse``) mapped from the Airflow connection."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return ProfileConfig(profile_name="dg_warehouse", target_name="warehouse",
                         profile_mapping=PostgresUserPasswordProfileMapping(conn_id=WAREHOUSE_CONN_ID,
                                                                            profile_args=dict(PROFILE_ARGS)))


def _warehouse_env(context: Any) -> None:
    """pre_execute hook of ``dbt.build``: what to build (``_selection``), the embedded warehouse started if it
    is down (never after ``make stop``: the task fails at once), the lease still this run's (a run marked
    failed from the UI builds nothing beside the next holder), and the run id dbt records in ops.dbt_results."""
    import gc
    import os

    from common.failfast import no_retry
    from common.run_lock import still_ours
    from ground.warehouse import warehouse_url

    # Cosmos runs a full gc.collect() after each dbt command (astronomer-cosmos#2334). What is alive when the
    # task starts (Airflow, dbt, the DAG; in `dags test` every task before) lives on: leave it out of that
    # collection, until the task is done (_thaw).
    gc.freeze()
    try:
        warehouse_url()
        still_ours(str(context["run_id"]))
        task = context["task"]
        task.select, task.exclude = _selection(context["ti"], context["dag"], context["run_id"],
                                               context.get("params") or {})
    except Exception as exc:  # make stop: fail the task at once instead of retrying it
        instead = no_retry(exc)
        if instead is None:
            raise
        raise instead from exc
    os.environ["DGWH_RUN_ID"] = str(context["run_id"])


def _thaw(context: Any, result: Any = None) -> None:
    """post_execute hook: what _warehouse_env froze is collectable again (in `dags test` one process runs every
    task, so cyclic garbage frozen at a task's start would otherwise stay for the whole run). A failed task
    skips this; its process ends with the task under a scheduler, and a `dags test` run at the run's end.
    Then the build's lineage: what it built in this run and what that read (common.lineage)."""
    import gc
    import logging

    from common.lineage import dbt_lineage, report

    gc.unfreeze()
    try:
        built = [uid for uid, (status, _) in _results(str(context["run_id"])).items() if status == "success"]
        inputs, outputs = dbt_lineage(_nodes(), manifest()["sources"], built)
    except Exception as exc:  # the build stands; only its lineage is missing
        logging.getLogger(__name__).warning("dbt.build's lineage not reported: %s", exc)
        return
    report(context["ti"], inputs, outputs)


def _decision(ti: Any, dag: Any) -> dict:
    """The night's ``build_needed`` decision ({} in dg_backfill or ``airflow tasks test``: build it all)."""
    return (ti.xcom_pull(task_ids="build_needed", key="decision") if "build_needed" in dag.task_ids else None) or {}


def _selection(ti: Any, dag: Any, run_id: str, params: dict) -> tuple[list[str], list[str]]:
    """``--select`` and ``--exclude`` of the night's ``dbt build``: the decision's dbt selectors (none: the
    whole project; without a decision, as in ``airflow tasks test``, the param ``dbt_select`` may name some),
    less the reconcile and cross-model tests (they run after the group), what the decision leaves out (a
    file-only night: the unit tests) and, on a retry, less the nodes that already succeeded in this run with
    every test of theirs."""
    decision = _decision(ti, dag)
    select = list(decision.get("select") or params.get("dbt_select") or [])
    exclude = ["tag:reconcile", *cross_model_tests(), *(decision.get("exclude") or [])]
    if getattr(ti, "try_number", 1) > 1:
        exclude += [f"fqn:{'.'.join(_nodes()[uid]['fqn'])}" for uid in sorted(_done_in_run(run_id))]
    return select, exclude


def _nodes() -> dict[str, dict]:
    return {uid: n for uid, n in manifest()["nodes"].items() if n["resource_type"] in BUILT_KINDS}


def _own_tests() -> dict[str, list[str]]:
    """Each built node's tests the build runs with it (not the cross-model or reconcile ones), by unique_id."""
    cross = set(cross_model_tests())
    tests: dict[str, list[str]] = {}
    for uid, node in manifest()["nodes"].items():
        if node["resource_type"] != "test" or node["name"] in cross or "reconcile" in node["config"].get("tags", []):
            continue
        for parent in node["depends_on"]["nodes"]:
            tests.setdefault(parent, []).append(uid)
    for uid, node in (manifest().get("unit_tests") or {}).items():
        for parent in node["depends_on"]["nodes"]:
            tests.setdefault(parent, []).append(uid)
    return tests


def _results(run_id: str) -> dict[str, tuple[str, str]]:
    """Each node's latest (status, message) dbt recorded under ``run_id``."""
    from ground.warehouse import connect

    with connect(autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('ops.dbt_results')").fetchone()[0] is None:
            return {}
        rows = conn.execute("""SELECT DISTINCT ON (unique_id) unique_id, status, coalesce(message, '')
                               FROM ops.dbt_results WHERE run_id = %s ORDER BY unique_id, recorded_at DESC""",
                            (run_id,)).fetchall()
    return {uid: (status, message) for uid, status, message in rows}


def _done_in_run(run_id: str) -> set[str]:
    """Built nodes that succeeded in this run, every test of theirs recorded as passed."""
    results, tests = _results(run_id), _own_tests()
    return {uid for uid in _nodes() if results.get(uid, ("",))[0] == "success"  # a failed unit test skips its model
            and all(results.get(t, ("",))[0] in _OK for t in tests.get(uid, []) if not t.startswith("unit_test."))}


def plan_nodes(decision: dict) -> list[str]:
    """The unique_ids of the nodes a night builds: the decision's (dotted fqns) or every built node."""
    nodes = _nodes()
    wanted = decision.get("nodes")
    if wanted is None:
        return sorted(uid for uid, n in nodes.items() if n["config"].get("materialized") != "ephemeral")
    by_fqn = {".".join(n["fqn"]): uid for uid, n in nodes.items()}
    return sorted(by_fqn[f] for f in wanted if f in by_fqn)


# A night that builds more nodes than this shows one result task per layer (seeds, staging, intermediate,
# marts) instead of one per node: on a full build most of Airflow's cost would be the node tasks' starts.
NODE_TASKS_UP_TO = 16
LAYER = "layer:"


def _layer(unique_id: str) -> str:
    node = _nodes()[unique_id]
    return "seeds" if node["resource_type"] == "seed" else node["fqn"][1] if len(node["fqn"]) > 2 else "models"


def plan_tasks(planned: list[str]) -> list[str]:
    """What ``dbt.node`` is mapped over: the planned nodes, one task each, on a night that builds a few; else
    one ``layer:<name>`` per layer the nodes fall in."""
    if len(planned) <= NODE_TASKS_UP_TO:
        return planned
    return sorted({LAYER + _layer(uid) for uid in planned})


def layer_result(layer: str, planned: list[str], run_id: str) -> str:
    """One layer's nodes' outcomes in the night's build (``node_result`` each), one line per node in the log;
    fails naming every node that failed (or has a failed test), skips when dbt built none of them."""
    import logging

    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    log = logging.getLogger(__name__)
    members = [uid for uid in planned if _layer(uid) == layer]
    results, tests = _results(run_id), _own_tests()  # read once for the layer
    failed, skipped, lines = [], [], []
    for uid in members:
        name = _nodes()[uid]["name"]
        try:
            lines.append(node_result(uid, run_id, results, tests))
        except AirflowSkipException as exc:
            skipped.append(name)
            lines.append(str(exc))
        except AirflowFailException as exc:
            failed.append(name)
            lines.append(str(exc))
    for line in lines:
        log.info("%s", line)
    if failed:
        raise AirflowFailException(f"{layer}: {len(failed)} of {len(members)} node(s) failed: {', '.join(failed)}; "
                                   + "; ".join(line for line in lines if line.split(":", 1)[0] in failed)[:1500])
    if members and len(skipped) == len(members):
        raise AirflowSkipException(f"{layer}: none of its {len(members)} node(s) built, a node they read failed")
    return (f"{layer}: {len(members) - len(skipped)} of {len(members)} node(s) built with their tests"
            + (f"; not built, a node they read failed: {', '.join(skipped)}" if skipped else ""))


def node_result(unique_id: str, run_id: str, results: dict[str, tuple[str, str]] | None = None,
                own_tests: dict[str, list[str]] | None = None) -> str:
    """One node's outcome in the night's build, as its task shows it: a line, or an exception (failed: the
    node or one of its tests; skipped: dbt did not build it because a parent failed). ``results`` and
    ``own_tests``: ``_results(run_id)`` and ``_own_tests()`` when the caller has them."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    results, nodes = results if results is not None else _results(run_id), _nodes()
    status, message = results.get(unique_id, ("", ""))
    name = nodes[unique_id]["name"] if unique_id in nodes else unique_id
    tests = (own_tests if own_tests is not None else _own_tests()).get(unique_id, [])
    failed = [f"{t.split('.')[2]} ({results[t][0]})" for t in tests if t in results and results[t][0] not in _OK]
    if status == "skipped":
        parents = [p.split(".")[-1] for p in nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", [])
                   if p in results and results[p][0] != "success"]
        why = ", ".join(parents) or "see dbt.build"
        raise AirflowSkipException(f"{name}: not built, a node it reads failed ({why}); its last good relation stands")
    if not status:
        raise AirflowFailException(f"{name}: dbt recorded no result for it in this run (see dbt.build's log)")
    if status != "success":
        raise AirflowFailException(f"{name}: {status}: {message[:500]}; its last good relation stands")
    if failed:
        raise AirflowFailException(f"{name}: built, but test(s) failed: {'; '.join(failed)}")
    passed = sum(1 for t in tests if t in results)
    return f"{name}: {status}, {passed} test(s) passed"


def cross_model_tests() -> list[str]:
    """Tests reading more than one model or seed (relationships, cross-mart agreements). They run together
    after the group, outside the build: a failing one does not stop the nodes it reads. The reconcile tests
    (tag ``reconcile``) are not among them: ``reconcile_marts`` runs them next."""
    nodes = manifest()["nodes"]
    return sorted(node["name"] for node in nodes.values() if node["resource_type"] == "test"
                  and "reconcile" not in node["config"].get("tags", [])
                  and len({n for n in node["depends_on"]["nodes"] if not n.startswith("test.")}) > 1)


def dbt_task_group(group_id: str, dbt_vars: dict[str, Any] | None = None, full_refresh: bool = False,
                   pool: str | None = None):
    """``plan`` → ``build`` (one ``dbt build``) → ``node`` (mapped: each planned node's result). ``dbt_vars``
    values may be Jinja templates (e.g. ``{{ params.fy_from }}``); ``pool``: the Airflow pool the dbt tasks
    take a slot of (nightly/pools.py)."""
    from airflow.sdk import TaskGroup, task
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import DbtBuildLocalOperator

    from common.failfast import fail_fast

    if not manifest_path().exists():
        raise FileNotFoundError(f"{manifest_path()} is missing: run `make manifest` (dbt parse) first")
    pooled = {"pool": pool} if pool else {}
    with TaskGroup(group_id=group_id) as group:

        # plan and node take no warehouse slot: plan reads no warehouse, a node one row set for milliseconds.
        @task(task_id="plan", retries=2, retry_delay=timedelta(seconds=30), execution_timeout=timedelta(minutes=5))
        def plan(dag=None, ti=None) -> list[str]:
            """The nodes the night builds, or their layers on a big night (no dbt: the decision and the manifest)."""
            return plan_tasks(plan_nodes(_decision(ti, dag)))

        # none_failed_min_one_success: the short circuit's skip of ``plan`` skips the build and the results.
        build = DbtBuildLocalOperator(
            task_id="build", project_dir=str(get_settings().dbt_project_dir), profile_config=profile_config(),
            invocation_mode=InvocationMode.DBT_RUNNER, indirect_selection="cautious", install_deps=False,
            emit_datasets=False, full_refresh=full_refresh, vars=dbt_vars or {},
            # --no-write-json: manifest.json and run_results.json would die with the task's temp copy of the
            # project (results go to ops.dbt_results); writing them was a second of each dbt start.
            dbt_cmd_global_flags=["--no-write-json", "--log-level-file", "none"],
            pre_execute=_warehouse_env, post_execute=_thaw, trigger_rule="none_failed_min_one_success",
            retries=2, retry_delay=timedelta(minutes=1), retry_exponential_backoff=2.0,
            execution_timeout=timedelta(minutes=60), **pooled)

        @task(task_id="node", map_index_template="{{ dbt_node }}", trigger_rule="all_done_min_one_success",
              retries=1, retry_delay=timedelta(seconds=30), execution_timeout=timedelta(minutes=5))
        @fail_fast
        def node(unique_id: str, dag_run=None, dag=None, ti=None) -> str:
            """One node's result in the night's build, or a layer's (dbt.build's log has dbt's own lines)."""
            from airflow.sdk import get_current_context

            get_current_context()["dbt_node"] = unique_id.split(".")[-1]
            if unique_id.startswith(LAYER):
                return layer_result(unique_id.removeprefix(LAYER), plan_nodes(_decision(ti, dag)), dag_run.run_id)
            return node_result(unique_id, dag_run.run_id)

        planned = plan()
        planned >> build >> node.expand(unique_id=planned)
    return group


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

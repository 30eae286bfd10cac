"""Run dbt against the warehouse: credentials go to dbt through the environment, never argv or logs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ground.settings import get_settings
from ground.warehouse import warehouse_url

# dbt's documentation site as one self-contained page (target/static_index.html): the plain index.html
# fetches manifest.json and catalog.json, which browsers refuse from file:// (it hangs in Chromium).
DOCS_GENERATE = ("docs", "generate", "--static")
DOCS_PAGE = "static_index.html"


@dataclass
class DbtOutcome:
    success: bool
    models: int
    tests_passed: int
    tests_failed: int
    failures: list[str]
    # nodes built again after giving up waiting for a lock (``run_dbt``)
    retried: list[str] = field(default_factory=list)


def dbt_env(url: str | None = None) -> dict[str, str]:
    parts = urlsplit(url or warehouse_url())
    return {
        "DBT_PG_HOST": parts.hostname or "127.0.0.1",
        "DBT_PG_PORT": str(parts.port or 5432),
        "DBT_PG_USER": unquote(parts.username or ""),
        "DBT_PG_PASSWORD": unquote(parts.password or ""),
        "DBT_PG_DBNAME": parts.path.lstrip("/") or "postgres",
    }


def build_manifest() -> Path:
    """``dbt parse`` into ``dbt_project/target/manifest.json``, which the DAGs render their dbt tasks from.

    Parsing never connects, so placeholder credentials do when no warehouse is configured."""
    from dbt.cli.main import dbtRunner

    settings = get_settings()
    for key, value in {"DBT_PG_HOST": "localhost", "DBT_PG_PORT": "5432", "DBT_PG_USER": "parse",
                       "DBT_PG_PASSWORD": "", "DBT_PG_DBNAME": "warehouse"}.items():
        os.environ.setdefault(key, value)
    project = settings.dbt_project_dir
    result = dbtRunner().invoke(["parse", "--project-dir", str(project), "--profiles-dir", str(project),
                                 "--target-path", str(project / "target"),
                                 "--log-path", str(settings.state_dir / "dbt_logs"), "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return _manifest_path()


def _invoke(args: list[str]):
    """``dbt <args>`` in-process (dbtRunner) on the project, the run's own target folder (``nightly.dbt_target``:
    what dbt wrote there is copied to ``dbt_target`` once it is done) and the log folder, credentials in the
    environment; dbt's own result."""
    import time

    from dbt.cli.main import dbtRunner

    from nightly.dbt_target import publish, run_target

    settings = get_settings()
    os.environ.update(dbt_env())
    project, target, since = str(settings.dbt_project_dir), run_target(settings=settings), time.time()
    result = dbtRunner().invoke([*args, "--project-dir", project, "--profiles-dir", project,
                                 "--target-path", str(target), "--log-path", str(settings.state_dir / "dbt_logs")])
    publish(target, since, settings)
    return result


# How PostgreSQL reports a statement that gave up waiting for a lock (SQLSTATE 55P03, lock_timeout).
_LOCK_TIMEOUT = "lock timeout"


def run_dbt(args: list[str]) -> DbtOutcome:
    """``dbt <args>`` in-process, summarised. The ops schema is migrated first: dbt's on-run-end hook writes
    ops.dbt_results, which ``ground.schema`` owns. A model that gave up waiting for a lock (a BI session
    reading the mart it swaps; the ``ddl_lock_timeout`` pre-hook) is built again with ``dbt retry``, up to
    ``ddl_lock_retries`` times, ``ddl_lock_retry_delay_s`` apart: bi_reader's own limits end that session first."""
    import logging
    import time

    from ground.schema import ensure_ops
    from ground.settings import session_limits
    from ground.warehouse import connect

    with connect(autocommit=True) as conn:
        ensure_ops(conn)
    limits = session_limits()
    nodes: dict[str, tuple[str, str, str, str]] = {}  # unique_id: resource type, name, status, message
    retried: list[str] = []
    result = _invoke(args)
    for attempt in range(limits.ddl_lock_retries + 1):
        for node in (result.result or []) if hasattr(result.result, "__iter__") else []:
            nodes[node.node.unique_id] = (getattr(node.node, "resource_type", ""), node.node.name, str(node.status),
                                          str(getattr(node, "message", "") or ""))
        waited = sorted(name for _, name, status, message in nodes.values()
                        if status == "error" and _LOCK_TIMEOUT in message.lower())
        if result.success or not waited or attempt == limits.ddl_lock_retries:
            break
        logging.getLogger(__name__).warning("%s gave up waiting for a lock (lock_timeout %s): built again in %s s",
                                            ", ".join(waited), limits.ddl_lock_timeout, limits.ddl_lock_retry_delay_s)
        retried += waited
        time.sleep(limits.ddl_lock_retry_delay_s)
        result = _invoke(["retry"])
    models = tests_passed = tests_failed = 0
    failures: list[str] = []
    for resource, name, status, _ in nodes.values():
        if resource in ("test", "unit_test"):
            if status in ("pass", "warn"):
                tests_passed += 1
            else:
                tests_failed += 1
                failures.append(f"{name}: {status}")
        elif resource in ("model", "seed"):
            if status == "success":
                models += 1
            else:
                failures.append(f"{name}: {status}")
    return DbtOutcome(bool(result.success), models, tests_passed, tests_failed, failures, retried)


def dbt_results_for_run(conn, run_id: str) -> DbtOutcome:
    """What every dbt invocation of one Airflow run did (rows written by the on-run-end hook)."""
    if conn.execute("SELECT to_regclass('ops.dbt_results')").fetchone()[0] is None:
        return DbtOutcome(False, 0, 0, 0, ["no dbt results recorded"])
    rows = conn.execute(
        """SELECT DISTINCT ON (unique_id) unique_id, resource_type, status FROM ops.dbt_results
           WHERE run_id = %s ORDER BY unique_id, recorded_at DESC""", (run_id,)).fetchall()
    ok = {"success", "pass", "warn", "no-op"}  # no-op: an exposure in a whole-project ``dbt build``
    models = sum(1 for _, kind, status in rows if kind in ("model", "seed") and status == "success")
    tests_passed = sum(1 for _, kind, status in rows if kind in ("test", "unit_test") and status in ok)
    failures = [f"{uid}: {status}" for uid, _, status in rows if status not in ok]
    tests_failed = sum(1 for _, kind, status in rows if kind in ("test", "unit_test") and status not in ok)
    return DbtOutcome(bool(rows) and not failures, models, tests_passed, tests_failed, failures)


# --- Whether a night needs dbt at all --------------------------------------------------------------------------

_NODE_KEYS = ("unique_id", "resource_type", "checksum", "config", "depends_on", "test_metadata", "contract",
              "alias", "given", "expect", "overrides")
_DBT_OK = ("success", "pass", "warn")

_PROJECT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv"}
_NOT_PROJECT = {"target", "logs", "dbt_packages"}


def _manifest_path() -> Path:
    from ground.manifest import manifest_path

    return manifest_path()


def project_fingerprint(manifest_path: Path | None = None) -> str:
    """A SHA-256 of what ``dbt build`` would build, from the parsed manifest (``make manifest``; parsed here
    when missing): every model, seed, test, unit test, hook, source and macro (its checksum, config and
    dependencies, never paths or parse times), the project's vars and the dbt version; and the bytes of the
    project's .sql, .yml and .csv files, since dbt builds from the files even when nobody re-parsed the
    manifest after editing them. Any change to a model's SQL, a seed CSV or a test changes it."""
    path = manifest_path or _manifest_path()
    if manifest_path is None and not path.exists():
        path = build_manifest()
    manifest = json.loads(path.read_text())
    project_dir = path.parent.parent
    parts: dict[str, object] = {
        "dbt": [manifest["metadata"].get(k) for k in ("dbt_version", "adapter_type", "project_name")],
        "vars": _project_vars(project_dir),
    }
    for section in ("nodes", "unit_tests", "sources"):
        for uid, node in sorted((manifest.get(section) or {}).items()):
            parts[f"{section}:{uid}"] = {k: node.get(k) for k in _NODE_KEYS if k in node}
    for uid, macro in sorted((manifest.get("macros") or {}).items()):
        parts[f"macros:{uid}"] = [macro.get("macro_sql"), macro.get("depends_on")]
    for file in sorted(project_dir.rglob("*")):
        relative = file.relative_to(project_dir)
        if (file.suffix in _PROJECT_SUFFIXES and relative.parts[0] not in _NOT_PROJECT
                and not any(part.startswith(".") for part in relative.parts) and file.is_file()):
            parts[f"file:{relative.as_posix()}"] = hashlib.sha256(file.read_bytes()).hexdigest()
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _project_vars(project_dir: Path) -> object:
    import yaml

    project_file = project_dir / "dbt_project.yml"
    if not project_file.exists():
        return None
    return (yaml.safe_load(project_file.read_text()) or {}).get("vars")


def ledger_mark(conn) -> int:
    """The newest ledger entry's file_id: taken before dbt starts, it says which files a build included."""
    return conn.execute("SELECT coalesce(max(file_id), 0) FROM ops.file_ledger").fetchone()[0]


def record_build(conn, run_id: str, fingerprint: str, files_through: int) -> None:
    """Remember that ``run_id`` built and tested the whole project of ``fingerprint`` successfully, from
    every file up to ledger entry ``files_through`` (``ledger_mark`` before the build). ops.dbt_builds is
    made by ``ensure_schema``, which ``build_needed`` runs."""
    conn.execute(
        """INSERT INTO ops.dbt_builds (run_id, fingerprint, built_at, files_through)
           VALUES (%s, %s, clock_timestamp(), %s)
           ON CONFLICT (run_id) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = excluded.built_at,
               files_through = excluded.files_through""",
        (run_id, fingerprint, files_through))


def last_build(conn) -> tuple[str, str, object, int] | None:
    """(run_id, fingerprint, built_at, files_through) of the newest successful nightly build, if any."""
    return conn.execute("SELECT run_id, fingerprint, built_at, files_through FROM ops.dbt_builds "
                        "ORDER BY built_at DESC, files_through DESC LIMIT 1").fetchone()


@dataclass
class BuildDecision:
    needed: bool
    reason: str
    # dbt selectors of what the night's files change; None: the whole project.
    select: list[str] | None = None
    # On a night whose only news is files: the fiscal years they hold, by source (``night_years``), and their
    # ledger entries (``night_files``).
    years: dict[str, list[int]] | None = None
    files: list[int] | None = None


def build_needed(conn, run_id: str, fingerprint: str | None = None, force: bool = False,
                 manifest_path: Path | None = None) -> tuple[bool, str]:
    """Whether this night must run dbt, and why (``decide_build`` without the selection)."""
    decision = decide_build(conn, run_id, fingerprint, force, manifest_path)
    return decision.needed, decision.reason


def decide_build(conn, run_id: str, fingerprint: str | None = None, force: bool = False,
                 manifest_path: Path | None = None) -> BuildDecision:
    """Whether this night must run dbt, why (one sentence for the log and the summary), and what.

    A build is needed when forced, when no successful build is recorded, when a file was received since the
    last one (loaded, or rejected: the coverage mart counts rejections; by this run or by one that died before
    its build), when the dbt project changed since the last one (``project_fingerprint``), a model's or seed's
    relation is missing, or a dbt run since then failed (a failed node in ``ops.dbt_results``, or a run
    recorded 'failed' after dbt had started). Otherwise the
    marts already are what a build would make of the same raw data and the same project.

    When new files are the only reason, only what they change is built (``select``: their sources' raw
    tables and everything downstream, as dbt selects it, plus what reads the ledger and rejected rows);
    anything else, a file withdrawn since the last build included, builds the whole project."""
    from ground.schema import ensure_schema

    ensure_schema(conn)  # ops tables, and columns added since a warehouse was made (files_through)
    fingerprint = fingerprint or project_fingerprint()
    reasons: list[str] = []
    whole: list[str] = []  # reasons that need the whole project built
    last = last_build(conn)
    since = last[3] if last else 0
    new = conn.execute("SELECT source, status, count(*) FROM ops.file_ledger WHERE file_id > %s OR run_id = %s "
                       "GROUP BY source, status", (since, run_id)).fetchall()
    received: dict[str, int] = {}
    for _, status, n in new:
        received[status] = received.get(status, 0) + n
    if received:
        reasons.append(" and ".join(f"{n} new file(s) {status}" for status, n in sorted(received.items()))
                       + (f" since run {last[0]}'s build" if last else ""))
    if last is None:
        whole.append("no successful build is recorded")
    else:
        last_run, last_fingerprint, built_at, _ = last
        if last_fingerprint != fingerprint:
            whole.append(f"the dbt project changed since run {last_run} (models, seeds, tests or macros)")
        failed = _dbt_failed_since(conn, run_id, built_at)
        if failed:
            whole.append(f"a dbt run since the last successful build failed (run {failed})")
        withdrawn = conn.execute("SELECT count(*) FROM ops.file_withdrawals WHERE withdrawn_at > %s",
                                 (built_at,)).fetchone()[0]
        if withdrawn:
            whole.append(f"{withdrawn} file(s) withdrawn since run {last_run}'s build")
    missing = _missing_relations(conn, manifest_path or _manifest_path())
    if missing:
        whole.append(f"relation(s) missing: {', '.join(missing[:3])}"
                     + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    reasons += whole
    if force:
        return BuildDecision(True, "dbt build forced (param force_build)"
                             + (": also " + "; ".join(reasons) if reasons else ""))
    if whole:
        return BuildDecision(True, "dbt build needed: " + "; ".join(reasons))
    if received:
        select = changed_by_files(sorted({source for source, _, _ in new}))
        return BuildDecision(True, f"dbt build needed: {reasons[0]}; building what they change: {' '.join(select)}",
                             select, night_years(conn, since, run_id), night_files(conn, since, run_id))
    return BuildDecision(False, f"no new files and the dbt project is unchanged since run {last[0]} "
                                f"(built {last[2]:%Y-%m-%d %H:%M %Z}): marts left as they are")


# What a night whose only news is files leaves out of its build: the unit tests test SQL that did not change.
FILE_NIGHT_EXCLUDE = ("resource_type:unit_test",)


def night_years(conn, since: int, run_id: str) -> dict[str, list[int]]:
    """The fiscal years the files received after ledger entry ``since`` (or by ``run_id``) hold, by source:
    the years their rows and rejected rows name (a source with no readable year maps to [])."""
    rows = conn.execute(
        """SELECT l.source, y FROM ops.file_ledger AS l
               LEFT JOIN LATERAL unnest(l.fiscal_years_be) AS y ON true
           WHERE l.file_id > %(since)s OR l.run_id = %(run)s
           UNION
           SELECT l.source, r.fiscal_year_be FROM ops.rejected_rows AS r JOIN ops.file_ledger AS l USING (file_id)
           WHERE (l.file_id > %(since)s OR l.run_id = %(run)s) AND r.fiscal_year_be IS NOT NULL""",
        {"since": since, "run": run_id}).fetchall()
    years: dict[str, set[int]] = {}
    for source, year in rows:
        years.setdefault(source, set()).update([year] if year is not None else [])
    return {source: sorted(ys) for source, ys in sorted(years.items())}


def night_files(conn, since: int, run_id: str) -> list[int]:
    """The ledger entries of the files received after ledger entry ``since`` (or by ``run_id``): the same files
    as ``night_years``'."""
    return [file_id for (file_id,) in conn.execute(
        "SELECT file_id FROM ops.file_ledger WHERE file_id > %s OR run_id = %s ORDER BY file_id", (since, run_id))]


def record_night_scope(conn, run_id: str, years: dict[str, list[int]] | None, files: list[int] | None = None) -> None:
    """What the models and tests scoped by ``night_years`` and ``night_files`` (dbt_project/macros/night_years.sql)
    read for the run's build: the years and files of a file-only night, or no row (everything) for any other
    build. Without ``files``, the models that look only at the night's files look at every file."""
    if years is None:
        conn.execute("DELETE FROM ops.dbt_night_scope WHERE run_id = %s", (run_id,))
        return
    conn.execute("""INSERT INTO ops.dbt_night_scope (run_id, years_by_source, file_ids) VALUES (%s, %s::jsonb, %s)
                    ON CONFLICT (run_id) DO UPDATE SET years_by_source = excluded.years_by_source,
                        file_ids = excluded.file_ids, decided_at = now()""", (run_id, json.dumps(years), files))


def changed_by_files(sources: list[str]) -> list[str]:
    """dbt selectors of what new files of ``sources`` change: each one's raw table and everything downstream,
    the ledger's staging model, and everything downstream of the rejected rows (coverage, scorecards).
    Models that read the ledger join it to their own source's rows; a test builds a night each way and
    finds the marts equal to a full rebuild's."""
    return [*(f"source:raw.{name}+" for name in sorted(sources)), "stg_file_ledger", "source:ops.rejected_rows+"]


def selected_nodes(select: list[str], key: str = "unique_id") -> list[str]:
    """The models, seeds and snapshots dbt selects with ``select`` (``dbt ls``), by ``key``: ``unique_id``,
    or ``fqn`` (dotted, as Cosmos selects a node's task)."""
    result = _invoke(["ls", "--select", *select, "--resource-type", "model", "--resource-type", "seed",
                      "--resource-type", "snapshot", "--output", "json", "--output-keys", key, "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt ls --select {' '.join(select)} failed: {result.exception}")
    values = (json.loads(line)[key] for line in result.result)
    return sorted(".".join(v) if isinstance(v, list) else v for v in values)


def _missing_relations(conn, manifest_path: Path) -> list[str]:
    """schema.name of every model and seed in the manifest (ephemeral models aside) not in the warehouse."""
    manifest = json.loads(manifest_path.read_text())
    wanted = [(n["schema"], n.get("alias") or n["name"]) for n in manifest["nodes"].values()
              if n["resource_type"] in ("model", "seed") and n["config"].get("materialized") != "ephemeral"]
    rows = conn.execute(
        """SELECT s || '.' || a FROM unnest(%s::text[], %s::text[]) AS t(s, a)
           WHERE to_regclass(quote_ident(s) || '.' || quote_ident(a)) IS NULL ORDER BY 1""",
        ([s for s, _ in wanted], [a for _, a in wanted])).fetchall()
    return [r[0] for r in rows]


def _dbt_failed_since(conn, run_id: str, since) -> str | None:
    """The newest other run whose dbt results after ``since`` include a failure (a node's last attempt in
    that run: a retry that succeeded is not one), or which is recorded 'failed' in ``ops.pipeline_runs``
    after running dbt nodes."""
    if conn.execute("SELECT to_regclass('ops.dbt_results')").fetchone()[0] is None:
        return None
    row = conn.execute(
        """WITH latest AS (
               SELECT DISTINCT ON (run_id, unique_id) run_id, status, recorded_at FROM ops.dbt_results
               WHERE recorded_at > %s AND run_id <> %s
               ORDER BY run_id, unique_id, recorded_at DESC)
           SELECT l.run_id FROM latest AS l LEFT JOIN ops.pipeline_runs AS p USING (run_id)
           GROUP BY l.run_id
           HAVING bool_or(l.status <> ALL (%s)) OR bool_or(coalesce(p.status, '') = 'failed')
           ORDER BY max(l.recorded_at) DESC LIMIT 1""", (since, run_id, list(_DBT_OK))).fetchone()
    return row[0] if row else None


if __name__ == "__main__":
    print(build_manifest())


def source_freshness() -> dict:
    """``dbt source freshness``: how long since each raw table (and the ledger) last received rows. Warn-only:
    whatever it finds, and even when dbt itself fails, it returns what it can for the summary and never
    raises. ``stale``: ``[name, status, age in days]`` of the sources past their warn or error age."""
    import logging

    try:
        from nightly.dbt_target import run_target

        result = _invoke(["source", "freshness", "--output", str(run_target() / "sources.json")])
        checked, stale = 0, []
        for node in (result.result or []) if hasattr(result.result, "__iter__") else []:
            if getattr(node.node, "resource_type", "") != "source":
                continue  # the project's on-run-end hooks report here too (status success): not a source's age
            checked += 1
            status = str(getattr(node, "status", "")).lower().rsplit(".", 1)[-1]
            if status != "pass":
                age = getattr(node, "age", None)
                loaded_at = getattr(node, "max_loaded_at", None)
                if loaded_at is None or loaded_at.year <= 1:  # no row ever: dbt measures the age from year 1
                    status, age = "no data yet", None
                stale.append([getattr(node.node, "name", "?"), status,
                              round(age / 86400, 1) if isinstance(age, int | float) else None])
        worst = ("error" if any(s[1] != "warn" for s in stale) else "warn") if stale else "pass"
        if checked == 0:
            worst = "error"
        return {"status": worst, "checked": checked, "stale": stale,
                "note": None if checked else f"dbt source freshness checked nothing: {result.exception}"}
    except Exception as exc:  # noqa: BLE001 - warn-only: the night's outcome never depends on it
        logging.getLogger(__name__).warning("dbt source freshness could not run: %s", exc)
        return {"status": "error", "checked": 0, "stale": [], "note": f"could not run: {type(exc).__name__}"}

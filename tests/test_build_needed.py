"""Whether a night needs dbt: ``project_fingerprint`` and ``build_needed`` against the real sample warehouse.

Every check runs inside one transaction that is rolled back, so the shared sample warehouse is left as it was
(no build recorded in ``ops.dbt_builds``, no extra ledger rows, every mart in place).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ground.manifest import public_marts
from nightly.transform import build_needed, ledger_mark, project_fingerprint, record_build
from tests.conftest import REPO

MANIFEST = REPO / "dbt_project" / "target" / "manifest.json"


def _changed(tmp_path: Path, change) -> str:
    """The fingerprint of a copy of the project and its manifest after ``change(manifest)``."""
    manifest = json.loads(MANIFEST.read_text())
    change(manifest)
    project = tmp_path / "dbt_project"
    if not project.exists():
        shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "target").mkdir(parents=True, exist_ok=True)
    path = project / "target" / "manifest.json"
    path.write_text(json.dumps(manifest))
    return project_fingerprint(path)


def _node(manifest: dict, kind: str, name: str) -> dict:
    return next(n for n in manifest["nodes"].values() if n["resource_type"] == kind and n["name"] == name)


def test_fingerprint_is_stable_and_follows_models_seeds_tests_and_macros(tmp_path):
    base = project_fingerprint(MANIFEST)
    assert base == project_fingerprint(MANIFEST) == project_fingerprint()
    # Parse-time details (when, where the checkout is) do not count.
    assert _changed(tmp_path, lambda m: [n.update(created_at=0, root_path="/elsewhere")
                                         for n in m["nodes"].values()]) == base

    def seed(m):
        _node(m, "seed", "agencies")["checksum"]["checksum"] = "0" * 64

    def model(m):
        _node(m, "model", "budget_by_year")["checksum"]["checksum"] = "1" * 64

    def test(m):
        next(n for n in m["nodes"].values() if n["resource_type"] == "test")["config"]["severity"] = "warn"

    def macro(m):
        m["macros"]["macro.dg_warehouse.name_key"]["macro_sql"] += "\n-- changed"

    prints = {f.__name__: _changed(tmp_path / f.__name__, f) for f in (seed, model, test, macro)}
    assert base not in prints.values() and len(set(prints.values())) == 4, prints
    # A project var the models read changes what they build.
    assert _changed(tmp_path / "vars", lambda m: None) == base
    yml = tmp_path / "vars" / "dbt_project" / "dbt_project.yml"
    yml.write_text(yml.read_text() + "\nvars:\n  fy_from: 2563\n")
    assert project_fingerprint(yml.parent / "target" / "manifest.json") != base


def test_editing_project_files_without_reparsing_changes_the_fingerprint(tmp_path):
    """dbt builds from the files: an edited seed or model counts even when the manifest was not re-parsed;
    dbt's own output and hidden files do not."""
    base = _changed(tmp_path, lambda m: None)
    assert base == project_fingerprint(MANIFEST)
    project = tmp_path / "dbt_project"
    manifest = project / "target" / "manifest.json"
    (project / "logs").mkdir(exist_ok=True)
    (project / "logs" / "dbt.log.csv").write_text("noise")
    (project / ".user.yml").write_text("id: someone\n")
    (project / "target" / "run_results.sql").write_text("select 1")
    assert project_fingerprint(manifest) == base
    aliases = project / "seeds" / "agency_aliases.csv"
    aliases.write_text(aliases.read_text() + "กรมตัวอย่าง,DEPT-X\n")
    seeded = project_fingerprint(manifest)
    model = project / "models" / "marts" / "budget_by_year.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    assert len({base, seeded, project_fingerprint(manifest)}) == 3


@pytest.fixture
def tx(sample) -> Iterator[psycopg.Connection]:
    """A connection to the sample warehouse whose every change is rolled back, starting from no recorded build
    (the sample's night recorded one)."""
    with contextlib.closing(psycopg.connect(sample.url())) as conn:
        try:
            conn.execute("DELETE FROM ops.dbt_builds")
            yield conn
        finally:
            conn.rollback()


def test_build_needed_until_a_build_is_recorded_then_only_when_something_changed(tx):
    fingerprint = project_fingerprint()
    needed, reason = build_needed(tx, "night-1", fingerprint)
    assert needed and "no successful build is recorded" in reason

    record_build(tx, "night-1", fingerprint, ledger_mark(tx))
    needed, reason = build_needed(tx, "night-2", fingerprint)
    assert not needed, reason
    assert reason.startswith("no new files and the dbt project is unchanged since run night-1")
    assert reason.endswith("marts left as they are")

    # The dbt project changed (another manifest): build.
    needed, reason = build_needed(tx, "night-2", "f" * 64)
    assert needed and "the dbt project changed since run night-1" in reason

    # Forced: build, saying so.
    needed, reason = build_needed(tx, "night-2", fingerprint, force=True)
    assert needed and reason == "dbt build forced (param force_build)"

    # A file received since the build, loaded or rejected (submission_coverage counts rejections): build,
    # whether this run received it or an earlier one that died before its own build.
    for status, rows in (("rejected", 0), ("loaded", 1)):
        with tx.transaction(force_rollback=True):
            tx.execute("""INSERT INTO ops.file_ledger (source, content_sha256, path, size_bytes, received_at,
                          run_id, status, rows_in, rows_loaded, rows_rejected) VALUES ('readiness', %s, %s, 1, now(),
                          'night-2', %s, 1, %s, %s)""",
                       (f"test-{status}", f"readiness/{status}.csv", status, rows, 1 - rows))
            for night in ("night-2", "night-3"):
                needed, reason = build_needed(tx, night, fingerprint)
                assert needed and f"1 new file(s) {status} since run night-1's build" in reason, (night, reason)
            record_build(tx, "night-3", fingerprint, ledger_mark(tx))
            assert not build_needed(tx, "night-4", fingerprint)[0], "night-3's build included the file"


def test_build_needed_after_a_failed_dbt_run_or_with_a_mart_missing(tx):
    fingerprint = project_fingerprint()
    record_build(tx, "night-1", fingerprint, ledger_mark(tx))
    assert not build_needed(tx, "night-2", fingerprint)[0]

    with tx.transaction(force_rollback=True):
        tx.execute("""INSERT INTO ops.dbt_results (invocation_id, run_id, unique_id, resource_type, status,
                      recorded_at) VALUES ('i', 'backfill-x', 'model.dg_warehouse.budget_by_year', 'model',
                      'error', clock_timestamp() + interval '1 second')""")
        needed, reason = build_needed(tx, "night-2", fingerprint)
        assert needed and "failed (run backfill-x)" in reason

    with tx.transaction(force_rollback=True):  # dbt ran, then the run died and was recorded failed
        tx.execute("""INSERT INTO ops.dbt_results (invocation_id, run_id, unique_id, resource_type, status,
                      recorded_at) VALUES ('i', 'night-x', 'seed.dg_warehouse.plans', 'seed', 'success',
                      clock_timestamp() + interval '1 second')""")
        assert not build_needed(tx, "night-2", fingerprint)[0], "a successful dbt run is not a failure"
        tx.execute("INSERT INTO ops.pipeline_runs (run_id, status, summary) VALUES ('night-x', 'failed', '{}')")
        assert build_needed(tx, "night-2", fingerprint)[0]

    with tx.transaction(force_rollback=True):
        tx.execute(f"ALTER TABLE marts.{public_marts()[0]} RENAME TO gone")  # noqa: S608 (a constant)
        needed, reason = build_needed(tx, "night-2", fingerprint)
        assert needed and f"relation(s) missing: marts.{public_marts()[0]}" in reason
    assert not build_needed(tx, "night-2", fingerprint)[0]


def test_a_retried_node_that_succeeded_is_not_a_failure_but_a_missing_model_relation_is(tx):
    fingerprint = project_fingerprint()
    record_build(tx, "night-1", fingerprint, ledger_mark(tx))
    with tx.transaction(force_rollback=True):  # first attempt failed, Airflow's retry succeeded
        for status, later in (("error", "1 second"), ("success", "2 seconds")):
            tx.execute("""INSERT INTO ops.dbt_results (invocation_id, run_id, unique_id, resource_type, status,
                          recorded_at) VALUES (%s, 'backfill-y', 'model.dg_warehouse.budget_by_year', 'model', %s,
                          clock_timestamp() + %s::interval)""", (f"i-{status}", status, later))
        assert not build_needed(tx, "night-2", fingerprint)[0], "a retry that succeeded counted as a failure"
    with tx.transaction(force_rollback=True):  # not a contract mart, still something dbt builds
        tx.execute("ALTER TABLE intermediate.int_agency_keys RENAME TO gone")
        needed, reason = build_needed(tx, "night-2", fingerprint)
        assert needed and "relation(s) missing: intermediate.int_agency_keys" in reason, reason


def test_a_build_record_table_from_before_files_through_still_works(tx):
    """A warehouse whose ops.dbt_builds predates the files_through column gains it instead of failing."""
    fingerprint = project_fingerprint()
    tx.execute("DROP TABLE ops.dbt_builds")  # as an earlier version made it, before migrations were recorded
    tx.execute("DROP TABLE ops.schema_migrations")
    tx.execute("CREATE TABLE ops.dbt_builds (run_id text PRIMARY KEY, fingerprint text NOT NULL, "
               "built_at timestamptz NOT NULL DEFAULT now())")
    tx.execute("INSERT INTO ops.dbt_builds (run_id, fingerprint) VALUES ('night-0', %s)", (fingerprint,))
    needed, reason = build_needed(tx, "night-1", fingerprint)
    assert needed and "since run night-0's build" in reason, "files_through 0: every ledger file is newer"
    record_build(tx, "night-1", fingerprint, ledger_mark(tx))
    assert not build_needed(tx, "night-2", fingerprint)[0]

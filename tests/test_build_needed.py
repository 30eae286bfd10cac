"""Whether a night needs dbt: ``project_fingerprint`` and ``build_needed`` against the real sample warehouse.

Every check runs inside one transaction that is rolled back, so the shared sample warehouse is left as it was
(no ``ops.dbt_builds`` table, no extra ledger rows, every mart in place).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest.transform import CONTRACT_MARTS, build_needed, ledger_mark, project_fingerprint, record_build
from tests.conftest import REPO

MANIFEST = REPO / "dbt_project" / "target" / "manifest.json"


def _changed(tmp_path: Path, change) -> str:
    """The fingerprint of a copy of the manifest after ``change(manifest)``."""
    manifest = json.loads(MANIFEST.read_text())
    change(manifest)
    project = tmp_path / "dbt_project"
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text((REPO / "dbt_project" / "dbt_project.yml").read_text())
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


def test_a_seed_too_big_for_dbt_checksums_is_hashed_by_its_bytes(tmp_path):
    def by_path(m):
        node = _node(m, "seed", "agencies")
        node["checksum"] = {"name": "path", "checksum": node["original_file_path"]}

    first = _changed(tmp_path, by_path)
    seed = tmp_path / "dbt_project" / "seeds" / "agencies.csv"
    seed.parent.mkdir(parents=True)
    seed.write_text("code,name\nA,one\n")
    second = project_fingerprint(tmp_path / "dbt_project" / "target" / "manifest.json")
    seed.write_text("code,name\nA,two\n")
    third = project_fingerprint(tmp_path / "dbt_project" / "target" / "manifest.json")
    assert len({first, second, third}) == 3


@pytest.fixture
def tx(sample) -> Iterator[psycopg.Connection]:
    """A connection to the sample warehouse whose every change is rolled back."""
    with contextlib.closing(psycopg.connect(sample.url())) as conn:
        try:
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
                      'error', now() + interval '1 second')""")
        needed, reason = build_needed(tx, "night-2", fingerprint)
        assert needed and "failed (run backfill-x)" in reason

    with tx.transaction(force_rollback=True):  # dbt ran, then the run died and was recorded failed
        tx.execute("""INSERT INTO ops.dbt_results (invocation_id, run_id, unique_id, resource_type, status,
                      recorded_at) VALUES ('i', 'night-x', 'seed.dg_warehouse.plans', 'seed', 'success',
                      now() + interval '1 second')""")
        assert not build_needed(tx, "night-2", fingerprint)[0], "a successful dbt run is not a failure"
        tx.execute("INSERT INTO ops.pipeline_runs (run_id, status, summary) VALUES ('night-x', 'failed', '{}')")
        assert build_needed(tx, "night-2", fingerprint)[0]

    with tx.transaction(force_rollback=True):
        tx.execute(f"ALTER TABLE marts.{CONTRACT_MARTS[0]} RENAME TO gone")  # noqa: S608 (a constant)
        needed, reason = build_needed(tx, "night-2", fingerprint)
        assert needed and f"mart(s) missing: {CONTRACT_MARTS[0]}" in reason
    assert not build_needed(tx, "night-2", fingerprint)[0]

"""Per-run state: a run's dbt commands write a target folder of the run's own (one per process); ``dbt_target``
holds the latest of each file, replaced whole; old runs' folders are pruned. Before: every run wrote
``.state/dbt_target``, and a second run's manifest.json was read half-written by the first one's reconcile."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ground.settings import get_settings
from nightly.dbt_target import prune, publish, run_target

NIGHTLY = "scheduled__2026-12-06T19:00:00+00:00"
BACKFILL = "backfill__2026-12-07T01:02:03.456+00:00"


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DGWH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DGWH_SHARED_STATE_DIR", raising=False)
    monkeypatch.delenv("DGWH_DBT_TARGETS_KEPT", raising=False)
    return tmp_path / "state"


def _file(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


@pytest.mark.slow  # real dbt (ls: a parse, no warehouse)
def test_two_runs_write_their_own_dbt_target_and_the_latest_files_are_replaced_whole(state, monkeypatch):
    from nightly.transform import selected_nodes

    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://parse@127.0.0.1:9/none")  # dbt ls never connects
    settings = get_settings()
    settings.dbt_target_dir.mkdir(parents=True)  # the latest docs, from an earlier night: they stay
    (settings.dbt_target_dir / "static_index.html").write_text("<h1>earlier docs</h1>")

    monkeypatch.setenv("DGWH_RUN_ID", NIGHTLY)
    assert selected_nodes(["stg_file_ledger"]) == ["model.dg_warehouse.stg_file_ledger"]
    nightly = settings.dbt_run_target_dir(NIGHTLY)
    before = _file(nightly / "manifest.json")
    assert (settings.dbt_target_dir / "manifest.json").read_bytes() == before[0]

    monkeypatch.setenv("DGWH_RUN_ID", BACKFILL)  # a second run meanwhile: its own folder, the first one's intact
    assert "model.dg_warehouse.stg_readiness" in selected_nodes(["source:raw.readiness+"])
    backfill = settings.dbt_run_target_dir(BACKFILL)
    assert backfill != nightly and {nightly.parents[2], backfill.parents[2]} == {settings.runs_dir}
    for run in (nightly, backfill):  # path-safe: one folder per run directly under runs/, named after the run
        assert run.parents[1].name.startswith(("scheduled__2026-12-06T19_00_00", "backfill__2026-12-07T01_02_03"))
        assert not set(run.parents[1].name) & set(":+/ ")
    assert _file(nightly / "manifest.json") == before, "the second run rewrote the first run's manifest"
    latest = settings.dbt_target_dir / "manifest.json"
    assert not latest.is_symlink() and latest.read_bytes() == (backfill / "manifest.json").read_bytes() != before[0]
    assert json.loads(latest.read_text())["metadata"]["project_name"] == "dg_warehouse"
    assert (settings.dbt_target_dir / "static_index.html").read_text() == "<h1>earlier docs</h1>"
    # the first run's reconcile reads its own manifest, whatever ran since; another task of the same run at once
    # (another process) writes a folder of its own
    assert run_target(NIGHTLY) == nightly and (nightly / "manifest.json").read_bytes() == before[0]
    assert settings.dbt_run_target_dir(NIGHTLY, process="worker-2-4242") != nightly


def test_old_runs_dbt_targets_are_pruned_keeping_the_newest(state, monkeypatch):
    monkeypatch.setenv("DGWH_DBT_TARGETS_KEPT", "3")
    settings = get_settings()
    folders = []
    for n in range(6):  # six earlier runs' folders, oldest first
        folder = settings.dbt_run_target_dir(f"run-{n}")
        folder.mkdir(parents=True)
        (folder / "partial_parse.msgpack").write_text(f"parse state {n}")
        assert publish(folder, since=0) == ["partial_parse.msgpack"]
        os.utime(folder.parent, (1_000_000 + n, 1_000_000 + n))
        folders.append(folder)
    log = settings.runs_dir / "last_run-20261207T020000-42.log"  # make run's logs live beside them
    log.write_text("log")

    newest = run_target("run-new")  # a new run's folder prunes the others; it starts from the latest parse state
    assert (newest / "partial_parse.msgpack").read_text() == "parse state 5"
    left = {d.name for d in settings.runs_dir.iterdir()}
    assert left == {f.parents[1].name for f in folders[-2:]} | {newest.parents[1].name, log.name}, left
    assert prune() == []

"""``dgwh`` behaves as a command line is expected to: ``--help`` on every command prints help and touches nothing
(no state folder, no warehouse, no landing zone, no regenerated file), ``--version``, a mistyped command named
with a suggestion, arguments as flags."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from dgwh.cli import cli

REPO = Path(__file__).resolve().parents[1]
DGWH = Path(sys.executable).with_name("dgwh")
GENERATED = [REPO / "docs" / "sources.md", *sorted((REPO / "templates").rglob("*"))]


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _paths(command, (*prefix, name))
    return out


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "DGWH_STATE_DIR": str(tmp / "state"),
           "LANDING_ZONE": str(tmp / "landing"), "WAREHOUSE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    return subprocess.run([str(DGWH), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_help_on_every_command_acts_on_nothing(tmp_path: Path) -> None:
    commands = _paths(cli)
    assert {("withdraw",), ("bi",), ("bi", "stop"), ("summary",), ("templates",), ("sample",),
            ("warehouse", "check"), ("lock", "unlock")} <= set(commands)
    before = {p: p.stat().st_mtime_ns for p in GENERATED}
    with ThreadPoolExecutor(4) as pool:
        runs = dict(zip(commands, pool.map(lambda c: _run(tmp_path, *c, "--help"), commands), strict=True))
    for command, run in runs.items():
        assert run.returncode == 0, (command, run.stdout, run.stderr)
        assert "usage:" in run.stdout.lower(), (command, run.stdout)
        assert " ".join(command) in run.stdout, (command, run.stdout)
    assert not (tmp_path / "state").exists(), f"--help created state: {sorted((tmp_path / 'state').rglob('*'))}"
    assert not (tmp_path / "landing").exists()
    assert {p: p.stat().st_mtime_ns for p in GENERATED} == before, "--help regenerated files"


def test_version_and_a_mistyped_command(tmp_path: Path) -> None:
    version = _run(tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"dgwh, version {importlib.metadata.version('dg-warehouse')}"
    typo = _run(tmp_path, "sumary")
    assert typo.returncode == 2
    assert "no such command 'sumary'. Did you mean 'summary'?" in typo.stderr


@pytest.mark.parametrize(("args", "line"), [
    (("withdraw",), "usage: make withdraw FILE="),
    (("backfill-range", "--from", "2022", "--to", "2565"),
     "error: FROM=2022 looks like a CE year: give the Buddhist Era year (2565)"),
])
def test_arguments_as_flags_fail_in_one_line(tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    run = _run(tmp_path, *args)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [run.stderr.splitlines()[0]] and run.stderr.startswith(line), run.stderr
    assert not (tmp_path / "state").exists()


def test_a_range_given_as_flags_prints_the_backfill_conf(tmp_path: Path) -> None:
    run = _run(tmp_path, "backfill-range", "--from", "2563", "--to", "2565")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '{"fy_from": 2563, "fy_to": 2565}'

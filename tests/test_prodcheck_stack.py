"""make prod-check's own conduct: help only prints help, a missing prerequisite is named before anything starts,
a process that died is named with its log, and SIGTERM stops everything it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from prodcheck.compose import Process
from prodcheck.stack import ProcessDied, Stack, wait_for
from tests.conftest import REPO

DGWH = Path(sys.executable).parent / "dgwh"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DGWH_STATE_DIR": str(tmp_path / "state"), **extra}


def test_help_only_prints_help(tmp_path):
    done = subprocess.run([str(DGWH), "prod-check", "--help"], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: dgwh prod-check") and "SIGTERM" in done.stdout
    assert "[prod-check" not in done.stdout + done.stderr and not (tmp_path / "state").exists()


def test_a_missing_prerequisite_is_named_in_one_line_before_anything_starts(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "prodcheck"], env=_env(tmp_path, PATH=str(empty)),
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing" in lines[0] and "redis-server (apt-get install redis-server)" in lines[0]
    assert not done.stdout and not (tmp_path / "state").exists()


def test_a_process_that_died_is_named_with_the_tail_of_its_log(tmp_path):
    stack = Stack(tmp_path)
    dying = stack.start(Process("redis", ["sh", "-c", "echo 'FATAL: cannot open /data/appendonly.aof' >&2; exit 3"],
                                dict(os.environ)))
    alive = stack.start(Process("warehouse", ["sleep", "120"], dict(os.environ)))
    try:
        dying.popen.wait(10)
        t0 = time.monotonic()
        with pytest.raises(ProcessDied) as died:  # a wait ends at once, not at its timeout
            wait_for("something that never comes", lambda: False, timeout=60, interval=0.2, alive=stack.check_alive)
        assert time.monotonic() - t0 < 5
        message = str(died.value)
        assert f"redis (pid {dying.popen.pid}) exited with code 3" in message
        assert "cannot open /data/appendonly.aof" in message and "warehouse" not in message
    finally:
        stack.stop_all(grace=5)
    assert alive.popen.poll() is not None and not stack.started


def _processes_under(root: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.info["cmdline"] and any(str(root) in part for part in proc.info["cmdline"]) \
                    and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def prodcheck_root() -> Iterator[Path]:
    """A short state path: PostgreSQL's socket path must stay under 108 bytes (pytest's tmp_path is longer)."""
    root = Path(tempfile.mkdtemp(prefix="dgwh-pc-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_sigterm_stops_everything_prod_check_started(prodcheck_root):
    """A real prod-check, ended by SIGTERM once its S3 server runs and its PostgreSQL servers start."""
    state = prodcheck_root / "state"
    log = prodcheck_root / "prod-check.log"
    with log.open("wb") as out:
        check = subprocess.Popen([str(DGWH), "prod-check"], env=_env(prodcheck_root), stdout=out,
                                 stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    try:
        wait_for("prod-check starting PostgreSQL", lambda: [p for p in _processes_under(state)
                                                            if p.name() == "postgres"],
                 timeout=240, interval=0.5, alive=lambda: check.poll() is None or pytest.fail(log.read_text()))
        os.kill(check.pid, signal.SIGTERM)
        assert check.wait(120) == 128 + signal.SIGTERM
    finally:
        if check.poll() is None:
            os.killpg(check.pid, signal.SIGKILL)
    text = log.read_text()
    assert "prod-check stopped by SIGTERM" in text
    stopping = re.search(r"stopping (.*)", text)
    assert stopping, text
    pids = {name: int(pid) for name, pid in re.findall(r"(\S+) \(pid (\d+)\)", stopping.group(1))}
    assert {"s3", "metadata-db"} <= set(pids), stopping.group(1)
    for name, pid in pids.items():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, name
    assert not _processes_under(state), [p.info["cmdline"] for p in _processes_under(state)]

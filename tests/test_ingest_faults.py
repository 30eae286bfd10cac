"""A loader SIGKILLed in the middle of a file's COPY leaves nothing of that file behind, and the
next run loads it completely (one transaction per file: ingest/load.py)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.discover import discover
from nightly.pipeline import new_files, process_file
from tests.conftest import REPO

HEADER = ["รหัสแผน", "ปีงบประมาณที่รายงาน", "รหัสโครงการ", "ชื่อโครงการ", "หน่วยงานรับผิดชอบหลัก", "ปีที่เริ่มตามแผน",
          "สถานะ", "ปีที่เริ่มดำเนินการจริง", "ปัญหาอุปสรรค", "รายละเอียดปัญหาอุปสรรค", "วันที่รายงาน"]
# Long, repeated notes make the COPY take seconds while parsing stays cheap (normalised text is cached).
BIG_ROWS = 40_000
NOTE = "ขาดแคลนบุคลากรด้านเทคโนโลยีสารสนเทศและงบประมาณไม่เพียงพอ " * 40
LOADER = """
import sys
from nightly.pipeline import new_files, process_file
target = [f for f in new_files() if f.relative_path == sys.argv[1]]
assert target, "the big file is not new"
print(process_file(target[0], run_id="killed-loader"), flush=True)
"""
COPY_TIMEOUT_S = 300


def write_reports(path: Path, rows: int, prefix: str, note: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow(["dg_2559_2561", 2560, f"{prefix}-{i:06d}", f"โครงการ {i % 97}", "กรมสรรพากร", 2559,
                        "เริ่มดำเนินการแล้ว", 2559, "งบประมาณ;บุคลากร", note, "5 ม.ค. 2560"])
    return path


def _copy_backend(conn) -> int | None:
    row = conn.execute(
        """SELECT pid FROM pg_stat_activity
           WHERE state = 'active' AND query LIKE 'COPY "raw"."project_reports"%FROM STDIN'""").fetchone()
    return None if row is None else int(row[0])


def _wait_backend_gone(conn, pid: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline, f"backend {pid} still alive after its client was killed"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def killed(make_warehouse):
    """A small file loaded normally, then a loader killed mid-COPY on a big one."""
    wh = make_warehouse("faults")
    wh.use()
    base = wh.landing / "project_reports"
    write_reports(base / "2560" / "small.csv", 5, "S", "หมายเหตุ")
    small = [f for f in new_files() if f.relative_path.endswith("small.csv")]
    assert [process_file(f, run_id="before").status for f in small] == ["loaded"]

    big = write_reports(base / "2560" / "big" / "all_projects.csv", BIG_ROWS, "B", NOTE)
    big_lf = next(f for f in discover(str(wh.landing)) if f.relative_path.endswith("all_projects.csv"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-c", LOADER, big_lf.relative_path], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with wh.connect() as conn:
        deadline = time.monotonic() + COPY_TIMEOUT_S
        pid = None
        while pid is None:
            assert proc.poll() is None, f"loader ended before its COPY was seen:\n{proc.stdout.read()}"
            assert time.monotonic() < deadline, "the loader's COPY never started"
            pid = _copy_backend(conn)
            time.sleep(0.02)
        time.sleep(0.3)  # well inside the COPY, rows already streamed to the server
        assert _copy_backend(conn) == pid, "the COPY finished before the kill: make the file bigger"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        _wait_backend_gone(conn, pid)
    wh.big, wh.big_lf = big, big_lf
    return wh


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_killed_load_leaves_no_trace(killed):
    with killed.connect() as conn:
        assert conn.execute("SELECT count(*) FROM raw.project_reports WHERE project_code LIKE 'B-%'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw.project_reports").fetchone()[0] == 5
        assert conn.execute("SELECT count(*) FROM ops.file_ledger WHERE content_sha256 = %s",
                            (killed.big_lf.sha256,)).fetchone()[0] == 0
        ledger = conn.execute("SELECT path, rows_in, rows_loaded, rows_rejected FROM ops.file_ledger").fetchall()
    assert [r[0] for r in ledger] == ["project_reports/2560/small.csv"]
    assert all(rows_in == loaded + rejected for _path, rows_in, loaded, rejected in ledger)


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_next_run_completes_the_file(killed):
    killed.use()
    pending = new_files()
    assert [f.relative_path for f in pending] == [killed.big_lf.relative_path]
    outcome = process_file(pending[0], run_id="after-kill")
    assert outcome.status == "loaded", outcome.reason
    with open(killed.big, encoding="utf-8", newline="") as fh:
        file_rows = sum(1 for _ in csv.reader(fh)) - 1
    assert outcome.rows_in == outcome.rows_loaded == file_rows
    with killed.connect() as conn:
        raw = conn.execute("SELECT count(*), count(DISTINCT source_row) FROM raw.project_reports WHERE file_id = %s",
                           (outcome.file_id,)).fetchone()
        ledger = conn.execute("SELECT rows_in, rows_loaded, rows_rejected FROM ops.file_ledger").fetchall()
    assert raw == (file_rows, file_rows)
    assert all(rows_in == loaded + rejected for rows_in, loaded, rejected in ledger)
    assert new_files() == []

"""Ingest against a real warehouse: quirky files written to disk load, reruns no-op.

Bad files are in the committed corpus (tests/corpus), exercised by tests/test_validation.py.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import Workbook

from ingest.discover import DiscoveryStats, last_skips
from nightly.pipeline import new_files, process_file

HEADER_TH = ["ปีงบประมาณ", "แผนงาน", "หน่วยงาน", "รหัสโครงการ", "ชื่อโครงการ", "แนวทาง", "ด้าน",
             "คำของบประมาณ", "งบประมาณที่ได้รับจัดสรร"]
PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8", header=HEADER_TH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def row(code: str, amount: str = "1,000,000", year: object = 2566, agency: str = "กรมสรรพากร") -> list[object]:
    return [year, PLAN, agency, code, f"โครงการ {code}", "Digital Skills", "เกษตร", amount, amount]


@pytest.fixture(scope="module")
def ingest_wh(make_warehouse):
    wh = make_warehouse("ingest")
    wh.use()
    base = wh.landing / "integration_plan"
    write_csv(base / "utf8.csv", [row("A-1"), row("A-2", "2,500 บาท")])
    write_csv(base / "bom.csv", [row("B-1", year="๒๕๖๖")], encoding="utf-8-sig")
    write_csv(base / "tis620.csv", [row("C-1", year=2023, agency="สรอ.")], encoding="cp874")
    wb = Workbook()
    wb.active.title = "คำอธิบาย"
    ws = wb.create_sheet("ข้อมูล")
    ws.append(["แผนงานบูรณาการรัฐบาลดิจิทัล ปีงบประมาณ 2566"])
    ws.append([])
    ws.append([*HEADER_TH[:7], "งบประมาณ (ล้านบาท)", None])
    ws.append([None] * 7 + ["คำขอ", "ได้รับจัดสรร"])
    ws.merge_cells("H3:I3")
    ws.append([2566, PLAN, "กรมบัญชีกลาง", "D-1", "โครงการ D-1", "Digital Common Platform", "การศึกษา", "1.5", "1.2345"])
    wb.save(base / "merged_header.xlsx")
    write_csv(base / "no_header.csv", [row("E-1")], header=["x", "y"])  # refused and quarantined
    outcomes = {Path(o.path).name: o for o in (process_file(f, run_id="test-ingest") for f in new_files())}
    wh.outcomes = outcomes
    return wh


def test_good_files_load_with_their_quirks(ingest_wh):
    o = ingest_wh.outcomes
    for name in ("utf8.csv", "bom.csv", "tis620.csv", "merged_header.xlsx"):
        assert o[name].status == "loaded", (name, o[name].reason)
    with ingest_wh.connect() as conn:
        rows = dict(conn.execute("SELECT project_code, allocated_baht FROM raw.integration_plan").fetchall())
        years = dict(conn.execute("SELECT project_code, fiscal_year_be FROM raw.integration_plan").fetchall())
        agency = conn.execute("SELECT agency_name FROM raw.integration_plan WHERE project_code='C-1'").fetchone()[0]
    assert rows["A-2"] == 2500
    assert rows["D-1"] == 1_234_500  # million baht from the merged header's unit
    assert years["B-1"] == 2566 and years["C-1"] == 2566  # Thai digits; CE 2023 -> BE 2566
    assert agency == "สรอ."  # TIS-620 decoded


def test_rows_balance_per_file(ingest_wh):
    with ingest_wh.connect() as conn:
        bad = conn.execute("SELECT count(*) FROM ops.file_ledger WHERE rows_in <> rows_loaded + rows_rejected")
        assert bad.fetchone()[0] == 0
        loaded = conn.execute("SELECT coalesce(sum(rows_loaded),0) FROM ops.file_ledger").fetchone()[0]
        raw = conn.execute("SELECT count(*) FROM raw.integration_plan").fetchone()[0]
    assert loaded == raw == 5


def test_second_run_loads_nothing_and_reads_no_file_again(ingest_wh, caplog):
    ingest_wh.use()
    assert ingest_wh.outcomes["no_header.csv"].status == "rejected"
    again = DiscoveryStats()
    assert new_files(stats=again) == []
    # Loaded or refused and quarantined, every file is recognised by its metadata: not one byte is read.
    assert again.bytes_read == 0 and again.recognised == len(ingest_wh.outcomes) == 5

    # A copy under another name is read once, named as the duplicate it is, and not read the night after.
    base = ingest_wh.landing / "integration_plan"
    (base / "2566").mkdir()
    copy = shutil.copy(base / "utf8.csv", base / "2566" / "utf8_sent_again.csv")
    caplog.set_level(logging.INFO, logger="nightly.pipeline")
    dup = DiscoveryStats()
    assert new_files(stats=dup) == [] and dup.bytes_read == Path(copy).stat().st_size
    assert any("integration_plan/2566/utf8_sent_again.csv has the same bytes as integration_plan/utf8.csv" in
               r.getMessage() for r in caplog.records)
    after = DiscoveryStats()
    assert new_files(stats=after) == [] and after.bytes_read == 0 and after.recognised == 6

    # Touched (same bytes, a new mtime): read again by the full pass, recognised by its hash, not loaded twice.
    os.utime(base / "tis620.csv")
    touched = DiscoveryStats()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DGWH_DISCOVERY_FULL", "1")
        assert new_files(stats=touched) == [] and touched.bytes_read == (base / "tis620.csv").stat().st_size

    # A new file within the settle window is neither read nor remembered; settled, it is read every night
    # until the ledger holds its bytes (its load failed, or it changed while being loaded).
    fresh = write_csv(base / "2567" / "fresh.csv", [row("F-1", year=2567)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DGWH_SETTLE_S", "3600")
        waiting = DiscoveryStats()
        assert new_files(stats=waiting) == [] and waiting.bytes_read == 0
        assert any(s.relative_path == "integration_plan/2567/fresh.csv" and "settle window" in s.reason
                   for s in last_skips(str(ingest_wh.landing)))
    for _ in range(2):
        settled = DiscoveryStats()
        assert [f.relative_path for f in new_files(stats=settled)] == ["integration_plan/2567/fresh.csv"]
        assert settled.bytes_read == fresh.stat().st_size
    fresh.unlink()
    Path(copy).unlink()


def test_a_night_lists_only_the_folders_that_changed(ingest_wh, tmp_path, monkeypatch):
    """``new_files`` against the warehouse: folders recorded in ``ops.landing_folders``, the unchanged ones not
    listed; the full pass when due (first night, ``DGWH_DISCOVERY_FULL_EVERY_HOURS``) or forced
    (``DGWH_DISCOVERY_FULL=1``) lists them all and finds a file rewritten in place."""
    import ingest.discover as discovery

    ingest_wh.use()
    monkeypatch.setattr(discovery, "FOLDER_TICK_S", 0.15)
    zone = tmp_path / "zone"
    monkeypatch.setenv("LANDING_ZONE", str(zone))
    loaded = ingest_wh.landing / "integration_plan"
    for i, name in enumerate(("utf8.csv", "bom.csv")):  # bytes the ledger holds, under other names
        (zone / f"integration_plan/2566/agency_{i}").mkdir(parents=True)
        shutil.copy(loaded / name, zone / f"integration_plan/2566/agency_{i}/{name}")

    def night(**env: str) -> SimpleNamespace:
        stats = DiscoveryStats()
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            new = [f.relative_path for f in new_files(stats=stats)]
        return SimpleNamespace(new=new, **stats.__dict__)

    time.sleep(0.25)  # sent a while ago: the folders have been still for longer than the guard
    first = night()  # the first night is a full pass: nothing recorded yet
    assert first.new == [] and len(first.hashed) == 2 and first.folders_unchanged == 0
    assert night().folders_listed == 2  # the two folders whose files were hashed: seen again, now known
    quiet = night()
    assert (quiet.folders_listed, quiet.folders_unchanged, quiet.bytes_read, quiet.recognised) == (0, 5, 0, 2)
    with ingest_wh.connect() as conn:
        rows = dict(conn.execute("SELECT path, trusted FROM ops.landing_folders WHERE landing_zone = %s",
                                 (str(zone),)).fetchall())
    assert rows == {"": True, "integration_plan": True, "integration_plan/2566": True,
                    "integration_plan/2566/agency_0": True, "integration_plan/2566/agency_1": True}

    fresh = write_csv(zone / "integration_plan/2566/agency_1/new.csv", [row("N-1")])
    misnamed = os.fsencode(zone / "integration_plan/2566/agency_1") + b"/x\xff.csv"  # not UTF-8: named, not kept
    shutil.copy(fresh, misnamed)
    arrived = night()
    assert arrived.new == ["integration_plan/2566/agency_1/new.csv"] and arrived.bytes_read == fresh.stat().st_size
    assert arrived.folders_listed == 1
    assert "integration_plan/2566/agency_1/x\ufffd.csv" in {s.relative_path for s in last_skips(str(zone))}
    fresh.unlink()
    os.unlink(misnamed)
    time.sleep(0.25)
    night()

    # Rewritten in place under its old name: its folder's times do not change, so only a full pass sees it.
    rewritten = zone / "integration_plan/2566/agency_0/utf8.csv"
    with open(rewritten, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(row("R-1"))
    assert night().new == []
    assert night(DGWH_DISCOVERY_FULL="1").new == ["integration_plan/2566/agency_0/utf8.csv"]
    assert night().new == ["integration_plan/2566/agency_0/utf8.csv"]  # every night until it is loaded
    # A full pass is due when the last one is older than DGWH_DISCOVERY_FULL_EVERY_HOURS (0: every night).
    assert night().folders_unchanged > 0
    assert night(DGWH_DISCOVERY_FULL_EVERY_HOURS="0").folders_unchanged == 0


def test_the_sample_survey_runs_every_year_since_2558_and_files_arrive_within_its_window(sample_files):
    """The readiness survey has run every year since BE 2558 (domain.md); each year's files arrive
    within that year's survey window (26 Jul - 20 Nov, as the BE 2560 report gives it)."""
    import datetime as dt

    years = sorted(int(p.name) for p in (sample_files / "readiness").iterdir())
    assert years[0] == 2558 and years == list(range(2558, years[-1] + 1))
    for path in (sample_files / "readiness").rglob("*.*"):
        year = int(path.parent.name) - 543
        received = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
        assert dt.date(year, 7, 26) <= received <= dt.date(year, 11, 20), (path.name, received)

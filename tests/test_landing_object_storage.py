"""LANDING_ZONE as an object-storage URL: S3 works by configuration alone.

A real S3 server (moto's, from its pip package) on loopback, spoken to over the S3 protocol through
s3fs, configured the way docker-compose.yml configures the stack: ``LANDING_ZONE=s3://…`` and the
standard ``AWS_ENDPOINT_URL_S3`` / ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` variables.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import fsspec
import pytest
from openpyxl import Workbook

from ground.settings import get_settings
from ground.sources import BUDGET_BILL_COLUMNS
from ingest.discover import DiscoveryStats, LandingZoneError, discover
from nightly.passed_over import DUPLICATES_FILE
from nightly.pipeline import new_files, process_file

PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"


def csv_bytes(header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def readiness_xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "ผลสำรวจ"
    ws.append(["ผลสำรวจระดับความพร้อมรัฐบาลดิจิทัล ปี 2563"])  # a title row above the header
    ws.append(["ปีที่สำรวจ", "ชื่อหน่วยงาน", "ระดับหน่วยงาน", "สถานะการตอบแบบสำรวจ", "ยุทธศาสตร์และนโยบาย"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def landing_files() -> dict[str, bytes]:
    """Relative path -> bytes; every source, in subfolders; plus files discovery must skip."""
    plan_header = ["ปีงบประมาณ", "แผนงาน", "หน่วยงาน", "รหัสโครงการ", "ชื่อโครงการ", "แนวทาง", "งบประมาณที่ได้รับจัดสรร"]
    plan = csv_bytes(plan_header, [[2566, PLAN, "กรมสรรพากร", f"OS-{i}", f"โครงการ {i}", "Digital Skills",
                                    f"{(i + 1) * 1000:,} บาท"] for i in range(3)], "utf-8-sig")
    reports = csv_bytes(["รหัสแผน", "ปีงบประมาณที่รายงาน", "รหัสโครงการ", "หน่วยงานรับผิดชอบหลัก", "ปีที่เริ่มตามแผน", "สถานะ",
                         "ปีที่เริ่มดำเนินการจริง"],
                        [["dg_2559_2561", "๒๕๕๙", "DG-01", "กรมสรรพากร", 2559, "เริ่มดำเนินการแล้ว", "๒๕๕๙"],
                         ["dg_2559_2561", "๒๕๕๙", "DG-02", "กรมบัญชีกลาง", 2559, "ยังไม่เริ่มดำเนินการ", ""]], "cp874")
    survey = readiness_xlsx([[2563, f"หน่วยงานทดสอบ {i}", "ระดับกรม", "ตอบแล้ว", 50 + i] for i in range(4)])
    bill = csv_bytes(["", *BUDGET_BILL_COLUMNS],
                     [[i, f"2022.3.98.{i}", "2022.3.98", 10 + i, "สำนักนายกรัฐมนตรี", "สำนักงบประมาณ", True, PLAN, "",
                       "โครงการทดสอบ", "งบรายจ่ายอื่น", "", "", "", "", "", "ค่าใช้จ่าย", 2022, f"{(i + 1) * 500:,}",
                       False, ""] for i in range(2)])
    return {
        "integration_plan/2566/agency_a/plan.csv": plan,
        "project_reports/2559/nested/deeper/report.csv": reports,
        "readiness/2563/department/survey.xlsx": survey,
        "budget_bill/2565/2022-3-98.csv": bill,
        "integration_plan/2566/agency_b/same_bytes_again.csv": plan,  # same bytes: loaded once
        "integration_plan/bad/empty_rows.csv": csv_bytes(plan_header, []),
        "integration_plan/2566/.hidden.csv": plan,
        "integration_plan/_quarantine/old.csv": plan,
        "integration_plan/2566/~$plan.xlsx": b"lock",
        "readiness/notes.txt": b"not a data file",
    }


EXPECTED_ROWS = {"integration_plan/2566/agency_a/plan.csv": 3, "project_reports/2559/nested/deeper/report.csv": 2,
                 "readiness/2563/department/survey.xlsx": 4, "budget_bill/2565/2022-3-98.csv": 2}


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ENDPOINT_URL_S3": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "dgwh-test",
                            "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex, "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def object_landing(make_warehouse, s3_server):
    import boto3

    wh = make_warehouse("objstore")
    wh.use()
    bucket = f"dgwh-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/landing"
    fs, root = fsspec.core.url_to_fs(url)
    files = landing_files()
    for rel, data in files.items():
        fs.pipe(f"{root}/{rel}", data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANDING_ZONE", url)
        found = new_files()
        wh.duplicates = json.loads((get_settings().shared_state_dir / DUPLICATES_FILE).read_text(encoding="utf-8"))
        outcomes = {o.path: o for o in (process_file(f, run_id="objstore") for f in found)}
        wh.url_zone, wh.found, wh.outcomes, wh.files = url, found, outcomes, files
        wh.second_stats = DiscoveryStats()
        wh.second_pass = new_files(stats=wh.second_stats)
        wh.rediscovered = discover(url)
        yield wh


def test_discovery_lists_data_files_in_subfolders_only(object_landing):
    paths = sorted(f.relative_path for f in object_landing.found)
    assert paths == sorted([*EXPECTED_ROWS, "integration_plan/bad/empty_rows.csv"])
    # The same bytes under a second name: hashed, loaded once (as the first), the other named for the summary.
    assert [d["path"] for d in object_landing.duplicates] == ["integration_plan/2566/agency_b/same_bytes_again.csv"]
    for f in object_landing.found:
        assert f.uri.startswith("s3://") and f.uri.endswith(f.relative_path)
        assert f.size_bytes == len(object_landing.files[f.relative_path])


def test_files_load_with_their_counts(object_landing):
    outcomes = object_landing.outcomes
    for path, rows in EXPECTED_ROWS.items():
        o = outcomes[path]
        assert (o.status, o.rows_in, o.rows_loaded, o.rows_rejected) == ("loaded", rows, rows, 0), (path, o.reason)
    with object_landing.connect() as conn:
        ledger = {p: (rows_loaded, raw) for p, rows_loaded, raw in conn.execute(
            """SELECT l.path, l.rows_loaded,
                   (SELECT count(*) FROM raw.integration_plan r WHERE r.file_id = l.file_id)
                 + (SELECT count(*) FROM raw.project_reports r WHERE r.file_id = l.file_id)
                 + (SELECT count(*) FROM raw.readiness r WHERE r.file_id = l.file_id)
                 + (SELECT count(*) FROM raw.budget_bill r WHERE r.file_id = l.file_id)
               FROM ops.file_ledger l WHERE l.status = 'loaded'""").fetchall()}
        amounts = [r[0] for r in conn.execute("SELECT allocated_baht FROM raw.integration_plan ORDER BY 1")]
        years = {r[0] for r in conn.execute("SELECT reporting_fy_be FROM raw.project_reports")}
    assert ledger == {p: (n, n) for p, n in EXPECTED_ROWS.items()}
    assert amounts == [1000, 2000, 3000]
    assert years == {2559}  # Thai digits in a TIS-620 file read from object storage


def test_bad_object_is_quarantined_from_object_storage(object_landing):
    o = object_landing.outcomes["integration_plan/bad/empty_rows.csv"]
    assert o.status == "rejected" and o.reason.startswith("validation")
    with object_landing.connect() as conn:
        quarantine = conn.execute("SELECT quarantine_path FROM ops.file_ledger WHERE path = %s",
                                  ("integration_plan/bad/empty_rows.csv",)).fetchone()[0]
    assert Path(quarantine).read_bytes() == object_landing.files["integration_plan/bad/empty_rows.csv"]


def test_second_pass_loads_nothing(object_landing):
    assert object_landing.second_pass == []
    # Recognised by ETag: not one object read again (the loaded, the quarantined and the rejected alike).
    stats = object_landing.second_stats
    assert stats.bytes_read == 0 and stats.recognised == len(object_landing.found) + 1 > 1  # + the duplicate
    assert len(object_landing.rediscovered) == len(object_landing.found) + 1  # discover alone lists every file


def test_unusable_landing_zone_url_names_the_setting():
    with pytest.raises(LandingZoneError, match="LANDING_ZONE"):
        discover("nosuchprotocol-xyz://bucket/landing")


def test_a_missing_bucket_fails_the_night_in_one_line_and_an_empty_prefix_does_not(s3_server):
    """A typo in the bucket would otherwise make every night a quiet success that loads nothing."""
    import boto3

    with pytest.raises(LandingZoneError, match=r"^LANDING_ZONE s3://no-such-bucket-dgwh/landing: bucket "
                                               r"no-such-bucket-dgwh does not exist"):
        discover("s3://no-such-bucket-dgwh/landing")
    boto3.client("s3").create_bucket(Bucket="dgwh-empty-bucket")
    assert discover("s3://dgwh-empty-bucket/landing") == []  # nothing uploaded yet: an empty night, no error

"""Write the committed corpus of bad (and a few good) landing-zone files, byte for byte reproducibly.

    python tests/corpus/make_bad_files.py [--out tests/corpus]

``bad/<source>/...`` holds one file per kind of damage agencies really send; ``bad/expected.csv``
says, per file, the reject code the pipeline must record and a fragment its reason must contain.
``good/<source>/...`` holds small valid files that must load in the same run. The files are
committed; ``tests/test_validation.py`` checks that this script still writes exactly them.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_STAMP = b"2024-01-01T00:00:00Z"
PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"
IP_HEADER = ["ปีงบประมาณ", "แผนงาน", "หน่วยงาน", "รหัสโครงการ", "ชื่อโครงการ", "แนวทาง", "ด้าน", "คำของบประมาณ",
             "งบประมาณที่ได้รับจัดสรร"]
IP_HEADER_EN = ["fiscal year", "budget plan", "agency", "project code", "project name", "approach", "focus area",
                "requested", "allocated"]
PR_HEADER = ["รหัสแผน", "ปีงบประมาณที่รายงาน", "รหัสโครงการ", "ชื่อโครงการ", "หน่วยงานรับผิดชอบหลัก", "ปีที่เริ่มตามแผน",
             "สถานะ", "ปีที่เริ่มดำเนินการจริง", "ปัญหาอุปสรรค", "รายละเอียดปัญหาอุปสรรค", "วันที่รายงาน"]
RD_HEADER = ["ปีที่สำรวจ", "ชื่อหน่วยงาน", "ระดับหน่วยงาน", "จังหวัด", "สถานะการตอบแบบสำรวจ", "ยุทธศาสตร์และนโยบาย",
             "การให้บริการภาครัฐ", "โครงสร้างพื้นฐานดิจิทัล", "ข้อมูลภาครัฐ", "บุคลากรภาครัฐ", "กฎหมายและกฎระเบียบ", "วันที่ตอบ"]
BB_HEADER = ["", "ITEM_ID", "REF_DOC", "REF_PAGE_NO", "MINISTRY", "BUDGETARY_UNIT", "CROSS_FUNC?", "BUDGET_PLAN",
             "OUTPUT", "PROJECT", "CATEGORY_LV1", "CATEGORY_LV2", "CATEGORY_LV3", "CATEGORY_LV4", "CATEGORY_LV5",
             "CATEGORY_LV6", "ITEM_DESCRIPTION", "FISCAL_YEAR", "AMOUNT", "OBLIGED?", "DEBUG_LOG"]

# file (under bad/), expected reject code, column of a critical failure (blank: the whole file),
# fragment the ledger reason must contain (case-sensitive), rows rejected when the rest of the file
# loads (0: the file is rejected whole, as it cannot stand as a whole or every row fails)
EXPECTED = [
    ("integration_plan/wrong_encoding_mixed.csv", "encoding", "", "unknown text encoding", 0),
    ("integration_plan/mojibake_values.csv", "validation.garbled_text", "garbled_text", "à¸", 0),
    ("integration_plan/missing_column.csv", "validation.missing_column", "project_code", "project_code", 0),
    ("integration_plan/renamed_columns.csv", "validation.unmapped_headers", "project_code", "Proj. No.", 0),
    ("integration_plan/negative_amount.csv", "validation.negative_amount", "allocated_baht", "-2500000", 1),
    ("integration_plan/duplicate_keys.csv", "validation.duplicate_key", "fiscal_year_be,project_code", "IP66-DUP", 2),
    ("integration_plan/header_only.csv", "validation.no_rows", "", "0 rows", 0),
    ("integration_plan/empty.csv", "empty", "", "empty", 0),
    ("integration_plan/binary_garbage.csv", "not_text", "", "binary", 0),
    ("integration_plan/cover_sheet_only.xlsx", "no_data_sheet", "", "คำอธิบาย", 0),
    ("integration_plan/truncated_mid_row.csv", "validation.truncated", "allocated_baht", "row 5", 0),
    ("integration_plan/truncated.xlsx", "not_xlsx", "", "truncated", 0),
    ("project_reports/year_out_of_range.csv", "validation.year_out_of_range", "reporting_fy_be", "2656", 1),
    ("project_reports/unknown_status.csv", "validation.unparseable_value", "status", "รอพิจารณา", 0),
    ("project_reports/formula_in_status.csv", "validation.unparseable_value", "status", "=cmd|", 1),
    ("project_reports/started_after_report.xlsx", "validation.inconsistent_values",
     "reporting_fy_be,actual_start_fy_be", "actual_start_fy_be", 1),
    ("readiness/score_out_of_range.csv", "validation.out_of_range", "score_strategy", "150", 1),
    ("readiness/mojibake_headers.csv", "no_header", "", "à¸", 0),
    ("budget_bill/missing_item_id.csv", "validation.missing_column", "item_id", "item_id", 0),
    ("budget_bill/duplicate_item_id.csv", "validation.duplicate_key", "item_id", "2023.3.77.1", 0),
]
# file (under good/), data rows it holds
GOOD = [
    ("integration_plan/plan_2566_utf8.csv", 3),
    ("integration_plan/plan_2566_tis620.csv", 2),
    ("project_reports/status_2566.xlsx", 3),
    ("readiness/readiness_2566.csv", 3),
    ("budget_bill/book_2566.csv", 2),
]


def _csv_bytes(header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx_bytes(wb: Workbook) -> bytes:
    """An .xlsx with fixed timestamps inside, so the bytes do not change between runs."""
    wb.properties.creator = "dg-warehouse corpus"
    raw = io.BytesIO()
    wb.save(raw)  # openpyxl stamps "modified" with the current time; it is replaced below
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", FIXED_STAMP, data)
            dst.writestr(zipfile.ZipInfo(info.filename, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _ip(code: str, amount: str = "1,500,000", year: object = 2566, agency: str = "กรมสรรพากร") -> list[object]:
    return [year, PLAN, agency, code, f"โครงการ {code}", "Digital Skills", "เกษตร", amount, amount]


def _pr(code: str, status: str = "เริ่มดำเนินการแล้ว", year: object = 2566, actual: object = 2566,
        agency: str = "กรมบัญชีกลาง") -> list[object]:
    return ["dg_2563_2565", year, code, f"โครงการ {code}", agency, 2565, status, actual, "งบประมาณ", "", "15 ก.ย. 2566"]


def _rd(agency: str, score: object = "61.5", level: str = "ระดับกรม") -> list[object]:
    return [2566, agency, level, "", "ตอบแล้ว", score, "58.25", "70", "44.5", "66", "52.75", "1 ส.ค. 2566"]


def _bb(i: int, amount: str = "12,345,600", item: str | None = None) -> list[object]:
    return [i, item or f"2023.3.77.{i}", "2023.3.77", 100 + i, "กระทรวงการคลัง", "กรมสรรพากร", "True", PLAN, "",
            f"โครงการบูรณาการรัฐบาลดิจิทัล 2566 ที่ {i}", "งบรายจ่ายอื่น", "", "", "", "", "", "ค่าพัฒนาระบบ", "2023",
            amount, "False", ""]


def _mojibake(text: str) -> str:
    """Thai UTF-8 bytes read as Windows-1252, the way a wrongly opened export garbles it."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


def _cover_sheet_only() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "คำอธิบาย"
    ws.append(["แบบรายงานโครงการภายใต้แผนงานบูรณาการรัฐบาลดิจิทัล"])
    ws.append(["กรุณากรอกข้อมูลโครงการในแผ่นงานถัดไปตามแบบฟอร์ม"])
    ws.append(["ผู้ประสานงาน: งานแผนและงบประมาณ โทร. 0 2612 6000"])
    return _xlsx_bytes(wb)


def _started_after_report() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "รายงาน"
    ws.append(["รายงานสถานะโครงการ ปีงบประมาณ 2566"])
    ws.append(PR_HEADER)
    ws.append(_pr("DG63-201"))
    ws.append(_pr("DG63-202", actual=2568))
    return _xlsx_bytes(wb)


def _good_status_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "รายงาน"
    ws.append(["รายงานสถานะโครงการตามแผนพัฒนารัฐบาลดิจิทัล พ.ศ. 2563-2565"])
    ws.append([])
    ws.append(PR_HEADER)
    ws.append(_pr("DG63-101"))
    ws.append(_pr("DG63-102", status="ยังไม่เริ่มดำเนินการ", actual=None))
    ws.append(_pr("DG63-103", status="ดำเนินการแล้วเสร็จ", actual=2565))
    return _xlsx_bytes(wb)


def bad_files() -> dict[str, bytes]:
    mixed = _csv_bytes(IP_HEADER, [_ip("IP66-E1")]) + _csv_bytes(IP_HEADER, [_ip("IP66-E2", agency="กรมบัญชีกลาง")],
                                                                 encoding="cp874").split(b"\r\n", 1)[1]
    renamed = [h if h not in ("รหัสโครงการ", "งบประมาณที่ได้รับจัดสรร") else {"รหัสโครงการ": "Proj. No."}.get(h, "Approved")
               for h in IP_HEADER]
    truncated_csv = _csv_bytes(IP_HEADER, [_ip("IP66-T1"), _ip("IP66-T2"), _ip("IP66-T3"), _ip("IP66-T4")])
    cut = truncated_csv.rindex("เกษตร".encode()) + len("เกษ".encode())  # inside the last row's focus-area cell
    return {
        "integration_plan/wrong_encoding_mixed.csv": mixed,
        "integration_plan/mojibake_values.csv": _csv_bytes(
            IP_HEADER_EN, [[2566, _mojibake(PLAN), _mojibake("กรมสรรพากร"), "IP66-M1", _mojibake("โครงการ M1"),
                            "Digital Skills", "", "900,000", "900,000"]]),
        "integration_plan/missing_column.csv": _csv_bytes(
            [h for h in IP_HEADER if h != "รหัสโครงการ"], [r[:3] + r[4:] for r in [_ip("IP66-X1")]]),
        "integration_plan/renamed_columns.csv": _csv_bytes(renamed, [_ip("IP66-R1")]),
        "integration_plan/negative_amount.csv": _csv_bytes(
            IP_HEADER, [_ip("IP66-N1"), _ip("IP66-N2", amount="-2,500,000")]),
        "integration_plan/duplicate_keys.csv": _csv_bytes(
            IP_HEADER, [_ip("IP66-DUP"), _ip("IP66-OK"), _ip("IP66-DUP", amount="2,000,000")]),
        "integration_plan/header_only.csv": _csv_bytes(IP_HEADER, []),
        "integration_plan/empty.csv": b"",
        "integration_plan/binary_garbage.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "integration_plan/cover_sheet_only.xlsx": _cover_sheet_only(),
        "integration_plan/truncated_mid_row.csv": truncated_csv[:cut],
        "integration_plan/truncated.xlsx": _good_status_xlsx()[:900],
        "project_reports/year_out_of_range.csv": _csv_bytes(PR_HEADER, [_pr("DG63-301"), _pr("DG63-302", year="2656")]),
        "project_reports/unknown_status.csv": _csv_bytes(PR_HEADER, [_pr("DG63-401", status="รอพิจารณา")]),
        "project_reports/formula_in_status.csv": _csv_bytes(
            PR_HEADER, [_pr("DG63-501"), _pr("DG63-502", status="=cmd|' /C calc'!A0")]),
        "project_reports/started_after_report.xlsx": _started_after_report(),
        "readiness/score_out_of_range.csv": _csv_bytes(RD_HEADER, [_rd("กรมสรรพากร"), _rd("กรมบัญชีกลาง", score="150")]),
        "readiness/mojibake_headers.csv": _csv_bytes([_mojibake(h) for h in RD_HEADER],
                                                     [[_mojibake(str(c)) for c in _rd("กรมสรรพากร")]]),
        "budget_bill/missing_item_id.csv": _csv_bytes([h for h in BB_HEADER if h != "ITEM_ID"],
                                                      [r[:1] + r[2:] for r in [_bb(1), _bb(2)]]),
        "budget_bill/duplicate_item_id.csv": _csv_bytes(BB_HEADER, [_bb(1), _bb(2, item="2023.3.77.1")]),
    }


def good_files() -> dict[str, bytes]:
    return {
        "integration_plan/plan_2566_utf8.csv": _csv_bytes(
            IP_HEADER, [_ip("IP66-G1"), _ip("IP66-G2", "2,500,000 บาท"), _ip("IP66-G3", year="๒๕๖๖")]),
        "integration_plan/plan_2566_tis620.csv": _csv_bytes(
            IP_HEADER, [_ip("IP66-G4", agency="กรมบัญชีกลาง", year=2023), _ip("IP66-G5", agency="กรมบัญชีกลาง")],
            encoding="cp874"),
        "project_reports/status_2566.xlsx": _good_status_xlsx(),
        "readiness/readiness_2566.csv": _csv_bytes(
            RD_HEADER, [_rd("กรมสรรพากร"), _rd("กรมบัญชีกลาง", score="0"),
                        _rd("สำนักงานจังหวัดเชียงใหม่", level="ระดับจังหวัด")]),
        "budget_bill/book_2566.csv": _csv_bytes(BB_HEADER, [_bb(1), _bb(2, amount="1,000")]),
    }


def write(out: Path) -> list[Path]:
    """Write bad/, bad/expected.csv and good/ under ``out``; returns the paths written."""
    written = []
    for folder, files in (("bad", bad_files()), ("good", good_files())):
        for rel, data in files.items():
            path = out / folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
    manifest = out / "bad" / "expected.csv"
    with open(manifest, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "reject_code", "column", "reason_contains", "rows_rejected"])
        writer.writerows(EXPECTED)
    return [*written, manifest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    for path in write(args.out):
        print(path)


if __name__ == "__main__":
    main()

"""The hostile files the project knows beyond tests/corpus/bad and good: what tests/test_hostile_input.py and
tests/test_nothing_lost.py make, a lying ZIP bomb made small, damaged workbooks and CSVs. Written at test time
(``hostile_files``) beside the committed corpus, in the same one pass (tests/test_validation.py)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from tests.test_hostile_input import HEADER, HOSTILE_VALUES, _workbook
from tests.test_nothing_lost import _big_cell_workbook, minimal_xlsx, plan_workbook
from tests.test_reliability import DG_PLAN, OPM, PLAN_HEADER

BOMB_DECLARED = 1_000
BOMB_INFLATED = 8_000_000  # the case seen: 300 MB from 313 KB; the reader refuses it the same way, sooner


def lying_zip_bomb(path: Path, declared: int = BOMB_DECLARED, inflated: int = BOMB_INFLATED) -> Path:
    """A plausible plan workbook whose sheet part says (in its local and central headers) it unpacks to
    ``declared`` bytes and inflates to ``inflated``: the size check before the reader believes the headers."""
    plan_workbook(path, "J3")
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<sheetData>", b"<!--" + b" " * inflated + b"--><sheetData>", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        local = zf.getinfo(sheet).header_offset
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")  # the first central entry, walked to the sheet's
    while data[central + 46:central + 46 + len(sheet)] != sheet.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def plan_csv(path: Path, body: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(",".join(PLAN_HEADER).encode() + b"\r\n" + body)
    return path


def plan_row(code: str) -> bytes:
    return f"2565,{DG_PLAN},{OPM},{code},โครงการ {code},แพลตฟอร์มกลาง,เกษตร,100,100\r\n".encode()


def hostile_files(landing: Path) -> dict[str, str | None]:
    """Write the hostile files the project knows beyond tests/corpus/ under ``landing``; returns each one's
    path under the landing zone and the reject code it must get (None: it loads)."""
    base = landing / "integration_plan" / "hostile"
    lying_zip_bomb(base / "lying_zip_bomb.xlsx")
    plan_workbook(base / "sparse_range.xlsx", "XFD1048576")
    minimal_xlsx(base / "declared_range.xlsx", {"A1": PLAN_HEADER[0]}, "A1:XFD1048576")
    _big_cell_workbook(base / "big_cell.xlsx", shared=True)
    _workbook(base / "nul_escape.xlsx", [[2565, DG_PLAN, "กรม_x0000_ทดสอบ", "DG65-Z1", "โครงการ ค", "แพลตฟอร์มกลาง",
                                          "เกษตร", 1, 1]], cached={})
    _workbook(base / "formulas.xlsx", [[2565, DG_PLAN, OPM, "DG65-F1", "=cmd|' /C calc'!A0", "แพลตฟอร์มกลาง",
                                        "เกษตร", 100, 90]], cached={})
    (base / "png_named_xlsx.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (base / "csv_named_xlsx.xlsx").write_bytes(",".join(PLAN_HEADER).encode() + b"\n" + plan_row("DG65-C1"))
    stored = io.BytesIO()  # a part compressed with a method no reader has (99: WinZip AES)
    with zipfile.ZipFile(base / "sparse_range.xlsx") as src, zipfile.ZipFile(stored, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    data = bytearray(stored.getvalue())
    for at in (i for i in range(len(data) - 4) if data[i:i + 4] in (b"PK\x03\x04", b"PK\x01\x02")):
        struct.pack_into("<H", data, at + (8 if data[at + 2] == 3 else 10), 99)
    (base / "unknown_method.xlsx").write_bytes(bytes(data))
    (base / "bom_bad_bytes_line_2.csv").write_bytes(b"\xef\xbb\xbf" + ",".join(PLAN_HEADER).encode() + b"\r\n"
                                                    + b"2565,\xff\xfe,x\r\n")
    plan_csv(base / "one_line.csv", b"2565," + b"x" * 1_100_000)
    plan_csv(base / "unclosed_quote.csv", b'2565,"' + b"y" * 49 + (b"\n" + b"y" * 49) * 4_000)
    plan_csv(base / "late_nul.csv", b"".join(plan_row(f"DG65-N{i}") for i in range(3_000)) + b"2565,\x00\r\n")
    plan_csv(base / "cp874_undefined_bytes.csv", "2565,กรม".encode("cp874") + b"\xdb\xfc\r\n")
    plan_csv(base / "utf16_named_csv.csv", "ปีงบประมาณ,หน่วยงาน\r\n2565,กรม\r\n".encode("utf-16"))
    plan_csv(base / "sql_name'; DROP TABLE raw.integration_plan;--.csv", plan_row("DG65-S1"))
    readiness = landing / "readiness" / "hostile"
    readiness.mkdir(parents=True)
    (readiness / "hostile_values.csv").write_text(
        ",".join(HEADER) + "\n" + "".join(f"2566,{v.replace(',', ' ')},department,ตอบแล้ว\n" for v in HOSTILE_VALUES
                                          if "\n" not in v), encoding="utf-8")
    return {
        "integration_plan/hostile/lying_zip_bomb.xlsx": "not_xlsx",
        "integration_plan/hostile/sparse_range.xlsx": "sheet_too_large",
        "integration_plan/hostile/declared_range.xlsx": "sheet_too_large",
        "integration_plan/hostile/big_cell.xlsx": "cell_too_large",
        "integration_plan/hostile/nul_escape.xlsx": "nul_byte",
        "integration_plan/hostile/formulas.xlsx": None,
        "integration_plan/hostile/png_named_xlsx.xlsx": "not_xlsx",
        "integration_plan/hostile/csv_named_xlsx.xlsx": "not_xlsx",
        "integration_plan/hostile/unknown_method.xlsx": "not_xlsx",
        "integration_plan/hostile/bom_bad_bytes_line_2.csv": "encoding",
        "integration_plan/hostile/one_line.csv": "line_too_long",
        "integration_plan/hostile/unclosed_quote.csv": "csv_syntax",
        "integration_plan/hostile/late_nul.csv": "nul_byte",
        "integration_plan/hostile/cp874_undefined_bytes.csv": "encoding",
        "integration_plan/hostile/utf16_named_csv.csv": "not_text",
        "integration_plan/hostile/sql_name'; DROP TABLE raw.integration_plan;--.csv": None,
        "readiness/hostile/hostile_values.csv": None,
    }

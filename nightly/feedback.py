"""Failures in words an agency officer can act on (Thai and English), and the reject code of a file.

A gate failure is a dict (``dataclasses.asdict(expectations.gate.Failure)``, as stored in
``ops.validation_runs.details``); ``explain`` says which column (by the header the template uses),
what was expected and what to do. File-level problems (``ingest.readers.FileRejected`` codes) get
a fix instruction from ``file_problem``.
"""

from __future__ import annotations

from dataclasses import dataclass

from expectations.suites import GARBLED_TEXT, UNREGISTERED_AGENCY
from ground.sources import Source

# Reject codes of gate failures, most fundamental first: the first one found names the file's problem.
CATEGORY_ORDER = ("unmapped_headers", "missing_column", "garbled_text", "no_rows", "truncated", "duplicate_key",
                  "year_out_of_range", "negative_amount", "out_of_range", "unknown_value", "unparseable_value",
                  "missing_value", "inconsistent_values", "check_failed")
CATEGORY_TEXT = {
    "unmapped_headers": ("required columns not found; the file's headers are not the template's",
                         "ไม่พบคอลัมน์บังคับ เนื่องจากหัวตารางไม่ตรงกับแบบฟอร์ม"),
    "missing_column": ("required column missing", "ไม่มีคอลัมน์บังคับ"),
    "garbled_text": ("garbled text (wrong encoding / mojibake)", "ข้อความอ่านไม่ออก (การเข้ารหัสอักขระผิด)"),
    "no_rows": ("header only, no data rows", "มีแต่หัวตาราง ไม่มีแถวข้อมูล"),
    "truncated": ("the file ends mid-row (truncated)", "ไฟล์ขาดกลางแถว (ไฟล์ไม่สมบูรณ์)"),
    "duplicate_key": ("duplicate keys", "ข้อมูลซ้ำในคอลัมน์ที่ต้องไม่ซ้ำ"),
    "year_out_of_range": ("year out of range", "ปีอยู่นอกช่วงที่รับได้"),
    "negative_amount": ("negative amount", "จำนวนเงินติดลบ"),
    "out_of_range": ("value out of range", "ค่าอยู่นอกช่วงที่รับได้"),
    "unknown_value": ("value not in the allowed list", "ค่าไม่อยู่ในรายการที่กำหนด"),
    "unparseable_value": ("value cannot be read", "อ่านค่าไม่ได้"),
    "missing_value": ("required value empty", "ค่าในคอลัมน์บังคับว่าง"),
    "inconsistent_values": ("values contradict each other", "ค่าขัดแย้งกัน"),
    "check_failed": ("a check failed", "ไม่ผ่านการตรวจสอบ"),
}
# What to do about a file that could not be read at all, by ingest.readers.FileRejected code.
FILE_FIXES = {
    "empty": ("The file is empty (0 bytes). Export the data again and resend the file.",
              "ไฟล์ว่างเปล่า (0 ไบต์) กรุณาส่งออกข้อมูลใหม่แล้วส่งไฟล์อีกครั้ง"),
    "not_text": ("This is not a CSV text file. In Excel use Save As > 'CSV UTF-8', or send the .xlsx workbook.",
                 "ไฟล์นี้ไม่ใช่ไฟล์ข้อความ CSV กรุณาบันทึกจาก Excel เป็น 'CSV UTF-8' หรือส่งไฟล์ .xlsx แทน"),
    "encoding": ("The text encoding is not UTF-8 or TIS-620/Windows-874. Save the file as 'CSV UTF-8' and resend.",
                 "การเข้ารหัสอักขระไม่ใช่ UTF-8 หรือ TIS-620/Windows-874 กรุณาบันทึกเป็น 'CSV UTF-8' แล้วส่งใหม่"),
    "csv_syntax": ("The CSV structure is broken (e.g. an unclosed quote). Export it again from the spreadsheet.",
                   "โครงสร้างไฟล์ CSV เสียหาย (เช่น เครื่องหมายคำพูดไม่ครบคู่) กรุณาส่งออกจากโปรแกรมตารางคำนวณใหม่"),
    "no_header": ("No header row matches the template. Use the template's column headers (listed below).",
                  "ไม่พบแถวหัวตารางที่ตรงกับแบบฟอร์ม กรุณาใช้หัวคอลัมน์ตามแบบฟอร์ม (ตามรายการด้านล่าง)"),
    "no_data_sheet": ("No sheet has the template's header. Put the data on one sheet whose header row uses the "
                      "template's column headers (listed below).",
                      "ไม่มีแผ่นงานใดมีหัวตารางตามแบบฟอร์ม กรุณาใส่ข้อมูลในแผ่นงานที่มีแถวหัวตารางตามแบบฟอร์ม "
                      "(ตามรายการด้านล่าง)"),
    "not_xlsx": ("The workbook cannot be opened (damaged or cut off during upload). Open it in Excel, save it "
                 "again as .xlsx and resend.",
                 "เปิดไฟล์ Excel ไม่ได้ (ไฟล์เสียหายหรืออัปโหลดไม่ครบ) กรุณาเปิดใน Excel บันทึกเป็น .xlsx ใหม่แล้วส่งอีกครั้ง"),
    "file_type": ("This file type is not accepted. Send .csv (UTF-8) or .xlsx.",
                  "ไม่รับไฟล์ชนิดนี้ กรุณาส่งไฟล์ .csv (UTF-8) หรือ .xlsx"),
    "too_large": ("The file is larger than one file may be. Split it into several files, for example one per "
                  "agency or per year, each with the template's header row, and send them all.",
                  "ไฟล์มีขนาดใหญ่เกินกว่าที่รับได้ต่อหนึ่งไฟล์ กรุณาแบ่งเป็นหลายไฟล์ เช่น ไฟล์ละหนึ่งหน่วยงานหรือหนึ่งปี "
                  "โดยทุกไฟล์มีแถวหัวตารางตามแบบฟอร์ม แล้วส่งมาทั้งหมด"),
    "too_many_rows": ("The file has more rows than one file may have. Split it into several files, for example one "
                      "per agency or per year, each with the template's header row, and send them all.",
                      "ไฟล์มีจำนวนแถวเกินกว่าที่รับได้ต่อหนึ่งไฟล์ กรุณาแบ่งเป็นหลายไฟล์ เช่น ไฟล์ละหนึ่งหน่วยงานหรือหนึ่งปี "
                      "โดยทุกไฟล์มีแถวหัวตารางตามแบบฟอร์ม แล้วส่งมาทั้งหมด"),
    "line_too_long": ("A line of the file is far too long: the line breaks between rows are missing or the file is "
                      "not a CSV table. Export it again from the spreadsheet as 'CSV UTF-8', one row per line.",
                      "บางบรรทัดในไฟล์ยาวเกินไป (ไม่มีการขึ้นบรรทัดใหม่ระหว่างแถว หรือไม่ใช่ตาราง CSV) "
                      "กรุณาส่งออกจากโปรแกรมตารางคำนวณเป็น 'CSV UTF-8' ใหม่ หนึ่งแถวต่อหนึ่งบรรทัด"),
    "nul_byte": ("The file contains binary data (a NUL character), so it cannot be read as text. It may be damaged "
                 "or not the exported table: export it again as 'CSV UTF-8' or .xlsx and resend.",
                 "ไฟล์มีข้อมูลไบนารี (อักขระ NUL) จึงอ่านเป็นข้อความไม่ได้ ไฟล์อาจเสียหายหรือไม่ใช่ตารางที่ส่งออกมา "
                 "กรุณาส่งออกเป็น 'CSV UTF-8' หรือ .xlsx ใหม่แล้วส่งอีกครั้ง"),
    # workbooks that would exhaust the reader
    "sheet_too_large": ("A sheet reaches far beyond its table (a stray value or format, e.g. in the last row or "
                        "column). Delete the empty rows and columns after the table, or copy the table into a new "
                        "workbook, save it as .xlsx and resend.",
                        "แผ่นงานมีช่วงเซลล์เกินตารางไปมาก (มีค่าหรือรูปแบบหลงอยู่ เช่น ที่แถวหรือคอลัมน์สุดท้าย) กรุณาลบแถวและ"
                        "คอลัมน์ว่างหลังตาราง หรือคัดลอกตารางไปยังไฟล์ใหม่ บันทึกเป็น .xlsx แล้วส่งอีกครั้ง"),
    "cell_too_large": ("A cell holds far more text than a cell may (the report names its sheet, row and column): "
                       "text pasted by mistake, or a whole document in one cell. Shorten that cell or clear it, "
                       "save the workbook as .xlsx and resend.",
                       "มีเซลล์ที่มีข้อความยาวเกินกว่าที่รับได้ (รายงานระบุแผ่นงาน แถว และคอลัมน์) อาจวางข้อความผิดหรือวาง"
                       "ทั้งเอกสารลงในเซลล์เดียว กรุณาย่อหรือลบข้อความในเซลล์นั้น บันทึกเป็น .xlsx แล้วส่งอีกครั้ง"),
    "unreadable": ("The file cannot be read: it is damaged, or its inside is not what its type says (the report "
                   "names what the reader found). Open it in Excel, save it again as .xlsx or 'CSV UTF-8', and "
                   "resend.",
                   "อ่านไฟล์ไม่ได้ ไฟล์อาจเสียหายหรือเนื้อในไม่ตรงกับชนิดของไฟล์ (รายงานระบุสิ่งที่พบ) กรุณาเปิดใน Excel "
                   "บันทึกเป็น .xlsx หรือ 'CSV UTF-8' ใหม่ แล้วส่งอีกครั้ง"),
    "reader_failed": ("The file could not be read within the memory and time one file may take. Copy the table "
                      "into a new workbook or export it as 'CSV UTF-8', and resend.",
                      "อ่านไฟล์ไม่สำเร็จภายในหน่วยความจำและเวลาที่กำหนดต่อหนึ่งไฟล์ กรุณาคัดลอกตารางไปยังไฟล์ใหม่ "
                      "หรือส่งออกเป็น 'CSV UTF-8' แล้วส่งอีกครั้ง"),
}


@dataclass(frozen=True)
class Explained:
    category: str
    column_en: str
    column_th: str
    expected_en: str
    expected_th: str


def column_label(source: Source, name: str | None) -> tuple[str, str]:
    """(English, Thai) label of a column: the template's header and the canonical name."""
    if not name:
        return "(whole file)", "(ทั้งไฟล์)"
    if name == GARBLED_TEXT:
        return "(text)", "(ข้อความ)"
    if name == UNREGISTERED_AGENCY:
        name = source.agency_column
    labels = []
    for part in name.split(","):
        col = next((c for c in source.columns if c.name == part), None)
        header = col.aliases[0] if col and col.aliases else part
        labels.append(f'"{header}" ({part})' if header != part else f'"{part}"')
    text = ", ".join(labels)
    return text, text


def _enum_text(source: Source, column: str | None, codes: list) -> str:
    col = next((c for c in source.columns if c.name == column), None)
    spellings = (col.values or {}) if col else {}
    return ", ".join(f"{spellings[c][0]} ({c})" if spellings.get(c) else str(c) for c in codes)


READABLE = {
    "year": ("a year such as 2566 (BE) or 2023 (CE)", "ปี เช่น 2566 (พ.ศ.) หรือ 2023 (ค.ศ.)"),
    "amount": ("an amount in baht such as 1,500,000", "จำนวนเงิน (บาท) เช่น 1,500,000"),
    "decimal": ("a number such as 61.5", "ตัวเลข เช่น 61.5"),
    "date": ("a date such as 15 ก.ย. 2566 or 2023-09-15", "วันที่ เช่น 15 ก.ย. 2566 หรือ 2023-09-15"),
    "bool": ("yes or no (ตอบแล้ว / ไม่ตอบ)", "ใช่หรือไม่ (ตอบแล้ว / ไม่ตอบ)"),
}


def _readable(source: Source, column: str | None, message: str) -> tuple[str, str]:
    """What a value the parser could not read should look like, by the column's kind."""
    col = next((c for c in source.columns if c.name == column), None)
    if col is not None and col.values:
        allowed = _enum_text(source, column, list(col.values))
        return f"one of: {allowed}", f"ค่าใดค่าหนึ่งต่อไปนี้: {allowed}"
    if col is not None and col.kind in READABLE:
        return READABLE[col.kind]
    return f"a readable value ({message})", f"ค่าที่อ่านได้ถูกต้อง ({message})"


def _kind(source: Source, column: str | None) -> str:
    col = next((c for c in source.columns if c.name == column), None)
    if col is None:
        return {"fiscal_year_be": "year", "amount_baht": "amount"}.get(column or "", "")
    return col.kind


def category(failure: dict, source: Source) -> str:
    """The reject-code category of one failure (see CATEGORY_ORDER)."""
    kind = failure["expectation"]
    column = failure.get("column")
    if kind == "expect_table_columns_to_match_set":
        return "unmapped_headers" if failure.get("values") else "missing_column"
    if column == GARBLED_TEXT:
        return "garbled_text"
    if kind == "expect_table_row_count_to_be_between":
        return "no_rows"
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        return "duplicate_key"
    if kind == "expect_column_values_to_be_between":
        col_kind = _kind(source, column)
        if col_kind == "year":
            return "year_out_of_range"
        return "negative_amount" if col_kind == "amount" else "out_of_range"
    if kind == "expect_column_values_to_be_in_set":
        return "unknown_value"
    if kind == "expect_column_values_to_not_be_null":
        return "unparseable_value" if failure.get("parse_errors") else "missing_value"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        return "inconsistent_values"
    if kind == "file_ends_mid_row":
        return "truncated"
    if kind == "parse_value":
        return "unparseable_value"
    return "check_failed"


def _expected(failure: dict, source: Source) -> tuple[str, str]:
    kind, column, kw = failure["expectation"], failure.get("column"), failure.get("kwargs") or {}
    if kind == "expect_table_columns_to_match_set":
        col = next((c for c in source.columns if c.name == column), None)
        names = ", ".join(f'"{a}"' for a in (col.aliases if col else (column,))[:3])
        return f"a column headed {names}", f"คอลัมน์ที่มีหัวตาราง {names}"
    if column == GARBLED_TEXT:
        return ("readable Thai text: save the file as 'CSV UTF-8'",
                "ข้อความภาษาไทยที่อ่านได้ กรุณาบันทึกไฟล์เป็น 'CSV UTF-8'")
    if column == UNREGISTERED_AGENCY:
        return ("an agency name in the registry (full official name)",
                "ชื่อหน่วยงานตามทะเบียนหน่วยงาน (ชื่อเต็มอย่างเป็นทางการ)")
    if kind == "expect_table_row_count_to_be_between":
        return "at least one data row below the header", "ข้อมูลอย่างน้อย 1 แถวใต้แถวหัวตาราง"
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        return "each value (combination) to appear only once", "ค่า (หรือชุดค่า) นี้ต้องไม่ซ้ำกัน"
    if kind == "expect_column_values_to_be_between":
        low, high = kw.get("min_value"), kw.get("max_value")
        col_kind = _kind(source, column)
        if col_kind == "year":
            return (f"a Buddhist Era year from {low} to {high} (CE years are converted)",
                    f"ปี พ.ศ. ระหว่าง {low} ถึง {high}")
        if col_kind == "amount" and high is None:
            return f"an amount of {low} baht or more (not negative)", f"จำนวนเงินตั้งแต่ {low} บาทขึ้นไป (ห้ามติดลบ)"
        if high is None:
            return f"a number of at least {low}", f"ตัวเลขตั้งแต่ {low} ขึ้นไป"
        return f"a number from {low} to {high}", f"ตัวเลขระหว่าง {low} ถึง {high}"
    if kind == "expect_column_values_to_be_in_set":
        allowed = _enum_text(source, column, list(kw.get("value_set") or []))
        return f"one of: {allowed}", f"ค่าใดค่าหนึ่งต่อไปนี้: {allowed}"
    if kind == "expect_column_values_to_not_be_null":
        if failure.get("parse_errors"):
            return _readable(source, column, str(failure["parse_errors"]))
        return "a value (this column is required)", "ต้องกรอกค่า (คอลัมน์บังคับ)"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        return ("the actual start year not later than the reporting year",
                "ปีที่เริ่มดำเนินการจริงต้องไม่เกินปีที่รายงาน")
    if kind == "file_ends_mid_row":
        return ("a complete file: every row has all its columns and the file ends with a line break",
                "ไฟล์ที่สมบูรณ์: ทุกแถวมีครบทุกคอลัมน์ และไฟล์จบด้วยการขึ้นบรรทัดใหม่")
    if kind == "parse_value":
        return _readable(source, column, str(failure.get("notes")))
    return failure.get("notes") or kind, failure.get("notes") or kind


def explain(failure: dict, source: Source) -> Explained:
    column = failure.get("column")
    if column == GARBLED_TEXT and failure.get("values"):  # values read "<column>: <text>"
        named = str(failure["values"][0]).split(": ", 1)[0]
        column = named if any(c.name == named for c in source.columns) else column
    column_en, column_th = column_label(source, column)
    if failure["expectation"] == "expect_compound_columns_to_be_unique":
        column_en, column_th = column_label(source, ",".join((failure.get("kwargs") or {}).get("column_list") or [])
                                            or failure.get("column"))
    expected_en, expected_th = _expected(failure, source)
    return Explained(category(failure, source), column_en, column_th, expected_en, expected_th)


def reject_code(failures: list[dict], source: Source) -> str:
    """``validation.<category>`` of the most fundamental critical failure."""
    found = {category(f, source) for f in failures if f["severity"] == "critical"}
    return "validation." + next((c for c in CATEGORY_ORDER if c in found), "check_failed")


def file_problem(code: str) -> tuple[str, str]:
    """(English, Thai) instruction for a file that could not be read at all."""
    return FILE_FIXES.get(code, ("Check the file and send it again.", "กรุณาตรวจสอบไฟล์แล้วส่งใหม่อีกครั้ง"))


def template_headers(source: Source) -> list[str]:
    """The template's header for each required column (Thai first spelling, canonical name)."""
    return [f"{c.aliases[0]} ({c.name})" if c.aliases and c.aliases[0] != c.name else c.name
            for c in source.columns if c.required]

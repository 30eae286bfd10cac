"""Read a landing-zone file into a header and rows, whatever its encoding or layout.

CSV: UTF-8, UTF-8 with BOM or TIS-620/Windows-874, detected from the bytes, read as a stream.
XLSX: every sheet whose header matches the source (title rows above it and a two-row merged
header are found by scoring candidate rows against the source's column aliases). Cells are read
as stored values: formulas are never evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from ingest.sources import Source
from ingest.thai import name_key

HEADER_SCAN_ROWS = 25
_UNIT = re.compile(r"[(\[]\s*(ล้านบาท|บาท|million baht|baht|mb|thb)\s*[)\]]", re.I)
_BRACKETED = re.compile(r"[(\[].*?[)\]]")
_ERA = re.compile(r"(?:พ|ค)\.\s?ศ\.?")  # "ปีงบประมาณ พ.ศ." is the year header with its era spelled out


class FileRejected(Exception):
    """The whole file cannot be read; ``code`` is stable, the messages are for people."""

    def __init__(self, code: str, message_en: str, message_th: str, row: int | None = None) -> None:
        super().__init__(message_en)
        self.code, self.message_en, self.message_th, self.row = code, message_en, message_th, row


@dataclass
class Table:
    """Rows of one sheet (or the CSV), with the header mapped to canonical columns."""

    sheet: str | None
    header_row: int
    columns: dict[str, int]  # canonical column -> cell index
    multipliers: dict[str, Decimal]
    unknown_headers: list[str]
    rows: Iterator[tuple[int, list[object]]]
    encoding: str | None = None
    header_cells: list[str] = field(default_factory=list)


def detect_encoding(head: bytes) -> str:
    """Pick the codec from the first bytes: BOM, valid UTF-8, else Windows-874 (a TIS-620 superset)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRejected("not_text", "binary content, not a CSV text file",
                           "ไฟล์เป็นข้อมูลไบนารี ไม่ใช่ไฟล์ข้อความ CSV")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sample boundary
            return "utf-8"
    try:
        text = head.decode("cp874")
    except UnicodeDecodeError as exc:
        raise FileRejected("encoding", "unknown text encoding (not UTF-8 nor TIS-620/Windows-874)",
                           "ไม่รู้จักการเข้ารหัสอักขระ (ไม่ใช่ UTF-8 หรือ TIS-620/Windows-874)") from exc
    thai = sum(1 for ch in text if "\u0e00" <= ch <= "\u0e7f")
    odd = sum(1 for ch in text if not (ch.isascii() or "\u0e00" <= ch <= "\u0e7f"))
    if thai == 0 or odd > thai:
        raise FileRejected("encoding", "unknown text encoding (not UTF-8 nor TIS-620/Windows-874)",
                           "ไม่รู้จักการเข้ารหัสอักขระ (ไม่ใช่ UTF-8 หรือ TIS-620/Windows-874)")
    return "cp874"


def _header_key(cell: object) -> str:
    return name_key(_ERA.sub("", _BRACKETED.sub("", str(cell)))) if cell not in (None, "") else ""


def map_header(cells: list[object], source: Source) -> tuple[dict[str, int], dict[str, Decimal], list[str]]:
    lookup = {k: c.name for c in source.columns for k in c.keys()}
    columns: dict[str, int] = {}
    multipliers: dict[str, Decimal] = {}
    unknown: list[str] = []
    for i, cell in enumerate(cells):
        key = _header_key(cell)
        if not key:
            continue
        name = lookup.get(key)
        if name is None or name in columns:
            unknown.append(str(cell))
            continue
        columns[name] = i
        unit = _UNIT.search(str(cell))
        if unit and unit.group(1).lower() in {"ล้านบาท", "million baht", "mb"}:
            multipliers[name] = Decimal(1_000_000)
    return columns, multipliers, unknown


def _merged_header(upper: list[object], lower: list[object]) -> list[object]:
    """Two header rows where the upper one has merged cells: fill it right, prefer the lower."""
    filled: list[object] = []
    last: object = None
    for i in range(max(len(upper), len(lower))):
        up = upper[i] if i < len(upper) else None
        last = up if up not in (None, "") else last
        low = lower[i] if i < len(lower) else None
        if low in (None, ""):
            filled.append(last)
            continue
        unit = _UNIT.search(str(last or ""))  # "งบประมาณ (ล้านบาท)" above "ได้รับจัดสรร" keeps its unit
        filled.append(f"{low} ({unit.group(1)})" if unit and not _UNIT.search(str(low)) else low)
    return filled


def find_header(rows: list[list[object]], source: Source) -> tuple[int, int, list[object]] | None:
    """(index of the last header row, header height, header cells) with the most known columns."""
    best: tuple[int, int, int, list[object]] | None = None
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        candidates = [(1, row)]
        if i + 1 < len(rows):
            candidates.append((2, _merged_header(row, rows[i + 1])))
        for height, cells in candidates:
            score = len(map_header(cells, source)[0])
            if score and (best is None or score > best[0]):
                best = (score, i + height - 1, height, cells)
    if best is None:
        return None
    return best[1], best[2], best[3]


def _table(source: Source, sheet: str | None, head: list[list[object]], row_numbers: list[int],
           rest: Iterator[tuple[int, list[object]]], encoding: str | None) -> Table | None:
    found = find_header(head, source)
    if found is None:
        return None
    idx, _height, cells = found
    columns, multipliers, unknown = map_header(cells, source)

    def rows() -> Iterator[tuple[int, list[object]]]:
        yield from zip(row_numbers[idx + 1:], head[idx + 1:], strict=True)
        yield from rest

    return Table(sheet, row_numbers[idx], columns, multipliers, unknown, rows(), encoding,
                 [str(c) if c is not None else "" for c in cells])


def read_csv(path: Path, source: Source) -> list[Table]:
    with open(path, "rb") as fh:
        sample = fh.read(65536)
    if not sample.strip():
        raise FileRejected("empty", "the file is empty", "ไฟล์ว่างเปล่า")
    encoding = detect_encoding(sample)
    stream: IO[str] = io.TextIOWrapper(open(path, "rb"), encoding=encoding, errors="strict", newline="")
    reader = csv.reader(stream)

    def numbered() -> Iterator[tuple[int, list[object]]]:
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    yield reader.line_num, list(record)
        except UnicodeDecodeError as exc:
            raise FileRejected("encoding", f"bytes not valid {encoding} after line {reader.line_num}",
                               f"พบไบต์ที่ไม่ถูกต้องตามการเข้ารหัส {encoding} หลังบรรทัดที่ {reader.line_num}",
                               reader.line_num) from exc
        except csv.Error as exc:
            raise FileRejected("csv_syntax", f"CSV syntax error at line {reader.line_num}: {exc}",
                               f"รูปแบบ CSV ผิดพลาดที่บรรทัด {reader.line_num}: {exc}", reader.line_num) from exc
        finally:
            stream.close()

    it = numbered()
    head: list[list[object]] = []
    numbers: list[int] = []
    for n, row in it:
        head.append(row)
        numbers.append(n)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    table = _table(source, None, head, numbers, it, encoding)
    if table is None:
        stream.close()
        raise FileRejected("no_header", "no header row with the expected columns was found",
                           "ไม่พบแถวหัวตารางที่มีคอลัมน์ตามแบบฟอร์ม")
    return [table]


def read_xlsx(path: Path, source: Source) -> list[Table]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise FileRejected("not_xlsx", f"not a readable Excel workbook: {exc}",
                           "ไม่ใช่ไฟล์ Excel ที่อ่านได้ หรือไฟล์เสียหาย") from exc
    tables: list[Table] = []
    for sheet in workbook.sheet_names:
        data = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        numbered = [(i + 1, list(r)) for i, r in enumerate(data) if any(c not in (None, "") for c in r)]
        head = [r for _, r in numbered]
        table = _table(source, sheet, head, [n for n, _ in numbered], iter(()), None)
        if table is not None and len(table.columns) >= max(1, len(source.required) // 2):
            tables.append(table)
    if not tables:
        raise FileRejected("no_data_sheet", "no sheet has a header with the expected columns",
                           "ไม่พบแผ่นงานที่มีหัวตารางตามแบบฟอร์ม")
    return tables


def read_tables(path: Path, source: Source) -> list[Table]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, source)
    if suffix in {".xlsx", ".xlsm"}:
        return read_xlsx(path, source)
    raise FileRejected("file_type", f"unsupported file type {suffix!r}", f"ไม่รองรับไฟล์ชนิด {suffix!r}")

"""Read a landing-zone file into a header and rows, whatever its encoding or layout.

CSV: UTF-8, UTF-8 with BOM or TIS-620/Windows-874, detected from the bytes, read as a stream.
XLSX: every sheet whose header matches the source (title rows above it and a two-row merged
header are found by scoring candidate rows against the source's column aliases). Cells are read
as stored values: formulas are never evaluated (a formula cell gives the value Excel cached when
the file was saved, or nothing; text that merely looks like a formula stays text).

Limits (``FileLimits``): a file with more data rows than ``DGWH_MAX_FILE_ROWS``, larger than
``DGWH_MAX_FILE_MB`` (a workbook: once unpacked) or with a line longer than ``MAX_LINE_CHARS`` is
refused before any row is parsed, its rows counted while streaming and never held, so one oversized
or hostile file cannot exhaust a worker's memory. Within the limits a file's parsed rows are held
in memory for validation.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO
from xml.parsers import expat

from ground.sources import Source
from ground.thai import name_key

HEADER_SCAN_ROWS = 25
_UNIT = re.compile(r"[(\[]\s*(ล้านบาท|บาท|million baht|baht|mb|thb)\s*[)\]]", re.I)
_BRACKETED = re.compile(r"[(\[].*?[)\]]")
_ERA = re.compile(r"(?:พ|ค)\.\s?ศ\.?")  # "ปีงบประมาณ พ.ศ." is the year header with its era spelled out
DEFAULT_MAX_FILE_MB = 512  # the largest real file (a budget-bill book) is about 2 MB
DEFAULT_MAX_FILE_ROWS = 250_000  # a national readiness survey year is about 10,000 rows
DEFAULT_MAX_SHEET_CELLS = 5_000_000  # a sheet's first-to-last-cell box; the largest real one is about 200,000
MAX_LINE_CHARS = 1 << 20  # a budget-bill line is about 1,000 characters; csv's own limit is 128 KiB per field
DEFAULT_MAX_CELL_CHARS = 131_072  # a workbook cell, as csv's field limit (Excel itself stops at 32,767)


class FileRejected(Exception):
    """The whole file cannot be read; ``code`` is stable, the messages are for people.

    ``rows_in`` is the number of data rows counted before the file was refused (0 when unknown)."""

    def __init__(self, code: str, message_en: str, message_th: str, row: int | None = None,
                 rows_in: int = 0) -> None:
        super().__init__(message_en)
        self.code, self.message_en, self.message_th, self.row = code, message_en, message_th, row
        self.rows_in = rows_in


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    max_rows: int

    @classmethod
    def from_env(cls) -> FileLimits:
        mb = float(os.environ.get("DGWH_MAX_FILE_MB") or DEFAULT_MAX_FILE_MB)
        return cls(int(mb * 1_000_000), int(os.environ.get("DGWH_MAX_FILE_ROWS") or DEFAULT_MAX_FILE_ROWS))


def _mb(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


def _too_large(size: int, limits: FileLimits, rows: int) -> FileRejected:
    """``size``: of the file, or of a workbook once unpacked."""
    return FileRejected(
        "too_large", f"the file is {_mb(size)}; at most {_mb(limits.max_bytes)} per file is accepted "
                     f"(DGWH_MAX_FILE_MB): split it, e.g. by agency or year",
        f"ไฟล์มีขนาด {_mb(size)} เกินขนาดสูงสุด {_mb(limits.max_bytes)} ต่อไฟล์ กรุณาแบ่งเป็นหลายไฟล์ (เช่น ตามหน่วยงานหรือปี)",
        rows_in=rows)


def _too_many_rows(rows: int, limits: FileLimits) -> FileRejected:
    return FileRejected(
        "too_many_rows", f"the file has {rows:,} data rows; at most {limits.max_rows:,} per file are accepted "
                         f"(DGWH_MAX_FILE_ROWS): split it, e.g. by agency or year",
        f"ไฟล์มีข้อมูล {rows:,} แถว เกินจำนวนสูงสุด {limits.max_rows:,} แถวต่อไฟล์ กรุณาแบ่งเป็นหลายไฟล์ (เช่น ตามหน่วยงานหรือปี)",
        rows_in=rows)


def _lines(stream: IO[str], line_no: list[int]) -> Iterator[str]:
    """Physical lines, each read with a bound: a file without line breaks is refused, never read whole."""
    while line := stream.readline(MAX_LINE_CHARS + 1):
        line_no[0] += 1
        if len(line) > MAX_LINE_CHARS:
            raise FileRejected(
                "line_too_long", f"line {line_no[0]} is longer than {MAX_LINE_CHARS:,} characters (no line breaks?)",
                f"บรรทัดที่ {line_no[0]} ยาวเกิน {MAX_LINE_CHARS:,} ตัวอักษร (ไม่มีการขึ้นบรรทัดใหม่?)", line_no[0])
        yield line


def _nul(where_en: str, where_th: str) -> FileRejected:
    """PostgreSQL text cannot hold NUL: a file with one is refused whole, never half-loaded."""
    return FileRejected("nul_byte", f"a NUL character (binary data) in {where_en}",
                        f"พบอักขระ NUL (ข้อมูลไบนารี) ใน{where_th}")


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


def _first_bad_line(path: Path, encoding: str) -> tuple[int, bytes] | None:
    """The physical line the first bytes that are not ``encoding`` are on, and those bytes. The text stream
    decodes ahead of the CSV reader (8 KiB at a time), so the reader's own line count can be lines short.
    Lines are split on LF, which no UTF-8 or Windows-874 character contains (None for other codecs)."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig", "cp874"):
        return None
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line = 1
    with open(path, "rb") as fh:
        while raw := fh.readline(MAX_LINE_CHARS * 4):  # one line, or a part of a long one
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as exc:
                return line, bytes(exc.object[exc.start:exc.end])
            line += raw.endswith(b"\n")
        try:
            decoder.decode(b"", True)
        except UnicodeDecodeError as exc:
            return line, bytes(exc.object[exc.start:exc.end])
    return None


def _csv_records(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line they end on; a NUL, bad bytes or broken quoting refuse the file."""
    with io.TextIOWrapper(open(path, "rb"), encoding=encoding, errors="strict", newline="") as stream:
        reader = csv.reader(_lines(stream, [0]))
        try:
            for record in reader:
                if any(map(str.strip, record)):  # a blank record (every cell empty or spaces) is skipped
                    if "\x00" in "".join(record):
                        raise _nul(f"line {reader.line_num}", f"บรรทัดที่ {reader.line_num}")
                    yield reader.line_num, record
        except UnicodeDecodeError as exc:
            line, bad = _first_bad_line(path, encoding) or (reader.line_num + 1, exc.object[exc.start:exc.end])
            raise FileRejected("encoding", f"line {line}: bytes not valid {encoding} ({bad.hex(' ')})",
                               f"บรรทัดที่ {line}: พบไบต์ที่ไม่ถูกต้องตามการเข้ารหัส {encoding} ({bad.hex(' ')})",
                               line) from exc
        except csv.Error as exc:
            raise FileRejected("csv_syntax", f"CSV syntax error at line {reader.line_num}: {exc}",
                               f"รูปแบบ CSV ผิดพลาดที่บรรทัด {reader.line_num}: {exc}", reader.line_num) from exc


def _line_breaks(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n") + chunk.count(b"\r")
    return count


def read_csv(path: Path, source: Source, limits: FileLimits | None = None) -> list[Table]:
    limits = limits or FileLimits.from_env()
    with open(path, "rb") as fh:
        sample = fh.read(65536)
    if not sample.strip():
        raise FileRejected("empty", "the file is empty", "ไฟล์ว่างเปล่า")
    encoding = detect_encoding(sample)
    it = _csv_records(path, encoding)
    head: list[list[object]] = []
    numbers: list[int] = []
    for n, row in it:
        head.append(row)
        numbers.append(n)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    table = _table(source, None, head, numbers, it, encoding)
    if table is None:
        it.close()
        raise FileRejected("no_header", "no header row with the expected columns was found",
                           "ไม่พบแถวหัวตารางที่มีคอลัมน์ตามแบบฟอร์ม")
    size = path.stat().st_size
    if size > limits.max_bytes or (size >= 2 * limits.max_rows  # a row takes 2 bytes at least
                                   and _line_breaks(path) >= limits.max_rows):  # and one line (a C count)
        rows = sum(1 for n, _ in _csv_records(path, encoding) if n > table.header_row)  # streamed, nothing kept
        if size > limits.max_bytes or rows > limits.max_rows:
            it.close()
            raise _too_large(size, limits, rows) if size > limits.max_bytes else _too_many_rows(rows, limits)
    return [table]


def _open_zip(path: Path) -> zipfile.ZipFile | None:
    """The workbook as a ZIP archive, or None if it cannot be opened as one, however that fails: calamine
    then says why (the checks before it are about size, not damage)."""
    try:
        return zipfile.ZipFile(path)
    except (MemoryError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 - BadZipFile, struct, seek and value errors of a damaged archive alike
        return None


def _unpacked_size(path: Path) -> int:
    """Bytes the workbook's parts take once unzipped, as its archive declares them (0 if it is not a ZIP)."""
    zf = _open_zip(path)
    if zf is None:
        return 0
    with zf:
        return sum(info.file_size for info in zf.infolist())


_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\sref="([A-Z]{1,3})([0-9]{1,9})'
                        rb'(?::([A-Z]{1,3})([0-9]{1,9}))?"')
_CELL = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\b(?!:)[^>]*?\sr="([A-Z]{1,3})([0-9]{1,9})"')
_ANY_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_SCAN_OVERLAP = 4096


def max_sheet_cells() -> int:
    """A sheet's bounding box (what the reader allocates, empty cells included) may hold at most this many cells."""
    return int(os.environ.get("DGWH_MAX_SHEET_CELLS") or DEFAULT_MAX_SHEET_CELLS)


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _check_sheet_extents(path: Path, limit: int) -> None:
    """Refuse a workbook whose sheets declare or use a range the reader would have to allocate in full.

    The reader holds a sheet as a dense grid from its first to its last cell, so a 1.6 KB workbook with
    cells at A1 and XFD1048576 means 17 billion cells. Each part's declared ``<dimension>`` and the cells'
    own references are scanned (streamed, compressed size bounded by DGWH_MAX_FILE_MB) before any sheet is read.
    """
    zf = _open_zip(path)
    if zf is None:
        return  # not a workbook: calamine says why
    with zf:
        for info in zf.infolist():
            if not info.filename.lower().endswith(".xml") or info.filename.lower().endswith("sharedstrings.xml"):
                continue
            lo_r = lo_c = None
            hi_r = hi_c = cells = 0
            far = ""
            declared: tuple[int, int, str] | None = None
            tail = b""
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(1 << 20):
                        buf = tail + chunk
                        for m in _CELL.finditer(buf):
                            if m.end() <= len(tail):
                                continue
                            r, c = int(m.group(2)), _col(m.group(1))
                            lo_r = r if lo_r is None else min(lo_r, r)
                            lo_c = c if lo_c is None else min(lo_c, c)
                            if r >= hi_r or c >= hi_c:
                                far = (m.group(1) + m.group(2)).decode()
                            hi_r, hi_c = max(hi_r, r), max(hi_c, c)
                        cells += sum(1 for m in _ANY_CELL.finditer(buf) if m.end() > len(tail))
                        if declared is None and (d := _DIMENSION.search(buf)):
                            first = (_col(d.group(1)), int(d.group(2)))
                            last = (_col(d.group(3)), int(d.group(4))) if d.group(3) else first
                            declared = ((last[1] - first[1] + 1) * (last[0] - first[0] + 1),
                                        max(1, last[1] - first[1] + 1), (d.group(3) or d.group(1)).decode()
                                        + (d.group(4) or d.group(2)).decode())
                        tail = buf[-_SCAN_OVERLAP:]
            except (MemoryError, RecursionError):
                raise
            except Exception:  # noqa: BLE001 - a damaged or encrypted part, however it fails: calamine says why
                return
            used = (hi_r - lo_r + 1) * (hi_c - lo_c + 1) if lo_r is not None else 0
            span = (f"declares a range up to {declared[2]}", declared[0]) if declared else ("", 0)
            for what, n in (("uses cells up to " + far, used), span, ("has cells", cells)):
                if n > limit:
                    raise FileRejected(
                        "sheet_too_large",
                        f"a sheet ({info.filename}) {what}: {n:,} cells to read, at most {limit:,} "
                        f"(DGWH_MAX_SHEET_CELLS) are accepted; a stray value or format far from the table?",
                        f"แผ่นงาน ({info.filename}) มีช่วงเซลล์ใหญ่เกินไป ({n:,} เซลล์ รับได้ไม่เกิน {limit:,}) "
                        f"อาจมีค่าหรือรูปแบบหลงอยู่ไกลจากตาราง")


def max_cell_chars() -> int:
    return int(os.environ.get("DGWH_MAX_CELL_CHARS") or DEFAULT_MAX_CELL_CHARS)


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


def _stream_xml(fh: IO[bytes], start, end, text) -> None:
    """Feed a part to expat in 1 MB chunks: text arrives in pieces, so no value is ever held whole."""
    parser = expat.ParserCreate()
    parser.buffer_text = False
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    while chunk := fh.read(1 << 20):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> the sheet's name as Excel shows it (the part's own name when it cannot be told)."""
    names: dict[str, str] = {}
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return names
    targets = {m.group(1): m.group(2) for m in re.finditer(
        r'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"', rels)}
    targets |= {m.group(2): m.group(1) for m in re.finditer(
        r'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"', rels)}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", book):
        name, rid = re.search(r'\bname="([^"]*)"', m.group(1)), re.search(r'\br:id="([^"]*)"', m.group(1))
        if name and rid and rid.group(1) in targets:
            target = targets[rid.group(1)].lstrip("/")
            names[target if target.startswith("xl/") else f"xl/{target}"] = html.unescape(name.group(1))
    return names


def _check_cell_sizes(path: Path, limit: int) -> None:
    """Refuse a workbook with a cell longer than ``limit`` characters, naming its sheet, row and column, before
    the reader loads it: shared strings and each sheet are streamed and their text only counted."""
    zf = _open_zip(path)
    if zf is None:
        return  # not a workbook: calamine says why
    with zf:
        parts = {i.filename.lower(): i.filename for i in zf.infolist()}
        long_strings: dict[int, int] = {}  # shared string index -> its length, for those over the limit
        state = {"si": -1, "in_si": False, "in_t": 0, "n": 0}

        def si_start(name: str, attrs: dict) -> None:
            tag = _local(name)
            if tag == "si":
                state.update(si=state["si"] + 1, in_si=True, n=0)
            elif tag == "t" and state["in_si"]:
                state["in_t"] += 1

        def si_end(name: str) -> None:
            tag = _local(name)
            if tag == "t" and state["in_t"]:
                state["in_t"] -= 1
            elif tag == "si":
                if state["n"] > limit:
                    long_strings[state["si"]] = state["n"]
                state["in_si"] = False

        def si_text(data: str) -> None:
            if state["in_t"]:
                state["n"] += len(data)

        found: list[tuple[str, int, str, int]] = []  # (sheet, row, column, characters)
        try:
            if "xl/sharedstrings.xml" in parts:
                with zf.open(parts["xl/sharedstrings.xml"]) as fh:
                    _stream_xml(fh, si_start, si_end, si_text)
            names = _sheet_names(zf)
            for lower, part in sorted(parts.items()):
                if not (lower.startswith("xl/worksheets/") and lower.endswith(".xml")):
                    continue
                cell = {"ref": "", "type": "", "in_value": False, "n": 0, "index": ""}

                def c_start(name: str, attrs: dict, cell=cell) -> None:
                    tag = _local(name)
                    if tag == "c":
                        cell.update(ref=attrs.get("r", ""), type=attrs.get("t", ""), n=0, index="")
                    elif tag in ("v", "t"):
                        cell["in_value"] = True

                def c_end(name: str, cell=cell, part=part) -> None:
                    tag = _local(name)
                    if tag in ("v", "t"):
                        cell["in_value"] = False
                    elif tag == "c":
                        n = cell["n"]
                        if cell["type"] == "s" and cell["index"].strip().isdigit():
                            n = long_strings.get(int(cell["index"]), 0)
                        if n > limit and len(found) < MAX_CELLS_NAMED:
                            ref = re.match(r"([A-Z]{1,3})([0-9]+)$", cell["ref"] or "")
                            found.append((names.get(part, part), int(ref.group(2)) if ref else 0,
                                          ref.group(1) if ref else "?", n))

                def c_text(data: str, cell=cell) -> None:
                    if cell["in_value"]:
                        cell["n"] += len(data)
                        if len(cell["index"]) < 16:
                            cell["index"] += data[:16]

                with zf.open(part) as fh:
                    _stream_xml(fh, c_start, c_end, c_text)
        except (MemoryError, RecursionError):
            raise
        except Exception:  # noqa: BLE001 - a damaged or encrypted part, however it fails: calamine says why
            return
    if found:
        sheet, row, column, n = found[0]
        more = f" (and {len(found) - 1} more such cell(s))" if len(found) > 1 else ""
        raise FileRejected(
            "cell_too_large",
            f"sheet {sheet!r}, row {row}, column {column}: a cell of {n:,} characters; at most {limit:,} per cell "
            f"(DGWH_MAX_CELL_CHARS){more}",
            f"แผ่นงาน {sheet!r} แถวที่ {row} คอลัมน์ {column}: เซลล์มีข้อความ {n:,} ตัวอักษร "
            f"เกินกว่าที่รับได้ ({limit:,} ตัวอักษรต่อเซลล์){more}", row)


MAX_CELLS_NAMED = 10


def read_xlsx(path: Path, source: Source, limits: FileLimits | None = None) -> list[Table]:
    from python_calamine import CalamineWorkbook

    limits = limits or FileLimits.from_env()
    on_disk, unpacked = path.stat().st_size, _unpacked_size(path)  # before calamine reads a sheet into memory
    if max(on_disk, unpacked) > limits.max_bytes:
        refused = _too_large(max(on_disk, unpacked), limits, 0)
        if unpacked > on_disk:  # the archive's own word: a real workbook, or headers that lie
            refused.message_en = refused.message_en.replace(
                f"the file is {_mb(unpacked)}", f"the workbook unpacks to {_mb(unpacked)} (as its archive declares; "
                                               f"{_mb(on_disk)} on disk)")
            refused.args = (refused.message_en,)
        raise refused
    _check_sheet_extents(path, max_sheet_cells())
    _check_cell_sizes(path, max_cell_chars())
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise FileRejected("not_xlsx", f"not a readable Excel workbook: {exc}",
                           "ไม่ใช่ไฟล์ Excel ที่อ่านได้ หรือไฟล์เสียหาย") from exc
    tables: list[Table] = []
    data_rows = 0
    for sheet in workbook.sheet_names:
        try:
            data = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:  # calamine's own errors (a part larger than declared: XmlError, ...)
            what = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            raise FileRejected("not_xlsx", f"sheet {sheet!r} cannot be read: {what}",
                               f"อ่านแผ่นงาน {sheet!r} ไม่ได้ ไฟล์ Excel อาจเสียหาย ({what})") from exc
        numbered = [(i + 1, list(r)) for i, r in enumerate(data) if any(c not in (None, "") for c in r)]
        head = [r for _, r in numbered]
        table = _table(source, sheet, head, [n for n, _ in numbered], iter(()), None)
        if table is None or len(table.columns) < max(1, len(source.required) // 2):
            continue
        for n, row in numbered:  # OOXML escapes (_x0000_) can smuggle a NUL into a cell or a sheet name
            if "\x00" in sheet or any(isinstance(c, str) and "\x00" in c for c in row):
                raise _nul(f"sheet {sheet!r}, row {n}", f"แผ่นงาน {sheet!r} แถวที่ {n}")
        data_rows += sum(1 for n, _ in numbered if n > table.header_row)
        tables.append(table)
    if data_rows > limits.max_rows:
        raise _too_many_rows(data_rows, limits)
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

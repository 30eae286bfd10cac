"""One file through the night: parse → validate (GX) → load or quarantine.

Plain functions the DAG's tasks call; tests call them without Airflow.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingest.discover import FileChanged, LandingFile, discover, local_copy, snapshot
from ingest.isolate import parse_isolated
from ingest.load import LedgerEntry, load_file, processed_hashes, reject_file
from ingest.parse import ParsedFile, RowIssue
from ingest.quarantine import formula_safe, quarantine
from ingest.readers import FileRejected, detect_encoding
from ingest.schema import ensure_schema
from ingest.settings import Settings, get_settings
from ingest.sources import SOURCES
from ingest.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    path: str
    source: str
    status: str  # loaded | rejected | skipped
    file_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def new_files(settings: Settings | None = None) -> list[LandingFile]:
    """Landing-zone files whose bytes the ledger has not seen (loaded or rejected)."""
    settings = settings or get_settings()
    with connect() as conn:
        ensure_schema(conn)
        seen = processed_hashes(conn)
    return [f for f in discover(settings.landing_zone) if (f.source, f.sha256) not in seen]


def _failures(gate_result) -> list[dict]:
    return [dataclasses.asdict(f) for f in gate_result.failures]


def _value_issue_failures(parsed: ParsedFile) -> list[dict]:
    by_column: dict[str | None, list[RowIssue]] = {}
    for issue in parsed.value_issues:
        by_column.setdefault(issue.column, []).append(issue)
    return [{"expectation": "parse_value", "column": col, "severity": "warning", "unexpected_count": len(items),
             "rows": [i.row for i in items[:50]], "values": [i.value for i in items[:50]],
             "notes": items[0].message, "kwargs": {}} for col, items in by_column.items()]


def _with_parse_errors(failures: list[dict], parsed: ParsedFile) -> list[dict]:
    """A required value that is empty only because it could not be parsed: show what the file had."""
    issues = {(i.column, i.row): i for i in parsed.value_issues}
    for f in failures:
        if f["expectation"] != "expect_column_values_to_not_be_null":
            continue
        found = [issues[(f["column"], r)] for r in f["rows"] if (f["column"], r) in issues]
        if found:
            f["values"] = [i.value for i in found]
            f["parse_errors"] = found[0].message
    return failures


def _ends_mid_row(path: Path, parsed: ParsedFile, failures: list[dict]) -> dict | None:
    """A CSV without a final line break whose last row fails a check: most likely cut off."""
    if path.suffix.lower() != ".csv" or not parsed.records or path.stat().st_size == 0:
        return None
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        if fh.read(1) in (b"\n", b"\r"):
            return None
    last = int(parsed.records[-1]["source_row"])
    if not any(last in f.get("rows", []) for f in failures if f["severity"] == "critical"):
        return None
    return {"expectation": "file_ends_mid_row", "column": None, "severity": "critical", "unexpected_count": 1,
            "rows": [last], "values": ["no line break at the end of the file · ไม่มีการขึ้นบรรทัดใหม่ท้ายไฟล์"], "kwargs": {},
            "notes": "the file ends in the middle of its last row: it looks truncated"}


def _unreadable_detail(exc: FileRejected, path: Path) -> tuple[str, str]:
    """The reader's message plus what we can see of the file, so the reason is specific."""
    en, th = exc.message_en, exc.message_th
    try:
        if exc.code == "no_data_sheet":
            from python_calamine import CalamineWorkbook

            sheets = ", ".join(repr(s) for s in CalamineWorkbook.from_path(str(path)).sheet_names)
            return f"{en}; sheets in the workbook: {sheets}", f"{th}; แผ่นงานในไฟล์: {sheets}"
        if exc.code == "no_header":
            with open(path, "rb") as fh:
                head = fh.read(65536)
            first = next((r for r in csv.reader(io.StringIO(head.decode(detect_encoding(head), errors="replace")))
                          if any(c.strip() for c in r)), [])
            cells = ", ".join(repr(c[:30]) for c in first[:6]) + (", ..." if len(first) > 6 else "")
            return f"{en}; the first row reads: {cells}", f"{th}; แถวแรกของไฟล์คือ: {cells}"
        if exc.code == "not_xlsx":
            with open(path, "rb") as fh:
                start = fh.read(4)
                fh.seek(max(0, path.stat().st_size - 65557))  # the ZIP end record sits in the last 64 KiB
                tail = fh.read()
            if start != b"PK\x03\x04":
                return (f"{en}; the bytes are not an .xlsx (ZIP) workbook at all",
                        f"{th}; เนื้อไฟล์ไม่ใช่ไฟล์ Excel (.xlsx) เลย")
            if b"PK\x05\x06" not in tail:
                return (f"{en}; the workbook is truncated: the end of its ZIP archive is missing",
                        f"{th}; ไฟล์ Excel ไม่ครบ (ส่วนท้ายของไฟล์หายไป) อาจอัปโหลดไม่สมบูรณ์")
    except Exception:  # noqa: BLE001 - only an extra detail: the reader's own message stands
        pass
    return en, th


def _reason(code: str, failures: list[dict], source_name: str) -> tuple[str, str]:
    from expectations.describe import CATEGORY_TEXT, explain

    critical = [f for f in failures if f["severity"] == "critical"]
    what_en, what_th = CATEGORY_TEXT[code.split(".", 1)[1]]
    first = next(f for f in critical if explain(f, SOURCES[source_name]).category == code.split(".", 1)[1])
    column = first.get("column")
    found = "; ".join(formula_safe(v) for v in first.get("values", [])[:3])  # file values quoted, as in reports
    shown = ", ".join(str(r) for r in first.get("rows", [])[:5])
    rows = (f"row {shown}" if len(first.get("rows", [])) == 1 else f"rows {shown}") if shown else ""
    en = [f"column {column}" if column else "", rows, f"found {found}" if found else ""]
    th = [f"คอลัมน์ {column}" if column else "", f"แถวที่ {shown}" if shown else "", f"พบ {found}" if found else ""]
    return (f"{what_en}: {', '.join(p for p in en if p)} ({len(critical)} critical check(s) failed)",
            f"{what_th}: {' '.join(p for p in th if p)} (ไม่ผ่านการตรวจสอบสำคัญ {len(critical)} รายการ)")


def _describe(parsed: ParsedFile) -> dict[str, object]:
    years = sorted({int(r[c]) for r in parsed.records for c in ("reporting_fy_be", "survey_year_be",
                                                               "fiscal_year_be") if r.get(c)})
    agencies = sorted({str(r["agency_name"]) for r in parsed.records if r.get("agency_name")})
    ref_docs = sorted({str(r["ref_doc"]) for r in parsed.records if r.get("ref_doc")})
    return {"fiscal_years_be": years or None, "agency_names": agencies[:50] or None,
            "ref_doc": ",".join(ref_docs) or None}


def process_file(lf: LandingFile, gate=None, run_id: str = "manual",
                 settings: Settings | None = None) -> FileOutcome:
    """Issue 20: parse, validate and quarantine exactly the bytes that were hashed (a snapshot in the staging
    area); a file changed since discovery is skipped, recorded nowhere, and loaded by the next run."""
    settings = settings or get_settings()
    try:
        with snapshot(lf, settings.state_dir / "staging") as staged:
            return _process_snapshot(staged, gate, run_id, settings)
    except FileChanged as exc:
        log.warning("%s", exc)
        return FileOutcome(lf.relative_path, lf.source, "skipped", reason=str(exc))


def _process_snapshot(lf: LandingFile, gate=None, run_id: str = "manual",
                      settings: Settings | None = None) -> FileOutcome:
    """Parse, validate and load one file; a bad file is quarantined and the night goes on.

    Without ``gate`` the process-wide one is used (``expectations.gate.get_gate``): built once,
    rebuilt only when the agency registry changes, and storing results for Data Docs.
    """
    from expectations.describe import reject_code
    from expectations.docs import run_name

    settings = settings or get_settings()
    if gate is None:
        from expectations.gate import get_gate

        gate = get_gate(settings)
    source = SOURCES[lf.source]
    with connect() as conn:
        ensure_schema(conn)
        with local_copy(lf.uri) as path:
            try:
                parsed = parse_isolated(path, source)  # issue 20: bounded memory and time
            except FileRejected as exc:
                en, th = _unreadable_detail(exc, path)
                return _reject(conn, lf, settings, run_id, exc.code, en, th, [], None, exc.rows_in)
            result = gate.validate(parsed, run_name=run_name(run_id, lf.relative_path))
            failures = _with_parse_errors(_failures(result), parsed)
            truncated = _ends_mid_row(path, parsed, failures)
        failures += [truncated] if truncated else []
        failures += _value_issue_failures(parsed)
        validation = (result.suite, result.evaluated + (1 if truncated else 0), failures)
        if not result.passed:
            code = reject_code(failures, source)
            en, th = _reason(code, failures, lf.source)
            return _reject(conn, lf, settings, run_id, code, en, th, failures, validation, parsed.rows_in,
                           parsed)
        entry = LedgerEntry(status="loaded", rows_in=parsed.rows_in, rows_loaded=len(parsed.records),
                            rows_rejected=len(parsed.row_rejects), warnings=len(result.warnings) + len(
                                parsed.value_issues), encoding=parsed.encoding, **_describe(parsed))
        file_id = load_file(conn, lf, parsed, entry, run_id, validation)
    if file_id is None:
        return FileOutcome(lf.relative_path, lf.source, "skipped", reason="already loaded by another run")
    return FileOutcome(lf.relative_path, lf.source, "loaded", file_id, entry.rows_in, entry.rows_loaded,
                       entry.rows_rejected, entry.warnings)


def _reject(conn: psycopg.Connection, lf: LandingFile, settings: Settings, run_id: str, code: str, en: str,
            th: str, failures: list[dict], validation, rows_in: int, parsed: ParsedFile | None = None) -> FileOutcome:
    target = quarantine(lf, settings.quarantine_dir, code, en, th, failures, run_id,
                        parsed.sheets if parsed else None)
    issues = [RowIssue(r, None, f["column"], None, f["expectation"]) for f in failures
              if f["severity"] == "critical" for r in f.get("rows", [])]
    entry = LedgerEntry(status="rejected", rows_in=rows_in, rows_rejected=rows_in, reject_code=code,
                        reject_reason=en, quarantine_path=str(target),
                        encoding=parsed.encoding if parsed else None,
                        **(_describe(parsed) if parsed else {}))
    file_id = reject_file(conn, lf, entry, run_id, issues, validation)
    log.warning("rejected %s: %s", lf.relative_path, en)
    return FileOutcome(lf.relative_path, lf.source, "rejected" if file_id else "skipped", file_id, rows_in, 0,
                       rows_in, reason=f"{code}: {en}")

"""One file through the night: parse → validate (GX) → load or quarantine.

Plain functions the DAG's tasks call; tests call them without Airflow.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import re
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ground.rows import UNREADABLE_VALUE, ParsedFile, RowIssue
from ground.schema import ensure_schema
from ground.settings import Settings, get_settings
from ground.sources import SOURCES, Source
from ground.warehouse import connect
from ingest.discover import DiscoveryStats, FileChanged, LandingFile, local_copy, snapshot
from ingest.isolate import parse_many_isolated
from ingest.load import LedgerEntry, load_file, reject_file
from ingest.readers import FileRejected, detect_encoding
from ingest.seen import discover_known, in_ledger, record_hashed
from ingest.staging import clear_stale, process_dir
from nightly.passed_over import note, record_duplicates
from nightly.quarantine import formula_safe, quarantine

log = logging.getLogger(__name__)
TRUNCATED = "file_ends_mid_row"  # the check a CSV cut off in its last row fails
BOOK_NAME = re.compile(r"((?:19|20|25)\d\d)[-._](\d{1,2})[-._](\d{1,3})")


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


def new_files(settings: Settings | None = None, stats: DiscoveryStats | None = None) -> list[LandingFile]:
    """Landing-zone files whose bytes the ledger has not seen (loaded or rejected).

    A file hashed by an earlier run, unchanged by its metadata fingerprint and whose bytes the ledger holds, is
    not read again; every other file is hashed. One whose bytes the ledger holds under another path (a copy, a
    rename) or that another file of this night shares is not loaded, and is recorded for the summary
    (``nightly.passed_over``). ``stats``: what was read."""
    settings = settings or get_settings()
    clear_stale(settings.state_dir / "staging")  # copies a load killed before this run left behind
    zone = settings.landing_zone
    stats = stats if stats is not None else DiscoveryStats()
    with connect(autocommit=True) as conn:
        ensure_schema(conn)
        discover_known(conn, zone, stats)
        hashed = sorted((lf for lf, _ in stats.hashed), key=lambda f: (f.received_at, f.relative_path))
        held = in_ledger(conn, hashed)
        record_hashed(conn, zone.rstrip("/"), stats.hashed)
    new, duplicates = _without_duplicates(hashed, held)
    record_duplicates(settings.shared_state_dir, duplicates)
    return new


def _without_duplicates(hashed: list[LandingFile], held: dict[tuple[str, str], tuple[str, str]]
                        ) -> tuple[list[LandingFile], list[dict[str, str]]]:
    """The files whose bytes are new (the first of several that share them), and the others, each named with
    the file it duplicates: the ledger's, or the one found first this night (bytes are loaded once)."""
    new: list[LandingFile] = []
    first: dict[tuple[str, str], str] = {}
    duplicates: list[dict[str, str]] = []
    for f in hashed:
        key = (f.source, f.sha256)
        if key in held:
            earlier, status = held[key]
            if earlier != f.relative_path:
                log.info("landing file %s has the same bytes as %s, already in the ledger: a duplicate, not "
                         "loaded again", f.relative_path, earlier)
                duplicates.append({"path": f.relative_path,
                                   "why": f"the same bytes as {earlier} ({status} before): not loaded again"})
        elif key in first:
            duplicates.append({"path": f.relative_path, "why": f"the same bytes as {first[key]}, found in the same "
                                                               "run: loaded once, as that file"})
        else:
            first[key] = f.relative_path
            new.append(f)
    return new, duplicates


# A night's files are loaded in batches: one source each, at most this many files and bytes.
DEFAULT_BATCH_FILES = 200
DEFAULT_BATCH_MB = 16.0


def batches(files: Sequence[LandingFile], max_files: int | None = None,
            max_mb: float | None = None) -> list[list[LandingFile]]:
    """The files in load batches of one source each, in the order found (oldest first), of at most
    ``DGWH_LOAD_BATCH_FILES`` files and ``DGWH_LOAD_BATCH_MB`` megabytes; a larger file is a batch alone.
    A batch is one Airflow task and one GX run per source: fewer, larger batches cost less per file,
    smaller ones hold less in memory and retry less after a failure."""
    max_files = max_files or int(os.environ.get("DGWH_LOAD_BATCH_FILES") or DEFAULT_BATCH_FILES)
    max_bytes = (max_mb or float(os.environ.get("DGWH_LOAD_BATCH_MB") or DEFAULT_BATCH_MB)) * 1024 * 1024
    out: list[list[LandingFile]] = []
    open_batch: dict[str, list[LandingFile]] = {}  # per source, the batch being filled and its bytes
    open_bytes: dict[str, int] = {}
    for lf in files:
        batch = open_batch.get(lf.source)
        if batch is None or len(batch) >= max_files or open_bytes[lf.source] + lf.size_bytes > max_bytes:
            batch = open_batch[lf.source] = []
            open_bytes[lf.source] = 0
            out.append(batch)
        batch.append(lf)
        open_bytes[lf.source] += lf.size_bytes
    return out


def batch_label(batch: Sequence[LandingFile | dict]) -> str:
    """How a batch is named in the Airflow UI and logs: its source, size and first file."""
    first = batch[0] if isinstance(batch[0], dict) else batch[0].as_dict()
    more = f" (+{len(batch) - 1} more)" if len(batch) > 1 else ""
    return f"{first['source']}: {len(batch)} file(s), {first['relative_path']}{more}"


def _failures(gate_result) -> list[dict]:
    return [dataclasses.asdict(f) for f in gate_result.failures]


def _note_failures(parsed: ParsedFile) -> list[dict]:
    """Values read with a repair (a damaged plan name), as warnings in the validation record."""
    by_column: dict[str | None, list[RowIssue]] = {}
    for issue in parsed.notes:
        by_column.setdefault(issue.column, []).append(issue)
    return [{"expectation": "repaired_value", "column": col, "severity": "warning", "level": "row",
             "unexpected_count": len(items), "rows": [i.row for i in items[:50]],
             "values": [i.value for i in items[:50]], "notes": items[0].message, "kwargs": {}}
            for col, items in by_column.items()]


def _with_parse_errors(failures: list[dict], parsed: ParsedFile) -> list[dict]:
    """Cells that could not be read, one failure per column with the file's values and the reason (GX
    sees them as the derived ``unreadable_value`` column); a required value that is empty only because
    it could not be read shows what the file had."""
    issues = {(i.column, i.row): i for i in parsed.value_issues}
    out: list[dict] = []
    for f in failures:
        if f["column"] == UNREADABLE_VALUE:
            by_column: dict[str | None, list[RowIssue]] = {}
            for issue in parsed.value_issues:
                by_column.setdefault(issue.column, []).append(issue)
            out += [{**f, "expectation": "parse_value", "column": col, "unexpected_count": len(items),
                     "rows": [i.row for i in items[:50]], "values": [i.value for i in items[:50]],
                     "notes": items[0].message} for col, items in by_column.items()]
            continue
        if f["expectation"] == "expect_column_values_to_not_be_null":
            found = [issues[(f["column"], r)] for r in f["rows"] if (f["column"], r) in issues]
            if found:
                f["values"] = [i.value for i in found]
                f["parse_errors"] = found[0].message
        out.append(f)
    return out


def _rejected_rows(parsed: ParsedFile, result, source) -> list[RowIssue]:
    """One line per rejected row and failed check, with the value found and the reason in words."""
    from nightly.feedback import explain

    unreadable: dict[int, list[RowIssue]] = {}
    for issue in parsed.value_issues:
        unreadable.setdefault(issue.record, []).append(issue)
    issues: list[RowIssue] = []
    for record_no, failed in sorted(result.rejected.items()):
        rec = parsed.records[record_no]
        row, sheet = int(rec["source_row"]), rec.get("source_sheet")
        meant = _meant_for(rec, source)
        for failure, value in failed:
            if failure.column == UNREADABLE_VALUE:
                issues += [RowIssue(row, sheet, i.column, i.value, f"unparseable_value: {i.message}", record_no, *meant)
                           for i in unreadable.get(record_no, [])]
                continue
            if failure.expectation == "expect_column_values_to_not_be_null" and any(
                    i.column == failure.column for i in unreadable.get(record_no, [])):
                continue  # empty because unreadable: said once, above
            x = explain(dataclasses.asdict(failure), source)
            note = f" ({failure.notes})" if failure.notes else ""
            issues.append(RowIssue(row, sheet, failure.column, value, f"{x.category}: expected {x.expected_en}{note}",
                                   record_no, *meant))
    return issues


def _meant_for(rec: dict[str, object], source: Source) -> tuple[str | None, int | None]:
    """The agency (as written) and year a row was meant for, where the row says."""
    agency, year = rec.get(source.agency_column), rec.get(source.year_column)
    return (str(agency) if agency else None), (year if isinstance(year, int) else None)


def _ends_mid_row(path: Path, parsed: ParsedFile, failures: list[dict]) -> dict | None:
    """A CSV without a final line break whose last row fails a check: most likely cut off."""
    if path.suffix.lower() != ".csv" or not parsed.row_count or path.stat().st_size == 0:
        return None
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        if fh.read(1) in (b"\n", b"\r"):
            return None
    last = next(part.rows[-1] for part in reversed(parsed.parts) if len(part))
    if not any(last in f.get("rows", []) for f in failures if f["severity"] == "critical"):
        return None
    return {"expectation": TRUNCATED, "column": None, "severity": "critical", "level": "file",
            "unexpected_count": 1,
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
    from nightly.feedback import CATEGORY_TEXT, explain

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


def _book_from_name(name: str) -> str | None:
    """A budget book with no readable line: its file name says which one (2022-3-1.csv = REF_DOC 2022.3.1)."""
    book = BOOK_NAME.search(name.rsplit("/", 1)[-1])
    return ".".join(book.groups()) if book else None


def _describe(parsed: ParsedFile, name: str) -> dict[str, object]:
    """What the ledger records of a file's content: years, agencies, budget books (``name``: its landing path)."""
    year = parsed.source.year_column
    years = sorted({y for y in set(parsed.column(year)) if isinstance(y, int)})
    agencies = sorted({str(a) for a in set(parsed.column("agency_name")) if a})
    ref_docs = sorted({str(d) for d in set(parsed.column("ref_doc")) if d})
    if parsed.source.third_party and not ref_docs:
        return {"fiscal_years_be": None, "agency_names": None, "ref_doc": _book_from_name(name)}
    return {"fiscal_years_be": years or None, "agency_names": agencies or None,
            "ref_doc": ",".join(ref_docs) or None}


def process_file(lf: LandingFile, gate=None, run_id: str = "manual",
                 settings: Settings | None = None) -> FileOutcome:
    """One file: ``process_files`` with a batch of one."""
    return process_files([lf], gate, run_id, settings)[0]


@dataclass
class _Staged:
    position: int
    lf: LandingFile  # pointing at the snapshot
    path: Path
    parsed: ParsedFile


def process_files(files: Sequence[LandingFile], gate=None, run_id: str = "manual",
                  settings: Settings | None = None) -> list[FileOutcome]:
    """Parse, validate and load a batch of files; a bad file is quarantined and the rest go on.

    Each file is snapshotted (exactly the bytes that were hashed; a file changed since discovery
    is skipped, recorded nowhere, and loaded by the next run) and parsed on its own with bounded memory
    and time; the files of each source are validated together in one GX run (its cost is per
    run, not per row); each file is then loaded or quarantined in its own transaction, as alone. A file
    whose loading raises does not stop the others: the error is raised once they are done, naming it, so
    the task is retried and loads only what is still missing. Without ``gate`` the process-wide one is
    used (``expectations.gate.get_gate``: built once, rebuilt when the agency registry changes).
    """
    settings = settings or get_settings()
    outcomes: dict[int, FileOutcome] = {}
    failed: list[str] = []
    with ExitStack() as stack, connect() as conn:
        ensure_schema(conn)
        snapped: list[tuple[int, LandingFile, Path]] = []
        for position, lf in enumerate(files):
            try:
                snap = stack.enter_context(snapshot(lf, process_dir(settings.state_dir / "staging")))
            except FileChanged as exc:
                log.warning("%s", exc)
                outcomes[position] = FileOutcome(lf.relative_path, lf.source, "skipped", reason=str(exc))
                continue
            snapped.append((position, snap, stack.enter_context(local_copy(snap.uri))))
        staged: list[_Staged] = []
        for source in dict.fromkeys(lf.source for _, lf, _ in snapped):
            mine = [s for s in snapped if s[1].source == source]
            for (position, snap, path), parsed in zip(
                    mine, parse_many_isolated([path for _, _, path in mine], SOURCES[source]), strict=True):
                if isinstance(parsed, FileRejected):
                    en, th = _unreadable_detail(parsed, path)
                    outcomes[position] = _reject(conn, snap, settings, run_id, parsed.code, en, th, [], None,
                                                 parsed.rows_in)
                elif isinstance(parsed, BaseException):
                    log.error("reading %s failed: %s", snap.relative_path, parsed)
                    failed.append(snap.relative_path)
                else:
                    staged.append(_Staged(position, snap, path, parsed))
        if staged and gate is None:  # none when every file changed since it was listed, or was unreadable
            from expectations.gate import get_gate

            gate = get_gate(settings)
        for source in dict.fromkeys(s.lf.source for s in staged):
            batch = [s for s in staged if s.lf.source == source]
            results = gate.validate_many([s.parsed for s in batch], run_id, [s.lf.relative_path for s in batch])
            for item, result in zip(batch, results, strict=True):
                try:
                    outcomes[item.position] = _settle(conn, item, result, run_id, settings)
                except Exception:
                    log.exception("loading %s failed; the batch's other files go on", item.lf.relative_path)
                    failed.append(item.lf.relative_path)
    for outcome in outcomes.values():
        if outcome.status == "skipped":  # changed since it was listed, or loaded by another run meanwhile
            note(settings.shared_state_dir, run_id, outcome.path, outcome.reason or "not loaded")
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(files)} file(s) could not be loaded: {', '.join(failed)} "
                           "(see the log above); the others were loaded or quarantined")
    return [outcomes[position] for position in range(len(files))]


ACCEPTED, ROWS_REJECTED, REJECTED = "accepted", "rows_rejected", "rejected"


@dataclass
class Verdict:
    """What the night would do with a file: load it whole (``accepted``), load it without some rows
    (``rows_rejected``) or reject it whole (``rejected``), with the reason and the rows that fail."""

    status: str
    code: str | None = None
    message_en: str | None = None
    message_th: str | None = None
    failures: list[dict] = field(default_factory=list)
    row_issues: list[RowIssue] = field(default_factory=list)
    rows_in: int = 0
    rows_rejected: int = 0
    rejected_records: set[int] = field(default_factory=set)  # positions in ParsedFile.records


def judge(path: Path, parsed: ParsedFile, result) -> Verdict:
    """The night's decision for a parsed and validated file (``result``: its ``GateResult``): what ``_settle``
    does with it, and what a check without loading (``nightly.check``) says it would do."""
    from nightly.feedback import reject_code

    source = parsed.source
    failures = _with_parse_errors(_failures(result), parsed)
    truncated = _ends_mid_row(path, parsed, failures)
    failures += [truncated] if truncated else []
    failures += _note_failures(parsed)
    every_row_fails = parsed.row_count > 0 and len(result.rejected) == parsed.row_count
    if result.file_level or truncated or every_row_fails:
        code = reject_code([f for f in failures if f.get("level") == "file"] or failures, source)
        en, th = _reason(code, failures, source.name)
        rows = [] if result.file_level or truncated else _rejected_rows(parsed, result, source)
        return Verdict(REJECTED, code, en, th, failures, [*rows, *parsed.row_rejects], parsed.rows_in,
                       parsed.rows_in, set(result.rejected))
    row_issues = _rejected_rows(parsed, result, source)
    rows_rejected = len(parsed.row_rejects) + len(result.rejected)
    if not rows_rejected:
        return Verdict(ACCEPTED, failures=failures, rows_in=parsed.rows_in)
    if result.rejected:
        code = reject_code(failures, source)
        en, th = _partial_reason(code, rows_rejected, parsed.rows_in, failures, source.name)
    else:
        code = "row_structure"
        en, th = (f"{rows_rejected} row(s) have more fields than the header",
                  f"{rows_rejected} แถวมีจำนวนช่องเกินหัวตาราง")
    return Verdict(ROWS_REJECTED, code, en, th, failures, [*parsed.row_rejects, *row_issues], parsed.rows_in,
                   rows_rejected, set(result.rejected))



def _settle(conn: psycopg.Connection, item: _Staged, result, run_id: str, settings: Settings) -> FileOutcome:
    """Load or quarantine one validated file as ``judge`` decides (its rows that failed a check are rejected, the
    rest load)."""
    lf, path, parsed = item.lf, item.path, item.parsed
    source = SOURCES[lf.source]
    verdict = judge(path, parsed, result)
    code, en, th, failures = verdict.code, verdict.message_en, verdict.message_th, verdict.failures
    truncated = any(f["expectation"] == TRUNCATED for f in failures)
    validation = (result.suite, result.evaluated + (1 if truncated else 0), failures)
    if verdict.status == REJECTED:
        rows = None if result.file_level or truncated else _rejected_rows(parsed, result, source)
        return _reject(conn, lf, settings, run_id, code or "", en or "", th or "", failures, validation,
                       parsed.rows_in, parsed, rows)
    rows_rejected = verdict.rows_rejected
    report = None
    if verdict.status == ROWS_REJECTED:
        report = str(quarantine(lf, settings.quarantine_dir, code, en, th, failures, run_id, parsed.sheets,
                                rows=(rows_rejected, parsed.rows_in, verdict.row_issues)))
    entry = LedgerEntry(status="loaded", rows_in=parsed.rows_in, rows_loaded=parsed.row_count - len(result.rejected),
                        rows_rejected=rows_rejected, warnings=len(result.warnings) + len(parsed.notes),
                        encoding=parsed.encoding, quarantine_path=report, reject_code=code, reject_reason=en,
                        **_describe(parsed, lf.relative_path))
    file_id = load_file(conn, lf, parsed, entry, run_id, validation, result.rejected.keys(),
                        _rejected_rows(parsed, result, source))
    if file_id is None:
        return FileOutcome(lf.relative_path, lf.source, "skipped", reason="already loaded by another run")
    if rows_rejected:
        log.warning("loaded %s with %d of %d rows rejected: report %s", lf.relative_path, rows_rejected,
                    parsed.rows_in, report)
    return FileOutcome(lf.relative_path, lf.source, "loaded", file_id, entry.rows_in, entry.rows_loaded,
                       entry.rows_rejected, entry.warnings, reason=f"{code}: {en}" if code else None)


def _partial_reason(code: str, rejected: int, rows_in: int, failures: list[dict],
                    source_name: str) -> tuple[str, str]:
    """'N of M rows rejected: <what>, column …, rows …' for a file that loaded without some rows."""
    en, th = _reason(code, failures, source_name)
    return (f"{rejected} of {rows_in} rows rejected, the rest loaded; {en}",
            f"ไม่นำเข้า {rejected} จาก {rows_in} แถว แถวอื่นนำเข้าแล้ว; {th}")


def _reject(conn: psycopg.Connection, lf: LandingFile, settings: Settings, run_id: str, code: str, en: str,
            th: str, failures: list[dict], validation, rows_in: int, parsed: ParsedFile | None = None,
            row_issues: list[RowIssue] | None = None) -> FileOutcome:
    """Quarantine the whole file. ``row_issues``: the reasons per row when every row failed a value check
    (otherwise each critical failure's rows are listed)."""
    target = quarantine(lf, settings.quarantine_dir, code, en, th, failures, run_id,
                        parsed.sheets if parsed else None)
    issues = row_issues if row_issues is not None else [
        RowIssue(r, None, f["column"], None, f["expectation"]) for f in failures
        if f["severity"] == "critical" for r in f.get("rows", [])]
    if parsed is not None:
        issues += parsed.row_rejects
    entry = LedgerEntry(status="rejected", rows_in=rows_in, rows_rejected=rows_in, reject_code=code,
                        reject_reason=en, quarantine_path=str(target),
                        encoding=parsed.encoding if parsed else None,
                        **(_describe(parsed, lf.relative_path) if parsed else
                           {"ref_doc": _book_from_name(lf.relative_path)} if SOURCES[lf.source].third_party else {}))
    file_id = reject_file(conn, lf, entry, run_id, issues, validation)
    log.warning("rejected %s: %s", lf.relative_path, en)
    return FileOutcome(lf.relative_path, lf.source, "rejected" if file_id else "skipped", file_id, rows_in, 0,
                       rows_in, reason=f"{code}: {en}")

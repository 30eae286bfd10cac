"""One file through the night: parse → validate (GX) → load or quarantine.

Plain functions the DAG's tasks call; tests call them without Airflow.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import psycopg

from ingest.discover import LandingFile, discover, local_copy
from ingest.load import LedgerEntry, load_file, processed_hashes, reject_file
from ingest.parse import ParsedFile, RowIssue, parse_file
from ingest.quarantine import quarantine
from ingest.readers import FileRejected
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
             "notes": items[0].message} for col, items in by_column.items()]


def _describe(parsed: ParsedFile) -> dict[str, object]:
    years = sorted({int(r[c]) for r in parsed.records for c in ("reporting_fy_be", "survey_year_be",
                                                               "fiscal_year_be") if r.get(c)})
    agencies = sorted({str(r["agency_name"]) for r in parsed.records if r.get("agency_name")})
    ref_docs = sorted({str(r["ref_doc"]) for r in parsed.records if r.get("ref_doc")})
    return {"fiscal_years_be": years or None, "agency_names": agencies[:50] or None,
            "ref_doc": ",".join(ref_docs) or None}


def process_file(lf: LandingFile, gate=None, run_id: str = "manual",
                 settings: Settings | None = None) -> FileOutcome:
    """Parse, validate and load one file; a bad file is quarantined and the night goes on."""
    settings = settings or get_settings()
    if gate is None:
        from expectations.gate import Gate
        from ingest.registry import alias_keys

        gate = Gate(list(alias_keys()))
    source = SOURCES[lf.source]
    with connect() as conn:
        ensure_schema(conn)
        try:
            with local_copy(lf.uri) as path:
                parsed = parse_file(path, source)
        except FileRejected as exc:
            return _reject(conn, lf, settings, run_id, exc.code, exc.message_en, exc.message_th, [], None, 0)
        result = gate.validate(parsed)
        failures = _failures(result) + _value_issue_failures(parsed)
        validation = (result.suite, result.evaluated, failures)
        if not result.passed:
            first = result.critical[0]
            en = f"{len(result.critical)} critical check(s) failed, first: {first.expectation} on {first.column}"
            th = f"ไม่ผ่านการตรวจสอบสำคัญ {len(result.critical)} รายการ เช่น {first.expectation} คอลัมน์ {first.column}"
            return _reject(conn, lf, settings, run_id, "validation", en, th, failures, validation, parsed.rows_in,
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
    target = quarantine(lf, settings.quarantine_dir, code, en, th, failures, run_id)
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

"""Write a processed file to the warehouse: ledger row, raw rows (COPY) and rejects, atomically.

One transaction per file: the file is in raw completely or not at all. The ledger's unique
(source, content_sha256) makes a second load of the same bytes impossible, even from two runs at
once: the second blocks on the first's insert and then finds the row taken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from operator import itemgetter

import psycopg
from psycopg import sql

from ground.rows import ParsedFile, RowIssue
from ground.schema import raw_columns
from ingest.discover import LandingFile


@dataclass
class LedgerEntry:
    status: str  # loaded | rejected
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    encoding: str | None = None
    reject_code: str | None = None
    reject_reason: str | None = None
    quarantine_path: str | None = None
    fiscal_years_be: list[int] | None = None
    agency_names: list[str] | None = None
    ref_doc: str | None = None


def _insert_ledger(conn: psycopg.Connection, lf: LandingFile, entry: LedgerEntry, run_id: str) -> int | None:
    # A national file names thousands of agencies: sent as one JSON text (dumped in C), not a Python-built array.
    names = None if entry.agency_names is None else json.dumps(entry.agency_names, ensure_ascii=False)
    row = conn.execute(
        """INSERT INTO ops.file_ledger (source, content_sha256, path, size_bytes, received_at, run_id, status,
               rows_in, rows_loaded, rows_rejected, warnings, encoding, reject_code, reject_reason,
               quarantine_path, fiscal_years_be, agency_names, ref_doc)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   CASE WHEN %s::jsonb IS NOT NULL THEN ARRAY(
                       SELECT name FROM jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS a(name, n)
                       ORDER BY n) END, %s)
           ON CONFLICT (source, content_sha256) DO NOTHING
           RETURNING file_id""",
        (lf.source, lf.sha256, lf.relative_path, lf.size_bytes, lf.received_at, run_id, entry.status,
         entry.rows_in, entry.rows_loaded, entry.rows_rejected, entry.warnings, entry.encoding,
         entry.reject_code, entry.reject_reason, entry.quarantine_path, entry.fiscal_years_be,
         names, names, entry.ref_doc),
    ).fetchone()
    return None if row is None else int(row[0])


def _insert_rejected_rows(conn: psycopg.Connection, file_id: int, issues: list[RowIssue]) -> None:
    if not issues:
        return
    with conn.cursor().copy(
        "COPY ops.rejected_rows (file_id, source_row, source_sheet, column_name, value, reason, agency_name,"
        " fiscal_year_be) FROM STDIN"
    ) as copy:
        for i in issues:
            copy.write_row((file_id, i.row, i.sheet, i.column, i.value, i.message, i.agency, i.year))


def record_validation(conn: psycopg.Connection, file_id: int | None, lf: LandingFile, run_id: str,
                      suite: str, evaluated: int, failures: list[dict]) -> None:
    critical = sum(1 for f in failures if f["severity"] == "critical")
    conn.execute(
        """INSERT INTO ops.validation_runs (run_id, file_id, path, suite, success, evaluated, failed,
               critical_failed, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (run_id, file_id, lf.relative_path, suite, critical == 0, evaluated, len(failures), critical,
         json.dumps(failures, ensure_ascii=False, default=str)),
    )


def load_file(conn: psycopg.Connection, lf: LandingFile, parsed: ParsedFile, entry: LedgerEntry,
              run_id: str, validation: tuple[str, int, list[dict]], records: list[dict[str, object]] | None = None,
              rejected: list[RowIssue] | None = None) -> int | None:
    """Ledger + raw rows + rejects + validation record in one transaction; None if already there.

    ``records`` are the rows that passed the gate (default: all of them); ``rejected`` the reasons of
    the rows it rejected, one per row and failed check (structural rejects are added here)."""
    columns = [name for name, _ in raw_columns(parsed.source)]
    records = parsed.records if records is None else records
    with conn.transaction():
        file_id = _insert_ledger(conn, lf, entry, run_id)
        if file_id is None:
            return None
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier("raw", parsed.source.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
        row_of = itemgetter(*columns)
        with conn.cursor().copy(copy_sql) as copy:
            for rec in records:
                rec["file_id"] = file_id
                try:
                    row = row_of(rec)
                except KeyError:  # a column this file (or this sheet) does not have
                    row = tuple(rec.get(c) for c in columns)
                copy.write_row(row)
        _insert_rejected_rows(conn, file_id, [*parsed.row_rejects, *(rejected or [])])
        record_validation(conn, file_id, lf, run_id, *validation)
    return file_id


def reject_file(conn: psycopg.Connection, lf: LandingFile, entry: LedgerEntry, run_id: str,
                issues: list[RowIssue], validation: tuple[str, int, list[dict]] | None) -> int | None:
    with conn.transaction():
        file_id = _insert_ledger(conn, lf, entry, run_id)
        if file_id is None:
            return None
        _insert_rejected_rows(conn, file_id, issues)
        if validation:
            record_validation(conn, file_id, lf, run_id, *validation)
    return file_id

"""Write a processed file to the warehouse: ledger row, raw rows (COPY) and rejects, atomically.

One transaction per file: the file is in raw completely or not at all. The ledger's unique
(source, content_sha256) makes a second load of the same bytes impossible, even from two runs at
once: the second blocks on the first's insert and then finds the row taken.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

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


# COPY's text format: a value's text with backslash, tab and line breaks escaped; NULL as \N.
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
COPY_BLOCK_ROWS = 20_000  # rows per block written: bounds the text held at once


def _copy_text(values: Sequence[object]) -> list[str] | None:
    """A column as COPY text, or None when it holds a type written here by no rule (psycopg writes it)."""
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return [NULL] * len(values)
    if kinds == {str}:
        needs = _NEEDS_ESCAPE.search
        return [NULL if v is None else v.translate(_ESCAPES) if needs(v) else v for v in values]  # type: ignore[union-attr, arg-type]
    if kinds == {bool}:
        return [NULL if v is None else "t" if v else "f" for v in values]
    if kinds <= {int, Decimal}:  # a Decimal's str() is PostgreSQL numeric input, exponent and all
        return [NULL if v is None else str(v) for v in values]
    if kinds == {dt.date}:
        return [NULL if v is None else v.isoformat() for v in values]  # type: ignore[union-attr]
    return None


def _copy_rows(copy: psycopg.Copy, parsed: ParsedFile, columns: list[str], file_id: int,
               skip: Collection[int]) -> int:
    """Every row of the file but those in ``skip`` (record positions), written a block of columns at a time.
    Returns the rows written."""
    written = 0
    at = 0
    for part in parsed.parts:
        n = len(part)
        keep = None if not skip else [i for i in range(n) if at + i not in skip]
        at += n
        for start in range(0, n, COPY_BLOCK_ROWS):
            idx = range(start, min(n, start + COPY_BLOCK_ROWS)) if keep is None else \
                [i for i in keep if start <= i < start + COPY_BLOCK_ROWS]
            if not len(idx):
                continue
            block: list[list[str] | None] = []
            for name in columns:
                if name == "file_id":
                    block.append([str(file_id)] * len(idx))
                elif name == "source_row":
                    block.append(list(map(str, map(part.rows.__getitem__, idx))))
                elif name == "source_sheet":
                    block.append(_copy_text([part.sheet] * len(idx)))
                else:
                    values = part.columns.get(name)
                    block.append(_copy_text([None] * len(idx) if values is None else
                                            values[idx.start:idx.stop] if isinstance(idx, range) else
                                            list(map(values.__getitem__, idx))))
            if any(col is None for col in block):  # a type without a text rule here: psycopg adapts each row
                for i in idx:
                    row = {"file_id": file_id, **part.record(i)}
                    copy.write_row(tuple(row.get(c) for c in columns))
            else:
                copy.write(("\n".join(map("\t".join, zip(*block, strict=True))) + "\n").encode())
            written += len(idx)
    return written


def load_file(conn: psycopg.Connection, lf: LandingFile, parsed: ParsedFile, entry: LedgerEntry,
              run_id: str, validation: tuple[str, int, list[dict]], skip: Collection[int] = (),
              rejected: list[RowIssue] | None = None) -> int | None:
    """Ledger + raw rows + rejects + validation record in one transaction; None if already there.

    Every row is loaded but those at the record positions in ``skip`` (the rows the gate rejected);
    ``rejected`` are their reasons, one per row and failed check (structural rejects are added here)."""
    columns = [name for name, _ in raw_columns(parsed.source)]
    with conn.transaction():
        file_id = _insert_ledger(conn, lf, entry, run_id)
        if file_id is None:
            return None
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier("raw", parsed.source.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with conn.cursor().copy(copy_sql) as copy:
            _copy_rows(copy, parsed, columns, file_id, skip)
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

"""A landing file read into typed records, and what reading it found: the shape ingest hands to validation.

It lives in the ground so that validation (``expectations``) takes rows and a source without importing
the readers that produce them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ground.sources import Source

# The column the gate derives from value_issues (a cell that cannot be read rejects its row).
UNREADABLE_VALUE = "unreadable_value"


@dataclass(frozen=True)
class RowIssue:
    row: int
    sheet: str | None
    column: str | None
    value: str | None
    message: str
    record: int | None = None  # position in ParsedFile.records, for cells of rows that were read
    agency: str | None = None  # the agency and year the row was meant for (rejected rows)
    year: int | None = None


@dataclass
class ParsedFile:
    source: Source
    path: Path
    records: list[dict[str, object]] = field(default_factory=list)
    rows_in: int = 0
    row_rejects: list[RowIssue] = field(default_factory=list)
    value_issues: list[RowIssue] = field(default_factory=list)  # cells that cannot be read: their rows are rejected
    notes: list[RowIssue] = field(default_factory=list)  # values read with a repair (e.g. a damaged plan name)
    missing_columns: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)

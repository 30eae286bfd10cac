"""A landing file read into typed columns, and what reading it found: the shape ingest hands to validation.

It lives in the ground so that validation (``expectations``) takes rows and a source without importing
the readers that produce them.

The rows are held by column (``Part``: one per sheet, a list of values per column), never as one object
per row: a column is typed, validated, moved between processes and written to ``COPY`` as a whole.
``ParsedFile.records`` shows the same rows as dicts, built only for the rows someone looks at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from typing import overload

from ground.sources import Source

# The column the gate derives from value_issues (a cell that cannot be read rejects its row).
UNREADABLE_VALUE = "unreadable_value"
ROW_KEYS = ("source_row", "source_sheet")  # what names a row in its file, before the source's columns


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


def _packed(values: list[object]) -> tuple[str, list[object]]:
    """A column for pickling: Decimals as their text and dates as day numbers (pickled per value, each costs
    a constructor call and its arguments; text and ints are pickled in C)."""
    kinds = set(map(type, values)) - {type(None)}
    if kinds == {Decimal}:
        return "decimal", [None if v is None else str(v) for v in values]
    if kinds == {dt.date}:
        return "date", [None if v is None else v.toordinal() for v in values]  # type: ignore[union-attr]
    return "", values


def _unpacked(kind: str, values: list[object]) -> list[object]:
    if kind == "decimal":
        return [None if v is None else Decimal(v) for v in values]  # type: ignore[arg-type]
    if kind == "date":
        return [None if v is None else dt.date.fromordinal(v) for v in values]  # type: ignore[arg-type]
    return values


@dataclass
class Part:
    """The rows of one sheet (or the CSV) that were read: their row numbers and a list of values per column."""

    sheet: str | None
    rows: list[int]
    columns: dict[str, list[object]]

    def __len__(self) -> int:
        return len(self.rows)

    def record(self, i: int) -> dict[str, object]:
        return {"source_row": self.rows[i], "source_sheet": self.sheet,
                **{name: values[i] for name, values in self.columns.items()}}

    @classmethod
    def from_records(cls, sheet: str | None, records: Sequence[dict[str, object]]) -> Part:
        """A part from row dicts (each with ``source_row``; the first row's keys are the columns)."""
        names = [k for k in (records[0] if records else {}) if k not in ROW_KEYS]
        return cls(sheet, [int(r["source_row"]) for r in records],  # type: ignore[call-overload]
                   {name: [r.get(name) for r in records] for name in names})

    def __getstate__(self) -> dict[str, object]:
        return {"sheet": self.sheet, "rows": self.rows,
                "columns": {name: _packed(values) for name, values in self.columns.items()}}

    def __setstate__(self, state: dict) -> None:
        self.sheet, self.rows = state["sheet"], state["rows"]
        self.columns = {name: _unpacked(*packed) for name, packed in state["columns"].items()}


class Records(Sequence[dict[str, object]]):
    """A file's rows as dicts (``source_row``, ``source_sheet``, then its columns), each built when read."""

    def __init__(self, parts: list[Part]) -> None:
        self._parts = parts

    def _locate(self, i: int) -> tuple[Part, int]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("record index out of range")
        for part in self._parts:
            if i < len(part):
                return part, i
            i -= len(part)
        raise IndexError("record index out of range")  # pragma: no cover - len() counted the same parts

    @overload
    def __getitem__(self, i: int) -> dict[str, object]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, object]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, object] | list[dict[str, object]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        part, k = self._locate(i)
        return part.record(k)

    def __len__(self) -> int:
        return sum(map(len, self._parts))

    def __iter__(self) -> Iterator[dict[str, object]]:
        for part in self._parts:
            for k in range(len(part)):
                yield part.record(k)

    def __eq__(self, other: object) -> bool:
        return list(self) == (list(other) if isinstance(other, Sequence) else other)

    def __repr__(self) -> str:
        return f"Records({len(self)} rows in {len(self._parts)} part(s))"


@dataclass
class ParsedFile:
    source: Source
    path: Path
    # The rows read, by sheet and column. ``records`` given instead (a list of row dicts) become one part.
    parts: list[Part] = field(default_factory=list)
    records: Sequence[dict[str, object]] | None = None
    rows_in: int = 0
    row_rejects: list[RowIssue] = field(default_factory=list)
    value_issues: list[RowIssue] = field(default_factory=list)  # cells that cannot be read: their rows are rejected
    notes: list[RowIssue] = field(default_factory=list)  # values read with a repair (e.g. a damaged plan name)
    missing_columns: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.records is not None and not isinstance(self.records, Records):
            self.parts = [Part.from_records(sheet, list(rows))
                          for sheet, rows in groupby(self.records, key=lambda r: r.get("source_sheet"))]
        self.records = Records(self.parts)

    @property
    def row_count(self) -> int:
        """The rows read (``len(records)``)."""
        return sum(map(len, self.parts))

    def column(self, name: str) -> Iterator[object]:
        """Every row's value of a column (None where a part does not have it)."""
        for part in self.parts:
            values = part.columns.get(name)
            yield from values if values is not None else [None] * len(part)

    def own_columns(self) -> list[str]:
        """``source_row`` and the columns of the first row read (the source's columns less the missing ones
        when none was read), in order."""
        first = next((p for p in self.parts if len(p)), None)
        if first is not None:
            return ["source_row", *first.columns]
        return list(dict.fromkeys(["source_row", *(c.name for c in self.source.columns
                                                   if c.name not in self.missing_columns)]))

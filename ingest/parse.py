"""Turn a landing-zone file into canonical, typed records of its source.

Nothing is dropped silently: a row that cannot be read structurally is a *row reject*; a value
that cannot be parsed becomes NULL and is recorded as a *value issue*, which rejects its row at the
validation gate (the rest of the file loads); a value read with a repair is recorded as a *note*.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from ground import thai
from ground.plans import PlanRegistry, registered_plans, repair_plan_name
from ground.rows import ParsedFile, Part, RowIssue
from ground.sources import BUDGET_BILL, Column, Source
from ingest.readers import Table, read_tables

# Plan-name column per source, and the header a person sees it under (for reports).
PLAN_COLUMNS = {"budget_bill": ("budget_plan", "BUDGET_PLAN"), "integration_plan": ("budget_plan_name", None)}


def _parse_value(column: Column, raw: object, multiplier: Decimal) -> object:
    """One cell as the column's kind; ValueError says why it cannot be read (with the nearest label)."""
    kind = column.kind
    if kind == "text":
        return thai.parse_text(raw)
    if kind == "year":
        return thai.parse_year_be(raw)
    if kind == "amount":
        return thai.parse_amount(raw, multiplier)
    if kind == "decimal":
        return thai.parse_decimal(raw)
    if kind == "date":
        return thai.parse_date(raw)
    if kind == "bool":
        return thai.parse_bool(raw)
    if thai.is_blank(raw):
        return None
    assert column.vocabulary is not None, f"{column.name}: an enum needs its values"
    if kind == "enum":
        return column.vocabulary.resolve(str(raw))
    parts = [p for p in re.split(r"[;,|/\n]", str(raw)) if p.strip()]
    return ";".join(dict.fromkeys(column.vocabulary.resolve(part) for part in parts))


Reader = Callable[[object], tuple[object, str | None]]


def _cell_reader(column: Column, multiplier: Decimal) -> Reader:
    """raw -> (value, why it cannot be read), one cell at a time (the reference ``_column_reader`` keeps)."""
    def read(raw: object) -> tuple[object, str | None]:
        try:
            return _parse_value(column, raw, multiplier), None
        except ValueError as exc:
            return None, str(exc)
    return read


def _column_reader(column: Column, multiplier: Decimal) -> Reader:
    """The cell reader of a column that parses each distinct value once (a column repeats few
    values; years, levels, enums, dates and scores are read once per file, not once per row). Keyed by
    type and value, so 1, 1.0 and True, or 0.0 and -0.0, are never taken for one another."""
    one = _cell_reader(column, multiplier)
    seen: dict[tuple[type, object], tuple[object, str | None]] = {}

    def read(raw: object) -> tuple[object, str | None]:
        key = (type(raw), repr(raw) if isinstance(raw, float) else raw)
        try:
            return seen[key]
        except KeyError:
            seen[key] = out = one(raw)
            return out
        except TypeError:  # unhashable: read it alone
            return one(raw)
    return read


def _budget_bill_record(rec: dict[str, object], row: int, issues: list[RowIssue], record: int) -> None:
    """Typed fields beside the V2 text. An amount or year that cannot be read rejects the row (the
    text stays in ops.rejected_rows); amounts come with commas or as floats ("8659600.0")."""
    amount_text = rec.get("amount")
    try:
        rec["amount_baht"] = thai.parse_amount(amount_text)
        rec["amount_parse_error"] = None
    except ValueError as exc:
        rec["amount_baht"] = None
        rec["amount_parse_error"] = str(exc)
        issues.append(RowIssue(row, None, "amount", str(amount_text), str(exc), record))
    try:
        rec["fiscal_year_be"] = thai.parse_year_be(rec.get("fiscal_year"))
    except ValueError as exc:
        rec["fiscal_year_be"] = None
        issues.append(RowIssue(row, None, "fiscal_year", str(rec.get("fiscal_year")), str(exc), record))
    for flag in ("cross_func", "obliged"):
        try:
            rec[flag] = thai.parse_bool(rec.get(flag))
        except ValueError:
            rec[flag] = None
    rec["has_extraction_warning"] = bool(rec.get("debug_log"))


def _repair_plan(rec: dict[str, object], source: Source, row: int, sheet: str | None, plans: PlanRegistry,
                 issues: list[RowIssue]) -> None:
    """An OCR-damaged plan name is read as the registered one; the text as written stays beside it."""
    column, header = PLAN_COLUMNS[source.name]
    rec["budget_plan_as_written"] = None
    written = rec.get(column)
    fixed = repair_plan_name(written if isinstance(written, str) else None, plans)
    if fixed is not None:
        rec["budget_plan_as_written"], rec[column] = written, fixed
        issues.append(RowIssue(row, sheet, header or column, str(written),
                               f"damaged plan name read as the registered plan {fixed!r}"))


# A score or amount written as plain ASCII digits: ``Decimal`` reads it exactly as ``thai.parse_decimal`` does.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _distinct_reader(column: Column, multiplier: Decimal) -> Callable[[str | None], tuple[object, str | None]]:
    """The cell reader for a column of text cells (a CSV's), with the plain-number shortcut for scores."""
    one = _cell_reader(column, multiplier)
    if column.kind != "decimal":
        return one
    plain = _PLAIN_DECIMAL.fullmatch

    def read(raw: str | None) -> tuple[object, str | None]:
        return (Decimal(raw), None) if raw is not None and plain(raw) else one(raw)
    return read


def _bill_text(column: Column) -> Callable[[object], tuple[object, str | None]]:
    """A bill's V2 column as text (normalised; the amount as written): typed fields are added per row."""
    if column.name == "amount":
        return lambda raw: (str(raw) if not thai.is_blank(raw) else thai.parse_text(raw), None)
    return lambda raw: (thai.parse_text(raw), None)


def _read_column(cells: Sequence[object], column: Column, multiplier: Decimal,
                 bill: bool = False) -> tuple[list[object], dict[int, str]]:
    """A whole column typed at once: each distinct value read once, then mapped back onto the rows (C loops).
    Returns the values and, by position, why a cell could not be read. Cells of other types than text
    (a workbook's numbers, dates, booleans) go through ``_column_reader``, which keys them by type (a
    bill's text columns cell by cell)."""
    if set(map(type, cells)) <= {str, type(None)}:
        read = _bill_text(column) if bill else _distinct_reader(column, multiplier)
        typed = {raw: read(raw) for raw in dict.fromkeys(cells)}
        bad = {raw for raw, (_, why) in typed.items() if why is not None}
        values = {raw: value for raw, (value, _) in typed.items()}
        out = list(map(values.__getitem__, cells))
        return out, ({i: typed[raw][1] for i, raw in enumerate(cells) if raw in bad} if bad else {})
    reader = _bill_text(column) if bill else _column_reader(column, multiplier)
    pairs = [reader(raw) for raw in cells]
    return [v for v, _ in pairs], {i: why for i, (_, why) in enumerate(pairs) if why is not None}


def _records_by_column(table: Table, source: Source, parsed: ParsedFile, plans: PlanRegistry) -> None:
    """``_records`` for a table's columns at once: the same rows, issues and notes, in the same order, as one
    part of columns (no object per row)."""
    width = len(table.header_cells)
    kept: list[list[object]] = []
    row_numbers: list[int] = []
    for row_no, cells in table.rows:
        parsed.rows_in += 1
        if len(cells) > width and any(not thai.is_blank(c) for c in cells[width:]):
            parsed.row_rejects.append(RowIssue(row_no, table.sheet, None, f"{len(cells)} fields",
                                               f"row has {len(cells)} fields, header has {width}"))
            continue
        kept.append(cells if len(cells) >= width else [*cells, *([None] * (width - len(cells)))])
        row_numbers.append(row_no)
    first = parsed.row_count
    by_index = list(zip(*kept, strict=False)) if kept else [() for _ in range(width)]
    del kept
    columns: dict[str, list[object]] = {}
    issues: list[tuple[int, int, RowIssue]] = []
    for order, (name, idx) in enumerate(table.columns.items()):
        cells = by_index[idx] if row_numbers else []
        values, unreadable = _read_column(cells, source.column(name), table.multipliers.get(name, Decimal(1)),
                                          source is BUDGET_BILL)
        columns[name] = values
        issues += [(i, order, RowIssue(row_numbers[i], table.sheet, name, str(cells[i]), why, first + i))
                   for i, why in unreadable.items()]
    parsed.value_issues += [issue for _, _, issue in sorted(issues, key=lambda t: (t[0], t[1]))]
    part = Part(table.sheet, row_numbers, columns)
    if source is BUDGET_BILL or source.name in PLAN_COLUMNS:  # typed fields and repairs row by row (small files)
        records = [part.record(i) for i in range(len(part))]
        _finish_records(records, source, table.sheet, parsed, plans, first)
        part = Part.from_records(table.sheet, records) if records else part
    parsed.parts.append(part)


def _finish_records(records: list[dict[str, object]], source: Source, sheet: str | None, parsed: ParsedFile,
                    plans: PlanRegistry, first: int) -> None:
    """A bill's typed fields (their issues in row order), then damaged plan names repaired."""
    if source is BUDGET_BILL:
        for i, rec in enumerate(records):
            _budget_bill_record(rec, int(rec["source_row"]), parsed.value_issues, first + i)
    if source.name in PLAN_COLUMNS:
        for rec in records:
            _repair_plan(rec, source, int(rec["source_row"]), sheet, plans, parsed.notes)


def _records(table: Table, source: Source, parsed: ParsedFile, plans: PlanRegistry, by_column: bool) -> None:
    if by_column:
        _records_by_column(table, source, parsed, plans)
        return
    columns = [(source.column(name), idx, _cell_reader(source.column(name), table.multipliers.get(name, Decimal(1))))
               for name, idx in table.columns.items()]
    width = len(table.header_cells)
    is_bill = source is BUDGET_BILL
    records: list[dict[str, object]] = []
    first = parsed.row_count
    for row_no, cells in table.rows:
        parsed.rows_in += 1
        extra = [c for c in cells[width:] if not thai.is_blank(c)]
        if extra:
            parsed.row_rejects.append(RowIssue(row_no, table.sheet, None, f"{len(cells)} fields",
                                               f"row has {len(cells)} fields, header has {width}"))
            continue
        rec: dict[str, object] = {"source_row": row_no, "source_sheet": table.sheet}
        for column, idx, read in columns:
            raw = cells[idx] if idx < len(cells) else None
            if is_bill:  # V2 text kept as text (normalised); typed fields are added below
                rec[column.name] = str(raw) if column.name == "amount" and not thai.is_blank(raw) \
                    else thai.parse_text(raw)
                continue
            rec[column.name], why = read(raw)
            if why is not None:
                parsed.value_issues.append(RowIssue(row_no, table.sheet, column.name, str(raw), why,
                                                    first + len(records)))
        if is_bill:
            _budget_bill_record(rec, row_no, parsed.value_issues, first + len(records))
        if source.name in PLAN_COLUMNS:
            _repair_plan(rec, source, row_no, table.sheet, plans, parsed.notes)
        records.append(rec)
    parsed.parts.append(Part.from_records(table.sheet, records) if records else
                        Part(table.sheet, [], {name: [] for name in table.columns}))


def parse_file(path: Path, source: Source, plans: PlanRegistry | None = None, by_column: bool = True) -> ParsedFile:
    """Parse one file; raises FileRejected when nothing in it can be read as the source.

    ``plans`` is the plan registry damaged plan names are repaired against (default: the dbt seed).
    ``by_column=False`` reads every cell on its own: the reference the column readers are tested against."""
    plans = plans if plans is not None else registered_plans()
    parsed = ParsedFile(source=source, path=path)
    tables = read_tables(path, source)
    found: set[str] = set()
    for table in tables:
        parsed.encoding = parsed.encoding or table.encoding
        if table.sheet:
            parsed.sheets.append(table.sheet)
        parsed.unknown_headers.extend(table.unknown_headers)
        found.update(table.columns)
        _records(table, source, parsed, plans, by_column)
    parsed.missing_columns = [c for c in source.required if c not in found]
    return parsed

"""Turn a landing-zone file into canonical, typed records of its source.

Nothing is dropped silently: a row that cannot be read structurally is a *row reject*; a value
that cannot be parsed becomes NULL and is recorded as a *value issue* (the validation gate then
decides whether the file may load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ingest import thai
from ingest.plans import PlanRegistry, registered_plans, repair_plan_name
from ingest.readers import Table, read_tables
from ingest.sources import BUDGET_BILL, Column, Source

# Plan-name column per source, and the header a person sees it under (for reports).
PLAN_COLUMNS = {"budget_bill": ("budget_plan", "BUDGET_PLAN"), "integration_plan": ("budget_plan_name", None)}


@dataclass(frozen=True)
class RowIssue:
    row: int
    sheet: str | None
    column: str | None
    value: str | None
    message: str


@dataclass
class ParsedFile:
    source: Source
    path: Path
    records: list[dict[str, object]] = field(default_factory=list)
    rows_in: int = 0
    row_rejects: list[RowIssue] = field(default_factory=list)
    value_issues: list[RowIssue] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)


def _enum_lookup(values: dict[str, list[str]]) -> dict[str, str]:
    return {thai.name_key(s): code for code, spellings in values.items() for s in (code, *spellings)}


def _parse_value(column: Column, raw: object, multiplier: Decimal, lookup: dict[str, str] | None = None) -> object:
    """One cell as the column's kind; ``lookup`` is the enum's spellings (built here when not given)."""
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
    lookup = lookup if lookup is not None else _enum_lookup(column.values or {})
    parts = [p for p in str(raw).replace(",", ";").replace("|", ";").split(";") if p.strip()]
    if kind == "enum":
        parts = [str(raw)]
    codes = []
    for part in parts:
        code = lookup.get(thai.name_key(part))
        if code is None:
            raise ValueError(f"not one of {', '.join(column.values or {})}: {part.strip()!r}")
        codes.append(code)
    return ";".join(dict.fromkeys(codes))


def _budget_bill_record(rec: dict[str, object], row: int, issues: list[RowIssue]) -> None:
    """Typed fields beside the V2 text; unparseable amounts stay (flagged), never dropped."""
    amount_text = rec.get("amount")
    try:
        rec["amount_baht"] = thai.parse_amount(amount_text)
        rec["amount_parse_error"] = None
    except ValueError as exc:
        rec["amount_baht"] = None
        rec["amount_parse_error"] = str(exc)
        issues.append(RowIssue(row, None, "AMOUNT", str(amount_text), str(exc)))
    try:
        rec["fiscal_year_be"] = thai.parse_year_be(rec.get("fiscal_year"))
    except ValueError as exc:
        rec["fiscal_year_be"] = None
        issues.append(RowIssue(row, None, "FISCAL_YEAR", str(rec.get("fiscal_year")), str(exc)))
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


def _records(table: Table, source: Source, parsed: ParsedFile, plans: PlanRegistry) -> None:
    columns = [(source.column(name), idx, table.multipliers.get(name, Decimal(1)))
               for name, idx in table.columns.items()]
    # Enum spellings once per table, not once per cell.
    lookups = {c.name: _enum_lookup(c.values or {}) for c, _, _ in columns if c.kind in ("enum", "enum_list")}
    width = len(table.header_cells)
    is_bill = source is BUDGET_BILL
    for row_no, cells in table.rows:
        parsed.rows_in += 1
        extra = [c for c in cells[width:] if not thai.is_blank(c)]
        if extra:
            parsed.row_rejects.append(RowIssue(row_no, table.sheet, None, f"{len(cells)} fields",
                                               f"row has {len(cells)} fields, header has {width}"))
            continue
        rec: dict[str, object] = {"source_row": row_no, "source_sheet": table.sheet}
        for column, idx, multiplier in columns:
            raw = cells[idx] if idx < len(cells) else None
            if is_bill:  # V2 text kept as text (normalised); typed fields are added below
                rec[column.name] = str(raw) if column.name == "amount" and not thai.is_blank(raw) \
                    else thai.parse_text(raw)
                continue
            try:
                rec[column.name] = _parse_value(column, raw, multiplier, lookups.get(column.name))
            except ValueError as exc:
                rec[column.name] = None
                parsed.value_issues.append(RowIssue(row_no, table.sheet, column.name, str(raw), str(exc)))
        if is_bill:
            _budget_bill_record(rec, row_no, parsed.value_issues)
        if source.name in PLAN_COLUMNS:
            _repair_plan(rec, source, row_no, table.sheet, plans, parsed.value_issues)
        parsed.records.append(rec)


def parse_file(path: Path, source: Source, plans: PlanRegistry | None = None) -> ParsedFile:
    """Parse one file; raises FileRejected when nothing in it can be read as the source.

    ``plans`` is the plan registry damaged plan names are repaired against (default: the dbt seed)."""
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
        _records(table, source, parsed, plans)
    parsed.missing_columns = [c for c in source.required if c not in found]
    return parsed

"""One expectation suite per source, as reviewable code, and the one place that says what each
check rejects.

Each expectation has GX's ``severity`` and, in its meta, a ``level``:

- ``critical`` + ``file``: the file cannot stand as a whole (no data rows, required columns
  missing): it is quarantined with a report and nothing of it loads;
- ``critical`` + ``row``: a value check; the rows that fail it are rejected (each with its reason
  in ``ops.rejected_rows``) and the rest of the file loads. A file whose every row fails is
  rejected whole;
- ``warning``: recorded, and the row loads.

For the budget bill (third-party extractions of PDFs) every value check is row-level. The table of
checks and levels in ``docs/sources.md`` is generated from these suites (``reporting.templates``).

Three columns are derived by the gate (``expectations.gate.frame_for_many``) rather than read from the
file: ``unregistered_agency`` (names the alias registry does not know), ``garbled_text`` (text that
looks like mojibake) and ``unreadable_value`` (a cell the parser could not read as its column's
kind, with the nearest allowed label where there is one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import great_expectations as gx
from great_expectations.expectations import Expectation

from ground.rows import UNREADABLE_VALUE
from ground.settings import plausible_fiscal_years
from ground.sources import SOURCES, Source

FY_MIN_BE, FY_MAX_BE = plausible_fiscal_years()
SCORE_MIN, SCORE_MAX = 0, 100
# GX's own severity (critical / warning) and, in meta, what a critical failure rejects: the file or its rows.
FILE: dict = {"severity": "critical", "meta": {"level": "file"}}
ROW: dict = {"severity": "critical", "meta": {"level": "row"}}
WARNING: dict = {"severity": "warning", "meta": {"level": "row"}}
UNREGISTERED_AGENCY = "unregistered_agency"
GARBLED_TEXT = "garbled_text"
FILE_COLUMN = "file"  # which file of a validated batch a row came from: its landing path (expectations.gate)
DERIVED_COLUMNS = (UNREGISTERED_AGENCY, GARBLED_TEXT, UNREADABLE_VALUE)
# Book reference "<year>.<issue>.<book>" (CE or BE year), e.g. 2022.3.1 or 2022.3.1(2).
REF_DOC_PATTERN = r"^\s*(1[89]\d\d|2[0-7]\d\d)\.\d+\.\d+"


def as_read(type_: str, kwargs: dict) -> tuple[str, str | None, dict]:
    """(check, its column, its arguments) as a person reads it. The key check is scoped by the file
    so a run can validate many files (``_common``); it reads as "unique within a file", and a
    one-column key as that column's uniqueness."""
    scoped = kwargs.get("column_list") or []
    if type_ != "expect_compound_columns_to_be_unique" or FILE_COLUMN not in scoped:
        return type_, kwargs.get("column") or kwargs.get("column_A"), kwargs
    key = [c for c in scoped if c != FILE_COLUMN]
    rest = {k: v for k, v in kwargs.items() if k not in ("column_list", "ignore_row_if")}
    if len(key) == 1:
        return "expect_column_values_to_be_unique", key[0], rest
    return type_, None, {**rest, "column_list": key}


def severity(value: object) -> str:
    """``critical`` (GX's default) or ``warning``: an expectation's severity as text."""
    return str(getattr(value, "value", value) or "critical")


def level(meta: dict | None) -> str:
    """``file`` or ``row`` (the default) for a failed expectation's meta."""
    return (meta or {}).get("level", "row")


def _common(source: Source) -> Iterable[Expectation]:
    E = gx.expectations
    yield E.ExpectTableRowCountToBeBetween(min_value=1, **FILE, notes="a file needs at least one data row")
    # One set check for all required columns (cheaper than one expectation per column); the gate
    # reports each missing column separately.
    yield E.ExpectTableColumnsToMatchSet(column_set=list(source.required), exact_match=False, **FILE,
                                         notes="every required column must be there")
    for name in source.required:
        yield E.ExpectColumnValuesToNotBeNull(column=name, **ROW)
    yield E.ExpectColumnValuesToBeNull(column=UNREADABLE_VALUE, **ROW,
                                       notes="every value must be readable as its column's kind or allowed labels")
    for column in source.columns:
        if column.kind == "year":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=FY_MIN_BE, max_value=FY_MAX_BE,
                                                  **ROW)
        elif column.kind == "amount":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=0, **ROW)
        elif column.kind == "decimal":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=SCORE_MIN, max_value=SCORE_MAX,
                                                  **ROW)
        elif column.kind == "enum" and column.values:
            yield E.ExpectColumnValuesToBeInSet(column=column.name, value_set=sorted(column.values), **ROW)
    # Rows sharing a key within one file: which one is right cannot be told, so all of them are rejected.
    # Scoped by the file, so that one run can validate many files' rows (expectations.gate.validate_many);
    # a row missing a key value is rejected by its not-null check, not compared.
    yield E.ExpectCompoundColumnsToBeUnique(column_list=[FILE_COLUMN, *source.key],
                                            ignore_row_if="any_value_is_missing", **ROW)
    yield E.ExpectColumnValuesToBeNull(column=GARBLED_TEXT, **ROW,
                                       notes="text must be readable Thai or English (no mojibake)")


def _budget_bill_checks() -> Iterable[Expectation]:
    E = gx.expectations
    # FISCAL_YEAR is the instalment year: a multi-year obligation names years decades apart. Far
    # ones are flagged (and kept apart from the bill's own year in the marts), never fatal.
    yield E.ExpectColumnValuesToBeBetween(column="fiscal_year_be", min_value=FY_MIN_BE, max_value=FY_MAX_BE,
                                          **WARNING, notes="instalment year outside the plausible range")
    yield E.ExpectColumnValuesToBeBetween(column="amount_baht", min_value=0, **ROW)
    yield E.ExpectColumnValuesToMatchRegex(column="ref_doc", regex=REF_DOC_PATTERN, **ROW,
                                           notes="REF_DOC must start with the bill's year: <year>.<issue>.<book>")
    yield E.ExpectColumnValuesToBeNull(column="debug_log", **WARNING, notes="the extraction logged a warning")


def _project_report_checks() -> Iterable[Expectation]:
    yield gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="reporting_fy_be", column_B="actual_start_fy_be", or_equal=True,
        ignore_row_if="either_value_is_missing", **ROW)


# A source's own checks beyond what its columns' kinds give (the suite entry of a new source, if it needs one).
SOURCE_CHECKS: dict[str, Callable[[], Iterable[Expectation]]] = {
    "budget_bill": _budget_bill_checks,
    "project_reports": _project_report_checks,
}


def _specific(source: Source) -> Iterable[Expectation]:
    yield from SOURCE_CHECKS.get(source.name, tuple)()
    yield gx.expectations.ExpectColumnValuesToBeNull(
        column=UNREGISTERED_AGENCY, **WARNING, notes=f"{source.agency_column} must be in the agency alias registry")


# Why a check rejects what it rejects, where its own notes do not say.
WHY = {
    "expect_column_values_to_not_be_null": "a required value is empty: that row cannot be used, the others can",
    "expect_column_values_to_be_unique": "rows sharing a key: which one is right cannot be told, so all of them go",
    "expect_compound_columns_to_be_unique": "rows sharing a key: which one is right cannot be told, so all of them go",
    "expect_column_values_to_be_in_set": "not an allowed value (the parser already reads the documents' labels)",
    "expect_column_pair_values_a_to_be_greater_than_b": "a project cannot have started after the year reported on",
}
KIND_WHY = {"year": f"a year outside the plausible fiscal years (BE {FY_MIN_BE}-{FY_MAX_BE}, dbt vars fy_min/max_be)",
            "amount": "a negative amount", "decimal": f"a score outside {SCORE_MIN}-{SCORE_MAX}"}
LEVEL_TEXT = {
    "file": "file: the whole file is rejected (it cannot stand as a whole)",
    "row": "row: the rows that fail are rejected, with the reason per row; the rest of the file loads",
    "warning": "warning: recorded in the report; the row loads",
}


def checks(source: Source) -> list[tuple[str, str, str, str]]:
    """(check, columns, level, why) for each expectation of a source's suite, for docs/sources.md."""
    out = []
    for e in (*_common(source), *_specific(source)):
        kind_of_check, column_name, kwargs = as_read(e.expectation_type, e.configuration.kwargs)
        names = [kwargs.get("column_A"), kwargs.get("column_B")] if "column_A" in kwargs else [column_name]
        listed = kwargs.get("column_list") or kwargs.get("column_set") or []
        columns = ", ".join(c for c in names if c) or ", ".join(listed)
        kind = "warning" if severity(e.severity) == "warning" else level(e.meta)
        column = source.columns_by_name.get(getattr(e, "column", None) or "")
        why = e.notes or WHY.get(e.expectation_type) or (KIND_WHY.get(column.kind, "") if column else "")
        if not why and getattr(e, "column", None) == "amount_baht":
            why = KIND_WHY["amount"]
        out.append((kind_of_check, columns or "(table)", kind, why))
    return out


def suite_name(source_name: str) -> str:
    return f"{source_name}_suite"


def build_suite(source_name: str) -> gx.ExpectationSuite:
    """The source's suite, detached from any store. Its expectations are given to the constructor:
    ``add_expectation`` looks the suite's name up in the active context's store and, once a suite of that name
    is saved there (every night's Data Docs context), writes each expectation back to it, one at a time."""
    source = SOURCES[source_name]
    return gx.ExpectationSuite(name=suite_name(source_name), expectations=[*_common(source), *_specific(source)])

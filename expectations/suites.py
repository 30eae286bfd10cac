"""One expectation suite per source, as reviewable code.

``severity`` in each expectation's meta decides the gate: a failed ``critical`` expectation keeps
the file out of raw (quarantined with a report); a failed ``warning`` is recorded and the file
loads. Two columns are derived by the gate (``expectations.gate.frame_for``) rather than read from
the file: ``unregistered_agency`` (names the alias registry does not know) and ``garbled_text``
(text that looks like mojibake: Thai saved in one encoding and read in another).
"""

from __future__ import annotations

from collections.abc import Iterable

import great_expectations as gx
from great_expectations.expectations import Expectation

from ingest.sources import SOURCES, Source

FY_MIN_BE, FY_MAX_BE = 2550, 2600
SCORE_MIN, SCORE_MAX = 0, 100
CRITICAL = {"severity": "critical"}
WARNING = {"severity": "warning"}
UNREGISTERED_AGENCY = "unregistered_agency"
GARBLED_TEXT = "garbled_text"
DERIVED_COLUMNS = (UNREGISTERED_AGENCY, GARBLED_TEXT)


def _common(source: Source) -> Iterable[Expectation]:
    E = gx.expectations
    yield E.ExpectTableRowCountToBeBetween(min_value=1, meta=CRITICAL)
    # One set check for all required columns (cheaper than one expectation per column); the gate
    # reports each missing column separately.
    yield E.ExpectTableColumnsToMatchSet(column_set=list(source.required), exact_match=False, meta=CRITICAL)
    for name in source.required:
        yield E.ExpectColumnValuesToNotBeNull(column=name, meta=CRITICAL)
    for column in source.columns:
        if column.kind == "year":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=FY_MIN_BE, max_value=FY_MAX_BE,
                                                  meta=CRITICAL)
        elif column.kind == "amount":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=0, meta=CRITICAL)
        elif column.kind == "decimal":
            yield E.ExpectColumnValuesToBeBetween(column=column.name, min_value=SCORE_MIN, max_value=SCORE_MAX,
                                                  meta=CRITICAL)
        elif column.kind == "enum" and column.values:
            yield E.ExpectColumnValuesToBeInSet(column=column.name, value_set=sorted(column.values), meta=CRITICAL)
    yield E.ExpectCompoundColumnsToBeUnique(column_list=list(source.key), meta=CRITICAL) if len(source.key) > 1 \
        else E.ExpectColumnValuesToBeUnique(column=source.key[0], meta=CRITICAL)
    yield E.ExpectColumnValuesToBeNull(column=GARBLED_TEXT, meta=CRITICAL,
                                       notes="text must be readable Thai or English (no mojibake)")


def _specific(source: Source) -> Iterable[Expectation]:
    E = gx.expectations
    if source.name == "budget_bill":
        yield E.ExpectColumnValuesToBeBetween(column="fiscal_year_be", min_value=FY_MIN_BE, max_value=FY_MAX_BE,
                                              meta=CRITICAL)
        yield E.ExpectColumnValuesToBeBetween(column="amount_baht", min_value=0, meta=CRITICAL)
        yield E.ExpectColumnValuesToNotBeNull(column="amount_baht", meta=WARNING)
        yield E.ExpectColumnValuesToBeNull(column="debug_log", meta=WARNING)
        agency_column = "budgetary_unit"
    else:
        agency_column = "agency_name"
    yield E.ExpectColumnValuesToBeNull(column=UNREGISTERED_AGENCY, meta=WARNING,
                                       notes=f"{agency_column} must be in the agency alias registry")
    if source.name == "project_reports":
        yield E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="reporting_fy_be", column_B="actual_start_fy_be", or_equal=True,
            ignore_row_if="either_value_is_missing", meta=CRITICAL)


def build_suite(source_name: str) -> gx.ExpectationSuite:
    source = SOURCES[source_name]
    suite = gx.ExpectationSuite(name=f"{source_name}_suite")
    for expectation in (*_common(source), *_specific(source)):
        suite.add_expectation(expectation)
    return suite

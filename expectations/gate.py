"""The validation gate: run a source's suite on a parsed file and say whether it may load."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from decimal import Decimal

import great_expectations as gx
import pandas as pd

from expectations.suites import build_suite
from ingest.parse import ParsedFile
from ingest.thai import name_key

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
MAX_ROWS_REPORTED = 50


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    severity: str
    unexpected_count: int
    rows: list[int]
    values: list[str]
    notes: str | None = None


@dataclass
class GateResult:
    suite: str
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical


def frame_for(parsed: ParsedFile, known_agency_keys: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The parsed records as a DataFrame of plain types, plus names the registry does not know."""
    agency_col = "budgetary_unit" if parsed.source.name == "budget_bill" else "agency_name"
    columns = ["source_row", *dict.fromkeys(k for r in parsed.records[:1] for k in r if k != "source_sheet")]
    if not parsed.records:
        columns += [c.name for c in parsed.source.columns if c.name not in parsed.missing_columns]
    frame = pd.DataFrame.from_records(parsed.records, columns=list(dict.fromkeys(columns)))
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, Decimal)).any():
            frame[col] = frame[col].map(lambda v: float(v) if isinstance(v, Decimal) else v).astype("float64")
    if agency_col in frame.columns:
        frame["unregistered_agency"] = frame[agency_col].map(
            lambda v: v if isinstance(v, str) and name_key(v) not in known_agency_keys else None)
    return frame


class Gate:
    """Holds one ephemeral GX context for the night; ``validate`` is called once per file."""

    def __init__(self, known_agency_keys: list[str]) -> None:
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False}
        self.datasource = self.context.data_sources.add_pandas("landing")
        self.known_agency_keys = frozenset(known_agency_keys)
        self._definitions: dict[str, gx.ValidationDefinition] = {}

    def _definition(self, source_name: str) -> gx.ValidationDefinition:
        if source_name not in self._definitions:
            asset = self.datasource.add_dataframe_asset(source_name)
            batch = asset.add_batch_definition_whole_dataframe("file")
            suite = self.context.suites.add(build_suite(source_name))
            self._definitions[source_name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{source_name}_file", data=batch, suite=suite))
        return self._definitions[source_name]

    def validate(self, parsed: ParsedFile) -> GateResult:
        definition = self._definition(parsed.source.name)
        frame = frame_for(parsed, self.known_agency_keys)
        outcome = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["source_row"],
                           "partial_unexpected_count": MAX_ROWS_REPORTED},
        )
        result = GateResult(suite=definition.suite.name)
        for r in outcome.results:
            config = r.expectation_config
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            needed = [column] if column else list(config.kwargs.get("column_list") or [])
            if config.type != "expect_column_to_exist" and any(c not in frame.columns for c in needed):
                continue  # the missing column is reported once, by expect_column_to_exist
            result.evaluated += 1
            if r.success:
                continue
            details = r.result or {}
            index = details.get("unexpected_index_list") or []
            rows = [int(i["source_row"]) for i in index[:MAX_ROWS_REPORTED] if isinstance(i, dict)]
            values = [str(v) for v in (details.get("partial_unexpected_list") or [])[:MAX_ROWS_REPORTED]]
            if config.type == "expect_table_row_count_to_be_between":
                values = [f"{details.get('observed_value')} rows"]
            result.failures.append(Failure(
                expectation=config.type, column=column or ",".join(config.kwargs.get("column_list") or []) or None,
                severity=(config.meta or {}).get("severity", "critical"),
                unexpected_count=int(details.get("unexpected_count") or (0 if index else 1)),
                rows=rows, values=values, notes=config.notes))
        return result

"""The validation gate: run a source's suite on a parsed file and say whether it may load.

Validation runs in an in-memory GX context (nothing shared is written while mapped tasks run in
parallel); each result is written by GX's own validation-results store into
``<state_dir>/gx/uncommitted/validations``, from which ``expectations.docs`` builds Data Docs.
One Gate per process is enough: ``get_gate`` caches it and rebuilds it when the agency registry
(the seed files) changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

from expectations.suites import GARBLED_TEXT, UNREADABLE_VALUE, UNREGISTERED_AGENCY, build_suite, level
from ingest.parse import ParsedFile
from ingest.settings import Settings, get_settings
from ingest.thai import name_key

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
MAX_ROWS_REPORTED = 50
REGISTRY_FILES = ("agencies.csv", "agency_aliases.csv")
# Mojibake: UTF-8 Thai read as Latin-1/cp1252 ("à¸", "à¹"), double-encoded Latin ("Ã©"), the
# replacement character, C1 control characters, and a cell whose Thai a non-Thai export turned
# into question marks ("???? ?????"; "ทำไม???" is fine).
GARBLED = re.compile(r"à[¸¹]|Ã[\x80-\xbf]|\ufffd|[\x80-\x9f]|^[\s\d.,()/-]*\?{3,}[\s\d.,()/?-]*$")
RECORD_NO = "record_no"  # position in ParsedFile.records: names the row even across sheets
KWARGS_KEPT = ("min_value", "max_value", "value_set", "column_list", "column_set", "or_equal")


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    severity: str
    unexpected_count: int
    rows: list[int]
    values: list[str]
    notes: str | None = None
    kwargs: dict = field(default_factory=dict)
    level: str = "row"  # row | file (expectations.suites)


@dataclass
class GateResult:
    suite: str
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)
    # Record position (ParsedFile.records) -> the critical row-level failures that reject it, with
    # the value found in that row.
    rejected: dict[int, list[tuple[Failure, str | None]]] = field(default_factory=dict)

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def file_level(self) -> list[Failure]:
        """Critical failures that reject the whole file."""
        return [f for f in self.critical if f.level == "file"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical


def _garbled(frame: pd.DataFrame) -> pd.Series:
    """Per row, the first text cell that looks like mojibake, as ``column: value``; else None."""
    found = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for col in frame.columns:
        if col in ("source_row", RECORD_NO, UNREGISTERED_AGENCY) or frame[col].dtype.kind in "biufcmM":
            continue
        bad = {v for v in frame[col].dropna().unique() if isinstance(v, str) and GARBLED.search(v)}
        if bad:  # distinct values only: a column repeats few of them (agencies, levels, plans)
            hits = frame[col].isin(bad)
            found = found.where(found.notna() | ~hits, frame[col].map(lambda v, c=col: f"{c}: {v}"))
    return found


def frame_for(parsed: ParsedFile, known_agency_keys: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The parsed records as a DataFrame of plain types, plus the derived columns the suites check."""
    agency_col = "budgetary_unit" if parsed.source.name == "budget_bill" else "agency_name"
    columns = ["source_row", *dict.fromkeys(k for r in parsed.records[:1] for k in r if k != "source_sheet")]
    if not parsed.records:
        columns += [c.name for c in parsed.source.columns if c.name not in parsed.missing_columns]
    frame = pd.DataFrame.from_records(parsed.records, columns=list(dict.fromkeys(columns)))
    frame[RECORD_NO] = np.arange(len(frame), dtype="int64")
    for col in frame.columns:  # Decimal amounts and scores as float64; only object columns can hold them
        if frame[col].dtype != object:
            continue
        values = frame[col].to_numpy()
        if any(isinstance(v, Decimal) for v in values):
            frame[col] = np.array([float(v) if isinstance(v, Decimal) else v for v in values], dtype="float64")
    if agency_col in frame.columns:
        unknown = {v for v in frame[agency_col].dropna().unique()
                   if isinstance(v, str) and name_key(v) not in known_agency_keys}
        frame[UNREGISTERED_AGENCY] = frame[agency_col].where(frame[agency_col].isin(unknown), None).astype(object)
    else:
        frame[UNREGISTERED_AGENCY] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    frame[GARBLED_TEXT] = _garbled(frame)
    unreadable: dict[int, str] = {}
    for issue in parsed.value_issues:
        if issue.record is not None and issue.record not in unreadable:
            unreadable[issue.record] = f"{issue.column}: {issue.value} ({issue.message})"
    frame[UNREADABLE_VALUE] = pd.Series([unreadable.get(i) for i in range(len(frame))], index=frame.index,
                                        dtype=object)
    return frame


def _show(value: object) -> str:
    """A found value as people write it: 2566 not 2566.0, key parts joined with " / "."""
    if isinstance(value, dict):
        return " / ".join(_show(v) for k, v in value.items() if k != "source_row")
    if isinstance(value, (list, tuple)):
        return " / ".join(_show(v) for v in value)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value: object) -> object:
    """Expectation kwargs for the report: 2550 rather than 2550.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _results_store(results_dir: Path) -> dict:
    return {"class_name": "ValidationResultsStore", "store_backend": {
        "class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir),
        "suppress_store_backend_id": True}}


class Gate:
    """An in-memory GX context with one validation definition per source; ``validate`` per file.

    With ``results_dir``, every validation result is also stored there as JSON (GX's filesystem
    store), for Data Docs; without it, results stay in memory.
    """

    def __init__(self, known_agency_keys: list[str] | frozenset[str], results_dir: Path | None = None) -> None:
        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults())
        if results_dir is not None:
            results_dir.mkdir(parents=True, exist_ok=True)
            config.stores["validation_results_store"] = _results_store(results_dir)
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False}
        self.datasource = self.context.data_sources.add_pandas("landing")
        self.known_agency_keys = frozenset(known_agency_keys)
        self.results_dir = results_dir
        self._definitions: dict[str, gx.ValidationDefinition] = {}

    def _definition(self, source_name: str) -> gx.ValidationDefinition:
        if source_name not in self._definitions:
            asset = self.datasource.add_dataframe_asset(source_name)
            batch = asset.add_batch_definition_whole_dataframe("file")
            suite = self.context.suites.add(build_suite(source_name))
            self._definitions[source_name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{source_name}_file", data=batch, suite=suite))
        return self._definitions[source_name]

    def validate(self, parsed: ParsedFile, run_name: str | None = None) -> GateResult:
        """Validate one parsed file; ``run_name`` names the stored result (run id and file)."""
        definition = self._definition(parsed.source.name)
        frame = frame_for(parsed, self.known_agency_keys)
        outcome = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["source_row", RECORD_NO],
                           "partial_unexpected_count": MAX_ROWS_REPORTED},
            run_id=RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC)) if run_name else None,
        )
        result = GateResult(suite=definition.suite.name)
        for r in outcome.results:
            config = r.expectation_config
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            needed = [column] if column else list(config.kwargs.get("column_list") or [])
            if config.kwargs.get("column_B"):
                needed.append(config.kwargs["column_B"])
            if any(c not in frame.columns for c in needed):
                continue  # a missing required column is reported once, by the column-set check
            result.evaluated += 1
            if r.success:
                continue
            severity = (config.meta or {}).get("severity", "critical")
            kwargs = {k: _plain(config.kwargs[k]) for k in KWARGS_KEPT if config.kwargs.get(k) is not None}
            details = r.result or {}
            if config.type == "expect_table_columns_to_match_set":
                missing = ((details.get("details") or {}).get("mismatched") or {}).get("missing") or []
                result.failures += [Failure(config.type, col, severity, 1, [], parsed.unknown_headers[:10],
                                            "required column not found", kwargs, "file") for col in missing]
                continue
            index = [i for i in (details.get("unexpected_index_list") or []) if isinstance(i, dict)]
            found = details.get("unexpected_list") or []
            rows = [int(i["source_row"]) for i in index[:MAX_ROWS_REPORTED]]
            values = [_show(v) for v in found[:MAX_ROWS_REPORTED]]
            if config.type == "expect_column_values_to_not_be_null":
                values = []  # the found value is an empty cell
            if config.type == "expect_table_row_count_to_be_between":
                values = [f"{details.get('observed_value')} rows"]
            if config.kwargs.get("column_B"):
                column = f"{column},{config.kwargs['column_B']}"
            failure = Failure(
                expectation=config.type, column=column or ",".join(config.kwargs.get("column_list") or []) or None,
                severity=severity, unexpected_count=int(details.get("unexpected_count") or (0 if index else 1)),
                rows=rows, values=values, notes=config.notes, kwargs=kwargs, level=level(config.meta))
            result.failures.append(failure)
            if severity == "critical" and failure.level == "row":
                shown = [_show(v) for v in found] if len(found) == len(index) else [None] * len(index)
                for i, value in zip(index, shown, strict=True):
                    result.rejected.setdefault(int(i[RECORD_NO]), []).append((failure, value))
        return result


def registry_fingerprint(seeds_dir: Path) -> str:
    """Content hash of the agency registry seeds (a changed registry means a new Gate)."""
    digest = hashlib.sha256()
    for name in REGISTRY_FILES:
        path = seeds_dir / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def registry_keys(seeds_dir: Path) -> frozenset[str]:
    """Match keys of every registered agency name and alias, read fresh from the seed files."""
    keys: set[str] = set()
    for name, column in zip(REGISTRY_FILES, ("agency_name_th", "alias"), strict=True):
        with open(seeds_dir / name, encoding="utf-8", newline="") as fh:
            keys.update(name_key(row[column]) for row in csv.DictReader(fh) if row.get(column))
    return frozenset(keys)


def results_dir(settings: Settings) -> Path:
    """Where GX validation results are stored: the file-backed docs context's default location."""
    return settings.shared_state_dir / "gx" / "uncommitted" / "validations"


_CACHE: dict[tuple[str, str], Gate] = {}
_LOCK = threading.Lock()


def get_gate(settings: Settings | None = None) -> Gate:
    """This process's Gate for the settings' state dir, rebuilt only when the registry changes."""
    settings = settings or get_settings()
    key = (str(results_dir(settings)), registry_fingerprint(settings.seeds_dir))
    with _LOCK:
        gate = _CACHE.get(key)
        if gate is None:
            _CACHE.clear()
            gate = _CACHE[key] = Gate(registry_keys(settings.seeds_dir), results_dir(settings))
        return gate

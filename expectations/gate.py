"""The validation gate: run a source's suite on a parsed file and say whether it may load.

Validation runs in an in-memory GX context (nothing shared is written while mapped tasks run in
parallel); each result is written by GX's own validation-results store into
``<state_dir>/gx/uncommitted/validations``, from which ``expectations.docs`` builds Data Docs.
One Gate per process is enough: ``get_gate`` caches it and rebuilds it when the agency registry
(the seed files) changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults
from pandas.core.internals.construction import convert_object_array  # from_records' typing

from expectations.suites import (
    FILE_COLUMN,
    GARBLED_TEXT,
    UNREADABLE_VALUE,
    UNREGISTERED_AGENCY,
    as_read,
    build_suite,
    level,
)
from expectations.suites import severity as severity_of
from ground import registry
from ground.rows import ParsedFile
from ground.settings import Settings, get_settings
from ground.thai import name_key

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
MAX_ROWS_REPORTED = 50
# Mojibake: UTF-8 Thai read as Latin-1/cp1252 ("à¸", "à¹"), double-encoded Latin ("Ã©"), the
# replacement character, C1 control characters, and a cell whose Thai a non-Thai export turned
# into question marks ("???? ?????"; "ทำไม???" is fine).
GARBLED = re.compile(r"à[¸¹]|Ã[\x80-\xbf]|\ufffd|[\x80-\x9f]|^[\s\d.,()/-]*\?{3,}[\s\d.,()/?-]*$")
RECORD_NO = "record_no"  # position in ParsedFile.records: names the row even across sheets
# What names a row in a failure: its file (expectations.suites.FILE_COLUMN), its row, its record.
INDEX_COLUMNS = [FILE_COLUMN, "source_row", RECORD_NO]
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
        if col in (*INDEX_COLUMNS, UNREGISTERED_AGENCY) or frame[col].dtype.kind in "biufcmM":
            continue
        bad = {v for v in frame[col].dropna().unique() if isinstance(v, str) and GARBLED.search(v)}
        if bad:  # distinct values only: a column repeats few of them (agencies, levels, plans)
            hits = frame[col].isin(bad)
            found = found.where(found.notna() | ~hits, frame[col].map(lambda v, c=col: f"{c}: {v}"))
    return found


def _column(files: Sequence[ParsedFile], name: str) -> np.ndarray:
    """One column of the batch's rows as an object array (NaN where a file or sheet does not have it, as
    pandas reads a missing key of a list of dicts)."""
    out = np.empty(sum(p.row_count for p in files), dtype=object)
    at = 0
    for parsed in files:
        for part in parsed.parts:
            n = len(part)
            values = part.columns.get(name)
            if values is None:
                out[at:at + n] = np.nan
            elif n:
                out[at:at + n] = values
            at += n
    return out


def frame_for_many(files: Sequence[ParsedFile], known_agency_keys: frozenset[str],
                   labels: Sequence[str]) -> pd.DataFrame:
    """The records of several files of one source as one DataFrame (each row labelled with its file in
    ``file`` and numbered within it in ``record_no``), the derived columns computed once for all of them.
    Built column by column from the files' parts: no object per row."""
    source = files[0].source
    agency_col = source.agency_column
    columns = list(dict.fromkeys(c for p in files for c in p.own_columns()))
    sizes = [p.row_count for p in files]
    rows = np.fromiter((r for p in files for part in p.parts for r in part.rows), dtype=object, count=sum(sizes))
    cells = [rows if name == "source_row" else _column(files, name) for name in columns]
    # Each column typed as ``DataFrame.from_records`` types a list of rows (pandas' own inference, in C), without
    # building the rows; Decimal amounts and scores as float64 (numpy calls float() on each, in C).
    typed = convert_object_array(cells, dtype=None)
    frame = pd.DataFrame(dict(zip(columns, typed, strict=True)), columns=columns, copy=False)
    for col in columns:
        if frame[col].dtype == object and Decimal in set(map(type, values := frame[col].to_numpy())):
            frame[col] = np.array(values, dtype="float64")
    frame[RECORD_NO] = np.concatenate([np.arange(n, dtype="int64") for n in sizes])
    frame[FILE_COLUMN] = np.repeat(np.array(list(labels), dtype=object), sizes)
    if agency_col in frame.columns:
        unknown = {v for v in frame[agency_col].dropna().unique()
                   if isinstance(v, str) and name_key(v) not in known_agency_keys}
        frame[UNREGISTERED_AGENCY] = frame[agency_col].where(frame[agency_col].isin(unknown), None).astype(object)
    else:
        frame[UNREGISTERED_AGENCY] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    frame[GARBLED_TEXT] = _garbled(frame)
    unreadable: list[str | None] = []
    for parsed, size in zip(files, sizes, strict=True):
        first: dict[int, str] = {}
        for issue in parsed.value_issues:
            if issue.record is not None and issue.record not in first:
                first[issue.record] = f"{issue.column}: {issue.value} ({issue.message})"
        unreadable += [first.get(i) for i in range(size)]
    frame[UNREADABLE_VALUE] = pd.Series(unreadable, index=frame.index, dtype=object)
    return frame


def _show(value: object) -> str:
    """A found value as people write it: 2566 not 2566.0, key parts joined with " / "."""
    if isinstance(value, dict):
        return " / ".join(_show(v) for k, v in value.items() if k not in INDEX_COLUMNS)
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

    def validate(self, parsed: ParsedFile, run_id: str | None = None, label: str | None = None) -> GateResult:
        """Validate one parsed file (``validate_many`` with one)."""
        return self.validate_many([parsed], run_id, [label] if label else None)[0]

    def validate_many(self, files: Sequence[ParsedFile], run_id: str | None = None,
                      labels: Sequence[str] | None = None) -> list[GateResult]:
        """Validate several files of one source in one GX run over their rows together (a GX
        run costs about the same for ten files' rows as for one file's), each file's gets exactly the result
        it would get alone. Every row carries its file's label (``labels``: landing paths) in the ``file``
        column, so a failure names file and row in the stored result and Data Docs; with ``run_id`` the
        result is stored, named by the run and the files (``expectations.docs.run_name``).

        A file whose table-level checks could fail (no rows, a required column missing) is validated on
        its own: those checks need its own table. So is every file of a batch whose run fails a check
        that names no rows."""
        if not files:
            return []
        if len({p.source.name for p in files}) > 1:
            raise ValueError("validate_many: every file of a batch must be of one source")
        labels = list(labels) if labels else [p.path.name for p in files]
        if len(set(labels)) < len(labels):  # the same file twice: its rows must still be told apart
            labels = [f"{n + 1}: {label}" for n, label in enumerate(labels)]
        together = [i for i, p in enumerate(files) if _stands_in_batch(p)]
        batched = together if len(together) > 1 else []
        groups = ([batched] if batched else []) + [[i] for i in range(len(files)) if i not in batched]
        results: dict[int, GateResult] = {}
        for group in groups:
            try:
                results.update(self._run(files, group, run_id, labels))
            except _NotSplittable as exc:
                log.info("validating %d files one by one: %s", len(group), exc)
                for i in group:
                    results.update(self._run(files, [i], run_id, labels))
        return [results[i] for i in range(len(files))]

    def _run(self, files: Sequence[ParsedFile], group: list[int], run_id: str | None,
             labels: list[str]) -> dict[int, GateResult]:
        from expectations.docs import run_name

        definition = self._definition(files[group[0]].source.name)
        frame = frame_for_many([files[i] for i in group], self.known_agency_keys, [labels[i] for i in group])
        more = f" and {len(group) - 1} more" if len(group) > 1 else ""
        outcome = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS,
                           "partial_unexpected_count": MAX_ROWS_REPORTED},
            run_id=RunIdentifier(run_name=run_name(run_id, labels[group[0]] + more),
                                 run_time=dt.datetime.now(dt.UTC)) if run_id else None,
        )
        derived = {RECORD_NO, FILE_COLUMN, UNREGISTERED_AGENCY, GARBLED_TEXT, UNREADABLE_VALUE}
        return {i: _file_result(outcome, definition.suite.name, files[i], set(files[i].own_columns()) | derived,
                                labels[i], len(group)) for i in group}


class _NotSplittable(Exception):
    """A batch's GX result cannot be told apart per file (a failure naming no rows)."""


def _stands_in_batch(parsed: ParsedFile) -> bool:
    """Rows to validate and every required column: the file's table-level checks pass whatever it is
    batched with."""
    columns = parsed.own_columns()
    return parsed.row_count > 0 and all(c in columns for c in parsed.source.required)


def _file_result(outcome, suite: str, parsed: ParsedFile, own_columns: set[str], label: str,
                 batch_size: int) -> GateResult:
    """One file's GateResult from a (batch's) GX result: the checks its own columns allow, and of each
    failure the rows labelled with the file."""
    result = GateResult(suite=suite)
    for r in outcome.results:
        config = r.expectation_config
        type_, column, config_kwargs = as_read(config.type, dict(config.kwargs))
        needed = [column] if column else list(config_kwargs.get("column_list") or [])
        if config_kwargs.get("column_B"):
            needed.append(config_kwargs["column_B"])
        if any(c not in own_columns for c in needed):
            continue  # a missing required column is reported once, by the column-set check
        result.evaluated += 1
        if r.success:
            continue
        severity = severity_of(config.severity)
        kwargs = {k: _plain(config_kwargs[k]) for k in KWARGS_KEPT if config_kwargs.get(k) is not None}
        details = r.result or {}
        every_index = [i for i in (details.get("unexpected_index_list") or []) if isinstance(i, dict)]
        every_found = details.get("unexpected_list") or []
        aligned = len(every_found) == len(every_index)
        if batch_size > 1 and (not every_index or not aligned):
            raise _NotSplittable(f"{config.type} on {column or needed} failed without rows for each value")
        if type_ == "expect_table_columns_to_match_set":
            missing = ((details.get("details") or {}).get("mismatched") or {}).get("missing") or []
            result.failures += [Failure(type_, col, severity, 1, [], parsed.unknown_headers[:10],
                                        "required column not found", kwargs, "file") for col in missing]
            continue
        mine = [k for k, i in enumerate(every_index) if i.get(FILE_COLUMN) == label]
        if batch_size > 1 and not mine:
            continue  # failed on other files' rows only
        index = [every_index[k] for k in mine]
        found = [every_found[k] for k in mine] if batch_size > 1 else every_found
        rows = [int(i["source_row"]) for i in index[:MAX_ROWS_REPORTED]]
        values = [_show(v) for v in found[:MAX_ROWS_REPORTED]]
        if type_ == "expect_column_values_to_not_be_null":
            values = []  # the found value is an empty cell
        if type_ == "expect_table_row_count_to_be_between":
            values = [f"{details.get('observed_value')} rows"]
        if config_kwargs.get("column_B"):
            column = f"{column},{config_kwargs['column_B']}"
        count = len(index) if batch_size > 1 else int(details.get("unexpected_count") or (0 if index else 1))
        failure = Failure(
            expectation=type_, column=column or ",".join(config_kwargs.get("column_list") or []) or None,
            severity=severity, unexpected_count=count, rows=rows, values=values, notes=config.notes,
            kwargs=kwargs, level=level(config.meta))
        result.failures.append(failure)
        if severity == "critical" and failure.level == "row":
            shown = [_show(v) for v in found] if len(found) == len(index) and \
                type_ != "expect_column_values_to_not_be_null" else [None] * len(index)  # an empty cell: no value
            for i, value in zip(index, shown, strict=True):
                result.rejected.setdefault(int(i[RECORD_NO]), []).append((failure, value))
    return result


def results_dir(settings: Settings) -> Path:
    """Where GX validation results are stored: the file-backed docs context's default location."""
    return settings.shared_state_dir / "gx" / "uncommitted" / "validations"


_CACHE: dict[tuple[str, str], Gate] = {}
_LOCK = threading.Lock()


def get_gate(settings: Settings | None = None) -> Gate:
    """This process's Gate for the settings' state dir, rebuilt only when the registry changes."""
    settings = settings or get_settings()
    key = (str(results_dir(settings)), registry.fingerprint(settings.seeds_dir))
    with _LOCK:
        gate = _CACHE.get(key)
        if gate is None:
            _CACHE.clear()
            gate = _CACHE[key] = Gate(list(registry.alias_keys(settings.seeds_dir)), results_dir(settings))
        return gate

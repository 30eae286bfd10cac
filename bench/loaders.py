"""Three ways to get the same CSV files into PostgreSQL, each timed from file to committed rows.

- ``copy_files``: the files' bytes streamed through psycopg ``COPY ... FROM STDIN (FORMAT csv)`` into
  a table of text columns. No parsing in Python, no typing, no index: the physical limit.
- ``to_sql_files``: ``pandas.read_csv`` then ``DataFrame.to_sql`` through SQLAlchemy 2 + psycopg 3,
  pandas' defaults (what a user would write).
- ``ingest_files``: the project's own path, ``nightly.pipeline.process_files`` per load batch (parse each file,
  one GX run per batch, ledger + COPY per file in one transaction), with the time spent in parse, the gate
  and load accounted.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from bench.measure import timed_attributes
from ingest.readers import detect_encoding

SCHEMA = "bench"
PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp874": "WIN874"}
BLOCK = 1 << 20


class BenchError(RuntimeError):
    """The benchmark could not measure what it set out to (a file rejected, dbt failing, ...)."""


@dataclass
class Timing:
    rows: int
    seconds: float
    files: int
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"rows": self.rows, "files": self.files, "seconds": round(self.seconds, 4),
                "rows_per_s": round(self.rows_per_s, 1), **{f"{k}_s": round(v, 4) for k, v in self.parts.items()}}


def _encoding(path: Path) -> str:
    with open(path, "rb") as fh:
        return detect_encoding(fh.read(65536))


def _header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding, newline="") as fh:
        return next(csv.reader(fh))


def reset_schema(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))


def copy_files(conn: psycopg.Connection, paths: list[Path], table: str) -> Timing:
    """COPY every file into a fresh ``bench.<table>`` of text columns (header width of the first file)."""
    target = sql.Identifier(SCHEMA, table)
    width = len(_header(paths[0], _encoding(paths[0])))
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(width))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, columns))
    rows = 0
    start = time.perf_counter()
    for path in paths:
        statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true, ENCODING {})").format(
            target, sql.Literal(PG_ENCODINGS[_encoding(path)]))
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(statement) as copy, open(path, "rb") as fh:
                while block := fh.read(BLOCK):
                    copy.write(block)
            rows += cur.rowcount
    return Timing(rows, time.perf_counter() - start, len(paths))


def to_sql_files(url: str, paths: list[Path], table: str) -> Timing:
    """``read_csv`` + ``to_sql(if_exists="append")`` per file into ``bench.<table>`` (created by pandas)."""
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    rows = 0
    try:
        start = time.perf_counter()
        for path in paths:
            frame = pd.read_csv(path, encoding=_encoding(path))
            frame.to_sql(table, engine, schema=SCHEMA, if_exists="append", index=False)
            rows += len(frame)
        return Timing(rows, time.perf_counter() - start, len(paths))
    finally:
        engine.dispose()


def ingest_files(files: list, gate, run_id: str) -> Timing:
    """The files as a night loads them (``nightly.pipeline.batches``, then ``process_files`` per batch), all of
    which must load; parts: parse, gate (one GX run per batch and source, including the DataFrames it
    validates, ``frame``), load (ledger + COPY + validation record per file), other."""
    import expectations.gate as gate_module
    import nightly.pipeline as pipeline

    parts: dict[str, float] = {}
    rows = 0
    with timed_attributes(pipeline, ["parse_many_isolated", "load_file"], parts), \
            timed_attributes(gate_module, ["frame_for_many"], parts), timed_attributes(gate, ["validate_many"], parts):
        start = time.perf_counter()
        for batch in pipeline.batches(files):
            for outcome in pipeline.process_files(batch, gate, run_id):
                if outcome.status != "loaded":
                    raise BenchError(f"{outcome.path} was {outcome.status}: {outcome.reason}")
                rows += outcome.rows_loaded
        seconds = time.perf_counter() - start
    named = {"parse": parts["parse_many_isolated"], "gate": parts["validate_many"],
             "gate_frame": parts["frame_for_many"], "load": parts["load_file"]}
    named["other"] = seconds - named["parse"] - named["gate"] - named["load"]
    return Timing(rows, seconds, len(files), named)

"""What the scenarios read from the warehouse: marts, their row digests, the ledger's consistency."""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from ground.sources import SOURCES

BUILD_COLUMNS = {"dbt_invocation_id", "dbt_built_at"}  # when a row was built, not what it says
RUN_MARTS = {"data_as_of"}  # which night ran last and how: differs after every run by design, not data


def mart_rows(conn: psycopg.Connection) -> dict[str, int]:
    tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
    return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", t))).fetchone()[0]
            for t in tables}


def marts_fingerprint(conn: psycopg.Connection) -> dict[str, str]:
    """A digest of every mart's rows (build-time columns and the marts about the runs left out), table by table."""
    prints = {}
    for table in (t for t in mart_rows(conn) if t not in RUN_MARTS):
        cols = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = %s "
            "ORDER BY ordinal_position", (table,)).fetchall() if c not in BUILD_COLUMNS]
        rows = conn.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier("marts", table))).fetchall()
        prints[table] = f"{len(rows)}:" + hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return prints


def ledger_problems(conn: psycopg.Connection) -> list[str]:
    """Each ledger row: rows in = loaded + rejected; raw holds exactly each loaded file's rows; no bytes twice."""
    problems = [f"file {fid} ({path}): rows in {i} != loaded {lo} + rejected {rj}" for fid, path, i, lo, rj in
                conn.execute("SELECT file_id, path, rows_in, rows_loaded, rows_rejected FROM ops.file_ledger "
                             "WHERE rows_in <> rows_loaded + rows_rejected").fetchall()]
    problems += [f"{source} {sha[:12]} is in the ledger {n} times" for source, sha, n in conn.execute(
        "SELECT source, content_sha256, count(*) FROM ops.file_ledger GROUP BY 1, 2 HAVING count(*) > 1").fetchall()]
    for source in SOURCES:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"raw.{source}",)).fetchone()[0]
        if not exists:
            continue
        query = sql.SQL(
            "SELECT l.file_id, l.path, l.rows_loaded, coalesce(r.n, 0) FROM ops.file_ledger l "
            "LEFT JOIN (SELECT file_id, count(*) AS n FROM {} GROUP BY 1) r USING (file_id) "
            "WHERE l.source = %s AND l.rows_loaded <> coalesce(r.n, 0)").format(sql.Identifier("raw", source))
        problems += [f"file {fid} ({path}): ledger says {lo} rows loaded, raw.{source} holds {n}"
                     for fid, path, lo, n in conn.execute(query, (source,)).fetchall()]
    return problems


def files_by_run(conn: psycopg.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT run_id, count(*) FROM ops.file_ledger GROUP BY 1").fetchall())

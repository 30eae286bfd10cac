"""What discovery has hashed (``ops.landing_seen``): per landing zone and path, the file's metadata
fingerprint and its SHA-256, so an unchanged file whose bytes the ledger holds is not read again.

One row per path, not per content: a copy or a renamed file is hashed once, found to be bytes the ledger
already holds, and from then on recognised by its metadata too. A file the ledger does not hold (never
loaded, or skipped because it changed while being loaded) is read again each run until it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ingest.discover import Known, LandingFile, without_gc


def known_files(conn: psycopg.Connection, landing_zone: str) -> dict[str, Known]:
    """Paths of this landing zone whose recorded bytes are in the ledger (loaded or rejected), by path."""
    with without_gc():
        rows = conn.execute(
            """SELECT s.path, s.fingerprint, s.content_sha256 FROM ops.landing_seen s
               WHERE s.landing_zone = %s
                 AND EXISTS (SELECT 1 FROM ops.file_ledger l
                             WHERE l.source = s.source AND l.content_sha256 = s.content_sha256)""",
            (landing_zone,)).fetchall()
        return {path: Known(fp, sha) for path, fp, sha in rows}


def record_hashed(conn: psycopg.Connection, landing_zone: str,
                  hashed: Sequence[tuple[LandingFile, str | None]]) -> None:
    """Remember what this run hashed (files without a fingerprint to trust are read every run)."""
    rows = [(lf.relative_path, lf.source, fp, lf.sha256) for lf, fp in hashed if fp is not None]
    if not rows:
        return
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE landing_seen_in (path text, source text, fingerprint text, "
                     "content_sha256 text) ON COMMIT DROP")
        with conn.cursor().copy("COPY landing_seen_in FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            """INSERT INTO ops.landing_seen (landing_zone, path, source, fingerprint, content_sha256)
               SELECT DISTINCT ON (path) %s, path, source, fingerprint, content_sha256 FROM landing_seen_in
               ON CONFLICT (landing_zone, path) DO UPDATE SET source = excluded.source,
                   fingerprint = excluded.fingerprint, content_sha256 = excluded.content_sha256, seen_at = now()""",
            (landing_zone,))


def in_ledger(conn: psycopg.Connection, files: Sequence[LandingFile]) -> dict[tuple[str, str], tuple[str, str]]:
    """Of these files' bytes, those the ledger holds: (source, sha256) -> the ledger's path and status."""
    if not files:
        return {}
    rows = conn.execute(
        """SELECT l.source, l.content_sha256, l.path, l.status FROM ops.file_ledger l
           JOIN unnest(%s::text[], %s::text[]) AS f (source, sha)
             ON l.source = f.source AND l.content_sha256 = f.sha""",
        ([f.source for f in files], [f.sha256 for f in files])).fetchall()
    return {(source, sha): (path, status) for source, sha, path, status in rows}

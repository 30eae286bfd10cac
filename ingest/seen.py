"""What discovery has hashed (``ops.landing_seen``): per landing zone and path, the file's metadata
fingerprint and its SHA-256, so an unchanged file whose bytes the ledger holds is not read again.

One row per path, not per content: a copy or a renamed file is hashed once, found to be bytes the ledger
already holds, and from then on recognised by its metadata too. A file the ledger does not hold (never
loaded, or skipped because it changed while being loaded) is read again each run until it is.

On local disk, ``ops.landing_folders`` keeps each folder as the latest listing left it (``discover.Folder``)
and ``ops.landing_passes`` when every folder was last listed, whatever it looked like (the full pass).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import psycopg

from ingest.discover import (
    DiscoveryStats,
    Folder,
    Known,
    LandingFile,
    discover,
    full_pass_forced,
    full_pass_hours,
    without_gc,
)

log = logging.getLogger(__name__)


def discover_known(conn: psycopg.Connection, landing_zone: str, stats: DiscoveryStats) -> None:
    """One discovery of the landing zone with what earlier runs recorded: the files it hashes go to
    ``stats.hashed``; local folders unchanged since a trusted listing are not listed, unless the full pass is
    due (``full_pass_hours``) or forced (``DGWH_DISCOVERY_FULL``). Records this listing's folders."""
    zone = landing_zone.rstrip("/")
    before = listed_folders(conn, zone)
    full = full_pass_forced() or full_pass_due(conn, zone, full_pass_hours())
    discover(landing_zone, known=lambda paths: known_files(conn, zone, paths), stats=stats, return_known=False,
             folders=None if full else before)
    if stats.folders is not None:
        record_folders(conn, zone, before, stats.folders)
        if full:
            record_full_pass(conn, zone)
        log.info("discovery%s: %d folders listed, %d unchanged and not listed; %d files recognised, %d hashed "
                 "(%d bytes read)", " (full pass)" if full else "", stats.folders_listed, stats.folders_unchanged,
                 stats.recognised, len(stats.hashed), stats.bytes_read)


def known_files(conn: psycopg.Connection, landing_zone: str, paths: Sequence[str] | None = None) -> dict[str, Known]:
    """Paths of this landing zone whose recorded bytes are in the ledger (loaded or rejected), by path; of
    ``paths`` only, when given (a night's listing: what its unchanged folders hold is not fetched)."""
    if paths is not None and not paths:
        return {}
    with without_gc():
        rows = conn.execute(
            """SELECT s.path, s.fingerprint, s.content_sha256 FROM ops.landing_seen s
               WHERE s.landing_zone = %s AND (%s::text[] IS NULL OR s.path = ANY(%s::text[]))
                 AND EXISTS (SELECT 1 FROM ops.file_ledger l
                             WHERE l.source = s.source AND l.content_sha256 = s.content_sha256)""",
            (landing_zone, paths, paths)).fetchall()
        return {path: Known(fp, sha) for path, fp, sha in rows}


def listed_folders(conn: psycopg.Connection, landing_zone: str) -> dict[str, Folder]:
    """The landing zone's folders as the latest listing left them, by path under the zone ('' the zone)."""
    rows = conn.execute("SELECT path, stamp, trusted, files, ignored FROM ops.landing_folders "
                        "WHERE landing_zone = %s", (landing_zone,)).fetchall()
    return {path: Folder(stamp, trusted, files, tuple(ignored)) for path, stamp, trusted, files, ignored in rows}


def record_folders(conn: psycopg.Connection, landing_zone: str, before: Mapping[str, Folder],
                   after: Mapping[str, Folder]) -> None:
    """Keep ``after`` (this listing's folders) in place of ``before``: only the folders that changed are written."""
    gone = [path for path in before if path not in after]
    changed = [(path, f.stamp, f.trusted, f.files, list(f.ignored)) for path, f in after.items()
               if before.get(path) != f]
    with conn.transaction():
        if gone:
            conn.execute("DELETE FROM ops.landing_folders WHERE landing_zone = %s AND path = ANY(%s)",
                         (landing_zone, gone))
        if changed:
            conn.cursor().executemany(
                """INSERT INTO ops.landing_folders (landing_zone, path, stamp, trusted, files, ignored)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (landing_zone, path) DO UPDATE SET stamp = excluded.stamp,
                       trusted = excluded.trusted, files = excluded.files, ignored = excluded.ignored,
                       listed_at = now()""",
                [(landing_zone, *row) for row in changed])


def full_pass_due(conn: psycopg.Connection, landing_zone: str, every_hours: float) -> bool:
    """Whether every folder is to be listed this run: never done, or last done ``every_hours`` ago or more."""
    row = conn.execute("SELECT now() - full_at >= make_interval(secs => %s) FROM ops.landing_passes "
                       "WHERE landing_zone = %s", (every_hours * 3600.0, landing_zone)).fetchone()
    return row is None or bool(row[0])


def record_full_pass(conn: psycopg.Connection, landing_zone: str) -> None:
    conn.execute("INSERT INTO ops.landing_passes (landing_zone, full_at) VALUES (%s, now()) "
                 "ON CONFLICT (landing_zone) DO UPDATE SET full_at = excluded.full_at", (landing_zone,))


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

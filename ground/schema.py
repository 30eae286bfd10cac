"""DDL for the schemas the pipeline writes itself: ``ops`` (ledger, runs, the run lock, dbt's results), by
numbered migrations, and ``raw`` (one table per source, following the sources' definitions). Applied at the
start of every run and before every dbt command; dbt owns everything downstream."""

from __future__ import annotations

import psycopg
from psycopg import sql

from ground.sources import SOURCES, Source

PG_TYPES = {"text": "text", "year": "integer", "amount": "numeric", "decimal": "numeric", "date": "date",
            "bool": "boolean", "enum": "text", "enum_list": "text"}
BUDGET_BILL_TYPED = {"cross_func": "boolean", "obliged": "boolean", "amount_baht": "numeric",
                     "amount_parse_error": "text", "fiscal_year_be": "integer", "has_extraction_warning": "boolean"}
LINEAGE = (("file_id", "bigint"), ("source_row", "integer"), ("source_sheet", "text"))

# The ops schema's migrations, in order, each applied once and recorded in ops.schema_migrations. This is the
# one owner of ops DDL (the run lock and dbt's results table included). Statements stay idempotent (IF NOT
# EXISTS) because warehouses made before this table existed already hold some of them; a new change is a new
# migration at the end, never an edit of an applied one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "the ledger, rejected rows, validation runs, pipeline runs, dbt builds", """CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS ops.file_ledger (
    file_id          bigserial PRIMARY KEY,
    source           text        NOT NULL,
    content_sha256   text        NOT NULL,
    path             text        NOT NULL,
    size_bytes       bigint      NOT NULL,
    received_at      timestamptz NOT NULL,
    processed_at     timestamptz NOT NULL DEFAULT now(),
    run_id           text,
    status           text        NOT NULL CHECK (status IN ('loaded', 'rejected')),
    rows_in          integer     NOT NULL DEFAULT 0,
    rows_loaded      integer     NOT NULL DEFAULT 0,
    rows_rejected    integer     NOT NULL DEFAULT 0,
    warnings         integer     NOT NULL DEFAULT 0,
    encoding         text,
    reject_code      text,
    reject_reason    text,
    quarantine_path  text,
    fiscal_years_be  integer[],
    agency_names     text[],
    ref_doc          text,
    CONSTRAINT rows_balance CHECK (rows_in = rows_loaded + rows_rejected),
    CONSTRAINT same_bytes_once UNIQUE (source, content_sha256)
);
CREATE TABLE IF NOT EXISTS ops.rejected_rows (
    file_id     bigint  NOT NULL REFERENCES ops.file_ledger (file_id),
    source_row  integer,
    source_sheet text,
    column_name text,
    value       text,
    reason      text    NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.validation_runs (
    validation_id bigserial PRIMARY KEY,
    run_id        text,
    file_id       bigint REFERENCES ops.file_ledger (file_id),
    path          text,
    suite         text        NOT NULL,
    success       boolean     NOT NULL,
    evaluated     integer     NOT NULL,
    failed        integer     NOT NULL,
    critical_failed integer   NOT NULL DEFAULT 0,
    details       jsonb,
    validated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ops.pipeline_runs (
    run_id      text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text,
    summary     jsonb
);
-- Successful nightly builds (nightly.transform.record_build): what a night with nothing new can skip.
CREATE TABLE IF NOT EXISTS ops.dbt_builds (
    run_id        text        PRIMARY KEY,
    fingerprint   text        NOT NULL,
    built_at      timestamptz NOT NULL DEFAULT now()
);
"""),
    (2, "rejected rows say the agency and year they were meant for (coverage counts them there)", """
ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS agency_name text;
ALTER TABLE ops.rejected_rows ADD COLUMN IF NOT EXISTS fiscal_year_be integer;
"""),
    (3, "a build records the newest ledger row it includes (nightly.transform.record_build)", """
ALTER TABLE ops.dbt_builds ADD COLUMN IF NOT EXISTS files_through bigint NOT NULL DEFAULT 0;
"""),
    (4, "files withdrawn by an operator (nightly/withdraw.py); dbt's stg_file_ledger leaves them out", """
CREATE TABLE IF NOT EXISTS ops.file_withdrawals (
    file_id      bigint PRIMARY KEY REFERENCES ops.file_ledger (file_id),
    reason       text        NOT NULL,
    withdrawn_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_by text
);
"""),
    (5, "the run lock: one night or backfill on the warehouse at a time (nightly/runlock.py)", """
CREATE TABLE IF NOT EXISTS ops.run_lock (
    lock_name  text PRIMARY KEY,
    owner      text NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
ALTER TABLE ops.run_lock ADD COLUMN IF NOT EXISTS holder_host text,
    ADD COLUMN IF NOT EXISTS holder_pid integer, ADD COLUMN IF NOT EXISTS holder_pid_start text,
    ADD COLUMN IF NOT EXISTS dag_id text;
"""),
    (6, "dbt's result per node and run (written by dbt_project/macros/record_dbt_results.sql)", """
CREATE TABLE IF NOT EXISTS ops.dbt_results (
    invocation_id text not null,
    run_id text not null,
    unique_id text not null,
    resource_type text not null,
    status text not null,
    failures integer,
    execution_time_s numeric,
    message text,
    recorded_at timestamptz not null default now()
);
"""),
    (7, "what discovery hashed, by path and metadata fingerprint: a file unchanged since is not read again", """
CREATE TABLE IF NOT EXISTS ops.landing_seen (
    landing_zone   text        NOT NULL,
    path           text        NOT NULL,
    source         text        NOT NULL,
    fingerprint    text        NOT NULL,
    content_sha256 text        NOT NULL,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (landing_zone, path)
);
"""),
    (8, "every run that took the lock has a row from its start (running, then success, failed, interrupted or "
        "killed); the run whose summary first listed a night nobody reported (nightly/runlock.py)", """
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS dag_id text;
ALTER TABLE ops.pipeline_runs ADD COLUMN IF NOT EXISTS reported_in text;
"""),
    (9, "the fiscal years a file-only night's files hold, by source: the marts and tests that rebuild or test "
        "only those years read it (dbt_project/macros/night_years.sql; nightly.transform.record_night_scope)", """
CREATE TABLE IF NOT EXISTS ops.dbt_night_scope (
    run_id          text        PRIMARY KEY,
    years_by_source jsonb       NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT now()
);
"""),
    (10, "each local landing folder as discovery last listed it, and when every folder was last listed: a folder "
         "unchanged since is not listed again (ingest/discover.py)", """
CREATE TABLE IF NOT EXISTS ops.landing_folders (
    landing_zone text        NOT NULL,
    path         text        NOT NULL,
    stamp        text        NOT NULL,
    trusted      boolean     NOT NULL,
    files        integer     NOT NULL,
    ignored      text[]      NOT NULL,
    listed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (landing_zone, path)
);
CREATE TABLE IF NOT EXISTS ops.landing_passes (
    landing_zone text        PRIMARY KEY,
    full_at      timestamptz NOT NULL
);
"""),
    (11, "the agencies' submission page: its accounts and every file submitted through it (portal/)", """
CREATE TABLE IF NOT EXISTS ops.portal_users (
    user_id       bigserial   PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    role          text        NOT NULL CHECK (role IN ('agency', 'operator')),
    agency_id     text,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean     NOT NULL DEFAULT false,
    CONSTRAINT agency_has_one CHECK ((role = 'agency') = (agency_id IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS ops.portal_submissions (
    submission_id  bigserial   PRIMARY KEY,
    user_id        bigint      NOT NULL REFERENCES ops.portal_users (user_id),
    agency_id      text        NOT NULL,
    source         text        NOT NULL,
    original_name  text        NOT NULL,
    landing_path   text        NOT NULL,
    content_sha256 text        NOT NULL,
    size_bytes     bigint      NOT NULL,
    verdict        text        NOT NULL,
    rows_in        integer     NOT NULL DEFAULT 0,
    rows_rejected  integer     NOT NULL DEFAULT 0,
    night_of       date        NOT NULL,
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    client_addr    text
);
CREATE INDEX IF NOT EXISTS portal_submissions_agency_idx ON ops.portal_submissions (agency_id, submitted_at);
"""),
    (12, "the ledger entries of a file-only night's files: the readiness fact looks only at their partitions "
         "(dbt_project/macros/night_years.sql: night_files)", """
ALTER TABLE ops.dbt_night_scope ADD COLUMN IF NOT EXISTS file_ids bigint[];
"""),
)
MIGRATIONS_TABLE = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version     integer PRIMARY KEY,
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


def raw_columns(source: Source) -> list[tuple[str, str]]:
    cols = [(c.name, PG_TYPES[c.kind]) for c in source.columns]
    if source.name == "budget_bill":
        cols = [(n, BUDGET_BILL_TYPED.get(n, t)) for n, t in cols]
        cols += [(n, t) for n, t in BUDGET_BILL_TYPED.items() if n not in dict(cols)]
    cols += [(n, t) for n, t in source.extra_raw if n not in dict(cols)]
    return [*LINEAGE, *cols]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the ops migrations not yet recorded, in order (the caller holds the schema lock); their versions."""
    conn.execute(MIGRATIONS_TABLE)
    done = {v for (v,) in conn.execute("SELECT version FROM ops.schema_migrations").fetchall()}
    applied = []
    for version, description, ddl in MIGRATIONS:
        if version not in done:
            conn.execute(ddl)
            conn.execute("INSERT INTO ops.schema_migrations (version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(version)
    return applied


# Concurrent CREATE ... IF NOT EXISTS can still collide: every schema change runs under this lock.
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dgwh.schema'))"


def ensure_ops(conn: psycopg.Connection) -> None:
    """The ops schema, migrated (the run lock and dbt's results table need only this, and take no lock on raw)."""
    with conn.transaction():
        conn.execute(_SCHEMA_LOCK)
        migrate(conn)


def ensure_schema(conn: psycopg.Connection) -> None:
    """The ops schema migrated, and raw's tables as the sources define them (the pipeline role owns them), in one
    transaction under the schema lock."""
    with conn.transaction():
        conn.execute(_SCHEMA_LOCK)
        migrate(conn)
        for source in SOURCES.values():
            columns = raw_columns(source)
            cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns)
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, loaded_at timestamptz NOT NULL DEFAULT now())")
                         .format(sql.Identifier("raw", source.name), cols))
            for name, pg_type in columns:  # columns added since the table was created
                conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier("raw", source.name), sql.Identifier(name), sql.SQL(pg_type)))
            conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (file_id)").format(
                sql.Identifier(f"{source.name}_file_id_idx"), sql.Identifier("raw", source.name)))

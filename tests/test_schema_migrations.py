"""The ops schema has one owner (ground.schema) and real migrations: numbered, applied once, recorded."""

from __future__ import annotations

import pytest

from ground.schema import MIGRATIONS, ensure_schema, migrate


@pytest.fixture(scope="module")
def wh(make_warehouse):
    wh = make_warehouse("migrations")
    wh.use()
    return wh


def _columns(conn, table: str) -> set[str]:
    schema, name = table.split(".")
    return {c for (c,) in conn.execute("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_schema = %s AND table_name = %s", (schema, name))}


def test_migrations_are_numbered_in_order_and_described():
    versions = [v for v, _, _ in MIGRATIONS]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert all(description and ddl.strip() for _, description, ddl in MIGRATIONS)


def test_a_warehouse_from_before_migrations_is_brought_up_to_date_and_keeps_its_rows(wh):
    with wh.connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS ops CASCADE")
        # what an older release created: the first tables, without the columns and tables added since
        conn.execute(MIGRATIONS[0][2])
        conn.execute("""INSERT INTO ops.file_ledger (source, content_sha256, path, size_bytes, received_at, status)
                        VALUES ('readiness', 'abc', 'readiness/2563/a.csv', 10, now(), 'loaded')""")
        conn.execute("CREATE TABLE ops.run_lock (lock_name text PRIMARY KEY, owner text NOT NULL, "
                     "taken_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)")
        assert "files_through" not in _columns(conn, "ops.dbt_builds")

        ensure_schema(conn)

        applied = [v for (v,) in conn.execute("SELECT version FROM ops.schema_migrations ORDER BY 1")]
        assert applied == [v for v, _, _ in MIGRATIONS]
        assert {"agency_name", "fiscal_year_be"} <= _columns(conn, "ops.rejected_rows")
        assert "files_through" in _columns(conn, "ops.dbt_builds")
        assert {"holder_host", "holder_pid", "holder_pid_start", "dag_id"} <= _columns(conn, "ops.run_lock")
        assert {"run_id", "unique_id", "status"} <= _columns(conn, "ops.dbt_results")
        assert _columns(conn, "ops.file_withdrawals")
        assert conn.execute("SELECT path FROM ops.file_ledger").fetchall() == [("readiness/2563/a.csv",)]


def test_applied_migrations_are_not_run_again(wh):
    with wh.connect() as conn:
        ensure_schema(conn)
        before = conn.execute("SELECT version, applied_at FROM ops.schema_migrations ORDER BY 1").fetchall()
        with conn.transaction():
            assert migrate(conn) == []
        assert conn.execute("SELECT version, applied_at FROM ops.schema_migrations ORDER BY 1").fetchall() == before

"""Task bodies that take and give back the warehouse's run lease (ingest/runlock.py)."""

from __future__ import annotations


def take(run_id: str) -> None:
    from ingest.runlock import acquire
    from ingest.warehouse import connect

    with connect(autocommit=True) as conn:
        acquire(conn, run_id)


def give_back(run_id: str) -> None:
    from ingest.runlock import release
    from ingest.warehouse import connect

    with connect(autocommit=True) as conn:
        release(conn, run_id)

"""The Airflow pool the tasks that touch the warehouse share (loads, dbt, checks, freshness).

Its size is configuration, ``DGWH_WAREHOUSE_POOL_SLOTS`` (default 4): each slot is one task holding a
warehouse connection at once, across every run, nightly and backfill alike. One definition for every
place that creates it: ``docker/airflow/init.sh`` (compose's airflow-init, and so ``make prod-check``) and
``scripts/airflow.sh`` (``make run``, ``make backfill``, the tests) both run ``python -m nightly.pools``.
"""

from __future__ import annotations

import os

WAREHOUSE_POOL = "warehouse"
DEFAULT_SLOTS = 4
DESCRIPTION = "Tasks holding a warehouse connection (DGWH_WAREHOUSE_POOL_SLOTS)"


def warehouse_pool_slots(environ: dict[str, str] | None = None) -> int:
    """``DGWH_WAREHOUSE_POOL_SLOTS`` as a positive integer; anything else is a configuration error."""
    raw = (environ if environ is not None else os.environ).get("DGWH_WAREHOUSE_POOL_SLOTS", "").strip()
    if not raw:
        return DEFAULT_SLOTS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"DGWH_WAREHOUSE_POOL_SLOTS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def ensure_pools() -> tuple[str, int]:
    """Create or resize the pool in Airflow's metadata database (idempotent)."""
    from airflow.models.pool import Pool

    slots = warehouse_pool_slots()
    Pool.create_or_update_pool(name=WAREHOUSE_POOL, slots=slots, description=DESCRIPTION, include_deferred=False)
    return WAREHOUSE_POOL, slots


def main() -> int:
    name, slots = ensure_pools()
    print(f"pool {name}: {slots} slots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The marts as Airflow Assets: data-aware DAGs and BI refreshes schedule on these URIs.

Airflow's postgres provider (in the production image) accepts only ``postgres://host:port/database/
schema/table``. The server part comes from ``WAREHOUSE_URL`` (host, port, database; never the user or
password); unset (the embedded warehouse, whose port changes between starts) it is the compose stack's
``warehouse:5432/warehouse``, so an Asset keeps one identity. The marts are the dbt project's models in
schema ``marts``, read from the manifest the DAGs are rendered from.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from airflow.sdk import Asset

from ground.manifest import mart_names

DEFAULT_AUTHORITY = ("warehouse", 5432, "warehouse")


def warehouse_authority(url: str | None = None) -> tuple[str, int, str]:
    """(host, port, database) of the warehouse the marts live in."""
    url = url if url is not None else os.environ.get("WAREHOUSE_URL", "")
    if not url:
        return DEFAULT_AUTHORITY
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or DEFAULT_AUTHORITY[2]
    return (parts.hostname or DEFAULT_AUTHORITY[0], parts.port or 5432, database)


def table_uri(schema: str, table: str, url: str | None = None) -> str:
    """A warehouse table's Asset URI (the marts', and the raw and staging tables' in lineage events)."""
    host, port, database = warehouse_authority(url)
    return f"postgres://{host}:{port}/{database}/{schema}/{table}"


def mart_uri(name: str, url: str | None = None) -> str:
    return table_uri("marts", name, url)


MARTS = [Asset(mart_uri(name)) for name in mart_names()]

"""Superset settings for the docker-compose stack. Secrets come from the environment, never from here.

Superset keeps its own metadata in database ``superset`` on the metadata PostgreSQL; the warehouse is
registered by ``bootstrap.sh`` (superset-init) with ``marts_uri()``: role bi_reader, which reads
schema ``marts`` and nothing else.
"""

from __future__ import annotations

import os
from urllib.parse import quote

MARTS_DATABASE_NAME = "DG warehouse (marts)"


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} must be set for Superset (see .env.example)")
    return value


def _postgres_uri(user: str, password: str, host: str, database: str) -> str:
    return f"postgresql+psycopg2://{quote(user, safe='')}:{quote(password, safe='')}@{host}:5432/{database}"


def marts_uri() -> str:
    """The warehouse as bi_reader, for superset-init; the running server never needs this password."""
    return _postgres_uri("bi_reader", _env("BI_READER_PASSWORD"), os.environ.get("WAREHOUSE_HOST", "warehouse"),
                         "warehouse")


SECRET_KEY = _env("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = _postgres_uri("superset", _env("SUPERSET_DB_PASSWORD"),
                                        os.environ.get("SUPERSET_DB_HOST", "metadata-db"), "superset")

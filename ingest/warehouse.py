"""Where the warehouse is: WAREHOUSE_URL if set, else the checkout's embedded PostgreSQL.

``python -m ingest.warehouse url|bi-url|stop`` backs the Makefile's targets.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from ingest.embedded_pg import BI_ROLE, PIPELINE_ROLE, EmbeddedWarehouse
from ingest.settings import get_settings


def embedded() -> EmbeddedWarehouse:
    return EmbeddedWarehouse(get_settings().state_dir)


def warehouse_url() -> str:
    """The pipeline's URL, starting the embedded server when WAREHOUSE_URL is unset."""
    url = get_settings().warehouse_url
    if url:
        return url
    return embedded().start().url(PIPELINE_ROLE)


def bi_reader_url() -> str:
    """The read-only BI URL: same server, role bi_reader."""
    settings = get_settings()
    if not settings.warehouse_url:
        return embedded().start().url(BI_ROLE)
    parts = urlsplit(settings.warehouse_url)
    password = quote(bi_reader_password(), safe="")
    netloc = f"{BI_ROLE}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def bi_reader_password() -> str:
    """BI_READER_PASSWORD for an external server; generated for the embedded one."""
    if not get_settings().warehouse_url:
        return embedded().start().passwords[BI_ROLE]
    pw = os.environ.get("BI_READER_PASSWORD")
    if not pw:
        raise RuntimeError("BI_READER_PASSWORD must be set when WAREHOUSE_URL points at an external server")
    return pw


_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


class WarehouseUnavailable(psycopg.OperationalError):
    """The warehouse cannot be reached; the message names it with the password masked."""


def mask_url(url: str) -> str:
    """The URL (or key=value connection string) with every password replaced, for logs and summaries."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    query = "&".join("password=***" if q.split("=", 1)[0].lower() == "password" else q
                     for q in parts.query.split("&")) if parts.query else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def connect(autocommit: bool = False, url: str | None = None) -> psycopg.Connection:
    url = url or warehouse_url()
    try:
        return psycopg.connect(url, autocommit=autocommit, application_name="dg_warehouse")
    except psycopg.OperationalError as exc:
        raise WarehouseUnavailable(f"cannot connect to the warehouse {mask_url(url)}: {exc}") from None


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "url"
    if cmd == "url":
        print(warehouse_url())
    elif cmd == "bi-url":
        print(bi_reader_url())
    elif cmd == "stop":
        if get_settings().warehouse_url:
            print("WAREHOUSE_URL is set: nothing embedded to stop")
        else:
            print("embedded warehouse stopped" if embedded().stop() else "embedded warehouse was not running")
    else:
        print(f"unknown command {cmd!r}; use url, bi-url or stop", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

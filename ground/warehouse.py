"""Where the warehouse is: WAREHOUSE_URL if set, else the Airflow connection ``dg_warehouse`` (inside Airflow),
else the checkout's embedded PostgreSQL.

Inside Airflow the warehouse is the connection ``dg_warehouse`` (type postgres): the dbt tasks get their
profile from it (Cosmos's profile mapping, ``dags/common/dbt_group.py``) and the pipeline's own tasks resolve
it here, so one definition serves both. ``scripts/airflow.sh`` defines it for local runs
(``AIRFLOW_CONN_DG_WAREHOUSE`` from ``python -m ground.warehouse url``); the compose file from its secrets.
A connection pointing at this checkout's embedded server is that server: it is started when down, and stays
down after ``make stop``.

``python -m ground.warehouse url|bi-url|check|stop`` backs the Makefile's targets; each fails with one line
(``error: ...``) on stderr, never a traceback.

Connections fail fast: each attempt waits at most ``DGWH_CONNECT_TIMEOUT_S`` (default 10) and a warehouse
that cannot be reached is tried again for at most ``DGWH_CONNECT_BUDGET_S`` (default 15) before
``WarehouseUnavailable`` names it (host:port, password masked). Longer outages are the scheduler's:
Airflow retries the tasks. A run never starts an embedded server that ``make stop`` stopped.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import psycopg

from ground.embedded_pg import BI_ROLE, PIPELINE_ROLE, EmbeddedWarehouse, EmbeddedWarehouseError
from ground.settings import WAREHOUSE_CONN_ID, get_settings

log = logging.getLogger(__name__)
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_CONNECT_BUDGET_S = 15.0
CONN_ID = WAREHOUSE_CONN_ID
CONN_ENV = "AIRFLOW_CONN_" + CONN_ID.upper()
# Connection extras that are libpq parameters, carried into the URL (the rest are Airflow's or a hook's own).
_LIBPQ_EXTRAS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "keepalives_idle", "target_session_attrs")


def embedded() -> EmbeddedWarehouse:
    return EmbeddedWarehouse(get_settings().state_dir)


def url_from_connection(conn: Any) -> str:
    """An Airflow postgres connection as a PostgreSQL URL (the database is the connection's ``schema``)."""
    if conn.conn_type not in ("postgres", "postgresql"):
        raise RuntimeError(f"the Airflow connection {conn.conn_id} has type {conn.conn_type!r}, not postgres")
    auth = quote(conn.login or "", safe="") + (f":{quote(conn.password, safe='')}" if conn.password else "")
    netloc = f"{auth}@" if auth else ""
    host = conn.host or "127.0.0.1"
    netloc += (f"[{host}]" if ":" in host else host) + f":{conn.port or 5432}"
    extras = conn.extra_dejson or {}
    query = urlencode({k: extras[k] for k in _LIBPQ_EXTRAS if extras.get(k) not in (None, "")})
    return urlunsplit(("postgresql", netloc, "/" + (conn.schema or "postgres"), query, ""))


def connection_url() -> str | None:
    """The Airflow connection ``dg_warehouse`` as a URL, or None when it is not defined. Looked up through
    Airflow's secrets backends (environment, then the metadata database or a secrets backend in a task) only
    in a process already running Airflow, or when ``AIRFLOW_CONN_DG_WAREHOUSE`` is set: a plain command line
    does not pay seconds for importing Airflow."""
    if "airflow.sdk" not in sys.modules and not os.environ.get(CONN_ENV):
        return None
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        return None
    return url_from_connection(conn)


def _is_embedded(url: str) -> bool:
    """Whether ``url`` is this checkout's embedded server (same loopback port as its ``pg.json``)."""
    server = embedded()
    if not server.config_path.exists():
        return False
    parts = urlsplit(url)
    return parts.hostname in ("127.0.0.1", "localhost") and parts.port == server.config().port


def external_url() -> str | None:
    """WAREHOUSE_URL, else the Airflow connection unless it is this checkout's embedded server; None: the
    warehouse is the embedded one."""
    url = get_settings().warehouse_url
    if url:
        return url
    url = connection_url()
    return url if url and not _is_embedded(url) else None


def warehouse_url() -> str:
    """The pipeline's URL (``external_url``), else the embedded server's, starting it when it is down (unless
    ``make stop`` stopped it: then ``EmbeddedWarehouseStopped``)."""
    return external_url() or embedded().ensure_started().url(PIPELINE_ROLE)


def stopped_reason(exc: BaseException) -> str | None:
    """One line when ``exc`` comes from the embedded warehouse having been stopped with ``make stop`` (before
    or during the work that raised it), else None: such a failure is not worth retrying."""
    from ground.embedded_pg import EmbeddedWarehouseStopped

    if isinstance(exc, EmbeddedWarehouseStopped):
        return str(exc)
    if not embedded().stopped_on_purpose() or external_url():
        return None
    if isinstance(exc, psycopg.Error | EmbeddedWarehouseError):
        return ("the embedded warehouse was stopped with `make stop` during the run, which stops here; "
                "`make run` starts it again and loads what is left")
    return None


def bi_reader_url() -> str:
    """The read-only BI URL: same server, role bi_reader."""
    external = external_url()
    if not external:
        return embedded().ensure_started().url(BI_ROLE)
    parts = urlsplit(external)
    password = quote(bi_reader_password(), safe="")
    netloc = f"{BI_ROLE}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def bi_reader_password() -> str:
    """BI_READER_PASSWORD for an external server; generated for the embedded one."""
    if not external_url():
        return embedded().ensure_started().passwords[BI_ROLE]
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


def host_port(url: str) -> str:
    """``host:port`` of a URL or key=value connection string, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "?"
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}"


def _transient(exc: psycopg.OperationalError) -> bool:
    """Nothing answered (refused, timed out, unreachable), or the server is starting or full: worth a retry.
    A server's refusal (password, database, role) is not."""
    return exc.sqlstate in (None, "57P03", "53300")


def connect(autocommit: bool = False, url: str | None = None) -> psycopg.Connection:
    url = url or warehouse_url()
    timeout = max(1, int(float(os.environ.get("DGWH_CONNECT_TIMEOUT_S") or DEFAULT_CONNECT_TIMEOUT_S)))
    budget = float(os.environ.get("DGWH_CONNECT_BUDGET_S") or DEFAULT_CONNECT_BUDGET_S)
    started = time.monotonic()
    attempts, delay = 0, 0.5
    while True:
        attempts += 1
        try:
            return psycopg.connect(url, autocommit=autocommit, application_name="dg_warehouse",
                                   connect_timeout=timeout)
        except psycopg.OperationalError as exc:
            waited = time.monotonic() - started
            if _transient(exc) and waited + delay < budget:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            reason = " ".join(str(exc).split())  # libpq's message spans lines: one line, for people and logs
            tried = f"; tried {attempts} times in {waited:.0f}s (DGWH_CONNECT_BUDGET_S)" if attempts > 1 else ""
            raise WarehouseUnavailable(f"cannot connect to the warehouse {mask_url(url)} at {host_port(url)}: "
                                       f"{reason}{tried}") from None


def check() -> str:
    """Connect once (with the budget above) and say where the warehouse is: ``make run``'s first step, so a
    wrong or unreachable WAREHOUSE_URL fails in seconds, before Airflow starts."""
    url = warehouse_url()
    with connect(autocommit=True, url=url) as conn:
        conn.execute("SELECT 1")
    return f"warehouse reachable at {host_port(url)}"


def _one_line(exc: BaseException) -> str:
    """The first line of an error: the embedded server's start failure carries its log's tail after it."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, EmbeddedWarehouseError) and "\n" in str(exc).strip():
        first += f" (its log: {embedded().log_path})"
    return first


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "url"
    try:
        if cmd == "url":
            url = external_url() or embedded().start().url(PIPELINE_ROLE)  # explicit: ends a stop
            print(url)
        elif cmd == "bi-url":
            if not external_url():
                embedded().start()
            print(bi_reader_url())
        elif cmd == "check":
            if not external_url():
                embedded().start()
            print(check())
        elif cmd == "stop":
            if external_url():
                print(("WAREHOUSE_URL is set" if get_settings().warehouse_url else
                       f"the Airflow connection {CONN_ID} is another server") + ": nothing embedded to stop")
            else:
                how = embedded().stop(keep_stopped=True)
                print(f"embedded warehouse {how}; it stays stopped until `make run` or `make warehouse-url`" if how
                      else "embedded warehouse was not running")
        else:
            print(f"unknown command {cmd!r}; use url, bi-url, check or stop", file=sys.stderr)
            return 2
    except (EmbeddedWarehouseError, psycopg.Error, OSError, RuntimeError) as exc:
        log.debug("python -m ground.warehouse %s failed", cmd, exc_info=True)
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

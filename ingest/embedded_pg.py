"""The embedded warehouse: a real PostgreSQL owned by this checkout.

Data lives in ``<state>/pgdata``; the server listens on 127.0.0.1 on a free port chosen at
first start (kept in ``<state>/pg.json``), so two clones on one machine never clash. Passwords
are generated once and kept in that file (mode 0600), never in the repo. As root, PostgreSQL
refuses to run, so the server runs as an unprivileged system user.

Roles as in the production init script (docker/warehouse/10-warehouse-roles.sh): ``dg_pipeline``
owns the database and what it creates, with no superuser, CREATEROLE or CREATEDB; ``bi_reader``
may connect to the warehouse only (dbt's grant macro gives it schema ``marts``); PUBLIC gets nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SERVICE_USER = "dgwh"
DATABASE = "warehouse"
ADMIN_ROLE = "postgres"
PIPELINE_ROLE = "dg_pipeline"
BI_ROLE = "bi_reader"


class EmbeddedWarehouseError(RuntimeError):
    pass


@dataclass(frozen=True)
class EmbeddedConfig:
    port: int
    passwords: dict[str, str]

    def url(self, role: str = PIPELINE_ROLE, database: str = DATABASE) -> str:
        pw = quote(self.passwords[role], safe="")
        return f"postgresql://{role}:{pw}@127.0.0.1:{self.port}/{database}"


def _bin_dir() -> Path:
    """PostgreSQL binaries: the pinned pgserver wheel's, else the system's."""
    spec = importlib.util.find_spec("pgserver")  # located, not imported: its import is noisy
    if spec and spec.origin:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    raise EmbeddedWarehouseError("no PostgreSQL binaries found (install the pgserver wheel)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
        )
    return SERVICE_USER


def _write_private(path: Path, text: str) -> None:
    """Write a secret file that is 0600 from its first byte (not chmod-ed after it was readable)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _make_traversable(path: Path) -> None:
    """Let the service user reach the data directory (only adds o+x on parents)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _pg(state: Path, args: list[str], user: str | None, **kw) -> subprocess.CompletedProcess:
    exe = _bin_dir() / args[0]
    # Drop root's group too: keeping gid 0 would make a root-owned 0701 parent deny by its group bits.
    ids = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}
    try:
        return subprocess.run([str(exe), *args[1:]], check=True, text=True, capture_output=True,
                              cwd=str(state), **ids, **kw)
    except subprocess.CalledProcessError as exc:
        if args[0] == "pg_ctl" and args[1] == "status":
            raise
        raise EmbeddedWarehouseError(f"{args[0]} failed: {exc.stderr.strip() or exc.stdout.strip()}") from exc


class EmbeddedWarehouse:
    def __init__(self, state_dir: Path) -> None:
        self.state = state_dir.resolve()
        self.pgdata = self.state / "pgdata"
        self.config_path = self.state / "pg.json"
        self.log_path = self.state / "postgres.log"

    def config(self) -> EmbeddedConfig:
        data = json.loads(self.config_path.read_text())
        return EmbeddedConfig(port=data["port"], passwords=data["passwords"])

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        try:
            _pg(self.state, ["pg_ctl", "status", "-D", str(self.pgdata)], _run_as())
            return True
        except subprocess.CalledProcessError:
            return False

    def _init(self) -> None:
        user = _run_as()
        self.state.mkdir(parents=True, exist_ok=True)
        passwords = {r: secrets.token_urlsafe(24) for r in (ADMIN_ROLE, PIPELINE_ROLE, BI_ROLE)}
        pwfile = self.state / ".initpw"
        _write_private(pwfile, passwords[ADMIN_ROLE])  # issue 20: never 0644, even while initdb runs
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user:
            _make_traversable(self.state)
            uid = pwd.getpwnam(user).pw_uid
            for p in (self.pgdata, pwfile):
                os.chown(p, uid, -1)
            os.chown(self.state, uid, -1)
        try:
            _pg(self.state, ["initdb", "-D", str(self.pgdata), "-U", ADMIN_ROLE, "--pwfile", str(pwfile),
                             "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"], user)
        finally:
            pwfile.unlink(missing_ok=True)
        port = _free_port()
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "shared_buffers = 256MB\nmax_connections = 100\nfsync = on\n"
                "timezone = 'Asia/Bangkok'\n"
            )
        _write_private(self.config_path, json.dumps({"port": port, "passwords": passwords}))

    def start(self) -> EmbeddedConfig:
        if not self.config_path.exists():
            if self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            self._init()
            self._start()
            self._bootstrap()
        elif not self.is_running():
            self._start()
            self._harden()  # warehouses made before the roles were narrowed get narrowed too
        return self.config()

    def _start(self) -> None:
        user = _run_as()
        try:
            _pg(self.state, ["pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata),
                             "-l", str(self.log_path)], user)
        except EmbeddedWarehouseError as exc:
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            message = f"embedded PostgreSQL ({self.pgdata}) did not start: {exc}\n{tail}"
            for password in self.config().passwords.values():  # a server log may quote a statement
                message = message.replace(password, "***")
            raise EmbeddedWarehouseError(message) from None

    def _admin(self, database: str = "postgres"):
        import psycopg

        url = self.config().url(ADMIN_ROLE, database)
        for _ in range(50):
            try:
                return psycopg.connect(url, autocommit=True)
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise EmbeddedWarehouseError("embedded PostgreSQL started but refuses connections")

    def _bootstrap(self) -> None:
        """Create the warehouse database, the pipeline role that owns it and the BI role."""
        from psycopg import sql

        cfg = self.config()
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(PIPELINE_ROLE), sql.Literal(cfg.passwords[PIPELINE_ROLE])))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(PIPELINE_ROLE)))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(BI_ROLE), sql.Literal(cfg.passwords[BI_ROLE])))
        self._harden()

    def _harden(self) -> None:
        """Least privilege, idempotently: the same grants as the production init script."""
        from psycopg import sql

        pipeline, bi, db = sql.Identifier(PIPELINE_ROLE), sql.Identifier(BI_ROLE), sql.Identifier(DATABASE)
        with self._admin() as conn:
            roles = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                                ([PIPELINE_ROLE, BI_ROLE],))}
            if roles != {PIPELINE_ROLE, BI_ROLE}:
                return  # not a warehouse this module bootstrapped
            conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE").format(pipeline))
            conn.execute(sql.SQL("ALTER ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT").format(bi))
            if conn.execute("SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                            "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s",
                            (BI_ROLE, PIPELINE_ROLE)).fetchone():
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(bi, pipeline))  # granted by older versions
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, bi))
            conn.execute("REVOKE ALL ON DATABASE postgres FROM PUBLIC")
        with self._admin(DATABASE) as conn:
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")

    def stop(self) -> bool:
        if not self.is_running():
            return False
        _pg(self.state, ["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata)], _run_as())
        return True

"""The embedded warehouse: a real PostgreSQL owned by this checkout.

Data lives in ``<state>/pgdata``; the server listens on 127.0.0.1 on a free port chosen at
first start (kept in ``<state>/pg.json``), so two clones on one machine never clash. Passwords
are generated once and kept in that file (mode 0600), never in the repo. As root, PostgreSQL
refuses to run, so the server runs as an unprivileged system user.

Roles as in the production init script (docker/warehouse/10-warehouse-roles.sh): ``dg_pipeline``
owns the database and what it creates, with no superuser, CREATEROLE or CREATEDB; ``bi_reader``
may connect to the warehouse only (dbt's grant macro gives it schema ``marts``), its sessions limited by
``ground.settings.session_limits`` (idle transactions and statements end); PUBLIC gets nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class EmbeddedWarehouseStopped(EmbeddedWarehouseError):
    """``make stop`` stopped the server: nothing but an explicit start (``make run``, ``make warehouse-url``)
    brings it back, so a run's reconnect or retry cannot undo the stop."""


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


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created inside are the owner's alone (0600/0700) from their first byte."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


# POSIX access ACLs as Linux stores them (the system.posix_acl_access xattr, acl_ea.h): a version
# header, then (tag, permissions, id) entries sorted by tag and id.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_ACL_USER_OBJ, _ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP, _ACL_MASK, _ACL_OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_ACL_NO_ID = 0xFFFFFFFF


def _acl_entries(path: Path) -> list[tuple[int, int, int]]:
    """The folder's access ACL; a folder without one has the three entries of its mode bits."""
    try:
        raw = os.getxattr(path, _ACL_XATTR)
    except OSError:
        raw = b""
    if len(raw) >= 4 and struct.unpack("<I", raw[:4])[0] == _ACL_VERSION:
        return [struct.unpack("<HHI", raw[i:i + 8]) for i in range(4, len(raw) - 7, 8)]
    mode = path.stat().st_mode
    return [(_ACL_USER_OBJ, (mode >> 6) & 7, _ACL_NO_ID), (_ACL_GROUP_OBJ, (mode >> 3) & 7, _ACL_NO_ID),
            (_ACL_OTHER, mode & 7, _ACL_NO_ID)]


def _grant_search(path: Path, uid: int) -> None:
    """Let one user (and nobody else) pass through a folder: a POSIX ACL entry ``user:<uid>:--x``.

    The mask entry an ACL needs becomes the union of the group entries, as setfacl computes it, so
    the owning group gains nothing it did not have; the mode's other bits stay as they were."""
    entries = [e for e in _acl_entries(path) if not (e[0] == _ACL_USER and e[2] == uid)]
    current = {e[2]: e[1] for e in _acl_entries(path) if e[0] == _ACL_USER}
    entries.append((_ACL_USER, current.get(uid, 0) | 1, uid))
    entries = [e for e in entries if e[0] != _ACL_MASK]
    mask = 0
    for tag, perm, _ in entries:
        if tag in (_ACL_USER, _ACL_GROUP, _ACL_GROUP_OBJ):
            mask |= perm
    entries.append((_ACL_MASK, mask, _ACL_NO_ID))
    entries.sort(key=lambda e: (e[0], e[2]))
    os.setxattr(path, _ACL_XATTR, struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e)
                                                                             for e in entries))


def _can_search(path: Path, uid: int, gid: int) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & 0o100)
    for tag, perm, who in _acl_entries(path):
        if tag == _ACL_USER and who == uid:
            mask = next((p for t, p, _ in _acl_entries(path) if t == _ACL_MASK), 7)
            return bool(perm & mask & 1)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def _make_traversable(path: Path, user: str) -> None:
    """Let the service user reach the data directory: each parent it cannot pass through gets an ACL
    entry for that one user. No folder gains other-execute (``/root`` stays 0700 to others)."""
    entry = pwd.getpwnam(user)
    for parent in [path, *path.parents]:
        if _can_search(parent, entry.pw_uid, entry.pw_gid):
            continue
        try:
            _grant_search(parent, entry.pw_uid)
        except OSError as exc:
            raise EmbeddedWarehouseError(
                f"the embedded warehouse's server user {user} cannot reach {path}: {parent} lets it not pass and "
                f"takes no ACL ({exc.strerror}); grant it search permission there (setfacl -m u:{user}:x "
                f"{parent}) or set DGWH_STATE_DIR to a folder it can reach") from None


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

    @property
    def stopped_marker(self) -> Path:
        """Present while ``make stop`` wants the server down: only an explicit start removes it."""
        return self.state / "pg.stopped"

    def stopped_on_purpose(self) -> bool:
        return self.stopped_marker.exists()

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        try:
            _pg(self.state, ["pg_ctl", "status", "-D", str(self.pgdata)], _run_as())
            return True
        except subprocess.CalledProcessError:
            return False

    def orphan_pid(self) -> int | None:
        """The postmaster serving this data directory when its ``postmaster.pid`` is gone (deleted by hand):
        found by its command line (``postgres -D <pgdata>``), which pg_ctl cannot do without the pid file."""
        target = str(self.pgdata)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            args = [a.decode(errors="replace") for a in argv if a]
            if not args or Path(args[0]).name != "postgres" or "-D" not in args[:-1]:
                continue
            given = args[args.index("-D") + 1]
            try:
                same = Path(given).resolve() == self.pgdata
            except OSError:
                same = given == target
            if same:
                return int(proc.name)
        return None

    def _stop_orphan(self, pid: int) -> None:
        """Fast shutdown (SIGINT), as ``pg_ctl stop -m fast`` sends, then wait for it to end."""
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or self.orphan_pid() != pid:
                return
            time.sleep(0.1)
        raise EmbeddedWarehouseError(f"the embedded PostgreSQL (pid {pid}, {self.pgdata}) did not stop within 60 s "
                                     f"of a fast shutdown; stop it with `kill -INT {pid}` or `kill -QUIT {pid}`")

    def _init(self) -> None:
        user = _run_as()
        with private_umask():  # .initpw, pg.json and the state folder are never readable by others
            self.state.mkdir(parents=True, exist_ok=True)
            passwords = {r: secrets.token_urlsafe(24) for r in (ADMIN_ROLE, PIPELINE_ROLE, BI_ROLE)}
            pwfile = self.state / ".initpw"
            _write_private(pwfile, passwords[ADMIN_ROLE])
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user:
            uid = pwd.getpwnam(user).pw_uid
            for p in (self.pgdata, pwfile):
                os.chown(p, uid, -1)
            os.chown(self.state, uid, -1)
            _make_traversable(self.state, user)
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

    def ensure_started(self) -> EmbeddedConfig:
        """Start the server if it is down, unless ``make stop`` stopped it: what a run's connections call."""
        if self.stopped_on_purpose():  # even while it is still shutting down: nothing may undo the stop
            raise EmbeddedWarehouseStopped(
                "the embedded warehouse was stopped with `make stop` and stays stopped; `make run` or "
                "`make warehouse-url` starts it again")
        return self.start()

    def start(self) -> EmbeddedConfig:
        """Start the server (an explicit start: it also ends a ``make stop``)."""
        self.stopped_marker.unlink(missing_ok=True)
        if not self.config_path.exists():
            if self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            self._init()
            self._start()
            self._bootstrap()
        elif not self.is_running():
            orphan = self.orphan_pid()
            if orphan is not None:  # its postmaster.pid was deleted: it shuts itself down within a minute anyway
                print(f"the embedded warehouse's postmaster.pid was missing while its server (pid {orphan}) still "
                      "ran: stopped that server to start it again cleanly", file=sys.stderr, flush=True)
                self._stop_orphan(orphan)
            self._start()
            self._harden()  # warehouses made before the roles were narrowed get narrowed too
        return self.config()

    def _start(self) -> None:
        user = _run_as()
        if user:
            _make_traversable(self.state, user)
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
        """Least privilege, idempotently: the same grants and bi_reader settings as the production init scripts;
        run at every start, so an existing warehouse takes changed settings when it next starts."""
        from psycopg import sql

        from ground.settings import session_limits

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
            for name, value in session_limits().bi_role_settings().items():  # a BI session cannot hold the night
                conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(bi, sql.Identifier(name), sql.Literal(value)))
            conn.execute("REVOKE ALL ON DATABASE postgres FROM PUBLIC")
        with self._admin(DATABASE) as conn:
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")

    def stop(self, keep_stopped: bool = False) -> str | None:
        """Stop the server; None if none was running. ``keep_stopped`` (``make stop``): nothing but an explicit
        start brings it back. A server whose ``postmaster.pid`` was deleted is found by its data directory."""
        if keep_stopped and self.config_path.exists():
            self.stopped_marker.touch()  # first: a run reconnecting while the server goes down must not restart it
        if self.is_running():
            _pg(self.state, ["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata)], _run_as())
            return "stopped"
        orphan = self.orphan_pid()
        if orphan is not None:
            self._stop_orphan(orphan)
            return f"stopped (its postmaster.pid was missing: found the server, pid {orphan}, by its data directory)"
        return None

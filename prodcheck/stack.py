"""Start and stop the stack's processes. Every process is started in a session of its own and stopped by
its PID (its process group), whatever happened; logs go to ``<root>/logs/<name>.log``."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from prodcheck.compose import Process

POSTGRES_NAMES = ("metadata-db", "warehouse")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    """The embedded warehouse's PostgreSQL (the pgserver wheel's 16, as the compose file's images), else the
    system's."""
    from ground.embedded_pg import _bin_dir

    return _bin_dir()


class ProcessDied(RuntimeError):
    """A process the check started has exited while it should run."""


@dataclass
class Started:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Stack:
    root: Path
    started: list[Started] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        path = self.root / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, process: Process, log_name: str | None = None) -> Started:
        log = self.logs / f"{log_name or process.name}.log"
        # SIGTERM/SIGINT wait until the process is among the started ones, so the cleanup stops it
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            with log.open("ab") as out:
                popen = subprocess.Popen(process.argv, env=process.env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.root,
                                         **_as_user(process.user))
            started = Started(log_name or process.name, popen, log)
            self.started.append(started)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return started

    def dead(self) -> list[tuple[Started, int]]:
        """The started processes that have exited, with their exit codes (a process stopped on purpose is no
        longer among the started ones)."""
        return [(s, code) for s in self.started if (code := s.popen.poll()) is not None]

    def check_alive(self) -> None:
        """Raise ``ProcessDied`` naming every started process that has exited, with the last lines of its log."""
        dead = self.dead()
        if dead:
            raise ProcessDied("; ".join(f"{s.name} (pid {s.popen.pid}) exited with code {code}" for s, code in dead)
                              + "".join(f"\n--- {s.log.name} (last lines) ---\n{tail(s.log, 15)}" for s, _ in dead))

    def run(self, process: Process, timeout: float = 600) -> None:
        """A one-shot service (airflow-init, an init script): must exit 0."""
        log = self.logs / f"{process.name}.log"
        with log.open("ab") as out:
            done = subprocess.run(process.argv, env=process.env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.root,
                                  **_as_user(process.user))
        if done.returncode != 0:
            raise RuntimeError(f"{process.name} exited {done.returncode}:\n{tail(log)}")

    def stop(self, started: Started, sig: int = signal.SIGTERM, grace: float = 20) -> None:
        """Signal the process group of one started process; SIGKILL what is left after ``grace``."""
        pid = started.popen.pid
        members = _group(pid)
        with _quiet():
            os.killpg(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (started.popen.poll() is None or any(p.is_running() and
                                                                                    p.status() != "zombie"
                                                                                    for p in members)):
            time.sleep(0.2)
        with _quiet():
            os.killpg(pid, signal.SIGKILL)
        for proc in members:
            with _quiet():
                proc.kill()
        with _quiet():
            started.popen.wait(timeout=10)
        if started in self.started:
            self.started.remove(started)

    def kill_tree(self, started: Started) -> None:
        """SIGKILL a process and everything under it at once (a host dying)."""
        members = [psutil.Process(started.popen.pid), *_descendants(started.popen.pid)]
        for proc in members:
            with _quiet():
                proc.send_signal(signal.SIGKILL)
        with _quiet():
            started.popen.wait(timeout=10)
        self.started.remove(started)

    def stop_all(self, grace: float = 30) -> None:
        """Airflow's processes first, all at once (SIGTERM, SIGKILL after ``grace``), then Redis and
        PostgreSQL (SIGINT: a fast shutdown that does not wait for clients)."""
        services = [s for s in self.started if s.name not in (*POSTGRES_NAMES, "redis")]
        for group in (services, [s for s in self.started if s not in services]):
            members = {s.popen.pid: [psutil.Process(s.popen.pid), *_descendants(s.popen.pid)]
                       for s in group if s.popen.poll() is None}
            for started in group:
                with _quiet():
                    os.killpg(started.popen.pid, signal.SIGINT if started.name in POSTGRES_NAMES else signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_alive(p) for procs in members.values() for p in procs):
                time.sleep(0.3)
            for started in group:
                with _quiet():
                    os.killpg(started.popen.pid, signal.SIGKILL)
                for proc in members.get(started.popen.pid, []):
                    with _quiet():
                        proc.kill()
                with _quiet():
                    started.popen.wait(timeout=10)
                self.started.remove(started)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _as_user(user: str | None) -> dict:
    # Drop root's group too, as ground/embedded_pg.py does.
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _group(pid: int) -> list[psutil.Process]:
    return _descendants(pid)


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, (ProcessLookupError, psutil.Error, subprocess.TimeoutExpired,
                                                      PermissionError))


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for(what: str, check, timeout: float, interval: float = 1.0, alive=None):
    """Poll ``check`` until it returns something true; ``alive`` (``Stack.check_alive``) ends the wait at once
    when a process of the stack died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 (anything may fail while a service starts)
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s" + (f" ({last})" if last else ""))


def postgres_server(stack: Stack, name: str, service: dict, port: int, env: dict[str, str]) -> Path:
    """A PostgreSQL server like the compose service's image: ``initdb`` with the service's superuser and
    password (local socket trust, TCP scram), the service's ``command`` flags, then its
    ``docker-entrypoint-initdb.d`` scripts with the service's environment. Returns the socket dir."""
    from ground.embedded_pg import _make_traversable, _run_as
    from prodcheck.compose import REPO, interpolate

    bindir = pg_bin()
    data, sockets = stack.root / name / "data", stack.root / name / "run"
    sockets.mkdir(parents=True, exist_ok=True)
    owner = _run_as()  # as root: the embedded warehouse's unprivileged service user
    if owner:
        _make_traversable(stack.root, owner)
        for path in (stack.root / name, sockets):
            shutil.chown(path, owner, pwd.getpwnam(owner).pw_gid)
    senv = {k: interpolate(str(v), env) for k, v in service.get("environment", {}).items()}
    user = senv.get("POSTGRES_USER", "postgres")
    pwfile = stack.root / name / "pwfile"
    pwfile.write_text(senv["POSTGRES_PASSWORD"])
    pwfile.chmod(0o600)
    if owner:
        shutil.chown(pwfile, owner)
    initdb = Process(f"{name}-initdb", [str(bindir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(pwfile),
                                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                        "--locale=C.UTF-8"], {**os.environ, "LC_ALL": "C.UTF-8"}, owner)
    stack.run(initdb)
    pwfile.unlink()
    command = service.get("command") or ["postgres"]
    flags = list(command[1:]) if command[0] == "postgres" else []
    server = Process(name, [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
                            "-c", "listen_addresses=127.0.0.1", *flags], dict(os.environ), owner)
    stack.start(server)
    isready = shutil.which("pg_isready", path=str(bindir)) or "pg_isready"
    wait_for(f"{name} PostgreSQL", lambda: subprocess.run(
        [isready, "-h", str(sockets), "-p", str(port), "-U", user, "-d", "postgres"],
        capture_output=True).returncode == 0, timeout=60, interval=0.5, alive=stack.check_alive)
    for volume in service.get("volumes", []):
        source, _, target = str(volume).partition(":")
        if target.startswith("/docker-entrypoint-initdb.d/"):
            script_env = {**os.environ, **senv, "PGHOST": str(sockets), "PGPORT": str(port),
                          "PATH": f"{bindir}:{os.environ['PATH']}"}
            stack.run(Process(f"{name}-init", ["bash", str((REPO / source).resolve())], script_env))
    return sockets

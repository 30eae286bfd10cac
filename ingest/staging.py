"""Staging copies (``ingest.discover.snapshot``) under a folder named after the process that made them, so
copies a killed process left behind can be told from those of a live one and removed at the next run's start.

A folder is ``<host>-<pid>-<process start time>``: the start time tells a live process from a later one that
got the same pid. Only this host's folders are judged; copies of the layout before (``snap-*`` directly in
the staging folder) have no owner to ask and are removed with the stale ones.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
from pathlib import Path

log = logging.getLogger(__name__)
_OWNER = re.compile(r"^(?P<host>.+)-(?P<pid>\d+)-(?P<start>\d+)$")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str) -> bool:
    if not Path("/proc/self/stat").exists():  # no /proc: the pid alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return _start_time(pid) == start


def process_dir(staging_root: Path) -> Path:
    """This process's folder of staging copies (created 0700)."""
    folder = staging_root / f"{socket.gethostname()}-{os.getpid()}-{_start_time(os.getpid()) or 0}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def clear_stale(staging_root: Path) -> list[Path]:
    """Remove the staging copies whose process is gone (killed during a load); returns the folders removed."""
    if not staging_root.is_dir():
        return []
    host = socket.gethostname()
    removed = []
    for entry in staging_root.iterdir():
        owner = _OWNER.match(entry.name)
        if owner:
            if owner["host"] != host or _alive(int(owner["pid"]), owner["start"]):
                continue
        elif not entry.name.startswith("snap-"):
            continue  # not ours
        size = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
        shutil.rmtree(entry, ignore_errors=True)
        log.warning("removed staging copies a stopped load left behind: %s (%.1f MB)", entry.name, size / 1e6)
        removed.append(entry)
    return removed

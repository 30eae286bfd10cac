"""What ``make prod-check`` needs on this machine before it starts anything: each missing one named, with how
to get it, in one line (no stack half started, no silent wait for a service that could never run)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

# program: how to get it (Debian/Ubuntu); the compose services run as these programs here
PROGRAMS = {"redis-server": "apt-get install redis-server", "bash": "apt-get install bash",
            "sh": "apt-get install dash"}
POSTGRES_PROGRAMS = ("initdb", "postgres", "pg_isready")
# Python modules of the check itself (the S3 server for the landing zone and its clients): requirements.lock
MODULES = {"moto": "moto[server]", "flask": "moto[server]", "flask_cors": "moto[server]", "boto3": "boto3",
           "s3fs": "s3fs", "psutil": "psutil", "httpx": "httpx"}


def missing(path: str | None = None) -> list[str]:
    """Each missing prerequisite as ``name (how to get it)``; ``path``: the PATH to look in (default the
    process's)."""
    found: list[str] = []
    for program, how in PROGRAMS.items():
        if shutil.which(program, path=path) is None:
            found.append(f"{program} ({how})")
    try:
        from ground.embedded_pg import _bin_dir

        bindir = _bin_dir()
        found += [f"{name} (PostgreSQL 16 in {bindir})" for name in POSTGRES_PROGRAMS if not (bindir / name).exists()]
    except Exception as exc:  # noqa: BLE001 - reported as the missing prerequisite it is
        found.append(f"PostgreSQL ({exc})")
    if not (Path(sys.executable).parent / "airflow").exists():
        found.append(f"airflow (not beside {sys.executable}: make {Path(sys.executable).parent.parent}/.installed)")
    for module, package in MODULES.items():
        if importlib.util.find_spec(module) is None:
            found.append(f"Python module {module} (pip package {package}, pinned in requirements.lock)")
    return found

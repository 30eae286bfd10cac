"""What Python knows of the dbt project: its manifest (``dbt_project/target/manifest.json``, ``make manifest``).

The marts are listed once, in the dbt project: every model built into schema ``marts`` is a mart, and those
in the public contract (``../shared/contract.md``) say ``access: public`` in their YAML.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ground.settings import get_settings


def manifest_path() -> Path:
    return get_settings().dbt_project_dir / "target" / "manifest.json"


@lru_cache(maxsize=2)
def _read(path: Path, mtime_ns: int) -> dict:
    """``mtime_ns`` keys the cache only: a manifest parsed again is read again."""
    return json.loads(path.read_text())


def manifest(path: Path | None = None) -> dict:
    path = path or manifest_path()
    return _read(path, path.stat().st_mtime_ns)


def _marts(path: Path | None, public_only: bool) -> list[str]:
    return sorted(n["name"] for n in manifest(path)["nodes"].values()
                  if n["resource_type"] == "model" and n["schema"] == "marts"
                  and (not public_only or n.get("access") == "public"))


def mart_names(path: Path | None = None) -> list[str]:
    """Every model built into schema ``marts``."""
    return _marts(path, public_only=False)


def public_marts(path: Path | None = None) -> list[str]:
    """The marts of the public contract (``access: public``): BI tools rely on them, the summary counts them."""
    return _marts(path, public_only=True)

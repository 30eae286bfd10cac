"""The agency alias registry (dbt seeds ``agencies`` and ``agency_aliases``), read from Python: the one reader
of those files (the gate's registered-agency check, the summary's suggestions, the sample and the tests)."""

from __future__ import annotations

import csv
import difflib
import hashlib
from functools import lru_cache
from pathlib import Path

from ground.settings import get_settings
from ground.thai import name_key

# Each registry seed and the column holding the names it registers; a later file wins a shared key.
REGISTRY_FILES = (("agencies.csv", "agency_name_th"), ("agency_aliases.csv", "alias"))


def fingerprint(seeds_dir: Path | None = None) -> str:
    """Content hash of the registry seeds: a changed registry is read again (and means a new Gate)."""
    seeds_dir = seeds_dir or get_settings().seeds_dir
    digest = hashlib.sha256()
    for name, _ in REGISTRY_FILES:
        path = seeds_dir / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


@lru_cache(maxsize=4)
def _load(seeds_dir: Path, content: str) -> dict[str, str]:
    """``content`` (the fingerprint) is part of the cache key only: an edited registry is read afresh."""
    keys: dict[str, str] = {}
    for name, column in REGISTRY_FILES:
        with open(seeds_dir / name, encoding="utf-8", newline="") as fh:
            keys.update((name_key(row[column]), row["agency_id"]) for row in csv.DictReader(fh) if row.get(column))
    return keys


def alias_keys(seeds_dir: Path | None = None) -> dict[str, str]:
    """name_key -> agency_id for every registered name and alias."""
    seeds_dir = seeds_dir or get_settings().seeds_dir
    return _load(seeds_dir, fingerprint(seeds_dir))


@lru_cache(maxsize=4)
def _official(seeds_dir: Path, content: str) -> dict[str, str]:
    with open(seeds_dir / REGISTRY_FILES[0][0], encoding="utf-8", newline="") as fh:
        return {row["agency_id"]: row[REGISTRY_FILES[0][1]] for row in csv.DictReader(fh)}


def suggest(name: str, n: int = 1) -> list[str]:
    """Closest registered agencies for an unmatched name, as a person reads them ("กรมสรรพากร (D0026)"): a
    suggestion, never applied."""
    seeds_dir = get_settings().seeds_dir
    keys, names = alias_keys(seeds_dir), _official(seeds_dir, fingerprint(seeds_dir))
    found = dict.fromkeys(keys[k] for k in difflib.get_close_matches(name_key(name), list(keys), n=n, cutoff=0.8))
    return [f"{names.get(agency_id, agency_id)} ({agency_id})" for agency_id in found]


def official_names(seeds_dir: Path | None = None) -> dict[str, str]:
    """agency_id -> the agency's official Thai name (the ``agencies`` seed)."""
    seeds_dir = seeds_dir or get_settings().seeds_dir
    return _official(seeds_dir, fingerprint(seeds_dir))

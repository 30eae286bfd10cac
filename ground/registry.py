"""The agency alias registry (dbt seeds ``agencies`` and ``agency_aliases``), read from Python."""

from __future__ import annotations

import csv
import difflib
from functools import lru_cache
from pathlib import Path

from ground.settings import get_settings
from ground.thai import name_key


@lru_cache(maxsize=4)
def _load(seeds_dir: Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    with open(seeds_dir / "agencies.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            keys[name_key(row["agency_name_th"])] = row["agency_id"]
    with open(seeds_dir / "agency_aliases.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            keys[name_key(row["alias"])] = row["agency_id"]
    return keys


def alias_keys() -> dict[str, str]:
    """name_key -> agency_id for every registered name and alias."""
    return _load(get_settings().seeds_dir)


def suggest(name: str, n: int = 1) -> list[str]:
    """Closest registered names for an unmatched one: a suggestion for a person, never applied."""
    keys = alias_keys()
    return [keys[k] for k in difflib.get_close_matches(name_key(name), list(keys), n=n, cutoff=0.8)]

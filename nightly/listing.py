"""What a night's discovery saw of the landing zone, for its summary: where it looked (credentials left out)
and how many entries it listed. One small JSON file per run in the shared state folder, as the load tasks'
notes (``nightly.passed_over``): the discovery task and the summary task may run on different workers."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from ground.text import without_credentials
from ingest.discover import DiscoveryStats

log = logging.getLogger(__name__)
LISTINGS_DIR = "listings"


def _run_file(state_dir: Path, run_id: str) -> Path:
    return state_dir / LISTINGS_DIR / f"{hashlib.sha256(run_id.encode()).hexdigest()[:20]}.json"


def record(state_dir: Path, run_id: str, landing_zone: str, stats: DiscoveryStats) -> None:
    """The run's discovery: the zone and its counts (a retried discovery replaces them)."""
    target = _run_file(state_dir, run_id)
    seen = {"landing_zone": without_credentials(landing_zone), "listed": stats.listed,
            "candidates": stats.candidates, "recognised": stats.recognised, "hashed": len(stats.hashed)}
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(seen, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:  # the summary then says the listing was not recorded
        log.warning("could not record what discovery listed: %s", exc)


def seen(state_dir: Path, run_id: str) -> dict | None:
    """What ``record`` kept for ``run_id``; None when its discovery did not run (or was not recorded)."""
    try:
        return json.loads(_run_file(state_dir, run_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

"""Landing files a night found but did not load or reject, with why, for its summary: nothing vanishes.

Two kinds: a file whose bytes the ledger already holds under another name (found by ``new_files``; the
latest discovery's list, as the landing skip list), and a file a load batch passed over (changed since it
was listed, loaded by another run meanwhile: per run, appended by each load task, so the mapped tasks
of one night can write at once).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
DUPLICATES_FILE = "landing_duplicates.json"
RUN_NOTES_DIR = "passed_over"
MAX_LISTED = 200


def _run_file(state_dir: Path, run_id: str) -> Path:
    return state_dir / RUN_NOTES_DIR / f"{hashlib.sha256(run_id.encode()).hexdigest()[:20]}.jsonl"


def record_duplicates(state_dir: Path, duplicates: list[dict[str, str]]) -> None:
    """The latest discovery's files whose bytes were loaded or rejected before under another name:
    ``{"path", "why"}`` each (replaces the previous list)."""
    target = state_dir / DUPLICATES_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(duplicates[:MAX_LISTED], ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not record the duplicate landing files: %s", exc)


def note(state_dir: Path, run_id: str, path: str, why: str) -> None:
    """A file of ``run_id``'s load batches that was neither loaded nor rejected, and why (one line appended:
    the night's load tasks may write at once)."""
    target = _run_file(state_dir, run_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = json.dumps({"path": path, "why": why}, ensure_ascii=False).encode() + b"\n"
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("could not note %s as passed over: %s", path, exc)


def passed_over(state_dir: Path, run_id: str) -> list[dict[str, str]]:
    """What ``run_id`` passed over: its load batches' notes, then the latest discovery's duplicates."""
    out: list[dict[str, str]] = []
    try:
        with open(_run_file(state_dir, run_id), encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError):
        pass
    try:
        out += json.loads((state_dir / DUPLICATES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    seen: dict[str, dict[str, str]] = {}
    for entry in out:
        seen.setdefault(entry["path"], entry)
    return list(seen.values())[:MAX_LISTED]

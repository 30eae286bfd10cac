"""Each run's own dbt target folder, and ``dbt_target``: a link to the newest, replaced at once.

Every dbt command writes its target (manifest.json, run_results.json, sources.json, the docs and dbt's
partial-parse file). Two runs at once (a nightly and a backfill, a run and the previous one still dying)
sharing one folder rewrote each other's files, and one read the other's half-written manifest. So each run
writes only ``<shared state>/runs/<run>/dbt_target`` (``Settings.dbt_run_target_dir``), a new one starting
from copies of the latest docs and parse state; once a dbt command has finished, the link ``dbt_target``
(what the report, the docs server and an operator open) is pointed at its folder in one rename. The newest
``Settings.dbt_targets_kept`` folders stay, and whichever the link points at.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from ground.files import make_private_dirs
from ground.settings import Settings, get_settings

log = logging.getLogger(__name__)
# What a new run's folder starts from: dbt rewrites each one it produces; until then the latest stands
# (partial_parse.msgpack spares a full parse; dbt checks it against the project's files).
SEEDED = ("partial_parse.msgpack", "catalog.json", "index.html", "static_index.html", "sources.json")


def current_run_id() -> str:
    """The run a dbt command belongs to: ``DGWH_RUN_ID`` (set around the pipeline's dbt commands), the
    Airflow run of the task running it, else this process alone (a command outside any run)."""
    return (os.environ.get("DGWH_RUN_ID") or os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
            or f"process-{os.getpid()}")


def run_target(run_id: str | None = None, settings: Settings | None = None) -> Path:
    """The run's own dbt target folder (``--target-path``); made on first use, from copies of the latest
    folder's ``SEEDED`` files, and old runs' folders pruned then."""
    settings = settings or get_settings()
    target = settings.dbt_run_target_dir(run_id or current_run_id())
    if not target.is_dir():
        make_private_dirs(target)
        latest = settings.dbt_target_dir
        for name in SEEDED:
            with contextlib.suppress(OSError):  # none yet, or replaced while copied: dbt makes its own
                shutil.copy2(latest / name, target / name)
        prune(settings, keep_also=target)
    return target


def publish(target: Path, settings: Settings | None = None) -> Path:
    """Point ``dbt_target`` at ``target`` (a run's folder whose dbt command finished): a new link renamed
    over the old one, so a reader finds the previous folder or this one, never a mix. A real folder left
    there by an older version is moved under ``runs/`` first."""
    settings = settings or get_settings()
    link = settings.dbt_target_dir
    os.utime(target)  # its age is that of its newest finished command (``prune``)
    if link.is_dir() and not link.is_symlink():
        earlier = settings.runs_dir / f"earlier-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        make_private_dirs(earlier)
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            link.rename(earlier / "dbt_target")
    tmp = link.parent / f".{link.name}.{os.getpid()}.{threading.get_ident()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)
    return link


def prune(settings: Settings | None = None, keep_also: Path | None = None) -> list[Path]:
    """Remove all but the newest ``dbt_targets_kept`` runs' dbt target folders (never ``keep_also``, nor the
    one ``dbt_target`` points at); a run folder left empty goes too. Returns what was removed."""
    settings = settings or get_settings()
    try:
        folders = [d / "dbt_target" for d in settings.runs_dir.iterdir() if (d / "dbt_target").is_dir()]
    except OSError:
        return []
    spared = {p.resolve() for p in (settings.dbt_target_dir, keep_also) if p is not None and p.exists()}

    def age(folder: Path) -> float:
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0

    removed = []
    for folder in sorted(folders, key=age, reverse=True)[settings.dbt_targets_kept:]:
        if folder.resolve() in spared:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()
        removed.append(folder)
    if removed:
        log.info("removed %d old run(s)' dbt target folders under %s", len(removed), settings.runs_dir)
    return removed

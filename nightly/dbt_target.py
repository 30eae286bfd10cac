"""Each run's own dbt target folders, and ``dbt_target``: the latest of each artefact, replaced whole.

Every dbt command writes its target (manifest.json, run_results.json, sources.json, the docs and dbt's
partial-parse file). Two runs at once (a nightly and a backfill, a run and the previous one still dying)
sharing one folder rewrote each other's files, and one read the other's half-written manifest. So a run's
dbt commands write only ``<shared state>/runs/<run>/dbt_target/<host>-<pid>``
(``Settings.dbt_run_target_dir``: one folder per process, so two tasks of a run at once do not share one
either), and read their own manifest there. Once a command has finished, each file it wrote is copied into
``dbt_target`` (what the report, the docs server and an operator open) and renamed over the previous one:
a reader finds the old file or the new one, whole. The newest ``Settings.dbt_targets_kept`` runs' folders stay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from ground.files import make_private_dirs
from ground.settings import Settings, get_settings

log = logging.getLogger(__name__)
# dbt's parse state: a new folder starts from the latest (dbt checks it against the project's files).
PARSE_STATE = "partial_parse.msgpack"


def current_run_id() -> str:
    """The run a dbt command belongs to: ``DGWH_RUN_ID`` (set around the pipeline's dbt commands), the
    Airflow run of the task running it, else this process alone (a command outside any run)."""
    return (os.environ.get("DGWH_RUN_ID") or os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
            or f"process-{os.getpid()}")


def run_target(run_id: str | None = None, settings: Settings | None = None) -> Path:
    """The dbt target folder (``--target-path``) of the run in this process; made on first use, with the
    latest parse state, and old runs' folders pruned then."""
    settings = settings or get_settings()
    target = settings.dbt_run_target_dir(run_id or current_run_id())
    if not target.is_dir():
        make_private_dirs(target)
        with contextlib.suppress(OSError):  # none yet: dbt parses the project whole
            shutil.copy2(settings.dbt_target_dir / PARSE_STATE, target / PARSE_STATE)
        prune(settings, keep_also=target)
    return target


def publish(target: Path, since: float, settings: Settings | None = None) -> list[str]:
    """Copy each file of ``target`` (a run's folder) written since ``since`` (``time.time()`` when its dbt
    command started) into ``dbt_target``, each renamed over the previous one. Returns the names copied."""
    settings = settings or get_settings()
    latest = settings.dbt_target_dir
    make_private_dirs(latest)
    os.utime(target.parent)  # the run's age is that of its newest finished command (``prune``)
    copied = []
    for path in sorted(target.iterdir()):
        try:
            if not path.is_file() or path.stat().st_mtime < since - 1:
                continue
            tmp = latest / f".{path.name}.{os.getpid()}.tmp"
            shutil.copy2(path, tmp)
            os.replace(tmp, latest / path.name)
            copied.append(path.name)
        except OSError as exc:  # the latest copy stays as it was; the run's own folder has it
            log.warning("could not copy %s to %s: %s", path, latest, exc)
    return copied


def prune(settings: Settings | None = None, keep_also: Path | None = None) -> list[Path]:
    """Remove the dbt target folders of all but the newest ``dbt_targets_kept`` runs (never the run of
    ``keep_also``); a run folder left empty goes too. Returns the run folders' ``dbt_target`` removed."""
    settings = settings or get_settings()
    try:
        folders = [d / "dbt_target" for d in settings.runs_dir.iterdir() if (d / "dbt_target").is_dir()]
    except OSError:
        return []
    spared = keep_also.parent.resolve() if keep_also is not None else None

    def age(folder: Path) -> float:
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0

    removed = []
    for folder in sorted(folders, key=age, reverse=True)[settings.dbt_targets_kept:]:
        if folder.resolve() == spared:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()
        removed.append(folder)
    if removed:
        log.info("removed %d old run(s)' dbt target folders under %s", len(removed), settings.runs_dir)
    return removed


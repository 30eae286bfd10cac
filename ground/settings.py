"""Configuration from environment variables, with working defaults (see contract.md)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ground.files import private_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Airflow connection the warehouse is inside Airflow (ground/warehouse.py, dags/common/dbt_group.py).
WAREHOUSE_CONN_ID = "dg_warehouse"


@dataclass(frozen=True)
class Settings:
    repo_root: Path
    landing_zone: str
    warehouse_url: str | None
    state_dir: Path

    @property
    def shared_state_dir(self) -> Path:
        """What a later task, another worker or an operator reads: quarantined files and their reports, GX
        results and Data Docs, dbt's artefacts and docs, the nightly report, the landing zone's skip list.
        ``DGWH_SHARED_STATE_DIR`` (storage every worker mounts) when workers run on several hosts; else the state
        dir, which then keeps only what is the process's own (staging copies, dbt logs, the embedded server)."""
        return Path(os.environ.get("DGWH_SHARED_STATE_DIR") or self.state_dir)

    @property
    def quarantine_dir(self) -> Path:
        return Path(os.environ.get("QUARANTINE_DIR") or self.shared_state_dir / "quarantine")

    @property
    def reports_dir(self) -> Path:
        return Path(os.environ.get("REPORTS_DIR") or self.shared_state_dir / "reports")

    @property
    def dbt_target_dir(self) -> Path:
        """The latest dbt artefacts of the pipeline's own dbt commands (run results, sources.json, the static
        docs): each file copied here, replacing the previous one in one rename, once the dbt command that wrote
        it in its run's own folder (``dbt_run_target_dir``) has finished."""
        return self.shared_state_dir / "dbt_target"

    @property
    def runs_dir(self) -> Path:
        """A folder per run for what is its own alone (its dbt target), beside ``make run``'s logs."""
        return self.shared_state_dir / "runs"

    def dbt_run_target_dir(self, run_id: str, process: str | None = None) -> Path:
        """The dbt target folder of one run's commands in one process (``<host>-<pid>``, this one's by
        default): no other run, nor another task of the same run running at once, writes there."""
        return self.runs_dir / path_safe(run_id) / "dbt_target" / path_safe(
            process or f"{socket.gethostname()}-{os.getpid()}")

    @property
    def dbt_targets_kept(self) -> int:
        """How many runs' dbt target folders stay (the newest; ``DGWH_DBT_TARGETS_KEPT``, default 10)."""
        return max(1, int(os.environ.get("DGWH_DBT_TARGETS_KEPT") or 10))

    @property
    def dbt_project_dir(self) -> Path:
        return self.repo_root / "dbt_project"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"


def path_safe(name: str) -> str:
    """``name`` (a run id such as ``manual__2026-12-07T02:00:00+00:00``) as one folder name: letters, digits,
    ``.``, ``_`` and ``-`` kept, the rest ``_``, and a hash of the whole so two names never share a folder."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:80] or "run"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


@lru_cache(maxsize=1)
def _dbt_vars() -> dict:
    with open(REPO_ROOT / "dbt_project" / "dbt_project.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["vars"]


def plausible_fiscal_years() -> tuple[int, int]:
    """(first, last) plausible fiscal year, BE: the dbt vars ``fy_min_be``/``fy_max_be``, one setting for all."""
    return int(_dbt_vars()["fy_min_be"]), int(_dbt_vars()["fy_max_be"])


def readable_years() -> tuple[int, int]:
    """(first, last) BE year a value can be read as at all (the dbt vars ``year_min_be``/``year_max_be``): wider
    than the plausible fiscal years, so that a year outside those is read, then reported, not called garbage."""
    return int(_dbt_vars()["year_min_be"]), int(_dbt_vars()["year_max_be"])


@dataclass(frozen=True)
class SessionLimits:
    """Locks between BI and the night (the dbt vars of the same names; PostgreSQL durations such as "30s")."""

    bi_statement_timeout: str
    bi_idle_in_transaction_session_timeout: str
    ddl_lock_timeout: str
    ddl_lock_retries: int
    ddl_lock_retry_delay_s: float

    def bi_role_settings(self) -> dict[str, str]:
        """``ALTER ROLE bi_reader SET <name> = <value>`` for each: what every place that makes the role applies."""
        return {"statement_timeout": self.bi_statement_timeout,
                "idle_in_transaction_session_timeout": self.bi_idle_in_transaction_session_timeout}


def session_limits() -> SessionLimits:
    values = _dbt_vars()
    return SessionLimits(str(values["bi_statement_timeout"]), str(values["bi_idle_in_transaction_session_timeout"]),
                         str(values["ddl_lock_timeout"]), int(values["ddl_lock_retries"]),
                         float(values["ddl_lock_retry_delay_s"]))


def duration_s(value: str) -> float:
    """Seconds of a PostgreSQL duration setting ("250ms", "30s", "2min", "1h"; a bare number is milliseconds)."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
    text = value.strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    unit = text[len(number):].strip() or "ms"
    if unit not in units:
        raise ValueError(f"not a PostgreSQL duration: {value!r}")
    return float(number) * units[unit]


def get_settings() -> Settings:
    """Read the environment each call so tests and DAG runs can point elsewhere."""
    repo_root = Path(os.environ.get("DGWH_REPO_ROOT", REPO_ROOT))
    return Settings(
        repo_root=repo_root,
        landing_zone=os.environ.get("LANDING_ZONE") or str(repo_root / "landing"),
        warehouse_url=os.environ.get("WAREHOUSE_URL") or None,
        state_dir=_private_state_dir(Path(os.environ.get("DGWH_STATE_DIR", repo_root / ".state"))),
    )


def _private_state_dir(path: Path) -> Path:
    """The state folder, 0700 from its creation and narrowed if wider (``ground.files.private_dir``); one that
    cannot be made or narrowed here is left to fail, with its own error, where it is used."""
    try:
        return private_dir(path)
    except OSError:
        return path

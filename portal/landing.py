"""A checked file into the landing zone, under its agency's own folder, with a receipt.

``<landing zone>/<source>/<agency_id>/portal-<UTC time>-<random>.<ext>``: the name is generated (the officer's
file name is kept in the receipt only, never on disk), the extension is the checked one (``.csv`` or ``.xlsx``).
A local landing zone gets the bytes under a hidden name first (discovery ignores names starting with '.') and
then renamed in one step; object storage (fsspec) gets them in one put. The nightly DAG picks the file up as any
other: no change to it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import fsspec
from croniter import croniter

from ground.settings import Settings, get_settings
from ingest.discover import settle_seconds
from nightly.alerts import NIGHTLY_CRON, NIGHTLY_TIMEZONE


@dataclass(frozen=True)
class Receipt:
    relative_path: str
    sha256: str
    size_bytes: int
    submitted_at: datetime
    night_of: date  # the night (Bangkok date of its start) that loads the file


def next_night(after: datetime) -> datetime:
    """The start of the first nightly run at or after ``after`` (the DAG's cron, Bangkok time)."""
    zone = ZoneInfo(NIGHTLY_TIMEZONE)
    return croniter(NIGHTLY_CRON, after.astimezone(zone) - timedelta(seconds=1)).get_next(datetime)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def store(path: Path, source: str, agency_id: str, suffix: str, sha256: str,
          settings: Settings | None = None) -> Receipt:
    """Put ``path`` into the landing zone for ``agency_id``; its receipt."""
    if suffix not in (".csv", ".xlsx") or not agency_id.isalnum():
        raise ValueError("refused: unexpected file type or agency id")
    settings = settings or get_settings()
    now = datetime.now(UTC)
    name = f"portal-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}{suffix}"
    relative = f"{source}/{agency_id}/{name}"
    fs, root = fsspec.core.url_to_fs(settings.landing_zone)
    root = root.rstrip("/")
    if _is_local(fs):
        folder = Path(root) / source / agency_id
        folder.mkdir(parents=True, exist_ok=True)
        hidden = folder / f".{name}.part"
        shutil.copyfile(path, hidden)
        os.replace(hidden, folder / name)
    else:
        fs.put_file(str(path), f"{root}/{relative}")
    night = next_night(now + timedelta(seconds=settle_seconds()))
    return Receipt(relative, sha256, path.stat().st_size, now, night.date())

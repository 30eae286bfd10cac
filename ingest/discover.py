"""Find landing-zone files, on local disk or object storage (any fsspec URL), with their hashes.

A file that cannot be read (no permission, a broken link, a pipe or device, a link pointing
outside the landing zone) is skipped with a warning naming it and the reason, and tried again the
next run: one bad entry never stops the others, nothing is recorded for it, and nothing outside
the landing zone is ever read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec

from ingest.sources import SOURCES

CHUNK = 1 << 20
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    source: str
    uri: str  # full path or URL
    relative_path: str  # under the landing zone, for people
    size_bytes: int
    received_at: datetime
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "received_at": self.received_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LandingFile:
        return cls(**{**data, "received_at": datetime.fromisoformat(str(data["received_at"]))})  # type: ignore[arg-type]


@dataclass(frozen=True)
class SkippedFile:
    relative_path: str
    reason: str


class LandingZoneError(RuntimeError):
    """LANDING_ZONE cannot be opened (unknown protocol, its fsspec package missing, bad URL)."""


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def _fs(landing_zone: str) -> tuple[fsspec.AbstractFileSystem, str]:
    try:
        fs, root = fsspec.core.url_to_fs(landing_zone)
    except (ImportError, ValueError) as exc:  # e.g. "Install s3fs to access S3"
        scheme = landing_zone.split("://", 1)[0] if "://" in landing_zone else "a local path"
        raise LandingZoneError(f"LANDING_ZONE ({scheme}) cannot be opened: {exc}") from exc
    return fs, root.rstrip("/")


def _mtime(info: dict) -> datetime:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
    return datetime.now(UTC)


def sha256_of(fs: fsspec.AbstractFileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _unusable(path: str, real_root: str) -> str | None:
    """Why a local entry must not be opened, or None: it must resolve, inside the landing zone, to a file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot be opened ({exc.strerror or exc}): a broken or looping link?"
    if os.path.commonpath([os.path.realpath(path), real_root]) != real_root:
        return "is a link to a place outside the landing zone"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a pipe, socket or device)"
    return None


def discover(landing_zone: str, skipped: list[SkippedFile] | None = None) -> list[LandingFile]:
    """Every readable file of a known source and type, oldest first (the order of supersession).

    Entries that cannot be read are logged and appended to ``skipped`` (when given), not returned."""
    fs, root = _fs(landing_zone)
    fs.invalidate_cache()  # object-store listings are cached per process; a long-lived worker must see new files
    local = _is_local(fs)
    real_root = os.path.realpath(root) if local else ""
    found: list[LandingFile] = []
    for name, source in SOURCES.items():
        base = f"{root}/{name}"
        if not fs.exists(base):
            continue
        for path, info in sorted(fs.find(base, detail=True).items()):
            rel = path[len(root) + 1:] if path.startswith(root) else path
            if Path(path).name.startswith((".", "~$")) or "/_" in rel:
                continue  # hidden, Excel lock and underscore-prefixed (e.g. _quarantine) files
            if Path(path).suffix.lower() not in source.file_types:
                continue
            problem = _unusable(path, real_root) if local else None
            if problem is None:
                try:
                    digest = sha256_of(fs, path)
                except OSError as exc:
                    problem = f"cannot be read ({exc.strerror or exc})"
            if problem is not None:
                log.warning("landing file %s %s; skipped this run, tried again the next", rel, problem)
                if skipped is not None:
                    skipped.append(SkippedFile(rel, problem))
                continue
            uri = path if local else fs.unstrip_protocol(path)
            found.append(LandingFile(name, uri, rel, int(info.get("size") or 0), _mtime(info), digest))
    return sorted(found, key=lambda f: (f.received_at, f.relative_path))


@contextmanager
def local_copy(uri: str) -> Iterator[Path]:
    """A local path for the file: itself when local, else a temporary download."""
    fs, path = fsspec.core.url_to_fs(uri)
    if _is_local(fs):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / Path(path).name
        with fs.open(path, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        yield target

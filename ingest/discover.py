"""Find landing-zone files, on local disk or object storage (any fsspec URL), with their hashes."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec

from ingest.sources import SOURCES

CHUNK = 1 << 20


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


def discover(landing_zone: str) -> list[LandingFile]:
    """Every file of a known source and type, oldest first (the order of supersession)."""
    fs, root = _fs(landing_zone)
    fs.invalidate_cache()  # object-store listings are cached per process; a long-lived worker must see new files
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
            uri = path if _is_local(fs) else fs.unstrip_protocol(path)
            found.append(LandingFile(name, uri, rel, int(info.get("size") or 0), _mtime(info), sha256_of(fs, path)))
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

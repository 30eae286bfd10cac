"""Find landing-zone files, on local disk or object storage (any fsspec URL), with their hashes.

A file that cannot be read (no permission, a broken link, a pipe or device, a link pointing
outside the landing zone) is skipped with a warning naming it and the reason, and tried again the
next run: one bad entry never stops the others, nothing is recorded for it, and nothing outside
the landing zone is ever read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec

from ground.sources import SOURCES

CHUNK = 1 << 20
DEFAULT_SETTLE_S = 60.0
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
    except Exception as exc:  # noqa: BLE001 - "Install s3fs", an unknown protocol, a host that does not answer
        scheme = landing_zone.split("://", 1)[0] if "://" in landing_zone else "a local path"
        raise LandingZoneError(f"LANDING_ZONE {landing_zone}: unsupported or unreachable landing zone ({scheme}: "
                               f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc
    return fs, root.rstrip("/")


def check_landing_zone(landing_zone: str) -> None:
    """Raise LandingZoneError (one line) unless the landing zone is there and can be listed.

    A configured zone that is missing (a typo, an unmounted share) or unreadable fails the run: it is never
    created, and a night that finds nothing there is not reported as a quiet success."""
    fs, root = _fs(landing_zone)
    if not _is_local(fs):
        bucket = root.split("/", 1)[0]
        try:
            fs.ls(root, detail=False)
        except FileNotFoundError:
            # An object-store prefix exists once it holds an object: empty is not an error. A missing bucket
            # (a typo) is: it would make every night a quiet success with nothing loaded.
            if not _bucket_exists(fs, bucket):
                raise LandingZoneError(f"LANDING_ZONE {landing_zone}: bucket {bucket} does not exist (a typo, or "
                                       "another account or endpoint?); nothing was loaded") from None
        except Exception as exc:  # noqa: BLE001 - credentials, network, permissions: one line, whatever the store
            raise LandingZoneError(f"LANDING_ZONE {landing_zone} cannot be listed: {exc}") from exc
        return
    if not os.path.exists(root):
        raise LandingZoneError(f"LANDING_ZONE {landing_zone} does not exist (a typo, or a share not mounted?); "
                               "nothing was loaded, and no sample data is written to a configured landing zone")
    if not os.path.isdir(root):
        raise LandingZoneError(f"LANDING_ZONE {landing_zone} is not a folder")
    try:
        os.listdir(root)
    except OSError as exc:
        raise LandingZoneError(f"LANDING_ZONE {landing_zone} cannot be read ({exc.strerror or exc})") from exc


def _bucket_exists(fs: fsspec.AbstractFileSystem, bucket: str) -> bool:
    try:
        fs.invalidate_cache()
        return bool(fs.exists(bucket))
    except Exception as exc:  # noqa: BLE001 - cannot tell: say so rather than guess
        raise LandingZoneError(f"LANDING_ZONE bucket {bucket} cannot be checked: {exc}") from exc


def settle_seconds() -> float:
    """A file modified less than this long ago may still be being written: it waits for the next run."""
    return float(os.environ.get("DGWH_SETTLE_S") or DEFAULT_SETTLE_S)


def _has_mtime(info: dict) -> bool:
    return any(info.get(key) is not None for key in ("mtime", "LastModified", "last_modified", "created"))


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


def _ignored(rel: str, file_types: tuple[str, ...] | None) -> str | None:
    """Why discovery passes over an entry without reading it, or None. ``file_types`` None: no source folder."""
    name = Path(rel).name
    if name.startswith("~$"):
        return "is an Excel lock file (the workbook is open somewhere): ignored"
    if name.startswith("."):
        return "is hidden (its name starts with '.'): ignored; rename it to load it"
    if "/_" in rel or rel.startswith("_"):
        return "is in a folder or has a name starting with '_' (kept for people, e.g. _quarantine): ignored"
    if file_types is None:
        folders = ", ".join(SOURCES)
        return f"is not in a source folder ({folders}): a misspelled folder? ignored"
    suffix = Path(rel).suffix.lower()
    if suffix not in file_types:
        accepted = ", ".join(sorted(file_types))
        if suffix == ".xls":
            return f"is an old Excel .xls workbook: save it as .xlsx ({accepted} accepted); ignored"
        return f"has type {suffix or '(none)'!r}, not one of {accepted}: ignored"
    return None


def _unsettled(info: dict, now: datetime, settle: timedelta) -> str | None:
    """Why a file modified within the settle window waits; DGWH_SETTLE_S=0 turns the window off (a
    clock-skewed mtime in the future included)."""
    if settle > timedelta(0) and _has_mtime(info) and now - _mtime(info) < settle:
        return (f"was modified {max(0.0, (now - _mtime(info)).total_seconds()):.0f}s ago (settle window "
                f"DGWH_SETTLE_S={settle.total_seconds():.0f}s): it may still be being written; tried again next run")
    return None


def landing_skips(landing_zone: str, limit: int = 200) -> list[SkippedFile]:
    """Every landing entry the next discovery would pass over, with why, without reading any file: for the
    nightly summary (issue 20: nothing vanishes without a word). Empty if the zone cannot be listed."""
    try:
        check_landing_zone(landing_zone)
        fs, root = _fs(landing_zone)
        entries = sorted(fs.find(root, detail=True).items())
    except (LandingZoneError, OSError):
        return []
    local = _is_local(fs)
    real_root = os.path.realpath(root) if local else ""
    settle = timedelta(seconds=settle_seconds())
    now = datetime.now(UTC)
    skips: list[SkippedFile] = []
    for path, info in entries:
        rel = path[len(root) + 1:] if path.startswith(root) else path
        source = SOURCES.get(rel.split("/", 1)[0]) if "/" in rel else None
        why = _ignored(rel, source.file_types if source else None)
        if why is None:
            why = (_unusable(path, real_root) if local else None) or _unsettled(info, now, settle)
        if why is not None:
            skips.append(SkippedFile(rel, why))
        if len(skips) >= limit:
            break
    return skips


def discover(landing_zone: str, skipped: list[SkippedFile] | None = None) -> list[LandingFile]:
    """Every readable file of a known source and type, oldest first (the order of supersession).

    Entries that cannot be read are logged and appended to ``skipped`` (when given), not returned."""
    check_landing_zone(landing_zone)
    passed_over = {s.relative_path: s for s in landing_skips(landing_zone)}
    fs, root = _fs(landing_zone)
    settle = timedelta(seconds=settle_seconds())
    now = datetime.now(UTC)
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
            if _ignored(rel, source.file_types):
                continue  # hidden, Excel lock and underscore-prefixed (e.g. _quarantine) files, other types
            problem = _unusable(path, real_root) if local else None
            if problem is None:
                problem = _unsettled(info, now, settle)
            if problem is None:
                try:
                    digest = sha256_of(fs, path)
                except OSError as exc:
                    problem = f"cannot be read ({exc.strerror or exc})"
            if problem is not None:
                log.warning("landing file %s %s; skipped this run, tried again the next", rel, problem)
                if skipped is not None:
                    skipped.append(SkippedFile(rel, problem))
                passed_over[rel] = SkippedFile(rel, problem)
                continue
            passed_over.pop(rel, None)
            uri = path if local else fs.unstrip_protocol(path)
            found.append(LandingFile(name, uri, rel, int(info.get("size") or 0), _mtime(info), digest))
    _record_skips(landing_zone, sorted(passed_over.values(), key=lambda e: e.relative_path))
    return sorted(found, key=lambda f: (f.received_at, f.relative_path))


SKIPS_FILE = "landing_skips.json"


def _record_skips(landing_zone: str, skips: list[SkippedFile]) -> None:
    """What the latest discovery passed over, for the night's summary (``last_skips``)."""
    from ground.settings import get_settings

    target = get_settings().shared_state_dir / SKIPS_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"landing_zone": landing_zone, "at": datetime.now(UTC).isoformat(),
                                   "skipped": [s.__dict__ for s in skips]}, ensure_ascii=False))
        os.replace(tmp, target)
    except OSError as exc:  # the summary then lists what it sees itself
        log.warning("could not record the skipped landing entries: %s", exc)


def last_skips(landing_zone: str) -> list[SkippedFile]:
    """The entries the latest discovery of this landing zone passed over, with why (else: as seen now)."""
    from ground.settings import get_settings

    try:
        data = json.loads((get_settings().shared_state_dir / SKIPS_FILE).read_text())
        if data.get("landing_zone") == landing_zone:
            return [SkippedFile(**e) for e in data["skipped"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return landing_skips(landing_zone)


class FileChanged(RuntimeError):
    """The file's bytes are no longer those hashed at discovery: it is left for the next run."""


@contextmanager
def snapshot(lf: LandingFile, staging_dir: Path) -> Iterator[LandingFile]:
    """The file as it was hashed: its bytes copied into the run's staging area and hashed while copied.

    Yields ``lf`` pointing at the copy, so parsing, validating and quarantining all see exactly the bytes
    the ledger records; raises FileChanged when they are not the ones discovered (still being written, or
    replaced since): nothing is recorded and the next run loads the file as it then is, once."""
    fs, path = fsspec.core.url_to_fs(lf.uri)
    staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(prefix="snap-", dir=staging_dir))
    try:
        target = tmp / f"snapshot{Path(path).suffix.lower()}"
        digest = hashlib.sha256()
        try:
            src = fs.open(path, "rb")
        except OSError as exc:
            raise FileChanged(f"{lf.relative_path} can no longer be read ({exc.strerror or exc}): "
                              "left for the next run") from exc
        with src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != lf.sha256:
            raise FileChanged(f"{lf.relative_path} changed after it was found (sha256 {lf.sha256[:12]}… at "
                              f"discovery, {digest.hexdigest()[:12]}… now): left for the next run")
        yield dataclasses.replace(lf, uri=str(target))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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

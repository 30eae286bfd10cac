"""Find landing-zone files, on local disk or object storage (any fsspec URL), with their hashes.

A file whose metadata fingerprint (size, modification and change time, inode; on object storage the ETag or
stored checksum) matches what an earlier run hashed is not read again: ``known`` gives its hash. Only new or
changed files are read, by a bounded pool of threads; a renamed or touched file is hashed and so still
recognised by its content.

On local disk and network shares a folder is not even listed while it is as an earlier listing left it
(``folders``: its stat, modification and change time to the nanosecond, unchanged, and every file in it then
recognised): adding, removing or renaming an entry changes its folder's times, so a night's listing follows
what arrived, not what is kept. A file rewritten in place (or only touched) leaves its folder's times alone:
the periodic full pass (``full_pass_hours``) lists every folder and finds it. Object storage has no folder
times: every night lists the whole prefix there.

A file that cannot be read (no permission, a broken link, a pipe or device, a link pointing
outside the landing zone) is skipped with a warning naming it and the reason, and tried again the
next run: one bad entry never stops the others, nothing is recorded for it, and nothing outside
the landing zone is ever read.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import fsspec

from ground.sources import SOURCES

CHUNK = 1 << 20
DEFAULT_SETTLE_S = 60.0
DEFAULT_HASH_THREADS = 4
DEFAULT_FULL_EVERY_HOURS = 168.0
FOLDER_TICK_S = 2.0  # coarser than any folder-time granularity in use (FAT's 2 s, a share's clock step)
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


def full_pass_hours() -> float:
    """How often discovery lists every folder, however unchanged it looks (DGWH_DISCOVERY_FULL_EVERY_HOURS,
    default a week; 0: every run): the pass that finds a file rewritten in place under its old name."""
    value = os.environ.get("DGWH_DISCOVERY_FULL_EVERY_HOURS")
    return max(0.0, float(value)) if value not in (None, "") else DEFAULT_FULL_EVERY_HOURS


def full_pass_forced() -> bool:
    """DGWH_DISCOVERY_FULL=1: this run lists every folder (an operator who knows files were rewritten in place)."""
    return (os.environ.get("DGWH_DISCOVERY_FULL") or "").strip().lower() in ("1", "true", "yes", "on")


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
    return _hash(fs, path)[0]


def _hash(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, int]:
    """The file's SHA-256 and the number of bytes read to compute it."""
    digest = hashlib.sha256()
    read = 0
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            read += len(chunk)
    return digest.hexdigest(), read


def hash_threads() -> int:
    """How many files discovery reads at once (DGWH_HASH_THREADS): I/O-bound on object storage and network
    shares; hashlib releases the GIL while it hashes."""
    return max(1, int(os.environ.get("DGWH_HASH_THREADS") or DEFAULT_HASH_THREADS))


_CHECKSUM_KEYS = ("ETag", "etag", "checksum", "md5Hash", "crc32c", "ContentMD5", "content_md5")


def fingerprint(info: dict) -> str | None:
    """What says a file is unchanged without reading it, or None when the store gives nothing to trust.

    Local: size, mtime, ctime and inode (ctime changes with every write and cannot be set back, so a file
    rewritten with the same size and an mtime put back by ``touch -d``/``cp -p`` is still seen as changed).
    Object storage: size with the ETag or stored checksum (which change with the bytes)."""
    size = info.get("size")
    if info.get("ino") is not None and info.get("mtime") is not None:
        return f"size={size};mtime={info['mtime']!r};ctime={info.get('created')!r};ino={info['ino']}"
    for key in _CHECKSUM_KEYS:
        if info.get(key):
            return f"size={size};{key}={info[key]}"
    return None


class Known(NamedTuple):
    """A file hashed by an earlier run: its fingerprint then and its hash."""
    fingerprint: str
    sha256: str


@dataclass(frozen=True)
class Folder:
    """A local landing folder as a listing left it: its stat (``stamp``), and whether that listing can stand
    while the stat is unchanged (``trusted``: the folder had been still for the settle window, and every file
    in it was recognised, its bytes in the ledger, with nothing to retry). ``files``: its files recognised
    then; ``ignored``: names of the entries passed over then (hidden, other types...), for the summary."""
    stamp: str
    trusted: bool
    files: int = 0
    ignored: tuple[str, ...] = ()


@dataclass
class DiscoveryStats:
    """What one discovery did: entries seen (``listed``: those listed, and those of folders taken as unchanged),
    files considered, recognised by metadata, hashed, and bytes read; on local disk, folders listed and folders
    taken as unchanged, and every folder's record (``folders``)."""
    listed: int = 0
    candidates: int = 0
    recognised: int = 0
    bytes_read: int = 0
    hashed: list[tuple[LandingFile, str | None]] = field(default_factory=list)  # with their fingerprints
    folders_listed: int = 0
    folders_unchanged: int = 0
    folders: dict[str, Folder] | None = None


def _unusable(path: str, real_root: str, info: dict | None = None) -> str | None:
    """Why a local entry must not be opened, or None: it must resolve, inside the landing zone, to a file.

    A regular file that is not a link needs no look-up: the listing does not descend into linked folders, so
    it lies inside the landing zone."""
    if info is not None and not info.get("islink"):
        return None if info.get("type") == "file" else "is not a regular file (a pipe, socket or device)"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot be opened ({exc.strerror or exc}): a broken or looping link?"
    if os.path.commonpath([os.path.realpath(path), real_root]) != real_root:
        return "is a link to a place outside the landing zone"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a pipe, socket or device)"
    return None


def _followed(path: str, info: dict) -> dict:
    """A local link's listing entry describes the link; its fingerprint must describe the file it points to."""
    if not info.get("islink"):
        return info
    st = os.stat(path)
    return {**info, "size": st.st_size, "mtime": st.st_mtime, "created": st.st_ctime, "ino": st.st_ino}


def _ignored(rel: str, file_types: tuple[str, ...] | None) -> str | None:
    """Why discovery passes over an entry without reading it, or None. ``file_types`` None: no source folder."""
    name = rel.rsplit("/", 1)[-1]
    if name.startswith("~$"):
        return "is an Excel lock file (the workbook is open somewhere): ignored"
    if name.startswith("."):
        return "is hidden (its name starts with '.'): ignored; rename it to load it"
    if "/_" in rel or rel.startswith("_"):
        return "is in a folder or has a name starting with '_' (kept for people, e.g. _quarantine): ignored"
    if file_types is None:
        folders = ", ".join(SOURCES)
        return f"is not in a source folder ({folders}): a misspelled folder? ignored"
    suffix = os.path.splitext(name)[1].lower()
    suffix = "" if suffix == "." else suffix  # as pathlib's: "report." has no type
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


@contextmanager
def without_gc() -> Iterator[None]:
    """Python's cycle collector paused: listing 100k files makes 100k small acyclic objects, and the collector
    would walk them again and again (a third of a large listing's time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _listing(landing_zone: str, folders: Mapping[str, Folder] | None = None,
             ) -> tuple[fsspec.AbstractFileSystem, str, list[tuple[str, str, dict]], _Walk | None]:
    """The landing zone's entries, sorted, as (path, path under the zone, listing info): one listing. On local
    disk, ``folders`` (an earlier listing's) leaves out the files of folders unchanged since; the walk says
    which folders were listed and which were not."""
    fs, root = _fs(landing_zone)
    fs.invalidate_cache()  # object-store listings are cached per process; a long-lived worker must see new files
    walk = None
    if _is_local(fs):
        walk = _local_walk(root, folders)
        entries = walk.entries
    else:
        entries = fs.find(root, detail=True)
    return fs, root, [(path, path[len(root) + 1:] if path.startswith(root) else path, info)
                      for path, info in sorted(entries.items())], walk


@dataclass
class _Walk:
    """A local listing: the files of the folders listed, those folders (their stamp, and whether they were
    still long enough to be trusted), and the folders taken as unchanged, unlisted."""
    entries: dict[str, dict] = field(default_factory=dict)
    listed: dict[str, tuple[str, bool]] = field(default_factory=dict)
    unchanged: dict[str, Folder] = field(default_factory=dict)
    untrusted: set[str] = field(default_factory=set)  # holding an entry or folder that vanished or could not be read
    misnamed: list[str] = field(default_factory=list)  # folders whose names are not UTF-8 text, as shown


def _unprintable(rel: str) -> str | None:
    """None for a name that is UTF-8 text; else the name as shown, its undecodable bytes as U+FFFD (such a
    name cannot be recorded, logged as is, or opened by every tool: the sender renames it)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


def _folder_of(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _rules() -> str:
    """Which entries discovery takes (the source folders and their file types): a folder listed under other
    rules is listed again, since an entry passed over then may be taken now."""
    rules = sorted((name, sorted(source.file_types)) for name, source in SOURCES.items())
    return hashlib.sha256(repr(rules).encode()).hexdigest()[:12]


def _stamp(st: os.stat_result, rules: str) -> str:
    """What changes when a folder gains, loses or renames an entry: its modification and change times (the
    change time cannot be set back, so ``rsync -t`` restoring a folder's mtime still shows), inode, size
    and link count; with the rules it was listed under."""
    return f"{st.st_mtime_ns};{st.st_ctime_ns};{st.st_ino};{st.st_size};{st.st_nlink};{rules}"


def _local_walk(root: str, folders: Mapping[str, Folder] | None) -> _Walk:
    """fsspec's local ``find(detail=True)`` (the same entries and info keys: linked folders are not entered, a
    link's size is its target's), in a third of its time; with ``folders``, a folder whose stamp is that of a
    trusted earlier listing is not listed (its files stand as they were), and its subfolders, known from
    that listing, are visited still: a folder's times do not change when a grandchild changes."""
    walk = _Walk()
    children: dict[str, list[str]] = defaultdict(list)
    for rel in folders or ():
        if rel:
            children[_folder_of(rel)].append(rel)
    guard_ns = int(max(settle_seconds(), FOLDER_TICK_S) * 1e9)
    rules = _rules()
    pending = [""]
    while pending:
        rel = pending.pop()
        folder = f"{root}/{rel}" if rel else root
        before = time.time_ns()
        try:
            st = os.stat(folder) if not rel else os.lstat(folder)
        except OSError:
            st = None  # gone since its parent was listed (or since the listing that named it)
        if st is None or not stat.S_ISDIR(st.st_mode):  # gone, or replaced by a file or a link
            walk.untrusted.add(_folder_of(rel))  # its parent is listed again next run, whatever it looks like
            continue
        stamp = _stamp(st, rules)
        earlier = folders.get(rel) if folders is not None else None
        if earlier is not None and earlier.trusted and earlier.stamp == stamp:
            walk.unchanged[rel] = earlier
            pending.extend(children.get(rel, ()))
            continue
        # Trusted only once still for the settle window (and a few folder-time ticks): a change made in the
        # same tick as this listing, after it, would otherwise leave the stamp as recorded.
        still = max(st.st_mtime_ns, st.st_ctime_ns) <= before - guard_ns
        try:
            listing = os.scandir(folder)
        except OSError as exc:
            log.warning("landing folder %s cannot be listed (%s): its files are not seen this run", folder,
                        exc.strerror or exc)
            walk.untrusted.add(_folder_of(rel))  # its parent is listed again next run, and so it is tried again
            continue
        walk.listed[rel] = (stamp, still)
        with listing:
            for entry in listing:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        child = f"{rel}/{entry.name}" if rel else entry.name
                        if _unprintable(child) is not None:
                            walk.misnamed.append(_unprintable(child) or child)
                            walk.untrusted.add(rel)
                        else:
                            pending.append(child)
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    walk.untrusted.add(rel)
                    continue  # gone since the folder was listed
                link = stat.S_ISLNK(st.st_mode)
                size = st.st_size
                if link:
                    walk.untrusted.add(rel)  # its target may change in another folder: listed every run
                    try:
                        size = os.stat(entry.path).st_size
                    except OSError:
                        size = 0
                walk.entries[entry.path] = {"name": entry.path, "size": size, "islink": link, "mode": st.st_mode,
                                            "type": "file" if stat.S_ISREG(st.st_mode) else "other",
                                            "mtime": st.st_mtime, "created": st.st_ctime, "ino": st.st_ino}
    return walk


def _why_ignored(rel: str) -> str | None:
    source = SOURCES.get(rel.split("/", 1)[0]) if "/" in rel else None
    return _ignored(rel, source.file_types if source else None)


def landing_skips(landing_zone: str, limit: int = 200) -> list[SkippedFile]:
    """Every landing entry the next discovery would pass over, with why, without reading any file: for the
    nightly summary (nothing vanishes without a word). Empty if the zone cannot be listed."""
    try:
        check_landing_zone(landing_zone)
        fs, root, entries, _ = _listing(landing_zone)
    except (LandingZoneError, OSError):
        return []
    real_root = os.path.realpath(root) if _is_local(fs) else None
    settle = timedelta(seconds=settle_seconds())
    now = datetime.now(UTC)
    skips: list[SkippedFile] = []
    for path, rel, info in entries:
        why = (_why_ignored(rel) or (_unusable(path, real_root, info) if real_root is not None else None)
               or _unsettled(info, now, settle))
        if why is not None:
            skips.append(SkippedFile(rel, why))
        if len(skips) >= limit:
            break
    return skips


Lookup = Callable[[Sequence[str]], Mapping[str, Known]]


def discover(landing_zone: str, skipped: list[SkippedFile] | None = None,
             known: Mapping[str, Known] | Lookup | None = None, stats: DiscoveryStats | None = None,
             return_known: bool = True, folders: Mapping[str, Folder] | None = None) -> list[LandingFile]:
    """Every readable file of a known source and type, oldest first (the order of supersession).

    Entries that cannot be read are logged and appended to ``skipped`` (when given), not returned. A file
    whose path is in ``known`` with the same fingerprint is returned with the hash recorded there, unread;
    every other file is read (in parallel, ``hash_threads``) and hashed; ``return_known`` False leaves the
    recognised files out. ``known`` may be a look-up, called once with the paths listed. ``stats`` (when
    given) counts what was read and, on local disk, receives this listing's folders (``stats.folders``).
    ``folders`` (with ``return_known`` False): an earlier listing's; a folder trusted there and unchanged
    since is not listed, and its files count as recognised."""
    if folders is not None and return_known:
        raise ValueError("the files of folders not listed cannot be returned: give folders with return_known=False")
    check_landing_zone(landing_zone)
    stats = stats if stats is not None else DiscoveryStats()
    with without_gc():
        fs, root, entries, walk = _listing(landing_zone, folders)
        stats.listed = len(entries)
        if callable(known):
            known = known([rel for _, rel, _ in entries if _unprintable(rel) is None and _why_ignored(rel) is None])
        found, to_hash, problems, ignored, recognised = _classify(fs, root, entries, skipped, known or {}, stats,
                                                                  return_known)
        for shown in walk.misnamed if walk is not None else ():
            _skip(shown, MISNAMED_FOLDER, skipped)
            problems.append(SkippedFile(shown, MISNAMED_FOLDER))
    _hash_all(fs, to_hash, found, problems, skipped, stats)
    if walk is not None:
        ignored += _folders_after(walk, stats, problems, ignored, recognised, to_hash)
    passed_over = [SkippedFile(rel, _why_ignored(rel) or "") for rel in sorted(ignored)[:200]] + problems
    _record_skips(landing_zone, sorted(passed_over, key=lambda e: e.relative_path))
    return sorted(found, key=lambda f: (f.received_at, f.relative_path))


_ToHash = tuple[str, str, dict, str | None]  # path, path under the zone, listing info, fingerprint
MISNAMED = "has a name that is not UTF-8 text (its undecodable bytes shown as \ufffd): rename it"
MISNAMED_FOLDER = ("is a folder with a name that is not UTF-8 text (its undecodable bytes shown as \ufffd): its files "
                   "are not seen; rename it")


def _folders_after(walk: _Walk, stats: DiscoveryStats, problems: list[SkippedFile], ignored: list[str],
                   recognised: list[str], to_hash: list[_ToHash]) -> list[str]:
    """This listing's folders into ``stats``: a folder listed is trusted when it was still and every file in
    it recognised, with nothing to retry; a folder not listed keeps its record, and its files count as
    recognised. The entries those unlisted folders passed over before, to report again."""
    unsure = {*walk.untrusted, *(_folder_of(p.relative_path) for p in problems),
              *(_folder_of(rel) for _, rel, _, _ in to_hash)}
    files: dict[str, int] = defaultdict(int)
    for rel in recognised:
        files[_folder_of(rel)] += 1
    names: dict[str, list[str]] = defaultdict(list)
    for rel in ignored:
        names[_folder_of(rel)].append(rel.rsplit("/", 1)[-1])
    records = {rel: Folder(stamp, still and rel not in unsure, files.get(rel, 0), tuple(sorted(names[rel])[:200]))
               for rel, (stamp, still) in walk.listed.items()}
    again: list[str] = []
    for rel, folder in walk.unchanged.items():
        records[rel] = folder if rel not in unsure else dataclasses.replace(folder, trusted=False)
        stats.candidates += folder.files
        stats.recognised += folder.files
        stats.listed += folder.files + len(folder.ignored)
        again += [f"{rel}/{name}" if rel else name for name in folder.ignored]
    stats.folders = records
    stats.folders_listed += len(walk.listed)
    stats.folders_unchanged += len(walk.unchanged)
    return again


def _classify(fs: fsspec.AbstractFileSystem, root: str, entries: list[tuple[str, str, dict]],
              skipped: list[SkippedFile] | None, known: Mapping[str, Known], stats: DiscoveryStats,
              return_known: bool,
              ) -> tuple[list[LandingFile], list[_ToHash], list[SkippedFile], list[str], list[str]]:
    """Each entry recognised by its fingerprint, to be hashed, skipped with why (a problem: retried next
    run), or passed over (hidden, Excel lock, '_' such as _quarantine, other folders and types); with the
    paths of those passed over and of those recognised."""
    settle = timedelta(seconds=settle_seconds())
    now = datetime.now(UTC)
    local = _is_local(fs)
    real_root = os.path.realpath(root) if local else None
    problems: list[SkippedFile] = []
    ignored: list[str] = []
    recognised: list[str] = []
    found: list[LandingFile] = []
    to_hash: list[_ToHash] = []
    for path, rel, info in entries:
        shown = _unprintable(rel)
        if shown is not None:
            _skip(shown, MISNAMED, skipped)
            problems.append(SkippedFile(shown, MISNAMED))
            continue
        if _why_ignored(rel) is not None:
            ignored.append(rel)
            continue
        problem = _unusable(path, real_root, info) if real_root is not None else None
        if problem is not None:
            _skip(rel, problem, skipped)
            problems.append(SkippedFile(rel, problem))
            continue
        stats.candidates += 1
        try:
            print_ = fingerprint(_followed(path, info) if local else info)
        except OSError:  # the link's target went away since the listing: hashing will say so
            print_ = None
        seen = known.get(rel)
        if print_ is not None and seen is not None and seen.fingerprint == print_:
            stats.recognised += 1
            recognised.append(rel)
            if return_known:
                found.append(_landing_file(fs, path, rel, info, local, seen.sha256))
            continue
        problem = _unsettled(info, now, settle)
        if problem is not None:
            _skip(rel, problem, skipped)
            problems.append(SkippedFile(rel, problem))
            continue
        to_hash.append((path, rel, info, print_))
    return found, to_hash, problems, ignored, recognised


def _hash_all(fs: fsspec.AbstractFileSystem, to_hash: list[_ToHash], found: list[LandingFile],
              passed_over: list[SkippedFile], skipped: list[SkippedFile] | None, stats: DiscoveryStats) -> None:
    """Read and hash the new or changed files, ``hash_threads`` at a time."""
    local = _is_local(fs)

    def read(item: _ToHash) -> tuple[str, int] | OSError:
        try:
            return _hash(fs, item[0])
        except OSError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=min(hash_threads(), max(1, len(to_hash)))) as pool:
        results = list(pool.map(read, to_hash))
    for (path, rel, info, print_), result in zip(to_hash, results, strict=True):
        if isinstance(result, OSError):
            problem = f"cannot be read ({result.strerror or result})"
            _skip(rel, problem, skipped)
            passed_over.append(SkippedFile(rel, problem))
            continue
        digest, read_bytes = result
        stats.bytes_read += read_bytes
        lf = _landing_file(fs, path, rel, info, local, digest)
        stats.hashed.append((lf, print_))
        found.append(lf)


def _skip(rel: str, problem: str, skipped: list[SkippedFile] | None) -> None:
    log.warning("landing file %s %s; skipped this run, tried again the next", rel, problem)
    if skipped is not None:
        skipped.append(SkippedFile(rel, problem))


def _landing_file(fs: fsspec.AbstractFileSystem, path: str, rel: str, info: dict, local: bool,
                  sha256: str) -> LandingFile:
    uri = path if local else fs.unstrip_protocol(path)
    return LandingFile(rel.split("/", 1)[0], uri, rel, int(info.get("size") or 0), _mtime(info), sha256)


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

"""File names made from what agencies send (flat, harmless, within 255 bytes), and private folders for them."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\-\u0e00-\u0e7f]+")  # Thai vowel and tone marks are not \w


def flat_name(relative_path: str, max_bytes: int = 255) -> str:
    """A flat, harmless file name: no directories, no ``..``, no shell or SQL punctuation, and at most
    ``max_bytes`` of UTF-8 (the end is kept: the file's own name and extension)."""
    name = _UNSAFE.sub("_", relative_path.replace("/", "__")).strip("._")
    data = name.encode("utf-8")
    max_bytes = max(max_bytes, 16)
    if len(data) > max_bytes:  # cut on a byte boundary, dropping a character split in two
        name = data[-max_bytes:].decode("utf-8", errors="ignore").lstrip("._")
    return name or "file"


PRIVATE_DIR = 0o700


def make_private_dirs(path: Path) -> None:
    """``path`` and whichever of its parents are missing, each created 0700 (whatever the umask); existing
    folders are left as they are."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:
            pass


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter: created 0700 (with any missing parents, whatever the
    umask), and narrowed when an older one is wider. The state folder holds agencies' data (quarantined
    files, GX results, Data Docs, Airflow's database, logs, reports). A folder with an access ACL (the
    embedded server's user let through by name) keeps its group bits, which are then the ACL's mask."""
    make_private_dirs(path)
    st = path.stat()
    mine = os.geteuid() in (0, st.st_uid)
    has_acl = _has_acl(path)
    narrowed = st.st_mode & 0o777 & ~(0o007 if has_acl else 0o077)
    if mine and narrowed != st.st_mode & 0o777:
        os.chmod(path, narrowed)
    return path


def _has_acl(path: Path) -> bool:
    try:
        return len(os.getxattr(path, "system.posix_acl_access")) > 4 + 3 * 8
    except OSError:  # no ACL, or a filesystem without them
        return False

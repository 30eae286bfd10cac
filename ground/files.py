"""File names made from what agencies send: flat, harmless and within a filesystem's 255 bytes."""

from __future__ import annotations

import re

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

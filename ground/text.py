"""Text shown to people: cut without breaking a quoted value, and locations without their credentials."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

ELLIPSIS = "…"
_CLOSING = {"'": "'", '"': '"', "“": "”", "‘": "’", "`": "`"}
_OPENS_AFTER = " \t([{:;,=/"  # a quote mark after these (or at the start) opens a quoted value
_CLOSES_BEFORE = " \t)]}:;,.!?/"  # and before these (or at the end) closes one
# Query parameters of a storage URL that carry a secret or say who you are (fsspec/s3fs, Azure, GCS, presigned).
_SECRET_PARAMS = ("password", "secret", "token", "key", "signature", "credential", "sig", "sas", "auth")


def _open_quote(text: str) -> str | None:
    """The closing mark a quoted value open at the end of ``text`` still needs, else None. A mark opens after a
    space, bracket or colon and closes before one: an apostrophe inside a word (agency's) is neither."""
    waiting: list[str] = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if waiting and ch == waiting[-1] and (after in _CLOSES_BEFORE or i + 1 == len(text)):
            waiting.pop()
        elif ch in _CLOSING and before in _OPENS_AFTER:
            waiting.append(_CLOSING[ch])
    return waiting[-1] if waiting else None


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters. A cut ends in an ellipsis, inside the quote it falls in, which
    is then closed (``found '-287 (ขาดทุน…'``): a value is never left open mid-quote."""
    if len(text) <= limit:
        return text
    kept = text[:max(limit - 2, 0)].rstrip()
    closing = _open_quote(kept)
    return kept + ELLIPSIS + (closing or "") if closing else text[:max(limit - 1, 0)].rstrip() + ELLIPSIS


def without_credentials(location: str) -> str:
    """A path or URL as it may be printed: a URL's user and password dropped, and query parameters that
    carry a secret (``?secret=…``, ``sig=…``) shown as ``***``. A plain path is returned as it is."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(f"{q.split('=', 1)[0]}=***" if any(s in q.split("=", 1)[0].lower() for s in _SECRET_PARAMS)
                     else q for q in parts.query.split("&")) if parts.query else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query))

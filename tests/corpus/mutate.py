"""Damaged copies of valid landing files, for the reader's fuzz test: deterministic for a seed.

Each mutation is one kind of damage files really suffer or an attacker makes: cut off during upload
(truncation), flipped or overwritten bytes, a workbook's ZIP with patched headers (sizes, CRCs, methods,
flags, offsets, the end record), its entries reordered, dropped or doubled, and a workbook part whose XML
(not its compressed bytes) is damaged, so the XML parser, not only the ZIP reader, meets the damage.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
END = b"PK\x05\x06"
# (offset in the record, struct format) of the fields worth lying in
LOCAL_FIELDS = [(4, "<H"), (6, "<H"), (8, "<H"), (14, "<I"), (18, "<I"), (22, "<I"), (26, "<H"), (28, "<H")]
CENTRAL_FIELDS = [(8, "<H"), (10, "<H"), (16, "<I"), (20, "<I"), (24, "<I"), (28, "<H"), (30, "<H"), (42, "<I")]
END_FIELDS = [(8, "<H"), (10, "<H"), (12, "<I"), (16, "<I"), (20, "<H")]
LIES = [0, 1, 1000, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF]


def _offsets(data: bytes, signature: bytes) -> list[int]:
    found, at = [], data.find(signature)
    while at >= 0:
        found.append(at)
        at = data.find(signature, at + 1)
    return found


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(0, len(data))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    at = rng.randrange(len(out))
    out[at:at + rng.randint(1, 16)] = rng.choice([b"\x00", b"\xff", b'"', b",", b"\n", b"<", b"\xe0\xb8"]) * 4
    return bytes(out)


def _patch(data: bytes, rng: random.Random, signature: bytes, fields: list[tuple[int, str]]) -> bytes:
    offsets = _offsets(data, signature)
    if not offsets:
        return flip_bits(data, rng)
    at = rng.choice(offsets)
    where, fmt = rng.choice(fields)
    size = struct.calcsize(fmt)
    if at + where + size > len(data):
        return flip_bits(data, rng)
    (value,) = struct.unpack_from(fmt, data, at + where)
    lie = rng.choice([*LIES, value + rng.randint(1, 64), max(0, value - rng.randint(1, 64)), value * 1000])
    out = bytearray(data)
    struct.pack_into(fmt, out, at + where, lie & (0xFFFF if fmt == "<H" else 0xFFFFFFFF))
    return bytes(out)


def patch_local(data: bytes, rng: random.Random) -> bytes:
    return _patch(data, rng, LOCAL, LOCAL_FIELDS)


def patch_central(data: bytes, rng: random.Random) -> bytes:
    return _patch(data, rng, CENTRAL, CENTRAL_FIELDS)


def patch_end(data: bytes, rng: random.Random) -> bytes:
    return _patch(data, rng, END, END_FIELDS)


def _entries(data: bytes) -> list[tuple[str, bytes]] | None:
    """The parts of a workbook, or None when it is too damaged already to take apart."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(info.filename, zf.read(info)) for info in zf.infolist()]
    except Exception:  # noqa: BLE001 - any damage: the caller damages the bytes instead
        return None


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", method) as zf:
        warnings.simplefilter("ignore")  # a doubled part is the point
        for name, body in entries:
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), body, method)
    return out.getvalue()


def shuffle_entries(data: bytes, rng: random.Random) -> bytes:
    """The same parts reordered, and one of them sometimes dropped, doubled or stored uncompressed."""
    entries = _entries(data)
    if not entries:
        return flip_bits(data, rng)
    rng.shuffle(entries)
    action = rng.choice(["none", "drop", "double", "stored"])
    if action == "drop" and len(entries) > 1:
        entries.pop(rng.randrange(len(entries)))
    elif action == "double":
        name, body = rng.choice(entries)
        entries.append((name, flip_bits(body, rng) if body else body))
    return _zip(entries, zipfile.ZIP_STORED if action == "stored" else zipfile.ZIP_DEFLATED)


def damage_part(data: bytes, rng: random.Random) -> bytes:
    """One part's uncompressed XML damaged (bytes flipped, cut, or tags and entities broken), zipped again."""
    entries = _entries(data)
    if not entries:
        return flip_bits(data, rng)
    i = rng.randrange(len(entries))
    name, body = entries[i]
    if not body:
        return shuffle_entries(data, rng)
    how = rng.choice([flip_bits, truncate, overwrite, _xml_damage])
    entries[i] = (name, how(body, rng))
    return _zip(entries)


def _xml_damage(body: bytes, rng: random.Random) -> bytes:
    tricks = [(b"<row", b"<row r=\"0\""), (b"<c ", b"<c r=\"XFD1048576\" "), (b"</t>", b"&bogus;</t>"),
              (b"<v>", b"<v>1e400"), (b"t=\"s\"", b"t=\"s\" "), (b"<v>", b"<v>99999999"), (b"<sheetData>", b""),
              (b"?>", b"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]>"), (b"r=\"", b"r=\"A0"), (b"UTF-8", b"UTF-16")]
    old, new = rng.choice(tricks)
    return body.replace(old, new, rng.choice([1, -1]))


CSV_KINDS: list[Callable[[bytes, random.Random], bytes]] = [truncate, flip_bits, overwrite]
XLSX_KINDS: list[Callable[[bytes, random.Random], bytes]] = [truncate, flip_bits, overwrite, patch_local,
                                                            patch_central, patch_end, shuffle_entries, damage_part]


def mutants(bases: dict[str, bytes], count: int, seed: int) -> Iterator[tuple[str, str, bytes]]:
    """``count`` distinct damaged files: (name of the valid file it came from, kind of damage, bytes).
    Mutants equal to a valid file or to one another are skipped, so each has its own hash."""
    rng = random.Random(seed)
    seen = set(bases.values())
    names = sorted(bases)
    made = 0
    while made < count:
        name = names[made % len(names)]
        kinds = XLSX_KINDS if name.endswith(".xlsx") else CSV_KINDS
        data, applied = bases[name], []
        for _ in range(rng.choice([1, 1, 1, 2])):  # now and then two kinds of damage at once
            kind = rng.choice(kinds)
            data = kind(data, rng) if data else data
            applied.append(kind.__name__)
        if data in seen:
            continue
        seen.add(data)
        made += 1
        yield name, "+".join(applied), data

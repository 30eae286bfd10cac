"""Parse a file in a child process with bounded memory and time: a file that kills its reader is refused.

The readers check what they can before allocating (sizes, rows, a sheet's cell range), but a reader
library can still be driven into allocating far more than the file's size, crashing, or spinning. So
``parse_isolated`` forks, caps the child's address space (``DGWH_READER_MEMORY_MB`` above what the
process already maps, default 2048) and its wall time (``DGWH_READER_TIMEOUT_S``, default 900), and
gets the parsed file back through a pipe. A child that runs out of memory, is killed by a signal, panics
in native code or runs out of time becomes ``FileRejected("reader_failed")``: the file is quarantined with
that reason and recorded in the ledger, the worker and the rest of the night go on, and the file (known
by its hash) is never read again. ``DGWH_READER_ISOLATION=0`` parses in-process.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import pickle
import resource
import select
import signal
import time
import traceback
from pathlib import Path

from ground.rows import ParsedFile
from ground.sources import Source
from ingest.parse import parse_file
from ingest.readers import FileRejected

log = logging.getLogger(__name__)
DEFAULT_READER_MEMORY_MB = 2048
DEFAULT_READER_TIMEOUT_S = 900.0


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _parse_one(path: Path, source: Source) -> tuple[str, object]:
    try:
        return "ok", parse_file(path, source)
    except FileRejected as exc:
        return "rejected", (exc.code, exc.message_en, exc.message_th, exc.row, exc.rows_in)
    except (MemoryError, RecursionError) as exc:
        return "failed", f"the reader ran out of {'memory' if isinstance(exc, MemoryError) else 'stack'}"
    except BaseException as exc:  # noqa: BLE001 - a native reader's panic is a BaseException
        if type(exc).__name__ == "PanicException":
            return "failed", f"the reader crashed ({str(exc)[:200]})"
        return "error", traceback.format_exc()


def _child(write_fd: int, paths: list[Path], source: Source, memory_bytes: int) -> None:
    """Parse each file in turn and send each result as soon as it is ready (8-byte length, then the pickle),
    so the parent knows which file a dying or hanging reader was on."""
    # A reader that exhausts its limit aborts in native code; the parent reports that in one line, so the
    # child's inherited fault handler must not print a Python stack of the parent's callers to stderr.
    faulthandler.disable()
    try:
        if memory_bytes:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = _mapped_bytes() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        with os.fdopen(write_fd, "wb") as out:
            for path in paths:
                data = pickle.dumps(_parse_one(path, source), protocol=pickle.HIGHEST_PROTOCOL)
                out.write(len(data).to_bytes(8, "big") + data)
                out.flush()
                del data
    finally:
        os._exit(0)


def _refused(what_en: str, what_th: str) -> FileRejected:
    return FileRejected("reader_failed", f"reading the file failed: {what_en}; it is refused so the night goes on",
                        f"อ่านไฟล์ไม่สำเร็จ ({what_th}) จึงไม่รับไฟล์นี้")


def parse_isolated(path: Path, source: Source) -> ParsedFile:
    """``parse_file`` in a forked child with limits; FileRejected("reader_failed") when the child fails."""
    (result,) = parse_many_isolated([path], source)
    if isinstance(result, BaseException):
        raise result
    return result


def parse_many_isolated(paths: list[Path], source: Source) -> list[ParsedFile | BaseException]:
    """Each file parsed as ``parse_isolated`` would, in as few forked children as the files allow (issue 18:
    a fork costs more than parsing a small file): one child parses the files in turn; one that kills or
    hangs its reader (each file has ``DGWH_READER_TIMEOUT_S``) is refused alone, and a new child goes on
    with the files after it. Each result is the ParsedFile, or the exception ``parse_isolated`` raises."""
    if os.environ.get("DGWH_READER_ISOLATION", "1") == "0" or not hasattr(os, "fork"):
        out: list[ParsedFile | BaseException] = []
        for path in paths:
            try:
                out.append(parse_file(path, source))
            except FileRejected as exc:
                out.append(exc)
        return out
    memory_mb = float(os.environ.get("DGWH_READER_MEMORY_MB") or DEFAULT_READER_MEMORY_MB)
    timeout = float(os.environ.get("DGWH_READER_TIMEOUT_S") or DEFAULT_READER_TIMEOUT_S)
    results: list[ParsedFile | BaseException] = []
    while len(results) < len(paths):
        rest = paths[len(results):]
        got, failure = _run_child(rest, source, memory_mb, timeout)
        results += [_result(kind, payload, memory_mb, path) for (kind, payload), path in zip(got, rest, strict=False)]
        if failure is not None:  # the reader died or hung on the next file: it alone is refused
            log.warning("reader of %s died: %s", rest[len(got)], failure.message_en)
            results.append(failure)
    return results


def _result(kind: str, payload: object, memory_mb: float, path: Path) -> ParsedFile | BaseException:
    if kind == "ok":
        return payload  # type: ignore[return-value]
    if kind == "rejected":
        code, en, th, row, rows_in = payload  # type: ignore[misc]
        return FileRejected(code, en, th, row, rows_in)
    if kind == "failed":
        return _refused(f"{payload} (DGWH_READER_MEMORY_MB={memory_mb:.0f})", "ใช้หน่วยความจำหรือทรัพยากรเกินกำหนด")
    return RuntimeError(f"parsing {path.name} failed in the reader process:\n{payload}")


def _run_child(paths: list[Path], source: Source, memory_mb: float,
               timeout: float) -> tuple[list[tuple[str, object]], FileRejected | None]:
    """One child over ``paths``: the results it sent, and why it stopped before the end (None if it did not)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(write_fd, paths, source, int(memory_mb * 1024 * 1024))
    os.close(write_fd)
    got: list[tuple[str, object]] = []
    buffer = bytearray()
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 5.0))
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            buffer.extend(chunk)
            while len(buffer) >= 8 and len(buffer) >= 8 + (size := int.from_bytes(buffer[:8], "big")):
                got.append(pickle.loads(memoryview(buffer)[8:8 + size]))  # noqa: S301 - our own child's output
                del buffer[:8 + size]
                deadline = time.monotonic() + timeout  # each file has the whole time
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if len(got) == len(paths):
        return got, None
    if timed_out:
        return got, _refused(f"it took longer than {timeout:g}s (DGWH_READER_TIMEOUT_S)",
                             f"ใช้เวลาอ่านนานเกิน {timeout:.0f} วินาที")
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        why = f"the reader was killed by {sig} (out of memory, limit DGWH_READER_MEMORY_MB={memory_mb:.0f})"
    else:
        why = f"the reader exited with status {os.waitstatus_to_exitcode(status)} without a result"
    return got, _refused(why, "โปรแกรมอ่านไฟล์หยุดทำงาน อาจใช้หน่วยความจำเกินกำหนด")

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

from ingest.parse import ParsedFile, parse_file
from ingest.readers import FileRejected
from ingest.sources import Source

log = logging.getLogger(__name__)
DEFAULT_READER_MEMORY_MB = 2048
DEFAULT_READER_TIMEOUT_S = 900.0


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _child(write_fd: int, path: Path, source: Source, memory_bytes: int) -> None:
    # A reader that exhausts its limit aborts in native code; the parent reports that in one line, so the
    # child's inherited fault handler must not print a Python stack of the parent's callers to stderr.
    faulthandler.disable()
    try:
        if memory_bytes:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = _mapped_bytes() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        try:
            result: tuple[str, object] = ("ok", parse_file(path, source))
        except FileRejected as exc:
            result = ("rejected", (exc.code, exc.message_en, exc.message_th, exc.row, exc.rows_in))
        except (MemoryError, RecursionError) as exc:
            result = ("failed", f"the reader ran out of {'memory' if isinstance(exc, MemoryError) else 'stack'}")
        except BaseException as exc:  # noqa: BLE001 - a native reader's panic is a BaseException
            if type(exc).__name__ == "PanicException":
                result = ("failed", f"the reader crashed ({str(exc)[:200]})")
            else:
                result = ("error", traceback.format_exc())
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
    finally:
        os._exit(0)


def _refused(what_en: str, what_th: str) -> FileRejected:
    return FileRejected("reader_failed", f"reading the file failed: {what_en}; it is refused so the night goes on",
                        f"อ่านไฟล์ไม่สำเร็จ ({what_th}) จึงไม่รับไฟล์นี้")


def parse_isolated(path: Path, source: Source) -> ParsedFile:
    """``parse_file`` in a forked child with limits; FileRejected("reader_failed") when the child fails."""
    if os.environ.get("DGWH_READER_ISOLATION", "1") == "0" or not hasattr(os, "fork"):
        return parse_file(path, source)
    memory_mb = float(os.environ.get("DGWH_READER_MEMORY_MB") or DEFAULT_READER_MEMORY_MB)
    timeout = float(os.environ.get("DGWH_READER_TIMEOUT_S") or DEFAULT_READER_TIMEOUT_S)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(write_fd, path, source, int(memory_mb * 1024 * 1024))
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 5.0))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise _refused(f"it took longer than {timeout:g}s (DGWH_READER_TIMEOUT_S)",
                       f"ใช้เวลาอ่านนานเกิน {timeout:.0f} วินาที")
    if not chunks:
        if os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status)).name
            why = f"the reader was killed by {sig} (out of memory, limit DGWH_READER_MEMORY_MB={memory_mb:.0f})"
        else:
            why = f"the reader exited with status {os.waitstatus_to_exitcode(status)} without a result"
        log.warning("reader of %s died: %s", path, why)
        raise _refused(why, "โปรแกรมอ่านไฟล์หยุดทำงาน อาจใช้หน่วยความจำเกินกำหนด")
    kind, payload = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's output
    if kind == "ok":
        return payload
    if kind == "rejected":
        code, en, th, row, rows_in = payload
        raise FileRejected(code, en, th, row, rows_in)
    if kind == "failed":
        raise _refused(f"{payload} (DGWH_READER_MEMORY_MB={memory_mb:.0f})", "ใช้หน่วยความจำหรือทรัพยากรเกินกำหนด")
    raise RuntimeError(f"parsing {path.name} failed in the reader process:\n{payload}")

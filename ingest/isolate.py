"""Read a file as a rejection or a parsed file, in a child process with bounded memory and time.

Every failure of reading a file is the file's, by construction: ``read_file`` turns any exception the reader
raises (a damaged ZIP, a part larger than it declares, an XML or decoder error, a reader bug no one foresaw)
into ``FileRejected``, naming the exception and, for a workbook, the sheet. Only what is not the file's
raises: the machine (an I/O error, a full disk), the project (the plan registry cannot be read) and a stop
(Ctrl-C, SIGTERM). The file is then quarantined with its reason and recorded in the ledger, and (known by its
hash) never read again.

The readers check what they can before allocating (sizes, rows, a sheet's cell range), but a reader
library can still be driven into allocating far more than the file's size, crashing, or spinning. So
``parse_isolated`` forks, caps the child's address space (``DGWH_READER_MEMORY_MB`` above what the
process already maps, default 2048) and its wall time (``DGWH_READER_TIMEOUT_S``, default 900), and
gets the parsed file back through a pipe. A child that runs out of memory, is killed by the kernel, panics
in native code or runs out of time becomes ``FileRejected("reader_failed")``; a child stopped by SIGINT,
SIGTERM or SIGHUP is a stop, not the file's fault (``ReaderStopped``). ``DGWH_READER_ISOLATION=0`` parses
in-process, with the same rules (except that there KeyboardInterrupt and SystemExit are taken as a stop).
"""

from __future__ import annotations

import errno
import faulthandler
import logging
import os
import pickle
import resource
import select
import signal
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ground.plans import registered_plans
from ground.rows import ParsedFile
from ground.sources import Source
from ingest.parse import parse_file
from ingest.readers import FileRejected

log = logging.getLogger(__name__)
DEFAULT_READER_MEMORY_MB = 2048
DEFAULT_READER_TIMEOUT_S = 900.0
# Exceptions that are a stop of the process, never a fault of the file being read.
STOPS = (KeyboardInterrupt, SystemExit, GeneratorExit)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# An OSError with one of these is the machine's (disk, memory, descriptors), not the file's: the task fails.
MACHINE_ERRNOS = frozenset({errno.EIO, errno.ENOSPC, errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.EDQUOT,
                            errno.EROFS, errno.ENODEV, errno.ESTALE})
MAX_DETAIL = 300


class ReaderStopped(RuntimeError):
    """The reader's process was stopped from outside (SIGINT, SIGTERM, SIGHUP): the run is stopping."""


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def unreadable(exc: BaseException, path: Path) -> FileRejected:
    """The rejection of a file whose reader raised what no check foresaw: the exception's kind and words
    (the staging copy's path replaced by the file's name), for the ledger, the report and the feedback."""
    words = " ".join(str(exc).replace(str(path), path.name).split())[:MAX_DETAIL]
    what = f"{type(exc).__name__}: {words}" if words else type(exc).__name__
    return FileRejected("unreadable", f"the file cannot be read: {what}",
                        f"อ่านไฟล์ไม่ได้ ไฟล์อาจเสียหายหรือมีโครงสร้างไม่ถูกต้อง ({what})")


def _refused(what_en: str, what_th: str) -> FileRejected:
    return FileRejected("reader_failed", f"reading the file failed: {what_en}; it is refused so the night goes on",
                        f"อ่านไฟล์ไม่สำเร็จ ({what_th}) จึงไม่รับไฟล์นี้")


def read_file(path: Path, source: Source) -> ParsedFile | FileRejected:
    """``parse_file``, with every failure of reading the file returned as its rejection.

    Raises only what is not the file's: the plan registry or the file's copy that cannot be opened, an
    ``OSError`` of the machine (``MACHINE_ERRNOS``) and a stop (``STOPS``). Anything else the reader raises,
    whatever its class, rejects the file: no list of a library's exception types to keep up to date."""
    plans = registered_plans()  # the project's, not the file's
    with open(path, "rb"):  # the staging copy is ours: a failure to open it is the machine's
        pass
    try:
        return parse_file(path, source, plans)
    except FileRejected as exc:
        return exc
    except (MemoryError, RecursionError) as exc:
        return _refused(f"the reader ran out of {'memory' if isinstance(exc, MemoryError) else 'stack'} "
                        f"(DGWH_READER_MEMORY_MB={_memory_mb():.0f})", "ใช้หน่วยความจำหรือทรัพยากรเกินกำหนด")
    except OSError as exc:
        if exc.errno in MACHINE_ERRNOS:
            raise
        return unreadable(exc, path)
    except STOPS:
        raise
    except BaseException as exc:  # noqa: BLE001 - a native reader's panic is a BaseException
        if not isinstance(exc, Exception):
            return _refused(f"the reader crashed ({type(exc).__name__}: {str(exc)[:200]})", "โปรแกรมอ่านไฟล์หยุดทำงาน")
        log.warning("reading %s raised %s: the file is rejected", path.name, type(exc).__name__)
        log.debug("the reader's traceback", exc_info=True)
        return unreadable(exc, path)


def _parse_one(path: Path, source: Source) -> tuple[str, object]:
    try:
        result = read_file(path, source)
    except STOPS:
        raise
    except BaseException:  # noqa: BLE001 - the machine's or the project's: reported to the parent as is
        return "error", traceback.format_exc()
    if isinstance(result, FileRejected):
        return "rejected", (result.code, result.message_en, result.message_th, result.row, result.rows_in)
    return "ok", result


def _memory_mb() -> float:
    return float(os.environ.get("DGWH_READER_MEMORY_MB") or DEFAULT_READER_MEMORY_MB)


def _child(write_fd: int, paths: list[Path], source: Source, memory_bytes: int) -> None:
    """Parse each file in turn and send each result as soon as it is ready (8-byte length, then the pickle),
    so the parent knows which file a dying or hanging reader was on."""
    # A reader that exhausts its limit aborts in native code; the parent reports that in one line, so the
    # child's inherited fault handler must not print a Python stack of the parent's callers to stderr.
    faulthandler.disable()
    for sig in STOP_SIGNALS:  # a stop ends the child at once (not the handlers of the task runner it forked from)
        signal.signal(sig, signal.SIG_DFL)
    try:
        if memory_bytes:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = _mapped_bytes() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        with os.fdopen(write_fd, "wb") as out:
            for path in paths:
                out.write(_message(path, source))
                out.flush()
    finally:
        os._exit(0)


def _message(path: Path, source: Source) -> bytes:
    """One file's result as the child sends it. Stops reach the child as signals (their default action), so
    whatever the reader raises here, even SystemExit, and a result that cannot be pickled, are the file's."""
    try:
        data = pickle.dumps(_parse_one(path, source), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # noqa: BLE001 - see above
        rejected = _refused(f"the reader ran out of memory (DGWH_READER_MEMORY_MB={_memory_mb():.0f})",
                            "ใช้หน่วยความจำเกินกำหนด") if isinstance(exc, MemoryError) else unreadable(exc, path)
        data = pickle.dumps(("rejected", (rejected.code, rejected.message_en, rejected.message_th, None, 0)))
    return len(data).to_bytes(8, "big") + data


def parse_isolated(path: Path, source: Source) -> ParsedFile:
    """``read_file`` in a forked child with limits; raises its FileRejected, or what is not the file's."""
    (result,) = parse_many_isolated([path], source)
    if isinstance(result, BaseException):
        raise result
    return result


def parse_many_isolated(paths: list[Path], source: Source) -> list[ParsedFile | BaseException]:
    """Each file read as ``read_file`` reads it, in as few forked children as the files allow (a fork costs
    more than parsing a small file): one child parses the files in turn; one that kills or hangs its reader
    (each file has ``DGWH_READER_TIMEOUT_S``) is refused alone, and a new child goes on with the files after
    it. Each result is the ParsedFile, its FileRejected, or (for what is not the file's: the machine, the
    project) a RuntimeError naming the file. A stopped reader raises ``ReaderStopped``."""
    if os.environ.get("DGWH_READER_ISOLATION", "1") == "0" or not hasattr(os, "fork"):
        out: list[ParsedFile | BaseException] = []
        for path in paths:
            try:
                out.append(read_file(path, source))
            except STOPS:
                raise
            except Exception as exc:  # noqa: BLE001 - the machine's or the project's: the caller fails the task
                out.append(RuntimeError(f"parsing {path.name} failed: {type(exc).__name__}: {exc}"))
        return out
    memory_mb = _memory_mb()
    timeout = float(os.environ.get("DGWH_READER_TIMEOUT_S") or DEFAULT_READER_TIMEOUT_S)
    workers = min(len(paths), reader_processes())
    if workers > 1:  # the files dealt round-robin to as many readers, each reading its share in turn
        shares = [paths[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(workers, thread_name_prefix="reader") as pool:
            parsed = list(pool.map(lambda share: _read_in_turn(share, source, memory_mb, timeout), shares))
        return [parsed[i % workers][i // workers] for i in range(len(paths))]
    return _read_in_turn(paths, source, memory_mb, timeout)


def reader_processes() -> int:
    """How many reader processes a load batch uses at once (``DGWH_READER_PROCESSES``, default the cores, at
    most 4): parsing is the CPU-bound part of a load, and each reader is a process of its own."""
    return max(1, int(os.environ.get("DGWH_READER_PROCESSES") or min(4, os.cpu_count() or 1)))


def _read_in_turn(paths: list[Path], source: Source, memory_mb: float,
                  timeout: float) -> list[ParsedFile | BaseException]:
    """The files read in turn by one child at a time: a new child goes on after one that died."""
    results: list[ParsedFile | BaseException] = []
    while len(results) < len(paths):
        rest = paths[len(results):]
        got, failure = _run_child(rest, source, memory_mb, timeout)
        results += [_result(kind, payload, path) for (kind, payload), path in zip(got, rest, strict=False)]
        if failure is not None:  # the reader died or hung on the next file: it alone is refused
            log.warning("reader of %s died: %s", rest[len(got)], failure.message_en)
            results.append(failure)
    return results


def _result(kind: str, payload: object, path: Path) -> ParsedFile | BaseException:
    if kind == "ok":
        return payload  # type: ignore[return-value]
    if kind == "rejected":
        code, en, th, row, rows_in = payload  # type: ignore[misc]
        return FileRejected(code, en, th, row, rows_in)
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
    timed_out = finished = False
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
        finished = True
    finally:
        os.close(read_fd)
        if timed_out or not finished:  # out of time, or the parent is stopping: the child goes too
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if len(got) == len(paths):
        return got, None
    if timed_out:
        return got, _refused(f"it took longer than {timeout:g}s (DGWH_READER_TIMEOUT_S)",
                             f"ใช้เวลาอ่านนานเกิน {timeout:.0f} วินาที")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in STOP_SIGNALS:
        raise ReaderStopped(f"the reader of {paths[len(got)].name} was stopped "
                            f"({signal.Signals(os.WTERMSIG(status)).name})")
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        why = f"the reader was killed by {sig} (out of memory, limit DGWH_READER_MEMORY_MB={memory_mb:.0f})"
    else:
        why = f"the reader exited with status {os.waitstatus_to_exitcode(status)} without a result"
    return got, _refused(why, "โปรแกรมอ่านไฟล์หยุดทำงาน อาจใช้หน่วยความจำเกินกำหนด")

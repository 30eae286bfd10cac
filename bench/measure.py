"""Clocks, a peak-RSS sampler, call-time accounting and a description of the machine."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

MB = 1024 * 1024


def rss_mb() -> float:
    """This process's resident set size now (psutil), else its peak so far (getrusage, KiB on Linux)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / MB
    except ImportError:  # pragma: no cover - psutil comes with the locked dependencies
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Peak RSS of this process while the block runs, sampled every ``interval`` seconds.

    A thread samples because the peak of one phase is what matters, and ``ru_maxrss`` only ever
    reports the process's lifetime peak. The start value is kept as ``baseline_mb``.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline_mb = 0.0
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, rss_mb())

    def __enter__(self) -> RssSampler:
        self.baseline_mb = self.peak_mb = rss_mb()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.baseline_mb


class Clock:
    """``with clock:`` adds the block's wall time to ``seconds``."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Clock:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start


@contextlib.contextmanager
def timed_attributes(owner: Any, names: list[str], totals: dict[str, float]) -> Iterator[dict[str, float]]:
    """Wrap ``owner.<name>`` (a module or object) so every call's wall time adds to ``totals[name]``.

    The real function still runs; the wrapper only reads the clock. Restored on exit (a method
    wrapped on an instance is removed again, so the class's applies).
    """
    originals = {name: getattr(owner, name) for name in names}
    own = {name for name in names if name in vars(owner)}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
        return timed

    for name, fn in originals.items():
        totals.setdefault(name, 0.0)
        setattr(owner, name, wrap(name, fn))
    try:
        yield totals
    finally:
        for name, fn in originals.items():
            if name in own:
                setattr(owner, name, fn)
            else:
                delattr(owner, name)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info(server_version: str | None = None) -> dict[str, object]:
    """Cores, RAM, CPU, OS, Python, PostgreSQL and the library versions the numbers depend on."""
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 1024**3, 1)
    except ImportError:  # pragma: no cover
        ram_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "libraries": {d: _version(d) for d in ("psycopg", "pandas", "SQLAlchemy", "great_expectations",
                                               "dbt-core", "dbt-postgres", "numpy")},
    }

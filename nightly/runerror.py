"""Why a run failed, in one line, from its Airflow log (``make run`` and ``make backfill`` print it).

``airflow dags test`` writes every task's traceback to the log; the person who typed ``make run`` needs
the reason, not fifty lines of it. The first failure the pipeline explains itself (warehouse unreachable
or stopped, run lock held, landing zone missing, a task failed on purpose) is the reason; the traceback
stays in the log, whose path the line names.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ground.text import clip

# Exceptions whose message is written for people, most specific first.
EXPLAINED = ("EmbeddedWarehouseStopped", "WarehouseUnavailable", "EmbeddedWarehouseError", "RunLocked",
             "LandingZoneError", "AirflowFailException")
_TRACEBACK_LINE = re.compile(r"(?:^|[\s\"'])(?:[A-Za-z_][\w.]*\.)?(" + "|".join(EXPLAINED) + r"): (.+?)\s*$")
_STRUCTURED = re.compile(r"[\"']exc_type[\"']:\s*[\"'](" + "|".join(EXPLAINED) + r")[\"'],\s*"
                         r"[\"']exc_value[\"']:\s*[\"'](.+?)(?<!\\)[\"']")
_OURS = re.compile(r"(?:RuntimeError|Exception): (the run did not complete.+?|cross-model dbt tests failed.+?"
                   r"|reconcile.+?)\s*$")
_MAX = 400


def reason(log_text: str) -> str | None:
    """The first explained failure in the log, as one line (None if there is none)."""
    found: list[tuple[int, int, str]] = []  # (position, rank, message)
    pos = 0
    for line in log_text.splitlines(keepends=True):
        if m := _TRACEBACK_LINE.search(line.rstrip("\r\n")):
            found.append((pos, EXPLAINED.index(m.group(1)), m.group(2)))
        pos += len(line)
    found += [(m.start(), EXPLAINED.index(m.group(1)), m.group(2)) for m in _STRUCTURED.finditer(log_text)]
    if found:
        return _clip(min(found)[2])  # the earliest failure is the cause of the later ones
    for line in log_text.splitlines():
        if m := _OURS.search(line):
            return _clip(m.group(1))
    return None


def _clip(text: str) -> str:
    text = " ".join(text.replace("\\n", " ").split())
    return clip(text, _MAX)


def main(argv: list[str]) -> int:
    """``python -m nightly.runerror <log>``: print the one line (exit 1: the run failed, whatever the reason)."""
    if not argv:
        print("usage: python -m nightly.runerror <airflow log>", file=sys.stderr)
        return 2
    log = Path(argv[0])
    text = log.read_text(errors="replace") if log.exists() else ""
    why = reason(text)
    print(f"error: {why} (full log: {log})" if why else f"error: the run failed; see the failed tasks in {log}",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""``dgwh <command> [arguments]``: every command of the warehouse under one name (the make targets call it).

Each command is the ``__main__`` of the module that owns it, run with the given arguments, so the command
line and ``python -m <module>`` cannot drift apart. ``dgwh`` alone lists the commands.
"""

from __future__ import annotations

import runpy
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "manifest": ("nightly.transform", "dbt parse: the manifest the DAGs render their dbt tasks from"),
    "sample": ("sampledata.generate", "write the sample landing zone (--if-empty, --for-run)"),
    "warehouse": ("ground.warehouse", "url | bi-url | check: the warehouse's URL, started if embedded"),
    "progress": ("nightly.progress", "run a DAG test printing one line per finished task"),
    "explain-failure": ("nightly.runerror", "the failed task and its error, from an Airflow log"),
    "summary": ("nightly.summary", "print the newest run's summary"),
    "report": ("reporting.nightly", "write the nightly HTML report"),
    "backfill-range": ("nightly.backfill_range", "check FROM/TO (environment) and print dg_backfill's conf"),
    "withdraw": ("nightly.withdraw", "withdraw a loaded file (FILE, REASON in the environment)"),
    "lock": ("nightly.runlock", "unlock: release a run lock whose holder is gone (FORCE=1 while it runs)"),
    "pools": ("nightly.pools", "create or resize the Airflow pool of warehouse tasks"),
    "templates": ("reporting.templates", "regenerate docs/sources.md, templates, generated staging models (--check)"),
    "docs": ("reporting.serve", "serve the report, GX Data Docs and dbt docs read-only"),
    "bi": ("bi.local", "start | stop | url: Superset on the marts as bi_reader"),
    "bench": ("bench.run", "run the benchmarks"),
    "prod-check": ("prodcheck", "run the compose topology as processes and the operator scenarios"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    return "usage: dgwh <command> [arguments]\n\n" + "\n".join(
        f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help", "help") else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help", "help") else 2
    module = COMMANDS[argv[0]][0]
    sys.argv = [f"dgwh {argv[0]}", *argv[1:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0

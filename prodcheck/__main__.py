"""make prod-check: start docker-compose.yml's topology as processes, run the operator scenarios through
Airflow's REST API, print PASS/FAIL per scenario, stop everything it started (by PID), pass or fail.

State (databases, logs, the landing zone, a generated .env with fresh secrets) goes to
``$DGWH_STATE_DIR/prod-check`` (default ``.state/prod-check``), wiped at the start of each check.

A missing prerequisite is named before anything starts; SIGTERM or SIGINT stops everything started."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from prodcheck.compose import REPO
from prodcheck.stack import Stack, tail


def _log(message: str) -> None:
    print(f"[prod-check {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Stopped(BaseException):
    """SIGTERM or SIGINT: not an ``Exception``, so nothing on the way up catches it before the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, frame) -> None:
    raise Stopped(signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dgwh prod-check", description=(
        "Start docker-compose.yml's topology as processes on this machine (S3 server, both PostgreSQL servers, "
        "Redis, Airflow's services, the docs server), run the operator scenarios through Airflow's REST API, "
        "print PASS/FAIL per scenario and stop everything it started. State and logs: "
        "$DGWH_STATE_DIR/prod-check. SIGTERM or SIGINT (Ctrl-C) stops everything it started."))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)  # --help prints the help and exits here, before anything starts
    from prodcheck.prerequisites import missing

    if lacking := missing():
        print(f"prod-check cannot start: missing {'; '.join(lacking)}", file=sys.stderr, flush=True)
        return 2
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _check()
    except Stopped as stop:
        print(f"prod-check stopped by {stop}: everything it started is stopped", file=sys.stderr, flush=True)
        return 128 + stop.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check() -> int:
    from prodcheck.scenarios import Operator, upload_landing
    from prodcheck.topology import CHECK_OVERRIDES, Topology, bring_up
    from sampledata.generate import generate

    started = time.monotonic()
    root = Path(os.environ.get("DGWH_STATE_DIR", REPO / ".state")).resolve() / "prod-check"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    landing = root / "landing"
    landing.mkdir()
    sample = Path(tempfile.mkdtemp(prefix="dgwh-prod-check-sample-"))
    topo, operator, code, stopped = Topology(Stack(root), landing), None, 1, False
    uploaded: dict[str, float] = {}

    def fill(topo: Topology) -> None:
        uploaded.update(files=upload_landing(sample / "landing", topo), at=time.monotonic())
        _log(f"uploaded {uploaded['files']:.0f} files to {topo.landing_url}")

    try:
        (sample / "seeds").mkdir()
        shared = REPO.parent / "shared"
        generate(sample / "landing", sample / "seeds", shared if shared.exists() else None)
        _log(f"state in {root}; check-only settings: {CHECK_OVERRIDES}")
        bring_up(topo, _log, on_landing=fill)
        topo.stack.check_alive()  # every process it started still runs (Redis, both PostgreSQL, S3, Airflow)
        _log(f"stack up in {time.monotonic() - started:.0f}s: " + ", ".join(
            f"{name} (pid {s.popen.pid})" for name, s in topo.running.items()))
        operator = Operator(topo, sample / "landing", _log)
        operator.backfill_and_two_nights(*operator.first_night(int(uploaded["files"]), uploaded["at"]))
        operator.services_alive()
        operator.not_reached("the night never published its marts, so no backfill was triggered")
        code = 0 if all(r.ok for r in operator.results) else 1
    except Exception as exc:  # noqa: BLE001 (reported, then everything is stopped)
        _log(f"FAIL  the check could not go on: {type(exc).__name__}: {exc}")
        if operator is not None:
            operator.not_reached(f"{type(exc).__name__}: {exc}")
        for log in sorted(topo.stack.logs.glob("*.log")):
            print(f"--- {log.name} (last lines) ---\n{tail(log, 25)}")
    except Stopped:
        stopped = True
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):  # a (second) signal must not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        if operator is not None and not stopped:
            runs = dict.fromkeys(run for result in operator.results if not result.ok for run in result.runs)
            for dag_id, run_id in runs:  # the logs of failed (or unfinished) tasks of the runs that failed
                print(operator.failed_task_logs(dag_id, run_id))
        _log("stopping " + ", ".join(f"{s.name} (pid {s.popen.pid})" for s in topo.stack.started))
        topo.stack.stop_all()
        shutil.rmtree(sample, ignore_errors=True)
    if operator is not None:
        print("\n=== prod-check ===")
        for result in operator.results:
            print(f"{'PASS' if result.ok else 'FAIL'}  {result.name}")
    print(f"prod-check {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - started:.0f}s "
          f"(logs: {root / 'logs'})")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Airflow's overhead on a real night: the nightly DAG on the sample under ``airflow dags test`` against the
same night run by the plain nightly service (``nightly.service.run_night``), each from an empty warehouse.

Both read one landing zone (the published sample) and one copy of the dbt project; each has its own state
folder and embedded PostgreSQL. What is not the night is done first and not timed: the dbt manifest, the
warehouse servers started, Airflow's metadata database migrated. Each night is a fresh process, timed from
its start to its exit, so both pay their imports.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from bench.workspace import REPO, shared_dir

AIRFLOW_TARGET = 1.5  # the DAG night's seconds / the service night's
# run_night, plus the two warn-only steps the DAG runs beside it (dbt source freshness, dbt docs): the same work
SERVICE_NIGHT = "\n".join([
    "from nightly.service import run_night",
    "from nightly.transform import DOCS_GENERATE, run_dbt, source_freshness",
    "from reporting.nightly import report_for",
    "night = run_night('bench-service', report=report_for)",
    "source_freshness()",
    "run_dbt(list(DOCS_GENERATE))",
    "raise SystemExit(0 if night.success else 1)"])


class NightFailed(RuntimeError):
    pass


def _env(root: Path, name: str) -> dict[str, str]:
    env = {**os.environ, "DGWH_REPO_ROOT": str(root / "repo"), "DGWH_STATE_DIR": str(root / name),
           "LANDING_ZONE": str(root / "landing"), "DGWH_SETTLE_S": "0", "GX_ANALYTICS_ENABLED": "false",
           "AIRFLOW_HOME": str(root / name / "airflow"), "PYTHONPATH": str(REPO)}
    for key in ("WAREHOUSE_URL", "AIRFLOW_CONN_DG_WAREHOUSE"):
        env.pop(key, None)
    return env


def _run(argv: list[str], env: dict[str, str], log: Path, what: str) -> float:
    """``argv`` to completion, its output into ``log``; seconds taken. Raises unless it exits 0."""
    start = time.perf_counter()
    with open(log, "ab") as out:
        code = subprocess.run(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise NightFailed(f"{what} exited {code}; end of {log}:\n{tail}")
    return seconds


def _ledger(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM ops.file_ledger GROUP BY status").fetchall())


def _airflow_tasks(home: Path) -> dict[str, object]:
    """How many task instances the DAG run started, and the seconds of those in the dbt group."""
    with closing(sqlite3.connect(home / "airflow.db")) as db:
        rows = db.execute("SELECT task_id, state, coalesce(duration, 0) FROM task_instance "
                          "WHERE dag_id = 'dg_nightly'").fetchall()
    ran = [r for r in rows if r[1] not in ("skipped", "upstream_failed", "removed")]
    dbt = [r for r in ran if r[0].startswith("dbt.")]
    return {"task_instances_run": len(ran), "dbt_task_instances": len(dbt),
            "dbt_task_s": round(sum(r[2] for r in dbt), 1)}


def airflow_phase(root: str) -> dict[str, object]:
    """Both nights on the sample; ``airflow_vs_service`` is the DAG night's seconds over the service's."""
    from sampledata.generate import generate

    base = Path(root)
    py = str(REPO / ".venv" / "bin" / "python")
    shutil.copytree(REPO / "dbt_project", base / "repo" / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    generate(base / "landing", base / "repo" / "dbt_project" / "seeds", shared_dir())
    log = base / "nights.log"
    prepare = _env(base, "service")
    _run([py, "-c", "from nightly.transform import build_manifest; build_manifest()"], prepare, log, "dbt parse")
    urls = {}
    for name in ("service", "airflow"):
        env = _env(base, name)
        out = subprocess.run([py, "-m", "ground.warehouse", "url"], env=env, cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        urls[name] = out.strip().splitlines()[-1]
    airflow_env = {**_env(base, "airflow"), "AIRFLOW_CONN_DG_WAREHOUSE": urls["airflow"]}
    script = str(REPO / "scripts" / "airflow.sh")
    _run([script, "dags", "list"], airflow_env, log, "airflow db migrate")  # untimed: Airflow's own set-up
    try:
        service_s = _run([py, "-c", SERVICE_NIGHT], {**_env(base, "service"), "WAREHOUSE_URL": urls["service"]},
                         log, "the service night")
        airflow_s = _run([script, "dags", "test", "dg_nightly"], airflow_env, log, "the DAG night")
        ledgers = {name: _ledger(url) for name, url in urls.items()}
        if ledgers["service"] != ledgers["airflow"]:
            raise NightFailed(f"the two nights loaded different files: {ledgers}")
        tasks = _airflow_tasks(base / "airflow" / "airflow")
    finally:
        from ground.embedded_pg import EmbeddedWarehouse

        for name in ("service", "airflow"):
            EmbeddedWarehouse(base / name).stop()
    ratio = round(airflow_s / service_s, 3)
    return {"service_s": round(service_s, 1), "airflow_s": round(airflow_s, 1), "airflow_vs_service": ratio,
            "files": ledgers["airflow"], **tasks, "target": AIRFLOW_TARGET, "met": ratio <= AIRFLOW_TARGET}


def main() -> int:
    """``python -m bench.airflow_night DIR``: the measure alone (DIR must not exist yet)."""
    import json

    root = Path(sys.argv[1])
    root.mkdir(parents=True)
    result = airflow_phase(str(root))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

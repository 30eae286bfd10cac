"""Real Airflow: DAG files import fast and cleanly, and the nightly DAG runs end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from decimal import Decimal

import pytest

from tests.conftest import BOOKS, REPO


def test_dags_import_without_errors_and_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from airflow.dag_processing.dagbag import DagBag

    for dag_file in sorted((REPO / "dags").glob("*.py")):
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(dag_file))
        elapsed = time.perf_counter() - started
        assert not bag.import_errors, bag.import_errors
        assert bag.dags, dag_file
        assert elapsed < 2.0, f"{dag_file.name} took {elapsed:.2f}s to parse"


@pytest.mark.skipif(not BOOKS.exists(), reason="../shared/data is not beside this checkout")
def test_nightly_dag_run_loads_real_books_then_nothing(make_warehouse):
    wh = make_warehouse("airflow")
    wh.use()
    for book in BOOKS.glob("*.csv"):
        (wh.landing / "budget_bill" / "2565").mkdir(parents=True, exist_ok=True)
        shutil.copy(book, wh.landing / "budget_bill" / "2565" / book.name)
    env = {**os.environ, "AIRFLOW_HOME": str(wh.state / "airflow")}
    for _attempt in (1, 2):
        run = subprocess.run([str(REPO / "scripts" / "airflow.sh"), "dags", "test", "dg_nightly"], env=env,
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        with wh.connect() as conn:
            files, rows = conn.execute("SELECT count(*), sum(rows_loaded) FROM ops.file_ledger").fetchone()
            status = conn.execute("SELECT status FROM ops.pipeline_runs ORDER BY finished_at DESC LIMIT 1").fetchone()
            raw = conn.execute("SELECT count(*) FROM raw.budget_bill").fetchone()[0]
            total = conn.execute("""SELECT amount_baht FROM marts.budget_by_year WHERE fiscal_year_be = 2565
                AND budget_plan_code = 'dg_integration' AND source = 'budget_bill'""").fetchone()[0]
        assert status == ("success",)
        assert files == 2 and rows == raw == 2598 + 1990  # the second run added nothing
        assert total > Decimal(0)

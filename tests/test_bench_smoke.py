"""The benchmark code runs end to end at a tiny scale and writes results of the documented shape.

It asserts nothing about speed: a benchmark reports, it does not fail the suite on its numbers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from bench.run import KEYS, BenchConfig, headline, run_bench, table

# One scale, the nightly on the local-organisation files only, a narrow dbt build, no subprocesses:
# the same code paths as ``make bench`` in a fraction of its time.
SMOKE = dict(scales=(1,), history=False, isolate=False, copy_repeats=1,
             dbt_args=("--select", "+fct_readiness_responses", "--exclude", "resource_type:test",
                       "resource_type:unit_test"))


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_bench_smoke(tmp_path):
    env_before = {k: os.environ.get(k) for k in ("DGWH_STATE_DIR", "LANDING_ZONE", "DGWH_REPO_ROOT")}
    out = tmp_path / "results.json"

    # Workspaces in the system temp dir, as the warehouse fixtures do (see tests/conftest.py).
    results = run_bench(BenchConfig(out=out, **SMOKE))

    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(results, ensure_ascii=False))
    for key in KEYS:
        assert _positive(written[key]), (key, written[key])
    assert 0 < written["gx_share_of_ingest"] < 1
    scale = written["scales"][0]
    # The three loaders saw the same rows: every local organisation of the scale, every survey year.
    assert scale["rows"] == scale["ingest"]["rows"] == scale["copy"]["rows"] == scale["to_sql"]["rows"] > 0
    assert scale["files"] == 10
    nightly = written["nightly"]
    assert nightly["noop_1"]["files"] == nightly["noop_2"]["files"] == []
    assert nightly["noop_1"]["dbt"]["fact_rows_written"] == 0  # incremental: nothing new, nothing rebuilt
    # The corrected national file rebuilds its year's partitions; one agency's answer only its own.
    assert nightly["delta"]["dbt"]["fact_rows_written"] == scale["rows_per_file"]
    assert nightly["delta_small"]["dbt"]["fact_rows_written"] == 1
    assert nightly["full_rebuild"]["fact_rows_written"] == nightly["full_rebuild"]["fact_rows"]
    assert [t["name"] for t in written["targets"]][0].startswith("ingest")
    assert all(isinstance(t["met"], bool) for t in written["targets"])
    assert headline(written).startswith("ingest/COPY")
    assert "| ingest (parse + GX + load) |" in table(written)
    assert not Path(written["config"]["workdir"]).exists(), "workspaces are removed after the run"
    assert {k: os.environ.get(k) for k in env_before} == env_before

"""The benchmark code runs end to end at a tiny scale and writes results of the documented shape.

It asserts nothing about speed: a benchmark reports, it does not fail the suite on its numbers.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path

from bench.run import KEYS, BenchConfig, headline, run_bench, table
from sampledata.generate import READINESS_TARGETS

# One scale, the nightly on the local-organisation files only, a narrow dbt build, no subprocesses, no Airflow:
# the same code paths as ``make bench`` in a fraction of its time.
# Every model and seed is built (a night with a contract mart missing must build), without the tests.
SMOKE = dict(scales=(1,), history=False, isolate=False, copy_repeats=1, night_repeats=1, national_limit=40,
             discovery_sizes=(20, 200), airflow_night=False,
             dbt_args=("--exclude", "resource_type:test", "resource_type:unit_test"))


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
    assert scale["files"] == len(READINESS_TARGETS)  # one local file per survey year
    nightly = written["nightly"]
    assert [n["files"] for n in nightly["noop"]] == [[]]
    # As in dg_nightly: no new file and the project unchanged since the recorded build, so dbt is skipped.
    assert [n["build_needed"] for n in nightly["noop"]] == [False]
    assert nightly["noop"][0]["dbt"]["skipped"] and nightly["noop"][0]["dbt"]["fact_rows_written"] == 0
    assert "unchanged since run bench-history" in nightly["noop"][0]["reason"]
    assert nightly["delta"]["build_needed"] and "1 new file(s) loaded" in nightly["delta"]["reason"]
    # The corrected national file rebuilds its year's partitions; one agency's answer only its own.
    assert nightly["delta"]["dbt"]["fact_rows_written"] == scale["rows_per_file"]
    assert nightly["delta_small"]["dbt"]["fact_rows_written"] == 1
    assert [f["fact_rows_written"] for f in nightly["full_rebuild"]] == [nightly["full_rebuild"][0]["fact_rows"]]
    # National grain: each organisation's own one-row file, all loaded, in load batches.
    national = written["national"]
    assert national["files"] == national["rows"] == 40 and national["load_batches"] >= 1
    # Discovery beside 20 and 200 old files: the hashing reader read the new file's bytes and nothing else.
    assert [(d["old_files"], d["bytes_read"], d["recognised"]) for d in written["discovery"]["sizes"]] == \
        [(n, d["new_file_bytes"], n) for n, d in zip((20, 200), written["discovery"]["sizes"], strict=True)]
    assert "discovery_growth_exponent" in written
    assert [t["name"] for t in written["targets"]][0].startswith("ingest")
    assert all(isinstance(t["met"], bool) for t in written["targets"])
    assert headline(written).startswith("ingest/COPY")
    assert "| ingest (parse + GX + load) |" in table(written)
    assert not Path(written["config"]["workdir"]).exists(), "workspaces are removed after the run"
    assert {k: os.environ.get(k) for k in env_before} == env_before


def _contents(root: Path) -> dict[str, bytes]:
    """Every file's bytes (a workbook's parts without docProps, where openpyxl stamps the save time),
    and for landing files their modification time too: it is when the pipeline says they arrived."""
    out: dict[str, bytes] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                data = b"".join(z.read(n) for n in sorted(z.namelist()) if not n.startswith("docProps/"))
        else:
            data = path.read_bytes()
        relative = path.relative_to(root)
        received = str(path.stat().st_mtime).encode() if relative.parts[0] == "landing" else b""
        out[str(relative)] = data + b"|" + received
    return out


def test_scale_adds_local_organisations_and_changes_nothing_else(tmp_path):
    """The published figures come from the default sample: a scale may only add to it."""
    from sampledata.generate import LOCAL_TOTAL, generate
    from tests.conftest import SHARED

    shared = SHARED if SHARED.exists() else None
    for name, scale in (("default", 0), ("scaled", 2)):
        (tmp_path / name / "seeds").mkdir(parents=True)
        generate(tmp_path / name / "landing", tmp_path / name / "seeds", shared, scale=scale)
    default, scaled = _contents(tmp_path / "default"), _contents(tmp_path / "scaled")

    added = sorted(set(scaled) - set(default))
    assert len(added) == len(READINESS_TARGETS) and all("readiness_local_" in p for p in added)
    assert {p: scaled[p] for p in default if p != "seeds/agencies.csv"} == \
        {p: b for p, b in default.items() if p != "seeds/agencies.csv"}
    registry = scaled["seeds/agencies.csv"].removesuffix(b"|")
    base = default["seeds/agencies.csv"].removesuffix(b"|")
    assert registry.startswith(base)
    locals_added = registry[len(base):].decode().splitlines()
    assert len(locals_added) == LOCAL_TOTAL * 2 // 16
    assert all(",local," in line and line.startswith("L") for line in locals_added)
    with open(tmp_path / "scaled" / "landing" / added[0].removeprefix("landing/"), encoding="utf-8-sig") as fh:
        assert len(fh.read().splitlines()) == 1 + len(locals_added)  # header + every registered local unit

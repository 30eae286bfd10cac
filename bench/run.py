"""``make bench``: generate the sample at 1x, 4x and 16x local organisations, measure, write
``bench/results.json`` and print the key ratios as the last line.

    python -m bench.run [--scales 1,4,16] [--out bench/results.json] [--keep] [--workdir DIR]
    python -m bench.run --table [--out bench/results.json]   # the README's results table

Scale N is N/16 of Thailand's 7,850 local administrative organisations answering the readiness survey
for each of 10 years (``sampledata.generate --scale``); 16 is all of them. Everything runs against
throwaway embedded PostgreSQL servers in a temporary directory, removed afterwards unless ``--keep``.
A benchmark reports; it exits 0 when it completes, whatever the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from bench.airflow_night import airflow_phase
from bench.discovery import SIZES as DISCOVERY_SIZES
from bench.discovery import add_to_results, discovery_phase
from bench.discovery import line as discovery_line
from bench.measure import machine_info
from bench.phases import ingest_phase, national_phase, nightly_phase
from bench.workspace import Workspace

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "results.json"
KEYS = ("ingest_rows_per_s", "copy_rows_per_s", "to_sql_rows_per_s", "gx_share_of_ingest", "nightly_delta_s",
        "nightly_noop_s", "full_rebuild_s", "peak_rss_mb")
MEMORY_SLOPE_TARGET_MB = 1.0  # per 10,000 rows in a file: "flat" (a million-row file within 100 MB more)


@dataclass(frozen=True)
class BenchConfig:
    scales: tuple[int, ...] = (1, 4, 16)
    out: Path = DEFAULT_OUT
    workdir: Path | None = None
    keep: bool = False
    history: bool = True  # the whole sample landing zone under the nightly, not only the local files
    isolate: bool = True  # each phase in a fresh process (its own memory peak; dbt's output to a log)
    dbt_args: tuple[str, ...] = ()  # smoke test only: narrow every dbt build (e.g. --select ...)
    copy_repeats: int = 3
    night_repeats: int = 2  # no-op nights and full rebuilds, each (the mean is reported)
    national_limit: int | None = None  # national grain: only this many organisations' files (smoke test)
    discovery_sizes: tuple[int, ...] = DISCOVERY_SIZES  # old files beside the one new file (bench/discovery.py)
    airflow_night: bool = True  # the sample's night through `airflow dags test` and as the service (minutes)


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    """Phases point the pipeline's env vars at their workspace; give the caller its own back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _child(log_path: str, fn: Callable[..., dict], *args: object) -> dict:
    """In the spawned process: dbt's and GX's output to the phase's log, then the phase."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    return fn(*args)


def _call(config: BenchConfig, log_path: Path, fn: Callable[..., dict], *args: object) -> dict:
    if not config.isolate:
        with _environment():
            return fn(*args)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        try:
            return pool.submit(_child, str(log_path), fn, *args).result()
        except Exception:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            _log(f"phase {fn.__name__} failed; end of its log {log_path}:\n{tail}")
            raise


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _x(value: float | None, spec: str) -> str:
    return format(value, spec) if value is not None else "n/a"


def _growth(per_scale: list[dict], method: str) -> dict[str, object]:
    """Seconds and rows per scale, and the exponent b of seconds ~ rows^b between the ends (1 = linear)."""
    rows = [s[method]["rows"] for s in per_scale]
    seconds = [s[method]["seconds"] for s in per_scale]
    exponent = (math.log(seconds[-1] / seconds[0]) / math.log(rows[-1] / rows[0])
                if len(rows) > 1 and rows[-1] > rows[0] and seconds[0] > 0 else None)
    return {"rows": rows, "seconds": seconds, "rows_per_s": [s[method]["rows_per_s"] for s in per_scale],
            "exponent": round(exponent, 3) if exponent is not None else None}


def _memory(per_scale: list[dict]) -> dict[str, object]:
    """Ingest's peak RSS per file size, and its slope in MB per 10,000 rows of one file."""
    per_file = [s["rows_per_file"] for s in per_scale]
    peaks = [s["ingest_rss"]["peak_mb"] for s in per_scale]
    growth = [s["ingest_rss"]["growth_mb"] for s in per_scale]
    slope = ((growth[-1] - growth[0]) / (per_file[-1] - per_file[0]) * 10_000
             if len(per_file) > 1 and per_file[-1] > per_file[0] else None)
    return {"rows_per_file": per_file, "ingest_peak_rss_mb": peaks, "ingest_growth_mb": growth,
            "mb_per_10k_rows_per_file": round(slope, 2) if slope is not None else None,
            "projected_growth_mb_for_1m_row_file": round(slope * 100, 0) if slope is not None else None}


def summarise(per_scale: list[dict], nightly: dict, national: dict, config: BenchConfig, machine: dict,
              elapsed_s: float, workdir: Path, airflow: dict | None = None) -> dict[str, object]:
    """The headline numbers (at the largest scale), the targets and everything measured."""
    top = per_scale[-1]
    ingest, copy, to_sql = top["ingest"], top["copy"], top["to_sql"]
    noop = sum(n["seconds"] for n in nightly["noop"]) / len(nightly["noop"])
    delta = nightly["delta"]["seconds"]
    full = sum(f["seconds"] for f in nightly["full_rebuild"]) / len(nightly["full_rebuild"])
    memory = _memory(per_scale)
    gx_share = ingest["gate_s"] / ingest["seconds"]
    slope = memory["mb_per_10k_rows_per_file"]
    small = nightly["history"]["small_files"]
    built_small, built_all = nightly["delta_small"]["dbt"].get("models"), nightly["first_build"]["models"]
    targets = [
        {"name": "ingest >= 0.5x raw COPY rows/s", "value": _ratio(ingest["rows_per_s"], copy["rows_per_s"]),
         "met": ingest["rows_per_s"] >= 0.5 * copy["rows_per_s"]},
        {"name": "GX <= 25% of ingest time", "value": round(gx_share, 4), "met": gx_share <= 0.25},
        {"name": "nightly with one new file <= 2x no-op", "value": _ratio(delta, noop), "met": delta <= 2 * noop},
        {"name": "nightly with one new file <= 10% of full rebuild", "value": _ratio(delta, full),
         "met": delta <= 0.10 * full},
        {"name": f"memory flat as files grow (<= {MEMORY_SLOPE_TARGET_MB:g} MB per 10k rows in a file)",
         "value": slope, "met": slope is not None and slope <= MEMORY_SLOPE_TARGET_MB},
        {"name": "ingest >= 3x pandas to_sql rows/s", "value": _ratio(ingest["rows_per_s"], to_sql["rows_per_s"]),
         "met": ingest["rows_per_s"] >= 3 * to_sql["rows_per_s"]},
        {"name": f"the sample's {small['files']} small files loaded in <= 10 s", "value": small["seconds"],
         "met": small["seconds"] <= 10},
        {"name": "a night with one agency's readiness file builds only the models it reaches (of all built first)",
         "value": f"{built_small} of {built_all}", "met": built_small < built_all},
    ]
    if airflow:
        targets.append({"name": f"the nightly DAG under airflow dags test <= {airflow['target']}x the service night",
                        "value": airflow["airflow_vs_service"], "met": airflow["met"]})
    machine = {**machine, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    return {
        "ingest_rows_per_s": ingest["rows_per_s"],
        "copy_rows_per_s": copy["rows_per_s"],
        "to_sql_rows_per_s": to_sql["rows_per_s"],
        "ingest_vs_copy": _ratio(ingest["rows_per_s"], copy["rows_per_s"]),
        "to_sql_vs_copy": _ratio(to_sql["rows_per_s"], copy["rows_per_s"]),
        "gx_share_of_ingest": round(gx_share, 4),
        "nightly_delta_s": delta,
        "nightly_delta_small_s": nightly["delta_small"]["seconds"],
        "nightly_noop_s": round(noop, 3),
        "full_rebuild_s": round(full, 3),
        "peak_rss_mb": max([s["ingest_rss"]["peak_mb"] for s in per_scale]
                           + [s["to_sql_rss"]["peak_mb"] for s in per_scale] + [nightly["rss"]["peak_mb"]]),
        "airflow_vs_service": airflow["airflow_vs_service"] if airflow else None,
        "airflow_night": airflow,
        "targets": targets,
        "largest_scale": {"scale": top["scale"], "files": top["files"], "rows": top["rows"],
                          "rows_per_file": top["rows_per_file"],
                          # under the nights: the local files (loaded by the ingest phase) and every other file
                          "history_rows": top["rows"] + nightly["history"]["rows"],
                          "history_files": top["files"] + nightly["history"]["files"]},
        "growth": {m: _growth(per_scale, m) for m in ("ingest", "copy", "to_sql")},
        "memory": memory,
        "scales": per_scale,
        "nightly": nightly,
        "national": national,
        "machine": machine,
        "config": {"scales": list(config.scales), "workdir": str(workdir), "kept": config.keep,
                   "history": config.history, "isolate": config.isolate,
                   "dbt_args": list(config.dbt_args), "copy_repeats": config.copy_repeats,
                   "night_repeats": config.night_repeats},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
    }


def run_bench(config: BenchConfig) -> dict[str, object]:
    """Generate, measure, summarise and write ``config.out``; returns the results."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # The benchmark writes its landing files whole before a night reads them: no settle window (the
    # default of 60 s would leave a correction written a second ago for the next night).
    os.environ["DGWH_SETTLE_S"] = "0"
    scales = sorted(set(config.scales))
    if not scales or scales[0] < 1 or scales[-1] > 16:
        raise ValueError(f"scales must be 1-16, got {config.scales}")
    started = time.perf_counter()
    machine = machine_info()
    root = Path(tempfile.mkdtemp(prefix="dgwh-bench-", dir=config.workdir))
    workspaces: list[Workspace] = []
    per_scale: list[dict] = []
    try:
        for scale in scales:
            is_top = scale == scales[-1]
            _log(f"scale {scale}: writing the sample ({scale}/16 of the local organisations)")
            ws = Workspace.create(root / f"scale-{scale}", scale, history=config.history and is_top)
            workspaces.append(ws)
            _log(f"scale {scale}: ingest vs COPY vs to_sql on {len(ws.local_files())} files")
            per_scale.append(_call(config, root / f"scale-{scale}.log", ingest_phase, str(ws.root), scale,
                                   config.copy_repeats))
            if not is_top:
                ws.stop()
        _log(f"scale {scales[-1]}: history, then nights (no-op, one new file, full rebuild)")
        nightly = _call(config, root / "nightly.log", nightly_phase, str(workspaces[-1].root), scales[-1],
                        list(config.dbt_args), config.night_repeats)
        workspaces[-1].stop()
        _log(f"scale {scales[-1]}: national grain, every organisation's own file for one survey year")
        national_ws = Workspace.create(root / "national", scales[-1], history=config.history)
        workspaces.append(national_ws)
        national = _call(config, root / "national.log", national_phase, str(national_ws.root), scales[-1],
                         config.national_limit)
        national_ws.stop()
        _log(f"discovery: {', '.join(f'{n:,}' for n in config.discovery_sizes)} old files plus one new one")
        discovery = _call(config, root / "discovery.log", discovery_phase, str(root / "discovery"),
                          config.discovery_sizes, 3, str(national_ws.state))
        airflow = None
        if config.airflow_night:
            _log("the sample's night through Airflow (dags test) and as the plain service")
            airflow = _call(config, root / "airflow.log", airflow_phase, str(root / "airflow-night"))
    finally:
        for ws in workspaces:
            with contextlib.suppress(Exception):
                ws.stop()
        if config.keep:
            _log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    machine["postgresql"] = per_scale[0]["server_version"]
    results = summarise(per_scale, nightly, national, config, machine, time.perf_counter() - started, root,
                        airflow)
    results = add_to_results(results, discovery)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def headline(results: dict) -> str:
    """The key ratios, one line."""
    targets = results["targets"]
    mark = ["met" if x["met"] else "NOT met" for x in targets]
    return (f"ingest/COPY {_x(results['ingest_vs_copy'], '.3f')}x (target >=0.5: {mark[0]}) · "
            f"to_sql/COPY {_x(results['to_sql_vs_copy'], '.3f')}x · "
            f"GX {results['gx_share_of_ingest']:.0%} of ingest (<=25%: {mark[1]}) · "
            f"nightly delta/no-op {_x(targets[2]['value'], '.2f')}x (<=2: {mark[2]}) · "
            f"delta/full {_x(targets[3]['value'], '.2f')}x (<=0.10: {mark[3]}) · "
            f"peak RSS {results['peak_rss_mb']:.0f} MB, {_x(targets[4]['value'], '.1f')} MB/10k rows per file "
            f"(flat: {mark[4]})" + "".join(f" · {t['name']}: {t['value']} ({m})" for t, m in zip(
                targets[8:], mark[8:], strict=True)))


def table(results: dict) -> str:
    """The README's results table (markdown)."""
    m, big = results["machine"], results["largest_scale"]
    n, top = results["nightly"], results["scales"][-1]["ingest"]
    rows = [
        ("machine", f"{m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
                    f"PostgreSQL {m['postgresql']}; load average {m['load_average_at_start'][0]} at start"),
        ("data (largest scale)", f"{big['files']} local-organisation files, {big['rows']:,} rows "
                                 f"({big['rows_per_file']:,} per file); under the nightly, 10 years: "
                                 f"{big['history_rows']:,} rows in {big['history_files']} files"),
        ("ingest (parse + GX + load)", f"{results['ingest_rows_per_s']:,.0f} rows/s"),
        ("ingest time split", "parse {parse:.0%}, GX gate {gate:.0%} (its DataFrame {frame:.0%}), load {load:.0%}, "
                              "other {other:.0%}".format(**{k: top[f"{k}_s"] / top["seconds"] for k in (
                                  "parse", "gate", "load", "other")}, frame=top["gate_frame_s"] / top["seconds"])),
        ("raw COPY (limit)", f"{results['copy_rows_per_s']:,.0f} rows/s"),
        ("pandas read_csv + to_sql", f"{results['to_sql_rows_per_s']:,.0f} rows/s"),
        ("GX share of ingest", f"{results['gx_share_of_ingest']:.1%}"),
        ("history: every other file of the 10 years, in load batches",
         f"{n['history']['files']} files, {n['history']['rows']:,} rows in {n['history']['seconds']:.0f} s"),
        (f"nightly, no new file: dbt skipped by `build_needed` (mean of {len(n['noop'])})",
         f"{results['nightly_noop_s']:.1f} s (deciding: "
         + ", ".join(f"{x.get('decide_s', 0):.2f} s" for x in n["noop"]) + ")"),
        ("nightly, one new file (national local file corrected)", f"{results['nightly_delta_s']:.1f} s"),
        ("nightly, one new file (one agency, one row)", f"{results['nightly_delta_small_s']:.1f} s"),
        ("nightly, one agency's file: models built (of the first build's)",
         f"{n['delta_small']['dbt'].get('models')} of {n['first_build']['models']}"),
        ("the sample's small files, in load batches",
         f"{n['history']['small_files']['files']} files, {n['history']['small_files']['rows']:,} rows in "
         f"{n['history']['small_files']['seconds']:.1f} s"),
        ("national grain: every organisation's own file, one survey year",
         "{files:,} files, {rows:,} rows in {seconds:.0f} s ({files_per_s:.0f} files/s; discovery {discover_s:.0f} s; "
         "{load_batches} load batches = Airflow tasks)".format(**results["national"])),
        (f"full rebuild, dbt build --full-refresh (mean of {len(n['full_rebuild'])})",
         f"{results['full_rebuild_s']:.1f} s"),
        ("first build after loading the history", f"{n['first_build']['seconds']:.1f} s"),
        ("peak RSS (benchmark processes)", f"{results['peak_rss_mb']:.0f} MB"),
        ("whole benchmark", f"{results['elapsed_s']:.0f} s"),
    ]
    out = ["| measure | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], "",
           "| target | value | met |", "|---|---|---|"]
    out += [f"| {t['name']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in results["targets"]]
    g = results["growth"]
    out += ["", "| scale | rows | ingest s | COPY s | to_sql s | ingest peak RSS MB |", "|---|---|---|---|---|---|"]
    for i, s in enumerate(results["scales"]):
        out.append(f"| {s['scale']}/16 | {s['rows']:,} | {g['ingest']['seconds'][i]:.2f} | "
                   f"{g['copy']['seconds'][i]:.3f} | {g['to_sql']['seconds'][i]:.2f} | {s['ingest_rss']['peak_mb']} |")
    out.append(f"| growth exponent (time ~ rows^b) | | {g['ingest']['exponent']} | {g['copy']['exponent']} | "
               f"{g['to_sql']['exponent']} | |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4,16", help="comma-separated, each 1-16 (default 1,4,16)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary workspaces go")
    parser.add_argument("--keep", action="store_true", help="keep the workspaces (and their servers' data)")
    parser.add_argument("--table", action="store_true", help="print the README table of --out and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return 0
    config = BenchConfig(scales=tuple(int(s) for s in args.scales.split(",")), out=args.out,
                         workdir=args.workdir, keep=args.keep)
    results = run_bench(config)
    _log(f"results written to {config.out} in {results['elapsed_s']:.0f} s")
    print(discovery_line(results))
    print(headline(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

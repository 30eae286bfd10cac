"""The nightly summary: what was loaded, rejected and built, and which names matched nothing."""

from __future__ import annotations

import json
import re

import psycopg

from expectations.docs import data_docs_index
from ground.manifest import public_marts
from ground.registry import suggest
from ground.settings import get_settings
from ground.sources import SOURCES
from ground.text import without_credentials
from ground.warehouse import mask_url, warehouse_url


def build_summary(conn: psycopg.Connection, run_id: str, dbt: dict | None = None) -> dict:
    files = conn.execute(
        """SELECT status, count(*), coalesce(sum(rows_in), 0), coalesce(sum(rows_loaded), 0),
                  coalesce(sum(rows_rejected), 0)
           FROM ops.file_ledger WHERE run_id = %s GROUP BY status""", (run_id,)).fetchall()
    by_status = {r[0]: {"files": r[1], "rows_in": r[2], "rows_loaded": r[3], "rows_rejected": r[4]} for r in files}
    rejected = [{"path": r[0], "code": r[1], "reason": r[2], "quarantine": r[3], "source": r[4],
                 "feedback": f"{r[3]}.feedback.txt" if r[3] else None} for r in conn.execute(
        "SELECT path, reject_code, reject_reason, quarantine_path, source FROM ops.file_ledger "
        "WHERE run_id = %s AND status = 'rejected' ORDER BY path", (run_id,)).fetchall()]
    partial = [{"path": r[0], "code": r[1], "reason": r[2], "quarantine": r[3], "source": r[4],
                "rows_rejected": r[5], "rows_in": r[6], "feedback": f"{r[3]}.feedback.txt" if r[3] else None}
               for r in conn.execute(
        "SELECT path, reject_code, reject_reason, quarantine_path, source, rows_rejected, rows_in FROM ops.file_ledger "
        "WHERE run_id = %s AND status = 'loaded' AND rows_rejected > 0 ORDER BY path", (run_id,)).fetchall()]
    # One entry per check, its final result: a task retried after a failed check records it twice, and the
    # summary must not show "FAILED" beside "run status: success". Earlier failed tries are counted.
    checks = [{"suite": r[0], "success": r[1], "evaluated": r[2], "failed": r[3], "tries": r[4],
               "failed_tries": r[5]} for r in conn.execute(
        """SELECT suite, success, evaluated, failed, tries, failed_tries FROM (
               SELECT suite, success, evaluated, failed, validation_id,
                      count(*) OVER w AS tries, count(*) FILTER (WHERE NOT success) OVER w AS failed_tries,
                      row_number() OVER (PARTITION BY suite ORDER BY validation_id DESC) AS newest
               FROM ops.validation_runs WHERE run_id = %s AND file_id IS NULL
               WINDOW w AS (PARTITION BY suite)) AS t
           WHERE newest = 1 ORDER BY validation_id""", (run_id,)).fetchall()]
    marts = {}
    for name in public_marts():
        exists = conn.execute("SELECT to_regclass(%s)", (f"marts.{name}",)).fetchone()[0]
        if exists:
            marts[name] = conn.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier("marts", name))).fetchone()[0]
    unmatched = []
    if conn.execute("SELECT to_regclass('intermediate.int_unmatched_agencies')").fetchone()[0]:
        for source, name, rows in conn.execute(
                "SELECT source, agency_name, row_count FROM intermediate.int_unmatched_agencies "
                "ORDER BY row_count DESC, agency_name LIMIT 20").fetchall():
            unmatched.append({"source": source, "name": name, "rows": rows, "suggestion": suggest(name)})
    docs = data_docs_index(get_settings())
    return {"run_id": run_id, "warehouse": mask_url(warehouse_url()), "files": by_status, "rejected": rejected,
            "partial": partial, "marts": marts, "unmatched_agencies": unmatched, "dbt": dbt or {}, "checks": checks,
            "data_docs": str(docs) if docs.exists() else None, "landing": _landing(run_id),
            **_skips_and_conflicts(conn), **_passed_over(run_id)}


def _landing(run_id: str) -> dict:
    """Where the run's discovery looked and what it listed (``nightly.listing``); ``listed`` None: not recorded."""
    from nightly.listing import seen

    settings = get_settings()
    return seen(settings.shared_state_dir, run_id) or {"landing_zone": without_credentials(settings.landing_zone),
                                                        "listed": None}


def landing_lines(summary: dict) -> list[str]:
    """``landing zone: <where>: N entries listed, ...``; for a zone with nothing in it (or nothing of a source),
    what to check: a wrong LANDING_ZONE must not pass for a quiet night."""
    seen = summary.get("landing")
    if not seen:
        return []
    line = f"landing zone: {_inert(seen['landing_zone'])}"
    listed = seen.get("listed")
    if listed is None:
        return [f"{line} (what discovery listed is not recorded: it did not run this night)"]
    check = (f"  check that LANDING_ZONE is where the agencies deliver, one folder per source "
             f"({', '.join(f'{name}/' for name in SOURCES)}), and that it is mounted; "
             "`make sample` writes the sample files into an empty one")
    if listed == 0:
        return [f"{line}: 0 entries listed, nothing to load", check]
    entries = "entry" if listed == 1 else "entries"
    line += (f": {listed:,} {entries} listed, {seen.get('candidates', 0):,} of them files of the sources "
             f"({seen.get('recognised', 0):,} unchanged since an earlier night, {seen.get('hashed', 0):,} read)")
    return [line, check] if not seen.get("candidates") else [line]


def _passed_over(run_id: str) -> dict:
    """Files found but neither loaded nor rejected this run, with why (``nightly.passed_over``)."""
    from nightly.passed_over import passed_over

    return {"passed_over": passed_over(get_settings().shared_state_dir, run_id)}


def _passed_over_lines(summary: dict) -> list[str]:
    entries = summary.get("passed_over") or []
    if not entries:
        return []
    return [f"files found but not loaded: {len(entries)}",
            *(f"  - {_inert(e['path'])}: {_inert(e['why'])}" for e in entries[:50])]


def _skips_and_conflicts(conn: psycopg.Connection) -> dict:
    """Landing entries passed over (with why) and project codes two agencies' files claim."""
    from ingest.discover import last_skips

    skipped = [{"path": s.relative_path, "why": s.reason} for s in last_skips(get_settings().landing_zone)]
    conflicts = []
    if conn.execute("SELECT to_regclass('intermediate.int_project_report_conflicts')").fetchone()[0]:
        conflicts = [{"plan_code": r[0], "fy": r[1], "project_code": r[2], "files": r[3], "kept": r[4]}
                     for r in conn.execute(
            "SELECT plan_code, reporting_fy_be, project_code, min(conflicting_files), "
            "min(path) FILTER (WHERE is_kept) FROM intermediate.int_project_report_conflicts "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT 50").fetchall()]
    return {"skipped": skipped, "conflicts": conflicts}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _inert(value: object) -> str:
    """A file's path, name or reason as one visible line: control, line-break and bidi characters become
    ``\\uXXXX``, so a file name cannot forge summary lines or terminal escapes."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))


def _file_lines(lines: list[str], r: dict) -> None:
    """A rejected or partly loaded file: reason, report, and the note for whoever fixes it."""
    code = f"[{r['code']}] " if r.get("code") else ""
    lines.append(f"  - {_inert(r['path'])}: {_inert(code)}{_inert(r['reason'])}\n"
                 f"    report: {_inert(r['quarantine'])}.report.md")
    if r.get("feedback"):
        who = "the data team" if SOURCES.get(r.get("source") or "", None) and SOURCES[r["source"]].third_party \
            else "the agency"
        lines.append(f"    feedback for {who}: {_inert(r['feedback'])}")


def format_summary(summary: dict) -> str:
    loaded = summary["files"].get("loaded", {})
    rejected = summary["files"].get("rejected", {})
    lines = [
        f"=== Nightly summary · run {summary['run_id']} ===",
        f"warehouse: {summary['warehouse']}",
        *landing_lines(summary),
        f"files loaded:   {loaded.get('files', 0):>5}  rows in {loaded.get('rows_in', 0):,}, "
        f"loaded {loaded.get('rows_loaded', 0):,}, rejected {loaded.get('rows_rejected', 0):,}",
        f"files rejected: {rejected.get('files', 0):>5}  rows {rejected.get('rows_in', 0):,}",
    ]
    for r in summary["rejected"]:
        _file_lines(lines, r)
    lines += failed_task_lines(summary) + unreported_lines(summary)
    partial = summary.get("partial") or []
    if partial:
        lines.append(f"files loaded without some rows: {len(partial)}  rows rejected "
                     f"{sum(r['rows_rejected'] for r in partial):,} (each with its reason in ops.rejected_rows)")
        for r in partial:
            _file_lines(lines, r)
    lines += _passed_over_lines(summary)
    if summary.get("skipped"):
        lines.append(f"landing entries not loaded: {len(summary['skipped'])} (each tried again next run)")
        lines += [f"  - {_inert(e['path'])}: {_inert(e['why'])}" for e in summary["skipped"][:50]]
    for c in summary.get("conflicts") or []:
        kept = f"kept {c['kept']}" if c.get("kept") else "kept neither (no lead agency's file among them)"
        lines.append(f"project code {_inert(c['project_code'])} ({c['plan_code']}, FY {c['fy']}) is reported by "
                     f"several agencies' files: {_inert(c['files'])}; {_inert(kept)}")
    dbt = summary.get("dbt") or {}
    if dbt.get("skipped"):
        lines.append("dbt build: skipped, nothing to build (marts, checks, Asset events and dbt docs unchanged)")
        lines.append(f"  why: {_inert(dbt.get('reason') or 'no reason recorded')}")
    elif dbt:
        lines.append(f"dbt build: {'ok' if dbt.get('success') else 'FAILED'}, {dbt.get('models', 0)} models and seeds, "
                     f"{dbt.get('tests_passed', 0)} tests passed, {dbt.get('tests_failed', 0)} failed")
        if dbt.get("reason"):
            lines.append(f"  why: {_inert(dbt['reason'])}")
        lines += [f"  - {_inert(f)}" for f in dbt.get("failures", [])[:10]]
    checks = summary.get("checks") or []
    if checks:
        failed = [c for c in checks if not c["success"]]
        retried = [c for c in checks if c["success"] and c.get("failed_tries")]
        lines.append(f"checks after dbt: {len(checks) - len(failed)} of {len(checks)} passed"
                     + "".join(f"; FAILED {c['suite']} ({c['failed']} mismatch(es))" for c in failed)
                     + "".join(f"; {c['suite']} passed on retry (failed {c['failed_tries']} of {c['tries']} tries)"
                               for c in retried))
    freshness = summary.get("freshness")
    if freshness:
        lines.append(format_freshness(freshness))
    if summary.get("data_docs"):
        lines.append(f"data docs: {summary['data_docs']}")
    if summary.get("report"):
        lines.append(f"report: {summary['report']}")
    lines.append("marts: " + ", ".join(f"{k} ({v:,} rows)" for k, v in summary["marts"].items()))
    if summary["unmatched_agencies"]:
        lines.append("agency names not in the registry (add them to dbt_project/seeds/agency_aliases.csv):")
        for u in summary["unmatched_agencies"]:
            hint = (f"  -> did you mean {u['suggestion'][0]}? (if so, add the name as its alias)"
                    if u["suggestion"] else "")
            lines.append(f"  - [{u['source']}] {_inert(u['name'])} ({u['rows']} rows){_inert(hint)}")
    return "\n".join(lines)


def format_freshness(freshness: dict) -> str:
    """One line for ``dbt source freshness`` (warn-only: it never decides the night's outcome)."""
    stale = freshness.get("stale") or []
    line = (f"source freshness (warn only): {freshness.get('status', '?')}, {freshness.get('checked', 0)} "
            f"source table(s) checked, {len(stale)} stale")
    if stale:
        line += ": " + "; ".join(f"{_inert(name)} {_inert(status)}" + (f" ({age} days)" if age is not None else "")
                                 for name, status, age in stale[:10])
    if freshness.get("note"):
        line += f" ({_inert(freshness['note'])})"
    return line


def night_outcome(decision: dict | None, published: dict | None) -> tuple[bool, dict | None]:
    """(success, dbt part of the summary) of a nightly run, from ``build_needed``'s decision and what
    ``publish_marts`` returned. A skipped build is a success; a build is one only when ``publish_marts``
    ran, which it does only after dbt, the cross-model tests and the reconciliation all passed. No decision
    (the run never held the lock, or failed before deciding) is a failure. ``None``: read dbt's results."""
    if decision and not decision.get("build"):
        return True, {"success": True, "skipped": True, "reason": decision.get("reason"), "models": 0,
                      "tests_passed": 0, "tests_failed": 0, "failures": []}
    return bool(decision and published and published.get("success")), published


def record_run(conn: psycopg.Connection, summary: dict, status: str) -> None:
    conn.execute(
        """INSERT INTO ops.pipeline_runs (run_id, finished_at, status, summary) VALUES (%s, now(), %s, %s)
           ON CONFLICT (run_id) DO UPDATE SET finished_at = now(), status = excluded.status,
           summary = excluded.summary""",
        (summary["run_id"], status, json.dumps(summary, ensure_ascii=False, default=str)))


# --- Failed tasks, and earlier nights that ended without a summary -----------------------------------------------

def failed_tasks(states: dict[str, str], batches: list[list[dict]], loaded_paths: set[str]) -> list[dict]:
    """The run's failed tasks (``states``: task id, ``<task>_<map index>`` for a mapped one, to its state), each
    load batch with the files it held and which of them reached no ledger row."""
    failed = []
    for key, state in sorted(states.items()):
        if state != "failed":
            continue
        task, _, index = key.rpartition("_")
        if task == "load_files" and index.isdigit() and int(index) < len(batches):
            held = [str(f["relative_path"]) for f in batches[int(index)]]
            failed.append({"task": f"load_files[{index}]", "state": state, "files": held,
                           "not_loaded": [p for p in held if p not in loaded_paths]})
        else:
            failed.append({"task": key, "state": state, "files": [], "not_loaded": []})
    return failed


def failed_task_lines(summary: dict) -> list[str]:
    """``FAILED task ...`` lines: the task, and for a load batch the files it held (those not in the ledger)."""
    lines = []
    for t in summary.get("failed_tasks") or []:
        line = f"FAILED task {t['task']}"
        if t.get("files"):
            line += (f": held {len(t['files'])} file(s), {len(t['not_loaded'])} not loaded (tried again next run): "
                     + ", ".join(_inert(p) for p in (t["not_loaded"] or t["files"])[:20]))
        lines.append(line)
    return lines


def unreported_nights(conn: psycopg.Connection, run_id: str) -> list[dict]:
    """Earlier runs that ended without a summary of their own (killed, interrupted) and that no summary has
    listed yet: what each loaded and rejected."""
    nights = []
    for other, status, started in conn.execute(
            "SELECT run_id, status, started_at FROM ops.pipeline_runs WHERE run_id <> %s AND reported_in IS NULL "
            "AND status IN ('killed', 'interrupted') ORDER BY started_at", (run_id,)).fetchall():
        files = conn.execute("SELECT status, path, reject_reason FROM ops.file_ledger WHERE run_id = %s "
                             "ORDER BY status, path", (other,)).fetchall()
        nights.append({"run_id": other, "status": status, "started_at": f"{started:%Y-%m-%d %H:%M:%S %Z}",
                       "loaded": [p for st, p, _ in files if st == "loaded"],
                       "rejected": [{"path": p, "reason": r} for st, p, r in files if st == "rejected"]})
    return nights


def mark_reported(conn: psycopg.Connection, summary: dict) -> None:
    """The earlier nights this summary listed are reported: the next summary leaves them out."""
    ids = [n["run_id"] for n in summary.get("unreported") or []]
    if ids:
        conn.execute("UPDATE ops.pipeline_runs SET reported_in = %s WHERE run_id = ANY(%s) AND reported_in IS NULL",
                     (summary["run_id"], ids))


def unreported_lines(summary: dict) -> list[str]:
    nights = summary.get("unreported") or []
    lines = [f"earlier runs that ended without a summary: {len(nights)}"] if nights else []
    for n in nights:
        lines.append(f"  - {_inert(n['run_id'])}: {n['status']} (started {n['started_at']}), "
                     f"{len(n['loaded'])} file(s) loaded, {len(n['rejected'])} rejected")
        lines += [f"      loaded: {_inert(p)}" for p in n["loaded"][:50]]
        lines += [f"      rejected: {_inert(r['path'])}: {_inert(r['reason'])}" for r in n["rejected"][:50]]
    return lines


def main() -> int:
    """Print the newest run's summary (``python -m nightly.summary``)."""
    from ground.warehouse import connect

    with connect() as conn:
        row = conn.execute(
            "SELECT summary, status FROM ops.pipeline_runs WHERE summary IS NOT NULL "
            "ORDER BY coalesce(finished_at, started_at) DESC LIMIT 1"
        ).fetchone()
    if row is None:
        print("no pipeline run recorded yet")
        return 1
    print(format_summary(row[0]))
    print(f"run status: {row[1]}")
    return 0 if row[1] == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())

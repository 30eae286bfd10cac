"""Build the nightly HTML report from the marts.

``build_report(conn, out_dir, run_id, links)`` is what the nightly DAG calls; ``python -m reporting.nightly``
builds it against the current warehouse and prints the page's path as its last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
from markupsafe import Markup
from psycopg.pq import TransactionStatus

from reporting import charts, queries
from reporting.page import Chart, Section, link_href, macros, render, table

BANGKOK = ZoneInfo("Asia/Bangkok")
APPROACH_COLUMNS = ("approach_name_th", "approach_code", "approach")
FOCUS_COLUMNS = ("focus_area_name_th", "focus_area_code", "focus_area")
AMOUNT_COLUMNS = {"amount_million_baht": 1.0, "amount_baht": 1e6}  # column -> divisor to million baht


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; keep a file-name-safe form."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._-") or "run"


def _html() -> Any:
    """The report's HTML fragments (templates_html/nightly.html.j2): macros returning Markup, arguments escaped."""
    return macros("nightly.html.j2")


def _empty_note(mart: str) -> Markup:
    return _html().empty_mart(mart)


def _chart_or_note(s: Section, df: pd.DataFrame, mart: str, chart_id: str,
                   build: Callable[[pd.DataFrame], dict[str, Any]], caption: str = "") -> bool:
    """Add the chart ``build(df)`` to the section, or the empty-mart note when ``df`` has no rows.

    Returns whether the chart was added, for sections that add more from the same rows.
    """
    if df.empty:
        s.notes.append(_empty_note(mart))
        return False
    s.charts.append(Chart(chart_id, build(df), caption))
    return True


def _status_section(conn: psycopg.Connection) -> Section:
    s = Section("status", "สถานะโครงการตามแผน · Project status per plan",
                "โครงการในแผนพัฒนารัฐบาลดิจิทัลแต่ละแผน แยกตามปีที่รายงาน: เริ่มแล้ว (ไม่รวมที่เริ่มก่อนกำหนด), "
                "เริ่มก่อนกำหนด, ยังไม่เริ่ม และไม่ได้รายงาน. Projects of each plan by reporting year; "
                "'started early' is the part of started that began before its planned year.")
    _chart_or_note(s, queries.project_status(conn), "project_status_by_year", "project-status",
                   charts.project_status,
                   "คลิกที่คำอธิบายสัญลักษณ์เพื่อเน้นสถานะ · click the legend to highlight a status.")
    return s


def _approach_focus_chart(conn: psycopg.Connection, s: Section) -> None:
    mart = queries.APPROACH_FOCUS_MART
    if not queries.mart_exists(conn, mart):
        s.notes.append(_html().no_mart(mart))
        return
    cols = queries.mart_columns(conn, mart)
    approach = next((c for c in APPROACH_COLUMNS if c in cols), None)
    focus = next((c for c in FOCUS_COLUMNS if c in cols), None)
    amount = next((c for c in AMOUNT_COLUMNS if c in cols), None)
    if "fiscal_year_be" not in cols or not (approach and focus and amount):
        s.notes.append(_html().unknown_columns(mart, ", ".join(cols)))
        return
    divisor = AMOUNT_COLUMNS[amount]
    _chart_or_note(s, queries.approach_focus(conn, "fiscal_year_be", approach, focus, amount), mart,
                   "budget-approach-focus",
                   lambda df: charts.approach_focus(df.assign(amount=df["amount"] / divisor), charts.MILLION_BAHT),
                   _html().approach_caption(mart))


def _budget_section(conn: psycopg.Connection) -> Section:
    s = Section("budget", "งบประมาณ · Budget",
                "งบประมาณรายปีตามแผนงานและแหล่งข้อมูล: แผนบูรณาการของ สพร. และรายการใน พ.ร.บ.งบประมาณ. "
                "Budget per fiscal year by budget plan and source (DGA's integration plan, the budget bill).")
    _chart_or_note(s, queries.budget_by_year(conn), "budget_by_year", "budget-by-year", charts.budget_by_year)
    _chart_or_note(s, queries.budget_by_agency(conn), "budget_by_agency_year", "budget-by-agency",
                   charts.budget_by_agency,
                   "เลือกปีและแหล่งข้อมูลด้านบนกราฟ (รวมทุกแผนงาน) · pick the year and source above the "
                   "chart; amounts are summed over budget plans.")
    _approach_focus_chart(conn, s)
    return s


def _readiness_section(conn: psycopg.Connection) -> Section:
    s = Section("readiness", "ความพร้อมรัฐบาลดิจิทัล · Digital-government readiness",
                "การกระจายของระดับความพร้อม (ตามแบบจำลองของ Gartner) และแนวโน้มคะแนนเฉลี่ยรายระดับหน่วยงาน. "
                "Maturity-band distribution and mean score trends by agency level.")
    _chart_or_note(s, queries.readiness_bands(conn), "readiness_by_year", "readiness-bands", charts.readiness_bands)
    summary = queries.readiness_summary(conn)
    if _chart_or_note(s, summary, "readiness_summary_by_year", "readiness-mean-score",
                      charts.readiness_mean_score):
        s.charts.append(Chart("readiness-response-rate", charts.readiness_response_rate(summary)))
    return s


def _obstacles_section(conn: psycopg.Connection) -> Section:
    s = Section("obstacles", "ปัญหาและอุปสรรค · Obstacles",
                "จำนวนโครงการที่รายงานอุปสรรคแต่ละประเภท แยกตามแผนและปีที่รายงาน. "
                "Projects naming each obstacle category, per plan and reporting year.")
    _chart_or_note(s, queries.obstacles(conn), "obstacles_by_year", "obstacles", charts.obstacles)
    return s


def _missing_state(files_received: int | None, files_rejected: int | None) -> str:
    if files_rejected:
        return charts.COVERAGE["rejected"]
    return charts.COVERAGE["incomplete" if files_received else "not_received"]


def _received(ts: object) -> str:
    return "" if pd.isna(ts) else ts.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")


def _coverage_tables(per_year: pd.DataFrame, missing: pd.DataFrame) -> Markup:
    """Counts for the latest year of each submission type, then the agencies without a complete submission."""
    latest = per_year.loc[per_year.groupby("submission_type")["fiscal_year_be"].idxmax()]
    counts = [[charts.SUBMISSION_TYPES.get(r.submission_type, r.submission_type), r.fiscal_year_be, r.expected]
              + [getattr(r, state) for state in charts.COVERAGE] for r in latest.itertuples()]
    rows = [[charts.SUBMISSION_TYPES.get(r.submission_type, r.submission_type), r.fiscal_year_be, r.agency_id,
             r.agency_name_th, charts.LEVELS.get(r.agency_level, r.agency_level), r.ministry_name_th,
             _missing_state(r.files_received, r.files_rejected), r.files_received, r.files_rejected,
             _received(r.latest_received_at)]
            for r in missing.itertuples()]
    return _html().coverage(
        ["ประเภท (type)", "ปีล่าสุด (latest year, BE)", "ต้องส่ง (expected)"] + list(charts.COVERAGE.values()), counts,
        int((latest["expected"] - latest["complete"]).sum()),
        ["ประเภท (type)", "ปี (year)", "รหัส (id)", "หน่วยงาน (agency)", "ระดับ (level)", "กระทรวง (ministry)",
         "สถานะ (state)", "ไฟล์ที่ได้รับ (files received)", "ถูกปฏิเสธ (rejected)", "ได้รับล่าสุด (latest received)"],
        rows, queries.MISSING_ROWS_PER_TYPE)


def _coverage_section(conn: psycopg.Connection) -> Section:
    s = Section("coverage", "การส่งข้อมูล · Submission coverage",
                "หน่วยงานที่ต้องส่งรายงานหรือแบบสำรวจในแต่ละปี และผู้ที่ยังไม่ได้ส่งในปีล่าสุดของข้อมูลแต่ละประเภท. "
                "Who was expected to submit each year, and who has not submitted in the latest year of each type.")
    per_year = queries.coverage_by_year(conn)
    if _chart_or_note(s, per_year, "submission_coverage", "coverage", charts.coverage):
        s.html_after = _coverage_tables(per_year, queries.missing_submissions(conn))
    return s


def _bill_section(conn: psycopg.Connection) -> Section:
    s = Section("bill", "ความครบถ้วนของเอกสารงบประมาณ · Budget bill completeness",
                "เล่มเอกสารงบประมาณที่ได้รับในแต่ละปีงบประมาณ: นำเข้าแล้วหรือถูกปฏิเสธ จำนวนรายการที่นำเข้าและที่ไม่ผ่าน. "
                "ยอดของร่าง พ.ร.บ. ในคลังข้อมูลนับเฉพาะเล่มที่นำเข้าแล้ว. "
                "The budget books received per bill year: loaded or rejected, lines loaded and rejected. The bill's "
                "totals in the marts count only the books loaded here: a bill with books missing is incomplete, "
                "not a cut.")
    books = queries.bill_coverage(conn)
    if books.empty:
        s.notes.append(_empty_note("budget_bill_coverage"))
        return s
    rows = [[r.bill_fy_be, r.ref_doc, "นำเข้าแล้ว (loaded)" if r.is_loaded else "ถูกปฏิเสธ (rejected)",
             f"{r.lines_loaded:,}", f"{r.lines_rejected:,}", f"{r.obligation_lines:,}",
             f"{float(r.amount_baht) / 1e6:,.2f}", f"{float(r.integration_plan_baht) / 1e6:,.2f}"]
            for r in books.itertuples()]
    s.html_after = table(["ปีงบประมาณ (bill FY, BE)", "เล่ม (REF_DOC)", "สถานะ (state)", "รายการที่นำเข้า (lines loaded)",
                          "รายการที่ไม่ผ่าน (lines rejected)", "รายการผูกพันปีอื่น (other-year instalments)",
                          "วงเงินปีนี้ ล้านบาท (own year, M baht)", "แผนงานบูรณาการ ล้านบาท (integration plans, M baht)"],
                         rows)
    return s


def _sections(conn: psycopg.Connection) -> list[Section]:
    """Query every mart inside one read-only transaction (a consistent snapshot; writes are refused)."""
    fresh = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction():
        if fresh:
            conn.execute("SET TRANSACTION READ ONLY")
        return [_status_section(conn), _budget_section(conn), _bill_section(conn), _readiness_section(conn),
                _obstacles_section(conn), _coverage_section(conn)]


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def build_report(conn: psycopg.Connection, out_dir: Path, run_id: str, links: dict[str, str] | None = None) -> Path:
    """Write out_dir/nightly-<run id>.html and out_dir/latest.html from the marts; return the former.

    ``links`` maps a label (e.g. "Data Docs") to a URL or a filesystem path; paths are written relative to
    out_dir so the page keeps working when the folder is copied with its neighbours.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = _sections(conn)
    link_rows = []
    for label, target in (links or {}).items():
        href = link_href(target, out_dir)
        exists = href == target or Path(target).expanduser().exists()
        link_rows.append((label, href, exists))
    now = datetime.now(BANGKOK)
    page = render(
        title="รายงานประจำคืน คลังข้อมูลรัฐบาลดิจิทัล · Digital-government warehouse nightly report",
        subtitle_lines=[_html().run_line(run_id),
                        f"สร้างเมื่อ (generated): {now:%Y-%m-%d %H:%M} (Asia/Bangkok, "
                        f"พ.ศ. {now.year + 543})"],
        links=link_rows, sections=sections,
        footer=_html().footer())
    path = out_dir / f"nightly-{safe_run_id(run_id)}.html"
    _write(path, page)
    _write(out_dir / "latest.html", page)
    return path


def report_for(conn: psycopg.Connection, run_id: str) -> Path:
    """The night's report where this installation keeps reports, linked to its docs (the nightly service's
    ``summarise`` step writes it through this)."""
    from ground.settings import get_settings

    settings = get_settings()
    return build_report(conn, settings.reports_dir, run_id, links=default_links(settings.state_dir))


def default_links(state_dir: Path) -> dict[str, str]:
    """Where Data Docs and dbt docs are: under ``DGWH_DOCS_URL`` when a docs server publishes them (the
    compose stack's ``docs`` service, reporting/serve.py), else as files; and the dashboards."""
    from expectations.docs import data_docs_index
    from ground.settings import get_settings

    settings = dataclasses.replace(get_settings(), state_dir=state_dir)
    if base := os.environ.get("DGWH_DOCS_URL", "").rstrip("/"):
        docs = {"Great Expectations Data Docs": f"{base}/data-docs/", "dbt docs": f"{base}/dbt-docs/"}
    else:
        docs = {"Great Expectations Data Docs": str(data_docs_index(settings)),
                "dbt docs": str(settings.dbt_target_dir / "static_index.html")}
    return {**docs, **dashboard_links(state_dir)}


def superset_url(state_dir: Path) -> str | None:
    """Where analysts open Superset: ``SUPERSET_URL`` (the compose stack, or any deployment), else the
    server ``make bi`` started for this checkout, else none."""
    if os.environ.get("SUPERSET_URL"):
        return os.environ["SUPERSET_URL"].rstrip("/")
    server = state_dir / "superset" / "server.json"
    try:
        return f"http://127.0.0.1:{int(json.loads(server.read_text())['port'])}"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def dashboard_links(state_dir: Path) -> dict[str, str]:
    """The three dashboards (bi/assets.py), when Superset is configured; nothing otherwise."""
    base = superset_url(state_dir)
    if base is None:
        return {}
    from bi.assets import DASHBOARDS

    return {f"แดชบอร์ด · dashboard: {d['title']}": f"{base}/superset/dashboard/dg-{key}/"
            for key, d in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    from ground.settings import get_settings
    from ground.warehouse import connect

    parser = argparse.ArgumentParser(prog="python -m reporting.nightly", description=__doc__)
    parser.add_argument("--run-id", default=None, help="run id for the file name (default: manual__<timestamp>)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: settings.reports_dir")
    parser.add_argument("--link", action="append", default=[], metavar="LABEL=PATH_OR_URL",
                        help="a documentation link; repeatable (default: Data Docs and dbt docs under the state dir)")
    args = parser.parse_args(argv)
    settings = get_settings()
    links: dict[str, str] = {}
    for item in args.link:
        label, sep, target = item.partition("=")
        if not sep or not label or not target:
            parser.error(f"--link expects LABEL=PATH_OR_URL, got {item!r}")
        links[label] = target
    run_id = args.run_id or f"manual__{datetime.now(BANGKOK):%Y-%m-%dT%H:%M:%S}"
    with connect() as conn:
        path = build_report(conn, args.out_dir or settings.reports_dir, run_id,
                            links or default_links(settings.state_dir))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

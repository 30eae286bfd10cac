"""The nightly HTML report: built from the sample marts as bi_reader, rendered in headless Chromium."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from psycopg import sql

from reporting.nightly import build_report
from tests.conftest import REPO

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=15000"]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO / "test-artifacts"))
THAI = re.compile(r"[\u0E00-\u0E7F]")
THAI_FONTS = {"Noto Sans Thai", "Sarabun", "Loma", "Garuda", "Waree"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ALWAYS_CHARTS = {"project-status", "budget-by-year", "budget-by-agency", "readiness-bands", "readiness-mean-score",
                 "readiness-response-rate", "obstacles", "coverage"}


class ChartScan(HTMLParser):
    """Per chart container: <svg> count, drawn data-mark elements (children of Vega's role-mark groups),
    <canvas> count, the text drawn in the SVG; plus the page's declared chart count."""

    def __init__(self) -> None:
        super().__init__()
        self.declared: int | None = None
        self.charts: dict[str, dict] = {}
        self.stack: list[tuple[str, str | None, bool]] = []  # tag, chart id, inside a role-mark group

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("name") == "dgwh-chart-count":
            self.declared = int(a["content"] or "-1")
        chart, in_mark = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, False)
        if "data-chart-spec" in a:
            chart = (a.get("id") or "").removeprefix("chart-")
            self.charts[chart] = {"svg": 0, "marks": 0, "canvas": 0, "text": [], "rendered": a.get("data-rendered")}
        if chart is not None:
            info = self.charts[chart]
            info["svg"] += tag == "svg"
            info["canvas"] += tag == "canvas"
            info["marks"] += in_mark and tag in {"path", "rect", "line", "circle", "text", "image"}
        in_mark = in_mark or (tag == "g" and "role-mark" in (a.get("class") or "").split())
        if tag not in VOID:
            self.stack.append((tag, chart, in_mark))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][1] is not None and self.stack[-1][0] in {"text", "tspan"} and data.strip():
            self.charts[self.stack[-1][1]]["text"].append(data.strip())


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install -y chromium fonts-thai-tlwg"
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                              capture_output=True, text=True, timeout=120, check=True)


def drawn_charts(dom: str) -> ChartScan:
    """Scan the rendered DOM; fail unless every declared chart drew an SVG with data marks (or a canvas)."""
    scan = ChartScan()
    scan.feed(dom)
    assert scan.declared == len(scan.charts), (scan.declared, scan.charts.keys())
    undrawn = {cid: {k: v for k, v in info.items() if k != "text"} for cid, info in scan.charts.items()
               if info["rendered"] != "ok" or not (info["svg"] and info["marks"] or info["canvas"])}
    assert not undrawn, f"charts that did not draw: {undrawn}"
    assert re.search(r'data-charts-done="(\d+)"', dom).group(1) == str(scan.declared)
    return scan


def test_nightly_report_renders_every_chart_with_thai_text(sample, tmp_path):
    fonts = subprocess.run(["fc-list", ":lang=th", "family"], capture_output=True, text=True, check=True).stdout
    assert THAI_FONTS & {f.strip() for line in fonts.splitlines() for f in line.split(",")}, \
        f"no Thai font of the report's stack installed (apt-get install fonts-thai-tlwg); found: {fonts!r}"
    data_docs = tmp_path / "gx" / "index.html"
    data_docs.parent.mkdir()
    data_docs.write_text("<html></html>", encoding="utf-8")
    out_dir = tmp_path / "reports"

    with sample.connect("bi_reader") as conn:
        path = build_report(conn, out_dir, "scheduled__2026-11-23T02:00:00+07:00",
                            links={"Data Docs": str(data_docs), "dbt docs": "https://docs.example.invalid/dbt/"})
        top_agency = conn.execute(
            "SELECT agency_name_th FROM marts.budget_by_agency_year WHERE source = 'integration_plan'"
            " AND fiscal_year_be = (SELECT max(fiscal_year_be) FROM marts.budget_by_agency_year)"
            " GROUP BY agency_name_th ORDER BY sum(amount_baht) DESC LIMIT 1").fetchone()[0]
        not_submitted = conn.execute(
            "SELECT a.agency_name_th FROM marts.submission_coverage c JOIN marts.dim_agency a USING (agency_id)"
            " WHERE NOT c.is_complete AND c.fiscal_year_be = (SELECT max(fiscal_year_be)"
            "  FROM marts.submission_coverage WHERE submission_type = c.submission_type)"
            " ORDER BY a.agency_level, a.ministry_name_th, a.agency_name_th LIMIT 1").fetchone()[0]
        approach_mart = conn.execute("SELECT to_regclass('marts.budget_by_approach_focus_year')").fetchone()[0]

    assert path.parent == out_dir and re.fullmatch(r"nightly-[A-Za-z0-9._-]+\.html", path.name), path
    assert (out_dir / "latest.html").read_bytes() == path.read_bytes()
    source = path.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in source
    fetches = re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=[\"']?(https?:)?//", source)
    assert not fetches, f"the page would fetch from the network: {fetches.group(0)}"
    assert 'href="../gx/index.html"' in source, "Data Docs link should be relative to the report"
    assert 'href="https://docs.example.invalid/dbt/"' in source

    dom = chromium(path, "--dump-dom").stdout
    shot = tmp_path / "report.png"
    chromium(path, "--window-size=1400,6400", f"--screenshot={shot}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n", encoding="utf-8")
    for artifact in (shot, path):
        shutil.copy(artifact, ARTIFACTS / ("report-screenshot.png" if artifact == shot else "report.html"))
    (ARTIFACTS / "report-dom.html").write_text(dom, encoding="utf-8")
    print(f"report screenshot: {ARTIFACTS / 'report-screenshot.png'}")
    assert shot.stat().st_size > 50_000, "screenshot looks blank"

    scan = drawn_charts(dom)
    expected = ALWAYS_CHARTS | ({"budget-approach-focus"} if approach_mart else set())
    assert ALWAYS_CHARTS <= set(scan.charts) <= expected, scan.charts.keys()
    if not approach_mart:
        assert "marts.budget_by_approach_focus_year does not exist" in dom

    chart_text = {cid: " ".join(info["text"]) for cid, info in scan.charts.items()}
    assert all(THAI.search(text) for text in chart_text.values()), "a chart has no Thai text"
    assert top_agency in chart_text["budget-by-agency"], f"top agency {top_agency!r} not drawn"
    missing_table = dom[dom.index('id="missing-agencies"'):]
    assert not_submitted in missing_table
    assert THAI.search(dom[dom.index("<header"):dom.index("</header>")])


def test_approach_focus_chart_appears_with_its_mart(sample, tmp_path):
    """With marts.budget_by_approach_focus_year present (created here in a rolled-back transaction when dbt
    does not build it yet), the page gains a drawn approach x focus-area chart."""
    focus_th = "การศึกษา"
    with sample.connect() as conn, conn.transaction(force_rollback=True):
        if conn.execute("SELECT to_regclass('marts.budget_by_approach_focus_year')").fetchone()[0] is None:
            conn.execute("CREATE TABLE marts.budget_by_approach_focus_year (fiscal_year_be integer,"
                         " approach_code text, focus_area_code text, focus_area_name_th text, amount_baht numeric)")
            conn.execute("INSERT INTO marts.budget_by_approach_focus_year VALUES"
                         " (2566, 'digital_skills', 'education', %s, 1000000),"
                         " (2566, 'e2e_services', 'health', 'สาธารณสุขและการแพทย์', 2500000),"
                         " (2567, 'e2e_services', 'education', %s, 3000000)", (focus_th, focus_th))
        else:
            focus_th = ""
        path = build_report(conn, tmp_path, "approach-focus")
    scan = drawn_charts(chromium(path, "--dump-dom").stdout)
    assert "budget-approach-focus" in scan.charts
    assert focus_th in " ".join(scan.charts["budget-approach-focus"]["text"])


@pytest.mark.parametrize("run_id", ["manual__2026-11-23T07:47:53+00:00", "../../etc/passwd", ":::"])
def test_report_file_name_is_safe(run_id):
    from reporting.nightly import safe_run_id

    name = safe_run_id(run_id)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name) and not name.startswith(".")


def test_the_report_links_to_the_dashboards_when_superset_is_configured(sample, tmp_path, monkeypatch):
    """With Superset configured (SUPERSET_URL, or the server `make bi` started) the nightly report links
    to the three dashboards; without it the report has no dead dashboard links."""
    from bi.assets import DASHBOARDS
    from reporting.nightly import default_links

    state = tmp_path / "state"
    monkeypatch.delenv("SUPERSET_URL", raising=False)
    assert not any("dashboard" in label for label in default_links(state))
    monkeypatch.setenv("SUPERSET_URL", "https://bi.example.go.th/")
    links = default_links(state)
    with sample.connect("bi_reader") as conn:
        page = build_report(conn, tmp_path / "out", "with-bi", links=links).read_text(encoding="utf-8")
    for key, dashboard in DASHBOARDS.items():
        assert f'href="https://bi.example.go.th/superset/dashboard/dg-{key}/"' in page
        assert dashboard["title"] in page
    monkeypatch.delenv("SUPERSET_URL")
    (state / "superset").mkdir(parents=True)
    (state / "superset" / "server.json").write_text('{"pid": 1, "port": 8123}')
    assert "http://127.0.0.1:8123/superset/dashboard/dg-budget/" in default_links(state).values()


HOSTILE = "<script>alert(1)</script> & Co"
HOSTILE_HTML = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"


class _Page(HTMLParser):
    """Every <script> element's attributes, and the text of every table cell (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.cells: list[str] = []
        self.in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "td":
            self.cells.append("")
        self.in_cell = tag == "td"

    def handle_endtag(self, tag):
        self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.cells[-1] += data


def _scripts_are_ours(page: str) -> _Page:
    """The page's only <script> elements: the Vega bundle, the embed script (no attributes) and one JSON
    spec per declared chart; no value from data opened one."""
    scan = _Page()
    scan.feed(page)
    charts = int(re.search(r'name="dgwh-chart-count" content="(\d+)"', page).group(1))
    specs = [s for s in scan.scripts if s]
    assert len(scan.scripts) == charts + 2 and len(specs) == charts, scan.scripts
    assert all(s == {"type": "application/json", "id": s["id"]} and s["id"].startswith("spec-") for s in specs)
    return scan


def test_render_writes_text_as_text_and_only_markup_as_html():
    """page.render (templates_html/page.html.j2): titles, intros, notes, captions, subtitle lines, the footer and
    html_after are text unless Markup; the table cells and the chart spec's JSON are inert."""
    from markupsafe import Markup

    from reporting.page import Chart, Section, render, table

    spec = {"data": {"values": [{"agency": f"</script>{HOSTILE}<!--"}]}, "mark": "bar"}
    sections = [Section(f"s-{HOSTILE}", f"title {HOSTILE}", f"intro {HOSTILE}",
                        [Chart("c1", spec, f"caption {HOSTILE}")], [f"note {HOSTILE}", Markup("<b>bold</b>")],
                        table([f"h {HOSTILE}"], [[HOSTILE, None, 3]])),
                Section("raw", "raw", html_after=f"<i>{HOSTILE}</i>")]
    page = render(title=f"t {HOSTILE}", subtitle_lines=[f"sub {HOSTILE}"], footer=f"foot {HOSTILE}",
                  links=[(f"label {HOSTILE}", 'https://x.invalid/?a=1&b="2"', False)], sections=sections)
    assert "<script>alert" not in page and "</script> &" not in page
    for part in ("t", "title", "intro", "caption", "note", "sub", "foot", "label", "h"):
        assert f"{part} {HOSTILE_HTML}" in page, part
    assert f"<td>{HOSTILE_HTML}</td><td></td><td>3</td>" in page
    assert f"&lt;i&gt;{HOSTILE_HTML}&lt;/i&gt;" in page, "a plain-str html_after is text"
    assert '<p class="note"><b>bold</b></p>' in page, "Markup passes as HTML"
    assert 'href="https://x.invalid/?a=1&amp;b=&quot;2&quot;"' in page
    assert '"\\u003c/script>\\u003cscript>alert(1)\\u003c/script> & Co\\u003c!--"' in page, "spec JSON not inert"
    _scripts_are_ours(page)


def test_hostile_names_reach_the_report_escaped(sample, tmp_path):
    """Values from data and from the caller (an agency name, a mart's column name, the run id, a link's label,
    file name and URL) holding markup and "&" are written as text: escaped, shown as written, and no element
    of theirs (no <script>) reaches the HTML."""
    docs = tmp_path / f"docs & {HOSTILE.replace('/', '')}.html"
    docs.write_text("<html></html>", encoding="utf-8")
    with sample.connect() as conn, conn.transaction(force_rollback=True):
        conn.execute("UPDATE marts.dim_agency SET agency_name_th = %s || agency_name_th", (HOSTILE,))
        if conn.execute("SELECT to_regclass('marts.budget_by_approach_focus_year')").fetchone()[0]:
            conn.execute("ALTER TABLE marts.budget_by_approach_focus_year RENAME TO budget_by_approach_focus_year_x")
        conn.execute(sql.SQL("CREATE TABLE marts.budget_by_approach_focus_year (fiscal_year_be integer, {} text)")
                     .format(sql.Identifier(HOSTILE)))
        path = build_report(conn, tmp_path / "out", f"manual__{HOSTILE}",
                            links={f"Data Docs {HOSTILE}": str(docs), "dbt docs": f"https://x.invalid/?q={HOSTILE}"})
    page = path.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "</script> &" not in page
    scan = _scripts_are_ours(page)
    assert f"รอบการทำงาน (run): <code>manual__{HOSTILE_HTML}</code>" in page
    assert f">Data Docs {HOSTILE_HTML}</a>" in page
    assert 'href="../docs%20%26%20%3Cscript%3Ealert%281%29%3Cscript%3E%20%26%20Co.html"' in page
    assert f'href="https://x.invalid/?q={HOSTILE_HTML}"' in page
    assert f"(found: fiscal_year_be, {HOSTILE_HTML}); chart not shown." in page
    assert f"<td>{HOSTILE_HTML}" in page
    assert any(cell.startswith(HOSTILE) for cell in scan.cells), "the agency name is not shown as written"


def test_alert_mail_writes_error_text_and_link_as_text(monkeypatch):
    """nightly/mail/alert.html.j2: an exception message, DAG and run id with markup reach the mail as text."""
    from nightly.alerts import email_html, failure_alert

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.invalid/")
    alert = failure_alert({"dag_run": {"dag_id": "dg_nightly", "run_id": f"manual__{HOSTILE}"},
                           "reason": RuntimeError(f"bad file {HOSTILE}.csv")})
    body = email_html(alert)
    assert "<script" not in body
    assert f"<p>dg_nightly run manual__{HOSTILE_HTML} failed (bad file {HOSTILE_HTML}.csv)." in body
    link = f"https://airflow.invalid/dags/dg_nightly/runs/manual__{HOSTILE_HTML}"
    assert f'<p><a href="{link}">{link}</a></p>' in body
    assert email_html(dataclasses.replace(alert, url=None)).count("<p>") == 1

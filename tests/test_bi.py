"""``make bi`` on the sample warehouse: Superset comes up with the dashboards imported through its assets API;
every chart's query (through Superset's chart-data API) answers, never sums two plans or years, and agrees
with the marts; the analyst login reads but cannot edit or run DML; and, where Chromium is installed, a
headless browser logs in as the analyst, opens every dashboard as it opens and with its filters set, reads the
headline figures of the published documents from the page and saves a screenshot of each.

Superset installs into a virtualenv of its own (half a minute with uv), so this runs when one exists
(``.state/superset/venv``, made by ``make bi`` in this checkout) or when DGWH_TEST_BI=1."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bi.assets import AS_OF
from bi.venv import ensure
from tests.conftest import REPO

VENV = Path(os.environ.get("DGWH_SUPERSET_VENV") or REPO / ".state" / "superset" / "venv")
SCREENSHOTS = REPO / ".state" / "bi-screenshots"
EXPECTED = {"dg-projects": 12, "dg-budget": 11, "dg-readiness": 12, "dg-agency": 6}
REQUIRED = bool(os.environ.get("DGWH_TEST_BI"))  # .ci/run sets it: nothing here may skip
# What a value may come from: one plan, one reporting year, one survey year, one fiscal year, one budget plan,
# one source (the columns a dataset has of these).
SINGLE = ("plan_code", "reporting_fy_be", "survey_year_be", "fiscal_year_be", "budget_plan_code", "source")
RAW = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")  # a column's own name (agency_name_th, plan_code ...)

pytestmark = pytest.mark.skipif(not (VENV / "bin" / "superset").exists() and not os.environ.get("DGWH_TEST_BI"),
                                reason="no Superset virtualenv (run make bi once, or set DGWH_TEST_BI=1)")


class Api:
    """Superset's REST API as one login (JWT, with the CSRF token and session cookie writes need)."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = None
        self.token = self.call("POST", "/api/v1/security/login",
                               {"username": user, "password": password, "provider": "db"})["access_token"]
        self.csrf = self.call("GET", "/api/v1/security/csrf_token/")["result"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        status, payload = self.status(method, path, body)
        assert status == 200, (method, path, status, payload)
        return payload

    def status(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Referer": self.base}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if getattr(self, "csrf", None):
            headers["X-CSRFToken"] = self.csrf
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data, headers=headers)  # noqa: S310
        try:
            with self.opener.open(req, timeout=180) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                return exc.code, json.loads(text)
            except ValueError:
                return exc.code, {"text": text.decode(errors="replace")[:500]}


def _query(form_data: dict, filters: list[dict] | None = None, extra_metrics: list | None = None) -> dict:
    """The chart's query, as Superset's frontend builds it for these chart types."""
    where = " AND ".join(f"({f['sqlExpression']})" for f in form_data.get("adhoc_filters", []))
    viz = form_data["viz_type"]
    if viz in ("table", "handlebars"):
        columns, metrics = form_data["all_columns"], []
    elif viz == "big_number_total":
        columns, metrics = [], [form_data["metric"]]
    elif viz == "country_map":
        columns, metrics = [form_data["entity"]], [form_data["metric"]]
    else:
        columns, metrics = [form_data["x_axis"], *form_data.get("groupby", [])], form_data["metrics"]
    return {"columns": columns, "metrics": metrics + (extra_metrics or []), "extras": {"where": where},
            "filters": filters or [], "row_limit": form_data.get("row_limit", 10000), "orderby": []}


def chart_data(api: Api, chart: dict, filters: list[dict] | None = None, extra_metrics: list | None = None) -> dict:
    fd = chart["form_data"]
    body = {"datasource": {"id": int(str(fd["datasource"]).split("__")[0]), "type": "table"}, "force": False,
            "queries": [_query(fd, filters, extra_metrics)], "result_format": "json", "result_type": "full",
            "form_data": fd}
    result = api.call("POST", "/api/v1/chart/data", body)["result"][0]
    assert result.get("error") is None, (chart["slice_name"], result.get("error"))
    return result


@pytest.fixture(scope="module")
def superset(sample_warehouse):
    sample_warehouse.use()
    env = {**os.environ, "DGWH_SUPERSET_VENV": str(VENV)}  # made here by make bi when missing, then reused
    done = subprocess.run(["make", "-s", "bi"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    if REQUIRED:  # CI: the browser check must run (make test installed it already, beside the pipeline's own)
        ensure(VENV, [REPO / "bi" / "requirements-test.txt"])
    home = sample_warehouse.state / "superset"
    server = json.loads((home / "server.json").read_text())
    base = f"http://127.0.0.1:{server['port']}"
    secrets = json.loads((home / "secrets.json").read_text())
    # Prints the URL and the logins.
    assert base in done.stdout and f"admin / {secrets['admin_password']}" in done.stdout
    assert f"analyst / {secrets['analyst_password']}" in done.stdout
    yield base, secrets, home
    subprocess.run([sys.executable, "-m", "bi.local", "stop"], cwd=REPO, env=env, check=False, timeout=60)


def dashboard_charts(api: Api, slug: str) -> tuple[list[dict], list[dict]]:
    """The dashboard's charts and its native filters."""
    meta = json.loads(api.call("GET", f"/api/v1/dashboard/{slug}")["result"]["json_metadata"])
    return api.call("GET", f"/api/v1/dashboard/{slug}/charts")["result"], meta["native_filter_configuration"]


def filters_for(charts: list[dict], config: list[dict], chosen: dict[str, list]) -> dict[int, list[dict]]:
    """Per chart id, the query filters the chosen filter values put on it (within each filter's scope)."""
    out: dict[int, list[dict]] = {c["id"]: [] for c in charts}
    for f in config:
        column = f["targets"][0]["column"]["name"]
        if column in chosen:
            for cid in out:
                if cid not in f["scope"]["excluded"]:
                    out[cid].append({"col": column, "op": "IN", "val": chosen[column]})
    return out


def chosen_values(api: Api, sample) -> dict[str, dict[str, list]]:
    """The filter values the test sets, per dashboard: the plan's Thai label comes from the dataset itself."""
    charts, _ = dashboard_charts(api, "dg-projects")
    table = next(c for c in charts if c["form_data"]["viz_type"] == "table"
                 and "plan_name_th" in c["form_data"]["all_columns"])
    plan = chart_data(api, table, [{"col": "plan_code", "op": "IN", "val": ["dg_2559_2561"]}])["data"][0]
    with sample.connect("bi_reader") as conn:  # an agency that leads projects, answered surveys, has budget lines
        agency = conn.execute(
            "SELECT p.lead_agency_name_th FROM marts.project_status p "
            "JOIN marts.readiness_by_year r ON r.agency_id = p.lead_agency_id "
            "JOIN marts.budget_plan_vs_bill b ON b.agency_id = p.lead_agency_id "
            "GROUP BY 1 ORDER BY count(DISTINCT r.survey_year_be) DESC, 1 LIMIT 1").fetchone()[0]
    return {"dg-projects": {"plan_name_th": [plan["plan_name_th"]], "reporting_fy_be": [2559]},
            "dg-budget": {"fiscal_year_be": [2565]}, "dg-readiness": {"survey_year_be": [2563]},
            "dg-agency": {"agency_name_th": [agency]}}


def test_every_chart_answers_within_one_plan_and_year_and_agrees_with_the_marts(superset, sample):
    base, secrets, _ = superset
    api = Api(base, "admin", secrets["admin_password"])
    datasets = api.call("GET", "/api/v1/dataset/?q=(page_size:100)")["result"]
    with sample.connect("bi_reader") as conn:
        marts = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'marts'")}
        status_counts = sorted(r[0] for r in conn.execute(
            "SELECT count(*) FROM marts.project_status GROUP BY plan_code, reporting_fy_be"))
        readiness_2563 = conn.execute("SELECT count(*) FROM marts.readiness_by_year WHERE survey_year_be = 2563"
                                      ).fetchone()[0]
    assert marts <= {d["table_name"] for d in datasets}  # a dataset for every mart
    chosen = chosen_values(api, sample)
    seen: dict[str, dict] = {}
    for slug, count in EXPECTED.items():
        charts, config = dashboard_charts(api, slug)
        assert len(charts) == count, slug
        assert config and all(f["filterType"] == "filter_select" for f in config), slug
        scoped = filters_for(charts, config, chosen[slug])
        columns: dict[int, set[str] | None] = {d["id"]: None for d in datasets}
        for chart in charts:
            fd = chart["form_data"]
            filtered = chart_data(api, chart, scoped[chart["id"]])
            seen[chart["slice_name"]] = filtered
            if fd["viz_type"] == "table":  # every row: fewer than the table's limit
                assert filtered["rowcount"] < fd["row_limit"], chart["slice_name"]
                continue
            if fd["viz_type"] == "handlebars":  # the data-as-of line: one row, no figure
                assert filtered["rowcount"] == 1, chart["slice_name"]
                continue
            # Unfiltered, each value the chart shows comes from one plan, one year, ... (else it is NULL).
            ds_id = int(str(fd["datasource"]).split("__")[0])
            if columns.get(ds_id) is None:
                columns[ds_id] = {c["column_name"] for c in
                                  api.call("GET", f"/api/v1/dataset/{ds_id}")["result"]["columns"]}
            singles = [c for c in SINGLE if c in columns[ds_id]]
            probes = [{"expressionType": "SQL", "sqlExpression": f"count(DISTINCT {c})", "label": f"n_{c}"}
                      for c in singles]
            whole = chart_data(api, chart, [], probes)
            names = [m if isinstance(m, str) else m["label"] for m in _query(fd)["metrics"]]
            for row in whole["data"]:
                if any(row.get(n) is not None for n in names):
                    assert all(row[f"n_{c}"] == 1 for c in singles), (slug, chart["slice_name"], row)
    # The published headline figures, and totals that agree with the marts.
    big = {name: seen[name]["data"][0] for name in ("โครงการที่ถึงกำหนดเริ่ม", "เริ่มดำเนินการแล้ว",
                                                    "ร้อยละที่เริ่มดำเนินการแล้ว",
                                                    "ได้รับจัดสรรตามแผนบูรณาการ (ล้านบาท)")}
    assert list(big["โครงการที่ถึงกำหนดเริ่ม"].values()) == [21]
    assert list(big["เริ่มดำเนินการแล้ว"].values()) == [17]
    assert [float(v) for v in big["ร้อยละที่เริ่มดำเนินการแล้ว"].values()] == [80.95]
    assert [round(float(v), 4) for v in big["ได้รับจัดสรรตามแผนบูรณาการ (ล้านบาท)"].values()] == [2409.3962]
    by_start = {r["planned_start_fy_be"]: r for r in seen["สถานะตามปีที่เริ่มตามแผน"]["data"]}
    assert (by_start[2560]["projects_planned"], by_start[2560]["started_early"],
            float(by_start[2560]["pct_started"])) == (15, 6, 40.0)
    levels = {r["agency_level_name_th"]: r for r in seen["การตอบแบบสำรวจตามระดับหน่วยงาน"]["data"]}
    assert {(315, 292, 92.7), (2, 2, 100.0), (1609, 1556, 96.71)} <= {
        (r["agencies_targeted"], r["agencies_responded"], float(r["response_rate_pct"])) for r in levels.values()}
    targeted = seen["หน่วยงานเป้าหมาย"]["data"][0]
    assert list(targeted.values()) == [sum(r["agencies_targeted"] for r in levels.values())]
    assert seen["ผลรายหน่วยงาน"]["rowcount"] == readiness_2563 > 1000  # every row, not the first 1,000
    # The status chart: one bar per plan and reporting year, its stack the plan's projects that year.
    status = seen["สถานะโครงการ แยกตามแผนและปีที่รายงาน"]
    stacks = sorted(sum(v for k, v in row.items() if k != "plan_year_th") for row in
                    chart_data(api, next(c for c in dashboard_charts(api, "dg-projects")[0]
                                         if c["slice_name"] == "สถานะโครงการ แยกตามแผนและปีที่รายงาน"))["data"])
    assert status["rowcount"] >= 1 and stacks == status_counts
    # The province map: every province with province-level responders, by a code Superset's Thailand map knows.
    shaded = {r["province_iso_code"]: r["mean_overall_score"]
              for r in seen["คะแนนเฉลี่ยของหน่วยงานระดับจังหวัด รายจังหวัด"]["data"]}
    with sample.connect("bi_reader") as conn:
        provinces = conn.execute("SELECT count(DISTINCT province_name_th) FROM marts.readiness_by_year "
                                 "WHERE survey_year_be = 2563 AND agency_level = 'province'").fetchone()[0]
    assert len(shaded) == provinces > 70 and None not in shaded and all(v is not None for v in shaded.values())
    assert set(shaded) <= thailand_map_codes()


def thailand_map_codes() -> set[str]:
    """The ISO 3166-2 codes of Superset's own Thailand map (its GeoJSON among Superset's static assets)."""
    assets = next(VENV.glob("lib/python*/site-packages/superset/static/assets"))
    for path in assets.glob("*.geojson"):
        if b'"TH-10"' in path.read_bytes():
            return {f["properties"]["ISO"] for f in json.loads(path.read_text())["features"]}
    raise AssertionError(f"no Thailand map in {assets}")


def test_the_analyst_reads_but_cannot_edit_or_run_dml(superset, sample):
    base, secrets, _ = superset
    analyst = Api(base, "analyst", secrets["analyst_password"])
    dashboards = analyst.call("GET", "/api/v1/dashboard/?q=(page_size:100)")["result"]
    assert {d["slug"] for d in dashboards} >= set(EXPECTED)
    chart = analyst.call("GET", "/api/v1/dashboard/dg-projects/charts")["result"][0]
    assert chart_data(analyst, chart)["rowcount"] >= 1  # explores the datasets behind the dashboards
    dash_id = next(d["id"] for d in dashboards if d["slug"] == "dg-projects")
    assert analyst.status("PUT", f"/api/v1/dashboard/{dash_id}", {"dashboard_title": "x"})[0] in (401, 403)
    assert analyst.status("POST", "/api/v1/chart/", {"slice_name": "x", "viz_type": "table",
                                                     "datasource_id": 1, "datasource_type": "table"})[0] in (401, 403)
    database = analyst.call("GET", "/api/v1/database/")["result"][0]["id"]
    sql = {"database_id": database, "schema": "marts", "runAsync": False}
    status, read = analyst.status("POST", "/api/v1/sqllab/execute/",
                                  {**sql, "sql": "SELECT count(*) AS n FROM marts.dim_agency"})
    assert status == 200 and read["data"][0]["n"] > 0, read
    status, dml = analyst.status("POST", "/api/v1/sqllab/execute/", {**sql, "sql": "DELETE FROM marts.dim_agency"})
    assert status != 200 and "DML" in json.dumps(dml), (status, dml)
    with sample.connect("bi_reader") as conn:
        assert conn.execute("SELECT count(*) FROM marts.dim_agency").fetchone()[0] == read["data"][0]["n"]


def test_the_analyst_sees_every_dashboard_and_its_headline_figures(superset, sample):
    base, secrets, home = superset
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium or not (VENV / "bin" / "playwright").exists():
        assert not REQUIRED, "DGWH_TEST_BI=1 needs Chromium (apt chromium) and Playwright (bi/requirements-test.txt)"
        pytest.skip("no Chromium or no Playwright in Superset's virtualenv (bi/requirements-test.txt)")
    admin = Api(base, "admin", secrets["admin_password"])
    chosen = chosen_values(admin, sample)
    dashboards = {}
    for slug in EXPECTED:
        _, config = dashboard_charts(admin, slug)
        dashboards[slug] = {f["name"]: chosen[slug][f["targets"][0]["column"]["name"]]
                            for f in config if f["targets"][0]["column"]["name"] in chosen[slug]}
    request = home / "browser-request.json"
    request.write_text(json.dumps({"user": "analyst", "password": secrets["analyst_password"],
                                   "dashboards": dashboards}, ensure_ascii=False))
    request.chmod(0o600)
    done = subprocess.run([str(VENV / "bin" / "python"), "-m", "bi.browser_check", base, str(request),
                           str(SCREENSHOTS), chromium], cwd=REPO, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    request.unlink()
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The analyst's filter bar keeps its filters (the dashboard's filter state, its URL key): never refused.
    assert not [r for r in seen["refused"] if "/filter_state" in r], seen["refused"]
    for slug, count in EXPECTED.items():
        headline = {c["slice_name"] for c in dashboard_charts(admin, slug)[0]
                    if c["form_data"]["viz_type"] == "big_number_total"}
        for key in (slug, f"{slug}-filtered"):  # as it opens (nothing pressed), and filtered
            page = seen[key]
            assert page["charts"] == count and page["errors"] == 0, (key, page)
            assert page["rendered"] + page["empty"] == count and page["rendered"] >= count - 1, (key, page)
            assert page["thai_text"] > 50 and Path(page["screenshot"]).stat().st_size > 20_000, (key, page)
            assert set(page["figures"]) == headline, (key, page["figures"])
            assert all(re.fullmatch(r"-?\d[\d,]*(\.\d+)?", f) for f in page["figures"].values()), (key, page)
            for title, text in page["texts"].items():  # what people read: no code, no N/A, no "Show 0"
                assert not RAW.search(text), (key, title, RAW.search(text).group(), text[:300])
                assert "N/A" not in text and "0.0000" not in text, (key, title, text[:300])
                assert not re.search(r"Show\s+0\s+entries", text), (key, title, text[:300])

    def shown(key: str, title: str) -> list[str]:
        """The words a chart showed on the page, in order (table cells one after another)."""
        return next(t for name, t in seen[key]["texts"].items() if name.startswith(title)).split()

    def has_run(words: list[str], run: list[str]) -> bool:
        return any(words[i:i + len(run)] == run for i in range(len(words)))

    projects = "dg-projects-filtered"
    assert "21" in shown(projects, "โครงการที่ถึงกำหนดเริ่ม")
    assert "17" in shown(projects, "เริ่มดำเนินการแล้ว")
    assert "80.95" in shown(projects, "ร้อยละที่เริ่มดำเนินการแล้ว")
    # planned start 2560: 15 planned, 6 started, 6 of them early, 9 not started, 0 not reported, 40.00 %
    assert has_run(shown(projects, "สถานะตามปีที่เริ่มตามแผน"), ["2560", "15", "6", "6", "9", "0", "40.00"])
    assert "2,409.3962" in shown("dg-budget-filtered", "ได้รับจัดสรรตามแผนบูรณาการ")
    with sample.connect("bi_reader") as conn:  # every dashboard says how current its data is
        as_of = conn.execute("SELECT data_as_of_th FROM marts.data_as_of").fetchone()[0]
    assert as_of, "the sample's night succeeded: data_as_of names it"
    for slug in EXPECTED:
        assert has_run(shown(slug, AS_OF), as_of.split()), (slug, as_of)
    levels = shown("dg-readiness-filtered", "การตอบแบบสำรวจตามระดับหน่วยงาน")
    for figures in (["315", "292", "92.70"], ["1,609", "1,556", "96.71"], ["2", "2", "100.00"]):
        assert has_run(levels, figures), (figures, levels)
    # An unmatched bill line with no near plan project says so instead of N/A.
    assert "ไม่มี · none" in " ".join(shown("dg-budget-filtered", "รายการใน พ.ร.บ. ที่ไม่ตรงกับโครงการใด"))

"""docs/sources.md, templates/ and generated staging models come from ground/sources.py; a filled-in template
loads."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from psycopg import sql

from ground.sources import SOURCES
from ingest.parse import _parse_value, parse_file
from ingest.readers import map_header
from nightly.pipeline import new_files, process_file
from reporting import templates
from tests.conftest import REPO

TEMPLATE_SOURCES = [s for s in SOURCES.values() if s.template]

# What an officer types (CSV: text; XLSX: typed cells) and what raw must hold afterwards.
FILLED = {
    "project_reports": (
        {"plan_code": "dg_2560_2564", "reporting_fy_be": "๒๕๖๑", "project_code": "DG2560_2564-07",
         "project_name_th": "โครงการทดสอบแบบฟอร์ม", "agency_name": "กรมสรรพากร", "planned_start_fy_be": "2018",
         "status": "ยังไม่เริ่มดำเนินการ", "obstacle_categories": "งบประมาณ; อื่น ๆ", "obstacle_note": "รออนุมัติ",
         "report_date": "๓๐ ก.ย. ๒๕๖๑"},
        {"plan_code": "dg_2560_2564", "reporting_fy_be": 2562, "project_code": "DG2560_2564-08",
         "agency_name": "กรมบัญชีกลาง", "planned_start_fy_be": 2561, "status": "ดำเนินการแล้วเสร็จ",
         "actual_start_fy_be": 2561, "obstacle_categories": "บุคลากร", "report_date": datetime(2019, 9, 30)},
        {"reporting_fy_be": [2561, 2562], "planned_start_fy_be": [2561, 2561], "status": ["not_started", "completed"],
         "actual_start_fy_be": [None, 2561], "obstacle_categories": ["budget;other", "personnel"],
         "report_date": [date(2018, 9, 30), date(2019, 9, 30)]},
    ),
    "readiness": (
        {"survey_year_be": "2564", "agency_name": "สำนักงานสถิติแห่งชาติ", "agency_level": "ระดับจังหวัด",
         "province_name": "เชียงใหม่", "responded": "ใช่", "score_strategy": "๘๕.๕", "score_data": "90%",
         "submitted_on": "15 ส.ค. 2564"},
        {"survey_year_be": 2021, "agency_name": "กรมการปกครอง", "agency_level": "ระดับกรม", "responded": "ไม่ใช่"},
        {"survey_year_be": [2564, 2564], "agency_level": ["province", "department"], "responded": [True, False],
         "score_strategy": [Decimal("85.5"), None], "score_data": [Decimal("90"), None],
         "submitted_on": [date(2021, 8, 15), None]},
    ),
    "integration_plan": (
        {"fiscal_year_be": "2567", "budget_plan_name": "แผนงานบูรณาการรัฐบาลดิจิทัล", "agency_name": "กรมบัญชีกลาง",
         "project_code": "T-0001", "project_name_th": "โครงการทดสอบ", "approach": "บริการดิจิทัลแบบเบ็ดเสร็จ",
         "focus_area": "การศึกษา", "requested_baht": "1,500,000.-", "allocated_baht": "๑,๒๐๐,๐๐๐ บาท"},
        {"fiscal_year_be": 2567, "budget_plan_name": "แผนงานบูรณาการรัฐบาลดิจิทัล", "agency_name": "กรมสรรพากร",
         "project_code": "T-0002", "project_name_th": "โครงการทดสอบสอง", "approach": "ทักษะดิจิทัล",
         "allocated_baht": 250000},
        {"fiscal_year_be": [2567, 2567], "approach": ["e2e_services", "digital_skills"],
         "focus_area": ["education", None],
         "requested_baht": [Decimal(1_500_000), None], "allocated_baht": [Decimal(1_200_000), Decimal(250_000)]},
    ),
}


# Hand-typed cases for the sources above; any other source's template is covered by its documented examples.
FILLED_SOURCES = [SOURCES[name] for name in FILLED]


def test_committed_docs_and_templates_are_current():
    assert templates.stale(REPO) == [], "run `dgwh templates` and commit what it wrote"


def test_a_changed_template_is_detected(tmp_path):
    for rel in templates.outputs():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, tmp_path / rel)
    wb = load_workbook(tmp_path / "templates" / "readiness.xlsx")
    wb[templates.DATA_SHEET]["A1"] = "ปี"
    wb.save(tmp_path / "templates" / "readiness.xlsx")
    (tmp_path / "docs" / "sources.md").write_text("old\n", encoding="utf-8")
    assert sorted(map(str, templates.stale(tmp_path))) == ["docs/sources.md", "templates/readiness.xlsx"]


@pytest.mark.parametrize("source", TEMPLATE_SOURCES, ids=lambda s: s.name)
def test_csv_template_is_bom_utf8_with_thai_headers_that_map_back(source):
    data = (REPO / "templates" / f"{source.name}.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header == [c.header_th for c in source.columns]
    columns, _, unknown = map_header(header, source)
    assert columns == {c.name: i for i, c in enumerate(source.columns)} and unknown == []


@pytest.mark.parametrize("source", TEMPLATE_SOURCES, ids=lambda s: s.name)
def test_xlsx_lists_offer_labels_that_parse_to_every_code(source):
    wb = load_workbook(REPO / "templates" / f"{source.name}.xlsx")
    ws = wb[templates.DATA_SHEET]
    listed = wb[templates.LISTS_SHEET]
    assert listed.sheet_state == "hidden"

    def labels(formula: str) -> list[str]:  # "'รายการ'!$F$1:$F$3" -> the cells' values
        cells = formula.split("!", 1)[1].replace("$", "")
        return [row[0].value for row in listed[cells]]

    lists = {next(iter(dv.sqref.ranges)).min_col: labels(dv.formula1) for dv in ws.data_validations.dataValidation}
    for i, column in enumerate(source.columns, start=1):
        if column.kind == "enum":
            assert {_parse_value(column, label, Decimal(1)) for label in lists[i]} == set(column.values)
        elif column.kind == "bool":
            assert [_parse_value(column, label, Decimal(1)) for label in lists[i]] == [True, False]
        else:
            assert i not in lists
        assert column.name in ws.cell(row=1, column=i).comment.text
    notes = [row for row in wb[templates.NOTES_SHEET].iter_rows(values_only=True) if row and row[1]]
    assert [r[1] for r in notes[1:]] == [c.name for c in source.columns]  # English names, one row per column


@pytest.mark.parametrize("source", list(SOURCES.values()), ids=lambda s: s.name)
def test_documented_examples_parse(source):
    doc = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    for column in source.columns:
        assert f"`{column.name}`" in doc
        if column.example and source.template:
            assert _parse_value(column, column.example, Decimal(1)) is not None, column.name


def _fill_csv(source, values: dict[str, object]) -> bytes:
    text = (REPO / "templates" / f"{source.name}.csv").read_bytes().decode("utf-8-sig")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([values.get(c.name, "") for c in source.columns])
    return (text + buf.getvalue()).encode("utf-8-sig")


def _fill_xlsx(source, values: dict[str, object], path) -> None:
    wb = load_workbook(REPO / "templates" / f"{source.name}.xlsx")
    ws = wb[templates.DATA_SHEET]
    for i, column in enumerate(source.columns, start=1):
        ws.cell(row=2, column=i, value=values.get(column.name))
    wb.save(path)


@pytest.fixture(scope="module")
def filled(make_warehouse):
    wh = make_warehouse("templates")
    wh.use()
    for source in FILLED_SOURCES:
        csv_values, xlsx_values, _ = FILLED[source.name]
        folder = wh.landing / source.name / "from_template"
        folder.mkdir(parents=True)
        (folder / f"{source.name}_filled.csv").write_bytes(_fill_csv(source, csv_values))
        _fill_xlsx(source, xlsx_values, folder / f"{source.name}_filled.xlsx")
    wh.outcomes = {o.path: o for o in (process_file(f, run_id="templates") for f in new_files())}
    return wh


@pytest.mark.parametrize("source", FILLED_SOURCES, ids=lambda s: s.name)
def test_filled_templates_pass_the_gate_and_load(filled, source):
    expected = FILLED[source.name][2]
    by_type = {}
    for ext in ("csv", "xlsx"):
        path = f"{source.name}/from_template/{source.name}_filled.{ext}"
        outcome = filled.outcomes[path]
        assert (outcome.status, outcome.rows_in, outcome.rows_loaded) == ("loaded", 1, 1), outcome.reason
        by_type[ext] = outcome.file_id
    columns = list(expected)
    with filled.connect() as conn:
        rows = [conn.execute(sql.SQL("SELECT {} FROM {} WHERE file_id = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("raw", source.name)),
            (by_type[ext],)).fetchall() for ext in ("csv", "xlsx")]
    assert [r[0] for r in rows] == [tuple(expected[c][i] for c in columns) for i in (0, 1)]


def test_xlsx_notes_sheet_is_not_read_as_data(filled):
    path = filled.landing / "readiness" / "from_template" / "readiness_filled.xlsx"
    parsed = parse_file(path, SOURCES["readiness"])
    assert parsed.sheets == [templates.DATA_SHEET] and parsed.rows_in == 1


def test_a_generated_staging_model_follows_its_definition():
    """A source whose staging is generated: its columns as loaded (the agency key only when rows name an agency),
    the raw table declared, every column described, required ones not null; the programme's four sources keep
    their hand-written models (nothing generated for them)."""
    from dataclasses import replace

    import yaml

    from ground.sources import Column
    from reporting import staging_models

    assert staging_models.outputs() == {}
    plain = replace(SOURCES["readiness"], name="site_checks", generated_staging=True, agency_column="agency_name",
                    columns=(Column("check_year_be", "year", ("ปี",), True, "year checked"),
                             Column("site_url", "text", ("เว็บไซต์",), False, "the site")))
    sql_text = staging_models.render_sql(plain)
    assert "name_key" not in sql_text and "from {{ source('raw', 'site_checks') }}" in sql_text
    doc = yaml.safe_load(staging_models.render_yml(plain))
    assert doc["sources"][0]["tables"][0]["name"] == "site_checks"
    (model,) = doc["models"]
    described = {c["name"]: c for c in model["columns"]}
    assert list(described) == ["file_id", "source_row", "source_sheet", "check_year_be", "site_url"]
    assert described["check_year_be"]["data_tests"] == ["not_null"] and "data_tests" not in described["site_url"]
    named = replace(plain, columns=(*plain.columns, Column("agency_name", "text", ("หน่วยงาน",), True, "agency")))
    assert "{{ name_key('agency_name') }} as agency_key" in staging_models.render_sql(named)
    assert yaml.safe_load(staging_models.render_yml(named))["models"][0]["columns"][-1]["name"] == "agency_key"
    from sqlfluff.core import FluffConfig, Linter  # the project's SQL lint (.sqlfluff), as make test runs it

    linted = Linter(config=FluffConfig.from_path(str(REPO / "dbt_project" / "models" / "staging"))).lint_string(
        staging_models.render_sql(named), fname="dbt_project/models/staging/stg_site_checks.sql")
    assert linted.get_violations() == []
    extra = replace(plain, extra_raw=(("checked_by", "text"),))
    assert "    checked_by" in staging_models.render_sql(extra).splitlines()  # every raw column, extra ones too
    for bad in ("Site URL", "file_id"):
        clash = replace(plain, columns=(*plain.columns, Column(bad, "text", ("x",))))
        with pytest.raises(ValueError, match="cannot be staged as generated"):
            staging_models.render_sql(clash)


def test_generated_staging_never_replaces_a_hand_written_model_and_goes_when_unwanted(tmp_path, monkeypatch):
    from dataclasses import replace

    from reporting import staging_models

    monkeypatch.setitem(SOURCES, "site_checks", replace(SOURCES["readiness"], name="site_checks",
                                                        generated_staging=True, template=False))
    model = tmp_path / staging_models.STAGING_DIR / "stg_site_checks.sql"
    model.parent.mkdir(parents=True)
    model.write_text("select 1 as hand_written\n")
    with pytest.raises(ValueError, match="written by hand"):
        templates.write(tmp_path)
    assert model.read_text() == "select 1 as hand_written\n"
    model.unlink()
    assert staging_models.STAGING_DIR / "stg_site_checks.sql" in templates.write(tmp_path)
    assert model.read_text().startswith("-- Generated by `dgwh templates`") and templates.stale(tmp_path) == []
    monkeypatch.delitem(SOURCES, "site_checks")  # the source is gone: its generated model is stale, then removed
    assert {f"{staging_models.STAGING_DIR}/stg_site_checks.{ext}" for ext in ("sql", "yml")} <= set(
        map(str, templates.stale(tmp_path)))
    templates.write(tmp_path)
    assert not model.exists() and templates.stale(tmp_path) == []

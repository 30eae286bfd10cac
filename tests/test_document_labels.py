"""The source documents' own words are canonical: their labels, exactly as written in ../shared/seeds,
load through ingest into the marts, and the marts' Thai labels are those words.

- seed 003 (DGA's FY 2566 briefing): the three approaches' full Thai names and the six focus areas
  plus "other", as the briefing writes them (ด้านการเกษตร, ด้านกลุ่ม SMEs, ด้านอื่น ๆ ที่สนับสนุน...);
- seed 000 (the 2559 monitoring summary): the obstacle categories (ด้านกฎหมาย ... ปัญหาอื่นๆ), the
  plan's own name and the statuses' wording (เริ่มดำเนินการไปแล้ว, ยังไม่ได้ดำเนินการ);
- usual variants: without ด้าน / กลุ่ม, ๆ spacing, English names, "แนวทางที่ N".
An unknown value rejects its row alone, with the nearest known label in the reason.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from ground import labels
from ground.sources import INTEGRATION_PLAN
from ingest.parse import parse_file
from tests.conftest import SHARED

SEEDS = SHARED / "seeds"
BRIEFING = next(iter(sorted(SEEDS.glob("003_*.txt"))), None)
MONITORING = next(iter(sorted(SEEDS.glob("000_*.txt"))), None)
pytestmark = pytest.mark.skipif(BRIEFING is None or MONITORING is None,
                                reason="../shared/seeds is not beside this checkout")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

FOCUS_AREAS = {  # as seed 003 writes them
    "agriculture": "ด้านการเกษตร", "education": "ด้านการศึกษา", "health": "ด้านสุขภาพการแพทย์",
    "welfare": "ด้านความเหลื่อมล้ำสิทธิสวัสดิการ", "transparency": "ด้านกลุ่มโปร่งใสและการมีส่วนร่วม",
    "sme": "ด้านกลุ่ม SMEs", "other": "ด้านอื่น ๆ ที่สนับสนุนการพัฒนารัฐบาลดิจิทัล"}
OBSTACLES = {"law": "ด้านกฎหมาย", "budget": "ด้านงบประมาณ", "data": "ด้านข้อมูล", "personnel": "ด้านบุคลากร",
             "equipment": "ด้านอุปกรณ์", "other": "ปัญหาอื่นๆ"}  # as seed 000 writes them


def _approaches() -> dict[str, str]:
    """The briefing's three approaches, cut from its text: "แนวทางที่ N <Thai name> (<English>)"."""
    text = BRIEFING.read_text(encoding="utf-8")
    found = re.findall(r"แนวทางที่ (\d) (.+?\([A-Za-z][^)]*\))", text)
    codes = {"1": "digital_skills", "2": "common_platform", "3": "e2e_services"}
    return {codes[n]: name.strip() for n, name in found}


def test_the_documents_say_what_this_test_feeds():
    """The labels above are the documents' words, not ours."""
    briefing = BRIEFING.read_text(encoding="utf-8")
    monitoring = MONITORING.read_text(encoding="utf-8")
    assert all(label in briefing for label in FOCUS_AREAS.values())
    assert all(label in monitoring for label in OBSTACLES.values())
    assert set(_approaches()) == {"digital_skills", "common_platform", "e2e_services"}


def test_the_marts_labels_are_the_documents_words():
    """The seeds the marts read hold the documents' words as their Thai labels."""
    approaches = _approaches()
    for code, vocabulary, words in (("approach", labels.approaches(), approaches),
                                    ("focus", labels.focus_areas(), FOCUS_AREAS),
                                    ("obstacle", labels.obstacle_categories(), OBSTACLES)):
        for value, label in words.items():
            thai = vocabulary.labels[value][0]
            assert thai in label or label.startswith(thai), (code, value, thai, label)


@pytest.mark.parametrize("text, code", [
    ("การเกษตร", "agriculture"), ("เกษตร", "agriculture"), ("SMEs", "sme"), ("กลุ่ม SMEs", "sme"),
    ("ด้านอื่นๆ", "other"), ("อื่น ๆ", "other"), ("Health and medicine", "health"), ("สุขภาพการแพทย์", "health"),
])
def test_usual_variants_of_a_focus_area(text, code):
    assert labels.focus_areas().resolve(text) == code


@pytest.mark.parametrize("text, code", [
    ("แนวทางที่ 2", "common_platform"), ("Digital Skills", "digital_skills"), ("E2E", "e2e_services"),
    ("การบูรณาการข้อมูลและบริการภาครัฐในรูปแบบดิจิทัล", "e2e_services"),
])
def test_usual_variants_of_an_approach(text, code):
    assert labels.approaches().resolve(text) == code


def test_an_unknown_label_says_which_known_one_is_nearest():
    with pytest.raises(ValueError, match=r"nearest: ด้านการศึกษา \(education\)"):
        labels.focus_areas().resolve("ด้านการศึกษาพิเศษ")


def _template_csv(path: Path, template: str, rows: list[list[object]]) -> Path:
    header = (TEMPLATES / template).read_text(encoding="utf-8-sig").splitlines()[0]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + out.getvalue(), encoding="utf-8")
    return path


def _plan_rows() -> list[list[object]]:
    """The briefing's approaches and focus areas in an integration-plan file from the template."""
    approaches = list(_approaches().values())  # numbered 1, 2, 3 as the briefing numbers them
    rows = []
    for i, label in enumerate(FOCUS_AREAS.values(), start=1):
        approach_label = approaches[i % 3]
        rows.append([2566, "แผนงานบูรณาการรัฐบาลดิจิทัล", "กรมสรรพากร", f"DG66-L{i:02}", f"โครงการทดสอบ {i}",
                     f"แนวทางที่ {i % 3 + 1} {approach_label}", label, f"{i},000,000", f"{i},000,000"])
    rows.append([2566, "แผนงานบูรณาการรัฐบาลดิจิทัล", "กรมสรรพากร", "DG66-L99", "โครงการทดสอบ 99", "Digital Skills",
                 "ด้านการท่องเที่ยว", "1,000,000", "1,000,000"])  # not a focus area of the briefing
    return rows


def test_an_integration_plan_file_in_the_briefings_words_parses(tmp_path):
    parsed = parse_file(_template_csv(tmp_path / "plan.csv", "integration_plan.csv", _plan_rows()), INTEGRATION_PLAN)
    assert [r["focus_area"] for r in parsed.records[:7]] == list(FOCUS_AREAS)
    assert {r["approach"] for r in parsed.records[:7]} == {"digital_skills", "common_platform", "e2e_services"}
    (issue,) = parsed.value_issues
    assert (issue.column, issue.row, issue.value) == ("focus_area", 9, "ด้านการท่องเที่ยว")


@pytest.fixture(scope="module")
def documents_warehouse(make_warehouse):
    from expectations.gate import Gate
    from ground.registry import alias_keys
    from nightly.pipeline import new_files, process_file
    from nightly.transform import run_dbt

    wh = make_warehouse("document-labels")
    wh.use()
    _template_csv(wh.landing / "integration_plan" / "2566" / "plan_2566.csv", "integration_plan.csv", _plan_rows())
    statuses = ["เริ่มดำเนินการไปแล้ว", "ยังไม่ได้ดำเนินการ"]
    reports = [["แผนพัฒนารัฐบาลดิจิทัลของประเทศไทย ระยะ ๓ ปี พ.ศ.๒๕๕๙-๒๕๖๑", 2559, f"DG2559_2561-0{i}", "",
                "สำนักงานคณะกรรมการกฤษฎีกา" if i == 1 else "กรมการปกครอง", 2559, statuses[i % 2],
                2559 if i % 2 == 0 else "", "; ".join(list(OBSTACLES.values())[i - 1:i + 2]), "", ""]
               for i in (1, 2)]
    _template_csv(wh.landing / "project_reports" / "2559" / "status.csv", "project_reports.csv", reports)
    gate = Gate(list(alias_keys()))
    wh.outcomes = {o.path: o for o in (process_file(f, gate, "test-document-labels") for f in new_files())}
    outcome = run_dbt(["build", "--select", "+budget_by_approach_focus_year", "+obstacles_by_year",
                       "+project_status_by_year", "--indirect-selection", "cautious",
                       "--exclude", "resource_type:unit_test"])
    assert outcome.success, outcome.failures
    return wh


def test_the_documents_words_load_into_the_marts(documents_warehouse):
    plan = documents_warehouse.outcomes["integration_plan/2566/plan_2566.csv"]
    assert (plan.status, plan.rows_in, plan.rows_loaded, plan.rows_rejected) == ("loaded", 8, 7, 1)
    reports = documents_warehouse.outcomes["project_reports/2559/status.csv"]
    assert (reports.status, reports.rows_loaded) == ("loaded", 2), reports.reason
    with documents_warehouse.connect() as conn:
        focus = dict(conn.execute(
            """SELECT focus_area_code, focus_area_name_th FROM marts.budget_by_approach_focus_year
               WHERE fiscal_year_be = 2566 AND source = 'integration_plan'""").fetchall())
        approach = dict(conn.execute(
            """SELECT DISTINCT approach_code, approach_name_th FROM marts.budget_by_approach_focus_year
               WHERE fiscal_year_be = 2566 AND source = 'integration_plan'""").fetchall())
        obstacles = dict(conn.execute(
            """SELECT category, projects_reporting FROM marts.obstacles_by_year
               WHERE plan_code = 'dg_2559_2561' AND reporting_fy_be = 2559""").fetchall())
        (reason,) = conn.execute(
            """SELECT reason FROM ops.rejected_rows AS r JOIN ops.file_ledger AS l USING (file_id)
               WHERE l.path = 'integration_plan/2566/plan_2566.csv'""").fetchone()
    assert focus == FOCUS_AREAS
    briefing = _approaches()
    assert all(approach[code] == briefing[code].rsplit(" (", 1)[0] for code in approach) and len(approach) == 3
    assert obstacles == {"law": 1, "budget": 2, "data": 2, "personnel": 1, "equipment": 0, "other": 0}
    assert "ด้านการท่องเที่ยว" in reason and "not one of" in reason

"""Plan names as OCR and PDF extraction deliver them still reach the right budget plan code.

Strings come from the real FY 2565 books (../shared/data, book 2022.3.1 and 2022.3.12) or apply the
damage seen there to the Digital Government plan's name: garbage after a name (README: "aedde";
books: "…ความมั่นคงเคง", "…ร่าง", "… 43,742,500 บาท"), marks lost or reordered ("ดิจทัล", "นำ",
"รฐัม"), a consonant misread ("ชับเคลื่อน" for "ขับเคลื่อน"), a leading vowel lost ("ทะล" for
"ทะเล") and a cut-off end ("อุตสาหกรา" for "อุตสาหกรรม").
"""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from ground.plans import registered_plans, repair_plan_name
from ground.thai import name_key
from nightly.pipeline import new_files, process_file
from tests.conftest import BOOKS, REPO

DG = "แผนงานบูรณาการรัฐบาลดิจิทัล"
SOUTH = "แผนงานบูรณาการขับเคลื่อนการแก้ไขปัญหาจังหวัดชายแดนภาคใต้"
DG_DAMAGED = [
    DG + "aedde",  # data README
    DG + "เคง",  # tail garbage as in "แผนงานพื้นฐานด้านความมั่นคงเคง"
    "แผนงานบูรณาการรฐับาลดิจิทัล",  # marks reordered as in "สำนักนายกรฐัมนตรี"
    "แผนงานบูรณาการรัฐบาลดิจทัล",  # a vowel lost as in item 2022.3.1.715
    "แผนงานบูรณาการรัฐบาล\nดิจิทัล",  # a line break inside a quoted field
    "ผนงานบูรณาการรัฐบาลดิจิทัล",  # a leading vowel lost as in "ทะล"
    "แผนงานบูรณาการรัฐบาลดิจิทั",  # the end cut off as in "อุตสาหกรา"
    "แผนงานบูรณาการรัฐบาลดิจิตอล",  # the older spelling of "digital"
]
SOUTH_DAMAGED = "แผนงานบูรณาการชับเคลื่อนการแก้ไขปัญหาจังหวัดชายแดนภาคใต้"  # ข misread as ช, as in 2022.3.1.715


def seed_plans() -> dict[str, str]:
    with open(REPO / "dbt_project" / "seeds" / "budget_plans.csv", encoding="utf-8", newline="") as fh:
        return {row["budget_plan_name_th"]: row["budget_plan_code"] for row in csv.DictReader(fh)}


def dbt_rule_code(name: str) -> str | None:
    """dbt macro budget_plan_code: the longest registered plan key that prefixes the name's key."""
    key = name_key(name)
    hits = [(len(name_key(n)), code) for n, code in seed_plans().items() if key.startswith(name_key(n))]
    return max(hits)[1] if hits else None


def read_as(name: str) -> str:
    return repair_plan_name(name) or name


@pytest.mark.parametrize("damaged", DG_DAMAGED)
def test_damaged_digital_government_plan_is_recognised(damaged):
    assert dbt_rule_code(read_as(damaged)) == "dg_integration"


def test_damage_the_prefix_match_absorbs_is_not_rewritten():
    for damaged in DG_DAMAGED[:5]:
        assert repair_plan_name(damaged) is None, damaged


def test_misread_consonant_keeps_the_plans_own_code():
    assert dbt_rule_code(SOUTH_DAMAGED) == "integration_unmapped"  # what the prefix match alone would do
    assert read_as(SOUTH_DAMAGED) == SOUTH
    assert dbt_rule_code(read_as(SOUTH_DAMAGED)) == "southern_border"


def test_every_registered_plan_keeps_its_own_code():
    for name, code in seed_plans().items():
        assert repair_plan_name(name) is None
        assert dbt_rule_code(name) == code


def _book_plans() -> set[str]:
    plans: set[str] = set()
    for book in sorted(BOOKS.glob("*.csv")):
        with open(book, encoding="utf-8", newline="") as fh:
            plans.update(row["BUDGET_PLAN"] for row in csv.DictReader(fh))
    return plans


def test_real_book_plan_names_need_no_repair_and_only_integration_plans_get_codes():
    plans = _book_plans()
    assert {DG, SOUTH, "แผนงานพื้นฐานด้านความมั่นคงเคง"} <= plans  # the fixtures are the books we think
    assert all(repair_plan_name(p) is None for p in plans)
    for plan in plans:
        code = dbt_rule_code(plan)
        assert (code is not None) == plan.startswith("แผนงานบูรณาการ"), plan
        assert (code == "dg_integration") == (plan == DG), plan


def test_similar_but_different_names_are_left_alone():
    registry = registered_plans()
    assert repair_plan_name("แผนงานบูรณาการสร้างรายได้จากการท่องเที่ยว", registry) is None  # real, not registered
    assert repair_plan_name("แผนงานบูรณาการรัฐบาล", registry) is None  # too far from any one plan
    assert repair_plan_name("แผนงานยุทธศาสตร์พัฒนาบริการประชาชนและการพัฒนาประสิทธิภาพภาครัฐ", registry) is None


# ------------------------------------------------------------------ end to end: ingest + dbt

def _real_rows() -> tuple[list[str], list[list[str]]]:
    with open(BOOKS / "2022-3-1.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def garbled_book(make_warehouse):
    """Book 2022.3.1's Digital Government and southern-border lines with their plan names damaged."""
    from nightly.transform import run_dbt

    header, rows = _real_rows()
    plan, amount, year = header.index("BUDGET_PLAN"), header.index("AMOUNT"), header.index("FISCAL_YEAR")
    dg = [r for r in rows if r[plan] == DG]
    south = [r for r in rows if r[plan] == SOUTH]
    tourism = [r for r in rows if r[plan] == "แผนงานบูรณาการสร้างรายได้จากการท่องเที่ยว"]
    other = [r for r in rows if r[plan] == "แผนงานพื้นฐานด้านความมั่นคงเคง"][:5]
    assert dg and south and tourism and other
    for i, r in enumerate(dg):
        r[plan] = DG_DAMAGED[i % len(DG_DAMAGED)]
    for r in south[::2]:
        r[plan] = SOUTH_DAMAGED
    expected: dict[tuple[int, str], Decimal] = {}
    for code, group in (("dg_integration", dg), ("southern_border", south), ("integration_unmapped", tourism)):
        for r in group:  # multi-year items have a row per CE fiscal year: the bill's year counts, the rest
            if r[year] != "2022":  # is the FY 2565 bill's obligation schedule (budget_obligation_schedule)
                continue
            key = (int(r[year]) + 543, code)
            expected[key] = expected.get(key, Decimal(0)) + Decimal(r[amount].replace(",", ""))
    wh = make_warehouse("plannames")
    wh.use()
    path = wh.landing / "budget_bill" / "2565" / "2022-3-1-garbled.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *dg, *south, *tourism, *other])
    (outcome,) = [process_file(f, run_id="plannames") for f in new_files()]
    assert outcome.status == "loaded", outcome.reason
    result = run_dbt(["build", "--select", "+budget_by_year", "--exclude-resource-type", "test", "unit_test"])
    assert result.success, result.failures
    wh.expected, wh.outcome = expected, outcome
    wh.repaired = sum(1 for r in dg + south if repair_plan_name(r[plan]))
    return wh


def test_marts_put_damaged_names_under_the_right_plan(garbled_book):
    with garbled_book.connect() as conn:
        got = {(fy, code): amount for fy, code, amount in conn.execute(
            """SELECT fiscal_year_be, budget_plan_code, amount_baht FROM marts.budget_by_year
               WHERE source = 'budget_bill'""").fetchall()}
    assert got == garbled_book.expected


def test_repairs_keep_the_text_as_written_and_are_reported(garbled_book):
    with garbled_book.connect() as conn:
        kept = conn.execute("""SELECT budget_plan_as_written, budget_plan FROM raw.budget_bill
                               WHERE budget_plan_as_written IS NOT NULL""").fetchall()
        details = conn.execute("SELECT details FROM ops.validation_runs WHERE file_id = %s",
                               (garbled_book.outcome.file_id,)).fetchone()[0]
    assert len(kept) == garbled_book.repaired > 0
    assert {written for written, _ in kept} == {SOUTH_DAMAGED, *DG_DAMAGED[5:]}
    assert {plan for _, plan in kept} == {DG, SOUTH}
    reported = [d for d in details if d["column"] == "BUDGET_PLAN"]
    assert reported and sum(d["unexpected_count"] for d in reported) == garbled_book.repaired

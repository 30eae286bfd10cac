"""The budget bill as it really comes: real FY 2565 books (../shared/data) with the damage real
extractions carry, in both extractions' formats, through ingest, GX and dbt.

Defect classes: amount cells the extraction lost (empty) or garbled, instalment years decades away
from the bill's (a multi-year obligation, BE 2510 ... 2581), a book that came out header-only, and the
second extraction's format (no DEBUG_LOG, float amounts, Thai marks stored in another order).
Only the damaged rows are rejected, each with its reason; the plan totals equal an independent
computation over the valid rows, to the baht; far instalments never count in a year's total.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ground.sources import BUDGET_BILL
from ground.thai import name_key
from ingest.parse import parse_file
from tests.conftest import BOOKS

pytestmark = pytest.mark.skipif(not BOOKS.exists(), reason="../shared/data is not beside this checkout")

DG_PLAN_KEY = name_key("แผนงานบูรณาการรัฐบาลดิจิทัล")
BILL_CE = 2022  # both books are FY BE 2565
EMPTY_AMOUNT, GARBLED_AMOUNT, FAR_PAST, FAR_FUTURE = 4, 2, 3, 3  # damaged rows per class, in book 2022.3.1
# A Thai vowel or tone mark moved after the next consonant, as the second extraction stores it.
_MARK_THEN_CONSONANT = re.compile("([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])([\u0e01-\u0e2e])")


def _read(book: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(book, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _is_dg(row: dict[str, str]) -> bool:
    return name_key(row["BUDGET_PLAN"]).startswith(DG_PLAN_KEY)


def _second_extraction(header: list[str], rows: list[dict[str, str]]) -> tuple[list[str], list[dict[str, str]]]:
    """The other community extraction of the same book: no DEBUG_LOG, float amounts, marks reordered."""
    out = []
    for r in rows:
        r = dict(r)
        r["AMOUNT"] = repr(float(r["AMOUNT"].replace(",", "")))  # 8659600.0
        for col in ("MINISTRY", "BUDGETARY_UNIT", "BUDGET_PLAN", "PROJECT", "OUTPUT"):
            r[col] = _MARK_THEN_CONSONANT.sub(r"\2\1", r[col] or "")
        out.append(r)
    return [h for h in header if h != "DEBUG_LOG"], out


def _damage(rows: list[dict[str, str]]) -> dict[str, str]:
    """Damage a few Digital Government rows of book 2022.3.1 in place and add a multi-year obligation
    with far instalment years (as a lease or construction contract names them); ITEM_ID -> defect class."""
    dg = [r for r in rows if _is_dg(r) and r["FISCAL_YEAR"] == str(BILL_CE)]
    assert len(dg) >= EMPTY_AMOUNT + GARBLED_AMOUNT + 1
    damaged = {}
    for r in dg[:EMPTY_AMOUNT]:
        r["AMOUNT"] = ""
        damaged[r["ITEM_ID"]] = "empty amount"
    for r in dg[EMPTY_AMOUNT:EMPTY_AMOUNT + GARBLED_AMOUNT]:
        r["AMOUNT"] = "8,6S9,6OO"  # OCR read digits as letters
        damaged[r["ITEM_ID"]] = "garbled amount"
    template = dg[-1]
    years = [1967 + i for i in range(FAR_PAST)] + [2036 + i for i in range(FAR_FUTURE)]  # BE 2510..., 2579...
    for i, year in enumerate(years):
        rows.append({**template, "": str(len(rows)), "ITEM_ID": f"{template['REF_DOC']}.{9000 + i}",
                     "FISCAL_YEAR": str(year), "AMOUNT": "1,000,000", "OBLIGED?": "True"})
    return damaged


def _dg_total(rows: list[dict[str, str]]) -> Decimal:
    """Independently of the pipeline: a book's own-year Digital Government lines with a readable amount."""
    total = Decimal(0)
    for r in rows:
        amount = r["AMOUNT"].replace(",", "")
        if _is_dg(r) and r["FISCAL_YEAR"] in (str(BILL_CE), f"{BILL_CE}.0") and re.fullmatch(r"\d+(\.\d+)?", amount):
            total += Decimal(amount)
    return total


def test_both_extractions_parse_to_the_same_lines(tmp_path):
    """The same book in the second extraction's format gives the same typed lines and plan keys."""
    header, rows = _read(BOOKS / "2022-3-12.csv")
    other = _write(tmp_path / "2022-3-12.csv", *_second_extraction(header, rows))
    first, second = parse_file(BOOKS / "2022-3-12.csv", BUDGET_BILL), parse_file(other, BUDGET_BILL)
    assert not first.value_issues and not second.value_issues
    assert "DEBUG_LOG" not in other.read_text(encoding="utf-8").splitlines()[0]
    scrambled = sum(a["budgetary_unit"] != b["budgetary_unit"] for a, b in zip(first.records, second.records,
                                                                                 strict=True))
    assert scrambled > 100  # the marks really are in another order ...

    def lines(parsed):
        return [(r["item_id"], r["amount_baht"], r["fiscal_year_be"], name_key(r["budgetary_unit"] or ""),
                 name_key(r["budget_plan"] or ""), r["obliged"]) for r in parsed.records]

    assert lines(first) == lines(second)  # ... and still read as the same lines


@pytest.fixture(scope="module")
def real_bill(make_warehouse):
    """Book 2022.3.1 damaged, book 2022.3.12 in the second extraction's format, a header-only book."""
    from expectations.gate import Gate
    from ground.registry import alias_keys
    from nightly.pipeline import new_files, process_file
    from nightly.transform import run_dbt

    wh = make_warehouse("real-bill")
    wh.use()
    header1, rows1 = _read(BOOKS / "2022-3-1.csv")
    wh.damaged = _damage(rows1)
    _write(wh.landing / "budget_bill" / "2565" / "2022-3-1.csv", header1, rows1)
    header12, rows12 = _second_extraction(*_read(BOOKS / "2022-3-12.csv"))
    _write(wh.landing / "budget_bill" / "2565" / "2022-3-12.csv", header12, rows12)
    _write(wh.landing / "budget_bill" / "2565" / "2022-3-7.csv", header1, [])
    wh.expected_dg = _dg_total(rows1) + _dg_total(rows12)
    wh.rows_in = len(rows1) + len(rows12)
    gate = Gate(list(alias_keys()))
    wh.outcomes = {o.path: o for o in (process_file(f, gate, "test-real-bill") for f in new_files())}
    outcome = run_dbt(["build", "--select", "+budget_by_year", "+budget_obligation_schedule",
                       "+budget_bill_coverage", "+dim_fiscal_year", "+dim_agency",
                       "--indirect-selection", "cautious", "--exclude", "resource_type:unit_test"])
    assert outcome.success, outcome.failures
    return wh


def test_only_the_damaged_rows_are_rejected_each_with_its_reason(real_bill):
    outcomes = real_bill.outcomes
    damaged_book = outcomes["budget_bill/2565/2022-3-1.csv"]
    assert (damaged_book.status, damaged_book.rows_rejected) == ("loaded", EMPTY_AMOUNT + GARBLED_AMOUNT)
    assert damaged_book.rows_loaded == damaged_book.rows_in - damaged_book.rows_rejected
    other = outcomes["budget_bill/2565/2022-3-12.csv"]
    assert (other.status, other.rows_rejected, other.rows_loaded) == ("loaded", 0, other.rows_in)
    assert outcomes["budget_bill/2565/2022-3-7.csv"].status == "rejected"
    items = _row_items(real_bill)
    with real_bill.connect() as conn:
        reasons = [(items[row], column, reason) for row, column, reason in conn.execute(
            """SELECT r.source_row, r.column_name, r.reason FROM ops.rejected_rows AS r
               JOIN ops.file_ledger AS l USING (file_id) WHERE l.path = 'budget_bill/2565/2022-3-1.csv'""")]
        in_raw = {r[0] for r in conn.execute("SELECT item_id FROM raw.budget_bill").fetchall()}
    assert {r[0] for r in reasons} == set(real_bill.damaged)
    for item_id, column, reason in reasons:
        assert column == "amount" and reason, (item_id, reason)
        kind = real_bill.damaged[item_id]
        assert ("missing_value" in reason) if kind == "empty amount" else ("unparseable_value" in reason), reason
    assert not in_raw & set(real_bill.damaged)
    assert len(in_raw) == real_bill.rows_in - len(real_bill.damaged)


def _row_items(wh) -> dict[int, str]:
    """Source row (the CSV line, header = 1) -> ITEM_ID of the damaged book as written to the landing zone."""
    with open(wh.landing / "budget_bill" / "2565" / "2022-3-1.csv", encoding="utf-8", newline="") as fh:
        return {i: r["ITEM_ID"] for i, r in enumerate(csv.DictReader(fh), start=2)}


def test_plan_total_equals_an_independent_sum_of_the_valid_rows(real_bill):
    with real_bill.connect() as conn:
        (amount,) = conn.execute(
            """SELECT amount_baht FROM marts.budget_by_year WHERE fiscal_year_be = 2565
               AND budget_plan_code = 'dg_integration' AND source = 'budget_bill'""").fetchone()
    assert real_bill.expected_dg > 0
    assert amount == real_bill.expected_dg


def test_far_instalments_are_flagged_kept_and_never_in_a_years_total(real_bill):
    with real_bill.connect() as conn:
        far = conn.execute(
            """SELECT instalment_fy_be, is_instalment_year_plausible, is_year_appropriation, fiscal_year_be
               FROM marts.fct_budget_lines WHERE source = 'budget_bill'
               AND (instalment_fy_be < 2550 OR instalment_fy_be > 2578)""").fetchall()
        schedule = conn.execute(
            """SELECT instalment_fy_be, is_instalment_year_plausible, line_items FROM marts.budget_obligation_schedule
               WHERE bill_fy_be = 2565 AND NOT is_bill_year ORDER BY instalment_fy_be""").fetchall()
        years = {r[0] for r in conn.execute(
            "SELECT DISTINCT fiscal_year_be FROM marts.budget_by_year WHERE source = 'budget_bill'").fetchall()}
    assert len(far) == FAR_PAST + FAR_FUTURE
    assert {r[0] for r in far} == {2510, 2511, 2512, 2579, 2580, 2581}
    assert all(r[3] == 2565 and not r[2] for r in far)  # the bill's lines, scheduled for other years
    assert [r[1] for r in far if r[0] < 2550] == [False] * FAR_PAST
    assert {r[0] for r in schedule} >= {2510, 2511, 2512, 2579, 2580, 2581, 2564, 2566}
    assert years == {2565}  # a FY 2565 bill never adds to 2560's or 2567's total


def test_bill_coverage_shows_the_books_loaded_rejected_and_partial(real_bill):
    with real_bill.connect() as conn:
        books = {r[0]: r[1:] for r in conn.execute(
            """SELECT ref_doc, bill_fy_be, is_loaded, lines_loaded, lines_rejected, amount_baht
               FROM marts.budget_bill_coverage""").fetchall()}
    assert set(books) == {"2022.3.1", "2022.3.12", "2022.3.7"}
    assert books["2022.3.7"][:4] == (2565, False, 0, 0)
    fy, loaded, lines, rejected, _ = books["2022.3.1"]
    assert (fy, loaded, rejected) == (2565, True, EMPTY_AMOUNT + GARBLED_AMOUNT)
    assert lines + rejected == real_bill.outcomes["budget_bill/2565/2022-3-1.csv"].rows_in


def test_the_bill_feedback_addresses_the_data_team(real_bill):
    with real_bill.connect() as conn:
        (report,) = conn.execute("SELECT quarantine_path FROM ops.file_ledger WHERE path = %s",
                                 ("budget_bill/2565/2022-3-1.csv",)).fetchone()
    feedback = Path(f"{report}.feedback.txt").read_text(encoding="utf-8")
    assert "For the data team" in feedback and "ถึงทีมข้อมูล" in feedback
    assert "Please fix the file and send" not in feedback and "published PDF" in feedback
    assert "was loaded except 6 of its" in feedback

from datetime import date
from decimal import Decimal

import pytest

from ground import thai


@pytest.mark.parametrize("raw, expected", [
    ("2565", 2565), ("๒๕๖๕", 2565), ("พ.ศ. 2565", 2565), ("2022", 2565), ("FY2022", 2565), ("ค.ศ. 2022", 2565),
    (2565.0, 2565), ("", None), (None, None),
])
def test_year_be(raw, expected):
    assert thai.parse_year_be(raw) == expected


@pytest.mark.parametrize("raw", ["25x5", "abc", "1066"])
def test_year_rejects_nonsense(raw):
    with pytest.raises(ValueError):
        thai.parse_year_be(raw)


@pytest.mark.parametrize("raw, expected", [
    ("8,659,600", Decimal("8659600")), ("๑,๒๐๐ บาท", Decimal("1200")), ("2,409.3962 ล้านบาท", Decimal("2409396200")),
    ("(1,000)", Decimal("-1000")), ("2,476,000.0", Decimal("2476000")), ("-", None),
])
def test_amounts(raw, expected):
    assert thai.parse_amount(raw) == expected


def test_amount_header_unit_multiplies():
    assert thai.parse_amount("1.5", Decimal(1_000_000)) == Decimal("1500000")


def test_amount_garbage_raises():
    with pytest.raises(ValueError, match="not an amount"):
        thai.parse_amount("12,3a4")


@pytest.mark.parametrize("raw", ["5 ม.ค. 2565", "๕ มกราคม ๒๕๖๕", "05/01/2565", "5/1/2022", "2022-01-05", "2565-01-05"])
def test_dates(raw):
    assert thai.parse_date(raw) == date(2022, 1, 5)


def test_normalize_text_removes_zero_width_and_composes():
    assert thai.normalize_text("สำนักงาน\u200bสถิติ  แห่งชาติ ") == "สำนักงานสถิติ แห่งชาติ"
    assert thai.normalize_text("เเมว") == "แมว"  # two sara e typed for sara ae


def test_name_key_survives_extraction_damage():
    assert thai.name_key("สำนักนายกรฐัมนตรี") == thai.name_key("สำนักนายกรัฐมนตรี")
    assert thai.name_key("สำนักงานพัฒนารัฐบาลดิจิทัล") == thai.name_key("สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)")
    assert thai.name_key("กรมสรรพากร") != thai.name_key("กรมสรรพสามิต")


@pytest.mark.parametrize("raw, expected", [
    ("1,000.-", Decimal("1000")), ("๑,๐๐๐.- บาท", Decimal("1000")), ("25,000 บ.", Decimal("25000")),
    ("8659600.0", Decimal("8659600")),  # another extraction of the books stores plain floats
])
def test_amount_spellings(raw, expected):
    assert thai.parse_amount(raw) == expected


@pytest.mark.parametrize("raw", ["1,000.-.-", "บาท", "1.000.-5"])
def test_amount_spellings_still_reject_garbage(raw):
    with pytest.raises(ValueError):
        thai.parse_amount(raw)


@pytest.mark.parametrize("raw, expected", [
    ("ปีงบประมาณ พ.ศ. 2565", 2565), ("ปีงบฯ 65", 2565), ("65", 2565), ("FY22", 2565), ("ค.ศ. 22", 2565),
    ("พ.ศ.๒๕๖๕", 2565), ("ปี 2565", 2565),
])
def test_year_spellings(raw, expected):
    assert thai.parse_year_be(raw) == expected


@pytest.mark.parametrize("raw", ["วันพุธที่ 5 ม.ค. 65", "5 มค 2565", "5 ม. ค. 2565", "ณ วันที่ 5 มกราคม พ.ศ. 2565",
                                 "5 มกราคม2565", "๕ ม.ค. ๖๕"])
def test_date_spellings(raw):
    assert thai.parse_date(raw) == date(2022, 1, 5)


def test_month_abbreviations_differing_by_a_vowel_stay_apart():
    assert thai.parse_date("1 มี.ค. 2565") == date(2022, 3, 1)
    assert thai.parse_date("1 ม.ค. 2565") == date(2022, 1, 1)
    assert thai.parse_date("12 กรกฏาคม 2565") == date(2022, 7, 12)  # ฏ for ฎ, a common misspelling


@pytest.mark.parametrize("raw", ["5 มค. 2565 12", "32 ม.ค. 2565", "5 มกรา 2565"])
def test_bad_dates_raise(raw):
    with pytest.raises(ValueError):
        thai.parse_date(raw)


def test_decomposed_sara_am_is_composed():
    # PDF text layers often store ำ as nikhahit + sara aa; a key must not depend on it.
    assert thai.normalize_text("ส\u0e4d\u0e32นักงบประมาณ") == "สำนักงบประมาณ"
    assert thai.name_key("ส\u0e4d\u0e32นักงบประมาณ") == thai.name_key("สำนักงบประมาณ")


@pytest.mark.parametrize("damaged, clean", [
    ("สำนักงานทรัพยากรนำแห่งชาติ", "สำนักงานทรัพยากรน้ำแห่งชาติ"),  # a tone mark lost (BUDGETARY_UNIT, book 2022.3.1)
    ("รัฐบาลดิจทัล", "รัฐบาลดิจิทัล"),  # a vowel lost (ITEM_DESCRIPTION 2022.3.1.715)
    ("สำนักนายกรฐัมนตรี", "สำนักนายกรัฐมนตรี"),  # marks stored in another order (other extraction, data README)
    ("แผนงานบูรณาการ บริหารจัดการทรัพยากรน้ำ", "แผนงานบูรณาการบริหารจัดการทรัพยากรน้ำ"),  # a line break/space inside
])
def test_name_key_absorbs_real_mark_damage(damaged, clean):
    assert thai.name_key(damaged) == thai.name_key(clean)

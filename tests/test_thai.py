from datetime import date
from decimal import Decimal

import pytest

from ingest import thai


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

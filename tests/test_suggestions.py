"""An unmatched agency name gets the nearest registered agency as a person reads it (its Thai name and id)."""

from __future__ import annotations

import csv

import pytest

from ground.registry import suggest
from ground.settings import get_settings
from nightly.summary import format_summary


def _official() -> dict[str, str]:
    with open(get_settings().seeds_dir / "agencies.csv", encoding="utf-8", newline="") as fh:
        return {row["agency_id"]: row["agency_name_th"] for row in csv.DictReader(fh)}


@pytest.mark.parametrize("damaged", ["กรมสรรพกร", "สำนักงานปลัดสำนักนายกรัฐมนตร", "กรมบญชีกลาง"])
def test_an_ocr_damaged_name_is_suggested_as_its_registered_agency(damaged: str) -> None:
    (shown,) = suggest(damaged)
    name, _, agency_id = shown.rstrip(")").rpartition(" (")
    assert _official()[agency_id] == name
    summary = {"run_id": "r", "warehouse": "w", "files": {}, "rejected": [], "marts": {},
               "unmatched_agencies": [{"source": "budget_bill", "name": damaged, "rows": 3,
                                       "suggestion": suggest(damaged)}]}
    line = format_summary(summary).splitlines()[-1]
    assert line == f"  - [budget_bill] {damaged} (3 rows)  -> did you mean {name} ({agency_id})? (if so, add the " \
                   "name as its alias)"


def test_a_name_like_no_registered_agency_gets_no_suggestion() -> None:
    assert suggest("บริษัท ตัวอย่าง จำกัด") == []

"""Text for people: a cut never leaves a value open mid-quote; a location is printed without credentials."""

from __future__ import annotations

import pytest

from ground.text import clip, without_credentials
from nightly.quarantine import feedback_text, formula_safe, neutralise


@pytest.mark.parametrize("text, limit, expected", [
    ("found '-287 (ขาดทุนสะสม)' in row 4", 16, "found '-287 (ข…'"),
    ('column "งบประมาณที่ได้รับจัดสรร" (allocated_baht)', 20, 'column "งบประมาณที…"'),
    ("the lead agency's file was kept", 20, "the lead agency's f…"),  # an apostrophe in a word opens nothing
    ("found '-287' and more text after it", 20, "found '-287' and mo…"),  # closed before the cut: plain ellipsis
    ("short", 20, "short"),
])
def test_a_cut_closes_the_quote_it_falls_in(text, limit, expected):
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


def test_a_value_like_a_formula_is_quoted_whole_and_a_long_one_cut_inside_its_quotes():
    assert formula_safe("-287") == "'-287'" and formula_safe("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0'"
    assert formula_safe("รอพิจารณา") == "รอพิจารณา"
    long = neutralise("-" + "9" * 500)
    assert long.startswith("'-999") and long.endswith("9…'") and len(long) <= 200


def test_the_feedback_message_cut_to_its_limit_keeps_its_quotes_balanced():
    from ground.sources import SOURCES
    from ingest.discover import LandingFile

    lf = LandingFile("readiness", "/x/readiness/2566/a.csv", "readiness/2566/a.csv", 1, None, "0" * 64)
    message = "bad value: found '" + "ก" * 400 + "' in row 3"
    note = feedback_text(lf, SOURCES["readiness"], "csv_syntax", message, message, [])
    cut = next(line for line in note.splitlines() if "bad value: found '" in line)
    assert "ก…'" in cut and "' in row 3" not in cut


@pytest.mark.parametrize("location, shown", [
    ("/srv/landing", "/srv/landing"),
    ("s3://AKIAEXAMPLE:wJalrSECRET@dgwh-landing/landing", "s3://dgwh-landing/landing"),
    ("https://user:pw@files.example.go.th:8443/landing?sig=abc&v=1&X-Amz-Credential=k",
     "https://files.example.go.th:8443/landing?sig=***&v=1&X-Amz-Credential=***"),
    ("abfs://landing@account.dfs.core.windows.net/zone?sas_token=xyz", "abfs://account.dfs.core.windows.net/zone?sas_token=***"),
])
def test_a_landing_zone_is_printed_without_its_credentials(location, shown):
    assert without_credentials(location) == shown

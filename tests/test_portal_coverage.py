"""The submission page's follow-up on the sample warehouse: what an agency still owes in a fiscal year is the
coverage mart's (marts.submission_coverage), its own rows only. Its own module: it joins the sample group."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient


def test_an_agency_sees_what_it_still_owes_from_the_coverage_mart(sample):
    from portal.accounts import AGENCY, add_user
    from portal.app import create_app

    with sample.connect() as conn:
        fiscal_year, agency, owed = conn.execute(
            """SELECT fiscal_year_be, agency_id, count(*) FILTER (WHERE NOT is_complete)
               FROM marts.submission_coverage GROUP BY 1, 2
               HAVING count(*) FILTER (WHERE NOT is_complete) > 0 AND count(*) FILTER (WHERE is_complete) > 0
               ORDER BY 1 DESC, 2 LIMIT 1""").fetchone()
        complete = conn.execute("SELECT count(*) FROM marts.submission_coverage WHERE fiscal_year_be = %s "
                                "AND agency_id = %s AND is_complete", (fiscal_year, agency)).fetchone()[0]
        _user, password = add_user(conn, "coverage-officer", AGENCY, agency)
    client = TestClient(create_app())
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "coverage-officer", "password": password, "csrf": token})
    page = html.unescape(client.get(f"/?fy={fiscal_year}").text)
    table = page.split('id="owed"')[1].split("</table>")[0]
    assert table.count("ยังไม่ครบ") == owed and table.count("ครบ <span") == complete
    assert f"ปีงบประมาณ {fiscal_year}" in page

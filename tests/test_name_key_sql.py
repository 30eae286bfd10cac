"""The SQL macro and the Python function must give the same key, or agencies stop matching."""

import re

from ground.thai import name_key
from tests.conftest import REPO

NAMES = ["สำนักนายกรฐัมนตรี", "สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)", "สพร.", "สำนักงาน\u200bสถิติแห่งชาติ",
         "แผนงานบูรณาการรัฐบาลดิจิทัลaedde", "EGA", "กรมอุทยานแห่งชาติ สัตว์ป่า และพันธุ์พืช", "Digital-Gov/2565",
         "ส\u0e4d\u0e32นักงบประมาณ", "เเผนงาน", "กรมการปกครองๅ", "โโรงเรียน"]


def test_sql_macro_matches_python(make_warehouse):
    macro = (REPO / "dbt_project" / "macros" / "name_key.sql").read_text()
    body = re.search(r"-%}\s*(.*?)\s*{%-", macro, re.S).group(1).replace("{{ expr }}", "%(v)s")
    wh = make_warehouse("namekey")
    with wh.connect() as conn:
        for name in NAMES:
            sql_key = conn.execute(f"SELECT {body}", {"v": name}).fetchone()[0]  # noqa: S608 - macro text, value bound
            assert sql_key == name_key(name), name

"""Hostile input: file names and headers carrying SQL, quotes and ``../``; names at the 255-byte limit in
Thai; a 1M-row file and 50 MB files (peak memory measured); workbook cells with formulas.

Values travel only as bound parameters and COPY rows (ingest/load.py) and identifiers are quoted
(psycopg.sql), so hostile text round-trips exactly; reports quote formula-like values
(nightly/quarantine.py, reporting/queries.py). Formula neutralisation of the corpus' CSV: tests/test_validation.py.
"""

from __future__ import annotations

import filecmp
import itertools
import json
import os
import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from ground.schema import raw_columns
from ground.sources import SOURCES
from nightly.pipeline import new_files, process_file
from nightly.quarantine import MAX_NAME_BYTES, REPORT_SUFFIXES, safe_name
from nightly.transform import run_dbt
from tests.conftest import REPO
from tests.test_reliability import DG_PLAN, PLAN_HEADER, assert_ledger_consistent

HEADER = ["survey_year_be", "agency_name", "agency_level", "responded"]
HOSTILE_VALUES = [
    "x'; DROP TABLE raw.readiness;--",
    'Robert"); DROP TABLE ops.file_ledger;--',
    r"%s %(name)s {0} $1 \N \. \\ E'\\x27'",
    "$$ $tag$ ;; COPY raw.readiness TO PROGRAM 'id'",
    "กรม'สรรพากร\"",
    "<script>alert(1)</script>",
    "../../etc/passwd",
]
THAI_WORDS = "รายงานผลการสำรวจความพร้อมรัฐบาลดิจิทัลของหน่วยงานภาครัฐ"


def _thai_name(max_bytes: int, text: str) -> str:
    """A file name of at most ``max_bytes`` UTF-8 bytes (the usual filesystem limit is 255), ending .csv."""
    budget = max_bytes - len(".csv")
    name = ""
    for ch in itertools.cycle(text):
        if len((name + ch).encode()) > budget:
            return name + ".csv"
        name += ch
    raise AssertionError("unreachable")


LONG_PLAIN = _thai_name(255, "ก")  # no vowel or tone marks: the most characters per byte budget
LONG_MARKED = _thai_name(255, THAI_WORDS)
NAMES = {  # relative path -> loads (False: a bad value, so it goes to quarantine under its hostile name)
    "readiness/x'; DROP TABLE raw.readiness;--.csv": True,
    'readiness/q"uote; rm -rf $HOME `id` %s %(x)s {}.csv': True,
    "readiness/..x/a..b....%2e%2e%2f..%2fetc%2fpasswd.csv": True,
    "readiness/tab\tand\nnewline.csv": False,
    f"readiness/{LONG_PLAIN}": False,
    f"readiness/{LONG_MARKED}": True,
}
HOSTILE_HEADERS = ["x'; DROP TABLE raw.readiness;--", '=HYPERLINK("http://x","y")', 'a"b', "../../etc"]
RUN_ID = "scheduled__2026-11-23T19:00:00+00:00"
BAD_ANSWER = "yes'); DELETE FROM ops.file_ledger;--"  # not a yes/no: the file is refused, the value reported
NUL_AT = 5000  # past the first 64 KiB, where the encoding sniffing already refuses binary files
FORMULA_TEXT = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1",
                "-2+3"]


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _survey_rows(year: int, responded: str = "ตอบแล้ว") -> list[list[object]]:
    """The hostile values as agency names; the year keeps every file's bytes distinct (same bytes load once)."""
    return [[year, value, "department", responded] for value in HOSTILE_VALUES]


def _workbook(path: Path, rows: list[list[object]], cached: dict[str, str]) -> Path:
    """An integration-plan workbook. Strings starting with = are text cells (as when typed after a quote),
    except the cells in ``cached``: real formulas, stored with the value Excel would have cached."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(PLAN_HEADER)
    for row in rows:
        ws.append(row)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("=") and cell.coordinate not in cached:
                cell.data_type = "s"
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for coordinate, value in cached.items():  # openpyxl writes no cached value; Excel would
        sheet, n = re.subn(rf'<c r="{coordinate}"><f>(.*?)</f><v\s*/>',
                           rf'<c r="{coordinate}" t="str"><f>\1</f><v>{value}</v>', sheet)
        assert n == 1, coordinate
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def hostile(make_warehouse):
    """Every hostile small file in one landing zone, one pass as the nightly does it, then dbt."""
    wh = make_warehouse("hostile")
    wh.use()
    for year, (rel, loads) in enumerate(NAMES.items(), 2560):
        _csv(wh.landing / rel, HEADER, _survey_rows(year, "ตอบแล้ว" if loads else BAD_ANSWER))
    _csv(wh.landing / "readiness/headers/extra_columns.csv", HEADER + HOSTILE_HEADERS,
         [r + ["1", "2", "3", "4"] for r in _survey_rows(2570)])
    _csv(wh.landing / "readiness/headers/no_responded.csv", HEADER[:3] + HOSTILE_HEADERS,
         [r[:3] + ["1", "2", "3", "4"] for r in _survey_rows(2571)])
    nul = _csv(wh.landing / "readiness/nul/late_nul.csv", HEADER,
               [[2572, f"หน่วยงาน {i}", "department", "ตอบแล้ว"] for i in range(NUL_AT)])
    with open(nul, "a", encoding="utf-8") as fh:
        fh.write("2572,กรม\x00ทดสอบ,department,ตอบแล้ว\n")
    base = wh.landing / "integration_plan" / "xlsx"
    base.mkdir(parents=True)
    plan = [2565, DG_PLAN]
    _workbook(base / "formulas.xlsx", [
        [*plan, FORMULA_TEXT[0], "DG65-X1", FORMULA_TEXT[1], "แพลตฟอร์มกลาง", "เกษตร", 100, 90],
        [*plan, HOSTILE_VALUES[5].replace("<script>", "</script><script>"), "DG65-X2", "=1+1", "แพลตฟอร์มกลาง",
         "=NOW()", 10, 10],
        [*plan, FORMULA_TEXT[2], "DG65-X3", FORMULA_TEXT[3], "แพลตฟอร์มกลาง", "เกษตร", 20, 20],
        [*plan, HOSTILE_VALUES[5].replace("<script>", "</script><script>"), "DG65-X4", "โครงการ ง", "แพลตฟอร์มกลาง",
         "เกษตร", 5, 5],
    ], cached={"E3": "5"})
    _workbook(base / "nul_escape.xlsx", [[*plan, "กรม_x0000_ทดสอบ", "DG65-Z1", "โครงการ ค", "แพลตฟอร์มกลาง",
                                          "เกษตร", 1, 1]], cached={})
    _workbook(base / "formulas_rejected.xlsx", [
        [*plan, FORMULA_TEXT[0], "DG65-Y1", "โครงการ ก", FORMULA_TEXT[1], "เกษตร", 100, 90],
        [*plan, FORMULA_TEXT[4], "DG65-Y2", "โครงการ ข", "แพลตฟอร์มกลาง", "เกษตร", 100, -90],
    ], cached={})
    wh.found = new_files()
    # The nightly's gate (GX results stored on disk, in folders named after run and file) and an Airflow run id.
    wh.outcomes = {o.path: o for o in (process_file(f, run_id=RUN_ID) for f in wh.found)}
    with wh.connect() as conn:
        wh.ledger = {r[0]: r[1:] for r in conn.execute(
            "SELECT path, status, file_id, rows_in, rows_loaded, rows_rejected, quarantine_path, reject_code "
            "FROM ops.file_ledger").fetchall()}
    for args in (["seed"], ["run"]):
        outcome = run_dbt(args)
        assert outcome.success, outcome.failures
    return wh


def test_hostile_file_names_round_trip_and_their_values_load_intact(hostile):
    assert {f.relative_path for f in hostile.found} >= set(NAMES)
    with hostile.connect() as conn:
        for rel, loads in NAMES.items():
            status, file_id, rows_in, loaded, rejected, quarantine, _code = hostile.ledger[rel]
            assert (status, rows_in, loaded, rejected) == (("loaded", 7, 7, 0) if loads else ("rejected", 7, 0, 7)), rel
            values = [r[0] for r in conn.execute(
                "SELECT agency_name FROM raw.readiness WHERE file_id = %s ORDER BY source_row", (file_id,))]
            assert values == (HOSTILE_VALUES if loads else []), rel
        counts = assert_ledger_consistent(conn)
        tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema IN ('raw', 'ops')")}
    assert counts["files"] == len(hostile.found) == len(hostile.ledger)
    assert {"readiness", "file_ledger", "rejected_rows", "validation_runs"} <= tables


@pytest.mark.parametrize("rel", [r for r, loads in NAMES.items() if not loads])
def test_hostile_names_are_quarantined_under_flat_names_that_fit(hostile, rel):
    quarantine = Path(hostile.ledger[rel][5])
    day_dir = quarantine.parent
    assert day_dir.parent == hostile.state / "quarantine" and "/" not in quarantine.name
    assert filecmp.cmp(quarantine, hostile.landing / rel, shallow=False)
    for suffix in REPORT_SUFFIXES:
        beside = Path(f"{quarantine}{suffix}")
        assert beside.is_file() and len(beside.name.encode()) <= 255
    feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
    assert "responded" in feedback and BAD_ANSWER in feedback
    with hostile.connect() as conn:  # the hostile value, as a bound parameter into jsonb and back
        details = conn.execute("SELECT details FROM ops.validation_runs WHERE file_id = %s",
                               (hostile.ledger[rel][1],)).fetchone()[0]
    assert [f["values"][:1] for f in details if f["column"] == "responded"] == [[BAD_ANSWER]] * 2


@pytest.mark.parametrize("rel, where", [("readiness/nul/late_nul.csv", f"line {NUL_AT + 2}"),
                                        ("integration_plan/xlsx/nul_escape.xlsx", "row 2")])
def test_a_nul_character_refuses_the_file_instead_of_failing_the_load(hostile, rel, where):
    """PostgreSQL text cannot hold NUL: before, such a file failed its COPY on every retry, every night."""
    status, _id, rows_in, loaded, rejected, quarantine, code = hostile.ledger[rel]
    assert (status, code, loaded, rejected) == ("rejected", "nul_byte", 0, rows_in)
    assert hostile.outcomes[rel].reason.startswith("nul_byte: a NUL character (binary data) in ")
    assert where in hostile.outcomes[rel].reason
    assert Path(quarantine).is_file()


@pytest.mark.parametrize("rel", ["../../etc/passwd", "/etc/passwd", "readiness/../../../root/.ssh/x.csv",
                                 "readiness/a\x00b\x1b[31m.csv", "readiness/" + "../" * 40 + "x.csv",
                                 f"readiness/{LONG_PLAIN}", f"readiness/sub/{LONG_MARKED}"])
def test_quarantine_names_cannot_leave_the_quarantine_folder(rel, tmp_path):
    name = safe_name(rel)
    assert name and "/" not in name and "\x00" not in name and not name.startswith(".")
    assert len(name.encode()) <= MAX_NAME_BYTES
    target = tmp_path / f"0123456789ab_{name}"
    for suffix in REPORT_SUFFIXES:
        Path(f"{target}{suffix}").write_text("x", encoding="utf-8")  # fits the 255-byte limit
    assert {p.parent for p in tmp_path.iterdir()} == {tmp_path}


def test_hostile_headers_never_become_columns_and_reports_quote_them(hostile):
    status, _id, rows_in, loaded, _rej, _q, _code = hostile.ledger["readiness/headers/extra_columns.csv"]
    assert (status, rows_in, loaded) == ("loaded", 7, 7)
    with hostile.connect() as conn:
        columns = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND table_name = 'readiness' ORDER BY ordinal_position")]
    assert columns == [c for c, _ in raw_columns(SOURCES["readiness"])] + ["loaded_at"]
    status, _id, rows_in, _l, rejected, quarantine, code = hostile.ledger["readiness/headers/no_responded.csv"]
    assert (status, rows_in, rejected, code) == ("rejected", 7, 7, "validation.unmapped_headers")
    feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
    assert "x'; DROP TABLE raw.readiness;--" in feedback and "'=HYPERLINK(\"http://x\",\"y\")" in feedback
    _assert_formulas_quoted(Path(quarantine))


def _assert_formulas_quoted(quarantine: Path) -> None:
    """No cell, line or JSON string of the three reports starts like a formula."""
    for suffix in (".feedback.txt", ".report.md"):
        text = Path(f"{quarantine}{suffix}").read_text(encoding="utf-8")
        cells = [c.strip() for line in text.splitlines() for part in line.split("|") for c in part.split(": ")]
        assert not [c for c in cells if c[:1] in ("=", "+", "@")], suffix
        assert not re.search(r"(?<!')(=cmd|=HYPERLINK|@SUM)", text), suffix
    strings: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            list(map(walk, node.values()))
        elif isinstance(node, list):
            list(map(walk, node))

    walk(json.loads(Path(f"{quarantine}.report.json").read_text(encoding="utf-8")))
    assert strings and not [s for s in strings if s.lstrip()[:1] in ("=", "+", "-", "@")]


def test_workbook_formulas_are_never_evaluated(hostile):
    status, file_id, rows_in, loaded, *_ = hostile.ledger["integration_plan/xlsx/formulas.xlsx"]
    assert (status, rows_in, loaded) == ("loaded", 4, 3)
    with hostile.connect() as conn:
        rows = conn.execute("SELECT agency_name, project_name_th, focus_area FROM raw.integration_plan "
                            "WHERE file_id = %s ORDER BY source_row", (file_id,)).fetchall()
        rejected = conn.execute("SELECT source_row, column_name, value FROM ops.rejected_rows WHERE file_id = %s",
                                (file_id,)).fetchall()
    assert rows == [
        (FORMULA_TEXT[0], FORMULA_TEXT[1], "agriculture"),  # text that looks like a formula stays text
        (FORMULA_TEXT[2], FORMULA_TEXT[3], "agriculture"),
        ("</script><script>alert(1)</script>", "โครงการ ง", "agriculture"),
    ]
    # "=NOW()" typed as text is no focus area: that row alone is rejected, the text kept as written
    # (=1+1 beside it was read as its cached 5, never computed).
    assert rejected == [(3, "focus_area", "=NOW()")]


def test_workbook_formula_values_are_quoted_in_every_report(hostile):
    ledger = hostile.ledger["integration_plan/xlsx/formulas_rejected.xlsx"]
    status, _id, rows_in, _l, rejected, quarantine, code = ledger
    assert (status, rows_in, rejected) == ("rejected", 2, 2) and code.startswith("validation.")
    feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
    report = Path(f"{quarantine}.report.md").read_text(encoding="utf-8")
    assert "found: '=HYPERLINK(\"http://x\",\"y\")" in feedback and "'=cmd\\|' /C calc'!A0" in report
    data = json.loads(Path(f"{quarantine}.report.json").read_text(encoding="utf-8"))
    assert "'=cmd|' /C calc'!A0" in [v for f in data["failures"] for v in f["values"]]
    _assert_formulas_quoted(Path(quarantine))


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.opened = self.closed = 0
        self.charts = -1

    def handle_starttag(self, tag, attrs):
        self.opened += tag == "script"
        if tag == "meta" and dict(attrs).get("name") == "dgwh-chart-count":
            self.charts = int(dict(attrs)["content"])

    def handle_endtag(self, tag):
        self.closed += tag == "script"


def test_html_report_shows_file_values_inert_and_quoted(hostile, tmp_path):
    """Unregistered agency names reach the report's budget chart as written: quoted, and unable to end a script."""
    from reporting.nightly import build_report

    with hostile.connect("bi_reader") as conn:
        names = {r[0] for r in conn.execute("SELECT agency_name_th FROM marts.budget_by_agency_year")}
        page = build_report(conn, tmp_path, "hostile'<run>").read_text(encoding="utf-8")
    assert {FORMULA_TEXT[0], "</script><script>alert(1)</script>"} <= names
    scripts = _Scripts()
    scripts.feed(page)
    assert scripts.charts > 0 and scripts.opened == scripts.closed == scripts.charts + 2
    assert "alert(1)" in page and "<script>alert(1)" not in page and "</script><script>alert" not in page
    assert json.dumps("'" + FORMULA_TEXT[0], ensure_ascii=False) in page
    assert not re.search(r"(?<!')(=cmd|@SUM)", page)
    assert "hostile&#x27;&lt;run&gt;" in page


MEASURE = r"""
import resource, subprocess, sys
child = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(child.stdout)
sys.stderr.write(child.stderr[-4000:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(child.returncode)
"""
LOADER = r"""
import json, resource, sys
from expectations.gate import get_gate
from nightly.pipeline import new_files, process_file
gate = get_gate()
files = [f for f in new_files() if f.relative_path.startswith(sys.argv[1])]
print("BASE_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
print("OUTCOMES", json.dumps([process_file(f, gate, run_id="hostile-big").as_dict() for f in files]))
"""
MILLION = 1_000_000
FIFTY_MB = 50_000_000


@pytest.mark.slow  # the fast lane (make test-fast) leaves it to make test
def test_million_row_and_50_mb_files_are_refused_with_bounded_memory(hostile):
    """A loader subprocess takes a 1M-row file and two 50 MB files (one line; one quoted field over a million
    lines). Its peak RSS, from getrusage(RUSAGE_CHILDREN) in a parent of its own, grows by less than half of the
    smallest file: holding any of them would take more. Rows are counted, never held."""
    hostile.use()
    big = hostile.landing / "readiness" / "big"
    big.mkdir()
    with open(big / "million_rows.csv", "w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + "\n")
        fh.writelines(f"2563,a{i:07d},department,yes\n" for i in range(MILLION))
    with open(big / "one_line_50mb.csv", "w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + "\n2563,")
        for _ in range(FIFTY_MB // 1_000_000):
            fh.write("ก" * 333_334)  # 1 MB of UTF-8 a time, no line break
        fh.write(",department,yes\n")
    with open(big / "one_field_50mb.csv", "w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + '\n2563,"')
        for _ in range(FIFTY_MB // 1_000_000):
            fh.write(("y" * 49 + "\n") * 20_000)  # short lines, one field
        fh.write('",department,yes\n')
    sizes = {p.name: p.stat().st_size for p in big.iterdir()}
    assert sizes["one_line_50mb.csv"] >= FIFTY_MB and sizes["one_field_50mb.csv"] >= FIFTY_MB
    env = {**os.environ, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false"}
    run = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-c", LOADER, "readiness/big/"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line.split(" ", 1)[0].isupper())
    outcomes = {Path(o["path"]).name: o for o in json.loads(lines["OUTCOMES"])}
    growth_mb = (int(lines["PEAK_KB"]) - int(lines["BASE_KB"])) / 1024
    assert set(outcomes) == set(sizes)
    expected = {"million_rows.csv": ("too_many_rows", MILLION), "one_line_50mb.csv": ("line_too_long", 0),
                "one_field_50mb.csv": ("csv_syntax", 0)}
    for name, (code, rows) in expected.items():
        o = outcomes[name]
        assert (o["status"], o["reason"].split(":", 1)[0], o["rows_in"], o["rows_rejected"]) == (
            "rejected", code, rows, rows), o
    assert "1,000,000 data rows" in outcomes["million_rows.csv"]["reason"]
    assert "field larger than field limit" in outcomes["one_field_50mb.csv"]["reason"]
    assert growth_mb < min(sizes.values()) / 2 / 1e6, f"peak RSS grew by {growth_mb:.1f} MB"
    with hostile.connect() as conn:
        assert_ledger_consistent(conn)
        quarantined = conn.execute("SELECT path, quarantine_path FROM ops.file_ledger WHERE path LIKE %s",
                                   ("readiness/big/%",)).fetchall()
    assert len(quarantined) == 3
    for path, copy in quarantined:
        assert Path(copy).stat().st_size == sizes[Path(path).name]

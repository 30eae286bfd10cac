"""Validation end to end: the committed bad-file corpus and good files in one landing zone, one pass.

Every bad file must be quarantined with its own reason (ledger code and reason, the report and the
officer's feedback beside the copy) while the good files load; Data Docs are built from the
stored GX results; the checks after dbt (nightly/reconcile.py, dbt_project/tests/reconcile/) pass on the
sample warehouse, catch a tampered mart and name what differs.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from expectations.docs import build_data_docs
from expectations.gate import Gate, get_gate
from ground.settings import Settings, get_settings
from nightly.feedback import FILE_FIXES, file_problem
from nightly.pipeline import process_files
from nightly.reconcile import ReconcileResult, reconcile
from nightly.service import discover
from nightly.summary import build_summary, format_summary, night_outcome
from tests.corpus import make_bad_files
from tests.corpus.hostile import hostile_files

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = list(csv.DictReader(open(CORPUS / "bad" / "expected.csv", encoding="utf-8", newline="")))
WHOLE = [row for row in EXPECTED if row["rows_rejected"] == "0"]  # rejected whole; the others load without some rows
GOOD_ROWS = dict(make_bad_files.GOOD)
RUN_ID = "test-validation"


def _landing_path(kind: str, rel: str) -> str:
    source, name = rel.split("/", 1)
    return f"{source}/{kind}/{name}"


@pytest.fixture(scope="module")
def corpus_run(make_warehouse):
    """The whole corpus plus good files in one landing zone, one pass as the nightly DAG does it (in load
    batches: each source's files validated in one GX run)."""
    wh = make_warehouse("validation")
    wh.use()
    for kind in ("bad", "good"):
        for source_dir in (CORPUS / kind).iterdir():
            if source_dir.is_dir():
                shutil.copytree(source_dir, wh.landing / source_dir.name / kind)
    wh.hostile = hostile_files(wh.landing)  # the other hostile files the project knows, in the same pass
    night_batches = discover(run_id=RUN_ID)  # as the DAG's discovery task: what it listed is kept for the summary
    wh.found = [f for batch in night_batches for f in batch]
    wh.outcomes = {o.path: o for batch in night_batches for o in process_files(batch, run_id=RUN_ID)}
    wh.docs = build_data_docs(run_id=RUN_ID)
    with wh.connect() as conn:
        wh.ledger = {r[0]: r[1:] for r in conn.execute(
            """SELECT path, status, reject_code, reject_reason, quarantine_path, rows_in, rows_loaded, rows_rejected,
                      file_id FROM ops.file_ledger""").fetchall()}
    return wh


def test_corpus_matches_its_generator(tmp_path):
    """The committed files are exactly what make_bad_files.py writes (reproducible, nothing hand-edited)."""
    written = make_bad_files.write(tmp_path)
    assert len(written) == len(EXPECTED) + len(GOOD_ROWS) + 1
    for path in written:
        committed = CORPUS / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), committed
    on_disk = {p.relative_to(CORPUS / "bad").as_posix() for p in (CORPUS / "bad").rglob("*") if p.is_file()}
    assert on_disk == {row["file"] for row in EXPECTED} | {"expected.csv"}


def test_one_pass_sees_every_file(corpus_run):
    assert len(corpus_run.found) == len(EXPECTED) + len(GOOD_ROWS) + len(corpus_run.hostile)
    assert set(corpus_run.ledger) == set(corpus_run.outcomes)


@pytest.mark.parametrize("case", EXPECTED, ids=[row["file"] for row in EXPECTED])
def test_bad_file_is_quarantined_with_its_reason(corpus_run, case):
    """A file that cannot stand as a whole is rejected whole; a value check rejects its rows alone and
    the rest of the file loads. Either way the copy, the report and the reasons per row are there."""
    path = _landing_path("bad", case["file"])
    status, code, reason, quarantine, rows_in, loaded, rejected, file_id = corpus_run.ledger[path]
    rows_rejected = int(case["rows_rejected"])
    assert (status, code) == ("rejected" if rows_rejected == 0 else "loaded", case["reject_code"]), reason
    assert case["reason_contains"] in reason
    assert corpus_run.outcomes[path].reason == f"{code}: {reason}"
    if rows_rejected:
        assert rejected == rows_rejected and loaded == rows_in - rows_rejected > 0
        with corpus_run.connect() as conn:
            in_raw = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {} WHERE file_id = %s").format(
                psycopg.sql.Identifier("raw", case["file"].split("/")[0])), (file_id,)).fetchone()[0]
        assert in_raw == loaded
    else:
        assert loaded == 0 and rejected == rows_in
    copy = Path(quarantine)
    assert copy.read_bytes() == (corpus_run.landing / path).read_bytes()
    report = Path(f"{quarantine}.report.md").read_text(encoding="utf-8")
    assert path in report and f"**{code}**" in report
    assert "Reason · สาเหตุ" in report and "What to fix · สิ่งที่ต้องแก้ไข" in report
    data = json.loads(Path(f"{quarantine}.report.json").read_text(encoding="utf-8"))
    assert (data["file"], data["code"]) == (path, code)
    if case["column"]:
        with corpus_run.connect() as conn:
            suite, success, critical, details = conn.execute(
                "SELECT suite, success, critical_failed, details FROM ops.validation_runs WHERE file_id = %s",
                (file_id,)).fetchone()
            flagged = conn.execute("SELECT count(*) FROM ops.rejected_rows WHERE file_id = %s AND column_name = %s",
                                   (file_id, case["column"])).fetchone()[0]
        assert suite == f"{case['file'].split('/')[0]}_suite" and not success and critical > 0
        failure = next(f for f in details if f["column"] == case["column"] and f["severity"] == "critical")
        assert case["column"] in report and failure["expectation"] in report
        for row in failure["rows"]:
            assert str(row) in report
        assert flagged == len(failure["rows"])  # row-level failures are listed in ops.rejected_rows
        if rows_rejected:
            assert "Rejected rows · แถวที่ไม่ได้นำเข้า" in report


def test_a_check_without_loading_gives_the_nights_verdict_and_words(corpus_run):
    """nightly.check (the agencies' submission page) on each bad file: the night's reject code, rows rejected and
    the very feedback note the night wrote beside the quarantined copy; it writes nothing."""
    from nightly.check import REJECTED, check_file

    ledger_rows = len(corpus_run.ledger)
    for case in EXPECTED:
        path = _landing_path("bad", case["file"])
        status, code, _reason, quarantine, rows_in, _loaded, rejected, _id = corpus_run.ledger[path]
        checked = check_file(corpus_run.landing / path, case["file"].split("/")[0], label=path)
        assert (checked.verdict.code, checked.verdict.rows_in, checked.verdict.rows_rejected) == (
            code, rows_in, rejected), path
        assert (checked.status == REJECTED) == (status == "rejected"), path
        assert checked.feedback == Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8"), path
    with corpus_run.connect() as conn:
        assert conn.execute("SELECT count(*) FROM ops.file_ledger").fetchone()[0] == ledger_rows


def test_every_hostile_file_ends_loaded_or_rejected_with_its_reason(corpus_run):
    """Every hostile workbook and CSV the project knows (tests/corpus/hostile.py; the committed corpus above)
    ends loaded or rejected with its reject code and a ledger row in the one pass: none fails its load batch."""
    for rel, code in corpus_run.hostile.items():
        status, got, reason, quarantine, rows_in, loaded, rejected, _id = corpus_run.ledger[rel]
        assert (status, got) == (("rejected", code) if code else ("loaded", None)), (rel, reason)
        assert rows_in == loaded + rejected and (not code or Path(f"{quarantine}.feedback.txt").is_file()), rel
    bomb = corpus_run.ledger["integration_plan/hostile/lying_zip_bomb.xlsx"][2]
    assert "larger than its declared uncompressed size" in bomb and "sheet 'data'" in bomb, bomb
    assert corpus_run.ledger["integration_plan/hostile/bom_bad_bytes_line_2.csv"][2].startswith("line 2: ")


@pytest.mark.parametrize("rel, rows", make_bad_files.GOOD)
def test_good_file_loads_in_the_same_run(corpus_run, rel, rows):
    path = _landing_path("good", rel)
    status, code, reason, quarantine, rows_in, loaded, rejected, file_id = corpus_run.ledger[path]
    assert (status, rows_in, loaded, rejected, code, quarantine) == ("loaded", rows, rows, 0, None, None), reason
    source = rel.split("/")[0]
    with corpus_run.connect() as conn:
        in_raw = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {} WHERE file_id = %s").format(
            psycopg.sql.Identifier("raw", source)), (file_id,)).fetchone()[0]
        success = conn.execute("SELECT success FROM ops.validation_runs WHERE file_id = %s", (file_id,)).fetchone()[0]
    assert in_raw == rows and success


def test_rows_in_equal_loaded_plus_rejected_for_every_ledger_row(corpus_run):
    assert corpus_run.ledger
    for path, (_status, _code, _reason, _q, rows_in, loaded, rejected, _id) in corpus_run.ledger.items():
        assert rows_in == loaded + rejected, path
    # rows sharing a key are all rejected, the row with its own key loads; a file rejected whole counts
    # every row it had as rejected (nothing vanishes)
    assert corpus_run.ledger[_landing_path("bad", "integration_plan/duplicate_keys.csv")][4:7] == (3, 1, 2)
    assert corpus_run.ledger[_landing_path("bad", "integration_plan/truncated_mid_row.csv")][4:7] == (4, 0, 4)


@pytest.mark.parametrize("name, lines", [
    ("integration_plan/negative_amount.csv",
     ["แถวที่ 3", "Row 3", '"งบประมาณที่ได้รับจัดสรร" (allocated_baht)', "0 baht or more", "found: '-2500000'"]),
    ("project_reports/unknown_status.csv",
     ["แถวที่ 2", "Row 2", '"สถานะ" (status)', "เริ่มดำเนินการแล้ว (started)", "found: รอพิจารณา"]),
    ("integration_plan/renamed_columns.csv",
     ['"รหัสโครงการ" (project_code) is missing', "Proj. No.", "หัวตารางในไฟล์ที่ไม่รู้จัก"]),
    ("integration_plan/truncated_mid_row.csv", ["Row 5", "ends with a line break", "ไฟล์ขาดกลางแถว"]),
    ("integration_plan/cover_sheet_only.xlsx", ["'คำอธิบาย'", "Required column headers", "รหัสโครงการ (project_code)"]),
    ("readiness/score_out_of_range.csv", ["Row 3", "from 0 to 100", "found: 150", "ตัวเลขระหว่าง 0 ถึง 100"]),
])
def test_feedback_tells_the_officer_what_to_fix(corpus_run, name, lines):
    status, quarantine = corpus_run.ledger[_landing_path("bad", name)][0:4:3]
    feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
    if status == "rejected":
        assert "สิ่งที่ต้องแก้ไข" in feedback and "What to fix" in feedback
    else:  # loaded without the rows to fix
        assert "แถวที่ต้องแก้ไข" in feedback and "Rows to fix" in feedback and "was loaded except" in feedback
    for text in lines:
        assert text in feedback, (text, feedback)
    report = Path(f"{quarantine}.report.md").read_text(encoding="utf-8")
    assert feedback.splitlines()[0] in report  # the same note heads the report


def test_feedback_neutralises_formula_like_values(corpus_run):
    quarantine = corpus_run.ledger[_landing_path("bad", "project_reports/formula_in_status.csv")][3]
    feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
    report = Path(f"{quarantine}.report.md").read_text(encoding="utf-8")
    assert "found: '=cmd" in feedback and "พบ: '=cmd" in feedback
    for text in (feedback, report):
        assert not any(cell.strip().startswith(("=", "+", "@")) for line in text.splitlines()
                       for cell in line.replace(":", "|").split("|")), text


def test_every_rejected_file_has_feedback_in_thai_and_english(corpus_run):
    rejected = [(p, row[3]) for p, row in corpus_run.ledger.items() if row[0] == "rejected"]
    assert len(rejected) == len(WHOLE) + sum(1 for code in corpus_run.hostile.values() if code)
    for path, quarantine in rejected:
        feedback = Path(f"{quarantine}.feedback.txt").read_text(encoding="utf-8")
        assert f'File "{path}" was not loaded' in feedback and f'ไฟล์ "{path}" ยังไม่ได้นำเข้าระบบ' in feedback
        items = [line.split(". ", 1)[1] for line in feedback.splitlines() if re.match(r"\d+\. ", line)]
        assert len(items) == len(set(items)), (path, feedback)  # each thing to fix said once
    unknown = Path(f"{corpus_run.ledger['project_reports/bad/unknown_status.csv'][3]}.feedback.txt")
    assert sum(line.startswith("1. ") or line.startswith("2. ") for line in unknown.read_text(encoding="utf-8")
               .splitlines()) == 2  # one item, in Thai and in English: the unreadable status, not also its empty cell


def test_data_docs_list_the_suites_and_the_nights_validations(corpus_run):
    index = corpus_run.docs
    assert index.name == "index.html" and index.exists()
    html = index.read_text(encoding="utf-8")
    for suite in ("integration_plan_suite", "project_reports_suite", "readiness_suite", "budget_bill_suite"):
        assert suite in html
        assert (index.parent / "expectations" / f"{suite}.html").exists()
    validated = [o for o in corpus_run.outcomes.values() if o.status == "loaded" or
                 (o.reason or "").startswith("validation.")]
    pages = list((index.parent / "validations").rglob("*.html"))
    # One GX run per load batch and source, not one per file; each names its first file.
    sources = {o.source for o in validated}
    assert len(sources) <= len(pages) < len(validated)
    assert sum(html.count(o.path.replace("/", "__")) > 0 for o in validated) >= len(sources)
    # A failure names the file and row it was found in, whatever batch the file was validated in.
    bodies = "".join(page.read_text(encoding="utf-8") for page in pages)
    for o in validated:
        if o.rows_rejected and o.status == "loaded":
            assert o.path in bodies, f"{o.path}: not named in Data Docs"


def test_summary_lists_rejected_files_with_codes_and_feedback(corpus_run):
    corpus_run.use()
    with corpus_run.connect() as conn:
        summary = build_summary(conn, RUN_ID)
    assert {r["path"] for r in summary["rejected"]} == {_landing_path("bad", r["file"]) for r in WHOLE} | {
        path for path, code in corpus_run.hostile.items() if code}
    assert {r["path"] for r in summary["partial"]} == {
        _landing_path("bad", r["file"]) for r in EXPECTED if r not in WHOLE}
    text = format_summary(summary)
    assert "[validation.negative_amount]" in text and "feedback for the agency:" in text
    assert "feedback for the data team:" in text  # budget books are not an agency's files
    assert summary["data_docs"] == str(corpus_run.docs)
    # where the night looked and how many entries it listed: every entry under the zone (links not followed)
    entries = sum(len(files) + sum(os.path.islink(os.path.join(folder, d)) for d in dirs)
                  for folder, dirs, files in os.walk(corpus_run.landing))
    assert f"landing zone: {corpus_run.landing}: {entries:,} entries listed, " in text.splitlines()[2]
    # a rejected value is quoted whole: the formula-like -2500000 opens and closes its quote
    negative = next(line for line in text.splitlines() if "[validation.negative_amount]" in line)
    assert "found '-2500000' (" in negative, negative


def test_every_file_level_reject_code_has_its_own_fix_in_both_languages():
    """Each code the readers (and the isolated reader) can refuse a file with gets an instruction of its own,
    not the generic one."""
    source = "".join(p.read_text() for p in (Path(__file__).parents[1] / "ingest").glob("*.py"))
    codes = set(re.findall(r'FileRejected\(\s*"(\w+)"', source))
    assert {"empty", "encoding", "too_large", "too_many_rows", "line_too_long", "nul_byte", "reader_failed",
            "unreadable", "not_xlsx"} <= codes
    generic = file_problem("no-such-code")
    for code in codes:
        fix_en, fix_th = file_problem(code)
        assert (fix_en, fix_th) != generic and code in FILE_FIXES, code
        assert re.search("[\u0e00-\u0e7f]", fix_th) and not re.search("[\u0e00-\u0e7f]", fix_en), code


def test_summary_keeps_each_hostile_name_on_its_own_visible_line():
    """A file name or reason with line breaks, terminal escapes or bidi overrides cannot forge summary lines."""
    hostile = "readiness/2566/a\nfiles loaded:   999\x1b[2J\u202eวสฟ.csv"
    summary = {"run_id": "r1", "warehouse": "postgresql://u:***@h/w", "files": {"rejected": {"files": 1}},
               "rejected": [{"path": hostile, "code": "csv_syntax", "reason": "bad\rquote", "quarantine": "q/x",
                             "feedback": "q/x.feedback.txt"}],
               "marts": {}, "unmatched_agencies": [{"source": "readiness", "name": "กรม\nX", "rows": 1,
                                                     "suggestion": []}], "dbt": {}, "checks": []}
    text = format_summary(summary)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text)
    assert sum(line.startswith("files loaded:") for line in text.splitlines()) == 1
    assert "readiness/2566/a\\u000afiles loaded:   999\\u001b[2J\\u202eวสฟ.csv" in text
    assert "กรม\\u000aX" in text and "bad\\u000dquote" in text


def test_a_night_succeeds_only_when_it_skipped_or_published_after_every_check():
    skipped = {"build": False, "reason": "no new files"}
    built = {"build": True, "reason": "1 new file(s) loaded"}
    ok, dbt = night_outcome(skipped, None)
    assert ok and dbt["skipped"] and dbt["reason"] == "no new files"
    assert night_outcome(built, {"success": True, "models": 35}) == (True, {"success": True, "models": 35})
    # publish_marts did not run: dbt, a cross-model test or the reconciliation failed
    assert night_outcome(built, None) == (False, None)
    assert night_outcome(built, {"success": False}) == (False, {"success": False})
    # never decided: the run did not hold the lock, or failed before
    assert night_outcome({}, None)[0] is False and night_outcome(None, {"success": True})[0] is False


def test_gate_is_built_once_per_process_and_rebuilt_when_the_registry_changes(tmp_path):
    seeds = tmp_path / "repo" / "dbt_project" / "seeds"
    seeds.mkdir(parents=True)
    for name in ("agencies.csv", "agency_aliases.csv"):
        shutil.copyfile(get_settings().seeds_dir / name, seeds / name)
    settings = Settings(repo_root=tmp_path / "repo", landing_zone=str(tmp_path / "landing"), warehouse_url=None,
                        state_dir=tmp_path / "state")
    gate = get_gate(settings)
    assert isinstance(gate, Gate) and get_gate(settings) is gate
    from ground.thai import name_key

    assert name_key("กรมทดสอบระบบใหม่") not in gate.known_agency_keys
    with open(seeds / "agency_aliases.csv", "a", encoding="utf-8") as fh:
        fh.write("กรมทดสอบระบบใหม่,D0026,added by a test\n")
    rebuilt = get_gate(settings)
    assert rebuilt is not gate and name_key("กรมทดสอบระบบใหม่") in rebuilt.known_agency_keys
    assert get_gate(settings) is rebuilt


def _reconcile_on_sample(sample, run_id: str, tamper: tuple | None = None) -> tuple[ReconcileResult, list[tuple]]:
    """``reconcile`` on the shared sample warehouse, which it leaves as it found it. dbt reads the warehouse on its
    own connections, so a tampering ``(table, statement[, params])`` is committed, then undone from a copy of the
    table; the checks are recorded in a transaction that is rolled back, and dbt's results filed under ``run_id``
    deleted. Returns the result and the recorded rows (suite, success, evaluated, failed, details)."""
    with sample.connect() as admin, psycopg.connect(sample.url()) as conn:
        table = sql.Identifier(*tamper[0].split(".")) if tamper else None
        if tamper:
            admin.execute(sql.SQL("CREATE TEMP TABLE untampered AS SELECT * FROM {}").format(table))
            admin.execute(tamper[1], *tamper[2:])
        try:
            result = reconcile(conn, run_id)
            recorded = conn.execute(
                "SELECT suite, success, evaluated, failed, details FROM ops.validation_runs WHERE run_id = %s "
                "ORDER BY suite", (run_id,)).fetchall()
        finally:
            conn.rollback()
            if tamper:
                with admin.transaction():
                    admin.execute(sql.SQL("DELETE FROM {}").format(table))
                    admin.execute(sql.SQL("INSERT INTO {} SELECT * FROM untampered").format(table))
            admin.execute("DELETE FROM ops.dbt_results WHERE run_id = %s", (run_id,))
    return result, recorded


def test_reconcile_passes_on_the_sample_warehouse(sample):
    result, recorded = _reconcile_on_sample(sample, "test-reconcile")
    assert result.success, result.summary()
    assert [c.name for c in result.checks] == ["reconcile.file_ledger", "reconcile.budget_by_year",
                                               "reconcile.project_status_by_year",
                                               "reconcile.readiness_summary_by_year"]
    assert all(c.evaluated > 0 for c in result.checks)
    assert sorted((c.name, True, c.evaluated, 0, []) for c in result.checks) == recorded
    with sample.connect() as conn:  # evaluated: the rows compared, here every row of the mart (the ledger)
        assert [c.evaluated for c in result.checks] == [
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*c.mart.split(".")))).fetchone()[0]
            for c in result.checks]


def test_the_night_runs_each_reconcile_test_once_after_the_build(sample):
    """The nightly ``dbt build`` leaves the reconcile tests out (``--exclude tag:reconcile``); ``reconcile_marts``
    runs them, once each, filed under the night's run id."""
    with sample.connect() as conn:
        rows = conn.execute("SELECT invocation_id, unique_id FROM ops.dbt_results WHERE run_id = 'test-sample' "
                            "AND resource_type = 'test'").fetchall()
    tests = {uid: invocation for invocation, uid in rows}
    reconciled = sorted(uid for uid in tests if uid.split(".")[2].startswith("reconcile_"))
    assert [uid.split(".")[2] for uid in reconciled] == [
        "reconcile_budget_by_year", "reconcile_file_ledger", "reconcile_project_status_by_year",
        "reconcile_readiness_summary_by_year"]
    assert len(rows) == len(tests), "a test ran twice in the night"
    [invocation] = {tests[uid] for uid in reconciled}  # one dbt test, and nothing else in it
    assert sorted(uid for uid, i in tests.items() if i == invocation) == reconciled


@pytest.mark.parametrize("tamper, failing", [
    (("marts.budget_by_year", "UPDATE marts.budget_by_year SET amount_baht = amount_baht + 1 WHERE ctid = "
      "(SELECT ctid FROM marts.budget_by_year WHERE source = 'integration_plan' LIMIT 1)"),
     {"reconcile.budget_by_year"}),
    (("marts.project_status_by_year", "UPDATE marts.project_status_by_year SET started = started + 1 WHERE ctid = "
      "(SELECT ctid FROM marts.project_status_by_year LIMIT 1)"), {"reconcile.project_status_by_year"}),
    (("marts.readiness_summary_by_year", "DELETE FROM marts.readiness_summary_by_year WHERE ctid = "
      "(SELECT ctid FROM marts.readiness_summary_by_year LIMIT 1)"), {"reconcile.readiness_summary_by_year"}),
    (("raw.integration_plan", "DELETE FROM raw.integration_plan WHERE ctid = (SELECT ctid FROM raw.integration_plan "
      "WHERE file_id = (SELECT max(file_id) FROM raw.integration_plan) LIMIT 1)"),
     {"reconcile.file_ledger", "reconcile.budget_by_year"}),
], ids=["budget_amount", "project_started", "readiness_row_deleted", "raw_row_deleted"])
def test_reconcile_catches_a_tampered_mart(sample, tamper, failing):
    result, recorded = _reconcile_on_sample(sample, "test-reconcile-tampered", tamper)
    assert not result.success
    assert {c.name for c in result.checks if not c.success} == failing
    assert {suite for suite, ok, *_ in recorded if not ok} == failing
    for check in result.checks:
        if not check.success:
            assert check.mismatches and len(check.mismatches) <= check.evaluated
            assert all(m["problem"] != "the check could not run" for m in check.mismatches)


def test_a_mismatch_names_its_key_and_both_figures(sample):
    """A mismatch is one stored row: the mart's key, the problem and the mart's and the recomputed figures side by
    side, kept in the check, recorded in ops.validation_runs, and stored by dbt where bi_reader cannot read it."""
    with sample.connect() as conn:
        year, plan, source, amount, lines, agencies = conn.execute(
            "SELECT fiscal_year_be, budget_plan_code, source, amount_baht, line_items, agencies "
            "FROM marts.budget_by_year WHERE source = 'budget_bill' ORDER BY 1, 2 LIMIT 1").fetchone()
    result, recorded = _reconcile_on_sample(sample, "test-reconcile-detail", (
        "marts.budget_by_year", "UPDATE marts.budget_by_year SET amount_baht = amount_baht + 1000.50 "
        "WHERE fiscal_year_be = %s AND budget_plan_code = %s AND source = %s", (year, plan, source)))
    check = next(c for c in result.checks if c.name == "reconcile.budget_by_year")
    expected = {"fiscal_year_be": year, "budget_plan_code": plan, "source": source, "problem": "figures differ",
                "mart_amount_baht": amount + Decimal("1000.50"), "raw_amount_baht": amount,
                "mart_line_items": lines, "raw_line_items": lines, "mart_agencies": agencies, "raw_agencies": agencies}
    assert (check.success, check.failed, check.mismatches) == (False, 1, [expected])
    as_json = json.dumps(expected, ensure_ascii=False, default=str)
    assert result.summary() == ("reconcile: 3 of 4 checks passed; "
                                f"reconcile.budget_by_year: 1 mismatch(es), e.g. {as_json}")
    stored = {suite: (ok, failed, details) for suite, ok, _, failed, details in recorded}["reconcile.budget_by_year"]
    assert stored == (False, 1, [json.loads(as_json)])
    with sample.connect() as conn:
        assert conn.execute("SELECT count(*) FROM reconcile.budget_by_year").fetchone()[0] == 1
    with sample.connect("bi_reader") as bi, pytest.raises(psycopg.errors.InsufficientPrivilege):
        bi.execute("SELECT 1 FROM reconcile.budget_by_year")


def test_a_check_that_cannot_run_fails_with_dbt_s_error(sample):
    """A reconcile test that errors (here: its mart is missing) fails its check with dbt's error; it never passes."""
    with sample.connect() as admin:
        admin.execute("ALTER TABLE marts.readiness_summary_by_year RENAME TO readiness_summary_by_year_away")
        try:
            result, recorded = _reconcile_on_sample(sample, "test-reconcile-error")
        finally:
            admin.execute("ALTER TABLE marts.readiness_summary_by_year_away RENAME TO readiness_summary_by_year")
    assert [c.name for c in result.checks if not c.success] == ["reconcile.readiness_summary_by_year"]
    [mismatch] = result.checks[-1].mismatches
    assert mismatch["problem"] == "the check could not run"
    assert 'relation "marts.readiness_summary_by_year" does not exist' in mismatch["error"], mismatch
    assert {suite for suite, ok, *_ in recorded if not ok} == {"reconcile.readiness_summary_by_year"}


@pytest.mark.parametrize("note, garbled", [("ทำไม??? งบประมาณไม่พอ", False), ("??????? ????", True),
                                           ("à¸‡à¸šà¸›à¸£à¸°à¸¡à¸²à¸“", True), ("ข้อมูลไม่ครบ (รอ สพร.)", False)])
def test_mojibake_check_flags_garbled_cells_only(tmp_path, note, garbled):
    from ground.sources import SOURCES
    from ingest.parse import parse_file

    header = make_bad_files.PR_HEADER
    row = make_bad_files._pr("DG63-601")
    row[header.index("รายละเอียดปัญหาอุปสรรค")] = note
    path = tmp_path / "status.csv"
    path.write_bytes(make_bad_files._csv_bytes(header, [row]))
    result = Gate(frozenset()).validate(parse_file(path, SOURCES["project_reports"]))
    flagged = [f for f in result.critical if f.column == "garbled_text"]
    assert bool(flagged) == garbled
    if garbled:
        assert flagged[0].rows == [2] and flagged[0].values == [f"obstacle_note: {note}"]


def test_every_check_has_a_level_and_every_budget_bill_value_check_rejects_rows_only():
    """One place says what each check rejects; the bill (third-party extractions) is never lost whole
    over a value. docs/sources.md lists the same table (the templates test keeps it fresh)."""
    from expectations.suites import checks
    from ground.sources import SOURCES

    for source in SOURCES.values():
        found = checks(source)
        assert all(level in ("file", "row", "warning") and why for _, _, level, why in found), source.name
        file_level = {check for check, _, level, _ in found if level == "file"}
        assert file_level == {"expect_table_row_count_to_be_between", "expect_table_columns_to_match_set"}
    docs = (Path(__file__).parents[1] / "docs" / "sources.md").read_text(encoding="utf-8")
    assert docs.count("| check (GX expectation) | column(s) | rejects | why |") == len(SOURCES)


def test_quarantined_copies_and_reports_are_not_world_readable(corpus_run):
    quarantined = [row[3] for row in corpus_run.ledger.values() if row[3]]
    assert quarantined
    for copy in quarantined:
        for path in (Path(copy), *(Path(copy + s) for s in (".report.md", ".report.json", ".feedback.txt"))):
            assert path.stat().st_mode & 0o007 == 0, path
        assert Path(copy).parent.stat().st_mode & 0o007 == 0


# What a page shows only when its assets loaded: bootstrap's CSS (its .d-none hides), jQuery with
# bootstrap-table (which wraps each table in a .bootstrap-table element), Vega, and Font Awesome's font.
STYLED = """(async () => {
  const probe = document.createElement('div'); probe.className = 'd-none'; document.body.appendChild(probe);
  await document.fonts.ready;
  return {bootstrapCss: getComputedStyle(probe).display,
          tables: document.querySelectorAll('.bootstrap-table table').length,
          jquery: typeof window.jQuery, vega: typeof window.vegaEmbed,
          fontAwesome: document.fonts.check('900 16px "Font Awesome 6 Free"'),
          text: document.body.innerText.length};
})()"""


def test_data_docs_render_styled_with_every_outside_host_blocked(corpus_run):
    """The site as ``make docs`` serves it (reporting.serve's handler), in Chromium that can reach no outside
    host: every asset comes from the project, and the pages are styled and their tables rendered."""
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer

    from expectations.docs_assets import outside_assets
    from reporting.serve import DocsHandler, roots
    from tests.offline_browser import OfflineChromium

    corpus_run.use()  # the server's roots come from the environment, which another test may have pointed elsewhere
    site = corpus_run.docs.parent
    pages = sorted(site.rglob("*.html"))
    assert pages and not [p for p in pages if outside_assets(p.read_text(encoding="utf-8"))]
    result = next(p for p in pages if "validations" in p.parts)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(DocsHandler, roots=roots(get_settings())))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = OfflineChromium()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/data-docs/"
        for page in ("index.html", result.relative_to(site).as_posix()):
            shown, requested = browser.open(base + page, STYLED)
            assert shown and shown["bootstrapCss"] == "none", (page, shown)
            assert shown["jquery"] == "function" and shown["vega"] == "function", (page, shown)
            assert shown["tables"] >= 1 and shown["fontAwesome"] and shown["text"] > 200, (page, shown)
            outside = [u for u in requested if not u.startswith(("http://127.0.0.1:", "data:"))]
            assert not outside, (page, outside)
    finally:
        browser.close()
        server.shutdown()


def test_every_cdn_asset_of_the_installed_gx_templates_is_vendored():
    """A GX upgrade that loads another CDN file fails here until it is vendored (expectations/data_docs_assets)."""
    import great_expectations

    from expectations.docs_assets import ASSETS, ASSETS_DIR, GX_IMAGES, outside_assets

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    named = {url for t in templates.glob("*.j2") for url in outside_assets(t.read_text(encoding="utf-8"))
             if not url.startswith(GX_IMAGES) and "{{" not in url}
    assert named and named <= set(ASSETS), named - set(ASSETS)
    for file in ASSETS.values():
        assert (ASSETS_DIR / file).is_file(), file
    for package in {file.split("/", 1)[0] for file in ASSETS.values()}:
        assert list((ASSETS_DIR / package).glob("LICENSE*")), package


def test_each_check_carries_gx_native_severity_and_its_level_in_meta():
    """Severity is GX's own field (Data Docs and any GX tool read it); meta says only what a failure rejects."""
    from expectations.suites import build_suite, severity
    from ground.sources import SOURCES

    for name in SOURCES:
        for e in build_suite(name).expectations:
            assert severity(e.severity) in ("critical", "warning"), (name, e.expectation_type)
            assert "severity" not in (e.meta or {}), (name, e.expectation_type)
            assert (e.meta or {}).get("level") in ("file", "row"), (name, e.expectation_type)
        warnings = [e.expectation_type for e in build_suite(name).expectations if severity(e.severity) == "warning"]
        assert "expect_column_values_to_be_null" in warnings  # the unregistered-agency check warns, never rejects

"""The incremental facts on a small warehouse of their own: partition rebuilds, supersession,
full-refresh equality, the fy_from/fy_to range rebuild and registry changes.

The tests run in file order on one warehouse; each step starts from the state the previous left.
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

FACTS = {  # fact -> its partition year column
    "fct_readiness_responses": "survey_year_be",
    "fct_budget_lines": "partition_fy_be",
}
LINEAGE = ("dbt_invocation_id", "dbt_built_at")
SCORES = ("score_strategy", "score_public_services", "score_infrastructure", "score_data", "score_personnel",
          "score_regulation")
READINESS_HEADER = ["survey_year_be", "agency_name", "agency_level", "province_name", "responded", *SCORES]
PLAN_HEADER = ["fiscal_year_be", "budget_plan_name", "agency_name", "project_code", "project_name_th", "approach",
               "focus_area", "requested_baht", "allocated_baht"]
BILL_HEADER = ["", "ITEM_ID", "REF_DOC", "REF_PAGE_NO", "MINISTRY", "BUDGETARY_UNIT", "CROSS_FUNC?", "BUDGET_PLAN",
               "OUTPUT", "PROJECT", "CATEGORY_LV1", "CATEGORY_LV2", "CATEGORY_LV3", "CATEGORY_LV4", "CATEGORY_LV5",
               "CATEGORY_LV6", "ITEM_DESCRIPTION", "FISCAL_YEAR", "AMOUNT", "OBLIGED?", "DEBUG_LOG"]
OPM, PRD, OCPB, DGA = ("สำนักงานปลัดสำนักนายกรัฐมนตรี", "กรมประชาสัมพันธ์", "สำนักงานคณะกรรมการคุ้มครองผู้บริโภค",
                       "สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)")
DG_PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"


def _write(path: Path, header: list[str], rows: list[list[object]], received: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    os.utime(path, (received.timestamp(), received.timestamp()))


def _survey(year: int, agency: str, base: int) -> list[object]:
    return [year, agency, "department", "", "ตอบแล้ว", *(base + i for i in range(6))]


def _bill_line(no: int, ref: str, ce_year: int, amount: int) -> list[object]:
    return [no, f"{ref}.{no}", ref, 10 + no, "สำนักนายกรัฐมนตรี", DGA, "True", DG_PLAN, "", f"โครงการทดสอบ {no}",
            "งบรายจ่ายอื่น", "", "", "", "", "", "ค่าใช้จ่าย", ce_year, f"{amount:,}", "False", ""]


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _load(wh) -> list:
    from expectations.gate import Gate
    from ground.registry import alias_keys
    from nightly.pipeline import new_files, process_file

    gate = Gate(list(alias_keys()))
    outcomes = [process_file(f, gate, "test-incremental") for f in new_files()]
    assert outcomes and all(o.status == "loaded" for o in outcomes), [(o.path, o.status, o.reason) for o in outcomes]
    return outcomes


# What these tests assert is the rows the builds leave; the data tests run in test_marts_reflect_incremental_facts
# (and on the sample warehouse), so the other builds here skip them: 311 data tests were most of each build.
ROWS_ONLY = ("--exclude-resource-type", "test", "unit_test")


def _dbt(*args: str) -> None:
    from nightly.transform import run_dbt

    outcome = run_dbt(list(args))
    assert outcome.success, (args, outcome.failures)


def _rows(wh, sql: str, params: tuple = ()) -> list[tuple]:
    with wh.connect() as conn:
        return conn.execute(sql, params).fetchall()


def _partitions(wh, fact: str) -> dict[tuple, str]:
    """(partition year, partition_key) -> the dbt invocation that wrote it (one per partition)."""
    year = FACTS[fact]
    rows = _rows(wh, f"""SELECT {year}, partition_key, min(dbt_invocation_id), max(dbt_invocation_id)
                         FROM marts.{fact} GROUP BY 1, 2""")  # noqa: S608 - fixed names
    assert all(lo == hi for *_, lo, hi in rows), "a partition written by two invocations"
    return {(y, key): lo for y, key, lo, _ in rows}


def _columns(wh, fact: str) -> str:
    cols = [r[0] for r in _rows(wh, """SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'marts' AND table_name = %s ORDER BY ordinal_position""", (fact,))]
    return ", ".join(f'"{c}"' for c in cols if c not in LINEAGE)


def _differences(wh, left: str, right: str, columns: str) -> int:
    (count,) = _rows(wh, f"""SELECT count(*) FROM (
        (SELECT {columns} FROM {left} EXCEPT ALL SELECT {columns} FROM {right})
        UNION ALL
        (SELECT {columns} FROM {right} EXCEPT ALL SELECT {columns} FROM {left})) AS d""")[0]  # noqa: S608
    return count


@pytest.fixture(scope="module")
def wh(make_warehouse):
    """Two survey years, one integration plan and one budget book, loaded and built."""
    wh = make_warehouse("incremental")
    wh.use()
    land = wh.landing
    _write(land / "readiness/2562/r2562.csv", READINESS_HEADER,
           [_survey(2562, OPM, 40), _survey(2562, PRD, 50), _survey(2562, OCPB, 60)], _at(2019, 11, 25))
    _write(land / "readiness/2563/r2563.csv", READINESS_HEADER,
           [_survey(2563, OPM, 41), _survey(2563, PRD, 51), _survey(2563, OCPB, 61)], _at(2020, 11, 25))
    _write(land / "integration_plan/2565/ip2565.csv", PLAN_HEADER,
           [[2565, DG_PLAN, DGA, "IP2565-001", "โครงการหนึ่ง", "common_platform", "health", "2,000,000", "1,500,000"],
            [2565, DG_PLAN, OPM, "IP2565-002", "โครงการสอง", "digital_skills", "education", "900,000", "800,000"]],
           _at(2022, 1, 20))
    _write(land / "budget_bill/2566/2023-3-7.csv", BILL_HEADER,
           [_bill_line(1, "2023.3.7", 2023, 1_000_000), _bill_line(2, "2023.3.7", 2023, 2_000_000),
            _bill_line(3, "2023.3.7", 2024, 3_000_000)], _at(2022, 10, 1))
    _load(wh)
    _dbt("build", *ROWS_ONLY)
    with wh.connect() as conn:
        conn.execute("CREATE SCHEMA scratch")  # snapshots the tests compare against
    return wh


@pytest.fixture
def inc(wh):
    wh.use()
    return wh


def test_a_new_file_rebuilds_only_its_partition(inc):
    before = {fact: _partitions(inc, fact) for fact in FACTS}
    snapshot_cols = _columns(inc, "fct_readiness_responses")
    with inc.connect() as conn:
        conn.execute("CREATE TABLE scratch.readiness_before AS SELECT * FROM marts.fct_readiness_responses")
    _write(inc.landing / "readiness/2564/prd_2564.csv", READINESS_HEADER, [_survey(2564, PRD, 55)], _at(2021, 11, 25))
    _load(inc)
    _dbt("build", *ROWS_ONLY)

    after = _partitions(inc, "fct_readiness_responses")
    rebuilt = {p for p, inv in after.items() if before["fct_readiness_responses"].get(p) != inv}
    assert rebuilt == {(2564, "D0002")}
    # every other partition kept its rows, lineage columns included
    assert _differences(inc, "scratch.readiness_before",
                        "(SELECT * FROM marts.fct_readiness_responses WHERE survey_year_be <> 2564) AS kept",
                        snapshot_cols + ", dbt_invocation_id, dbt_built_at") == 0
    assert _partitions(inc, "fct_budget_lines") == before["fct_budget_lines"]
    # and the marts built from the fact see the new year
    assert _rows(inc, """SELECT agencies_targeted, agencies_responded FROM marts.readiness_summary_by_year
                        WHERE survey_year_be = 2564""") == [(1, 1)]


def test_resubmissions_supersede_incrementally(inc):
    before = {fact: _partitions(inc, fact) for fact in FACTS}
    # OPM corrects its 2563 answers; a copy of OCPB's 2563 answers that is older than what we hold
    # arrives late; the budget book is reissued without its FY 2567 line and with a new amount.
    _write(inc.landing / "readiness/2563/opm_corrected.csv", READINESS_HEADER, [_survey(2563, OPM, 71)],
           _at(2021, 1, 15))
    _write(inc.landing / "readiness/2563/ocpb_old_copy.csv", READINESS_HEADER, [_survey(2563, OCPB, 11)],
           _at(2020, 10, 1))
    _write(inc.landing / "budget_bill/2566/2023-3-7_v2.csv", BILL_HEADER,
           [_bill_line(1, "2023.3.7", 2023, 1_000_000), _bill_line(2, "2023.3.7", 2023, 2_500_000)],
           _at(2022, 11, 1))
    _load(inc)
    _dbt("build", *ROWS_ONLY)

    readiness = _partitions(inc, "fct_readiness_responses")
    rebuilt = {p for p, inv in readiness.items() if before["fct_readiness_responses"].get(p) != inv}
    assert rebuilt == {(2563, "D0001")}
    (opm,) = _rows(inc, """SELECT f.score_strategy, l.path FROM marts.fct_readiness_responses AS f
        JOIN ops.file_ledger AS l USING (file_id) WHERE survey_year_be = 2563 AND partition_key = 'D0001'""")
    assert opm == (71, "readiness/2563/opm_corrected.csv")
    (ocpb,) = _rows(inc, """SELECT score_strategy FROM marts.fct_readiness_responses
                           WHERE survey_year_be = 2563 AND partition_key = 'D0003'""")
    assert ocpb == (61,)
    assert _rows(inc, """SELECT overall_score FROM marts.readiness_by_year
                        WHERE survey_year_be = 2563 AND agency_id = 'D0001'""") == [(73.5,)]

    book = _rows(inc, """SELECT fiscal_year_be, amount_baht FROM marts.fct_budget_lines
                        WHERE partition_key = 'budget_bill|2023.3.7' ORDER BY line_key""")
    assert book == [(2566, 1_000_000), (2566, 2_500_000)]
    budget = _partitions(inc, "fct_budget_lines")
    assert budget[(2566, "budget_bill|2023.3.7")] != before["fct_budget_lines"][(2566, "budget_bill|2023.3.7")]
    assert budget[(2565, "integration_plan|D0013")] == before["fct_budget_lines"][(2565, "integration_plan|D0013")]
    assert _rows(inc, """SELECT fiscal_year_be, amount_baht FROM marts.budget_by_year
                        WHERE source = 'budget_bill' ORDER BY 1""") == [(2566, 3_500_000)]


def test_full_refresh_equals_incremental(inc):
    with inc.connect() as conn:
        for fact in FACTS:
            conn.execute(f"CREATE TABLE scratch.{fact}_incremental AS SELECT * FROM marts.{fact}")  # noqa: S608
    _dbt("run", "--full-refresh", "--select", *FACTS)
    for fact in FACTS:
        (rows,) = _rows(inc, f"SELECT count(*) FROM marts.{fact}")[0]  # noqa: S608
        assert rows > 0
        assert _differences(inc, f"scratch.{fact}_incremental", f"marts.{fact}", _columns(inc, fact)) == 0, fact


def test_fy_range_rebuilds_exactly_those_years(inc):
    cols = _columns(inc, "fct_readiness_responses")
    with inc.connect() as conn:
        conn.execute("CREATE TABLE scratch.readiness_truth AS SELECT * FROM marts.fct_readiness_responses")
        conn.execute("CREATE TABLE scratch.budget_truth AS SELECT * FROM marts.fct_budget_lines")
        # damage 2563 (a changed score, a lost row) and 2562 (outside the range), and a budget year
        conn.execute("UPDATE marts.fct_readiness_responses SET score_data = 0 WHERE survey_year_be IN (2562, 2563)")
        conn.execute("DELETE FROM marts.fct_readiness_responses WHERE survey_year_be = 2563 AND agency_id = 'D0002'")
        conn.execute("DELETE FROM marts.fct_budget_lines WHERE partition_fy_be = 2565")
    before = _partitions(inc, "fct_readiness_responses")

    _dbt("run", "--select", *FACTS, "--vars", "{fy_from: 2563, fy_to: 2565}")

    after = _partitions(inc, "fct_readiness_responses")
    assert {p for p, inv in after.items() if before.get(p) != inv} == {
        (2563, "D0001"), (2563, "D0002"), (2563, "D0003"), (2564, "D0002")}
    restored = "(SELECT * FROM marts.fct_readiness_responses WHERE survey_year_be = 2563) AS r"
    assert _differences(inc, "(SELECT * FROM scratch.readiness_truth WHERE survey_year_be = 2563) AS t",
                        restored, cols) == 0
    # outside the range nothing was rebuilt: 2562 keeps the damage
    assert _rows(inc, """SELECT DISTINCT score_data FROM marts.fct_readiness_responses
                        WHERE survey_year_be = 2562""") == [(0,)]
    assert _differences(inc, "scratch.budget_truth", "marts.fct_budget_lines", _columns(inc, "fct_budget_lines")) == 0
    # a one-year backfill (the nightly service's, as make backfill runs it) repairs 2562 too, and then the
    # whole fact is as before the damage
    from nightly.service import run_backfill

    assert run_backfill("test-backfill-2562", 2562, 2562).startswith("backfill FY 2562-2562: ok, ")
    assert _differences(inc, "scratch.readiness_truth", "marts.fct_readiness_responses", cols) == 0
    with pytest.raises(ValueError, match="outside the fiscal years"):
        run_backfill("test-backfill-bad", 2400, 2562)


def test_fy_range_needs_both_bounds(inc):
    from nightly.transform import run_dbt

    assert not run_dbt(["run", "--select", "fct_readiness_responses", "--vars", "{fy_from: 2563}"]).success
    assert not run_dbt(["run", "--select", "fct_readiness_responses", "--vars", "{fy_from: 2565, fy_to: 2563}"]).success


def test_registry_change_rebuilds_the_agencys_partitions(inc):
    """A row built before its name was in the registry (unmatched) is re-keyed once the registry knows it."""
    with inc.connect() as conn:
        conn.execute("TRUNCATE scratch.readiness_truth")
        conn.execute("INSERT INTO scratch.readiness_truth SELECT * FROM marts.fct_readiness_responses")
        conn.execute("""UPDATE marts.fct_readiness_responses SET agency_id = NULL, partition_key = 'name:' || agency_key
                        WHERE survey_year_be = 2562 AND agency_id = 'D0002'""")
    _dbt("run", "--select", "fct_readiness_responses")
    assert _differences(inc, "scratch.readiness_truth", "marts.fct_readiness_responses",
                        _columns(inc, "fct_readiness_responses")) == 0


def test_marts_reflect_incremental_facts(inc):
    """After the steps above, a normal build leaves nothing to do and the marts agree with the facts."""
    before = {fact: _partitions(inc, fact) for fact in FACTS}
    _dbt("build")
    assert {fact: _partitions(inc, fact) for fact in FACTS} == before
    assert _rows(inc, """SELECT survey_year_be, agencies_responded FROM marts.readiness_summary_by_year
                        ORDER BY 1""") == [(2562, 3), (2563, 3), (2564, 1)]


# The marts a file-only night rebuilds by year (dbt_project/macros/night_years.sql: night_scoped) and their year.
NIGHT_YEAR_MARTS = {"readiness_by_year": "survey_year_be", "readiness_by_dimension_year": "survey_year_be",
                    "submission_coverage": "fiscal_year_be", "agency_scorecard": "fiscal_year_be"}


def _row_versions(wh, mart: str, year: str) -> dict[int, set[str]]:
    """Each year's row versions (xmin): a year the build did not rewrite keeps them."""
    rows = _rows(wh, f"SELECT {year}, array_agg(xmin::text) FROM marts.{mart} GROUP BY 1")  # noqa: S608 - fixed names
    return {y: set(v) for y, v in rows}


def test_a_readiness_night_rebuilds_its_years_and_gets_the_full_builds_marts(inc):
    """A night whose only file corrects an earlier survey year: the marts rebuild that year (readiness_by_year
    every year from it: the next year's score change looks back), the data tests run on it, the unit tests
    not at all, and every rebuilt mart then holds what a full rebuild gives."""
    from nightly import service
    from nightly.transform import ledger_mark, project_fingerprint, record_build

    with inc.connect() as conn:
        record_build(conn, "before-readiness-night", project_fingerprint(), ledger_mark(conn))
    before = {mart: _row_versions(inc, mart, year) for mart, year in NIGHT_YEAR_MARTS.items()}
    _write(inc.landing / "readiness/2563/prd_2563_corrected.csv", READINESS_HEADER, [_survey(2563, PRD, 30)],
           _at(2023, 12, 1))
    run_id = "readiness-night-2563"
    assert [o.status for o in service.load(run_id)] == ["loaded"]
    decision = service.decide(run_id)
    assert decision["select"] is not None and decision["exclude"] == ["resource_type:unit_test"], decision
    assert _rows(inc, "SELECT years_by_source FROM ops.dbt_night_scope WHERE run_id = %s",
                 (run_id,)) == [({"readiness": [2563]},)]
    # the files the fact looks at: the night's own, not every file whose rows it does not all hold
    assert _rows(inc, "SELECT file_ids FROM ops.dbt_night_scope WHERE run_id = %s", (run_id,)) == _rows(
        inc, "SELECT array_agg(file_id ORDER BY file_id) FROM ops.file_ledger WHERE run_id = %s", (run_id,))
    assert service.build(decision, run_id).success
    ran = dict(_rows(inc, "SELECT resource_type, count(*) FROM ops.dbt_results WHERE run_id = %s GROUP BY 1",
                     (run_id,)))
    assert ran.get("test", 0) > 0 and "unit_test" not in ran, ran
    rebuilt = {mart: {y for y, v in _row_versions(inc, mart, year).items() if v != before[mart].get(y)}
               for mart, year in NIGHT_YEAR_MARTS.items()}
    assert rebuilt == {"readiness_by_year": {2563, 2564}, "readiness_by_dimension_year": {2563},
                       "submission_coverage": {2563}, "agency_scorecard": {2563}}, rebuilt
    assert _rows(inc, """SELECT overall_score FROM marts.readiness_by_year
                        WHERE survey_year_be = 2563 AND agency_id = 'D0002'""") == [(32.5,)]
    with inc.connect() as conn:
        for mart in NIGHT_YEAR_MARTS:
            conn.execute(f"CREATE TABLE scratch.{mart}_night AS TABLE marts.{mart}")  # noqa: S608 - fixed names
    _dbt("run", "--full-refresh", "--select", *NIGHT_YEAR_MARTS)
    assert {mart: _differences(inc, f"scratch.{mart}_night", f"marts.{mart}", _columns_of(inc, f"marts.{mart}"))
            for mart in NIGHT_YEAR_MARTS} == dict.fromkeys(NIGHT_YEAR_MARTS, 0)


def _relations(wh) -> list[str]:
    """Every table and view dbt builds in the staging, intermediate and marts schemas."""
    return [f"{schema}.{name}" for schema, name in _rows(wh, """
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema IN ('staging', 'intermediate', 'marts') ORDER BY 1, 2""")]


# Files of two sources (one loaded, one rejected whole) and a third's: its staging and facts are chosen, the
# fourth source's are not, and every model then equals a full rebuild's.
NIGHT = {"readiness/2565/ocpb_2565.csv": (READINESS_HEADER, [_survey(2565, OCPB, 66)]),
         "project_reports/2565/empty.csv": (["plan_code", "reporting_fy_be"], []),  # rejected: no rows
         "budget_bill/2567/2024-3-2.csv": (BILL_HEADER, [_bill_line(1, "2024.3.2", 2024, 4_000_000)])}


def test_a_night_builds_only_what_its_files_change_and_gets_the_full_builds_marts(inc):
    """After a recorded build, a night whose only news is files builds only the nodes downstream
    of their sources (dbt's own selection), and every model then holds what a full rebuild gives."""
    from nightly import service
    from nightly.transform import ledger_mark, project_fingerprint, record_build, selected_nodes

    fingerprint = project_fingerprint()
    with inc.connect() as conn:  # the steps before left every model built from every file
        record_build(conn, f"before-{len(NIGHT)}-{sorted(NIGHT)[0]}", fingerprint, ledger_mark(conn))
    for i, (rel, (header, rows)) in enumerate(sorted(NIGHT.items())):
        _write(inc.landing / rel, header, rows, _at(2024, 1, 10 + i))
    # and PRD's 2563 answer sent again with an old mtime: a later run's file supersedes all the same (stg_file_ledger's
    # received_at), and readiness_by_year is rebuilt from 2563 on
    _write(inc.landing / "readiness/2563/prd_2563_again.csv", READINESS_HEADER, [_survey(2563, PRD, 5)],
           _at(2020, 12, 1))
    sources = {rel.split("/")[0] for rel in NIGHT}
    run_id = f"selective-{'-'.join(sorted(sources))}"
    outcomes = service.load(run_id)
    assert {o.source for o in outcomes} == sources
    decision = service.decide(run_id)
    assert decision["build"] and decision["select"] is not None, decision["reason"]
    chosen = decision["nodes"]
    everything = selected_nodes(["fqn:*"])
    assert 0 < len(chosen) < len(everything)
    others = {"readiness", "project_reports", "integration_plan", "budget_bill"} - sources
    assert not any(f"stg_{name}" in uid for uid in chosen for name in others), chosen
    assert service.build(decision, run_id).success
    # OCPB answered 2562, 2563 and now 2565: its change looks back over the year it skipped
    assert _rows(inc, """SELECT score_change FROM marts.readiness_by_year
                        WHERE survey_year_be = 2565 AND agency_id = 'D0003'""") == [(5,)]
    assert _rows(inc, """SELECT f.score_strategy FROM marts.fct_readiness_responses AS f
                        WHERE survey_year_be = 2563 AND agency_id = 'D0002'""") == [(5,)]
    relations = _relations(inc)
    with inc.connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS selective CASCADE")
        conn.execute("CREATE SCHEMA selective")
        for rel in relations:
            conn.execute(f"CREATE TABLE selective.{rel.replace('.', '__')} AS TABLE {rel}")  # noqa: S608 - catalog names
    _dbt("build", "--full-refresh", *ROWS_ONLY)
    differ = {rel: n for rel in relations
              if (n := _differences(inc, f"selective.{rel.replace('.', '__')}", rel,
                                    _columns_of(inc, rel)))}
    assert differ == {}


def _columns_of(wh, relation: str) -> str:
    schema, name = relation.split(".")
    cols = [r[0] for r in _rows(wh, """SELECT column_name FROM information_schema.columns
        WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""", (schema, name))]
    return ", ".join(f'"{c}"' for c in cols if c not in LINEAGE)


def test_freshness_errors_on_a_stale_source(inc):
    """The thresholds bite: a source whose newest row is two years old fails `dbt source freshness`."""
    from nightly.transform import run_dbt

    assert run_dbt(["source", "freshness", "--select", "source:raw.readiness"]).success
    with inc.connect() as conn:
        conn.execute("UPDATE raw.readiness SET loaded_at = now() - interval '731 days'")
    assert not run_dbt(["source", "freshness", "--select", "source:raw.readiness"]).success

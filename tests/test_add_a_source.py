"""Adding a source, as the recipe in docs/adding-a-source.md says, from landing to a mart.

A copy of the repository gets a fifth, throwaway source (a yearly assessment of agencies' websites) in
exactly the recipe's places: its definition (whose staging model is generated from it), its mart (.sql and
.yml), its suite entry (and this test): five files. Nothing else is edited; generated files are regenerated
by their command. One night then loads a file of it
through the nightly service, dbt builds the new models, and the mart holds what the file's rows say.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

NAME = "website_assessment"
DEFINITION = f'''

WEBSITE_ASSESSMENT = Source(
    name="{NAME}",
    title_th="ผลการประเมินเว็บไซต์หน่วยงานภาครัฐ",
    title_en="Yearly assessment of government agencies' websites",
    key=("assessment_year_be", "agency_name"),
    year_column="assessment_year_be",
    generated_staging=True,
    columns=(
        Column("assessment_year_be", "year", ("ปีที่ประเมิน", "assessment year"), True, "year assessed (BE or CE)",
               example="2567"),
        Column("agency_name", "text", ("หน่วยงาน", "agency"), True, "agency as written", example="กรมสรรพากร"),
        Column("website_score", "decimal", ("คะแนนเว็บไซต์", "website score"), True, "score 0-100", example="81.5"),
        Column("uses_https", "bool", ("ใช้ HTTPS", "uses https"), True, "whether the site uses HTTPS",
               example="ใช่"),
    ),
)
SOURCES[WEBSITE_ASSESSMENT.name] = WEBSITE_ASSESSMENT
'''
SUITE_ENTRY = f'''

def _website_checks():
    yield gx.expectations.ExpectColumnValuesToBeInSet(column="uses_https", value_set=[True], **WARNING,
                                                      notes="a government website should use HTTPS")


SOURCE_CHECKS["{NAME}"] = _website_checks
'''
MART_SQL = f"""select
    assessment_year_be,
    count(*)::integer as agencies,
    avg(website_score)::numeric(6, 2) as mean_score,
    (count(*) filter (where uses_https))::integer as agencies_on_https
from {{{{ ref('stg_{NAME}') }}}}
group by assessment_year_be
"""  # noqa: S608 - a dbt model's text
MART_YML = f"""version: 2

models:
  - name: {NAME}_by_year
    description: Agencies assessed, their mean website score and how many use HTTPS, per year.
    columns:
      - name: assessment_year_be
        data_type: integer
        description: Year assessed, Buddhist Era.
        data_tests:
          - unique
          - not_null
      - name: agencies
        data_type: integer
        description: Agencies assessed that year.
      - name: mean_score
        data_type: numeric(6, 2)
        description: Mean website score (0-100).
      - name: agencies_on_https
        data_type: integer
        description: Agencies whose site uses HTTPS.
"""
RECIPE = {  # the recipe's places (docs/adding-a-source.md): a model is its .sql with its .yml beside it
    "ground/sources.py": ("append", DEFINITION),
    "expectations/suites.py": ("append", SUITE_ENTRY),
    f"dbt_project/models/marts/{NAME}_by_year.sql": ("write", MART_SQL),
    f"dbt_project/models/marts/{NAME}_by_year.yml": ("write", MART_YML),
}
ROWS = [  # Thai headers as an officer writes them; the last row's score cannot be read
    {"ปีที่ประเมิน": "2567", "หน่วยงาน": "กรมสรรพากร", "คะแนนเว็บไซต์": "81.5", "ใช้ HTTPS": "ใช่"},
    {"ปีที่ประเมิน": "๒๕๖๗", "หน่วยงาน": "กรมบัญชีกลาง", "คะแนนเว็บไซต์": "64", "ใช้ HTTPS": "ไม่ใช่"},
    {"ปีที่ประเมิน": "2024", "หน่วยงาน": "กรมการปกครอง", "คะแนนเว็บไซต์": "90.25", "ใช้ HTTPS": "ใช่"},
    {"ปีที่ประเมิน": "2567", "หน่วยงาน": "กรมศุลกากร", "คะแนนเว็บไซต์": "ดีมาก", "ใช้ HTTPS": "ใช่"},
]
NIGHT = f"""
import json
from ground.warehouse import connect
from nightly import service
from nightly.reconcile import check_file_ledger

outcomes = service.load("add-a-source")
built = service.build({{"select": ["source:raw.{NAME}+"]}}, "add-a-source")
with connect(autocommit=True) as conn:
    mart = conn.execute("SELECT assessment_year_be, agencies, mean_score::text, agencies_on_https "
                        "FROM marts.{NAME}_by_year").fetchall()
    ledger = check_file_ledger(conn, "add-a-source")
    # The ledger check counts the new raw table with no edit of dbt_project/tests/reconcile: a row lost is caught.
    conn.execute("DELETE FROM raw.{NAME} WHERE ctid = (SELECT ctid FROM raw.{NAME} LIMIT 1)")
    lost = check_file_ledger(conn, "add-a-source")
print(json.dumps({{"outcomes": [[o.path, o.status, o.rows_in, o.rows_loaded, o.rows_rejected] for o in outcomes],
                  "built": built.success, "failures": built.failures, "mart": mart,
                  "ledger_mismatches": ledger.mismatches, "ledger_evaluated": ledger.evaluated,
                  "lost_mismatches": lost.mismatches}}, default=str))
"""  # noqa: S608 - a script's text, run in the copy; NAME is this module's constant


def _copy_repository(to: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, to / rel)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def test_a_new_source_from_landing_to_a_mart_in_the_recipes_places():
    root = Path(tempfile.mkdtemp(prefix="dgwh-test-add-a-source-"))
    repo, state, landing = root / "repo", root / "state", root / "landing"
    env = {**os.environ, "PYTHONPATH": str(repo), "DGWH_STATE_DIR": str(state), "LANDING_ZONE": str(landing),
           "DGWH_SETTLE_S": "0"}
    env.pop("WAREHOUSE_URL", None)
    try:
        _copy_repository(repo)
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "before")
        for rel, (how, text) in RECIPE.items():
            path = repo / rel
            path.write_text(path.read_text() + text if how == "append" else text)
        touched = sorted(line[3:] for line in _git(repo, "status", "--porcelain", "-uall").splitlines())
        assert touched == sorted(RECIPE)

        # Generated, not hand-kept: the staging model, the agency template and the sources page come from the
        # definition.
        subprocess.run([sys.executable, "-m", "reporting.templates"], cwd=repo, env=env, check=True,
                       capture_output=True)
        generated = sorted(line[3:] for line in _git(repo, "status", "--porcelain", "-uall").splitlines())
        assert set(generated) - set(RECIPE) == {
            "docs/sources.md", f"templates/{NAME}.csv", f"templates/{NAME}.xlsx",
            f"dbt_project/models/staging/stg_{NAME}.sql", f"dbt_project/models/staging/stg_{NAME}.yml"}
        assert "ผลการประเมินเว็บไซต์หน่วยงานภาครัฐ" in (repo / "dbt_project/models/staging" / f"stg_{NAME}.yml").read_text()
        assert (repo / "templates" / f"{NAME}.xlsx").exists()
        assert "ผลการประเมินเว็บไซต์หน่วยงานภาครัฐ" in (repo / "docs" / "sources.md").read_text()

        folder = landing / NAME / "2567"
        folder.mkdir(parents=True)
        with open(folder / "websites_2567.csv", "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
            writer.writeheader()
            writer.writerows(ROWS)
        night = subprocess.run([sys.executable, "-c", NIGHT], cwd=repo, env=env, capture_output=True, text=True)
        assert night.returncode == 0, night.stderr[-3000:]
        result = json.loads(night.stdout.strip().splitlines()[-1])
    finally:
        if (state / "pg").exists() or state.exists():
            subprocess.run([sys.executable, "-c", "import sys; from ground.embedded_pg import EmbeddedWarehouse; "
                            "EmbeddedWarehouse(__import__('pathlib').Path(sys.argv[1])).stop()", str(state)],
                           cwd=repo, env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    assert result["outcomes"] == [[f"{NAME}/2567/websites_2567.csv", "loaded", 4, 3, 1]]
    assert result["built"], result["failures"]
    assert result["ledger_mismatches"] == [] and result["ledger_evaluated"] == 1
    assert [(m["path"], m["problem"], m["rows_loaded"], m["rows_in_raw"]) for m in result["lost_mismatches"]] == [
        (f"{NAME}/2567/websites_2567.csv", "rows in raw differ from the ledger", 3, 2)]
    # The mart from the rows that loaded (the unreadable score's row was rejected), computed here from the file.
    good = [r for r in ROWS if r["คะแนนเว็บไซต์"] != "ดีมาก"]
    mean = sum(Decimal(r["คะแนนเว็บไซต์"]) for r in good) / len(good)
    assert result["mart"] == [[2567, len(good), str(mean.quantize(Decimal("0.01"))),
                               sum(r["ใช้ HTTPS"] == "ใช่" for r in good)]]

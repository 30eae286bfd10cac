"""The layers contract (pyproject's ``[tool.importlinter]``) holds on the tree and catches an import that runs
back up: ``make lint`` runs the same command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["ground", "ingest", "expectations", "sampledata", "nightly", "bi", "reporting", "dgwh", "dags",
            "bench", "prodcheck"]


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": f"{tree}:{tree / 'dags'}", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's Python packages and its pyproject, copied: a planted import never touches the checkout."""
    out = tmp_path_factory.mktemp("layers")
    shutil.copy(ROOT / "pyproject.toml", out)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, out / package, ignore=shutil.ignore_patterns(
            "__pycache__", "venv", "superset", "data_docs_assets", "*.json", "*.yaml", "*.html", "*.csv"))
    return out


def test_the_tree_keeps_its_layers(tree: Path) -> None:
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "imported"), [
    ("ground/planted.py", "nightly.summary"),  # the bottom reaching for a middle layer
    ("ingest/planted.py", "expectations.gate"),  # two siblings of one layer
    ("nightly/planted.py", "common.dbt_group"),  # a step reaching for the DAGs' wiring
])
def test_an_import_running_back_up_breaks_the_lint(tree: Path, module: str, imported: str) -> None:
    planted = tree / module
    planted.write_text(f"import {imported}  # noqa: F401\n")
    try:
        result = _lint_imports(tree)
    finally:
        planted.unlink()
    assert result.returncode != 0
    assert f"{module[:-3].replace('/', '.')} -> {imported}" in result.stdout, result.stdout

"""pyproject.toml declares every distribution the code imports, at the lock's version: the locks are resolved
from it (``make lock``), so an import it leaves out works here only by the luck of another package's
dependencies. What runs in production declares it in ``dependencies``; the tests, the benchmarks and
make prod-check may use the ``dev`` extra too."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO
from tests.test_production_providers import _lock_pins

RUNTIME = ("ground", "ingest", "expectations", "nightly", "reporting", "bi", "portal", "sampledata", "dgwh", "dags",
           "docker/airflow")
DEVELOPMENT = ("bench", "prodcheck", "tests", "docker/generate_env.py")
# Imported by modules that run in Superset's own virtualenv (bi/venv.py), pinned in its requirements.
OWN_VIRTUALENV = {"superset": ("bi/provision.py", "apache-superset"),
                  "playwright": ("bi/browser_check.py", "playwright")}


def _own_top_names() -> set[str]:
    return {p.name for p in REPO.iterdir() if (p / "__init__.py").exists()} | {"common", "tests"}


def _imports(places: tuple[str, ...]) -> dict[str, set[str]]:
    """Third-party top-level modules imported anywhere in ``places`` (also inside functions), each with the
    files importing it."""
    skip = set(sys.stdlib_module_names) | _own_top_names() | {"__future__"}
    found: dict[str, set[str]] = {}
    for place in places:
        root = REPO / place
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module.split(".")[0]]
                else:
                    continue
                for name in names:
                    if name not in skip:
                        found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def _declared() -> tuple[dict[str, Requirement], dict[str, Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    dev = {canonicalize_name(r.name): r for r in map(Requirement, project["optional-dependencies"]["dev"])}
    return runtime, dev


def _undeclared(imports: dict[str, set[str]], declared: set[str]) -> list[str]:
    providers = importlib.metadata.packages_distributions()
    missing = []
    for module, files in sorted(imports.items()):
        if module in OWN_VIRTUALENV and files <= {OWN_VIRTUALENV[module][0]}:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            missing.append(f"{module} (distribution {', '.join(sorted(dists)) or 'not installed'}; "
                           f"imported by {', '.join(sorted(files)[:3])})")
    return missing


def test_pyproject_declares_every_distribution_the_runtime_code_imports():
    imports = _imports(RUNTIME)
    assert {"yaml", "jinja2", "vl_convert", "psutil", "click"} <= set(imports)  # the walk sees them
    runtime, _ = _declared()
    assert _undeclared(imports, set(runtime)) == []


def test_the_tests_benchmarks_and_prod_check_import_only_declared_distributions():
    runtime, dev = _declared()
    assert _undeclared(_imports(DEVELOPMENT), set(runtime) | set(dev)) == []


def test_superset_side_imports_are_pinned_in_superset_s_own_requirements():
    pinned = {canonicalize_name(Requirement(line).name) for path in (REPO / "bi").glob("requirements*.txt")
              for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for module, (file, distribution) in OWN_VIRTUALENV.items():
        assert module in _imports((file,)), (module, file)
        assert canonicalize_name(distribution) in pinned, distribution


def test_every_declared_distribution_is_pinned_at_the_locks_version():
    pins = _lock_pins()
    runtime, dev = _declared()
    for name, req in {**runtime, **dev}.items():
        (spec,) = req.specifier
        assert spec.operator == "==", f"{req} is not pinned"
        assert pins.get(name) == spec.version, f"pyproject {req}, requirements.lock {pins.get(name)}"

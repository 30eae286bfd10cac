"""The runtime lock for the Airflow image (stdlib only: it runs inside ``docker build``).

``requirements-runtime.lock`` (``make lock``: pyproject.toml's dependencies, every one pinned with its hashes)
is what production runs. The base image ``apache/airflow:<version>-python3.11`` already holds Airflow core at the
same version, so its lines (and ``pgserver``, the embedded warehouse ``make run`` uses) are left out; the rest is
installed with ``pip install --no-deps --require-hashes``: exactly the locked files, nothing resolved, Airflow
not moved. The image's own constraints (``~/constraints.txt``) only serve the report of which pins differ
from what the image had.

After the install, ``check`` reads ``pip check``'s report and fails on any conflict of a package the
stack runs: the lock's packages, Airflow itself and the providers it is configured with. Conflicts of
providers the base image ships but nothing here uses (say, a cloud provider wanting an older protobuf)
are printed as warnings.

    python filter_requirements.py LOCK IMAGE_CONSTRAINTS OUT_REQUIREMENTS
    python filter_requirements.py check PIP_CHECK_REPORT REQUIREMENTS
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Airflow itself is the image's (same version); the providers are the lock's, the versions the tests ran with.
# Development tools are not in the runtime lock at all (pyproject's dev extra).
EXCLUDED = re.compile(r"^(apache-airflow(-core|-task-sdk)?|pgserver)$")
# The providers docker-compose.yml configures (executor, auth manager, broker, databases) and the DAGs
# use: requirements.lock pins exactly these, so the tests parse and run the DAGs with the production set
# (tests/test_production_providers.py).
PRODUCTION_PROVIDERS = frozenset(f"apache-airflow-providers-{p}" for p in (
    "celery", "fab", "postgres", "redis", "standard", "common-sql", "common-compat", "common-io",
    "openlineage", "smtp"))
RELIED_ON = {"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk", *PRODUCTION_PROVIDERS}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``PyYAML`` and ``pyyaml``, ``great_expectations`` and ``great-expectations``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The canonical distribution name of a requirement line; None for blanks, comments and options."""
    stripped = line.split("#", 1)[0].strip()
    if not stripped or stripped.startswith("-"):
        return None
    match = _NAME.match(stripped)
    return canonical(match.group(1)) if match else None


def entries(lock_lines: list[str]) -> list[str]:
    """The lock's requirements, one line each: a pin with its ``--hash`` options (continued lines joined),
    without comments."""
    out, current = [], ""
    for line in lock_lines:
        text = line.split("#", 1)[0].strip()  # a hash is sha256:<hex>: no '#' but a comment's
        continued = text.endswith("\\")
        current = f"{current} {text.removesuffix(chr(92)).strip()}".strip() if text else current
        if not continued and current:
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def pinned_version(entry: str) -> str:
    """``1.2.3`` of ``name==1.2.3 --hash=...`` (or ``name==1.2.3 ; marker``)."""
    return re.split(r"[\s;]", entry.split("==", 1)[1].strip(), maxsplit=1)[0]


def image_requirements(lock_lines: list[str]) -> list[str]:
    """The lock's pins (with their hashes) to install into the image."""
    kept = []
    for entry in entries(lock_lines):
        name = requirement_name(entry)
        if name is None or EXCLUDED.match(name):
            continue
        if "==" not in entry:
            raise ValueError(f"requirements lock: {entry!r} is not pinned with ==")
        if "--hash=" not in entry:
            raise ValueError(f"requirements lock: {entry!r} has no hash (make lock writes them)")
        kept.append(entry)
    return kept


def overridden(constraint_lines: list[str], requirements: list[str]) -> list[str]:
    """``name: image version -> lock version`` for the pins that change what the image has."""
    image = {requirement_name(line): pinned_version(line)
             for line in constraint_lines if requirement_name(line) and "==" in line}
    changes = []
    for line in requirements:
        name, version = requirement_name(line), pinned_version(line)
        if name in image and image[name] != version:
            changes.append(f"{name}: {image[name]} -> {version}")
    return changes


def conflicts(pip_check_report: list[str], requirements: list[str]) -> tuple[list[str], list[str]]:
    """``pip check`` lines split into (conflicts of what the stack runs, the rest)."""
    relied_on = RELIED_ON | {n for line in requirements if (n := requirement_name(line))}
    fatal, other = [], []
    for line in pip_check_report:
        if not line.strip() or line.startswith("No broken requirements"):
            continue
        (fatal if requirement_name(line) in relied_on else other).append(line.strip())
    return fatal, other


def check(report: Path, requirements: Path) -> int:
    fatal, other = conflicts(report.read_text().splitlines(), requirements.read_text().splitlines())
    for line in other:
        print(f"WARNING (a provider this stack does not use): {line}")
    for line in fatal:
        print(f"ERROR: {line}", file=sys.stderr)
    return 1 if fatal else 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "check":
        return check(Path(argv[1]), Path(argv[2]))
    if len(argv) != 3:
        print("usage:\n" + "\n".join(__doc__.strip().splitlines()[-2:]), file=sys.stderr)
        return 2
    lock, image_constraints_path, out_requirements = map(Path, argv)
    requirements = image_requirements(lock.read_text().splitlines())
    if image_constraints_path.exists():
        constraint_lines = image_constraints_path.read_text().splitlines()
    else:
        print(f"WARNING: {image_constraints_path} not found: cannot say which pins differ from the image",
              file=sys.stderr)
        constraint_lines = []
    Path(out_requirements).write_text("\n".join(requirements) + "\n")
    changes = overridden(constraint_lines, requirements)
    print(f"{len(requirements)} pins from the lock; {len(changes)} differ from the image"
          + "".join(f"\n  {c}" for c in changes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

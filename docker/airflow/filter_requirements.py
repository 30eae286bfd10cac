"""Split requirements.lock for the Airflow image (stdlib only: it runs inside ``docker build``).

The base image ``apache/airflow:<version>-python3.11`` already holds Airflow, its providers and the
constraints they were installed with (``~/constraints.txt``). So:

- requirements: the lock minus Airflow core (the image's own, same version) and
  what production does not need (``pgserver``: the embedded warehouse; ``uv``: the installer ``make`` uses;
  the test tools: pytest, ruff, sqlfluff, the local S3 server moto);
- constraints: the image's constraints minus every package the lock pins, so the lock's tested
  versions win for our packages and everything else stays as the image has it.

After the install, ``check`` reads ``pip check``'s report and fails on any conflict of a package the
stack runs: the lock's packages, Airflow itself and the providers it is configured with. Conflicts of
providers the base image ships but nothing here uses (say, a cloud provider wanting an older protobuf)
are printed as warnings.

    python filter_requirements.py LOCK IMAGE_CONSTRAINTS OUT_REQUIREMENTS OUT_CONSTRAINTS
    python filter_requirements.py check PIP_CHECK_REPORT REQUIREMENTS
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Airflow itself is the image's (same version); the providers are the lock's, the versions the tests ran with.
EXCLUDED = re.compile(r"^(apache-airflow(-core|-task-sdk)?|pgserver|uv|pytest(-xdist)?|execnet|ruff"
                      r"|moto|responses|py-partiql-parser|sqlfluff|diff-cover|tblib|chardet|regex)$")
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


def image_requirements(lock_lines: list[str]) -> list[str]:
    """The lock's pins to install into the image."""
    kept = []
    for line in lock_lines:
        name = requirement_name(line)
        if name is None or EXCLUDED.match(name):
            continue
        if "==" not in line:
            raise ValueError(f"requirements.lock: {line.strip()!r} is not pinned with ==")
        kept.append(line.strip())
    return kept


def image_constraints(constraint_lines: list[str], pinned: set[str]) -> list[str]:
    """The image's constraints for every package the lock does not pin."""
    return [line.strip() for line in constraint_lines
            if (name := requirement_name(line)) is not None and name not in pinned]


def overridden(constraint_lines: list[str], requirements: list[str]) -> list[str]:
    """``name: image version -> lock version`` for the pins that change what the image has."""
    image = {requirement_name(line): line.split("==", 1)[1].split(";")[0].strip()
             for line in constraint_lines if requirement_name(line) and "==" in line}
    changes = []
    for line in requirements:
        name = requirement_name(line)
        version = line.split("==", 1)[1].split(";")[0].strip()
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
    if len(argv) != 4:
        print("usage:\n" + "\n".join(__doc__.strip().splitlines()[-2:]), file=sys.stderr)
        return 2
    lock, image_constraints_path, out_requirements, out_constraints = map(Path, argv)
    requirements = image_requirements(lock.read_text().splitlines())
    if image_constraints_path.exists():
        constraint_lines = image_constraints_path.read_text().splitlines()
    else:
        print(f"WARNING: {image_constraints_path} not found: installing the lock without the image's constraints",
              file=sys.stderr)
        constraint_lines = []
    pinned = {n for line in requirements if (n := requirement_name(line))}
    Path(out_requirements).write_text("\n".join(requirements) + "\n")
    Path(out_constraints).write_text("\n".join(image_constraints(constraint_lines, pinned)) + "\n")
    changes = overridden(constraint_lines, requirements)
    print(f"{len(requirements)} pins from the lock; {len(changes)} differ from the image"
          + "".join(f"\n  {c}" for c in changes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

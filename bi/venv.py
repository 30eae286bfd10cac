"""Superset's own virtualenv, from pinned requirement files; never the pipeline's.

    python3 -m bi.venv VENV REQUIREMENTS...

Standard library only: ``make test`` runs it with the system Python (DGWH_TEST_BI=1), at the same time as the
pipeline's own install, before that virtualenv exists. ``make bi`` calls ``ensure`` through ``bi.local``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def _marker(venv: Path, requirements: Path) -> Path:
    """The digest of a requirements file as last installed (``.requirements.sha256`` for requirements.txt)."""
    return venv / f".{requirements.stem}.sha256"


def _digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def ensure(venv: Path, requirements: Sequence[Path], announce: str = "") -> bool:
    """Install each requirements file the virtualenv does not have as the file now reads; True when it
    installed something. A new virtualenv is made from the Python running this (a virtualenv's own Python makes
    one on its base interpreter)."""
    todo = [r for r in requirements
            if not (_marker(venv, r).exists() and _marker(venv, r).read_text() == _digest(r))]
    if not todo:
        return False
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if announce:
        print(announce, flush=True)
    for requirements_file in todo:
        # --no-compile: a third of the install was compiling every module to bytecode; Superset's processes
        # compile (and cache, bi.local.superset_env) only the modules they import, on first use.
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-compile", "-r", str(requirements_file)], check=True)
        _marker(venv, requirements_file).write_text(_digest(requirements_file))
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python3 -m bi.venv VENV REQUIREMENTS...", file=sys.stderr)
        return 2
    ensure(Path(argv[0]), [Path(a) for a in argv[1:]],
           announce=f"installing Superset into its own virtualenv {argv[0]} (a minute or two)...")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

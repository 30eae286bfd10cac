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

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _marker(venv: Path, requirements: Path) -> Path:
    """The digest of a requirements file as last installed (``.requirements.sha256`` for requirements.txt)."""
    return venv / f".{requirements.stem}.sha256"


def _digest(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def uv_requirement(lock: Path = LOCK) -> str:
    """The project's one pin of uv with its files' hashes (``uv==x.y.z --hash=sha256:...``), from
    requirements.lock: the installer of both virtualenvs."""
    lines = lock.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("uv=="):
            entry = [line]
            while entry[-1].rstrip().endswith("\\") and i + len(entry) < len(lines):
                entry.append(lines[i + len(entry)])
            return " ".join(part.strip().removesuffix("\\").strip() for part in entry)
    raise LookupError(f"{lock} pins no uv")


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
    python, uv = venv / "bin" / "python", venv / "bin" / "uv"
    if not uv.exists():
        pinned = venv / "uv-requirement.txt"
        pinned.write_text(uv_requirement() + "\n")
        subprocess.run([str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--no-deps",
                        "--require-hashes", "-r", str(pinned)], check=True)
    for requirements_file in todo:
        # uv resolves and installs in parallel (seconds; pip took two minutes). Like pip --no-compile, it writes
        # no bytecode: Superset's processes compile (and cache, bi.local.superset_env) only what they import.
        subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements_file)],
                       check=True)
        _marker(venv, requirements_file).write_text(_digest(requirements_file))
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python3 -m bi.venv VENV REQUIREMENTS...", file=sys.stderr)
        return 2
    ensure(Path(argv[0]), [Path(a) for a in argv[1:]],
           announce=f"installing Superset into its own virtualenv {argv[0]} (about half a minute)...")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

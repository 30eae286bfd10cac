"""bi.venv, the installer of Superset's virtualenv: uv at the lock's pin, a marker per requirements file, and
nothing reinstalled while the file reads the same."""

from __future__ import annotations

import re
import subprocess

import pytest

from bi.venv import LOCK, ensure, uv_requirement
from tests.test_production_providers import _lock_pins


def test_uv_is_the_locks_pin():
    assert re.fullmatch(rf"uv=={re.escape(_lock_pins()['uv'])}( --hash=sha256:[0-9a-f]{{64}})+", uv_requirement())
    assert LOCK.name == "requirements.lock" and LOCK.exists()


@pytest.mark.slow  # two installs into a new virtualenv (15 s): make test, not the edit loop
def test_ensure_installs_once_and_again_when_the_file_changes(tmp_path):
    venv, requirements = tmp_path / "venv", tmp_path / "requirements.txt"
    requirements.write_text(f"six=={_lock_pins()['six']}\n")
    assert ensure(venv, [requirements]) is True
    python = venv / "bin" / "python"

    def version(package: str) -> str:
        return subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
                              check=True, capture_output=True, text=True).stdout.strip()

    assert version("six") == _lock_pins()["six"]
    assert version("uv") == _lock_pins()["uv"]
    assert ensure(venv, [requirements]) is False  # same file: nothing to do

    requirements.write_text("six==1.16.0\n")
    assert ensure(venv, [requirements]) is True
    assert version("six") == "1.16.0"

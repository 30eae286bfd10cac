"""make help lists every command of the Makefile, one line each, and only commands that exist."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

CONTRACT = {"run", "test", "backfill", "warehouse-url", "stop", "bench", "prod-check", "bi", "test-fast", "help"}


def test_make_help_lists_every_phony_target_once_and_nothing_else():
    makefile = (REPO / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())
    targets = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):", makefile, re.M)}
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    listed = [line.split()[1] for line in out.splitlines() if line.strip()]
    assert all(line.startswith("make ") for line in out.splitlines() if line.strip())
    assert len(listed) == len(set(listed)), "a command is listed twice"
    assert set(listed) <= targets, f"listed but not in the Makefile: {set(listed) - targets}"
    assert phony - {"sample"} <= set(listed), f"not listed: {phony - {'sample'} - set(listed)}"
    assert CONTRACT <= set(listed)

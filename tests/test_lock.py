"""requirements.lock is the whole environment: ``make`` installs it with ``pip install --no-deps`` (nothing to
resolve), so every dependency of every pinned distribution must itself be pinned, at the version installed."""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_lock_pins_every_dependency_of_what_it_pins_at_the_installed_version():
    pins = _pins()
    missing, wrong = set(), {}
    for name, version in pins.items():
        dist = importlib.metadata.distribution(name)
        if dist.version != version:
            wrong[name] = (version, dist.version)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                if canonicalize_name(req.name) not in pins:
                    missing.add(f"{req.name} (needed by {name})")
    assert not wrong, f"installed versions differ from the lock: {wrong}"
    assert not missing, f"not pinned in requirements.lock: {sorted(missing)}"

"""requirements.lock is the whole environment: ``make`` installs it with ``pip install --no-deps`` (nothing to
resolve), so every dependency of every pinned distribution must itself be pinned, at the version installed."""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.test_production_providers import _lock_pins


def test_the_lock_pins_every_dependency_of_what_it_pins_at_the_installed_version():
    pins = _lock_pins()  # canonical names (PEP 503) -> pinned versions
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

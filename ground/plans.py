"""Budget-plan names damaged beyond what the dbt plan match absorbs, read as the registered name.

dbt (macro ``budget_plan_code``) gives a budget line the code of the longest registered plan whose
``name_key`` is a prefix of the line's. That already absorbs garbage after a name (the books'
``แผนงานบูรณาการรัฐบาลดิจิทัลaedde``, ``…ความมั่นคงเคง``), spaces and line breaks, and Thai marks
dropped or stored out of order (``รฐัม``, ``ดิจทัล``). It cannot absorb damage inside a name: a
consonant misread (``ชับเคลื่อน`` for ``ขับเคลื่อน`` in the books), a leading vowel lost
(``ทะล`` for ``ทะเล``), a cut-off tail. For those, a name within a few edits of exactly one
registered plan is read as that plan; parse keeps the text as written and reports the repair.
The registry is the dbt seed ``budget_plans.csv``; an ambiguous or distant name is left alone
(dbt then files it under the catch-all ``integration_unmapped`` or no plan at all).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ground.settings import get_settings
from ground.thai import name_key

PLANS_SEED = "budget_plans.csv"
EDIT_SLACK = 10  # one edit allowed per this many key characters (at least one)


@dataclass(frozen=True)
class PlanRegistry:
    """Registered plan names; ``specific`` leaves out catch-alls that prefix other plans."""

    names: tuple[str, ...]

    @property
    def specific(self) -> tuple[tuple[str, str], ...]:
        keys = [(name_key(n), n) for n in self.names]
        return tuple((k, n) for k, n in keys if not any(o != k and o.startswith(k) for o, _ in keys))


@lru_cache(maxsize=4)
def load_registry(seeds_dir: Path) -> PlanRegistry:
    path = seeds_dir / PLANS_SEED
    if not path.exists():
        return PlanRegistry(())
    with open(path, encoding="utf-8", newline="") as fh:
        return PlanRegistry(tuple(row["budget_plan_name_th"] for row in csv.DictReader(fh)
                                  if row.get("budget_plan_name_th")))


def registered_plans() -> PlanRegistry:
    return load_registry(get_settings().seeds_dir)


def max_edits(key: str) -> int:
    return max(1, len(key) // EDIT_SLACK)


def prefix_distance(pattern: str, text: str) -> list[int]:
    """Edit distance from ``pattern`` to each prefix ``text[:j]`` (j = 0..len(text))."""
    previous = list(range(len(text) + 1))
    for i, p in enumerate(pattern, start=1):
        current = [i]
        for j, t in enumerate(text, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (p != t)))
        previous = current
    return previous


@lru_cache(maxsize=4096)
def _repair(key: str, registry: PlanRegistry) -> str | None:
    specific = registry.specific
    if not key or any(key.startswith(k) for k, _ in specific):
        return None  # dbt's prefix match already finds it
    near = []
    for plan_key, name in specific:
        allowed = max_edits(plan_key)
        distances = prefix_distance(plan_key, key)
        window = distances[max(0, len(plan_key) - allowed):len(plan_key) + allowed + 1]
        if window and min(window) <= allowed:
            near.append(name)
    return near[0] if len(near) == 1 else None


def repair_plan_name(text: str | None, registry: PlanRegistry | None = None) -> str | None:
    """The registered plan an OCR-damaged name stands for; None when it needs no repair or none is safe."""
    if not text:
        return None
    return _repair(name_key(text), registry if registry is not None else registered_plans())

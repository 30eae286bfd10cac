"""``make backfill FROM=… TO=…``: check the range and print the DAG conf, or one line saying what is wrong.

FROM and TO come from the environment (make exports its command-line variables), so nothing a user types
reaches a shell or a JSON document unchecked; the bounds are the backfill DAG's own (dags/dg_backfill.py).
"""

from __future__ import annotations

import json
import os
import sys

from ground.settings import plausible_fiscal_years

# The plausible fiscal years (dbt vars fy_min_be/fy_max_be, BE), which the dg_backfill DAG's params accept.
FY_MIN, FY_MAX = plausible_fiscal_years()


def check(fy_from: str, fy_to: str) -> dict[str, int]:
    """The conf for dg_backfill, or ValueError with a one-line reason."""
    if not fy_from or not fy_to:
        raise ValueError("usage: make backfill FROM=<BE year> TO=<BE year>, e.g. FROM=2563 TO=2565")
    years = {}
    for name, value in (("FROM", fy_from), ("TO", fy_to)):
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            raise ValueError(f"{name}={value!r} is not a year: give a Buddhist Era year such as 2565")
        year = int(text)
        if 1900 <= year <= 2100:
            raise ValueError(f"{name}={year} looks like a CE year: give the Buddhist Era year ({year + 543})")
        if not FY_MIN <= year <= FY_MAX:
            raise ValueError(f"{name}={year} is outside the fiscal years the warehouse covers ({FY_MIN}-{FY_MAX})")
        years[name] = year
    if years["FROM"] > years["TO"]:
        raise ValueError(f"FROM ({years['FROM']}) is after TO ({years['TO']})")
    return {"fy_from": years["FROM"], "fy_to": years["TO"]}


def conf_line(fy_from: str, fy_to: str) -> int:
    """Print dg_backfill's conf for the range, or one error line (exit 2)."""
    try:
        conf = check(fy_from, fy_to)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(conf))
    return 0


def main() -> int:
    return conf_line(os.environ.get("FROM", ""), os.environ.get("TO", ""))


if __name__ == "__main__":
    raise SystemExit(main())

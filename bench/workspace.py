"""A throwaway checkout-like directory per benchmark scale: landing zone, dbt project, state.

The dbt project is copied so that its seeds can hold the scaled agency registry (the local
organisations) without touching the repository's; ``DGWH_REPO_ROOT`` points the pipeline at it.
Each workspace has its own embedded PostgreSQL in its state dir, as the test fixtures do.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.readers import detect_encoding

REPO = Path(__file__).resolve().parent.parent
LOCAL_GLOB = "readiness/*/readiness_local_*.csv"


def shared_dir() -> Path | None:
    """``../shared`` (the real budget books), as the tests find it; None when absent."""
    path = Path(os.environ.get("DGWH_SHARED_DIR", REPO.parent / "shared"))
    return path if path.exists() else None


@dataclass(frozen=True)
class Workspace:
    root: Path
    scale: int

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def seeds(self) -> Path:
        return self.repo / "dbt_project" / "seeds"

    @classmethod
    def create(cls, root: Path, scale: int, history: bool = True) -> Workspace:
        """Copy the dbt project and write the sample at ``scale``; without ``history`` keep only the
        local organisations' readiness files (a small landing zone for the smoke test)."""
        from sampledata.generate import generate

        ws = cls(root, scale)
        shutil.copytree(REPO / "dbt_project", ws.repo / "dbt_project",
                        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
        generate(ws.landing, ws.seeds, shared_dir(), scale=scale)
        if not history:
            keep = set(ws.local_files())
            for path in [p for p in ws.landing.rglob("*") if p.is_file() and p not in keep]:
                path.unlink()
        return ws

    def use(self) -> None:
        """Point this process's pipeline settings at the workspace (as the tests' ``Warehouse.use``)."""
        os.environ["DGWH_REPO_ROOT"] = str(self.repo)
        os.environ["DGWH_STATE_DIR"] = str(self.state)
        os.environ["LANDING_ZONE"] = str(self.landing)
        os.environ.pop("WAREHOUSE_URL", None)
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    def local_files(self) -> list[Path]:
        return sorted(self.landing.glob(LOCAL_GLOB))

    @property
    def national_landing(self) -> Path:
        return self.root / "landing_national"

    def stop(self) -> None:
        from ground.embedded_pg import EmbeddedWarehouse

        EmbeddedWarehouse(self.state).stop()


def _read(path: Path) -> tuple[str, list[list[str]]]:
    with open(path, "rb") as fh:
        encoding = detect_encoding(fh.read(65536))
    with open(path, encoding=encoding, newline="") as fh:
        return encoding, list(csv.reader(fh))


def _write(path: Path, encoding: str, rows: list[list[str]], offset_s: int) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    now = time.time() + offset_s  # received after everything else: it supersedes
    os.utime(path, (now, now))
    return path


def write_local_correction(ws: Workspace) -> Path:
    """The newest year's local-organisation file sent again with one score in a hundred corrected:
    the largest single file a night can bring (every local organisation's partition of that year)."""
    source = ws.local_files()[-1]
    encoding, rows = _read(source)
    for i, row in enumerate(rows[1:], start=1):
        if i % 100 == 0 and row[5]:
            row[5] = f"{min(100.0, float(row[5]) + 1):.2f}"
    return _write(source.with_name(source.stem + "_corrected.csv"), encoding, rows, 1)


def write_agency_correction(ws: Workspace) -> Path:
    """One department's own one-row readiness answer for the newest year (the usual nightly file)."""
    with open(ws.seeds / "agencies.csv", encoding="utf-8", newline="") as fh:
        department = next(r for r in csv.DictReader(fh) if r["agency_level"] == "department")
    encoding, rows = _read(ws.local_files()[-1])
    year = rows[1][0]
    row = [year, department["agency_name_th"], "ระดับกรม", "", "ตอบแล้ว", "71.50", "64.25", "80.00", "55.75",
           "60.00", "70.50", rows[1][-1] or f"1 ส.ค. {year}"]
    path = ws.landing / "readiness" / year / f"readiness_{department['agency_id']}_{year}_resubmitted.csv"
    return _write(path, "utf-8", [rows[0], row], 2)


def write_national(ws: Workspace, limit: int | None = None) -> tuple[int, list[Path]]:
    """Every organisation's own one-row readiness file for the newest survey year, in a landing zone of its
    own (``ws.national_landing``): each row of that year's local-organisation file as it is written, and each
    department's and provincial office's answer (read from the sample's workbooks) under the canonical
    column names. ``limit``: only that many files (the smoke test). Returns (year, files)."""
    from ground.sources import SOURCES
    from ingest.parse import parse_file

    local = ws.local_files()[-1]
    year = int(local.parent.name)
    encoding, rows = _read(local)
    header, body = rows[0], rows[1:]
    out = ws.national_landing / "readiness" / str(year)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, row in enumerate(body):
        written.append(_write(out / f"local_{i:05d}.csv", encoding, [header, row], -3600))
    columns = [c.name for c in SOURCES["readiness"].columns]
    for workbook in sorted(local.parent.glob("readiness_*.xlsx")):
        for i, rec in enumerate(parse_file(workbook, SOURCES["readiness"]).records):
            cells = ["" if rec.get(c) is None else str(rec[c]) for c in columns]
            written.append(_write(out / f"{workbook.stem}_{i:05d}.csv", "utf-8", [columns, cells], -3600))
    if limit is not None:
        for path in written[limit:]:
            path.unlink()
        written = written[:limit]
    return year, written

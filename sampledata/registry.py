"""The agency registry of the sample: real names, stable ids (written to the dbt seeds)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ground.thai import name_key, normalize_text
from sampledata import names

DEPARTMENT_TARGET = 335
BOOKS_DIR = "data/budget_bill_fy2565"


@dataclass(frozen=True)
class Agency:
    agency_id: str
    name_th: str
    name_en: str
    ministry_th: str
    level: str
    province_th: str = ""


def _book_units(shared_dir: Path) -> list[tuple[str, str]]:
    units: dict[str, tuple[str, str]] = {}
    for book in sorted((shared_dir / BOOKS_DIR).glob("*.csv")):
        with open(book, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                unit, ministry = normalize_text(row["BUDGETARY_UNIT"]), normalize_text(row["MINISTRY"])
                if unit and unit != "งบกลาง":
                    units.setdefault(name_key(unit), (unit, ministry))
    return list(units.values())


def build_registry(shared_dir: Path | None) -> list[Agency]:
    departments: dict[str, tuple[str, str]] = {}

    def add(name: str, ministry: str) -> None:
        departments.setdefault(name_key(name), (name, ministry))

    for ministry, units in names.MINISTRY_DEPARTMENTS.items():
        for unit in units:
            add(unit, ministry)
    for unit, ministry in names.EXTRA_DEPARTMENTS:
        add(unit, ministry)
    if shared_dir and (shared_dir / BOOKS_DIR).exists():
        for unit, ministry in _book_units(shared_dir):
            add(unit, ministry)
    higher_ed = "กระทรวงการอุดมศึกษา วิทยาศาสตร์ วิจัยและนวัตกรรม"
    for place in names.RAJABHAT:
        add(f"มหาวิทยาลัยราชภัฏ{place}", higher_ed)
    for place in names.RAJAMANGALA:
        add(f"มหาวิทยาลัยเทคโนโลยีราชมงคล{place}", higher_ed)
    for uni in names.PUBLIC_UNIVERSITIES:
        add(uni, higher_ed)
    for org in names.PUBLIC_ORGANISATIONS:
        add(f"{org} (องค์การมหาชน)", "หน่วยงานของรัฐ")
    area = 1
    while len(departments) < DEPARTMENT_TARGET:
        add(f"สำนักงานเขตพื้นที่การศึกษามัธยมศึกษา เขต {area}", "กระทรวงศึกษาธิการ")
        area += 1
    agencies = [Agency(f"D{i:04d}", n, _english(n), m, "department")
                for i, (n, m) in enumerate(departments.values(), start=1)]
    agencies += [Agency(f"S{i:02d}", n, "", "กระทรวงมหาดไทย", "special_local", "กรุงเทพมหานคร" if i == 1 else "ชลบุรี")
                 for i, n in enumerate(names.SPECIAL_LOCAL, start=1)]
    i = 0
    for office, ministry in names.PROVINCIAL_OFFICES:
        for province in names.PROVINCES:
            i += 1
            agencies.append(Agency(f"P{i:04d}", f"{office}{province}", "", ministry, "province", province))
    return agencies


_ENGLISH = {
    "สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)": "Digital Government Development Agency (DGA)",
    "สำนักงานสถิติแห่งชาติ": "National Statistical Office",
    "สำนักงบประมาณ": "Bureau of the Budget",
    "สำนักงานคณะกรรมการพัฒนาระบบราชการ": "Office of the Public Sector Development Commission",
    "สำนักงานปลัดกระทรวงดิจิทัลเพื่อเศรษฐกิจและสังคม": "Office of the Permanent Secretary, Ministry of Digital Economy and Society",
    "กรมการปกครอง": "Department of Provincial Administration",
    "กรมสรรพากร": "Revenue Department",
    "กรมบัญชีกลาง": "Comptroller General's Department",
    "สำนักงานตำรวจแห่งชาติ": "Royal Thai Police",
}


def _english(name_th: str) -> str:
    return _ENGLISH.get(name_th, "")


def registry_from_seeds(seeds_dir: Path) -> list[Agency]:
    """The registry as the tracked seeds hold it (a checkout without ../shared cannot rebuild it)."""
    with open(seeds_dir / "agencies.csv", encoding="utf-8", newline="") as fh:
        return [Agency(*row) for i, row in enumerate(csv.reader(fh)) if i and row and row[4] != "local"]


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds exactly it (a seed is rewritten only when it differs)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8", newline="")
    return True


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def write_seeds(agencies: list[Agency], seeds_dir: Path) -> None:
    by_name = {a.name_th: a.agency_id for a in agencies}
    write_if_changed(seeds_dir / "agencies.csv", _csv_text(
        [["agency_id", "agency_name_th", "agency_name_en", "ministry_name_th", "agency_level", "province_name_th"]]
        + [[a.agency_id, a.name_th, a.name_en, a.ministry_th, a.level, a.province_th] for a in agencies]))
    write_if_changed(seeds_dir / "agency_aliases.csv", _csv_text(
        [["alias", "agency_id", "note"]] + [[alias, by_name[canonical], "abbreviation or former name"]
                                            for alias, canonical in names.ALIASES if canonical in by_name]))

"""Allowed values as the source documents write them, their usual variants, and the nearest label.

The canonical Thai (and English) label of each code lives in one place: the dbt seed the marts
read (``approaches.csv``, ``focus_areas.csv``, ``obstacle_categories.csv``, ``plans.csv``). This
module adds the variants people write (with or without ด้าน / กลุ่ม / ปัญหา / แนวทางที่ N, ๆ
spacing, an abbreviation, the English name, the Thai name with its English name in brackets) and
resolves a cell to its code, or says which known label is nearest.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ground.settings import REPO_ROOT
from ground.thai import name_key, to_arabic_digits

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
# Words that head a label without changing it, as keys (name_key drops Thai marks and spaces):
# ด้าน, กลุ่ม, ปัญหา, แนวทางที่ 1, แนวทาง, ด้านที่มุ่งเน้น.
_PREFIX = re.compile(r"^(?:ดาน|กลม|ปญหา|แนวทางท\d*|แนวทาง|การมงเนน)+")
_BRACKETS = re.compile(r"[(\[（]([^)\]）]*)[)\]）]")
_BE_YEAR = re.compile(r"(25\d\d)")


def _keys(text: str) -> set[str]:
    """Every key a label can be known by: whole, without its heading words, and per bracket part."""
    text = to_arabic_digits(text)
    parts = [text, _BRACKETS.sub(" ", text), *_BRACKETS.findall(text)]
    keys: set[str] = set()
    for part in parts:
        key = name_key(part)
        if key:
            keys.add(key)
            stripped = _PREFIX.sub("", key)
            if stripped:
                keys.add(stripped)
    return keys


@dataclass
class Vocabulary:
    """One column's allowed codes: ``labels`` maps each code to its spellings, the documents' words first."""

    name: str
    labels: dict[str, tuple[str, ...]]
    lookup: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.lookup = {}
        for code, spellings in self.labels.items():
            for spelling in (code, *spellings):
                for key in _keys(spelling):
                    self.lookup.setdefault(key, code)

    def resolve(self, text: str) -> str:
        """The code a cell means; ValueError naming the nearest known label when none matches."""
        lookup = self.lookup
        keys = _keys(text)
        found = {lookup[k] for k in keys if k in lookup}
        if len(found) == 1:
            return found.pop()
        if self.name == "plan":
            code = _plan_by_years(text)
            if code:
                return code
        if len(found) > 1:
            raise ValueError(f"ambiguous: {text.strip()!r} could be {', '.join(sorted(found))}")
        raise ValueError(f"not one of {', '.join(self.labels)}: {text.strip()!r}{self.nearest(text)}")

    def nearest(self, text: str) -> str:
        """"; nearest: <label> (<code>)" for the closest known spelling, or "" when nothing is close."""
        lookup = self.lookup
        best: tuple[float, str] | None = None
        for key in _keys(text):
            for match in difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.6):
                score = difflib.SequenceMatcher(None, key, match).ratio()
                if best is None or score > best[0]:
                    best = (score, lookup[match])
        if best is None:
            return ""
        code = best[1]
        return f"; nearest: {self.labels[code][0]} ({code})"


@lru_cache(maxsize=8)
def _seed(name: str) -> tuple[dict[str, str], ...]:
    with open(SEEDS / name, encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def _from_seed(name: str, file: str, code: str, th: str, en: str,
               variants: dict[str, tuple[str, ...]]) -> Vocabulary:
    labels = {row[code]: (row[th], row[en], *variants.get(row[code], ())) for row in _seed(file)}
    return Vocabulary(name, labels)


# Variants beyond the documents' words (the seed's Thai label) and the English name.
APPROACH_VARIANTS = {
    "digital_skills": ("การเพิ่มขีดความสามารถบุคลากรภาครัฐให้พร้อมรองรับการเป็นรัฐบาลดิจิทัล", "ทักษะดิจิทัล",
                       "ทักษะดิจิทัลของบุคลากรภาครัฐ", "การพัฒนาทักษะดิจิทัลของบุคลากรภาครัฐ", "Digital Skills",
                       "แนวทางที่ 1"),
    "common_platform": ("การสนับสนุนการพัฒนาแพลตฟอร์มกลางหรือโครงสร้างพื้นฐานดิจิทัลกลางภาครัฐ", "แพลตฟอร์มกลาง",
                        "แพลตฟอร์มดิจิทัลกลาง", "แพลตฟอร์มกลางดิจิทัล", "โครงสร้างพื้นฐานดิจิทัลกลางภาครัฐ",
                        "Digital Common Platform", "แนวทางที่ 2"),
    "e2e_services": ("การบูรณาการข้อมูลและบริการภาครัฐในรูปแบบดิจิทัล ผ่านแพลตฟอร์มบริการแบบเบ็ดเสร็จ"
                     "เพื่อตอบสนองตามความต้องการของผู้ใช้บริการ", "การบูรณาการข้อมูลและบริการภาครัฐในรูปแบบดิจิทัล",
                     "บริการดิจิทัลแบบเบ็ดเสร็จ", "ข้อมูลและบริการดิจิทัลแบบเบ็ดเสร็จ",
                     "End-to-End Digital Data and Services via Digital Service Platform",
                     "End-to-End Digital Data and Services", "Digital Service Platform", "End-to-End", "E2E",
                     "แนวทางที่ 3"),
}
FOCUS_AREA_VARIANTS = {
    "agriculture": ("เกษตร", "การเกษตร", "เกษตรกรรม"),
    "education": ("การศึกษา",),
    "health": ("สุขภาพการแพทย์", "สุขภาพและการแพทย์", "สาธารณสุขและการแพทย์", "สาธารณสุข", "การแพทย์", "health"),
    "welfare": ("ความเหลื่อมล้ำสิทธิสวัสดิการ", "ความเหลื่อมล้ำและสิทธิสวัสดิการ", "สิทธิสวัสดิการ", "สวัสดิการ",
                "ความเหลื่อมล้ำ", "welfare", "inequality"),
    "transparency": ("โปร่งใสและการมีส่วนร่วม", "ความโปร่งใสและการมีส่วนร่วม", "ความโปร่งใส", "transparency"),
    "sme": ("SMEs", "SME", "วิสาหกิจขนาดกลางและขนาดย่อม", "วิสาหกิจขนาดกลางและขนาดย่อม (SMEs)"),
    "other": ("อื่น ๆ", "อื่นๆ", "อื่น ๆ ที่สนับสนุนการพัฒนารัฐบาลดิจิทัล", "อื่นๆ ที่สนับสนุนรัฐบาลดิจิทัล", "other"),
}
OBSTACLE_VARIANTS = {
    "law": ("กฎหมาย", "กฎหมาย/ระเบียบ", "กฎหมายและระเบียบ", "ระเบียบ", "กฎระเบียบ", "legal", "law"),
    "budget": ("งบประมาณ", "budget"),
    "data": ("ข้อมูล", "data"),
    "personnel": ("บุคลากร", "staff", "personnel"),
    "equipment": ("อุปกรณ์", "เครื่องมือ", "เครื่องมือและอุปกรณ์", "equipment"),
    "other": ("อื่นๆ", "อื่น ๆ", "ปัญหาอื่น ๆ", "other"),
}
PLAN_VARIANTS = {
    "dg_2559_2561": ("แผนพัฒนารัฐบาลดิจิทัลของประเทศไทย ระยะ ๓ ปี (พ.ศ.๒๕๕๙ - ๒๕๖๑)", "แผนพัฒนารัฐบาลดิจิทัล ระยะ 3 ปี",
                     "ระยะที่ 1"),
    "dg_2560_2564": ("แผนพัฒนารัฐบาลดิจิทัล ระยะที่ ๒ (พ.ศ.๒๕๖๐-๒๕๖๔)", "ระยะที่ 2"),
    "dg_2563_2565": ("แผนพัฒนารัฐบาลดิจิทัลของประเทศไทย พ.ศ. ๒๕๖๓ - ๒๕๖๕",),
}


@lru_cache(maxsize=1)
def approaches() -> Vocabulary:
    return _from_seed("approach", "approaches.csv", "approach_code", "approach_name_th", "approach_name_en",
                      APPROACH_VARIANTS)


@lru_cache(maxsize=1)
def focus_areas() -> Vocabulary:
    return _from_seed("focus_area", "focus_areas.csv", "focus_area_code", "focus_area_name_th", "focus_area_name_en",
                      FOCUS_AREA_VARIANTS)


@lru_cache(maxsize=1)
def obstacle_categories() -> Vocabulary:
    return _from_seed("obstacle", "obstacle_categories.csv", "category", "category_name_th", "category_name_en",
                      OBSTACLE_VARIANTS)


@lru_cache(maxsize=1)
def plans() -> Vocabulary:
    return _from_seed("plan", "plans.csv", "plan_code", "plan_name_th", "plan_name_en", PLAN_VARIANTS)


def _plan_by_years(text: str) -> str | None:
    """A plan named by its years: "แผนฯ (พ.ศ.๒๕๕๙ - ๒๕๖๑)", "2560-2564" (the first and last BE fiscal year)."""
    years = [int(y) for y in _BE_YEAR.findall(to_arabic_digits(text))]
    if len(years) < 2:
        return None
    first, last = years[0], years[-1]
    match = [r["plan_code"] for r in _seed("plans.csv")
             if int(r["first_fy_be"]) == first and int(r["last_fy_be"]) == last]
    return match[0] if len(match) == 1 else None

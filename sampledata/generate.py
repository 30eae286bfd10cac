"""Write the sample landing zone: four sources, BE 2558-2568, with the quirks of real submissions.

Deterministic (fixed seed, fixed file times). The record-level data reproduce the published
figures of contract.md only when aggregated: nothing here writes a total.

    python -m sampledata.generate [--landing DIR] [--seeds DIR] [--shared DIR] [--scale N] [--if-empty]
    python -m sampledata.generate --for-run      # make run: see landing_for_run
    python -m sampledata.generate --refresh-seeds  # maintainers: rewrite the tracked seeds (only if they differ)

Never writes the tracked ``dbt_project/seeds`` unless asked (``--refresh-seeds``): without ``../shared`` the
registry is read from them, so the sample matches them in any checkout.

``--scale N`` (1-16, for benchmarks) adds local administrative organisations: N/16 of the 7,850
(all of them at 16) are registered and answer the readiness survey every year 2558-2568, one file
per year, on top of everything else. Without it (scale 0) the output is the published sample.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ground.settings import get_settings
from ground.sources import BUDGET_BILL_COLUMNS
from ground.thai import name_key
from sampledata.registry import BOOKS_DIR, Agency, build_registry, registry_from_seeds, write_if_changed, write_seeds

BKK = timezone(timedelta(hours=7))
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
THAI_MONTH_ABBR = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
# Labels as the source documents write them (seed 000's obstacles, seed 003's approaches and focus areas).
OBSTACLES_TH = {"law": "ด้านกฎหมาย", "budget": "ด้านงบประมาณ", "data": "ด้านข้อมูล", "personnel": "ด้านบุคลากร",
                "equipment": "ด้านอุปกรณ์", "other": "ปัญหาอื่นๆ"}
STATUS_TH = {"started": "เริ่มดำเนินการแล้ว", "completed": "ดำเนินการแล้วเสร็จ", "not_started": "ยังไม่เริ่มดำเนินการ"}
APPROACH_TH = {"digital_skills": "Digital Skills", "common_platform": "Digital Common Platform",
               "e2e_services": "End-to-End Digital Data and Services"}
FOCUS_TH = {"agriculture": "ด้านการเกษตร", "education": "ด้านการศึกษา", "health": "ด้านสุขภาพการแพทย์",
            "welfare": "ด้านความเหลื่อมล้ำสิทธิสวัสดิการ", "transparency": "ด้านกลุ่มโปร่งใสและการมีส่วนร่วม",
            "sme": "ด้านกลุ่ม SMEs", "other": "ด้านอื่น ๆ ที่สนับสนุนการพัฒนารัฐบาลดิจิทัล"}
# From FY 2566 the briefing's full Thai names of the approaches (seed 003), numbered as it numbers them.
APPROACH_FULL_TH = {
    "digital_skills": "แนวทางที่ 1 การเพิ่มขีดความสามารถบุคลากรภาครัฐให้พร้อมรองรับการเป็นรัฐบาลดิจิทัล (Digital Skills)",
    "common_platform": "แนวทางที่ 2 การสนับสนุนการพัฒนาแพลตฟอร์มกลางหรือโครงสร้างพื้นฐานดิจิทัลกลางภาครัฐ "
                       "(Digital Common Platform)",
    "e2e_services": "แนวทางที่ 3 การบูรณาการข้อมูลและบริการภาครัฐในรูปแบบดิจิทัล ผ่านแพลตฟอร์มบริการแบบเบ็ดเสร็จ"
                    "เพื่อตอบสนองตามความต้องการของผู้ใช้บริการ (End-to-End Digital Data and Services via Digital "
                    "Service Platform)"}
PILLARS = ["score_strategy", "score_public_services", "score_infrastructure", "score_data", "score_personnel",
           "score_regulation"]
PILLAR_TH = ["ยุทธศาสตร์และนโยบาย", "การให้บริการภาครัฐ", "โครงสร้างพื้นฐานดิจิทัล", "ข้อมูลภาครัฐ", "บุคลากรภาครัฐ",
             "กฎหมายและกฎระเบียบ"]
DG_PLAN = "แผนงานบูรณาการรัฐบาลดิจิทัล"
DGA = "สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)"

# Plans: code, years, projects, planned-start years. Plan 1's reporting FY 2559 is fixed by seed 000.
PLANS = [("dg_2559_2561", 2559, 2561, 36, {2559: 21, 2560: 15}, 25),
         ("dg_2560_2564", 2560, 2564, 30, {2560: 10, 2561: 12, 2562: 8}, 22),
         ("dg_2563_2565", 2563, 2565, 24, {2563: 12, 2564: 8, 2565: 4}, 18)]
# Readiness targets per survey year: (department, special_local, province, response rates or exact counts).
# The survey has run every year since BE 2558 (domain.md); the sample starts there.
READINESS_TARGETS = {2558: (270, 2, 1450), 2559: (280, 2, 1500), 2560: (290, 2, 1540), 2561: (300, 2, 1580),
                     2562: (310, 2, 1600), 2563: (315, 2, 1609), 2564: (328, 2, 1609), 2565: (320, 2, 1554),
                     2566: (325, 2, 1600), 2567: (330, 2, 1620), 2568: (335, 2, 1640)}
READINESS_RESPONDED = {2563: (292, 2, 1556)}
READINESS_MEANS = {2561: {"department": Decimal("60.28"), "province": Decimal("45.67")}}
INTEGRATION_YEARS = {2563: (24, 40), 2564: (27, 45), 2565: (29, 50), 2566: (31, 55), 2567: (30, 52), 2568: (32, 58)}
INTEGRATION_TOTALS = {2565: 2_409_396_200}
# Local administrative organisations (scale > 0): kinds and national counts, 7,850 in all.
PAO = "องค์การบริหารส่วนจังหวัด"
LOCAL_KINDS = [("เทศบาลนคร", 30), ("เทศบาลเมือง", 195), ("เทศบาลตำบล", 2247), ("องค์การบริหารส่วนตำบล", 5302)]
LOCAL_TOTAL = 7850
MAX_SCALE = 16
PLACE_HEADS = ["บ้าน", "หนอง", "โนน", "ดอน", "นา", "ห้วย", "ท่า", "วัง", "บาง", "คลอง", "โคก", "บึง", "ทุ่ง", "เขา",
               "ป่า", "สระ", "ไร่", "หัว", "แม่", "ปาก"]
PLACE_TAILS = ["ใหญ่", "แก้ว", "ทอง", "สูง", "ยาง", "หลวง", "ใต้", "เหนือ", "ไผ่", "บัว", "ช้าง", "สะแก", "งาม", "ขาม",
               "จาน", "แดง", "ม่วง", "กลาง", "น้อย", "เกลือ", "ตะเคียน", "โพธิ์", "ไทร", "มะขาม", "ขี้เหล็ก", "กระทุ่ม",
               "ลาน", "หิน", "ทราย", "เตย"]


@dataclass
class Project:
    plan: str
    code: str
    name: str
    strategy: int
    domain: int
    lead: Agency
    planned: int
    actual: int | None  # fiscal year it really started (None: not in any reported year)


def _write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8",
               title: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        if title:
            w.writerow(title)
        w.writerow(header)
        if encoding == "cp874":  # TIS-620 has no zero-width space: the old exports never carried one
            rows = [[c.replace("\u200b", "") if isinstance(c, str) else c for c in r] for r in rows]
        w.writerows(rows)


def _write_xlsx(path: Path, header: list[str], rows: list[list[object]], title: str,
                group: tuple[str, int, int] | None = None, extra_sheet: bool = True) -> None:
    """A workbook as agencies send them: a notes sheet, title rows, optionally a merged group header."""
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    if extra_sheet:
        notes = wb.active
        notes.title = "คำอธิบาย"
        notes.append(["แบบฟอร์มนี้จัดทำโดย สพร. กรุณากรอกข้อมูลในแผ่นงาน 'ข้อมูล'"])
        ws = wb.create_sheet("ข้อมูล")
    else:
        ws = wb.active
        ws.title = "ข้อมูล"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append([f"ข้อมูล ณ วันที่ {date(2022, 12, 1).day} ธ.ค. 2565"])
    if group:
        label, first, last = group
        upper = [h if not (first <= i <= last) else (label if i == first else None) for i, h in enumerate(header)]
        lower = [None if not (first <= i <= last) else h for i, h in enumerate(header)]
        ws.append(upper)
        ws.append(lower)
        ws.merge_cells(start_row=3, start_column=first + 1, end_row=3, end_column=last + 1)
        for i in range(len(header)):
            if not (first <= i <= last):
                ws.merge_cells(start_row=3, start_column=i + 1, end_row=4, end_column=i + 1)
    else:
        ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)


def _touch(path: Path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


def _received(fy_be: int, month: int = 9, day: int = 15) -> datetime:
    ce = fy_be - 543
    return datetime(ce if month <= 9 else ce - 1, month, day, 10, 0, tzinfo=BKK)


def _thai_date(d: date, digits: bool = False) -> str:
    text = f"{d.day} {THAI_MONTH_ABBR[d.month - 1]} {d.year + 543}"
    return text.translate(THAI_DIGITS) if digits else text


def _scramble(name: str) -> str:
    """PDF-extraction damage: an above vowel stored after the next consonant (รัฐ -> รฐั)."""
    return name.replace("รัฐ", "รฐั", 1) if "รัฐ" in name else name.replace("ั", "", 0)


def _variant(agency: Agency, year: int, rng: random.Random) -> str:
    """How an officer writes the agency's name this year."""
    name = agency.name_th
    if name == DGA:
        return "สำนักงานรัฐบาลอิเล็กทรอนิกส์ (องค์การมหาชน)" if year <= 2560 else rng.choice([DGA, "สพร.", DGA])
    roll = rng.random()
    if roll < 0.08 and "(องค์การมหาชน)" in name:
        return name.replace(" (องค์การมหาชน)", "")
    if roll < 0.12:
        return _scramble(name)
    if roll < 0.15:
        return name.replace("สำนักงาน", "สำนักงาน\u200b", 1)
    return name


def build_projects(rng: random.Random, departments: list[Agency]) -> list[Project]:
    dga = next(a for a in departments if a.name_th == DGA)
    projects: list[Project] = []
    for plan, _first, _last, count, starts, n_leads in PLANS:
        leads = [dga, *rng.sample([d for d in departments[:150] if d is not dga], n_leads - 1)]
        slots = leads + [rng.choice(leads) for _ in range(count - n_leads)]
        rng.shuffle(slots)
        planned_years = [y for y, n in starts.items() for _ in range(n)]
        for i, (lead, planned) in enumerate(zip(slots, planned_years, strict=True), start=1):
            code = f"{plan.upper().replace('DG_', 'DG')}-{i:02d}"
            projects.append(Project(plan, code, f"โครงการพัฒนาระบบรัฐบาลดิจิทัล {plan[-9:]} ที่ {i}",
                                    (i - 1) % 4 + 1, rng.randint(1, 26 if plan != "dg_2559_2561" else 18), lead,
                                    planned, None))
    # Plan 1 as monitored in Sep 2559 (seed 000): of 21 due in 2559, 17 started; of 15 due in 2560, 6 early.
    p1 = [p for p in projects if p.plan == "dg_2559_2561"]
    due59 = [p for p in p1 if p.planned == 2559]
    due60 = [p for p in p1 if p.planned == 2560]
    for i, p in enumerate(due59):
        p.actual = 2559 if i < 17 else 2560
    for i, p in enumerate(due60):
        p.actual = 2559 if i < 6 else (2560 if i < 13 else 2561)
    for p in projects:
        if p.actual is None:
            p.actual = p.planned + rng.choice([-1, 0, 0, 0, 1, 1, 2])
    return projects


def write_plan_projects(projects: list[Project], seeds_dir: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["plan_code", "project_code", "project_name_th", "strategy_no", "capability_domain_no",
                "lead_agency_id", "planned_start_fy_be"])
    for p in projects:
        w.writerow([p.plan, p.code, p.name, p.strategy, p.domain, p.lead.agency_id, p.planned])
    write_if_changed(seeds_dir / "plan_projects.csv", buf.getvalue())


def write_project_reports(rng: random.Random, projects: list[Project], landing: Path) -> int:
    plan_years = {code: (first, last) for code, first, last, *_ in PLANS}
    files = 0
    for year in range(2559, 2566):
        by_lead: dict[str, list[Project]] = {}
        for p in projects:
            first, last = plan_years[p.plan]
            if first <= year <= last:
                by_lead.setdefault(p.lead.agency_id, []).append(p)
        for n, (agency_id, items) in enumerate(sorted(by_lead.items())):
            lead = items[0].lead
            name = _variant(lead, year, rng)
            use_ce = n % 5 == 1
            rows = []
            for p in items:
                started = p.actual is not None and p.actual <= year
                status = "completed" if started and year - p.actual >= 2 else ("started" if started else "not_started")
                obstacles = rng.sample(list(OBSTACLES_TH), k=rng.choice([0, 1, 1, 2, 3]))
                reported_year = year - 543 if use_ce else year
                rows.append([p.plan, reported_year, p.code, p.name, name, p.planned, STATUS_TH[status],
                             (p.actual if started else ""), ";".join(OBSTACLES_TH[o] for o in obstacles),
                             "ขาดงบประมาณต่อเนื่อง" if "budget" in obstacles else "",
                             _thai_date(date(year - 543, 9, 1 + n % 28), digits=n % 4 == 0)])
            header = ["รหัสแผน", "ปีงบประมาณที่รายงาน", "รหัสโครงการ", "ชื่อโครงการ", "หน่วยงานรับผิดชอบหลัก",
                      "ปีที่เริ่มตามแผน", "สถานะ", "ปีที่เริ่มดำเนินการจริง", "ปัญหาอุปสรรค", "รายละเอียดปัญหาอุปสรรค",
                      "วันที่รายงาน"]
            if n % 3 == 2:
                header = ["plan", "reporting year", "project code", "project name", "lead agency", "planned start",
                          "status", "actual start year", "obstacles", "notes", "report date"]
            base = landing / "project_reports" / str(year)
            if n % 4 == 3:
                path = base / f"{agency_id}_status_{year}.xlsx"
                _write_xlsx(path, header, rows, f"รายงานสถานะโครงการตามแผนพัฒนารัฐบาลดิจิทัล ปีงบประมาณ {year}")
            else:
                encoding = ["utf-8", "utf-8-sig", "cp874"][n % 3]
                path = base / f"{agency_id}_status_{year}.csv"
                _write_csv(path, header, rows, encoding)
            _touch(path, _received(year, 9, 10 + n % 15))
            files += 1
    return files


def _pillars(rng: random.Random, overall_cents: int) -> list[Decimal]:
    """Six pillar scores (2 decimals, 0-100) whose mean is exactly overall_cents / 100."""
    while True:
        first = [max(0, min(10000, overall_cents + rng.randint(-1500, 1500))) for _ in range(5)]
        last = overall_cents * 6 - sum(first)
        if 0 <= last <= 10000:
            return [Decimal(c) / 100 for c in (*first, last)]


def _overalls(rng: random.Random, n: int, mean: Decimal | None, centre: int) -> list[int]:
    """n overall scores in cents; with a mean given, their mean is exactly that."""
    values = [max(500, min(9800, int(rng.gauss(centre, 1200)))) for _ in range(n)]
    if mean is not None:  # spread the difference over everyone, a cent at a time
        diff = int(mean * 100) * n - sum(values)
        step, rest = divmod(abs(diff), n)
        sign = 1 if diff > 0 else -1
        values = [v + sign * (step + (1 if i < rest else 0)) for i, v in enumerate(values)]
        assert all(0 <= v <= 10000 for v in values), "sample overall score out of range"
    return values


def write_readiness(rng: random.Random, agencies: list[Agency], landing: Path) -> int:
    by_level = {lvl: [a for a in agencies if a.level == lvl] for lvl in ("department", "special_local", "province")}
    files = 0
    for year, targets in READINESS_TARGETS.items():
        responded = READINESS_RESPONDED.get(year) or tuple(int(t * rng.uniform(0.9, 0.98)) for t in targets)
        rows_by_file: dict[str, list[list[object]]] = {"department": [], "province": []}
        for (level, pool), target, n_resp in zip(by_level.items(), targets, responded, strict=True):
            chosen = pool[:target] if level != "province" else rng.sample(pool, target)
            answering = set(rng.sample(range(target), n_resp))
            centre = {"department": 6000, "special_local": 6500, "province": 4600}[level] + (year - 2561) * 150
            mean = READINESS_MEANS.get(year, {}).get(level)
            overalls = iter(_overalls(rng, n_resp, mean, centre))
            for i, agency in enumerate(chosen):
                answered = i in answering
                scores = _pillars(rng, next(overalls)) if answered else [None] * 6
                level_th = {"department": "ระดับกรม", "special_local": "ท้องถิ่นรูปแบบพิเศษ", "province": "ระดับจังหวัด"}
                row = [year, _variant(agency, year, rng), level_th[level], agency.province_th,
                       "ตอบแล้ว" if answered else "ไม่ตอบ", *scores,
                       _thai_date(date(year - 543, 8, 1 + i % 28)) if answered else ""]
                rows_by_file["province" if level == "province" else "department"].append(row)
        header = ["ปีที่สำรวจ", "ชื่อหน่วยงาน", "ระดับหน่วยงาน", "จังหวัด", "สถานะการตอบแบบสำรวจ", *PILLAR_TH, "วันที่ตอบ"]
        for kind, rows in rows_by_file.items():
            base = landing / "readiness" / str(year)
            if year % 3 == 0:
                path = base / f"readiness_{kind}_{year}.xlsx"
                _write_xlsx(path, header, rows, f"ผลสำรวจระดับความพร้อมรัฐบาลดิจิทัล พ.ศ. {year}",
                            group=("คะแนนรายมิติ (ร้อยละ)", 5, 10))
            else:
                encoding = "cp874" if year % 3 == 1 else "utf-8-sig"
                if year == 2562:  # Thai digits throughout, as some offices still type them
                    rows = [[str(c).translate(THAI_DIGITS) if c not in (None, "") else c for c in r] for r in rows]
                path = base / f"readiness_{kind}_{year}.csv"
                _write_csv(path, header, rows, encoding,
                           title=[f"ผลสำรวจระดับความพร้อมรัฐบาลดิจิทัล พ.ศ. {year}"] if kind == "province" else None)
            _touch(path, _received(year, 9, 25))
            files += 1
    return files


def _split(rng: random.Random, total: int, n: int) -> list[int]:
    """n amounts in whole hundreds of baht summing exactly to total."""
    weights = [rng.uniform(0.2, 3.0) for _ in range(n)]
    units = total // 100
    parts = [int(units * w / sum(weights)) for w in weights]
    parts[-1] += units - sum(parts)
    return [p * 100 for p in parts]


def build_integration_plan(rng: random.Random, departments: list[Agency]) -> dict[int, list[list[object]]]:
    plan: dict[int, list[list[object]]] = {}
    for year, (n_agencies, n_projects) in INTEGRATION_YEARS.items():
        dga = next(a for a in departments if a.name_th == DGA)
        agencies = [dga, *rng.sample([d for d in departments[:200] if d is not dga], n_agencies - 1)]
        owners = agencies + [rng.choice(agencies) for _ in range(n_projects - n_agencies)]
        total = INTEGRATION_TOTALS.get(year, rng.randint(1800, 3200) * 1_000_000 + rng.randint(0, 9999) * 100)
        amounts = _split(rng, total, n_projects)
        rows = []
        for i, (agency, allocated) in enumerate(zip(owners, amounts, strict=True), start=1):
            approach = list(APPROACH_TH)[i % 3]
            rows.append([year, DG_PLAN, agency, f"IP{year}-{i:03d}", f"โครงการบูรณาการรัฐบาลดิจิทัล {year} ที่ {i}",
                         approach, list(FOCUS_TH)[i % 7], int(allocated * rng.uniform(1.05, 1.6)) // 100 * 100,
                         allocated])
        plan[year] = rows
    return plan


def _million(baht: int) -> str:
    return f"{Decimal(baht) / 1_000_000:,.4f}"


def write_integration_plan(rng: random.Random, plan: dict[int, list[list[object]]], landing: Path) -> int:
    files = 0
    for year, rows in plan.items():
        base = landing / "integration_plan" / str(year)
        def as_rows(scale_million: bool, shift: float = 1.0, rows=rows) -> list[list[object]]:
            out = []
            for y, bplan, agency, code, name, approach, focus, requested, allocated in rows:
                alloc = int(allocated * shift) // 100 * 100
                approach_th = (APPROACH_FULL_TH if y >= 2566 else APPROACH_TH)[approach]
                out.append([y, bplan, _variant(agency, y, rng), code, name, approach_th, FOCUS_TH[focus],
                            _million(requested) if scale_million else f"{requested:,}",
                            _million(alloc) if scale_million else f"{alloc:,} บาท"])
            return out
        header = ["ปีงบประมาณ", "แผนงาน", "หน่วยงาน", "รหัสโครงการ", "ชื่อโครงการ", "แนวทาง", "ด้าน"]
        if year % 2 == 1:
            path = base / f"integration_plan_{year}.xlsx"
            _write_xlsx(path, [*header, "คำขอ (ล้านบาท)", "ได้รับจัดสรร (ล้านบาท)"], as_rows(True),
                        f"{DG_PLAN} ประจำปีงบประมาณ พ.ศ. {year}", group=("งบประมาณ (ล้านบาท)", 7, 8))
        else:
            path = base / f"integration_plan_{year}.csv"
            _write_csv(path, [*header, "คำของบประมาณ", "งบประมาณที่ได้รับจัดสรร"], as_rows(False), "utf-8")
        _touch(path, _received(year, 1, 20))
        files += 1
        if year == 2565:
            # The draft sent first and the corrected list that supersedes it: the draft's file is older.
            draft = base / "integration_plan_2565_draft.csv"
            _write_csv(draft, [*header, "คำของบประมาณ", "งบประมาณที่ได้รับจัดสรร"], as_rows(False, 1.07), "cp874")
            _touch(draft, _received(year, 12, 10))
            _touch(path, _received(year, 1, 20))
            files += 1
    return files


def write_budget_bills(rng: random.Random, plan: dict[int, list[list[object]]], landing: Path,
                       shared_dir: Path | None) -> int:
    files = 0
    books = shared_dir / "data" / "budget_bill_fy2565" if shared_dir else None
    if books and books.exists():
        for book in sorted(books.glob("*.csv")):
            target = landing / "budget_bill" / "2565" / book.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(book, target)
            _touch(target, _received(2565, 10, 1))
            files += 1
    for year, rows in plan.items():
        if year == 2565 and files:
            continue  # the real books carry FY 2565
        ce = year - 543
        ref = f"{ce}.3.99"
        lines = []
        for i, (_y, _p, agency, _code, name, *_rest, allocated) in enumerate(rows):
            budget_plan = DG_PLAN + ("aedde" if i == 3 else "")
            lines.append([i, f"{ref}.{i}", ref, 100 + i, agency.ministry_th, agency.name_th, True, budget_plan,
                          "", name, "งบรายจ่ายอื่น", "", "", "", "", "", "ค่าใช้จ่ายในการพัฒนาระบบ", ce,
                          f"{allocated:,}", False,
                          "CATEGORY_LV1 is not as descripted" if i % 9 == 0 else ""])
        path = landing / "budget_bill" / str(year) / f"{ce}-3-99.csv"
        _write_csv(path, ["", *BUDGET_BILL_COLUMNS], lines)
        _touch(path, _received(year, 10, 1))
        files += 1
    return files


def write_bad_example(landing: Path) -> None:
    """One late, mistyped submission: it must be quarantined while the rest of the night loads."""
    path = landing / "project_reports" / "2562" / "late_resubmission_typo.csv"
    _write_csv(path, ["รหัสแผน", "ปีงบประมาณที่รายงาน", "รหัสโครงการ", "หน่วยงานรับผิดชอบหลัก", "ปีที่เริ่มตามแผน", "สถานะ"],
               [["dg_2560_2564", 2662, "DG2560_2564-01", DGA, 2560, "เริ่มดำเนินการแล้ว"]])
    _touch(path, _received(2562, 9, 29))


def local_organisations(provinces: list[str], seed: int) -> list[Agency]:
    """All 7,850 local administrative organisations (synthetic place names, unique per name key),
    in a fixed shuffled order so that any prefix spreads over provinces and kinds."""
    rng = random.Random(f"{seed}-local-registry")
    kinds = [kind for kind, n in LOCAL_KINDS for _ in range(n)]
    places = {p: [h + t for h in PLACE_HEADS for t in PLACE_TAILS] for p in provinces}
    for names in places.values():
        rng.shuffle(names)
    used: set[str] = set()
    made = [(f"{PAO}{p}", p) for p in provinces]
    for i, kind in enumerate(kinds):
        province = provinces[i % len(provinces)]
        while True:
            name = f"{kind}{places[province].pop()} จังหวัด{province}"
            if name_key(name) not in used:
                break
        used.add(name_key(name))
        made.append((name, province))
    assert len(made) == LOCAL_TOTAL, len(made)
    rng.shuffle(made)
    return [Agency(f"L{i:04d}", name, "", "กระทรวงมหาดไทย", "local", province)
            for i, (name, province) in enumerate(made, start=1)]


def write_local_readiness(rng: random.Random, local: list[Agency], landing: Path) -> int:
    """One readiness file per survey year with every local organisation of the scale (about 90% answer)."""
    header = ["ปีที่สำรวจ", "ชื่อหน่วยงาน", "ระดับหน่วยงาน", "จังหวัด", "สถานะการตอบแบบสำรวจ", *PILLAR_TH, "วันที่ตอบ"]
    files = 0
    for year in READINESS_TARGETS:
        answering = set(rng.sample(range(len(local)), int(len(local) * rng.uniform(0.85, 0.95))))
        overalls = iter(_overalls(rng, len(answering), None, 4000 + (year - 2561) * 150))
        rows = []
        for i, agency in enumerate(local):
            answered = i in answering
            scores = _pillars(rng, next(overalls)) if answered else [None] * 6
            rows.append([year, _variant(agency, year, rng), "องค์กรปกครองส่วนท้องถิ่น", agency.province_th,
                         "ตอบแล้ว" if answered else "ไม่ตอบ", *scores,
                         _thai_date(date(year - 543, 8, 1 + i % 28)) if answered else ""])
        path = landing / "readiness" / str(year) / f"readiness_local_{year}.csv"
        _write_csv(path, header, rows, ["utf-8-sig", "cp874", "utf-8"][year % 3])
        _touch(path, _received(year, 9, 26))
        files += 1
    return files


def generate(landing: Path, seeds_dir: Path | None, shared_dir: Path | None, seed: int = 2559,
             scale: int = 0, refresh_seeds: bool = False) -> dict[str, int]:
    """The sample; ``scale`` 1-16 adds scale/16 of the local administrative organisations (see module doc)."""
    if not 0 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be 0-{MAX_SCALE}, got {scale}")
    rng = random.Random(seed)
    tracked = get_settings().seeds_dir
    if shared_dir and (shared_dir / BOOKS_DIR).exists():
        agencies = build_registry(shared_dir)
    else:  # without ../shared the registry cannot be rebuilt: the tracked seeds are the registry
        agencies = registry_from_seeds(tracked)
    departments = [a for a in agencies if a.level == "department"]
    provinces = list(dict.fromkeys(a.province_th for a in agencies if a.level == "province"))
    local = local_organisations(provinces, seed)[:LOCAL_TOTAL * scale // MAX_SCALE] if scale else []
    projects = build_projects(rng, departments)
    # The tracked seeds are the source of truth: written only on request (--refresh-seeds), and only when they
    # differ; another seeds dir (tests, benchmarks) gets the generated ones.
    if seeds_dir is not None and (refresh_seeds or seeds_dir.resolve() != tracked.resolve()):
        write_seeds(agencies + local, seeds_dir)
        write_plan_projects(projects, seeds_dir)
    counts = {"project_reports": write_project_reports(rng, projects, landing),
              "readiness": write_readiness(rng, agencies, landing)}
    plan = build_integration_plan(rng, departments)
    counts["integration_plan"] = write_integration_plan(rng, plan, landing)
    counts["budget_bill"] = write_budget_bills(rng, plan, landing, shared_dir)
    write_bad_example(landing)
    counts["project_reports"] += 1
    if local:  # its own random stream: the files above stay the same at every scale
        counts["readiness"] += write_local_readiness(random.Random(f"{seed}-local-{scale}"), local, landing)
    return counts


def default_shared_dir() -> Path | None:
    candidate = Path(os.environ.get("DGWH_SHARED_DIR", get_settings().repo_root.parent / "shared"))
    return candidate if candidate.exists() else None


def _has_files(landing: Path) -> bool:
    return landing.exists() and any(p.is_file() for p in landing.rglob("*"))


def landing_for_run(settings=None) -> str:
    """What ``make run`` may do with the landing zone: write the sample only into the default ``landing/``
    when it is missing or empty; a configured LANDING_ZONE is never written to, and must be there and readable.

    Returns a one-line message; raises LandingZoneError (one line) when the configured zone is unusable."""
    from ingest.discover import check_landing_zone

    settings = settings or get_settings()
    default = settings.repo_root / "landing"
    configured = os.environ.get("LANDING_ZONE")
    if configured and ("://" in configured or Path(configured).resolve() != default.resolve()):
        check_landing_zone(configured)
        return f"landing zone {configured} (configured): no sample data written"
    if _has_files(default):
        return f"landing zone {default} already has files: no sample data written"
    counts = generate(default, None, default_shared_dir())
    return f"sample landing zone written to {default}: " + ", ".join(f"{k} {v}" for k, v in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, default=None, help="default: the landing zone (LANDING_ZONE)")
    parser.add_argument("--seeds", type=Path, default=None,
                        help="also write the registry seeds here (default: none; the tracked seeds are read)")
    parser.add_argument("--refresh-seeds", action="store_true",
                        help="rewrite the tracked dbt_project/seeds from names.py and ../shared (when they differ)")
    parser.add_argument("--shared", type=Path, default=None, help="default: ../shared beside the checkout")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when the landing zone has files")
    parser.add_argument("--for-run", action="store_true",
                        help="make run: write only into the default landing/ when empty; check a configured one")
    parser.add_argument("--scale", type=int, default=0, choices=range(MAX_SCALE + 1), metavar=f"0-{MAX_SCALE}",
                        help=f"add scale/{MAX_SCALE} of the {LOCAL_TOTAL:,} local organisations (benchmarks)")
    args = parser.parse_args()
    settings = get_settings()  # after the arguments: --help creates no state folder
    args.landing = args.landing or Path(settings.landing_zone)
    args.shared = args.shared or default_shared_dir()
    if args.for_run:
        from ingest.discover import LandingZoneError

        try:
            print(landing_for_run(settings))
        except LandingZoneError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        return
    if args.if_empty and _has_files(args.landing):
        print(f"landing zone {args.landing} already has files: no sample data written")
        return
    seeds = settings.seeds_dir if args.refresh_seeds else args.seeds
    counts = generate(args.landing, seeds, args.shared, scale=args.scale, refresh_seeds=args.refresh_seeds)
    print(f"sample landing zone written to {args.landing}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()

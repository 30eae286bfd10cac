"""The four landing-zone sources and their canonical columns.

Each column lists the header spellings accepted for it (Thai first, English aliases after); the
matching ignores case, spaces, punctuation and units in brackets. ``docs/sources.md`` and the
templates under ``templates/`` are generated from these specs, so this is the one place to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.thai import name_key

# Allowed values: canonical code -> accepted spellings.
OBSTACLE_CATEGORIES = {
    "law": ["กฎหมาย", "กฎหมาย/ระเบียบ", "law", "legal"],
    "budget": ["งบประมาณ", "budget"],
    "data": ["ข้อมูล", "data"],
    "personnel": ["บุคลากร", "personnel", "staff"],
    "equipment": ["อุปกรณ์", "เครื่องมือ", "equipment"],
    "other": ["อื่นๆ", "อื่น ๆ", "other"],
}
PROJECT_STATUSES = {
    "started": ["เริ่มดำเนินการแล้ว", "ดำเนินการแล้ว", "อยู่ระหว่างดำเนินการ", "started", "in progress"],
    "completed": ["ดำเนินการแล้วเสร็จ", "แล้วเสร็จ", "completed", "done"],
    "not_started": ["ยังไม่เริ่มดำเนินการ", "ยังไม่ดำเนินการ", "not started", "not_started"],
}
AGENCY_LEVELS = {
    "department": ["ระดับกรม", "กรม", "department"],
    "province": ["ระดับจังหวัด", "จังหวัด", "province"],
    "special_local": ["ท้องถิ่นรูปแบบพิเศษ", "องค์กรปกครองส่วนท้องถิ่นรูปแบบพิเศษ", "special local", "special_local"],
    "local": ["องค์กรปกครองส่วนท้องถิ่น", "ท้องถิ่น", "local"],
}
APPROACHES = {
    "digital_skills": ["Digital Skills", "ทักษะดิจิทัล", "digital_skills"],
    "common_platform": ["Digital Common Platform", "แพลตฟอร์มกลาง", "common_platform"],
    "e2e_services": ["End-to-End Digital Data and Services", "Digital Service Platform",
                     "บริการดิจิทัลแบบเบ็ดเสร็จ", "e2e_services"],
}
FOCUS_AREAS = {
    "agriculture": ["เกษตร", "ด้านเกษตร", "agriculture"],
    "education": ["การศึกษา", "ด้านการศึกษา", "education"],
    "health": ["สาธารณสุขและการแพทย์", "สุขภาพและการแพทย์", "ด้านสาธารณสุข", "health"],
    "welfare": ["ความเหลื่อมล้ำและสิทธิสวัสดิการ", "สวัสดิการ", "welfare"],
    "transparency": ["ความโปร่งใสและการมีส่วนร่วม", "transparency"],
    "sme": ["SMEs", "SME", "วิสาหกิจขนาดกลางและขนาดย่อม", "sme"],
    "other": ["อื่นๆ", "ด้านอื่นๆ", "other"],
}
READINESS_DIMENSIONS = {
    "score_strategy": ["ยุทธศาสตร์และนโยบาย", "strategy"],
    "score_public_services": ["การให้บริการภาครัฐ", "บริการภาครัฐ", "public services"],
    "score_infrastructure": ["โครงสร้างพื้นฐานดิจิทัล", "infrastructure"],
    "score_data": ["ข้อมูลภาครัฐ", "data"],
    "score_personnel": ["บุคลากรภาครัฐ", "personnel"],
    "score_regulation": ["กฎหมายและกฎระเบียบ", "regulation"],
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | year | amount | decimal | date | bool | enum | enum_list
    aliases: tuple[str, ...]
    required: bool = False
    description: str = ""
    values: dict[str, list[str]] | None = None

    def keys(self) -> set[str]:
        return {name_key(a) for a in (self.name, *self.aliases)}


@dataclass(frozen=True)
class Source:
    name: str
    title_th: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    file_types: tuple[str, ...] = (".csv", ".xlsx")
    extra_raw: tuple[tuple[str, str], ...] = field(default=())

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


PROJECT_REPORTS = Source(
    name="project_reports",
    title_th="รายงานสถานะโครงการตามแผนพัฒนารัฐบาลดิจิทัล",
    key=("plan_code", "reporting_fy_be", "project_code"),
    columns=(
        Column("plan_code", "text", ("รหัสแผน", "แผน", "plan"), True, "plan code, e.g. dg_2559_2561"),
        Column("reporting_fy_be", "year", ("ปีงบประมาณที่รายงาน", "ปีที่รายงาน", "reporting year", "fiscal year"), True,
               "fiscal year reported on (BE or CE)"),
        Column("project_code", "text", ("รหัสโครงการ", "project code", "project id"), True, "project code in the plan"),
        Column("project_name_th", "text", ("ชื่อโครงการ", "โครงการ", "project name", "project"), False, "project name"),
        Column("agency_name", "text", ("หน่วยงานรับผิดชอบหลัก", "หน่วยงาน", "lead agency", "agency"), True,
               "lead agency as written"),
        Column("planned_start_fy_be", "year", ("ปีที่เริ่มตามแผน", "ปีเริ่มต้นตามแผน", "planned start year", "planned start"),
               True, "fiscal year the plan schedules the start"),
        Column("status", "enum", ("สถานะ", "สถานะโครงการ", "status"), True, "started, completed or not_started",
               PROJECT_STATUSES),
        Column("actual_start_fy_be", "year", ("ปีที่เริ่มดำเนินการจริง", "ปีที่เริ่มจริง", "actual start year"), False,
               "fiscal year the project really started"),
        Column("obstacle_categories", "enum_list", ("ปัญหาอุปสรรค", "ประเภทปัญหาอุปสรรค", "obstacles", "obstacle categories"),
               False, "semicolon-separated: law, budget, data, personnel, equipment, other", OBSTACLE_CATEGORIES),
        Column("obstacle_note", "text", ("รายละเอียดปัญหาอุปสรรค", "รายละเอียด", "obstacle note", "notes"), False,
               "free text"),
        Column("report_date", "date", ("วันที่รายงาน", "report date"), False, "date of the report"),
    ),
)

READINESS = Source(
    name="readiness",
    title_th="ผลสำรวจระดับความพร้อมรัฐบาลดิจิทัลของหน่วยงานภาครัฐ",
    key=("survey_year_be", "agency_name"),
    columns=(
        Column("survey_year_be", "year", ("ปีที่สำรวจ", "ปีสำรวจ", "survey year"), True, "survey year (BE or CE)"),
        Column("agency_name", "text", ("ชื่อหน่วยงาน", "หน่วยงาน", "agency", "agency name"), True, "agency as written"),
        Column("agency_level", "enum", ("ระดับหน่วยงาน", "ประเภทหน่วยงาน", "agency level", "level"), True,
               "department, province, special_local or local", AGENCY_LEVELS),
        Column("province_name", "text", ("จังหวัด", "province"), False, "province, for province-level units"),
        Column("responded", "bool", ("สถานะการตอบแบบสำรวจ", "ตอบแบบสำรวจ", "responded"), True,
               "whether the targeted agency answered"),
        *(Column(code, "decimal", (*aliases, code.replace("_", " ")), False, f"pillar score 0-100: {aliases[-1]}")
          for code, aliases in READINESS_DIMENSIONS.items()),
        Column("submitted_on", "date", ("วันที่ตอบ", "วันที่ส่ง", "submitted on"), False, "date answered"),
    ),
)

INTEGRATION_PLAN = Source(
    name="integration_plan",
    title_th="แผนงานบูรณาการรัฐบาลดิจิทัล: รายการโครงการและงบประมาณ",
    key=("fiscal_year_be", "project_code"),
    columns=(
        Column("fiscal_year_be", "year", ("ปีงบประมาณ", "fiscal year"), True, "fiscal year (BE or CE)"),
        Column("budget_plan_name", "text", ("แผนงาน", "แผนงานบูรณาการ", "budget plan"), True, "integration plan"),
        Column("agency_name", "text", ("หน่วยงาน", "หน่วยรับงบประมาณ", "agency"), True, "requesting agency"),
        Column("project_code", "text", ("รหัสโครงการ", "project code"), True, "project code"),
        Column("project_name_th", "text", ("ชื่อโครงการ", "โครงการ", "project name"), True, "project name"),
        Column("approach", "enum", ("แนวทาง", "approach"), True, "digital_skills, common_platform, e2e_services",
               APPROACHES),
        Column("focus_area", "enum", ("ด้าน", "ด้านที่มุ่งเน้น", "focus area"), False,
               "agriculture, education, health, welfare, transparency, sme, other", FOCUS_AREAS),
        Column("requested_baht", "amount", ("คำของบประมาณ", "งบประมาณที่ขอ", "requested"), False, "requested, baht"),
        Column("allocated_baht", "amount", ("งบประมาณที่ได้รับจัดสรร", "ได้รับจัดสรร", "allocated"), True,
               "allocated, baht"),
    ),
)

BUDGET_BILL_COLUMNS = (
    "ITEM_ID", "REF_DOC", "REF_PAGE_NO", "MINISTRY", "BUDGETARY_UNIT", "CROSS_FUNC?", "BUDGET_PLAN", "OUTPUT",
    "PROJECT", "CATEGORY_LV1", "CATEGORY_LV2", "CATEGORY_LV3", "CATEGORY_LV4", "CATEGORY_LV5", "CATEGORY_LV6",
    "ITEM_DESCRIPTION", "FISCAL_YEAR", "AMOUNT", "OBLIGED?", "DEBUG_LOG",
)
BUDGET_BILL = Source(
    name="budget_bill",
    title_th="รายการงบประมาณตามเอกสารงบประมาณ (V2 CSV)",
    key=("item_id",),
    file_types=(".csv",),
    columns=tuple(
        Column(c.lower().rstrip("?"), "text", (c,), c in {"ITEM_ID", "REF_DOC", "BUDGET_PLAN", "FISCAL_YEAR", "AMOUNT"},
               "budget-bill V2 column " + c)
        for c in BUDGET_BILL_COLUMNS
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (PROJECT_REPORTS, READINESS, INTEGRATION_PLAN, BUDGET_BILL)}

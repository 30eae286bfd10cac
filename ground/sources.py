"""The four landing-zone sources and their canonical columns.

Each column lists the header spellings accepted for it (Thai first, English aliases after); the
matching ignores case, spaces, punctuation and units in brackets. ``docs/sources.md``, the
templates under ``templates/`` and the staging model of a source with ``generated_staging`` are generated
from these specs (``dgwh templates``), so this is the one place to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ground import labels
from ground.labels import Vocabulary
from ground.thai import name_key

# Allowed values: canonical code -> accepted spellings (the first Thai spelling is the documents' word,
# the label the templates offer; English and variant spellings follow). Codes with a dbt seed take
# their labels from it (ground/labels.py); the others are listed here.
OBSTACLE_CATEGORIES = labels.obstacle_categories()
PROJECT_STATUSES = {
    # The 2559 monitoring summary (seed 000): เริ่มดำเนินการไปแล้ว, เริ่มดำเนินการเร็วกว่าที่แผนฯ กำหนดไว้ (early is
    # derived from the years), ยังไม่ได้ดำเนินการ, จะดำเนินการตามที่แผนฯ กำหนดไว้ (not started yet, on plan).
    "started": ["เริ่มดำเนินการแล้ว", "เริ่มดำเนินการไปแล้ว", "เริ่มดำเนินการเร็วกว่าที่แผนฯ กำหนดไว้",
                "เริ่มดำเนินการเร็วกว่าแผน", "ดำเนินการแล้ว", "อยู่ระหว่างดำเนินการ", "เริ่มแล้ว", "started", "in progress"],
    "completed": ["ดำเนินการแล้วเสร็จ", "แล้วเสร็จ", "ดำเนินการเสร็จแล้ว", "เสร็จสิ้น", "completed", "done"],
    "not_started": ["ยังไม่เริ่มดำเนินการ", "ยังไม่ได้ดำเนินการ", "ยังไม่ดำเนินการ", "จะดำเนินการตามที่แผนฯ กำหนดไว้",
                    "ยังไม่เริ่ม", "not started", "not_started"],
}
AGENCY_LEVELS = {
    "department": ["ระดับกรม", "กรม", "กรมหรือเทียบเท่า", "หน่วยงานระดับกรม", "department"],
    "province": ["ระดับจังหวัด", "จังหวัด", "หน่วยงานระดับจังหวัด", "province"],
    "special_local": ["ท้องถิ่นรูปแบบพิเศษ", "องค์กรปกครองส่วนท้องถิ่นรูปแบบพิเศษ", "special local", "special_local"],
    "local": ["องค์กรปกครองส่วนท้องถิ่น", "ท้องถิ่น", "local"],
}
APPROACHES = labels.approaches()
FOCUS_AREAS = labels.focus_areas()
PLANS = labels.plans()
# code -> (Thai header, English name, other accepted headers)
READINESS_DIMENSIONS = {
    "score_strategy": ("ยุทธศาสตร์และนโยบาย", "strategy", ("ด้านยุทธศาสตร์และนโยบาย",)),
    "score_public_services": ("การให้บริการภาครัฐ", "public services", ("บริการภาครัฐ", "ด้านการให้บริการภาครัฐ")),
    "score_infrastructure": ("โครงสร้างพื้นฐานดิจิทัล", "infrastructure", ("ด้านโครงสร้างพื้นฐานดิจิทัล",)),
    "score_data": ("ข้อมูลภาครัฐ", "data", ("ด้านข้อมูลภาครัฐ",)),
    "score_personnel": ("บุคลากรภาครัฐ", "personnel", ("ด้านบุคลากรภาครัฐ",)),
    "score_regulation": ("กฎหมายและกฎระเบียบ", "regulation", ("ด้านกฎหมายและกฎระเบียบ",)),
}


def is_thai(text: str) -> bool:
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | year | amount | decimal | date | bool | enum | enum_list
    aliases: tuple[str, ...]  # the first Thai one is the template's header
    required: bool = False
    description: str = ""
    values: dict[str, tuple[str, ...]] | Vocabulary | None = None
    example: str = ""
    vocabulary: Vocabulary | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        """``values`` may be given as a Vocabulary or as a dict of spellings; both end up as both."""
        if isinstance(self.values, Vocabulary):
            object.__setattr__(self, "vocabulary", self.values)
        elif self.values is not None:
            object.__setattr__(self, "vocabulary", Vocabulary(self.name, {k: tuple(v) for k, v in self.values.items()}))
        if self.vocabulary is not None:
            object.__setattr__(self, "values", self.vocabulary.labels)

    def keys(self) -> set[str]:
        return {name_key(a) for a in (self.name, *self.aliases)}

    @property
    def header_th(self) -> str:
        return next((a for a in self.aliases if is_thai(a)), self.aliases[0] if self.aliases else self.name)

    @property
    def other_headers(self) -> list[str]:
        return [a for a in self.aliases if a != self.header_th]

    def value_label(self, code: str) -> str | None:
        """The Thai label of an allowed value, if it has one."""
        return next((s for s in (self.values or {}).get(code, []) if is_thai(s)), None)


@dataclass(frozen=True)
class Source:
    name: str
    title_th: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    year_column: str  # the (BE) year a row belongs to: the ledger's years, a rejected row's year
    agency_column: str = "agency_name"  # the agency a row is for, as written (checked against the registry)
    file_types: tuple[str, ...] = (".csv", ".xlsx")
    extra_raw: tuple[tuple[str, str], ...] = field(default=())  # raw columns beyond the canonical ones
    title_en: str = ""
    template: bool = True  # whether agency officers get a fill-in template
    third_party: bool = False  # extracted by others (not sent by an agency): feedback goes to the data team
    # stg_<name> (.sql and .yml) generated from this definition by `dgwh templates` (reporting/staging_models.py):
    # for a source whose staging is its columns as loaded; False: a hand-written staging model.
    generated_staging: bool = False

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def columns_by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


# The registered name a repaired, OCR-damaged plan name is read as; the text as written is kept here.
PLAN_AS_WRITTEN = (("budget_plan_as_written", "text"),)

PROJECT_REPORTS = Source(
    name="project_reports",
    title_th="รายงานสถานะโครงการตามแผนพัฒนารัฐบาลดิจิทัล",
    title_en="Agencies' yearly status reports on Digital Government Development Plan projects",
    key=("plan_code", "reporting_fy_be", "project_code"),
    year_column="reporting_fy_be",
    columns=(
        Column("plan_code", "enum", ("รหัสแผน", "แผน", "แผนพัฒนารัฐบาลดิจิทัล", "plan", "plan code"), True,
               "plan: its code or its name as the plan documents write it (dg_2559_2561, dg_2560_2564, dg_2563_2565)",
               PLANS, example="dg_2559_2561"),
        Column("reporting_fy_be", "year", ("ปีงบประมาณที่รายงาน", "ปีที่รายงาน", "ปีงบประมาณ", "ปีงบฯ", "reporting year",
                                           "fiscal year"), True,
               "fiscal year reported on (BE or CE)", example="2560"),
        Column("project_code", "text", ("รหัสโครงการ", "project code", "project id"), True, "project code in the plan",
               example="DG2559_2561-01"),
        Column("project_name_th", "text", ("ชื่อโครงการ", "โครงการ", "project name", "project"), False, "project name",
               example="โครงการพัฒนาระบบรัฐบาลดิจิทัล"),
        Column("agency_name", "text", ("หน่วยงานรับผิดชอบหลัก", "หน่วยงาน", "หน่วยงานรับผิดชอบ", "หน่วยงานหลัก",
                                       "หน่วยงานเจ้าภาพ", "lead agency", "agency"), True,
               "lead agency as written", example="สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)"),
        Column("planned_start_fy_be", "year", ("ปีที่เริ่มตามแผน", "ปีเริ่มต้นตามแผน", "ปีที่เริ่มดำเนินการตามแผน",
                                               "planned start year", "planned start"),
               True, "fiscal year the plan schedules the start", example="2559"),
        Column("status", "enum", ("สถานะ", "สถานะโครงการ", "สถานะการดำเนินงาน", "สถานะการดำเนินการ", "status"), True,
               "started, completed or not_started", PROJECT_STATUSES, example="เริ่มดำเนินการแล้ว"),
        Column("actual_start_fy_be", "year", ("ปีที่เริ่มดำเนินการจริง", "ปีที่เริ่มจริง", "actual start year"), False,
               "fiscal year the project really started", example="2559"),
        Column("obstacle_categories", "enum_list", ("ปัญหาอุปสรรค", "ปัญหาและอุปสรรค", "ประเภทปัญหาอุปสรรค",
                                                    "ประเภทปัญหาและอุปสรรค", "obstacles", "obstacle categories"),
               False, "one or more, separated by ;", OBSTACLE_CATEGORIES, example="งบประมาณ; บุคลากร"),
        Column("obstacle_note", "text", ("รายละเอียดปัญหาอุปสรรค", "รายละเอียดปัญหาและอุปสรรค", "รายละเอียด", "หมายเหตุ",
                                         "obstacle note", "notes"), False,
               "free text", example="ขาดบุคลากรด้านเทคโนโลยีสารสนเทศ"),
        Column("report_date", "date", ("วันที่รายงาน", "report date"), False, "date of the report",
               example="5 ก.ย. 2559"),
    ),
)

READINESS = Source(
    name="readiness",
    title_th="ผลสำรวจระดับความพร้อมรัฐบาลดิจิทัลของหน่วยงานภาครัฐ",
    title_en="Digital-government readiness survey responses, one row per targeted agency",
    key=("survey_year_be", "agency_name"),
    year_column="survey_year_be",
    columns=(
        Column("survey_year_be", "year", ("ปีที่สำรวจ", "ปีสำรวจ", "ปีการสำรวจ", "survey year"), True,
               "survey year (BE or CE)", example="2563"),
        Column("agency_name", "text", ("ชื่อหน่วยงาน", "หน่วยงาน", "หน่วยงานภาครัฐ", "ส่วนราชการ", "agency",
                                       "agency name"), True, "agency as written", example="กรมสรรพากร"),
        Column("agency_level", "enum", ("ระดับหน่วยงาน", "ประเภทหน่วยงาน", "agency level", "level"), True,
               "department, province, special_local or local", AGENCY_LEVELS, example="ระดับกรม"),
        Column("province_name", "text", ("จังหวัด", "province"), False, "province, for province-level units",
               example="เชียงใหม่"),
        Column("responded", "bool", ("สถานะการตอบแบบสำรวจ", "ตอบแบบสำรวจ", "การตอบแบบสำรวจ", "responded"), True,
               "whether the targeted agency answered", example="ตอบแล้ว"),
        *(Column(code, "decimal", (th, *more, en, code.replace("_", " ")), False, f"pillar score 0-100: {en}",
                 example="72.50")
          for code, (th, en, more) in READINESS_DIMENSIONS.items()),
        Column("submitted_on", "date", ("วันที่ตอบ", "วันที่ส่ง", "วันที่ตอบแบบสำรวจ", "submitted on"), False,
               "date answered", example="15 ส.ค. 2563"),
    ),
)

INTEGRATION_PLAN = Source(
    name="integration_plan",
    title_th="แผนงานบูรณาการรัฐบาลดิจิทัล: รายการโครงการและงบประมาณ",
    title_en="DGA's Digital Government integration plan: projects, requests and allocations",
    key=("fiscal_year_be", "project_code"),
    year_column="fiscal_year_be",
    extra_raw=PLAN_AS_WRITTEN,
    columns=(
        Column("fiscal_year_be", "year", ("ปีงบประมาณ", "ปีงบฯ", "fiscal year"), True, "fiscal year (BE or CE)",
               example="2566"),
        Column("budget_plan_name", "text", ("แผนงาน", "แผนงานบูรณาการ", "budget plan"), True, "integration plan",
               example="แผนงานบูรณาการรัฐบาลดิจิทัล"),
        Column("agency_name", "text", ("หน่วยงาน", "หน่วยรับงบประมาณ", "หน่วยรับงบฯ", "ส่วนราชการ", "agency"), True,
               "requesting agency", example="กรมสรรพากร"),
        Column("project_code", "text", ("รหัสโครงการ", "project code"), True, "project code", example="DG66-0001"),
        Column("project_name_th", "text", ("ชื่อโครงการ", "โครงการ", "project name"), True, "project name",
               example="โครงการพัฒนาแพลตฟอร์มบริการดิจิทัล"),
        Column("approach", "enum", ("แนวทาง", "แนวทางการพัฒนา", "approach"), True,
               "digital_skills, common_platform, e2e_services", APPROACHES, example="แพลตฟอร์มกลาง"),
        Column("focus_area", "enum", ("ด้าน", "ด้านที่มุ่งเน้น", "จุดเน้น", "focus area"), False,
               "agriculture, education, health, welfare, transparency, sme, other", FOCUS_AREAS, example="เกษตร"),
        Column("requested_baht", "amount", ("คำของบประมาณ", "งบประมาณที่ขอ", "คำขอ", "วงเงินที่ขอ", "requested"), False,
               "requested, baht; a header ending (ล้านบาท) means million baht", example="12,500,000"),
        Column("allocated_baht", "amount", ("งบประมาณที่ได้รับจัดสรร", "ได้รับจัดสรร", "วงเงินที่ได้รับจัดสรร", "allocated"),
               True, "allocated, baht; a header ending (ล้านบาท) means million baht", example="10,000,000"),
    ),
)

# The community "V2" CSV of kaogeek/thailand-budget-pdf2csv (../shared/data/README.md): column,
# meaning, example (from book 2022.3.1).
BUDGET_BILL_SPEC = (
    ("ITEM_ID", "<REF_DOC>.<running no>, unique per row", "2022.3.1.716"),
    ("REF_DOC", "<CE fiscal year>.<issue>.<book>, e.g. 2022.3.1 (a book may carry a suffix like (2))", "2022.3.1"),
    ("REF_PAGE_NO", "page number printed in the book (not the PDF page)", "182"),
    ("MINISTRY", "ministry or equivalent (กระทรวง)", "สำนักนายกรัฐมนตรี"),
    ("BUDGETARY_UNIT", "budget-receiving unit (หน่วยรับงบประมาณ)", "สำนักงานคณะกรรมการคุ้มครองผู้บริโภค"),
    ("CROSS_FUNC?", "True when the row belongs to an integration plan (แผนงานบูรณาการ...)", "True"),
    ("BUDGET_PLAN", "plan (แผนงาน); แผนงานบูรณาการรัฐบาลดิจิทัล = the Digital Government integration plan",
     "แผนงานบูรณาการรัฐบาลดิจิทัล"),
    ("OUTPUT", "output (ผลผลิต); a row has an output or a project", ""),
    ("PROJECT", "project (โครงการ)", "โครงการสร้างเครื่องมือและแพลตฟอร์มกลาง"),
    ("CATEGORY_LV1", "expense category, level 1 (งบบุคลากร, งบดำเนินงาน, งบลงทุน, ...)", "งบลงทุน"),
    ("CATEGORY_LV2", "expense category, level 2", "ค่าครุภัณฑ์ ที่ดินและสิ่งก่อสร้าง"),
    ("CATEGORY_LV3", "expense category, level 3", "ค่าครุภัณฑ์"),
    ("CATEGORY_LV4", "expense category, level 4", "ครุภัณฑ์คอมพิวเตอร์"),
    ("CATEGORY_LV5", "expense category, level 5", ""),
    ("CATEGORY_LV6", "expense category, level 6", ""),
    ("ITEM_DESCRIPTION", "item text", "การพัฒนาระบบดิจิทัลการให้บริการเชื่อมโยงและบริหารจัดการข้อมูล"),
    ("FISCAL_YEAR", "CE fiscal year the amount belongs to (one row per year for multi-year items)", "2022"),
    ("AMOUNT", "baht, thousands separators; kept as text, parsed into amount_baht (unparseable = flagged)",
     "8,659,600"),
    ("OBLIGED?", "True for multi-year obligated items", "False"),
    ("DEBUG_LOG", "extraction warnings; rows with one load and are flagged (has_extraction_warning)",
     "CATEGORY_LV1 is not as descripted"),
)
BUDGET_BILL_COLUMNS = tuple(c for c, _, _ in BUDGET_BILL_SPEC)
BUDGET_BILL = Source(
    name="budget_bill",
    title_th="รายการงบประมาณตามเอกสารงบประมาณ (V2 CSV)",
    title_en="Budget-bill line items, community V2 CSV format (one file per budget book)",
    key=("item_id",),
    year_column="fiscal_year_be",  # typed from FISCAL_YEAR (ground.schema.BUDGET_BILL_TYPED)
    agency_column="budgetary_unit",
    file_types=(".csv",),
    extra_raw=PLAN_AS_WRITTEN,
    template=False,
    third_party=True,
    columns=tuple(
        Column(c.lower().rstrip("?"), "text", (c,),
               c in {"ITEM_ID", "REF_DOC", "BUDGET_PLAN", "FISCAL_YEAR", "AMOUNT"}, meaning, example=example)
        for c, meaning, example in BUDGET_BILL_SPEC
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (PROJECT_REPORTS, READINESS, INTEGRATION_PLAN, BUDGET_BILL)}

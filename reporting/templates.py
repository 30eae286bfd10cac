"""Generate ``docs/sources.md``, the fill-in templates under ``templates/`` and the generated staging models
(``reporting/staging_models.py``) from ``ground/sources.py``.

``python -m reporting.templates`` rewrites what changed; ``--check`` only lists stale files (exit 1).
CSV templates are UTF-8 with a BOM (Excel then shows Thai correctly) and carry the Thai header row
only, so a filled-in file loads as it is. XLSX templates have the same header on sheet "ข้อมูล",
English names and notes in header comments and on a notes sheet, and drop-down lists for columns
with allowed values. Workbooks are compared by content, not bytes (a saved workbook embeds its
save time), so regenerating leaves unchanged files alone.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ground.settings import REPO_ROOT
from ground.sources import SOURCES, Column, Source, is_thai
from reporting import staging_models

DOC_PATH = Path("docs") / "sources.md"
TEMPLATE_DIR = Path("templates")
DATA_SHEET = "ข้อมูล"
NOTES_SHEET = "คำอธิบาย (notes)"
TEMPLATE_ROWS = 1000  # rows the drop-down lists cover
BOOL_LABELS = ("ใช่", "ไม่ใช่")
FIXED_TIME = datetime(2024, 1, 1)
LISTS_SHEET = "รายการ"  # hidden sheet holding the drop-down lists
TYPES = {  # kind -> (Thai, English, what is accepted)
    "text": ("ข้อความ", "text", "free text; spacing and invisible characters are tidied"),
    "year": ("ปี", "year", "BE or CE, Thai or Arabic digits: 2565, ๒๕๖๕, พ.ศ. 2565, 2022, FY2022, 65"),
    "amount": ("จำนวนเงิน", "amount, baht",
               "8,659,600 · ๑,๐๐๐ บาท · 1,000.- · 2,409.3962 ล้านบาท; a header ending (ล้านบาท) means million baht"),
    "decimal": ("ตัวเลข", "number", "0-100, Thai or Arabic digits, an optional % sign: 72.5"),
    "date": ("วันที่", "date", "5 ม.ค. 2565 · ๕ มกราคม ๒๕๖๕ · 05/01/2565 · 2022-01-05"),
    "bool": ("ใช่/ไม่ใช่", "yes/no", "ใช่ · ไม่ใช่ · ตอบแล้ว · ยังไม่ตอบ · yes · no · 1 · 0"),
    "enum": ("ค่าจากรายการ", "one allowed value", "the code, its Thai label or a listed spelling"),
    "enum_list": ("ค่าจากรายการ (หลายค่า)", "allowed values, one or more", "separated by ; or ,"),
}


def _allowed(column: Column, sep: str = "; ") -> str:
    if column.kind == "bool":
        return " / ".join(BOOL_LABELS)
    return sep.join(f"{code} = {column.value_label(code)}" if column.value_label(code) else code
                    for code in column.values or {})


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------- docs/sources.md

def _column_table(source: Source) -> list[str]:
    rows = ["| column | Thai header (หัวตาราง) | English aliases | other Thai headers | type | required "
            "| allowed values | example | meaning |", "|---|---|---|---|---|---|---|---|---|"]
    for c in source.columns:
        th, en, _ = TYPES[c.kind]
        english = ", ".join(a for a in c.other_headers if not is_thai(a))
        also = ", ".join(a for a in c.other_headers if is_thai(a))
        allowed = "<br>".join(f"`{code}` {c.value_label(code) or ''}".rstrip() for code in c.values or {}) \
            if c.values else (" / ".join(BOOL_LABELS) if c.kind == "bool" else "")
        rows.append(f"| `{c.name}` | {_cell(c.header_th)} | {_cell(english)} | {_cell(also)} | {en} ({th}) | "
                    f"{'yes' if c.required else 'no'} | {allowed} | {_cell(c.example)} | {_cell(c.description)} |")
    return rows


def _variants_table(source: Source) -> list[str]:
    rows = []
    for c in source.columns:
        if c.values:
            spellings = "; ".join(f"`{code}`: {', '.join(c.values[code])}" for code in c.values)
            rows.append(f"- `{c.name}`: {_cell(spellings)}")
    return ["Accepted spellings of allowed values (matched ignoring case, spaces, punctuation and Thai marks):",
            "", *rows, ""] if rows else []


def _budget_bill_table(source: Source) -> list[str]:
    rows = ["| V2 column | raw column | required | example | meaning |", "|---|---|---|---|---|"]
    for c in source.columns:
        rows.append(f"| `{c.aliases[0]}` | `{c.name}` | {'yes' if c.required else 'no'} | {_cell(c.example)} | "
                    f"{_cell(c.description)} |")
    return rows


def _checks_table(source: Source) -> list[str]:
    """The source's checks with what each rejects (expectations/suites.py says it, in one place)."""
    from expectations.suites import LEVEL_TEXT, checks

    rows = ["| check (GX expectation) | column(s) | rejects | why |", "|---|---|---|---|"]
    for check, columns, level, why in checks(source):
        rows.append(f"| `{check}` | {_cell(columns)} | {LEVEL_TEXT[level].split(':')[0]} | {_cell(why)} |")
    return ["Checks (Great Expectations suite `" + source.name + "_suite`) and what each rejects:", "", *rows, ""]


def render_markdown() -> str:
    lines = [
        "# Landing-zone sources and their columns · แหล่งข้อมูลและคอลัมน์",
        "",
        "<!-- Generated by `python -m reporting.templates` from ground/sources.py: edit that file, not this one. -->",
        "",
        "Files go under `landing/<source>/` (subfolders, e.g. per agency or year, are fine). A file is",
        "identified by its content: the same bytes are loaded once; a corrected file for the same agency",
        "and year supersedes the earlier one in the marts.",
        "",
        "- **Formats**: CSV in UTF-8, UTF-8 with BOM or TIS-620/Windows-874 (detected), or XLSX (every",
        "  sheet whose header matches; title rows above the header and a two-row merged header are fine).",
        "- **Headers** are matched ignoring case, spaces, punctuation, Thai vowel and tone marks, units in",
        "  brackets and a spelled-out era (`ปีงบประมาณ (พ.ศ.)`); columns not listed are ignored and reported.",
        "- **Templates** to fill in: `templates/<source>.csv` and `templates/<source>.xlsx` (Thai header row;",
        "  the workbook has drop-down lists and a notes sheet). Fill from the second row; do not rename headers.",
        "- **Checks** reject at one of three levels, listed per source below (`expectations/suites.py`):",
        "  - *file*: the file cannot stand as a whole (unreadable, wrong source or columns, no data rows, the same",
        "    bytes again, cut off mid-row): it is quarantined with a report and nothing of it loads;",
        "  - *row*: a value check (a required value empty, a value that cannot be read or is not an allowed label,",
        "    a year or amount out of range, rows sharing a key): the failing rows are rejected, each with its reason",
        "    in `ops.rejected_rows`, and the rest of the file loads; the report and feedback list the rows to fix.",
        "    A file whose every row fails is rejected whole. For the budget bill every value check is row-level;",
        "  - *warning*: recorded in the report and Data Docs; the row loads.",
        "- Rows in = rows loaded + rows rejected, per file (`ops.file_ledger`).",
        "- Labels (plans, approaches, focus areas, obstacle categories, statuses, levels) are accepted as the",
        "  source documents write them and in their usual variants: with or without ด้าน / กลุ่ม / ปัญหา /",
        "  แนวทางที่ N, with ๆ spaced or not, with the English name in brackets, or the English name alone; the",
        "  marts' Thai labels are the documents' words (`dbt_project/seeds/`). An unknown label rejects its row and",
        "  the reason names the nearest known label.",
        "",
        "## Value types · ชนิดข้อมูล",
        "",
        "| type | ชนิด | accepted |",
        "|---|---|---|",
        *(f"| `{kind}`: {en} | {th} | {_cell(accepted)} |" for kind, (th, en, accepted) in TYPES.items()),
        "",
    ]
    for source in SOURCES.values():
        lines += [f"## `{source.name}` · {source.title_th}", "", source.title_en + ".", "",
                  f"Folder `landing/{source.name}/`, files {', '.join(source.file_types)}; one row per "
                  f"{' × '.join(f'`{k}`' for k in source.key)}.", ""]
        if source.template:
            lines += [f"Templates: [`templates/{source.name}.csv`](../templates/{source.name}.csv), "
                      f"[`templates/{source.name}.xlsx`](../templates/{source.name}.xlsx).", "",
                      *_column_table(source), "", *_variants_table(source), *_checks_table(source)]
        else:
            lines += ["Produced by the PDF extraction of kaogeek/thailand-budget-pdf2csv, not filled in by hand",
                      "(no template). The first, unnamed column is a row index and is ignored. Every V2 column is",
                      "kept as text in `raw.budget_bill`; typed columns are added beside it: `amount_baht`",
                      "(commas or floats; an AMOUNT that is empty or cannot be read rejects its row), `fiscal_year_be`",
                      "(the instalment year FISCAL_YEAR; the bill's own year comes from REF_DOC), `cross_func` and",
                      "`obliged` as booleans, `has_extraction_warning` (DEBUG_LOG not empty; the column may be absent,",
                      "as in other extractions). Books are third-party extractions: feedback goes to the data team.",
                      "A multi-year obligation's instalments decades away are flagged (implausible instalment year),",
                      "not rejected, and never count in another year's total.", "",
                      *_budget_bill_table(source), "", *_checks_table(source)]
        if source.extra_raw:
            lines += ["Plan names damaged inside the name (a misread consonant, a lost vowel, a cut-off end) are",
                      "read as the registered plan of `dbt_project/seeds/budget_plans.csv` when exactly one is",
                      "within a few edits; the text as written stays in `budget_plan_as_written` and the repair",
                      "is reported as a warning. Garbage after a name and scrambled Thai marks need no repair:",
                      "the marts match plan names by prefix on the name key.", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- templates

def render_csv(source: Source) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([c.header_th for c in source.columns])
    return buf.getvalue().encode("utf-8-sig")


def list_labels(column: Column) -> list[str] | None:
    """The labels a drop-down offers: the documents' Thai words (or yes/no)."""
    if column.kind == "bool":
        return list(BOOL_LABELS)
    if column.kind == "enum" and column.values:
        return [column.value_label(code) or code for code in column.values]
    return None


def _list_formula(lists: Worksheet, column_no: int, labels: list[str]) -> str:
    """The labels in a column of the hidden lists sheet, as a range: Excel's inline lists stop at 255
    characters and cannot hold a comma, and the documents' approach names are longer than that."""
    letter = get_column_letter(column_no)
    for row, label in enumerate(labels, start=1):
        lists.cell(row=row, column=column_no, value=label)
    return f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(labels)}"


def build_workbook(source: Source) -> Workbook:
    wb = Workbook()
    wb.properties.creator = "dg_warehouse reporting.templates"
    wb.properties.created = FIXED_TIME
    ws = wb.active
    ws.title = DATA_SHEET
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for i, c in enumerate(source.columns, start=1):
        cell = ws.cell(row=1, column=i, value=c.header_th)
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
        note = [f"{c.name} ({'required · จำเป็น' if c.required else 'optional · ไม่บังคับ'})", c.description]
        if c.values or c.kind == "bool":
            note.append("allowed: " + _allowed(c))
        note.append(f"example · ตัวอย่าง: {c.example}")
        cell.comment = Comment("\n".join(note), "dg_warehouse", width=320, height=140)
        ws.column_dimensions[get_column_letter(i)].width = max(14, min(40, len(c.header_th) + 6))
        labels = list_labels(c)
        if labels:
            letter = get_column_letter(i)
            dv = DataValidation(type="list", formula1=_list_formula(lists, i, labels), allow_blank=not c.required,
                                errorStyle="warning",
                                showErrorMessage=True, error=f"allowed: {_allowed(c)}", errorTitle=c.name,
                                showInputMessage=True, prompt=_allowed(c)[:255], promptTitle=c.name)
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    _notes_sheet(wb.create_sheet(NOTES_SHEET), source)
    return wb


def _notes_sheet(ws, source: Source) -> None:
    ws.append([f"{source.title_th} · {source.title_en}"])
    ws.append([f"กรอกข้อมูลในแผ่นงาน \"{DATA_SHEET}\" ตั้งแต่แถวที่ 2 ห้ามเปลี่ยนหัวตาราง · "
               f"Fill in sheet \"{DATA_SHEET}\" from row 2; do not change the header row."])
    ws.append([f"วางไฟล์ที่ landing/{source.name}/ · Put the file under landing/{source.name}/"])
    ws.append([])
    ws.append(["หัวตาราง · header", "column", "ชนิด · type", "จำเป็น · required", "ค่าที่ใช้ได้ · allowed values",
               "ตัวอย่าง · example", "คำอธิบาย · meaning"])
    for cell in ws[5]:
        cell.font = Font(bold=True)
    for c in source.columns:
        th, en, _ = TYPES[c.kind]
        ws.append([c.header_th, c.name, f"{th} · {en}", "จำเป็น · yes" if c.required else "ไม่บังคับ · no",
                   _allowed(c), c.example, c.description])
    for letter, width in zip("ABCDEFG", (28, 24, 22, 16, 60, 30, 50), strict=True):
        ws.column_dimensions[letter].width = width


def render_xlsx(source: Source) -> bytes:
    buf = io.BytesIO()
    build_workbook(source).save(buf)
    return buf.getvalue()


def xlsx_content(data: bytes) -> list[object]:
    """What a workbook shows: sheets, cells, comments, lists, frozen panes, widths (not its save time)."""
    wb = load_workbook(io.BytesIO(data))
    content: list[object] = []
    for ws in wb.worksheets:
        cells = [[(c.value, c.comment.text if c.comment else None) for c in row] for row in ws.iter_rows()]
        lists = sorted((str(dv.sqref), dv.type, dv.formula1, dv.errorStyle, dv.prompt)
                       for dv in ws.data_validations.dataValidation)
        widths = sorted((k, d.width) for k, d in ws.column_dimensions.items())
        content.append((ws.title, cells, lists, ws.freeze_panes, widths))
    return content


# ---------------------------------------------------------------- files

def outputs() -> dict[Path, bytes]:
    """Relative path -> generated bytes."""
    files: dict[Path, bytes] = {DOC_PATH: render_markdown().encode("utf-8")}
    for source in SOURCES.values():
        if source.template:
            files[TEMPLATE_DIR / f"{source.name}.csv"] = render_csv(source)
            files[TEMPLATE_DIR / f"{source.name}.xlsx"] = render_xlsx(source)
    return files | staging_models.outputs()


def _same(path: Path, data: bytes) -> bool:
    if not path.exists():
        return False
    if path.suffix == ".xlsx":
        return xlsx_content(path.read_bytes()) == xlsx_content(data)
    return path.read_bytes() == data


def _refuse_hand_written(root: Path) -> None:
    if written := staging_models.hand_written(root):
        raise ValueError(f"{', '.join(map(str, written))}: written by hand, not generated; turn generated_staging "
                         "off for its source or delete the file to have it generated")


def stale(root: Path = REPO_ROOT) -> list[Path]:
    """Generated files missing, different or (staging models) no longer wanted under ``root``."""
    _refuse_hand_written(root)
    return [rel for rel, data in outputs().items() if not _same(root / rel, data)] + staging_models.orphans(root)


def write(root: Path = REPO_ROOT) -> list[Path]:
    """Write the files that changed and remove generated staging models no source asks for; returns them."""
    _refuse_hand_written(root)
    changed = []
    for rel, data in outputs().items():
        if not _same(root / rel, data):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
            changed.append(rel)
    for rel in staging_models.orphans(root):
        (root / rel).unlink()
        changed.append(rel)
    return changed


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["--check"]:
            out = stale()
            for rel in out:
                print(f"stale: {rel} (run dgwh templates)")
            return 1 if out else 0
        for rel in write():
            print(f"{'removed' if not (REPO_ROOT / rel).exists() else 'wrote'} {rel}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

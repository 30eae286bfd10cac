"""Quarantine: a copy of a rejected file, a report and a feedback note beside it (Thai and English).

``<copy>.report.md`` is for the data team (every failed check, rows, columns, expected and found
values); ``<copy>.feedback.txt`` is the short message for the agency officer who sent the file:
what to fix, row by row. ``<copy>.report.json`` holds the same facts for machines.

Values from the file are shown neutralised in all three: a cell starting with = + - @ (a
spreadsheet formula or DDE payload, leading spaces ignored) is quoted whole (``'-287'``; in the JSON,
for machines, only prefixed with the quote), control characters are removed, and a long value is cut inside
its quotes (``ground.text.clip``). Quarantine names are flat and at most ``MAX_NAME_BYTES`` of UTF-8, so a
255-byte Thai file name still fits beside its reports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from expectations.suites import GARBLED_TEXT
from ground.files import PRIVATE_DIR, flat_name, make_private_dirs
from ground.rows import RowIssue
from ground.sources import SOURCES, Source
from ground.text import clip
from ingest.discover import LandingFile, local_copy
from nightly.feedback import CATEGORY_ORDER, CATEGORY_TEXT, explain, file_problem, template_headers

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@")
REPORT_SUFFIXES = (".report.md", ".report.json", ".feedback.txt")
# Most filesystems allow 255-byte names: "<12 hex digits>_" + name + the longest suffix must fit.
MAX_NAME_BYTES = 255 - len("0123456789ab_") - max(map(len, REPORT_SUFFIXES))
MAX_ITEMS = 10
MAX_ROWS_SHOWN = 10
MAX_VALUES_SHOWN = 5
MAX_MESSAGE = 300
MAX_VALUE = 200
MAX_ROW_LINES = 500
PRIVATE = 0o600  # quarantined copies and their reports hold agencies' data: the pipeline's user alone


def _private_dir(path: Path, narrow: bool = True) -> None:
    """``path`` and the folders made for it are 0700 from their creation; an older, wider one is narrowed
    (``narrow``: the day folders are the pipeline's; a configured QUARANTINE_DIR keeps the mode it was given)."""
    make_private_dirs(path)
    if narrow and path.stat().st_mode & 0o777 != PRIVATE_DIR and path.stat().st_uid == os.geteuid():
        os.chmod(path, PRIVATE_DIR)


def _open_private(path: Path, mode: str = "w", **kw):
    """A file that is 0600 before its first byte (created so; an existing one is narrowed before writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.fchmod(fd, PRIVATE)
    return os.fdopen(fd, mode, **kw)


def formula_safe(value: object) -> str:
    """The value as text for people that no spreadsheet will run: control characters removed, a value that
    starts like a formula quoted whole (``'-287'``: where it ends stays plain)."""
    text = _CONTROL.sub("", str(value))
    return f"'{text}'" if text.lstrip()[:1] in FORMULA_START else text


def _cell_safe(value: object) -> str:
    """The value for the JSON report: control characters removed, a formula start prefixed with a quote (the
    spreadsheet convention; strip one leading quote to get the value back)."""
    text = _CONTROL.sub("", str(value))
    return "'" + text if text.lstrip()[:1] in FORMULA_START else text


def neutralise(value: object) -> str:
    """A value from the file for the Markdown report and the feedback note (one line, at most ``MAX_VALUE``
    characters, cut inside its quotes)."""
    text = _CONTROL.sub("", str(value).replace("\n", " "))
    return formula_safe(clip(text, MAX_VALUE - 2).replace("|", "\\|"))


def _md(text: str) -> str:
    """Our own text in a Markdown table cell (values from the file go through ``neutralise``)."""
    return text.replace("|", "\\|").replace("\n", " ")


def safe_name(relative_path: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A flat, harmless quarantine name that still fits beside its reports (``ground.files.flat_name``)."""
    return flat_name(relative_path, max_bytes)


def _rows(rows: list[int], total: int) -> tuple[str, str]:
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = max(total, len(rows)) - min(len(rows), MAX_ROWS_SHOWN)
    if not shown:
        return "", ""
    label_en = ("row " if len(rows) == 1 else "rows ") + shown + (f" (and {more} more)" if more > 0 else "")
    label_th = "แถวที่ " + shown + (f" (และอีก {more} แถว)" if more > 0 else "")
    return label_en, label_th


def _found(failure: dict) -> str:
    values = [str(v) for v in failure.get("values", [])[:MAX_VALUES_SHOWN]]
    if failure.get("column") == GARBLED_TEXT:  # "<column>: <text>"; the column is named already
        values = [v.split(": ", 1)[-1] for v in values]
    return ", ".join(neutralise(v) for v in values)


def _summary(code: str, message_en: str, message_th: str) -> tuple[str, str]:
    category = code.split(".", 1)[1] if code.startswith("validation.") else None
    if category in CATEGORY_TEXT:
        return CATEGORY_TEXT[category]
    return message_en, message_th


def _opening(name: str, source: Source, what_en: str, what_th: str,
             partial: tuple[int, int] | None) -> tuple[list[str], list[str]]:
    """The first lines: who the note is for and whether the file loaded (without some rows) or not."""
    if source.third_party:  # a budget book extracted by others: the data team fixes it, no agency can
        who_en, who_th = "For the data team (a third-party extraction, not an agency's file): ", \
            "ถึงทีมข้อมูล (ไฟล์ที่สกัดโดยบุคคลภายนอก ไม่ใช่ไฟล์ที่หน่วยงานส่ง): "
    else:
        who_en = who_th = ""
    if partial:
        rejected, rows_in = partial
        return ([f'{who_th}ไฟล์ "{name}" นำเข้าระบบแล้ว ยกเว้น {rejected} จาก {rows_in} แถว: {what_th}',
                 "แถวที่ต้องแก้ไข:"],
                [f'{who_en}File "{name}" was loaded except {rejected} of its {rows_in} rows: {what_en}.',
                 "Rows to fix:"])
    return ([f'{who_th}ไฟล์ "{name}" ยังไม่ได้นำเข้าระบบ: {what_th}', "สิ่งที่ต้องแก้ไข:"],
            [f'{who_en}File "{name}" was not loaded: {what_en}.', "What to fix:"])


def _closing(source: Source, partial: tuple[int, int] | None) -> tuple[str, str]:
    if source.third_party:
        return ("ตรวจสอบรายการเหล่านี้กับเอกสารงบประมาณฉบับ PDF แก้ไขหรือสกัดข้อมูลเล่มนี้ใหม่ แล้ววางไฟล์ CSV ที่แก้ไขแล้วใน "
                f"landing/{source.name}/ (ไฟล์ใหม่ของเล่มเดียวกันตาม REF_DOC จะแทนที่ไฟล์เดิม)",
                "Check these lines against the published PDF, correct or re-extract the book, and put the corrected "
                f"CSV in landing/{source.name}/ (the newest file of a book, by REF_DOC, replaces the older one).")
    if partial:
        return ("กรุณาแก้ไขแถวเหล่านี้แล้วส่งไฟล์ใหม่ทั้งไฟล์อีกครั้ง (ไฟล์ใหม่จะแทนที่ไฟล์นี้)",
                "Please fix these rows and send the whole file again (the new file replaces this one).")
    return "กรุณาแก้ไขแล้วส่งไฟล์ใหม่ทั้งไฟล์อีกครั้ง", "Please fix the file and send the whole file again."


def feedback_text(lf: LandingFile, source: Source, code: str, message_en: str, message_th: str,
                  failures: list[dict], sheets: list[str] | None = None,
                  partial: tuple[int, int] | None = None) -> str:
    """The sender's note: what is wrong and what to fix, in Thai then English. ``partial`` is
    (rows rejected, rows in) for a file that loaded without some of its rows."""
    name = neutralise(lf.relative_path)
    what_en, what_th = (clip(neutralise(m), MAX_MESSAGE) for m in _summary(code, message_en, message_th))
    where = f" (sheet {', '.join(neutralise(s) for s in sheets)})" if sheets else ""
    where_th = f" (แผ่นงาน {', '.join(neutralise(s) for s in sheets)})" if sheets else ""
    th, en = _opening(name, source, what_en, what_th, partial)
    critical = sorted((f for f in failures if f.get("severity") == "critical"),
                      key=lambda f: CATEGORY_ORDER.index(explain(f, source).category))
    if not critical:
        fix_en, fix_th = file_problem(code)
        th.append(f"- {fix_th}")
        en.append(f"- {fix_en}")
        if code in ("no_header", "no_data_sheet"):
            headers = "; ".join(template_headers(source))
            th.append(f"- หัวคอลัมน์บังคับ: {headers}")
            en.append(f"- Required column headers: {headers}")
    items: list[tuple[str, str]] = []  # (Thai, English) of each thing to fix, each said once
    for failure in critical[:MAX_ITEMS]:
        x = explain(failure, source)
        rows_en, rows_th = _rows(failure.get("rows", []), int(failure.get("unexpected_count") or 0))
        found_en = found_th = _found(failure)
        if failure["expectation"] == "expect_column_values_to_not_be_null" and not found_en:
            found_en, found_th = "an empty cell", "ช่องว่าง"
        if failure["expectation"] == "expect_table_columns_to_match_set":
            item = (f"ไม่มีคอลัมน์ {x.column_th} ต้องการ: {x.expected_th}"
                    + (f"; หัวตารางในไฟล์ที่ไม่รู้จัก: {found_th}" if found_th else ""),
                    f"Column {x.column_en} is missing: expected {x.expected_en}"
                    + (f"; headers in your file we do not recognise: {found_en}" if found_en else ""))
        else:
            has_column = failure.get("column") is not None
            place_th = " ".join(p for p in (rows_th + where_th, f"คอลัมน์ {x.column_th}" if has_column else "") if p)
            place_en = ", ".join(p for p in (rows_en + where, f"column {x.column_en}" if has_column else "") if p)
            place_en = place_en[:1].upper() + place_en[1:]
            item = (f"{place_th + ' ' if place_th else ''}ต้องการ: {x.expected_th}"
                    + (f"; พบ: {found_th}" if found_th else ""),
                    f"{place_en + ': ' if place_en else ''}expected {x.expected_en}"
                    + (f"; found: {found_en}" if found_en else ""))
        if item not in items:  # a value that cannot be read and the empty required cell it leaves: one thing to fix
            items.append(item)
    for i, (item_th, item_en) in enumerate(items, 1):
        th.append(f"{i}. {item_th}")
        en.append(f"{i}. {item_en}")
    if len(critical) > MAX_ITEMS:
        th.append(f"... และอีก {len(critical) - MAX_ITEMS} รายการ (ดูรายงานฉบับเต็ม)")
        en.append(f"... and {len(critical) - MAX_ITEMS} more (see the full report)")
    close_th, close_en = _closing(source, partial)
    th.append(close_th)
    en.append(close_en)
    return "\n".join([*th, "", *en]) + "\n"


def _rejected_rows_table(issues: list[RowIssue]) -> list[str]:
    lines = ["## Rejected rows · แถวที่ไม่ได้นำเข้า", "",
             "| row · แถว | sheet · แผ่นงาน | column · คอลัมน์ | found · ค่าที่พบ | reason · สาเหตุ |",
             "|---|---|---|---|---|"]
    for i in issues[:MAX_ROW_LINES]:
        lines.append(f"| {i.row} | {neutralise(i.sheet or '-')} | {_md(i.column or '-')} | "
                     f"{neutralise(i.value) if i.value is not None else '-'} | {neutralise(i.message)} |")
    if len(issues) > MAX_ROW_LINES:
        lines.append(f"\n... and {len(issues) - MAX_ROW_LINES} more (all of them are in ops.rejected_rows)")
    return [*lines, ""]


def _report(lf: LandingFile, source: Source, code: str, message_en: str, message_th: str, failures: list[dict],
            run_id: str, feedback: str, rows: tuple[int, int, list[RowIssue]] | None = None) -> str:
    title = ("# Loaded without some rows · นำเข้าแล้วยกเว้นบางแถว" if rows else "# Rejected file · ไฟล์ที่ถูกปฏิเสธ")
    lines = [
        f"{title}: `{neutralise(lf.relative_path)}`",
        "",
        f"- Source · แหล่งข้อมูล: {lf.source}",
        f"- SHA-256: {lf.sha256}",
        f"- Run · รอบการทำงาน: {run_id}",
        *([f"- Rows · แถว: {rows[1]} in, {rows[1] - rows[0]} loaded, {rows[0]} rejected"] if rows else []),
        f"- Reason · สาเหตุ: **{code}**",
        f"  - EN: {neutralise(message_en)}",
        f"  - TH: {neutralise(message_th)}",
        "",
        "## What to fix · สิ่งที่ต้องแก้ไข",
        "",
        "```text",
        feedback.rstrip("\n"),
        "```",
        "",
    ]
    if failures:
        lines += ["## Checks · การตรวจสอบ", "",
                  "| check · การตรวจสอบ | column · คอลัมน์ | severity · ระดับ | rows · แถว | expected · ค่าที่ถูกต้อง "
                  "| found · ค่าที่พบ |", "|---|---|---|---|---|---|"]
        for f in failures:
            x = explain(f, source)
            shown = ", ".join(str(r) for r in f.get("rows", [])[:20]) or "-"
            more = int(f.get("unexpected_count") or 0) - min(len(f.get("rows", [])), 20)
            shown += f" (+{more})" if more > 0 and f.get("rows") else ""
            values = ", ".join(neutralise(v) for v in f.get("values", [])[:10]) or "-"
            lines.append(f"| {f['expectation']} | {_md(x.column_en)} | {f['severity']} | {shown} | "
                         f"{_md(x.expected_en)} · {_md(x.expected_th)} | {values} |")
        lines.append("")
    if rows:
        lines += _rejected_rows_table(rows[2])
    return "\n".join(lines) + "\n"


def quarantine(lf: LandingFile, quarantine_dir: Path, code: str, message_en: str, message_th: str,
               failures: list[dict], run_id: str, sheets: list[str] | None = None,
               rows: tuple[int, int, list[RowIssue]] | None = None) -> Path:
    """Copy the file to ``<quarantine_dir>/<UTC day>/`` and write the report, JSON and feedback beside it.

    ``rows`` = (rows rejected, rows in, their reasons) for a file that loaded without some rows: the
    copy, report and feedback then say which rows to fix."""
    source = SOURCES[lf.source]
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    target_dir = quarantine_dir / day
    _private_dir(quarantine_dir, narrow=False)
    _private_dir(target_dir)
    target = target_dir / f"{lf.sha256[:12]}_{safe_name(lf.relative_path)}"
    with local_copy(lf.uri) as src, open(src, "rb") as fin, _open_private(target, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    feedback = feedback_text(lf, source, code, message_en, message_th, failures, sheets,
                             rows[:2] if rows else None)
    report_json = json.dumps(
        {"file": lf.relative_path, "source": lf.source, "sha256": lf.sha256, "run_id": run_id, "code": code,
         "message_en": message_en, "message_th": message_th,
         "failures": [{**f, "values": [_cell_safe(v) for v in f.get("values") or []]} for f in failures],
         "explained": [explain(f, source).__dict__ for f in failures], "feedback": feedback,
         "rows_rejected": [{"row": i.row, "sheet": i.sheet, "column": i.column, "value": _cell_safe(i.value)
                            if i.value is not None else None, "reason": i.message} for i in (rows[2] if rows else [])]},
        ensure_ascii=False, indent=2, default=str)
    texts = {".feedback.txt": feedback,
             ".report.md": _report(lf, source, code, message_en, message_th, failures, run_id, feedback, rows),
             ".report.json": report_json}
    for suffix, text in texts.items():
        with _open_private(Path(str(target) + suffix), encoding="utf-8") as fh:
            fh.write(text)
    return target

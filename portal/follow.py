"""What became of an agency's submissions (the ledger) and what it still owes this fiscal year (the coverage mart).

Every query is scoped by the agency id of the signed-in account (None: an operator, every agency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg

# A file's fate, as the page names it (Thai first, English beside).
FATES = {
    "waiting": ("รอการประมวลผลรอบกลางคืน", "waiting for the night"),
    "loaded": ("นำเข้าแล้ว", "loaded"),
    "loaded_partly": ("นำเข้าแล้ว ยกเว้นบางแถว", "loaded, some rows rejected"),
    "rejected": ("ไม่ได้นำเข้า (ถูกปฏิเสธทั้งไฟล์)", "rejected"),
    "superseded": ("ถูกแทนที่ด้วยไฟล์ที่ส่งภายหลัง", "superseded by a later file"),
    "withdrawn": ("ถอนออกแล้ว", "withdrawn"),
}
SUBMISSION_TYPES = {"project_report": ("รายงานสถานะโครงการ", "Project status report"),
                    "readiness_survey": ("แบบสำรวจความพร้อมรัฐบาลดิจิทัล", "Readiness survey")}


@dataclass
class Submission:
    submission_id: int
    agency_id: str
    source: str
    original_name: str
    landing_path: str
    sha256: str
    size_bytes: int
    verdict: str
    rows_in: int
    rows_rejected_checked: int
    night_of: date
    submitted_at: datetime
    username: str
    file_id: int | None
    fate: str
    rows_loaded: int | None
    rows_rejected: int | None
    reason: str | None
    processed_at: datetime | None
    withdrawn_reason: str | None
    quarantine_path: str | None


# The ledger row of each submission (same source and bytes), whether it was withdrawn, and whether a later loaded
# file of the same source covers one of its agencies and years (the marts then use the later one).
_SUBMISSIONS = """
SELECT s.submission_id, s.agency_id, s.source, s.original_name, s.landing_path, s.content_sha256, s.size_bytes,
       s.verdict, s.rows_in, s.rows_rejected, s.night_of, s.submitted_at, u.username,
       l.file_id, l.status, l.rows_loaded, l.rows_rejected, l.reject_reason, l.processed_at, w.reason,
       l.quarantine_path,
       EXISTS (SELECT 1 FROM ops.file_ledger l2
               WHERE l2.source = l.source AND l2.status = 'loaded' AND l2.file_id > l.file_id
                 AND l2.agency_names && l.agency_names AND l2.fiscal_years_be && l.fiscal_years_be
                 AND NOT EXISTS (SELECT 1 FROM ops.file_withdrawals w2 WHERE w2.file_id = l2.file_id))
FROM ops.portal_submissions s
JOIN ops.portal_users u ON u.user_id = s.user_id
LEFT JOIN ops.file_ledger l ON l.source = s.source AND l.content_sha256 = s.content_sha256
LEFT JOIN ops.file_withdrawals w ON w.file_id = l.file_id
WHERE (%(agency)s::text IS NULL OR s.agency_id = %(agency)s::text)
  AND (%(id)s::bigint IS NULL OR s.submission_id = %(id)s::bigint)
ORDER BY s.submitted_at DESC
LIMIT 500
"""


def _fate(status: str | None, rows_rejected: int | None, superseded: bool, withdrawn: str | None) -> str:
    if status is None:
        return "waiting"
    if withdrawn is not None:
        return "withdrawn"
    if status == "rejected":
        return "rejected"
    if superseded:
        return "superseded"
    return "loaded_partly" if rows_rejected else "loaded"


def submissions(conn: psycopg.Connection, agency_id: str | None, submission_id: int | None = None
                ) -> list[Submission]:
    rows = conn.execute(_SUBMISSIONS, {"agency": agency_id, "id": submission_id}).fetchall()
    out = []
    for r in rows:
        status, withdrawn, superseded = r[14], r[19], r[21]
        out.append(Submission(*r[:13], r[13], _fate(status, r[16], superseded, withdrawn), r[15], r[16], r[17],
                              r[18], withdrawn, r[20]))
    return out


def night_note(sub: Submission, max_chars: int = 20_000) -> str | None:
    """The note the night wrote for the agency beside the quarantined copy (``*.feedback.txt``, Thai then
    English), when this process can read it."""
    if not sub.quarantine_path:
        return None
    try:
        with open(f"{sub.quarantine_path}.feedback.txt", encoding="utf-8") as fh:
            return fh.read(max_chars)
    except OSError:
        return None


def rejected_rows(conn: psycopg.Connection, file_id: int, limit: int = 200) -> list[tuple]:
    """(row, sheet, column, value, reason) of a file's rejected rows, as the night recorded them."""
    return conn.execute("SELECT source_row, source_sheet, column_name, value, reason FROM ops.rejected_rows "
                        "WHERE file_id = %s ORDER BY source_row NULLS FIRST, column_name LIMIT %s",
                        (file_id, limit)).fetchall()


def fiscal_year_be(day: date) -> int:
    """The Thai fiscal year (BE) of a day: it starts on 1 October."""
    return day.year + 543 + (1 if day.month >= 10 else 0)


@dataclass
class Owed:
    agency_id: str
    submission_type: str
    files_received: int
    files_rejected: int
    latest_received_at: datetime | None
    is_complete: bool


def coverage(conn: psycopg.Connection, agency_id: str | None, fiscal_year: int) -> list[Owed] | None:
    """The coverage mart's rows for the fiscal year (None when the marts are not built yet)."""
    try:
        with conn.transaction():
            rows = conn.execute(
                "SELECT agency_id, submission_type, files_received, files_rejected, latest_received_at, is_complete "
                "FROM marts.submission_coverage WHERE fiscal_year_be = %(fy)s "
                "AND (%(agency)s::text IS NULL OR agency_id = %(agency)s::text) "
                "ORDER BY is_complete, agency_id, submission_type LIMIT 2000",
                {"fy": fiscal_year, "agency": agency_id}).fetchall()
    except psycopg.errors.UndefinedTable:
        return None
    return [Owed(*r) for r in rows]

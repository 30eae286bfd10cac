"""Check a file without loading it: the verdict the night would give, and the same words.

The same isolated reader (``ingest.isolate``), the same GX gate (``expectations.gate.get_gate``, run without a
run id so no result is stored), the same row- and file-level decision and the same Thai and English feedback
(``nightly.pipeline``'s failure helpers, ``nightly.feedback``, ``nightly.quarantine.feedback_text``). Nothing is
written: no ledger row, no quarantine copy, no GX result. The agencies' submission page (``portal``) calls it.

``judge`` is the decision of ``nightly.pipeline._settle`` (whole file rejected, or which rows), kept in one
function that both can call.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ground.rows import ParsedFile, RowIssue
from ground.settings import Settings, get_settings
from ground.sources import SOURCES, Source
from ingest.discover import LandingFile
from ingest.isolate import parse_many_isolated
from ingest.readers import FileRejected
from nightly.feedback import reject_code
from nightly.pipeline import (
    _ends_mid_row,
    _failures,
    _note_failures,
    _partial_reason,
    _reason,
    _rejected_rows,
    _unreadable_detail,
    _with_parse_errors,
)
from nightly.quarantine import feedback_text

ACCEPTED, ROWS_REJECTED, REJECTED = "accepted", "rows_rejected", "rejected"
# A web server checks files in several threads: each reads in its own child process, but the process's one GX
# context validates one file at a time (the night validates in one thread per process).
_GATE_LOCK = threading.Lock()


@dataclass
class Verdict:
    """What the night would do with a file: load it whole (``accepted``), load it without some rows
    (``rows_rejected``) or reject it whole (``rejected``), with the reason and the rows that fail."""

    status: str
    code: str | None = None
    message_en: str | None = None
    message_th: str | None = None
    failures: list[dict] = field(default_factory=list)
    row_issues: list[RowIssue] = field(default_factory=list)
    rows_in: int = 0
    rows_rejected: int = 0
    rejected_records: set[int] = field(default_factory=set)  # positions in ParsedFile.records


def judge(path: Path, parsed: ParsedFile, result) -> Verdict:
    """The night's decision for a parsed and validated file (``result``: its ``GateResult``)."""
    source = parsed.source
    failures = _with_parse_errors(_failures(result), parsed)
    truncated = _ends_mid_row(path, parsed, failures)
    failures += [truncated] if truncated else []
    failures += _note_failures(parsed)
    every_row_fails = bool(parsed.records) and len(result.rejected) == len(parsed.records)
    if result.file_level or truncated or every_row_fails:
        code = reject_code([f for f in failures if f.get("level") == "file"] or failures, source)
        en, th = _reason(code, failures, source.name)
        rows = [] if result.file_level or truncated else _rejected_rows(parsed, result, source)
        return Verdict(REJECTED, code, en, th, failures, [*rows, *parsed.row_rejects], parsed.rows_in,
                       parsed.rows_in, set(result.rejected))
    row_issues = _rejected_rows(parsed, result, source)
    rows_rejected = len(parsed.row_rejects) + len(result.rejected)
    if not rows_rejected:
        return Verdict(ACCEPTED, failures=failures, rows_in=parsed.rows_in)
    if result.rejected:
        code = reject_code(failures, source)
        en, th = _partial_reason(code, rows_rejected, parsed.rows_in, failures, source.name)
    else:
        code = "row_structure"
        en, th = (f"{rows_rejected} row(s) have more fields than the header",
                  f"{rows_rejected} แถวมีจำนวนช่องเกินหัวตาราง")
    return Verdict(ROWS_REJECTED, code, en, th, failures, [*parsed.row_rejects, *row_issues], parsed.rows_in,
                   rows_rejected, set(result.rejected))


@dataclass
class CheckResult:
    """A checked file: the verdict, the agency officer's note (the night's ``.feedback.txt`` text), and the
    parsed file when it could be read (for a table of its rows)."""

    label: str
    source: Source
    sha256: str
    size_bytes: int
    verdict: Verdict
    feedback: str
    parsed: ParsedFile | None = None
    sheets: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.verdict.status


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, source_name: str, label: str | None = None, gate=None,
               settings: Settings | None = None) -> CheckResult:
    """Read and validate ``path`` as a file of ``source_name`` the way the night would, and write nothing.

    ``label``: the name the file is shown under (the night shows the landing path). Raises only what is not the
    file's (the machine, the project), as the night does."""
    source = SOURCES[source_name]
    label = label or path.name
    size, sha = path.stat().st_size, sha256_file(path)
    lf = LandingFile(source_name, str(path), label, size, datetime.now(UTC), sha)
    (parsed,) = parse_many_isolated([path], source)
    if isinstance(parsed, FileRejected):
        en, th = _unreadable_detail(parsed, path)
        verdict = Verdict(REJECTED, parsed.code, en, th, rows_in=parsed.rows_in, rows_rejected=parsed.rows_in)
        return CheckResult(label, source, sha, size, verdict, feedback_text(lf, source, parsed.code, en, th, []))
    if isinstance(parsed, BaseException):
        raise parsed
    if gate is None:
        from expectations.gate import get_gate

        gate = get_gate(settings or get_settings())
    with _GATE_LOCK:
        (result,) = gate.validate_many([parsed], None, [label])  # no run id: nothing stored
    verdict = judge(path, parsed, result)
    partial = (verdict.rows_rejected, parsed.rows_in) if verdict.status == ROWS_REJECTED else None
    note = "" if verdict.status == ACCEPTED else feedback_text(
        lf, source, verdict.code or "", verdict.message_en or "", verdict.message_th or "", verdict.failures,
        parsed.sheets, partial)
    return CheckResult(label, source, sha, size, verdict, note, parsed, parsed.sheets)


"""Check a file without loading it: the verdict the night would give, and the same words.

The same isolated reader (``ingest.isolate``), the same GX gate (``expectations.gate.get_gate``, run without a
run id so no result is stored), the same row- and file-level decision and the same Thai and English feedback
(``nightly.pipeline``'s failure helpers, ``nightly.feedback``, ``nightly.quarantine.feedback_text``). Nothing is
written: no ledger row, no quarantine copy, no GX result. The agencies' submission page (``portal``) calls it.

The decision (whole file rejected, or which rows) is ``nightly.pipeline.judge``, the one the night's
``_settle`` acts on.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ground.rows import ParsedFile
from ground.settings import Settings, get_settings
from ground.sources import SOURCES, Source
from ingest.discover import LandingFile
from ingest.isolate import parse_many_isolated
from ingest.readers import FileRejected
from nightly.pipeline import ACCEPTED, REJECTED, ROWS_REJECTED, Verdict, _unreadable_detail, judge
from nightly.quarantine import feedback_text

# A web server checks files in several threads: each reads in its own child process, but the process's one GX
# context validates one file at a time (the night validates in one thread per process).
_GATE_LOCK = threading.Lock()


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


"""Quarantine: a copy of a rejected file and a report beside it (Thai and English).

Values from the file are shown neutralised: a cell starting with = + - @ (a spreadsheet formula
or DDE payload) is prefixed with a quote, and control characters are removed.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ingest.discover import LandingFile, local_copy

_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_NAME = 120


def neutralise(value: object) -> str:
    text = _CONTROL.sub("", str(value))[:200]
    text = text.replace("|", "\\|").replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def safe_name(relative_path: str) -> str:
    """A flat, harmless file name: no directories, no ``..``, no shell or SQL punctuation."""
    name = _UNSAFE_NAME.sub("_", relative_path.replace("/", "__")).strip("._") or "file"
    return name[-MAX_NAME:]


def quarantine(lf: LandingFile, quarantine_dir: Path, code: str, message_en: str, message_th: str,
               failures: list[dict], run_id: str) -> Path:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    target_dir = quarantine_dir / day
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{lf.sha256[:12]}_{safe_name(lf.relative_path)}"
    with local_copy(lf.uri) as src:
        shutil.copyfile(src, target)
    lines = [
        f"# Rejected file · ไฟล์ที่ถูกปฏิเสธ: `{neutralise(lf.relative_path)}`",
        "",
        f"- Source · แหล่งข้อมูล: {lf.source}",
        f"- SHA-256: {lf.sha256}",
        f"- Run · รอบการทำงาน: {run_id}",
        f"- Reason · สาเหตุ: **{code}**",
        f"  - EN: {message_en}",
        f"  - TH: {message_th}",
        "",
    ]
    if failures:
        lines += ["| check · การตรวจสอบ | column · คอลัมน์ | severity | rows · แถว | found · ค่าที่พบ |",
                  "|---|---|---|---|---|"]
        for f in failures:
            rows = ", ".join(str(r) for r in f.get("rows", [])[:20]) or "-"
            values = ", ".join(neutralise(v) for v in f.get("values", [])[:10]) or "-"
            lines.append(f"| {f['expectation']} | {neutralise(f.get('column') or '-')} | {f['severity']} | "
                         f"{rows} | {values} |")
    report = Path(str(target) + ".report.md")
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(str(target) + ".report.json").write_text(json.dumps(
        {"file": lf.relative_path, "source": lf.source, "sha256": lf.sha256, "run_id": run_id, "code": code,
         "message_en": message_en, "message_th": message_th, "failures": failures},
        ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return target

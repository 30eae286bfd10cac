"""Thai-aware value parsing: text normalisation, digits, BE/CE years, dates and amounts.

Every parser returns ``None`` for an empty cell and raises ``ValueError`` with a short reason for
a value it cannot read, so callers can report the file, row and column.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from pythainlp import thai_above_vowels, thai_below_vowels, thai_follow_vowels, thai_tonemarks
from pythainlp.util import normalize as thai_normalize
from pythainlp.util import thai_digit_to_arabic_digit

from ground.settings import readable_years

BE_OFFSET = 543
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"\s+")
# Thai non-spacing marks: above/below vowels, tone marks, thanthakhat, nikhahit, yamakkan.
_THAI_MARKS = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")
_KEY_DROP = re.compile(r"[\s.()\[\]\-_,'\"/]")
PUBLIC_ORG_SUFFIX = "องค์การมหาชน"

THAI_MONTHS = {
    "มกราคม": 1, "ม.ค.": 1, "กุมภาพันธ์": 2, "ก.พ.": 2, "มีนาคม": 3, "มี.ค.": 3,
    "เมษายน": 4, "เม.ย.": 4, "พฤษภาคม": 5, "พ.ค.": 5, "มิถุนายน": 6, "มิ.ย.": 6,
    "กรกฎาคม": 7, "ก.ค.": 7, "สิงหาคม": 8, "ส.ค.": 8, "กันยายน": 9, "ก.ย.": 9,
    "ตุลาคม": 10, "ต.ค.": 10, "พฤศจิกายน": 11, "พ.ย.": 11, "ธันวาคม": 12, "ธ.ค.": 12,
    "กรกฏาคม": 7,  # a common misspelling (ฏ for ฎ)
}
# Month names and abbreviations without dots or spaces ("มค", "ม.ค" and "ม. ค." all read as January).
# Marks are kept: "ม.ค." and "มี.ค." differ only by a vowel.
_MONTH_KEYS = {re.sub(r"[.\s]", "", k): v for k, v in THAI_MONTHS.items()}
_DATE_PREFIX = re.compile(r"^(?:ณ\s*)?(?:วัน(?:จันทร์|อังคาร|พุธ|พฤหัสบดี|พฤหัส|ศุกร์|เสาร์|อาทิตย์)?\s*ที่\s*)")
_THAI_DATE = re.compile(r"(\d{1,2})\s*([^\d\s][^\d]*?)\s*(?:พ\.\s?ศ\.\s*)?(\d{4}|\d{2})")


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value  # NaN


_PTN = importlib.import_module("pythainlp.util.normalize")  # its module: ``pythainlp.util.normalize`` is the function
# Where one of PyThaiNLP's repair rules could change text, a superset of each rule's pattern: a non-base character
# at the start or after a space (dangling; a space before a mark), a tone mark or thanthakhat before an
# above/below vowel, nikhahit, a follow vowel before a tone mark, lakkhangyao, a vowel or sign repeated (spaces
# between allowed; two sara e), two tone marks. Text without any of them comes out of ``thai_normalize`` as its
# first two steps leave it (zero-width characters and duplicate spaces removed), so they alone are run.
_MARKS_TOUCHED = re.compile(
    f"(?:^| )[{_PTN._DANGLING_CHARS}]|[{thai_tonemarks}\u0e4c][{thai_above_vowels}{thai_below_vowels}]|\u0e4d"
    f"|[{thai_follow_vowels}][{thai_tonemarks}]|\u0e45|([{_PTN._NOREPEAT_CHARS}]) *\\1|[{thai_tonemarks}]{{2}}")


def _thai_repair(text: str) -> str:
    """``thai_normalize(text)``, skipping the rules (about 30 regular expressions) when none can apply."""
    plain = _PTN.remove_dup_spaces(_PTN.remove_zw(text))
    return thai_normalize(text) if _MARKS_TOUCHED.search(plain) else plain


@lru_cache(maxsize=65536)
def normalize_text(value: str) -> str:
    """NFC, no zero-width characters, PyThaiNLP's vowel/tone-mark repair, single spaces."""
    text = unicodedata.normalize("NFC", value)
    text = _ZERO_WIDTH.sub("", text)
    text = _thai_repair(text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def name_key(value: str) -> str:
    """Matching key for agency and plan names.

    Drops what OCR and PDF extraction scramble or vary: Thai non-spacing marks (so a tone mark
    or vowel stored after the wrong consonant still matches), spaces and punctuation, and the
    "(องค์การมหาชน)" suffix. The dbt macro ``name_key`` computes the same key in SQL; a test keeps
    the two equal.
    """
    text = normalize_text(value).replace(PUBLIC_ORG_SUFFIX, "")
    text = _THAI_MARKS.sub("", text)
    return _KEY_DROP.sub("", text).lower()


def to_arabic_digits(value: str) -> str:
    return thai_digit_to_arabic_digit(value) if re.search("[๐-๙]", value) else value


def parse_text(value: object) -> str | None:
    if is_blank(value):
        return None
    return normalize_text(str(value)) or None


def parse_year_be(value: object) -> int | None:
    """A year in BE or CE ("2565", "๒๕๖๕", "พ.ศ. 2565", "ปีงบประมาณ พ.ศ. 2565", "FY2022", "65", 2022.0) as BE."""
    if is_blank(value):
        return None
    text = to_arabic_digits(str(value)).strip()
    match = re.fullmatch(r"(?:ปี(?:งบประมาณ|งบฯ|งบ)?\s*)?(พ\.?\s?ศ\.?|ค\.?\s?ศ\.?|FY|BE|CE)?\s*(\d{2,4})(?:\.0+)?",
                         text, re.I)
    if not match:
        raise ValueError(f"not a year: {value!r}")
    year = int(match.group(2))
    era = (match.group(1) or "").upper()
    if year < 100:  # two digits: "65" is BE 2565, "FY22" / "ค.ศ. 22" is CE 2022
        year += 2000 if era.startswith(("ค", "CE", "FY")) else 2500
    if era.startswith(("ค", "CE")) or 1900 <= year <= 2200:
        year += BE_OFFSET
    first, last = readable_years()
    if not first <= year <= last:
        raise ValueError(f"year out of any plausible range: {value!r}")
    return year


def parse_amount(value: object, multiplier: Decimal = Decimal(1)) -> Decimal | None:
    """Baht amounts: "8,659,600", "๑,๐๐๐ บาท", "1,000.- บ.", "2,409.3962 ล้านบาท", "(1,000)", 1.5e6."""
    if is_blank(value):
        return None
    if isinstance(value, bool):  # a spreadsheet's TRUE/FALSE cell: an int to Python, no amount
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, (int, float, Decimal)):
        if not Decimal(str(value)).is_finite():
            raise ValueError(f"not an amount: {value!r}")
        return Decimal(str(value)) * multiplier
    text = to_arabic_digits(str(value)).strip()
    if text in {"-", "–", "—"}:
        return None
    if "ล้าน" in text or re.search(r"million|\bM(?:B|THB)?\b", text, re.I):
        multiplier = Decimal(1_000_000)
    text = re.sub(r"ล้านบาท|ล้าน|บาท|บ\.|THB|baht|million|\bMB?\b", "", text, flags=re.I)
    negative = text.strip().startswith("(") and text.strip().endswith(")")
    text = re.sub(r"[,\s()]", "", text)
    text = re.sub(r"(?<=\d)\.-$", "", text)  # "1,000.-": a whole-baht amount, Thai style
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(f"not an amount: {value!r}")
    try:
        amount = Decimal(text) * multiplier
    except InvalidOperation as exc:  # pragma: no cover - regex guards this
        raise ValueError(f"not an amount: {value!r}") from exc
    return -amount if negative else amount


def parse_decimal(value: object) -> Decimal | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    text = str(value) if isinstance(value, (int, float, Decimal)) else \
        to_arabic_digits(str(value)).strip().rstrip("%").replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():  # "NaN", "inf": Decimal reads them, no score is one
        raise ValueError(f"not a number: {value!r}")
    return number


def _ce_year(year: int) -> int:
    return year - BE_OFFSET if year > 2400 else year


def parse_date(value: object) -> date | None:
    """ISO, d/m/y (BE or CE) and Thai dates as a CE date.

    Thai dates: "5 ม.ค. 2565", "๕ มกราคม ๒๕๖๕", "วันพุธที่ 5 ม.ค. 65" (two digits after a Thai month
    are BE), abbreviations with dots or spaces lost ("5 มค 2565", "5 ม. ค. 2565").
    """
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = normalize_text(to_arabic_digits(str(value)))
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", text):
            return date(_ce_year(int(m[1])), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
            return date(_ce_year(int(m[3])), int(m[2]), int(m[1]))
        if m := _THAI_DATE.fullmatch(_DATE_PREFIX.sub("", text)):
            month = _MONTH_KEYS.get(re.sub(r"[.\s]", "", m[2]))
            if month:
                year = int(m[3]) + (2500 if len(m[3]) == 2 else 0)
                return date(_ce_year(year), month, int(m[1]))
    except ValueError as exc:
        raise ValueError(f"not a valid date: {value!r}") from exc
    raise ValueError(f"not a date: {value!r}")


def parse_bool(value: object) -> bool | None:
    if is_blank(value):
        return None
    text = normalize_text(str(value)).lower()
    if text in {"true", "1", "yes", "y", "ใช่", "ตอบแล้ว", "ตอบ", "มี", "/", "✓"}:
        return True
    if text in {"false", "0", "no", "n", "ไม่ใช่", "ไม่ตอบ", "ยังไม่ตอบ", "ไม่มี"}:
        return False
    raise ValueError(f"not yes/no: {value!r}")

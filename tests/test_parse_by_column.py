"""Typing a file column by column (each distinct value read once) gives exactly what reading
every cell on its own gives, on every sample file, every test-corpus file and the real budget books."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ground.sources import SOURCES
from ingest.discover import discover
from ingest.parse import _cell_reader, _column_reader, parse_file
from ingest.readers import FileRejected
from tests.conftest import BOOKS

CORPUS = Path(__file__).resolve().parent / "corpus"


def _files(landing: Path) -> list[tuple[Path, str]]:
    return [(Path(lf.uri), lf.source) for lf in discover(str(landing))]


def _both(path: Path, source: str):
    out = []
    for by_column in (True, False):
        try:
            out.append(parse_file(path, SOURCES[source], by_column=by_column))
        except FileRejected as exc:
            out.append((exc.code, exc.message_en, exc.row, exc.rows_in))
    return out


def test_every_sample_and_corpus_file_parses_the_same(sample_files, tmp_path):
    files = _files(sample_files) + _files(_corpus_landing(tmp_path))
    if BOOKS.exists():
        files += [(p, "budget_bill") for p in sorted(BOOKS.glob("*.csv"))]
    assert len(files) > 250
    differ = [str(path) for path, source in files if (pair := _both(path, source))[0] != pair[1]]
    assert differ == []


@pytest.mark.parametrize("kind", ["year", "amount", "decimal", "date", "bool", "enum"])
def test_values_equal_in_python_are_not_taken_for_one_another(kind):
    """1, 1.0, True, 0.0 and -0.0 hash alike; each is read as itself."""
    column = next(c for s in SOURCES.values() for c in s.columns if c.kind == kind)
    cells = [1, 1.0, True, 0.0, -0.0, "1", "๑", None, "", "not a value", 2565, 2565.0, "2565", "NaN"] * 2
    by_column, by_cell = _column_reader(column, Decimal(1)), _cell_reader(column, Decimal(1))
    assert [by_column(c) for c in cells] == [by_cell(c) for c in cells]
    assert [repr(by_column(c)[0]) for c in cells] == [repr(by_cell(c)[0]) for c in cells]


@pytest.mark.parametrize("cell", [True, False, "NaN", "inf", float("inf")])
def test_a_spreadsheet_boolean_or_a_non_number_in_a_score_is_unreadable_not_a_crash(cell):
    column = next(c for c in SOURCES["readiness"].columns if c.kind == "decimal")
    value, why = _column_reader(column, Decimal(1))(cell)
    assert value is None and why.startswith("not a number")


def _corpus_landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    for kind in ("bad", "good"):
        for source_dir in (CORPUS / kind).iterdir():
            if source_dir.is_dir():
                (landing / source_dir.name).mkdir(parents=True, exist_ok=True)
                (landing / source_dir.name / kind).symlink_to(source_dir)
    return landing


def _thai_soup(seed: int, count: int) -> list[str]:
    """Random short strings of the characters PyThaiNLP's rules act on (consonants, every vowel, tone mark and
    sign, spaces, newlines, zero-width characters): every rule fires somewhere in them."""
    import random

    rng = random.Random(seed)
    alphabet = "กขคงนมรฤฦอ" + "".join(chr(c) for c in range(0x0E30, 0x0E4F)) + "  \n\u200b\u200ca1"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(count)]


def test_text_repair_fast_path_equals_pythainlp_on_every_value(sample_files, tmp_path):
    """``thai.normalize_text`` skips PyThaiNLP's rules for text none of them can touch: the result is PyThaiNLP's
    own on every text cell and header of every sample, corpus and real-book file, and on random Thai text."""
    from ground import thai
    from ingest.readers import read_tables

    values: set[str] = set()
    files = _files(sample_files) + _files(_corpus_landing(tmp_path))
    if BOOKS.exists():
        files += [(p, "budget_bill") for p in sorted(BOOKS.glob("*.csv"))]
    for path, source in files:
        try:
            tables = read_tables(path, SOURCES[source])
            for table in tables:
                values.update(table.header_cells)
                for _, cells in table.rows:
                    values.update(c for c in cells if isinstance(c, str))
        except FileRejected:
            continue
    assert len(values) > 10_000
    fuzz = _thai_soup(7, 20_000)
    skipped = [v for v in [*values, *fuzz] if not thai._MARKS_TOUCHED.search(
        thai._PTN.remove_dup_spaces(thai._PTN.remove_zw(v)))]
    assert len(skipped) > len(values) // 2  # the fast path is taken for most real values
    differ = [v for v in [*values, *fuzz] if thai._thai_repair(v) != thai.thai_normalize(v)]
    assert differ == []

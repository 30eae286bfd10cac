"""One GX run over many files' rows gives each file exactly the result it gets alone.

The gate validates a night's files of a source together (``Gate.validate_many``); row- and file-level
rejection must not change by it. Checked on every file of the bad-file corpus, the good files and a
slice of the sample, batched per source as the nightly does, against each file validated on its own.
No warehouse: the gate is GX on parsed files.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from expectations.gate import Gate, GateResult
from ground.registry import alias_keys
from ground.rows import ParsedFile
from ground.sources import SOURCES
from ingest.discover import discover
from ingest.parse import parse_file
from ingest.readers import FileRejected

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
SAMPLE_PER_SOURCE = 3


def _parsed(landing: Path) -> list[ParsedFile]:
    out = []
    for lf in discover(str(landing)):
        try:
            out.append(parse_file(Path(lf.uri), SOURCES[lf.source]))
        except FileRejected:
            continue  # unreadable: never reaches the gate
    return out


@pytest.fixture(scope="module")
def batches(tmp_path_factory, sample_files) -> dict[str, list[ParsedFile]]:
    landing = tmp_path_factory.mktemp("batch-landing")
    for kind in ("bad", "good"):
        for source_dir in (CORPUS / kind).iterdir():
            if source_dir.is_dir():
                shutil.copytree(source_dir, landing / source_dir.name / kind)
    by_source: dict[str, list[ParsedFile]] = defaultdict(list)
    for parsed in _parsed(landing):
        by_source[parsed.source.name].append(parsed)
    taken: dict[str, int] = defaultdict(int)
    for parsed in _parsed(sample_files):
        if taken[parsed.source.name] < SAMPLE_PER_SOURCE:
            taken[parsed.source.name] += 1
            by_source[parsed.source.name].append(parsed)
    return dict(by_source)


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate(list(alias_keys(REPO / "dbt_project" / "seeds")))


def _plain(result: GateResult) -> dict:
    return {**dataclasses.asdict(result),
            "rejected": {k: [(dataclasses.asdict(f), v) for f, v in items] for k, items in result.rejected.items()}}


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_batch_gives_each_file_its_own_result(gate, batches, source):
    files = batches[source]
    assert len(files) >= 5, f"too few {source} files to batch"
    together = gate.validate_many(files)
    alone = [gate.validate(p) for p in files]
    assert len(together) == len(files)
    for parsed, got, expected in zip(files, together, alone, strict=True):
        assert _plain(got) == _plain(expected), parsed.path
    assert any(r.rejected for r in alone), "the corpus rejects rows of every source"


def test_the_same_keys_in_two_files_are_not_duplicates(gate, batches):
    """A resubmission beside its first version in one night: each file alone has unique keys, so the
    batch rejects nothing for the key (the marts let the newest file win)."""
    clean = next(p for p in batches["readiness"] if p.records and not gate.validate(p).failures)
    first, second = gate.validate_many([clean, clean])
    assert first == second == gate.validate(clean)
    assert not first.rejected and not first.failures


def test_a_duplicate_key_within_a_file_is_still_found_in_a_batch(gate, batches):
    clean = next(p for p in batches["readiness"] if len(p.records) > 1 and not gate.validate(p).failures)
    doubled = dataclasses.replace(clean, records=[*clean.records, {**clean.records[0], "source_row": 9999}])
    got = gate.validate_many([clean, doubled, clean])
    assert not got[0].rejected and not got[2].rejected
    assert sorted(got[1].rejected) == [0, len(doubled.records) - 1]
    (dup,) = [f for f in got[1].failures if "unique" in f.expectation]
    assert dup.rows == [int(clean.records[0]["source_row"]), 9999] and dup.unexpected_count == 2

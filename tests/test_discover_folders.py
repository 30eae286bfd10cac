"""Listing by folder: a local folder unchanged since a trusted listing is not listed again, on a real file
system. Each "night" here is one discovery given what the earlier nights left (their folders, and every
file they hashed as known, as if the ledger held it), as ``ingest.seen.discover_known`` gives them."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

import ingest.discover as discovery
from ingest.discover import DiscoveryStats, Folder, Known, SkippedFile, discover, last_skips

TICK = 0.15  # the folder-time guard in these tests (FOLDER_TICK_S): folders this still are trusted


class Nights:
    """What the warehouse would remember between nights: the folders listed and the files hashed."""

    def __init__(self, zone: Path) -> None:
        self.zone = zone
        self.known: dict[str, Known] = {}
        self.folders: dict[str, Folder] = {}
        self.looked_up: list[str] = []

    def run(self, full: bool = False) -> tuple[DiscoveryStats, list[str], list[SkippedFile]]:
        stats, skipped = DiscoveryStats(), []

        def lookup(paths):
            self.looked_up = list(paths)
            return {p: self.known[p] for p in paths if p in self.known}

        discover(str(self.zone), skipped, known=lookup, stats=stats, return_known=False,
                 folders=None if full else self.folders)
        self.known.update({lf.relative_path: Known(fp, lf.sha256) for lf, fp in stats.hashed})
        self.folders = dict(stats.folders or {})
        return stats, [lf.relative_path for lf, _ in stats.hashed], skipped

    def settle(self) -> None:
        time.sleep(TICK + 0.1)


@pytest.fixture
def nights(tmp_path, monkeypatch) -> Nights:
    monkeypatch.setattr(discovery, "FOLDER_TICK_S", TICK)
    monkeypatch.setenv("DGWH_SETTLE_S", "0")
    monkeypatch.setenv("DGWH_STATE_DIR", str(tmp_path / "state"))
    zone = tmp_path / "landing"
    for year in ("2565", "2566"):
        for batch in ("a", "b"):
            for i in range(5):
                write(zone / "readiness" / year / batch / f"old_{i}.csv", f"{year},{batch},{i}\n")
    n = Nights(zone)
    first, hashed, _ = n.run()  # the first night reads every file
    assert len(hashed) == 20 and first.folders_unchanged == 0
    n.settle()
    n.run()  # listed again: the first night hashed its files, and its folders had only just been written
    return n


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_unchanged_tree_is_not_listed_and_its_files_count_as_recognised(nights):
    stats, hashed, _ = nights.run()
    assert hashed == [] and stats.bytes_read == 0
    assert stats.folders_listed == 0 and stats.folders_unchanged == 8  # the zone, readiness, 2 years, 4 batches
    assert stats.candidates == stats.recognised == 20
    assert nights.looked_up == []  # nothing asked of the warehouse about files


def test_a_new_file_deep_in_an_old_tree_is_found_and_only_its_folder_listed(nights):
    new = write(nights.zone / "readiness/2565/b/new.csv", "2565,b,new\n")
    stats, hashed, _ = nights.run()
    assert hashed == ["readiness/2565/b/new.csv"] and stats.bytes_read == new.stat().st_size
    assert stats.folders_listed == 1 and stats.folders_unchanged == 7
    assert sorted(nights.looked_up) == sorted([*(f"readiness/2565/b/old_{i}.csv" for i in range(5)),
                                               "readiness/2565/b/new.csv"])
    assert stats.candidates == 21 and stats.recognised == 20
    # Hashed last night, the folder is listed again until it is seen with every file known, then left alone.
    nights.settle()
    again, hashed, _ = nights.run()
    assert hashed == [] and again.folders_listed == 1 and again.recognised == 21
    assert nights.run()[0].folders_listed == 0


def test_a_removed_file_and_a_renamed_one(nights):
    (nights.zone / "readiness/2566/a/old_1.csv").unlink()
    shutil.move(nights.zone / "readiness/2566/b/old_2.csv", nights.zone / "readiness/2566/b/renamed.csv")
    stats, hashed, _ = nights.run()
    assert stats.folders_listed == 2 and stats.recognised == 18 and stats.candidates == 19
    assert hashed == ["readiness/2566/b/renamed.csv"]  # read again, and recognised by its content
    sha = nights.known["readiness/2566/b/renamed.csv"].sha256
    assert sha == hashlib.sha256(b"2566,b,2\n").hexdigest() == nights.known["readiness/2566/b/old_2.csv"].sha256


def test_a_new_subfolder_and_a_removed_one(nights):
    write(nights.zone / "readiness/2566/c/d/new.csv", "x\n")
    shutil.rmtree(nights.zone / "readiness/2565/a")
    stats, hashed, _ = nights.run()
    assert hashed == ["readiness/2566/c/d/new.csv"]
    assert stats.recognised == 15  # 2565/a's five files are gone
    assert "readiness/2565/a" not in nights.folders
    assert {"readiness/2566/c", "readiness/2566/c/d"} <= set(nights.folders)


def test_a_file_rewritten_in_place_is_found_by_the_full_pass(nights):
    """The trade-off: rewriting a file under its old name leaves its folder's times alone, so a night that
    trusts the folder does not see it; the periodic (or forced) full pass lists every folder and does."""
    path = nights.zone / "readiness/2565/a/old_3.csv"
    with open(path, "r+") as fh:  # in place, same size: as `cp new old` or an editor saving over it
        fh.write("2565,a,9")
    stats, hashed, _ = nights.run()
    assert hashed == [] and stats.folders_listed == 0
    full, hashed, _ = nights.run(full=True)
    assert hashed == ["readiness/2565/a/old_3.csv"] and full.bytes_read == path.stat().st_size
    assert full.folders_listed == 8 and full.folders_unchanged == 0
    assert nights.known["readiness/2565/a/old_3.csv"].sha256 == hashlib.sha256(b"2565,a,9\n").hexdigest()


def test_a_folder_mtime_set_back_still_shows_its_new_file(nights):
    """``rsync -t`` or ``cp -p`` puts a folder's modification time back; its change time cannot be."""
    folder = nights.zone / "readiness/2566/a"
    st = folder.stat()
    write(folder / "synced.csv", "synced\n")
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert folder.stat().st_mtime_ns == st.st_mtime_ns
    assert nights.run()[1] == ["readiness/2566/a/synced.csv"]


def test_a_folder_changed_within_the_guard_is_listed_again(nights, monkeypatch):
    """A change in the same folder-time tick as a listing, after it, would leave the folder's stamp as
    recorded: a folder modified within the settle window (or a tick) is listed again the next night, even if
    its stamp is unchanged, until it has been still that long."""
    write(nights.zone / "readiness/2566/b/new.csv", "n\n")
    (nights.zone / "readiness/2566/b/new.csv").unlink()  # gone again: nothing to hash, the folder changed
    first = nights.run()[0]
    assert first.folders_listed == 1 and nights.folders["readiness/2566/b"].trusted is False
    assert nights.run()[0].folders_listed == 1  # its stamp unchanged, but it was too fresh to trust
    nights.settle()
    assert nights.run()[0].folders_listed == 1 and nights.folders["readiness/2566/b"].trusted
    assert nights.run()[0].folders_listed == 0
    # The settle window is the guard when it is longer.
    monkeypatch.setenv("DGWH_SETTLE_S", "3600")
    write(nights.zone / "readiness/2566/b/new.csv", "n\n").unlink()
    time.sleep(TICK + 0.1)
    nights.run()
    assert nights.run()[0].folders_listed == 1


def test_entries_passed_over_are_reported_and_retried_as_before(nights, caplog):
    """An entry to retry (a broken link) keeps its folder listed, and warned about, every night; ignored
    entries (hidden, other types) are reported every night, from the folder's record when it is not listed."""
    (nights.zone / "readiness/2565/a/broken.csv").symlink_to(nights.zone / "nowhere.csv")
    write(nights.zone / "readiness/2565/b/.hidden.csv", "h\n")
    write(nights.zone / "readiness/2565/b/old.xls", "x\n")
    nights.run()
    nights.settle()
    nights.run()  # the folders listed once more, now still: the one with only ignored entries is trusted
    for _ in range(2):
        caplog.clear()
        stats, _, skipped = nights.run()
        assert [s.relative_path for s in skipped] == ["readiness/2565/a/broken.csv"]
        assert "readiness/2565/a/broken.csv" in caplog.text
        assert stats.folders_listed == 1  # the link's folder only
        reported = {s.relative_path: s.reason for s in last_skips(str(nights.zone))}
        assert set(reported) == {"readiness/2565/a/broken.csv", "readiness/2565/b/.hidden.csv",
                                 "readiness/2565/b/old.xls"}
        assert "save it as .xlsx" in reported["readiness/2565/b/old.xls"]


def test_folders_are_only_for_the_nightly_discovery(tmp_path):
    with pytest.raises(ValueError, match="return_known=False"):
        discover(str(tmp_path), folders={})


def test_a_folder_that_cannot_be_listed_is_tried_again_every_night_until_it_can(nights, monkeypatch, caplog):
    folder = nights.zone / "readiness/2566/a"
    write(folder / "new.csv", "sent while the folder was locked\n")
    nights.settle()
    if os.geteuid() != 0:
        folder.chmod(0)
    else:  # root lists whatever the mode says: the folder's listing fails as a lost share's would
        real = os.scandir

        def scandir(path):
            if str(path) == str(folder):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(discovery.os, "scandir", scandir)
    for _ in range(2):  # its parent is listed again each night, so the folder is tried again
        caplog.clear()
        stats, hashed, _ = nights.run()
        assert hashed == [] and "readiness/2566/a cannot be listed" in caplog.text
        assert stats.recognised == 15
    folder.chmod(0o755)
    monkeypatch.undo()
    monkeypatch.setattr(discovery, "FOLDER_TICK_S", TICK)
    stats, hashed, _ = nights.run()
    assert hashed == ["readiness/2566/a/new.csv"] and stats.recognised == 20


def test_a_folder_listed_under_other_rules_is_listed_again(nights, monkeypatch):
    """An entry passed over under the old rules (here a type not accepted then) is taken once accepted."""
    write(nights.zone / "readiness/2565/b/sheet.xls", "x\n")
    nights.run()
    nights.settle()
    nights.run()
    assert nights.run()[0].folders_listed == 0
    readiness = discovery.SOURCES["readiness"]
    monkeypatch.setitem(discovery.SOURCES, "readiness",
                        dataclasses.replace(readiness, file_types=(*readiness.file_types, ".xls")))
    stats, hashed, _ = nights.run()
    assert hashed == ["readiness/2565/b/sheet.xls"] and stats.folders_unchanged == 0


def test_a_name_that_is_not_utf8_is_skipped_by_name_and_the_rest_go_on(nights):
    """Such a name can be neither recorded nor shown as is: the file (or folder) is named with its bytes
    shown as U+FFFD, skipped until renamed, and its folder listed again each night meanwhile."""
    folder = os.fsencode(nights.zone / "readiness/2566/a")
    with open(folder + b"/bad\xff.csv", "w") as fh:
        fh.write("x\n")
    os.makedirs(folder + b"/sub\xfe/deeper")
    write(nights.zone / "readiness/2566/a/good.csv", "fine\n")
    for _ in range(2):
        stats, hashed, skipped = nights.run()
        assert {s.relative_path: s.reason.split(" ")[0] for s in skipped} == \
            {"readiness/2566/a/bad\ufffd.csv": "has", "readiness/2566/a/sub\ufffd": "is"}
        assert {"readiness/2566/a/bad\ufffd.csv", "readiness/2566/a/sub\ufffd"} <= \
            {s.relative_path for s in last_skips(str(nights.zone))}
    assert nights.folders["readiness/2566/a"].trusted is False and stats.recognised == 21
    assert hashed == [] and "readiness/2566/a/good.csv" in nights.known

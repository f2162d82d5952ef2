"""``collect`` (issue 16, attack class 4): no student can overwrite another, nothing is followed.

Each case builds an LMS export (a zip or a folder) on disk and collects it into a fresh course
folder; then checks what was collected, what was reported, and that nothing outside
``submitted/`` was written.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
from pathlib import Path

import pytest

from dlcourse.grading import collect as collect_module
from dlcourse.grading.collect import collect, student_of
from dlcourse.grading.course import Course

ROOT = Path(__file__).resolve().parents[1]
AID = "ps1_backprop"


@pytest.fixture
def course(tmp_path) -> Course:
    root = tmp_path / "assignments"
    (root / "source" / AID).mkdir(parents=True)
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", root)
    (root / "source" / AID / f"{AID}.ipynb").write_text('{"cells": [], "secret": "SOURCE"}')
    (root / "gradebook.db").write_bytes(b"not really a gradebook")
    return Course(root)


def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _submitted(course: Course) -> dict[str, bytes]:
    return {p.parent.parent.name: p.read_bytes() for p in course.submitted.glob(f"*/{AID}/{AID}.ipynb")}


def test_a_file_in_one_students_folder_naming_another_is_not_collected(course, tmp_path):
    export = _zip(
        tmp_path / "export.zip",
        {
            f"mallory/{AID}_victim.ipynb": b"MALLORY'S FAKE",
            f"mallory/{AID}_mallory.ipynb": b"MALLORY",
            f"victim/{AID}_victim.ipynb": b"VICTIM",
        },
    )
    report = collect(course, export, AID)
    assert _submitted(course) == {"mallory": b"MALLORY", "victim": b"VICTIM"}
    assert any("mallory/" in c and "victim" in c for c in report.conflicts), report


def test_two_folders_claiming_one_student_collect_neither(course, tmp_path):
    export = _zip(tmp_path / "e.zip", {f"a/{AID}_alice.ipynb": b"ONE", f"b/{AID}_alice.ipynb": b"TWO"})
    report = collect(course, export, AID)
    assert _submitted(course) == {}
    assert report.conflicts and all("alice" in c and "collected" in c for c in report.conflicts), (
        report.conflicts
    )
    export = _zip(
        tmp_path / "f.zip", {f"Group 1/{AID}_alice.ipynb": b"ONE", f"Group 2/{AID}_alice.ipynb": b"TWO"}
    )
    report = collect(course, export, AID)
    assert _submitted(course) == {} and len(report.conflicts) == 1 and "none collected" in report.conflicts[0]


def test_a_students_older_copy_in_the_same_folder_is_reported_not_dropped_silently(course, tmp_path):
    export = tmp_path / "flat"
    export.mkdir()
    (export / f"{AID}_alice.ipynb").write_bytes(b"OLD")
    (export / f"alice_{AID}.ipynb").write_bytes(b"NEW")
    os.utime(export / f"{AID}_alice.ipynb", (time.time() - 100, time.time() - 100))
    report = collect(course, export, AID)
    assert _submitted(course) == {"alice": b"NEW"} and report.duplicates == [f"{AID}_alice.ipynb"]


def test_zip_members_never_choose_where_they_are_written(course, tmp_path):
    export = _zip(
        tmp_path / "slip.zip", {f"../../{AID}_evil.ipynb": b"EVIL", f"/abs/{AID}_eve.ipynb": b"EVE"}
    )
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    collect(course, export, AID)
    after = sorted(str(p) for p in tmp_path.rglob("*"))
    new = [p for p in after if p not in before]
    assert new and all(p.startswith(str(course.submitted)) for p in new), new


def test_links_and_special_files_are_never_followed(course, tmp_path):
    export = tmp_path / "folder"
    (export / "eve").mkdir(parents=True)
    os.symlink(course.source / AID / f"{AID}.ipynb", export / "eve" / f"{AID}_eve.ipynb")
    os.symlink(course.db, export / f"{AID}_gradebook.ipynb")
    os.symlink(course.source / AID, export / "linked_folder")
    os.mkfifo(export / f"{AID}_fifo.ipynb")
    (export / "bob").mkdir()
    (export / "bob" / f"{AID}_bob.ipynb").write_bytes(b"BOB")
    report = collect(course, export, AID)
    assert _submitted(course) == {"bob": b"BOB"}
    assert len(report.skipped) == 4 and all("link" in s or "regular" in s for s in report.skipped), (
        report.skipped
    )
    zipped = _zip(
        tmp_path / "links.zip", {f"carl/{AID}_carl.ipynb": b"CARL"}, {f"dan/{AID}_dan.ipynb": str(course.db)}
    )
    report = collect(course, zipped, AID)
    assert "dan" not in _submitted(course) and report.skipped == [f"dan/{AID}_dan.ipynb (not a regular file)"]


def test_files_over_the_size_limit_are_not_read(course, tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_FILE_BYTES", 1000)
    export = _zip(tmp_path / "big.zip", {f"{AID}_big.ipynb": b"x" * 5000, f"{AID}_small.ipynb": b"small"})
    report = collect(course, export, AID)
    assert _submitted(course) == {"small": b"small"} and "larger than" in report.skipped[0]


def test_roster_ids_in_lms_folder_names(course, tmp_path):
    (course.root / "students.csv").write_text(
        "id,first_name,last_name,email\n12345,Alice,Smith,a@x.org\n777,Bo,Li,\n"
    )
    export = _zip(
        tmp_path / "moodle.zip",
        {
            "Alice Smith_12345_assignsubmission_file_/ps1.ipynb": b"ALICE",
            "Bo Li_777_assignsubmission_file_/my notebook.ipynb": b"BO",
            "Bo Li_777_assignsubmission_file_/notes.txt": b"ignored",
        },
    )
    report = collect(course, export, AID)
    assert _submitted(course) == {"12345": b"ALICE", "777": b"BO"}, report
    assert report.unknown == ["Bo Li_777_assignsubmission_file_/notes.txt"]


def test_never_overwrites_unless_asked(course, tmp_path):
    collect(course, _zip(tmp_path / "1.zip", {f"{AID}_alice.ipynb": b"FIRST"}), AID)
    report = collect(course, _zip(tmp_path / "2.zip", {f"{AID}_alice.ipynb": b"SECOND"}), AID)
    assert report.kept_existing == ["alice"] and _submitted(course) == {"alice": b"FIRST"}
    report = collect(course, tmp_path / "2.zip", AID, replace=True)
    assert _submitted(course) == {"alice": b"SECOND"}
    assert [p.read_bytes() for p in course.backups.glob(f"submitted-*/alice/{AID}/{AID}.ipynb")] == [b"FIRST"]


@pytest.mark.parametrize(
    "name, roster, expected",
    [
        ("ps1_backprop_alice.ipynb", set(), "alice"),
        ("bob-ps1.ipynb", set(), "bob"),
        ("ps1_backprop.ipynb", set(), None),
        ("notes.txt", set(), None),
        ("alice_12345_ps1_backprop_late.ipynb", {"alice", "bob"}, "alice"),
        ("ps1_ann-marie.ipynb", {"ann", "ann-marie"}, "ann-marie"),
        ("malice_ps1.ipynb", {"alice"}, None),
        ("alice_and_bob_ps1.ipynb", {"alice", "bob"}, None),
    ],
)
def test_student_id_from_file_name(name, roster, expected):
    assert student_of(name, AID, roster) == expected

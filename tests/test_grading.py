"""The nbgrader course and its workflow (``dlcourse.grading``).

Fast tests check the pieces without nbgrader (pre-check, release check, collect). The end-to-end
test works on a temporary copy of ``assignments/``: it releases all six assignments, builds
submissions of every kind from the released and source notebooks, grades them all in ONE
autograde run with two jobs, then checks every score, the report, that ``submitted/`` is
byte-for-byte unchanged, the feedback (no hidden-test text) and the grades CSV. Expected scores
come from the points in the source notebooks, never from the grader.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import html
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pytest

from dlcourse.grading import main
from dlcourse.grading.course import Course, release_leaks, student_of
from dlcourse.grading.precheck import precheck_notebook
from dlcourse.grading.preprocessors import hidden_test_lines

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import submissions as S

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = [
    "ps1_backprop",
    "ps2_optimizers",
    "ps3_activations",
    "ps4_regularization",
    "ps5_losses",
    "ps6_training_tricks",
]
CELL_TIMEOUT = 15  # seconds; the infinite loop costs this much


# ---------------------------------------------------------------- the source notebooks themselves


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_notebook_is_well_formed(aid):
    nb = S.load(ROOT / "assignments" / "source" / aid / f"{aid}.ipynb")
    cells = [c for c in nb["cells"] if "nbgrader" in c["metadata"]]
    assert len(cells) == len(nb["cells"]), "every cell carries nbgrader metadata"
    ids = [S.gid(c) for c in cells]
    assert len(ids) == len(set(ids)), "grade_ids are unique"
    graded = [c for c in cells if c["metadata"]["nbgrader"]["grade"]]
    assert all(c["metadata"]["nbgrader"].get("points", 0) > 0 for c in graded), "points on every graded cell"
    manual = [c for c in graded if c["metadata"]["nbgrader"]["solution"]]
    assert manual and all(c["cell_type"] == "markdown" for c in manual), "a written, hand-graded answer"
    hidden = [c for c in graded if "### BEGIN HIDDEN TESTS" in "".join(c["source"])]
    auto = S.test_points(nb)
    assert sum(auto[S.gid(c)] for c in hidden) > sum(auto.values()) / 2, "hidden tests carry most points"
    total = sum(c["metadata"]["nbgrader"]["points"] for c in graded)
    assert f"Total: {total:g} points" in "".join(nb["cells"][0]["source"]), "the stated total matches"


# ---------------------------------------------------------------- pieces, without nbgrader


def _cell(gid, src, kind="code", **nbg):
    meta = {"grade": False, "solution": False, "locked": False, "grade_id": gid, "schema_version": 3, **nbg}
    cell = {"cell_type": kind, "id": gid, "metadata": {"nbgrader": meta}, "source": src}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


RELEASED = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        _cell("intro", "# PS", "markdown", locked=True),
        _cell("t1_answer", "raise NotImplementedError()", solution=True),
        _cell("t1_visible", "assert f() == 1", grade=True, locked=True, points=1),
        _cell("t1_hidden", "# hidden", grade=True, locked=True, points=2),
        _cell("t2_written", "YOUR ANSWER HERE", "markdown", grade=True, solution=True, points=2),
    ],
}


def test_precheck_repairs_kernel_duplicates_edits_and_deletions():
    nb = copy.deepcopy(RELEASED)
    nb["metadata"]["kernelspec"]["name"] = "ir"
    nb["cells"][1]["source"] = "def f():\n    return 1"
    nb["cells"].insert(2, copy.deepcopy(nb["cells"][1]))  # duplicated answer (same id too)
    nb["cells"][3]["source"] = "pass"  # edited visible test
    nb["cells"][3]["metadata"]["nbgrader"]["points"] = 100
    del nb["cells"][4]  # deleted hidden test
    nb["cells"].append(copy.deepcopy(RELEASED["cells"][2]))  # duplicated test cell
    before = copy.deepcopy(nb)
    out = precheck_notebook(nb, RELEASED)
    assert nb == before, "the submitted notebook itself is never modified"
    assert out.gradable and not out.problems
    got = out.notebook
    assert got["metadata"]["kernelspec"]["name"] == "python3"
    assert [S.gid(c) for c in got["cells"]] == [
        "intro",
        "t1_answer",
        None,
        "t1_visible",
        "t1_hidden",
        "t2_written",
    ]
    assert got["cells"][2]["source"] == "def f():\n    return 1", "the copy of an answer keeps its code"
    assert got["cells"][3]["source"] == "assert f() == 1"
    assert got["cells"][3]["metadata"]["nbgrader"]["points"] == 1
    assert len({c["id"] for c in got["cells"]}) == len(got["cells"]), "cell ids made unique"
    text = " | ".join(out.repairs)
    for word in (
        "kernel 'ir'",
        "duplicate of answer cell 't1_answer'",
        "edited test cell 't1_visible'",
        "deleted cell 't1_hidden'",
        "duplicate of read-only cell 't1_visible'",
    ):
        assert word in text, f"{word!r} not reported in {text}"


def test_precheck_leaves_an_honest_submission_alone():
    nb = copy.deepcopy(RELEASED)
    nb["cells"][1]["source"] = "def f():\n    return 1"
    out = precheck_notebook(nb, RELEASED)
    assert out.repairs == [] and out.notebook["cells"] == nb["cells"]


def test_precheck_rejects_what_is_not_a_notebook():
    assert not precheck_notebook(["not", "a", "notebook"], RELEASED).gradable
    assert "not a Jupyter notebook" in precheck_notebook({"cells": 3}, RELEASED).problems[0]


def test_release_leaks_finds_solution_and_hidden_lines():
    source = {
        "cells": [
            {
                "source": "def f():\n    ### BEGIN SOLUTION\n    return secret_value_42\n"
                "    ### END SOLUTION\n"
            },
            {
                "source": "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert hidden_check_value(f)\n"
                "### END HIDDEN TESTS\n"
            },
        ]
    }
    clean = {
        "cells": [{"source": "def f():\n    raise NotImplementedError()\n"}, {"source": "assert f() == 1\n"}]
    }
    assert release_leaks(source, clean) == []
    leaky = copy.deepcopy(clean)
    leaky["cells"][1]["source"] += "assert hidden_check_value(f)\n"
    assert release_leaks(source, leaky) == ["assert hidden_check_value(f)"]
    leaky["cells"][0]["source"] = "### BEGIN SOLUTION\n"
    assert "### BEGIN SOLUTION" in release_leaks(source, leaky)


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
    assert student_of(name, "ps1_backprop", roster) == expected


def test_resolve_short_and_full_ids(tmp_path):
    course = _copy_course(tmp_path)
    assert Course(course).resolve("ps1") == ["ps1_backprop"]
    assert Course(course).resolve("ps5_losses") == ["ps5_losses"]
    assert Course(course).resolve(None) == ASSIGNMENTS
    with pytest.raises(ValueError, match="assignment must be one of"):
        Course(course).resolve("ps9")
    with pytest.raises(ValueError, match="nbgrader_config.py"):
        Course(tmp_path)


def _copy_course(tmp_path: Path) -> Path:
    course = tmp_path / "assignments"
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "assignments" / "source", course / "source")
    return course


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release, collect, autograde (one run), feedback and grades on a temporary course copy."""
    tmp = tmp_path_factory.mktemp("course")
    course = _copy_course(tmp)
    timings = {}
    start = time.perf_counter()
    assert main(["--course", str(course), "release"]) == 0
    timings["release"] = time.perf_counter() - start

    expected: dict[tuple[str, str], float] = {}
    for aid in ASSIGNMENTS:
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        full = sum(S.test_points(src).values())
        S.write_submission(course, "solved", aid, S.solved(rel, src))
        expected["solved", aid] = full
        S.write_submission(course, "blank", aid, rel)
        expected["blank", aid] = 0.0
        if aid != "ps1_backprop":
            continue
        tasks = S.tasks(src)
        specials = {
            "partly": (S.solved(rel, src, only={tasks[0], tasks[2]}), S.points_of(src, {tasks[0], tasks[2]})),
            "raises": (
                S.replace_answer(S.solved(rel, src), tasks[1], S.RAISES),
                full - S.points_of(src, {tasks[1]}),
            ),
            "loops": (
                S.replace_answer(S.solved(rel, src), tasks[2], S.INFINITE_LOOP),
                full - S.points_of(src, {tasks[2]}),
            ),
            "edited": (S.tests_edited_to_pass(rel), 0.0),
            "deleted": (S.tests_deleted(S.solved(rel, src)), full),
            "duplicated": (S.duplicated_cells_wrong_kernel(S.solved(rel, src)), full),
            "loud": (S.loud(S.solved(rel, src), 50), full),
            "garbled": (S.NOT_JSON, 0.0),
        }
        # these arrive the way an LMS exports them: one zip, names carrying the student id
        export = tmp / "lms_export.zip"
        with zipfile.ZipFile(export, "w") as zf:
            for sid, (nb, points) in specials.items():
                zf.writestr(f"{aid}_{sid}.ipynb", nb if isinstance(nb, bytes) else json.dumps(nb))
                expected[sid, aid] = points
            zf.writestr("ps1_backprop.ipynb", "{}")
            zf.writestr("readme.txt", "hello")
    before = _tree_digest(course / "submitted")
    out = {}

    def run(name, argv):
        t0 = time.perf_counter()
        out[name] = main(["--course", str(course), *argv])
        timings[name] = time.perf_counter() - t0

    run("collect", ["collect", "--source", str(export), "--assignment", "ps1"])
    run("collect_again", ["collect", "--source", str(export), "--assignment", "ps1_backprop"])
    collected = _tree_digest(course / "submitted")
    run("autograde", ["autograde", "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT)])
    run("feedback", ["feedback"])
    run("grades", ["grades"])
    print("\ntimings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return {
        "course": course,
        "expected": expected,
        "before": before,
        "collected": collected,
        "rc": out,
        "timings": timings,
    }


def _report(course: Path) -> dict[tuple[str, str], dict]:
    rows = {}
    for aid in ASSIGNMENTS:
        with open(course / "reports" / aid / "latest.csv", newline="") as f:
            rows.update({(r["student"], aid): r for r in csv.DictReader(f)})
    return rows


@pytest.mark.slow
def test_release_is_clean_and_offered_for_download(graded):
    course = graded["course"]
    for aid in ASSIGNMENTS:
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        assert release_leaks(src, rel) == []
        assert (course.parent / "book" / "downloads" / f"{aid}.ipynb").read_bytes() == (
            course / "release" / aid / f"{aid}.ipynb"
        ).read_bytes()


@pytest.mark.slow
def test_collect_lists_unknown_names_and_never_overwrites(graded, capsys):
    assert graded["rc"]["collect"] == 0 and graded["rc"]["collect_again"] == 0
    course = graded["course"]
    submitted = sorted(p.name for p in (course / "submitted").iterdir())
    assert submitted == sorted({s for s, _ in graded["expected"]})
    assert (course / "submitted" / "raises" / "ps1_backprop" / "timestamp.txt").exists()
    # the unknown names are reported (the output was printed during the fixture; re-run to see it)
    assert (
        main(
            [
                "--course",
                str(course),
                "collect",
                "--source",
                str(course.parent / "lms_export.zip"),
                "-a",
                "ps1",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "UNKNOWN   ps1_backprop.ipynb" in printed and "UNKNOWN   readme.txt" in printed
    assert "unchanged raises" in printed


@pytest.mark.slow
def test_every_submission_is_processed_with_the_expected_score(graded):
    assert graded["rc"]["autograde"] == 0, "exit status 0: every submission was processed"
    rows = _report(graded["course"])
    assert set(rows) == set(graded["expected"])
    for (sid, aid), points in graded["expected"].items():
        row = rows[sid, aid]
        assert float(row["score"]) == pytest.approx(points), f"{sid}/{aid}: {row}"
        assert row["status"] == ("not graded" if sid == "garbled" else "graded"), f"{sid}/{aid}: {row}"


@pytest.mark.slow
def test_report_names_failures_timeouts_repairs_and_flags(graded):
    rows = _report(graded["course"])
    ps1 = "ps1_backprop"
    assert "not valid JSON" in rows["garbled", ps1]["flags"]
    assert rows["loops", ps1]["timeouts"] and float(rows["loops", ps1]["seconds"]) < 300
    assert "restored edited test cell" in rows["edited", ps1]["repairs"]
    assert "restored deleted cell" in rows["deleted", ps1]["repairs"]
    assert "duplicate" in rows["duplicated", ps1]["repairs"] and "julia" in rows["duplicated", ps1]["repairs"]
    assert "output capped" in rows["loud", ps1]["flags"]
    assert rows["solved", ps1]["failures"] == "" and rows["solved", ps1]["repairs"] == ""
    hidden = [
        g for g in S.test_points(S.load(graded["course"] / "source" / ps1 / f"{ps1}.ipynb")) if "_hidden" in g
    ]
    assert rows["blank", ps1]["failures"].count("_hidden") == len(hidden)
    autograded = graded["course"] / "autograded" / "loud" / ps1 / f"{ps1}.ipynb"
    assert autograded.stat().st_size < 1_000_000, "50 MB of output was capped"
    assert list((graded["course"] / "backups").glob("gradebook-*.db")), "gradebook backed up first"


@pytest.mark.slow
def test_submitted_files_are_never_modified(graded):
    assert _tree_digest(graded["course"] / "submitted") == graded["collected"]
    before = graded["before"]
    assert {k: v for k, v in graded["collected"].items() if k in before} == before


@pytest.mark.slow
def test_feedback_shows_no_hidden_test_text(graded):
    assert graded["rc"]["feedback"] == 0
    course = graded["course"]
    pages = list((course / "feedback").glob("*/*/*.html"))
    assert len(pages) == len(graded["expected"]) - 1, "one page per graded submission"
    for aid in ASSIGNMENTS:
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        hidden = [line for c in src["cells"] for line in hidden_test_lines("".join(c["source"]), 12)]
        assert hidden
        for page in (course / "feedback").glob(f"*/{aid}/*.html"):
            text = html.unescape(page.read_text(encoding="utf-8"))
            assert "BEGIN HIDDEN TESTS" not in text
            leaked = [line for line in hidden if line in text]
            assert not leaked, f"{page}: {leaked[:3]}"
    blank = html.unescape((course / "feedback" / "blank" / "ps1_backprop" / "ps1_backprop.html").read_text())
    assert "NotImplementedError" in blank, "students still see why a test failed"


@pytest.mark.slow
def test_grades_csv_has_a_column_per_task_and_totals(graded):
    assert graded["rc"]["grades"] == 0
    course = graded["course"]
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    src = S.load(course / "source" / "ps1_backprop" / "ps1_backprop.ipynb")
    for task in S.tasks(src):
        assert rows["solved"][f"ps1_backprop:{task}"] == str(float(S.points_of(src, {task})))
        assert rows["(max)"][f"ps1_backprop:{task}"] == str(float(S.points_of(src, {task})))
    for aid in ASSIGNMENTS:
        assert f"{aid}:total" in rows["solved"]
    assert float(rows["solved"]["total"]) == pytest.approx(
        sum(v for (s, _), v in graded["expected"].items() if s == "solved")
    )
    assert float(rows["partly"]["ps1_backprop:total"]) == graded["expected"]["partly", "ps1_backprop"]
    assert float(rows["blank"]["total"]) == 0.0

"""The nbgrader course end to end (``python -m dlcourse.grading``), in ONE autograde run.

A temporary copy of ``assignments/`` releases all six assignments; a roster names the students;
submissions of every kind are built from the released and source notebooks (expected scores come
from the source notebooks' points, never from the grader): for every assignment the solved one
(full marks) and the blank release (0); for ps1 a partial one, answers that raise or loop, edited,
deleted and duplicated test cells, 50 MB of output, files that are not notebooks, careless
notebooks (``metadata: null``, ``nbformat_minor: "5a"``, a source that is a number: 0 and a
report line, issue 16 class 6), stored XSS everywhere a student can write (class 1), and a
notebook whose feedback page would quote a hidden test. They arrive as an LMS zip, are graded in
ONE run with two jobs, then feedback and grades are made, and the Formgrader and a feedback page
are opened in headless Chromium: no script of the student's runs.
"""

from __future__ import annotations

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
from dlcourse.grading.course import Course, release_leaks

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import pages as P
import submissions as S

from dlcourse.grading import markers

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = [
    "ps1_backprop",
    "ps2_optimizers",
    "ps3_activations",
    "ps4_regularization",
    "ps5_losses",
    "ps6_training_tricks",
]
PS1 = "ps1_backprop"
CELL_TIMEOUT = 15  # seconds; the infinite loop costs this much
ROSTER = "id,first_name,last_name,email\nsolved,Sol,Ved,sol@example.org\nblank,Bl,Ank,\nxss,Mal,Lory,m@example.org\n"


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
    total = sum(c["metadata"]["nbgrader"]["points"] for c in graded)
    assert f"Total: {total:g} points" in "".join(nb["cells"][0]["source"]), "the stated total matches"


def _copy_course(tmp_path: Path) -> Path:
    course = tmp_path / "assignments"
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "assignments" / "source", course / "source")
    (course / "students.csv").write_text(ROSTER)
    return course


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _careless(rel: dict) -> dict[str, bytes]:
    def broken(fix):
        nb = json.loads(json.dumps(rel))
        fix(nb)
        return json.dumps(nb).encode()

    return {
        "metadata_null": broken(lambda nb: nb["cells"][1].__setitem__("metadata", None)),
        "minor_5a": broken(lambda nb: nb.__setitem__("nbformat_minor", "5a")),
        "source_number": broken(lambda nb: nb["cells"][2].__setitem__("source", 42)),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release, collect, autograde (one run), feedback and grades on a temporary course copy."""
    tmp = tmp_path_factory.mktemp("course")
    course = _copy_course(tmp)
    beacon = P.Beacon()
    timings, out, expected = {}, {}, {}

    def run(name, argv):
        t0 = time.perf_counter()
        out[name] = main(["--course", str(course), *argv])
        timings[name] = time.perf_counter() - t0

    run("release", ["release", "--downloads", str(tmp / "dl"), "--quiet"])
    for aid in ASSIGNMENTS:
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        full = sum(S.test_points(src).values())
        S.write_submission(course, "solved", aid, S.solved(rel, src))
        expected["solved", aid] = full
        S.write_submission(course, "blank", aid, rel)
        expected["blank", aid] = 0.0
        if aid != PS1:
            continue
        tasks = S.tasks(src)
        leak = S.solved(rel, src)
        leak["cells"][-1]["source"] = "I found this: " + markers.hidden_lines(src)[0]
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
            "xss": (P.xss_notebook(S.solved(rel, src), beacon), full),
            "leaker": (leak, full),
            **{name: (data, 0.0) for name, data in _careless(rel).items()},
        }
        export = tmp / "lms_export.zip"  # the way an LMS exports them: one zip, names carrying the id
        with zipfile.ZipFile(export, "w") as zf:
            for sid, (nb, points) in specials.items():
                zf.writestr(f"{aid}_{sid}.ipynb", nb if isinstance(nb, bytes) else json.dumps(nb))
                expected[sid, aid] = points
            zf.writestr("ps1_backprop.ipynb", "{}")
            zf.writestr("readme.txt", "hello")
    before = _tree_digest(course / "submitted")
    (course / "students.csv").write_text(
        ROSTER + "".join(f"{s},,,\n" for s, _ in expected if s not in ROSTER)
    )
    run("collect", ["collect", "--source", str(export), "--assignment", "ps1"])
    run("collect_again", ["collect", "--source", str(export), "--assignment", PS1])
    collected = _tree_digest(course / "submitted")
    run("autograde", ["autograde", "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT)])
    run("feedback", ["feedback"])
    refused = {p.parts[-3] for p in (course / "feedback").glob("*/*/*.html")}
    run("feedback_pending", ["feedback", "--allow-pending"])
    run("grades", ["grades"])
    print("\ntimings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    yield {
        "course": course,
        "expected": expected,
        "before": before,
        "collected": collected,
        "rc": out,
        "timings": timings,
        "beacon": beacon,
        "first_feedback": refused,
    }
    beacon.close()


def _report(course: Path) -> dict[tuple[str, str], dict]:
    rows = {}
    for aid in ASSIGNMENTS:
        with open(course / "reports" / aid / "latest.csv", newline="") as f:
            rows.update({(r["student"], aid): r for r in csv.DictReader(f)})
    return rows


NOT_GRADED = {"garbled", "metadata_null", "minor_5a", "source_number"}


@pytest.mark.slow
def test_release_is_clean_and_offered_for_download(graded):
    course = graded["course"]
    for aid in ASSIGNMENTS:
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        assert release_leaks(src, rel) == []
        assert (course.parent / "dl" / f"{aid}.ipynb").read_bytes() == (
            course / "release" / aid / f"{aid}.ipynb"
        ).read_bytes()


@pytest.mark.slow
def test_collect_lists_unknown_names_and_never_overwrites(graded, capsys):
    assert graded["rc"]["collect"] == 0 and graded["rc"]["collect_again"] == 0
    course = graded["course"]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted(
        {s for s, _ in graded["expected"]}
    )
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
        assert row["status"] == ("not graded" if sid in NOT_GRADED else "graded"), f"{sid}/{aid}: {row}"
        assert row["withheld"] == "", f"{sid}/{aid}: nothing here is suspicious: {row}"


@pytest.mark.slow
def test_report_names_failures_timeouts_repairs_and_careless_files(graded):
    rows = _report(graded["course"])
    assert "not valid JSON" in rows["garbled", PS1]["flags"]
    assert "cell 2: metadata is null" in rows["metadata_null", PS1]["flags"]
    assert "nbformat_minor '5a'" in rows["minor_5a", PS1]["flags"]
    assert "source is not text" in rows["source_number", PS1]["flags"]
    assert rows["loops", PS1]["timeouts"] and float(rows["loops", PS1]["seconds"]) < 120
    assert "restored edited test cell" in rows["edited", PS1]["repairs"]
    assert "restored deleted cell" in rows["deleted", PS1]["repairs"]
    assert "duplicate" in rows["duplicated", PS1]["repairs"] and "julia" in rows["duplicated", PS1]["repairs"]
    assert "output capped" in rows["loud", PS1]["flags"]
    assert rows["solved", PS1]["failures"] == "" and rows["solved", PS1]["repairs"] == ""
    hidden = [
        g for g in S.test_points(S.load(graded["course"] / "source" / PS1 / f"{PS1}.ipynb")) if "_hidden" in g
    ]
    assert rows["blank", PS1]["failures"].count("_hidden") == len(hidden)
    autograded = graded["course"] / "autograded" / "loud" / PS1 / f"{PS1}.ipynb"
    assert autograded.stat().st_size < 1_000_000, "50 MB of output was capped"
    assert list((graded["course"] / "backups").glob("gradebook-*.db")), "gradebook backed up first"


@pytest.mark.slow
def test_submitted_files_are_never_modified(graded):
    assert _tree_digest(graded["course"] / "submitted") == graded["collected"]
    before = graded["before"]
    assert {k: v for k, v in graded["collected"].items() if k in before} == before


@pytest.mark.slow
def test_feedback_shows_no_hidden_test_text_and_one_bad_page_stops_nobody(graded):
    assert graded["rc"]["feedback"] == 0 and graded["rc"]["feedback_pending"] == 1, (
        "the leaking page is reported"
    )
    course = graded["course"]
    pages = {p.parts[-3] for p in (course / "feedback").glob(f"*/{PS1}/*.html")}
    assert "leaker" not in pages, "a page quoting a hidden test is deleted"
    assert pages >= {"blank", "solved", "xss", "raises", "loops"}, "everyone else still gets a page"
    for aid in ASSIGNMENTS:
        hidden = markers.hidden_lines(S.load(course / "source" / aid / f"{aid}.ipynb"))
        for page in (course / "feedback").glob(f"*/{aid}/*.html"):
            text = html.unescape(page.read_text(encoding="utf-8"))
            assert "BEGIN HIDDEN TESTS" not in text
            assert not [line for line in hidden if line in text], page
    blank = html.unescape((course / "feedback" / "blank" / PS1 / f"{PS1}.html").read_text())
    assert "NotImplementedError" in blank, "students still see why a test failed"


@pytest.mark.slow
def test_written_answers_not_graded_yet_are_pending_never_zero(graded):
    course = graded["course"]
    assert "solved" not in graded["first_feedback"], "no page while a written answer is ungraded"
    assert "blank" in graded["first_feedback"], "an unanswered cell is scored 0 by nbgrader: nothing pending"
    page = html.unescape((course / "feedback" / "solved" / PS1 / f"{PS1}.html").read_text())
    assert "not graded yet" in page and "-987654" not in page
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    source = S.load(course / "source" / PS1 / f"{PS1}.ipynb")
    written = [
        S.gid(c)
        for c in source["cells"]
        if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {}).get("grade")
    ]
    assert written, "ps1 has written answers"
    for gid in written:
        task = gid.split("_")[0]
        assert rows["solved"][f"{PS1}:{task}"] == "pending" and f"{PS1}:{gid}" in rows["solved"]["pending"]
        assert rows["blank"][f"{PS1}:{task}"] == "0.0"
    assert rows["blank"]["pending"] == ""


@pytest.mark.slow
def test_grades_csv_has_a_column_per_task_and_totals(graded):
    assert graded["rc"]["grades"] == 0
    course = graded["course"]
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    src = S.load(course / "source" / PS1 / f"{PS1}.ipynb")
    for task in S.tasks(src):
        assert rows["solved"][f"{PS1}:{task}"] == str(float(S.points_of(src, {task})))
        assert rows["(max)"][f"{PS1}:{task}"] == str(float(S.points_of(src, {task})))
    assert float(rows["solved"]["total"]) == pytest.approx(
        sum(v for (s, _), v in graded["expected"].items() if s == "solved")
    )
    assert float(rows["partly"][f"{PS1}:total"]) == graded["expected"]["partly", PS1]
    assert float(rows["blank"]["total"]) == 0.0


@pytest.mark.slow
def test_the_roster_names_reach_the_gradebook(graded):
    from nbgrader.api import Gradebook

    with Gradebook(Course(graded["course"]).db_url) as gb:
        xss = gb.find_student("xss")
        assert (xss.first_name, xss.last_name, xss.email) == ("Mal", "Lory", "m@example.org")


@pytest.mark.slow
def test_stored_notebooks_hold_no_live_markup(graded):
    course = graded["course"]
    nb = S.load(course / "autograded" / "xss" / PS1 / f"{PS1}.ipynb")
    shown = []
    for cell in nb["cells"]:
        if cell["cell_type"] in ("markdown", "raw"):
            shown.append(markers.cell_source(cell))
        for out in cell.get("outputs", []):
            assert "application/javascript" not in out.get("data", {}) and "image/svg+xml" not in out.get(
                "data", {}
            )
            shown += [
                markers.cell_source({"source": v})
                for k, v in out.get("data", {}).items()
                if k != "text/plain"
            ]
    assert "My XSS answer" in "".join(shown), "the student's content is there"
    assert [P.live_markup(text) for text in shown if P.live_markup(text)] == []
    page = (course / "feedback" / "xss" / PS1 / f"{PS1}.html").read_text(encoding="utf-8")
    honest = (course / "feedback" / "blank" / PS1 / f"{PS1}.html").read_text(encoding="utf-8")
    assert "printed XSS output" in page
    assert sorted(P.live_markup(page)) == sorted(P.live_markup(honest)), (
        "nothing live but the page template's own"
    )


@pytest.mark.slow
@pytest.mark.browser
def test_no_student_script_runs_in_the_formgrader_or_a_feedback_page(graded, chromium, tmp_path):
    from nbconvert import HTMLExporter
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    course, beacon = graded["course"], graded["beacon"]
    with Gradebook(Course(course).db_url) as gb:
        nb_id = gb.find_submission_notebook(PS1, PS1, "xss").id
    control = tmp_path / "control.html"  # the same submission rendered without the grader's cleaning
    control.write_text(
        HTMLExporter().from_filename(str(course / "submitted" / "xss" / PS1 / f"{PS1}.ipynb"))[0]
    )
    server = P.Formgrader(course, tmp_path / "formgrader.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            formgrader = P.visit(browser, server.url(f"/formgrader/submissions/{nb_id}/"))
            students = P.visit(browser, server.url("/formgrader/api/students"), 0.1)
            hits_before_control = list(beacon.hits)
            feedback = P.visit(browser, (course / "feedback" / "xss" / PS1 / f"{PS1}.html").as_uri())
            hits_after_feedback = list(beacon.hits)
            unsafe = P.visit(browser, control.as_uri())
            browser.close()
    finally:
        server.close()
    assert "My XSS answer" in formgrader["text"] and "printed XSS output" in formgrader["text"], (
        "the page shows the submission"
    )
    assert not formgrader["pwned"] and not formgrader["dialogs"] and hits_before_control == [], (
        hits_before_control
    )
    assert "My XSS answer" in feedback["text"] and not feedback["pwned"] and hits_after_feedback == []
    assert '"first_name": "Mal"' in students["text"] and '"last_name": "Lory"' in students["text"], (
        "names, not None"
    )
    assert unsafe["pwned"] and beacon.hits, "without the cleaning the payloads run: the check can fail"

"""Issue 15's end-to-end test: every problem set graded through ``make autograde`` in ONE run.

For every assignment: the reference solution (every test cell passes, its written answers pending,
never 0), the blank release (0), each planted wrong solution (fails exactly the test cells it must
lose, every other cell passes), each rule-breaking variant (0 for its task, and a line in the
report), each loop variant (fails the cells that count operations), each correct variant (full
marks).

The corpus is the problem sets' own, ``tests/psets/`` (``CORPUS[aid]``: variants with the answer
cell they replace, its new ``source``, an optional ``prelude`` cell the student added before it,
the test cells that must fail (``fails``), and ``affected_cells`` for the cells an answer feeds). Where
``tests/psets/`` is absent it is a small problem set of my own written to PS_CONTRACT.md
(tests/grading_fixtures/contract.py). Variants whose affected test cells are disjoint share one
submission (each test cell's score is checked on its own), so that the run stays short.
"""

from __future__ import annotations

import csv
import importlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dlcourse.grading import main
from dlcourse.grading.course import Course
from dlcourse.grading.plan import task_of

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import contract
import submissions as S

ROOT = Path(__file__).resolve().parents[1]
PSETS = Path(__file__).parent / "psets"


@dataclass(frozen=True)
class Planted:
    name: str
    kind: str  # wrong | correct | rule | loop
    replaces: dict  # answer grade_id -> its new source
    loses: frozenset  # test cells that must fail (every other test cell passes)
    affects: frozenset  # test cells whose result the replaced answers can change
    prelude: dict = field(default_factory=dict)  # answer grade_id -> a cell the student added before it
    added: tuple = ()  # cells the student added after the set-up cell


def _from_psets() -> dict[str, tuple[None, list[Planted]]]:
    sys.path.insert(0, str(PSETS.parent))
    psets = importlib.import_module("psets")
    out = {}
    for aid in psets.ASSIGNMENTS:
        planted = []
        for v in psets.CORPUS[aid]:
            loses = frozenset(getattr(v, "fails", v.loses))  # the test cells (``loses`` names tasks)
            affects = frozenset(psets.affected_cells(aid, v.replaces)) | loses
            prelude = {v.replaces: v.prelude} if v.prelude else {}
            kind = {"right": "correct"}.get(v.kind, v.kind)
            kind = "loop" if getattr(v, "loop", False) else kind
            planted.append(Planted(v.name, kind, {v.replaces: v.source}, loses, affects, prelude))
        out[aid] = (None, planted)
    return out


def _from_contract() -> dict[str, tuple[dict, list[Planted]]]:
    source = contract.source_notebook()
    cells = list(S.test_points(source))

    def of(tasks) -> frozenset:
        return frozenset(g for g in cells if task_of(g) in set(tasks))

    planted = [
        Planted(
            v.name,
            "correct" if v.kind == "right" else v.kind,
            dict(v.replaces),
            of(v.loses),
            of({task_of(g) for g in v.replaces} | set(v.loses)),
            added=tuple(v.added),
        )
        for v in contract.CORPUS
    ]
    return {contract.AID: (source, planted)}


def _corpus() -> dict[str, tuple[dict | None, list[Planted]]]:
    """assignment id -> (its source notebook, or None for the course's own; the planted answers)."""
    return _from_psets() if PSETS.is_dir() else _from_contract()


def _pack(planted: list[Planted]) -> list[list[Planted]]:
    """Planted answers grouped so that no two in a group can change the same test cell."""
    groups: list[list[Planted]] = []
    for v in planted:
        for group in groups:
            if not any(v.affects & w.affects or v.replaces.keys() & w.replaces.keys() for w in group):
                group.append(v)
                break
        else:
            groups.append([v])
    return groups


def _build(rel: dict, src: dict, group: list[Planted]) -> dict:
    """The reference with the group's answers planted. The answers of tasks that no test cell
    checks (an experiment whose analysis is graded by hand) stay as released: they take most of a
    notebook's time and no autograded cell reads them (the reference, graded whole, shows that)."""
    nb = S.solved(rel, src, only=S.tasks(src))
    for v in group:
        for gid, code in v.replaces.items():
            nb = S.planted(nb, gid, code, v.prelude.get(gid, ""))
        at = next(i for i, c in enumerate(nb["cells"]) if S.gid(c) == "setup") + 1
        for k, code in enumerate(v.added):
            cell = {"cell_type": "code", "id": f"{v.name}-{k}", "metadata": {}, "source": code}
            nb["cells"].insert(at + k, {**cell, "outputs": [], "execution_count": None})
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("psets")
    course = tmp / "assignments"
    course.mkdir()
    shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    corpus, plan = _corpus(), {}
    for aid, (source, _) in corpus.items():
        (course / "source" / aid).mkdir(parents=True)
        if source is None:
            shutil.copytree(
                ROOT / "assignments" / "source" / aid, course / "source" / aid, dirs_exist_ok=True
            )
        else:
            (course / "source" / aid / f"{aid}.ipynb").write_text(json.dumps(source))
    assert main(["--course", str(course), "release", "--downloads", str(tmp / "dl"), "-q"]) == 0
    for aid, (_, planted) in corpus.items():
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        S.write_submission(course, "reference", aid, S.solved(rel, src))
        S.write_submission(course, "blank", aid, rel)
        for k, group in enumerate(_pack(planted)):
            S.write_submission(course, f"planted{k:02d}", aid, _build(rel, src, group))
            plan[aid, f"planted{k:02d}"] = group
    assert main(["--course", str(course), "autograde", "--jobs", "2"]) == 0
    feedback_rc = main(["--course", str(course), "feedback"])
    assert main(["--course", str(course), "grades"]) == 0
    return {"course": course, "corpus": corpus, "plan": plan, "feedback_rc": feedback_rc}


def _cell_scores(course: Path, aid: str, sid: str) -> dict[str, tuple[float, float]]:
    """test cell grade_id -> (points earned, available), for the autograded cells."""
    from nbgrader.api import Gradebook

    with Gradebook(Course(course).db_url) as gb:
        grades = gb.find_submission_notebook(aid, aid, sid).grades
        return {
            g.name: (g.score, g.max_score)
            for g in grades
            if g.auto_score is not None and g.cell.cell_type == "code"
        }


def _report(course: Path, aid: str) -> dict[str, dict]:
    with open(course / "reports" / aid / "latest.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_reference_full_blank_zero(graded):
    for aid in graded["corpus"]:
        reference = _cell_scores(graded["course"], aid, "reference")
        assert reference and all(a == b for a, b in reference.values()), (aid, reference)
        assert all(a == 0 for a, _ in _cell_scores(graded["course"], aid, "blank").values()), aid
        row = _report(graded["course"], aid)["reference"]
        assert row["violations"] == "" and row["failures"] == "", (aid, row)


@pytest.mark.slow
def test_each_planted_answer_fails_exactly_its_cells(graded):
    """Wrong and loop answers fail exactly the cells they must lose, rule breakers every cell of
    their task (and are reported), correct variants none; every other cell keeps its points."""
    course, problems = graded["course"], []
    for (aid, sid), group in graded["plan"].items():
        scores, row = _cell_scores(course, aid, sid), _report(course, aid)[sid]
        must_fail = {g: v for v in group for g in v.loses}
        for cell, (got, full) in scores.items():
            if cell in must_fail and got != 0:
                v = must_fail[cell]
                problems.append(f"{aid} {v.name} ({v.kind}): {cell} kept {got}/{full}")
            elif cell not in must_fail and got != full:
                who = [v.name for v in group if cell in v.affects] or ["no planted answer"]
                problems.append(f"{aid} {sid} ({', '.join(who)}): {cell} scored {got}/{full}, not full")
        for v in group:
            missing = v.loses - scores.keys()
            if missing:
                problems.append(f"{aid} {v.name}: no grade for {sorted(missing)}")
            if v.kind == "rule":
                tasks = {task_of(g) for g in v.replaces}
                if not any(t in row["violations"] for t in tasks) and "course package" not in row["flags"]:
                    problems.append(
                        f"{aid} {v.name} (rule): not in the report: {row['violations']!r} {row['flags']!r}"
                    )
    assert problems == []


@pytest.mark.slow
def test_a_written_answer_not_graded_yet_is_pending_not_zero(graded):
    course = graded["course"]
    with open(course / "reports" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    for aid in graded["corpus"]:
        assert f"{aid}:" in rows["reference"]["pending"], (aid, rows["reference"])
        assert not list((course / "feedback" / "reference" / aid).glob("*.html")), (
            "no page while it is pending"
        )
        assert list((course / "feedback" / "blank" / aid).glob("*.html")), "the blank one has nothing pending"
    assert graded["feedback_rc"] == 0, "no page held a hidden test"

"""Issue 15's end-to-end test: every problem set graded through ``make autograde`` in ONE run.

For every assignment: the reference solution (full marks for the autograded part, its written
answers pending, never 0), the blank release (0), each planted wrong solution (loses points in
the tasks it breaks, keeps the others), each rule-breaking variant (0 for its task, and a line in
the report), each correct variant (full marks).

The corpus comes from ``tests/psets/`` (the problem sets' own, once merged): a module per
assignment (``tests/psets/<id>.py``) or the package, holding ``VARIANTS`` / ``CORPUS``: entries with
the ``grade_id`` of the answer cell they replace, the replacement ``source``, the tasks they must
``lose`` and their ``kind`` (``wrong``, ``rule``, ``right``); :func:`_normalize` accepts the
usual spellings of these fields. Until then it comes from tests/grading_fixtures/contract.py, a
small problem set written to PS_CONTRACT.md. Variants that touch different tasks share one
submission (each task's score is checked on its own), so that the run stays short.
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


@dataclass
class Variant:
    name: str
    replaces: dict  # grade_id -> new source
    loses: tuple
    kind: str
    added: list = field(default_factory=list)


def _get(entry, *names, default=None):
    for name in names:
        if isinstance(entry, dict) and name in entry:
            return entry[name]
        if hasattr(entry, name):
            return getattr(entry, name)
    return default


def _normalize(entry, i: int) -> Variant:
    """One corpus entry (a dict, a dataclass or a namedtuple) as a :class:`Variant`."""
    replaces = _get(entry, "replaces")
    if not isinstance(replaces, dict):
        gid = _get(entry, "grade_id", "cell", "replaces", "target")
        source = _get(entry, "source", "code", "replacement", "new_source")
        if not isinstance(gid, str) or not isinstance(source, str):
            raise TypeError(f"corpus entry {i} has no grade_id and source I can read: {entry!r}")
        replaces = {gid: source}
    loses = _get(entry, "loses", "tasks", "breaks", "must_lose", default=())
    loses = (loses,) if isinstance(loses, str) else tuple(loses)
    kind = _get(entry, "kind", "category", default="wrong")
    if _get(entry, "correct", "is_correct", default=False):
        kind = "right"
    name = _get(entry, "name", "id", "label", default=f"variant{i}")
    return Variant(
        str(name), replaces, loses, str(kind), list(_get(entry, "added", "extra_cells", default=[]) or [])
    )


def _corpus() -> dict[str, tuple[dict | None, list[Variant]]]:
    """assignment id -> (its source notebook, or None for the course's own; the variants)."""
    if not PSETS.is_dir():
        variants = [
            Variant(v.name, v.replaces, tuple(v.loses), v.kind, list(v.added)) for v in contract.CORPUS
        ]
        return {contract.AID: (contract.source_notebook(), variants)}
    sys.path.insert(0, str(PSETS.parent))
    found = {}
    for aid in sorted(p.name for p in (ROOT / "assignments" / "source").iterdir()):
        for module_name in (f"psets.{aid}", f"psets.{aid.split('_')[0]}", "psets"):
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            entries = getattr(module, "VARIANTS", None) or getattr(module, "CORPUS", None)
            if isinstance(entries, dict):
                entries = entries.get(aid) or entries.get(aid.split("_")[0])
            if entries:
                found[aid] = (None, [_normalize(e, i) for i, e in enumerate(entries)])
                break
    assert found, "tests/psets/ exists but holds no corpus I can read (VARIANTS or CORPUS per assignment)"
    return found


def _affects(v: Variant) -> set[str]:
    return {task_of(g) for g in v.replaces} | set(v.loses)


def _pack(variants: list[Variant]) -> list[list[Variant]]:
    """Variants grouped so that no two in a group touch the same task."""
    groups: list[list[Variant]] = []
    for v in variants:
        for group in groups:
            if not any(_affects(v) & _affects(w) for w in group):
                group.append(v)
                break
        else:
            groups.append([v])
    return groups


def _build(rel: dict, src: dict, group: list[Variant]) -> dict:
    nb = S.solved(rel, src)
    for v in group:
        for gid, code in v.replaces.items():
            cell = next(c for c in nb["cells"] if S.gid(c) == gid)
            cell["source"] = code
        at = next(i for i, c in enumerate(nb["cells"]) if S.gid(c) == "setup") + 1
        for k, code in enumerate(v.added):
            nb["cells"].insert(
                at + k,
                {
                    "cell_type": "code",
                    "id": f"{v.name}-{k}",
                    "metadata": {},
                    "source": code,
                    "outputs": [],
                    "execution_count": None,
                },
            )
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
    for aid, (_, variants) in corpus.items():
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        S.write_submission(course, "reference", aid, S.solved(rel, src))
        S.write_submission(course, "blank", aid, rel)
        for k, group in enumerate(_pack(variants)):
            S.write_submission(course, f"variants{k:02d}", aid, _build(rel, src, group))
            plan[aid, f"variants{k:02d}"] = group
    assert main(["--course", str(course), "autograde", "--jobs", "2"]) == 0
    feedback_rc = main(["--course", str(course), "feedback"])
    assert main(["--course", str(course), "grades"]) == 0
    return {"course": course, "corpus": corpus, "plan": plan, "feedback_rc": feedback_rc}


def _task_scores(course: Path, aid: str, sid: str) -> dict[str, tuple[float, float]]:
    """task -> (autograded points earned, available)."""
    from nbgrader.api import Gradebook

    out: dict[str, list[float]] = {}
    with Gradebook(Course(course).db_url) as gb:
        for grade in gb.find_submission_notebook(aid, aid, sid).grades:
            if grade.auto_score is None or grade.cell.cell_type == "markdown":
                continue
            got = out.setdefault(task_of(grade.name), [0.0, 0.0])
            got[0] += grade.score
            got[1] += grade.max_score
    return {t: (a, b) for t, (a, b) in out.items()}


def _report(course: Path, aid: str) -> dict[str, dict]:
    with open(course / "reports" / aid / "latest.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_reference_full_blank_zero(graded):
    for aid in graded["corpus"]:
        reference = _task_scores(graded["course"], aid, "reference")
        assert all(a == b for a, b in reference.values()), (aid, reference)
        assert all(a == 0 for a, _ in _task_scores(graded["course"], aid, "blank").values()), aid
        assert _report(graded["course"], aid)["reference"]["violations"] == "", "the reference breaks no rule"


@pytest.mark.slow
def test_each_variant_loses_exactly_where_it_should(graded):
    course, problems = graded["course"], []
    for (aid, sid), group in graded["plan"].items():
        scores, row = _task_scores(course, aid, sid), _report(course, aid)[sid]
        touched = set()
        for v in group:
            touched |= _affects(v)
            for task in v.loses or {task_of(g) for g in v.replaces}:
                got, full = scores.get(task, (0.0, 0.0))
                if v.kind == "right" and got != full:
                    problems.append(f"{aid} {v.name} (correct): {task} scored {got}/{full}")
                elif v.kind == "wrong" and not got < full:
                    problems.append(f"{aid} {v.name} (planted wrong): {task} kept {got}/{full}")
                elif v.kind == "rule":
                    if got != 0:
                        problems.append(f"{aid} {v.name} (rule broken): {task} scored {got}, not 0")
                    if task not in row["violations"] and "course package" not in row["flags"]:
                        problems.append(
                            f"{aid} {v.name} (rule broken): not in the report: {row['violations']} {row['flags']}"
                        )
        for task, (got, full) in scores.items():
            if task not in touched and got != full:
                problems.append(f"{aid} {sid}: task {task} that no variant touches scored {got}/{full}")
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

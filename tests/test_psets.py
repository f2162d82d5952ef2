"""The six problem sets: their structure, and proof that their hidden tests catch mistakes.

Structure (no kernel): header totals, per-task points, the set-up cell's prologue, the BANNED
dictionary (every name resolves, every task's text lists its names verbatim, every test of a task
calls ``check_rules`` with them), rubrics in the hand-graded cells, tests that judge behaviour
(never source text), and a corpus of planted answers that covers every graded function.

Behaviour (marked slow: one Jupyter kernel per problem set, ``tests/psets/replay.py``, one to two
minutes for all six on two cores): the reference passes
every test cell; blanking an answer cell fails exactly the tests of the tasks that use it; every
planted wrong answer fails exactly the test cells it declares; every correct variant passes them
all; rule and loop variants compute the right numbers (they pass until the rules are enforced) and,
with grading v2's ``check_rules`` and ``count_torch_ops`` installed, lose their tasks.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from psets import (
    ASSIGNMENTS,
    CORPUS,
    affected_cells,
    answer_cells,
    autograded_cells,
    autograded_points,
    banned_of,
    grade_id,
    load,
    nbgrader,
    task_of,
    text,
)

sys.path.insert(0, str(Path(__file__).parent / "grading_fixtures"))
import submissions as S
from contract import PROLOGUE  # the contract's set-up prologue, one copy

ROOT = Path(__file__).resolve().parents[1]
GRADER_V2 = importlib.util.find_spec("dlcourse.grading.student") is not None
ENFORCED_BY_V2 = "enforced by grading v2 (dlcourse.grading.student's check_rules / count_torch_ops)"


def _cells(nb, kind=None):
    return [c for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def _task_points(nb) -> dict[str, float]:
    points: dict[str, float] = {}
    for c in nb["cells"]:
        if nbgrader(c).get("grade"):
            points[task_of(grade_id(c))] = points.get(task_of(grade_id(c)), 0) + nbgrader(c)["points"]
    return points


# ------------------------------------------------------------------ structure


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_totals_match_the_points_of_the_cells(aid):
    nb = load(aid)
    intro = text(nb["cells"][0])
    graded = [c for c in nb["cells"] if nbgrader(c).get("grade")]
    auto = sum(nbgrader(c)["points"] for c in graded if c["cell_type"] == "code")
    manual = sum(nbgrader(c)["points"] for c in graded if c["cell_type"] == "markdown")
    total = auto + manual
    assert 40 <= total <= 60, f"{aid}: {total} points"
    assert f"**Total: {total:g} points** ({auto:g} graded automatically, {manual:g} graded by hand)" in intro
    # every task heading and the overview table state the task's points
    points = _task_points(nb)
    headings = re.findall(
        r"^## Task (\d+) \(([^)]*)\)", "\n".join(text(c) for c in _cells(nb, "markdown")), re.M
    )
    assert headings, aid
    for number, label in headings:
        stated = re.match(r"(\d+) points?", label)
        want = points.get(f"task{number}", 0)
        assert (float(stated.group(1)) if stated else 0) == want, (
            f"{aid} task {number}: heading says {label!r}"
        )
        row = re.search(rf"^\| {number} \| [^\n]*\| (\d+) \|$", intro, re.M)
        assert row and float(row.group(1)) == want, f"{aid}: the overview table's row for task {number}"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_setup_cell_starts_with_the_contract_prologue(aid):
    nb = load(aid)
    setup = [
        c for c in _cells(nb, "code") if not nbgrader(c).get("solution") and not nbgrader(c).get("grade")
    ]
    assert setup and text(setup[0]).startswith(PROLOGUE)
    assert all(nbgrader(c).get("locked") for c in setup)
    for c in setup:
        rest = text(c).replace(PROLOGUE, "")
        assert not re.search(r"^\s*(from|import)\s+dlcourse", rest, re.M), (
            "set-up never imports the course package"
        )


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return False
        return True
    return False


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_banned_names_resolve_and_are_stated_in_each_task(aid):
    nb = load(aid)
    banned = banned_of(nb)
    tasks_with_code = {task_of(g) for g in answer_cells(nb)}
    assert banned and set(banned) <= tasks_with_code, f"{aid}: BANNED keys {sorted(banned)}"
    for task, names in banned.items():
        assert "dlcourse" in names, f"{aid}/{task}: the course package answers the sets: ban it"
        for name in names:
            assert _resolves(name), f"{aid}/{task}: {name} is not a module or callable"
        prose = "\n".join(
            text(c)
            for c in _cells(nb, "markdown")
            if grade_id(c).startswith(task + "_") and not nbgrader(c).get("grade")
        )
        listed = re.search(r"\*\*Banned in this\s+task:\*\*(.*?)(?:\n\n|\Z)", prose, re.S)
        assert listed, f"{aid}/{task}: the task's text does not list its banned names"
        assert re.findall(r"`([^`]+)`", listed.group(1)) == list(names), f"{aid}/{task}: listed != BANNED"


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_tests_check_rules_and_judge_behaviour_not_source(aid):
    nb = load(aid)
    banned = banned_of(nb)
    for gid in autograded_cells(nb):
        src = text([c for c in nb["cells"] if grade_id(c) == gid][0])
        for word in ("getsource", "inspect", "__code__", "_ih", "In["):
            assert word not in src, f"{aid}/{gid}: a test reads source ({word})"
        if task_of(gid) in banned:
            assert f'check_rules(BANNED["{task_of(gid)}"]' in src, f"{aid}/{gid}: does not call check_rules"
        ast.parse(src)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_hand_graded_cells_carry_a_rubric_for_the_grader(aid):
    nb = load(aid)
    manual = [c for c in nb["cells"] if nbgrader(c).get("grade") and nbgrader(c).get("solution")]
    assert len(manual) >= 2, f"{aid}: a derivation and an analysis, graded by hand"
    for c in manual:
        assert c["cell_type"] == "markdown"
        src = text(c)
        inside = src.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        rubric = re.search(r"\*\*Rubric \((\d+) points?\)\.\*\*", inside)
        assert rubric and float(rubric.group(1)) == nbgrader(c)["points"], f"{aid}/{grade_id(c)}"
    hidden = [g for g in autograded_cells(nb) if "### BEGIN HIDDEN TESTS" in text(_by_id(nb, g))]
    points = autograded_points(nb)
    assert sum(points[g] for g in hidden) > sum(points.values()) / 2, "hidden tests carry most points"


def _by_id(nb, gid):
    return next(c for c in nb["cells"] if grade_id(c) == gid)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_corpus_covers_every_graded_function(aid):
    nb = load(aid)
    variants = CORPUS[aid]
    tested = {task_of(g) for g in autograded_cells(nb)}
    for gid in answer_cells(nb):
        if task_of(gid) not in tested:
            continue
        mine = [v for v in variants if v.replaces == gid]
        assert sum(v.kind == "wrong" for v in mine) >= 3, f"{aid}/{gid}: fewer than 3 planted wrong answers"
        assert any(v.kind == "right" for v in mine), f"{aid}/{gid}: no correct variant"
    for task in banned_of(nb):
        assert any(v.kind == "rule" and task_of(v.replaces) == task for v in variants), (
            f"{aid}/{task}: no rule variant"
        )
    sources = [v.prelude + v.source for v in variants if v.kind == "rule"]
    assert any("getattr(" in s for s in sources), f"{aid}: no getattr rule-breaker"
    assert any("dlcourse" in s for s in sources), f"{aid}: no import from the course package"
    assert any(v.prelude for v in variants if v.kind == "rule"), f"{aid}: no alias made in another cell"
    known = set(autograded_cells(nb))
    for v in variants:
        assert v.replaces in answer_cells(nb) and set(v.fails) <= known, v.name
        assert "### BEGIN" not in v.source and "### END" not in v.source, v.name


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_corpus_is_the_data_the_grading_test_reads(aid):
    """tests/test_grading_psets.py imports ``psets.<id>.VARIANTS`` and reads, per entry, ``name``,
    ``replaces`` (a grade_id), ``source``, ``loses`` (task names), ``kind`` and ``added``."""
    nb = load(aid)
    module = importlib.import_module(f"psets.{aid}")
    assert module.VARIANTS is CORPUS[aid] or module.VARIANTS == CORPUS[aid]
    tasks = set(_task_points(nb))
    names = [v.name for v in module.VARIANTS]
    assert len(names) == len(set(names)), f"{aid}: variant names repeat"
    for v in module.VARIANTS:
        assert v.kind in ("wrong", "right", "rule"), v.name
        assert isinstance(v.replaces, str) and v.grade_id == v.replaces and isinstance(v.source, str)
        assert all(isinstance(t, str) and t in tasks for t in v.loses), (v.name, v.loses)
        assert set(v.loses) == {task_of(g) for g in v.fails}, v.name
        assert (v.kind == "right") == (v.loses == ()), v.name
        if v.kind == "rule":
            assert task_of(v.replaces) in v.loses, v.name
        assert v.added == ([v.prelude] if v.prelude else [])
        for cell in v.added:  # it goes right after the set-up cells: it may use only their names
            assert "def " not in cell and not re.search(r"\b(affine|network|sgd|adam)_", cell), v.name


def test_assignments_page_states_each_sets_points():
    page = (ROOT / "book" / "assignments.md").read_text(encoding="utf-8")
    for aid in ASSIGNMENTS:
        nb = load(aid)
        total = sum(nbgrader(c)["points"] for c in nb["cells"] if nbgrader(c).get("grade"))
        row = next(line for line in page.splitlines() if f"downloads/{aid}.ipynb" in line)
        assert f"| {total:g} |" in row, f"book/assignments.md: {aid} has {total:g} points"


def test_a_planted_answer_becomes_a_submission():
    """The builder the end-to-end grading test uses: the answer replaced, the student's cell added."""
    v = next(v for v in CORPUS["ps1_backprop"] if v.prelude)
    nb = load("ps1_backprop")
    out = S.planted(nb, v.replaces, v.source, v.prelude)
    at = [grade_id(c) for c in out["cells"]].index(v.replaces)
    assert text(out["cells"][at]) == v.source and text(out["cells"][at - 1]) == v.prelude
    assert "nbgrader" not in out["cells"][at - 1]["metadata"] and len(out["cells"]) == len(nb["cells"]) + 1
    assert load("ps1_backprop") == nb, "the notebook passed in is not modified"


# ------------------------------------------------------------------ behaviour, one kernel per set

_REPLAYS: dict = {}


def _replay(aid):
    if aid not in _REPLAYS:
        from psets.replay import replay

        _REPLAYS[aid] = replay(aid)
    return _REPLAYS[aid]


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_reference_passes_every_cell(aid):
    result = _replay(aid)
    failing = {g: e for g, e in result.reference.items() if e}
    assert not failing, f"{aid}: the reference solution fails {failing}"
    print(f"\n{aid}: the reference's cells took {result.reference_seconds:.1f} s in one kernel")


@pytest.mark.slow
@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_blanking_an_answer_fails_exactly_the_tasks_that_use_it(aid):
    result = _replay(aid)
    assert result.blank, aid
    for gid, outcome in result.blank.items():
        assert outcome.defined is None, f"{aid}: the released {gid} does not run: {outcome.defined}"
        want = set(affected_cells(aid, gid))
        assert set(outcome.failing) == want, (
            f"{aid}: blank {gid} fails {sorted(outcome.failing)}, expected {sorted(want)}"
        )


def _params():
    params = []
    for aid in ASSIGNMENTS:
        for v in CORPUS[aid]:
            params.append(pytest.param(aid, v.name, id=f"{aid}-{v.name}"))
    return params


def _variant(aid, name):
    return next(v for v in CORPUS[aid] if v.name == name)


@pytest.mark.slow
@pytest.mark.parametrize(("aid", "name"), _params())
def test_planted_answer(aid, name):
    """Wrong answers fail exactly their declared cells; correct variants and (until the rules are
    enforced) rule and loop variants pass every cell they can reach."""
    v = _variant(aid, name)
    outcome = _replay(aid).variants[name]
    assert outcome.defined is None, f"{name}: defining the variant raised {outcome.defined}"
    failing = set(outcome.failing)
    if v.kind == "wrong" and not v.loop:
        assert failing == set(v.fails), (
            f"{name} fails {sorted(failing)}, declared {sorted(v.fails)}: {outcome.failing}"
        )
    elif v.kind == "right":
        assert not failing, f"correct variant {name} fails {outcome.failing}"
    elif GRADER_V2:
        assert failing <= set(v.fails), f"{name} fails {sorted(failing - set(v.fails))} beyond its tasks"
    else:
        assert not failing, (
            f"{name} should compute the right numbers (it breaks a rule only): {outcome.failing}"
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("aid", "name"),
    [
        pytest.param(
            *p.values,
            id=p.id,
            marks=() if GRADER_V2 else pytest.mark.xfail(strict=True, reason=ENFORCED_BY_V2),
        )
        for p in _params()
        if _variant(*p.values).needs_grader_v2
    ],
)
def test_rule_breaker_loses_its_tasks(aid, name):
    """With the rules enforced, a banned call or a loop over the examples fails each of its tasks."""
    v = _variant(aid, name)
    failing = set(_replay(aid).variants[name].failing)
    missed = [t for t in v.loses if not any(task_of(g) == t for g in failing)]
    assert not missed, f"{name}: tasks {missed} kept their points"
    if v.loop:
        assert failing == set(v.fails), f"{name} fails {sorted(failing)}, declared {sorted(v.fails)}"

"""Planted solutions for the six problem sets: the proof that their hidden tests catch mistakes.

For every graded function of every problem set, ``tests/psets/<assignment>.py`` declares

- plausible **wrong** solutions (an off-by-one scaling, a forward difference, a missing bias
  correction, ...): each must fail exactly the test cells listed in its ``loses``;
- reasonable **correct** variants (another order of operations, another way to draw the same
  random numbers, ...): each must pass every test cell;
- **rule** breakers (a banned function reached through an alias made in another cell, ``getattr``
  with a string built at run time, an import from the course package) and **loop** solutions (a
  Python loop over the examples): each computes the right numbers, so it passes every test until
  the rules are enforced; with grading v2's ``check_rules`` and ``count_torch_ops`` it must lose
  every test cell of its task.

The corpus is plain data, built from the source notebooks, for two users: ``tests/test_psets.py``
(one Jupyter kernel per problem set replays every variant against the test cells) and the
end-to-end grading test (``tests/test_grading_psets.py``), which submits each variant through the
real grader::

    from psets import CORPUS            # or: from psets.ps1_backprop import VARIANTS
    for v in CORPUS["ps1_backprop"]:
        v.name           # unique within the assignment
        v.kind           # "wrong", "right" or "rule"
        v.loop           # True: a "wrong" answer that is a Python loop over the examples (right
                         # numbers; only grading v2's count_torch_ops makes it lose its tasks)
        v.replaces       # grade_id of the answer cell whose source is replaced (also v.grade_id)
        v.source         # the new source of that cell (no solution markers)
        v.added          # [] or [source of a code cell the student added] (an alias; it uses only
                         # the set-up cells' names, so it may go anywhere after them)
        v.prelude        # the same cell as a string ("" when none); the replay puts it just
                         # before the answer
        v.loses          # the TASKS whose points it must lose ("task1", "task3"); every other
                         # task keeps full marks. () for a right variant
        v.fails          # the test CELLS (grade_ids) that must fail; all others pass
        v.points_lost(source_nb)   # the points those cells carry
        v.needs_grader_v2          # True for rule and loop variants: only the new grader zeroes them

A rule variant's ``loses`` is the task of the cell it replaces and the tasks whose tests call that
function through another task's function while banning the same call (a violation there too).
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = (
    "ps1_backprop",
    "ps2_optimizers",
    "ps3_activations",
    "ps4_regularization",
    "ps5_losses",
    "ps6_training_tricks",
)
KINDS = ("wrong", "right", "rule")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


@dataclass(frozen=True)
class Variant:
    """One planted answer: the cell it replaces, its source, and what the tests must make of it."""

    assignment: str
    name: str
    kind: str
    replaces: str
    source: str
    fails: tuple[str, ...]
    why: str
    prelude: str = ""
    loop: bool = False

    @property
    def grade_id(self) -> str:
        return self.replaces

    @property
    def added(self) -> list[str]:
        return [self.prelude] if self.prelude else []

    @property
    def needs_grader_v2(self) -> bool:
        """Rule and loop variants compute the right numbers: only enforcement makes them fail."""
        return self.kind == "rule" or self.loop

    @property
    def loses(self) -> tuple[str, ...]:
        """The tasks this variant must lose (in the order of their numbers)."""
        return tuple(sorted({task_of(gid) for gid in self.fails}, key=_task_number))

    tasks_lost = loses

    def points_lost(self, source_nb: dict) -> float:
        points = autograded_points(source_nb)
        return float(sum(points[gid] for gid in self.fails))


def _task_number(task: str) -> tuple[int, str]:
    digits = "".join(ch for ch in task if ch.isdigit())
    return (int(digits) if digits else 0, task)


# ------------------------------------------------------------------ reading the source notebooks


def source_path(aid: str) -> Path:
    return ROOT / "assignments" / "source" / aid / f"{aid}.ipynb"


def load(aid: str) -> dict:
    return json.loads(source_path(aid).read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: dict) -> str:
    return nbgrader(cell).get("grade_id", "")


def task_of(gid: str) -> str:
    return gid.split("_")[0]


def cell_by_id(nb: dict, gid: str) -> dict:
    for cell in nb["cells"]:
        if grade_id(cell) == gid:
            return cell
    raise KeyError(f"no cell with grade_id {gid!r}")


def autograded_points(nb: dict) -> dict[str, float]:
    """grade_id -> points of every autograded (code) test cell."""
    return {
        grade_id(c): float(nbgrader(c)["points"])
        for c in nb["cells"]
        if nbgrader(c).get("grade") and not nbgrader(c).get("solution")
    }


def autograded_cells(nb: dict, tasks=None) -> list[str]:
    """grade_ids of the test cells (of ``tasks`` only, when given), in notebook order."""
    return [g for g in autograded_points(nb) if tasks is None or task_of(g) in tasks]


def answer_cells(nb: dict) -> list[str]:
    """grade_ids of the code answer cells, in notebook order."""
    return [grade_id(c) for c in nb["cells"] if c["cell_type"] == "code" and nbgrader(c).get("solution")]


def answer(nb: dict, gid: str) -> str:
    """The instructor's answer of cell ``gid`` with the solution marker lines removed."""
    lines = text(cell_by_id(nb, gid)).splitlines()
    return "\n".join(line for line in lines if not any(m in line for m in SOLUTION_MARKERS))


def released(source: str) -> str:
    """What nbgrader's release makes of a cell: each solution region becomes the code stub."""
    out, inside = [], False
    for line in source.splitlines():
        if SOLUTION_MARKERS[0] in line:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub for stub in CODE_STUB.splitlines()]
        elif SOLUTION_MARKERS[1] in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def banned_of(nb: dict) -> dict[str, tuple[str, ...]]:
    """The set-up cell's BANNED dictionary, read without running anything."""
    import ast

    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or nbgrader(cell).get("solution") or nbgrader(cell).get("grade"):
            continue
        for node in ast.parse(text(cell)).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "BANNED" for t in node.targets):
                return ast.literal_eval(node.value)
    raise KeyError("no BANNED dictionary in a set-up cell")


# ------------------------------------------------------------------ building variants


class Maker:
    """Builds the variants of one assignment from its source notebook.

    Every edit names text that must occur exactly once in the reference answer, so a change to a
    notebook that silently invalidates a planted variant fails loudly here instead.
    """

    def __init__(self, aid: str):
        self.aid = aid
        self.nb = load(aid)
        self.variants: list[Variant] = []

    def cells(self, *gids: str) -> tuple[str, ...]:
        known = set(autograded_cells(self.nb))
        unknown = [g for g in gids if g not in known]
        if unknown:
            raise KeyError(f"{self.aid}: no test cells {unknown}")
        return tuple(gids)

    def task_cells(self, *tasks: str) -> tuple[str, ...]:
        return tuple(autograded_cells(self.nb, set(tasks)))

    def edit(self, gid: str, *pairs: tuple[str, str]) -> str:
        src = answer(self.nb, gid)
        for old, new in pairs:
            count = src.count(old)
            if count != 1:
                raise ValueError(f"{self.aid}/{gid}: {old!r} occurs {count} times in the answer (need 1)")
            src = src.replace(old, new)
        return src

    def function(self, gid: str, name: str, new_def: str) -> str:
        """The answer of ``gid`` with the whole ``def name(...)`` replaced by ``new_def``."""
        src = answer(self.nb, gid)
        match = re.search(rf"^def {re.escape(name)}\(.*?(?=^\S|\Z)", src, flags=re.S | re.M)
        if not match:
            raise ValueError(f"{self.aid}/{gid}: no function {name}")
        return src[: match.start()] + new_def.strip("\n") + "\n\n\n" + src[match.end() :].lstrip("\n")

    def add(self, kind, name, gid, source, fails=(), why="", prelude="", loop=False):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if any(v.name == name for v in self.variants):
            raise ValueError(f"{self.aid}: two variants named {name!r}")
        if kind == "right" and fails:
            raise ValueError(f"{self.aid}/{name}: a right variant loses nothing")
        if kind != "right" and not fails:
            raise ValueError(f"{self.aid}/{name}: a {kind} variant must fail some test cells")
        self.variants.append(
            Variant(self.aid, name, kind, gid, source.strip("\n") + "\n", tuple(fails), why, prelude, loop)
        )

    def wrong(self, name, gid, source, fails, why, prelude=""):
        """A plausible mistake: the test cells ``fails`` (grade_ids) fail, all others pass."""
        self.add("wrong", name, gid, source, fails, why, prelude)

    def correct(self, name, gid, source, why, prelude=""):
        """A reasonable correct variant: every test cell passes."""
        self.add("right", name, gid, source, (), why, prelude)

    def rule(self, name, gid, source, why, prelude="", also=()):
        """A banned call: the grader zeroes the task of ``gid`` and the tasks ``also`` (whose tests
        call the function through another task's function that bans the same call)."""
        self.add("rule", name, gid, source, self.task_cells(task_of(gid), *also), why, prelude)

    def loop(self, name, gid, source, fails, why):
        """A Python loop over the examples (kind "wrong", ``loop``): the cells that count
        operations (``fails``) fail once grading v2 counts them."""
        self.add("wrong", name, gid, source, fails, why, loop=True)


def corpus(aid: str) -> list[Variant]:
    return importlib.import_module(f"psets.{aid}").VARIANTS


def affected_cells(aid: str, gid: str) -> tuple[str, ...]:
    """The test cells that call (directly or not) the functions of answer cell ``gid``.

    Declared in the assignment's module as ``AFFECTS = {answer grade_id: test grade_ids}``; an
    answer cell not named there is used by the tests of its own task only.
    """
    declared = getattr(importlib.import_module(f"psets.{aid}"), "AFFECTS", {})
    if gid in declared:
        return tuple(declared[gid])
    return tuple(autograded_cells(load(aid), {task_of(gid)}))


class _Corpus(dict):
    def __missing__(self, aid):
        self[aid] = corpus(aid)
        return self[aid]


CORPUS: dict[str, list[Variant]] = _Corpus()

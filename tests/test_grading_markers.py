"""The solution and hidden-test markers: one definition, shared with nbgrader, one way to read them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from dlcourse.grading import markers
from dlcourse.grading.course import release_leaks

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (
    "def f():\n    ### BEGIN SOLUTION\n    return secret_value_42 * 2\n    ### END SOLUTION\n",
    "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert hidden_check_value(f) == 3\nx = 1\n### END HIDDEN TESTS\n",
)


def _nb(*sources):
    return {"cells": [{"cell_type": "code", "source": s} for s in sources]}


def test_nbgrader_uses_the_same_markers():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "assignments")).load_config()
    assert config.ClearSolutions.begin_solution_delimeter == markers.BEGIN_SOLUTION
    assert config.ClearSolutions.end_solution_delimeter == markers.END_SOLUTION
    assert config.ClearHiddenTests.begin_test_delimeter == markers.BEGIN_HIDDEN
    assert config.ClearHiddenTests.end_test_delimeter == markers.END_HIDDEN


def test_hidden_lines_are_the_long_lines_between_the_markers():
    assert markers.hidden_lines(_nb(*SOURCE)) == ["assert hidden_check_value(f) == 3"]
    assert markers.has_hidden(SOURCE[1]) and not markers.has_hidden(SOURCE[0])
    assert markers.strip_hidden(SOURCE[1]) == "assert f() == 1"


def test_secret_lines_leave_out_what_the_student_sees_anyway():
    nb = _nb(*SOURCE, "# a stub may repeat: return secret_value_42 * 2\nreturn secret_value_42 * 2\n")
    assert markers.secret_lines(nb) == {"assert hidden_check_value(f) == 3"}


def test_release_check_and_scrub_share_the_rule():
    clean = _nb("def f():\n    raise NotImplementedError()\n", "assert f() == 1\n")
    assert release_leaks(_nb(*SOURCE), clean) == []
    leaky = _nb("def f():\n    return secret_value_42 * 2\n", "### BEGIN HIDDEN TESTS\n")
    assert release_leaks(_nb(*SOURCE), leaky) == [markers.BEGIN_HIDDEN, "return secret_value_42 * 2"]
    text, hits = markers.scrub(
        "ok\n>>> assert hidden_check_value(f) == 3 <<<\nfine", ["assert hidden_check_value(f) == 3"]
    )
    assert hits == 1 and text == f"ok\n{markers.REDACTED}\nfine"


@pytest.mark.parametrize("aid", sorted(p.name for p in (ROOT / "assignments" / "source").iterdir()))
def test_every_source_notebook_has_hidden_lines_to_guard(aid):
    nb = json.loads((ROOT / "assignments" / "source" / aid / f"{aid}.ipynb").read_text())
    assert markers.hidden_lines(nb), "the feedback check would have nothing to look for"

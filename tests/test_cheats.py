"""Cheat detection: the static scan, the trusted re-check and the scrubbing of hidden tests.

A small assignment is built here (one solution cell, a visible+hidden test cell, a numpy test
cell). Each cheat in tests/attacks/cheat_*.py replaces the solution cell; the "student's
kernel" run mimics nbgrader (the submission's cells with the source's test cells restored), and
:func:`dlcourse.grading.cheats.review` must flag what that kernel wrongly passed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from dlcourse.grading import cheats, sandbox

ATTACKS = Path(__file__).parent / "attacks"
HIDDEN = 'assert square(-4) == 16, "hidden check of negative inputs, worth most points"'


def cell(source, **meta):
    c = nbformat.v4.new_code_cell(source)
    if meta:
        c.metadata["nbgrader"] = {
            "schema_version": 3,
            "locked": not meta.get("solution"),
            "grade": False,
            "solution": False,
            **meta,
        }
    return c


def source_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell("import numpy as np", grade_id="setup"),
        cell(
            "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
            grade_id="square",
            solution=True,
        ),
        cell(
            "assert square(3) == 9\n### BEGIN HIDDEN TESTS\n" + HIDDEN + "\n### END HIDDEN TESTS",
            grade_id="test_square",
            grade=True,
            points=3,
        ),
        cell(
            "np.testing.assert_allclose(square(np.arange(3.0)), [0.0, 1.0, 4.0])",
            grade_id="test_numpy",
            grade=True,
            points=1,
        ),
    ]
    return nb


def submission(solution: str):
    nb = source_notebook()
    nb.cells[1].source = solution
    nb.cells[2].source = "assert square(3) == 9"  # released version: hidden tests removed
    return nb


def students_kernel(sub):
    """What nbgrader does: restore the source's test cells, run the whole notebook."""
    nb = nbformat.from_dict(sub)
    for i, c in enumerate(source_notebook().cells):
        if c.metadata["nbgrader"].get("grade"):
            nb.cells[i].source = c.source
    km = AsyncKernelManager(kernel_name="python3")
    try:
        NotebookClient(nb, km=km, timeout=20, allow_errors=True).execute()
    finally:
        run_sync(km.shutdown_kernel)()
    return nb


@pytest.fixture(scope="module")
def recheck_options(tmp_path_factory):
    """The re-check runs in the sandbox where this machine allows it."""
    support = sandbox.probe()
    if not support.isolated:
        return {"timeout": 20}
    run = tmp_path_factory.mktemp("recheck")
    setup = sandbox.grading_config(run, support=support)
    return {
        "timeout": 20,
        "kernel_name": setup.kernel_name,
        "config": setup.config,
        "kernel_dirs": [str(run / "jupyter" / "kernels")],
    }


HONEST = "def square(x):\n    return x * x"
BLANK = "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


@pytest.mark.parametrize(
    "name, rule",
    [
        ("cheat_always_eq", "always-equal"),
        ("cheat_patch_testing", "test-patch"),
        ("cheat_input_transformer", "ipython-hook"),
        ("cheat_print_hidden", "ipython-hook"),
        ("cheat_grader_detect", "grader-detect"),
    ],
)
def test_scan_finds_each_cheat(name, rule):
    findings = cheats.scan(submission((ATTACKS / f"{name}.py").read_text()))
    assert rule in {f.rule for f in findings}, findings
    hit = next(f for f in findings if f.rule == rule)
    assert hit.cell == "square" and hit.line > 0


def test_scan_sees_through_aliases_and_ignores_text():
    code = (
        "import builtins as b\nimport numpy.testing as nt\nb.print = None\n"
        "nt.assert_allclose = lambda *a: None\nsetattr(b, 'len', None)\n"
        "s = 'get_ipython().input_transformers_cleanup'  # atexit in a comment\n"
    )
    rules = [(f.line, f.rule) for f in cheats.scan(submission(code))]
    assert (3, "builtins") in rules and (4, "test-patch") in rules and (5, "test-patch") in rules
    assert not any(line == 6 for line, _ in rules)


def test_scan_is_quiet_on_honest_code():
    code = (
        "import torch\n\nclass Point:\n    def __eq__(self, other):\n"
        "        return self.x == other.x\n\n" + HONEST
    )
    assert cheats.scan(submission(code)) == []


def test_definitions_only_are_loaded():
    from dlcourse.grading.cheats.recheck import extract_definitions

    code, dropped = extract_definitions(
        "import os\nos.environ['X'] = '1'\nN = 3\n@trick\ndef f(x=print('boo')):\n    pass\n"
        "def g(x, y=2.0):\n    return x\nclass C:\n    import atexit\n    atexit.register(print)\n"
    )
    assert "def g" in code and "N = 3" in code and "import os" in code
    assert "def f" not in code and "environ" not in code and "class C" not in code
    assert len(dropped) == 3


@pytest.mark.parametrize(
    "name", ["cheat_always_eq", "cheat_patch_testing", "cheat_input_transformer", "cheat_print_hidden"]
)
def test_review_flags_what_the_kernel_wrongly_passed(name, recheck_options):
    sub = submission((ATTACKS / f"{name}.py").read_text())
    auto = students_kernel(sub)
    review = cheats.review(sub, source_notebook(), auto, **recheck_options)
    fooled = [gid for gid, ok in review.kernel.items() if ok]
    assert fooled, f"{name} did not fool the plain kernel: the test is void"
    assert set(fooled) <= set(review.mismatches)
    assert review.flagged and review.recheck_score == 0.0
    if name == "cheat_print_hidden":
        printed = "".join(o.get("text", "") for c in auto.cells for o in c.get("outputs", []))
        assert HIDDEN in printed  # the kernel did leak it ...
        assert review.redactions  # ... and the scrubbed copy does not
        scrubbed = nbformat.writes(review.scrubbed)
        assert HIDDEN not in scrubbed and cheats.REDACTED in scrubbed


def test_review_keeps_honest_and_blank_scores(recheck_options):
    src = source_notebook()
    honest = cheats.review(submission(HONEST), src, students_kernel(submission(HONEST)), **recheck_options)
    assert honest.recheck == {"test_square": True, "test_numpy": True}
    assert honest.recheck_score == 4.0 and not honest.flagged and honest.findings == []
    blank = submission(BLANK)
    blank_review = cheats.review(blank, src, students_kernel(blank), **recheck_options)
    assert blank_review.recheck_score == 0.0 and not blank_review.flagged


def test_scrub_redacts_ansi_coloured_tracebacks():
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="",
        traceback=["\x1b[32m---> 2\x1b[39m " + HIDDEN.replace("square", "\x1b[38;5;28msquare\x1b[39m", 1)],
    )
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[out])]
    # the colour codes split the line: scrubbing compares the text without them
    scrubbed, found = cheats.scrub(nb, source_notebook())
    assert found and scrubbed.cells[0].outputs[0].traceback == [cheats.REDACTED]


def test_hidden_lines_come_from_the_source_only():
    assert cheats.hidden_lines(source_notebook()) == [HIDDEN]

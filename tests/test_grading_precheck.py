"""The pre-check (dlcourse.grading.precheck): repairs, careless submissions (issue 16, class 6), and
the cleaning of what a student wrote before any page renders it (class 1)."""

from __future__ import annotations

import copy
import json

import pytest

from dlcourse.grading.precheck import precheck_file, precheck_notebook
from dlcourse.grading.sanitize import WRAPPER_CLASS


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


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def test_repairs_kernel_duplicates_edits_and_deletions():
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
    assert got["metadata"] == RELEASED["metadata"]
    assert [_gid(c) for c in got["cells"]] == [
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


def test_leaves_an_honest_submission_alone():
    nb = copy.deepcopy(RELEASED)
    nb["cells"][1]["source"] = "def f():\n    return 1"
    out = precheck_notebook(nb, RELEASED)
    assert out.repairs == [] and out.notebook["cells"] == nb["cells"]


@pytest.mark.parametrize(
    "break_it, words",
    [
        (lambda nb: nb["cells"][1].__setitem__("metadata", None), "cell 2: metadata is null"),
        (lambda nb: nb.__setitem__("nbformat_minor", "5a"), "nbformat_minor '5a'"),
        (lambda nb: nb["cells"][1].__setitem__("source", 42), "cell 2: source is not text"),
        (lambda nb: nb["cells"][1].__setitem__("source", ["a", None]), "cell 2: source is not text"),
        (lambda nb: nb["cells"].__setitem__(0, "a cell"), "cell 1 is not an object"),
        (lambda nb: nb["cells"][4]["metadata"].__setitem__("nbgrader", []), "nbgrader metadata"),
        (lambda nb: nb["cells"][2].__setitem__("cell_type", "heading"), "cell_type 'heading'"),
        (lambda nb: nb.__setitem__("nbformat", 3), "nbformat 3"),
        (lambda nb: nb.__setitem__("cells", {"a": 1}), "not a Jupyter notebook"),
    ],
)
def test_a_careless_notebook_is_reported_not_graded(break_it, words):
    nb = copy.deepcopy(RELEASED)
    break_it(nb)
    out = precheck_notebook(nb, RELEASED)
    assert not out.gradable and words in " ".join(out.problems), out.problems


@pytest.mark.parametrize(
    "data, words",
    [
        (b'{"cells": [{"cell_type": "code", "source": "def f(', "not valid JSON"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_files_that_are_not_json_are_reported(tmp_path, data, words):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(data)
    out = precheck_file(path, RELEASED)
    assert not out.gradable and words in out.problems[0]


def test_a_file_over_the_size_limit_is_not_even_read(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * 2_000_001)
    out = precheck_file(path, RELEASED, max_bytes=2_000_000)
    assert not out.gradable and "over the 2 MiB limit" in out.problems[0]


def test_what_the_student_wrote_for_a_browser_is_cleaned():
    nb = copy.deepcopy(RELEASED)
    nb["metadata"]["widgets"] = {"<script>": 1}
    nb["cells"][4]["source"] = "My answer <img src=x onerror=alert(1)> $a<b$"
    nb["cells"][1]["outputs"] = [{"output_type": "display_data", "data": {"application/javascript": "x"}}]
    nb["cells"][1]["metadata"]["tags"] = ['"><script>']
    nb["cells"].append(
        {"cell_type": "raw", "metadata": {"format": "text/html"}, "source": "<script>x</script><b>b</b>"}
    )
    out = precheck_notebook(nb, RELEASED).notebook
    written = out["cells"][4]["source"]
    assert (
        written.startswith(f'<div class="{WRAPPER_CLASS}">')
        and "onerror" not in written
        and "$a&lt;b$" in written
    )
    assert out["cells"][1]["outputs"] == [] and out["cells"][1]["metadata"] == {
        "nbgrader": RELEASED["cells"][1]["metadata"]["nbgrader"]
    }
    assert out["cells"][-1]["source"] == "<b>b</b>" and out["cells"][-1]["metadata"] == {}
    assert out["metadata"] == RELEASED["metadata"]
    untouched = precheck_notebook(copy.deepcopy(RELEASED), RELEASED).notebook
    assert untouched["cells"][4]["source"] == "YOUR ANSWER HERE", (
        "an unanswered cell stays the stub (nbgrader scores it 0)"
    )


def test_attachments_over_the_budget_are_dropped_and_reported():
    nb = copy.deepcopy(RELEASED)
    nb["cells"][4]["source"] = "![photo](attachment:p.png)"
    nb["cells"][4]["attachments"] = {"p.png": {"image/png": "A" * 5000}}
    out = precheck_notebook(nb, RELEASED, media_bytes=1000)
    assert "AAAA" not in json.dumps(out.notebook) and "attachments of t2_written removed" in " ".join(
        out.repairs
    )

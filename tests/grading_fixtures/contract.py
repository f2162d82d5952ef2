"""A small problem set written to PS_CONTRACT.md, and a corpus of submissions to grade it with.

Until the rewritten problem sets (with their corpus in ``tests/psets/``) are merged, this is what
the end-to-end test of issue 15 grades: the contract's set-up prologue, ``BANNED`` per task,
``check_rules`` and ``count_torch_ops`` in the visible tests, a test that passes its own ``lambda``
and a test double (a class) to the student's function, hidden tests, and a hand-graded answer.

``source_notebook()`` builds the instructor's notebook; ``CORPUS`` lists submissions as
``Variant(name, replaces, code, loses, kind)``: the answer cells it replaces (grade_id -> code,
or extra cells to add), the tasks whose points it must lose, and whether it is a planted wrong
solution (``wrong``), a rule breaker (``rule``: 0 for the task and a report line) or a correct
variant (``right``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

AID = "ps0_contract"

PROLOGUE = """import math

import numpy as np
import torch

try:  # the course's checking helpers (the grader supplies its own when grading)
    from dlcourse.grading.student import check_rules, count_torch_ops
except ImportError:  # outside the course environment: rules and op counts are checked when graded
    def check_rules(banned, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def count_torch_ops(fn, *args, **kwargs):
        return fn(*args, **kwargs), 0
"""

SETUP = (
    PROLOGUE
    + """
BANNED = {
    "task1": ("torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax",
              "torch.nn.functional.log_softmax", "torch.special.softmax"),
    "task2": ("torch.autograd.grad", "torch.Tensor.backward"),
}
"""
)

SOFTMAX = """def softmax(X):
    \"\"\"Row-wise softmax of a batch X (N, C), computed without overflow.\"\"\"
    ### BEGIN SOLUTION
    shifted = X - X.max(dim=1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=1, keepdim=True)
    ### END SOLUTION
"""

NUMGRAD = """def numerical_gradient(f, w, eps=1e-6):
    \"\"\"Central differences of the scalar function f at w (w is not modified).\"\"\"
    ### BEGIN SOLUTION
    w = w.clone()
    grad = torch.zeros_like(w)
    flat, gflat = w.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = float(f(w))
        flat[i] = old - eps
        down = float(f(w))
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
    ### END SOLUTION
"""

TASK1_VISIBLE = """# Visible tests for Task 1 (1 point)
X = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
P = check_rules(BANNED["task1"], softmax, X)
assert P.shape == X.shape, f"softmax should keep the shape {tuple(X.shape)}, got {tuple(P.shape)}"
assert torch.allclose(P.sum(1), torch.ones(2)), "each row of softmax(X) should sum to 1"
assert torch.allclose(P[1], torch.full((3,), 1 / 3)), "equal scores give equal probabilities"
g = torch.Generator().manual_seed(0)
_, small = count_torch_ops(softmax, torch.randn(4, 5, generator=g))
_, large = count_torch_ops(softmax, torch.randn(64, 5, generator=g))
assert small == large, f"softmax should be vectorized: {small} operations for N=4, {large} for N=64"
print("Task 1 visible tests passed.")
"""

TASK1_HIDDEN = """# Hidden tests for Task 1 (2 points)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(101)
for _dt, _scale in [(torch.float32, 1.0), (torch.float64, 800.0)]:
    _X = torch.randn(7, 9, generator=_g, dtype=_dt) * _scale
    _P = softmax(_X)
    assert _P.dtype == _dt, "hidden test: softmax changed the dtype"
    assert torch.isfinite(_P).all(), "hidden test: softmax overflowed on large scores"
    torch.testing.assert_close(_P, torch.exp(_X - torch.logsumexp(_X, 1, keepdim=True)), msg="hidden test: wrong values")
### END HIDDEN TESTS
"""

TASK2_VISIBLE = """# Visible tests for Task 2 (1 point)
w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
est = check_rules(BANNED["task2"], numerical_gradient, lambda v: (v ** 2).sum(), w)
assert torch.allclose(est, 2 * w, atol=1e-6), f"the gradient of sum(w^2) is 2w, got {est}"
assert torch.equal(w, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)), "numerical_gradient must not modify w"
print("Task 2 visible tests passed.")
"""

TASK2_HIDDEN = """# Hidden tests for Task 2 (2 points): a test double counts the calls, a cubic needs central differences
### BEGIN HIDDEN TESTS
class _Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return (v ** 3).sum()

_f = _Counter()
_w = torch.tensor([2.0, -1.0], dtype=torch.float64)
_est = numerical_gradient(_f, _w, eps=1e-3)
assert _f.calls == 4, "hidden test: central differences take two evaluations per coordinate"
assert abs(_est[0].item() - 12.000001) < 1e-9, "hidden test: use the central difference with the given eps"
### END HIDDEN TESTS
"""

WRITTEN = """### BEGIN SOLUTION
Rubric (2 points): 1 point for subtracting the row maximum, 1 point for saying why it changes nothing.
### END SOLUTION
"""


def _cell(kind: str, gid: str, source: str, **nbg) -> dict:
    meta = {"grade": False, "solution": False, "locked": False, "grade_id": gid, "schema_version": 3, **nbg}
    cell = {"cell_type": kind, "id": gid.replace("_", "-"), "metadata": {"nbgrader": meta}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def source_notebook() -> dict:
    """The instructor's notebook (solutions and hidden tests included)."""
    cells = [
        _cell(
            "markdown",
            "intro",
            "# Problem set 0: the contract\n\n**Total: 8 points**, 2 graded by hand.",
            locked=True,
        ),
        _cell("code", "setup", SETUP, locked=True),
        _cell(
            "markdown",
            "task1_text",
            "## Task 1 (3 points): softmax\n\nBanned: `torch.nn.functional.softmax`, `torch.softmax`, "
            "`torch.Tensor.softmax`, `torch.nn.functional.log_softmax`, `torch.special.softmax`.",
            locked=True,
        ),
        _cell("code", "task1_softmax", SOFTMAX, solution=True),
        _cell("code", "task1_visible", TASK1_VISIBLE, grade=True, locked=True, points=1),
        _cell("code", "task1_hidden", TASK1_HIDDEN, grade=True, locked=True, points=2),
        _cell(
            "markdown",
            "task2_text",
            "## Task 2 (3 points): a gradient check\n\nBanned: `torch.autograd.grad`, `torch.Tensor.backward`.",
            locked=True,
        ),
        _cell("code", "task2_numgrad", NUMGRAD, solution=True),
        _cell("code", "task2_visible", TASK2_VISIBLE, grade=True, locked=True, points=1),
        _cell("code", "task2_hidden", TASK2_HIDDEN, grade=True, locked=True, points=2),
        _cell(
            "markdown",
            "task3_text",
            "## Task 3 (2 points, graded by hand)\n\nWhy subtract the maximum?",
            locked=True,
        ),
        _cell("markdown", "task3_written", WRITTEN, grade=True, solution=True, points=2),
    ]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": cells,
    }


@dataclass
class Variant:
    name: str
    replaces: dict  # grade_id of an answer cell -> its new code
    loses: tuple = ()  # tasks that must lose points
    kind: str = "wrong"  # wrong | rule | right
    added: list = field(default_factory=list)  # code cells the student added (after the set-up cell)


CORPUS = [
    Variant(
        "no_max_shift",
        {"task1_softmax": "def softmax(X):\n    e = X.exp()\n    return e / e.sum(dim=1, keepdim=True)\n"},
        ("task1",),
    ),
    Variant(
        "forward_difference",
        {
            "task2_numgrad": "def numerical_gradient(f, w, eps=1e-6):\n    w = w.clone()\n    g = torch.zeros_like(w)\n"
            "    base = float(f(w))\n    for i in range(w.numel()):\n        w.view(-1)[i] += eps\n"
            "        g.view(-1)[i] = (float(f(w)) - base) / eps\n        w.view(-1)[i] -= eps\n    return g\n"
        },
        ("task2",),
    ),
    Variant(
        "loop_over_rows",
        {
            "task1_softmax": "def softmax(X):\n"
            "    return torch.stack([(r - r.max()).exp() / (r - r.max()).exp().sum() for r in X])\n"
        },
        ("task1",),
    ),
    Variant(
        "other_order",
        {
            "task1_softmax": "def softmax(X):\n    m = X.amax(1, keepdim=True)\n"
            "    return torch.exp(X - m - torch.log(torch.exp(X - m).sum(1, keepdim=True)))\n"
        },
        (),
        "right",
    ),
    Variant(
        "alias_in_another_cell",
        {"task1_softmax": "def softmax(X):\n    return _s(X, dim=1)\n"},
        ("task1",),
        "rule",
        added=["import torch.nn.functional as _F\n_s = _F.softmax\n"],
    ),
    Variant(
        "getattr_built_name",
        {"task1_softmax": "def softmax(X):\n    return getattr(torch.nn.functional, 'soft' + 'max')(X, 1)\n"},
        ("task1",),
        "rule",
    ),
    Variant(
        "tensor_method", {"task1_softmax": "def softmax(X):\n    return X.softmax(1)\n"}, ("task1",), "rule"
    ),
    Variant(
        "course_package",
        {
            "task1_softmax": "from dlcourse.losses import softmax as _sm\n\ndef softmax(X):\n    return _sm(X, 1)\n"
        },
        ("task1",),
        "rule",
    ),
    Variant(
        "autograd_gradient",
        {
            "task2_numgrad": "def numerical_gradient(f, w, eps=1e-6):\n    w = w.clone().requires_grad_(True)\n"
            "    f(w).backward()\n    return w.grad.detach()\n"
        },
        ("task2",),
        "rule",
    ),
]

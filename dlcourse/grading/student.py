"""The course's checking helpers for students' own Jupyter: the rules of a task, and op counts.

A problem set's set-up cell imports these (with a fallback that keeps the notebook running
outside the course environment); when grading, the grader supplies its own versions, which do
the same in the student's sandboxed process (:mod:`dlcourse.grading.harness`). Both use ONE
implementation, :mod:`dlcourse.grading.sandbox.rules`::

    result = check_rules(BANNED["task2"], softmax, X)       # raises RuleViolation if softmax
                                                             # calls a banned function
    result, n_ops = count_torch_ops(softmax, X)              # n_ops must not grow with len(X)
"""

from __future__ import annotations

from .sandbox.rules import Rules, RuleViolation

__all__ = ["check_rules", "count_torch_ops", "RuleViolation"]


def check_rules(banned, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with every function named in ``banned`` raising while it runs.

    ``banned`` holds fully qualified names (``"torch.nn.functional.softmax"``, ``"torch.Tensor.softmax"``)
    or modules (``"torch.nn.functional"``: everything in it). A call of one of them - also through an
    alias made earlier or a name built at run time - raises :class:`RuleViolation` (an
    ``AssertionError``) naming it, even when ``fn`` catches the first one. A name that does not exist
    raises ``ValueError``.
    """
    rules = Rules(banned)
    if rules.missing:
        raise ValueError(f"banned names not found: {rules.missing}")
    with rules.guard() as watch:
        result = fn(*args, **kwargs)
    if watch.violations:
        raise RuleViolation(
            f"{getattr(fn, '__name__', 'fn')} called {', '.join(watch.violations)}, which this task bans"
        )
    return result


def count_torch_ops(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), n_ops)``: the number of torch functions and tensor methods ``fn``
    called (each counted once, not the ones they call inside). Vectorized code runs the same
    number whatever the batch size; a Python loop over examples runs more for a larger batch."""
    with Rules(()).guard(count=True) as watch:
        result = fn(*args, **kwargs)
    return result, watch.ops

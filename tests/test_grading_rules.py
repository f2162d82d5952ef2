"""Rules enforced by behaviour: ``check_rules`` and ``count_torch_ops`` (dlcourse.grading.student).

The same detection runs in the student's sandboxed process while the tests call the student's
functions; here it is checked directly, as a student's Jupyter runs it.
"""

from __future__ import annotations

import math
import threading
import types

import pytest
import torch
import torch.nn.functional as F

from dlcourse.grading.student import RuleViolation, check_rules, count_torch_ops

BANNED = ("torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax")
X = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))


def written_out(x):
    e = (x - x.max(1, keepdim=True).values).exp()
    return e / e.sum(1, keepdim=True)


_alias = F.softmax  # an alias made earlier, in another cell


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.softmax(x, 1),
        lambda x: _alias(x, 1),
        lambda x: getattr(torch.nn.functional, "soft" + "max")(x, 1),
        lambda x: torch.softmax(x, 1),
        lambda x: x.softmax(1),
        lambda x: torch.nn.Softmax(dim=1)(x),
        lambda x: types.FunctionType(
            F.softmax.__code__, F.softmax.__globals__, "copy", F.softmax.__defaults__
        )(x, 1),
    ],
    ids=["direct", "alias", "built-name", "torch", "method", "module", "code-copy"],
)
def test_every_way_of_calling_a_banned_function_raises(fn):
    with pytest.raises(RuleViolation, match="softmax"):
        check_rules(BANNED, fn, X)


def test_catching_the_violation_does_not_hide_it():
    def sneaky(x):
        try:
            return F.softmax(x, 1)
        except AssertionError:
            return written_out(x)

    with pytest.raises(RuleViolation, match="torch.nn.functional.softmax"):
        check_rules(BANNED, sneaky, X)


def test_a_thread_does_not_escape_the_rules():
    def threaded(x):
        out = []

        def work():
            try:
                out.append(torch.softmax(x, 1))
            except AssertionError:
                pass  # the student's thread swallows it: the call is on record all the same

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        return out[0] if out else written_out(x)

    with pytest.raises(RuleViolation):
        check_rules(BANNED, threaded, X)


def test_a_module_bans_everything_in_it_but_not_its_imports():
    with pytest.raises(RuleViolation, match="torch.nn.functional.relu"):
        check_rules(("torch.nn.functional",), lambda x: F.relu(x), X)
    assert torch.equal(check_rules(("torch.nn.functional",), lambda x: x.clamp(min=0), X), X.clamp(min=0))


def test_python_functions_are_banned_by_their_code():
    with pytest.raises(RuleViolation, match="math.exp"):
        check_rules(("math.exp",), lambda v: math.exp(v), 1.0)


def test_honest_code_runs_and_returns_its_value():
    torch.testing.assert_close(check_rules(BANNED, written_out, X), F.softmax(X, 1))


def test_names_that_do_not_exist_are_an_error_of_the_problem_set():
    with pytest.raises(ValueError, match="torch.nonexistent"):
        check_rules(("torch.nonexistent",), written_out, X)
    with pytest.raises(TypeError, match="banned"):
        check_rules("torch.softmax", written_out, X)


def test_operation_counts_grow_with_a_loop_over_examples_only():
    def looped(x):
        return torch.stack([r.exp() / r.exp().sum() for r in x])

    _, small = count_torch_ops(written_out, torch.randn(4, 5))
    _, large = count_torch_ops(written_out, torch.randn(64, 5))
    assert small == large > 0
    _, small = count_torch_ops(looped, torch.randn(4, 5))
    _, large = count_torch_ops(looped, torch.randn(64, 5))
    assert large > small
    value, _ = count_torch_ops(written_out, X)
    torch.testing.assert_close(value, F.softmax(X, 1))


def test_the_rules_are_off_again_afterwards():
    check_rules(BANNED, written_out, X)
    torch.testing.assert_close(F.softmax(X, 1), torch.softmax(X, 1))


_SGD = torch.optim.SGD  # an alias of a banned class, made earlier


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.SGD([p], lr=0.1),
        lambda p: _SGD([p], lr=0.1, momentum=0.9),
        lambda p: getattr(torch.optim, "RMS" + "prop")([p], lr=0.1),
        lambda p: type("Mine", (torch.optim.Adam,), {})([p], lr=0.1),
    ],
    ids=["class", "alias", "built-name", "subclass"],
)
def test_a_module_bans_its_classes_too(make):
    """``"torch.optim"`` bans its optimizers: constructing one runs the class's own code."""

    def step(w):
        p = w.clone().requires_grad_(True)
        make(p)
        return w

    with pytest.raises(RuleViolation, match=r"torch\.optim\.\w+"):
        check_rules(("torch.optim",), step, X)
    assert torch.equal(check_rules(("torch.optim",), lambda w: w - 0.1 * w, X), X - 0.1 * X)


def test_the_course_package_is_banned_and_never_reported_missing():
    from dlcourse.grading.sandbox.rules import Rules

    assert Rules(("dlcourse", "dlcourse.nowhere")).missing == []
    from dlcourse.activations import relu  # the course's answer, importable in the student's Jupyter

    with pytest.raises(RuleViolation, match="dlcourse"):
        check_rules(("dlcourse",), relu, X)


def test_shared_wrapper_code_bans_nothing_else():
    """A banned ``@contextmanager`` function shares contextlib's wrapper code with every other one
    (and an optimizer's ``step`` shares torch's ``_use_grad``): only the wrapped bodies identify a
    banned function, so honest code using another context manager is not a violation."""
    import contextlib

    @contextlib.contextmanager
    def mine():
        yield

    def honest(x):
        with mine(), torch.no_grad(), contextlib.nullcontext():
            return torch.lerp(x, 2 * x, 0.25)

    banned = ("torch.nn", "torch.optim")
    torch.testing.assert_close(check_rules(banned, honest, X), torch.lerp(X, 2 * X, 0.25))
    with pytest.raises(RuleViolation, match="sdpa_kernel"):
        check_rules(banned, lambda x: torch.nn.attention.sdpa_kernel([]).__enter__(), X)

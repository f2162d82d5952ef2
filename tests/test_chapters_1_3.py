"""Chapters 1-3: the claims their text makes, read from the executed notebooks, and the exercises'
self-checks.

The numbers come from the JSON line each chapter's last cell prints (see ``chapter_results`` in
``conftest.py``); nothing here re-implements a chapter. The self-checks are tested with attempts
written here from the formulas (they must pass), with wrong attempts (they must fail), and for
never printing the reference values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlcourse.exercises import ch1, ch2, ch3

ROOT = Path(__file__).resolve().parents[1]
CH1, CH2, CH3 = "01_backprop_mse", "02_optimizers", "03_activations"


def _no_answer_printed(out: str) -> None:
    """The checks print error sizes like 3.2e-02 at most, never tensors or values to 3+ decimals."""
    assert "tensor(" not in out, out
    assert not re.search(r"\d\.\d{3,}", out), out


def _stub(*args):
    raise NotImplementedError


# --------------------------------------------------------------------------- chapter 1
def test_ch1_hand_gradients_equal_autograd(chapter_results):
    r = chapter_results(CH1)
    assert r["max_abs_diff_hand_vs_autograd"] < 1e-10


def test_ch1_gradient_check(chapter_results):
    r = chapter_results(CH1)
    assert r["gradcheck_max_rel_error"] < 1e-6  # the correct backward pass passes
    assert r["gradcheck_buggy_rel_error"] > 1e-2  # the missing sigma' is caught


def test_ch1_training_converges(chapter_results):
    r = chapter_results(CH1)
    assert r["train_loss_final"] < r["train_loss_initial"] / 20  # "the loss falls" by >20x
    assert r["train_last_relative_step"] < 1e-3  # stopped by the convergence rule...
    assert r["train_epochs"] < 2000  # ...not by the epoch budget
    assert r["train_loss_final"] > 0.05**2  # the text: still above the noise variance


def test_ch1_relu_sparsity(chapter_results):
    r = chapter_results(CH1)
    assert 0.3 < r["relu_zero_fraction"] < 0.9  # "a large fraction exactly zero"
    assert r["tanh_zero_fraction"] == 0.0
    assert min(r["digits_test_accuracy"].values()) > 0.85  # "both classify the digits well"


def test_ch1_parallel_hardware(chapter_results):
    r = chapter_results(CH1)
    assert r["params_784_1000_1000_10"] == 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10
    assert r["loop_over_matrix_time"] > 1.0  # one matrix product beats the loop


def test_ch1_checks_pass_correct_attempts(capsys):
    def mse_grad(pred, target):
        return 2 * (pred - target) / pred.numel()

    def layer_backward(delta, W, a_prev, z_prev):
        s = torch.sigmoid(z_prev)
        return a_prev.T @ delta, delta.sum(0), (delta @ W.T) * s * (1 - s)

    def numerical_gradient(f, x, eps=1e-6):
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            e = torch.zeros_like(x)
            e[i] = eps
            g[i] = (f(x + e) - f(x - e)) / (2 * eps)
        return g

    assert ch1.check_mse_grad(mse_grad) is True
    assert ch1.check_layer_backward(layer_backward) is True
    assert ch1.check_numerical_gradient(numerical_gradient) is True
    _no_answer_printed(capsys.readouterr().out)


def test_ch1_checks_reject_wrong_attempts(capsys):
    def mse_grad_per_row(pred, target):  # divides by N only
        return 2 * (pred - target) / pred.shape[0]

    def layer_backward_no_sigma(delta, W, a_prev, z_prev):
        return a_prev.T @ delta, delta.sum(0), delta @ W.T

    def forward_difference(f, x, eps=1e-6):
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            e = torch.zeros_like(x)
            e[i] = 1e-2  # far too large, one-sided
            g[i] = (f(x + e) - f(x)) / 1e-2
        return g

    assert ch1.check_mse_grad(mse_grad_per_row) is False
    assert ch1.check_layer_backward(layer_backward_no_sigma) is False
    assert ch1.check_numerical_gradient(forward_difference) is False
    out = capsys.readouterr().out
    _no_answer_printed(out)
    assert "sigma'" in out  # the hint names the missing factor
    for check in (ch1.check_mse_grad, ch1.check_layer_backward, ch1.check_numerical_gradient):
        assert check(_stub) is False
        assert check(lambda *a: None) is False
        assert check(lambda *a: 1 / 0) is False
        assert check("not a function") is False
    assert "not implemented yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- chapter 2
def test_ch2_momentum_beats_sgd_in_the_valley(chapter_results):
    steps = chapter_results(CH2)["valley_steps"]
    assert None not in steps.values()  # all three reach the minimum within the budget
    assert steps["momentum"] < steps["sgd"] / 2  # "about a third of the steps"
    assert steps["nesterov"] <= steps["momentum"]  # "the fewest steps of the three"


def test_ch2_adagrad_rare_features(chapter_results):
    r = chapter_results(CH2)
    assert r["rare_feature_error"]["adagrad"] < r["rare_feature_error"]["sgd"] / 3
    assert r["adagrad_effective_lr_rare_over_frequent"] > 1.5  # "several times larger"


def test_ch2_rotated_valley(chapter_results):
    d = chapter_results(CH2)["rotated_valley_final_distance"]
    assert min(d, key=d.get) == "momentum"  # "momentum wins clearly"
    assert d["sgd"] < min(d[k] for k in ("adagrad", "rmsprop", "adadelta", "adam"))  # "SGD second"
    assert d["adadelta"] > 0.1  # "still accelerating when the race ends"


def test_ch2_rosenbrock(chapter_results):
    d = chapter_results(CH2)["rosenbrock_final_distance"]
    assert min(d, key=d.get) == "adam" and d["adam"] < 1e-2  # Adam ends closest to (1, 1)
    assert d["adagrad"] > 0.5 and d["adadelta"] > 0.3  # decayed rate; slow start
    assert d["momentum"] < d["rmsprop"]


def test_ch2_digits(chapter_results):
    r = chapter_results(CH2)
    acc = r["digits_test_accuracy"]
    assert set(acc) == {"sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam"}
    assert min(acc.values()) > 0.93  # "every method reaches a good test accuracy"
    first = {k: v[0] for k, v in r["digits_val_loss_curves"].items()}
    assert first["adagrad"] < first["adam"] and first["adadelta"] < first["adam"]  # speed at start


def test_ch2_learning_rate(chapter_results):
    final = chapter_results(CH2)["lr_final_train_loss"]
    assert final["0.1"] < final["0.003"] / 3 and final["0.1"] < final["3.0"] / 3


def test_ch2_batch_size(chapter_results):
    r = chapter_results(CH2)
    noise = {int(k): v for k, v in r["gradient_noise"].items()}
    assert noise[8] > noise[32] > noise[128] > noise[512]
    assert noise[8] / noise[512] > 4  # about sqrt(512 / 8) = 8, more without replacement
    timing = r["batch_timing"]
    assert timing["8"]["updates"] > 20 * timing["256"]["updates"]
    assert timing["8"]["seconds_per_epoch"] > timing["256"]["seconds_per_epoch"]  # slower per epoch
    assert timing["8"]["val_acc"] > timing["256"]["val_acc"]  # but more progress per epoch
    escape = r["saddle_escape"]
    assert escape["64"]["escaped"] == 0.0  # the full batch stays on the saddle
    assert all(escape[b]["escaped"] == 1.0 for b in ("1", "4", "16"))
    assert escape["1"]["median_step"] <= escape["4"]["median_step"] <= escape["16"]["median_step"]


def test_ch2_epochs(chapter_results):
    run = chapter_results(CH2)["long_run"]
    assert run["best_epoch"] < 50  # the validation loss turns
    assert run["final_val_loss"] > run["best_val_loss"]
    assert run["final_train_loss"] < run["first_train_loss"] / 100  # memorised


def test_ch2_shows_the_widgets_and_the_code():
    nb = json.loads((ROOT / "chapters" / f"{CH2}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for widget in ("live_momentum_valley()", "live_batch_size_saddle()"):
        assert widget in text
    assert text.count(".static_figure())") == 2 and "make lab" in text
    # every literalinclude (or the listing book/myst_compat.py writes for it, whose code
    # tests/test_myst_compat.py checks) names a method that exists in the file it includes
    import ast

    included = re.findall(
        r"(?:\{literalinclude\}|% literalinclude) \.\./(\S+)\s+:language: python\s+:pyobject: (\S+)", text
    )
    assert len(included) == 5, included
    for path, obj in included:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        methods = {
            f"{c.name}.{f.name}"
            for c in tree.body
            if isinstance(c, ast.ClassDef)
            for f in c.body
            if isinstance(f, ast.FunctionDef)
        }
        assert obj in methods, (path, obj, methods)


def _momentum(theta, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return theta - lr * buf, buf


def _rmsprop(theta, grad, v, lr, alpha, eps):
    v = alpha * v + (1 - alpha) * grad**2
    return theta - lr * grad / (v.sqrt() + eps), v


def _adam(theta, grad, m, v, t, lr, betas, eps):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad**2
    return theta - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps), m, v


def test_ch2_checks_pass_correct_attempts(capsys):
    assert ch2.check_momentum_step(_momentum) is True
    assert ch2.check_rmsprop_step(_rmsprop) is True
    assert ch2.check_adam_step(_adam) is True
    _no_answer_printed(capsys.readouterr().out)


def test_ch2_checks_reject_wrong_attempts(capsys):
    def velocity_form(theta, grad, buf, lr, momentum):  # buffer holds -lr * b: not torch's state
        buf = momentum * buf - lr * grad
        return theta + buf, buf

    def rmsprop_eps_inside(theta, grad, v, lr, alpha, eps):
        v = alpha * v + (1 - alpha) * grad**2
        return theta - lr * grad / (v + 1e-3).sqrt(), v

    def adam_no_correction(theta, grad, m, v, t, lr, betas, eps):
        b1, b2 = betas
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        return theta - lr * m / (v.sqrt() + eps), m, v

    assert ch2.check_momentum_step(velocity_form) is False
    assert ch2.check_rmsprop_step(rmsprop_eps_inside) is False
    assert ch2.check_adam_step(adam_no_correction) is False
    out = capsys.readouterr().out
    _no_answer_printed(out)
    assert "bias correction" in out
    for check in (ch2.check_momentum_step, ch2.check_rmsprop_step, ch2.check_adam_step):
        assert check(_stub) is False
        assert check(lambda *a: None) is False
        assert check(lambda *a: (1, 2)) is False
    assert "not implemented yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- chapter 3
def test_ch3_derivatives_match_autograd(chapter_results):
    assert chapter_results(CH3)["max_derivative_error"] < 1e-12


def test_ch3_vanishing_gradients(chapter_results):
    r = chapter_results(CH3)
    first = r["first_layer_grad_norm"]
    assert first["sigmoid"] < 1e-6 * first["relu"]  # "more than ten orders of magnitude" (>= 6 asserted)
    assert first["sigmoid"] < first["tanh"] < 10 * first["relu"]
    ratio = r["delta_norm_ratio_first_over_last"]
    assert ratio["sigmoid"] < 1e-8  # about a factor of 4 lost per layer over 20 layers
    assert 0.1 < ratio["relu"] < 10  # "roughly constant across depth"


def test_ch3_exploding_gradients(chapter_results):
    r = chapter_results(CH3)
    assert r["exploding_delta_growth"] > 1.4**19  # about 1.5 per layer over 19 layers
    rnn = r["rnn_gradient_after_50"]
    assert rnn["0.9"] == pytest.approx(0.9**50, rel=1e-9)  # exactly rho^T for W = rho * Q
    assert rnn["1.0"] == pytest.approx(1.0, rel=1e-9)
    assert rnn["1.1"] == pytest.approx(1.1**50, rel=1e-9)


def test_ch3_dead_relu(chapter_results):
    units = chapter_results(CH3)["dead_units"]
    assert units["relu"]["dead"] > 0.1  # the bad step kills ReLU units for good...
    assert units["relu"]["dead"] == pytest.approx(units["relu"]["silent"])  # every silent one
    for name in ("leaky_relu", "prelu", "elu"):  # ...the variants keep a gradient
        assert units[name]["dead"] == 0.0 < units[name]["silent"]
        assert units["relu"]["dead"] > units[name]["dead"]
    assert all(u["silent"] > 2 * u["silent_before"] for u in units.values())  # "in every network"
    assert min(units["prelu"]["val_acc"], units["elu"]["val_acc"]) > units["relu"]["val_acc"]


def test_ch3_batchnorm_and_residual(chapter_results):
    spread = chapter_results(CH3)["stabilised_max_over_min"]
    assert spread["plain"] > 1e20
    assert spread["batchnorm"] < 10  # "a factor of about 2"
    assert spread["residual"] < 100  # "about 20"


def test_ch3_checks_pass_correct_attempts(capsys):
    def sigmoid_grad(x):
        s = 1 / (1 + torch.exp(-x))
        return s * (1 - s)

    def elu(x, alpha=1.0):
        return torch.where(x > 0, x, alpha * (torch.exp(torch.clamp(x, max=0)) - 1))

    def elu_grad(x, alpha=1.0):
        return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0)))

    def dead_fraction(Z):
        return sum(bool((Z[:, j] <= 0).all()) for j in range(Z.shape[1])) / Z.shape[1]

    assert ch3.check_sigmoid_grad(sigmoid_grad) is True
    assert ch3.check_elu(elu) is True
    assert ch3.check_elu_grad(elu_grad) is True
    assert ch3.check_dead_fraction(dead_fraction) is True
    _no_answer_printed(capsys.readouterr().out)


def test_ch3_checks_reject_wrong_attempts(capsys):
    def sigmoid_grad_overflows(x):  # exp(-x)/(1+exp(-x))^2 gives nan for very negative x
        e = torch.exp(-x)
        return e / (1 + e) ** 2

    def elu_ignores_alpha(x, alpha=1.0):
        return F.elu(x)

    def relu_grad_instead(x, alpha=1.0):
        return (x > 0).to(x.dtype)

    def dead_rows(Z):  # counts examples instead of units
        return (Z <= 0).all(dim=1).float().mean().item()

    assert ch3.check_sigmoid_grad(sigmoid_grad_overflows) is False
    assert ch3.check_elu(elu_ignores_alpha) is False
    assert ch3.check_elu_grad(relu_grad_instead) is False
    assert ch3.check_dead_fraction(dead_rows) is False
    _no_answer_printed(capsys.readouterr().out)
    for check in (ch3.check_sigmoid_grad, ch3.check_elu, ch3.check_elu_grad, ch3.check_dead_fraction):
        assert check(_stub) is False
        assert check(lambda *a: None) is False
    assert ch3.check_dead_fraction(lambda Z: "half") is False
    assert "not implemented yet" in capsys.readouterr().out

"""Chapters 1-3: every quantitative sentence of the prose, asserted on the executed notebooks, and
the exercises' self-checks.

The numbers come from the JSON line each chapter's last cell prints (see ``chapter_results`` in
``conftest.py``); nothing here re-implements a chapter. Each assertion carries the threshold the
prose states: "more than ten orders of magnitude" is ``< 1e-10``, a number printed in the text to
two digits ("4.6 times") is that number after rounding, and "about X" is X within the band written
beside the assertion. The self-checks are tested with attempts written here from the formulas (they
must pass), with wrong attempts (they must fail), and for never printing the reference values.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlcourse import landscapes
from dlcourse.exercises import ch1, ch2, ch3
from dlcourse.optim import AdamW

ROOT = Path(__file__).resolve().parents[1]
CH1, CH2, CH3 = "01_backprop_mse", "02_optimizers", "03_activations"


def about(value: float, stated: float, rel: float) -> bool:
    """``value`` is "about ``stated``": within ``rel`` of it, relatively."""
    return abs(value - stated) <= rel * abs(stated)


def _no_answer_printed(out: str) -> None:
    """The checks print error sizes like 3.2e-02 at most, never tensors or values to 3+ decimals."""
    assert "tensor(" not in out, out
    assert not re.search(r"\d\.\d{3,}", out), out


def _stub(*args):
    raise NotImplementedError


# =========================================================================== chapter 1
def test_ch1_parallel_hardware(chapter_results):
    r = chapter_results(CH1)
    P = 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10
    assert r["params_784_1000_1000_10"] == P and 1.7e6 < P < 2e6  # "close to two million"
    assert r["loop_over_matrix_time"] > 1  # "ran faster than the loop", on one thread: batching
    if r["device"] == "cpu":  # the thread timing is a CPU measurement (a GPU run skips it)
        threads = r["threads"]  # "a speed-up from k threads can be at most about k" (noise: 25%)
        assert 0 < threads["speedup"] <= 1.25 * threads["count"]


def test_ch1_one_step_by_hand(chapter_results):
    t = chapter_results(CH1)["tiny"]
    assert round(t["grad_ratio"], 1) == 4.6  # "4.6 times smaller"
    assert round(t["delta_ratio"], 1) == 2.2  # "2.2 times *larger*"
    assert round(t["delta1_1"], 2) == 0.27 and round(t["delta2"][0], 2) == 0.12
    assert round(t["backflow"], 2) == 1.10 and round(t["delta2"][1], 2) == -1.13
    assert round(t["W2_row0"][1], 2) == -0.97 and round(t["sigma_prime"], 2) == 0.25
    assert round(t["a1_1"], 2) == 0.51 and round(t["input_ratio"], 3) == 0.098
    assert abs(t["delta2"][1] * t["W2_row0"][1]) > 0.9 * t["backflow"]  # "almost all of it"
    assert t["grad_ratio"] == pytest.approx(1 / (t["input_ratio"] * t["delta_ratio"]), rel=1e-12)


def test_ch1_graph_patterns(chapter_results):
    # f = 2 (x y + max(z, w)) at (3, -4, 2, -1): add passes 2 on, multiply swaps, max routes
    assert chapter_results(CH1)["graph_gradients"] == {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}


def test_ch1_hand_gradients_equal_autograd(chapter_results):
    r = chapter_results(CH1)
    assert r["max_rel_diff_hand_vs_autograd"] < 1e-15  # "below 10^-15 of the largest gradient"


def test_ch1_activation_memory(chapter_results):
    m = chapter_results(CH1)["activation_memory"]
    for n, b in m["bytes"].items():  # "the count is exactly the formula"
        assert b == 4 * int(n) * (784 + 1000 + 1000)
    assert round(m["bytes"]["2048"] / 1e6, 1) == 22.8 and round(m["param_bytes"] / 1e6, 1) == 7.2
    assert m["bytes"]["512"] < m["param_bytes"] < m["bytes"]["2048"]


def test_ch1_gradient_check(chapter_results):
    r = chapter_results(CH1)
    assert r["gradcheck_max_rel_error"] < 1e-7  # "below 10^-7"
    per = r["gradcheck_buggy_per_param"]
    assert per["W[0]"] > 0.1 and per["b[0]"] > 0.1  # first layer fails, "order 1 (above 0.1)"
    assert per["W[1]"] < 1e-8 and per["b[1]"] < 1e-8  # second layer passes, "below 10^-8"
    assert r["gradcheck_buggy_rel_error"] > 0.1


def test_ch1_training_converges(chapter_results):
    r = chapter_results(CH1)
    curve = r["train_loss_curve"]
    assert abs(curve[9] / curve[0] - 1) < 0.15  # "after ten epochs still within 15%"
    assert max(curve[:10]) > 1.15 * curve[0]  # "with a bump on the way"
    assert curve[-1] < curve[0] / 10 < r["train_loss_initial"] / 10  # "by more than a factor of ten"
    assert r["train_last_relative_step"] < 1e-3 and r["train_epochs"] < 2000  # stopped by the rule
    assert 4 < curve[-1] / r["train_noise_variance"] < 5  # "between four and five times"


def test_ch1_symmetric_initialisation(chapter_results):
    r = chapter_results(CH1)
    assert r["symmetric"]["spread"] == 0.0  # "exactly identical"
    assert r["symmetric"]["loss"] > 10 * r["train_loss_curve"][-1]  # "more than ten times"


def test_ch1_relu_sparsity(chapter_results):
    r = chapter_results(CH1)
    assert min(r["digits_test_accuracy"].values()) > 0.9  # "more than 90%"
    assert r["relu_zero_fraction"] > 0.5  # "more than half"
    assert r["tanh_zero_fraction"] == 0.0  # "none is exactly zero"


def test_ch1_experiment_solutions(chapter_results):
    r = chapter_results(CH1)
    const = r["ex6_constant_lr"]
    assert 6e-3 < const["0.2"]["median_step_last_20"] < 8.5e-3  # "near 7e-3, seven times"
    assert round(const["0.2"]["final_loss"], 3) == 0.007 and round(r["train_loss_curve"][-1], 3) == 0.011
    assert math.isnan(const["2.0"]["final_loss"])  # diverges
    assert const["0.02"]["final_loss"] > 10 * const["0.2"]["final_loss"]
    assert const["0.02"]["median_step_last_20"] < const["0.2"]["median_step_last_20"]  # "smaller"
    assert round(const["0.02"]["median_step_last_20"], 3) == 0.004
    z = r["ex7_zero_fractions"]
    assert round(z["before_digits"], 2) == round(z["before_noise"], 2) == 0.51
    assert round(z["after_digits"], 2) == round(z["after_noise"], 2) == 0.56


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

    def numerical_gradient_restoring(f, x, eps=1e-6):  # in place, but x restored exactly
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            original = x[i].item()
            x[i] = original + eps
            up = f(x)
            x[i] = original - eps
            down = f(x)
            x[i] = original
            g[i] = (up - down) / (2 * eps)
        return g

    assert ch1.check_mse_grad(mse_grad) is True
    assert ch1.check_layer_backward(layer_backward) is True
    assert ch1.check_numerical_gradient(numerical_gradient) is True
    assert ch1.check_numerical_gradient(numerical_gradient_restoring) is True
    _no_answer_printed(capsys.readouterr().out)


def test_ch1_checks_reject_wrong_attempts(capsys):
    def mse_grad_per_row(pred, target):  # divides by N only
        return 2 * (pred - target) / pred.shape[0]

    def layer_backward_no_sigma(delta, W, a_prev, z_prev):
        return a_prev.T @ delta, delta.sum(0), delta @ W.T

    def one_sided(f, x, eps=1e-6):  # the forward difference with the same eps: error eps f''/2
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            e = torch.zeros_like(x)
            e[i] = eps
            g[i] = (f(x + e) - f(x)) / eps
        return g

    def changes_x(f, x, eps=1e-6):  # right formula, but leaves x shifted
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            x[i] += eps
            up = f(x)
            x[i] -= 2 * eps
            g[i] = (up - f(x)) / (2 * eps)
        return g

    assert ch1.check_mse_grad(mse_grad_per_row) is False
    assert ch1.check_layer_backward(layer_backward_no_sigma) is False
    assert ch1.check_numerical_gradient(one_sided) is False
    out = capsys.readouterr().out
    assert "one-sided difference" in out
    assert ch1.check_numerical_gradient(changes_x) is False
    assert "changed x in place" in capsys.readouterr().out
    assert ch1.check_layer_backward(layer_backward_no_sigma) is False
    out = capsys.readouterr().out
    _no_answer_printed(out)
    assert "sigma'" in out  # the hint names the missing factor
    for check in (ch1.check_mse_grad, ch1.check_layer_backward, ch1.check_numerical_gradient):
        assert check(_stub) is False
        assert check(lambda *a: None) is False
        assert check(lambda *a: 1 / 0) is False
        assert check("not a function") is False
    assert "not implemented yet" in capsys.readouterr().out


# =========================================================================== chapter 2
def test_ch2_valley_runs(chapter_results):
    r = chapter_results(CH2)
    assert r["valley_steps"] == {"sgd": 194, "momentum 0.5": 88, "momentum 0.9": 125}
    assert [round(y, 3) for y in r["valley_sgd_first_y"][:3]] == [0.8, -0.64, 0.512]  # y flips, x0.8


def test_ch2_momentum_rates_match_the_derivation(chapter_results):
    r = chapter_results(CH2)
    rates = r["valley_rates"]
    for name, v in rates.items():  # "every measured rate agrees ... to better than 1%"
        assert abs(v["measured"] / v["predicted"] - 1) < 0.01, name
        assert v["widget"] == pytest.approx(v["predicted"], rel=1e-7), name  # the widget's map (eigvals of a
        # matrix with a repeated root are accurate to about sqrt(machine epsilon))
    assert (
        rates["Polyak's optimum"]["measured"] >= rates["Polyak's optimum"]["predicted"]
    )  # "a little slower"
    assert rates["Polyak's optimum"]["steps"] == 39 and rates["best gradient descent"]["steps"] == 182
    assert (
        round(rates["sgd"]["predicted"], 3) == 0.964 and round(rates["momentum 0.5"]["predicted"], 3) == 0.921
    )
    assert round(rates["momentum 0.9"]["predicted"], 3) == round(math.sqrt(0.9), 3) == 0.949
    star = rates["Polyak's optimum"]
    assert (
        round(star["lr"], 2) == 3.07 and round(star["mu"], 2) == 0.57 and round(star["predicted"], 2) == 0.75
    )
    assert round(rates["best gradient descent"]["predicted"], 2) == 0.96
    below, above = r["valley_stability_edge"]  # stable up to eta h_max = 2 (1 + mu) = 3, no further
    assert below < 1 < above


def test_ch2_nesterov_claims():
    """The text's Nesterov statements, checked on the package the widget uses."""
    assert landscapes.iteration_rate(1.8, 0.5, 50.0, nesterov=True) > 1  # diverges at eta = 1.8
    edge = 2 * 1.5 / 2.0  # 2 (1 + mu) / (1 + 2 mu) = 1.5 for mu = 0.5
    assert landscapes.iteration_rate(edge - 0.01, 0.5, 50.0, nesterov=True) < 1
    assert landscapes.iteration_rate(edge + 0.01, 0.5, 50.0, nesterov=True) > 1


def test_ch2_rare_features_fair(chapter_results):
    r = chapter_results(CH2)
    sgd, ada = r["rare_feature"]["SGD"], r["rare_feature"]["Adagrad"]
    assert sgd["lrs"][sgd["best"]] == 0.2 and ada["lrs"][ada["best"]] == 0.5
    assert 0 < sgd["best"] < len(sgd["lrs"]) - 1 and 0 < ada["best"] < len(ada["lrs"]) - 1  # inside
    best_sgd, best_ada = min(sgd["score"]), min(ada["score"])
    assert round(best_sgd, 3) == 0.025 and round(best_ada, 3) == 0.022
    assert best_sgd < 1.15 * best_ada  # "within 15% of Adagrad's"
    small = [e for lr, e in zip(sgd["lrs"], sgd["rare_error_per_lr"]) if lr <= 0.1]
    assert min(small) > 2 * sgd["rare_error"]  # at eta <= 0.1 the rare weight is still far off
    for s, best in ((sgd, best_sgd), (ada, best_ada)):  # "failing by a factor of 5 at a quarter"
        assert s["score"][s["best"] - 2] > 5 * best
    assert about(r["adagrad_effective_lr_rare_over_frequent"], 3.5, 0.05)  # "3.5 times"


def test_ch2_rotated_valley(chapter_results):
    r = chapter_results(CH2)
    best = {k: min(v["score"]) for k, v in r["rotated_valley"].items()}
    order = sorted(best, key=best.get)
    assert set(order[:2]) == {"momentum", "adam"} and max(best["momentum"], best["adam"]) < 2e-4
    assert set(order[2:4]) == {"rmsprop", "adagrad"} and order[4:] == ["sgd", "adadelta"]
    for v in r["rotated_valley"].values():  # every best inside its grid
        assert 0 < v["best"] < len(v["lrs"]) - 1
    mom = r["rotated_valley"]["momentum"]["score"]
    assert max(mom[:4]) < 1.5 * min(mom[:4]) and not mom[4] < 1  # the flat row; eta = 4 diverges
    longer = r["rotated_valley_longer"]
    assert longer["adam"]["500"] < 1e-10 and longer["adam"]["1000"] < 1e-21  # Adam keeps converging
    assert longer["momentum"]["1000"] < 1e-21
    assert all(1e-2 < longer["rmsprop"][t] < 0.3 for t in ("500", "1000"))  # RMSprop hovers


def test_ch2_rosenbrock(chapter_results):
    r = chapter_results(CH2)
    ros = r["rosenbrock"]
    best = {k: min(v["score"]) for k, v in ros.items()}
    assert best["momentum"] < 1e-5 and best["adam"] < 1e-5  # "both end within 1e-5 of (1, 1)"
    top = max(best["momentum"], best["adam"])
    assert all(best[k] > 100 * top for k in ("sgd", "adagrad", "rmsprop", "adadelta"))
    mom = ros["momentum"]
    assert mom["lrs"][mom["best"]] == 2e-3  # the issue: momentum at 2e-3 is finite and below 1e-4
    assert math.isfinite(mom["score"][mom["best"]]) and mom["score"][mom["best"]] < 1e-4
    sgd = ros["sgd"]
    limits = r["rosenbrock_stability"]
    assert round(limits["sgd_limit"], 6) == 0.001997 and round(limits["momentum_limit"], 4) == 0.0038
    assert sgd["lrs"][sgd["best"]] == 2e-3 > limits["sgd_limit"]  # SGD's best cannot converge
    assert sgd["score"][sgd["best"]] > 1e-2
    assert math.isinf(sgd["score"][-1]) and math.isinf(mom["score"][-1])  # both diverge at 4e-3
    assert sgd["lrs"][-1] == mom["lrs"][-1] == 4e-3


def test_ch2_digits_fair(chapter_results):
    d = chapter_results(CH2)["digits"]
    assert set(d) == {"sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam"}
    acc = {k: v["test_acc"] for k, v in d.items()}
    assert 0.93 <= min(acc.values()) and max(acc.values()) <= 0.96  # "between 93% and 96%"
    assert acc["sgd"] >= max(acc.values()) - 0.01  # "plain SGD is among the best"
    best_val = [min(v["val_loss"]) for v in d.values()]
    assert round(min(best_val), 3) == 0.066 and round(max(best_val), 3) == 0.123
    assert max(max(v["val_loss"]) / min(v["val_loss"]) for v in d.values()) > 10  # "more than tenfold"
    defaults = {
        "sgd": 1e-3,
        "momentum": 1e-3,
        "adagrad": 1e-2,
        "rmsprop": 1e-2,
        "adadelta": 1.0,
        "adam": 1e-3,
    }
    for name, v in d.items():
        assert v["best"] >= 3 * defaults[name], name  # "at least three times torch's default"
        assert v["lrs"][0] < v["best"] < v["lrs"][-1], name  # every best inside its sweep


def test_ch2_learning_rate_and_tuning(chapter_results):
    r = chapter_results(CH2)
    final = r["lr_final_train_loss"]
    assert final["0.01"] > 10 * final["1"]  # "falls by more than a factor of ten"
    assert abs(final["3.16"] - math.log(10)) < 0.1  # "stays near ln 10"
    assert abs(r["init_loss"] / math.log(10) - 1) < 0.02  # "within 2% of ln 10"
    ratios = r["update_ratios"]
    assert min(ratios["1"]) > 0.1  # "above 0.1 per step"
    assert all(3e-4 < x < 3e-3 for x in ratios["0.01"])  # "near the rule's 1e-3"


def test_ch2_schedule_against_expectation(chapter_results):
    s = chapter_results(CH2)["schedule"]
    assert s["cosine"]["val_loss"] > s["constant"]["val_loss"]  # cosine does not help here
    assert round(s["cosine"]["val_loss"], 2) == 0.14 and round(s["constant"]["val_loss"], 2) == 0.10
    assert abs(s["cosine"]["test_acc"] - s["constant"]["test_acc"]) < 0.01  # "within one point"
    curve = s["constant"]["curve"]
    assert curve[-1] < curve[-2] < curve[-3]  # "its loss is still falling at the constant rate"


def test_ch2_batch_size(chapter_results):
    r = chapter_results(CH2)
    noise = {int(k): v for k, v in r["gradient_noise"].items()}
    assert noise[8] > noise[32] > noise[128] > noise[512]
    assert noise[8] / noise[512] > math.sqrt(512 / 8)  # "falls like 1/sqrt(B), a little faster without"
    b16, b256 = r["batch_runs"]["16"], r["batch_runs"]["256"]
    assert b16["seconds_per_epoch"] > 2 * b256["seconds_per_epoch"]  # "more than twice as long"
    assert b16["updates"] == 5 * 68 and b256["updates"] == 5 * 5
    for b in (b16, b256):  # each at the best of its own sweep, which lies inside it
        lrs = sorted(float(k) for k in b["runs"])
        assert lrs[0] < b["best"] < lrs[-1]
    acc16 = b16["runs"][f"{b16['best']:.3g}"]["val_acc"]
    acc256 = b256["runs"][f"{b256['best']:.3g}"]["val_acc"]
    assert round(acc256, 2) == 0.79 and round(acc16, 2) == 0.93


def test_ch2_saddle_escape(chapter_results):
    r = chapter_results(CH2)
    esc = r["saddle_escape"]
    assert all(v["escaped"] == 1.0 for v in esc.values())  # every run of every B, B = 63 included
    medians = [esc[b]["median"] for b in ("1", "4", "16", "32", "48", "63")]
    assert medians == sorted(medians)  # "grows with B"
    assert medians[0] == 21 and medians[-1] == 42
    assert about(medians[-1] - medians[0], 0.5 * math.log(63) / math.log(1.1), 0.1)  # "close to 21.7"
    full = r["saddle_full_batch"]
    assert math.isinf(full["0"]["escape"])  # exactly zero noise on the stable line: never
    assert [full[k]["escape"] for k in ("0.0001", "1e-08", "1e-12")] == [91, 188, 284]
    assert full["0.01"]["escape"] == 43 == medians[-1] + 1  # "one step after the median of B = 63"
    assert round(full["0.0001"]["estimate"]) == 89


def test_ch2_epochs(chapter_results):
    run = chapter_results(CH2)["long_run"]
    assert 18 <= run["best_epoch"] <= 30  # "after about two dozen epochs"
    assert run["final_val_loss"] > run["best_val_loss"]  # then creeps up
    assert run["final_train_loss"] < run["first_train_loss"] / 1000  # "more than three orders"


def test_ch2_experiment_solutions(chapter_results):
    r = chapter_results(CH2)
    ex6 = r["ex6_rarer_feature"]
    assert ex6["SGD"]["best_lr"] == 0.4 and ex6["Adagrad"]["best_lr"] == 0.5
    assert round(ex6["SGD"]["best_score"], 3) == 0.066 and round(ex6["Adagrad"]["best_score"], 3) == 0.046
    assert round(ex6["SGD"]["best_score"] / ex6["Adagrad"]["best_score"], 1) == 1.4
    rare = r["rare_feature"]
    assert round(min(rare["SGD"]["score"]) / min(rare["Adagrad"]["score"]), 2) == 1.12
    aligned = r["ex7_aligned_valley"]
    assert aligned["adagrad"] < 1e-80 and aligned["rmsprop"] < 1e-40
    assert aligned["sgd"] > 1e-4 and aligned["momentum"] > 1e-4
    rotated = {k: min(v["score"]) for k, v in r["rotated_valley"].items()}
    assert round(rotated["adagrad"], 3) == round(rotated["rmsprop"], 3) == 0.002  # "about 2e-3"
    ex8 = r["ex8_saddle_lr"]
    for lr, stated in (("0.05", 41), ("0.2", 11)):
        m = ex8[lr]["medians"]
        assert m == sorted(m) and m[2] - m[0] == stated
        assert about(stated, 0.5 * math.log(63) / math.log1p(float(lr)), 0.05)
        assert 0 <= ex8[lr]["full_batch_1e-8"] - ex8[lr]["estimate_1e-8"] <= 5  # "within five steps"
    assert [ex8[lr]["full_batch_1e-8"] for lr in ("0.05", "0.2")] == [367, 98]
    pairs = list(zip(ex8["0.05"]["medians"], ex8["0.2"]["medians"]))
    pairs.append((ex8["0.05"]["full_batch_1e-8"], ex8["0.2"]["full_batch_1e-8"]))
    assert all(3.5 <= slow / fast <= 5.2 for slow, fast in pairs)  # "between 3.5 and 5.2 times"


def test_ch2_race_widget_as_it_opens(chapter_results):
    """The race's table and the prose beside it: the widget's defaults (the valley, T = 100, tune
    on), each optimizer at the best rate of the same eleven-rate sweep."""
    from dlcourse.landscapes.race import SWEEP
    from dlcourse.widgets.race import CONTROLS

    opening = {c.name: c.default for c in CONTROLS}
    assert (opening["surface"], opening["steps"], opening["tune"]) == ("valley", 100, True)
    assert len(SWEEP) == 11 and SWEEP[0] == 1e-4 and SWEEP[-1] == 10.0  # "{1e-4, 1e-3.5, ..., 10}"
    race = chapter_results(CH2)["race_tuned"]
    eta = {s: {k: v[0] for k, v in race[s].items()} for s in race}
    gap = {s: {k: v[1] for k, v in race[s].items()} for s in race}
    v, r, ro = gap["valley"], gap["rotated"], gap["rosenbrock"]
    # "Plain SGD is last, with a gap of 2.5e-4 at its best eta = 1"
    assert max(v, key=v.get) == "sgd" and f"{v['sgd']:.1e}" == "2.5e-04" and eta["valley"]["sgd"] == 1.0
    # "momentum (eta = 10^0.5) ends below 1e-6, Nesterov (1) and Adam (10^-1.5) below 1e-7, Adadelta (10) below 1e-8"
    assert eta["valley"]["momentum"] == pytest.approx(10**0.5) and v["momentum"] < 1e-6
    assert eta["valley"]["nesterov"] == 1.0 and v["nesterov"] < 1e-7
    assert eta["valley"]["adam"] == pytest.approx(10**-1.5) and v["adam"] < 1e-7
    assert eta["valley"]["adadelta"] == 10.0 and v["adadelta"] < 1e-8
    # "Adagrad and RMSprop ... gaps below 1e-100 at eta = 10, the largest rate of the sweep"
    for name in ("adagrad", "rmsprop"):
        assert eta["valley"][name] == 10.0 == max(SWEEP) and v[name] < 1e-100
    # rotated: "Adagrad 4.3e-6 and RMSprop 9.2e-7, between SGD's 1.4e-5 and Nesterov's 2.6e-9, the smallest"
    assert [f"{r[k]:.1e}" for k in ("adagrad", "rmsprop", "sgd", "nesterov")] == [
        "4.3e-06",
        "9.2e-07",
        "1.4e-05",
        "2.6e-09",
    ]
    assert min(r, key=r.get) == "nesterov"
    # "AdamW's best rate is eta = 10 ... 1 - eta lambda, 0.9 at eta = 10" on both valleys (lambda = 0.01)
    assert eta["valley"]["adamw"] == eta["rotated"]["adamw"] == 10.0
    assert inspect.signature(AdamW).parameters["weight_decay"].default == 0.01
    # "On Rosenbrock's function AdamW falls behind Adam (gaps 0.42 and 0.29 at eta = 1)"
    assert eta["rosenbrock"]["adamw"] == eta["rosenbrock"]["adam"] == 1.0
    assert (f"{ro['adamw']:.2f}", f"{ro['adam']:.2f}") == ("0.42", "0.29")
    # "Nesterov is nearest with a gap of 0.11, then Adam; SGD's gap is still 5.6"
    assert sorted(ro, key=ro.get)[:2] == ["nesterov", "adam"]
    assert f"{ro['nesterov']:.2f}" == "0.11" and f"{ro['sgd']:.1f}" == "5.6"


def test_ch2_race_chaotic_settings():
    """ "on the rotated valley, Adadelta at eta = 10 and RMSprop at eta = 10^-0.5 move less than
    1e-9 at step 100 when their start moves by 1e-12, but more than 1e-5 at step 200"."""
    from dlcourse.landscapes import race as rc
    from dlcourse.optim import trajectory_with_grad

    start = rc.START["rotated"]
    moved = (start[0] + 1e-12, start[1])
    for name, lr in (("adadelta", 10.0), ("rmsprop", 10**-0.5)):
        path = rc.race_path("rotated", name, lr, 200)
        other = trajectory_with_grad(lambda x, y: rc.surface_grad("rotated", x, y), moved, name, 200, lr=lr)
        assert abs(path[100] - other[100]).max() < 1e-9, name
        assert abs(path[200] - other[200]).max() > 1e-5, name


def test_ch2_shows_the_widgets_and_the_code():
    nb = json.loads((ROOT / "chapters" / f"{CH2}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for widget in ("live_momentum_valley()", "live_batch_size_saddle()", "live_optimizer_race()"):
        assert widget in text
    assert text.count(".static_figure())") == 3 and "make lab" in text
    # every literalinclude (or the listing book/myst_compat writes for it, whose code
    # tests/test_myst_compat.py checks) names a method that exists in the file it includes
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


def test_notation_in_chapters_1_3():
    """The notation page's symbols: the momentum buffer is m (b is the bias), the batch matrix is
    N x d, K is the number of classes (not of regression outputs), a matrix power is not W^T."""
    for stem in (CH1, CH2, CH3):
        nb = json.loads((ROOT / "chapters" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        assert r"\mathbf{b}_t" not in text and r"\mathbf{b}_{t-1}" not in text, stem
        assert r"\mathbb{R}^{B \times d}" not in text, stem
        assert not re.search(r"\\mathbf\{W\}\^T\b", text), stem
        assert "{NK}" not in text and "$K = n_" not in text, stem


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
    def velocity_form(theta, grad, buf, lr, momentum):  # buffer holds -lr * m: not torch's state
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


# =========================================================================== chapter 3
def test_ch3_derivatives_match_autograd(chapter_results):
    assert chapter_results(CH3)["max_derivative_error"] < 1e-12


def test_ch3_zero_centred_inputs(chapter_results):
    c = chapter_results(CH3)["centring"]
    assert c["sigmoid"]["same_sign"] == 1.0 and 0.4 < c["centred"]["same_sign"] < 0.6  # "about half"
    assert round(c["sigmoid"]["kappa"]) == 13 and c["centred"]["kappa"] < 1.1  # "13 against 1"
    assert c["sigmoid"]["steps"] == 48 and c["centred"]["steps"] == 2


def test_ch3_vanishing_gradients(chapter_results):
    r = chapter_results(CH3)
    first = r["first_layer_grad_norm"]
    assert first["sigmoid"] < 1e-10 * first["relu"]  # "more than ten orders of magnitude"
    factor = r["delta_factor_per_layer"]  # per layer, last hidden layer to the first
    assert round(factor["sigmoid"], 1) == 4.3  # "about 4 (4.3 on average)"
    assert factor["tanh"] < 1.5  # "loses much less"
    ratio = r["delta_norm_ratio_first_over_last"]
    assert 0.1 < ratio["relu"] < 10  # "within a factor of 10"


def test_ch3_exploding_gradients_and_clipping(chapter_results):
    r = chapter_results(CH3)
    assert round(r["exploding_delta_growth"] ** (1 / 19), 2) == 1.58  # "about 1.5 per layer"
    rnn = r["rnn_gradient_after_50"]
    assert rnn["0.9"] == pytest.approx(0.9**50, rel=1e-9)  # exactly rho^k for W = rho * Q
    assert rnn["1.0"] == pytest.approx(1.0, rel=1e-9)
    assert rnn["1.1"] == pytest.approx(1.1**50, rel=1e-9)
    clip = r["clipping"]
    for lr in ("1e-06", "0.001", "0.1"):
        assert math.isinf(clip[f"none {lr}"]["final_loss"])  # no learning rate trains unclipped
        assert math.isfinite(clip[f"clip {lr}"]["final_loss"])  # every one is stable clipped
        assert 3e7 < clip[f"clip {lr}"]["initial_norm"] < 3e8  # "about 10^8"
    assert clip["clip 0.1"]["final_loss"] < 1  # "below 1 in 150 steps"
    assert clip["clip 1e-06"]["final_loss"] > 5e6  # the loss of the exploding network, ~7e6


def test_ch3_dead_relu_three_seeds(chapter_results):
    units = chapter_results(CH3)["dead_units"]
    for name, u in units.items():
        assert len(u["per_seed"]) >= 3
        assert u["after_step"]["val_acc"] < 0.15  # "to chance (10%)"
        assert 0.295 <= u["after_step"]["silent"] <= 0.325  # "30% to 32%"
        assert u["before"]["silent"] < (0.015 if name == "elu" else 0.07)  # "about 5% (ELU: 1%)"
    relu = units["relu"]
    for moment in ("after_step", "recovered"):  # every silent ReLU unit is dead, a few more too
        assert relu[moment]["silent_with_gradient"] == 0.0
        assert relu[moment]["silent"] <= relu[moment]["dead"] < relu[moment]["silent"] + 0.02
    assert round(relu["recovered"]["dead"], 2) == 0.37 and round(relu["after_step"]["dead"], 2) == 0.31
    for name in ("leaky_relu", "prelu", "elu"):
        assert units[name]["recovered"]["dead"] == 0.0 == units[name]["after_step"]["dead"]
        assert units[name]["recovered"]["silent_with_gradient"] == units[name]["recovered"]["silent"]
    assert round(units["leaky_relu"]["recovered"]["silent"], 2) == 0.37  # grows like ReLU's
    assert abs(units["elu"]["recovered"]["silent"] - units["elu"]["after_step"]["silent"]) < 0.01
    assert round(units["prelu"]["recovered"]["silent"], 2) == 0.23  # PReLU brings some back
    assert all(u["recovered"]["silent"] > 0.2 for u in units.values())  # none recovers all
    for name, stated in (("relu", 0.78), ("leaky_relu", 0.79), ("prelu", 0.87), ("elu", 0.87)):
        assert round(units[name]["recovered"]["val_acc"], 2) == stated, name
    gap = units["leaky_relu"]["recovered"]["val_acc"] - relu["recovered"]["val_acc"]
    seeds = [s["recovered"]["val_acc"] for s in relu["per_seed"]]
    assert 0 < gap < 0.02 < max(seeds) - min(seeds)  # "about 0.01, less than the spread"
    assert round(min(seeds), 2) == 0.71 and round(max(seeds), 2) == 0.81


def test_ch3_batchnorm_derivation_and_residual(chapter_results):
    r = chapter_results(CH3)
    bn = r["batchnorm_prediction"]
    assert round(bn["mean_slope"], 3) == 0.207 and round(bn["std_sigmoid"], 3) == 0.208
    f = r["layer_factors"]
    plain = r["plain_prediction"]
    plain_pred = plain["w_scale"] * plain["mean_slope"]
    assert abs(f["plain"] / plain_pred - 1) < 0.03  # "within 3%"
    assert round(f["plain"], 3) == round(plain_pred, 3) == 0.141 and round(plain["z_std"], 1) == 0.3
    assert abs(f["batchnorm"] / (bn["mean_slope"] / bn["std_sigmoid"]) - 1) < 0.06  # "within 6%"
    assert round(f["batchnorm"], 2) == 1.04
    spread = r["stabilised_max_over_min"]
    assert spread["plain"] > 1e20  # "more than twenty orders of magnitude"
    assert spread["batchnorm"] < 3  # "within a factor of 3"
    assert about(spread["residual"], 20, 0.25)  # "about 20"


def test_ch3_explorer_as_it_opens(chapter_results):
    """The explorer's table and the prose beside it (the widget's opening settings and four more)."""
    from dlcourse.widgets import explorer as ex

    assert ex.WIDTH == ex.BATCH == 32  # "32 units per layer, a batch of B = 32 inputs"
    e = chapter_results(CH3)["explorer"]
    assert {k: e["opening"][k] for k in ("activation", "init", "depth")} == {
        "activation": "sigmoid",
        "init": "xavier",
        "depth": 20,
    }
    two = lambda x: f"{x:.2f}"
    pct = lambda x: f"{x:.0%}"
    sx = e["sigmoid, Xavier"]
    # "4e-13 times the last layer's, a factor of about 4.5 lost per layer", "none ... saturated",
    # "the spread ... from 1.05 in the first layer to 0.58 in the last"
    assert f"{sx['grad_ratio']:.0e}" == "4e-13" and f"{sx['grad_ratio'] ** (-1 / 19):.1f}" == "4.5"
    assert sx["saturated_last"] == 0 and (two(sx["z_std_first"]), two(sx["z_std_last"])) == ("1.05", "0.58")
    # "With Var W = 1 the ratio is only 3e-4, but 6% of the last layer's units are dead"
    sn = e["sigmoid, N(0, 1)"]
    assert f"{sn['grad_ratio']:.0e}" == "3e-04" and pct(sn["dead_last"]) == "6%"
    # "tanh with Xavier keeps the gradient (the ratio is 1.9) ... falls from 1.05 to 0.13"
    th = e["tanh, Xavier"]
    assert f"{th['grad_ratio']:.1f}" == "1.9" and (two(th["z_std_first"]), two(th["z_std_last"])) == (
        "1.05",
        "0.13",
    )
    # "ReLU with He keeps both (spread 1.48 ..., 1.56 ..., ratio 0.81), but 34% ... dead, 47% at D = 50"
    rh = e["ReLU, He"]
    assert (two(rh["z_std_first"]), two(rh["z_std_last"]), two(rh["grad_ratio"])) == ("1.48", "1.56", "0.81")
    assert pct(rh["dead_last"]) == "34%" and pct(e["ReLU, He, D = 50"]["dead_last"]) == "47%"
    assert e["leaky ReLU, He, D = 50"]["dead_last"] == 0  # "leaky ReLU at D = 50 has none"
    # "pre-activations explode (1.7e12 in the last layer), yet its gradient ratio and its dead units
    # are exactly those of He's"
    rn = e["ReLU, N(0, 1)"]
    assert f"{rn['z_std_last']:.1e}" == "1.7e+12"
    assert (
        rn["grad_ratio"] == pytest.approx(rh["grad_ratio"], rel=1e-12) and rn["dead_last"] == rh["dead_last"]
    )
    assert rn["saturated_last"] == rh["saturated_last"]


def test_ch3_shows_the_explorer():
    nb = json.loads((ROOT / "chapters" / f"{CH3}.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "live_activation_explorer()" in text and text.count(".static_figure())") == 1


def test_ch3_experiment_solutions(chapter_results):
    r = chapter_results(CH3)
    assert round(-r["ex6_sigmoid_slope"], 2) == 0.63 and round(10 ** -r["ex6_sigmoid_slope"], 1) == 4.2
    ratios = r["ex6_depth_ratio"]
    assert all(1.1 <= x <= 2.1 for x in ratios["tanh"])  # "between 1.1 and 2.1"
    assert all(0.8 <= x <= 1.25 for x in ratios["relu"])  # "within a factor of 1.25"
    s = r["ex7_relu_stacks"]
    assert round(math.log10(s["plain"]["first_over_last"])) == -10  # "2e-10"
    assert round(s["plain"]["first_over_last"] ** (1 / 29), 2) == 0.46
    assert about(s["batchnorm"]["first_over_last"], 230, 0.1) and about(1.21**29, 250, 0.1)
    assert s["residual"]["max_over_min"] < 5  # "within a factor of 5"


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

    def strictly_negative(Z):  # misses units that are exactly 0 everywhere
        return (Z < 0).all(dim=0).float().mean().item()

    assert ch3.check_sigmoid_grad(sigmoid_grad_overflows) is False
    assert ch3.check_elu(elu_ignores_alpha) is False
    assert ch3.check_elu_grad(relu_grad_instead) is False
    assert ch3.check_dead_fraction(dead_rows) is False
    _no_answer_printed(capsys.readouterr().out)
    assert ch3.check_dead_fraction(strictly_negative) is False
    assert "use <= 0" in capsys.readouterr().out
    for check in (ch3.check_sigmoid_grad, ch3.check_elu, ch3.check_elu_grad, ch3.check_dead_fraction):
        assert check(_stub) is False
        assert check(lambda *a: None) is False
    assert ch3.check_dead_fraction(lambda Z: "half") is False
    assert "not implemented yet" in capsys.readouterr().out


def test_exercise_labels_are_unique_in_chapters_1_3():
    """Every exercise label once (sphinx-exercise warns about a repeated one, and the strict build
    fails), each with exactly one solution, folded."""
    for stem in (CH1, CH2, CH3):
        nb = json.loads((ROOT / "chapters" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        labels = re.findall(r":label: (ch\d-ex\d+)", text)
        assert len(labels) == len(set(labels)), (stem, labels)
        solved = re.findall(r"\{solution(?:-start)?\} (ch\d-ex\d+)", text)
        assert sorted(solved) == sorted(labels), stem

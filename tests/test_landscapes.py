"""The widgets' pure functions against independent references (torch.optim, sklearn, brute force)."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from dlcourse import landscapes as ls


def torch_trajectory(start, lr, beta, steps, kappa, nesterov=False):
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    h = torch.tensor([1.0 / kappa, 1.0], dtype=torch.float64)
    opt = torch.optim.SGD([w], lr=lr, momentum=beta, nesterov=nesterov)
    out = [w.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (h * w * w).sum()).backward()
        opt.step()
        out.append(w.detach().clone())
    return torch.stack(out).numpy()


def test_momentum_with_beta_zero_is_gradient_descent_step_for_step():
    gd = ls.gradient_descent_trajectory((-1.2, 0.8), 1.5, 80, 30.0)
    np.testing.assert_array_equal(ls.momentum_trajectory((-1.2, 0.8), 1.5, 0.0, 80, 30.0), gd)
    np.testing.assert_allclose(gd, torch_trajectory((-1.2, 0.8), 1.5, 0.0, 80, 30.0), atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_torch_sgd(nesterov):
    ours = ls.momentum_trajectory((1.0, -0.7), 0.9, 0.8, 60, 20.0, nesterov)
    np.testing.assert_allclose(
        ours, torch_trajectory((1.0, -0.7), 0.9, 0.8, 60, 20.0, nesterov), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_optimal_momentum_shrinks_distance_at_predicted_rate(kappa):
    alpha, beta, rate = ls.optimal_momentum(kappa)
    assert rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    n = int(-120 / math.log10(rate))  # about 1e-120 of the start: no underflow
    traj = ls.momentum_trajectory((-1.0, 0.9), alpha, beta, n, kappa)
    dist = np.linalg.norm(traj, axis=1)
    t = np.arange(n // 2, n + 1)
    slope = np.polyfit(t, np.log(dist[n // 2 :]), 1)[0]
    assert slope == pytest.approx(math.log(rate), rel=0.02)
    # Gradient descent at its best step is slower, at its own predicted rate.
    lr_gd, rate_gd = ls.gradient_descent_rate(kappa)
    gd = np.linalg.norm(ls.gradient_descent_trajectory((-1.0, 0.9), lr_gd, n, kappa), axis=1)
    assert np.polyfit(t, np.log(gd[n // 2 :]), 1)[0] == pytest.approx(math.log(rate_gd), rel=0.02)
    assert rate < rate_gd


@pytest.mark.parametrize("nesterov", [False, True])
def test_iteration_rate_is_the_spectral_radius(nesterov):
    kappa = 25.0
    for lr, beta in [(0.5, 0.0), (1.0, 0.5), (3.0, 0.6), (2.5, 0.9), (3.9, 0.1)]:
        radius = 0.0
        for h in (1 / kappa, 1.0):
            if nesterov:  # state (w, v): v' = beta v + h w; w' = w - lr (h w + beta v')
                m = np.array([[1 - lr * h * (1 + beta), -lr * beta * beta], [h, beta]])
            else:  # Polyak: (w_t, w_{t-1})
                m = np.array([[1 + beta - lr * h, -beta], [1.0, 0.0]])
            radius = max(radius, np.abs(np.linalg.eigvals(m)).max())
        assert ls.iteration_rate(lr, beta, kappa, nesterov) == pytest.approx(radius, rel=1e-9)


def brute_force(opt, rho, budget, norm):
    theta = np.linspace(0, 2 * np.pi, 400001)
    c, s = np.cos(theta), np.sin(theta)
    scale = budget / (np.abs(c) + np.abs(s)) if norm == 1 else budget
    w1, w2 = scale * c, scale * s
    i = np.argmin(ls.quadratic2_loss(w1, w2, opt, rho))
    return np.array([w1[i], w2[i]])


@pytest.mark.parametrize(
    "opt,rho,budget",
    [((2.0, 0.6), 0.3, 1.0), ((-1.5, 2.5), -0.6, 1.2), ((0.8, 0.9), 0.8, 1.0), ((2.5, -2.0), 0.0, 0.7)],
)
def test_constrained_solutions_match_brute_force(opt, rho, budget):
    np.testing.assert_allclose(
        ls.l1_ball_solution(opt, rho, budget), brute_force(opt, rho, budget, 1), atol=1e-4
    )
    np.testing.assert_allclose(
        ls.l2_ball_solution(opt, rho, budget), brute_force(opt, rho, budget, 2), atol=1e-4
    )


def test_l1_corner_is_exactly_zero_and_inside_is_the_optimum():
    w1 = ls.l1_ball_solution((2.0, 0.6), 0.3, 1.0)
    assert w1[1] == 0.0 and w1[0] == 1.0
    assert np.all(ls.l2_ball_solution((2.0, 0.6), 0.3, 1.0) != 0.0)
    np.testing.assert_array_equal(ls.l1_ball_solution((0.2, 0.3), 0.5, 1.0), [0.2, 0.3])
    with pytest.raises(ValueError, match="rho"):
        ls.l1_ball_solution((1.0, 1.0), 1.0, 1.0)
    with pytest.raises(ValueError, match="budget"):
        ls.l2_ball_solution((1.0, 1.0), 0.0, -1.0)


def test_lasso_path_has_exact_zeros_and_ridge_none():
    X, y, w_true = ls.sparse_regression()
    lams = np.logspace(0.7, -3, 30)
    lasso, ridge = ls.lasso_path(X, y, lams), ls.ridge_path(X, y, lams)
    zeros_l1, zeros_l2 = ls.count_zeros(lasso), ls.count_zeros(ridge)
    assert zeros_l1[0] == X.shape[1]  # above lambda_max: every weight exactly 0
    assert zeros_l1[10] > 0 and zeros_l1[-1] < zeros_l1[0]
    assert np.all(zeros_l2 == 0)
    for i in (5, 15, 29):  # independent solver, same objective
        ref = Lasso(alpha=lams[i], fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y)
        np.testing.assert_allclose(lasso[i], ref.coef_, atol=1e-4)
    n = X.shape[0]
    ref = torch.linalg.solve(
        torch.tensor(X.T @ X / n + lams[3] * np.eye(X.shape[1])), torch.tensor(X.T @ y / n)
    ).numpy()
    np.testing.assert_allclose(ridge[3], ref, rtol=1e-10)


def test_xorshift32_reference_words():
    # Marsaglia's xorshift32 written with Python integers, independent of the numpy version.
    from dlcourse.landscapes.saddle import _seed_states

    state = int(_seed_states(7, np.zeros(1))[0])
    words = []
    for _ in range(50):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        words.append(state)
    np.testing.assert_array_equal(ls.xorshift32(7, 50), words)


def test_saddle_offsets_have_mean_exactly_zero_and_batches_escape_by_size():
    off = ls.saddle_offsets()
    assert off.sum(axis=0).tolist() == [0.0, 0.0]
    full = ls.saddle_sgd(ls.SADDLE_EXAMPLES, 0.1, 300, 3)
    assert np.all(full[:, :, 1] == 0.0)  # never leaves the stable direction
    assert abs(full[0, -1, 0]) < 1e-10  # and slides into the saddle point
    assert np.all(np.isinf(ls.escape_steps(full)))
    small, large = [], []
    for seed in range(4):
        for b, store in ((1, small), (32, large)):
            esc = ls.escape_steps(ls.saddle_sgd(b, 0.1, 200, 10, seed=seed))
            store.append(np.minimum(esc, 201).mean())
    assert np.mean(small) < np.mean(large)


def test_saddle_batch_noise_variance_scales_as_one_over_b():
    sigma2 = ls.saddle_offsets().var(axis=0)
    for b in (1, 4, 16):
        means = ls.saddle_batch_means(b, 400, 20)
        np.testing.assert_allclose(means.reshape(-1, 2).var(axis=0), sigma2 / b, rtol=0.15)


def test_saddle_gradient_matches_autograd():
    off = torch.tensor(ls.saddle_offsets()[:8])
    w = torch.tensor([0.3, -0.4], dtype=torch.float64, requires_grad=True)
    x, y = w
    loss = (0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4 + off[:, 0] * x + off[:, 1] * y).mean()
    loss.backward()
    means = off.mean(0).numpy()[None, None, :]
    step = ls.saddle_descent(means, 1.0, (0.3, -0.4))[0, 1]
    np.testing.assert_allclose(step, [0.3, -0.4] - w.grad.numpy(), atol=1e-15)


@pytest.mark.parametrize("lr", [0.02, 0.1, 0.3])
@pytest.mark.parametrize("y0", [1e-12, 1e-4, 0.1])
def test_exact_descent_off_the_stable_line_escapes_after_the_estimated_steps(lr, y0):
    """Gradient descent started y0 off the stable direction grows |y| by (1 + lr) per step:
    escape_estimate undershoots only by the slow last stretch (continuous time: 0.144 / lr)."""
    measured = ls.escape_steps(ls.saddle_sgd(ls.SADDLE_EXAMPLES, lr, 3000, 1, start=(1.5, y0)))[0]
    estimate = ls.escape_estimate(y0, lr)
    assert estimate == pytest.approx(math.log(0.5 / y0) / math.log1p(lr), rel=1e-12)
    assert 0.0 <= measured - estimate <= 0.2 / lr + 1.0
    assert ls.escape_estimate(0.0, lr) == math.inf
    with pytest.raises(ValueError, match="lr"):
        ls.escape_estimate(y0, 0.0)


def test_escape_time_grows_with_the_batch_size_and_every_batch_escapes():
    esc = ls.saddle_sweep([1, 4, 16, 63], 0.1, 300, 200)
    assert np.isfinite(esc).all()  # B = 63: every one of 200 runs leaves within 300 steps
    medians = [ls.escape_quantiles(e, [0.5])[0] for e in esc]
    assert medians == sorted(medians) and medians[-1] > medians[0] + 10
    # the sweep is saddle_sgd run by run, from the given start
    np.testing.assert_array_equal(esc[2], ls.escape_steps(ls.saddle_sgd(16, 0.1, 300, 200)))
    full = ls.saddle_sweep([ls.SADDLE_EXAMPLES], 0.1, 300, 3, y0=1e-4)[0]
    assert full.tolist() == [91.0, 91.0, 91.0]  # the exact mean: every run the same
    assert np.isinf(ls.saddle_sweep([ls.SADDLE_EXAMPLES], 0.1, 300, 2)).all()


def test_escape_quantiles_are_numpys_for_finite_steps_and_inf_beyond():
    x = np.array([5.0, 1.0, 9.0, 4.0, 4.0, 30.0])
    qs = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    np.testing.assert_array_equal(ls.escape_quantiles(x, qs), np.quantile(x, qs))
    with_never = np.array([2.0, np.inf, 6.0, np.inf, np.inf])
    assert ls.escape_quantiles(with_never, [0.25, 0.5, 1.0]).tolist() == [6.0, np.inf, np.inf]
    with pytest.raises(ValueError, match="qs"):
        ls.escape_quantiles(x, [1.5])


def test_momentum_matrix_has_the_rates_trace_and_determinant_and_the_stability_edge():
    """iteration_rate is the spectral radius of momentum_matrix, and the heavy ball converges
    exactly where lr * h < 2 (1 + beta) (h_max = 1 here), as the chapter derives."""
    kappa = 50.0
    lrs, betas = np.linspace(0.05, 4.0, 41), np.linspace(0.0, 0.95, 20)
    for lr in lrs:
        for beta in betas:
            radius = max(
                np.abs(np.linalg.eigvals(ls.momentum_matrix(lr, beta, h))).max() for h in (1 / kappa, 1)
            )
            rate = ls.iteration_rate(lr, beta, kappa)
            assert rate == pytest.approx(radius, rel=1e-7, abs=1e-12)
            if abs(lr - 2 * (1 + beta)) > 1e-9:
                assert (rate < 1) == (lr < 2 * (1 + beta)), (lr, beta, rate)
    # Polyak's optimum: a repeated real root at both ends of the spectrum, complex roots inside
    alpha, beta, rate = ls.optimal_momentum(kappa)
    for h, sign in ((1 / kappa, 0), (1.0, 0), (0.3, -1)):
        trace = 1 + beta - alpha * h
        disc = trace**2 - 4 * beta
        assert (abs(disc) < 1e-12) if sign == 0 else disc < 0
    assert ls.iteration_rate(alpha, beta, kappa) == pytest.approx(rate, rel=1e-6)

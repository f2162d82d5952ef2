"""Planted answers for problem set 2 (test functions, momentum, Nesterov, RMSprop, Adam/AdamW)."""

from psets import Maker

m = Maker("ps2_optimizers")
FUNCTIONS = m.task_cells("task1")
MOMENTA = m.task_cells("task2")
RMSPROP = m.task_cells("task3")
ADAM = m.task_cells("task4")


def _adam(body: str) -> str:
    """The reference adam with its arithmetic (from the bias correction on) replaced by ``body``."""
    return m.edit(
        "task4_adam",
        (
            "    m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)\n"
            "    next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat.sqrt() + eps)\n",
            body,
        ),
    )


# ---- Task 1: the test functions
m.wrong(
    "rosenbrock_coupling_sign",
    "task1_functions",
    m.edit("task1_functions", ("-2.0 * (a - x) - 4.0 * b * x * r", "-2.0 * (a - x) + 4.0 * b * x * r")),
    FUNCTIONS,
    "sign error in the chain rule through x^2 (d/dx of (y - x^2)^2)",
)
m.wrong(
    "rosenbrock_dy_without_b",
    "task1_functions",
    m.edit("task1_functions", ("2.0 * b * r], dim=1)", "2.0 * r], dim=1)")),
    FUNCTIONS,
    "the factor b dropped from df/dy",
)
m.wrong(
    "rosenbrock_grad_transposed",
    "task1_functions",
    m.edit("task1_functions", ("2.0 * b * r], dim=1)", "2.0 * b * r], dim=0)")),
    FUNCTIONS,
    "gradients stacked as (2, N) instead of (N, 2)",
)
m.wrong(
    "quadratic_assumes_symmetric_H",
    "task1_functions",
    m.edit("task1_functions", ("grad = 0.5 * (PH + P @ H.T)", "grad = PH")),
    FUNCTIONS,
    "gradient H p, right only for a symmetric H",
)
m.wrong(
    "quadratic_gradient_without_half",
    "task1_functions",
    m.edit("task1_functions", ("grad = 0.5 * (PH + P @ H.T)", "grad = PH + P @ H.T")),
    FUNCTIONS,
    "(H + H^T) p without the 1/2",
)
m.wrong(
    "quadratic_value_without_half",
    "task1_functions",
    m.edit("task1_functions", ("f = 0.5 * (PH * P).sum(dim=1)", "f = (PH * P).sum(dim=1)")),
    FUNCTIONS,
    "the value p^T H p without the 1/2",
)
m.correct(
    "functions_rearranged",
    "task1_functions",
    m.edit(
        "task1_functions",
        (
            "grad = torch.stack([-2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r], dim=1)",
            "grad = torch.stack([2.0 * (x - a) + 4.0 * b * x * (x * x - y), 2.0 * b * (y - x * x)], dim=-1)",
        ),
        ("    PH = P @ H\n", "    S = 0.5 * (H + H.T)\n"),
        ("f = 0.5 * (PH * P).sum(dim=1)", 'f = 0.5 * torch.einsum("ni,ij,nj->n", P, H, P)'),
        ("grad = 0.5 * (PH + P @ H.T)", "grad = P @ S"),
    ),
    "expanded Rosenbrock gradient; the quadratic through the symmetric part of H and einsum",
)
m.loop(
    "rosenbrock_loop_over_points",
    "task1_functions",
    m.function(
        "task1_functions",
        "rosenbrock",
        """
def rosenbrock(P, a=1.0, b=100.0):
    f = torch.zeros(P.shape[0], dtype=P.dtype)
    grad = torch.zeros_like(P)
    for n in range(P.shape[0]):
        x, y = P[n, 0], P[n, 1]
        f[n] = (a - x) ** 2 + b * (y - x * x) ** 2
        grad[n, 0] = -2.0 * (a - x) - 4.0 * b * x * (y - x * x)
        grad[n, 1] = 2.0 * b * (y - x * x)
    return f, grad
""",
    ),
    FUNCTIONS,
    "one point at a time (right numbers)",
)
m.rule(
    "quadratic_autograd_alias",
    "task1_functions",
    m.function(
        "task1_functions",
        "quadratic",
        """
def quadratic(P, H):
    leaf = P.detach().clone().requires_grad_(True)
    f = 0.5 * ((leaf @ H) * leaf).sum(dim=1)
    return f.detach(), _autograd(f.sum(), leaf)[0]
""",
    ),
    "the gradient from torch.autograd.grad through an alias made in another cell",
    prelude="_autograd = torch.autograd.grad\n",
)

# ---- Task 2: momentum and Nesterov
m.wrong(
    "momentum_cs231n_velocity",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    mu = config.setdefault("momentum", 0.9)
    v = config.get("velocity", torch.zeros_like(w))
    v = mu * v - config["lr"] * dw
    config["velocity"] = v
    return w + v, config
""",
    ),
    MOMENTA,
    "stores v = mu v - lr g (same iterates at a constant lr) instead of the specified buffer b",
)
m.wrong(
    "momentum_dampened",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    mu = config.setdefault("momentum", 0.9)
    velocity = config.get("velocity", torch.zeros_like(w))
    velocity = mu * velocity + (1 - mu) * dw
    config["velocity"] = velocity
    return w - config["lr"] * velocity, config
""",
    ),
    MOMENTA,
    "an exponential average (1 - mu) g instead of the sum of the gradients",
)
m.wrong(
    "momentum_steps_with_old_velocity",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    mu = config.setdefault("momentum", 0.9)
    velocity = config.get("velocity", torch.zeros_like(w))
    next_w = w - config["lr"] * velocity
    config["velocity"] = mu * velocity + dw
    return next_w, config
""",
    ),
    MOMENTA,
    "moves along the previous buffer, then updates it (one step late)",
)
m.wrong(
    "momentum_default_zero",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    mu = config.get("momentum", 0.0)
    velocity = mu * config.get("velocity", torch.zeros_like(w)) + dw
    config["velocity"] = velocity
    return w - config["lr"] * velocity, config
""",
    ),
    m.cells("task2_hidden"),
    "momentum 0 when config has none (the default is 0.9): only the hidden tests try the default",
)
m.wrong(
    "nesterov_is_plain_momentum",
    "task2_momentum",
    m.edit(
        "task2_momentum",
        (
            'return w - config["lr"] * (dw + mu * velocity), config',
            'return w - config["lr"] * velocity, config',
        ),
    ),
    MOMENTA,
    "Nesterov without the look-ahead: the heavy ball",
)
m.wrong(
    "nesterov_old_buffer",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_nesterov",
        """
def sgd_nesterov(w, dw, config):
    mu = config.setdefault("momentum", 0.9)
    old = config.get("velocity", torch.zeros_like(w))
    config["velocity"] = mu * old + dw
    return w - config["lr"] * (dw + mu * old), config
""",
    ),
    MOMENTA,
    "the look-ahead term uses the previous buffer b_(t-1) instead of b_t",
)
m.correct(
    "momentum_in_place_state",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    config.setdefault("momentum", 0.9)
    if "velocity" not in config:
        config["velocity"] = torch.zeros_like(w)
    config["velocity"].mul_(config["momentum"]).add_(dw)
    return w.add(config["velocity"], alpha=-config["lr"]), config
""",
    ),
    "updates the state tensor in place, Tensor.add with alpha",
)
m.correct(
    "nesterov_expanded_new_dict",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_nesterov",
        """
def sgd_nesterov(w, dw, config):
    mu = config.get("momentum", 0.9)
    velocity = mu * config.get("velocity", torch.zeros_like(w)) + dw
    next_w = w - config["lr"] * dw - config["lr"] * mu * velocity
    return next_w, {**config, "momentum": mu, "velocity": velocity}
""",
    ),
    "the Nesterov step expanded into two terms, a new config dictionary returned",
)
m.loop(
    "momentum_loop_over_entries",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    mu = config.setdefault("momentum", 0.9)
    velocity = config.get("velocity", torch.zeros_like(w)).clone()
    next_w = w.clone()
    flat_v, flat_w, flat_g = velocity.view(-1), next_w.view(-1), dw.reshape(-1)
    for i in range(flat_w.numel()):
        flat_v[i] = mu * flat_v[i] + flat_g[i]
        flat_w[i] = flat_w[i] - config["lr"] * flat_v[i]
    config["velocity"] = velocity
    return next_w, config
""",
    ),
    MOMENTA,
    "one entry at a time (right numbers)",
)
m.rule(
    "momentum_torch_optim_alias",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_momentum",
        """
def sgd_momentum(w, dw, config):
    p = w.detach().clone()
    opt = _SGD([p], lr=config["lr"], momentum=config.setdefault("momentum", 0.9))
    if "velocity" in config and config["momentum"]:
        opt.state[p]["momentum_buffer"] = config["velocity"].clone()
    p.grad = dw.clone()
    opt.step()
    config["velocity"] = opt.state[p].get("momentum_buffer", dw.clone())
    return p, config
""",
    ),
    "torch.optim.SGD driven through an alias made in another cell",
    prelude="_SGD = torch.optim.SGD\n",
)
m.rule(
    "nesterov_from_course_package",
    "task2_momentum",
    m.function(
        "task2_momentum",
        "sgd_nesterov",
        """
def sgd_nesterov(w, dw, config):
    from dlcourse.optim import SGD

    p = w.detach().clone()
    opt = SGD([p], lr=config["lr"], momentum=config.setdefault("momentum", 0.9), nesterov=True)
    if "velocity" in config:
        opt.state[p]["momentum_buffer"] = config["velocity"].clone()
    p.grad = dw.clone()
    opt.step()
    config["velocity"] = opt.state[p]["momentum_buffer"]
    return p, config
""",
    ),
    "the course package's SGD does the step",
)

# ---- Task 3: RMSprop
m.wrong(
    "rmsprop_eps_inside_sqrt",
    "task3_rmsprop",
    m.edit("task3_rmsprop", ("dw / (square_avg.sqrt() + eps)", "dw / (square_avg + eps).sqrt()")),
    RMSPROP,
    "epsilon inside the square root",
)
m.wrong(
    "rmsprop_sum_of_squares",
    "task3_rmsprop",
    m.edit("task3_rmsprop", ("alpha * square_avg + (1 - alpha) * dw * dw", "alpha * square_avg + dw * dw")),
    RMSPROP,
    "the new g^2 added without its weight (1 - alpha)",
)
m.wrong(
    "rmsprop_mean_absolute",
    "task3_rmsprop",
    m.edit(
        "task3_rmsprop",
        ("alpha * square_avg + (1 - alpha) * dw * dw", "alpha * square_avg + (1 - alpha) * dw.abs()"),
    ),
    RMSPROP,
    "a running mean of |g| where the mean of g^2 is asked for",
)
m.wrong(
    "rmsprop_divides_by_old_average",
    "task3_rmsprop",
    m.function(
        "task3_rmsprop",
        "rmsprop",
        """
def rmsprop(w, dw, config):
    alpha = config.setdefault("alpha", 0.99)
    eps = config.setdefault("eps", 1e-8)
    old = config.get("square_avg", torch.zeros_like(w))
    config["square_avg"] = alpha * old + (1 - alpha) * dw * dw
    return w - config["lr"] * dw / (old.sqrt() + eps), config
""",
    ),
    RMSPROP,
    "divides by the previous average (a division by ~eps on the first step)",
)
m.wrong(
    "rmsprop_default_alpha",
    "task3_rmsprop",
    m.edit(
        "task3_rmsprop",
        ('alpha = config.setdefault("alpha", 0.99)', 'alpha = config.setdefault("alpha", 0.9)'),
    ),
    m.cells("task3_hidden"),
    "the default alpha taken as 0.9 instead of torch's 0.99: only the hidden tests try the defaults",
)
m.correct(
    "rmsprop_addcmul_reciprocal",
    "task3_rmsprop",
    m.edit(
        "task3_rmsprop",
        (
            "alpha * square_avg + (1 - alpha) * dw * dw",
            "torch.addcmul(alpha * square_avg, dw, dw, value=1 - alpha)",
        ),
        ("dw / (square_avg.sqrt() + eps)", "dw * torch.reciprocal(torch.sqrt(square_avg) + eps)"),
    ),
    "addcmul for the average, multiplication by the reciprocal",
)
m.loop(
    "rmsprop_loop_over_entries",
    "task3_rmsprop",
    m.function(
        "task3_rmsprop",
        "rmsprop",
        """
def rmsprop(w, dw, config):
    alpha = config.setdefault("alpha", 0.99)
    eps = config.setdefault("eps", 1e-8)
    s = config.get("square_avg", torch.zeros_like(w)).clone()
    out = w.clone()
    for i in range(w.numel()):
        s.view(-1)[i] = alpha * s.view(-1)[i] + (1 - alpha) * dw.reshape(-1)[i] ** 2
        out.view(-1)[i] -= config["lr"] * dw.reshape(-1)[i] / (s.view(-1)[i].sqrt() + eps)
    config["square_avg"] = s
    return out, config
""",
    ),
    RMSPROP,
    "one entry at a time (right numbers)",
)
m.rule(
    "rmsprop_getattr_torch_optim",
    "task3_rmsprop",
    m.function(
        "task3_rmsprop",
        "rmsprop",
        """
def rmsprop(w, dw, config):
    p = w.detach().clone()
    cls = getattr(torch.optim, "RMS" + "prop")
    opt = cls([p], lr=config["lr"], alpha=config.setdefault("alpha", 0.99), eps=config.setdefault("eps", 1e-8))
    if "square_avg" in config:
        opt.state[p]["square_avg"] = config["square_avg"].clone()
        opt.state[p]["step"] = torch.tensor(1.0)
    p.grad = dw.clone()
    opt.step()
    config["square_avg"] = opt.state[p]["square_avg"]
    return p, config
""",
    ),
    "torch.optim.RMSprop reached with getattr and a built string",
)

# ---- Task 4: Adam / AdamW
m.wrong(
    "adam_no_bias_correction",
    "task4_adam",
    _adam("    next_w = w - lr * weight_decay * w - lr * m / (v.sqrt() + eps)\n"),
    ADAM,
    "no bias correction",
)
m.wrong(
    "adam_bias_correction_t_minus_one",
    "task4_adam",
    _adam(
        "    m_hat = m / (1 - beta1 ** (t - 1) + 1e-12)\n    v_hat = v / (1 - beta2 ** (t - 1) + 1e-12)\n"
        "    next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat.sqrt() + eps)\n"
    ),
    ADAM,
    "bias correction with the step count before the increment (t - 1), guarded against 0 / 0",
)
m.wrong(
    "adam_eps_inside_sqrt",
    "task4_adam",
    _adam(
        "    m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)\n"
        "    next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat + eps).sqrt()\n"
    ),
    ADAM,
    "epsilon inside the square root",
)
m.wrong(
    "adam_eps_before_bias_correction",
    "task4_adam",
    _adam(
        "    step = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)\n"
        "    next_w = w - lr * weight_decay * w - step * m / (v.sqrt() + eps)\n"
    ),
    ADAM,
    "the paper's 'efficient' form with eps added before the bias correction (eps scaled by sqrt(1 - beta2^t))",
)
m.wrong(
    "adam_coupled_l2",
    "task4_adam",
    m.edit(
        "task4_adam",
        (
            "    m = beta1 * m + (1 - beta1) * dw\n",
            "    dw = dw + weight_decay * w\n    m = beta1 * m + (1 - beta1) * dw\n",
        ),
        (
            "next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat.sqrt() + eps)",
            "next_w = w - lr * m_hat / (v_hat.sqrt() + eps)",
        ),
    ),
    m.cells("task4_visible", "task4_hidden"),
    "weight decay as an L2 term added to the gradient (Adam's weight_decay) instead of decoupled",
)
m.wrong(
    "adam_decay_after_step",
    "task4_adam",
    _adam(
        "    m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)\n"
        "    next_w = (w - lr * m_hat / (v_hat.sqrt() + eps)) * (1 - lr * weight_decay)\n"
    ),
    m.cells("task4_visible", "task4_hidden"),
    "decays the updated weights instead of theta_(t-1)",
)
m.wrong(
    "adam_stores_corrected_moments",
    "task4_adam",
    m.edit("task4_adam", ("config.update(m=m, v=v, t=t)", "config.update(m=m_hat, v=v_hat, t=t)")),
    ADAM,
    "keeps the bias-corrected averages as the state",
)
m.correct(
    "adam_torch_arithmetic",
    "task4_adam",
    _adam(
        "    bias_correction1 = 1 - beta1**t\n    bias_correction2 = 1 - beta2**t\n"
        "    denom = v.sqrt() / math.sqrt(bias_correction2) + eps\n"
        "    next_w = w * (1 - lr * weight_decay) - (lr / bias_correction1) * m / denom\n"
    ),
    "torch.optim's own order: step size lr / bc1, denominator sqrt(v) / sqrt(bc2) + eps",
)
m.correct(
    "adam_lerp_in_place",
    "task4_adam",
    m.edit(
        "task4_adam",
        ("    m = beta1 * m + (1 - beta1) * dw\n", "    m = torch.lerp(m, dw, 1 - beta1)\n"),
        (
            "    v = beta2 * v + (1 - beta2) * dw * dw\n",
            "    v = v.mul(beta2).addcmul_(dw, dw, value=1 - beta2)\n",
        ),
    ),
    "lerp for the first moment, mul and addcmul_ for the second",
)
m.loop(
    "adam_loop_over_entries",
    "task4_adam",
    m.edit(
        "task4_adam",
        (
            "    next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat.sqrt() + eps)\n",
            "    next_w = w.clone()\n    for i in range(w.numel()):\n"
            "        next_w.view(-1)[i] = w.reshape(-1)[i] * (1 - lr * weight_decay) - lr * m_hat.reshape(-1)[i] / "
            "(v_hat.reshape(-1)[i].sqrt() + eps)\n",
        ),
    ),
    ADAM,
    "the last line one entry at a time (right numbers)",
)
m.rule(
    "adam_from_course_package",
    "task4_adam",
    m.edit(
        "task4_adam",
        (
            "    next_w = w - lr * weight_decay * w - lr * m_hat / (v_hat.sqrt() + eps)\n",
            "    from dlcourse.optim import AdamW\n\n"
            "    p = w.detach().clone()\n"
            "    opt = AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)\n"
            "    opt.state[p].update(step=torch.tensor(float(t - 1)), exp_avg=config.get('m', torch.zeros_like(w)).clone(),\n"
            "                        exp_avg_sq=config.get('v', torch.zeros_like(w)).clone())\n"
            "    p.grad = dw.clone()\n    opt.step()\n    next_w = p\n",
        ),
    ),
    "the course package's AdamW does the step",
)

VARIANTS = m.variants

"""Planted answers for problem set 3 (activations, their derivatives, gradient norms layer by layer)."""

from psets import Maker

m = Maker("ps3_activations")
SIGMOID_TANH = m.task_cells("task1")
RELUS = m.task_cells("task2")
ELU_GELU = m.task_cells("task3")
NORMS = m.task_cells("task4")
# gradient_norms calls the activations of Tasks 1 and 2.
AFFECTS = {"task1_sigmoid_tanh": SIGMOID_TANH + NORMS, "task2_relu": RELUS + NORMS}

# ---- Task 1: sigmoid and tanh
m.wrong(
    "sigmoid_exp_over_one_plus_exp",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        ("return 1.0 / (1.0 + torch.exp(-x))", "return torch.exp(x) / (1.0 + torch.exp(x))"),
    ),
    SIGMOID_TANH,
    "e^x / (1 + e^x): inf / inf = nan for large x",
)
m.wrong(
    "sigmoid_grad_missing_one_minus",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        ("    s = sigmoid(x)\n    return s * (1.0 - s)", "    s = sigmoid(x)\n    return s * s"),
    ),
    SIGMOID_TANH + NORMS,
    "sigma'(x) taken as sigma(x)^2",
)
m.wrong(
    "tanh_textbook_formula",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    e = torch.exp(-2.0 * x.abs())  # in (0, 1]: never overflows\n"
            "    return torch.sign(x) * (1.0 - e) / (1.0 + e)",
            "    return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))",
        ),
    ),
    SIGMOID_TANH,
    "(e^x - e^-x) / (e^x + e^-x): nan once e^|x| overflows",
)
m.wrong(
    "tanh_grad_plus",
    "task1_sigmoid_tanh",
    m.edit("task1_sigmoid_tanh", ("    return 1.0 - t * t", "    return 1.0 + t * t")),
    SIGMOID_TANH + NORMS,
    "1 + tanh^2 instead of 1 - tanh^2",
)
m.wrong(
    "tanh_as_sigmoid_of_x",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    e = torch.exp(-2.0 * x.abs())  # in (0, 1]: never overflows\n"
            "    return torch.sign(x) * (1.0 - e) / (1.0 + e)",
            "    return 2.0 * sigmoid(x) - 1.0",
        ),
    ),
    SIGMOID_TANH + NORMS,
    "2 sigma(x) - 1 instead of 2 sigma(2x) - 1 (that is tanh(x/2))",
)
m.correct(
    "tanh_from_sigmoid",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    e = torch.exp(-2.0 * x.abs())  # in (0, 1]: never overflows\n"
            "    return torch.sign(x) * (1.0 - e) / (1.0 + e)",
            "    return 2.0 * sigmoid(2.0 * x) - 1.0",
        ),
        ("    s = sigmoid(x)\n    return s * (1.0 - s)", "    return sigmoid(x) * sigmoid(-x)"),
    ),
    "tanh as 2 sigma(2x) - 1; sigma' as sigma(x) sigma(-x)",
)
m.correct(
    "sigmoid_two_branches",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    return 1.0 / (1.0 + torch.exp(-x))",
            "    e = torch.exp(-x.abs())\n    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
        ),
    ),
    "the two-branch stable sigmoid",
)
m.loop(
    "tanh_grad_loop",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    t = tanh(x)\n    return 1.0 - t * t",
            "    out = torch.empty_like(x)\n    for i in range(x.numel()):\n"
            "        t = tanh(x.reshape(-1)[i])\n        out.view(-1)[i] = 1.0 - t * t\n    return out",
        ),
    ),
    SIGMOID_TANH + m.cells("task4_visible"),
    "one entry at a time (right numbers; Task 4's visible test counts with tanh)",
)
m.rule(
    "tanh_alias",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        (
            "    e = torch.exp(-2.0 * x.abs())  # in (0, 1]: never overflows\n"
            "    return torch.sign(x) * (1.0 - e) / (1.0 + e)",
            "    return _th(x)",
        ),
    ),
    "torch.tanh through an alias made in another cell",
    prelude="_th = torch.tanh\n",
    also=("task4",),
)
m.rule(
    "sigmoid_getattr",
    "task1_sigmoid_tanh",
    m.edit(
        "task1_sigmoid_tanh",
        ("    return 1.0 / (1.0 + torch.exp(-x))", '    return getattr(x, "sig" + "moid")()'),
    ),
    "Tensor.sigmoid reached with getattr and a built string",
    also=("task4",),
)

# ---- Task 2: ReLU, leaky ReLU, PReLU
m.wrong(
    "relu_grad_one_at_zero",
    "task2_relu",
    m.edit("task2_relu", ("return (x > 0).to(x.dtype)", "return (x >= 0).to(x.dtype)")),
    RELUS,
    "relu'(0) = 1 instead of autograd's 0",
)
m.wrong(
    "relu_grad_bool",
    "task2_relu",
    m.edit("task2_relu", ("return (x > 0).to(x.dtype)", "return x > 0")),
    RELUS,
    "a bool tensor instead of x's dtype",
)
m.wrong(
    "leaky_grad_one_at_zero",
    "task2_relu",
    m.edit(
        "task2_relu",
        (
            "return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))",
            "return torch.where(x >= 0, torch.ones_like(x), torch.full_like(x, negative_slope))",
        ),
    ),
    RELUS,
    "leaky'(0) = 1 instead of a",
)
m.wrong(
    "prelu_da_mean",
    "task2_relu",
    m.edit("task2_relu", ("torch.zeros_like(x)).sum(dim=0)", "torch.zeros_like(x)).mean(dim=0)")),
    RELUS,
    "the slope's gradient averaged over the batch instead of summed",
)
m.wrong(
    "prelu_da_all_inputs",
    "task2_relu",
    m.edit(
        "task2_relu",
        (
            "da = torch.where(negative, x * dout, torch.zeros_like(x)).sum(dim=0)",
            "da = (x * dout).sum(dim=0)",
        ),
    ),
    RELUS,
    "da sums x dout over all inputs, the positive ones included",
)
m.wrong(
    "prelu_dx_ignores_slope",
    "task2_relu",
    m.edit(
        "task2_relu",
        (
            "dx = torch.where(negative, a * dout, dout)",
            "dx = torch.where(negative, torch.zeros_like(dout), dout)",
        ),
    ),
    RELUS,
    "dx as for a ReLU (slope 0 on the negative side)",
)
m.correct(
    "relus_with_maximum_and_masks",
    "task2_relu",
    m.edit(
        "task2_relu",
        ("return torch.where(x > 0, x, torch.zeros_like(x))", "return x * (x > 0)"),
        ("return torch.where(x > 0, x, negative_slope * x)", "return torch.maximum(x, negative_slope * x)"),
        (
            "da = torch.where(negative, x * dout, torch.zeros_like(x)).sum(dim=0)",
            "da = (x * dout * negative.to(x.dtype)).sum(dim=0)",
        ),
    ),
    "a mask product for ReLU, max(x, a x) for leaky ReLU (a < 1), a mask for da",
)
m.loop(
    "prelu_backward_loop",
    "task2_relu",
    m.function(
        "task2_relu",
        "prelu_backward",
        """
def prelu_backward(x, a, dout):
    dx = torch.empty_like(x)
    da = torch.zeros_like(a)
    for n in range(x.shape[0]):
        negative = x[n] <= 0
        dx[n] = torch.where(negative, a * dout[n], dout[n])
        da += torch.where(negative, x[n] * dout[n], torch.zeros_like(x[n]))
    return dx, da
""",
    ),
    m.cells("task2_visible", "task2_hidden"),
    "one example at a time (right numbers)",
)
m.rule(
    "relu_from_course_package",
    "task2_relu",
    m.edit(
        "task2_relu",
        (
            "    return torch.where(x > 0, x, torch.zeros_like(x))",
            "    from dlcourse.activations import relu as course_relu\n\n    return course_relu(x)",
        ),
    ),
    "the course package's relu",
    also=("task4",),
)
m.rule(
    "relu_clamp",
    "task2_relu",
    m.edit(
        "task2_relu", ("    return torch.where(x > 0, x, torch.zeros_like(x))", "    return x.clamp(min=0)")
    ),
    "Tensor.clamp, banned in this task (Task 4 allows it: its tests keep their points)",
)

# ---- Task 3: ELU and GELU
m.wrong(
    "elu_mask_arithmetic",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        (
            "return torch.where(x > 0, x, alpha * torch.expm1(torch.minimum(x, torch.zeros_like(x))))",
            "return (x > 0) * x + (x <= 0) * alpha * (torch.exp(x) - 1)",
        ),
    ),
    ELU_GELU,
    "masks multiplied in: 0 * inf = nan for large x",
)
m.wrong(
    "elu_grad_one_at_zero",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        (
            "return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.minimum(x, torch.zeros_like(x))))",
            "return torch.where(x >= 0, torch.ones_like(x), alpha * torch.exp(torch.minimum(x, torch.zeros_like(x))))",
        ),
    ),
    m.cells("task3_hidden"),
    "elu'(0) = 1 instead of alpha: only an exact zero with alpha != 1 shows it",
)
m.wrong(
    "gelu_tanh_approximation",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        (
            "return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))",
            "return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))",
        ),
    ),
    ELU_GELU,
    "the tanh approximation where the exact form is asked for (errors near 1e-3)",
)
m.wrong(
    "gelu_grad_missing_density_term",
    "task3_elu_gelu",
    m.edit("task3_elu_gelu", ("    return cdf + x * pdf", "    return cdf")),
    ELU_GELU,
    "gelu' taken as Phi(x), forgetting the product rule's x phi(x)",
)
m.wrong(
    "gelu_erf_without_sqrt2",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        ("return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))", "return x * 0.5 * (1.0 + torch.erf(x))"),
    ),
    ELU_GELU,
    "Phi(x) written as (1 + erf(x)) / 2",
)
m.wrong(
    "gelu_grad_unnormalised_density",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        ("pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)", "pdf = torch.exp(-0.5 * x * x)"),
    ),
    ELU_GELU,
    "the normal density without its 1 / sqrt(2 pi)",
)
m.correct(
    "elu_gelu_rewritten",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        (
            "return torch.where(x > 0, x, alpha * torch.expm1(torch.minimum(x, torch.zeros_like(x))))",
            "return torch.where(x > 0, x, alpha * (torch.exp(x.clamp(max=0)) - 1))",
        ),
        (
            "return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))",
            "return 0.5 * x * torch.erfc(-x * math.sqrt(0.5))",
        ),
    ),
    "exp - 1 on a clamped input; Phi through erfc",
)
m.loop(
    "gelu_grad_loop",
    "task3_elu_gelu",
    m.edit(
        "task3_elu_gelu",
        (
            "    return cdf + x * pdf",
            "    out = torch.empty_like(x)\n    for i in range(x.numel()):\n"
            "        out.view(-1)[i] = cdf.reshape(-1)[i] + x.reshape(-1)[i] * pdf.reshape(-1)[i]\n    return out",
        ),
    ),
    ELU_GELU,
    "the last line one entry at a time (right numbers)",
)
m.rule(
    "gelu_functional_alias",
    "task3_elu_gelu",
    m.edit("task3_elu_gelu", ("return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))", "return _gelu(x)")),
    "torch.nn.functional.gelu through an alias made in another cell",
    prelude="from torch.nn.functional import gelu as _gelu\n",
)

# ---- Task 4: gradient norms
m.wrong(
    "norms_without_activation_derivative",
    "task4_norms",
    m.edit("task4_norms", ("        delta = dA * grad_fn(Z)\n", "        delta = dA\n")),
    NORMS,
    "backpropagates as if the layers were linear",
)
m.wrong(
    "norms_derivative_at_output",
    "task4_norms",
    m.edit("task4_norms", ("        delta = dA * grad_fn(Z)\n", "        delta = dA * grad_fn(fn(Z))\n")),
    NORMS,
    "the derivative evaluated at the activation A instead of the pre-activation Z",
)
m.wrong(
    "norms_of_deltas",
    "task4_norms",
    m.edit(
        "task4_norms",
        ("norms.append(torch.linalg.norm(A_prev.T @ delta))", "norms.append(torch.linalg.norm(delta))"),
    ),
    NORMS,
    "the norms of the deltas instead of the weight gradients",
)
m.wrong(
    "norms_top_layer_first",
    "task4_norms",
    m.edit("task4_norms", ("return torch.stack(norms[::-1])", "return torch.stack(norms)")),
    NORMS,
    "returned in backward order (layer L first)",
)
m.wrong(
    "norms_untransposed_weights",
    "task4_norms",
    m.edit(
        "task4_norms",
        (
            "        dA = delta @ W.T\n",
            "        dA = delta @ W if W.shape[0] == W.shape[1] else delta @ W.T\n",
        ),
    ),
    m.cells("task4_hidden"),
    "delta W instead of delta W^T, silently wrong for square layers",
)
m.correct(
    "norms_recorded_forward",
    "task4_norms",
    m.function(
        "task4_norms",
        "gradient_norms",
        """
def gradient_norms(X, weights, activation, dout):
    if activation == "sigmoid":
        fn, grad_fn = sigmoid, sigmoid_grad
    elif activation == "tanh":
        fn, grad_fn = tanh, tanh_grad
    elif activation == "relu":
        fn, grad_fn = relu, relu_grad
    else:
        raise ValueError(f"unknown activation {activation!r}")
    As, Zs = [X], []
    for W in weights:
        Zs.append(As[-1] @ W)
        As.append(fn(Zs[-1]))
    norms = torch.zeros(len(weights), dtype=X.dtype)
    dA = dout
    for l in range(len(weights) - 1, -1, -1):
        delta = dA * grad_fn(Zs[l])
        norms[l] = (As[l].T @ delta).pow(2).sum().sqrt()
        dA = delta @ weights[l].T
    return norms
""",
    ),
    "lists indexed by layer, the norm as the root of a sum of squares, filled into a tensor",
)
m.loop(
    "norms_loop_over_examples",
    "task4_norms",
    m.edit(
        "task4_norms",
        (
            "        norms.append(torch.linalg.norm(A_prev.T @ delta))\n",
            "        grad_W = torch.zeros_like(W)\n        for n in range(A_prev.shape[0]):\n"
            "            grad_W += torch.outer(A_prev[n], delta[n])\n        norms.append(torch.linalg.norm(grad_W))\n",
        ),
    ),
    NORMS,
    "the weight gradient accumulated example by example (right numbers)",
)
m.rule(
    "norms_autograd",
    "task4_norms",
    m.function(
        "task4_norms",
        "gradient_norms",
        """
def gradient_norms(X, weights, activation, dout):
    if activation not in ("sigmoid", "tanh", "relu"):
        raise ValueError(f"activation must be sigmoid, tanh or relu, got {activation!r}")
    fn = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}[activation]
    leaves = [W.detach().clone().requires_grad_(True) for W in weights]
    A = X
    for W in leaves:
        A = fn(A @ W)
    grads = getattr(torch.autograd, "gr" + "ad")(A, leaves, grad_outputs=dout)
    return torch.stack([torch.linalg.norm(g) for g in grads])
""",
    ),
    "torch.autograd.grad reached with getattr",
)

VARIANTS = m.variants

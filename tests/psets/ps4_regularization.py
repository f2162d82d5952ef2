"""Planted answers for problem set 4 (dropout, a regularised classifier, proximal steps and ISTA)."""

from psets import Maker

m = Maker("ps4_regularization")
DROPOUT = m.task_cells("task1")
CLASSIFIER = m.task_cells("task2")
PROX = m.task_cells("task3")
# classifier_loss calls dropout_forward and dropout_backward; its tests ask dropout_forward for the mask.
AFFECTS = {"task1_dropout": DROPOUT + CLASSIFIER}

# ---- Task 1: dropout
m.wrong(
    "dropout_keeps_with_probability_p",
    "task1_dropout",
    m.edit("task1_dropout", ("generator=g) >= p)", "generator=g) < p)")),
    DROPOUT,
    "keeps an entry with probability p (the paper's letter) instead of 1 - p",
)
m.wrong(
    "dropout_no_rescaling",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        ("return x * mask / (1.0 - p), mask", "return x * mask, mask"),
        ("return dout * mask / (1.0 - p)", "return dout * mask"),
    ),
    DROPOUT + CLASSIFIER,
    "the kept entries are not divided by 1 - p (forward and backward)",
)
m.wrong(
    "dropout_scales_by_keep_probability",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        ("return x * mask / (1.0 - p), mask", "return x * mask * (1.0 - p), mask"),
        ("return dout * mask / (1.0 - p)", "return dout * mask * (1.0 - p)"),
    ),
    DROPOUT + CLASSIFIER,
    "multiplies by 1 - p (the original form's test-time factor) instead of dividing",
)
m.wrong(
    "dropout_ignores_seed",
    "task1_dropout",
    m.edit("task1_dropout", ("torch.rand(x.shape, generator=g)", "torch.rand(x.shape)")),
    DROPOUT + CLASSIFIER,
    "draws from the global random state: the same seed does not give the same mask",
)
m.wrong(
    "dropout_one_mask_for_all_rows",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        ("torch.rand(x.shape, generator=g)", "torch.rand(x.shape[-1:], generator=g).expand(x.shape)"),
    ),
    DROPOUT,
    "one mask for the last dimension, shared by every row: the entries are not independent",
)
m.wrong(
    "dropout_mask_bool",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        (
            "mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)",
            "mask = torch.rand(x.shape, generator=g) >= p",
        ),
    ),
    DROPOUT,
    "the mask returned as a bool tensor instead of x's dtype",
)
m.wrong(
    "dropout_p_one_divides_by_zero",
    "task1_dropout",
    m.edit(
        "task1_dropout", ("    if p == 1.0:\n        return torch.zeros_like(x), torch.zeros_like(x)\n", "")
    ),
    m.cells("task1_hidden"),
    "p = 1 not handled: 0 / 0 = nan",
)
m.wrong(
    "dropout_backward_without_scale",
    "task1_dropout",
    m.edit("task1_dropout", ("return dout * mask / (1.0 - p)", "return dout * mask")),
    DROPOUT + CLASSIFIER,
    "the backward pass forgets the 1 / (1 - p)",
)
m.wrong(
    "dropout_coin_flips",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        (
            "mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)",
            "mask = torch.randint(0, 2, x.shape, generator=g).to(x.dtype)",
        ),
    ),
    DROPOUT,
    "fair coin flips: keeps half of the entries whatever p",
)
m.correct(
    "dropout_draw_in_x_dtype",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        ("torch.rand(x.shape, generator=g)", "torch.rand(x.shape, generator=g, dtype=x.dtype)"),
    ),
    "the uniform numbers drawn in x's dtype (the book's own dropout): another mask, equally correct",
)
m.correct(
    "dropout_bernoulli_where",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        ("        return x.clone(), torch.ones_like(x)\n", "        return x, torch.ones_like(x)\n"),
        (
            "    mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)\n    return x * mask / (1.0 - p), mask",
            "    mask = torch.bernoulli(torch.full(x.shape, 1.0 - p, dtype=x.dtype), generator=g)\n"
            "    return torch.where(mask > 0, x / (1.0 - p), torch.zeros_like(x)), mask",
        ),
    ),
    "torch.bernoulli, torch.where, and x itself returned in evaluation mode",
)
m.loop(
    "dropout_row_by_row",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        (
            "    mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)\n",
            "    mask = torch.empty_like(x)\n    for n in range(x.shape[0]):\n"
            "        mask[n] = (torch.rand(x.shape[1:], generator=g) >= p).to(x.dtype)\n",
        ),
    ),
    m.cells("task1_visible") + CLASSIFIER,
    "one row at a time from the same generator (the same mask, N times the operations; the classifier calls it)",
)
m.rule(
    "dropout_functional_global_seed",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        (
            "    g = torch.Generator().manual_seed(seed)\n"
            "    mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)\n"
            "    return x * mask / (1.0 - p), mask",
            "    torch.manual_seed(seed)\n    out = _drop(x, p)\n    return out, (out != 0).to(x.dtype)",
        ),
    ),
    "torch.nn.functional.dropout (through an alias made in another cell) seeded with torch.manual_seed",
    prelude="_drop = torch.nn.functional.dropout\n",
    also=("task2",),
)
m.rule(
    "dropout_from_course_package",
    "task1_dropout",
    m.edit(
        "task1_dropout",
        (
            "    mask = (torch.rand(x.shape, generator=g) >= p).to(x.dtype)\n    return x * mask / (1.0 - p), mask",
            "    from dlcourse.regularization import dropout\n\n"
            "    out = dropout(torch.ones_like(x), p, generator=g)\n    mask = (out != 0).to(x.dtype)\n"
            "    return x * mask / (1.0 - p), mask",
        ),
    ),
    "the mask taken from the course package's dropout",
    also=("task2",),
)

# ---- Task 2: the regularised classifier
m.wrong(
    "classifier_penalty_gradient_doubled",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        ("dW2 = H_drop.T @ dZ + lam * W2", "dW2 = H_drop.T @ dZ + 2 * lam * W2"),
        ("dW1 = X.T @ dZ1 + lam * W1", "dW1 = X.T @ dZ1 + 2 * lam * W1"),
    ),
    CLASSIFIER,
    "the gradient of lam/2 ||W||^2 taken as 2 lam W",
)
m.wrong(
    "classifier_penalises_biases",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        (
            "((W1 * W1).sum() + (W2 * W2).sum())",
            "((W1 * W1).sum() + (W2 * W2).sum() + (b1 * b1).sum() + (b2 * b2).sum())",
        ),
        ("db2 = dZ.sum(dim=0)", "db2 = dZ.sum(dim=0) + lam * b2"),
        ("db1 = dZ1.sum(dim=0)", "db1 = dZ1.sum(dim=0) + lam * b1"),
    ),
    CLASSIFIER,
    "the biases penalised too",
)
m.wrong(
    "classifier_no_max_shift",
    "task2_classifier",
    m.edit("task2_classifier", ("shifted = Z - Z.max(dim=1, keepdim=True).values", "shifted = Z")),
    m.cells("task2_hidden"),
    "log-softmax without subtracting the maximum: overflows for large scores",
)
m.wrong(
    "classifier_skips_dropout_backward",
    "task2_classifier",
    m.edit("task2_classifier", ("dH = dropout_backward(dZ @ W2.T, mask, p)", "dH = dZ @ W2.T")),
    CLASSIFIER,
    "backpropagates through dropout as if it were the identity",
)
m.wrong(
    "classifier_dW2_from_undropped",
    "task2_classifier",
    m.edit("task2_classifier", ("dW2 = H_drop.T @ dZ + lam * W2", "dW2 = H.T @ dZ + lam * W2")),
    CLASSIFIER,
    "dW2 from the activations before dropout",
)
m.wrong(
    "classifier_sum_not_mean",
    "task2_classifier",
    m.edit("task2_classifier", ("    dZ = dZ / N\n", "")),
    CLASSIFIER,
    "the gradient of the sum of the losses, the loss itself a mean",
)
m.correct(
    "classifier_logsumexp_dropped_mask",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        (
            "    shifted = Z - Z.max(dim=1, keepdim=True).values\n"
            "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n",
            "    log_probs = Z - torch.logsumexp(Z, dim=1, keepdim=True)\n",
        ),
        ("dZ1 = dH * (Z1 > 0)", "dZ1 = dH * (H_drop > 0)"),
        ("0.5 * lam * ((W1 * W1).sum() + (W2 * W2).sum())", "lam / 2 * (W1.pow(2).sum() + W2.pow(2).sum())"),
    ),
    "logsumexp; the ReLU mask read from the dropped activations (equal where the gradient is not 0)",
)
m.loop(
    "classifier_softmax_row_by_row",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        (
            "    dZ = torch.exp(log_probs)\n    dZ[rows, y] -= 1.0\n",
            "    dZ = torch.empty_like(Z)\n    for n in range(N):\n"
            "        dZ[n] = torch.exp(log_probs[n])\n        dZ[n, y[n]] -= 1.0\n",
        ),
    ),
    CLASSIFIER,
    "the softmax gradient one example at a time (right numbers)",
)
m.rule(
    "classifier_log_softmax_alias",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        (
            "    shifted = Z - Z.max(dim=1, keepdim=True).values\n"
            "    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))\n",
            "    log_probs = _log_softmax(Z, dim=1)\n",
        ),
    ),
    "torch.log_softmax through an alias made in another cell",
    prelude="_log_softmax = torch.log_softmax\n",
)
m.rule(
    "classifier_getattr_softmax",
    "task2_classifier",
    m.edit(
        "task2_classifier",
        ("    dZ = torch.exp(log_probs)\n", '    dZ = getattr(Z, "soft" + "max")(dim=1)\n'),
    ),
    "Tensor.softmax reached with getattr and a built string",
)

# ---- Task 3: proximal steps and ISTA
m.wrong(
    "soft_threshold_without_clamp",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "return torch.sign(w) * torch.clamp(w.abs() - lam, min=0.0)",
            "return torch.sign(w) * (w.abs() - lam)",
        ),
    ),
    PROX,
    "sign(w)(|w| - lam) without the max: small weights flip sign instead of becoming 0",
)
m.wrong(
    "soft_threshold_is_hard",
    "task3_prox",
    m.edit(
        "task3_prox",
        ("return torch.sign(w) * torch.clamp(w.abs() - lam, min=0.0)", "return w * (w.abs() > lam)"),
    ),
    PROX,
    "hard thresholding: keeps large weights unshrunk",
)
m.wrong(
    "svt_thresholds_entries",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "    U, s, Vh = torch.linalg.svd(Y, full_matrices=False)\n"
            "    return U @ torch.diag(torch.clamp(s - tau, min=0.0)) @ Vh",
            "    return soft_threshold(Y, tau)",
        ),
    ),
    PROX,
    "soft-thresholds the entries of Y instead of its singular values",
)
m.wrong(
    "svt_transposes_Vh",
    "task3_prox",
    m.edit("task3_prox", ("@ Vh", "@ Vh.T")),
    PROX,
    "torch.linalg.svd already returns V^T: transposing it again",
)
m.wrong(
    "svt_without_clamp",
    "task3_prox",
    m.edit("task3_prox", ("torch.diag(torch.clamp(s - tau, min=0.0))", "torch.diag(s - tau)")),
    PROX,
    "singular values shifted by tau without the max (negative ones flip directions)",
)
m.wrong(
    "ista_threshold_without_step",
    "task3_prox",
    m.edit(
        "task3_prox",
        ("w = soft_threshold(w - lr * grad, lr * lam)", "w = soft_threshold(w - lr * grad, lam)"),
    ),
    PROX,
    "thresholds by lam instead of lr * lam (solves another problem)",
)
m.wrong(
    "ista_step_without_N",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "lr = 1.0 / torch.linalg.eigvalsh(X.T @ X / N)[-1].item()",
            "lr = 1.0 / torch.linalg.eigvalsh(X.T @ X)[-1].item()",
        ),
    ),
    PROX,
    "the step from the eigenvalue of X^T X instead of X^T X / N: N times too small, not converged",
)
m.correct(
    "prox_rewritten",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "return torch.sign(w) * torch.clamp(w.abs() - lam, min=0.0)",
            "return torch.where(w.abs() > lam, w - lam * torch.sign(w), torch.zeros_like(w))",
        ),
        (
            "return U @ torch.diag(torch.clamp(s - tau, min=0.0)) @ Vh",
            "return (U * (s - tau).clamp(min=0.0)) @ Vh",
        ),
        (
            "lr = 1.0 / torch.linalg.eigvalsh(X.T @ X / N)[-1].item()",
            "lr = N / torch.linalg.matrix_norm(X, ord=2).item() ** 2",
        ),
    ),
    "where for the soft-threshold, broadcasting instead of diag, the step from the spectral norm of X",
)
m.loop(
    "soft_threshold_loop",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "    return torch.sign(w) * torch.clamp(w.abs() - lam, min=0.0)",
            "    out = torch.zeros_like(w)\n    for i in range(w.numel()):\n"
            "        v = w.reshape(-1)[i]\n"
            "        out.view(-1)[i] = torch.sign(v) * torch.clamp(v.abs() - lam, min=0.0)\n    return out",
        ),
    ),
    m.cells("task3_hidden"),
    "one entry at a time (right numbers)",
)
m.rule(
    "lasso_from_sklearn",
    "task3_prox",
    m.function(
        "task3_prox",
        "lasso_ista",
        """
def lasso_ista(X, y, lam, steps=500):
    from sklearn.linear_model import Lasso

    if lam == 0:
        return torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    model = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100000)
    model.fit(X.double().numpy(), y.double().numpy())
    return torch.tensor(model.coef_, dtype=X.dtype)
""",
    ),
    "scikit-learn's Lasso solves the problem",
)
m.rule(
    "soft_threshold_from_course_package",
    "task3_prox",
    m.edit(
        "task3_prox",
        (
            "    return torch.sign(w) * torch.clamp(w.abs() - lam, min=0.0)",
            "    from dlcourse.regularization import soft_threshold as course_soft_threshold\n\n"
            "    return course_soft_threshold(w, lam)",
        ),
    ),
    "the course package's soft_threshold",
)

VARIANTS = m.variants

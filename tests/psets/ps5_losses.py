"""Planted answers for problem set 5 (log-softmax, cross-entropy with smoothing, softmax and hinge classifiers)."""

from psets import Maker

m = Maker("ps5_losses")
CE = m.task_cells("task1")
SOFTMAX = m.task_cells("task2")
HINGE = m.task_cells("task3")
# softmax_loss calls log_softmax.
AFFECTS = {"task1_cross_entropy": CE + SOFTMAX}

# ---- Task 1: log-softmax and cross-entropy
m.wrong(
    "log_softmax_without_shift",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            "    return Z - torch.log(torch.exp(Z).sum(dim=-1, keepdim=True))",
        ),
    ),
    CE + m.cells("task2_hidden"),
    "no maximum subtracted: exp overflows for logits of size 1000",
)
m.wrong(
    "log_softmax_over_rows",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            "    shifted = Z - Z.max(dim=0, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=0, keepdim=True))",
        ),
    ),
    CE + SOFTMAX,
    "normalised over the batch (dim 0) instead of the classes",
)
m.wrong(
    "smoothing_over_wrong_classes_only",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    uniform = -log_probs.sum(dim=1) / K\n",
            "    uniform = -(log_probs.sum(dim=1) + nll) / (K - 1) if K > 1 else nll\n",
        ),
    ),
    CE,
    "spreads epsilon over the K - 1 wrong classes only (the true class gets exactly 1 - epsilon)",
)
m.wrong(
    "cross_entropy_sum",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "return ((1.0 - label_smoothing) * nll + label_smoothing * uniform).mean()",
            "return ((1.0 - label_smoothing) * nll + label_smoothing * uniform).sum()",
        ),
    ),
    CE,
    "the sum over the batch instead of the mean",
)
m.wrong(
    "smoothing_without_true_share",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        ("    uniform = -log_probs.sum(dim=1) / K\n", "    uniform = -(log_probs.sum(dim=1) + nll) / K\n"),
    ),
    CE,
    "the uniform part leaves out the true class (its target is 1 - eps + 0 instead of 1 - eps + eps/K)",
)
m.correct(
    "cross_entropy_explicit_target",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            "    m = Z.amax(dim=-1, keepdim=True)\n    return Z - (m + torch.exp(Z - m).sum(dim=-1, keepdim=True).log())",
        ),
        (
            "    nll = -log_probs[torch.arange(N), y]\n    uniform = -log_probs.sum(dim=1) / K\n"
            "    return ((1.0 - label_smoothing) * nll + label_smoothing * uniform).mean()",
            "    q = (1.0 - label_smoothing) * torch.eye(K, dtype=Z.dtype)[y] + label_smoothing / K\n"
            "    return -(q * log_probs).sum(dim=1).mean()",
        ),
    ),
    "the log-sum-exp written as m + log sum exp(z - m); the smoothed target built as a matrix",
)
m.loop(
    "cross_entropy_loop",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    nll = -log_probs[torch.arange(N), y]\n",
            "    nll = torch.stack([-log_probs[n, y[n]] for n in range(N)])\n",
        ),
    ),
    m.cells("task1_visible"),
    "the true-class log-probabilities picked one example at a time (right numbers)",
)
m.rule(
    "log_softmax_alias",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            "    return _ls(Z, dim=-1)",
        ),
    ),
    "torch.log_softmax through an alias made in another cell",
    prelude="_ls = torch.log_softmax\n",
    also=("task2",),
)
m.rule(
    "log_softmax_from_course_package",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            "    from dlcourse.losses import log_softmax as course_log_softmax\n\n    return course_log_softmax(Z)",
        ),
    ),
    "the course package's log_softmax",
    also=("task2",),
)
m.rule(
    "logsumexp_getattr",
    "task1_cross_entropy",
    m.edit(
        "task1_cross_entropy",
        (
            "    shifted = Z - Z.max(dim=-1, keepdim=True).values\n"
            "    return shifted - torch.log(torch.exp(shifted).sum(dim=-1, keepdim=True))",
            '    return Z - getattr(torch, "log" + "sumexp")(Z, dim=-1, keepdim=True)',
        ),
    ),
    "torch.logsumexp reached with getattr and a built string",
    also=("task2",),
)

# ---- Task 2: the softmax classifier
m.wrong(
    "softmax_grad_not_divided_by_N",
    "task2_softmax",
    m.edit(
        "task2_softmax",
        (
            "dW = X.T @ (torch.exp(log_probs) - Q) / N + lam * W",
            "dW = X.T @ (torch.exp(log_probs) - Q) + lam * W",
        ),
    ),
    SOFTMAX,
    "the gradient of the summed loss, the loss itself a mean",
)
m.wrong(
    "softmax_penalty_gradient_doubled",
    "task2_softmax",
    m.edit("task2_softmax", ("/ N + lam * W", "/ N + 2 * lam * W")),
    SOFTMAX,
    "the gradient of lam/2 ||W||^2 taken as 2 lam W",
)
m.wrong(
    "softmax_grad_ignores_smoothing",
    "task2_softmax",
    m.edit(
        "task2_softmax",
        (
            "dW = X.T @ (torch.exp(log_probs) - Q) / N + lam * W",
            "Y = torch.zeros_like(Z)\n    Y[torch.arange(N), y] = 1.0\n    dW = X.T @ (torch.exp(log_probs) - Y) / N + lam * W",
        ),
    ),
    SOFTMAX,
    "S - Y with the one-hot labels in the gradient, although the loss uses the smoothed targets",
)
m.wrong(
    "softmax_penalty_gradient_sign",
    "task2_softmax",
    m.edit(
        "task2_softmax",
        (
            "dW = X.T @ (torch.exp(log_probs) - Q) / N + lam * W",
            "dW = ((torch.exp(log_probs) - Q).T @ X).T / N - lam * W",
        ),
    ),
    SOFTMAX,
    "the penalty gradient subtracted, written through transposes",
)
m.wrong(
    "softmax_probabilities_unshifted",
    "task2_softmax",
    m.edit(
        "task2_softmax",
        (
            "dW = X.T @ (torch.exp(log_probs) - Q) / N + lam * W",
            "S = torch.exp(Z) / torch.exp(Z).sum(dim=1, keepdim=True)\n    dW = X.T @ (S - Q) / N + lam * W",
        ),
    ),
    m.cells("task2_hidden"),
    "the probabilities of the gradient computed without the shift: nan for large scores",
)
m.correct(
    "softmax_probabilities_first",
    "task2_softmax",
    m.function(
        "task2_softmax",
        "softmax_loss",
        """
def softmax_loss(W, X, y, lam=0.0, label_smoothing=0.0):
    N, K = X.shape[0], W.shape[1]
    Z = X @ W
    Z = Z - Z.max(dim=1, keepdim=True).values
    E = torch.exp(Z)
    S = E / E.sum(dim=1, keepdim=True)
    Q = (1 - label_smoothing) * torch.eye(K, dtype=W.dtype)[y] + label_smoothing / K
    loss = (Q * (torch.log(E.sum(dim=1, keepdim=True)) - Z)).sum() / N + lam / 2 * torch.sum(W**2)
    return loss, torch.mm(X.T, S - Q) / N + lam * W
""",
    ),
    "the probabilities first, the targets from torch.eye, the loss from log-sum-exp minus the logit",
)
m.loop(
    "softmax_naive_loop",
    "task2_softmax",
    m.function(
        "task2_softmax",
        "softmax_loss",
        """
def softmax_loss(W, X, y, lam=0.0, label_smoothing=0.0):
    N, K = X.shape[0], W.shape[1]
    loss = torch.zeros((), dtype=W.dtype)
    dW = torch.zeros_like(W)
    for n in range(N):
        log_probs = log_softmax(X[n] @ W)
        q = torch.full((K,), label_smoothing / K, dtype=W.dtype)
        q[y[n]] += 1.0 - label_smoothing
        loss = loss - (q * log_probs).sum() / N
        dW += torch.outer(X[n], torch.exp(log_probs) - q) / N
    return loss + 0.5 * lam * (W * W).sum(), dW + lam * W
""",
    ),
    SOFTMAX,
    "CS231n's naive version: one example at a time (right numbers)",
)
m.rule(
    "softmax_getattr",
    "task2_softmax",
    m.edit(
        "task2_softmax",
        (
            "dW = X.T @ (torch.exp(log_probs) - Q) / N + lam * W",
            'dW = X.T @ (getattr(torch, "soft" + "max")(Z, dim=1) - Q) / N + lam * W',
        ),
    ),
    "torch.softmax reached with getattr and a built string",
)

# ---- Task 3: the hinge
m.wrong(
    "hinge_counts_true_class",
    "task3_hinge",
    m.edit("task3_hinge", ("    margins[rows, y] = 0.0\n", "")),
    HINGE,
    "the term j = y_n left in: every example pays an extra margin",
)
m.wrong(
    "hinge_divided_by_K",
    "task3_hinge",
    m.edit(
        "task3_hinge",
        ("loss = (margins * active).sum() / N", "loss = (margins * active).sum() / (N * W.shape[1])"),
        ("dW = X.T @ dZ / N", "dW = X.T @ dZ / (N * W.shape[1])"),
    ),
    HINGE,
    "PyTorch's convention (divided by K) instead of the stated sum",
)
m.wrong(
    "hinge_no_correct_class_gradient",
    "task3_hinge",
    m.edit("task3_hinge", ("    dZ[rows, y] = -active.sum(dim=1)\n", "")),
    HINGE,
    "the gradient with respect to the correct class's column forgotten",
)
m.wrong(
    "hinge_margin_hard_coded",
    "task3_hinge",
    m.edit(
        "task3_hinge",
        ("margins = Z - Z[rows, y].unsqueeze(1) + margin", "margins = Z - Z[rows, y].unsqueeze(1) + 1.0"),
    ),
    m.cells("task3_visible", "task3_hidden"),
    "the margin fixed at 1 whatever the argument",
)
m.wrong(
    "hinge_margin_sign",
    "task3_hinge",
    m.edit(
        "task3_hinge",
        ("margins = Z - Z[rows, y].unsqueeze(1) + margin", "margins = Z[rows, y].unsqueeze(1) - Z + margin"),
    ),
    HINGE,
    "z_y - z_j + margin: penalises the correct ranking",
)
m.correct(
    "hinge_loop_over_classes",
    "task3_hinge",
    m.function(
        "task3_hinge",
        "hinge_loss",
        """
def hinge_loss(W, X, y, lam=0.0, margin=1.0):
    N, K = X.shape[0], W.shape[1]
    Z = X @ W
    correct = Z.gather(1, y[:, None])
    loss = torch.zeros((), dtype=W.dtype)
    dW = torch.zeros_like(W)
    for j in range(K):
        m = torch.clamp(Z[:, j : j + 1] - correct + margin, min=0) * (y[:, None] != j)
        loss = loss + m.sum() / N
        active = (m > 0).to(W.dtype)
        dW[:, j] += (X * active).sum(dim=0) / N
        dW -= X.T @ (active * torch.eye(K, dtype=W.dtype)[y]) / N
    return loss + 0.5 * lam * (W * W).sum(), dW + lam * W
""",
    ),
    "a loop over the K classes (allowed), each vectorized over the examples",
)
m.loop(
    "hinge_naive_loop",
    "task3_hinge",
    m.function(
        "task3_hinge",
        "hinge_loss",
        """
def hinge_loss(W, X, y, lam=0.0, margin=1.0):
    N, K = X.shape[0], W.shape[1]
    loss = 0.0
    dW = torch.zeros_like(W)
    for n in range(N):
        z = X[n] @ W
        for j in range(K):
            if j == y[n]:
                continue
            m = z[j] - z[y[n]] + margin
            if m > 0:
                loss = loss + m / N
                dW[:, j] += X[n] / N
                dW[:, y[n]] -= X[n] / N
    return torch.as_tensor(loss, dtype=W.dtype) + 0.5 * lam * (W * W).sum(), dW + lam * W
""",
    ),
    HINGE,
    "CS231n's naive double loop (right numbers)",
)
m.rule(
    "hinge_multi_margin_alias",
    "task3_hinge",
    m.edit(
        "task3_hinge",
        (
            "loss = (margins * active).sum() / N + 0.5 * lam * (W * W).sum()",
            "loss = W.shape[1] * _mm(Z, y, margin=margin) + 0.5 * lam * (W * W).sum()",
        ),
    ),
    "torch.nn.functional.multi_margin_loss through an alias made in another cell",
    prelude="from torch.nn.functional import multi_margin_loss as _mm\n",
)
m.rule(
    "hinge_from_course_package",
    "task3_hinge",
    m.edit(
        "task3_hinge",
        (
            "loss = (margins * active).sum() / N + 0.5 * lam * (W * W).sum()",
            "from dlcourse.losses import hinge_loss as course_hinge\n\n"
            "    loss = W.shape[1] * course_hinge(Z, y, margin=margin) + 0.5 * lam * (W * W).sum()",
        ),
    ),
    "the loss from the course package's hinge_loss",
)

VARIANTS = m.variants

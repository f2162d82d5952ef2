"""Planted answers for problem set 1 (layers, numerical gradients, a network of any depth)."""

from psets import Maker

m = Maker("ps1_backprop")
LAYERS = m.task_cells("task1")
NUMGRAD = m.task_cells("task2")
NETWORK = m.task_cells("task3")
# network_loss calls the layers of Task 1: a wrong layer also fails Task 3's tests.
AFFECTS = {"task1_affine": LAYERS + NETWORK, "task1_sigmoid": LAYERS + NETWORK, "task1_mse": LAYERS + NETWORK}

# ---- Task 1 (a): the affine layer
m.wrong(
    "affine_db_mean",
    "task1_affine",
    m.edit("task1_affine", ("db = dZ.sum(dim=0)", "db = dZ.mean(dim=0)")),
    LAYERS + NETWORK,
    "bias gradient averaged over the batch instead of summed (off by a factor N)",
)
m.wrong(
    "affine_dW_transposed",
    "task1_affine",
    m.edit("task1_affine", ("dW = X.T @ dZ", "dW = dZ.T @ X")),
    LAYERS + NETWORK,
    "transposed weight gradient (shape (n_out, n_in); wrong values when square)",
)
m.wrong(
    "affine_dX_untransposed",
    "task1_affine",
    m.edit("task1_affine", ("dX = dZ @ W.T", "dX = dZ @ W")),
    LAYERS + NETWORK,
    "dX = dZ W instead of dZ W^T (fails on shapes, or silently when W is square)",
)
m.wrong(
    "affine_no_bias",
    "task1_affine",
    m.edit("task1_affine", ("Z = X @ W + b", "Z = X @ W")),
    LAYERS + NETWORK,
    "forward pass forgets the bias",
)
m.wrong(
    "affine_db_wrong_axis",
    "task1_affine",
    m.edit("task1_affine", ("db = dZ.sum(dim=0)", "db = dZ.sum(dim=1)")),
    LAYERS + NETWORK,
    "bias gradient summed over the units instead of the examples",
)
m.correct(
    "affine_einsum",
    "task1_affine",
    m.edit(
        "task1_affine",
        ("dX = dZ @ W.T", 'dX = torch.einsum("nj,ij->ni", dZ, W)'),
        ("dW = X.T @ dZ", 'dW = torch.einsum("ni,nj->ij", X, dZ)'),
    ),
    "the same products written with einsum",
)
m.correct(
    "affine_addmm_transposes",
    "task1_affine",
    m.edit(
        "task1_affine",
        ("Z = X @ W + b", "Z = torch.addmm(b, X, W)"),
        ("dX = dZ @ W.T", "dX = (W @ dZ.T).T"),
        ("dW = X.T @ dZ", "dW = (dZ.T @ X).T"),
        ("db = dZ.sum(dim=0)", "db = torch.ones(dZ.shape[0], dtype=dZ.dtype) @ dZ"),
    ),
    "addmm, transposed products and the bias gradient as a product with a vector of ones",
)
m.loop(
    "affine_backward_loop",
    "task1_affine",
    m.function(
        "task1_affine",
        "affine_backward",
        """
def affine_backward(dZ, cache):
    X, W, b = cache
    dX = torch.zeros_like(X)
    dW = torch.zeros_like(W)
    db = torch.zeros_like(b)
    for n in range(X.shape[0]):
        dX[n] = W @ dZ[n]
        dW += torch.outer(X[n], dZ[n])
        db += dZ[n]
    return dX, dW, db
""",
    ),
    LAYERS + NETWORK,
    "a Python loop over the examples (right numbers)",
)
m.rule(
    "affine_linear_alias",
    "task1_affine",
    m.edit("task1_affine", ("Z = X @ W + b", "Z = _linear(X, W.T, b)")),
    "torch.nn.functional.linear through an alias made in another cell",
    prelude="_linear = torch.nn.functional.linear\n",
    also=("task3",),
)

# ---- Task 1 (b): the sigmoid layer
m.wrong(
    "sigmoid_backward_missing_one_minus",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("return dA * A * (1.0 - A)", "return dA * A")),
    LAYERS + NETWORK,
    "sigma' taken as sigma instead of sigma (1 - sigma)",
)
m.wrong(
    "sigmoid_backward_ignores_upstream",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("return dA * A * (1.0 - A)", "return A * (1.0 - A)")),
    LAYERS + NETWORK,
    "local derivative returned without the upstream gradient dA",
)
m.wrong(
    "sigmoid_forward_sign",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("A = 1.0 / (1.0 + torch.exp(-Z))", "A = 1.0 / (1.0 + torch.exp(Z))")),
    LAYERS + NETWORK,
    "sign error in the exponent: computes sigma(-z)",
)
m.wrong(
    "sigmoid_forward_overflows",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("A = 1.0 / (1.0 + torch.exp(-Z))", "A = torch.exp(Z) / (1.0 + torch.exp(Z))")),
    LAYERS,
    "e^z / (1 + e^z): inf / inf = nan for large z",
)
m.wrong(
    "sigmoid_cache_is_Z",
    "task1_sigmoid",
    m.edit(
        "task1_sigmoid",
        ("return A, A", "return A, Z"),
        ("A = cache", "A = 1.0 / (1.0 + torch.exp(-cache))"),
    ),
    LAYERS,
    "caches Z instead of the specified A (consistent with itself, wrong for the stated cache)",
)
m.correct(
    "sigmoid_tanh_form",
    "task1_sigmoid",
    m.edit(
        "task1_sigmoid",
        ("A = 1.0 / (1.0 + torch.exp(-Z))", "A = 0.5 * (1.0 + torch.tanh(0.5 * Z))"),
        ("return dA * A * (1.0 - A)", "return dA * (A - A * A)"),
    ),
    "sigma(z) = (1 + tanh(z/2)) / 2, and A - A^2 for the derivative",
)
m.correct(
    "sigmoid_reciprocal",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("A = 1.0 / (1.0 + torch.exp(-Z))", "A = torch.reciprocal(torch.exp(-Z) + 1)")),
    "reciprocal instead of a division",
)
m.rule(
    "sigmoid_getattr",
    "task1_sigmoid",
    m.edit("task1_sigmoid", ("A = 1.0 / (1.0 + torch.exp(-Z))", 'A = getattr(torch, "sig" + "moid")(Z)')),
    "torch.sigmoid reached with getattr and a string built at run time",
    also=("task3",),
)
m.rule(
    "sigmoid_from_course_package",
    "task1_sigmoid",
    m.edit(
        "task1_sigmoid",
        ("A = 1.0 / (1.0 + torch.exp(-Z))", "from dlcourse.activations import sigmoid\n\n    A = sigmoid(Z)"),
    ),
    "the answer imported from the course package",
    also=("task3",),
)

# ---- Task 1 (c): the loss
m.wrong(
    "mse_grad_over_N",
    "task1_mse",
    m.edit("task1_mse", ("dY_hat = 2.0 * diff / diff.numel()", "dY_hat = 2.0 * diff / diff.shape[0]")),
    LAYERS + NETWORK,
    "gradient scaled by 2/N instead of 2/(NK) (agrees only for K = 1)",
)
m.wrong(
    "mse_mean_over_N",
    "task1_mse",
    m.edit(
        "task1_mse",
        ("loss = (diff * diff).sum() / diff.numel()", "loss = (diff * diff).sum() / diff.shape[0]"),
        ("dY_hat = 2.0 * diff / diff.numel()", "dY_hat = 2.0 * diff / diff.shape[0]"),
    ),
    LAYERS + NETWORK,
    "loss and gradient both averaged over the N examples only",
)
m.wrong(
    "mse_grad_missing_2",
    "task1_mse",
    m.edit("task1_mse", ("dY_hat = 2.0 * diff / diff.numel()", "dY_hat = diff / diff.numel()")),
    LAYERS + NETWORK,
    "derivative of the square without its factor 2",
)
m.wrong(
    "mse_grad_sign",
    "task1_mse",
    m.edit("task1_mse", ("dY_hat = 2.0 * diff / diff.numel()", "dY_hat = 2.0 * (Y - Y_hat) / diff.numel()")),
    LAYERS + NETWORK,
    "gradient with the wrong sign (Y - Y_hat)",
)
m.correct(
    "mse_shape_product",
    "task1_mse",
    m.edit(
        "task1_mse",
        ("loss = (diff * diff).sum() / diff.numel()", "N, K = Y.shape\n    loss = diff.pow(2).mean()"),
        ("dY_hat = 2.0 * diff / diff.numel()", "dY_hat = diff * (2.0 / (N * K))"),
    ),
    "mean(), and 2/(NK) from the shape",
)
m.rule(
    "mse_functional",
    "task1_mse",
    m.edit(
        "task1_mse",
        (
            "loss = (diff * diff).sum() / diff.numel()",
            "from torch.nn import functional as F\n\n    loss = F.mse_loss(Y_hat, Y)",
        ),
    ),
    "torch.nn.functional.mse_loss imported under another name",
    also=("task3",),
)

# ---- Task 2: numerical gradients
m.wrong(
    "numgrad_forward_difference",
    "task2_numgrad",
    m.edit(
        "task2_numgrad",
        (
            "        flat_x[i] = old - eps\n        f_minus = float(f(x))\n        flat_x[i] = old\n"
            "        flat_grad[i] = (f_plus - f_minus) / (2 * eps)",
            "        flat_x[i] = old\n        f_zero = float(f(x))\n        flat_grad[i] = (f_plus - f_zero) / eps",
        ),
    ),
    NUMGRAD,
    "one-sided (forward) difference instead of the central one: error O(eps)",
)
m.wrong(
    "numgrad_divides_by_eps",
    "task2_numgrad",
    m.edit(
        "task2_numgrad",
        ("flat_grad[i] = (f_plus - f_minus) / (2 * eps)", "flat_grad[i] = (f_plus - f_minus) / eps"),
    ),
    NUMGRAD,
    "central difference divided by eps instead of 2 eps",
)
m.wrong(
    "numgrad_no_restore",
    "task2_numgrad",
    m.edit(
        "task2_numgrad",
        (
            "        f_minus = float(f(x))\n        flat_x[i] = old\n",
            "        f_minus = float(f(x))\n",
        ),
    ),
    NUMGRAD,
    "an entry is left at x_i - eps, so later entries are differentiated at a shifted point",
)
m.wrong(
    "numgrad_modifies_x",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        flat_x[i] += eps
        f_plus = float(f(x))
        flat_x[i] -= 2 * eps
        f_minus = float(f(x))
        flat_x[i] += eps
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
    ),
    NUMGRAD,
    "perturbs the caller's x and 'restores' it by adding eps back: rounding leaves x changed",
)
m.wrong(
    "numgrad_float32_result",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone().contiguous()
    grad = torch.zeros(x.shape)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        old = flat_x[i].item()
        flat_x[i] = old + eps
        f_plus = float(f(x))
        flat_x[i] = old - eps
        f_minus = float(f(x))
        flat_x[i] = old
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
    ),
    NUMGRAD,
    "the estimate is stored in a float32 tensor whatever the dtype of x",
)
m.wrong(
    "numgrad_array_ignores_dout",
    "task2_numgrad",
    m.edit(
        "task2_numgrad",
        (
            "flat_grad[i] = ((f_plus - f_minus) * dout).sum() / (2 * eps)",
            "flat_grad[i] = (f_plus - f_minus).sum() / (2 * eps)",
        ),
    ),
    NUMGRAD,
    "the array version differentiates sum(f(x)) and ignores dout",
)
m.wrong(
    "numgrad_rows_only",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    for i in range(x.shape[0]):
        old = x[i].clone()
        x[i] = old + eps
        f_plus = float(f(x))
        x[i] = old - eps
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
    ),
    NUMGRAD,
    "perturbs whole rows (loops over the first axis only): right only for 1-d x",
)
m.correct(
    "numgrad_ndindex",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.empty_like(x)
    for idx in np.ndindex(*x.shape):
        x_plus, x_minus = x.clone(), x.clone()
        x_plus[idx] += eps
        x_minus[idx] -= eps
        grad[idx] = (f(x_plus) - f(x_minus)) / (2 * eps)
    return grad
""",
    ),
    "np.ndindex over the entries, fresh copies for each, tensor arithmetic",
)
m.correct(
    "numgrad_in_place_restored",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        old = flat_x[i].item()
        flat_x[i] = old + eps
        f_plus = float(f(x))
        flat_x[i] = old - eps
        f_minus = float(f(x))
        flat_x[i] = old
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
    ),
    "perturbs the caller's x in place and puts every entry back exactly",
)
m.wrong(
    "numgrad_autograd",
    "task2_numgrad",
    m.function(
        "task2_numgrad",
        "numerical_gradient",
        """
def numerical_gradient(f, x, eps=1e-6):
    leaf = x.detach().clone().requires_grad_(True)
    return _grad(f(leaf), leaf)[0].detach()
""",
    ),
    NUMGRAD,
    "autograd's exact gradient (through an alias) where the central difference with eps is asked for",
    prelude="_grad = torch.autograd.grad\n",
)
m.rule(
    "numgrad_compares_with_autograd",
    "task2_numgrad",
    m.edit(
        "task2_numgrad",
        (
            "        flat_grad[i] = (f_plus - f_minus) / (2 * eps)\n    return grad",
            "        flat_grad[i] = (f_plus - f_minus) / (2 * eps)\n"
            "    leaf = x.clone().requires_grad_(True)\n"
            "    exact = torch.autograd.grad(f(leaf), leaf)[0]  # left in from debugging\n"
            "    return grad",
        ),
    ),
    "right central differences, but torch.autograd.grad called on the side",
)

# ---- Task 3: the network
m.wrong(
    "network_skips_sigmoid_backward",
    "task3_network",
    m.edit("task3_network", ("dout = sigmoid_backward(dout, caches.pop())", "caches.pop()")),
    NETWORK,
    "backpropagates through the hidden layers as if they were linear",
)
m.wrong(
    "network_sigmoid_on_output",
    "task3_network",
    m.function(
        "task3_network",
        "network_loss",
        """
def network_loss(params, X, Y):
    n_layers = len(params) // 2
    caches = []
    A = X
    for l in range(1, n_layers + 1):
        Z, cache = affine_forward(A, params[f"W{l}"], params[f"b{l}"])
        caches.append(cache)
        A, cache = sigmoid_forward(Z)
        caches.append(cache)
    loss, dout = mse_loss(A, Y)
    grads = {}
    for l in range(n_layers, 0, -1):
        dout = sigmoid_backward(dout, caches.pop())
        dout, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, caches.pop())
    return loss, grads
""",
    ),
    NETWORK,
    "a sigmoid after the output layer too (the output must be linear)",
)
m.wrong(
    "network_two_layers_only",
    "task3_network",
    m.function(
        "task3_network",
        "network_loss",
        """
def network_loss(params, X, Y):
    Z1, c1 = affine_forward(X, params["W1"], params["b1"])
    A1, c2 = sigmoid_forward(Z1)
    Y_hat, c3 = affine_forward(A1, params["W2"], params["b2"])
    loss, dY = mse_loss(Y_hat, Y)
    dA1, dW2, db2 = affine_backward(dY, c3)
    _, dW1, db1 = affine_backward(sigmoid_backward(dA1, c2), c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
""",
    ),
    NETWORK,
    "hard-coded for two layers",
)
m.wrong(
    "network_caches_in_forward_order",
    "task3_network",
    m.edit(
        "task3_network",
        ("dout = sigmoid_backward(dout, caches.pop())", "dout = sigmoid_backward(dout, caches.pop(0))"),
        (
            'dout, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, caches.pop())',
            'dout, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, caches.pop(0) if l == 1 else caches.pop())',
        ),
    ),
    NETWORK,
    "takes a cache of the wrong layer (forward order instead of reverse)",
)
m.wrong(
    "network_unscaled_output_delta",
    "task3_network",
    m.edit("task3_network", ("loss, dout = mse_loss(Z, Y)", "loss, _ = mse_loss(Z, Y)\n    dout = Z - Y")),
    NETWORK,
    "output delta taken as Y_hat - Y without the 2/(NK) of the loss",
)
m.correct(
    "network_recursive_lists",
    "task3_network",
    m.function(
        "task3_network",
        "network_loss",
        """
def network_loss(params, X, Y):
    n_layers = len(params) // 2
    affine_caches, sigmoid_caches = [], []
    A = X
    for l in range(1, n_layers + 1):
        A, cache = affine_forward(A, params["W" + str(l)], params["b" + str(l)])
        affine_caches.append(cache)
        if l != n_layers:
            A, cache = sigmoid_forward(A)
            sigmoid_caches.append(cache)
    loss, dA = mse_loss(A, Y)
    grads = {}
    for l in reversed(range(1, n_layers + 1)):
        dA, dW, db = affine_backward(dA, affine_caches[l - 1])
        grads["W" + str(l)], grads["b" + str(l)] = dW, db
        if l > 1:
            dA = sigmoid_backward(dA, sigmoid_caches[l - 2])
    return loss, grads
""",
    ),
    "separate lists of caches indexed by layer, the sigmoid step at the end of each iteration",
)
m.loop(
    "network_loop_over_examples",
    "task3_network",
    m.function(
        "task3_network",
        "network_loss",
        """
def network_loss(params, X, Y):
    N = X.shape[0]
    total, grads = 0.0, {k: torch.zeros_like(v) for k, v in params.items()}
    n_layers = len(params) // 2
    for n in range(N):
        A, caches = X[n : n + 1], []
        for l in range(1, n_layers + 1):
            A, cache = affine_forward(A, params[f"W{l}"], params[f"b{l}"])
            caches.append(cache)
            if l < n_layers:
                A, cache = sigmoid_forward(A)
                caches.append(cache)
        loss, dout = mse_loss(A, Y[n : n + 1])
        total = total + loss / N
        for l in range(n_layers, 0, -1):
            if l < n_layers:
                dout = sigmoid_backward(dout, caches.pop())
            dout, dW, db = affine_backward(dout, caches.pop())
            grads[f"W{l}"] += dW / N
            grads[f"b{l}"] += db / N
    return total, grads
""",
    ),
    NETWORK,
    "one example at a time, averaged (right numbers, N times the operations)",
)
m.rule(
    "network_autograd",
    "task3_network",
    m.function(
        "task3_network",
        "network_loss",
        """
def network_loss(params, X, Y):
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    n_layers = len(leaves) // 2
    A = X
    for l in range(1, n_layers + 1):
        A = A @ leaves[f"W{l}"] + leaves[f"b{l}"]
        if l < n_layers:
            A = 1 / (1 + torch.exp(-A))
    loss = ((A - Y) ** 2).mean()
    getattr(loss, "back" + "ward")()
    return loss.detach(), {k: v.grad for k, v in leaves.items()}
""",
    ),
    "the gradients taken from autograd (Tensor.backward reached with getattr)",
)

VARIANTS = m.variants

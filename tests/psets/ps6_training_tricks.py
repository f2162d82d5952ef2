"""Planted answers for problem set 6 (mixup, initialisation, a warm-up schedule, the bug hunt)."""

from psets import Maker, answer, cell_by_id, text

m = Maker("ps6_training_tricks")
MIXUP = m.task_cells("task1")
INIT = m.task_cells("task2")
SCHEDULE = m.task_cells("task3")
BUGS = m.task_cells("task4")


def _loop(body: str) -> str:
    """train_fixed with the body of its inner loop (from `xb = ...` to `losses.append(...)`) replaced."""
    src = answer(m.nb, "task4_fixed")
    start = src.index("            xb = X[order[start:start + batch_size]]\n")
    end = src.index("\n", src.index("            losses.append(loss.item())")) + 1
    return src[:start] + body + src[end:]


# ---- Task 1: mixup
m.wrong(
    "mixup_uniform_lambda",
    "task1_mixup",
    m.edit("task1_mixup", ("lam = float(rng.beta(alpha, alpha))", "lam = float(rng.uniform())")),
    MIXUP,
    "lambda drawn uniformly whatever alpha (right only for alpha = 1)",
)
m.wrong(
    "mixup_label_weights_swapped",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        (
            "y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[perm]",
            "y_mix = (1.0 - lam) * y_onehot + lam * y_onehot[perm]",
        ),
    ),
    MIXUP,
    "the labels mixed with the weights swapped",
)
m.wrong(
    "mixup_partners_with_replacement",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        (
            "torch.from_numpy(rng.permutation(x.shape[0])).long()",
            "torch.from_numpy(rng.integers(0, x.shape[0], x.shape[0])).long()",
        ),
    ),
    MIXUP,
    "partners drawn with replacement: not a permutation",
)
m.wrong(
    "mixup_global_random_state",
    "task1_mixup",
    m.edit(
        "task1_mixup", ("torch.from_numpy(rng.permutation(x.shape[0])).long()", "torch.randperm(x.shape[0])")
    ),
    MIXUP,
    "the permutation from the global random state: the same seed does not give the same batch",
)
m.wrong(
    "mixup_labels_not_mixed",
    "task1_mixup",
    m.edit("task1_mixup", ("y_mix = lam * y_onehot + (1.0 - lam) * y_onehot[perm]", "y_mix = y_onehot")),
    MIXUP,
    "only the inputs mixed, the labels kept one-hot",
)
m.wrong(
    "mixup_lambda_tensor",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        ("lam = float(rng.beta(alpha, alpha))", "lam = torch.tensor(rng.beta(alpha, alpha), dtype=x.dtype)"),
    ),
    MIXUP,
    "lambda returned as a tensor instead of a float",
)
m.correct(
    "mixup_two_sources_lerp",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        (
            "perm = torch.from_numpy(rng.permutation(x.shape[0])).long()",
            "perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))",
        ),
        (
            "y_onehot = torch.eye(num_classes, dtype=x.dtype)[y]",
            "y_onehot = torch.zeros(len(y), num_classes, dtype=x.dtype)\n    y_onehot[torch.arange(len(y)), y] = 1.0",
        ),
        ("x_mix = lam * x + (1.0 - lam) * x[perm]", "x_mix = torch.lerp(x[perm], x, lam)"),
    ),
    "lambda from numpy, the permutation from a seeded torch generator, lerp, one-hot by indexing",
)
m.loop(
    "mixup_example_by_example",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        (
            "x_mix = lam * x + (1.0 - lam) * x[perm]",
            "x_mix = torch.stack([lam * x[n] + (1.0 - lam) * x[perm[n]] for n in range(x.shape[0])])",
        ),
    ),
    m.cells("task1_hidden"),
    "mixes one example at a time (right numbers)",
)
m.rule(
    "mixup_functional_one_hot",
    "task1_mixup",
    m.edit(
        "task1_mixup",
        (
            "y_onehot = torch.eye(num_classes, dtype=x.dtype)[y]",
            "y_onehot = _one_hot(y, num_classes).to(x.dtype)",
        ),
    ),
    "torch.nn.functional.one_hot through an alias made in another cell (harmless, but banned)",
    prelude="from torch.nn.functional import one_hot as _one_hot\n",
)

# ---- Task 2: initialisation
m.wrong(
    "he_fan_out",
    "task2_init",
    m.edit("task2_init", ("math.sqrt(2.0 / fan_in)", "math.sqrt(2.0 / fan_out)")),
    INIT,
    "the variance from fan_out instead of fan_in",
)
m.wrong(
    "he_lecun_variance",
    "task2_init",
    m.edit("task2_init", ("math.sqrt(2.0 / fan_in)", "math.sqrt(1.0 / fan_in)")),
    INIT,
    "variance 1 / fan_in (LeCun's, for linear or tanh units) instead of 2 / fan_in",
)
m.wrong(
    "he_uniform_with_normal_variance",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * math.sqrt(2.0 / fan_in)",
            "return (torch.rand(fan_in, fan_out, generator=gen, dtype=dtype) * 2 - 1) * math.sqrt(3.0) * math.sqrt(2.0 / fan_in)",
        ),
    ),
    INIT,
    "a uniform draw with the right variance where a normal is asked for",
)
m.wrong(
    "he_torch_linear_shape",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "torch.randn(fan_in, fan_out, generator=gen, dtype=dtype)",
            "torch.randn(fan_out, fan_in, generator=gen, dtype=dtype)",
        ),
    ),
    INIT,
    "the shape (fan_out, fan_in) of torch.nn.Linear.weight instead of the book's (fan_in, fan_out)",
)
m.wrong(
    "xavier_normal_instead",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return (torch.rand(fan_in, fan_out, generator=gen, dtype=dtype) * 2.0 - 1.0) * bound",
            "return torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * bound / math.sqrt(3.0)",
        ),
    ),
    INIT,
    "Xavier's variance with a normal law instead of the uniform one",
)
m.wrong(
    "xavier_bound_from_fan_in",
    "task2_init",
    m.edit("task2_init", ("bound = math.sqrt(6.0 / (fan_in + fan_out))", "bound = math.sqrt(6.0 / fan_in)")),
    INIT,
    "the bound sqrt(6 / fan_in) (He's uniform) instead of sqrt(6 / (fan_in + fan_out))",
)
m.wrong(
    "init_global_random_state",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "torch.randn(fan_in, fan_out, generator=gen, dtype=dtype)",
            "torch.randn(fan_in, fan_out, dtype=dtype)",
        ),
    ),
    INIT,
    "he_normal draws from the global random state: not reproducible from its seed",
)
m.correct(
    "init_numpy_and_in_place",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * math.sqrt(2.0 / fan_in)",
            "normal = np.random.default_rng(seed).standard_normal((fan_in, fan_out))\n"
            "    return torch.from_numpy(normal).to(dtype) * math.sqrt(2.0 / fan_in)",
        ),
        (
            "return (torch.rand(fan_in, fan_out, generator=gen, dtype=dtype) * 2.0 - 1.0) * bound",
            "return torch.empty(fan_in, fan_out, dtype=dtype).uniform_(-bound, bound, generator=gen)",
        ),
    ),
    "numpy's generator for the normal law; Tensor.uniform_ with a generator",
)
m.loop(
    "he_row_by_row",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * math.sqrt(2.0 / fan_in)",
            "rows = [torch.randn(fan_out, generator=gen, dtype=dtype) for _ in range(fan_in)]\n"
            "    return torch.stack(rows) * math.sqrt(2.0 / fan_in)",
        ),
    ),
    m.cells("task2_hidden"),
    "one row at a time (the right distribution)",
)
m.rule(
    "xavier_torch_init_alias",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return (torch.rand(fan_in, fan_out, generator=gen, dtype=dtype) * 2.0 - 1.0) * bound",
            "return _xavier(torch.empty(fan_in, fan_out, dtype=dtype), generator=gen)",
        ),
    ),
    "torch.nn.init.xavier_uniform_ through an alias made in another cell",
    prelude="_xavier = torch.nn.init.xavier_uniform_\n",
)
m.rule(
    "he_from_course_package",
    "task2_init",
    m.edit(
        "task2_init",
        (
            "return torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * math.sqrt(2.0 / fan_in)",
            "from dlcourse.init import kaiming_normal_\n\n"
            "    return kaiming_normal_(torch.empty(fan_out, fan_in, dtype=dtype), generator=gen).T.contiguous()",
        ),
    ),
    "the course package's kaiming_normal_ (on torch's layout, transposed)",
)

# ---- Task 3: the schedule
m.wrong(
    "warmup_from_zero",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        ("return base_lr * (step + 1) / warmup_steps", "return base_lr * step / warmup_steps"),
    ),
    SCHEDULE,
    "the warm-up starts at 0 (step / W): the first step does nothing",
)
m.wrong(
    "cosine_over_all_steps",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        ("progress = (step - warmup_steps) / (total_steps - warmup_steps)", "progress = step / total_steps"),
    ),
    SCHEDULE,
    "the cosine phase measured from step 0 instead of the end of the warm-up",
)
m.wrong(
    "cosine_rises_after_total",
    "task3_schedule",
    m.edit("task3_schedule", ("    if step > total_steps:\n        return float(min_lr)\n", "")),
    SCHEDULE,
    "no floor after total_steps: the cosine climbs back up",
)
m.wrong(
    "floor_ignored",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        (
            "return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))",
            "return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))",
        ),
    ),
    SCHEDULE,
    "the cosine decays to 0 instead of min_lr",
)
m.wrong(
    "schedule_returns_tensor",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        ("math.cos(math.pi * progress)", "torch.cos(torch.tensor(math.pi * progress, dtype=torch.float64))"),
    ),
    SCHEDULE,
    "a 0-dimensional tensor returned where a float is asked for",
)
m.correct(
    "schedule_numpy_and_branches",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        ("    if step > total_steps:\n        return float(min_lr)\n", ""),
        (
            "progress = (step - warmup_steps) / (total_steps - warmup_steps)",
            "progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))",
        ),
        (
            "return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))",
            "return float(min_lr + (base_lr - min_lr) * (1.0 + np.cos(np.pi * progress)) / 2)",
        ),
    ),
    "the floor by clipping the progress at 1, numpy's cosine converted to float",
)
m.rule(
    "schedule_lambda_lr",
    "task3_schedule",
    m.edit(
        "task3_schedule",
        (
            "    progress = (step - warmup_steps) / (total_steps - warmup_steps)\n"
            "    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))",
            "    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr - min_lr)\n"
            '    sched = getattr(torch.optim.lr_scheduler, "Cosine" + "AnnealingLR")(opt, T_max=total_steps - warmup_steps)\n'
            "    for _ in range(step - warmup_steps):\n        opt.step()\n        sched.step()\n"
            '    return float(min_lr + opt.param_groups[0]["lr"])',
        ),
    ),
    "the cosine read off torch.optim.lr_scheduler.CosineAnnealingLR (reached with getattr)",
)

# ---- Task 4: the bug hunt
_STEP = "            optimizer.zero_grad()\n            loss.backward()\n            optimizer.step()\n"
_FIXED_BATCH = "            idx = order[start:start + batch_size]\n            xb, yb = X[idx], y[idx]\n"
m.wrong(
    "bugs_labels_left_unaligned",
    "task4_fixed",
    _loop(
        "            xb, yb = X[order[start:start + batch_size]], y[start:start + batch_size]\n"
        "            loss = torch.nn.functional.cross_entropy(model(xb), yb)\n"
        + _STEP
        + "            losses.append(loss.item())\n"
    ),
    BUGS,
    "three bugs fixed, the labels still in the original order",
)
m.wrong(
    "bugs_softmax_left_in",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            loss = torch.nn.functional.cross_entropy(model(xb).softmax(dim=1), yb)\n"
        + _STEP
        + "            losses.append(loss.item())\n"
    ),
    BUGS,
    "three bugs fixed, probabilities still fed to cross_entropy",
)
m.wrong(
    "bugs_zero_grad_left_between",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            loss = torch.nn.functional.cross_entropy(model(xb), yb)\n"
        + "            loss.backward()\n            optimizer.zero_grad()\n            optimizer.step()\n"
        + "            losses.append(loss.item())\n"
    ),
    BUGS,
    "three bugs fixed, the gradients still cleared between backward() and step(): nothing is learned",
)
m.wrong(
    "bugs_no_zero_grad",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            loss = torch.nn.functional.cross_entropy(model(xb), yb)\n"
        + "            loss.backward()\n            optimizer.step()\n"
        + "            losses.append(loss.item())\n"
    ),
    BUGS,
    "bug 3 'fixed' by deleting zero_grad(): the gradients of all steps add up",
)
m.wrong(
    "bugs_tensor_losses_left",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            loss = torch.nn.functional.cross_entropy(model(xb), yb)\n"
        + _STEP
        + "            losses.append(loss)\n"
    ),
    BUGS,
    "three bugs fixed, the loss tensors (and their graphs) still kept instead of numbers",
)
m.wrong(
    "bugs_labels_reshuffled",
    "task4_fixed",
    _loop(
        "            xb = X[order[start:start + batch_size]]\n"
        "            yb = y[torch.randperm(len(y), generator=order_rng)[start:start + batch_size]]\n"
        "            loss = torch.nn.functional.cross_entropy(model(xb), yb)\n"
        + _STEP
        + "            losses.append(loss.item())\n"
    ),
    BUGS,
    "the labels 'fixed' by a shuffle of their own",
)
m.wrong(
    "bugs_none_fixed",
    "task4_fixed",
    text(cell_by_id(m.nb, "task4_buggy")).replace("def train_buggy(", "def train_fixed("),
    BUGS,
    "the loop handed in as given, with its four bugs",
)
m.correct(
    "bugs_zero_grad_at_the_end",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            loss = torch.nn.CrossEntropyLoss()(model(xb), yb)\n"
        + "            loss.backward()\n            optimizer.step()\n            model.zero_grad()\n"
        + "            losses.append(float(loss))\n"
    ),
    "model.zero_grad() after the step instead of optimizer.zero_grad() before backward(); the loss as a module; float()",
)
m.correct(
    "bugs_log_softmax_nll",
    "task4_fixed",
    _loop(
        _FIXED_BATCH
        + "            optimizer.zero_grad(set_to_none=False)\n"
        + "            loss = torch.nn.functional.nll_loss(torch.log_softmax(model(xb), dim=1), yb)\n"
        + "            loss.backward()\n            optimizer.step()\n"
        + "            losses.append(loss.detach().item())\n"
    ),
    "log-softmax and nll_loss (the same loss, other rounding); gradients zeroed in place",
)
m.rule(
    "bugs_course_package_loss",
    "task4_fixed",
    _loop(
        "            from dlcourse.losses import cross_entropy\n\n"
        + _FIXED_BATCH
        + "            loss = cross_entropy(model(xb), yb)\n"
        + _STEP
        + "            losses.append(loss.item())\n"
    ),
    "the loss from the course package",
)

VARIANTS = m.variants

r"""The training loop the chapters share, and the learning-rate tools of chapter 6.

* :func:`fit` -- mini-batch training with shuffling, a progress bar, and a per-epoch
  :class:`History` of loss, accuracy and learning rate (for plotting).
* :func:`evaluate`, :func:`accuracy` -- loss and accuracy on a data set, without gradients.
* :func:`lr_range_test`, :func:`suggest_lr` -- the learning-rate range test (Smith, 2017) and a
  learning rate read off its curve.
* :func:`warmup_schedule` -- linear warm-up, then cosine, linear or step decay, as a
  ``torch.optim.lr_scheduler.LambdaLR`` that works with any ``torch.optim`` optimizer.
* :func:`ensemble_predict` -- average the predicted probabilities (or votes) of several models.

Data are ``(X, y)`` tuples of tensors or ``TensorDataset``\ s of two tensors. A *classification*
task is one whose targets are integer class indices (``y.dtype`` int64 and friends): only then is
accuracy computed; for regression targets (floating point) accuracies are ``nan``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from .device import get_device
from .validate import check_int, check_real

__all__ = [
    "History",
    "fit",
    "evaluate",
    "accuracy",
    "lr_range_test",
    "suggest_lr",
    "warmup_schedule",
    "ensemble_predict",
]

DECAYS = ("cosine", "linear", "step", "none")
METRICS = ("loss", "accuracy")


# --------------------------------------------------------------------------- helpers
def _unpack(name: str, data) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` from a tuple/list of two tensors or a TensorDataset of two tensors."""
    if isinstance(data, TensorDataset):
        data = data.tensors
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            f"{name} must be an (X, y) tuple of tensors or a TensorDataset of two "
            f"tensors, got {type(data).__name__}"
        )
    X, y = data
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must hold two tensors, got ({type(X).__name__}, {type(y).__name__})")
    if len(X) != len(y) or len(X) == 0:
        raise ValueError(
            f"{name}: X and y must have the same, non-zero number of rows, got {len(X)} and {len(y)}"
        )
    return X, y


def _is_classification(y: torch.Tensor) -> bool:
    return not (y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool)


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    r"""Fraction of correct predictions, :math:`\frac1N \sum_i [\arg\max_c \text{logits}_{ic} = y_i]`.

    ``logits`` of shape ``(N, C)`` with class indices ``y`` of shape ``(N,)``; for a single
    output (shape ``(N,)`` or ``(N, 1)``) the prediction is ``logit > 0`` against ``y`` in {0, 1}.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"logits and y must be tensors, got {type(logits).__name__} and {type(y).__name__}")
    if y.ndim != 1 or len(logits) != len(y):
        raise ValueError(f"y must have shape (N,) with N = len(logits) = {len(logits)}, got {tuple(y.shape)}")
    if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
        pred = (logits.reshape(-1) > 0).long()
    elif logits.ndim == 2:
        pred = logits.argmax(dim=1)
    else:
        raise ValueError(f"logits must have shape (N, C), (N, 1) or (N,), got {tuple(logits.shape)}")
    return (pred == y).float().mean().item()


# --------------------------------------------------------------------------- fit / evaluate
@dataclass
class History:
    """Per-epoch records of :func:`fit`; one entry per epoch in each list.

    ``val_loss``/``val_acc`` stay empty without validation data; accuracies are ``nan`` for
    regression targets or when ``"accuracy"`` is not among the metrics. ``lr`` is the learning
    rate of the first parameter group at the epoch's last step.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data,
    loss_fn: Callable,
    batch_size: int = 256,
) -> tuple[float, float]:
    r"""Mean loss and accuracy of ``model`` on ``data``, in evaluation mode and without gradients.

    The data go to the model's device batch by batch. With a mean-reducing ``loss_fn`` the loss
    is the average over all samples, weighting each batch by its size:
    :math:`\frac1N \sum_b |b|\, \ell_b`. Accuracy is ``nan`` for regression targets. The model's
    training/evaluation mode is restored afterwards.
    """
    X, y = _unpack("data", data)
    batch_size = check_int("batch_size", batch_size, low=1)
    device = _model_device(model)
    was_training = model.training
    model.eval()
    try:
        total_loss, correct, n = 0.0, 0.0, len(X)
        for start in range(0, n, batch_size):
            xb = X[start : start + batch_size].to(device)
            yb = y[start : start + batch_size].to(device)
            out = model(xb)
            total_loss += loss_fn(out, yb).item() * len(xb)
            if _is_classification(yb):
                correct += accuracy(out, yb) * len(xb)
    finally:
        model.train(was_training)
    return total_loss / n, (correct / n if _is_classification(y) else float("nan"))


def fit(
    model: nn.Module,
    train_data,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    epochs: int,
    batch_size: int = 32,
    val_data=None,
    seed: int = 0,
    device=None,
    progress: bool = True,
    scheduler=None,
    metrics: Sequence[str] = METRICS,
) -> History:
    r"""Train ``model`` by mini-batch gradient descent; return a :class:`History` per epoch.

    Each epoch shuffles the training rows with a ``torch.Generator`` seeded by ``seed`` (so the
    same seed gives the same batches), then for every batch :math:`B`:

    .. math::
        \ell_B = \text{loss\_fn}(f_\theta(X_B), y_B), \qquad
        g = \nabla_\theta \ell_B \ \text{(autograd)}, \qquad
        \theta \leftarrow \text{optimizer.step}(\theta, g)

    and, when given, ``scheduler.step()`` *once per optimizer step* (so schedules such as
    :func:`warmup_schedule` count steps, not epochs). ``train_loss``/``train_acc`` average the
    batches seen during the epoch (weighted by batch size, measured while the weights change);
    ``val_loss``/``val_acc`` come from :func:`evaluate` at the end of each epoch.

    The device is resolved once (``None`` means :func:`dlcourse.get_device`); the model and the
    data are moved there once, before the first epoch. Randomness inside the model (dropout) uses
    torch's global generator: call :func:`dlcourse.seed_everything` for fully repeatable runs.

    Args:
        train_data, val_data: ``(X, y)`` tuples or ``TensorDataset``\ s; ``y`` integer class
            indices (classification, accuracy computed) or floats (regression, accuracy ``nan``).
        progress: show a ``tqdm.auto`` bar over epochs; ``False`` prints nothing.
        metrics: a subset of ``("loss", "accuracy")``; without ``"accuracy"`` the accuracies are
            ``nan``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_int("seed", seed, low=0)
    if isinstance(metrics, str) or not set(metrics) <= set(METRICS):
        raise ValueError(f"metrics must be a subset of {METRICS}, got {metrics!r}")
    X, y = _unpack("train_data", train_data)
    val = None if val_data is None else _unpack("val_data", val_data)

    device = get_device() if device is None else torch.device(device)
    model.to(device)  # parameters keep their identity, so the optimizer still holds them
    X, y = X.to(device), y.to(device)
    if val is not None:
        val = (val[0].to(device), val[1].to(device))
    classify = "accuracy" in metrics and _is_classification(y)
    gen = torch.Generator().manual_seed(seed)
    history = History()
    n = len(X)
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=True)
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        total_loss = correct = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total_loss += loss.item() * len(idx)
            if classify:
                correct += accuracy(out.detach(), yb) * len(idx)
        history.train_loss.append(total_loss / n)
        history.train_acc.append(correct / n if classify else float("nan"))
        history.lr.append(float(lr))
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val is not None:
            v_loss, v_acc = evaluate(model, val, loss_fn)
            history.val_loss.append(v_loss)
            history.val_acc.append(v_acc if "accuracy" in metrics else float("nan"))
            postfix["val_loss"] = f"{v_loss:.4f}"
        bar.set_postfix(postfix)
    return history


# --------------------------------------------------------------------------- range test
def lr_range_test(
    model: nn.Module,
    train_data,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    start_lr: float = 1e-6,
    end_lr: float = 1.0,
    steps: int = 100,
    batch_size: int = 32,
    seed: int = 0,
):
    r"""The learning-rate range test: train briefly while the learning rate grows exponentially.

    At step :math:`k = 0, \dots, K-1` (``K = steps``, one mini-batch each, reshuffled every pass
    through the data by a generator seeded with ``seed``) every parameter group gets

    .. math::
        \eta_k = \eta_{\text{start}} \left(\eta_{\text{end}} / \eta_{\text{start}}
                 \right)^{k / (K - 1)}

    and the batch loss :math:`\ell_k` is recorded. The test stops early once the loss diverges:
    when :math:`\ell_k` is not finite or the smoothed loss (see :func:`suggest_lr`) exceeds 4 times
    its minimum so far. Afterwards the model's parameters and buffers, its train/eval mode and
    the optimizer's state (learning rates included) are restored: the test changes nothing.
    The data go to the model's device.

    Returns:
        ``(lrs, losses)``: NumPy float64 arrays of equal length (``steps`` unless stopped early).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    start_lr, end_lr = (
        check_real("start_lr", start_lr, low=0, low_open=True),
        check_real("end_lr", end_lr, low=0, low_open=True),
    )
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be > start_lr, got start_lr={start_lr}, end_lr={end_lr}")
    steps = check_int("steps", steps, low=2)
    batch_size = check_int("batch_size", batch_size, low=1)
    gen = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    device = _model_device(model)
    X, y = (t.to(device) for t in _unpack("train_data", train_data))

    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    lrs, losses = [], []
    smooth, best, beta = 0.0, math.inf, 0.98
    order, pos = torch.randperm(len(X), generator=gen).to(device), 0
    try:
        model.train()
        for k in range(steps):
            lr = start_lr * (end_lr / start_lr) ** (k / (steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            if pos >= len(X):  # a new pass through the data
                order, pos = torch.randperm(len(X), generator=gen).to(device), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            value = loss.item()
            lrs.append(lr)
            losses.append(value)
            smooth = beta * smooth + (1 - beta) * value
            smoothed = smooth / (1 - beta ** (k + 1))
            best = min(best, smoothed)
            if not math.isfinite(value) or smoothed > 4 * best:
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        model.train(was_training)
    return np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)


def suggest_lr(lrs, losses, beta: float = 0.98) -> float:
    r"""A learning rate read off a range test: a tenth of where the smoothed loss falls fastest.

    The losses are smoothed by a bias-corrected exponential moving average, the slope is taken
    against :math:`\log \eta`, and the suggestion is the learning rate of the steepest descent
    divided by 10:

    .. math::
        s_k = \beta s_{k-1} + (1 - \beta)\,\ell_k, \qquad \hat s_k = s_k / (1 - \beta^{k+1}),
        \qquad k^\star = \arg\min_k \frac{d \hat s_k}{d \log \eta_k}, \qquad
        \eta^\star = \eta_{k^\star} / 10

    The moving average lags behind the raw losses, so its steepest point sits late, near the
    edge of divergence; the factor 10 steps back to safety.

    .. note::
        Another common rule takes the learning rate at the *minimum* of :math:`\hat s` divided
        by 10; on the book's examples the two agree within a factor of about 2.
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != losses.shape or len(lrs) < 3:
        raise ValueError(
            f"lrs and losses must be 1-D of equal length >= 3, got shapes {lrs.shape} and {losses.shape}"
        )
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    smoothed, s = np.empty_like(losses), 0.0
    for k, value in enumerate(losses):
        s = beta * s + (1 - beta) * value
        smoothed[k] = s / (1 - beta ** (k + 1))
    slope = np.gradient(smoothed, np.log(lrs))
    return float(lrs[int(np.nanargmin(slope))]) / 10


# --------------------------------------------------------------------------- schedules
class _WarmupDecay:
    """The multiplier :math:`\\lambda(t)` of :func:`warmup_schedule` (a picklable callable)."""

    def __init__(self, warmup_steps: int, total_steps: int, decay: str, min_factor: float):
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        self.decay, self.min_factor = decay, min_factor

    def __call__(self, t: int) -> float:
        W, T, m = self.warmup_steps, self.total_steps, self.min_factor
        if t < W:
            return (t + 1) / W
        if self.decay == "none":
            return 1.0
        p = 1.0 if T == W else min((t - W) / (T - W), 1.0)
        if self.decay == "cosine":
            return m + (1 - m) * 0.5 * (1 + math.cos(math.pi * p))
        if self.decay == "linear":
            return m + (1 - m) * (1 - p)
        return max(m, 0.1 ** ((p >= 0.5) + (p >= 0.75)))  # "step"


def warmup_schedule(
    optimizer: torch.optim.Optimizer,
    warmup_steps: int,
    total_steps: int,
    decay: str = "cosine",
    min_factor: float = 0.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    r"""Linear warm-up for ``warmup_steps`` steps, then decay until ``total_steps``.

    Call ``scheduler.step()`` after every ``optimizer.step()``. At step :math:`t` (counting from
    0) each group's learning rate is :math:`\eta_t = \lambda(t)\,\eta` with :math:`W` =
    ``warmup_steps``, :math:`T` = ``total_steps``, :math:`m` = ``min_factor`` and
    :math:`p = \min\big((t - W)/(T - W), 1\big)` the fraction of the decay done:

    .. math::
        \lambda(t) = \frac{t + 1}{W} \quad (t < W), \qquad \text{then} \quad
        \begin{cases}
        m + (1 - m)\,\tfrac12 (1 + \cos \pi p) & \text{cosine} \\
        m + (1 - m)(1 - p) & \text{linear} \\
        \max\big(m,\ 0.1^{[p \ge 1/2] + [p \ge 3/4]}\big) & \text{step} \\
        1 & \text{none}
        \end{cases}

    so warm-up starts at :math:`\eta / W` (not 0, which would waste a step) and reaches
    :math:`\eta` at step :math:`W - 1`; the decay ends at :math:`m\eta` (``step``: the rate is
    divided by 10 half-way and again at three quarters) and stays there after :math:`T`.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
    total_steps = check_int("total_steps", total_steps, low=1)
    if warmup_steps > total_steps:
        raise ValueError(
            f"warmup_steps must be <= total_steps, got warmup_steps={warmup_steps}, total_steps={total_steps}"
        )
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {DECAYS}, got {decay!r}")
    if isinstance(min_factor, bool) or not isinstance(min_factor, (int, float)) or not 0 <= min_factor <= 1:
        raise ValueError(f"min_factor must be a number in [0, 1], got {min_factor!r}")
    rule = _WarmupDecay(warmup_steps, total_steps, decay, float(min_factor))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, rule)


# --------------------------------------------------------------------------- ensembles
@torch.no_grad()
def ensemble_predict(models: Sequence[nn.Module], X: torch.Tensor, method: str = "mean_prob") -> torch.Tensor:
    r"""Class probabilities of an ensemble of :math:`M` classifiers (logits ``(N, C)`` each).

    .. math::
        \text{mean\_prob:}\ \ \bar p = \frac1M \sum_{m=1}^M \operatorname{softmax}(f_m(X)),
        \qquad
        \text{vote:}\ \ \bar p_{ic} = \frac1M \sum_{m=1}^M [\arg\max_k f_m(X)_{ik} = c]

    (``vote`` gives the fraction of models voting for each class; its argmax is the majority,
    ties going to the lower class index.) Models run in evaluation mode without gradients, on
    ``X`` as it is (same device as the models); their modes are restored afterwards.

    Returns:
        a tensor of shape ``(N, C)`` whose rows sum to 1.
    """
    if isinstance(models, nn.Module) or not isinstance(models, (list, tuple)) or not models:
        raise TypeError(f"models must be a non-empty list of nn.Module, got {type(models).__name__}")
    for i, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"models[{i}] must be an nn.Module, got {type(m).__name__}")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a tensor, got {type(X).__name__}")
    if method not in ("mean_prob", "vote"):
        raise ValueError(f"method must be 'mean_prob' or 'vote', got {method!r}")
    total = None
    for i, m in enumerate(models):
        was_training = m.training
        m.eval()
        try:
            logits = m(X)
        finally:
            m.train(was_training)
        if logits.ndim != 2:
            raise ValueError(f"models[{i}] must return logits of shape (N, C), got {tuple(logits.shape)}")
        if method == "mean_prob":
            e = (logits - logits.max(dim=1, keepdim=True).values).exp()  # stable softmax
            part = e / e.sum(dim=1, keepdim=True)
        else:
            part = torch.zeros_like(logits).scatter_(1, logits.argmax(dim=1, keepdim=True), 1.0)
        if total is not None and part.shape != total.shape:
            raise ValueError(
                f"models[{i}] returned shape {tuple(part.shape)}, models[0] {tuple(total.shape)}"
            )
        total = part if total is None else total + part
    return total / len(models)

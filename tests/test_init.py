"""dlcourse.init: sample statistics against the analytic std and bounds, and against torch.nn.init."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlcourse import init as I

# (shape, fan_in, fan_out): Linear weight (out, in), Conv2d weight (out, in, kh, kw), Conv1d
SHAPES = [((300, 500), 500, 300), ((64, 32, 3, 3), 288, 576), ((40, 20, 5), 100, 200)]


def _check_normal(t: torch.Tensor, std: float) -> None:
    n = t.numel()
    # sample std of n normals has standard error std / sqrt(2n); the mean has std / sqrt(n)
    assert abs(t.double().std().item() - std) < 5 * std / math.sqrt(2 * n)
    assert abs(t.double().mean().item()) < 5 * std / math.sqrt(n)


def _check_uniform(t: torch.Tensor, bound: float) -> None:
    n = t.numel()
    assert t.abs().max().item() <= bound
    assert t.abs().max().item() > bound * (1 - 20 / n)  # the sample reaches close to the bound
    # var of U(-b, b) is b^2/3; std of the sample variance is about b^2 * sqrt(4/45 / n)
    assert abs(t.double().var().item() - bound**2 / 3) < 5 * bound**2 * math.sqrt(4 / 45 / n)


@pytest.mark.parametrize("shape, fan_in, fan_out", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape, fan_in, fan_out, gain):
    g = torch.Generator().manual_seed(0)
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    t = torch.empty(shape)
    assert I.xavier_normal_(t, gain, generator=g) is t
    _check_normal(t, std)
    assert I.xavier_uniform_(t, gain=gain, generator=g) is t
    _check_uniform(t, math.sqrt(3) * std)


@pytest.mark.parametrize("shape, fan_in, fan_out", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "linear"])
def test_kaiming(shape, fan_in, fan_out, mode, nonlinearity):
    g = torch.Generator().manual_seed(1)
    gain = {"relu": math.sqrt(2), "tanh": 5 / 3, "linear": 1.0}[nonlinearity]
    std = gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    t = torch.empty(shape, dtype=torch.float64)
    assert I.kaiming_normal_(t, mode, nonlinearity, generator=g) is t
    _check_normal(t, std)
    assert I.kaiming_uniform_(t, mode=mode, nonlinearity=nonlinearity, generator=g) is t
    _check_uniform(t, math.sqrt(3) * std)


def test_kaiming_leaky_slope():
    g = torch.Generator().manual_seed(2)
    t = torch.empty(400, 300)
    I.kaiming_uniform_(t, nonlinearity="leaky_relu", a=0.2, generator=g)
    _check_uniform(t, math.sqrt(3) * math.sqrt(2 / 1.04) / math.sqrt(300))


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(256, 128), (32, 16, 3, 3)])
def test_same_statistics_as_torch_nn_init(name, shape):
    ours, theirs = torch.empty(shape), torch.empty(shape)
    getattr(I, name)(ours, generator=torch.Generator().manual_seed(3))
    kwargs = {"nonlinearity": "relu"} if name.startswith("kaiming") else {}
    getattr(nn.init, name)(theirs, generator=torch.Generator().manual_seed(4), **kwargs)
    n = ours.numel()
    s_ours, s_theirs = ours.std().item(), theirs.std().item()
    assert abs(s_ours - s_theirs) < 6 * s_theirs / math.sqrt(n)  # two samples of the same law
    if "uniform" in name:
        assert abs(ours.abs().max() - theirs.abs().max()) < 0.01 * theirs.abs().max()


def test_generator_reproducibility_and_no_grad():
    a = I.kaiming_normal_(torch.empty(20, 10), generator=torch.Generator().manual_seed(5))
    b = I.kaiming_normal_(torch.empty(20, 10), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    w = nn.Parameter(torch.empty(8, 4))
    out = I.xavier_uniform_(w)
    assert out is w and w.requires_grad and w.grad_fn is None
    assert I.xavier_normal_(torch.empty(0, 3)).shape == (0, 3)  # zero-element: no-op


def test_calculate_gain_matches_torch():
    names = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "tanh", "relu", "selu"]
    for name in names:
        assert math.isclose(I.calculate_gain(name), nn.init.calculate_gain(name))
    for param in (None, 0.0, 0.2, 1):
        assert math.isclose(
            I.calculate_gain("leaky_relu", param), nn.init.calculate_gain("leaky_relu", param)
        )
    assert I.calculate_gain("tanh") == 5 / 3 and I.calculate_gain("relu") == math.sqrt(2)
    assert I.calculate_gain("selu") == 0.75


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        I.calculate_gain("swish")
    with pytest.raises(TypeError, match="nonlinearity must be a str"):
        I.calculate_gain(None)
    with pytest.raises(TypeError, match="param must be a real number"):  # a wrong type: TypeError
        I.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="param must be a real number"):  # a wrong value: ValueError
        I.calculate_gain("leaky_relu", float("nan"))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        I.xavier_uniform_(torch.empty(5))
    with pytest.raises(TypeError, match="t must be a torch.Tensor"):
        I.kaiming_normal_([[0.0]])
    with pytest.raises(TypeError, match="floating-point"):
        I.xavier_normal_(torch.empty(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        I.kaiming_uniform_(torch.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        I.kaiming_normal_(torch.empty(3, 3), nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"gain must be a real number in \[0, inf\)"):
        I.xavier_uniform_(torch.empty(3, 3), gain=-1.0)
    with pytest.raises(TypeError, match="gain"):
        I.xavier_normal_(torch.empty(3, 3), gain="1")
    with pytest.raises(TypeError, match="generator"):
        I.xavier_normal_(torch.empty(3, 3), generator=1)


@pytest.mark.gpu
def test_init_on_cuda():
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    t = torch.empty(500, 400, device=dev)
    I.kaiming_normal_(t, generator=g)
    assert t.device.type == "cuda"
    _check_normal(t.cpu(), math.sqrt(2 / 400))
    I.xavier_uniform_(t, generator=g)
    _check_uniform(t.cpu(), math.sqrt(3) * math.sqrt(2 / 900))

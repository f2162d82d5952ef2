"""What crosses between the student's process and the trusted tests: data only, within limits."""

from __future__ import annotations

import json
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from dlcourse.grading.sandbox import values, wire


def _round_trip(value):
    tree, blobs = values.encode(value)
    a, b = socket.socketpair()
    with a, b:
        wire.send(a, {"v": tree}, blobs)
        message, got = wire.recv(b, 2**28, timeout=5)
    return values.decode(message["v"], got)


def test_data_round_trips_exactly():
    x = torch.randn(3, 4, dtype=torch.float64)
    value = {
        "numbers": [1, 2.5, float("nan"), float("-inf"), 3 + 4j, True, None, "text", 2**70],
        "tensors": (
            x,
            x,
            torch.tensor([True, False]),
            torch.ones(2, dtype=torch.bfloat16),
            torch.empty(0, 3),
        ),
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": np.float32(1.5),
        "dtype": torch.float64,
        "size": torch.Size([2, 3]),
        "device": torch.device("cpu"),
    }
    out = _round_trip(value)
    assert out["tensors"][0] is out["tensors"][1], "one object stays one object"
    assert torch.equal(out["tensors"][0], x) and out["tensors"][0].dtype == torch.float64
    assert out["numbers"][2] != out["numbers"][2] and out["numbers"][3] == float("-inf")
    assert out["numbers"][4] == 3 + 4j and out["numbers"][8] == 2**70
    assert out["tensors"][2].dtype == torch.bool and out["tensors"][3].dtype == torch.bfloat16
    assert out["tensors"][4].shape == (0, 3)
    assert np.array_equal(out["array"], value["array"]) and out["array"].dtype == np.int32
    assert out["scalar"] == 1.5 and type(out["scalar"]) is float
    assert out["dtype"] is torch.float64 and out["size"] == torch.Size([2, 3])


def test_a_generator_crosses_by_its_state():
    g = torch.Generator().manual_seed(3)
    copy = _round_trip(g)
    assert torch.equal(torch.rand(4, generator=copy), torch.rand(4, generator=g))


def test_gradients_and_subclasses_are_dropped():
    p = torch.nn.Parameter(torch.ones(2))
    out = _round_trip(p * 2)
    assert type(out) is torch.Tensor and not out.requires_grad


@pytest.mark.parametrize(
    "value",
    [
        object(),
        lambda x: x,
        torch.nn.Linear(2, 2),
        {1: "int key"},
        np.array(["a"], dtype=object),
        torch.zeros(1, dtype=torch.uint16),
    ],
    ids=["object", "lambda", "module", "int-key", "object-array", "uint16"],
)
def test_anything_else_is_refused(value):
    with pytest.raises(wire.WireError):
        values.encode(value)


def test_an_always_equal_object_posing_as_torch_cannot_cross():
    Fake = type("Tensor", (), {"__eq__": lambda self, other: True, "__module__": "torch"})
    with pytest.raises(wire.WireError):
        values.encode(Fake())


@pytest.mark.parametrize(
    "tree, blobs",
    [
        ({"t": "tensor", "dtype": "float32", "shape": [2, 2], "b": 0}, [b"\0" * 15]),  # too few bytes
        ({"t": "tensor", "dtype": "object", "shape": [1], "b": 0}, [b"\0" * 8]),
        ({"t": "tensor", "dtype": "float32", "shape": [-1], "b": 0}, [b""]),
        ({"t": "tensor", "dtype": "float32", "shape": [1], "b": 5}, [b"\0" * 4]),
        ({"t": "ndarray", "dtype": "O", "shape": [1], "b": 0}, [b"\0" * 8]),
        ({"t": "pickle", "v": "cos\nsystem\n"}, []),
        ({"t": "ref", "i": 9}, []),
        ({"t": "ref", "i": [1]}, []),
        ({"t": "float", "v": "0x" + "1" * 100}, []),
        ({"t": "generator", "b": 0}, [b"short"]),
        ([1, 2], []),
    ],
)
def test_hostile_trees_are_refused(tree, blobs):
    with pytest.raises(wire.WireError):
        values.decode(tree, blobs)


def test_deep_nesting_is_refused():
    tree = None
    for _ in range(values.MAX_DEPTH + 5):
        tree = {"t": "list", "v": [tree]}
    with pytest.raises(wire.WireError):
        values.decode(tree, [])


def test_frames_over_the_limit_are_refused_before_they_are_read():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack(">II", 10**9, 0))
        with pytest.raises(wire.WireError, match="limit"):
            wire.recv(b, 2**20, timeout=5)


def test_garbage_and_silence_end_in_errors_not_hangs():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack(">II", 5, 0) + b"{{{{{")
        with pytest.raises(wire.WireError):
            wire.recv(b, 2**20, timeout=5)
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(TimeoutError):
            wire.recv(b, 2**20, timeout=0.2)
        threading.Thread(target=a.close).start()
        with pytest.raises(EOFError):
            wire.recv(b, 2**20, timeout=5)


def test_messages_are_plain_json():
    tree, _ = values.encode({"x": [1.5, "s"]})
    assert json.loads(json.dumps(tree)) == tree

"""Data that crosses between the student's process and the trusted test process, as JSON and blobs.

Part of :mod:`dlcourse.grading.sandbox`; runs on BOTH sides (imports nothing of ``dlcourse``). The
receiving side builds only objects of known types:

``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``list``, ``tuple``, ``dict`` with
string keys, ``torch.Tensor`` (CPU, real, integer, bool or complex; ``requires_grad`` and
subclasses dropped), ``numpy.ndarray`` (numeric or bool), numpy scalars (as Python numbers),
``torch.dtype``, ``torch.Size``, the CPU ``torch.device`` and ``torch.Generator`` (by its state).
Anything else is handed to the ``other`` hook of :func:`encode` (handles, shipped test code) or
refused with :class:`~.wire.WireError`; so are trees too deep, too large or inconsistent.
"""

from __future__ import annotations

try:
    from .wire import WireError
except ImportError:  # inside the sandbox: a top-level module beside its siblings
    from wire import WireError

__all__ = ["encode", "decode", "DTYPES", "MAX_DEPTH"]

MAX_DEPTH = 64  # nesting of containers
MAX_NODES = 1_000_000  # values in one message
MAX_STR = 16 * 2**20  # characters of one string
MAX_NDIM = 32
DTYPES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
_NP_DTYPES = tuple(d for d in DTYPES if d != "bfloat16") + ("uint16", "uint32", "uint64")


def _torch():
    import torch

    return torch


def _numpy():
    import numpy

    return numpy


def _tensor_bytes(t) -> tuple[str, list[int], bytes]:
    torch = _torch()
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()
    dtype = str(t.dtype).replace("torch.", "")
    if dtype not in DTYPES:
        raise WireError(f"a tensor of dtype {t.dtype} cannot cross (allowed: {', '.join(DTYPES)})")
    raw = t.reshape(-1)
    if dtype == "bfloat16":
        raw = raw.view(torch.int16)
    return dtype, list(t.shape), raw.numpy().tobytes()


def encode(value, other=None, blobs: list[bytes] | None = None) -> tuple[object, list[bytes]]:
    """A JSON tree and blobs for ``value``; ``other(value, blobs)`` encodes what is not data
    (return ``None`` to refuse it). Pass ``blobs`` to append to the blobs of an earlier value."""
    blobs = [] if blobs is None else blobs
    memo: dict[int, int] = {}
    count = [0]
    keep = []  # keep encoded objects alive so that their ids stay unique while encoding

    def enc(v, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise WireError("value nested too deeply or too large to cross")
        kind = type(v)
        if v is None or kind is bool or kind is int:
            return v
        if kind is str:
            if len(v) > MAX_STR:
                raise WireError(f"a string of {len(v)} characters is over the limit")
            return v
        if kind is float:
            return {"t": "float", "v": v.hex()}
        if kind is complex:
            return {"t": "complex", "v": [v.real.hex(), v.imag.hex()]}
        if id(v) in memo:
            return {"t": "ref", "i": memo[id(v)]}
        module = getattr(kind, "__module__", "") or ""
        if module.startswith("torch") or module.startswith("numpy"):
            done = _enc_array_like(v, depth)
            if done is not None:
                return done
        if kind is list or isinstance(v, tuple):
            memo[id(v)] = len(memo)
            keep.append(v)
            tag = "list" if kind is list else "tuple"
            return {"t": tag, "i": memo[id(v)], "v": [enc(x, depth + 1) for x in v]}
        if kind is dict:
            if not all(type(k) is str for k in v):
                raise WireError("only dicts with string keys can cross")
            memo[id(v)] = len(memo)
            keep.append(v)
            return {"t": "dict", "i": memo[id(v)], "k": list(v), "v": [enc(x, depth + 1) for x in v.values()]}
        if other is not None:
            done = other(v, blobs)
            if done is not None:
                return done
        raise WireError(f"a value of type {kind.__module__}.{kind.__qualname__} cannot cross")

    def _enc_array_like(v, depth):
        kind = type(v)
        if kind.__module__.startswith("torch"):
            torch = _torch()
            if isinstance(v, torch.Tensor):
                dtype, shape, raw = _tensor_bytes(v)
                memo[id(v)] = len(memo)
                keep.append(v)
                blobs.append(raw)
                return {"t": "tensor", "i": memo[id(v)], "dtype": dtype, "shape": shape, "b": len(blobs) - 1}
            if isinstance(v, torch.dtype):
                return {"t": "dtype", "v": str(v).replace("torch.", "")}
            if isinstance(v, torch.Size):
                return {"t": "size", "v": [int(x) for x in v]}
            if isinstance(v, torch.device):
                if v.type != "cpu":
                    raise WireError(f"only the CPU device can cross, got {v}")
                return {"t": "device", "v": "cpu"}
            if isinstance(v, torch.Generator):
                if v.device.type != "cpu":
                    raise WireError("only CPU generators can cross")
                blobs.append(v.get_state().numpy().tobytes())
                return {"t": "generator", "b": len(blobs) - 1}
            return None
        np = _numpy()
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biufc" or v.dtype.name not in _NP_DTYPES:
                raise WireError(f"an array of dtype {v.dtype} cannot cross")
            arr = np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<"), copy=False)
            memo[id(v)] = len(memo)
            keep.append(v)
            blobs.append(arr.tobytes())
            return {
                "t": "ndarray",
                "i": memo[id(v)],
                "dtype": v.dtype.name,
                "shape": list(v.shape),
                "b": len(blobs) - 1,
            }
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return enc(float(v), depth)
        if isinstance(v, np.complexfloating):
            return enc(complex(v), depth)
        return None

    tree = enc(value, 0)
    return tree, blobs


def _shape(node) -> list[int]:
    shape = node.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        raise WireError("bad shape")
    if not all(type(s) is int and 0 <= s < 2**40 for s in shape):
        raise WireError("bad shape")
    return shape


def _blob(node, blobs) -> bytes:
    i = node.get("b")
    if type(i) is not int or not 0 <= i < len(blobs):
        raise WireError("bad blob reference")
    return blobs[i]


def _decode_tensor(node, blobs):
    torch = _torch()
    dtype, shape, raw = node.get("dtype"), _shape(node), _blob(node, blobs)
    if dtype not in DTYPES:
        raise WireError(f"bad tensor dtype {dtype!r}")
    torch_dtype = getattr(torch, dtype)
    numel = 1
    for s in shape:
        numel *= s
    item = torch.empty((), dtype=torch_dtype).element_size()
    if numel * item != len(raw):
        raise WireError("tensor data does not match its shape")
    if numel == 0:
        return torch.empty(shape, dtype=torch_dtype)
    if dtype == "bool":
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).ne(0).reshape(shape)
    return torch.frombuffer(bytearray(raw), dtype=torch_dtype).reshape(shape).clone()


def _decode_ndarray(node, blobs):
    np = _numpy()
    dtype, shape, raw = node.get("dtype"), _shape(node), _blob(node, blobs)
    if dtype not in _NP_DTYPES:
        raise WireError(f"bad array dtype {dtype!r}")
    dt = np.dtype(dtype).newbyteorder("<")
    numel = 1
    for s in shape:
        numel *= s
    if numel * dt.itemsize != len(raw):
        raise WireError("array data does not match its shape")
    arr = np.frombuffer(raw, dtype=dt).reshape(shape).astype(np.dtype(dtype), copy=True)
    return arr != 0 if dtype == "bool" else arr


def _float(x) -> float:
    if type(x) is not str or len(x) > 64:
        raise WireError("bad float")
    try:
        return float.fromhex(x)
    except ValueError:
        raise WireError("bad float") from None


def decode(tree, blobs: list[bytes], other=None):
    """The value a tree from :func:`encode` stands for; ``other(node, blobs)`` decodes extra tags
    (return ``None`` to refuse). Builds only objects of the types listed in the module docstring."""
    memo: dict[int, object] = {}
    count = [0]

    def remember(node, value):
        if type(node.get("i")) is int:
            memo[node["i"]] = value
        return value

    def dec(node, depth):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise WireError("value nested too deeply or too large")
        if node is None or type(node) in (bool, int, str, float):
            return node
        if type(node) is not dict:
            raise WireError(f"bad value node {type(node).__name__}")
        tag = node.get("t")
        if tag == "float":
            return _float(node.get("v"))
        if tag == "complex":
            v = node.get("v")
            if not isinstance(v, list) or len(v) != 2:
                raise WireError("bad complex")
            return complex(_float(v[0]), _float(v[1]))
        if tag == "ref":
            if type(node.get("i")) is not int or node["i"] not in memo:
                raise WireError("bad reference")
            return memo[node["i"]]
        if tag in ("list", "tuple"):
            items = node.get("v")
            if not isinstance(items, list):
                raise WireError("bad list")
            out: list = []
            if tag == "list":
                remember(node, out)
                out.extend(dec(x, depth + 1) for x in items)
                return out
            return remember(node, tuple(dec(x, depth + 1) for x in items))
        if tag == "dict":
            keys, values = node.get("k"), node.get("v")
            if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
                raise WireError("bad dict")
            if not all(type(k) is str for k in keys):
                raise WireError("bad dict key")
            out_d: dict = remember(node, {})
            for k, v in zip(keys, values):
                out_d[k] = dec(v, depth + 1)
            return out_d
        if tag == "tensor":
            return remember(node, _decode_tensor(node, blobs))
        if tag == "ndarray":
            return remember(node, _decode_ndarray(node, blobs))
        if tag == "dtype":
            if node.get("v") not in DTYPES:
                raise WireError("bad dtype")
            return getattr(_torch(), node["v"])
        if tag == "size":
            return _torch().Size(_shape({"shape": node.get("v")}))
        if tag == "device":
            if node.get("v") != "cpu":
                raise WireError("bad device")
            return _torch().device("cpu")
        if tag == "generator":
            torch = _torch()
            gen = torch.Generator()
            try:
                gen.set_state(torch.frombuffer(bytearray(_blob(node, blobs)), dtype=torch.uint8))
            except (RuntimeError, ValueError):
                raise WireError("bad generator state") from None
            return gen
        if other is not None:
            value = other(node, blobs, lambda x: dec(x, depth + 1))
            if value is not None:
                return value
        raise WireError(f"bad value tag {tag!r}")

    try:
        return dec(tree, 0)
    except (RecursionError, MemoryError, OverflowError) as err:
        raise WireError(f"value refused: {type(err).__name__}") from None

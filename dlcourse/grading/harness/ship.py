"""A test's own callables, classes and objects, sent to the student's process as source and data.

Part of :mod:`dlcourse.grading.harness`. A test may pass the student's function a ``lambda`` or a
``def`` written in the test (or set-up) cell, a class written there (a test double), or an
instance of one (the contract's rule 3). They cross as their source text, cut from the cell with
``ast`` (this process is single-threaded), plus the names they read: modules by name, data by
value, the student's own functions by reference, other test functions and classes by source.
After the call, an instance's data attributes come back (:func:`apply_back`).
"""

from __future__ import annotations

import ast
import textwrap
import types

from ..sandbox import values as data
from ..sandbox import wire

__all__ = ["Sources", "apply_back", "TEST_MODULE"]

TEST_MODULE = "__test__"  # the __name__ of the test namespace: what its functions and classes carry


class Sources:
    """The source of every set-up and test cell run so far, by the file name it was compiled as."""

    def __init__(self):
        self.text: dict[str, str] = {}
        self._trees: dict[str, ast.Module] = {}
        self.classes: dict[str, str] = {}  # qualname -> source of the latest definition

    def add(self, filename: str, source: str, tree: ast.Module) -> None:
        self.text[filename], self._trees[filename] = source, tree
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = textwrap.dedent(ast.get_source_segment(source, node) or "")

    def _function_node(self, code: types.CodeType):
        tree, source = self._trees.get(code.co_filename), self.text.get(code.co_filename)
        if tree is None:
            return None, None
        wanted = ast.Lambda if code.co_name == "<lambda>" else (ast.FunctionDef, ast.AsyncFunctionDef)
        found = []
        for node in ast.walk(tree):
            if not isinstance(node, wanted):
                continue
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            if first == code.co_firstlineno and getattr(node, "name", code.co_name) == code.co_name:
                found.append(node)
        if len(found) > 1:  # several lambdas on one line: the one whose columns hold the code
            cols = [p[2] for p in code.co_positions() if p[0] == code.co_firstlineno and p[2] is not None]
            first_col = min(cols) if cols else -1
            found = [n for n in found if n.col_offset <= first_col <= (n.end_col_offset or 0)] or found
        return (found[0] if found else None), source

    def function(self, fn: types.FunctionType, blobs: list[bytes], encode_other) -> dict | None:
        node, source = self._function_node(fn.__code__)
        if node is None:
            return None
        text = textwrap.dedent(ast.get_source_segment(source, node, padded=True) or "")
        kind = "lambda" if isinstance(node, ast.Lambda) else "def"
        if kind == "def" and node.decorator_list:
            lines = source.splitlines()[min(d.lineno for d in node.decorator_list) - 1 : node.end_lineno]
            text = textwrap.dedent("\n".join(lines))
        names = _read_names(fn.__code__) - {fn.__name__}
        values = {n: fn.__globals__[n] for n in names if n in fn.__globals__}
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            try:
                values[name] = cell.cell_contents
            except ValueError:
                pass
        return {
            "t": "code",
            "kind": kind,
            "name": fn.__name__,
            "source": text,
            "globals": _names(values, blobs, encode_other),
        }

    def klass(self, cls: type, blobs: list[bytes], encode_other) -> dict | None:
        source = self.classes.get(cls.__qualname__)
        if not source:
            return None
        values = {}
        for member in vars(cls).values():
            func = getattr(member, "__func__", member)
            if isinstance(func, types.FunctionType):
                values.update(
                    {n: func.__globals__[n] for n in _read_names(func.__code__) if n in func.__globals__}
                )
        values.pop(cls.__name__, None)
        return {
            "t": "code",
            "kind": "class",
            "name": cls.__name__,
            "source": source,
            "globals": _names(values, blobs, encode_other),
        }


def _read_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _read_names(const)
    return names


def _names(values: dict, blobs: list[bytes], encode_other) -> dict:
    """The names a shipped function reads, as one encoded dict (what cannot cross is left out:
    the function then fails with a NameError in the student's process, as it would anyway)."""
    kept = {}
    for name, value in values.items():
        if isinstance(value, types.ModuleType):
            kept[name] = value
            continue
        try:
            data.encode(value, encode_other, [])
        except (wire.WireError, RecursionError):
            continue
        kept[name] = value
    tree, _ = data.encode(kept, encode_other, blobs)
    return tree


def apply_back(original, new) -> None:
    """Copy the state ``new`` (decoded from the student's process after a call) into ``original``,
    in place: tensors, arrays, lists, dicts, tuples' contents, generators, test doubles."""
    import numpy as np
    import torch

    if isinstance(original, torch.Tensor) and isinstance(new, torch.Tensor):
        if original.shape == new.shape and original.dtype == new.dtype:
            with torch.no_grad():
                original.copy_(new)
    elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.dtype == new.dtype and original.flags.writeable:
            np.copyto(original, new)
    elif isinstance(original, torch.Generator) and isinstance(new, torch.Generator):
        original.set_state(new.get_state())
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            for i, (o, n) in enumerate(zip(original, new)):
                if type(o) is type(n) and isinstance(o, (torch.Tensor, np.ndarray, list, dict)):
                    apply_back(o, n)
                else:
                    original[i] = n
        else:
            original[:] = new
    elif isinstance(original, dict) and isinstance(new, dict):
        original.clear()
        original.update(new)
    elif isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for o, n in zip(original, new):
            apply_back(o, n)
    elif (
        getattr(type(original), "__module__", None) == TEST_MODULE
        and isinstance(new, dict)
        and "__state__" in new
    ):
        vars(original).update(new["__state__"])

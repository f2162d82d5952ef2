"""A problem set's rules, enforced by what code does: banned functions raise, torch operations count.

Part of :mod:`dlcourse.grading.sandbox`. Used in the student's process while a test calls the
student's function (the runner), and in the student's own Jupyter through
:mod:`dlcourse.grading.student`; it imports nothing of ``dlcourse``.

A banned name is a fully qualified callable (``"torch.nn.functional.softmax"``,
``"torch.Tensor.softmax"``, ``"torch.softmax"``) or a module (``"torch.nn.functional"``: everything in
it, its public classes and, recursively, its submodules). A class is banned by its own methods
(``torch.optim.SGD``: constructing one calls ``SGD.__init__``). The course package
(:data:`COURSE_PACKAGE`) is not importable when grading: banning it holds by construction, and its
names are never reported as not found. Names are resolved to the objects themselves, once, so that an alias made earlier
(``s = F.softmax``) or a name built at run time (``getattr(F, "soft" + "max")``) is the same object.
Two detectors run while :meth:`Rules.guard` is active:

* torch functions at the operator level, with a ``TorchFunctionMode``: every torch function or
  tensor method called with tensors passes through it; a banned one raises :class:`RuleViolation`,
  and the calls are counted (the count of :func:`dlcourse.grading.student.count_torch_ops`);
* Python functions by the identity of their code object, and C functions by identity, with
  ``sys.setprofile`` (also for threads started meanwhile), so that a copy of a banned Python
  function is caught too.

Both run inside the process they watch: code written to disable them can (the security page says
so); the static scan of :mod:`dlcourse.grading.cheats` looks for such code.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
import types

__all__ = ["RuleViolation", "Rules", "resolve", "COURSE_PACKAGE"]

COURSE_PACKAGE = "dlcourse"


class RuleViolation(AssertionError):
    """The code called a function the task bans (an ``AssertionError``: a test that hits it fails)."""


def _lookup(name: str):
    """The object a dotted name stands for (importing the longest module prefix), or ``None``."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception:  # noqa: BLE001  a module failing at import counts as not found
            return None
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


_DISPATCH = ("has_torch_function", "handle_torch_function", "boolean_dispatch")


def _inside(obj, prefix: str) -> bool:
    """Whether ``obj`` was defined in module ``prefix`` or one of its submodules."""
    module = getattr(obj, "__module__", None) or ""
    return module == prefix or module.startswith(prefix + ".")


def _member_of(module: types.ModuleType, attr: str, member) -> bool:
    """A public function of ``module``: defined there (or in a submodule), or a C function it
    exports (not an import such as a typing helper, nor torch's own dispatch helpers)."""
    if attr.startswith("_") or isinstance(member, type) or not callable(member):
        return False
    if attr.startswith(_DISPATCH):
        return False
    if isinstance(member, (types.BuiltinFunctionType, types.BuiltinMethodType)):
        return True
    return _inside(member, module.__name__)


def _methods(cls: type):
    """The functions a class defines itself (its constructor among them)."""
    for member in vars(cls).values():
        func = getattr(member, "__func__", member)  # staticmethod, classmethod
        if isinstance(func, types.FunctionType):
            yield func


def _own_code(func):
    """The code object of ``func``'s own body, or ``None``.

    A decorated function is unwrapped first: the wrapper's code (``contextlib``'s helper of every
    ``@contextmanager``, torch's ``_use_grad`` around every optimizer's ``step``) is shared with
    functions nobody banned, so it never identifies a banned one; the body it wraps does, and it
    runs whenever the wrapper is called. Code compiled outside the function's own module is
    skipped for the same reason.
    """
    try:
        func = inspect.unwrap(func)
    except ValueError:  # a cycle of __wrapped__
        return None
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    where = getattr(module, "__file__", None)
    if where and os.path.abspath(code.co_filename) != os.path.abspath(where):
        return None
    return code


def _course_package(name: str) -> bool:
    return name == COURSE_PACKAGE or name.startswith(COURSE_PACKAGE + ".")


def resolve(names) -> tuple[dict[int, str], dict[object, str], list, list[str]]:
    """``(objects by id, code objects, kept references, names not found)`` for banned ``names``."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"banned must be a tuple of fully qualified names, got {names!r}")
    by_id: dict[int, str] = {}
    codes: dict[object, str] = {}
    keep: list = []
    missing: list[str] = []

    def add(obj, label):
        if isinstance(obj, type):
            for func in _methods(obj):
                add(func, label)
            return
        keep.append(obj)
        by_id.setdefault(id(obj), label)
        code = _own_code(getattr(obj, "__func__", obj))
        if code is not None:
            codes.setdefault(code, label)

    def add_module(module: types.ModuleType, label: str, seen: set) -> None:
        if module.__name__ in seen:
            return
        seen.add(module.__name__)
        for attr, member in sorted(vars(module).items()):
            if attr.startswith("_"):
                continue
            if isinstance(member, types.ModuleType):
                if member.__name__.startswith(module.__name__ + "."):
                    add_module(member, f"{label}.{attr}", seen)
            elif isinstance(member, type):
                if _inside(member, module.__name__):
                    add(member, f"{label}.{attr}")
            elif _member_of(module, attr, member):
                add(member, f"{label}.{attr}")

    for name in names:
        obj = _lookup(name)
        if obj is None:
            if not _course_package(name):
                missing.append(name)
        elif isinstance(obj, types.ModuleType):
            add_module(obj, name, set())
        else:
            add(obj, name)
    return by_id, codes, keep, missing


class _Watch:
    """What one guarded call did: banned names it called, torch operations it ran."""

    def __init__(self):
        self.violations: list[str] = []
        self.ops = 0

    def hit(self, name: str) -> None:
        if name not in self.violations:
            self.violations.append(name)
        raise RuleViolation(f"{name} is banned in this task (the rules say so): write it out yourself")


class Rules:
    """The banned functions of one task, resolved now (before the code under test runs)."""

    def __init__(self, banned=()):
        if isinstance(banned, str):
            raise TypeError(f"banned must be a tuple of fully qualified names, got the string {banned!r}")
        self.by_id, self.codes, self._keep, self.missing = resolve(tuple(banned))

    def guard(self, count: bool = False) -> _Guard:
        """A context manager: while active, banned calls raise and torch operations are counted."""
        return _Guard(self, count)


class _Guard:
    def __init__(self, rules: Rules, count: bool):
        self.rules, self.count, self.watch = rules, count, _Watch()
        self._mode = None
        self._profile = None

    def __enter__(self) -> _Watch:
        rules, watch = self.rules, self.watch
        if rules.by_id or self.count:
            from torch.overrides import TorchFunctionMode

            class _Mode(TorchFunctionMode):
                def __torch_function__(self, func, types_, args=(), kwargs=None):
                    watch.ops += 1
                    name = rules.by_id.get(id(func))
                    if name is not None:
                        watch.hit(name)
                    return func(*args, **(kwargs or {}))

            self._mode = _Mode()
            self._mode.__enter__()
        if rules.codes or rules.by_id:
            by_id, codes = rules.by_id, rules.codes

            def profile(frame, event, arg):
                if event == "call":
                    name = codes.get(frame.f_code)
                elif event == "c_call":
                    name = by_id.get(id(arg))
                else:
                    return
                if name is not None:
                    watch.hit(name)

            self._profile = (sys.getprofile(), threading.getprofile())
            threading.setprofile(profile)
            sys.setprofile(profile)
        return watch

    def __exit__(self, *exc) -> None:
        if self._profile is not None:
            sys.setprofile(self._profile[0])
            threading.setprofile(self._profile[1])
        if self._mode is not None:
            self._mode.__exit__(None, None, None)

"""The namespace the instructor's set-up and test cells run in, in the trusted process.

Part of :mod:`dlcourse.grading.harness`. It starts empty (no student code, ever); set-up cells
fill it; a name a test reads that is neither there nor a Python builtin is fetched from the
student's process for the duration of that test cell (:meth:`TestNamespace.__missing__`), so the
student's later changes are seen and nothing of theirs shadows the tests' own names or builtins.
The grader's ``check_rules`` and ``count_torch_ops`` replace whatever the set-up cells defined
(the contract's rules 7 and 8), and ``inspect.getsource`` of a student's function asks the
student's process (tests that read source keep working; see the security page on why they
cannot be trusted).
"""

from __future__ import annotations

import builtins
import inspect

from ..sandbox.rules import Rules
from .proxy import Remote, StudentFunction
from .ship import TEST_MODULE

__all__ = ["TestNamespace", "install_getsource"]

_BUILTINS = frozenset(vars(builtins))


class _NoShell:
    """``get_ipython()`` for instructor cells in the trusted process: magics have no effect here
    (``%matplotlib inline``), a cell magic's body runs as plain code (``%%time``)."""

    def __init__(self, ns: dict):
        self._ns = ns

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, name: str, line: str, cell: str):
        exec(compile(cell, f"<%%{name}>", "exec"), self._ns)  # the instructor's own cell

    def system(self, *args, **kwargs):
        return None

    getoutput = system


class TestNamespace(dict):
    """``globals()`` of the set-up and test cells."""

    def __init__(self, remote: Remote):
        super().__init__(__name__=TEST_MODULE, __builtins__=builtins)
        self.remote = remote
        self._fetched: dict[str, object] = {}
        self.fetching = False  # only while a test cell runs
        self.install_helpers()

    def __missing__(self, name: str):
        if not self.fetching or name in _BUILTINS or name.startswith("__"):
            raise KeyError(name)
        value = self.remote.fetch(name)
        dict.__setitem__(self, name, value)
        self._fetched[name] = value
        return value

    def forget_fetched(self) -> None:
        """Drop what the last test cell fetched (unless the test rebound the name itself)."""
        for name, value in self._fetched.items():
            if dict.get(self, name) is value:
                dict.__delitem__(self, name)
        self._fetched = {}

    def install_helpers(self) -> None:
        """The grader's own ``check_rules`` and ``count_torch_ops`` (after every set-up cell)."""
        remote = self.remote

        def check_rules(banned, fn, *args, **kwargs):
            """Call ``fn`` with the functions ``banned`` raising (in the student's process)."""
            if isinstance(banned, str) or not all(isinstance(b, str) for b in banned):
                raise TypeError(f"banned must be a tuple of names, got {banned!r}")
            if isinstance(fn, StudentFunction):
                return remote.call(fn, args, kwargs, banned=tuple(banned))
            saved = remote.banned  # a test's own callable: the student's functions it calls obey
            remote.banned = tuple(dict.fromkeys((*saved, *banned)))
            try:
                return fn(*args, **kwargs)
            finally:
                remote.banned = saved

        def count_torch_ops(fn, *args, **kwargs):
            """``(fn(*args, **kwargs), number of torch operations it ran)``."""
            if isinstance(fn, StudentFunction):
                return remote.call(fn, args, kwargs, count=True)
            remote.counting.append(0)
            try:
                with Rules(()).guard(count=True) as watch:
                    result = fn(*args, **kwargs)
            finally:
                remote_ops = remote.counting.pop()
            return result, watch.ops + remote_ops

        dict.update(
            self, check_rules=check_rules, count_torch_ops=count_torch_ops, get_ipython=lambda: _NoShell(self)
        )

    def banned(self) -> dict[str, tuple[str, ...]]:
        """``BANNED`` as the set-up cells defined it, checked: task -> names."""
        value = dict.get(self, "BANNED", {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and not isinstance(v, str) and all(isinstance(n, str) for n in v)
            for k, v in value.items()
        ):
            raise TypeError("BANNED must map task names to tuples of fully qualified names")
        return {task: tuple(names) for task, names in value.items()}


_original_getsource = inspect.getsource


def install_getsource(remote: Remote) -> None:
    """``inspect.getsource`` of a :class:`StudentFunction` asks the student's process."""

    def getsource(obj):
        if isinstance(obj, StudentFunction):
            return remote.source(obj)
        return _original_getsource(obj)

    inspect.getsource = getsource

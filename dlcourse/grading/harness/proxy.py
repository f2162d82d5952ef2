"""The student's functions as seen by the trusted tests: proxies that move only data.

Part of :mod:`dlcourse.grading.harness`. A name a test reads that the student's notebook defines
is fetched from the student's process (:meth:`Remote.fetch`): plain data is copied in, a
function (or any other callable) becomes a :class:`StudentFunction`, anything else fails the test
with a clear message. Calling a proxy sends the arguments as data (and the test's own callables
as source, :mod:`.ship`), runs the student's function there under the task's rules, copies the
arguments' in-place changes back and returns the value as data. An exception of the student's
code is raised again here as the same built-in type (so ``except ValueError`` in a test works),
marked as the student's (:func:`student_info`).
"""

from __future__ import annotations

import builtins
import importlib
import time
import types

from ..sandbox import values, wire
from ..sandbox.rules import RuleViolation
from .channel import StudentTimeout
from .ship import TEST_MODULE, Sources, apply_back

__all__ = ["StudentFunction", "Remote", "GradingError", "student_info"]


class GradingError(Exception):
    """A test could not use something of the student's notebook (not a value it can read)."""


class StudentException(RuntimeError):
    """An exception of the student's code whose type is not one of Python's built-in ones."""


def student_info(err: BaseException) -> dict | None:
    """What the student's process said about an exception its code raised (None: not the student's)."""
    return getattr(err, "_dlcourse_student", None)


class StudentFunction:
    """A function of the student's: calling it calls it in the student's process."""

    def __init__(self, remote: Remote, ref: dict, name: str):
        self._remote, self._ref = remote, ref
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return self._remote.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<the student's {self.__name__}>"


class Remote:
    """The student's process, for one submission's tests."""

    def __init__(self, channel, sources: Sources, cell_timeout: float):
        self.channel, self.sources, self.cell_timeout = channel, sources, cell_timeout
        self.task: str | None = None
        self.banned: tuple[str, ...] = ()
        self.deadline: float | None = None  # time.monotonic() at which the running test cell's time is up
        self.violations: dict[str, list[str]] = {}
        self.counting: list[int] = []
        self.course_package = False  # the student's code tried to import dlcourse
        self._busy: set[int] = set()

    def left(self) -> float:
        if self.deadline is None:
            return self.cell_timeout
        return max(self.deadline - time.monotonic(), 0.05)

    # ------------------------------------------------------------ fetch
    def fetch(self, name: str):
        reply, blobs, _ = self.channel.request({"op": "get", "name": name}, timeout=self.left())
        kind = reply.get("kind")
        if kind == "missing":
            raise KeyError(name)
        if kind == "callable":
            return self._proxy(reply.get("value"))
        if kind == "data":
            return values.decode(reply.get("value"), blobs, self._decode_other)
        if kind == "module":
            raise GradingError(f"`{name}` is a module of the student's notebook; a test must import its own")
        desc = str(reply.get("desc", "?"))[:300]
        raise GradingError(f"`{name}` is not a value the grader can read: {desc}")

    def _proxy(self, node) -> StudentFunction:
        if not isinstance(node, dict) or node.get("t") != "handle" or type(node.get("id")) is not int:
            raise wire.WireError("bad handle")
        name = node.get("name") if isinstance(node.get("name"), str) else "function"
        return StudentFunction(self, {"t": "handle", "id": node["id"]}, name[:100])

    def _decode_other(self, node, blobs, decode):
        return self._proxy(node) if node.get("t") == "handle" else None

    # ------------------------------------------------------------ ship
    def _encode_other(self, value, blobs):
        if isinstance(value, StudentFunction):
            return dict(value._ref)
        if isinstance(value, types.ModuleType):
            return {"t": "module", "name": value.__name__}
        if id(value) in self._busy:
            raise wire.WireError("a test function that refers to itself through another")
        self._busy.add(id(value))
        try:
            return self._ship(value, blobs)
        finally:
            self._busy.discard(id(value))

    def _ship(self, value, blobs):
        if isinstance(value, types.FunctionType) and value.__module__ == TEST_MODULE:
            return self.sources.function(value, blobs, self._encode_other)
        if isinstance(value, type) and value.__module__ == TEST_MODULE:
            return self.sources.klass(value, blobs, self._encode_other)
        if getattr(type(value), "__module__", None) == TEST_MODULE:
            cls = self.sources.klass(type(value), blobs, self._encode_other)
            state = {}
            for key, item in vars(value).items():
                try:
                    values.encode(item, self._encode_other, [])
                    state[key] = item
                except wire.WireError:
                    pass
            return (
                None
                if cls is None
                else {"t": "object", "cls": cls, "state": values.encode(state, self._encode_other, blobs)[0]}
            )
        module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
        if callable(value) and isinstance(module, str) and isinstance(qualname, str) and "<" not in qualname:
            try:
                found = importlib.import_module(module)
                for part in qualname.split("."):
                    found = getattr(found, part)
            except (ImportError, AttributeError):
                return None
            if found is value:
                return {"t": "import", "module": module, "qualname": qualname}
        return None

    # ------------------------------------------------------------ call
    def call(self, fn: StudentFunction, args, kwargs, banned=None, count: bool = False):
        """``fn(*args, **kwargs)`` in the student's process; ``(value, n_ops)`` when ``count``."""
        counting = count or bool(self.counting)
        blobs: list[bytes] = []
        tree_args, _ = values.encode(list(args), self._encode_other, blobs)
        tree_kwargs, _ = values.encode(dict(kwargs), self._encode_other, blobs)
        rules = tuple(self.banned if banned is None else banned)
        message = {"op": "call", "target": fn._ref, "args": tree_args, "kwargs": tree_kwargs}
        message.update(banned=list(rules), count=counting)
        reply, got, interrupted = self.channel.request(message, blobs, timeout=self.left())
        name = fn.__name__
        if reply.get("op") != "called":
            raise GradingError(f"the grader could not call {name}: {str(reply.get('error', '?'))[:300]}")
        after = reply.get("after") if isinstance(reply.get("after"), dict) else {}
        for key, tree in (after.get("args") or {}).items():
            if key.isdigit() and int(key) < len(args):
                apply_back(args[int(key)], values.decode(tree, got, self._decode_other))
        for key, tree in (after.get("kwargs") or {}).items():
            if key in kwargs:
                apply_back(kwargs[key], values.decode(tree, got, self._decode_other))
        violations = [v for v in reply.get("violations") or [] if isinstance(v, str)]
        if violations:
            seen = self.violations.setdefault(self.task or "", [])
            seen += [v for v in violations if v not in seen]
            raise RuleViolation(f"{name} called {', '.join(violations)}, which this task bans")
        raised = reply.get("raised")
        if interrupted or (isinstance(raised, dict) and raised.get("type") == "KeyboardInterrupt"):
            raise StudentTimeout(f"{name} ran past the time limit of {self.cell_timeout:g} s and was stopped")
        if isinstance(raised, dict):
            if "ImportError" in (raised.get("bases") or []) and "dlcourse" in str(raised.get("message")):
                self.course_package = True
            raise self._exception(raised)
        if "unreadable" in reply:
            raise GradingError(
                f"{name} returned a value the grader cannot read: {str(reply['unreadable'])[:300]}"
            )
        value = values.decode(reply.get("value"), got, self._decode_other)
        ops = reply.get("ops") if type(reply.get("ops")) is int else 0
        if self.counting:
            self.counting[-1] += ops
        return (value, ops) if count else value

    @staticmethod
    def _exception(info: dict) -> BaseException:
        message = str(info.get("message", ""))[:2000]
        err: BaseException | None = None
        for base in info.get("bases") or []:
            cls = getattr(builtins, str(base), None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls is not KeyboardInterrupt:
                try:
                    err = cls(message)
                    break
                except Exception:  # noqa: BLE001  a built-in that takes other arguments
                    continue
        if err is None:
            err = StudentException(f"{str(info.get('type', '?'))[:100]}: {message}")
        err._dlcourse_student = {  # type: ignore[attr-defined]
            "type": str(info.get("type", "?"))[:100],
            "traceback": str(info.get("traceback", ""))[-8000:],
        }
        return err

    def source(self, fn: StudentFunction) -> str:
        reply, _, _ = self.channel.request({"op": "source", "target": fn._ref}, timeout=self.left())
        text = reply.get("text")
        if not isinstance(text, str):
            raise OSError(f"could not get the source code of {fn.__name__}")
        return text

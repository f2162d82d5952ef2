"""The student's process: runs the notebook's cells and answers the trusted tests' requests.

Part of :mod:`dlcourse.grading.sandbox`; runs inside the sandbox, forked from the warm interpreter
(:mod:`.zygote`), as a top-level module there. One request at a time over one socket
(:mod:`.wire` frames), from the trusted test process:

Frames: :mod:`.wire`; data in them: :mod:`.values`.

``init``   the banned names of each task, resolved now, before any student code runs;
``run``    one code cell of the notebook (set-up, answer or added cell), its outputs back;
``get``    a name of the student's namespace: data (copied), a callable (a handle), or what it is;
``call``   a handle or a student name called with data and shipped test callables, under a
           task's rules (banned functions raise, torch operations counted); the value back, the
           in-place changes of the arguments, the violations and the count;
``source`` the source of a student's function (for tests that read it);
``bye``    exit.

Nothing here is trusted: the student's code runs in this process and may change any of it. The
trusted side only ever receives data (or refusals), within limits, and decides every verdict.
SIGINT interrupts the student's code (the trusted side sends it at a time limit); it is blocked
while this module itself works, so that a frame is never cut in half.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import os
import signal
import sys
import traceback

try:
    from . import capture, rules, values, wire
except ImportError:  # inside the sandbox: a top-level module beside its siblings
    import capture
    import rules
    import values
    import wire

__all__ = ["Runner"]

FRAME_LIMIT = 256 * 2**20
_HERE = os.path.dirname(os.path.abspath(__file__))
_SIGINT = {signal.SIGINT}


def _describe(value) -> str:
    kind = type(value)
    return f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"


def _name_of(value) -> str:
    try:
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    except Exception:  # noqa: BLE001  a property of the student's raised
        name = None
    return name if isinstance(name, str) else type(value).__name__


class Runner:
    """Serves one student's notebook over ``sock`` in ``shell`` (an IPython shell)."""

    def __init__(self, sock, shell, limits: dict):
        self.sock, self.shell, self.limits = sock, shell, limits
        self.handles: dict[int, object] = {}
        self.rules: dict[tuple, rules.Rules] = {}
        self.classes: dict[tuple, type] = {}
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGINT)

    # ------------------------------------------------------------------ plumbing
    def _send(self, message: dict, blobs=()) -> None:
        wire.send(self.sock, message, list(blobs))

    def _student(self, call):
        """Run ``call()`` with SIGINT deliverable (a time limit interrupts it), then block it
        again and swallow one that arrived late."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGINT)
        try:
            return call()
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGINT)
            if signal.SIGINT in signal.sigpending():
                signal.sigwait(_SIGINT)

    def serve(self) -> None:
        """Answer requests until ``bye`` or the connection closes."""
        handlers = {
            "init": self.init,
            "run": self.run,
            "get": self.get,
            "call": self.call,
            "source": self.source,
        }
        while True:
            try:
                message, blobs = wire.recv(self.sock, FRAME_LIMIT)
            except (EOFError, OSError, wire.WireError):
                return
            op = message.get("op")
            if op == "bye":
                return
            handler = handlers.get(op)
            try:
                if handler is None:
                    raise ValueError(f"unknown request {op!r}")
                handler(message, blobs)
            except (OSError, EOFError):
                return
            except BaseException as err:  # noqa: BLE001  report and keep serving
                self._send({"op": "failed", "id": message.get("id"), "error": f"{type(err).__name__}: {err}"})

    # ------------------------------------------------------------------ requests
    def init(self, message, blobs) -> None:
        missing: list[str] = []
        for names in (message.get("banned") or {}).values():
            key = tuple(sorted(names))
            if key not in self.rules:
                self.rules[key] = rules.Rules(key)
                missing += [n for n in self.rules[key].missing if n not in missing]
        self._send({"op": "ready", "id": message.get("id"), "missing": missing})

    def run(self, message, blobs) -> None:
        capture.OUT.discard = False
        capture.OUT.reset(self.limits.get("output_bytes", 200_000))
        source = message.get("source")
        if not isinstance(source, str):
            raise TypeError("source must be a string")
        result = self._student(lambda: self.shell.run_cell(source, store_history=True))
        outputs, dropped = capture.OUT.take()
        ok = bool(getattr(result, "success", False))
        self._send(
            {
                "op": "ran",
                "id": message.get("id"),
                "ok": ok,
                "outputs": outputs,
                "dropped": dropped,
                "count": self.shell.execution_count - 1,
            }
        )

    def _handle(self, value) -> dict:
        key = id(value)
        self.handles[key] = value
        return {"t": "handle", "id": key, "name": _name_of(value)}

    def _encode_other(self, value, blobs):
        if callable(value) and not inspect.ismodule(value):
            return self._handle(value)
        return None

    def get(self, message, blobs) -> None:
        name = message.get("name")
        ns = self.shell.user_ns
        reply = {"op": "got", "id": message.get("id")}
        if not isinstance(name, str) or name not in ns:
            self._send({**reply, "kind": "missing"})
            return
        value = ns[name]
        if inspect.ismodule(value):
            self._send({**reply, "kind": "module", "desc": getattr(value, "__name__", "?")})
            return
        if callable(value):
            self._send({**reply, "kind": "callable", "value": self._handle(value)})
            return
        try:
            tree, out = values.encode(value, self._encode_other)
        except wire.WireError as err:
            self._send({**reply, "kind": "other", "desc": f"{_describe(value)} ({err})"})
            return
        self._send({**reply, "kind": "data", "value": tree}, out)

    def _target(self, ref):
        if isinstance(ref, dict) and ref.get("t") == "handle" and ref.get("id") in self.handles:
            return self.handles[ref["id"]]
        if isinstance(ref, dict) and ref.get("t") == "student" and ref.get("name") in self.shell.user_ns:
            return self.shell.user_ns[ref["name"]]
        raise LookupError(f"no such function: {ref!r}")

    def _build(self, node, decode):
        """A test's callable, class or object shipped as source (trusted code, run here)."""
        tag = node.get("t")
        if tag == "handle" or tag == "student":
            return self._target(node)
        if tag == "module":
            return importlib.import_module(str(node.get("name")))
        if tag == "import":
            obj = importlib.import_module(str(node.get("module")))
            for part in str(node.get("qualname")).split("."):
                obj = getattr(obj, part)
            return obj
        if tag == "code":
            names = decode(node.get("globals", {"t": "dict", "k": [], "v": []}))
            ns = {"__builtins__": builtins, "__name__": "__test__", **names}
            source, name = node.get("source"), node.get("name")
            if node.get("kind") == "lambda":
                return eval(compile(source, "<test>", "eval"), ns)  # the instructor's lambda, in the sandbox
            key = (source, name)
            if node.get("kind") == "class" and key in self.classes:
                return self.classes[key]
            exec(compile(source, "<test>", "exec"), ns)  # the instructor's def or class, in the sandbox
            if node.get("kind") == "class":
                self.classes[key] = ns[name]
            return ns[name]
        if tag == "object":
            cls = self._build(node.get("cls"), decode)
            obj = cls.__new__(cls)
            obj.__dict__.update(decode(node.get("state")))
            return obj
        return None

    def _rules_for(self, names) -> rules.Rules:
        key = tuple(sorted(names or ()))
        if key not in self.rules:
            self.rules[key] = rules.Rules(key)
        return self.rules[key]

    def call(self, message, blobs) -> None:
        reply = {"op": "called", "id": message.get("id")}
        target = self._target(message.get("target"))
        args = values.decode(message.get("args"), blobs, lambda n, b, d: self._build(n, d))
        kwargs = values.decode(message.get("kwargs"), blobs, lambda n, b, d: self._build(n, d))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("args must be a list and kwargs a dict")
        versions = {i: getattr(a, "_version", None) for i, a in enumerate(args)}
        versions.update({k: getattr(v, "_version", None) for k, v in kwargs.items()})
        guard = self._rules_for(message.get("banned")).guard(count=bool(message.get("count")))
        capture.OUT.discard = True  # what the student's code prints while a test runs is dropped
        raised = None
        with guard as watch:
            try:
                value = self._student(lambda: target(*args, **kwargs))
            except BaseException as err:  # noqa: BLE001  reported to the trusted side
                raised = err
        out: list[bytes] = []
        after = {"args": {}, "kwargs": {}}
        for where, items in (("args", dict(enumerate(args))), ("kwargs", kwargs)):
            for key, arg in items.items():
                if self._changed(arg, versions.get(key)):
                    try:
                        tree, _ = values.encode(self._state(arg), self._encode_other, out)
                        after[where][str(key)] = tree
                    except wire.WireError:
                        pass
        reply.update(after=after, violations=watch.violations, ops=watch.ops)
        if raised is not None:
            self._send({**reply, "raised": self._exception(raised)}, out)
            return
        try:
            reply["value"], _ = values.encode(value, self._encode_other, out)
        except wire.WireError as err:
            reply["unreadable"] = f"{_describe(value)} ({err})"
        self._send(reply, out)

    @staticmethod
    def _changed(arg, version) -> bool:
        """Whether an argument may have changed in place (a tensor: its version counter moved)."""
        if version is not None:
            return getattr(arg, "_version", None) != version
        if isinstance(arg, (list, tuple, dict)) or type(arg).__name__ in ("ndarray", "Generator"):
            return True
        return getattr(type(arg), "__module__", None) == "__test__"  # a test double

    @staticmethod
    def _state(arg):
        """What is copied back: the argument itself, or a test double's data attributes."""
        if getattr(type(arg), "__module__", None) == "__test__":
            state = {}
            for name, value in vars(arg).items():
                try:
                    values.encode(value)
                    state[name] = value
                except wire.WireError:
                    pass
            return {"__state__": state}
        return arg

    @staticmethod
    def _exception(err: BaseException) -> dict:
        bases = [
            k.__name__
            for k in type(err).__mro__
            if getattr(builtins, k.__name__, None) is k and issubclass(k, BaseException)
        ]
        try:
            message = str(err)
        except Exception:  # noqa: BLE001  the student's __str__ failed
            message = ""
        tb = err.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_HERE):
            tb = tb.tb_next  # the student's frames, not this module's
        try:
            text = "".join(traceback.format_exception(type(err), err, tb)[-20:])
        except Exception:  # noqa: BLE001
            text = ""
        return {
            "type": type(err).__name__[:100],
            "bases": bases[:10],
            "message": message[:2000],
            "traceback": text[-8000:],
            "rule": isinstance(err, rules.RuleViolation),
        }

    def source(self, message, blobs) -> None:
        try:
            text = inspect.getsource(self._target(message.get("target")))
        except (OSError, TypeError, LookupError):
            text = None
        self._send({"op": "source", "id": message.get("id"), "text": text if isinstance(text, str) else None})


def install_streams() -> None:
    """The student's ``print`` goes to the cell's outputs."""
    sys.stdout, sys.stderr = capture.Stream("stdout"), capture.Stream("stderr")

"""One instructor cell run in the trusted namespace, and the outputs the notebook keeps of it.

Part of :mod:`dlcourse.grading.harness`. A test cell passes when it runs to its end here; it fails
on any exception (the instructor's assertion, an error of the student's function raised again by
its proxy, a rule violation, a time limit). What the autograded notebook and the feedback keep:

- a visible test: what the test itself printed, and on failure the exception with the lines of
  the test cell it went through (and, when the student's function raised, its traceback);
- a cell holding hidden tests: only pass or fail and the exception's type and the instructor's
  message (scrubbed of hidden-test text; a message of the student's own exception is not shown),
  never anything printed, and never a line of the cell.

A last expression that is a number is kept as the cell's result, as IPython would show it (nbgrader
reads it as partial credit).
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import signal
import time
import traceback
from dataclasses import dataclass, field

from .. import markers
from ..plan import task_of
from .channel import StudentGone, StudentTimeout
from .proxy import student_info

__all__ = ["Verdict", "run_cell", "run_test"]

MAX_MESSAGE = 1000
HIDDEN_NOTE = "(a hidden test failed; its code is not shown)"


@dataclass
class Verdict:
    passed: bool
    outputs: list[dict] = field(default_factory=list)
    message: str = ""  # one line for the report ("" when passed)
    timed_out: bool = False


class _Backstop(Exception):
    pass


def _raise_backstop(*_):
    raise _Backstop()


def run_cell(ns, source: str, filename: str, sources):
    """Run ``source`` in ``ns``; return the value of its last expression (``None`` if none).

    IPython syntax (``%matplotlib inline``, ``!pip ...``) is turned into Python the way IPython
    does; the namespace's ``get_ipython()`` makes line magics and shell commands do nothing here
    and runs a cell magic's body as plain code.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    source = TransformerManager().transform_cell(source)
    tree = ast.parse(source, filename)
    sources.add(filename, source, tree)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), ns)  # the instructor's cell (never student code: see harness)
    return eval(compile(last, filename, "eval"), ns) if last is not None else None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} characters cut)"


def _describe(err: BaseException, hidden: bool, filename: str, secret) -> tuple[str, str, list[str]]:
    info = student_info(err)
    if isinstance(err, StudentTimeout):
        ename, evalue = "TimeoutError", str(err)
    elif isinstance(err, StudentGone):
        ename, evalue = "RuntimeError", str(err)
    elif info is not None:
        ename = info["type"]
        evalue = "" if hidden else str(err)
    else:
        ename = type(err).__name__
        try:
            evalue = str(err)
        except Exception:  # noqa: BLE001
            evalue = ""
    evalue, _ = markers.scrub(_cap(evalue, MAX_MESSAGE), secret)
    if hidden:
        who = " (raised by your function)" if info is not None else ""
        return ename, evalue, [f"{ename}{': ' + evalue if evalue else ''}{who}", HIDDEN_NOTE]
    lines = ["In the test cell:"]
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename:
            lines.append(f"  line {frame.lineno}: {(frame.line or '').strip()}")
    if info is not None and info.get("traceback"):
        lines += ["Your function raised:", info["traceback"].rstrip()]
    lines.append(f"{ename}: {evalue}")
    return ename, evalue, [_cap(line, 4000) for line in lines]


def run_test(ns, cell: dict, remote, banned: dict, secret, cell_timeout: float, time_left: float) -> Verdict:
    """Run one test cell (``cell``: ``grade_id``, ``source``, ``hidden``) against the student's process."""
    gid, hidden = cell["grade_id"], cell["hidden"]
    filename = f"<test {gid}>"
    budget = max(min(cell_timeout, time_left), 0.1)
    remote.task, remote.banned = task_of(gid), tuple(banned.get(task_of(gid), ()))
    remote.deadline = time.monotonic() + budget
    printed, value, error = io.StringIO(), None, None
    old = signal.signal(signal.SIGALRM, _raise_backstop)
    signal.setitimer(signal.ITIMER_REAL, budget + 10.0)  # the student's limits come first
    ns.fetching = True
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            value = run_cell(ns, cell["source"], filename, remote.sources)
    except _Backstop:
        error = TimeoutError(f"the test ran past its time limit of {budget:g} s")
        remote.channel.kill("a test ran past its time limit while the student's process worked")
    except BaseException as err:  # noqa: BLE001  every failure of a test is a verdict
        error = err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        ns.fetching = False
        ns.forget_fetched()
        remote.deadline = None
    outputs = []
    text = printed.getvalue()
    if text and not hidden:
        outputs.append({"output_type": "stream", "name": "stdout", "text": _cap(text, 20_000)})
    if error is None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            result = {"output_type": "execute_result", "data": {"text/plain": repr(value)}, "metadata": {}}
            outputs.append({**result, "execution_count": None})
        return Verdict(True, outputs)
    ename, evalue, lines = _describe(error, hidden, filename, secret)
    outputs.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines})
    timed_out = isinstance(error, (StudentTimeout, TimeoutError))
    return Verdict(False, outputs, f"{ename}: {evalue}"[:200], timed_out)

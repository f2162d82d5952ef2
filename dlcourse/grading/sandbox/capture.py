"""What a cell of the student's notebook shows, captured as notebook outputs inside the sandbox.

Part of :mod:`dlcourse.grading.sandbox`; runs inside the sandbox (a top-level module there). The
student's cells run in an IPython ``InteractiveShell`` (magics, ``display``, inline matplotlib as
in Jupyter) whose streams, display publisher, display hook and traceback printer write into an
:class:`Outputs` list instead of a terminal, within size limits. Everything here is the student's
own process: the trusted side checks and sanitizes whatever it receives.
"""

from __future__ import annotations

import io
import threading

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

__all__ = ["Outputs", "Stream", "Shell", "make_shell", "CAPPED"]

CAPPED = "... output capped by the grader:"
_TEXT_MIMES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "application/javascript",
    "image/svg+xml",
)


class Outputs:
    """The outputs of the cell that runs now, with a budget of characters and of image bytes."""

    def __init__(self, text_budget: int = 200_000, media_budget: int = 4_000_000):
        self.lock = threading.Lock()
        self.items: list[dict] = []
        self.text_budget, self.media_budget = text_budget, media_budget
        self.dropped = 0
        self.discard = False  # True while a test calls the student's functions: nothing is kept

    def reset(self, text_budget: int) -> None:
        with self.lock:
            self.items, self.text_budget, self.dropped = [], text_budget, 0

    def _take(self, text: str) -> str:
        if len(text) <= self.text_budget:
            self.text_budget -= len(text)
            return text
        kept = text[: max(self.text_budget, 0)]
        self.dropped += len(text) - len(kept)
        self.text_budget = 0
        return kept

    def stream(self, name: str, text: str) -> None:
        if self.discard or not text:
            return
        with self.lock:
            text = self._take(text)
            if not text:
                return
            last = self.items[-1] if self.items else None
            if last and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
            else:
                self.items.append({"output_type": "stream", "name": name, "text": text})

    def _bundle(self, data: dict) -> dict:
        kept = {}
        for mime, value in (data or {}).items():
            if not isinstance(mime, str):
                continue
            if isinstance(value, (bytes, bytearray)):
                value = value.decode("ascii", "replace")
            if not isinstance(value, str):
                continue
            if mime in _TEXT_MIMES or mime.startswith("text/"):
                value = self._take(value)
            elif mime.startswith("image/"):
                if len(value) > self.media_budget:
                    self.dropped += len(value)
                    continue
                self.media_budget -= len(value)
            else:
                continue
            kept[mime] = value
        return kept

    def display(self, data: dict, kind: str = "display_data", count: int | None = None) -> None:
        if self.discard:
            return
        with self.lock:
            bundle = self._bundle(data)
            if not bundle:
                return
            item = {"output_type": kind, "data": bundle, "metadata": {}}
            if kind == "execute_result":
                item["execution_count"] = count
            self.items.append(item)

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        if self.discard:
            return
        with self.lock:
            self.items.append(
                {
                    "output_type": "error",
                    "ename": self._take(ename)[:200],
                    "evalue": self._take(evalue),
                    "traceback": [self._take(line) for line in traceback[-50:]],
                }
            )

    def clear(self) -> None:
        with self.lock:
            self.items = []

    def take(self) -> tuple[list[dict], int]:
        with self.lock:
            items, dropped = self.items, self.dropped
            self.items, self.dropped = [], 0
            return items, dropped


OUT = Outputs()


class Stream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the student's process."""

    def __init__(self, name: str):
        self.name_ = name

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        OUT.stream(self.name_, text)
        return len(text)

    @property
    def encoding(self) -> str:
        return "utf-8"

    def isatty(self) -> bool:
        return False


class _Publisher(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
        OUT.display(data)

    def clear_output(self, wait=False) -> None:
        OUT.clear()


class _Hook(DisplayHook):
    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict, md_dict=None) -> None:
        OUT.display(format_dict, "execute_result", self.shell.execution_count)


def _text(value) -> str:
    try:
        return str(value)
    except Exception as err:  # noqa: BLE001  the student's __str__ failed
        return f"<{type(err).__name__} while formatting the exception>"


class Shell(InteractiveShell):
    """IPython's shell, its tracebacks going to :data:`OUT` as error outputs."""

    def _showtraceback(self, etype, evalue, stb: list[str]) -> None:
        OUT.error(getattr(etype, "__name__", "Error"), _text(evalue), [_text(line) for line in stb])


def make_shell() -> Shell:
    """The shell the student's cells run in (no history file, no colours, inline matplotlib)."""
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Context"
    shell = Shell.instance(config=config, display_pub_class=_Publisher, displayhook_class=_Hook)
    try:
        shell.enable_matplotlib("inline")
    except Exception:  # noqa: BLE001  matplotlib missing or broken: figures are simply not shown
        pass
    return shell

"""Requests from the trusted test process to the student's process, under time limits.

Part of :mod:`dlcourse.grading.harness`. One request at a time; every reply must carry the
request's id (a late reply to an earlier, interrupted request is dropped). Past its time a
request interrupts the student's process (SIGINT); if no reply comes within :data:`GRACE`
seconds more, the process is killed and every later request fails with :class:`StudentGone`. A
reply that breaks the protocol or a limit kills it too: nothing the student's process sends can
make the trusted side wait forever or read without bound.
"""

from __future__ import annotations

import signal
import time

from ..sandbox import wire

__all__ = ["Channel", "StudentGone", "StudentTimeout", "GRACE"]

GRACE = 5.0  # seconds between the interrupt and the kill


class StudentGone(RuntimeError):
    """The student's process has stopped (killed at a limit, crashed, or broke the protocol)."""


class StudentTimeout(TimeoutError):
    """The student's code ran past its time (it was interrupted, or killed)."""


class Channel:
    """The trusted side of the student's socket."""

    def __init__(self, sock, pidfd: int, frame_limit: int):
        self.sock, self.pidfd, self.frame_limit = sock, pidfd, frame_limit
        self.why_gone = ""
        self._next = 0

    @property
    def alive(self) -> bool:
        return not self.why_gone

    def _signal(self, sig: int) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, sig)
        except OSError:
            pass

    def kill(self, why: str) -> None:
        if not self.why_gone:
            self.why_gone = why
            self._signal(signal.SIGKILL)

    def request(self, message: dict, blobs=(), timeout: float = 30.0) -> tuple[dict, list[bytes], bool]:
        """Send ``message``; return ``(reply, blobs, interrupted)``. ``interrupted`` is True when the
        reply came after a SIGINT at ``timeout`` (the student's code was stopped by the limit)."""
        if not self.alive:
            raise StudentGone(self.why_gone)
        self._next += 1
        rid = self._next
        try:
            wire.send(self.sock, {**message, "id": rid}, list(blobs))
        except OSError as err:
            self.kill(f"the student's process stopped ({err.strerror or err})")
            raise StudentGone(self.why_gone) from None
        deadline, interrupted = time.monotonic() + max(timeout, 0.05), False
        while True:
            try:
                reply, got = wire.recv(self.sock, self.frame_limit, max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                if interrupted:
                    self.kill(
                        f"the student's process did not stop {GRACE:.0f} s after its time limit and was killed"
                    )
                    raise StudentTimeout(self.why_gone) from None
                self._signal(signal.SIGINT)
                interrupted, deadline = True, time.monotonic() + GRACE
                continue
            except (EOFError, OSError):
                self.kill("the student's process stopped")
                raise StudentGone(self.why_gone) from None
            except wire.WireError as err:
                self.kill(f"the student's process sent something the grader cannot read ({err})")
                raise StudentGone(self.why_gone) from None
            if reply.get("id") == rid:
                return reply, got, interrupted

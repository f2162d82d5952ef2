"""A static scan of the student's code, for what the trusted verdict cannot see by itself.

Grading v2 decides every test outside the student's process, so a hook, a patched ``assert`` or
an always-true ``__eq__`` can no longer change a verdict. Two things are still measured INSIDE the
student's process: the banned-function rule and the torch operation counts
(:mod:`dlcourse.grading.sandbox.rules`). Code that reaches for the machinery that measures them
(profilers and tracers, torch's function-mode stack, frames, ``gc``, ``ctypes``, the grader's own
modules) could falsify them. :func:`scan` lists such constructs (:data:`scan.RULES`, on the AST,
in answer cells and cells the student added); :func:`withhold_reason` is the policy: a submission
with a :data:`TAMPER` finding that scored points is withheld until the instructor looks. The
other findings are reported as notes only. A determined student can hide code from any static
scan (the security page says so).
"""

from __future__ import annotations

from .scan import RULES, Finding, scan_source

__all__ = ["Finding", "RULES", "TAMPER", "scan", "withhold_reason"]

TAMPER = ("exit-hook", "introspection", "tamper")


def scan(cells: list[dict]) -> list[Finding]:
    """Findings in the student's cells (``cells``: dicts with ``source`` and ``label``)."""
    found: list[Finding] = []
    for cell in cells:
        found += scan_source(cell["source"], cell["label"])
    return found


def withhold_reason(findings: list[Finding], score: float) -> str:
    """Why the score is withheld ("" when it is not): tampering found in a submission that scored."""
    rules = sorted({f.rule for f in findings if f.rule in TAMPER})
    if not rules or score <= 0:
        return ""
    return "code that can reach the grader's in-process checks: " + ", ".join(rules)

"""Evidence against cheating, gathered outside the student's kernel.

Isolation (:mod:`dlcourse.grading.sandbox`) protects the course from the submission; it cannot stop a
submission from lying about its own tests (an input transformer that turns the hidden tests into
``pass``, a patched ``assert`` helper, an ``__eq__`` that is always true). Three checks, all
trusted, run per student after nbgrader's autograde:

1. :func:`scan`: a static (AST) scan of the student's cells for constructs that can defeat
   grading (``scan.RULES``), each with cell, line and rule;
2. :func:`recheck`: the source notebook's tests (hidden ones included) run in a fresh kernel
   against the student's definitions only (:mod:`.recheck`), giving pass or fail per test;
3. :func:`scrub`: outputs of the autograded notebook that quote hidden-test lines are redacted.

:func:`review` does all three and compares: a test the student's kernel passed but the re-check
failed is a *mismatch*. Policy: the submission is flagged and its score withheld when there is a
mismatch, a high-risk finding or a redaction; the score proposed meanwhile is the re-check's
(never more than the kernel's).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field

import nbformat

from .recheck import recheck_notebook
from .scan import RULES, Finding, scan_source

__all__ = ["Finding", "Review", "RULES", "HIGH_RISK", "scan", "recheck", "hidden_lines", "scrub", "review"]

HIGH_RISK = (
    "ipython-hook",
    "exit-hook",
    "builtins",
    "test-patch",
    "always-equal",
    "grader-detect",
    "introspection",
)
REDACTED = "[hidden test text removed]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _read(nb) -> nbformat.NotebookNode:
    return nb if isinstance(nb, nbformat.NotebookNode) else nbformat.read(str(nb), as_version=4)


def scan(submission) -> list[Finding]:
    """Findings in the student's cells: solution cells and cells the student added."""
    nb, found = _read(submission), []
    for i, cell in enumerate(nb.cells):
        meta = _meta(cell)
        if cell.cell_type != "code" or (meta.get("grade_id") and not meta.get("solution")):
            continue  # instructor cells are restored from the gradebook by nbgrader
        found += scan_source(cell.source, meta.get("grade_id") or f"cell {i}")
    return found


def recheck(
    submission,
    source,
    *,
    timeout: int = 30,
    kernel_name: str = "python3",
    config: dict | None = None,
    kernel_dirs: list[str] | None = None,
) -> tuple[dict[str, bool], list[str]]:
    """Pass (True) or fail per test ``grade_id``, from a fresh kernel; plus notes.

    ``kernel_name``/``config``/``kernel_dirs`` select the kernel: pass the sandbox's
    (``setup.kernel_name``, ``setup.config``, ``[run_dir/"jupyter"/"kernels"]``) so the
    re-check is isolated too. Each cell gets ``timeout`` seconds.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from traitlets.config import Config

    nb, tests, notes = recheck_notebook(_read(submission), _read(source))
    cfg = Config(config or {})
    ksm = KernelSpecManager(kernel_dirs=list(kernel_dirs)) if kernel_dirs else KernelSpecManager()
    km = AsyncKernelManager(kernel_name=kernel_name, config=cfg, kernel_spec_manager=ksm)
    empty = tempfile.TemporaryDirectory(prefix="dlcourse-recheck-")  # nothing of the student's
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        kernel_name=kernel_name,
        config=cfg,
        resources={"metadata": {"path": empty.name}},
    )
    try:
        client.execute()
    except Exception as err:  # noqa: BLE001  a dead kernel fails every test not yet run
        notes.append(f"re-check kernel failed: {type(err).__name__}: {err}")
    finally:  # nbclient does not shut down a kernel manager it was given
        if km.has_kernel:
            run_sync(km.shutdown_kernel)()
        empty.cleanup()
    passed = {
        gid: nb.cells[i].get("execution_count") is not None
        and not any(o.output_type == "error" for o in nb.cells[i].outputs)
        for gid, i in tests.items()
    }
    return passed, notes


def hidden_lines(source, min_length: int = 20) -> list[str]:
    """Lines of the source's hidden tests longer than ``min_length`` characters (stripped)."""
    out = []
    for cell in _read(source).cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > min_length:
                out.append(line.strip())
    return out


def _scrub_text(text: str, lines: list[str]) -> tuple[str, int]:
    kept, hits = [], 0
    for line in text.split("\n"):
        if any(h in _ANSI.sub("", line) for h in lines):
            kept.append(REDACTED)
            hits += 1
        else:
            kept.append(line)
    return "\n".join(kept), hits


def scrub(notebook, source, min_length: int = 20) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``notebook`` whose outputs quote no hidden-test line; and where it redacted."""
    nb, lines, found = nbformat.from_dict(_read(notebook)), hidden_lines(source, min_length), []
    if not lines:
        return nb, found
    for i, cell in enumerate(nb.cells):
        where = _meta(cell).get("grade_id") or f"cell {i}"
        for out in cell.get("outputs", []):
            hits = 0
            if "text" in out:
                out.text, hits = _scrub_text(out.text, lines)
            if "traceback" in out:
                scrubbed = [_scrub_text(t, lines) for t in out.traceback]
                out.traceback = [t for t, _ in scrubbed]
                hits += sum(h for _, h in scrubbed)
            if "evalue" in out:
                out.evalue, h = _scrub_text(out.evalue, lines)
                hits += h
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    out.data[mime], h = _scrub_text(value, lines)
                    hits += h
            if hits:
                found.append(f"{where}: {hits} line(s) of hidden tests in {out.output_type}")
    return nb, found


@dataclass
class Review:
    """Evidence about one submission (see the module docstring for the policy)."""

    findings: list[Finding] = field(default_factory=list)
    kernel: dict[str, bool] = field(default_factory=dict)  # what the student's kernel said
    recheck: dict[str, bool] = field(default_factory=dict)  # what the trusted re-check said
    mismatches: list[str] = field(default_factory=list)  # passed in kernel, failed in re-check
    redactions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recheck_score: float = 0.0  # points of the tests the re-check passed
    scrubbed: nbformat.NotebookNode | None = None  # the autograded notebook, redacted

    @property
    def flagged(self) -> bool:
        """A mismatch, a high-risk finding, or hidden-test text the student printed (hidden
        lines quoted by an ordinary traceback are redacted without a flag)."""
        printed = [r for r in self.redactions if not r.endswith(" in error")]
        return bool(self.mismatches or printed or any(f.rule in HIGH_RISK for f in self.findings))

    def flags(self) -> list[str]:
        """Short lines for the autograde report."""
        out = [f"re-check failed {gid} (kernel said pass)" for gid in self.mismatches]
        out += [str(f) for f in self.findings if f.rule in HIGH_RISK]
        return out + [f"redacted {r}" for r in self.redactions]


def review(submission, source, autograded, **recheck_options) -> Review:
    """Scan, re-check and scrub one submission; ``recheck_options`` go to :func:`recheck`.

    The re-check only runs when the student's kernel passed at least one test: it can lower a
    score, never raise it, so a submission that scored nothing has nothing to confirm.
    """
    sub, src, auto = _read(submission), _read(source), _read(autograded)
    points = {
        _meta(c).get("grade_id"): float(_meta(c).get("points", 0))
        for c in src.cells
        if _meta(c).get("grade") and not _meta(c).get("solution")
    }
    kernel = {}
    for cell in auto.cells:
        gid = _meta(cell).get("grade_id")
        if gid in points:
            kernel[gid] = not any(o.output_type == "error" for o in cell.get("outputs", []))
    if any(kernel.values()):
        passed, notes = recheck(sub, src, **recheck_options)
    else:  # the kernel passed nothing: no score to confirm, no kernel start to pay
        passed, notes = {gid: False for gid in points}, ["re-check skipped: the kernel passed no test"]
    scrubbed, redactions = scrub(auto, src)
    mismatches = [gid for gid in points if kernel.get(gid) and not passed.get(gid)]
    score = sum(points[g] for g in points if passed.get(g) and kernel.get(g, True))
    return Review(scan(sub), kernel, passed, mismatches, redactions, notes, score, scrubbed)

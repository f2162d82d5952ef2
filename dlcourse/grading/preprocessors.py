"""The nbconvert preprocessors ``assignments/nbgrader_config.py`` puts into nbgrader's pipelines.

- :class:`FillTrustedOutputs` (autograde, in place of nbgrader's ``Execute``): fills every code
  cell with the outputs the trusted harness decided (:mod:`dlcourse.grading.harness`), from the
  file ``make autograde`` passes it. Without that file it refuses: a plain ``nbgrader autograde``
  (or the Formgrader's autograde button) would otherwise give every test full marks.
- :class:`ScrubHiddenOutputs` (feedback, before ``ClearHiddenTests``): no output may quote a line
  of a hidden test (:mod:`dlcourse.grading.markers`); a belt to the harness's braces.
- :class:`MarkPending` (feedback, after ``GetGrades``): a hand-graded cell nobody has graded yet
  gets the score :data:`PENDING` instead of 0, which the page then says in words.
"""

from __future__ import annotations

import json

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from . import markers

__all__ = ["FillTrustedOutputs", "ScrubHiddenOutputs", "MarkPending", "PENDING", "PENDING_TEXT"]

PENDING = -987654.0  # an impossible score, replaced by PENDING_TEXT on the feedback page
PENDING_TEXT = "not graded yet"


class FillTrustedOutputs(Preprocessor):
    """Put the trusted outputs into the notebook nbgrader books (no student code runs here)."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)
    results = Unicode("", help="the trusted result of this submission (written by make autograde)").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        if not self.results:
            raise ValueError(
                "this course is graded with `make autograde` (python -m dlcourse.grading autograde): "
                "plain `nbgrader autograde` cannot run the trusted tests"
            )
        with open(self.results, encoding="utf-8") as f:
            trusted = json.load(f)
        cells = trusted.get("cells", {})
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            done = cells.get(str(index), {})
            cell.outputs = [self._node(o) for o in done.get("outputs", [])]
            cell.execution_count = done.get("execution_count")
            meta = cell.metadata.get("nbgrader", {})
            if (
                meta.get("grade")
                and not meta.get("solution")
                and meta.get("grade_id") not in trusted.get("tests", {})
            ):
                cell.outputs = [self._node(_not_run(meta.get("grade_id")))]  # never full marks by default
        return nb, resources

    @staticmethod
    def _node(output: dict):
        from nbformat import from_dict

        return from_dict(output)


def _not_run(grade_id) -> dict:
    text = f"test {grade_id} was not run (the submission's grading stopped before it)"
    return {"output_type": "error", "ename": "NotRun", "evalue": text, "traceback": [text]}


class ScrubHiddenOutputs(Preprocessor):
    """Replace any output line that quotes a hidden-test line (feedback only)."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)

    def preprocess(self, nb, resources):
        self._secret = markers.hidden_lines(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"], _ = markers.scrub(
                    markers.cell_source({"source": output["text"]}), self._secret
                )
            if "evalue" in output:
                output["evalue"], _ = markers.scrub(output["evalue"], self._secret)
            if "traceback" in output:
                output["traceback"] = [markers.scrub(line, self._secret)[0] for line in output["traceback"]]
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime], _ = markers.scrub(value, self._secret)
        return cell, resources


class MarkPending(Preprocessor):
    """A hand-graded cell without a grade shows :data:`PENDING` (then "not graded yet")."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources.get("nbgrader", {})
        self._pending = set()
        try:
            with Gradebook(resources["nbgrader"]["db_url"]) as gb:
                sub = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
                self._pending = {
                    g.name for g in sub.grades if g.needs_manual_grade and g.manual_score is None
                }
        except (KeyError, MissingEntry):
            pass
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in self._pending:
            meta["score"] = PENDING
        return cell, resources

"""nbconvert preprocessors that ``assignments/nbgrader_config.py`` adds to nbgrader's pipelines.

- :class:`CapOutputBytes` (autograde, after execution): a submission that prints 50 MB leaves
  at most ``max_bytes`` of text per cell in the autograded notebook and the feedback.
- :class:`ScrubHiddenOutputs` (feedback, before ``ClearHiddenTests``): no output of any cell may
  quote a line of a hidden test. A failing hidden test's traceback shows the lines around the
  failure, so tracebacks of cells that hold hidden tests are replaced by the exception's one-line
  summary, and any other output that quotes a hidden line is withheld.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer, Unicode

__all__ = ["CapOutputBytes", "ScrubHiddenOutputs", "hidden_test_lines", "CAPPED_MARK", "WITHHELD"]

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CAPPED_MARK = "... output capped by the grader:"
WITHHELD = "(a hidden test failed; its code is not shown)"


def hidden_test_lines(source: str, min_length: int = 8) -> list[str]:
    """The stripped lines between the hidden-test markers of one cell's source.

    Lines shorter than ``min_length`` (``)``, ``else:``) are too generic to count as a leak.
    """
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif inside and len(line.strip()) >= min_length:
            lines.append(line.strip())
    return lines


def _text_of(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", [])) + output.get("evalue", "")
    data = output.get("data", {})
    return "\n".join(str(v) for v in data.values())


class CapOutputBytes(Preprocessor):
    """Cut each code cell's text outputs to ``max_bytes`` characters in total."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)
    max_bytes = Integer(200_000, help="characters of output kept per cell").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_bytes
        kept = []
        for output in cell.get("outputs", []):
            size = len(_text_of(output))
            if size <= budget:
                kept.append(output)
                budget -= size
                continue
            removed = size - max(budget, 0)
            note = f"\n{CAPPED_MARK} {removed} characters removed ...\n"
            if output.get("output_type") == "stream":
                output["text"] = output["text"][: max(budget, 0)] + note
                kept.append(output)
            elif output.get("output_type") == "error":
                output["traceback"] = [output.get("ename", "Error") + ": " + note]
                output["evalue"] = output.get("evalue", "")[:200]
                kept.append(output)
            else:
                kept.append({"output_type": "stream", "name": "stdout", "text": note})
            budget = 0
        cell["outputs"] = kept
        return cell, resources


class ScrubHiddenOutputs(Preprocessor):
    """Remove every trace of hidden-test code from a notebook's outputs (feedback only)."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)
    replacement = Unicode(WITHHELD, help="text shown instead of withheld output").tag(config=True)

    def preprocess(self, nb, resources):
        hidden = []
        for cell in nb.cells:
            hidden += hidden_test_lines(cell.get("source", ""))
        self._hidden = hidden
        return super().preprocess(nb, resources)

    def _leaks(self, text: str) -> bool:
        return any(line in text for line in self._hidden)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        has_hidden = BEGIN_HIDDEN in cell.get("source", "")
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                evalue = output.get("evalue", "")
                if self._leaks(evalue):
                    output["evalue"] = self.replacement
                if has_hidden or self._leaks("\n".join(output.get("traceback", []))):
                    summary = f"{output.get('ename', 'Error')}: {output['evalue']}"
                    output["traceback"] = [summary, self.replacement] if has_hidden else [summary]
            elif kind == "stream":
                if self._leaks(output.get("text", "")):
                    output["text"] = self.replacement + "\n"
            elif self._leaks(_text_of(output)):
                output.clear()
                output.update({"output_type": "stream", "name": "stdout", "text": self.replacement + "\n"})
        return cell, resources

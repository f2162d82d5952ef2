"""The static scan (dlcourse.grading.cheats): what it finds, and when a score is withheld for it.

The verdict of every test is decided outside the student's process, so a scan finding no longer
decides anything by itself; it withholds a score only for code that can reach the grader's
in-process checks (banned functions, operation counts) in a submission that scored.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse.grading import cheats

ATTACKS = Path(__file__).parent / "attacks"


def _scan(code: str):
    return cheats.scan([{"source": code, "label": "task1_answer"}])


@pytest.mark.parametrize(
    "name, rule",
    [
        ("cheat_always_eq", "always-equal"),
        ("cheat_patch_testing", "test-patch"),
        ("cheat_input_transformer", "ipython-hook"),
        ("cheat_print_hidden", "ipython-hook"),
        ("cheat_grader_detect", "grader-detect"),
    ],
)
def test_scan_finds_each_cheat(name, rule):
    findings = _scan((ATTACKS / f"{name}.py").read_text())
    assert rule in {f.rule for f in findings}, findings
    hit = next(f for f in findings if f.rule == rule)
    assert hit.cell == "task1_answer" and hit.line > 0


def test_scan_sees_through_aliases_and_ignores_text():
    code = (
        "import builtins as b\nimport numpy.testing as nt\nb.print = None\n"
        "nt.assert_allclose = lambda *a: None\nsetattr(b, 'len', None)\n"
        "s = 'get_ipython().input_transformers_cleanup'  # atexit in a comment\n"
    )
    rules = [(f.line, f.rule) for f in _scan(code)]
    assert (3, "builtins") in rules and (4, "test-patch") in rules and (5, "test-patch") in rules
    assert not any(line == 6 for line, _ in rules)


@pytest.mark.parametrize(
    "code, rule",
    [
        ("import sys\nsys.setprofile(None)\n", "exit-hook"),
        ("import torch\ntorch._C._set_torch_function_mode(None)\n", "tamper"),
        ("from torch.overrides import TorchFunctionMode\n", "tamper"),
        ("import rules\n", "tamper"),
        ("import gc\n", "introspection"),
    ],
)
def test_scan_finds_reaching_for_the_in_process_checks(code, rule):
    assert rule in {f.rule for f in _scan(code)}


def test_scan_is_quiet_on_honest_code():
    code = (
        "%matplotlib inline\nimport torch\nimport matplotlib.pyplot as plt\n\nclass Point:\n"
        "    def __eq__(self, other):\n        return self.x == other.x\n\n"
        "def square(x):\n    return x * x\n\nrules = {'lr': 0.1}\nprint(rules.items())\n"
    )
    assert _scan(code) == []


def test_withheld_only_when_tampering_scored():
    tamper = _scan("import sys\nsys.settrace(None)\n")
    advisory = _scan("get_ipython().input_transformers_cleanup.append(lambda l: l)\n")
    assert cheats.withhold_reason(tamper, 3.0).startswith(
        "code that can reach the grader's in-process checks"
    )
    assert cheats.withhold_reason(tamper, 0.0) == "", "a submission that scored nothing needs no review"
    assert cheats.withhold_reason(advisory, 11.0) == "", "a hook cannot change a trusted verdict: a note only"

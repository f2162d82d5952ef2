"""The attack corpus of issue 16, as data: each attack, its class, its variants, what must happen.

``ATTACKS`` lists :class:`Attack` entries graded together with honest students on ps1 (the frozen
two-layer version in this folder, ``ps1_backprop.ipynb``, whose names the attacks use) by
tests/test_grading_attacks.py (class 1, stored XSS, and class 6, careless submissions, are graded
with the six assignments by tests/test_grading.py; class 4, collect, by tests/test_grading_collect.py).
An attack is code put into ps1's first answer cell (``task1``), the way a student would, on top
of the blank release (``base="blank"``: it must score 0) or of the solved notebook
(``base="solved"``: it keeps its honest score, and the attack must achieve nothing). Snippets
from this folder are named by file; ``__NAME__`` placeholders are filled in by the test.

``expect``: ``zero`` (scores 0 or is withheld), ``full`` (the honest score, nothing leaked),
``less`` (loses points, nothing leaked), ``withheld`` (the score is held for review), ``timeout``
(recorded as timed out, others graded), ``not graded`` (refused by the pre-check, 0 and a report
line). A ``code`` holding :data:`NEXT_CELL` lines goes into several cells (the answer cell, then
cells the student added after it); ``attachment`` adds an image of that many bytes to the
written answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
NEXT_CELL = "# --- next cell ---"
STUBS = (
    "def forward(X, W1, b1, W2, b2):\n    raise NotImplementedError()\n\n\n"
    "def mse_loss(Y_hat, Y):\n    raise NotImplementedError()\n"
)
SHAPED = (
    "import torch\n\n\ndef forward(X, W1, b1, W2, b2):\n    Z1 = torch.zeros(X.shape[0], W1.shape[1])\n"
    "    return Z1, Z1, torch.zeros(X.shape[0], W2.shape[1])\n\n\n"
    "def mse_loss(Y_hat, Y):\n    return torch.zeros(())\n"
)
FORWARD = (
    "def forward(X, W1, b1, W2, b2):\n    Z1 = X @ W1 + b1\n    A1 = 1.0 / (1.0 + torch.exp(-Z1))\n"
    "    return Z1, A1, A1 @ W2 + b2\n\n\ndef mse_loss(Y_hat, Y):\n    return ((Y_hat - Y) ** 2).mean()\n"
)


@dataclass(frozen=True)
class Attack:
    name: str
    klass: int  # the attack class of issue 16 (0: an attack on the sandbox, kept from earlier rounds)
    code: str  # the answer cell of task1, or a file name of this folder (then in a cell of its own)
    base: str = "blank"
    expect: str = "zero"
    attachment: int = 0

    def cells(self) -> list[str]:
        """The code of the answer cell, then of the cells added after it."""
        text = (HERE / f"{self.code}.py").read_text() if self.code and "\n" not in self.code else self.code
        return text.split(f"\n{NEXT_CELL}\n")


def _annotated(expr: str) -> str:
    """``expr`` evaluated as a parameter annotation when the ``def`` runs: no hook name in sight."""
    return f"def _armed(x: ({expr}) or int):\n    pass\n\n\n" + STUBS


LEAK = (
    "import base64, gc, inspect, linecache, sys\n\n_stash = []\n\n\ndef _grab():\n"
    "    found = [str(getattr(get_ipython(), 'user_ns', {}).get(k)) for k in ('_ih', 'In', '_i', '_ii')]\n"
    "    found += [repr(f.frame.f_locals)[:2000] + ''.join(f.code_context or []) for f in inspect.stack()]\n"
    "    found += [''.join(v[2]) for v in list(linecache.cache.values()) if len(v) > 2]\n"
    "    found += [o for o in gc.get_objects() if isinstance(o, str) and 'hidden' in o][:50]\n"
    "    _stash.append(base64.b64encode('\\n'.join(found).encode()).decode())\n"
    "    print('LE' 'AK:' + _stash[-1][:5000])\n\n\n"
)

ATTACKS = [
    # class 2: suppressing failures without the names a scan looks for (blank answers: 0)
    Attack(
        "post_run_hook_in_annotation",
        2,
        _annotated("__builtins__['get_' + 'ipython']().events.register('post_run_cell', lambda r: None)"),
    ),
    Attack(
        "custom_exc_in_annotation",
        2,
        _annotated(
            "getattr(__builtins__['get_' + 'ipython'](), 'set_custom' + '_exc')((BaseException,), lambda *a, **k: None)"
        ),
    ),
    Attack(
        "init_subclass_hook",
        2,
        "class Base:\n    def __init_subclass__(cls, **kw):\n"
        "        get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n\n\n"
        "class Armed(Base):\n    pass\n\n\n" + STUBS,
    ),
    Attack(
        "always_equal_posing_as_torch",
        2,
        "class Tensor:\n    __module__ = 'torch'\n    shape = property(lambda self: self)\n\n"
        "    def __eq__(self, other):\n        return True\n\n"
        "    def __getattr__(self, name):\n        return lambda *a, **k: self\n\n\n"
        "def forward(X, W1, b1, W2, b2):\n    return Tensor(), Tensor(), Tensor()\n\n\n"
        "def mse_loss(Y_hat, Y):\n    return Tensor()\n",
    ),
    Attack(
        "input_transformer",
        2,
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n" + STUBS,
    ),
    Attack(
        "ast_transformer",
        2,
        "import ast\n\n\nclass Nothing(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
        "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n\n\nget_ipython().ast_transformers.append(Nothing())\n"
        + STUBS,
    ),
    Attack(
        "builtins_patched",
        2,
        "import builtins\nbuiltins.all = lambda *args: True\nbuiltins.AssertionError = Warning\n" + SHAPED,
    ),
    Attack(
        "testing_patched",
        2,
        "import numpy as np\nimport torch\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "torch.testing.assert_close = lambda *a, **k: None\ntorch.allclose = lambda *a, **k: True\n" + SHAPED,
    ),
    Attack(
        "exit_hooks",
        2,
        "import atexit, sys\natexit.register(lambda: print('all tests passed'))\nsys.excepthook = print\n"
        + STUBS,
    ),
    Attack("prints_passed", 2, "print('Task 1 visible tests passed.')\n" + STUBS),
    Attack(
        "forged_replies",
        2,
        "import os, socket, threading, time\n\n\ndef _flood():\n    time.sleep(0.5)\n    for fd in range(3, 20):\n"
        '        try:\n            os.write(fd, b\'\\x00\\x00\\x00\\x10\\x00\\x00\\x00\\x00{"op":"called"}\')\n'
        "        except OSError:\n            pass\n\n\nthreading.Thread(target=_flood, daemon=True).start()\n"
        + STUBS,
    ),
    # class 3: one submission must not hang the run (per-cell, per-call and per-student limits)
    Attack("loop_in_a_cell", 3, "while True:\n    pass\n"),
    Attack(
        "loop_when_tested",
        3,
        "def forward(X, W1, b1, W2, b2):\n    while True:\n        pass\n\n\n"
        "def mse_loss(Y_hat, Y):\n    while True:\n        pass\n",
    ),
    Attack(
        "interrupts_ignored",
        3,
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n\n\n"
        "def forward(X, W1, b1, W2, b2):\n    while True:\n        pass\n\n\n"
        "def mse_loss(Y_hat, Y):\n    raise NotImplementedError()\n",
    ),
    Attack("sleeps_in_c", 3, "import time\ntime.sleep(10**6)\n"),
    Attack(
        "slow_everywhere",
        3,
        STUBS + "".join(f"\n{NEXT_CELL}\nimport time\ntime.sleep(__CELL__ - 1)\n" for _ in range(8)),
        expect="timeout",
    ),
    # class 5: nothing printed, displayed, raised or returned while a hidden test runs reaches the feedback
    Attack(
        "leak_by_printing",
        5,
        "import torch\n"
        + LEAK
        + FORWARD.replace("    Z1 = X @ W1 + b1\n", "    _grab()\n    Z1 = X @ W1 + b1\n"),
        base="solved",
        expect="withheld",  # it scored, and it reaches into frames and gc: an instructor looks
    ),
    Attack(
        "leak_by_raising",
        5,
        "import torch\n"
        + LEAK
        + FORWARD.replace(
            "    return ((Y_hat - Y) ** 2).mean()\n",
            "    _grab()\n    if len(_stash) > 3:\n        raise ValueError('LE' 'AK:' + ''.join(_stash)[:3000])\n"
            "    return ((Y_hat - Y) ** 2).mean()\n",
        ),
        base="solved",
        expect="less",  # the hidden test fails (0 for it), its message is not shown
    ),
    Attack(
        "leak_by_display",
        5,
        "import torch\nfrom IPython.display import display, HTML\n"
        + LEAK
        + FORWARD.replace(
            "    Z1 = X @ W1 + b1\n",
            "    _grab()\n    display(HTML('<b>LE' 'AK:' + _stash[-1][:2000] + '</b>'))\n    Z1 = X @ W1 + b1\n",
        ),
        base="solved",
        expect="withheld",  # it scored, and it reaches into frames and gc: an instructor looks
    ),
    Attack(
        "leak_inputs",
        5,
        "import torch\n_seen = []\n\n\n"
        + FORWARD.replace(
            "    Z1 = X @ W1 + b1\n",
            "    _seen.append(repr(X))\n    print('LE' 'AK:' + _seen[-1])\n"
            "    if len(_seen) > 2:\n        print('LE' 'AK:', _seen)\n    Z1 = X @ W1 + b1\n",
        ),
        base="solved",
        expect="full",  # plain code, honest answers: scored, and what it printed during the tests is gone
    ),
    # class 7: every writable place counts against one size and file-count limit; outputs capped
    Attack("tmp_files", 7, "tmp_files"),
    Attack("disk_fill", 7, "disk_fill"),
    Attack(
        "many_images",
        7,
        "import matplotlib.pyplot as plt\nimport numpy as np\n\nfor i in range(40):\n"
        "    plt.imshow(np.random.default_rng(i).random((300, 300)))\n    plt.show()\n",
    ),
    Attack("big_attachment", 7, "", attachment=6 * 2**20),  # over the image budget: dropped, graded
    Attack("huge_attachment", 7, "", attachment=30 * 2**20, expect="not graded"),  # over the file limit
    # class 0: the sandbox itself (kept from earlier rounds; tests/test_sandbox.py checks each in detail)
    Attack("read_source", 0, "read_source"),
    Attack("write_outside", 0, "write_outside"),
    Attack("network", 0, "network"),
    Attack("setsid_child", 0, "setsid_child"),
    Attack("memory_bomb", 0, "memory_bomb"),
    Attack("fork_bomb", 0, "fork_bomb"),
    Attack("big_file", 0, "big_file"),
    Attack("course_package", 0, "course_package"),
    # honest code that touches the grader's in-process checks: scored, so withheld for review
    Attack(
        "honest_but_traces",
        2,
        "import sys\nsys.settrace(None)\nimport torch\n" + FORWARD,
        base="solved",
        expect="withheld",
    ),
]

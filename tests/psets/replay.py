"""Replay the planted answers of one problem set in ONE Jupyter kernel, without the grader.

The kernel runs the source notebook top to bottom (the reference solution, its visible and hidden
tests, the experiment). Then, for each variant, it redefines the answer cell (after the student's
extra cell, if any), runs the test cells of every task that can see the change, records which
fail, and puts the reference answer back. Blanking each answer cell the way the release does
(each solution region replaced by the stub) checks the declared dependencies between tasks.

Run it by hand for a table: ``python tests/psets/replay.py ps1_backprop``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import psutil
from jupyter_client.manager import KernelManager

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from psets import (
    affected_cells,
    answer,
    answer_cells,
    autograded_cells,
    cell_by_id,
    corpus,
    grade_id,
    load,
    nbgrader,
    released,
    task_of,
    text,
)

CELL_TIMEOUT = 120  # seconds; generous for a busy machine, never reached by a sane cell


class Kernel:
    """A python3 kernel: ``run(code)`` returns None on success, else ``"Error: message"``."""

    def __init__(self, cwd: str):
        env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        env.pop("PYDEVD_USE_FRAME_EVAL", None)
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=cwd, env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.process = psutil.Process(self.km.provisioner.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time the kernel process has used so far (user + system): a measure a busy machine
        inflates far less than wall time."""
        times = self.process.cpu_times()
        return times.user + times.system

    def run(self, code: str) -> str | None:
        errors: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

        reply = self.kc.execute_interactive(
            code, timeout=CELL_TIMEOUT, output_hook=hook, store_history=False, allow_stdin=False
        )
        if reply["content"]["status"] == "ok":
            return None
        return errors[0] if errors else reply["content"].get("ename", "error")

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@dataclass
class Outcome:
    defined: str | None  # error raised while defining the variant (None: it ran)
    failing: dict[str, str]  # test cell -> error, among the cells run
    ran: tuple[str, ...]  # the test cells that were run


@dataclass
class Replay:
    aid: str
    reference: dict[str, str | None] = field(default_factory=dict)  # every code cell -> error or None
    seconds: dict[str, float] = field(default_factory=dict)  # every code cell -> wall time
    cpu: dict[str, float] = field(default_factory=dict)  # every code cell -> the kernel's CPU time
    blank: dict[str, Outcome] = field(default_factory=dict)  # answer cell -> outcome of blanking it
    variants: dict[str, Outcome] = field(default_factory=dict)  # variant name -> outcome

    @property
    def reference_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def reference_cpu(self) -> float:
        return sum(self.cpu.values())


def _run_tests(kernel: Kernel, nb: dict, cells) -> dict[str, str]:
    failing = {}
    for gid in cells:
        error = kernel.run(text(cell_by_id(nb, gid)))
        if error:
            failing[gid] = error
    return failing


def replay(aid: str, experiments: bool = False) -> Replay:
    """Run the reference, each blanked answer and each variant; ``experiments``: also run the
    answer cells that no test reads (the training experiments: seconds each, and not needed to
    judge the variants)."""
    nb = load(aid)
    out = Replay(aid)
    tested = {task_of(g) for g in autograded_cells(nb)}
    with tempfile.TemporaryDirectory() as tmp:
        kernel = Kernel(tmp)
        try:
            for cell in nb["cells"]:
                if cell["cell_type"] != "code":
                    continue
                if (
                    not experiments
                    and nbgrader(cell).get("solution")
                    and task_of(grade_id(cell)) not in tested
                ):
                    continue
                start, cpu = time.perf_counter(), kernel.cpu_seconds()
                out.reference[grade_id(cell)] = kernel.run(text(cell))
                out.seconds[grade_id(cell)] = time.perf_counter() - start
                out.cpu[grade_id(cell)] = kernel.cpu_seconds() - cpu
            every_test = autograded_cells(nb)
            for gid in answer_cells(nb):
                if task_of(gid) not in tested:
                    continue  # an experiment: nothing tests it
                defined = kernel.run(released(text(cell_by_id(nb, gid))))
                out.blank[gid] = Outcome(defined, _run_tests(kernel, nb, every_test), tuple(every_test))
                kernel.run(answer(nb, gid))
            for v in corpus(aid):
                cells = affected_cells(aid, v.replaces)
                if v.prelude:
                    kernel.run(v.prelude)
                defined = kernel.run(v.source)
                out.variants[v.name] = Outcome(defined, _run_tests(kernel, nb, cells), tuple(cells))
                restored = kernel.run(answer(nb, v.replaces))
                assert restored is None, f"{aid}: restoring {v.replaces} failed: {restored}"
        finally:
            kernel.close()
    return out


def _table(aid: str) -> None:
    nb = load(aid)
    result = replay(aid, experiments=True)
    print(
        f"{aid}: reference notebook {result.reference_seconds:.1f} s wall, {result.reference_cpu:.1f} s CPU "
        f"in one kernel (load average {os.getloadavg()[0]:.1f})"
    )
    slow = sorted(result.cpu.items(), key=lambda kv: -kv[1])[:3]
    print("  most CPU: " + ", ".join(f"{g} {s:.1f} s" for g, s in slow))
    bad = {g: e for g, e in result.reference.items() if e}
    if bad:
        print(f"  REFERENCE FAILS: {bad}")
    for v in corpus(aid):
        o = result.variants[v.name]
        kind = "loop" if v.loop else v.kind
        print(f"  {kind:7s} {v.name:40s} fails {sorted(o.failing)}  (declared {list(v.fails)})")
        if o.defined:
            print(f"          defining it raised {o.defined}")
    for gid, o in result.blank.items():
        print(f"  blank {gid}: fails {sorted(o.failing)}")
    del nb


if __name__ == "__main__":
    for name in sys.argv[1:]:
        _table(name)

"""The trusted side of grading v2: one submission, executed once, judged outside the student's reach.

This code runs in a process of its own (forked from the grader's preloaded fork server) that
never holds student code. Given the submission's cells (:func:`grade_submission`'s ``job``) and
the socket of the student's sandboxed process (:mod:`dlcourse.grading.sandbox`), it

1. runs the instructor's set-up cells here (a namespace of its own, :mod:`.namespace`) and reads
   ``BANNED`` from them; sends the banned names to the student's process, which resolves them
   before any student code runs;
2. has the student's process run the notebook's code cells in order (set-up, answers, added
   cells), each within the cell time limit, and keeps their outputs, cleaned
   (:mod:`dlcourse.grading.sanitize`) - test cells are never sent there;
3. runs every test cell here, visible ones first, then the ones with hidden tests (so that
   nothing a student's function saw during a hidden test can reach a visible test's message),
   reaching the student's functions through proxies that move only data (:mod:`.proxy`);
4. fails every test of a task whose rules the student's code broke (0 for the task);
5. scans the student's code for tampering with the in-process checks (:mod:`dlcourse.grading.cheats`).

Everything has one wall-time limit (``job["deadline"]``): past it the remaining cells are not
run and the result says ``timeout``. The result is plain data (JSON) for the grader.
"""

from __future__ import annotations

import time

from .. import markers, sanitize
from ..plan import task_of
from .channel import Channel, StudentGone, StudentTimeout
from .namespace import TestNamespace, install_getsource
from .proxy import Remote
from .ship import Sources
from .verdict import run_cell, run_test

__all__ = ["grade_submission"]

FRAME_LIMIT = 256 * 2**20


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def _run_notebook(job, channel, result) -> None:
    """Step 2: the student's process runs the code cells in order."""
    limit, media = job["cell_timeout"], [job["media_bytes"]]
    for cell in job["cells"]:
        if cell["kind"] not in ("setup", "answer", "added"):
            continue
        label = cell.get("grade_id") or f"cell {cell['index']}"
        left = job["deadline"] - time.time()
        if left <= 0:
            result["status"] = "timeout"
            result["cells"][cell["index"]] = {
                "outputs": [_error("TimeoutError", "not run: the time limit for this submission was reached")]
            }
            continue
        try:
            reply, _, interrupted = channel.request(
                {"op": "run", "source": cell["source"]}, timeout=min(limit, left)
            )
        except StudentTimeout as err:
            result["timeouts"].append(label)
            result["cells"][cell["index"]] = {"outputs": [_error("TimeoutError", str(err))]}
            continue
        except StudentGone as err:
            result["cells"][cell["index"]] = {"outputs": [_error("RuntimeError", f"not run: {err}")]}
            continue
        outputs = sanitize.outputs(reply.get("outputs"), media)
        if any(
            o["output_type"] == "error" and "dlcourse" in o["evalue"] and "Error" in o["ename"]
            for o in outputs
        ):
            result["course_package"] = True
        if interrupted:
            result["timeouts"].append(label)
            outputs = [
                o for o in outputs if not (o["output_type"] == "error" and o["ename"] == "KeyboardInterrupt")
            ]
            outputs.append(
                _error("TimeoutError", f"the cell ran past the time limit of {limit:g} s and was interrupted")
            )
        dropped = reply.get("dropped")
        if type(dropped) is int and dropped > 0:
            note = f"\n... output capped by the grader: {dropped} characters removed ...\n"
            outputs.append({"output_type": "stream", "name": "stdout", "text": note})
            result["capped"] = True
        count = reply.get("count")
        result["cells"][cell["index"]] = {
            "outputs": outputs,
            "execution_count": count if type(count) is int else None,
        }


def _run_tests(job, ns, remote, banned, result) -> None:
    """Step 3 and 4: the tests, visible first; then the rules."""
    tests = [c for c in job["cells"] if c["kind"] == "test"]
    secret = markers.hidden_lines("\n".join(c["source"] for c in tests))
    for cell in sorted(tests, key=lambda c: c["hidden"]):
        left = job["deadline"] - time.time()
        gid = cell["grade_id"]
        if left <= 0:
            result["status"] = "timeout"
            verdict_outputs = [
                _error("TimeoutError", "not run: the time limit for this submission was reached")
            ]
            result["cells"][cell["index"]] = {"outputs": verdict_outputs}
            result["tests"][gid] = {"passed": False, "message": "not run (time limit)"}
            continue
        verdict = run_test(ns, cell, remote, banned, secret, job["cell_timeout"], left)
        result["cells"][cell["index"]] = {"outputs": verdict.outputs}
        result["tests"][gid] = {"passed": verdict.passed, "message": verdict.message}
        if verdict.timed_out:
            result["timeouts"].append(gid)
    for task, names in remote.violations.items():
        result["violations"][task] = names
        text = f"this task bans {', '.join(names)}; the code called it, so the task scores 0"
        for cell in tests:
            if task_of(cell["grade_id"]) == task:
                result["cells"][cell["index"]] = {"outputs": [_error("RuleViolation", text)]}
                result["tests"][cell["grade_id"]] = {"passed": False, "message": f"RuleViolation: {text}"}


def grade_submission(job: dict, sock, pidfd) -> dict:
    """Grade one submission (see the module docstring); ``job`` is plain data from the grader."""
    import torch

    torch.set_num_threads(1)
    phases, start = {}, time.perf_counter()
    channel = Channel(sock, pidfd, FRAME_LIMIT)
    sources = Sources()
    remote = Remote(channel, sources, job["cell_timeout"])
    ns = TestNamespace(remote)
    install_getsource(remote)
    result = {"status": "graded", "cells": {}, "tests": {}, "notes": [], "timeouts": [], "violations": {}}
    for cell in job["cells"]:
        if cell["kind"] == "setup":
            try:
                run_cell(ns, cell["source"], f"<setup {cell.get('grade_id') or cell['index']}>", sources)
            except BaseException as err:  # noqa: BLE001  the instructor's cell: reported, grading goes on
                result["notes"].append(
                    f"set-up cell {cell.get('grade_id')} failed in the test process: {type(err).__name__}: {err}"
                )
            ns.install_helpers()
    try:
        banned = ns.banned()
    except TypeError as err:
        banned = {}
        result["notes"].append(str(err))
    phases["setup"] = time.perf_counter() - start
    try:
        reply, _, _ = channel.request(
            {"op": "init", "banned": {k: list(v) for k, v in banned.items()}}, timeout=60
        )
        if reply.get("missing"):
            result["notes"].append(f"BANNED names not found: {', '.join(map(str, reply['missing']))[:300]}")
    except (StudentGone, StudentTimeout) as err:
        result["notes"].append(f"the student's process did not start: {err}")
    _run_notebook(job, channel, result)
    phases["notebook"] = time.perf_counter() - start - phases["setup"]
    _run_tests(job, ns, remote, banned, result)
    phases["tests"] = time.perf_counter() - start - phases["setup"] - phases["notebook"]
    if channel.why_gone:
        result["notes"].append(channel.why_gone)
    if remote.course_package or result.pop("course_package", False):
        result["notes"].append(
            "the code imports the course package dlcourse, which is not available when grading"
        )
    channel.kill("graded")
    if job.get("review"):
        from ..cheats import scan

        student = [
            {"source": c["source"], "label": c.get("grade_id") or f"cell {c['index']}"}
            for c in job["cells"]
            if c["kind"] in ("answer", "added")
        ]
        result["findings"] = [[f.cell, f.line, f.rule, f.detail] for f in scan(student)]
    result["phases"] = {**phases, "total": time.perf_counter() - start}
    result["cells"] = {str(k): v for k, v in result["cells"].items()}
    return result

"""Benchmark: plain serial ``nbgrader autograde`` against ``make autograde`` with parallel jobs.

Grades the same N submissions of one assignment (default: 40 of ps1_backprop, a mix of solved,
partly solved and blank notebooks) twice, in a temporary copy of the course:

1. ``nbgrader autograde <id> --force`` run in the course folder (one process, students in turn);
2. ``python -m dlcourse.grading autograde --assignment <id> --jobs J`` (what ``make autograde
   JOBS=J`` runs: pre-check, one process per student, J at a time, report).

Prints submissions per minute for both, the ratio, and the per-submission overhead of (2): its
CPU-equivalent time per submission (wall time x jobs / N) minus serial nbgrader's time per
submission (which is mostly the notebook's own run: kernel start and the tests).

    python bench/grading.py [--n 40] [--jobs 2] [--assignment ps1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "grading_fixtures"))
import submissions as S  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", default="ps1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "assignments"
        course.mkdir()
        shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "assignments" / "source", course / "source")
        cli = [sys.executable, "-m", "dlcourse.grading", "--course", str(course)]
        subprocess.run([*cli, "release", "--assignment", args.assignment, "--downloads", str(Path(tmp) / "dl")],
                       check=True, capture_output=True)
        aid = next(p.name for p in (course / "release").iterdir())
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        tasks = S.tasks(src)
        kinds = [S.solved(rel, src), S.solved(rel, src, only=set(tasks[::2])), rel]
        for i in range(args.n):
            S.write_submission(course, f"student{i:03d}", aid, kinds[i % len(kinds)])

        start = time.perf_counter()
        serial = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", aid, "--force",
                                 f"--CourseDirectory.root={course}"], cwd=course, capture_output=True, text=True)
        t_serial = time.perf_counter() - start
        if serial.returncode != 0:
            sys.exit(f"serial nbgrader autograde failed:\n{serial.stderr[-2000:]}")

        start = time.perf_counter()
        ours = subprocess.run([*cli, "autograde", "--assignment", aid, "--jobs", str(args.jobs)],
                              capture_output=True, text=True)
        t_ours = time.perf_counter() - start
        if ours.returncode != 0:
            sys.exit(f"make autograde failed:\n{ours.stdout[-2000:]}{ours.stderr[-2000:]}")

    n = args.n
    per_serial = t_serial / n
    overhead = t_ours * args.jobs / n - per_serial
    print(f"{n} submissions of {aid} on {os.cpu_count()} cores")
    print(f"serial nbgrader autograde : {t_serial:7.1f} s  {60 * n / t_serial:6.1f} submissions/min")
    print(f"make autograde JOBS={args.jobs:<5} : {t_ours:7.1f} s  {60 * n / t_ours:6.1f} submissions/min")
    print(f"ratio (parallel / serial) : {t_serial / t_ours:7.2f}x")
    print(f"overhead per submission   : {overhead:7.2f} s (CPU-equivalent, beyond serial nbgrader's {per_serial:.2f} s)")


if __name__ == "__main__":
    main()

"""Benchmark: plain serial ``nbgrader autograde`` against ``make autograde``, isolation on and off.

Grades the same N submissions of one assignment (default: 40 of ps1_backprop, a mix of solved,
partly solved and blank notebooks) three times, in a temporary copy of the course:

1. ``nbgrader autograde <id> --force`` run in the course folder (one process, students in turn);
2. ``python -m dlcourse.grading autograde --assignment <id> --jobs J`` (what ``make autograde
   JOBS=J`` runs: pre-check, one process per student, J at a time, each kernel in the sandbox,
   the review with its trusted re-check, report);
3. the same with ``--isolation off`` (same limits, same review, no bubblewrap);
4. the same with ``--isolation off --no-review``: the parallel workflow alone.

Prints submissions per minute for each, the ratio of (2) to (1), the per-submission overhead of
(2): its CPU-equivalent time per submission (wall time x jobs / N) minus serial nbgrader's time
per submission, and the cost of isolation: 1 - throughput(2) / throughput(3) (goal: under 20%).

    python bench/grading.py [--n 40] [--jobs 2] [--assignment ps1] [--skip-serial]
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
    parser.add_argument("--skip-serial", action="store_true", help="only isolation on against off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "assignments"
        course.mkdir()
        shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "assignments" / "source", course / "source")
        cli = [sys.executable, "-m", "dlcourse.grading", "--course", str(course)]
        subprocess.run(
            [*cli, "release", "--assignment", args.assignment, "--downloads", str(Path(tmp) / "dl")],
            check=True,
            capture_output=True,
        )
        aid = next(p.name for p in (course / "release").iterdir())
        rel = S.load(course / "release" / aid / f"{aid}.ipynb")
        src = S.load(course / "source" / aid / f"{aid}.ipynb")
        tasks = S.tasks(src)
        kinds = [S.solved(rel, src), S.solved(rel, src, only=set(tasks[::2])), rel]
        for i in range(args.n):
            S.write_submission(course, f"student{i:03d}", aid, kinds[i % len(kinds)])

        t_serial = None
        if not args.skip_serial:
            start = time.perf_counter()
            serial = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nbgrader",
                    "autograde",
                    aid,
                    "--force",
                    f"--CourseDirectory.root={course}",
                ],
                cwd=course,
                capture_output=True,
                text=True,
            )
            t_serial = time.perf_counter() - start
            if serial.returncode != 0:
                sys.exit(f"serial nbgrader autograde failed:\n{serial.stderr[-2000:]}")

        times, notice = {}, ""
        runs = {
            "auto": ["--isolation", "auto"],
            "off": ["--isolation", "off"],
            "bare": ["--isolation", "off", "--no-review"],
        }
        for name, flags in runs.items():
            start = time.perf_counter()
            ours = subprocess.run(
                [*cli, "autograde", "--assignment", aid, "--jobs", str(args.jobs), *flags],
                capture_output=True,
                text=True,
            )
            times[name] = time.perf_counter() - start
            if ours.returncode != 0:
                sys.exit(f"make autograde failed:\n{ours.stdout[-2000:]}{ours.stderr[-2000:]}")
            notice = notice or ours.stdout.splitlines()[0]

    n, t_on, t_off = args.n, times["auto"], times["off"]
    print(f"{n} submissions of {aid} on {os.cpu_count()} cores; {notice[:60]}...")
    if t_serial is not None:
        per_serial = t_serial / n
        print(f"serial nbgrader autograde : {t_serial:7.1f} s  {60 * n / t_serial:6.1f} submissions/min")
    print(
        f"make autograde JOBS={args.jobs:<5} : {t_on:7.1f} s  {60 * n / t_on:6.1f} submissions/min (isolation on)"
    )
    print(f"  --isolation off         : {t_off:7.1f} s  {60 * n / t_off:6.1f} submissions/min")
    print(
        f"cost of isolation         : {100 * (1 - t_off / t_on):6.1f} % of throughput "
        f"(on/off throughput ratio {t_off / t_on:.2f}; goal: cost < 20 %)"
    )
    t_bare = times["bare"]
    print(
        f"  --isolation off --no-review: {t_bare:5.1f} s  {60 * n / t_bare:6.1f} submissions/min "
        "(the parallel workflow alone)"
    )
    print(f"cost of the review        : {100 * (1 - t_bare / t_off):6.1f} % of throughput")
    if t_serial is not None:
        print(f"ratio, workflow alone / serial: {t_serial / t_bare:5.2f}x (goal >= 1.7x on 2 cores)")
        overhead = t_on * args.jobs / n - per_serial
        print(f"ratio (parallel / serial) : {t_serial / t_on:7.2f}x")
        print(
            f"overhead per submission   : {overhead:7.2f} s (CPU-equivalent, beyond serial nbgrader's "
            f"{per_serial:.2f} s; includes the review's trusted re-check)"
        )


if __name__ == "__main__":
    main()

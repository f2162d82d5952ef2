"""Benchmark: plain serial ``nbgrader autograde`` against ``make autograde`` (sandbox and scan on).

For each size N (default 40 and 16, in the same run), the same N submissions of one assignment
(default ps1_backprop: a mix of solved, partly solved and blank notebooks) are graded twice, each
in a fresh temporary copy of the course:

1. plain nbgrader: ``nbgrader autograde <id> --force`` in a course configured as nbgrader's own
   documentation does (its ``Execute`` preprocessor, one kernel per notebook, students in turn);
2. ``python -m dlcourse.grading autograde --assignment <id> --jobs J`` (what ``make autograde``
   runs, default settings: isolation on where the machine allows it, the scan on).

Both are timed from the command's start to its end (start-up included). The bench prints, per N,
both wall times, the ratio serial / ours (goals: >= 2 at 40, >= 1.7 at 16 on 2 cores), where
ours spends its time (mean seconds per student in the student's process, the trusted tests, the
process starts, nbgrader's booking; and the fixed start-up of the run), the machine's load
average, and checks that both gave every student the same score.

    python bench/grading.py [--sizes 40,16] [--jobs 2] [--assignment ps1]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(
    os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
)  # alembic
sys.path.insert(0, str(ROOT / "tests" / "grading_fixtures"))
import submissions as S  # noqa: E402

PLAIN_CONFIG = """c = get_config()
import os
HERE = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.Execute.timeout = 30
"""


def _course(tmp: Path, name: str, plain: bool, aid_short: str) -> tuple[Path, str]:
    course = tmp / name / "assignments"
    course.mkdir(parents=True)
    if plain:
        (course / "nbgrader_config.py").write_text(PLAIN_CONFIG)
    else:
        shutil.copy2(ROOT / "assignments" / "nbgrader_config.py", course)
    aid = next(
        p.name
        for p in (ROOT / "assignments" / "source").iterdir()
        if p.name.split("_")[0] == aid_short or p.name == aid_short
    )
    shutil.copytree(ROOT / "assignments" / "source" / aid, course / "source" / aid)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            aid,
            "--force",
            f"--CourseDirectory.root={course}",
        ],
        cwd=course,
        check=True,
        capture_output=True,
        env=ENV,
    )
    return course, aid


def _submit(course: Path, aid: str, n: int) -> None:
    rel = S.load(course / "release" / aid / f"{aid}.ipynb")
    src = S.load(course / "source" / aid / f"{aid}.ipynb")
    tasks = S.tasks(src)
    kinds = [S.solved(rel, src), S.solved(rel, src, only=set(tasks[::2])), rel]
    for i in range(n):
        S.write_submission(course, f"student{i:03d}", aid, kinds[i % len(kinds)])


def _scores(course: Path) -> dict[str, float]:
    with sqlite3.connect(course / "gradebook.db") as con:
        rows = con.execute(
            "SELECT student.id, SUM(COALESCE(grade.manual_score, grade.auto_score, 0)) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
        )
        return {sid: float(score) for sid, score in rows}


def _timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return wall, run.stdout


def _phases(course: Path, aid: str) -> tuple[dict[str, float], float]:
    """Median seconds per student by phase (the first students also wait for the warm-up, so a
    mean would mix the two), and the median of the students' whole times."""
    with open(course / "reports" / aid / "latest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    values: dict[str, list[float]] = {}
    for row in rows:
        parts = row["phases"].split()
        for key, value in zip(parts[::2], parts[1::2]):
            values.setdefault(key, []).append(float(value))
    return {k: statistics.median(v) for k, v in values.items()}, statistics.median(
        float(r["seconds"]) for r in rows
    )


def bench(n: int, jobs: int, assignment: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        plain, aid = _course(Path(tmp), "plain", True, assignment)
        ours, _ = _course(Path(tmp), "ours", False, assignment)
        _submit(plain, aid, n)
        _submit(ours, aid, n)
        load = os.getloadavg()[0]
        t_plain, _ = _timed(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "autograde",
                aid,
                "--force",
                f"--CourseDirectory.root={plain}",
            ],
            plain,
        )
        cmd = [
            sys.executable,
            "-m",
            "dlcourse.grading",
            "--course",
            str(ours),
            "autograde",
            "--assignment",
            aid,
            "--jobs",
            str(jobs),
        ]
        t_ours, printed = _timed(cmd, ROOT)
        load = (load + os.getloadavg()[0]) / 2
        phases, median = _phases(ours, aid)
        same = _scores(plain) == _scores(ours)
        return {
            "n": n,
            "aid": aid,
            "plain": t_plain,
            "ours": t_ours,
            "phases": phases,
            "median": median,
            "same": same,
            "load": load,
            "notice": printed.splitlines()[0],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="40,16", help="numbers of submissions, comma-separated")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", default="ps1")
    args = parser.parse_args()
    goals = {40: 2.0, 16: 1.7}
    print(f"{os.cpu_count()} cores; load average at the start {os.getloadavg()[0]:.1f}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = bench(n, args.jobs, args.assignment)
        ratio = r["plain"] / r["ours"]
        goal = goals.get(n)
        print(f"\n{n} submissions of {r['aid']}, {args.jobs} jobs ({r['notice'][:70]}...)")
        print(
            f"  plain serial nbgrader autograde : {r['plain']:7.1f} s  ({r['plain'] / n:.2f} s per submission)"
        )
        print(
            f"  make autograde (sandbox, scan)  : {r['ours']:7.1f} s  ({r['ours'] / n:.2f} s per submission)"
        )
        print(
            f"  ratio serial / ours             : {ratio:7.2f}x"
            + (f"  (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})" if goal else "")
        )
        p = r["phases"]
        per = " + ".join(f"{k} {v:.2f}" for k, v in p.items())
        print(f"  ours per student, median seconds: {per} (whole: {r['median']:.2f})")
        fixed = r["ours"] - n * r["median"] / args.jobs
        print(f"  ours fixed start-up (approx.)   : {fixed:7.1f} s (warm interpreter, fork server, staging)")
        print(f"  same score for every student    : {r['same']}")
        print(f"  load average during the run     : {r['load']:.1f}")


if __name__ == "__main__":
    main()

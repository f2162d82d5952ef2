"""Grading strangers' code safely: sandbox settings, one sandboxed run per student, the review.

Part of :mod:`dlcourse.grading`. Per student, :func:`grade_safely`

1. prepares a private run folder (``/tmp/dlc-*``: the sandbox kernelspec and the IPC sockets)
   with :func:`dlcourse.grading.sandbox.grading_config`, hiding the whole course folder from the kernel;
2. runs nbgrader's autograde for that student with that kernel (:func:`grade_student`);
3. reviews the result outside the student's kernel (:func:`dlcourse.grading.cheats.review`: static scan,
   trusted re-check in a fresh sandboxed kernel, scrubbing of hidden-test text) and writes the
   scrubbed notebook over the autograded one, so that feedback is generated from it;
4. removes the run folder and kills whatever the student's processes left.

Settings come from ``nbgrader_config.py`` (``c.DlcourseSandbox.<name> = value``, see
:data:`SETTINGS`) and are overridden by the command line.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .course import Course
from .run import GradeJob, StudentResult, grade_student, read_result
from .sandbox.limits import Limits, SandboxSupport, probe

__all__ = [
    "SandboxSettings",
    "SETTINGS",
    "read_settings",
    "grade_safely",
    "Withheld",
    "GRADER_ERROR",
    "read_withheld",
    "write_withheld",
    "update_withheld",
    "release_decision",
    "WITHHELD_FIELDS",
]

# name in c.DlcourseSandbox -> (Limits field or None, default)
SETTINGS = {
    "memory": ("memory", "4G"),  # address space of each kernel process
    "cpu_seconds": ("cpu_seconds", 600),  # CPU time of each kernel process
    "nproc": ("nproc", 256),  # processes and threads of a kernel's (private) user
    "file_size": ("fsize", "256M"),  # largest file a kernel may write
    "disk": ("disk", "1G"),  # private working copy and /tmp, each
    "isolation": (None, "auto"),  # auto | require | off
    "timeout": (None, 300.0),  # wall time of one student's grading (seconds)
    "review": (None, True),  # scan, trusted re-check and scrub after autograde
}


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and isolation of one autograde run."""

    limits: Limits = Limits()
    isolation: str = "auto"
    timeout: float = 300.0
    cell_timeout: int | None = None  # None: c.Execute.timeout of nbgrader_config.py
    review: bool = True

    def __post_init__(self) -> None:
        if self.isolation not in ("auto", "require", "off"):
            raise ValueError(f"isolation must be 'auto', 'require' or 'off', got {self.isolation!r}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        if self.cell_timeout is not None and self.cell_timeout <= 0:
            raise ValueError(f"cell_timeout must be > 0 seconds, got {self.cell_timeout}")


def _config_of(course: Course):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()


def read_settings(course: Course, **overrides) -> SandboxSettings:
    """Settings from ``c.DlcourseSandbox`` of the course's config, then ``overrides`` (not None).

    ``overrides`` take the names of :data:`SETTINGS` plus ``cell_timeout``.
    """
    unknown = set(overrides) - set(SETTINGS) - {"cell_timeout"}
    if unknown:
        raise TypeError(f"unknown sandbox settings {sorted(unknown)}; expected {sorted(SETTINGS)}")
    config = _config_of(course)
    section = config.DlcourseSandbox if "DlcourseSandbox" in config else {}
    bad = set(section) - set(SETTINGS)
    if bad:
        raise ValueError(f"c.DlcourseSandbox has unknown settings {sorted(bad)}; expected {sorted(SETTINGS)}")
    values = {name: default for name, (_, default) in SETTINGS.items()}
    values.update(section)
    values.update({k: v for k, v in overrides.items() if v is not None and k in SETTINGS})
    limits = Limits(**{field: values[name] for name, (field, _) in SETTINGS.items() if field})
    cell_timeout = overrides.get("cell_timeout")
    if cell_timeout is None and "Execute" in config and "timeout" in config.Execute:
        cell_timeout = int(config.Execute.timeout)
    return SandboxSettings(
        limits, values["isolation"], float(values["timeout"]), cell_timeout, bool(values["review"])
    )


GRADER_ERROR = "grader error"  # how a withholding that is the grader's fault begins


@dataclass
class Withheld:
    """A score held back until the instructor decides (one row of ``withheld.csv``)."""

    student: str
    reason: str
    kernel_score: float
    recheck_score: float
    max_score: float
    recheck_failed: str  # grade_ids the trusted re-check failed, ";"-separated

    @property
    def grader_error(self) -> bool:
        """Held because the grader failed, not because of anything the student did."""
        return self.reason.startswith(GRADER_ERROR)


WITHHELD_FIELDS = ["student", "reason", "kernel_score", "recheck_score", "max_score", "recheck_failed"]


def read_withheld(course: Course, assignment: str) -> dict[str, Withheld]:
    """Withheld scores of ``assignment`` by student (``reports/<id>/withheld.csv``)."""
    path = course.reports / assignment / "withheld.csv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {
            r["student"]: Withheld(
                r["student"],
                r["reason"],
                float(r["kernel_score"]),
                float(r["recheck_score"]),
                float(r["max_score"]),
                r["recheck_failed"],
            )
            for r in csv.DictReader(f)
        }


def write_withheld(course: Course, assignment: str, rows: dict[str, Withheld]) -> None:
    folder = course.reports / assignment
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "withheld.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, WITHHELD_FIELDS)
        writer.writeheader()
        for sid in sorted(rows):
            writer.writerow(vars(rows[sid]))


def update_withheld(course: Course, graded: list[StudentResult]) -> None:
    """Students graded in this run replace their row of ``withheld.csv`` (or lose it)."""
    for aid in sorted({r.assignment for r in graded}):
        rows = read_withheld(course, aid)
        for r in graded:
            if r.assignment != aid:
                continue
            rows.pop(r.student, None)
            if r.withheld:
                rows[r.student] = Withheld(
                    r.student,
                    r.withheld,
                    r.score,
                    r.recheck_score or 0.0,
                    r.max_score,
                    ";".join(r.recheck_failed),
                )
        write_withheld(course, aid, rows)


REVIEW_ATTEMPTS = 3  # a review that fails for a reason of the grader's own is tried again


def review_in_process(staged: str, source: str, autograded: str, options: dict) -> dict:
    """The review of one submission (run by :func:`run_isolated`, one process per review).

    Scans, re-checks and scrubs; writes the scrubbed notebook over ``autograded``; returns what
    the grading process needs as plain data.
    """
    import nbformat

    from .cheats import HIGH_RISK, review

    rev = review(staged, source, autograded, **options)
    nbformat.write(rev.scrubbed, autograded)
    return {
        "recheck_score": rev.recheck_score,
        "recheck_failed": sorted(g for g, ok in rev.recheck.items() if not ok),
        "flags": rev.flags(),
        "flagged": rev.flagged,
        "mismatches": len(rev.mismatches),
        "rules": sorted({f.rule for f in rev.findings if f.rule in HIGH_RISK}),
        "printed_hidden": any(not r.endswith(" in error") for r in rev.redactions),
    }


def _review(
    course: Course,
    job: GradeJob,
    setup,
    run_dir: Path,
    settings: SandboxSettings,
    res: StudentResult,
    time_left: float,
) -> None:
    """Review one graded submission in processes of its own; fill in flags and withholding.

    The review runs outside this (threaded) process, so that concurrent reviews never share
    interpreter state. A review that fails for a reason of the grader's own is tried
    :data:`REVIEW_ATTEMPTS` times; if it never succeeds the student is reported as a *grader
    error* (``res.status``), which holds the score without suggesting anything about the student.
    """
    from .proc import run_isolated

    autograded = course.notebook("autograded", job.assignment, job.student)
    if not autograded.exists():
        return
    options = {
        "timeout": settings.cell_timeout or 30,
        "kernel_name": setup.kernel_name,
        "config": setup.config,
        "kernel_dirs": [str(run_dir / "jupyter" / "kernels")],
    }
    args = (
        str(course.notebook("staged", job.assignment, job.student)),
        str(course.notebook("source", job.assignment)),
        str(autograded),
        options,
    )
    errors = []
    for _ in range(REVIEW_ATTEMPTS):
        status, value = run_isolated(
            review_in_process, args, run_dir / "review.json", timeout=max(time_left, 60.0)
        )
        if status == "ok":
            break
        if status == "timeout":
            res.status = "timeout"
            res.withheld = f"the review (trusted re-check) ran past the {settings.timeout:.0f} s limit"
            return
        errors.append(value)
    else:
        res.status = "grader error"
        res.withheld = (
            f"{GRADER_ERROR}: the review failed {REVIEW_ATTEMPTS} times ({errors[-1]}); "
            "not evidence against the student: grade again"
        )
        return
    res.recheck_score = min(value["recheck_score"], res.score)
    res.recheck_failed = value["recheck_failed"]
    res.flags += [f for f in value["flags"] if not f.endswith(" in error")]  # tracebacks: innocent
    if len(errors):
        res.flags.append(f"review retried after a grader error ({errors[-1]})")
    if value["flagged"]:
        reasons = []
        if value["mismatches"]:
            reasons.append(f"re-check failed {value['mismatches']} test(s) the kernel passed")
        if value["rules"]:
            reasons.append("suspicious code: " + ", ".join(value["rules"]))
        if value["printed_hidden"]:
            reasons.append("printed hidden-test text")
        res.withheld = "; ".join(reasons)


def grade_safely(
    course: Course,
    assignment: str,
    student: str,
    settings: SandboxSettings,
    support: SandboxSupport | None,
    res: StudentResult,
) -> StudentResult:
    """Grade one staged submission in the sandbox and review it; ``res`` is filled in."""
    run_dir = Path(tempfile.mkdtemp(prefix="dlc-"))  # short: IPC socket paths are limited
    try:
        from .sandbox import grading_config

        setup = grading_config(
            run_dir,
            settings.limits,
            isolation=settings.isolation,
            hide=[str(course.root)],
            support=support or probe(),
        )
        job = GradeJob(
            course,
            assignment,
            student,  # setup.args name the sandbox kernel
            cell_timeout=settings.cell_timeout,
            timeout=settings.timeout,
            extra_args=setup.args,
            env=tuple(setup.env.items()),
        )
        status, seconds, log = grade_student(job)
        res.status, res.seconds, res.log = status, seconds, log
        if status == "timeout":
            res.flags.append(f"grading stopped at the {settings.timeout:.0f} s limit")
        elif status == "error":
            res.flags.append(f"nbgrader failed: see reports/{assignment}/logs/{student}.log")
        read_result(course, assignment, student, res)
        if settings.review and status != "error":
            _review(course, job, setup, run_dir, settings, res, settings.timeout - seconds)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)  # the kernels' PID namespaces died with them
    return res


def release_decision(course: Course, assignment: str, student: str, use_recheck: bool) -> Withheld:
    """Release a withheld score: keep the gradebook's (``use_recheck=False``) or set every test
    the trusted re-check failed to 0 points (``manual_score``, as the formgrader would)."""
    rows = read_withheld(course, assignment)
    if student not in rows:
        raise ValueError(
            f"student {student!r} has no withheld score in {assignment}; withheld: {sorted(rows) or 'none'}"
        )
    row = rows.pop(student)
    if use_recheck:
        from nbgrader.api import Gradebook

        failed = set(filter(None, row.recheck_failed.split(";")))
        with Gradebook(course.db_url) as gb:
            sub = gb.find_submission(assignment, student)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    if grade.name in failed:
                        grade.manual_score = 0.0
            gb.db.commit()
    write_withheld(course, assignment, rows)
    return row

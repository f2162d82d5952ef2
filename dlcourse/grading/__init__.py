"""Grading the course's problem sets with nbgrader: safely, in parallel, one command per step.

The parts:

* :mod:`~dlcourse.grading.workflow` - the steps of a term (release, autograde, feedback, grades,
  withheld) and :mod:`~dlcourse.grading.cli`, their command line (``python -m dlcourse.grading``,
  which the ``make`` targets run);
* :mod:`~dlcourse.grading.course` - the course folder, collecting submissions, gradebook backups;
* :mod:`~dlcourse.grading.precheck`, :mod:`~dlcourse.grading.run` - repairing a submission before
  grading, grading one student in a process of its own, reading the results back;
* :mod:`~dlcourse.grading.secure` - sandbox settings, one sandboxed run and review per student,
  withheld scores;
* :mod:`~dlcourse.grading.preprocessors` - the nbgrader preprocessors ``nbgrader_config.py`` names;
* :mod:`~dlcourse.grading.proc` - the fork server that starts nbgrader cheaply;
* :mod:`dlcourse.grading.sandbox` - isolated, resource-limited kernels (bubblewrap);
* :mod:`dlcourse.grading.cheats` - evidence against cheating gathered outside the kernel.
"""

from .course import Course, collect
from .run import GradeJob, StudentResult
from .secure import SandboxSettings, read_settings
from .workflow import autograde, feedback, grades, release, withheld

__all__ = [
    "Course",
    "GradeJob",
    "StudentResult",
    "SandboxSettings",
    "read_settings",
    "release",
    "collect",
    "autograde",
    "feedback",
    "grades",
    "withheld",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    """Run the command line (see :mod:`dlcourse.grading.cli`); return the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)

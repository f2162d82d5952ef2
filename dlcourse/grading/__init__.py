"""Grading the course's problem sets with nbgrader: every submission executed once, in a sandbox,
judged by a trusted process that never holds student code; one command per step.

The parts:

* :mod:`~dlcourse.grading.workflow`, :mod:`~dlcourse.grading.feedback`, :mod:`~dlcourse.grading.grades`
  - the steps of a term (release, autograde, withheld; feedback; grades) and
  :mod:`~dlcourse.grading.cli`, their command line (``python -m dlcourse.grading``, which the ``make``
  targets run); :mod:`~dlcourse.grading.collect` - taking in an LMS export;
* :mod:`~dlcourse.grading.settings` - every sandbox and grading setting, one traitlets ``Configurable``;
* :mod:`~dlcourse.grading.markers` - the solution and hidden-test markers and how they are read;
* :mod:`~dlcourse.grading.course`, :mod:`~dlcourse.grading.precheck`, :mod:`~dlcourse.grading.plan`,
  :mod:`~dlcourse.grading.run` - the course folder and roster, the pre-check of a submission, what
  the harness is given, grading one student; :mod:`~dlcourse.grading.report`,
  :mod:`~dlcourse.grading.withheld` - what a run writes as each student finishes;
* :mod:`dlcourse.grading.sandbox` - the warm, isolated interpreter that runs student code;
* :mod:`dlcourse.grading.harness` - the trusted test process and its proxies;
* :mod:`~dlcourse.grading.sanitize` - nothing a student wrote reaches a browser as live markup;
* :mod:`~dlcourse.grading.preprocessors` - the nbgrader preprocessors ``nbgrader_config.py`` names;
* :mod:`~dlcourse.grading.proc` - the fork server that starts nbgrader and the harness cheaply;
* :mod:`dlcourse.grading.cheats` - the static scan for tampering with the in-process checks;
* :mod:`~dlcourse.grading.student` - ``check_rules`` and ``count_torch_ops`` for students' Jupyter.
"""

from .course import Course
from .run import StudentResult
from .settings import DlcourseGrading, read_settings

__all__ = ["Course", "StudentResult", "DlcourseGrading", "read_settings", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line (see :mod:`dlcourse.grading.cli`); return the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)

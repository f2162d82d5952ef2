"""nbgrader configuration of the dlcourse course.

Everything is derived from this file's own location, so the course works from any clone and from
any working directory (``python -m dlcourse.grading`` always runs nbgrader with ``cwd`` set here
and ``--CourseDirectory.root`` given explicitly; nbgrader itself only reads the
``nbgrader_config.py`` of the current directory).

Folders below this one (all generated, all git-ignored except ``source/``):

- ``source/<id>/<id>.ipynb``   the instructor version: solutions and hidden tests (the one truth);
- ``release/<id>/``            the student version (``make release``);
- ``submitted/<student>/<id>/`` what students handed in (``make collect``); never modified;
- ``staged/<student>/<id>/``   pre-checked, repaired, cleaned copies that autograde reads;
- ``autograded/``, ``feedback/``, ``gradebook.db``, ``reports/``, ``backups/``;
- ``students.csv`` (yours, optional): the roster, columns ``id,first_name,last_name,email``.
"""

import os

from dlcourse.grading import markers

c = get_config()

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# The markers of solutions and hidden tests: one definition, shared with the grader.
c.ClearSolutions.begin_solution_delimeter = markers.BEGIN_SOLUTION
c.ClearSolutions.end_solution_delimeter = markers.END_SOLUTION
c.ClearHiddenTests.begin_test_delimeter = markers.BEGIN_HIDDEN
c.ClearHiddenTests.end_test_delimeter = markers.END_HIDDEN
# Student versions: the stub that replaces a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading settings (sandbox limits, time limits, parallel students, the scan): every one of them,
# with its default and its meaning, is listed by `python -m dlcourse.grading settings` and
# `python -m dlcourse.grading autograde --help`. Set any here, e.g.
#     c.DlcourseGrading.timeout = 600       # seconds per student
#     c.DlcourseGrading.memory = "6G"
# and override them for one run on the command line (make autograde ARGS="--timeout 900").

# Autograde (`make autograde`, never plain `nbgrader autograde`): nbgrader keeps its bookkeeping
# (submissions, grades, late penalties, restored test cells), but no notebook is executed here:
# every submission was executed once in the sandbox and judged by the trusted harness, whose
# outputs FillTrustedOutputs puts in. A deleted test cell is put back and graded.
c.OverwriteCells.add_missing_cells = True
c.Autograde.autograde_preprocessors = [
    "dlcourse.grading.preprocessors.FillTrustedOutputs",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback: grades (an ungraded written answer reads "not graded yet", never 0), outputs scrubbed
# of any hidden-test text, hidden tests removed from the code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "dlcourse.grading.preprocessors.MarkPending",
    "dlcourse.grading.preprocessors.ScrubHiddenOutputs",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

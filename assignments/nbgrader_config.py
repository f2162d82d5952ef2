"""nbgrader configuration of the dlcourse course.

Everything is derived from this file's own location, so the course works from any clone and from
any working directory (``python -m dlcourse.grading`` always runs nbgrader with ``cwd`` set here
and ``--CourseDirectory.root`` given explicitly; nbgrader itself only reads the
``nbgrader_config.py`` of the current directory).

Folders below this one (all generated, all git-ignored except ``source/``):

- ``source/<id>/<id>.ipynb``   the instructor version: solutions and hidden tests (the one truth);
- ``release/<id>/``            the student version (``make release``);
- ``submitted/<student>/<id>/`` what students handed in (``make collect``); never modified;
- ``staged/<student>/<id>/``   pre-checked, repaired copies that autograde reads;
- ``autograded/``, ``feedback/``, ``gradebook.db``, ``reports/``, ``backups/``.
"""

import os

c = get_config()

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Student versions: the stub that replaces a solution, and no stray solution text.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: each cell of these notebooks runs in well under a second on a CPU; 30 s leaves
# room for a slow, shared machine while an infinite loop still costs only 30 s.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
# Student code is untrusted: `make autograde` runs every kernel in a sandbox (dlcourse.grading.sandbox:
# no network, no view of this folder, its own processes and, as root, its own user id) with these
# limits. Command-line options (--memory, --cpu-seconds, --nproc, --file-size, --timeout,
# --isolation) override them for one run; the per-cell limit is c.Execute.timeout above.
c.DlcourseSandbox.memory = "4G"  # address space of each kernel process (torch needs ~1.3 GiB)
c.DlcourseSandbox.cpu_seconds = 600  # CPU time of each kernel process
c.DlcourseSandbox.nproc = 256  # processes and threads of one kernel
c.DlcourseSandbox.file_size = "256M"  # largest file a kernel may write
c.DlcourseSandbox.disk = "1G"  # the private working copy and /tmp, each
c.DlcourseSandbox.timeout = 300  # wall time of one student's grading, in seconds
c.DlcourseSandbox.isolation = "auto"  # auto: isolate where possible; require: refuse without; off
c.DlcourseSandbox.review = True  # static scan, trusted re-check and scrubbing after autograde
# A deleted test cell is put back (from the gradebook) and graded.
c.OverwriteCells.add_missing_cells = True
# Streams are cut to 1000 lines by nbgrader and to 200 kB per cell by dlcourse (a submission
# that prints 50 MB must not produce a 50 MB notebook or feedback page).
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "dlcourse.grading.preprocessors.CapOutputBytes",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback: grades, hidden tests removed from the code, and outputs scrubbed of any hidden-test
# text (tracebacks of a failing hidden test quote its lines).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "dlcourse.grading.preprocessors.ScrubHiddenOutputs",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

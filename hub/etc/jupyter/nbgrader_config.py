"""nbgrader settings of every user's server on the course's JupyterHub (students and instructors).

Read from ``JUPYTER_CONFIG_PATH`` (the one-machine hub) or ``/etc/jupyter`` (the course image on
Kubernetes). The exchange is ngshare, through ``dlcourse.hub.exchange``: ngshare_exchange made
strict, so a failed release, fetch, submit, collect or feedback is an error in the Formgrader,
the Assignment List and on the command line, never a quiet success.

``DLCOURSE_NGSHARE_URL`` is ngshare's address as users' servers reach it. Without it the exchange
falls back to ngshare_exchange's Kubernetes default (``http://proxy-public/services/ngshare``) and,
off Kubernetes, every exchange command fails with "ngshare url not configured".

An instructor's course (id, root, gradebook) comes from the ``nbgrader_config.py`` of the folder
their server starts in, which nbgrader reads after this file.
"""

import os

from dlcourse.hub.exchange import configure

c = get_config()  # noqa: F821  (injected by traitlets)

configure(c, os.environ.get("DLCOURSE_NGSHARE_URL") or None)
# Students see every course that ngshare enrols them in; no per-student configuration.
c.CourseDirectory.course_id = "*"

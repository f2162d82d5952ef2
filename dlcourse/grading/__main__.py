"""``python -m dlcourse.grading``: the course's command line (:mod:`dlcourse.grading.cli`)."""

import sys

from .cli import main

sys.exit(main())

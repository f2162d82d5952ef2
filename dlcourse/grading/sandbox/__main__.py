"""``python -m dlcourse.grading.sandbox probe``: can this machine isolate grading kernels?"""

import sys

from . import _cli

sys.exit(_cli(sys.argv[1:]))

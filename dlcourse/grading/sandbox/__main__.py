"""``python -m dlcourse.grading.sandbox probe``: can this machine isolate grading kernels?

Prints the one line ``make autograde`` prints about isolation; exits 0 when isolation works, 1
when it does not (so that a set-up script can say so), 2 on a wrong command line.
"""

import sys

from .probe import probe

if sys.argv[1:] != ["probe"]:
    print("usage: python -m dlcourse.grading.sandbox probe", file=sys.stderr)
    sys.exit(2)
support = probe()
print(support.notice())
sys.exit(0 if support.isolated else 1)

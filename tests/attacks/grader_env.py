# Attack: detect the grader (environment, user, working folder) to behave differently.
# Expected in the sandbox: no NBGRADER_EXECUTION, an unprivileged user, a neutral folder.
import getpass
import os

print("RESULT", os.environ.get("NBGRADER_EXECUTION"), os.getuid(), getpass.getuser(), os.getcwd())

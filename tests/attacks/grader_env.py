# Attack: detect the grader (environment, user, working folder) to behave differently.
# Expected in the sandbox: no NBGRADER_EXECUTION, an unprivileged user, a neutral folder.
import getpass, os
print("RESULT", os.environ.get("NBGRADER_EXECUTION"), os.getuid(), getpass.getuser(), os.getcwd())

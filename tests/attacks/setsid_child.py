# Attack: leave a process behind: a new session (setsid) that writes a file 3 s later.
# Expected in the sandbox: killed with the kernel's PID namespace; the file never appears.
import subprocess
import sys

code = "import time; time.sleep(3); open('__MARKER_DIR__/survivor', 'w').write('alive')"
subprocess.Popen(
    [sys.executable, "-c", code, "dlcourse-attack-marker"],
    start_new_session=True,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
print("RESULT started")

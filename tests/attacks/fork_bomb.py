# Attack: a fork bomb (children that sleep, so a failed test cannot burn the CPUs).
# Expected: fork fails with EAGAIN at RLIMIT_NPROC, far below the machine's process limit.
import os
import time

children, start = 0, time.time()
try:
    while children < 100_000:
        if os.fork() == 0:
            time.sleep(1)
            os._exit(0)
        children += 1
except OSError as err:
    print("RESULT bounded", children, err.errno, round(time.time() - start, 2))
for _ in range(children):  # reap them, so that the kernel can start threads again
    os.wait()

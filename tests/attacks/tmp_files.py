# Attack (limits): 300,000 empty files in /tmp, to grow the host's unreclaimable kernel memory.
# Expected: the writable space holds at most `files` inodes: creation fails with ENOSPC long before.
import os

made = 0
try:
    for made in range(300_000):
        open(f"/tmp/f{made}", "w").close()
    print("RESULT written", made + 1)
except OSError as err:
    print("RESULT bounded", err.errno, made)
for i in range(made + 1):  # clean up, so that the next attack has the space
    try:
        os.remove(f"/tmp/f{i}")
    except OSError:
        pass

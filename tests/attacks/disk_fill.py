# Attack (limits): fill every writable place (working copy, /tmp, /dev/shm) with 64 MiB files.
# Expected: together they hold at most `disk` bytes (one tmpfs): ENOSPC, the total within the limit.
import os

total, code = 0, 0
for place in (".", "/tmp", "/dev/shm"):
    for i in range(64):
        path = f"{place}/fill{i}.bin"
        try:
            with open(path, "wb") as f:
                f.write(b"\0" * 2**26)
        except OSError as err:
            code = err.errno
            break
        finally:
            total += os.path.getsize(path) if os.path.exists(path) else 0
print("RESULT bounded" if total < 64 * 3 * 2**26 else "RESULT written", code, total // 2**20)
for place in (".", "/tmp", "/dev/shm"):  # clean up, so that the next attack has the space
    for i in range(64):
        if os.path.exists(f"{place}/fill{i}.bin"):
            os.remove(f"{place}/fill{i}.bin")

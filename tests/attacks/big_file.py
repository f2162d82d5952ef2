# Attack: write a 1 GB file.
# Expected: the write fails with EFBIG (RLIMIT_FSIZE) once the file reaches the limit.
import os

block = b"\0" * 2**24
written = 0
try:
    with open("big.bin", "wb") as f:
        while written < 2**30:
            f.write(block)
            f.flush()
            written += len(block)
    print("RESULT written", written)
except OSError as err:
    print("RESULT bounded", err.errno, os.path.getsize("big.bin"))

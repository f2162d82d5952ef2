# Attack: allocate memory until something breaks (numpy.empty: address space, pages untouched,
# so that the test is quick; touching them hits the same limit).
# Expected: MemoryError at the address-space limit, long before the machine runs out.
import numpy as np

chunks = []
try:
    while True:
        chunks.append(np.empty(128 * 2**20, dtype=np.uint8))
except MemoryError:
    print("RESULT bounded", len(chunks) * 128, "MiB")
del chunks

# Attack: allocate memory until something breaks (touching every page).
# Expected: MemoryError at the address-space limit, long before the machine runs out.
chunks = []
try:
    while True:
        chunks.append(bytearray(128 * 2**20))
        chunks[-1][::4096] = b"x" * len(range(0, 128 * 2**20, 4096))
except MemoryError:
    print("RESULT bounded", len(chunks) * 128, "MiB")
del chunks

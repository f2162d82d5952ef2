# Attack: never return. Expected: interrupted at the per-cell timeout; later cells still run.
while True:
    pass

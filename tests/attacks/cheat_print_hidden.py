# Cheat (solution cell): print every later cell (the hidden tests) and skip it.
# Expected: the printed hidden lines are redacted from the autograded notebook and flagged.
def _leak(lines):
    print("".join(lines))
    return ["pass\n"]


get_ipython().input_transformers_cleanup.append(_leak)


def square(x):
    return 0

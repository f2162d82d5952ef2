# Attack (rules): take the answers from the course package instead of writing them.
# Expected: `dlcourse` is not importable in the student's process (not even visible).
try:
    from dlcourse.losses import log_softmax

    print("RESULT leaked", log_softmax.__module__)
except ImportError as err:
    print("RESULT blocked", type(err).__name__)

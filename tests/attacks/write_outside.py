# Attack: overwrite the gradebook (another student's grade) outside the working copy.
# Expected in the sandbox: the write fails and the host file is byte-for-byte unchanged.
try:
    with open("__GRADEBOOK__", "w") as f:
        f.write("pwned")
    print("RESULT written")
except OSError as err:
    print("RESULT blocked", type(err).__name__)

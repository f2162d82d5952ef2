# Attack: read the instructor's source notebook (solutions, hidden tests) outside the working copy.
# Expected in the sandbox: the path does not exist there ("blocked").
try:
    text = open("__SECRET__").read()
    print("RESULT leaked", text[:40])
except OSError as err:
    print("RESULT blocked", type(err).__name__)

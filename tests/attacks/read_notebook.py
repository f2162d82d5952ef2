# Attack: read the notebook being graded from the working folder (nbgrader restored the hidden
# tests into it). Expected in the sandbox: no notebook in the working copy ("blocked").
import glob
import os

found = glob.glob("*.ipynb") + glob.glob("../*/*.ipynb") + glob.glob("__WORKDIR__/*.ipynb")
print("RESULT", "leaked" if found else "blocked", found, sorted(os.listdir(".")))

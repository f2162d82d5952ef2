"""Time a cold strict build of the whole book and a cached rebuild with nothing changed.

Run from the repository root after `make book` set-up: ``.venv/bin/python bench/build.py``.
Prints wall times; goals on 2 CPU cores: cold under 4 minutes, cached rebuild under 20 s.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
BOOK = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(BOOK)  # book/build.py: the one place the build command is written


def build(out: Path, fast: bool) -> float:
    start = time.perf_counter()
    proc = BOOK.build(ROOT, out, fast=fast, capture=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> None:
    # the Assignments page links the released student notebooks: release them first (quietly)
    subprocess.run([sys.executable, "-m", "dlcourse.grading", "release", "--quiet"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold = build(tmp / "cold", fast=False)
        chapters = {
            doc: row
            for doc, row in BOOK.execution_report(tmp / "cold" / "_build" / "html").items()
            if doc.startswith("chapters/")
        }
        warm_up = build(tmp / "cached", fast=True)
        cached = build(tmp / "cached", fast=True)
    print(f"{'build':<40}{'seconds':>10}{'goal':>10}")
    print(f"{'cold strict build (executes all)':<40}{cold:>10.1f}{'< 240':>10}")
    print(f"{'first cached build (fills the cache)':<40}{warm_up:>10.1f}{'':>10}")
    print(f"{'cached rebuild, nothing changed':<40}{cached:>10.1f}{'< 20':>10}")
    print(f"ratio cold / cached rebuild: {cold / cached:.1f}x")
    print(f"\n{'chapter (strict build, fresh kernel)':<40}{'seconds':>10}{'goal':>10}")
    for doc, (_, seconds, ok) in sorted(chapters.items()):
        print(
            f"{doc:<40}{seconds:>10.1f}{'< ' + format(BOOK.CHAPTER_GOAL_S, 'g'):>10}{'' if ok else '  FAILED'}"
        )


if __name__ == "__main__":
    main()

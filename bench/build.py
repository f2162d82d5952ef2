"""Time a cold strict build of the whole book and a cached rebuild with nothing changed.

Run from the repository root after `make book` set-up: ``.venv/bin/python bench/build.py``.
Prints wall times; goals on 2 CPU cores: cold under 4 minutes, cached rebuild under 20 s.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JB = str(Path(sys.executable).with_name("jupyter-book"))


def build(out: Path, config: Path | None, strict: bool) -> float:
    cmd = [JB, "build", str(ROOT), "--toc", str(ROOT / "book/_toc.yml"), "--path-output", str(out)]
    if config is not None:
        cmd += ["--config", str(config)]
    if strict:
        cmd += ["-W", "--keep-going", "--all"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> None:
    # the Assignments page links the released student notebooks: release them first (quietly)
    subprocess.run([sys.executable, "-m", "dlcourse.grading", "release", "--quiet"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cold = build(tmp / "cold", None, strict=True)
        fast_cfg = tmp / "_config_fast.yml"
        text = (ROOT / "_config.yml").read_text()
        fast_cfg.write_text(re.sub(r"execute_notebooks: force", "execute_notebooks: cache", text))
        warm_up = build(tmp / "cached", fast_cfg, strict=False)
        cached = build(tmp / "cached", fast_cfg, strict=False)
    print(f"{'build':<40}{'seconds':>10}{'goal':>10}")
    print(f"{'cold strict build (executes all)':<40}{cold:>10.1f}{'< 240':>10}")
    print(f"{'first cached build (fills the cache)':<40}{warm_up:>10.1f}{'':>10}")
    print(f"{'cached rebuild, nothing changed':<40}{cached:>10.1f}{'< 20':>10}")
    print(f"ratio cold / cached rebuild: {cold / cached:.1f}x")


if __name__ == "__main__":
    main()

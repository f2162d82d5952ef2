"""The one command line that builds this book (``make book``, ``make book-fast``, the tests, the bench).

    python book/build.py [--fast] [--out DIR] [--source DIR]

Strict (the default): every chapter executed afresh (``execute_notebooks: force`` in
``_config.yml``), every Sphinx warning an error, nothing reused from an earlier build
(``-W --keep-going --all``). ``--fast``: the execution cache, re-executing only changed chapters,
warnings shown but not fatal (the author's loop). ``--out`` builds into ``DIR/_build`` instead of
``_build`` (the tests build into a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOC = "book/_toc.yml"
STRICT = ("-W", "--keep-going", "--all")

__all__ = ["command", "fast_config", "build", "execution_report", "main"]

CHAPTER_GOAL_S = 60.0  # each chapter, top to bottom, in a fresh kernel on 2 CPU cores


def fast_config(source: Path, dest: Path) -> Path:
    """``_config.yml`` with the execution cache instead of forced execution, written to ``dest``."""
    text = (source / "_config.yml").read_text(encoding="utf-8")
    fast, count = re.subn(r"(?m)^(\s*execute_notebooks:)\s*force\b", r"\1 cache", text)
    if count != 1:
        raise ValueError(
            f"{source / '_config.yml'}: expected one 'execute_notebooks: force' line, found {count}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(fast, encoding="utf-8")
    return dest


def command(
    source: Path = ROOT, out: Path | None = None, *, strict: bool = True, config: Path | None = None
) -> list[str]:
    """The ``jupyter-book build`` command for the book at ``source``."""
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(source),
        "--toc",
        str(source / TOC),
    ]
    if out is not None:
        cmd += ["--path-output", str(out)]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd + list(STRICT if strict else ())


def build(
    source: Path = ROOT, out: Path | None = None, *, fast: bool = False, capture: bool = False
) -> subprocess.CompletedProcess:
    """Build the book; ``capture`` keeps the output in the result instead of printing it."""
    config = fast_config(source, (out or source) / "_build" / "_config_fast.yml") if fast else None
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    return subprocess.run(
        command(source, out, strict=not fast, config=config),
        cwd=source,
        env=env,
        capture_output=capture,
        text=True,
    )


def execution_report(html: Path) -> dict[str, tuple[str, float, bool]]:
    """``{document: (method, seconds, succeeded)}`` from the built book's build report page
    (myst-nb's execution table, ``book/build-report.md``), ``html`` being ``_build/html``."""
    text = (html / "book" / "build-report.html").read_text(encoding="utf-8")
    table = text[text.index("<table") : text.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) == 5:
            rows[cells[0]] = (cells[2], float(cells[3]), cells[4] == "\u2705")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="use the execution cache; warnings not fatal")
    parser.add_argument("--out", type=Path, default=None, help="build into DIR/_build")
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="the book's root (default: this repository)"
    )
    args = parser.parse_args(argv)
    code = build(args.source.resolve(), args.out, fast=args.fast).returncode
    if code == 0:
        print(f"The book is at: {((args.out or args.source).resolve() / '_build' / 'html' / 'index.html')}")
    return code


if __name__ == "__main__":
    sys.exit(main())

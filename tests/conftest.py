"""Shared fixtures: the strict book build (run once per session) and the chapters' results.

The chapters are executed exactly once per test run, by the strict book build; the chapter tests
read the numbers each chapter printed from the executed copies under ``_build/jupyter_execute``.
Set ``DLCOURSE_EXECUTED_DIR`` to a folder of already executed chapter notebooks (for example from
``jupyter nbconvert --execute --to notebook --output-dir DIR chapters/03_activations.ipynb``) to
test a chapter while writing it without building the whole book.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def jupyter_book_build(
    source: Path, out: Path, *, toc: str = "book/_toc.yml", strict: bool = True
) -> subprocess.CompletedProcess:
    """Run ``jupyter-book build`` on ``source`` into ``out`` the way ``make test`` does."""
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(source),
        "--toc",
        str(source / toc),
        "--path-output",
        str(out),
    ]
    if strict:
        cmd += ["-W", "--keep-going", "--all"]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=source)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The whole book, built strictly once per session into a temporary folder.

    Returns the folder holding ``_build/html`` and ``_build/jupyter_execute``.
    ``DLCOURSE_BUILT_BOOK`` names an existing build to reuse instead.
    """
    reuse = os.environ.get("DLCOURSE_BUILT_BOOK")
    if reuse:
        return Path(reuse)
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    proc = jupyter_book_build(ROOT, out)
    elapsed = time.perf_counter() - start
    log = proc.stdout[-6000:] + "\n" + proc.stderr[-6000:]
    (out / "build.log").write_text(proc.stdout + "\n" + proc.stderr)
    assert proc.returncode == 0, f"strict book build failed ({elapsed:.0f} s):\n{log}"
    print(f"\nstrict book build: {elapsed:.1f} s")
    return out


def _results_from(nb_path: Path) -> dict:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "results" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{nb_path.name}: no cell tagged 'results'"
    text = "".join(
        "".join(o.get("text", ""))
        for o in tagged[-1].get("outputs", [])
        if o.get("output_type") == "stream"
    )
    lines = [line for line in text.splitlines() if line.strip().startswith("{")]
    assert lines, f"{nb_path.name}: the results cell printed no JSON line:\n{text[:500]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def executed_chapter(request):
    """A function: chapter stem -> path of its executed notebook."""

    def find(stem: str) -> Path:
        folder = os.environ.get("DLCOURSE_EXECUTED_DIR")
        if folder:
            path = Path(folder) / f"{stem}.ipynb"
        else:
            book = request.getfixturevalue("built_book")
            path = book / "_build" / "jupyter_execute" / "chapters" / f"{stem}.ipynb"
        assert path.exists(), f"no executed notebook at {path}"
        return path

    return find


@pytest.fixture(scope="session")
def chapter_results(executed_chapter):
    """A function: chapter stem -> the results dict its last cell printed."""
    cache: dict[str, dict] = {}

    def get(stem: str) -> dict:
        if stem not in cache:
            cache[stem] = _results_from(executed_chapter(stem))
        return cache[stem]

    return get


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


@pytest.fixture
def chromium() -> str | None:
    """Path of a headless-capable Chromium, or a skip (a failure when DLCOURSE_REQUIRE_BROWSER=1)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed (apt-get install chromium)"
    if os.environ.get("DLCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " and DLCOURSE_REQUIRE_BROWSER=1")
    pytest.skip(message)

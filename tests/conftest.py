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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _book_module():
    """``book/build.py``, the one place the book's build command is written."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BOOK = _book_module()


def jupyter_book_build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """Build the book at ``source`` into ``out`` strictly, the way ``make book`` does."""
    return BOOK.build(source, out, capture=True)


_BUILD_FAILURE: list[str] = []


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The whole book, built strictly once per session into a temporary folder.

    Returns the folder holding ``_build/html`` and ``_build/jupyter_execute``.
    ``DLCOURSE_BUILT_BOOK`` names an existing build to reuse instead.
    """
    reuse = os.environ.get("DLCOURSE_BUILT_BOOK")
    if reuse:
        return Path(reuse)
    if _BUILD_FAILURE:  # pytest calls a failed session fixture again for every test: build once
        pytest.fail(_BUILD_FAILURE[0])
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    proc = jupyter_book_build(ROOT, out)
    elapsed = time.perf_counter() - start
    (out / "build.log").write_text(proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        lines = [
            ln for ln in (proc.stdout + proc.stderr).splitlines() if "Kernel is running over TCP" not in ln
        ]
        _BUILD_FAILURE.append(
            f"strict book build failed ({elapsed:.0f} s), log in {out / 'build.log'}:\n"
            + "\n".join(lines[-80:])
        )
        pytest.fail(_BUILD_FAILURE[0])
    print(f"\nstrict book build: {elapsed:.1f} s")
    return out


def _results_from(nb_path: Path) -> dict:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "results" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{nb_path.name}: no cell tagged 'results'"
    text = "".join(
        "".join(o.get("text", "")) for o in tagged[-1].get("outputs", []) if o.get("output_type") == "stream"
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


_BOOK_FIXTURES = {"built_book", "executed_chapter", "chapter_results"}


def pytest_collection_modifyitems(config, items):
    """Tests that read the strict book build are ``slow`` (``make test-fast`` leaves them out);
    ``gpu`` tests are skipped without CUDA."""
    skip = None if torch.cuda.is_available() else pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if _BOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if skip is not None and item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def fail_or_skip(message: str, require: str = "DLCOURSE_REQUIRE_BROWSER") -> NoReturn:
    """Skip the test, or fail it when the environment variable ``require`` is 1 (as CI sets it)."""
    if os.environ.get(require) == "1":
        pytest.fail(f"{message} and {require}=1")
    pytest.skip(message)


def find_chromium(require: str = "DLCOURSE_REQUIRE_BROWSER") -> str:
    """Path of a headless-capable Chromium, or :func:`fail_or_skip`."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail_or_skip("Chromium is not installed (apt-get install chromium)", require)


def require_playwright(require: str = "DLCOURSE_REQUIRE_BROWSER") -> None:
    """:func:`fail_or_skip` unless Playwright for Python can be imported."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        fail_or_skip("Playwright for Python is not installed (pip install playwright)", require)


@contextmanager
def headless_chromium(args: list[str], require: str = "DLCOURSE_REQUIRE_BROWSER") -> Iterator:
    """A Playwright ``Browser``: Chromium started headless with ``args``, closed on exit.

    The one way the browser tests start Chromium (each module keeps one for its tests)."""
    executable = find_chromium(require)
    require_playwright(require)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chromium() -> str:
    """Path of a headless-capable Chromium, or a skip (a failure when DLCOURSE_REQUIRE_BROWSER=1)."""
    return find_chromium()

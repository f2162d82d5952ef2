"""The chapters in JupyterLab, as a learner opens them with ``make lab``: the course environment's
JupyterLab (with jupyterlab-myst) on a loopback port, the chapters trusted as ``make lab`` trusts
them, driven by Playwright in headless Chromium.

Each chapter is opened for reading (not run) and checked for: MyST rendered by jupyterlab-myst, no
raw markup (role or directive names, ``:option:`` lines, fences, unresolved citations or
references, links that show a file name, cells that render empty), and every solution folded until
its dropdown is opened. A small notebook with a live widget (anywidget, native inputs) and a
matplotlib widget (ipywidgets) is run to check that their sliders take the arrow keys and their
checkboxes the space bar, and that the notebook's cursor stays where it was.

Screenshots of chapter 2's first solution and of its first solution with code (the code folded
under a comment line, the answer in a dropdown), each folded and opened, are kept in the folder named by
``DLCOURSE_ARTIFACTS`` (``lab/`` under it) or else under pytest's temporary folder
(``.../pytest-of-$USER/pytest-current/lab-screenshots0/``); the test prints where.
``DLCOURSE_LAB_CHAPTERS`` names another folder of chapter notebooks to check (for example copies
rewritten by ``book/myst_compat``; run with ``--runxfail`` then).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS, ROOT, headless_chromium
from test_myst_compat import pending

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOT_CHAPTER = "02_optimizers"  # the chapter whose first solution is photographed
START_S = 120  # JupyterLab's start on a busy two-core machine
SETTINGS = {
    # Every cell rendered at once (the default renders cells as they scroll into view). The course's
    # own settings (binder/overrides.json: no news pop-up) come from the environment, as in make lab.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
OVERRIDES = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
WIDGETS = """\
from dlcourse.live import live_momentum_valley
from dlcourse.widgets import momentum_valley
from IPython.display import display
display(live_momentum_valley())
display(momentum_valley())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str  # the server's address
    root: Path  # the folder it serves: chapters/, book/ and widgets.ipynb


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(["--no-sandbox", "--disable-gpu"]) as b:
        yield b


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab of the course environment serving copies of the chapters and book pages; its URL."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip("no jupyter in the course environment (make setup)")
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    source = Path(os.environ.get("DLCOURSE_LAB_CHAPTERS", ROOT / "chapters"))
    shutil.copytree(source, root / "chapters", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("_*", "downloads"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Widgets"), nbformat.v4.new_code_cell(WIDGETS)]
    nbformat.write(nb, root / "widgets.ipynb")
    for name, value in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(value))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),  # the environment's config only, not the user's
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PATH=f"{jupyter.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    # What `make lab` does: trust the chapters, then serve.
    subprocess.run(
        [str(jupyter), "trust", *map(str, sorted((root / "chapters").glob("*.ipynb")))],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = (home / "server.log").open("w")
    cmd = [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"]
    cmd += ["--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password="]
    cmd += [f"--ServerApp.root_dir={root}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield Lab(url, root)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def open_notebook(browser, lab, path: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(15_000)
    page.goto(f"{lab.url}/lab/tree/{path}?reset")  # ?reset: only this notebook open, no earlier tabs
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    return page


# The report of one chapter's rendered markdown cells (run in the page). Math (KaTeX), icons and
# code are left out of the text searched for markup: TeX braces and code are not markup.
RAW_MARKUP_JS = """(pages) => [...document.querySelectorAll('.jp-Notebook .jp-MarkdownCell')].map((cell) => {
  const myst = cell.querySelector('.myst');
  if (!myst) return ['not rendered by jupyterlab-myst: ' + cell.innerText.slice(0, 80)];
  const problems = [];
  const clone = myst.cloneNode(true);
  clone.querySelectorAll('.katex, .math, mjx-container, svg, pre, code').forEach((n) => n.remove());
  const text = clone.textContent;
  for (const m of text.matchAll(/\\{[a-z][\\w:-]*\\}/g)) problems.push('role or directive name ' + m[0]);
  for (const m of text.matchAll(/(^|\\n)\\s*:[a-z-]+:/g)) problems.push('option line ' + m[0].trim());
  if (/```|:::/.test(text)) problems.push('a directive fence');
  if (/Unknown (Directive|Role)/.test(text)) problems.push(text.match(/\\S+ - Unknown (Directive|Role)/)[0]);
  myst.querySelectorAll('[title$="Not Found"]').forEach((n) => problems.push(n.title + ': ' + n.textContent));
  myst.querySelectorAll('a').forEach((a) => {
    if (pages.includes(a.textContent.trim())) problems.push('a link that shows a file name: ' + a.textContent);
  });
  if (!myst.textContent.trim()) problems.push('renders empty');
  return problems;
})"""

# Every folded solution of the page: is anything but its title visible? (run in the page)
SOLUTIONS_JS = """() => [...document.querySelectorAll('.jp-MarkdownCell .myst details')]
  .filter((d) => /^\\s*Solution/.test(d.querySelector('summary').textContent))
  .map((d) => {
    const body = [...d.children].filter((c) => c.tagName !== 'SUMMARY');
    return {open: d.open, visible: body.some((c) => c.checkVisibility()),
            extra: d.innerText.replace(d.querySelector('summary').innerText, '').trim().length,
            body: body.map((c) => c.textContent).join(' ').trim().length};
  })"""


# Each cell of the page: a code cell? its input folded (JupyterLab's placeholder in its place)?
CELLS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c) => {
  const editor = c.querySelector('.jp-InputArea-editor'), folded = c.querySelector('.jp-InputPlaceholder');
  return {code: c.classList.contains('jp-CodeCell'), preview: folded ? folded.innerText.trim() : null,
          folded: !!folded && !(editor && editor.checkVisibility())};
})"""


def _solution_count(stem: str, root: Path) -> int:
    nb = nbformat.read(root / "chapters" / f"{stem}.ipynb", as_version=4)
    fences = re.compile(r"^(`{3,}|:{3,})\{solution(-start)?\}", re.M)
    return sum(len(fences.findall(c.source)) for c in nb.cells if c.cell_type == "markdown")


def _markdown_count(stem: str, root: Path) -> int:
    nb = nbformat.read(root / "chapters" / f"{stem}.ipynb", as_version=4)
    return sum(c.cell_type == "markdown" for c in nb.cells)


def _folded_code(stem: str, root: Path) -> list[int]:
    """The code cells stored folded: a solution's code (book/myst_compat folds it)."""
    nb = nbformat.read(root / "chapters" / f"{stem}.ipynb", as_version=4)
    return [i for i, c in enumerate(nb.cells) if c.metadata.get("jupyter", {}).get("source_hidden")]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("DLCOURSE_ARTIFACTS")
    path = Path(folder) / "lab" if folder else tmp_path_factory.mktemp("lab-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _region(page, first: int, last: int) -> dict:
    """The page area of cells ``first`` to ``last`` (as far as the window shows)."""
    return page.evaluate(
        """([a, b]) => { const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
                         const r = cells[a].getBoundingClientRect(), s = cells[b].getBoundingClientRect();
                         const top = Math.max(0, r.top - 4);
                         return {x: r.left, y: top, width: r.width,
                                 height: Math.min(window.innerHeight, s.bottom + 4) - top}; }""",
        [first, last],
    )


def _exercise_box(details) -> dict:
    """The page area of a solution (a ``details``) and the exercise just above it."""
    return details.evaluate(
        """(d) => { const a = d.previousElementSibling || d, r = a.getBoundingClientRect(),
                     s = d.getBoundingClientRect(), top = Math.max(0, Math.min(r.top, s.top) - 8);
                     return {x: Math.min(r.left, s.left) - 8, y: top,
                             width: Math.max(r.right, s.right) - Math.min(r.left, s.left) + 16,
                             height: Math.max(r.bottom, s.bottom) - top + 8}; }"""
    )


@pytest.fixture(scope="module")
def chapter_view(browser, lab, shots):
    """stem -> what the chapter showed in JupyterLab: the raw-markup report of each markdown cell
    and, for each solution, its state before and after a click on its title. Each chapter is
    opened once."""
    cache: dict[str, dict] = {}
    pages = CHAPTERS + [f"{s}.ipynb" for s in CHAPTERS]
    pages += ["../book/" + p.stem for p in (ROOT / "book").glob("*.md")]

    def view(stem: str) -> dict:
        if stem in cache:
            return cache[stem]
        page = open_notebook(browser, lab, f"chapters/{stem}.ipynb")
        try:
            n = _markdown_count(stem, lab.root)
            page.wait_for_function(
                "(n) => document.querySelectorAll('.jp-MarkdownCell .myst').length >= n",
                arg=n,
                timeout=60_000,
            )
            page.wait_for_timeout(500)  # math and cross-references settle
            raw = page.evaluate(RAW_MARKUP_JS, pages)
            before = page.evaluate(SOLUTIONS_JS)
            cells_before = page.evaluate(CELLS_JS)
            gated = _folded_code(stem, lab.root)
            region = (
                (
                    gated[0] - 1,
                    next(i for i in range(gated[0], len(cells_before)) if not cells_before[i]["code"]),
                )
                if gated and stem == SHOT_CHAPTER
                else None
            )
            if region:
                page.locator(".jp-Notebook .jp-Cell").nth(region[0]).evaluate("(c) => c.scrollIntoView()")
                page.screenshot(
                    path=str(shots / f"{stem}-code-solution-folded.png"), clip=_region(page, *region)
                )
            summaries = page.locator(".jp-MarkdownCell .myst details > summary", has_text="Solution")
            first = (
                summaries.first.locator("xpath=..") if stem == SHOT_CHAPTER and summaries.count() else None
            )
            if first is not None:
                first.evaluate("(d) => d.previousElementSibling.scrollIntoView()")
                page.screenshot(path=str(shots / f"{stem}-solution-folded.png"), clip=_exercise_box(first))
            for i in range(summaries.count()):
                summaries.nth(i).click()
            placeholders = page.locator(".jp-Notebook .jp-Cell .jp-InputPlaceholder")
            for _ in range(placeholders.count()):
                placeholders.first.click()  # the cell unfolds: its placeholder goes
            page.wait_for_timeout(300)
            after = page.evaluate(SOLUTIONS_JS)
            cells_after = page.evaluate(CELLS_JS)
            if region:
                page.locator(".jp-Notebook .jp-Cell").nth(region[0]).evaluate("(c) => c.scrollIntoView()")
                page.screenshot(
                    path=str(shots / f"{stem}-code-solution-opened.png"), clip=_region(page, *region)
                )
            if first is not None:
                path = shots / f"{stem}-solution-opened.png"
                first.evaluate("(d) => d.previousElementSibling.scrollIntoView()")
                page.screenshot(path=str(path), clip=_exercise_box(first))
                print(f"\nscreenshots of {stem}'s first solution, folded and opened: {shots}")
        finally:
            page.close()
        cache[stem] = {"raw": raw, "before": before, "after": after, "cells": (cells_before, cells_after)}
        return cache[stem]

    return view


@pytest.mark.parametrize("stem", [pending(s) for s in CHAPTERS])
def test_no_raw_myst_markup(chapter_view, stem):
    """Roles, directives and references render as text a reader can read, none as markup."""
    report = chapter_view(stem)["raw"]
    problems = [f"markdown cell {i}: {p}" for i, cell in enumerate(report) for p in cell]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_solutions_are_folded_until_opened(chapter_view, lab, stem):
    view = chapter_view(stem)
    expected = _solution_count(stem, lab.root)
    assert len(view["before"]) == expected, (
        f"{expected} solutions in the source, {len(view['before'])} folded"
    )
    for i, (before, after) in enumerate(zip(view["before"], view["after"])):
        assert before["body"] > 0, f"solution {i} has no text"
        assert not before["open"] and not before["visible"] and before["extra"] == 0, f"solution {i} shows"
        assert after["open"] and after["visible"] and after["extra"] > 0, f"solution {i} did not open"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_solution_code_is_folded_until_opened(chapter_view, lab, stem):
    """The code of a solution (the experiments' solutions compute their answer) shows as a folded
    cell until the learner clicks it; every other code cell shows its code."""
    before, after = chapter_view(stem)["cells"]
    nb = nbformat.read(lab.root / "chapters" / f"{stem}.ipynb", as_version=4)
    assert [c["code"] for c in before] == [c.cell_type == "code" for c in nb.cells], "cells missing"
    assert [i for i, c in enumerate(before) if c["folded"]] == _folded_code(stem, lab.root)
    for i, c in enumerate(before):  # a folded cell shows its first line: a comment, not the code
        assert not c["folded"] or c["preview"] == nb.cells[i].source.split("\n")[0], (i, c["preview"])
        assert not c["folded"] or c["preview"].startswith("#"), (i, c["preview"])
    assert not any(c["folded"] for c in after), "a click did not unfold the code"


def test_a_chapter_opens_unmodified_and_without_pop_ups(browser, lab):
    """Once its kernel has started, a chapter the learner has not touched is not marked modified
    (JupyterLab writes the kernel's name and language into the notebook: the stored ones are the
    course environment's), and no notification (Jupyter news, updates) waits to be clicked away:
    the course environment's settings turn them off (make setup installs binder/overrides.json)."""
    import platform

    assert OVERRIDES.is_file(), f"{OVERRIDES} missing: make setup installs it"
    assert json.loads(OVERRIDES.read_text()) == json.loads((ROOT / "binder" / "overrides.json").read_text())
    stem = CHAPTERS[0]
    page = open_notebook(browser, lab, f"chapters/{stem}.ipynb")
    try:
        status = "() => /Idle/.test(document.querySelector('#jp-main-statusbar').innerText)"
        page.wait_for_function(status, timeout=START_S * 1000)
        page.wait_for_timeout(3000)  # a pop-up or a metadata update would be there by now
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        assert not toasts, f"pop-ups over the page: {toasts}"
        stored = nbformat.read(lab.root / "chapters" / f"{stem}.ipynb", as_version=4).metadata
        if stored["language_info"]["version"] != platform.python_version():
            pytest.skip(f"this Python is {platform.python_version()}, the chapters store another")
        dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
        assert dirty == 0, "the chapter is marked modified before the learner changed anything"
    finally:
        page.close()


def run_first_code_cell(page) -> None:
    """Ctrl+Enter on the first code cell until its prompt shows it ran: a request sent while the
    kernel is still starting can be dropped."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    prompt = "() => !/\\[ \\]/.test(document.querySelector('.jp-CodeCell .jp-InputPrompt').textContent)"
    deadline = time.monotonic() + START_S
    while True:
        page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(prompt, timeout=15_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


ACTIVE_CELL_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
  .findIndex((c) => c.classList.contains('jp-mod-active'))"""
READOUT = ".widget-slider .widget-readout"


def test_widget_controls_take_their_keys(browser, lab, shots):
    """After a click (or Tab) on a slider, the arrow keys move the slider, not the notebook's
    cursor; the space bar toggles a checkbox. Live widget (anywidget) and matplotlib widget
    (ipywidgets) alike; the kernel sees the new values."""
    page = open_notebook(browser, lab, "widgets.ipynb")
    try:
        run_first_code_cell(page)
        live = page.locator(".dlc-live input[type=range]").first
        live.wait_for(timeout=120_000)
        handle = page.locator(".widget-slider .noUi-handle").first
        handle.wait_for(timeout=120_000)
        active = ACTIVE_CELL_JS

        # the live widget: a native range input
        live.focus()  # as a click or Tab leaves it; the notebook's active cell is now the widget's
        cell = page.evaluate(active)
        v0, step = float(live.input_value()), float(live.get_attribute("step"))
        name = live.get_attribute("data-trait")
        for key in ("ArrowRight", "ArrowRight", "ArrowUp", "ArrowLeft"):
            page.keyboard.press(key)
        assert float(live.input_value()) == pytest.approx(v0 + 2 * step), (
            "the arrow keys did not move the slider"
        )
        params = json.loads(page.locator(".dlc-live").first.get_attribute("data-params"))
        assert params[name] == pytest.approx(v0 + 2 * step), "the widget did not redraw for the new value"
        page.keyboard.press("Home")
        assert float(live.input_value()) == pytest.approx(float(live.get_attribute("min")))
        assert page.evaluate("() => document.activeElement.tagName") == "INPUT"
        assert page.evaluate(active) == cell, "the keys moved the notebook's cursor"
        box = page.locator(".dlc-live input[type=checkbox]").first
        box.focus()
        checked = box.is_checked()
        page.keyboard.press("Space")
        assert box.is_checked() != checked

        # the matplotlib widget: ipywidgets (noUiSlider) sliders; Python redraws the PNG
        readout = page.locator(READOUT).first
        image = page.locator(".widget-image").first
        r0, src0 = float(readout.inner_text()), image.get_attribute("src")
        handle.focus()
        cell = page.evaluate(active)
        for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft"):
            page.keyboard.press(key)
        page.wait_for_function(
            f"(r0) => Number(document.querySelector('{READOUT}').innerText) !== r0", arg=r0
        )
        assert float(readout.inner_text()) > r0, "the arrow keys did not move the ipywidgets slider"
        page.wait_for_function(
            "(src) => document.querySelector('.widget-image').getAttribute('src') !== src",
            arg=src0,
            timeout=30_000,
        )
        assert page.evaluate(active) == cell, "the keys moved the notebook's cursor"
        toggle = page.locator(".widget-checkbox input[type=checkbox]").first
        toggle.focus()
        checked = toggle.is_checked()
        page.keyboard.press("Space")
        assert toggle.is_checked() != checked
    except BaseException:
        page.screenshot(path=str(shots / "widgets-failure.png"))
        print(f"\nscreenshot of the failure: {shots / 'widgets-failure.png'}")
        raise
    finally:
        page.close()

"""The website's accessibility: an axe-core audit (WCAG 2 A and AA rules) of every built page, and
the live widgets' controls operated from the keyboard on the static page.

axe-core comes from npm like the other web assets (``make assets`` installs it, pinned in the
Makefile, into ``.make/npm``; it is never copied into the site). The pages are loaded from
``file://`` in headless Chromium with no network, after their scripts ran (MathJax, the widgets).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE = ROOT / ".make" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa"]  # WCAG 2 level A and AA success criteria (axe's rule tags)
# After "load": MathJax has typeset and the widget manager has rendered the page's widgets.
SETTLED_JS = """async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const views = 'script[type="application/vnd.jupyter.widget-view+json"]';
  for (let i = 0; i < 100 && document.querySelector(views) && !document.querySelector('.jupyter-widgets'); i++)
    await new Promise((r) => setTimeout(r, 100));
}"""


def _fail_or_skip(message: str):
    if os.environ.get("DLCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " and DLCOURSE_REQUIRE_BROWSER=1")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    chromium = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if chromium is None:
        _fail_or_skip("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--allow-file-access-from-files",
                "--host-resolver-rules=MAP * ~NOTFOUND",
            ],
        )
        yield b
        b.close()


def site_pages(html: Path) -> list[Path]:
    """Every page of the built site (not the theme's template fragments under _static)."""
    return sorted(
        p for p in html.rglob("*.html") if not {"_static", "_sources"} & set(p.relative_to(html).parts)
    )


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate(SETTLED_JS)
    return page


def test_every_page_passes_the_accessibility_audit(built_book, browser):
    if not AXE.exists():
        _fail_or_skip(f"axe-core is not installed ({AXE} missing: make assets, which needs npm)")
    html = built_book / "_build" / "html"
    pages = site_pages(html)
    assert len(pages) >= 15, [p.name for p in pages]
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for path in pages:
        page = open_page(browser, path)
        try:
            page.add_script_tag(content=script)
            violations = page.evaluate(
                """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}))
                     .violations.map((v) => ({rule: v.id, help: v.help, nodes: v.nodes.length,
                                              first: v.nodes[0].html.slice(0, 160)}))""",
                TAGS,
            )
        finally:
            page.close()
        if violations:
            found[str(path.relative_to(html))] = violations
    assert not found, "axe-core (WCAG 2 A/AA) found:\n" + json.dumps(found, indent=1, ensure_ascii=False)


def test_the_bibliography_is_a_list_of_entries(built_book):
    """The markup the audit passes: list items, no deprecated DPUB role (book/_ext)."""
    text = (built_book / "_build" / "html" / "book" / "bibliography.html").read_text(encoding="utf-8")
    assert 'role="doc-biblioentry"' not in text
    assert text.count('role="listitem"') >= 40
    assert text.count('<div role="list" class="citation-list">') == 1


def test_live_controls_take_their_keys_on_the_page(built_book, browser):
    """On the static page (no kernel, no JupyterLab) a focused live slider moves with the arrow keys
    and redraws; a checkbox toggles with the space bar, as any web control does."""
    page = open_page(browser, built_book / "_build" / "html" / "chapters" / "02_optimizers.html")
    try:
        page.wait_for_selector(".dlc-live input[type=range]", timeout=30_000)
        widget = page.locator(".dlc-live").first
        slider = widget.locator("input[type=range]").first
        slider.focus()
        v0, step, draws = (
            float(slider.input_value()),
            float(slider.get_attribute("step")),
            widget.get_attribute("data-draws"),
        )
        for key in ("ArrowRight", "ArrowRight", "ArrowUp", "ArrowLeft"):
            page.keyboard.press(key)
        assert float(slider.input_value()) == pytest.approx(v0 + 2 * step)
        assert widget.get_attribute("data-draws") != draws, "the figure was not redrawn"
        page.keyboard.press("End")
        assert float(slider.input_value()) == pytest.approx(float(slider.get_attribute("max")))
        box = widget.locator("input[type=checkbox]").first
        box.focus()
        checked = box.is_checked()
        page.keyboard.press("Space")
        assert box.is_checked() != checked
        assert page.url.endswith("02_optimizers.html"), "a key press navigated away"
    finally:
        page.close()

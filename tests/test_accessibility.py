"""The website's accessibility: an axe-core audit (WCAG 2 A and AA rules) of every built page, and
the live widgets' controls operated from the keyboard on the static page.

axe-core comes from npm like the other web assets (``make assets`` installs it, pinned in the
Makefile, into ``.make/npm``; it is never copied into the site). The pages are loaded from
``file://`` in headless Chromium with no network, after their scripts ran (MathJax, the widgets).
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, fail_or_skip, find_chromium, headless_chromium, require_playwright

pytestmark = [pytest.mark.slow, pytest.mark.browser]

AXE = ROOT / ".make" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.I)
TAGS = ["wcag2a", "wcag2aa"]  # WCAG 2 level A and AA success criteria (axe's rule tags)
# After "load": MathJax has typeset and the widget manager has rendered the page's widgets.
SETTLED_JS = """async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const views = 'script[type="application/vnd.jupyter.widget-view+json"]';
  for (let i = 0; i < 100 && document.querySelector(views) && !document.querySelector('.jupyter-widgets'); i++)
    await new Promise((r) => setTimeout(r, 100));
}"""


ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--allow-file-access-from-files",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(ARGS) as b:
        yield b


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


AXE_RUN_JS = """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                   resultTypes: ['violations']}))
  .violations.map((v) => ({rule: v.id, help: v.help, nodes: v.nodes.length, first: v.nodes[0].html.slice(0, 160)}))"""
# A formula MathJax could not typeset reads "Math input error" (and fails contrast).
MATH_ERRORS_JS = """() => Array.from(document.querySelectorAll('mjx-merror')).map((e) => ({
  rule: 'mathjax-error', help: e.getAttribute('data-mjx-error')}))"""
AT_ONCE = 3  # pages audited at once: about twice as fast as one by one on two cores


async def _audit(chromium: str, pages: list[Path], script: str) -> list[list[dict]]:
    """axe's violations on each page, a few pages at once (Playwright's async API)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
        slots = asyncio.Semaphore(AT_ONCE)

        async def one(path: Path) -> list[dict]:
            async with slots:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                try:
                    await page.goto(path.as_uri(), wait_until="load")
                    await page.evaluate(SETTLED_JS)
                    await page.add_script_tag(content=script)
                    return await page.evaluate(AXE_RUN_JS, TAGS) + await page.evaluate(MATH_ERRORS_JS)
                finally:
                    await page.close()

        try:
            return await asyncio.gather(*map(one, pages))
        finally:
            await browser.close()


def test_every_page_passes_the_accessibility_audit(built_book):
    chromium = find_chromium()
    require_playwright()
    if not AXE.exists():
        fail_or_skip(f"axe-core is not installed ({AXE} missing: make assets, which needs npm)")
    html = built_book / "_build" / "html"
    pages = site_pages(html)
    assert len(pages) >= 15, [p.name for p in pages]
    audited = []
    for path in pages:
        redirect = REDIRECT.search(path.read_text(encoding="utf-8"))
        if redirect:  # the site's index.html: a blank page that moves on at once to the book's first
            assert (path.parent / redirect[1]).resolve() in pages, redirect[1]
        else:
            audited.append(path)
    script = AXE.read_text(encoding="utf-8")
    # In a thread of its own: the async API needs an event loop that no other test holds.
    with ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, _audit(chromium, audited, script)).result()
    found = {str(p.relative_to(html)): v for p, v in zip(audited, results) if v}
    assert not found, "axe-core (WCAG 2 A/AA) and MathJax found:\n" + json.dumps(
        found, indent=1, ensure_ascii=False
    )


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

"""Nothing a student wrote reaches a browser as live markup (dlcourse.grading.sanitize), checked on
the HTML itself. The same payloads are checked in a real browser, on the Formgrader's page and a
feedback page, by tests/test_grading.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from dlcourse.grading import sanitize

PAYLOADS = [
    '<img src=x onerror="window.top.__pwned=1">',
    "<script>window.top.__pwned=1</script>",
    "[click](javascript:window.top.__pwned=1)",
    '<svg onload="window.top.__pwned=1"><circle r="1" /></svg>',
    "<iframe srcdoc='<script>parent.__pwned=1</script>'></iframe>",
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
    '<details open ontoggle="window.top.__pwned=1">x</details>',
    "<style>body{display:none}</style><meta http-equiv=refresh content=0;url=http://example.org>",
    "<form action=http://example.org><button formaction=javascript:alert(1)>b</button></form>",
    "<object data=javascript:alert(1)></object><embed src=x><base href=http://example.org/>",
]
LIVE = re.compile(
    r"<(script|iframe|object|embed|style|meta|base|form|svg)\b|\bon[a-z]+\s*=|javascript:|data:text", re.I
)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(
                ("javascript:", "data:text")
            ):
                self.found.append(f"{tag} {name}={value}")
        if tag in ("script", "iframe", "object", "embed", "style", "meta", "base", "form", "svg"):
            self.found.append(tag)


def _live(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.found


def _render(source: str) -> str:
    renderer = IPythonRenderer(
        escape=False, attachments={}, embed_images=False, anchor_link_text="", exclude_anchor_links=True
    )
    return MarkdownWithMath(renderer=renderer).render(source)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_is_stored_as_clean_html_that_renders_as_itself(payload):
    source = f"My answer: $a < b$ and **bold**.\n\n{payload}\n\n```python\nif a < b:\n\n    pass\n```\n"
    stored = sanitize.markdown_cell({"source": source}, [10**6])
    assert _live(stored) == [], stored
    again = _render(stored)
    assert again.strip() == stored.strip(), "a markdown renderer passes the stored block through unchanged"
    assert "<strong>bold</strong>" in stored and "$a &lt; b$" in stored and "if" in stored
    assert _live(_render(source)), "the payload is live without the sanitizer: the test can fail"


def test_math_keeps_its_angle_brackets_as_text():
    stored = sanitize.markdown_cell({"source": "$x<img src=x onerror=alert(1)>y$ and $$a<b$$"}, [10**6])
    assert _live(stored) == [] and "$x&lt;img" in stored and "$$a&lt;b$$" in stored


def test_attachments_are_inlined_when_they_are_small_images_only():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    cell = {
        "source": "![ok](attachment:a.png) ![svg](attachment:b.svg) ![big](attachment:c.png)",
        "attachments": {
            "a.png": {"image/png": png},
            "b.svg": {"image/svg+xml": "<svg onload=alert(1)></svg>"},
            "c.png": {"image/png": "A" * 5000},
        },
    }
    budget = [1000]
    stored = sanitize.markdown_cell(cell, budget)
    assert f"data:image/png;base64,{png}" in stored
    assert "svg" not in stored.lower().replace('alt="svg"', "") and "AAAAAAAAAA" not in stored
    assert budget[0] == 1000 - len(png)


def test_outputs_keep_text_images_and_errors_and_nothing_live():
    raw = [
        {"output_type": "stream", "name": "stdout", "text": "<script>x</script> printed"},
        {
            "output_type": "display_data",
            "data": {"text/html": "<b onclick=x>hi</b><script>x</script>", "text/plain": "hi"},
        },
        {"output_type": "display_data", "data": {"application/javascript": "window.__pwned=1"}},
        {
            "output_type": "display_data",
            "data": {"image/svg+xml": "<svg onload=alert(1)/>", "text/plain": "<Figure>"},
        },
        {"output_type": "display_data", "data": {"text/markdown": "<img src=x onerror=alert(1)> *md*"}},
        {
            "output_type": "execute_result",
            "data": {"text/latex": "$x</div><script>alert(1)</script>$"},
            "execution_count": 3,
        },
        {
            "output_type": "display_data",
            "data": {"image/png": "iVBORw0KGgo="},
            "metadata": {"image/png": {"width": "1 onerror=x", "height": 20}},
        },
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["line", 3]},
        {"output_type": "weird"},
        "not a dict",
    ]
    out = sanitize.outputs(raw, [10**6])
    kinds = [o["output_type"] for o in out]
    assert kinds == [
        "stream",
        "display_data",
        "display_data",
        "display_data",
        "display_data",
        "execute_result",
        "display_data",
        "error",
    ]
    assert out[1]["data"]["text/html"] == "<b>hi</b>"
    assert out[2]["data"] == {"text/plain": "[output of type application/javascript removed by the grader]"}
    assert out[3]["data"] == {"text/plain": "<Figure>"}
    assert _live(out[4]["data"]["text/html"]) == [] and "<em>md</em>" in out[4]["data"]["text/html"]
    assert "<script>" not in out[5]["data"]["text/latex"]
    assert out[6]["metadata"] == {"image/png": {"height": 20}}
    assert out[7]["traceback"] == ["line", ""]
    for o in out:
        for value in o.get("data", {}).values():
            assert not LIVE.search(value) or value.startswith("<"), value  # plain text is escaped by the page

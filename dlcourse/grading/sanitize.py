"""Nothing a student wrote reaches a browser as live markup: markdown, raw cells and outputs, cleaned.

The Formgrader renders a submission inside the instructor's Jupyter server, and feedback pages
are opened by students: a script in either could act with the viewer's session. Every notebook
the grader writes for them (the autograded copy, and the feedback made from it) is therefore built
from cleaned parts, with ``nh3`` (the Ammonia HTML sanitizer) and an allow-list:

- a student's markdown cell is rendered the way nbconvert renders it (math kept for MathJax,
  attachments inlined as images), the HTML cleaned, and stored as ONE HTML block that a markdown
  renderer passes through unchanged (:func:`markdown_cell`);
- a raw cell's text is cleaned (:func:`raw_cell`);
- outputs are rebuilt from known fields only (:func:`outputs`): text, cleaned HTML (markdown
  rendered and cleaned), LaTeX escaped, PNG/JPEG/GIF images within a byte budget, errors; SVG,
  JavaScript, widgets and any other type are replaced by a line saying so; output metadata other
  than an image's numeric size is dropped.

Scripts, event handlers, ``style``, frames, forms, and ``javascript:`` or ``data:`` URLs (but
inline PNG/JPEG/GIF images) never survive.
"""

from __future__ import annotations

import html
import re

import nh3

__all__ = ["clean_html", "markdown_cell", "raw_cell", "outputs", "IMAGE_TYPES", "WRAPPER_CLASS"]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
WRAPPER_CLASS = "dlcourse-sanitized"
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"class", "lang", "title"}
_DATA_IMAGES = tuple(f"data:{kind};base64," for kind in IMAGE_TYPES)


def _attribute(tag: str, attr: str, value: str):
    if value.strip().lower().startswith("data:"):
        return value if tag == "img" and attr == "src" and value.startswith(_DATA_IMAGES) else None
    return value


def clean_html(text: str) -> str:
    """``text`` with everything not on the allow-list removed (tags, attributes, URL schemes)."""
    return nh3.clean(
        text,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_attribute,
        strip_comments=True,
    )


def _renderer(attachments: dict):
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class _Renderer(IPythonRenderer):
        def _embed_image_or_attachment(self, src: str) -> str:
            if src.startswith("attachment:"):
                return attachments.get(src[len("attachment:") :], "")
            return src

    renderer = _Renderer(escape=False, embed_images=False, anchor_link_text="", exclude_anchor_links=True)
    return MarkdownWithMath(renderer=renderer)


def _one_block(clean: str) -> str:
    """Clean HTML as a single markdown HTML block: no blank line may end it early (a blank line
    inside ``<pre>`` becomes an empty span, which renders the same)."""
    lines = [line if line.strip() else "<span></span>" for line in clean.strip("\n").split("\n")]
    return f'<div class="{WRAPPER_CLASS}">\n' + "\n".join(lines) + "\n</div>"


def _attachments(cell: dict, budget: list[int]) -> dict[str, str]:
    found = {}
    raw = cell.get("attachments")
    for name, bundle in raw.items() if isinstance(raw, dict) else ():
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        for kind in IMAGE_TYPES:
            data = bundle.get(kind)
            if isinstance(data, list):
                data = "".join(x for x in data if isinstance(x, str))
            if isinstance(data, str) and _BASE64.fullmatch(data) and len(data) <= budget[0]:
                budget[0] -= len(data)
                found[name] = f"data:{kind};base64,{''.join(data.split())}"
                break
    return found


def markdown_cell(cell: dict, budget: list[int]) -> str:
    """The cleaned source for a student's markdown cell (``budget``: image bytes left, updated)."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    rendered = _renderer(_attachments(cell, budget)).render(source)
    return _one_block(clean_html(rendered))


def raw_cell(source: str) -> str:
    return clean_html(source)


def _text(value) -> str:
    if isinstance(value, list):
        value = "".join(x for x in value if isinstance(x, str))
    return value if isinstance(value, str) else ""


def _bundle(data: dict, budget: list[int]) -> tuple[dict, list[str]]:
    kept, dropped = {}, []
    for mime, value in data.items():
        text = _text(value)
        if mime == "text/plain":
            kept[mime] = text
        elif mime == "text/html":
            kept[mime] = clean_html(text)
        elif mime == "text/markdown":
            kept.setdefault("text/html", clean_html(_renderer({}).render(text)))
        elif mime == "text/latex":
            kept[mime] = html.escape(text)
        elif mime in IMAGE_TYPES and _BASE64.fullmatch(text) and len(text) <= budget[0]:
            budget[0] -= len(text)
            kept[mime] = text
        else:
            dropped.append(mime)
    return kept, dropped


def _size(metadata, mime: str) -> dict:
    if not isinstance(metadata, dict) or not isinstance(metadata.get(mime), dict):
        return {}
    return {k: v for k, v in metadata[mime].items() if k in ("width", "height") and type(v) is int}


def outputs(raw, budget: list[int]) -> list[dict]:
    """Notebook outputs rebuilt from ``raw`` (what the student's process sent), known fields only."""
    safe: list[dict] = []
    for out in raw if isinstance(raw, list) else []:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
            safe.append({"output_type": "stream", "name": name, "text": _text(out.get("text"))})
        elif kind in ("display_data", "execute_result"):
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            kept, dropped = _bundle({k: v for k, v in data.items() if isinstance(k, str)}, budget)
            if dropped and "text/plain" not in kept:
                kept["text/plain"] = (
                    f"[output of type {', '.join(sorted(dropped))[:200]} removed by the grader]"
                )
            if not kept:
                continue
            metadata = {
                m: _size(out.get("metadata"), m)
                for m in IMAGE_TYPES
                if m in kept and _size(out.get("metadata"), m)
            }
            item = {"output_type": kind, "data": kept, "metadata": metadata}
            if kind == "execute_result":
                count = out.get("execution_count")
                item["execution_count"] = count if type(count) is int else None
            safe.append(item)
        elif kind == "error":
            trace = out.get("traceback")
            safe.append(
                {
                    "output_type": "error",
                    "ename": _text(out.get("ename"))[:200] or "Error",
                    "evalue": _text(out.get("evalue")),
                    "traceback": [_text(t) for t in trace] if isinstance(trace, list) else [],
                }
            )
    return safe

"""Helpers for the browser checks of the grading pages: XSS payloads, a beacon, the Formgrader.

A payload runs ``window.top.__pwned = 1`` and asks the beacon (an HTTP listener on a loopback
port) for an image: if any student script runs in a page, the beacon hears of it.
"""

from __future__ import annotations

import copy
import html.parser
import http.server
import os
import secrets
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import submissions as S

from dlcourse.grading.cli import formgrader_command
from dlcourse.grading.course import Course


class Beacon:
    """An HTTP listener on 127.0.0.1 that records every request."""

    def __init__(self):
        self.hits: list[str] = []
        beacon = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                beacon.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def js(self, tag: str) -> str:
        return f"window.top.__pwned=1;new Image().src='http://127.0.0.1:{self.port}/{tag}'"

    def close(self) -> None:
        self.server.shutdown()


def xss_notebook(nb: dict, beacon: Beacon) -> dict:
    """``nb`` (a solved submission) with payloads everywhere a student can write."""
    nb = copy.deepcopy(nb)
    js = beacon.js
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "markdown":
            cell["source"] = (
                f'My XSS answer: $a < b$.\n\n<img src=x onerror="{js("md-img")}">\n\n<script>{js("md-script")}</script>\n\n'
                f'[click me](javascript:{js("md-link")})\n\n<svg onload="{js("md-svg")}"><circle r="1"/></svg>\n'
            )
            cell["attachments"] = {"evil.svg": {"image/svg+xml": f'<svg onload="{js("attachment")}"/>'}}
            cell["metadata"]["tags"] = [f'"><img src=x onerror="{js("tag")}">']
    code = (
        "from IPython.display import HTML, SVG, Javascript, Latex, Markdown, display\n"
        f"display(HTML('<img src=x onerror=\"{js('out-html')}\">'))\n"
        f'display(Javascript("{js("out-js")}"))\n'
        f'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("out-svg")}"><circle r="1"/></svg>\'))\n'
        f"display(Markdown('<img src=y onerror=\"{js('out-md')}\"> *md*'))\n"
        f"display(Latex('$x$</div><img src=z onerror=\"{js('out-latex')}\">'))\n"
        f"display({{'text/html': '<script>{js('out-script')}</script>'}}, raw=True)\n"
        f"print('<script>{js('stdout')}</script> printed XSS output')\n"
    )
    nb["cells"].append(
        {
            "cell_type": "code",
            "id": "xss-out",
            "metadata": {},
            "source": code,
            "outputs": [],
            "execution_count": None,
        }
    )
    nb["cells"].append(
        {
            "cell_type": "raw",
            "id": "xss-raw",
            "metadata": {"format": "text/html"},
            "source": f"<script>{js('raw')}</script><b>raw</b>",
        }
    )
    nb["cells"].append(
        {
            "cell_type": "markdown",
            "id": "xss-md",
            "metadata": {},
            "source": f'<iframe srcdoc="<script>{js("iframe")}</script>"></iframe>',
        }
    )
    return nb


_LIVE_TAGS = ("script", "iframe", "object", "embed", "style", "meta", "base", "form", "svg", "link")


def live_markup(text: str) -> list[str]:
    """Tags and attributes of ``text`` (HTML) that could run script or leave the page."""
    found = []

    class Parser(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name.startswith("on") or (value or "").strip().lower().startswith(
                    ("javascript:", "data:text")
                ):
                    found.append(f"<{tag} {name}=...>")
            if tag in _LIVE_TAGS:
                found.append(f"<{tag}>")

    Parser().feed(text)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Formgrader:
    """``make formgrader`` on a loopback port, for one test module."""

    def __init__(self, course: Path, log: Path):
        self.port, self.token = free_port(), secrets.token_hex(16)
        cmd = formgrader_command(Course(course), self.port, "127.0.0.1") + [f"--ServerApp.token={self.token}"]
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(log.parent / "jupyter-config"))
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=course, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5).read()
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError(f"the Formgrader did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.5)

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, 9)


def visit(browser, url: str, wait_s: float = 2.0) -> dict:
    """Open ``url``; what ran: ``pwned`` (the payload's flag), ``dialogs``, and the page's text."""
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load", timeout=60_000)
    page.wait_for_timeout(wait_s * 1000)
    out = {
        "pwned": page.evaluate("() => window.__pwned === 1"),
        "dialogs": dialogs,
        "text": page.inner_text("body"),
        "html": page.content(),
    }
    page.close()
    return out


__all__ = ["Beacon", "Formgrader", "visit", "xss_notebook", "free_port", "live_markup", "S"]

"""A term of the course on JupyterHub, in headless Chromium: the demonstration hub of ``make hub``
(ngshare as the exchange) with an instructor and two students, on loopback only.

The instructor releases ps1 in the Formgrader; student1 fetches it in the Assignment List, puts
in the instructor's answers, validates and submits; student2 fetches and submits it blank; the
instructor collects in the Formgrader, runs the course's ``make autograde`` (sandbox on) and
``make feedback`` in a JupyterLab terminal (refused while written answers are ungraded, then made
with ``ALLOW_PENDING=1``) and releases the feedback in the Formgrader; student1
fetches the feedback and sees the score, without hidden tests. Every server is stopped at the end,
and the test checks that nothing of the hub is left running.

Needs ``make hub-setup`` (the hub's environment, configurable-http-proxy, jupyterhub-singleuser
in the course environment), Chromium and Playwright: without them the test is skipped, unless
``DLCOURSE_REQUIRE_HUB=1`` (set by ``.ci/run``), which makes that a failure.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import socket
import time
import urllib.request

import pytest
from conftest import ROOT, fail_or_skip, headless_chromium
from grading_fixtures import submissions as fixtures

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ASSIGNMENT = "ps1_backprop"
STUDENT, BLANK = "student1", "student2"
INSTRUCTOR = "instructor"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UI_TIMEOUT_MS = 120_000  # one step in the browser (a user's server starting on a busy machine)
COMMAND_TIMEOUT_S = 420  # one make command in the instructor's terminal (autograde of two students)


def _demo_module():
    spec = importlib.util.spec_from_file_location("dlcourse.hub_demo", ROOT / "hub" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo():
    module = _demo_module()
    missing = module.missing_parts()
    if missing:
        fail_or_skip(
            "the hub is not installed (make hub-setup): " + "; ".join(missing), "DLCOURSE_REQUIRE_HUB"
        )
    return module


@pytest.fixture(scope="module")
def browser():
    with headless_chromium(CHROMIUM_ARGS, require="DLCOURSE_REQUIRE_HUB") as b:
        yield b


@pytest.fixture(scope="module")
def hub(demo, browser, tmp_path_factory):
    """The demonstration hub, started in a temporary folder and stopped whatever happens."""
    h = demo.DemoHub(tmp_path_factory.mktemp("hub") / "state")
    try:
        h.start()
    except BaseException:
        h.stop()
        raise
    yield h
    h.stop()


# --- helpers: a user in the browser ------------------------------------------------------------
class User:
    """One user's browser session on the hub."""

    def __init__(self, browser, hub, name: str) -> None:
        self.hub, self.name = hub, name
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.base = f"{hub.url}/user/{name}"
        self.home = hub.state / "home" / name

    def login(self) -> None:
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.name)
        page.fill("#password_input", self.hub.password)
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{self.name}/lab**")
        page.wait_for_selector("#jp-main-dock-panel")

    def _xsrf(self) -> dict:
        token = next(c["value"] for c in self.context.cookies(self.base + "/") if c["name"] == "_xsrf")
        return {"X-XSRFToken": token}

    def api(self, method: str, path: str, data=None) -> dict:
        """A call to this user's Jupyter server with the browser's session (cookies, xsrf)."""
        r = self.page.request.fetch(
            f"{self.base}/api/{path}",
            method=method,
            headers=self._xsrf(),
            data=json.dumps(data) if data is not None else None,
        )
        assert r.ok, f"{method} {path}: HTTP {r.status} {r.text()[:300]}"
        return r.json() if r.text() else {}

    def modal(self, kind: str) -> str:
        """Text of the Formgrader's success modal; fails with the error modal's text."""
        page = self.page
        page.wait_for_selector("#success-modal.in, #error-modal.in")
        if page.locator("#error-modal.in").count():
            pytest.fail(f"the Formgrader reported an error ({kind}): {page.inner_text('#error-modal')}")
        text = page.inner_text("#success-modal")
        page.click("#success-modal button.close")
        page.wait_for_selector("#success-modal", state="detached")
        return text

    def formgrader_click(self, column: str, kind: str) -> str:
        """Click ``column`` (release, collect, release-feedback) of the assignment's row."""
        page = self.page
        page.goto(f"{self.base}/formgrader")
        row = page.locator(f"#main-table tr:has(td.name[data-order='{ASSIGNMENT}'])")
        row.locator(f"td.{column} a").click()
        return self.modal(kind)

    def terminal(self, command: str, name: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        """Type ``command`` into a JupyterLab terminal; wait for it and return its output.

        The command's output and exit status go to files in the home folder (``name.log``,
        ``name.rc``), which the test reads from the disk.
        """
        log, rc = self.home / f"{name}.log", self.home / f"{name}.rc"
        ready = self.home / f"{name}.ready"
        self.page.goto(f"{self.base}/lab?reset")  # a fresh workspace shows the Launcher
        self.page.locator(".jp-LauncherCard", has_text="Terminal").first.click()
        self.page.locator(".jp-Terminal .xterm").first.click()
        deadline = time.monotonic() + 60  # keys typed before the shell is up are lost: probe first
        while not ready.exists():
            assert time.monotonic() < deadline, "the terminal did not take input in 60 s"
            self.page.keyboard.type(f"touch {ready}\n")
            time.sleep(2)
        self.page.keyboard.type(f"{command} > {log} 2>&1; echo $? > {rc}\n")
        deadline = time.monotonic() + timeout
        while not (rc.exists() and rc.read_text().strip()):
            assert time.monotonic() < deadline, f"`{command}` did not finish in {timeout} s"
            time.sleep(1)
        output = log.read_text(errors="replace")
        assert rc.read_text().strip() == "0", f"`{command}` failed:\n{output[-4000:]}"
        return output

    def assignment_list(self):
        """Open the Assignment List (Nbgrader menu) and return its panel."""
        page = self.page
        page.goto(f"{self.base}/lab")
        page.get_by_role("menuitem", name="Nbgrader").click()
        labels = page.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert "Formgrader" not in labels and "Create Assignment" not in labels, labels
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
        panel = page.locator("#nbgrader-assignment-list")
        panel.wait_for()
        return panel


def _hidden_test_lines(source: dict, min_length: int = 12) -> list[str]:
    """Lines between the hidden-test markers of the source notebook (long enough to be telling)."""
    lines, inside = [], False
    for cell in source["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.append(line.strip())
    return lines


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- the term ----------------------------------------------------------------------------------
@pytest.fixture
def users(browser, hub, tmp_path):
    """Make users; on a failure, leave a screenshot of each one's page in ``tmp_path``."""
    made: list[User] = []

    def make(name: str) -> User:
        made.append(User(browser, hub, name))
        return made[-1]

    yield make
    for u in made:
        try:
            u.page.screenshot(path=str(tmp_path / f"{u.name}.png"))
        except Exception:  # noqa: BLE001  the page may be gone; the screenshot is only a help
            pass
        u.context.close()
    print(f"\nlast page of each user: {tmp_path}/*.png; the hub's log: {hub.log_path}")


def test_a_term_on_the_hub(demo, hub, users):
    source = fixtures.load(ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    points = sum(fixtures.test_points(source).values())
    timings = {}
    start = time.monotonic()

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - start, 1)

    teacher = users(INSTRUCTOR)
    teacher.login()
    lap("instructor's server")
    out = teacher.terminal("cd dlcourse && make release A=ps1", "release")
    assert f"released {ASSIGNMENT}" in out and "no solution or hidden-test text found" in out
    released = teacher.formgrader_click("release", "release")
    assert f"Successfully released '{ASSIGNMENT}'" in released
    lap("released")

    student = users(STUDENT)
    student.login()
    # students' servers have no Formgrader (hub/etc/student): not in the menu, not served
    assert student.page.request.get(f"{student.base}/formgrader").status == 404
    panel = student.assignment_list()
    item = panel.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    item.locator("button", has_text="Fetch").click()
    fetched = panel.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    fetched.wait_for()
    notebook = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    as_fetched = student.api("GET", f"contents/{notebook}")["content"]
    student.api(
        "PUT",
        f"contents/{notebook}",
        {"type": "notebook", "format": "json", "content": fixtures.solved(as_fetched, source)},
    )
    lap("student1 fetched and answered")
    panel = student.assignment_list()
    fetched = panel.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    fetched.locator("a", has_text=ASSIGNMENT).first.click()  # unfold: one line per notebook
    fetched_page = student.page
    fetched_page.locator("#fetched_assignments_list button", has_text="Validate").first.click()
    dialog = fetched_page.locator(".validation-success, .validation-failed").first
    dialog.wait_for()
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()
    fetched_page.keyboard.press("Escape")
    panel.locator("#fetched_assignments_list button", has_text="Submit").first.click()
    panel.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
    lap("student1 validated and submitted")

    blank = users(BLANK)
    blank.login()
    panel = blank.assignment_list()
    panel.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT).locator(
        "button", has_text="Fetch"
    ).click()
    panel.locator("#fetched_assignments_list button", has_text="Submit").first.click()
    panel.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
    lap("student2 submitted a blank")

    collected = teacher.formgrader_click("collect", "collect")
    assert f"Successfully collected submissions of '{ASSIGNMENT}'" in collected
    submitted = hub.course / "assignments" / "submitted"
    assert sorted(p.parent.name for p in submitted.glob(f"*/{ASSIGNMENT}")) == [STUDENT, BLANK]
    lap("collected")

    out = teacher.terminal("cd dlcourse && make autograde A=ps1", "autograde")
    sandbox = next(line for line in out.splitlines() if line.startswith("sandbox: isolation"))
    if os.environ.get("DLCOURSE_REQUIRE_SANDBOX") == "1":
        assert sandbox.startswith("sandbox: isolation ON"), sandbox
    with open(hub.course / "assignments" / "reports" / ASSIGNMENT / "latest.csv", newline="") as f:
        report = {row["student"]: row for row in csv.DictReader(f)}
    assert float(report[STUDENT]["score"]) == points and not report[STUDENT]["withheld"], report[STUDENT]
    assert float(report[BLANK]["score"]) == 0, report[BLANK]
    lap("autograded")

    # ps1's written answers are graded by hand: feedback is refused until they are (or until told)
    out = teacher.terminal("cd dlcourse && make feedback A=ps1", "feedback")
    assert f"feedback: NOT made for {STUDENT}" in out, out
    out = teacher.terminal("cd dlcourse && make feedback A=ps1 ALLOW_PENDING=1", "feedback-pending")
    assert f"feedback/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.html" in out, out
    released_feedback = teacher.formgrader_click("release-feedback", "release feedback")
    assert "Success" in released_feedback
    lap("feedback released")

    panel = student.assignment_list()
    submitted_item = panel.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    submitted_item.locator("button", has_text="Fetch Feedback").click()
    view = panel.locator("#submitted_assignments_list a", has_text="view feedback").first
    view.wait_for()
    pages = sorted((student.home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, pages
    page = student.page
    page.goto(f"{student.base}/files/{pages[0].relative_to(student.home).as_posix()}")
    text = page.inner_text("body")
    score = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert score, text[:2000]
    assert float(score.group(1)) == points, score.group(0)
    hidden_only = [line for line in _hidden_test_lines(source) if line not in json.dumps(as_fetched)]
    assert hidden_only, "the source notebook of ps1 should have hidden tests"
    assert not [line for line in hidden_only if line in text], "hidden test code on the feedback page"
    lap("student1 read the feedback")

    # A failure in the browser is an error, never an empty or stale list: student2 is removed
    # from the course in ngshare; their Assignment List then shows an error (nbgrader's own
    # wording for any exchange error), and their server's log the reason.
    token = hub.token(INSTRUCTOR, "test: remove student2")
    removal = urllib.request.Request(
        f"{hub.ngshare_url}/student/{demo.course_id()}/{BLANK}",
        method="DELETE",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(removal, timeout=30) as r:
        assert json.load(r)["success"] is True
    panel = blank.assignment_list()
    error = panel.locator("#submitted_assignments_list_error")
    error.wait_for()
    assert "exchange directory does not exist" in error.inner_text()
    assert panel.locator("#course_list_default", has_text="Error fetching courses!").count() == 1
    assert "(HTTP 404): Student not found" in hub.log_tail(200_000)
    lap("a student removed from the course sees an error")

    ports = [hub.port, *hub.ports.values()]
    leftovers = hub.stop()
    assert not [p for p in ports if _port_open(p)], "a server of the hub still listens after stop()"
    print(f"\nhub term timings (s since start): {timings}; processes ended after the hub: {leftovers}")

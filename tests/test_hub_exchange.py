"""The course's ngshare exchange reports every failure: nbgrader's exchange steps against a fake
ngshare on loopback that fails the ways the real one does (silently storing nothing, refusing,
not answering), with the exchange the hub configures (``dlcourse.hub.exchange.configure``, as
``hub/etc/jupyter/nbgrader_config.py`` does) and, for comparison, ngshare_exchange as it ships.

The steps run in this process as nbgrader's apps run them (``ExchangeFactory(...).Kind(...)
.start()``): an ``ExchangeError`` is what makes the ``nbgrader`` command exit 1; one test runs the
real command to show that. Also ``python -m dlcourse.hub.roster``: the course set-up fails unless
ngshare lists everyone.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
from conftest import ROOT

if importlib.util.find_spec("ngshare_exchange") is None:  # importing it needs $USER: only look
    if os.environ.get("DLCOURSE_REQUIRE_HUB") == "1":
        pytest.fail(
            "ngshare-exchange is not installed (make hub-setup) and DLCOURSE_REQUIRE_HUB=1", pytrace=False
        )
    pytest.skip("ngshare-exchange is not installed (make hub-setup)", allow_module_level=True)

COURSE, ASSIGNMENT, USER = "dlcourse", "ps1", "student1"
PREFIX = "/services/ngshare"

# ngshare_exchange takes the user name from $JUPYTERHUB_USER once, when it is imported.
_saved_user = os.environ.get("JUPYTERHUB_USER")
os.environ["JUPYTERHUB_USER"] = USER
try:
    import ngshare_exchange as upstream
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeError, ExchangeFactory
    from traitlets.config import Config

    from dlcourse.hub import roster
    from dlcourse.hub.exchange import configure
finally:
    if _saved_user is None:
        del os.environ["JUPYTERHUB_USER"]
    else:
        os.environ["JUPYTERHUB_USER"] = _saved_user


class FakeNgshare:
    """An HTTP server answering like ngshare: ``routes`` maps (method, path regex) to an answer."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, object]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode()) if length else {}
                fake.requests.append((self.command, url.path, form))
                path = url.path[len(PREFIX) :] if url.path.startswith(PREFIX) else url.path
                for (method, pattern), (status, body) in fake.routes.items():  # noqa: B007  used after break
                    if method == self.command and re.fullmatch(pattern, path):
                        break
                else:
                    status, body = 404, {"success": False, "message": "Not found"}
                data = (json.dumps(body) if not isinstance(body, str) else body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{PREFIX}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def paths(self, method: str) -> list[str]:
        return [p for m, p, _ in self.requests if m == method]


@pytest.fixture
def ngshare():
    fake = FakeNgshare()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def course(tmp_path) -> Path:
    """A course folder with a released ps1 and a student's fetched copy beside it."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("answer = 42"))
    for folder in (tmp_path / "release" / ASSIGNMENT, tmp_path / "student" / ASSIGNMENT):
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    return tmp_path


UPSTREAM = {
    "exchange": upstream.Exchange,
    "fetch_assignment": upstream.ExchangeFetchAssignment,
    "fetch_feedback": upstream.ExchangeFetchFeedback,
    "release_assignment": upstream.ExchangeReleaseAssignment,
    "release_feedback": upstream.ExchangeReleaseFeedback,
    "list": upstream.ExchangeList,
    "submit": upstream.ExchangeSubmit,
    "collect": upstream.ExchangeCollect,
}


class Outcome:
    """What one exchange step did: ``ok`` (the command would exit 0), the error, the log."""

    def __init__(self, ok: bool, error: str, log: str) -> None:
        self.ok, self.error, self.log = ok, error, log


def step(
    kind: str, course: Path, url: str, monkeypatch, strict: bool = True, cwd: Path | None = None, **config
) -> Outcome:
    """Run one exchange step (``ReleaseAssignment``, ``Submit``, ...) as nbgrader's app does.

    ``strict``: the hub's exchange (``configure``); otherwise ngshare_exchange's own classes
    (what its ``configureExchange`` selects, given the URL through configuration).
    """
    c = Config()
    if strict:
        configure(c, url)
    else:
        for name, cls in UPSTREAM.items():
            setattr(c.ExchangeFactory, name, cls)
        c.Exchange._ngshare_url = url
    c.CourseDirectory.course_id = COURSE
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.assignment_id = ASSIGNMENT
    for key, value in config.items():
        setattr(c.CourseDirectory, key, value)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t0ken")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(course / "data"))
    monkeypatch.chdir(cwd or course)
    stream = io.StringIO()
    log = logging.getLogger(f"exchange-test-{kind}")
    log.handlers[:] = [logging.StreamHandler(stream)]
    log.setLevel(logging.INFO)
    coursedir = CourseDirectory(config=c)
    exchange = getattr(ExchangeFactory(config=c), kind)(
        coursedir=coursedir, config=c, log=log, authenticator=Authenticator(config=c)
    )
    try:
        exchange.start()
    except ExchangeError as exc:
        return Outcome(False, str(exc), stream.getvalue())
    return Outcome(True, "", stream.getvalue())


def files(*names: str) -> dict:
    return {"success": True, "files": [{"path": n, "checksum": "0", "size": 1} for n in names]}


# --- release --------------------------------------------------------------------------------
NOT_STORED = {
    ("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
    ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
    ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (
        404,
        {"success": False, "message": "Assignment not found"},
    ),
}


def test_release_that_ngshare_did_not_store_is_an_error(course, ngshare, monkeypatch):
    """ngshare 0.6.0 under SQLAlchemy 2: the POST says success, nothing is there afterwards."""
    ngshare.routes = NOT_STORED
    plain = step("ReleaseAssignment", course, ngshare.url, monkeypatch, strict=False)
    assert plain.ok and "Successfully released" in plain.log  # ngshare_exchange: a quiet "success"
    strict = step("ReleaseAssignment", course, ngshare.url, monkeypatch)
    assert not strict.ok
    assert "reading it back failed, so it was not stored" in strict.error
    assert "Assignment not found" in strict.error and strict.error in strict.log


def test_release_command_exits_1_and_says_why(course, ngshare):
    """The real ``nbgrader release_assignment``, configured by the file users' servers read
    (``hub/etc/jupyter/nbgrader_config.py``: the strict exchange, ngshare's address from
    ``DLCOURSE_NGSHARE_URL``), with the course's id and root from the working folder."""
    ngshare.routes = NOT_STORED
    config = course / "config"
    config.mkdir()
    shutil.copy(ROOT / "hub" / "etc" / "jupyter" / "nbgrader_config.py", config)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE!r}\nc.CourseDirectory.root = {str(course)!r}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        JUPYTER_CONFIG_DIR=str(course / "user-config"),
        JUPYTER_CONFIG_PATH=str(config),
        DLCOURSE_NGSHARE_URL=ngshare.url,
        JUPYTERHUB_USER=USER,
        JUPYTERHUB_API_TOKEN="t0ken",
    )
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "release_assignment", ASSIGNMENT],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "reading it back failed, so it was not stored" in run.stderr


def test_release_that_ngshare_refuses_is_an_error(course, ngshare, monkeypatch):
    """A course that ngshare does not know: ngshare_exchange logs it and releases nothing."""
    ngshare.routes = {
        ("GET", f"/assignments/{COURSE}"): (404, {"success": False, "message": "Course not found"})
    }
    assert step("ReleaseAssignment", course, ngshare.url, monkeypatch, strict=False).ok
    strict = step("ReleaseAssignment", course, ngshare.url, monkeypatch)
    assert not strict.ok
    assert strict.error == f"ngshare refused GET /assignments/{COURSE} (HTTP 404): Course not found"
    assert ngshare.paths("POST") == []


def test_release_stored_and_listed_succeeds(course, ngshare, monkeypatch):
    ngshare.routes = {
        ("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
        ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
    }
    run = step("ReleaseAssignment", course, ngshare.url, monkeypatch)
    assert run.ok, run.error
    posted = next(form for m, p, form in ngshare.requests if m == "POST")
    assert [f["path"] for f in json.loads(posted["files"][0])] == [f"{ASSIGNMENT}.ipynb"]


def test_release_missing_a_file_is_an_error(course, ngshare, monkeypatch):
    (course / "release" / ASSIGNMENT / "data.csv").write_text("x\n1\n")
    ngshare.routes = {
        ("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
        ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
    }
    run = step("ReleaseAssignment", course, ngshare.url, monkeypatch)
    assert not run.ok and "does not list ['data.csv']" in run.error


def test_feedback_that_ngshare_did_not_store_is_an_error(course, ngshare, monkeypatch):
    feedback = course / "feedback" / USER / ASSIGNMENT
    feedback.mkdir(parents=True)
    (feedback / f"{ASSIGNMENT}.html").write_text("<html>Score: 1 / 1</html>")
    (feedback / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    ngshare.routes = {
        ("POST", f"/feedback/{COURSE}/{ASSIGNMENT}/{USER}"): (200, {"success": True}),
        ("GET", f"/feedback/{COURSE}/{ASSIGNMENT}/{USER}"): (200, files()),
    }
    assert step("ReleaseFeedback", course, ngshare.url, monkeypatch, strict=False).ok
    strict = step("ReleaseFeedback", course, ngshare.url, monkeypatch)
    assert not strict.ok and f"does not list ['{ASSIGNMENT}.html']" in strict.error


# --- submit, fetch, list -----------------------------------------------------------------------
STAMP = "2026-01-15 12:00:00.000000 UTC"


def test_submission_that_ngshare_did_not_store_is_an_error_and_not_cached(course, ngshare, monkeypatch):
    ngshare.routes = {
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
        ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"): (200, {"success": True, "timestamp": STAMP}),
        ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{USER}"): (200, {"success": True, "submissions": []}),
    }
    student = course / "student"
    assert step("Submit", course, ngshare.url, monkeypatch, strict=False, cwd=student).ok
    cache = course / "data" / "nbgrader_cache" / COURSE
    assert len(list(cache.glob("*"))) == 1  # ngshare_exchange cached it: the list says "submitted"
    shutil.rmtree(cache)
    strict = step("Submit", course, ngshare.url, monkeypatch, cwd=student)
    assert not strict.ok and "does not list it: the submission was not stored" in strict.error
    assert not cache.exists() or list(cache.glob("*")) == []


def test_submission_leaves_out_checkpoints(course, ngshare, monkeypatch):
    ngshare.routes = {
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
        ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"): (200, {"success": True, "timestamp": STAMP}),
        ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{USER}"): (
            200,
            {"success": True, "submissions": [{"student_id": USER, "timestamp": STAMP}]},
        ),
    }
    student = course / "student"
    checkpoints = student / ASSIGNMENT / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / f"{ASSIGNMENT}-checkpoint.ipynb").write_text("{}")
    (student / ASSIGNMENT / "notes.txt").write_text("kept")
    run = step("Submit", course, ngshare.url, monkeypatch, cwd=student)
    assert run.ok, run.error
    posted = next(form for m, p, form in ngshare.requests if m == "POST")
    assert sorted(f["path"] for f in json.loads(posted["files"][0])) == sorted(
        [f"{ASSIGNMENT}.ipynb", "notes.txt"]
    )
    cached = list((course / "data" / "nbgrader_cache" / COURSE).glob("*"))
    assert len(cached) == 1  # stored, listed, then cached: the Assignment List shows it submitted


def test_submission_refused_is_an_error(course, ngshare, monkeypatch):
    """ngshare_exchange logs 'Failed to submit.' and exits 0; the student believes it went in."""
    ngshare.routes = {
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
        ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"): (
            403,
            {"success": False, "message": "Permission denied"},
        ),
    }
    student = course / "student"
    plain = step("Submit", course, ngshare.url, monkeypatch, strict=False, cwd=student)
    assert plain.ok and "Failed to submit" in plain.log
    strict = step("Submit", course, ngshare.url, monkeypatch, cwd=student)
    assert not strict.ok
    assert (
        strict.error
        == f"ngshare refused POST /submission/{COURSE}/{ASSIGNMENT} (HTTP 403): Permission denied"
    )


def test_fetch_with_ngshare_down_is_an_error(course, monkeypatch):
    down = FakeNgshare()  # bound, never served, then closed: nothing listens on its port
    url = down.url
    down.server.server_close()
    work = course / "fresh"
    work.mkdir()
    plain = step("FetchAssignment", course, url, monkeypatch, strict=False, cwd=work)
    assert plain.ok and "Failed to fetch assignment" in plain.log
    strict = step("FetchAssignment", course, url, monkeypatch, cwd=work)
    assert not strict.ok and strict.error.startswith(
        f"ngshare did not answer GET /assignment/{COURSE}/{ASSIGNMENT}"
    )


def test_fetch_writes_every_listed_file(course, ngshare, monkeypatch):
    content = base64.b64encode(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}').decode()
    ngshare.routes = {
        ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (
            200,
            {
                "success": True,
                "files": [{"path": f"{ASSIGNMENT}.ipynb", "content": content, "checksum": "0", "size": 1}],
            },
        )
    }
    work = course / "fresh"
    work.mkdir()
    run = step("FetchAssignment", course, ngshare.url, monkeypatch, cwd=work)
    assert run.ok, run.error
    assert (work / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_list_refused_is_an_error(course, ngshare, monkeypatch):
    ngshare.routes = {("GET", "/courses"): (200, "<html>403 Forbidden</html>")}
    run = step("List", course, ngshare.url, monkeypatch, course_id="*", assignment_id="*")
    assert not run.ok
    assert (
        run.error == "ngshare refused GET /courses (HTTP 200): answer is not JSON: <html>403 Forbidden</html>"
    )


# --- the course set-up ---------------------------------------------------------------------------
def enrol(csv_path: Path, url: str, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t0ken")
    code = roster.main(
        ["--course", COURSE, "--instructor", "instructor", "--students", str(csv_path), "--url", url]
    )
    return code, capsys.readouterr().err


@pytest.fixture
def roster_csv(tmp_path) -> Path:
    path = tmp_path / "students.csv"
    path.write_text("student_id,first_name,last_name,email\nstudent1,A,B,a@x\nstudent2,C,D,c@x\n")
    return path


def _enrol_routes(listed: list[str], status: list[dict]) -> dict:
    return {
        ("POST", f"/course/{COURSE}"): (200, {"success": True}),
        ("POST", f"/students/{COURSE}"): (200, {"success": True, "status": status}),
        ("GET", f"/instructors/{COURSE}"): (
            200,
            {"success": True, "instructors": [{"username": "instructor"}]},
        ),
        ("GET", f"/students/{COURSE}"): (
            200,
            {"success": True, "students": [{"username": s} for s in listed]},
        ),
    }


OK = [{"username": "student1", "success": True}, {"username": "student2", "success": True}]


def test_roster_enrols_and_checks(roster_csv, ngshare, monkeypatch, capsys):
    ngshare.routes = _enrol_routes(["student1", "student2"], OK)
    code, err = enrol(roster_csv, ngshare.url, monkeypatch, capsys)
    assert code == 0, err
    posted = next(
        form for m, p, form in ngshare.requests if p.endswith(f"/students/{COURSE}") and m == "POST"
    )
    assert [s["username"] for s in json.loads(posted["students"][0])] == ["student1", "student2"]


def test_roster_course_that_exists_is_kept(roster_csv, ngshare, monkeypatch, capsys):
    ngshare.routes = {
        **_enrol_routes(["student1", "student2"], OK),
        ("POST", f"/course/{COURSE}"): (409, {"success": False, "message": "Course already exists"}),
    }
    assert enrol(roster_csv, ngshare.url, monkeypatch, capsys)[0] == 0


def test_roster_student_refused_is_an_error(roster_csv, ngshare, monkeypatch, capsys):
    status = [
        {"username": "student1", "success": True},
        {"username": "student2", "success": False, "message": "Cannot add instructor as student"},
    ]
    ngshare.routes = _enrol_routes(["student1"], status)
    code, err = enrol(roster_csv, ngshare.url, monkeypatch, capsys)
    assert code == 1 and "did not enrol student2 (Cannot add instructor as student)" in err


def test_roster_student_not_listed_is_an_error(roster_csv, ngshare, monkeypatch, capsys):
    ngshare.routes = _enrol_routes(["student1"], OK)  # accepted, but not stored
    code, err = enrol(roster_csv, ngshare.url, monkeypatch, capsys)
    assert code == 1 and "does not list ['student2'] as students" in err


def test_roster_not_an_admin_is_an_error(roster_csv, ngshare, monkeypatch, capsys):
    ngshare.routes = {
        ("POST", f"/course/{COURSE}"): (403, {"success": False, "message": "Permission denied"})
    }
    code, err = enrol(roster_csv, ngshare.url, monkeypatch, capsys)
    assert code == 1 and f"ngshare refused POST /course/{COURSE} (HTTP 403): Permission denied" in err


def test_roster_rejects_a_bad_csv(tmp_path, ngshare, monkeypatch, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\nstudent1,A\n")
    code, err = enrol(bad, ngshare.url, monkeypatch, capsys)
    assert code == 1 and "lacks ['student_id', 'first_name', 'last_name', 'email']" in err
    assert ngshare.requests == []

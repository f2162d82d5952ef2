"""The course's ngshare exchange reports every failure: nbgrader's own commands against a fake
ngshare on loopback that fails the ways the real one does (silently storing nothing, refusing,
not answering), with the exchange the hub configures (``hub/etc/jupyter/nbgrader_config.py``
through ``dlcourse_hub.exchange.configure``) and, for comparison, ngshare_exchange as it ships.

Also ``python -m dlcourse_hub.roster``: the course set-up exits 1 unless ngshare lists everyone.
"""

from __future__ import annotations

import base64
import importlib.util
import json
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
        pytest.fail("ngshare-exchange is not installed (make hub-setup) and DLCOURSE_REQUIRE_HUB=1",
                    pytrace=False)
    pytest.skip("ngshare-exchange is not installed (make hub-setup)", allow_module_level=True)

COURSE, ASSIGNMENT, USER = "dlcourse", "ps1", "student1"
PREFIX = "/services/ngshare"


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
                path = url.path[len(PREFIX):] if url.path.startswith(PREFIX) else url.path
                for (method, pattern), (status, body) in fake.routes.items():
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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


def nbgrader(course: Path, url: str, *args: str, strict: bool = True, cwd: Path | None = None):
    """Run ``nbgrader ARGS`` with the hub's exchange configuration (or ngshare_exchange's own)."""
    setup = ("from dlcourse_hub.exchange import configure\nconfigure(c, URL)\n" if strict else
             "from ngshare_exchange import configureExchange\nconfigureExchange(c, URL)\n")
    config = course / "config"
    config.mkdir(exist_ok=True)
    (config / "nbgrader_config.py").write_text(
        f"c = get_config()\nURL = {url!r}\n{setup}"
        f"c.CourseDirectory.course_id = {COURSE!r}\nc.CourseDirectory.root = {str(course)!r}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "DLCOURSE_NGSHARE"))}
    env.update(JUPYTER_CONFIG_DIR=str(course / "user-config"), JUPYTER_CONFIG_PATH=str(config),
               JUPYTER_DATA_DIR=str(course / "data"), JUPYTERHUB_USER=USER, JUPYTERHUB_API_TOKEN="t0ken")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd or course, env=env,
                          capture_output=True, text=True, timeout=120)


def files(*names: str) -> dict:
    return {"success": True, "files": [{"path": n, "checksum": "0", "size": 1} for n in names]}


# --- release --------------------------------------------------------------------------------
def test_release_that_ngshare_did_not_store_is_an_error(course, ngshare):
    """ngshare 0.6.0 under SQLAlchemy 2: the POST says success, nothing is there afterwards."""
    ngshare.routes = {("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
                      ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
                      ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"):
                          (404, {"success": False, "message": "Assignment not found"})}
    plain = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT, strict=False)
    assert plain.returncode == 0, plain.stderr  # ngshare_exchange as shipped: a quiet "success"
    assert "Successfully released" in plain.stderr
    strict = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT)
    assert strict.returncode == 1, strict.stderr
    assert "reading it back failed, so it was not stored" in strict.stderr
    assert "Assignment not found" in strict.stderr


def test_release_that_ngshare_refuses_is_an_error(course, ngshare):
    """A course that ngshare does not know: ngshare_exchange logs it and releases nothing."""
    ngshare.routes = {("GET", f"/assignments/{COURSE}"): (404, {"success": False, "message": "Course not found"})}
    plain = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT, strict=False)
    assert plain.returncode == 0, plain.stderr
    strict = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT)
    assert strict.returncode == 1
    assert f"ngshare refused GET /assignments/{COURSE} (HTTP 404): Course not found" in strict.stderr
    assert ngshare.paths("POST") == []


def test_release_stored_and_listed_succeeds(course, ngshare):
    ngshare.routes = {("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
                      ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
                      ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb"))}
    run = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT)
    assert run.returncode == 0, run.stderr
    posted = next(form for m, p, form in ngshare.requests if m == "POST")
    assert [f["path"] for f in json.loads(posted["files"][0])] == [f"{ASSIGNMENT}.ipynb"]


def test_release_missing_a_file_is_an_error(course, ngshare):
    (course / "release" / ASSIGNMENT / "data.csv").write_text("x\n1\n")
    ngshare.routes = {("GET", f"/assignments/{COURSE}"): (200, {"success": True, "assignments": []}),
                      ("POST", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, {"success": True}),
                      ("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb"))}
    run = nbgrader(course, ngshare.url, "release_assignment", ASSIGNMENT)
    assert run.returncode == 1
    assert "does not list ['data.csv']" in run.stderr


def test_feedback_that_ngshare_did_not_store_is_an_error(course, ngshare):
    feedback = course / "feedback" / USER / ASSIGNMENT
    feedback.mkdir(parents=True)
    (feedback / f"{ASSIGNMENT}.html").write_text("<html>Score: 1 / 1</html>")
    (feedback / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    ngshare.routes = {("POST", f"/feedback/{COURSE}/{ASSIGNMENT}/{USER}"): (200, {"success": True}),
                      ("GET", f"/feedback/{COURSE}/{ASSIGNMENT}/{USER}"): (200, files())}
    plain = nbgrader(course, ngshare.url, "release_feedback", ASSIGNMENT, strict=False)
    assert plain.returncode == 0, plain.stderr
    strict = nbgrader(course, ngshare.url, "release_feedback", ASSIGNMENT)
    assert strict.returncode == 1, strict.stderr
    assert f"does not list ['{ASSIGNMENT}.html']" in strict.stderr


# --- submit, fetch, list -----------------------------------------------------------------------
def test_submission_that_ngshare_did_not_store_is_an_error_and_not_cached(course, ngshare):
    ngshare.routes = {("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
                      ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"):
                          (200, {"success": True, "timestamp": "2026-01-15 12:00:00.000000 UTC"}),
                      ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{USER}"): (200, {"success": True, "submissions": []})}
    student = course / "student"
    plain = nbgrader(course, ngshare.url, "submit", ASSIGNMENT, strict=False, cwd=student)
    assert plain.returncode == 0, plain.stderr
    cache = course / "data" / "nbgrader_cache" / COURSE
    assert len(list(cache.glob("*"))) == 1  # ngshare_exchange cached it: the list says "submitted"
    for entry in cache.glob("*"):
        shutil.rmtree(entry)
    strict = nbgrader(course, ngshare.url, "submit", ASSIGNMENT, cwd=student)
    assert strict.returncode == 1, strict.stderr
    assert "does not list it: the submission was not stored" in strict.stderr
    assert list(cache.glob("*")) == []


def test_submission_leaves_out_checkpoints(course, ngshare):
    stamp = "2026-01-15 12:00:00.000000 UTC"
    ngshare.routes = {("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
                      ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"): (200, {"success": True, "timestamp": stamp}),
                      ("GET", f"/submissions/{COURSE}/{ASSIGNMENT}/{USER}"):
                          (200, {"success": True, "submissions": [{"student_id": USER, "timestamp": stamp}]})}
    student = course / "student"
    checkpoints = student / ASSIGNMENT / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / f"{ASSIGNMENT}-checkpoint.ipynb").write_text("{}")
    (student / ASSIGNMENT / "notes.txt").write_text("kept")
    run = nbgrader(course, ngshare.url, "submit", ASSIGNMENT, cwd=student)
    assert run.returncode == 0, run.stderr
    posted = next(form for m, p, form in ngshare.requests if m == "POST")
    assert sorted(f["path"] for f in json.loads(posted["files"][0])) == sorted([f"{ASSIGNMENT}.ipynb", "notes.txt"])
    cached = list((course / "data" / "nbgrader_cache" / COURSE).glob("*"))
    assert len(cached) == 1  # stored, listed, then cached: the Assignment List shows it submitted


def test_submission_refused_is_an_error(course, ngshare):
    """ngshare_exchange logs 'Failed to submit.' and exits 0; the student believes it went in."""
    ngshare.routes = {("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"): (200, files(f"{ASSIGNMENT}.ipynb")),
                      ("POST", f"/submission/{COURSE}/{ASSIGNMENT}"):
                          (403, {"success": False, "message": "Permission denied"})}
    student = course / "student"
    plain = nbgrader(course, ngshare.url, "submit", ASSIGNMENT, strict=False, cwd=student)
    assert plain.returncode == 0 and "Failed to submit" in plain.stderr
    strict = nbgrader(course, ngshare.url, "submit", ASSIGNMENT, cwd=student)
    assert strict.returncode == 1
    assert f"ngshare refused POST /submission/{COURSE}/{ASSIGNMENT} (HTTP 403): Permission denied" in strict.stderr


def test_fetch_with_ngshare_down_is_an_error(course):
    down = FakeNgshare()  # bound, never served, then closed: nothing listens on its port
    url = down.url
    down.server.server_close()
    work = course / "fresh"
    work.mkdir()
    plain = nbgrader(course, url, "fetch_assignment", ASSIGNMENT, strict=False, cwd=work)
    assert plain.returncode == 0, plain.stderr  # "Failed to fetch assignment." and exit 0
    strict = nbgrader(course, url, "fetch_assignment", ASSIGNMENT, cwd=work)
    assert strict.returncode == 1
    assert "ngshare did not answer GET" in strict.stderr


def test_fetch_writes_every_listed_file(course, ngshare):
    content = base64.b64encode(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}').decode()
    ngshare.routes = {("GET", f"/assignment/{COURSE}/{ASSIGNMENT}"):
                      (200, {"success": True, "files": [{"path": f"{ASSIGNMENT}.ipynb", "content": content,
                                                         "checksum": "0", "size": 1}]})}
    work = course / "fresh"
    work.mkdir()
    run = nbgrader(course, ngshare.url, "fetch_assignment", ASSIGNMENT, cwd=work)
    assert run.returncode == 0, run.stderr
    assert (work / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_list_refused_is_an_error(course, ngshare):
    ngshare.routes = {("GET", "/courses"): (200, "<html>403 Forbidden</html>")}
    run = nbgrader(course, ngshare.url, "list", "--course", "*")
    assert run.returncode == 1
    assert "answer is not JSON: <html>403 Forbidden</html>" in run.stderr


def test_hub_configuration_uses_the_strict_exchange(tmp_path):
    """The file users' servers read selects dlcourse_hub's classes and ngshare's address."""
    env = dict(os.environ, DLCOURSE_NGSHARE_URL="http://127.0.0.1:1/services/ngshare", JUPYTERHUB_USER=USER)
    code = ("from traitlets.config.loader import PyFileConfigLoader\n"
            f"c = PyFileConfigLoader('nbgrader_config.py', path={str(ROOT / 'hub' / 'etc' / 'jupyter')!r}).load_config()\n"
            "print(c.ExchangeFactory.submit.__module__, c.Exchange._ngshare_url, c.CourseDirectory.course_id)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.split() == ["dlcourse_hub.exchange", "http://127.0.0.1:1/services/ngshare", "*"], out.stderr


# --- the course set-up ---------------------------------------------------------------------------
def roster(csv_path: Path, url: str):
    env = dict(os.environ, JUPYTERHUB_API_TOKEN="t0ken")
    return subprocess.run([sys.executable, "-m", "dlcourse_hub.roster", "--course", COURSE, "--instructor",
                           "instructor", "--students", str(csv_path), "--url", url],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def roster_csv(tmp_path) -> Path:
    path = tmp_path / "students.csv"
    path.write_text("student_id,first_name,last_name,email\nstudent1,A,B,a@x\nstudent2,C,D,c@x\n")
    return path


def _enrol_routes(listed: list[str], status: list[dict]) -> dict:
    return {("POST", f"/course/{COURSE}"): (200, {"success": True}),
            ("POST", f"/students/{COURSE}"): (200, {"success": True, "status": status}),
            ("GET", f"/instructors/{COURSE}"): (200, {"success": True, "instructors": [{"username": "instructor"}]}),
            ("GET", f"/students/{COURSE}"): (200, {"success": True, "students": [{"username": s} for s in listed]})}


def test_roster_enrols_and_checks(roster_csv, ngshare):
    ok = [{"username": "student1", "success": True}, {"username": "student2", "success": True}]
    ngshare.routes = _enrol_routes(["student1", "student2"], ok)
    run = roster(roster_csv, ngshare.url)
    assert run.returncode == 0, run.stderr
    posted = next(form for m, p, form in ngshare.requests if p.endswith(f"/students/{COURSE}") and m == "POST")
    assert [s["username"] for s in json.loads(posted["students"][0])] == ["student1", "student2"]


def test_roster_student_refused_is_an_error(roster_csv, ngshare):
    status = [{"username": "student1", "success": True},
              {"username": "student2", "success": False, "message": "Cannot add instructor as student"}]
    ngshare.routes = _enrol_routes(["student1"], status)
    run = roster(roster_csv, ngshare.url)
    assert run.returncode == 1
    assert "did not enrol student2 (Cannot add instructor as student)" in run.stderr


def test_roster_student_not_listed_is_an_error(roster_csv, ngshare):
    ok = [{"username": "student1", "success": True}, {"username": "student2", "success": True}]
    ngshare.routes = _enrol_routes(["student1"], ok)  # accepted, but not stored
    run = roster(roster_csv, ngshare.url)
    assert run.returncode == 1
    assert "does not list ['student2'] as students" in run.stderr


def test_roster_rejects_a_bad_csv(tmp_path, ngshare):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\nstudent1,A\n")
    run = roster(bad, ngshare.url)
    assert run.returncode == 1
    assert "lacks ['student_id', 'first_name', 'last_name', 'email']" in run.stderr
    assert ngshare.requests == []

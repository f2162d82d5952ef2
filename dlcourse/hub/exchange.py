"""nbgrader's exchange over ngshare, strict: a failure is an error, never a quiet success.

`ngshare <https://ngshare.readthedocs.io>`_ is the JupyterHub service that stores released
assignments, submissions and feedback for nbgrader when users' servers share no file system
(Kubernetes); ``ngshare_exchange`` is its nbgrader exchange. Two of their failures look like
success to the user:

- ngshare_exchange 0.5 logs a failed request and goes on: ``nbgrader submit`` then exits 0 and
  the Assignment List shows no error although nothing reached ngshare (the same for release,
  fetch and feedback);
- ngshare 0.6.0 under SQLAlchemy 2 answers ``success`` to a release or a submission that it
  did not store (its objects are never added to the database session).

The classes here are ngshare_exchange's, with two changes:

1. a request that fails (no answer, an HTTP error, a body that is not JSON or says
   ``success: false``) raises :class:`nbgrader.exchange.ExchangeError` naming the endpoint and
   ngshare's message, so the nbgrader command exits 1 and the Assignment List or the Formgrader
   shows the message;
2. every write is read back: a released assignment must list the files sent, a submission its
   timestamp, released feedback its pages; a fetch or a collect must leave the files on disk.

Use :func:`configure` in the users' ``nbgrader_config.py`` (``hub/etc/jupyter/nbgrader_config.py``).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import requests
from nbgrader.exchange import ExchangeError

try:
    import ngshare_exchange as _nge
except KeyError as exc:  # it reads $JUPYTERHUB_USER, else $USER, when imported
    raise ImportError(f"ngshare_exchange needs JUPYTERHUB_USER or USER in the environment ({exc})") from exc

__all__ = [
    "REQUEST_TIMEOUT",
    "check_response",
    "configure",
    "Exchange",
    "ExchangeReleaseAssignment",
    "ExchangeFetchAssignment",
    "ExchangeSubmit",
    "ExchangeList",
    "ExchangeCollect",
    "ExchangeReleaseFeedback",
    "ExchangeFetchFeedback",
]

REQUEST_TIMEOUT = 120.0  # seconds for one request to ngshare (a release of a large assignment included)


def check_response(response: requests.Response, method: str, endpoint: str) -> dict:
    """The JSON body of ngshare's answer, or ``ExchangeError`` when it is not a success."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("success") is True:
        return body
    if isinstance(body, dict):
        message = body.get("message") or "no message"
    else:
        message = "answer is not JSON: " + " ".join(response.text.split())[:160]
    raise ExchangeError(f"ngshare refused {method} {endpoint} (HTTP {response.status_code}): {message}")


class _Strict:
    """Mixin: ngshare requests raise on failure (ngshare_exchange returns ``None`` and goes on).

    Every error is logged before it is raised (``Exchange.fail``): nbgrader's command-line apps
    print only "nbgrader <command> failed" for an ``ExchangeError``, the Formgrader shows the log.
    """

    def _request(self, method, url, data=None, params=None) -> dict:
        token = os.environ.get("JUPYTERHUB_API_TOKEN")
        headers = {"Authorization": f"token {token}"} if token else None
        try:
            response = requests.request(
                method,
                self.ngshare_url + self.encode_url(url),
                headers=headers,
                data=data,
                params=params,
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise ExchangeError(
                f"ngshare did not answer {method} {url} at {self.ngshare_url}: {exc}"
            ) from exc
        return check_response(response, method, url)

    def ngshare_api_request(self, method, url, data=None, params=None):
        try:
            return self._request(method, url, data, params)
        except ExchangeError as exc:
            self.fail(str(exc))

    def _read_back(self, what: str, url: str, params: dict | None = None) -> dict:
        try:
            return self._request("GET", url, params=params)
        except ExchangeError as exc:
            self.fail(f"ngshare accepted {what} but reading it back failed, so it was not stored: {exc}")

    def _listed_paths(self, url: str, params: dict | None = None, written: str | None = None) -> set[str]:
        """Paths ngshare lists at ``url``; ``written`` names what was just stored there (a read-back)."""
        query = {**(params or {}), "list_only": "true"}
        body = self._read_back(written, url, query) if written else self.ngshare_api_get(url, query)
        return {entry["path"] for entry in body.get("files", [])}


def _files_under(folder: str) -> set[str]:
    """Paths of the files below ``folder``, relative to it (as ngshare_exchange names them)."""
    root = Path(folder)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class Exchange(_Strict, _nge.Exchange):
    """ngshare_exchange's base exchange with strict requests."""


class ExchangeReleaseAssignment(_Strict, _nge.ExchangeReleaseAssignment):
    """Release to ngshare; then ngshare must list every file of ``release/<assignment>``."""

    def copy_files(self):
        super().copy_files()
        course, aid = self.coursedir.course_id, self.coursedir.assignment_id
        listed = self._listed_paths(f"/assignment/{course}/{aid}", written=f"the release of {aid}")
        missing = sorted(_files_under(self.src_path) - listed)
        if missing:
            self.fail(f"ngshare reported {course}/{aid} released but does not list {missing}")


class ExchangeFetchAssignment(_Strict, _nge.ExchangeFetchAssignment):
    """Fetch from ngshare; then the assignment's folder must hold the files ngshare lists."""

    def copy_files(self):
        super().copy_files()
        course, aid = self.coursedir.course_id, self.coursedir.assignment_id
        body = self.ngshare_api_get(f"/assignment/{course}/{aid}", {"list_only": "true"})
        # hidden files (checkpoints an instructor's release may carry) are not required
        listed = {
            f["path"]
            for f in body.get("files", [])
            if not any(part.startswith(".") for part in Path(f["path"]).parts)
        }
        missing = sorted(listed - _files_under(self.dest_path))
        if missing or not listed:
            self.fail(f"fetching {course}/{aid} left {self.dest_path} without {missing or 'any file'}")


class ExchangeSubmit(_Strict, _nge.ExchangeSubmit):
    """Submit to ngshare; the submission must be listed under its timestamp before it is cached
    (the Assignment List shows the local cache as "submitted").

    Files inside an ignored folder (``CourseDirectory.ignore``, e.g. ``.ipynb_checkpoints``) are
    left out too: ngshare_exchange matches the patterns against file names only, and so sent
    JupyterLab's checkpoint copies of the notebook along with it.
    """

    def ignore_patterns(self):
        by_name = super().ignore_patterns()
        patterns, root = self.coursedir.ignore, Path(self.src_path)

        def ignore(directory, filename, filesize):
            try:
                folders = Path(directory).relative_to(root).parts
            except ValueError:
                folders = ()
            if any(fnmatch.fnmatch(part, glob) for part in folders for glob in patterns):
                return True
            return by_name(directory, filename, filesize)

        return ignore

    def post_submission(self, src_path):
        timestamp = super().post_submission(src_path)
        course, aid = self.coursedir.course_id, self.coursedir.assignment_id
        body = self._read_back(f"the submission of {aid}", f"/submissions/{course}/{aid}/{self.username}")
        if timestamp is None or timestamp not in {s["timestamp"] for s in body.get("submissions", [])}:
            self.fail(
                f"ngshare answered the submission of {course}/{aid} with timestamp {timestamp!r} "
                "but does not list it: the submission was not stored"
            )
        return timestamp


class ExchangeList(_Strict, _nge.ExchangeList):
    """List courses, assignments and submissions; a failed request is an error."""


class ExchangeCollect(_Strict, _nge.ExchangeCollect):
    """Collect every student's latest submission; each must land in ``submitted/``."""

    def copy_files(self):
        super().copy_files()
        for record in self.src_records:
            dest = self.coursedir.format_path(
                self.coursedir.submitted_directory, record["student_id"], self.coursedir.assignment_id
            )
            if not any(p.suffix == ".ipynb" for p in Path(dest).glob("*")):
                self.fail(f"collecting {record['student_id']}'s submission left no notebook in {dest}")


class ExchangeReleaseFeedback(_Strict, _nge.ExchangeReleaseFeedback):
    """Upload feedback; ngshare must then list every page for that submission."""

    def post_feedback(self, student_id, timestamp, feedback_info):
        result = super().post_feedback(student_id, timestamp, feedback_info)
        course, aid = self.coursedir.course_id, self.coursedir.assignment_id
        listed = self._listed_paths(
            f"/feedback/{course}/{aid}/{student_id}",
            {"timestamp": timestamp},
            written=f"feedback for {student_id}",
        )
        missing = sorted({f"{info['notebook_id']}.html" for info in feedback_info} - listed)
        if missing:
            self.fail(
                f"ngshare reported feedback for {student_id} on {course}/{aid} released "
                f"but does not list {missing}"
            )
        return result


class ExchangeFetchFeedback(_Strict, _nge.ExchangeFetchFeedback):
    """Fetch feedback; every page ngshare lists must be on disk afterwards."""

    def copy_files(self):
        super().copy_files()
        course = self.coursedir.course_id
        for timestamp in self.timestamps:
            listed = self._listed_paths(self.src_path, {"timestamp": timestamp})
            missing = sorted(listed - _files_under(os.path.join(self.dest_path, str(timestamp))))
            if missing:
                self.fail(
                    f"fetching feedback of {course}/{self.coursedir.assignment_id} "
                    f"({timestamp}) did not write {missing}"
                )


def configure(c, ngshare_url: str | None) -> None:
    """Make nbgrader use these classes with ngshare at ``ngshare_url`` (in ``nbgrader_config.py``).

    ``ngshare_url`` is the service's address as users' servers reach it, ending in
    ``/services/ngshare`` (for example ``http://127.0.0.1:8000/services/ngshare``). ``None``
    keeps ngshare_exchange's own choice: ``http://proxy-public/services/ngshare`` on Kubernetes,
    elsewhere an error at the first exchange command.
    """
    if ngshare_url is not None and (
        not isinstance(ngshare_url, str) or not ngshare_url.startswith(("http://", "https://"))
    ):
        raise ValueError(f"ngshare_url must be an http(s) URL or None, got {ngshare_url!r}")
    factory = c.ExchangeFactory
    factory.exchange = Exchange
    factory.release_assignment = ExchangeReleaseAssignment
    factory.fetch_assignment = ExchangeFetchAssignment
    factory.submit = ExchangeSubmit
    factory.list = ExchangeList
    factory.collect = ExchangeCollect
    factory.release_feedback = ExchangeReleaseFeedback
    factory.fetch_feedback = ExchangeFetchFeedback
    if ngshare_url is not None:
        c.Exchange._ngshare_url = ngshare_url.rstrip("/")

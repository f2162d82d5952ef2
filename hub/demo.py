"""The demonstration hub on loopback: an instructor and two students, the whole term in a browser.

::

    make hub                                  # = .venv/bin/python hub/demo.py (Ctrl-C stops it)
    .venv/bin/python hub/demo.py --port 8010 --state /tmp/hub

It prepares a state folder (``.make/hub/state`` unless ``--state``; made afresh each time), starts
``hub/jupyterhub_config.py`` with the hub environment of ``make hub-setup``, waits until the hub
and its ngshare service answer, creates the course in ngshare with ``instructor`` as its
instructor and the students of ``hub/demo_roster.csv`` enrolled (``python -m dlcourse.hub.roster``,
with a token of the instructor), and prints the address and the password. DEMONSTRATION ONLY:
one shared password, no isolation between users (see ``hub/jupyterhub_config.py``).

The instructor's home holds ``dlcourse/``, a working copy of this course made by
``hub/instructor_setup.sh`` (as in the course image on Kubernetes): the ``Makefile``, the
``dlcourse`` package, ``assignments/`` with its configuration and sources, ``.venv`` linked to this
repository's environment; so ``make release``/``make autograde``/``make feedback`` in the
instructor's terminal grade this copy and never touch ``assignments/`` of the repository.
``nbgrader_config.py`` in the home folder (where the instructor's server starts) loads the course's
own configuration for the Formgrader.

The browser test uses :class:`DemoHub` as a context manager, which stops every process it
started (the hub, the proxy, ngshare, users' servers and their kernels and terminals) on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HUB_VENV = REPO / ".make" / "hub" / "venv"
PROXY = REPO / ".make" / "hub" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_VENV = REPO / ".venv"
CONFIG = REPO / "hub" / "jupyterhub_config.py"
ROSTER = REPO / "hub" / "demo_roster.csv"
INSTRUCTOR = "instructor"  # the name hub/jupyterhub_config.py gives the instructor

__all__ = ["DemoHub", "free_port", "missing_parts", "course_id", "main"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_parts() -> list[str]:
    """What ``make hub-setup`` installs that is not there (empty when the hub can start)."""
    need = {
        HUB_VENV / "bin" / "jupyterhub": "the hub environment (.make/hub/venv)",
        PROXY: "configurable-http-proxy (.make/hub/npm)",
        COURSE_VENV / "bin" / "jupyterhub-singleuser": "jupyterhub-singleuser in the course environment",
    }
    missing = [what for path, what in need.items() if not path.exists()]
    if shutil.which("node") is None:
        missing.append("node (Debian package nodejs), which runs configurable-http-proxy")
    return missing


def course_id(course: Path = REPO / "assignments") -> str:
    """The course id of ``course/nbgrader_config.py`` (one source of truth: that file)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return config.CourseDirectory.course_id


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class DemoHub:
    """The demonstration hub in ``state``; ``start()``/``stop()`` or ``with DemoHub(...) as hub``."""

    def __init__(self, state: Path, port: int | None = None, password: str | None = None) -> None:
        self.state = Path(state).resolve()
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(12)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ports = {
            "DLCOURSE_HUB_PORT": self.port,
            "DLCOURSE_HUB_API_PORT": free_port(),
            "DLCOURSE_PROXY_API_PORT": free_port(),
            "DLCOURSE_NGSHARE_PORT": free_port(),
        }
        self.ngshare_url = f"http://127.0.0.1:{self.ports['DLCOURSE_NGSHARE_PORT']}/services/ngshare"
        self.course = self.state / "home" / INSTRUCTOR / "dlcourse"
        self.log_path = self.state / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None

    # --- the state folder -----------------------------------------------------------------------
    def prepare(self) -> None:
        """A fresh state folder: ngshare's, and the instructor's home with a copy of the course.

        The copy is made by ``hub/instructor_setup.sh``, as on Kubernetes, here from this
        repository and with its ``.venv`` as the environment (sandbox: ``auto``).
        """
        if self.state.exists():
            shutil.rmtree(self.state)
        (self.state / "ngshare" / "files").mkdir(parents=True)
        home = self.course.parent
        home.mkdir(parents=True)
        env = dict(
            os.environ,
            HOME=str(home),
            DLCOURSE_SOURCE=str(REPO),
            DLCOURSE_ENV=str(COURSE_VENV),
            DLCOURSE_ISOLATION="auto",
        )
        run = subprocess.run(
            ["bash", str(REPO / "hub" / "instructor_setup.sh"), str(self.course)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            raise RuntimeError(f"hub/instructor_setup.sh failed:\n{run.stdout}{run.stderr}")

    # --- the processes --------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> None:
        """Start the hub; return once it, ngshare and the course in ngshare are ready."""
        missing = missing_parts()
        if missing:
            raise RuntimeError("the hub is not installed (run `make hub-setup`): " + "; ".join(missing))
        self.prepare()
        env = dict(
            os.environ,
            DLCOURSE_HUB_STATE=str(self.state),
            DLCOURSE_HUB_PASSWORD=self.password,
            DLCOURSE_COURSE_VENV=str(COURSE_VENV),
            **{k: str(v) for k, v in self.ports.items()},
        )
        env["PATH"] = os.pathsep.join([str(HUB_VENV / "bin"), env.get("PATH", "/usr/bin:/bin")])
        env.pop("JUPYTERHUB_API_TOKEN", None)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(HUB_VENV / "bin" / "jupyterhub"), "-f", str(CONFIG)],
            cwd=self.state,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        self._wait(f"{self.url}/hub/api/", "the hub", deadline)
        self._wait(f"{self.ngshare_url}/healthz", "ngshare", deadline)
        self.enrol()

    def _wait(self, url: str, what: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the hub exited with {self.proc.returncode} before {what} answered; "
                    f"its log ({self.log_path}) ends:\n{self.log_tail()}"
                )
            try:
                if _get(url)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not answer at {url} in time; the hub's log ends:\n{self.log_tail()}")

    def token(self, user: str, note: str) -> str:
        """A JupyterHub API token of ``user``, obtained with the shared password."""
        body = json.dumps(
            {"auth": {"username": user, "password": self.password}, "note": note, "expires_in": 3600}
        ).encode()
        req = urllib.request.Request(
            f"{self.url}/hub/api/users/{user}/tokens",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["token"]

    def enrol(self) -> None:
        """Create the course in ngshare, instructor and roster, checked (dlcourse.hub.roster)."""
        env = dict(
            os.environ,
            JUPYTERHUB_API_TOKEN=self.token(INSTRUCTOR, "demo course set-up"),
            JUPYTERHUB_USER=INSTRUCTOR,
            DLCOURSE_NGSHARE_URL=self.ngshare_url,
        )
        proc = subprocess.run(
            [
                str(COURSE_VENV / "bin" / "python"),
                "-m",
                "dlcourse.hub.roster",
                "--course",
                course_id(),
                "--instructor",
                INSTRUCTOR,
                "--students",
                str(ROSTER),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"enrolling the demo course failed:\n{proc.stdout}{proc.stderr}")
        print(proc.stdout, end="")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 20.0) -> list[int]:
        """Stop the hub (it stops users' servers and ngshare), then end whatever is left of it.

        Left over means a process whose command line or working folder lies in this hub's state
        folder (ngshare, users' servers, their kernels and terminals) or the proxy of its pid
        file. Returns the pids that had to be ended that way.
        """
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self._end_leftovers()

    def _end_leftovers(self) -> list[int]:
        import psutil

        state = str(self.state)
        mine = set()
        pid_file = self.state / "proxy.pid"
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            mine.add(int(pid_file.read_text().strip()))
        for p in psutil.process_iter(["pid", "cmdline", "cwd"]):
            try:
                if state in " ".join(p.info["cmdline"] or []) or (p.info["cwd"] or "").startswith(state):
                    mine.add(p.info["pid"])
            except (psutil.Error, TypeError):
                continue
        mine.discard(os.getpid())
        procs = []
        for pid in mine:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                pass
        for p in procs:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        return sorted(p.pid for p in procs)

    def __enter__(self) -> DemoHub:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _ignore_stop_signals() -> None:
    """A second Ctrl-C (or kill) must not cut the clean-up short."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub/demo.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--state",
        type=Path,
        default=REPO / ".make" / "hub" / "state",
        help="folder for the hub's state (made afresh; default: %(default)s)",
    )
    parser.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default: 8000)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops it as Ctrl-C does
    hub = DemoHub(args.state, args.port)
    try:
        hub.start()
        print(
            f"\nDemonstration hub (loopback only): {hub.url}\n"
            f"  users: {INSTRUCTOR} (Formgrader; a terminal for `make autograde A=ps1`), "
            f"{', '.join(r.split(',')[0] for r in ROSTER.read_text().splitlines()[1:])} (Assignment List)\n"
            f"  password (shared, demonstration only): {hub.password}\n"
            f"  instructor's course: {hub.course}\n  hub log: {hub.log_path}\nCtrl-C stops it."
        )
        while hub.proc.poll() is None:
            time.sleep(1)
        print(f"the hub exited with {hub.proc.returncode}; its log ends:\n{hub.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _ignore_stop_signals()
        print("\nstopping the hub ...")
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        _ignore_stop_signals()
        hub.stop()


if __name__ == "__main__":
    sys.exit(main())

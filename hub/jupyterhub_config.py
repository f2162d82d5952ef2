"""JupyterHub for the course on one machine: the demonstration hub (`make hub`, the browser test).

DEMONSTRATION ONLY. Everyone who can reach the port can log in as any listed user with the one
shared password, and every user's server runs as the same Unix user with no isolation between
them (SimpleLocalProcessSpawner). For a class, keep the rest of this file and change the two
parts marked "CLASS:" as ``book/jupyterhub.md`` shows (LTI 1.3 login, a spawner per Unix user).

What it sets up (every value is read from the environment that ``hub/demo.py`` prepares):

- the hub on ``http://127.0.0.1:$DLCOURSE_HUB_PORT`` (loopback only), its own API and the
  proxy's API on two more loopback ports; configurable-http-proxy from ``.make/hub/npm``;
- users: ``instructor`` (grader: Formgrader, ``make autograde`` in a terminal) and the
  students of ``hub/demo_roster.csv`` (Assignment List);
- every user's server runs the course environment (``.venv/bin/jupyterhub-singleuser``) with
  ``hub/etc/jupyter`` first on ``JUPYTER_CONFIG_PATH``: nbgrader's exchange is ngshare
  (``dlcourse.hub.exchange``, strict); students' servers also get ``hub/etc/student``
  (no Formgrader, no Create Assignment);
- ngshare as a managed hub service (``hub/ngshare_service.py --loopback``: bound to loopback),
  its database and files under ``$DLCOURSE_HUB_STATE/ngshare``; ``instructor`` is its admin.
"""

import csv
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (injected by traitlets when JupyterHub loads this file)

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ["DLCOURSE_HUB_STATE"]).resolve()
HOST = "127.0.0.1"
PORT = int(os.environ["DLCOURSE_HUB_PORT"])
HUB_API_PORT = int(os.environ["DLCOURSE_HUB_API_PORT"])
PROXY_API_PORT = int(os.environ["DLCOURSE_PROXY_API_PORT"])
NGSHARE_PORT = int(os.environ["DLCOURSE_NGSHARE_PORT"])
COURSE_VENV = Path(os.environ.get("DLCOURSE_COURSE_VENV", REPO / ".venv"))
INSTRUCTOR = "instructor"
with open(REPO / "hub" / "demo_roster.csv", newline="", encoding="utf-8") as f:
    STUDENTS = [row["student_id"] for row in csv.DictReader(f)]

# --- the hub, its proxy and its state: loopback only ------------------------------------------
c.JupyterHub.bind_url = f"http://{HOST}:{PORT}"
c.JupyterHub.hub_bind_url = f"http://{HOST}:{HUB_API_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://{HOST}:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.command = [
    str(REPO / ".make" / "hub" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# --- CLASS: who may log in. Demonstration: one shared password (DLCOURSE_HUB_PASSWORD). --------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["DLCOURSE_HUB_PASSWORD"]
c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}

# --- CLASS: where users' servers run. Demonstration: one Unix user, a home folder each. ---------
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(COURSE_VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120  # a busy 2-core machine needs ~20 s to start JupyterLab
c.Spawner.start_timeout = 120

NGSHARE_URL = f"http://{HOST}:{NGSHARE_PORT}/services/ngshare"
ETC = REPO / "hub" / "etc"


def _user_environment(spawner):
    """Course tools on PATH, the exchange configuration, and the students' extra settings."""
    config_path = [str(ETC / "jupyter")]
    if spawner.user.name != INSTRUCTOR:
        config_path.insert(0, str(ETC / "student"))
    spawner.environment.update(
        {
            "PATH": os.pathsep.join([str(COURSE_VENV / "bin"), os.environ.get("PATH", "/usr/bin:/bin")]),
            "JUPYTER_CONFIG_PATH": os.pathsep.join(config_path),
            "DLCOURSE_NGSHARE_URL": NGSHARE_URL,
        }
    )


c.Spawner.pre_spawn_hook = _user_environment

# --- ngshare: the exchange, as a service managed by the hub -------------------------------------
c.JupyterHub.services = [
    {
        "name": "ngshare",
        "url": f"http://{HOST}:{NGSHARE_PORT}",
        "command": [
            sys.executable,
            str(REPO / "hub" / "ngshare_service.py"),
            "--loopback",
            "--admins",
            INSTRUCTOR,
            "--database",
            f"sqlite:///{STATE / 'ngshare' / 'ngshare.db'}",
            "--storage",
            str(STATE / "ngshare" / "files"),
        ],
        "oauth_no_confirm": True,
    }
]

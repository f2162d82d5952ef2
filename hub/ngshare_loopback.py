"""Start ngshare (the exchange service) on loopback only; refuse to start where it would lose data.

The one-machine hub (``hub/jupyterhub_config.py``) runs this as its managed ``ngshare`` service
with ngshare's own command-line arguments. Two things differ from ``python -m ngshare``:

- ngshare 0.6.0 listens on every interface (``0.0.0.0``) at the port of the service URL that
  the hub gives it. On one machine the hub and the users' servers reach it over loopback, and
  nothing else should reach it, so the address is replaced by ``127.0.0.1``.
- Under SQLAlchemy 2 ngshare 0.6.0 answers "success" to a release or a submission that it never
  stores (its new objects are not added to the database session). It refuses to start there:
  ``hub/requirements-hub.txt`` pins SQLAlchemy 1.4.
"""

import sys

import sqlalchemy
from ngshare import ngshare as ngshare_app
from tornado.httpserver import HTTPServer

LOOPBACK = "127.0.0.1"


class LoopbackHTTPServer(HTTPServer):
    """tornado's HTTP server that listens on loopback whatever address it is asked for."""

    def listen(self, port, address="", **kwargs):
        super().listen(port, LOOPBACK, **kwargs)


def main(argv: list[str]) -> None:
    major = int(sqlalchemy.__version__.split(".")[0])
    if major >= 2:
        sys.exit(f"ngshare 0.6.0 does not store releases or submissions under SQLAlchemy "
                 f"{sqlalchemy.__version__} (it reports success all the same): install "
                 "hub/requirements-hub.txt, which pins SQLAlchemy<2 (make hub-setup)")
    ngshare_app.HTTPServer = LoopbackHTTPServer
    ngshare_app.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

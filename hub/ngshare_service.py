"""Start ngshare (the exchange service), refusing where it would lose data; optionally on loopback.

::

    python hub/ngshare_service.py [--loopback] NGSHARE_ARGUMENTS...

Runs ngshare 0.6.0's own ``main`` with its own arguments (``--admins``, ``--database``,
``--storage``, ...). Two things differ from ``python -m ngshare``:

- Under SQLAlchemy 2 ngshare 0.6.0 answers "success" to a release or a submission that it never
  stores (its new objects are not added to the database session). It refuses to start there;
  ``hub/requirements-hub.txt`` and ``hub/ngshare.Dockerfile`` pin SQLAlchemy 1.4.
- ngshare listens on every interface (``0.0.0.0``) at the port of the service URL the hub gives it.
  With ``--loopback`` (the one-machine hub, ``hub/jupyterhub_config.py``) it listens on
  ``127.0.0.1`` instead: the hub and the users' servers reach it over loopback, nothing else
  should. On Kubernetes (no ``--loopback``) it must listen on the pod's address.
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
        sys.exit(
            f"ngshare 0.6.0 does not store releases or submissions under SQLAlchemy "
            f"{sqlalchemy.__version__} (it reports success all the same): install "
            "hub/requirements-hub.txt, which pins SQLAlchemy 1.4 (make hub-setup)"
        )
    if "--loopback" in argv:
        argv = [a for a in argv if a != "--loopback"]
        ngshare_app.HTTPServer = LoopbackHTTPServer
    ngshare_app.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

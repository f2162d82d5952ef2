"""The course on JupyterHub: nbgrader's exchange over ngshare, with every failure reported.

This is a top-level package of its own (not ``dlcourse.hub``) because it is imported inside every
student's Jupyter server: ``import dlcourse`` loads torch (about 2.5 s and 220 MB per server),
which the exchange does not need. It is installed with the course (``pip install -e .``) and
imports nothing heavier than nbgrader and ngshare_exchange.

- :mod:`dlcourse_hub.exchange`: ngshare_exchange's classes made strict (a failed request raises,
  every write is read back) and :func:`~dlcourse_hub.exchange.configure` for ``nbgrader_config.py``.
"""

__all__: list[str] = []

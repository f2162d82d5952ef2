"""The course on JupyterHub: nbgrader's exchange over ngshare, with every failure reported.

It is imported inside every student's Jupyter server, so it imports nothing heavier than nbgrader
and ngshare_exchange (``import dlcourse`` itself is light: the package loads torch only when a
numerical part is used).

- :mod:`dlcourse.hub.exchange`: ngshare_exchange's classes made strict (a failed request raises,
  every write is read back) and :func:`~dlcourse.hub.exchange.configure` for ``nbgrader_config.py``.
"""

__all__: list[str] = []

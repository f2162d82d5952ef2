"""dlcourse: the reference package of the dlcourse textbook.

Every chapter of the book imports what it reuses from here. The package is five things:

* **the numerics the chapters teach**, each written out from its formula and tested against
  PyTorch: :mod:`~dlcourse.optim` (one module per optimizer, and the 2-D layer the figures use),
  :mod:`~dlcourse.losses`, :mod:`~dlcourse.activations`, :mod:`~dlcourse.regularization`,
  :mod:`~dlcourse.init`, :mod:`~dlcourse.backprop` (a network with a hand-written backward pass);
* **training helpers**: :mod:`~dlcourse.data` (offline data sets), :mod:`~dlcourse.train` (the
  training loop, the learning-rate range test, schedules), :mod:`~dlcourse.augment`,
  :mod:`~dlcourse.stacked` (an experiment's seeds and settings trained at once as one stack);
* **pictures**: :mod:`~dlcourse.landscapes` (the pure computations behind the figures) and
  :mod:`~dlcourse.widgets` (the interactive figures, in Jupyter and live on the static page;
  :mod:`dlcourse.live` is the name the chapters import the live ones by);
* **exercise self-checks**: :mod:`~dlcourse.exercises` (one module per chapter, one harness);
* **grading**: :mod:`~dlcourse.grading`, the nbgrader workflow of the course with its
  :mod:`~dlcourse.grading.sandbox` and :mod:`~dlcourse.grading.cheats` subpackages
  (``python -m dlcourse.grading``), and :mod:`~dlcourse.hub`, the strict ngshare exchange of the
  course on JupyterHub (``hub/`` holds the deployment).

Shared by all: :mod:`~dlcourse.device` (``get_device``, ``seed_everything``) and
:mod:`~dlcourse.validate` (the argument checks and their one contract).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "available_devices", "get_device", "seed_everything"]

_DEVICE_NAMES = ("available_devices", "get_device", "seed_everything")


def __getattr__(name: str):
    """``dlcourse.get_device`` and friends, imported on first use: ``import dlcourse`` stays light
    (no torch) for the parts that do not compute, such as the JupyterHub exchange in every
    student's server and the grading sandbox's kernel launcher."""
    if name in _DEVICE_NAMES:
        from . import device

        return getattr(device, name)
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")

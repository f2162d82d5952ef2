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
  (``python -m dlcourse.grading``).

Shared by all: :mod:`~dlcourse.device` (``get_device``, ``seed_everything``) and
:mod:`~dlcourse.validate` (the argument checks and their one contract).
"""

from .device import available_devices, get_device, seed_everything

__version__ = "0.1.0"

__all__ = ["__version__", "available_devices", "get_device", "seed_everything"]

"""dlcourse: the reference package of the dlcourse textbook.

Every chapter of the book imports what it reuses from here. Each module owns one idea:
``optim`` (optimizers written out from their update rules), ``losses``, ``activations``,
``regularization``, ``init``, ``backprop`` (a network with a hand-written backward pass),
``data``, ``train``, ``augment``, ``landscapes`` and ``widgets`` (the interactive figures),
and ``grading`` (instructor tooling).
"""

from .device import available_devices, get_device, seed_everything

__version__ = "0.1.0"

__all__ = ["__version__", "available_devices", "get_device", "seed_everything"]

r"""Optimizers written out from their update rules, step for step as ``torch.optim`` runs them.

Each class is a :class:`torch.optim.Optimizer` (so ``zero_grad``, ``state_dict`` /
``load_state_dict``, parameter groups and ``torch.optim.lr_scheduler`` work with it) whose
``_update`` method is the algorithm: one line of code per line of the ``.. math::`` block in the
class docstring. Constructor arguments, defaults, argument checks, state names (``step``,
``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``acc_delta``, ``exp_avg``,
``exp_avg_sq``, ``max_exp_avg_sq``) and the order of floating-point operations follow
``torch.optim``'s single-tensor path, so results agree with it to rounding and state dicts can be
exchanged both ways. Not supported: sparse or complex gradients, ``foreach``/``fused``/
``capturable``/``differentiable``.

Notation: :math:`g_t` gradient, :math:`\theta` parameter, :math:`\eta` ``lr``, :math:`\lambda`
``weight_decay``, :math:`\epsilon` ``eps``; products and roots are elementwise.

One module per optimizer (``sgd``, ``adagrad``, ``rmsprop``, ``adadelta``, ``adam``), the shared
step loop in ``_base``, and the 2-D functional layer for the teaching plots, :func:`trajectory`,
and :func:`trajectory_with_grad` (the same for a gradient written out), in ``plane``.
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .plane import OPTIMIZERS, trajectory, trajectory_with_grad
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "trajectory",
    "trajectory_with_grad",
]

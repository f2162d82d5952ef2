r"""The computations behind the book's interactive figures (:mod:`dlcourse.widgets`).

Three small worlds, each a pure function of its parameters that the widgets only draw:

* a quadratic **valley** with condition number :math:`\kappa` and the trajectories of gradient
  descent and momentum on it, with the rates theory predicts;
* a **two-weight least-squares** problem under an L1 or an L2 budget, and the lasso and ridge
  coefficient paths of a regression with many features of which few matter;
* a **saddle** whose loss is the mean of per-example losses, and mini-batch SGD started on it;
* the **optimizer race** (:mod:`~dlcourse.landscapes.race`): every optimizer of
  :mod:`dlcourse.optim`, run by :func:`dlcourse.optim.trajectory`, on one of four surfaces, and
  the learning-rate sweep that tunes each;
* a **deep random network** (:mod:`~dlcourse.landscapes.deepnet`): pre-activations, gradient
  norms, saturated and dead units per layer for an activation and an initialisation.

The last two are used as modules (``from dlcourse.landscapes import race``); their names are not
repeated here.

Everything is float64 and written as plain arithmetic in a documented order, so that the browser
version of the figures (JavaScript) can repeat it operation for operation. Randomness comes from
:func:`xorshift32`, a 32-bit generator that needs only shifts and exclusive-ors, never from
NumPy's ``Generator``; the random numbers used are dyadic fractions (integers divided by a power
of two), so the saddle's mini-batch sums are exact in any summation order and no ``log``/``cos``
of a maths library, whose last bit may differ between languages, is involved.
"""

from .budgets import (
    count_zeros,
    l1_ball_solution,
    l2_ball_solution,
    lasso_path,
    quadratic2_loss,
    ridge_path,
    sparse_regression,
)
from .saddle import (
    SADDLE_EXAMPLES,
    escape_estimate,
    escape_quantiles,
    escape_steps,
    saddle_batch_means,
    saddle_descent,
    saddle_loss,
    saddle_offsets,
    saddle_sgd,
    saddle_sweep,
    xorshift32,
)
from .valley import (
    gradient_descent_rate,
    gradient_descent_trajectory,
    iteration_rate,
    momentum_matrix,
    momentum_trajectory,
    optimal_momentum,
    quadratic_contours,
    valley_loss,
)

__all__ = [
    "valley_loss",
    "gradient_descent_trajectory",
    "momentum_trajectory",
    "momentum_matrix",
    "iteration_rate",
    "optimal_momentum",
    "gradient_descent_rate",
    "quadratic_contours",
    "quadratic2_loss",
    "l2_ball_solution",
    "l1_ball_solution",
    "sparse_regression",
    "lasso_path",
    "ridge_path",
    "count_zeros",
    "SADDLE_EXAMPLES",
    "xorshift32",
    "saddle_loss",
    "saddle_offsets",
    "saddle_batch_means",
    "saddle_descent",
    "saddle_sgd",
    "escape_steps",
    "escape_quantiles",
    "escape_estimate",
    "saddle_sweep",
]

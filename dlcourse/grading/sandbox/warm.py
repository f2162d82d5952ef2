"""torch's first uses, paid once per run rather than once per student.

Part of :mod:`dlcourse.grading.sandbox`; imports nothing of ``dlcourse`` (the warm interpreter
inside the sandbox calls it, and so does the grader's fork server). The first
``torch.testing.assert_close`` alone imports about 500 modules (a second on a busy machine):
every test of a problem set calls it, so a process forked after :func:`warm_torch` starts warm.
Single-threaded on purpose: a process is forked from this one for every student.
"""

from __future__ import annotations

__all__ = ["warm_torch"]


def warm_torch() -> None:
    """Import lazily loaded parts of torch and numpy by using them once, on one thread (the first
    optimizer alone imports torch._dynamo, 300 modules)."""
    import warnings

    import numpy as np
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _use(np, torch)


def _use(np, torch) -> None:
    torch.set_num_threads(1)
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    (torch.nn.functional.softmax(x, 1) * x).sum().backward()
    torch.testing.assert_close(x.detach(), x.detach())
    np.testing.assert_allclose(np.ones(2), np.ones(2))
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    model(x.detach().float()).sum().backward()
    for optimizer in (
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        torch.optim.Adam(model.parameters()),
    ):
        optimizer.step()
        optimizer.zero_grad()
    sgd = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(sgd, lambda step: 1.0)
    sgd.step()
    scheduler.step()

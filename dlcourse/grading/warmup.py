"""Imported once by the fork server (:mod:`dlcourse.grading.proc`): work every process forked from
it would otherwise repeat - SQLAlchemy configures nbgrader's gradebook mappers on first use (about
a third of a second per nbgrader command), and torch loads much of itself on first use
(:func:`dlcourse.grading.sandbox.warm.warm_torch`, about a second per trusted test process)."""

from nbgrader.api import Gradebook  # noqa: F401  (the mappers must exist before they are configured)
from sqlalchemy.orm import configure_mappers

from .sandbox.warm import warm_torch

configure_mappers()
warm_torch()

"""Imported once by the fork server (:mod:`dlcourse.grading.proc`): work every process forked from
it would otherwise repeat (SQLAlchemy configures nbgrader's gradebook mappers on first use, about
a third of a second per nbgrader command)."""

from nbgrader.api import Gradebook  # noqa: F401  (the mappers must exist before they are configured)
from sqlalchemy.orm import configure_mappers

configure_mappers()

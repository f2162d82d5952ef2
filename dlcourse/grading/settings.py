"""The sandbox and grading settings: ONE traitlets ``Configurable``, read from ``nbgrader_config.py``.

Every limit and switch of ``make autograde`` is a trait of :class:`DlcourseGrading`, with its
default and its help text written once, here. The course's ``nbgrader_config.py`` sets any of them
as ``c.DlcourseGrading.<name> = value`` (as for nbgrader's own classes); the command line
(``python -m dlcourse.grading autograde --<name> VALUE``) overrides them for one run, with options
and help generated from the traits (:func:`add_arguments`); ``python -m dlcourse.grading settings``
prints the effective values and a documented config section generated from the same traits.
"""

from __future__ import annotations

import argparse
import os
import re

from traitlets import Bool, Enum, Float, Integer, List, TraitError, Unicode, validate
from traitlets.config import Configurable

__all__ = [
    "DlcourseGrading",
    "ISOLATION_MODES",
    "parse_size",
    "read_settings",
    "add_arguments",
    "overrides_of",
]

ISOLATION_MODES = ("auto", "require", "off")
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(value: int | str, name: str = "size") -> int:
    """Bytes from an int or a string such as ``"4G"``, ``"512M"``, ``"1.5G"`` (powers of 1024)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a string like '4G', got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{name} must be > 0 bytes, got {value}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an int or a string like '4G', got {value!r}")
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)i?B?\s*", value.upper())
    if not match:
        raise ValueError(f"{name} must look like '4G', '512M' or a number of bytes, got {value!r}")
    size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size <= 0:
        raise ValueError(f"{name} must be > 0 bytes, got {value!r}")
    return size


_SIZES = ("memory", "file_size", "disk")


class DlcourseGrading(Configurable):
    """Sandbox and grading settings of ``make autograde`` (``c.DlcourseGrading.<name>``)."""

    isolation = Enum(
        ISOLATION_MODES,
        default_value="auto",
        help="auto: isolate each student's process where this machine allows it (bubblewrap and "
        "Linux namespaces) and say so in one line when it cannot; require: refuse to grade without "
        "isolation; off: no isolation (the resource limits and time limits still apply)",
    ).tag(config=True)
    timeout = Float(
        300.0,
        help="wall time of one student's whole grading in seconds (running the notebook and every "
        "test); past it the student is recorded as timed out and the run goes on",
    ).tag(config=True)
    cell_timeout = Float(
        30.0,
        help="seconds one cell of the student's notebook, or one call of a student's function by a "
        "test, may run before it is interrupted (the cell or test then fails)",
    ).tag(config=True)
    memory = Unicode(
        "4G",
        help="address space of the student's process, e.g. 4G (the pre-loaded interpreter with "
        "torch already uses about 0.8 GiB of it)",
    ).tag(config=True)
    cpu_seconds = Integer(600, help="CPU seconds of each of the student's processes").tag(config=True)
    nproc = Integer(
        256,
        help="processes and threads of the student (RLIMIT_NPROC; effective when the grader runs as "
        "root, which gives every student a user id of its own)",
    ).tag(config=True)
    file_size = Unicode("256M", help="largest file the student's code may write, e.g. 256M").tag(config=True)
    disk = Unicode(
        "1G",
        help="size of all the student's writable space together (working copy, /tmp, /dev/shm)",
    ).tag(config=True)
    files = Integer(
        20_000, help="files and folders the student's writable space may hold, all places together"
    ).tag(config=True)
    output_bytes = Integer(
        200_000, help="characters of text output kept per cell (the rest is cut, and the report says so)"
    ).tag(config=True)
    media_bytes = Integer(
        4_000_000,
        help="bytes of images (outputs and markdown attachments) kept per submission; larger ones are "
        "replaced by a note",
    ).tag(config=True)
    submission_bytes = Integer(
        50_000_000, help="largest submitted notebook file graded; a larger one scores 0 with a report line"
    ).tag(config=True)
    jobs = Integer(0, help="students graded in parallel (0: the number of CPU cores)").tag(config=True)
    review = Bool(
        True,
        help="static scan of the student's code for tampering with the in-process checks (banned "
        "functions, operation counts); a flagged submission that scored is withheld for review",
    ).tag(config=True)
    preload = List(
        Unicode(),
        default_value=[
            "numpy",
            "torch",
            "matplotlib.pyplot",
            "matplotlib_inline.backend_inline",
            "sklearn.datasets",
        ],
        help="modules the warm interpreter imports once per run, before any student code (each "
        "student's process is forked from it, so `import torch` costs nothing per student)",
    ).tag(config=True)

    @validate(*_SIZES)
    def _valid_size(self, proposal):
        name = proposal["trait"].name
        try:
            parse_size(proposal["value"], name)
        except (TypeError, ValueError) as err:
            raise TraitError(str(err)) from None
        return proposal["value"]

    @validate("timeout", "cell_timeout")
    def _valid_seconds(self, proposal):
        if not proposal["value"] > 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0 seconds, got {proposal['value']}")
        return proposal["value"]

    @validate("cpu_seconds", "nproc", "files", "output_bytes", "media_bytes", "submission_bytes")
    def _valid_positive(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0, got {proposal['value']}")
        return proposal["value"]

    @validate("jobs")
    def _valid_jobs(self, proposal):
        if proposal["value"] < 0:
            raise TraitError(f"jobs must be >= 0 (0: one per core), got {proposal['value']}")
        return proposal["value"]

    def bytes_of(self, name: str) -> int:
        """A size setting (``memory``, ``file_size``, ``disk``) in bytes."""
        if name not in _SIZES:
            raise ValueError(f"name must be one of {_SIZES}, got {name!r}")
        return parse_size(getattr(self, name), name)

    @property
    def workers(self) -> int:
        """Students graded at once."""
        return self.jobs or os.cpu_count() or 1

    def limits(self) -> dict:
        """What the sandbox applies to a student's process, as plain data."""
        return {
            "memory": self.bytes_of("memory"),
            "cpu_seconds": self.cpu_seconds,
            "nproc": self.nproc,
            "file_size": self.bytes_of("file_size"),
            "disk": self.bytes_of("disk"),
            "files": self.files,
            "nofile": 1024,
            "output_bytes": self.output_bytes,
        }

    def summary(self) -> str:
        """One line with the limits, for the isolation notice."""
        return (
            f"memory {self.bytes_of('memory') / 2**30:.1f} GiB, CPU {self.cpu_seconds} s, "
            f"files {self.bytes_of('file_size') / 2**20:.0f} MiB, disk {self.bytes_of('disk') / 2**20:.0f} MiB"
            f" in {self.files} files, {self.cell_timeout:g} s per cell, {self.timeout:g} s per student"
        )


def _own_traits() -> dict:
    return DlcourseGrading.class_own_traits(config=True)


def read_settings(course_root, **overrides) -> DlcourseGrading:
    """Settings from ``c.DlcourseGrading`` of the course's ``nbgrader_config.py``, then ``overrides``.

    ``overrides`` take the trait names; ``None`` means "not given". An unknown name, in the file
    or in ``overrides``, or a bad value raises ``ValueError``/``TypeError`` naming it.
    """
    from traitlets.config.loader import PyFileConfigLoader

    known = _own_traits()
    unknown = set(overrides) - set(known)
    if unknown:
        raise TypeError(f"unknown grading settings {sorted(unknown)}; expected {sorted(known)}")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    section = config.DlcourseGrading if "DlcourseGrading" in config else {}
    bad = set(section) - set(known)
    if bad:
        raise ValueError(f"c.DlcourseGrading has unknown settings {sorted(bad)}; expected {sorted(known)}")
    try:
        settings = DlcourseGrading(config=config)
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
    except TraitError as err:
        raise ValueError(str(err).splitlines()[0]) from None
    return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One command-line option per setting, its help and type taken from the trait."""
    for name, trait in sorted(_own_traits().items()):
        if isinstance(trait, List):
            continue  # lists are set in nbgrader_config.py
        flag = "--" + name.replace("_", "-")
        default = trait.default()
        text = f"{trait.help} (default: {default!r}; c.DlcourseGrading.{name})"
        if isinstance(trait, Bool):
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        elif isinstance(trait, Enum):
            parser.add_argument(flag, dest=name, choices=list(trait.values), default=None, help=text)
        else:
            kind = {Integer: int, Float: float}.get(type(trait), str)
            parser.add_argument(flag, dest=name, type=kind, default=None, metavar=name.upper(), help=text)


def overrides_of(args: argparse.Namespace) -> dict:
    """The settings given on the command line (``None`` for the others)."""
    return {name: getattr(args, name, None) for name in _own_traits() if hasattr(args, name)}

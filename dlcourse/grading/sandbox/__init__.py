"""Run student code in isolated, resource-limited kernels (for ``make autograde``).

Plain nbgrader executes a submission in a kernel with the grader's rights. This module gives
nbgrader a kernelspec whose launcher (:mod:`dlcourse.grading.sandbox.launch`) starts ``ipykernel``
under bubblewrap with no network, a private view of the files, its own process tree, an
unprivileged user id when grading as root, and rlimits (:class:`Limits`).

Per student, the grading code calls :func:`grading_config` once and passes the result to its
nbgrader process::

    setup = sandbox.grading_config(run_dir, Limits(memory="4G"), hide=[course_root])
    print(setup.notice)                      # one line: isolation ON, or UNAVAILABLE and why
    nbgrader autograde ... *setup.args       # with os.environ | setup.env

``run_dir`` is a private folder for this student's run (kernelspec and IPC sockets); remove it
afterwards. Where bubblewrap or namespaces are missing the kernel still starts, with the
rlimits and a process-group kill, and ``setup.notice`` says so (``isolation="require"`` makes
the kernel refuse to start instead).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .limits import Limits, SandboxSupport, parse_size, probe

__all__ = [
    "Limits",
    "SandboxSupport",
    "GradingSetup",
    "probe",
    "parse_size",
    "install_kernelspec",
    "grading_config",
    "KERNEL_NAME",
]

KERNEL_NAME = "dlcourse-sandbox"
ISOLATION_MODES = ("auto", "require", "off")


def install_kernelspec(
    directory: str | os.PathLike,
    limits: Limits | None = None,
    *,
    isolation: str = "auto",
    hide: tuple[str, ...] | list[str] = (),
    read_only: tuple[str, ...] | list[str] = (),
    name: str = KERNEL_NAME,
) -> str:
    """Write ``<directory>/kernels/<name>/kernel.json`` for the sandbox launcher; return the name.

    ``directory`` becomes a Jupyter data folder: put it first on ``JUPYTER_PATH`` for the grading
    process. ``hide`` lists folders that must stay invisible even if below a read-only path;
    ``read_only`` lists extra folders the kernel may read (a data set, say).
    """
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a dlcourse.grading.sandbox.Limits, got {type(limits).__name__}")
    if isolation not in ISOLATION_MODES:
        raise ValueError(f"isolation must be one of {ISOLATION_MODES}, got {isolation!r}")
    if not name or "/" in name:
        raise ValueError(f"name must be a folder name, got {name!r}")
    from . import launch  # run by path: importing the dlcourse package would import torch

    launcher = str(Path(launch.__file__).resolve())
    argv = [
        sys.executable,
        launcher,
        "-f",
        "{connection_file}",
        f"--isolation={isolation}",
        *limits.to_args(),
    ]
    argv += [f"--hide={os.path.abspath(p)}" for p in hide]
    argv += [f"--ro={os.path.abspath(p)}" for p in read_only]
    spec = {
        "argv": argv,
        "display_name": "Python 3 (dlcourse sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    folder = Path(directory) / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return name


@dataclass(frozen=True)
class GradingSetup:
    """What one nbgrader process needs to run its kernels in the sandbox.

    ``config``: traitlets config to merge (``{"KernelManager": {...}, "Execute": {...}}``);
    ``args``: the same as nbgrader command-line options; ``env``: environment variables for the
    nbgrader process (``JUPYTER_PATH`` finds the kernelspec); ``notice``: the one line to print.
    """

    kernel_name: str
    config: dict
    args: tuple[str, ...]
    env: dict = field(default_factory=dict)
    notice: str = ""
    support: SandboxSupport | None = None


def grading_config(
    run_dir: str | os.PathLike,
    limits: Limits | None = None,
    *,
    isolation: str = "auto",
    hide: tuple[str, ...] | list[str] = (),
    read_only: tuple[str, ...] | list[str] = (),
    support: SandboxSupport | None = None,
) -> GradingSetup:
    """Prepare ``run_dir`` (kernelspec, IPC socket folder) for one grading process.

    The kernel is reached over IPC sockets named ``<run_dir>/ipc/k-<n>``: with its network
    cut, TCP on 127.0.0.1 would not reach it. The prefix must be absolute (a relative one breaks
    even a plain kernel). Pass ``support`` (from :func:`probe`) to probe once for many students.
    """
    limits = Limits() if limits is None else limits
    run_dir = Path(run_dir).resolve()
    support = probe() if support is None else support
    ipc = run_dir / "ipc"
    ipc.mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)  # only the grader reaches the sockets from outside
    os.chmod(ipc, 0o1777)  # the kernel's own user id creates its sockets here
    name = install_kernelspec(
        run_dir / "jupyter", limits, isolation=isolation, hide=hide, read_only=read_only
    )
    config = {"KernelManager": {"transport": "ipc", "ip": str(ipc / "k")}, "Execute": {"kernel_name": name}}
    args = tuple(f"--{cls}.{key}={value}" for cls, traits in config.items() for key, value in traits.items())
    path = os.pathsep.join([str(run_dir / "jupyter"), os.environ.get("JUPYTER_PATH", "")])
    notice = support.notice(limits) if isolation != "off" else "sandbox: isolation OFF (asked for)"
    return GradingSetup(name, config, args, {"JUPYTER_PATH": path.rstrip(os.pathsep)}, notice, support)


def _cli(argv: list[str]) -> int:
    if argv[:1] == ["kernel"]:
        from .launch import main

        return main(argv[1:])
    if argv[:1] == ["probe"]:
        support = probe()
        print(support.notice())
        return 0 if support.isolated else 1
    print(
        "usage: python -m dlcourse.grading.sandbox {probe | kernel -f CONNECTION_FILE [options]}",
        file=sys.stderr,
    )
    return 2

"""The grading settings: one traitlets Configurable, read from nbgrader_config.py and the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dlcourse.grading import main
from dlcourse.grading.settings import DlcourseGrading, add_arguments, overrides_of, parse_size, read_settings

ROOT = Path(__file__).resolve().parents[1]


def _course(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "nbgrader_config.py").write_text(
        (ROOT / "assignments" / "nbgrader_config.py").read_text() + extra
    )
    return tmp_path


def test_settings_come_from_the_config_then_the_command_line(tmp_path):
    course = _course(
        tmp_path,
        "c.DlcourseGrading.memory = '2G'\nc.DlcourseGrading.nproc = 32\n"
        "c.DlcourseGrading.cell_timeout = 7\nc.DlcourseGrading.isolation = 'require'\n",
    )
    s = read_settings(course)
    assert (s.bytes_of("memory"), s.nproc, s.cell_timeout, s.isolation) == (2 * 2**30, 32, 7.0, "require")
    assert s.bytes_of("file_size") == 256 * 2**20 and s.timeout == 300.0, "the class defaults otherwise"
    s = read_settings(course, memory="3G", cell_timeout=5, isolation="off", file_size="1M", nproc=None)
    assert (s.bytes_of("memory"), s.cell_timeout, s.isolation, s.bytes_of("file_size"), s.nproc) == (
        3 * 2**30,
        5.0,
        "off",
        2**20,
        32,
    )


def test_the_repository_sets_no_default_twice():
    """The course's config leaves every setting to the class (one source of truth)."""
    s = read_settings(ROOT / "assignments")
    for name, trait in DlcourseGrading.class_own_traits(config=True).items():
        assert getattr(s, name) == trait.default(), name
    assert "DlcourseSandbox" not in (ROOT / "assignments" / "nbgrader_config.py").read_text()


@pytest.mark.parametrize(
    "extra, overrides, error, words",
    [
        ("c.DlcourseGrading.memroy = '2G'\n", {}, ValueError, "memroy"),
        ("", {"isolation": "sometimes"}, ValueError, "isolation"),
        ("", {"memory": "lots"}, ValueError, "memory"),
        ("", {"timeout": -1.0}, ValueError, "timeout"),
        ("", {"files": 0}, ValueError, "files"),
        ("", {"cpu": 5}, TypeError, "cpu"),
    ],
)
def test_bad_settings_are_named(tmp_path, extra, overrides, error, words):
    with pytest.raises(error, match=words):
        read_settings(_course(tmp_path, extra), **overrides)


def test_command_line_options_and_help_are_generated_from_the_traits():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help()
    for name, trait in DlcourseGrading.class_own_traits(config=True).items():
        if name == "preload":
            continue
        flag = "--" + name.replace("_", "-")
        assert flag in text, flag
        assert trait.help.split()[0] in text, f"the help of {name} comes from its trait"
    args = parser.parse_args(["--memory", "2G", "--no-review", "--isolation", "off", "--jobs", "3"])
    given = {k: v for k, v in overrides_of(args).items() if v is not None}
    assert given == {"memory": "2G", "review": False, "isolation": "off", "jobs": 3}


def test_settings_command_prints_values_and_documentation(capsys):
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "cell_timeout" in out and "c.DlcourseGrading.timeout" in out and "wall time" in out


def test_parse_size():
    assert parse_size("4G") == 4 * 2**30
    assert parse_size("1.5M") == 1572864
    assert parse_size(123) == 123
    with pytest.raises(ValueError, match="memory"):
        parse_size("4 lots", "memory")
    with pytest.raises(TypeError, match="disk"):
        parse_size(True, "disk")


def test_isolation_required_but_unavailable_stops_before_grading(tmp_path, capsys):
    from dlcourse.grading.course import Course
    from dlcourse.grading.sandbox import SandboxSupport
    from dlcourse.grading.workflow import autograde

    course = Course(_course(tmp_path, ""))
    missing = SandboxSupport("linux", None, False, False, "bubblewrap is not installed")
    with pytest.raises(RuntimeError, match="isolation required"):
        autograde(course, settings=read_settings(course.root, isolation="require"), support=missing)
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("sandbox: isolation UNAVAILABLE (bubblewrap is not installed)")
    assert not (tmp_path / "backups").exists(), "nothing was touched"

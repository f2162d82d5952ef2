#!/usr/bin/env bash
# An instructor's working copy of the course, in their own server on the hub.
#
#   dlcourse-instructor-setup [DIR]      # in the course image (hub/Dockerfile); DIR: ~/dlcourse
#
# Copies the course (Makefile, the dlcourse package, assignments/ with its configuration and
# sources) from DLCOURSE_SOURCE (default /opt/dlcourse, where the image keeps it) unless DIR
# exists; links DIR/.venv to the environment that is already installed (DLCOURSE_ENV, default
# /usr/local: the image's, from the same requirements.txt) and marks it installed, so that
# `make release`, `make autograde` and `make feedback` run in DIR without installing anything;
# sets the sandbox to DLCOURSE_ISOLATION (default "require": on the hub, grading refuses to run
# students' code without the sandbox rather than with the instructor's rights); and writes
# ~/nbgrader_config.py, through which the Formgrader (which reads the folder the server starts
# in) finds the course. The demonstration hub (hub/demo.py) runs it too, with the repository as
# the source and its .venv as the environment.
set -euo pipefail

dest="${1:-$HOME/dlcourse}"
src="${DLCOURSE_SOURCE:-/opt/dlcourse}"
env="${DLCOURSE_ENV:-/usr/local}"
isolation="${DLCOURSE_ISOLATION:-require}"
case "$isolation" in auto|require|off) ;; *) echo "DLCOURSE_ISOLATION must be auto, require or off, got '$isolation'" >&2; exit 2 ;; esac
case "$dest" in "$HOME"/*) ;; *) echo "DIR must be inside your home folder ($HOME), where the Formgrader can see it; got '$dest'" >&2; exit 2 ;; esac
[ -x "$env/bin/python" ] || { echo "no Python environment at $env (DLCOURSE_ENV)" >&2; exit 1; }

if [ -e "$dest" ]; then
  echo "$dest exists: kept as it is (only its environment link and settings are checked)"
else
  mkdir -p "$dest/assignments"
  cp -r "$src/Makefile" "$src/pyproject.toml" "$src/README.md" "$src/requirements.txt" \
        "$src/dlcourse" "$dest/"
  cp "$src/assignments/nbgrader_config.py" "$dest/assignments/"
  cp -r "$src/assignments/source" "$dest/assignments/"
  find "$dest" -name __pycache__ -prune -exec rm -rf {} +
  echo "course copied from $src to $dest"
fi

ln -sfn "$env" "$dest/.venv"
mkdir -p "$dest/.make" && touch "$dest/.make/installed"

config="$dest/assignments/nbgrader_config.py"
if ! grep -q "^c.DlcourseGrading.isolation = \"$isolation\"  # hub" "$config"; then
  printf '\n# Set by dlcourse-instructor-setup for grading on the hub.\nc.DlcourseGrading.isolation = "%s"  # hub\n' \
    "$isolation" >> "$config"
fi

if [ ! -e "$HOME/nbgrader_config.py" ]; then
  printf '"""The course for the Formgrader (written by dlcourse-instructor-setup)."""\nc = get_config()  # noqa: F821\nload_subconfig("%s")  # noqa: F821\n' \
    "${config#"$HOME"/}" > "$HOME/nbgrader_config.py"
fi
echo "ready: cd ${dest/#$HOME/~} && make release A=ps1   (the Formgrader shows the course after a restart of your server)"
"$env/bin/python" -m dlcourse.grading.sandbox probe || true

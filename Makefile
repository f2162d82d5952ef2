# dlcourse: every command a reader, learner or instructor needs. Run `make help` for the list.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := .make
VENDOR := book/_vendor

# Web assets for offline pages (math and widgets); versions pinned here.
NPM_PKGS := mathjax@3.2.2 requirejs@2.3.7 @jupyter-widgets/html-manager@1.0.15
# For the tests only, never copied into the site: the accessibility audit of every built page
# (tests/test_accessibility.py reads $(STAMP)/npm/node_modules/axe-core/axe.min.js).
NPM_TEST_PKGS := axe-core@4.14.1
CDN_MATHJAX := https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js
CDN_REQUIRE := https://cdn.jsdelivr.net/npm/requirejs@2.3.7/require.js
CDN_EMBED   := https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.15/dist/embed-amd.js

A    ?=
ARGS ?=
JOBS ?=
SRC  ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Tools that the course's Python packages call by name (nbgrader runs `alembic`) come from the venv.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help setup assets downloads book book-fast test test-fast lint lab clean release collect autograde feedback grades withheld formgrader bench hub hub-setup

help:
	@echo "make book        build the website into _build/html (strict; executes every chapter)"
	@echo "make book-fast   rebuild, re-executing only changed chapters (the author's loop)"
	@echo "make test        run the whole test suite (includes a strict book build)"
	@echo "make test-fast   the suite without the book build, grading runs and browser (the edit loop)"
	@echo "make lint        ruff: lint and format check"
	@echo "make lab         open the chapters in JupyterLab"
	@echo "make release [A=ps1]                 release student versions of the assignments"
	@echo "make collect SRC=dir_or_zip A=ps1    take in downloaded submissions"
	@echo "make autograde A=ps1 [JOBS=n] [STUDENT=id]  grade every submission of an assignment (or one student's)"
	@echo "make feedback A=ps1 [ALLOW_PENDING=1] HTML feedback per student (refuses ungraded written answers)"
	@echo "make grades                          the gradebook as CSV (ungraded written answers: pending)"
	@echo "make withheld [A=ps1 RELEASE=id]     scores withheld for review; release one"
	@echo "make formgrader [PORT=8888]          JupyterLab at the course root, with the Formgrader"
	@echo "make hub [PORT=8000]  a demonstration JupyterHub on loopback: an instructor, two students"
	@echo "make hub-setup   install what the hub needs (JupyterHub, ngshare, the proxy); make hub does it"
	@echo "make clean       remove build outputs"

# --- set-up: the virtual environment, reinstalled only when the pins change ---------------
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP)/installed: requirements.txt pyproject.toml | $(VENV)/bin/python
	@mkdir -p $(STAMP)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# JupyterLab's settings for the course environment (binder/postBuild installs the same file): no
# "get notified about news?" pop-up and no update check, nothing for the learner to click away.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

setup: $(STAMP)/installed assets $(LAB_OVERRIDES)

$(LAB_OVERRIDES): binder/overrides.json $(STAMP)/installed
	@mkdir -p $(dir $@)
	cp $< $@

# --- web assets: MathJax, require.js and the widget manager served with the site ------------
assets: $(VENDOR)/.stamp

# The live widgets (dlcourse/widgets/live.py, anywidget) need anywidget's loader, which the widget
# manager would otherwise fetch from a CDN: it comes with the pip package, and a small script
# (dlcourse/widgets/static/page_config.js, loaded between require.js and embed-amd.js) points require.js
# at it and keeps FontAwesome from breaking the widgets' icons.
ANYWIDGET_JS := $(VENV)/share/jupyter/nbextensions/anywidget/index.js

$(VENDOR)/.stamp: Makefile dlcourse/widgets/static/page_config.js
	@rm -rf $(VENDOR) && mkdir -p $(VENDOR)/mathjax $(VENDOR)/requirejs $(VENDOR)/html-manager $(VENDOR)/anywidget
	@if command -v npm >/dev/null 2>&1 && npm install --prefix $(STAMP)/npm --no-audit --no-fund --silent $(NPM_PKGS) $(NPM_TEST_PKGS); then \
	  cp -r $(STAMP)/npm/node_modules/mathjax/es5/. $(VENDOR)/mathjax/ && \
	  cp $(STAMP)/npm/node_modules/requirejs/require.js $(VENDOR)/requirejs/ && \
	  find $(STAMP)/npm/node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f ! -name '*.map' \
	    -exec cp {} $(VENDOR)/html-manager/ \; && \
	  echo "web assets: MathJax, require.js and the widget manager installed from npm (pages work offline)"; \
	else \
	  echo "web assets: npm not found or failed; the pages will load MathJax and the widget manager from the public CDN"; \
	  echo "(function(){var s=document.createElement('script');s.src='$(CDN_MATHJAX)';s.async=true;document.head.appendChild(s);})();" > $(VENDOR)/mathjax/tex-mml-chtml.js; \
	  echo "document.write('<script src=\"$(CDN_REQUIRE)\"><\/script>');" > $(VENDOR)/requirejs/require.js; \
	  echo "document.write('<script src=\"$(CDN_EMBED)\"><\/script>');" > $(VENDOR)/html-manager/embed-amd.js; \
	fi
	@cp dlcourse/widgets/static/page_config.js $(VENDOR)/anywidget/config.js
	@if [ -f $(ANYWIDGET_JS) ]; then cp $(ANYWIDGET_JS) $(VENDOR)/anywidget/index.js && \
	  echo "web assets: anywidget's loader installed (live widgets work offline)"; \
	else echo "web assets: $(ANYWIDGET_JS) not found (run make setup first): live widgets will not load"; fi
	@touch $@

# --- the book -------------------------------------------------------------------------------
# book/build.py holds the one jupyter-book command line (the tests and the bench use it too).
book: setup downloads
	$(PY) book/build.py

book-fast: setup downloads
	$(PY) book/build.py --fast

# The Assignments page offers the student versions for download: release them first.
downloads: $(STAMP)/installed
	$(PY) -m dlcourse.grading release --quiet

test: setup downloads
	$(PY) -m pytest

# The edit loop: everything but the book build, the grading runs and the browser (about 2 minutes).
test-fast: setup
	$(PY) -m pytest -m "not slow and not browser" -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# JupyterLab renders the chapters' MyST with jupyterlab-myst (pinned in requirements.txt, enabled
# by installing it). The chapters are trusted first (Jupyter's signature database), so that they
# open trusted; the server's root is the repository, so that the chapters' links to the book's pages
# (../book/notation.md) open, and the file browser starts in chapters/.
lab: setup
	@$(VENV)/bin/jupyter trust chapters/*.ipynb >/dev/null
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/chapters

bench: setup downloads
	$(PY) bench/build.py
	$(PY) bench/optim.py
	$(PY) bench/widgets.py
	$(PY) bench/grading.py

# --- the course (nbgrader), one command per step ---------------------------------------------
release: $(STAMP)/installed
	$(PY) -m dlcourse.grading release $(if $(A),--assignment $(A))

collect: $(STAMP)/installed
	$(PY) -m dlcourse.grading collect --source "$(SRC)" --assignment "$(A)"

autograde: $(STAMP)/installed
	$(PY) -m dlcourse.grading autograde --assignment "$(A)" $(if $(STUDENT),--student "$(STUDENT)") $(if $(JOBS),--jobs $(JOBS)) $(ARGS)

feedback: $(STAMP)/installed
	$(PY) -m dlcourse.grading feedback --assignment "$(A)" $(if $(ALLOW_PENDING),--allow-pending)

grades: $(STAMP)/installed
	$(PY) -m dlcourse.grading grades

# Scores withheld for review (a grader error, or the scan found code reaching the grader's
# in-process checks): list them, or release one with `make withheld A=ps1 RELEASE=student_id`.
withheld: $(STAMP)/installed
	$(PY) -m dlcourse.grading withheld $(if $(A),-a "$(A)") $(if $(RELEASE),--release "$(RELEASE)")

# The Formgrader (manual grading) in JupyterLab at the course root, with this environment's
# nbgrader; --allow-root only when run as root. PORT=... serves without opening a browser.
formgrader: $(STAMP)/installed
	$(PY) -m dlcourse.grading formgrader $(if $(PORT),--port $(PORT)) $(ARGS)

# --- the course on JupyterHub (book/jupyterhub.md) -------------------------------------------
# The hub and ngshare get an environment of their own (ngshare 0.6.0 needs SQLAlchemy 1.4, see
# hub/requirements-hub.txt); users' servers run the course environment plus
# hub/requirements-user.txt, added with requirements.txt as constraints; the proxy comes from npm.
HUB_DIR := $(STAMP)/hub
HUB_NPM := configurable-http-proxy@5.3.0

hub-setup: $(HUB_DIR)/installed

$(HUB_DIR)/installed: hub/requirements-hub.txt hub/requirements-user.txt $(STAMP)/installed
	@command -v node >/dev/null 2>&1 || { echo "hub-setup: node is missing (apt-get install nodejs npm): it runs configurable-http-proxy"; exit 1; }
	rm -rf $(HUB_DIR)/venv && $(PYTHON) -m venv $(HUB_DIR)/venv
	$(HUB_DIR)/venv/bin/python -m pip install --quiet --upgrade pip
	$(HUB_DIR)/venv/bin/python -m pip install --quiet -r hub/requirements-hub.txt
	$(HUB_DIR)/venv/bin/python -m pip check
	$(PY) -m pip install --quiet -c requirements.txt -r hub/requirements-user.txt
	$(PY) -m pip check
	npm install --prefix $(HUB_DIR)/npm --no-audit --no-fund --silent $(HUB_NPM)
	@touch $@

hub: setup hub-setup
	$(PY) hub/demo.py --port $(or $(PORT),8000)

clean:
	rm -rf _build $(VENDOR) book/downloads
	find . -name __pycache__ -path './dlcourse/*' -prune -exec rm -rf {} +

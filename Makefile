# Set-up and checks for zsm. Every target creates the virtual environment it needs on first use.
#   make book   install everything into .venv, then build the book with every chapter executed
#   make test   install everything into .venv, then run the test suite (the browser tests too: they check the
#               book as last built by `make book`, and skip with the reason where it or Chromium is missing)
#   make pdf    the built book as one PDF (book/_build/html/zsm-book.pdf), printed by Chromium
#   make test-browser   only the browser tests (tests/browser), installing Chromium first where possible
#   make test-colab   every chapter run as on Colab: a fresh environment whose install cell installs zsm
#   make demo   install everything into .venv, then run the paper network once on this machine
# TORCH selects the torch to install: the default pins the release CI uses; `make test TORCH=torch`
# takes whatever your index offers (e.g. a CUDA build on a GPU machine).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: setup book pdf test test-browser test-colab colab-env chromium demo tv-env test-torchvision clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -e ".[test]"
	touch $@

test: setup
	$(BIN)/python -m pytest tests

# The built book opened page by page in headless Chromium, and a notebook driven in a real JupyterLab (see
# tests/browser/). Build the book first (`make book`). ZSM_REQUIRE_BROWSER=1 (CI) turns every skip into a failure.
test-browser: setup chromium
	$(BIN)/python -m pytest tests/browser

# Debian's Chromium for the browser tests (Playwright drives it; `playwright install` is never used). Installed only
# where it is missing and we are root with apt-get; otherwise say so (the browser tests then skip with the reason).
chromium:
	@if [ -x /usr/bin/chromium ] || [ -n "$$ZSM_CHROMIUM" ]; then \
		echo "chromium: $${ZSM_CHROMIUM:-/usr/bin/chromium}"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && apt-get install -y chromium; \
	else \
		echo "chromium: /usr/bin/chromium is missing and cannot be installed here (not root, or no apt-get);" \
		     "the browser tests will skip (set ZSM_CHROMIUM to a Chromium executable)"; \
	fi

book: setup
	PYTHON=$(BIN)/python bash book/tools/build.sh

# The built book as one PDF, book/_build/html/zsm-book.pdf: every page printed by the browser tests' Chromium, joined
# with a bookmark per page (book/tools/print_pdf.py; about 30 s). Build the book first.
pdf: setup chromium
	$(BIN)/python book/tools/print_pdf.py

# Every chapter as a Colab user runs it: a fresh environment with torch, numpy, matplotlib, OpenCV, ipywidgets and a
# kernel but no zsm, whose install cell installs the commit under test from a git+file:// clone (HEAD: commit first).
# The runner itself uses .venv (nbformat, yaml); the chapters run in the fresh environment it makes.
# COLAB_ENV=DIR runs them in an environment made ahead by `make colab-env COLAB_ENV=DIR` (CI makes it while other
# checks run); empty (the default), in a new one.
COLAB_ENV ?=
test-colab: setup
	$(BIN)/python book/tools/run_like_colab.py --torch "$(TORCH)" $(if $(COLAB_ENV),--env "$(COLAB_ENV)")

colab-env: setup
	test -n "$(COLAB_ENV)" || { echo "colab-env: set COLAB_ENV=DIR"; exit 2; }
	rm -rf "$(COLAB_ENV)"
	$(BIN)/python book/tools/run_like_colab.py --torch "$(TORCH)" --make-env "$(COLAB_ENV)"

demo: setup
	$(BIN)/python -m zsm info --preset paper --size 64x64 --frames 4

# The same function through torchvision's compiled deformable convolution: a second environment with a
# torch/torchvision pair that import together; the tests that compare both backends must run, not skip.
TV_VENV ?= .venv-torchvision
TV_TORCH ?= torch==2.14.1 torchvision==0.29.1
tv-env:
	test -x $(TV_VENV)/bin/python || $(PYTHON) -m venv $(TV_VENV)
	$(TV_VENV)/bin/python -m pip install --quiet $(TV_TORCH) numpy pytest

test-torchvision: tv-env
	ZSM_REQUIRE_TORCHVISION=1 PYTHONPATH=$(CURDIR) $(TV_VENV)/bin/python -m pytest -p no:cacheprovider \
		tests/test_ops.py tests/test_model.py

clean:
	rm -rf $(VENV) $(TV_VENV) build *.egg-info

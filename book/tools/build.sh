#!/usr/bin/env bash
# Build the book into book/_build/html: fetch the pages' JavaScript (once), execute every notebook, and fail on
# any cell error or Sphinx warning; then check the HTML (every page there, figures present, nothing from a CDN).
# Usage, from anywhere:   [PYTHON=/path/to/python] bash book/tools/build.sh
# PYTHON is the interpreter whose jupyter-book and kernel run the build (default: python3 on PATH), e.g.
#   PYTHON=.venv/bin/python bash book/tools/build.sh
# Extra arguments go to `jupyter-book build` (e.g. --all to rebuild every page from scratch).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
book="$(cd "$(dirname "$0")/.." && pwd)"

bash "$book/tools/widgets_js.sh"

# Matplotlib must draw inline in the kernels: MPLBACKEND=Agg (useful for tests) would swallow every figure.
unset MPLBACKEND

# Threads for the chapters' kernels (torch, and numpy's BLAS): the cores that other work leaves free. The chapters
# run thousands of small operations, whose threads wait for each other at every one; a thread whose core is busy
# with another program makes the others wait (or spin) for it. Measured on 2 cores shared with other work: one
# training step of the tiny network took 0.8-14.8 s with 2 threads (depending on the moment), 1.0-1.8 s with one.
# An idle machine keeps torch's default; OMP_NUM_THREADS set by the caller is kept as it is.
if [ -z "${OMP_NUM_THREADS:-}" ]; then
    read -r free cores load <<< "$("$PYTHON" -c 'import os; n, load = os.cpu_count() or 1, os.getloadavg()[0]
print(max(1, n - round(load)), n, f"{load:.2f}")')"
    if [ "$free" -lt "$cores" ]; then
        export OMP_NUM_THREADS="$free"
        echo "build: load average $load on $cores cores: OMP_NUM_THREADS=$free (set OMP_NUM_THREADS to choose)"
    fi
fi

# The notebooks' kernel is "python3"; jupyter_client starts a kernelspec whose argv begins with "python" (as
# ipykernel's own does) with the interpreter that runs the build, so the chapters run with PYTHON's packages.
echo "build: jupyter-book $("$PYTHON" -c 'import jupyter_book; print(jupyter_book.__version__)')" \
     "with $("$PYTHON" -c 'import sys; print(sys.executable)')"

# The repository's address (book/_config.yml) makes every Colab badge and install cell; while it is still the
# placeholder they point at a repository that may not be this one: say so loudly (a warning, not a failure).
placeholder="$("$PYTHON" -c "import sys; sys.path.insert(0, sys.argv[1]); import sync_repo_url as s
print(s.PLACEHOLDER_URL if s.repository()['url'] == s.PLACEHOLDER_URL else '')" "$book/tools")"
if [ -n "$placeholder" ]; then
    echo "build: WARNING: repository.url in book/_config.yml is still the placeholder $placeholder: the Colab"
    echo "build: WARNING: badges and install cells point there, not at this repository. Set your own address"
    echo "build: WARNING: there and run python book/tools/sync_repo_url.py (README: 'Your own copy of the book')."
fi

# The Markdown pages' diagrams (book/_generated/), traced from the package's network.
"$PYTHON" "$book/tools/diagrams.py"

start=$(date +%s)
# -W: every warning is an error (a cell that raises is one, and execute.raise_on_error also stops the build);
# --keep-going: report every warning before failing; -n: nitpicky (broken cross-references).
"$PYTHON" -c "from jupyter_book.cli.main import main; main()" build "$book" -W -n --keep-going "$@"
echo "build: jupyter-book finished in $(( $(date +%s) - start )) s"

"$PYTHON" "$book/tools/check_html.py" "$book"

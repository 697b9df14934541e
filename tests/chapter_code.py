"""Run a chapter's own code in this process, so that a test checks the objects the chapter builds, not a copy of
its construction that could drift from it.

`run_chapter(notebook, through="OffsetExplorer(")` executes the notebook's code cells in order, as a kernel would,
in the chapter's folder, up to and including the first cell whose source contains `through`, and returns the
namespace (e.g. `ns["explorer"]`). Figures are drawn with Agg and closed after each cell.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"

# (notebook, through) -> the namespace after the cells before the `through` cell; they are the slow part (the
# chapter loads its footage and model and runs it), and a test session asks for the same chapter more than once.
_BEFORE: dict = {}


def chapter_cells(notebook: Path, through: str) -> list[str]:
    """The sources of the code cells of `notebook` up to and including the first that contains `through`."""
    nb = nbformat.read(str(notebook), as_version=4)
    sources = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        sources.append(cell.source)
        if through in cell.source:
            return sources
    raise AssertionError(f"{notebook.name} has no code cell containing {through!r}")


def _run(notebook: Path, sources: list[str], namespace: dict, first_index: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cwd = Path.cwd()
    os.chdir(notebook.parent)  # where the book build runs it: the chapter finds data/ from there
    try:
        for index, source in enumerate(sources, start=first_index):
            code = compile(source, f"{notebook.name}, code cell {index}", "exec")
            exec(code, namespace)  # noqa: S102 - the book's own code, the point of the exercise
            plt.close("all")
    finally:
        os.chdir(cwd)


def run_chapter(notebook: Path, through: str) -> dict:
    """Execute the code cells of `notebook` through the first containing `through`; return their namespace.

    The cells run with the notebook's folder as the working directory and matplotlib's Agg backend (their
    figures are closed). The cells before the `through` cell run once per test session; the `through` cell runs
    on every call, in a copy of their namespace, so each caller gets its own objects from it (e.g. a fresh
    explorer) while sharing the ones made before it (clip, model, records), which callers must not change.
    """
    notebook = Path(notebook).resolve()
    sources = chapter_cells(notebook, through)
    key = (notebook, through)
    if key not in _BEFORE:
        namespace: dict = {"__name__": "__chapter__"}
        _run(notebook, sources[:-1], namespace, 0)
        _BEFORE[key] = namespace
    namespace = dict(_BEFORE[key])
    _run(notebook, sources[-1:], namespace, len(sources) - 1)
    return namespace

"""Strip notebooks for git: no outputs, no execution counts, no widget state, no editor metadata.

Usage:
    python book/tools/strip_outputs.py book/*.ipynb           # strip in place
    python book/tools/strip_outputs.py --check book/*.ipynb   # exit 1 and name the notebooks that need it

Kept: cells, their ids and tags, the kernelspec and the language name. Cells without an id get one
(nbformat >= 4.5), so a stripped notebook validates without MissingIDFieldWarning.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.corpus.words import generate_corpus_id

CELL_METADATA_KEPT = ("tags", "mystnb")  # mystnb: a figure's caption and name (myst-nb cell options)
NOTEBOOK_METADATA_KEPT = ("kernelspec",)


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` stripped, in place."""
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 0), 5)
    language = nb.metadata.get("language_info", {}).get("name", "python")
    nb.metadata = nbformat.NotebookNode({k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA_KEPT})
    nb.metadata["language_info"] = {"name": language}
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode({k: v for k, v in cell.metadata.items() if k in CELL_METADATA_KEPT})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "id" not in cell:
            cell.id = generate_corpus_id()
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs stripping")
    args = parser.parse_args(argv)
    dirty = []
    for path in args.notebooks:
        before = path.read_text(encoding="utf-8")
        nb = strip(nbformat.reads(before, as_version=4))
        after = nbformat.writes(nb) + "\n"
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    for path in dirty:
        print(f"{'needs stripping' if args.check else 'stripped'}: {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())

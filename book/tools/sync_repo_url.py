"""Rewrite every chapter's Colab badge and set-up cell from ``repository`` in book/_config.yml.

The repository's address is defined once, in _config.yml. A notebook opened in Colab cannot read that file, so
each chapter repeats the address twice: in its Colab badge and in ``REPO_URL = "..."`` of its hidden set-up cell.
This script rewrites both from the config (after the repository moves, say); tests/test_book.py fails while
they disagree.

Usage:
    python book/tools/sync_repo_url.py            # rewrite the notebooks listed in _toc.yml
    python book/tools/sync_repo_url.py --check    # change nothing; exit 1 and name the notebooks that differ
    (--book DIR: another copy of the book)
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

BOOK = Path(__file__).resolve().parents[1]
# The address the book was written with; a fork (or the project once it is published) sets its own in _config.yml
PLACEHOLDER_URL = "https://github.com/zsm-book/zsm-book"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^)\s]+\.ipynb")
REPO_LINE = re.compile(r'^REPO_URL = "[^"]*"', flags=re.MULTILINE)


def repository(book: Path = BOOK) -> dict:
    """``repository`` of _config.yml, checked: a GitHub url, a branch, path_to_book."""
    config = yaml.safe_load((book / "_config.yml").read_text())
    repo = config["repository"]
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]):
        raise ValueError(f"repository.url must be https://github.com/ORG/REPO, got {repo['url']!r}")
    return repo


def colab_url(repo: dict, notebook: str) -> str:
    """The Colab address of ``notebook`` (a file name inside the book) on the configured branch."""
    org_repo = repo["url"].removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{org_repo}/blob/{repo['branch']}/{repo['path_to_book']}/{notebook}"


def toc_notebooks(book: Path = BOOK) -> list[Path]:
    """The .ipynb files listed in _toc.yml."""
    files = re.findall(r"^\s*-?\s*(?:file|root):\s*(\S+)", (book / "_toc.yml").read_text(), flags=re.MULTILINE)
    return [book / f"{f}.ipynb" for f in files if (book / f"{f}.ipynb").is_file()]


def synced(text: str, name: str, repo: dict) -> str:
    """The notebook ``text`` (file ``name``) with its badge link and REPO_URL rewritten from ``repo``."""
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = COLAB_LINK.sub(colab_url(repo, name), cell.source)
        elif cell.cell_type == "code":
            cell.source = REPO_LINE.sub(f'REPO_URL = "{repo["url"]}"', cell.source)
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs")
    parser.add_argument("--book", type=Path, default=BOOK, help="the book folder (default: %(default)s)")
    args = parser.parse_args(argv)
    repo = repository(args.book)
    differ = []
    for path in toc_notebooks(args.book):
        text = path.read_text(encoding="utf-8")
        new = synced(text, path.name, repo)
        if new != text:
            differ.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
            print(f"{'differs from _config.yml' if args.check else 'rewritten'}: {path.name}")
    return 1 if (args.check and differ) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Check a built book: every page of _toc.yml is there, every chapter has its figures, nothing loads from a CDN.

Usage: python book/tools/check_html.py [BOOK_DIR]      (default: the folder above this script)

Exit status 1, with one line per problem, when
* a page listed in _toc.yml has no HTML file in _build/html;
* a notebook page holds no figure (<img> of an executed cell's image, saved by the build under _images/);
* a page loads a script, a style sheet or a font from another host, or points the widget manager at one
  (``data-jupyter-widgets-cdn``). Links (<a href>) are fine; the one remote image allowed is the Colab badge.
Prints a table of pages with their number of figures otherwise.
"""
from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import yaml

ALLOWED_REMOTE_IMAGES = ("https://colab.research.google.com/assets/colab-badge.svg",)
LOCAL_ASSETS = ("_static/widgets/require.js", "_static/widgets/embed-amd.js", "_static/mathjax/tex-mml-chtml.js")


def toc_files(toc: dict) -> list[str]:
    """Every `file:` of a jb-book table of contents, in order (root first)."""
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


class PageScan(HTMLParser):
    """Collect figures and remote loads of one HTML page."""

    def __init__(self):
        super().__init__()
        self.figures: list[str] = []
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            src = a.get("src") or ""
            if src.startswith("_images/"):
                self.figures.append(src)
            elif _remote(src) and src not in ALLOWED_REMOTE_IMAGES:
                self.remote.append(f"<img src={src}>")
        elif tag == "script":
            if _remote(a.get("src")):
                self.remote.append(f"<script src={a['src']}>")
            if _remote(a.get("data-jupyter-widgets-cdn")):
                self.remote.append(f"<script data-jupyter-widgets-cdn={a['data-jupyter-widgets-cdn']}>")
        elif tag == "link" and (a.get("rel") or "") in ("stylesheet", "preload", "modulepreload", "icon"):
            if _remote(a.get("href")):
                self.remote.append(f"<link rel={a['rel']} href={a['href']}>")


def _remote(url) -> bool:
    return bool(url) and (url.startswith(("http://", "https://", "//")))


def main(book: Path) -> int:
    html = book / "_build" / "html"
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    problems = []
    for asset in LOCAL_ASSETS:
        if not (html / asset).is_file():
            problems.append(f"{asset}: missing from the build (run book/tools/widgets_js.sh)")
    rows = []
    for name in toc_files(toc):
        stem = name.rsplit(".", 1)[0] if name.endswith((".md", ".ipynb")) else name
        page = html / f"{stem}.html"
        if not page.is_file():
            problems.append(f"{stem}.html: missing (listed in _toc.yml)")
            continue
        scan = PageScan()
        scan.feed(page.read_text(encoding="utf-8"))
        is_notebook = (book / f"{stem}.ipynb").is_file()
        missing_images = [src for src in scan.figures if not (html / src).is_file()]
        if is_notebook and not scan.figures:
            problems.append(f"{stem}.html: a chapter without any figure (did its cells run?)")
        problems += [f"{stem}.html: image file {src} missing" for src in missing_images]
        problems += [f"{stem}.html: loads from another host: {item}" for item in scan.remote]
        rows.append((f"{stem}.html", len(scan.figures)))
    for page, figures in rows:
        print(f"check_html: {page:40s} {figures:3d} figure(s)")
    for problem in problems:
        print(f"check_html: error: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_html: {len(rows)} pages, {sum(f for _, f in rows)} figures, nothing loaded from another host")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]))

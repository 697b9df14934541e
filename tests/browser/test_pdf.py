"""The book as one PDF (`make pdf`, book/tools/print_pdf.py): every page of book/_toc.yml in order, each under a
bookmark with its heading, its figures printed, and linked from the introduction. It reads the PDF as last made."""
from __future__ import annotations

import importlib.util
import re
import unicodedata

import pytest

from harness import BOOK, HTML, skip_or_fail

PDF = HTML / "zsm-book.pdf"


def _tool(name: str):
    import sys

    sys.path.insert(0, str(BOOK / "tools"))
    spec = importlib.util.spec_from_file_location(name, BOOK / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pdf():
    pypdf = pytest.importorskip("pypdf")
    if not PDF.is_file():
        skip_or_fail(f"{PDF} is missing: make the book's PDF after building it (make book && make pdf)")
    pages = _tool("print_pdf").toc_pages()
    stale = [name for name in pages if (HTML / f"{name}.html").stat().st_mtime > PDF.stat().st_mtime]
    if stale:
        skip_or_fail(f"{PDF.name} is older than {', '.join(stale)}.html (built since): run make pdf")
    return pypdf.PdfReader(str(PDF)), pages


def _heading(name: str) -> str:
    html = (HTML / f"{name}.html").read_text()
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S)
    text = re.sub(r"<[^>]+>", "", match.group(1)) if match else name
    return re.sub(r"\s+", " ", text.replace("#", "")).strip()


def _images(page) -> int:
    """The raster images a PDF page draws (its image XObjects), without decoding them."""
    objects = page.get("/Resources", {}).get("/XObject", {})
    return sum(1 for ref in objects.values() if ref.get_object().get("/Subtype") == "/Image")


def test_the_pdf_holds_every_page_in_order_under_its_heading_with_its_figures(pdf):
    reader, pages = pdf
    marks = [(m.title, reader.get_destination_page_number(m)) for m in reader.outline]
    assert [title for title, _ in marks] == [_heading(name) for name in pages]
    starts = [start for _, start in marks]
    assert starts == sorted(set(starts)) and starts[0] == 0, starts  # every page begins on its own PDF page
    ends = starts[1:] + [len(reader.pages)]
    for (title, start), end, name in zip(marks, ends, pages):
        text = reader.pages[start].extract_text() or ""  # the heading opens the page's first PDF page
        text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))  # NFKC: the font's ligatures as letters
        assert title in text, f"{name}: its first PDF page does not hold its heading {title!r}"
        html = (HTML / f"{name}.html").read_text()
        figures = len(re.findall(r'<img [^>]*src="_images/', html))
        printed = sum(_images(reader.pages[i]) for i in range(start, end))
        assert printed >= figures, f"{name}: {figures} figures on the page, {printed} images in its PDF pages"


def test_the_introduction_links_to_the_pdf():
    if not (HTML / "intro.html").is_file():
        skip_or_fail(f"{HTML / 'intro.html'} is missing: build the book first (make book)")
    html = (HTML / "intro.html").read_text()
    assert 'href="zsm-book.pdf"' in html

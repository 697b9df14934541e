"""The whole built book as one PDF, printed by the Chromium the browser tests use: book/_build/html/zsm-book.pdf.

    python book/tools/print_pdf.py              # after `make book`; needs Chromium and Playwright (make test's .venv)
    python book/tools/print_pdf.py --out FILE

Every page of book/_toc.yml, in its order, is served from book/_build/html on 127.0.0.1 (nothing else reachable),
opened in headless Chromium, left to typeset its math and render its widgets, and printed with the page's print
style sheet (the theme's: no sidebars, no buttons); the pages are then joined, with one bookmark per page, into one
file written next to its target and moved into place when complete. Chromium is /usr/bin/chromium or $ZSM_CHROMIUM.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from check_html import toc_files  # the same reading of _toc.yml as the build's check

BOOK = Path(__file__).resolve().parents[1]
HTML = BOOK / "_build" / "html"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def toc_pages(book: Path = BOOK) -> list[str]:
    """The pages of _toc.yml in reading order (check_html's reading), without their suffixes."""
    files = toc_files(yaml.safe_load((book / "_toc.yml").read_text()))
    return [name.rsplit(".", 1)[0] if name.endswith((".md", ".ipynb")) else name for name in files]


def serve(root: Path):
    """An HTTP server of ``root`` on 127.0.0.1 in a thread: (server, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no line per request
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def print_pages(pages: list[str], base_url: str, folder: Path, chromium: str) -> list[tuple[Path, str]]:
    """Each page printed to ``folder``/NN.pdf, with its heading: [(file, title)]; requests to any other host are
    refused."""
    from playwright.sync_api import sync_playwright

    printed = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url)
                      else route.abort())
        page = context.new_page()
        for i, name in enumerate(pages):
            page.goto(f"{base_url}/{name}.html", wait_until="load")
            page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
            page.wait_for_timeout(300)  # widgets render from their saved state after load
            page.emulate_media(media="print")
            out = folder / f"{i:02d}.pdf"
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
            heading = page.locator("article h1").first
            title = heading.inner_text().strip().rstrip("#").strip() if heading.count() else name
            printed.append((out, title))
        browser.close()
    return printed


def join(parts: list[tuple[Path, str]], out: Path) -> int:
    """The parts as one PDF at ``out`` (via a temporary sibling), a bookmark per part; returns the page count."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part, title in parts:
        start = len(writer.pages)
        writer.append(str(part))
        writer.add_outline_item(title=title, page_number=start)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            writer.write(f)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(writer.pages)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HTML / "zsm-book.pdf", help="the PDF to write")
    args = parser.parse_args(argv)
    chromium = os.environ.get("ZSM_CHROMIUM", "/usr/bin/chromium")
    pages = toc_pages()
    missing = [name for name in pages if not (HTML / f"{name}.html").is_file()]
    if missing:
        print(f"print_pdf: error: {HTML} lacks {', '.join(missing)}: build the book first (make book)", file=sys.stderr)
        return 1
    if not Path(chromium).is_file():
        print(f"print_pdf: error: no Chromium at {chromium} (make chromium, or set ZSM_CHROMIUM)", file=sys.stderr)
        return 1
    start = time.time()
    server, base_url = serve(HTML)
    try:
        with tempfile.TemporaryDirectory() as folder:
            parts = print_pages(pages, base_url, Path(folder), chromium)
            count = join(parts, args.out.resolve())
    finally:
        server.shutdown()
    size = args.out.stat().st_size / 1e6
    print(f"print_pdf: {len(pages)} pages of the book, {count} PDF pages, {size:.1f} MB in {args.out} "
          f"({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

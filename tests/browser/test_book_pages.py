"""Every page of the built book, opened in headless Chromium the way a reader opens it.

For each page of book/_toc.yml, served from book/_build/html on 127.0.0.1 (nothing else is reachable):
* no uncaught JavaScript error and no console error, except the few listed in TOLERATED (each with its reason);
* no request to the book's own server fails, and nothing is fetched from another host but the Colab badge image;
* MathJax typeset every formula (no raw $$, \\( or \\[ left in the prose, no MathJax error box);
* the "next" link goes to the next page of the table of contents, and following it loads that page;
* every figure fits the text column and is shown at least at MIN_FIGURE_SCALE of its size (its labels stay readable),
  and has a caption of at least MIN_CAPTION characters (what it shows and what to look for);
and for each chapter (.ipynb):
* every figure that the executed notebook holds is on the page, loaded, and not a blank single colour;
* no cell output is an error or a traceback (unless the cell is tagged raises-exception);
* the Colab badge and the Colab launch button open this chapter's notebook in the repository of book/_config.yml;
* every saved widget renders (its area is not empty).
A full-page screenshot and the page's console log are saved to $ZSM_BROWSER_ARTIFACTS (build/browser-artifacts/).
"""
from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from browser_fixtures import artifacts_dir, book_server, browser, context  # noqa: F401 - pytest fixtures
from harness import BOOK, HTML, JS_IMAGE_STATS, PageLog, StaticServer, skip_or_fail


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, BOOK / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK_HTML = _load_tool("check_html")
CONFIG = yaml.safe_load((BOOK / "_config.yml").read_text())
PAGES = [name.rsplit(".", 1)[0] if name.endswith((".md", ".ipynb")) else name
         for name in CHECK_HTML.toc_files(yaml.safe_load((BOOK / "_toc.yml").read_text()))]
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
assert COLAB_BADGE_IMAGE in CHECK_HTML.ALLOWED_REMOTE_IMAGES


def expected_colab_url(page: str) -> str:
    """The chapter's notebook on Colab, from repository: in book/_config.yml (as tests/test_book.py derives it)."""
    repo = CONFIG["repository"]
    org_repo = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", repo["url"]).group(1)
    return (f"https://colab.research.google.com/github/{org_repo}/blob/{repo['branch']}/"
            f"{repo['path_to_book']}/{page}.ipynb")


# What a page may report without failing, and why. Anything else on the console at level "error" fails the test.
TOLERATED = {
    # The only remote resource a page refers to; the tests block every other host, so it cannot load here.
    "the Colab badge image is fetched from colab.research.google.com (blocked: the tests are offline)":
        lambda kind, text, url: kind == "console" and url == COLAB_BADGE_IMAGE
        and text.startswith("Failed to load resource"),
    # pydata-sphinx-theme reads the light/dark choice from localStorage, which a fresh profile does not have, logs
    # this, and falls back to "auto" (follow the system), which is what the book wants.
    "pydata-sphinx-theme: no stored light/dark mode in a fresh profile; it falls back to auto":
        lambda kind, text, url: kind == "console" and text == "Got invalid theme mode: . Resetting to auto."
        and "pydata-sphinx-theme.js" in url,
}


def _tolerated(kind: str, text: str, url: str) -> str | None:
    return next((reason for reason, match in TOLERATED.items() if match(kind, text, url)), None)


def _duplicate_thebe_config(html: str) -> bool:
    """sphinx-thebe (part of Jupyter Book 1.x) writes its inline configuration script into the page twice, so the
    second copy's `const THEBE_JS_URL` fails to redeclare; harmless only when both copies are identical."""
    scripts = re.findall(r"<script>(const THEBE_JS_URL = [^<]*)</script>", html)
    return len(scripts) == 2 and scripts[0] == scripts[1]


def expected_figures(page: str) -> int:
    """How many image outputs the executed notebook (book/_build/jupyter_execute/PAGE.ipynb) shows on its page:
    the outputs whose preferred mime type for HTML (myst-nb's order, as the build used it) is an image."""
    from myst_nb.core.render import get_mime_priority

    overrides = CONFIG.get("sphinx", {}).get("config", {}).get("nb_mime_priority_overrides", [])
    priority = get_mime_priority("html", overrides)
    path = BOOK / "_build" / "jupyter_execute" / f"{page}.ipynb"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the build did not keep the executed notebook; run `make book`", pytrace=False)
    executed = json.loads(path.read_text())
    count = 0
    for cell in executed["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-output", "remove-cell", "remove_output", "remove_cell"}:
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            chosen = next((mime for mime in priority if mime in data), None)
            count += bool(chosen and chosen.startswith("image/"))
    return count


def _page_or_skip(page: str) -> Path:
    html = HTML / f"{page}.html"
    if not html.is_file():
        skip_or_fail(f"{html} is missing: the book was built before {page} joined book/_toc.yml; run `make book`")
    source = next((BOOK / f"{page}{s}" for s in (".ipynb", ".md") if (BOOK / f"{page}{s}").is_file()), None)
    if source is not None and source.stat().st_mtime > html.stat().st_mtime:
        skip_or_fail(f"{html.name} is older than {source.name} (edited since the last build); run `make book`")
    return html


# JavaScript: widget views of the page, whether each rendered, and whether the page carries their state.
JS_WIDGETS = """() => {
  const state = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  let models = {};
  try { models = state ? JSON.parse(state.textContent).state || {} : {}; } catch (e) { models = null; }
  return [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
    const id = JSON.parse(s.textContent).model_id;
    const area = s.parentElement.querySelector('.widget-subarea, .jupyter-widgets');
    return {id, inState: models === null ? null : id in models, hasState: !!state,
            rendered: !!area && area.children.length > 0 && area.getBoundingClientRect().height > 0};
  });
}"""

# JavaScript: the prose of the article (code, outputs and typeset math taken out), and the state of every formula.
JS_MATH = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const math = [...article.querySelectorAll('.math')];
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, .cell_output, .math, mjx-container, .highlight')
       .forEach(e => e.remove());
  return {
    formulas: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    errors: [...article.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    mathjax: !!(window.MathJax && window.MathJax.startup),
    text: prose.textContent,
  };
}"""

# JavaScript: error outputs of the cells (myst-nb's classes, and tracebacks printed as text), each named by the
# first line of its cell's code and the last line of the traceback (the exception and its message).
JS_ERROR_OUTPUTS = """() => {
  const lastLine = text => text.trim().split('\\n').filter(l => l.trim()).slice(-1)[0] || '';
  return [...document.querySelectorAll('.cell_output')].flatMap(out => {
    const cell = out.closest('.cell');
    if (cell && cell.classList.contains('tag_raises-exception')) return [];
    const code = cell ? (cell.querySelector('.cell_input pre') || {textContent: ''}).textContent.trim() : '';
    const where = code ? ` (cell "${code.split('\\n')[0].slice(0, 80)}")` : '';
    const found = [];
    out.querySelectorAll('.traceback pre, .output.error pre, [class*="ipythontb"] pre').forEach(
      e => found.push(`error output${where}: ${lastLine(e.textContent).slice(0, 300)}`));
    const text = [...out.querySelectorAll('pre')].map(e => e.textContent).join('\\n');
    if (!found.length && /Traceback \\(most recent call last\\)/.test(text))
      found.push(`traceback in an output${where}: ${lastLine(text).slice(0, 300)}`);
    out.querySelectorAll('.output.stderr pre').forEach(e => {
      if (/^\\w*(Error|Exception)\\b.*:/m.test(e.textContent))
        found.push(`error on stderr${where}: ${lastLine(e.textContent).slice(0, 300)}`);
    });
    return [...new Set(found)];
  });
}"""

# JavaScript: cell code, printed outputs and tables that do not fit the column and scroll sideways (book/_css/zsm.css
# sets the code size and wraps outputs; a cell line or a table wider than the column still scrolls), each named by
# its longest line or its header. Package code shown by literalinclude keeps its 120 columns and is not checked.
JS_SIDEWAYS = """() => {
  const found = [];
  document.querySelectorAll('.cell_input pre, .cell_output pre').forEach(e => {
    if (e.scrollWidth <= e.clientWidth + 1) return;
    const longest = e.textContent.split('\\n').reduce((a, l) => l.length > a.length ? l : a, '');
    const what = e.closest('.cell_output') ? 'an output' : 'cell code';
    found.push(`${what} scrolls sideways (${e.scrollWidth} px in ${e.clientWidth} px; ${longest.length} characters): `
               + longest.trim().slice(0, 100));
  });
  document.querySelectorAll('article table').forEach(t => {
    const box = t.parentElement;
    if (Math.max(t.scrollWidth, box.scrollWidth) <= box.clientWidth + 1) return;
    const head = [...t.querySelectorAll('th')].map(th => th.textContent.trim()).join(' | ');
    found.push(`a table scrolls sideways (${Math.max(t.scrollWidth, box.scrollWidth)} px in ${box.clientWidth} px): `
               + head.slice(0, 100));
  });
  return found;
}"""


# Figures must read at page width: none wider than the text column, and none shrunk so far that its labels (drawn
# at matplotlib's 10 pt for the figure's own width) become unreadable. A figure of about 9.5 inches at the inline
# backend's 100 dpi fits the 1280 px page's column at about 0.7 of its size; 15 inches would be shown at 0.46.
MIN_FIGURE_SCALE = 0.65
MIN_CAPTION = 40  # characters of a figure caption, past its "Fig. N" number
JS_FIGURES = r"""([minScale, minCaption]) => {
  const article = document.querySelector('article.bd-article') || document.body;
  const column = article.clientWidth;
  const found = [];
  article.querySelectorAll('img').forEach(i => {
    if (i.closest('.widget-subarea, .jupyter-widgets') || !i.naturalWidth || i.alt === 'Open In Colab') return;
    const shown = i.getBoundingClientRect().width;
    const name = (i.getAttribute('src') || '').split('/').pop().slice(0, 40);
    const figure = i.closest('figure');
    const caption = figure && figure.querySelector('figcaption');
    const words = caption ? caption.innerText.replace(/^\s*Fig\.\s*[\d.]+\s*/, '').trim() : '';
    if (words.length < minCaption) {
      found.push(`figure ${name} has ${caption ? 'a caption of ' + words.length + ' characters' : 'no caption'}: `
                 + `say what it shows and what to look for (cell metadata mystnb.figure.caption, at least `
                 + `${minCaption} characters)`);
    }
    if (shown > column + 1) {
      found.push(`figure ${name} is wider than the text column (${Math.round(shown)} px in ${column} px)`);
    } else if (shown < minScale * i.naturalWidth) {
      found.push(`figure ${name} is shown at ${Math.round(100 * shown / i.naturalWidth)}% of its size `
                 + `(${i.naturalWidth} px in ${Math.round(shown)} px), too small to read: draw it narrower `
                 + `(figsize at most about 9.5 inches wide)`);
    }
  });
  return found;
}"""


@dataclass
class Chapter:
    """What a chapter page must hold beyond what every page must: its figure count and its Colab address."""
    figures: int
    colab_url: str


def inspect_page(page, base_url: str, name: str, html: str, next_name: str | None, chapter: Chapter | None,
                 artifacts: Path) -> tuple[list[str], list[str]]:
    """Open base_url/name.html in `page` and list what a reader would find wrong; also what was tolerated, and why.

    `html` is the page's source (to recognise sphinx-thebe's duplicated script); `next_name` the page that "next"
    must open (None: the last page, which has no "next"). Saves name.png (full page) and name.log to `artifacts`.
    """
    problems: list[str] = []
    log = PageLog(origin=base_url)
    log.attach(page)
    url = f"{base_url}/{name}.html"
    response = page.goto(url, wait_until="load")
    if response is None or not response.ok:
        return [f"{url}: HTTP {response and response.status}"], []
    page.wait_for_load_state("networkidle")
    # MathJax typesets after the page has loaded; widgets render from the saved state once their scripts ran.
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : true")
    widgets_ready = """() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
        .every(s => { const a = s.parentElement.querySelector('.widget-subarea, .jupyter-widgets');
                      return a && a.children.length > 0; })"""
    try:
        page.wait_for_function(widgets_ready, timeout=20000)
    except Exception:  # noqa: BLE001 - which widget stayed empty is reported below
        pass
    page.wait_for_load_state("networkidle")

    if chapter is not None:
        # Figures: every image output of the executed notebook is on the page, loaded, and not blank.
        figures = page.locator(".cell_output img")
        on_page = 0
        for i in range(figures.count()):
            image = figures.nth(i)
            src = image.get_attribute("src") or ""
            label = src if not src.startswith("data:") else "an image inside a widget"
            on_page += not image.evaluate("e => !!e.closest('.widget-subarea, .jupyter-widgets')")
            stats = image.evaluate(JS_IMAGE_STATS)
            if not stats["loaded"]:
                problems.append(f"figure {label} did not load (naturalWidth 0: missing file or not an image)")
            elif stats["colours"] < 2 or stats["dominant"] > 0.999:
                problems.append(f"figure {label} ({stats['width']}x{stats['height']}) is blank: "
                                f"{stats['colours']} colour(s), {stats['dominant']:.2%} of its pixels alike")
        if on_page != chapter.figures:
            problems.append(f"the executed notebook has {chapter.figures} figure output(s), the page shows {on_page}")
        if not chapter.figures:
            problems.append("a chapter without any figure (did its cells run?)")

        problems += page.evaluate(JS_ERROR_OUTPUTS)

        # Colab: the badge in the text and the launch button of the header both open this chapter's notebook.
        badges = page.eval_on_selector_all('a:has(img[alt="Open In Colab"])', "els => els.map(a => a.href)")
        launch = page.eval_on_selector_all('.dropdown-launch-buttons a:has(img[alt="Colab logo"])',
                                           "els => els.map(a => a.href)")
        if not badges:
            problems.append("no Colab badge (a link around <img alt='Open In Colab'>)")
        if not launch:
            problems.append("no Colab launch button (the header's launch menu has no Colab entry)")
        problems += [f"Colab badge points at {h}, expected {chapter.colab_url}" for h in badges if h != chapter.colab_url]
        problems += [f"Colab launch button points at {h}, expected {chapter.colab_url}"
                     for h in launch if h != chapter.colab_url]

        for widget in page.evaluate(JS_WIDGETS):
            if not widget["hasState"]:
                problems.append(f"widget {widget['id']} has no saved state in the page (it cannot render)")
            elif widget["inState"] is False:
                problems.append(f"widget {widget['id']} is missing from the page's saved widget state")
            elif not widget["rendered"]:
                problems.append(f"widget {widget['id']} did not render (its area is empty)")

    problems += page.evaluate(JS_SIDEWAYS)
    problems += page.evaluate(JS_FIGURES, [MIN_FIGURE_SCALE, MIN_CAPTION])

    # Math: every formula typeset, no TeX error, no raw delimiters left in the prose.
    math = page.evaluate(JS_MATH)
    if math["formulas"] and not math["mathjax"]:
        problems.append(f"{math['formulas']} formula(s) but MathJax did not load")
    problems += [f"formula not typeset by MathJax: {t!r}" for t in math["untypeset"]]
    problems += [f"MathJax error in a formula: {t!r}" for t in math["errors"]]
    for pattern, what in ((r"\$\$", "$$"), (r"\\\(|\\\)|\\\[|\\\]", "\\( or \\["), (r"\\begin\{", "\\begin{"),
                          (r"(?<![\w$\\])\$(?=\S)[^$\n]{1,200}(?<=\S)\$(?![\w$])", "$...$")):
        for match in re.finditer(pattern, math["text"]):
            around = math["text"][max(0, match.start() - 40): match.end() + 40].replace("\n", " ")
            problems.append(f"raw math {what} left in the text: ...{around}...")

    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

    # Console and errors, up to here (what the next page does is its own test's business).
    log.active = False
    tolerated = []
    for message, stack in log.page_errors:
        if message == "Identifier 'THEBE_JS_URL' has already been declared" and _duplicate_thebe_config(html):
            tolerated.append(f"page error: {message} (sphinx-thebe's identical inline config, written twice)")
        else:
            problems.append(f"uncaught JavaScript error: {message}\n{stack}")
    for kind, text, source in log.console:
        if kind != "error":
            continue
        reason = _tolerated("console", text, source)
        if reason:
            tolerated.append(f"console error: {text} [{source}] ({reason})")
        elif text.startswith("Failed to load resource") and (source.startswith(base_url) or source in log.external):
            pass   # reported below, from log.failed (with the tolerated favicon probe) or log.external
        else:
            problems.append(f"console error: {text} [{source}]")
    declares_icon = re.search(r"<link[^>]+rel=\"(shortcut )?icon\"", html) is not None
    for failed_url, reason in log.failed:
        if failed_url == f"{base_url}/favicon.ico" and not declares_icon:
            # Chromium asks every site for /favicon.ico on its own when a page names no icon; the book has none.
            tolerated.append(f"{failed_url}: {reason} (Chromium's own favicon probe; the page names no icon)")
        else:
            problems.append(f"request to the book's server failed: {failed_url} ({reason})")
    problems += [f"fetched from another host (blocked): {u}" for u in log.external if u != COLAB_BADGE_IMAGE]
    (artifacts / f"{name}.log").write_text(log.dump() + "\ntolerated:\n" + "\n".join(tolerated) + "\n")

    # Navigation: "next" goes to the next page of the toc, and that page loads.
    next_links = page.eval_on_selector_all("a.right-next", "els => els.map(a => a.href)")
    if next_name is not None:
        want_next = f"{base_url}/{next_name}.html"
        if next_links != [want_next]:
            problems.append(f"'next' link(s) {next_links}, expected [{want_next}] (the next page of _toc.yml)")
        else:
            with page.expect_navigation(wait_until="load") as navigation:
                page.locator("a.right-next").click()
            loaded = navigation.value
            if loaded is None or not loaded.ok or page.url != want_next:
                problems.append(f"following 'next' gave {page.url} (HTTP {loaded and loaded.status})")
            elif not page.locator("article.bd-article h1").first.inner_text().strip():
                problems.append(f"following 'next' opened {page.url} without a title")
    elif next_links:
        problems.append(f"the last page of _toc.yml has a 'next' link: {next_links}")
    # A request can fail twice (HTTP 404, then the aborted load): report each problem once.
    return list(dict.fromkeys(problems)), tolerated


def report(name: str, problems: list[str], artifacts: Path) -> str:
    return (f"{name}.html: {len(problems)} problem(s) (screenshot and console log in {artifacts}):\n- "
            + "\n- ".join(problems))


@pytest.mark.parametrize("index", range(len(PAGES)), ids=PAGES)
def test_page_reads_well_in_a_browser(index, book_server, context, artifacts_dir):
    name = PAGES[index]
    html_path = _page_or_skip(name)
    chapter = (Chapter(figures=expected_figures(name), colab_url=expected_colab_url(name))
               if (BOOK / f"{name}.ipynb").is_file() else None)
    next_name = PAGES[index + 1] if index + 1 < len(PAGES) else None
    problems, _ = inspect_page(context.new_page(), book_server.url, name, html_path.read_text(encoding="utf-8"),
                               next_name, chapter, artifacts_dir)
    if problems:
        pytest.fail(report(name, problems, artifacts_dir), pytrace=False)


def _synthetic_site(root: Path, colab_url: str) -> None:
    """Two chapter-like pages in myst-nb's markup: good.html (all right) and broken.html (all wrong), and next.html."""
    import numpy as np
    from PIL import Image

    (root / "_images").mkdir(parents=True)
    ramp = np.linspace(0, 255, 64 * 48 * 3).astype(np.uint8).reshape(48, 64, 3)   # (H, W, RGB), many colours
    Image.fromarray(ramp).save(root / "_images" / "figure.png")
    Image.new("RGB", (64, 48), "white").save(root / "_images" / "blank.png")
    Image.fromarray(np.resize(ramp, (60, 3000, 3))).save(root / "_images" / "wide.png")
    Image.fromarray(ramp).save(root / "logo.png")
    launch = f'<div class="dropdown-launch-buttons"><a href="{colab_url}"><img alt="Colab logo" src="logo.png"></a></div>'
    badge = '<p><a href="{}"><img alt="Open In Colab" src="' + COLAB_BADGE_IMAGE + '"></a></p>'

    def cell(code: str, output: str) -> str:
        return f'<div class="cell"><div class="cell_input"><pre>{code}</pre></div><div class="cell_output">{output}</div></div>'

    (root / "good.html").write_text(
        f"<!doctype html><html><head><title>good</title></head><body>{launch}<article class='bd-article'><h1>Good</h1>"
        + badge.format(colab_url) + cell("plt.imshow(x)", '<figure><img src="_images/figure.png"><figcaption>'
                                         '<p><span class="caption-number">Fig. 1 </span><span class="caption-text">'
                                         'A test pattern; look at its four corners, which differ.</span></p>'
                                         '</figcaption></figure>')
        + "<p>Costs 5 dollars.</p></article><a class='right-next' href='next.html'>next</a></body></html>")
    (root / "broken.html").write_text(
        "<!doctype html><html><head><title>broken</title><script src='https://cdn.example.org/x.js'></script>"
        "</head><body><article class='bd-article'><h1>Broken</h1>"
        + badge.format(colab_url.replace("good.ipynb", "other.ipynb"))
        + cell("plt.imshow(blank)", '<img src="_images/blank.png">')
        + cell("plt.imshow(gone)", '<img src="_images/missing.png">')
        + cell("plt.imshow(x)", '<figure><img src="_images/figure.png"><figcaption><p>Fig. 2 A plot.</p>'
                                '</figcaption></figure>')
        + cell("plt.figure(figsize=(30, 0.6))", '<img src="_images/wide.png" style="max-width: 100%">')
        + cell("1 / 0", '<div class="output traceback highlight-ipythontb"><div class="highlight"><pre>'
                        "ZeroDivisionError                 Traceback (most recent call last)\n"
                        "ZeroDivisionError: division by zero</pre></div></div>")
        + cell("print(" + "'a long line of code',  " * 30 + ")", "<pre>ok</pre>")
        + "<div style='width: 300px'><table><tr>" + "<th>a wide column</th>" * 20 + "</tr></table></div>"
        + "<p>Raw $$x^2$$ math.</p><script>null.boom;</script>"
        "</article><a class='right-next' href='elsewhere.html'>next</a></body></html>")
    (root / "next.html").write_text("<!doctype html><html><body><article class='bd-article'><h1>Next</h1>"
                                    "</article></body></html>")


def test_inspect_page_passes_a_good_page_and_names_every_fault_of_a_broken_one(tmp_path, context):
    """The checks above can fail: on a page built to be wrong, each fault is reported, in words a writer can act on."""
    colab = "https://colab.research.google.com/github/someone/book/blob/main/book/good.ipynb"
    site = tmp_path / "site"
    _synthetic_site(site, colab)
    with StaticServer(site) as server:
        good, _ = inspect_page(context.new_page(), server.url, "good", (site / "good.html").read_text(), "next",
                               Chapter(figures=1, colab_url=colab), tmp_path)
        assert good == []
        broken, _ = inspect_page(context.new_page(), server.url, "broken", (site / "broken.html").read_text(),
                                 "next", Chapter(figures=5, colab_url=colab), tmp_path)
    expected = [
        "figure _images/blank.png (64x48) is blank: 1 colour(s)",
        "figure _images/missing.png did not load",
        "the executed notebook has 5 figure output(s), the page shows 4",
        "figure blank.png has no caption: say what it shows",
        "figure figure.png has a caption of 7 characters",
        "figure wide.png is shown at ",
        'error output (cell "1 / 0"): ZeroDivisionError: division by zero',
        "Colab badge points at " + colab.replace("good.ipynb", "other.ipynb"),
        "no Colab launch button",
        "raw math $$ left in the text",
        "cell code scrolls sideways (",
        "a table scrolls sideways (",
        "uncaught JavaScript error: Cannot read properties of null (reading 'boom')",
        f"request to the book's server failed: {server.url}/_images/missing.png (HTTP 404)",
        "fetched from another host (blocked): https://cdn.example.org/x.js",
        f"'next' link(s) ['{server.url}/elsewhere.html'], expected [{server.url}/next.html]",
    ]
    missed = [e for e in expected if not any(e in p for p in broken)]
    assert not missed, f"not reported: {missed}\nreported:\n- " + "\n- ".join(broken)
    assert (tmp_path / "broken.png").is_file() and (tmp_path / "broken.log").is_file()

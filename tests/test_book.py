"""Facts about the book's sources, checked without building it (the build executes the chapters).

Every chapter listed in book/_toc.yml exists, is committed without outputs, has cell ids, opens with a Colab badge
derived from book/_config.yml, what it teaches and its prerequisites, installs zsm in a hidden cell, and closes
with a summary and exercises. Its {literalinclude}s point at package code that exists, and the notation page
repeats the package's dimension letters.
"""
import ast
import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

import zsm

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
CONFIG = yaml.safe_load((BOOK / "_config.yml").read_text())
HIDDEN_TAGS = {"hide-input", "remove-input", "hide-cell", "remove-cell"}


def load_tool(name: str):
    """Import book/tools/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(name, BOOK / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAGES = load_tool("check_html").toc_files(yaml.safe_load((BOOK / "_toc.yml").read_text()))  # root first
NOTEBOOKS = [p for p in PAGES if (BOOK / f"{p}.ipynb").is_file()]


def read(page: str) -> nbformat.NotebookNode:
    return nbformat.read(BOOK / f"{page}.ipynb", as_version=4)


def expected_colab_url(page: str, config: dict = CONFIG) -> str:
    repo = config["repository"]
    org_repo = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", repo["url"]).group(1)
    return (f"https://colab.research.google.com/github/{org_repo}/blob/{repo['branch']}/"
            f"{repo['path_to_book']}/{page}.ipynb")


def headings(nb) -> list:
    """(cell index, heading text) of every Markdown heading of level 1 or 2, outside code fences."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.startswith(("```", "~~~")):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,2} ", line):
                found.append((index, line.lstrip("#").strip()))
    return found


def test_the_book_has_chapters_and_every_toc_page_exists():
    assert NOTEBOOKS, "no .ipynb chapter in book/_toc.yml"
    missing = [p for p in PAGES if not any((BOOK / f"{p}{suffix}").is_file() for suffix in (".md", ".ipynb"))]
    assert not missing, f"pages listed in book/_toc.yml but absent from book/: {missing}"


def test_config_makes_cell_errors_fatal_and_runs_every_notebook():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "force"
    assert execute["allow_errors"] is False
    assert execute["raise_on_error"] is True
    assert execute["timeout"] > 0
    assert "-W" in (BOOK / "tools" / "build.sh").read_text()


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chapter_is_committed_without_outputs(page):
    nb = read(page)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{page}.ipynb has outputs or execution counts in cells {dirty}; "
                       f"run python book/tools/strip_outputs.py book/{page}.ipynb")
    assert "widgets" not in nb.metadata, f"{page}.ipynb carries saved widget state; strip it"
    assert load_tool("strip_outputs").main(["--check", str(BOOK / f"{page}.ipynb")]) == 0


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_every_cell_has_a_unique_id(page):
    nb = read(page)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), "cell ids need nbformat 4.5 or later"
    ids = [cell.get("id") for cell in nb.cells]
    assert all(i and re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids), f"{page}.ipynb: missing or bad cell ids"
    assert len(set(ids)) == len(ids), f"{page}.ipynb: duplicate cell ids"


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chapter_opens_with_title_colab_badge_goals_and_prerequisites(page):
    first = read(page).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the first cell must start with the title"
    badge = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
             f"({expected_colab_url(page)})")
    assert badge in first.source, (f"{page}.ipynb: the Colab badge must be {badge} (derived from repository in "
                                   "book/_config.yml; python book/tools/sync_repo_url.py rewrites it)")
    assert re.search(r"what you will learn", first.source, re.IGNORECASE), "no 'What you will learn' in the opening"
    assert re.search(r"prerequisites", first.source, re.IGNORECASE), "no prerequisites in the opening"


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_first_code_cell_is_a_hidden_install_cell(page):
    code = [c for c in read(page).cells if c.cell_type == "code"]
    cell = code[0]
    tags = set(cell.metadata.get("tags", []))
    assert tags & HIDDEN_TAGS, f"{page}.ipynb: the first code cell must be hidden (one of {sorted(HIDDEN_TAGS)})"
    src = cell.source
    assert 'find_spec("zsm") is None' in src, "it must install zsm only when zsm is missing"
    assert f'REPO_URL = "{CONFIG["repository"]["url"]}"' in src, "REPO_URL must be repository.url of _config.yml"
    assert 'f"git+{REPO_URL}"' in src and "pip" in src, "it must pip install git+REPO_URL"
    assert 'device = "cuda" if torch.cuda.is_available() else "cpu"' in src, "it must pick the GPU when there is one"


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_chapter_closes_with_summary_and_exercises(page):
    nb = read(page)
    found = headings(nb)
    titles = [t for _, t in found]
    assert "Summary" in titles and "Exercises" in titles, f"{page}.ipynb: needs '## Summary' and '## Exercises'"
    summary = next(i for i, t in found if t == "Summary")
    exercises = next(i for i, t in found if t == "Exercises")
    assert summary <= exercises, "Summary comes before Exercises"
    assert all(c.cell_type == "markdown" for c in nb.cells[summary:exercises]), "no code between summary and exercises"
    # after the exercises, code only as the folded checks of their answers
    unfolded = [i for i, c in enumerate(nb.cells) if i > exercises and c.cell_type == "code"
                and not set(c.metadata.get("tags", [])) & {"hide-cell", "remove-cell"}]
    assert not unfolded, f"{page}.ipynb: code after '## Exercises' must be an answer's check tagged hide-cell: {unfolded}"
    tail = "\n".join(c.source for c in nb.cells[exercises:]).split("## Exercises", 1)[1]
    assert re.search(r"^1\. ", tail, re.MULTILINE), "the exercises are a numbered list"


def markdown_sources():
    """(page, text) of every Markdown page and every Markdown cell of the book."""
    for page in PAGES:
        if (BOOK / f"{page}.md").is_file():
            yield page, (BOOK / f"{page}.md").read_text()
        else:
            for cell in read(page).cells:
                if cell.cell_type == "markdown":
                    yield page, cell.source


def test_literalincludes_point_at_existing_package_code():
    pattern = re.compile(r"```\{literalinclude\}\s+(\S+)\s*\n((?::\w+:.*\n)*)")
    seen = 0
    for page, text in markdown_sources():
        for path, options in pattern.findall(text):
            seen += 1
            target = (BOOK / path).resolve()
            assert target.is_file(), f"{page}: literalinclude of a missing file {path}"
            pyobject = re.search(r":pyobject:\s*(\S+)", options)
            if pyobject:
                names = {n.name for n in ast.parse(target.read_text()).body
                         if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
                assert pyobject.group(1) in names, f"{page}: {path} has no top-level {pyobject.group(1)}"
    assert seen, "the chapters show package code with literalinclude"


def test_notebooks_do_not_redefine_package_objects():
    """The package is the source of truth: a chapter's own versions carry other names (MyResidualBlock, ...)."""
    package = set()
    for module in (REPO / "zsm").rglob("*.py"):  # every room: zsm/net, zsm/eval, ...
        package |= {n.name for n in ast.parse(module.read_text()).body
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    for page in NOTEBOOKS:
        for cell in read(page).cells:
            if cell.cell_type == "code":
                defined = {n.name for n in ast.parse(cell.source).body
                           if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
                assert not defined & package, f"{page}.ipynb redefines {sorted(defined & package)} of zsm; import it"


def test_repository_url_is_written_only_in_config_and_checked_notebooks():
    url = CONFIG["repository"]["url"]
    ignored = {"_build", "_static_widgets"}
    # the one other mention allowed: the placeholder the build warns about, named as such
    placeholder = re.compile(r'^PLACEHOLDER_URL = "[^"]*"$', flags=re.MULTILINE)
    offenders = [str(p.relative_to(BOOK)) for p in BOOK.rglob("*")
                 if p.is_file() and not ignored & set(p.relative_to(BOOK).parts)
                 and p.name != "_config.yml" and p.suffix != ".ipynb"
                 and url in placeholder.sub("", p.read_text(errors="ignore"))]
    assert not offenders, f"the repository URL is written outside book/_config.yml in {offenders}; derive it"


def test_notation_page_repeats_the_package_letters_word_for_word():
    block = zsm.__doc__.split("Dimension letters", 1)[1].split("Rooms by role", 1)[0]
    letters = []
    for line in block.splitlines():
        parts = [p for p in re.split(r"\s{2,}", line.strip()) if p]
        if len(parts) % 2 == 0 and parts:
            letters += list(zip(parts[0::2], parts[1::2]))
    assert len(letters) == 8, f"could not read the letters from zsm.__doc__: {letters}"
    rows = set()
    for line in (BOOK / "notation.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2:
            rows.add((cells[0], cells[1]))
    missing = [pair for pair in letters if pair not in rows]
    assert not missing, f"book/notation.md lacks the rows (letter | meaning) {missing} of zsm/__init__.py"


def test_strip_outputs_removes_outputs_counts_and_widget_state(tmp_path):
    strip = load_tool("strip_outputs")
    path = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[1].execution_count = 1
    nb.cells[1].metadata.update({"tags": ["hide-input"], "ExecuteTime": {"start": "x"}})
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    assert strip.main(["--check", str(path)]) == 1
    assert strip.main([str(path)]) == 0
    assert strip.main(["--check", str(path)]) == 0
    clean = nbformat.read(path, as_version=4)
    assert clean.cells[1].outputs == [] and clean.cells[1].execution_count is None
    assert clean.cells[1].metadata == {"tags": ["hide-input"]}
    assert "widgets" not in clean.metadata
    assert [c.id for c in clean.cells] == [c.id for c in nb.cells]


def test_sync_repo_url_rewrites_badges_and_install_cells_from_the_config(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(BOOK, book, ignore=shutil.ignore_patterns("_build", "_static_widgets"))
    config_path = book / "_config.yml"
    config_path.write_text(config_path.read_text().replace(CONFIG["repository"]["url"], "https://github.com/someone/elsewhere"))
    sync = load_tool("sync_repo_url")
    assert sync.main(["--check", "--book", str(book)]) == 1
    assert sync.main(["--book", str(book)]) == 0
    assert sync.main(["--check", "--book", str(book)]) == 0
    new_config = yaml.safe_load(config_path.read_text())
    for page in NOTEBOOKS:
        nb = nbformat.read(book / f"{page}.ipynb", as_version=4)
        assert expected_colab_url(page, new_config) in nb.cells[0].source
        assert 'REPO_URL = "https://github.com/someone/elsewhere"' in "\n".join(c.source for c in nb.cells)


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_code_lines_fit_the_rendered_page(page):
    """With book/_css/zsm.css the content column shows 81 characters of code at 1280 px (75 without it); longer
    lines scroll sideways. The browser tests measure it on the rendered pages; this keeps a margin, without a build."""
    long = [(i, len(line)) for i, cell in enumerate(read(page).cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 80]
    assert not long, f"{page}.ipynb: code lines longer than 80 characters (cell, length): {long}"


def test_glossary_defines_the_terms_a_reader_new_to_the_field_needs():
    """The glossary page is a Sphinx glossary (so every {term} link is checked by the -W build) and defines the
    terms the chapters rely on without explaining them."""
    text = (BOOK / "glossary.md").read_text()
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.DOTALL)
    assert block, "book/glossary.md needs a ```{glossary} block"
    terms = {line.strip().lower() for line in block.group(1).splitlines()
             if line and not line.startswith((" ", ":"))}
    needed = {"frame rate", "space-time video super-resolution", "video super-resolution", "video frame interpolation",
              "deblurring", "ill-posed problem", "inverse problem", "optical flow", "occlusion", "aperture problem",
              "deformable convolution", "dynamic filter", "sliding window", "recurrent", "psnr", "ssim"}
    assert not needed - terms, f"book/glossary.md does not define {sorted(needed - terms)}"
    for page in ("glossary", "related_work"):
        assert page in PAGES, f"{page} is not in book/_toc.yml"

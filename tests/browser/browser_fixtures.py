"""Fixtures of the browser tests: Chromium through Playwright, the built book served on 127.0.0.1, JupyterLab.

A test module imports the ones it uses (`from browser_fixtures import browser, ...`): a conftest.py here would
shadow tests/conftest.py, which other test modules import by name.
They skip, with the reason, where something they need is absent (Playwright, Chromium, JupyterLab, a built book);
with ZSM_REQUIRE_BROWSER=1 (set by CI) every such skip is a failure instead.
Screenshots and page logs go to $ZSM_BROWSER_ARTIFACTS (default: build/browser-artifacts/).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from harness import CHROMIUM_ARGS, HTML, REPO, JupyterLab, StaticServer, chromium_executable, skip_or_fail

_CLEANED: set = set()
_CHROMIUM: dict = {"users": 0}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots (*.png) and console logs (*.log) go; those of an earlier run are removed first."""
    path = Path(os.environ.get("ZSM_BROWSER_ARTIFACTS", REPO / "build" / "browser-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    if path not in _CLEANED:    # once per run: each test module that imports this fixture instantiates it
        for old in [*path.glob("*.png"), *path.glob("*.log")]:
            old.unlink()
        _CLEANED.add(path)
    return path


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run (Debian's, driven by Playwright; Playwright's own browsers are never
    downloaded). Shared by every module that imports this fixture: Playwright's sync API runs once per thread."""
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("playwright is not installed (pip install playwright; never `playwright install`)")
    executable = chromium_executable()
    if executable is None:
        where = (f"ZSM_CHROMIUM={os.environ['ZSM_CHROMIUM']} is not an executable" if os.environ.get("ZSM_CHROMIUM")
                 else "no Chromium at /usr/bin/chromium or on PATH")
        skip_or_fail(f"{where} (apt-get install chromium, or set ZSM_CHROMIUM; see `make chromium`)")
    from playwright.sync_api import sync_playwright

    if not _CHROMIUM["users"]:
        playwright = sync_playwright().start()
        try:
            _CHROMIUM["browser"] = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception:
            playwright.stop()
            raise
        _CHROMIUM["playwright"] = playwright
    _CHROMIUM["users"] += 1
    try:
        yield _CHROMIUM["browser"]
    finally:
        _CHROMIUM["users"] -= 1
        if not _CHROMIUM["users"]:
            _CHROMIUM["browser"].close()
            _CHROMIUM["playwright"].stop()


@pytest.fixture(scope="session")
def book_server():
    """The built book (book/_build/html) served over HTTP on 127.0.0.1."""
    if not (HTML / "index.html").is_file():
        skip_or_fail(f"the book is not built ({HTML} has no index.html): run `make book` first")
    with StaticServer(HTML) as server:
        yield server


@pytest.fixture
def context(browser):
    """A fresh browser profile (no cookies, no local storage) per test, 1280 px wide like a laptop screen."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """A JupyterLab 4 server on 127.0.0.1 with a token; its root is an empty temporary folder (copy notebooks into
    `jupyter_lab.root`). Its settings, workspaces and runtime files live in another temporary folder."""
    if importlib.util.find_spec("jupyterlab") is None:
        skip_or_fail("jupyterlab is not installed (pip install -e '.[test]')")
    lab = JupyterLab(root=tmp_path_factory.mktemp("lab-root"), home=tmp_path_factory.mktemp("lab-home"))
    lab.start()
    yield lab
    lab.stop()

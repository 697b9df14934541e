"""A reader's session with the offset explorers of chapters 3, 4 and 8, in a real JupyterLab driven through Chromium.

The test opens a chapter, runs all its cells as a reader does (command palette, "Run All Cells"), finds the
explorer's controls in the page by their labels, and moves every one of them as a reader would: options chosen
in the dropdowns, arrow keys on the focused slider. After each move the page must show the new value, and the
explorer's image must change to exactly the picture `zsm.viz` draws for the settings the page shows: its
decoded pixels (Chromium's canvas) equal those of `OffsetExplorer.render(settings)`.

The expected pictures come from this process: it runs the chapter's own code up to the explorer's cell
(tests/chapter_code.py), so the explorer it asks is built as the chapter builds it, from the same clip, shipped
model and arguments; the test and the chapter cannot drift apart. Each move is made on that explorer's controls
too, so the settings the page must show next (e.g. the step kept when the stage changes) are zsm.viz's own.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from browser_fixtures import artifacts_dir, browser, context, jupyter_lab  # noqa: F401 - pytest fixtures
from harness import BOOK, JS_IMAGE_PIXELS, REPO, PageLog, open_notebook, origin_of, run_all_cells

# chapter -> the text of its cell that builds and shows the explorer. Chapter 3's explorer (interpolation records)
# has no stage control; chapter 4's (ConvLSTM records) has one; chapter 8's (viz.MomentExplorer) has a time slider.
EXPLORER_CELLS = {"03_feature_interpolation.ipynb": "viz.OffsetExplorer(",
                  "04_deformable_convlstm.ipynb": "viz.OffsetExplorer(",
                  "08_beyond_2x.ipynb": "viz.MomentExplorer.from_model("}
CHAPTERS = list(EXPLORER_CELLS)

# JavaScript: SHA-256 of an <img>'s pixels as Chromium decoded them (RGBA rows, as PIL's tobytes() of "RGBA"),
# with the size; cheaper to poll than the pixels themselves.
JS_IMAGE_SHA256 = """async (img) => {
  if (!img.complete || img.naturalWidth === 0) return {error: "not loaded (naturalWidth 0)"};
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return {width: canvas.width, height: canvas.height,
          sha256: Array.from(digest, b => b.toString(16).padStart(2, "0")).join("")};
}"""

# JavaScript: what a control shows: its <select>'s selected option or its slider's readout (the option's label;
# the page writes the spaces of an option's text as no-break spaces, its value attribute has plain ones).
JS_CONTROL_TEXT = """(box) => {
  const select = box.querySelector("select");
  if (select) return select.selectedIndex < 0 ? "" : select.options[select.selectedIndex].value;
  const readout = box.querySelector(".widget-readout");
  return readout ? readout.textContent.replace(/\\u00a0/g, " ").trim() : null;
}"""

# JavaScript: whether a control cuts off the text it shows: its label, its slider's readout (wider content than
# box), or its <select>'s selected option (the text, in the select's font, wider than the room inside it).
JS_CONTROL_CLIPPED = """(box) => {
  const cut = [];
  for (const el of box.querySelectorAll("label, .widget-readout"))
    if (el.scrollWidth > el.clientWidth) cut.push(`${el.textContent} (${el.scrollWidth} > ${el.clientWidth} px)`);
  const select = box.querySelector("select");
  if (select && select.selectedIndex >= 0) {
    const style = getComputedStyle(select);
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = style.font;
    const text = select.options[select.selectedIndex].textContent;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const width = ctx.measureText(text).width;
    if (width > room) cut.push(`${text} (${Math.ceil(width)} > ${Math.floor(room)} px)`);
  }
  return cut;
}"""


def decoded(png: bytes) -> np.ndarray:
    """(height, width, RGBA) uint8 pixels of a PNG."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda name: name[:2])
def chapter(request):
    """(notebook name, the explorer the chapter builds), built here by running the chapter's own code through its
    explorer cell."""
    import zsm
    from chapter_code import run_chapter

    assert REPO in Path(zsm.__file__).resolve().parents, (
        f"this process imports zsm from {zsm.__file__}, not from this checkout {REPO}: run the tests with "
        f"PYTHONPATH={REPO} (or `python -m pytest` from the checkout)")
    return request.param, run_chapter(BOOK / request.param, through=EXPLORER_CELLS[request.param])["explorer"]


class ExplorerPage:
    """The explorer's widgets in JupyterLab's page, found by their description labels, and what they show.

    `explorer` (this process's OffsetExplorer, built as the chapter builds it) names the controls, their labels
    and the value behind each option label.
    """

    def __init__(self, page, explorer):
        self.page, self.explorer = page, explorer

        def label(name):
            text = explorer.controls[name].description
            return page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(text)}$"))

        # The explorer: the output (of the chapter's cell) that holds its controls and its image.
        self.output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output",
                                   has=label(next(iter(explorer.controls))))
        assert self.output.count() == 1, f"expected one output holding the explorer, found {self.output.count()}"
        self.boxes = {}
        for name, control in explorer.controls.items():
            box = self.output.locator(".widget-dropdown, .widget-hslider", has=label(name))
            assert box.count() == 1, (f"expected one control labelled {control.description!r} in the explorer, "
                                      f"found {box.count()}")
            self.boxes[name] = box
        self.image = self.output.locator("img.widget-image")
        assert self.image.count() == 1, f"expected one image in the explorer, found {self.image.count()}"

    def shown(self, name: str) -> str:
        return self.boxes[name].evaluate(JS_CONTROL_TEXT)

    def settings(self) -> dict:
        """The value of every control as the page shows it: the value behind the option label it shows, or the
        text it shows where that is no option of the control (the options may be about to change)."""
        values = {}
        for name, control in self.explorer.controls.items():
            text = self.shown(name)
            labels = dict(control.options)
            values[name] = labels[text] if text in labels else f"{text!r}, none of its options"
        return values

    def clipped(self) -> dict:
        """The controls whose label or shown value is cut off, with what is cut ({} when none is)."""
        cut = {name: box.evaluate(JS_CONTROL_CLIPPED) for name, box in self.boxes.items()}
        return {name: texts for name, texts in cut.items() if texts}

    def label_of(self, name: str, value) -> str:
        return next(label for label, v in self.explorer.controls[name].options if v == value)

    def image_digest(self) -> dict:
        return self.image.evaluate(JS_IMAGE_SHA256)

    def image_pixels(self) -> np.ndarray:
        got = self.image.evaluate(JS_IMAGE_PIXELS)
        assert "error" not in got, f"the explorer's image {got['error']}"
        return np.array(got["rgba"], dtype=np.uint8).reshape(got["height"], got["width"], 4)

    def wait_for(self, settings: dict, what: str, timeout_s: float = 30.0) -> None:
        """Wait until the page's controls show `settings` and its image is exactly render(settings)."""
        want = decoded(self.explorer.render(settings))
        want_digest = hashlib.sha256(want.tobytes()).hexdigest()
        deadline = time.monotonic() + timeout_s
        shown = None
        while time.monotonic() < deadline:
            shown = self.settings()
            if shown == settings and self.image_digest().get("sha256") == want_digest:
                return
            self.page.wait_for_timeout(200)
        if shown != settings:
            raise AssertionError(f"{what}: the controls show {shown}, expected {settings}")
        got = self.image_pixels()
        detail = (f"size {got.shape[1]}x{got.shape[0]} vs {want.shape[1]}x{want.shape[0]}" if got.shape != want.shape
                  else f"{int((got != want).any(axis=-1).sum())} of {want.shape[0] * want.shape[1]} pixels differ")
        raise AssertionError(f"{what}: within {timeout_s:.0f} s the explorer's image did not become the picture "
                             f"zsm.viz renders for {settings}: {detail}")


# What the reader does, in order: the time slider (chapter 8) one step right and two steps left from the keyboard,
# every dropdown set to its next option through its <select> (the tap also back to its first option, the mean of the
# taps), then the density slider one step right and two steps left.
MOVES = [("time", "ArrowRight"), ("time", "ArrowLeft"), ("time", "ArrowLeft"), ("stage", "next"), ("pair", "next"),
         ("level", "next"), ("direction", "next"), ("group", "next"), ("tap", "next"), ("tap", "first"),
         ("density", "ArrowRight"), ("density", "ArrowLeft"), ("density", "ArrowLeft")]


def target(control, how: str):
    """The value a move gives `control`: its next or first option, or the option a step right or left."""
    values = [v for _, v in control.options]
    at = values.index(control.value)
    step = {"next": 1, "ArrowRight": 1, "ArrowLeft": -1}.get(how)
    if how == "first":
        return values[0]
    if how == "next":
        return values[(at + 1) % len(values)]
    assert 0 <= at + step < len(values), f"{control.description}: no option {how} of {control.value!r}"
    return values[at + step]


def shut_down_kernels(lab) -> None:
    """End the kernels of every session of the server (a chapter's kernel holds its model and records)."""
    request = urllib.request.Request(f"{lab.url}/api/sessions?token={lab.token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        url = f"{lab.url}/api/sessions/{session['id']}?token={lab.token}"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()


def test_every_control_of_a_chapters_explorer_redraws_it_in_jupyterlab(jupyter_lab, context, artifacts_dir, chapter):
    """Run All Cells in the chapter shows the explorer; each move of each control (dropdown option, slider key) makes
    the kernel draw a new picture, and Chromium shows exactly what zsm.viz renders for the settings on the page."""
    name, explorer = chapter
    stem = f"offset-explorer-{name[:2]}"
    moves = [(control, how) for control, how in MOVES if control in explorer.controls]
    assert {control for control, _ in moves} == set(explorer.controls), "a control the test does not move"

    # The chapter as a reader has it, plus a last cell (the test's) that says where the kernel found zsm.
    nb = nbformat.read(str(BOOK / name), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('zsm from', zsm.__file__)"))
    nbformat.write(nb, jupyter_lab.home / name)
    jupyter_lab.add(jupyter_lab.home / name)
    if not (jupyter_lab.root / "data").exists():
        jupyter_lab.add(REPO / "data")  # the chapter reads the footage from data/ beside itself

    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 1000})
    log = PageLog(origin=origin_of(jupyter_lab.url))
    log.attach(page)
    try:
        open_notebook(page, jupyter_lab, name)
        saved = run_all_cells(page, jupyter_lab, name, timeout=300)
        where = "".join("".join(o.get("text", "")) for o in saved["cells"][-1]["outputs"])
        assert f"zsm from {REPO / 'zsm' / '__init__.py'}" in where, (
            f"the kernel did not import this checkout's zsm: {where!r}")
        cell = next(c for c in saved["cells"] if EXPLORER_CELLS[name] in "".join(c["source"]))
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell["outputs"]), (
            f"the explorer's cell ran but showed no widget: {cell['outputs']}")

        ui = ExplorerPage(page, explorer)
        ui.image.scroll_into_view_if_needed()
        expected = explorer.settings()  # the chapter's starting view (it sets the tap before showing it)
        ui.wait_for(expected, "after Run All Cells")
        assert not ui.clipped(), f"a control cuts off its text: {ui.clipped()}"
        page.screenshot(path=str(artifacts_dir / f"{stem}-start.png"))

        for control, how in moves:
            value = target(explorer.controls[control], how)
            what = f"{control} -> {ui.label_of(control, value)!r} ({how})"
            previous = explorer.render(expected)
            explorer.controls[control].value = value  # the same move here: what the page must show next
            expected = explorer.settings()
            assert explorer.render(expected) != previous, f"{what}: zsm.viz draws the same picture; pick another move"
            before = ui.image.get_attribute("src")
            if how in ("next", "first"):
                ui.boxes[control].locator("select").select_option(value=ui.label_of(control, value))
            else:
                ui.boxes[control].locator(".noUi-handle").focus()
                page.keyboard.press(how)
            ui.wait_for(expected, what)
            assert ui.image.get_attribute("src") != before, f"{what}: the image's src did not change"
            assert not ui.clipped(), f"{what}: a control cuts off its text: {ui.clipped()}"
        page.screenshot(path=str(artifacts_dir / f"{stem}-end.png"))
    except Exception:
        page.screenshot(path=str(artifacts_dir / f"{stem}-failed.png"), full_page=True)
        (artifacts_dir / f"{stem}-server.log").write_text(jupyter_lab.log_tail(100000))
        raise
    finally:
        (artifacts_dir / f"{stem}.log").write_text(log.dump())
        page.close()
        shut_down_kernels(jupyter_lab)
    assert not log.failed, f"requests to the JupyterLab server failed: {log.failed}"
    assert not log.page_errors, f"uncaught errors in JupyterLab: {log.page_errors}"

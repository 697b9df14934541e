"""A reader's session in a real JupyterLab: open a notebook, run all cells, drive a widget with the keyboard.

The notebook here is written by the test; the same harness (browser_fixtures.jupyter_lab, harness.open_notebook
and harness.run_all_cells) drives the book's interactive chapters.
"""
from __future__ import annotations

import inspect
import io
import textwrap
import time

import nbformat
import numpy as np
import pytest
from PIL import Image

from browser_fixtures import artifacts_dir, browser, context, jupyter_lab  # noqa: F401 - pytest fixtures
from harness import JS_IMAGE_PIXELS, PageLog, open_notebook, origin_of, run_all_cells


def value_png(value: int) -> bytes:
    """A 24x12 RGB PNG that encodes `value` (0..10): red level, a green bar 2*value wide, a blue checker."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.zeros((12, 24, 3), dtype=np.uint8)   # (height, width, RGB)
    pixels[..., 0] = 40 + 20 * value
    pixels[:, : 2 * value, 1] = 255
    pixels[::2, ::2, 2] = 7 * value
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


SLIDER_CELL = inspect.getsource(value_png) + textwrap.dedent('''
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=10, description="value")
    image = widgets.Image(value=value_png(0), format="png", width=96)
    slider.observe(lambda change: setattr(image, "value", value_png(change["new"])), names="value")
    widgets.VBox([slider, image])
''')


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def shown_pixels(image) -> np.ndarray:
    """The pixels of an <img> as Chromium decoded them, (height, width, RGBA)."""
    got = image.evaluate(JS_IMAGE_PIXELS)
    assert "error" not in got, f"the widget's image {got['error']}"
    return np.array(got["rgba"], dtype=np.uint8).reshape(got["height"], got["width"], 4)


def wait_for_value(page, image, readout, value: int, timeout_s: float = 30.0) -> None:
    """Wait until the slider reads `value` and the image shows exactly value_png(value)."""
    want = decoded(value_png(value))
    deadline = time.monotonic() + timeout_s
    got = None
    while time.monotonic() < deadline:
        if readout.inner_text().strip() == str(value):
            got = shown_pixels(image)
            if got.shape == want.shape and np.array_equal(got, want):
                return
        page.wait_for_timeout(200)
    detail = "no image read" if got is None else (
        f"shape {got.shape} vs {want.shape}" if got.shape != want.shape
        else f"{int((got != want).any(axis=-1).sum())} of {want.shape[0] * want.shape[1]} pixels differ")
    raise AssertionError(f"after moving the slider to {value} (readout {readout.inner_text()!r}) the image is not "
                         f"the PNG the observer makes for {value}: {detail}")


def test_keyboard_on_a_slider_redraws_the_image_through_the_kernel(jupyter_lab, context, artifacts_dir):
    """Run All Cells shows the slider and its image; each arrow key on the focused slider makes the kernel's observer
    draw a new PNG, and the browser shows exactly that PNG (decoded pixels equal), not a stale or a blank one."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SLIDER_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, jupyter_lab.home / "slider.ipynb")
    jupyter_lab.add(jupyter_lab.home / "slider.ipynb")

    page = context.new_page()
    log = PageLog(origin=origin_of(jupyter_lab.url))
    log.attach(page)
    try:
        open_notebook(page, jupyter_lab, "slider.ipynb")
        saved = run_all_cells(page, jupyter_lab, "slider.ipynb")
        views = [o for o in saved["cells"][0]["outputs"]
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, f"the cell ran but displayed no widget: {saved['cells'][0]['outputs']}"

        output = page.locator(".jp-OutputArea-output").first
        handle = output.locator(".widget-slider .noUi-handle")
        readout = output.locator(".widget-readout")
        image = output.locator("img.widget-image")
        image.wait_for(state="visible")
        wait_for_value(page, image, readout, 0)

        handle.focus()
        for key, value in (("ArrowRight", 1), ("ArrowRight", 2), ("ArrowRight", 3), ("ArrowLeft", 2)):
            before = image.get_attribute("src")
            page.keyboard.press(key)
            wait_for_value(page, image, readout, value)
            assert image.get_attribute("src") != before, f"{key}: the image's src did not change"
        page.screenshot(path=str(artifacts_dir / "jupyterlab-slider.png"))
    except Exception:
        page.screenshot(path=str(artifacts_dir / "jupyterlab-slider-failed.png"))
        (artifacts_dir / "jupyterlab-server.log").write_text(jupyter_lab.log_tail(100000))
        raise
    finally:
        (artifacts_dir / "jupyterlab-slider.log").write_text(log.dump())
    # JupyterLab itself may log to the console; what must not happen is a failed request to the server.
    assert not log.failed, f"requests to the JupyterLab server failed: {log.failed}"
    assert not log.page_errors, f"uncaught errors in JupyterLab: {log.page_errors}"


def test_run_all_cells_reports_the_cell_that_raised(jupyter_lab, context):
    """The harness must not pass a notebook whose cell fails: it names the cell and the exception."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("raise ValueError('expected a frame')"),
                                         nbformat.v4.new_code_cell("y = 2")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, jupyter_lab.root / "fails.ipynb")
    page = context.new_page()
    open_notebook(page, jupyter_lab, "fails.ipynb")
    with pytest.raises(AssertionError, match=r"fails.ipynb: cell 1 raised ValueError: expected a frame"):
        run_all_cells(page, jupyter_lab, "fails.ipynb")

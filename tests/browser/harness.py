"""What the browser tests share: a static file server, a JupyterLab server, page recorders and Playwright helpers.

Everything runs on 127.0.0.1 and needs no network: Chromium is Debian's (/usr/bin/chromium, or $ZSM_CHROMIUM),
driven by Playwright from PyPI (never `playwright install`).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "book"
HTML = BOOK / "_build" / "html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def skip_or_fail(reason: str):
    """Skip the calling test, or fail it under ZSM_REQUIRE_BROWSER=1 (CI, where every browser test must run)."""
    import pytest

    if os.environ.get("ZSM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ZSM_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_executable() -> str | None:
    """$ZSM_CHROMIUM, else /usr/bin/chromium, else `chromium` on PATH; None when there is none."""
    wanted = os.environ.get("ZSM_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StaticServer:
    """Serve a folder on 127.0.0.1 (a free port) from a thread; `with StaticServer(root) as server: server.url`."""

    def __init__(self, root: Path):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.root = Path(root)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Quiet, directory=str(self.root)))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StaticServer":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class PageLog:
    """Everything a page reported while `active`: console messages, uncaught errors, requests that failed.

    Requests to hosts other than the served origin are aborted (the tests never touch the network) and listed in
    `external`. Set `active` to False to stop recording (e.g. before following a link to another page).
    """
    origin: str
    active: bool = True
    console: list = field(default_factory=list)       # (type, text, url of the script or resource)
    page_errors: list = field(default_factory=list)   # (message, stack)
    failed: list = field(default_factory=list)        # (url, reason) of requests to the origin
    external: list = field(default_factory=list)      # url of every request to another host

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.active and self.page_errors.append((error.message, error.stack or "")))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        page.route("**/*", self._route)

    def _console(self, message) -> None:
        if self.active:
            self.console.append((message.type, message.text, (message.location or {}).get("url", "")))

    def _local(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url == self.origin

    def _route(self, route) -> None:
        url = route.request.url
        if self._local(url):
            route.continue_()
        else:
            if self.active:
                self.external.append(url)
            route.abort("blockedbyclient")

    def _request_failed(self, request) -> None:
        if self.active and self._local(request.url):
            self.failed.append((request.url, request.failure or "failed"))

    def _response(self, response) -> None:
        if self.active and self._local(response.url) and response.status >= 400:
            self.failed.append((response.url, f"HTTP {response.status}"))

    def dump(self) -> str:
        return json.dumps({"console": self.console, "page_errors": self.page_errors, "failed": self.failed,
                           "external": self.external}, indent=1)


# JavaScript: the pixels of an <img> as the browser decoded them (canvas), for images of the page's own origin
# and data:/blob: URLs. Returns {width, height, rgba: [...]} or {error}.
JS_IMAGE_PIXELS = """(img) => {
  if (!img.complete || img.naturalWidth === 0) return {error: "not loaded (naturalWidth 0)"};
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return {width: canvas.width, height: canvas.height, rgba: Array.from(data)};
}"""

# JavaScript: how varied an <img>'s decoded pixels are: the number of distinct RGBA colours (capped) and the share
# of pixels that have the most common colour. A blank figure has one colour; a real one has many.
JS_IMAGE_STATS = """(img) => {
  if (!img.complete || img.naturalWidth === 0) return {loaded: false};
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  const data = new Uint32Array(ctx.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
  const counts = new Map();
  for (const v of data) { counts.set(v, (counts.get(v) || 0) + 1); if (counts.size > 100000) break; }
  let top = 0; for (const c of counts.values()) top = Math.max(top, c);
  return {loaded: true, width: img.naturalWidth, height: img.naturalHeight, colours: counts.size,
          dominant: counts.size > 100000 ? 0 : top / data.length};
}"""


class JupyterLab:
    """A real JupyterLab server on 127.0.0.1 with a token, its root a fresh folder, settings isolated from the user's.

    `start()` waits until /api/status answers; `stop()` ends the server (and the kernels it started).
    `add(path)` puts a notebook (copied) or a folder (linked) into the root; `url_for(name)` is the address that
    opens ROOT/name in the browser (token included). The kernels inherit this process's environment, with this
    checkout first on PYTHONPATH.
    """

    def __init__(self, root: Path, home: Path, token: str = "zsm-browser-test", timeout: float = 90.0):
        self.root, self.home, self.token, self.timeout = Path(root), Path(home), token, timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "jupyterlab.log"
        self.process: subprocess.Popen | None = None
        self._log = None
        self.workspaces = 0

    def command(self) -> list[str]:
        return [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                "--port-retries=0", f"--IdentityProvider.token={self.token}", "--allow-root",
                f"--ServerApp.root_dir={self.root}"]

    def environment(self) -> dict:
        env = dict(os.environ)
        # The kernels import this checkout's zsm (not one installed from elsewhere), as the test process does.
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + paths)
        # The kernels must draw inline (MPLBACKEND=Agg, set by CI for the tests, would hide every figure).
        env.pop("MPLBACKEND", None)
        for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                          ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                          ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
            env[name] = str(self.home / sub)
        return env

    def start(self) -> "JupyterLab":
        self.root.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=self.root, env=self.environment(), stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with status {self.process.returncode} before it answered:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer on {self.url} within {self.timeout:.0f} s:\n"
                           + self.log_tail())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)   # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)   # its own process group (start_new_session)
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.is_file() else ""

    def add(self, source: Path, name: str | None = None) -> str:
        """Put `source` into the server's root as `name` (default: its own name): a file is copied, a folder linked
        (e.g. the repository's data/, which a chapter looks for beside itself). Returns the name."""
        source, name = Path(source), name or Path(source).name
        target = self.root / name
        if source.is_dir():
            target.symlink_to(source.resolve(), target_is_directory=True)
        else:
            shutil.copy2(source, target)
        return name

    def url_for(self, name: str) -> str:
        """A fresh workspace per call: JupyterLab would otherwise reopen every notebook of the last visit."""
        self.workspaces += 1
        return f"{self.url}/lab/workspaces/test{self.workspaces}/tree/{name}?token={self.token}"


def dismiss_news(page, wait_s: float = 0.0) -> bool:
    """Answer "No" to JupyterLab's "Would you like to get notified about official Jupyter news?" toast.

    Waits up to `wait_s` seconds for it to appear (it comes a moment after the page). Clicks through JavaScript:
    the toast slides in, so a pointer click would wait for it to stand still. True when it was answered.
    """
    script = """() => {
      for (const toast of document.querySelectorAll('.Toastify__toast')) {
        if (!/news/i.test(toast.textContent)) continue;
        const no = [...toast.querySelectorAll('button')].find(b => b.textContent.trim() === 'No');
        if (no) { no.click(); return true; }
      }
      return false;
    }"""
    deadline = time.monotonic() + wait_s
    while True:
        if page.evaluate(script):
            return True
        if time.monotonic() >= deadline:
            return False
        page.wait_for_timeout(250)


def kernel_status(page) -> str:
    """The notebook's kernel status as JupyterLab's toolbar shows it ("idle", "busy", "starting", ...; "" if none)."""
    return page.evaluate("""() => {
      const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
      return el ? (el.getAttribute('data-status') || '') : '';
    }""")


def wait_kernel_idle(page, timeout: float = 90.0, settle: float = 1.5) -> None:
    """Wait until the kernel has been idle for `settle` seconds in a row (a run of cells goes busy/idle per cell)."""
    deadline = time.monotonic() + timeout
    idle_since = None
    status = ""
    while time.monotonic() < deadline:
        status = kernel_status(page)
        busy_prompts = page.locator(".jp-InputPrompt", has_text="[*]").count()
        if status == "idle" and not busy_prompts:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return
        else:
            idle_since = None
        page.wait_for_timeout(250)
    raise AssertionError(f"the kernel was not idle within {timeout:.0f} s (last status {status!r})")


def kernel_state_on_server(lab: JupyterLab, name: str) -> str:
    """The execution state the server reports for the kernel of ROOT/name's session ("" when there is none)."""
    with urllib.request.urlopen(f"{lab.url}/api/sessions?token={lab.token}", timeout=5) as response:
        sessions = json.load(response)
    for session in sessions:
        if session.get("path") == name and session.get("kernel"):
            return session["kernel"].get("execution_state", "")
    return ""


def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 120.0) -> None:
    """Open ROOT/name in JupyterLab, dismiss the news pop-up, and wait until its kernel is started and idle.

    The toolbar reads "idle" before any kernel exists, so the server's session for the notebook is asked too.
    """
    page.goto(lab.url_for(name), wait_until="domcontentloaded", timeout=timeout * 1000)
    page.locator(".jp-NotebookPanel .jp-Notebook:visible").first.wait_for(timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while kernel_state_on_server(lab, name) != "idle":
        if time.monotonic() > deadline:
            raise AssertionError(f"no idle kernel for {name} within {timeout:.0f} s (server log:\n{lab.log_tail()})")
        page.wait_for_timeout(250)
    wait_kernel_idle(page, timeout=max(1.0, deadline - time.monotonic()))
    dismiss_news(page)


def run_command(page, label: str, attempts: int = 3) -> None:
    """Run a JupyterLab command the way a keyboard user does: Ctrl+Shift+C, type its label, Enter.

    Focus may move while JupyterLab settles (a kernel that connects focuses its notebook, which closes the palette),
    so a palette that closed or shows another command first is opened again.
    """
    palette = page.locator(".lm-CommandPalette-input:visible")
    item = page.locator(".lm-CommandPalette-item.lm-mod-active:visible",
                        has=page.locator(".lm-CommandPalette-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")))
    for _ in range(attempts):
        # Focus the notebook (a click on a cell's prompt selects the cell), leave edit mode, open the palette.
        page.locator(".jp-NotebookPanel:visible .jp-Cell .jp-InputPrompt").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(timeout=5000)
            palette.fill(label)
            item.wait_for(timeout=5000)
        except Exception:  # noqa: BLE001 - tried again, then reported below
            page.keyboard.press("Escape")
            continue
        page.keyboard.press("Enter")
        return
    raise AssertionError(f"could not run {label!r} through JupyterLab's command palette (Ctrl+Shift+C)")


def run_all_cells(page, lab: JupyterLab, name: str, timeout: float = 300.0) -> dict:
    """Run every cell of the open notebook ROOT/name as a reader would (command palette, "Run All Cells"), wait for
    the kernel to finish, save, and check the saved notebook: every code cell ran and none has an error output.

    Returns the saved notebook (a dict). Raises AssertionError naming the first cell that did not run or failed.
    """
    prompts = "() => [...document.querySelectorAll('.jp-InputPrompt')].map(p => p.textContent.trim())"
    before = page.evaluate(prompts)
    # The run has started once a prompt shows [*] or another count than before (a tiny notebook may be done already).
    started = f"""() => {{ const before = {json.dumps(before)};
      return [...document.querySelectorAll('.jp-InputPrompt')]
        .some((p, i) => p.textContent.includes('*') || p.textContent.trim() !== before[i]); }}"""
    dismiss_news(page)
    run_command(page, "Run All Cells")
    try:
        page.wait_for_function(started, timeout=30000)
    except Exception:  # noqa: BLE001 - reported with the kernel's state
        raise AssertionError(f"Run All Cells did not start any cell in {name} "
                             f"(kernel: {kernel_state_on_server(lab, name)!r})") from None
    wait_kernel_idle(page, timeout=timeout)
    page.keyboard.press("Control+s")
    path = lab.root / name
    deadline = time.monotonic() + 30
    saved = before = path.stat().st_mtime_ns
    while time.monotonic() < deadline and saved == before:
        page.wait_for_timeout(250)
        saved = path.stat().st_mtime_ns
    assert saved != before, f"JupyterLab did not save {name} after Ctrl+S"
    # The server writes the file in place: read too early, it is empty or cut short. Read until it parses.
    while True:
        try:
            notebook = json.loads(path.read_text())
            break
        except json.JSONDecodeError as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} as saved by JupyterLab is not JSON: {error}") from None
            page.wait_for_timeout(250)
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
            continue
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
                raise AssertionError(f"{name}: cell {index} raised {output['ename']}: {output['evalue']}\n{trace}")
        assert cell.get("execution_count") is not None, f"{name}: cell {index} did not run"
    return notebook


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

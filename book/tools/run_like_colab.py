"""Run every chapter the way a Colab user does: a fresh environment without zsm, whose install cell installs it.

    python book/tools/run_like_colab.py                  # every chapter, in a new environment under /tmp
    python book/tools/run_like_colab.py 03_feature_interpolation.ipynb --keep ENV_DIR
    python book/tools/run_like_colab.py --make-env DIR   # only make the fresh environment (CI, ahead of time)
    python book/tools/run_like_colab.py --env DIR        # every chapter, in that environment instead of a new one

What it does, in order:

1. a fresh virtual environment with what a Colab runtime has and this book needs (torch, numpy, matplotlib, OpenCV,
   ipywidgets and a Jupyter kernel), and **not** zsm: it checks that ``import zsm`` fails there;
2. a clone (``git clone``) of the commit under test (HEAD of this checkout; uncommitted changes are not in it, and a
   dirty checkout is said so);
3. for each chapter, a copy whose install cell has one change, ``REPO_URL`` pointed at that clone
   (``file:///...``), so that its ``pip install git+{REPO_URL}`` installs the commit under test; zsm is uninstalled
   before each chapter, so every chapter's install cell really installs it, as on a fresh Colab runtime;
4. each chapter executed top to bottom in its own kernel of that environment, all in one working directory (as
   ``/content`` on Colab), so the footage is fetched once, by the first chapter that needs it. Cells tagged
   ``skip-execution`` (the GPU-only and Google Drive cells) are left out, as the book's build leaves them out.

``--make-env DIR`` makes step 1's environment and stops, so that CI can install it while other checks run; ``--env
DIR`` then uses it for step 1 (checked again: ``import zsm`` must fail there; it is left in place afterwards).

Any failing cell stops the run with the chapter, the cell and the error, and the exit status is 1. The environment
and the working directory are removed afterwards unless ``--keep`` names a folder for them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sync_repo_url import BOOK, REPO_LINE, toc_notebooks  # the chapters, and their install cell's address line

ROOT = BOOK.parent
# What a Colab runtime provides that the chapters use; zsm itself comes from the install cell. Torch is pinned as in
# CI (any other spec may pull a multi-GB CUDA build here); --torch changes it.
COLAB_PACKAGES = ["numpy", "matplotlib", "opencv-python-headless", "ipywidgets>=8", "ipykernel", "nbclient",
                  "nbformat", "tqdm"]

EXECUTE = r'''
import sys, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path, workdir = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells = [c for c in nb.cells if "skip-execution" not in c.metadata.get("tags", [])]
client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": workdir}})
start = time.time()
try:
    client.execute()
except CellExecutionError as error:
    print(str(error)[-3000:], file=sys.stderr)
    sys.exit(1)
print(f"{time.time() - start:.0f} s")
'''


def run(cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def make_environment(env: Path, torch_spec: str) -> Path:
    run([sys.executable, "-m", "venv", env])
    python = env / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", torch_spec, *COLAB_PACKAGES])
    return checked_environment(env)


def checked_environment(env: Path) -> Path:
    """The environment's python, after checking that zsm does not import there (it must come from the install
    cell); stops the run with the reason otherwise."""
    python = env / "bin" / "python"
    if not python.is_file():
        raise SystemExit(f"run_like_colab: {env} is not an environment (no bin/python); make it with --make-env {env}")
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "zsm"], capture_output=True)
    probe = subprocess.run([python, "-c", "import zsm"], capture_output=True, cwd=env)  # not from a checkout
    if probe.returncode == 0:
        raise SystemExit(f"run_like_colab: zsm is importable in {env}; it must come from the install cell")
    return python


def clone_commit(dest: Path) -> str:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        print("run_like_colab: the checkout has uncommitted changes; the chapters install the commit "
              f"{commit[:12]} without them", flush=True)
    run(["git", "clone", "--quiet", "--no-local", ROOT, dest])
    run(["git", "-C", dest, "checkout", "--quiet", "--detach", commit])
    return commit


def installed_from(python: Path):
    """Where pip installed zsm from in that environment and which commit (its direct_url.json): "URL COMMIT", or None
    when it is not installed."""
    code = ("import json, importlib.metadata as m\n"
            "try:\n    d = m.distribution('zsm')\nexcept m.PackageNotFoundError:\n    print('')\n"
            "else:\n    u = json.loads(d.read_text('direct_url.json') or '{}')\n"
            "    print(u.get('url', ''), u.get('vcs_info', {}).get('commit_id', ''))")
    found = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=python.parent).stdout.strip()
    return found or None


def colab_copy(notebook: Path, repo_url: str, dest: Path) -> Path:
    """The chapter with its install cell's REPO_URL pointed at ``repo_url``: the only change."""
    nb = json.loads(notebook.read_text())
    changed = 0
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and REPO_LINE.search(source):
            cell["source"] = REPO_LINE.sub(f'REPO_URL = "{repo_url}"', source)
            changed += 1
    if changed != 1:
        raise SystemExit(f"run_like_colab: {notebook.name} has {changed} install cells with a REPO_URL line, not 1")
    out = dest / notebook.name
    out.write_text(json.dumps(nb, indent=1))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="notebooks of book/ (default: every one in _toc.yml)")
    parser.add_argument("--torch", default=os.environ.get("TORCH", "torch==2.13.0"), help="torch to install")
    parser.add_argument("--keep", type=Path, help="keep the environment, clone and working folder here")
    parser.add_argument("--make-env", type=Path, metavar="DIR", help="only make the fresh environment in DIR")
    parser.add_argument("--env", type=Path, metavar="DIR", help="use the environment made by --make-env DIR")
    args = parser.parse_args()
    if args.make_env:
        if args.make_env.exists():
            raise SystemExit(f"run_like_colab: {args.make_env} exists; --make-env makes a fresh environment")
        start = time.time()
        make_environment(args.make_env.resolve(), args.torch)
        print(f"run_like_colab: fresh environment in {args.make_env} in {time.time() - start:.0f} s")
        return 0
    chapters = [BOOK / Path(c).name for c in args.chapters] or toc_notebooks()
    for chapter in chapters:
        if not chapter.is_file():
            raise SystemExit(f"run_like_colab: no such chapter: {chapter}")
    top = (args.keep or Path(tempfile.mkdtemp(prefix="zsm-colab-"))).resolve()
    top.mkdir(parents=True, exist_ok=True)
    try:
        start = time.time()
        python = checked_environment(args.env.resolve()) if args.env else make_environment(top / "env", args.torch)
        commit = clone_commit(top / "zsm-book")
        content = top / "content"  # Colab's working directory
        content.mkdir(exist_ok=True)
        made = f"environment {args.env} (made ahead)" if args.env else "fresh environment"
        print(f"run_like_colab: {made} and clone of {commit[:12]} in {time.time() - start:.0f} s", flush=True)
        env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
        for chapter in chapters:
            subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", "zsm"], capture_output=True)
            copy = colab_copy(chapter, (top / "zsm-book").as_uri(), top)
            print(f"run_like_colab: {chapter.name} ... ", end="", flush=True)
            done = subprocess.run([python, "-c", EXECUTE, copy, content], env=env, cwd=content,
                                  capture_output=True, text=True)
            if done.returncode:
                print("FAILED", flush=True)
                print(done.stdout[-2000:] + done.stderr[-4000:], file=sys.stderr)
                return 1
            installed = installed_from(python)
            if installed != f"{(top / 'zsm-book').as_uri()} {commit}":
                print("FAILED", flush=True)
                print(f"run_like_colab: after {chapter.name}, zsm was not installed by its install cell from the clone "
                      f"(installed: {installed})", file=sys.stderr)
                return 1
            print(f"{done.stdout.strip()} (zsm installed by its install cell)", flush=True)
        print(f"run_like_colab: {len(chapters)} chapters ran as on Colab in {time.time() - start:.0f} s")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

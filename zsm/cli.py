"""The ``python -m zsm`` command.

Subcommands:
    info    describe the network and the deformable-convolution backend, and time one forward pass.

Every expected failure (a bad argument, a missing or damaged file) ends with one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

import torch

from . import __version__, ops
from .checkpoint import load_checkpoint
from .config import ZSMConfig
from .model import ZoomingSlowMo

PRESETS = {"paper": ZSMConfig.paper, "tiny": ZSMConfig.tiny}


class UserError(Exception):
    """A problem with what the user asked for: reported in one line, without a traceback."""


def parse_size(text: str):
    """'64x48' -> (64, 48) as (H, W)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 64x48 (HxW), got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return h, w


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else must be a device torch knows and has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} was asked for, but this torch sees no CUDA GPU")
    return device


def build_model(preset: str, weights: Optional[str]) -> ZoomingSlowMo:
    if weights:
        return load_checkpoint(weights)
    torch.manual_seed(0)
    return ZoomingSlowMo(PRESETS[preset]()).eval()


def cmd_info(args) -> int:
    if args.frames < 2:
        raise UserError(f"--frames must be at least 2, got {args.frames}")
    ops.set_default_backend(args.backend)
    device = pick_device(args.device)
    model = build_model(args.preset, args.weights).to(device)
    _, reason = ops.torchvision_status()
    print(f"zsm {__version__}, torch {torch.__version__}, device {device}")
    print(f"deformable convolution: default backend {ops.default_backend()!r}; {reason}")
    print(f"network: {model.config}")
    print(f"parameters: {model.num_parameters():,}")
    h, w = args.size
    x = torch.rand(1, args.frames, 3, h, w, device=device, dtype=model.conv_first_weight.dtype)
    ops.reset_backend_counts()
    with torch.no_grad():
        start = time.perf_counter()
        y = model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    n = y.shape[1]
    print(f"forward pass of a random clip {tuple(x.shape)} -> {tuple(y.shape)}: {seconds:.2f} s "
          f"({n / seconds:.2f} output frames/s, first call, no warm-up)")
    print(f"backends that ran: {ops.backend_counts()}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zsm", description="Zooming Slow-Mo: space-time video super-resolution.")
    parser.add_argument("--version", action="version", version=f"zsm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="describe the network and backend, and time one forward pass")
    info.add_argument("--preset", choices=sorted(PRESETS), default="paper", help="network size (default: paper)")
    info.add_argument("--weights", help="a checkpoint (ours or the authors'); overrides --preset")
    info.add_argument("--size", type=parse_size, default=(64, 64), help="LR input size HxW (default: 64x64)")
    info.add_argument("--frames", type=int, default=4, help="input frames T (default: 4)")
    info.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    info.add_argument("--backend", choices=ops.BACKENDS, default="auto",
                      help="deformable convolution backend (default: auto = torchvision when it imports)")
    info.set_defaults(run=cmd_info)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.run(args)
    except (UserError, ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"zsm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zsm: interrupted", file=sys.stderr)
        return 130

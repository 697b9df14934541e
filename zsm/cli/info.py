"""``python -m zsm info``: the network and the deformable-convolution backend, and one timed forward pass."""
from __future__ import annotations

import time

import torch

from .. import __version__
from ..devices import pick_device
from ..net import PRESETS, ZoomingSlowMo, ZSMConfig, ops
from ..weights import load_checkpoint
from .errors import UserError
from .options import parse_size


def add_parser(sub, common) -> None:
    """Add ``info`` and its options to ``sub`` (the subparsers); ``common``: the options every command takes."""
    info = sub.add_parser("info", parents=[common], help="describe the network and backend, and time one forward pass")
    info.add_argument("--preset", choices=PRESETS, default="paper", help="network size (default: paper)")
    info.add_argument("--weights", help="a checkpoint (ours or the authors'); overrides --preset")
    info.add_argument("--size", type=parse_size, default=(64, 64), help="LR input size HxW (default: 64x64)")
    info.add_argument("--frames", type=int, default=4, help="input frames T (default: 4)")
    info.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    info.add_argument("--backend", choices=ops.BACKENDS, default="auto",
                      help="deformable convolution backend (default: auto = torchvision when it imports)")
    info.set_defaults(run=run)


def run(args) -> int:
    """Carry out ``python -m zsm info``: 0 when done; a UserError (one line) for a bad request."""
    if args.frames < 2:
        raise UserError(f"--frames must be at least 2, got {args.frames}")
    ops.set_default_backend(args.backend)
    device = pick_device(args.device)
    if args.weights:
        model = load_checkpoint(args.weights)
    else:
        torch.manual_seed(0)
        model = ZoomingSlowMo(ZSMConfig.preset(args.preset)).eval()
    model = model.to(device)
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

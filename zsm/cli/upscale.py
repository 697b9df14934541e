"""``python -m zsm upscale``: a video or frame folder -> the video at 4x the size and twice (or N times) the frame
rate."""
from __future__ import annotations

import sys
from pathlib import Path

from ..devices import pick_device
from ..net import PRESETS
from .errors import UserError
from .options import moments_model, time_factor_of


def add_parser(sub, common) -> None:
    """Add ``upscale`` and its options to ``sub`` (the subparsers); ``common``: the options every command takes."""
    up = sub.add_parser("upscale", parents=[common], help="IN (video or frame folder) -> OUT (.mp4 at twice the frame "
                        "rate, or N times with --time-factor N; or a PNG folder)")
    up.add_argument("input", help="a video file or a folder of frames")
    up.add_argument("output", help="an .mp4 file, or a folder for PNG frames")
    up.add_argument("--weights", help="a checkpoint (ours or the authors'); default: the shipped model")
    up.add_argument("--preset", choices=PRESETS, help="refuse weights of another network size")
    up.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    up.add_argument("--window", type=int, default=4, help="input frames per forward pass (default: 4)")
    up.add_argument("--tile", type=int, help="process frames in tiles of this many LR pixels (bounds memory)")
    up.add_argument("--overlap", type=int, default=16, help="LR pixels of context around each tile (default: 16)")
    up.add_argument("--half", action="store_true", help="float16 weights and activations on CUDA")
    up.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA (weights stay float32)")
    up.add_argument("--cuda-graph", action="store_true",
                    help="replay each window as a CUDA graph: far fewer kernel launches (see the Performance page)")
    up.add_argument("--fps", type=float, help="input frame rate (default: the video's, or 25 for frame folders)")
    up.add_argument("--time-factor", default="2", metavar="N",
                    help="N output frames per input frame: the moments 1/N .. (N-1)/N between each pair (default: 2); "
                         "N > 2 uses the shipped any-time model, or --weights of a network trained with time "
                         "modulation (book chapter 8)")
    up.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    up.set_defaults(run=run)


def run(args) -> int:
    """Carry out ``python -m zsm upscale``: 0 when done; a UserError (one line) for a bad request."""
    from ..graphs import accelerated
    from ..upscale import upscale_video

    if args.window < 2:
        raise UserError(f"--window must be at least 2, got {args.window}")
    if args.fps is not None and not args.fps > 0:
        raise UserError(f"--fps must be a positive number of input frames per second, got {args.fps:g}")
    if args.tile is not None and args.tile < 1:
        raise UserError(f"--tile must be at least 1 LR pixel, got {args.tile}")
    if args.overlap < 0:
        raise UserError(f"--overlap must be at least 0, got {args.overlap}")
    time_factor = time_factor_of(args.time_factor)
    device = pick_device(args.device)
    for flag, on in (("--half", args.half), ("--bf16", args.bf16), ("--cuda-graph", args.cuda_graph)):
        if on and device.type != "cuda":
            raise UserError(f"{flag} needs a CUDA device (this run is on {device})")
    if args.half and args.bf16:
        raise UserError("--half (float16 weights) and --bf16 (bfloat16 autocast) exclude each other")
    if time_factor != 2 and (args.bf16 or args.cuda_graph):
        raise UserError(f"--bf16 and --cuda-graph run the half-way pass only; drop them for --time-factor "
                        f"{time_factor}")
    model = moments_model(args.weights, args.preset, time_factor).to(device)
    if args.half:
        model = model.half()
    runner = accelerated(model, bf16=args.bf16, cuda_graph=args.cuda_graph)
    warned = []
    frames, fps = upscale_video(runner, args.input, args.output, window=args.window, tile=args.tile,
                                overlap=args.overlap, fps=args.fps, overwrite=args.overwrite, warn=warned.append,
                                time_factor=time_factor)
    for message in warned:
        print(f"zsm: warning: {message}", file=sys.stderr)
    mp4 = Path(args.output).suffix.lower() == ".mp4"
    print(f"wrote {args.output}: {frames} frames" + (f" at {fps:g} frames/s" if mp4 else ""))
    return 0

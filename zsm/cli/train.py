"""``python -m zsm train``: train a network on footage or Vimeo-90K (under torchrun for several GPUs)."""
from __future__ import annotations

import os
from pathlib import Path

from ..net import PRESETS, ZSMConfig
from ..training.config import TrainConfig as TrainDefaults
from .errors import UserError
from .options import check_hr_frames, time_factor_of


def add_parser(sub, common) -> None:
    """Add ``train`` and its options to ``sub`` (the subparsers); ``common``: the options every command takes."""
    tr = sub.add_parser("train", parents=[common],
                        help="train on footage (--videos) or Vimeo-90K (--vimeo); torchrun for several GPUs")
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
    tr.add_argument("--synthetic-speed", type=float, nargs="+", default=[4.0], metavar="PIXELS",
                    help="the synthetic motion's top speed, LR pixels between two inputs (default: 4); several make "
                         "a source each, sharing the synthetic samples equally (e.g. 2 6: slow motion kept, fast "
                         "motion added)")
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
    tr.set_defaults(run=run)


def run(args) -> int:
    """Carry out ``python -m zsm train``: 0 when done; a UserError (one line) for a bad request."""
    from ..data.footage import frame_range
    from ..eval.evaluate import held_out_validator
    from ..training import TrainConfig, train, training_samples

    if bool(args.videos) == bool(args.vimeo):
        raise UserError("give training data: --videos FILE_OR_FOLDER ... or --vimeo ROOT (one of them)")
    time_factor = time_factor_of(args.time_factor)
    window = 3 * time_factor + 1  # HR frames of one training window: 4 inputs, time_factor apart
    if args.val_frames is None:
        args.val_frames = window
    if args.max_frames is not None and args.max_frames < window:
        raise UserError(f"--max-frames must be at least {window} (one training window of {window} frames), "
                        f"got {args.max_frames}")
    check_hr_frames("--val-frames", args.val_frames, time_factor)
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
            overlap = stop is None or last is None or (first < stop and start < last)
            if path.resolve() == held_out.resolve() and overlap:
                raise UserError(f"--val-clip {args.val_clip} is also a training video ({video}), or overlaps its "
                                "frames; validate on frames the model never sees (e.g. --videos clip.mp4:0-100 "
                                "--val-clip clip.mp4:100-150)")
    if args.vimeo and args.strides != [1]:
        raise UserError("--strides needs --videos: Vimeo-90K septuplets are 7 frames, one window each")
    if args.vimeo and time_factor != 2:
        raise UserError("--time-factor needs --videos: Vimeo-90K septuplets are 7 frames, 4 inputs 2 apart")
    timed_model = ZSMConfig.from_dict(model) if model else ZSMConfig.preset(args.preset)
    if (time_factor != 2 or args.moments is not None) and not timed_model.time_modulation:
        raise UserError(f"--time-factor {time_factor} trains moments other than half-way, which needs a "
                        "time-modulated network: add --model time_modulation=true")
    if not all(speed > 0 for speed in args.synthetic_speed):  # NaN fails too
        given = " ".join(f"{speed:g}" for speed in args.synthetic_speed)
        raise UserError(f"--synthetic-speed must be positive numbers of pixels, got {given}")
    if not 0 <= args.synthetic <= 1:
        raise UserError(f"--synthetic must be a fraction from 0 to 1, got {args.synthetic}")
    if min(args.strides) < 1 or len(set(args.strides)) != len(args.strides):
        given = " ".join(map(str, args.strides))
        raise UserError(f"--strides must be distinct whole numbers of at least 1, got {given}")
    speeds = args.synthetic_speed[0] if len(args.synthetic_speed) == 1 else tuple(args.synthetic_speed)
    stills = None
    if args.stills:
        from ..data.stills import load_stills

        if not 0 <= args.stills_share <= 1 - args.synthetic:
            raise UserError(f"--stills-share must be a fraction from 0 to 1 - --synthetic ({1 - args.synthetic:g}), "
                            f"got {args.stills_share}")
        try:
            stills = load_stills(args.stills, min_side=8 * args.lr_size)  # the view and its margin, at 4x
        except (OSError, ValueError) as err:
            raise UserError(f"--stills: {err}") from None
    dataset = training_samples(args.videos, args.vimeo, max_frames=args.max_frames, strides=args.strides,
                               synthetic=args.synthetic, flows=cfg.needs_flows, lr_size=cfg.lr_size, seed=cfg.seed,
                               max_speed=speeds, stills=stills, stills_share=args.stills_share,
                               time_factor=time_factor, moments=args.moments)
    validate = held_out_validator(args.val_clip, args.val_frames, time_factor) if args.val_clip else None
    train(cfg, dataset, validate=validate, device=args.device, resume=args.resume, progress=not args.no_progress,
          start_over=args.start_over, allow_changes=args.allow_changes)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: {Path(cfg.run_dir) / 'model.pt'}")
    return 0

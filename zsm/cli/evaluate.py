"""``python -m zsm evaluate``: the network and the baselines on Vid4, Vimeo-90K or footage, with the paper's
protocol."""
from __future__ import annotations

import sys
from pathlib import Path

from ..devices import pick_device
from ..net import ZoomingSlowMo
from ..outputs import check_writable
from .errors import UserError
from .options import check_hr_frames, moments_model, time_factor_of


def add_parser(sub, common) -> None:
    """Add ``evaluate`` and its options to ``sub`` (the subparsers); ``common``: the options every command takes."""
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
    ev.set_defaults(run=run)


def run(args) -> int:
    """Carry out ``python -m zsm evaluate``: 0 when done; a UserError (one line) for a bad request."""
    from ..eval import BicubicAverage, FlowThenBicubic, evaluate, format_table, summarise
    from ..eval.evaluate import save_table
    from ..eval.sets import evaluation_clips
    from ..upscale import factor_times

    time_factor = time_factor_of(args.time_factor)
    frames = args.frames if args.frames is not None else 7 * time_factor + 1  # 8 inputs: 15 HR frames for 2x
    check_hr_frames("--frames", frames, time_factor)
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
    """For each network and clip, how well its interpolation offsets follow the DIS flow
    (:func:`zsm.viz.offset_flow_agreement`), printed as a table and returned as rows; a clip where nothing moves by
    more than 1 LR pixel gets no row."""
    from ..viz import offset_flow_agreement

    rows = []
    print("\noffsets of the feature interpolation (L1, mean of taps and groups) against DIS flow, "
          "pixels moving > 1 LR px:")
    print(f"{'clip':<22} {'method':<20} {'cosine':>7} {'dir 1':>6} {'dir 2':>6} {'along':>6} {'|offset|':>9} "
          f"{'|flow|':>7} {'moving':>7}")
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

"""The any-time model at N times the frame rate, against the two baselines and against the 2x model reused.

    python experiments/anytime_report.py --vid4 VID4_ROOT --out zsm/weights/zsm-anytime-vid4.json
    python experiments/anytime_report.py --footage data --clips carphone_pristine --frames 117 \
        --out zsm/weights/zsm-anytime-eval.json

What ``python -m zsm evaluate --time-factor N --weights zsm/weights/zsm-anytime.pt`` measures (the paper's protocol
at each moment 1/N, ..., (N-1)/N apart: windows of 4 inputs, PSNR-Y on 8-bit frames), plus one row the command
cannot make: the shipped 2x model asked for the other moments, its half-way frames kept and the rest blended from
its frames around them (:class:`zsm.eval.baselines.HalfWayThenBlend`). That row says what training on the moments
buys over reusing a 2x model.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zsm  # noqa: E402
from zsm.eval import BicubicAverage, FlowThenBicubic, HalfWayThenBlend, evaluate, format_table, summarise  # noqa: E402
from zsm.eval.evaluate import save_table  # noqa: E402
from zsm.eval.sets import evaluation_clips  # noqa: E402
from zsm.upscale import factor_times  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vid4", help="Vid4 root (GT/, BIx4/): every clip, as many frames as factor N allows")
    parser.add_argument("--footage", help="a folder of videos (LR made from every N-th frame)")
    parser.add_argument("--clips", nargs="+", help="footage clips (file stems)")
    parser.add_argument("--frames", type=int, default=29, help="HR frames of each footage clip, (T-1)N+1")
    parser.add_argument("--time-factor", type=int, default=4, help="N (default: 4)")
    parser.add_argument("--weights", default=str(zsm.SHIPPED_ANYTIME), help="the any-time model")
    parser.add_argument("--two-x", default=str(zsm.SHIPPED_MODEL), help="the 2x model to reuse")
    parser.add_argument("--out", required=True, help="where the table goes (JSON, as evaluate --out writes it)")
    args = parser.parse_args()

    clips = evaluation_clips(vid4=args.vid4, footage=args.footage, clips=args.clips, frames=args.frames,
                             time_factor=args.time_factor)
    methods = {"zsm-anytime": zsm.load_checkpoint(args.weights),
               f"{Path(args.two_x).stem}, frames blended": HalfWayThenBlend(zsm.load_checkpoint(args.two_x)),
               "bicubic+average": BicubicAverage(), "flow+bicubic": FlowThenBicubic()}
    rows = summarise(evaluate(methods, clips, ssim=False, times=factor_times(args.time_factor),
                              progress=lambda m: print(m, file=sys.stderr, flush=True)))
    print(format_table(rows))
    save_table(rows, args.out, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

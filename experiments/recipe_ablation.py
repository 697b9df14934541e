"""The training recipe, aid by aid, on one budget: which aids make the offsets follow motion and the model better.

    python experiments/recipe_ablation.py                      # every recipe, 250 steps each, then the table
    python experiments/recipe_ablation.py --steps 100 --recipes plain guided
    python experiments/recipe_ablation.py --steps 600 --recipes plain shipped-recipe shipped-recipe-without-kaiming \
        shipped-recipe-without-align-steps shipped-recipe-without-guide-after-alignment \
        shipped-recipe-without-synthetic-motion

Each recipe is a ``python -m zsm train`` command (printed, so it can be rerun alone) into ``runs/ablation/<steps>/
<recipe>``; a finished run is not trained again. Training data: Big Buck Bunny and the shots of bikes.mp4 other than
frames 76-136; every recipe is scored on those held-out frames (61 HR frames, 31 LR inputs; one shot, moving
0.4-3 LR pixels between inputs) with the paper's protocol (windows of 4 inputs, PSNR on Y), against bicubic +
averaging, and its offsets against DIS flow (:func:`zsm.viz.offset_flow_agreement`). The held-out shot is used to
choose the recipe, so results reported elsewhere are measured on other footage (carphone, Vid4).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN = ["data/bigbuckbunny.mp4", "data/bikes.mp4:0-76", "data/bikes.mp4:137-250"]
HELD_OUT = "data/bikes.mp4:76-137"
COMMON = ["--preset", "tiny_skip", "--batch-size", "8", "--lr-size", "32", "--learning-rate", "1e-3",
          "--workers", "0", "--log-every", "10", "--checkpoint-every", "50", "--seed", "0", "--no-progress",
          "--channels-last"]  # the same function, x1.24 faster on 2 cores (benchmarks/NOTES.md)
MOTION = ["--strides", "1", "2", "3", "--synthetic", "0.5"]
SHIPPED = ["--synthetic", "0.5", "--synthetic-speed", "2", "--kaiming-init", "--align-steps", "{half}",
           "--guide-weight", "1", "--guide-steps", "{half}"]

ALIGN = ["--synthetic", "0.5", "--synthetic-speed", "2", "--kaiming-init", "--align-steps", "{steps}"]


def _without(args: list, flag: str) -> list:
    """``args`` without ``flag`` and the value that follows it."""
    i = args.index(flag)
    return args[:i] + args[i + 2:]


RECIPES = {
    "plain": [],                                                    # the paper's recipe
    "motion": MOTION,                                               # + windows with motion
    "guided": ["--guide-weight", "0.1", "--guide-steps", "{guide}"],  # + offset guidance, on the paper's data
    "motion+guided": MOTION + ["--guide-weight", "0.1", "--guide-steps", "{guide}"],
    "motion+guided+warmup+offset-lr": MOTION + ["--guide-weight", "0.1", "--guide-steps", "{guide}",
                                                 "--warmup", "{warmup}", "--offset-lr-scale", "0.25"],
    # the recipe of the long run in zsm/weights/README.md: the guide over the whole run, offset predictors at 10x
    "motion+strong-guide+offset-lr10": MOTION + ["--guide-weight", "1", "--guide-steps", "{steps}",
                                                  "--offset-lr-scale", "10"],
    # The shipped recipe (zsm/weights/README.md, 2026-12-02) and the same without each of its aids, on one budget:
    # half the steps alignment steps (the first two stages on the guide alone), then the guide decaying over the rest.
    "shipped-recipe": SHIPPED,
    "shipped-recipe-without-kaiming": [a for a in SHIPPED if a != "--kaiming-init"],
    "shipped-recipe-without-align-steps": _without(SHIPPED, "--align-steps"),
    "shipped-recipe-without-guide-after-alignment": _without(_without(SHIPPED, "--guide-weight"), "--guide-steps"),
    "shipped-recipe-without-synthetic-motion": _without(_without(SHIPPED, "--synthetic"), "--synthetic-speed"),
    # The alignment stage alone (every step an alignment step: extraction and interpolation on the guide loss), at
    # 2.5 steps/s instead of 0.6: which aids make the offsets turn to the motion. Its PSNR is the untrained
    # reconstruction's; read the offset columns.
    "alignment-only": ALIGN,
    "alignment-only-without-kaiming": [a for a in ALIGN if a != "--kaiming-init"],
    "alignment-only-without-synthetic-motion": _without(_without(ALIGN, "--synthetic"), "--synthetic-speed"),
    "alignment-only-synthetic-speed-4": _without(ALIGN, "--synthetic-speed") + ["--synthetic-speed", "4"],
}


def command(recipe: str, steps: int, run_dir: Path) -> list:
    extra = [a.format(guide=steps // 2, warmup=max(1, steps // 10), steps=steps, half=steps // 2)
             for a in RECIPES[recipe]]
    return ([sys.executable, "-m", "zsm", "train", "--videos", *TRAIN, *COMMON, "--iterations", str(steps),
             "--restart-every", str(steps), "--run-dir", str(run_dir)] + extra)


def synthetic_agreement(model, hr_frames, windows: int = 8) -> dict:
    """The offsets against the exact flow of synthetic motion of up to 2 LR pixels (the trained size), rendered from
    stills of the held-out shot: does the network estimate motion it can resolve, on content it never saw?"""
    import numpy as np

    from zsm.training.motion import SyntheticMotion
    from zsm.viz import offset_flow_agreement

    stills = [np.ascontiguousarray(f) for f in hr_frames[::20]]
    motion = SyntheticMotion(stills, lr_size=32, max_speed=2, foreground=0.5, seed=20261203)
    found = []
    for i in range(windows):
        lr, _, flow = motion.window(i, flows=True)
        try:
            found.append(offset_flow_agreement(model, lr, flows=flow))
        except ValueError:  # nothing moves by more than 1 LR pixel in this window
            continue
    return {k: float(np.mean([a[k] for a in found])) for k in ("cosine", "along")}


def score(model_path: Path) -> dict:
    import zsm
    from zsm.data.datasets import make_pair
    from zsm.data.footage import load_clip
    from zsm.eval import BicubicAverage, evaluate_clip
    from zsm.viz import offset_flow_agreement

    lr, hr = make_pair(load_clip(ROOT / HELD_OUT))
    model = zsm.load_checkpoint(model_path).eval()
    ours = evaluate_clip(model, lr, hr, ssim=False)
    base = evaluate_clip(BicubicAverage(), lr, hr, ssim=False)
    agreement = offset_flow_agreement(model, lr)
    known = synthetic_agreement(model, hr)
    return {"psnr_y_input": ours.psnr_y_input, "psnr_y_interp": ours.psnr_y_interp,
            "synthetic_cosine": known["cosine"], "synthetic_along": known["along"],
            "gain_input": ours.psnr_y_input - base.psnr_y_input, "gain_interp": ours.psnr_y_interp - base.psnr_y_interp,
            "cosine": agreement["cosine"], "cosine_1": agreement["cosine_1"], "cosine_2": agreement["cosine_2"],
            "offset_px": agreement["offset_px"], "flow_px": agreement["flow_px"], "along": agreement["along"],
            "moving": agreement["moving"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--out", type=Path, help="JSON results (default: experiments/results/recipe_ablation-<steps>.json)")
    args = parser.parse_args()
    out = args.out or ROOT / "experiments" / "results" / f"recipe_ablation-{args.steps}.json"
    rows = json.loads(out.read_text())["rows"] if out.is_file() else {}
    for recipe in args.recipes:
        run_dir = ROOT / "runs" / "ablation" / str(args.steps) / recipe
        cmd = command(recipe, args.steps, run_dir)
        print(" ".join(str(c) for c in cmd[1:]), flush=True)
        if (run_dir / "model.pt").is_file():  # trained before: score it again
            seconds = rows.get(recipe, {}).get("train_s")
        else:
            start = time.time()
            flag = ["--resume"] if (run_dir / "run.json").is_file() else []
            subprocess.run(cmd + flag, cwd=ROOT, check=True)
            seconds = time.time() - start
        curves = json.loads((run_dir / "curves.json").read_text())
        last = {"final_loss": curves["loss"][-1]} if curves["loss"] else {}  # none when every step aligned
        if curves.get("align"):
            last["final_guide_loss"] = curves["align"][-1]["guide"]
        rows[recipe] = {"command": " ".join(str(c) for c in cmd[3:]).replace(str(ROOT) + "/", ""), "train_s": seconds,
                        **last, **score(run_dir / "model.pt")}
        out.write_text(json.dumps({"steps": args.steps, "held_out": HELD_OUT, "rows": rows}, indent=1))
        r = rows[recipe]
        print(f"{recipe}: input {r['gain_input']:+.2f} dB, interpolated {r['gain_interp']:+.2f} dB over bicubic + "
              f"average; offsets vs flow cosine {r['cosine']:+.3f}", flush=True)
    print("\n| recipe | PSNR-Y input | PSNR-Y interp. | gain input | gain interp. | cosine (dir 1, dir 2) | "
          "along | mean offset / flow (LR px) | synthetic <= 2 px: cosine, along |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['psnr_y_input']:.2f} | {r['psnr_y_interp']:.2f} | {r['gain_input']:+.2f} | "
              f"{r['gain_interp']:+.2f} | {r['cosine']:+.3f} ({r['cosine_1']:+.2f}, {r['cosine_2']:+.2f}) | "
              f"{r.get('along', float('nan')):.2f} | {r['offset_px']:.3f} / {r['flow_px']:.2f} | "
              f"{r.get('synthetic_cosine', float('nan')):+.2f}, {r.get('synthetic_along', float('nan')):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

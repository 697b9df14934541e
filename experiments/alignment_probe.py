"""Can the feature interpolation's offsets learn the motion, and how soon? The guide loss alone, on a small budget.

    python experiments/alignment_probe.py --init kaiming --speed 2 --synthetic 1 --steps 600
    python experiments/alignment_probe.py --init pytorch --speed 2 --synthetic 1 --steps 600 --threads 1

Only the feature extraction and the interpolation run (``ZoomingSlowMo.interpolated_features``), and only the offset
guidance loss (:class:`zsm.training.guidance.OffsetGuide`) trains them, with Adam, on fresh training samples every
step (Big Buck Bunny and the shots of bikes.mp4 other than frames 76-136, temporal strides and synthetic motion as
asked). This is what the alignment steps of a run do (``TrainConfig.align_steps``, ``--align-steps``); here each step
also measures, on its batch *before* the update (samples the network has not been trained on yet), the cosine between
the L1 offsets averaged over taps and groups and half the flow, over the pixels moving more than 1 LR pixel, and the
size of that mean offset as a fraction of half the flow, averaged over both directions. Every 50 steps the means over
the last 50 are printed and written to ``--out`` (JSON).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zsm.net import DeformConv, ZoomingSlowMo, ZSMConfig  # noqa: E402
from zsm.training.guidance import OffsetGuide  # noqa: E402
from zsm.training.initialise import kaiming_alignment  # noqa: E402
from zsm.training.recipe import training_samples  # noqa: E402

TRAIN = ["data/bigbuckbunny.mp4", "data/bikes.mp4:0-76", "data/bikes.mp4:137-250"]


def agreement(guide: OffsetGuide, flow: torch.Tensor, b: int, pairs: int):
    """(cosine, size) of the kept L1 offsets' tap-and-group mean against half the flow, on moving pixels."""
    cosines, sizes = [], []
    for direction in (1, 2):
        offset, _ = DeformConv.split_offsets_and_mask(guide._raw[(direction, 1)].detach())
        h, w = offset.shape[-2:]
        mean = offset.reshape(b * pairs, -1, 2, h, w).mean(1)  # (N, 2, h, w)
        half = 0.5 * flow[:, :, direction - 1].reshape(b * pairs, 2, h, w)
        moving = torch.isfinite(half).all(1) & (2 * half.nan_to_num().norm(dim=1) > 1)
        half = half.nan_to_num()
        if moving.any():
            cosines.append(F.cosine_similarity(mean, half, dim=1)[moving].mean().item())
            sizes.append(mean.norm(dim=1)[moving].mean().item() / half.norm(dim=1)[moving].mean().item())
    return (float(np.mean(cosines)), float(np.mean(sizes))) if cosines else (float("nan"), float("nan"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--init", choices=("pytorch", "kaiming"), default="kaiming")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--preset", default="tiny_skip")
    p.add_argument("--synthetic", type=float, default=1.0, help="fraction of synthetic samples")
    p.add_argument("--speed", type=float, default=2.0, help="the synthetic motion's top speed (LR px)")
    p.add_argument("--strides", type=int, nargs="+", default=[1])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="JSON of the logged means")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ZoomingSlowMo(ZSMConfig.preset(a.preset))
    if a.init == "kaiming":
        kaiming_alignment(model)
    samples = training_samples([str(ROOT / v) for v in TRAIN],
                               strides=tuple(a.strides), synthetic=a.synthetic, flows=True, lr_size=32, seed=0,
                               max_speed=a.speed)
    params = list(model.extractor.parameters()) + list(model.interpolation.parameters())
    optimizer = torch.optim.Adam(params, lr=a.lr)
    guide = OffsetGuide(model).attach()
    rng = np.random.default_rng(0)
    log, rows, start = [], [], time.time()
    for step in range(a.steps):
        items = [samples[int(j)] for j in rng.integers(0, len(samples), a.batch_size)]
        lr, _, flow = (torch.stack([torch.as_tensor(np.asarray(item[k])) for item in items]).float() for k in range(3))
        model.interpolated_features(lr)
        b, t = lr.shape[:2]
        cosine, size = agreement(guide, flow, b, t - 1)
        loss = guide.loss(flow)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log.append((loss.item(), cosine, size))
        if (step + 1) % 50 == 0:
            window = np.array(log[-50:])
            row = {"step": step + 1, "guide": float(window[:, 0].mean()), "cosine": float(np.nanmean(window[:, 1])),
                   "size": float(np.nanmean(window[:, 2])), "seconds": round(time.time() - start, 1)}
            rows.append(row)
            print(f"{row['step']:4d} guide {row['guide']:.3f} cosine {row['cosine']:+.3f} "
                  f"size/half-flow {row['size']:.3f}  {row['seconds']:.0f} s", flush=True)
            if a.out:
                a.out.write_text(json.dumps({"args": {k: str(v) if isinstance(v, Path) else v
                                                      for k, v in vars(a).items()}, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

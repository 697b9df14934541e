"""Training iterations per second and peak memory of ``zsm.training.loop.train``, one fresh process per configuration.

    python benchmarks/train.py                              # tiny and paper presets on this device
    python benchmarks/train.py --presets tiny --steps 20
    python benchmarks/train.py --amps off bf16 fp16         # on a GPU: float32 vs mixed precision
    python benchmarks/train.py --presets tiny_skip --memory-formats contiguous channels_last

What is timed is the package's own trainer, not a copy of its loop: ``zsm.training.loop.train`` runs ``--warmup`` +
``--steps`` optimiser steps with ``log_every=1``, so its curves hold the iterations/s of every single step
(forward, Charbonnier loss, backward, Adam, scheduler, and the DataLoader fetch); the warm-up steps are
dropped and the median of the rest is reported. The samples are random windows of the training shape
(T=4 LR frames of ``--lr-size``^2 -> 7 HR frames of 4x that, the paper's 32 -> 128 crops by default), made in
memory (a pool drawn once) with ``workers=0`` so that no disk, video decoding or random drawing enters the
figure. Checkpoints and validation are off. Samples/s = iterations/s x batch size.

Mixed precision: ``--amps`` are values of ``TrainConfig.amp``: "off" (float32) everywhere, "bf16" and "fp16"
(autocast, fp16 with a gradient scaler) on CUDA only: the trainer trains in float32 on a CPU (it warns), so the
script does not run mixed-precision configurations there.

Peak memory, per configuration in a fresh process:
  CPU   ru_maxrss after training minus VmRSS just before ``train`` is called: the model, Adam's two moments,
        gradients and the activations of one step.
  CUDA  torch.cuda.max_memory_allocated() during training (nothing else is on the GPU before ``train``).
"""
from __future__ import annotations

import argparse
import gc
import json
import tempfile
from pathlib import Path

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
from common import (base_parser, current_rss_mb, describe, max_rss_mb, print_table, run_worker, save_rows, setup,
                    summarize, warn_if_busy)
from zsm import PRESETS  # noqa: E402
from zsm.devices import pick_device  # noqa: E402

FRAMES_IN = 4


class RandomWindows(torch.utils.data.Dataset):
    """``length`` random (lr (T, 3, s, s), hr (2T-1, 3, 4s, 4s)) pairs in [0, 1]: a pool of ``pool`` pairs made
    once (pair i is pool[i % pool]), so that drawing random numbers stays out of the timed steps. On a GPU a
    fresh batch of 16 paper-size crops costs the CPU about as long as a tiny network's whole step."""

    def __init__(self, lr_size: int, length: int, pool: int = 32):
        self.length = length
        g = torch.Generator().manual_seed(0)
        s = lr_size
        self.pool = [(torch.rand(FRAMES_IN, 3, s, s, generator=g), torch.rand(2 * FRAMES_IN - 1, 3, 4 * s, 4 * s, generator=g))
                     for _ in range(pool)]

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return self.pool[index % len(self.pool)]


def worker(spec: dict) -> dict:
    from zsm import ops
    from zsm.training import TrainConfig, train

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    ops.set_default_backend(spec["backend"])
    steps = spec["warmup"] + spec["steps"]
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = TrainConfig(run_dir=run_dir, preset=spec["preset"], batch_size=spec["batch_size"],
                          lr_size=spec["lr_size"], iterations=steps, amp=spec["amp"], workers=0, log_every=1,
                          val_every=0, checkpoint_every=0, seed=0,
                          channels_last=spec.get("memory_format") == "channels_last")
        dataset = RandomWindows(spec["lr_size"], steps * spec["batch_size"])
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        rss_before = current_rss_mb()
        ops.reset_backend_counts()
        model, curves = train(cfg, dataset, device=str(device), progress=False)
    step_ms = [1e3 / its for its in curves["its"]]
    timed = step_ms[spec["warmup"]:]
    stats = summarize(timed)
    result = {**stats, "first_step_ms": step_ms[0], "its": 1e3 / stats["median_ms"],
              "samples_per_s": spec["batch_size"] * 1e3 / stats["median_ms"],
              "params": sum(p.numel() for p in model.parameters()), "final_loss": curves["loss"][-1],
              "dcn_backends": ops.backend_counts()}
    if device.type == "cuda":
        result["peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
        result["peak_reserved_mb"] = torch.cuda.max_memory_reserved(device) / 2**20
        result["peak_method"] = "torch.cuda.max_memory_allocated during train()"
    else:
        result["peak_mb"] = max_rss_mb() - rss_before
        result["peak_rss_mb"] = max_rss_mb()
        result["peak_method"] = "ru_maxrss after train() - VmRSS before it, fresh process"
    return result


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "paper"], choices=PRESETS)
    parser.add_argument("--amps", nargs="+", default=None, choices=["off", "bf16", "fp16"],
                        help="TrainConfig.amp values (default: off on CPU; off, bf16, fp16 on CUDA)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="samples per step (default: on CPU 8 tiny, 1 paper; on CUDA 16)")
    parser.add_argument("--lr-size", type=int, default=32, help="LR crop side (paper: 32, HR 128)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: CPU 10 tiny, 3 paper; CUDA 30)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed first steps (default: CPU 2, CUDA 5)")
    parser.add_argument("--backend", default="auto", choices=["auto", "pure", "torchvision"],
                        help="DCN backend (auto: torchvision where it imports, else pure)")
    parser.add_argument("--memory-formats", nargs="+", default=["contiguous"], choices=["contiguous", "channels_last"],
                        help="TrainConfig.channels_last off (contiguous) and/or on, side by side")
    parser.add_argument("--memory-limit-gb", type=float, default=None,
                        help="cap each worker's address space (a configuration too large fails instead of swapping)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    cuda = pick_device(args.device).type == "cuda"
    amps = args.amps or (["off", "bf16", "fp16"] if cuda else ["off"])
    if not cuda and any(a != "off" for a in amps):  # refused before setup() spends a second measuring the load
        parser.error("mixed precision (--amps bf16/fp16) is CUDA-only in zsm.training.loop; on a CPU it trains in float32")
    device, machine, busy, env = setup(args)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 2)
    print(f"zsm.training.loop.train steps: T={FRAMES_IN} LR crops of {args.lr_size}x{args.lr_size} -> "
          f"{2 * FRAMES_IN - 1} HR crops of {4 * args.lr_size}x{4 * args.lr_size}, Charbonnier + Adam, on {device}; "
          f"{warmup} warm-up steps dropped")
    print(describe(env, busy))
    warn_if_busy(busy)

    rows = []

    payload = {"script": "benchmarks/train.py", "args": vars(args), "environment": env, "busy_before": busy,
               "warmup": warmup, "rows": rows}

    for preset in args.presets:
        batch = args.batch_size or (16 if cuda else 8 if preset != "paper" else 1)
        steps = args.steps or (30 if cuda else 3 if preset == "paper" else 10)
        for amp, memory_format in [(a, m) for a in amps for m in args.memory_formats]:
            spec = dict(preset=preset, amp=amp, device=str(device), batch_size=batch, lr_size=args.lr_size,
                        steps=steps, warmup=warmup, threads=args.threads, backend=args.backend,
                        memory_format=memory_format)
            result = run_worker(Path(__file__), spec, memory_limit_gb=args.memory_limit_gb)
            row = {**spec, **result, "precision": {"off": "fp32"}.get(amp, amp)}
            rows.append(row)
            print(f"  {preset} amp={amp} {memory_format}: " + (result.get("error") or
                  f"{result['median_ms']:.1f} ms/step, {result['its']:.3g} steps/s, peak {result['peak_mb']:.0f} MB"),
                  flush=True)
            save_rows("train", machine, payload, args, complete=False, busy_seconds=1.0)
    for row in rows:
        if "its" in row:
            same = [r for r in rows if r["preset"] == row["preset"] and r["amp"] == "off" and "its" in r
                    and r["memory_format"] == row["memory_format"]]
            row["speedup_vs_fp32"] = row["its"] / same[0]["its"] if same else None
            plain = [r for r in rows if r["preset"] == row["preset"] and r["amp"] == row["amp"] and "its" in r
                     and r["memory_format"] == "contiguous"]
            row["speedup_vs_contiguous"] = row["its"] / plain[0]["its"] if plain else None
    print_table([r for r in rows if "its" in r],
                ["preset", "precision", "memory_format", "batch_size", "steps", "median_ms", "min_ms", "its",
                 "samples_per_s", "peak_mb", "speedup_vs_fp32", "speedup_vs_contiguous"],
                title="Training step (median over the timed steps; peak memory in MB)")
    save_rows("train", machine, payload, args, complete=True, busy_seconds=1.0)


if __name__ == "__main__":
    main()

"""Peak memory of zsm.upscale.upscale_frames on a 1080p video, whole frames versus overlapping tiles.

    python benchmarks/upscale_memory.py                        # tiny preset, 4 frames of 1920x1080, 3 configurations
    python benchmarks/upscale_memory.py --size 960x540 --tiles none 128 64
    python benchmarks/upscale_memory.py --preset paper --tiles 64   # the paper network: minutes per tile on a CPU

The input is ``--frames`` random uint8 frames (default 4: one window of T=4 -> 7 output frames of 7680x4320).
The tiny preset (C=8) is the default so that a CPU finishes in a few minutes; the paper network (C=64) has 8x
the channels, so its activations, and the memory that tiles save, are larger.

Each configuration runs in a fresh process. Peak memory on the CPU is ru_maxrss (the process's high-water mark
of resident memory) minus the resident memory just before upscale_frames starts (model and input frames
loaded); the output frames are consumed one by one and dropped, as a video writer would. On CUDA it is
torch.cuda.max_memory_allocated above the memory allocated before. A configuration that would need more than
``--memory-limit-gb`` of address space fails with an allocation error (the child runs under RLIMIT_AS) and is
reported as such, instead of letting the kernel's OOM killer end a process of this shared machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import common  # noqa: F401  (sets sys.path to this checkout first)
import numpy as np
import torch
from common import (base_parser, current_rss_mb, describe, max_rss_mb, parse_size, print_table, run_worker, setup,
                    write_json)


def worker(spec: dict) -> dict:
    import zsm
    from zsm.upscale import upscale_frames

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(getattr(zsm.ZSMConfig, spec["preset"])()).eval().to(device)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (spec["height"], spec["width"], 3), dtype=np.uint8) for _ in range(spec["frames"])]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base_cuda = torch.cuda.memory_allocated(device)
    rss_before = current_rss_mb()
    start = time.perf_counter()
    count, shape = 0, None
    for out in upscale_frames(model, iter(frames), tile=spec["tile"], overlap=spec["overlap"]):
        count, shape = count + 1, out.shape  # a writer would encode the frame here; we drop it
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "frames_out": count, "frame_shape": list(shape), "rss_before_mb": rss_before,
              "peak_rss_mb": max_rss_mb(), "peak_mb": max_rss_mb() - rss_before}
    if device.type == "cuda":
        result["peak_mb"] = (torch.cuda.max_memory_allocated(device) - base_cuda) / 2**20
        result["peak_reserved_mb"] = torch.cuda.max_memory_reserved(device) / 2**20
    return result


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="tiny", choices=["paper", "tiny"])
    parser.add_argument("--size", type=parse_size, default=(1920, 1080), help="input frame size W x H (1920x1080)")
    parser.add_argument("--frames", type=int, default=4, help="input frames (default 4, one window)")
    parser.add_argument("--tiles", nargs="+", default=["none", "256", "128"],
                        help="tile sides in LR pixels, 'none' for whole frames (default: none 256 128)")
    parser.add_argument("--overlap", type=int, default=16, help="tile overlap in LR pixels (default 16)")
    parser.add_argument("--memory-limit-gb", type=float, default=16.0,
                        help="address-space cap of each child process (default 16)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # set by run_worker
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    device, machine, busy, env = setup(args)
    w, h = args.size
    print(f"zsm.upscale.upscale_frames: {args.preset} preset, {args.frames} random uint8 frames of {w}x{h} "
          f"-> {2 * args.frames - 1} frames of {4 * w}x{4 * h}, on {device}; overlap {args.overlap}")
    print(describe(env, busy))
    rows = []
    for tile in args.tiles:
        spec = dict(preset=args.preset, width=w, height=h, frames=args.frames, device=str(device),
                    tile=None if tile == "none" else int(tile), overlap=args.overlap, threads=args.threads)
        result = run_worker(Path(__file__), spec, memory_limit_gb=args.memory_limit_gb if device.type == "cpu" else None)
        row = {"tile": tile, "overlap": args.overlap if tile != "none" else None, **result}
        rows.append(row)
        print(f"  tile {tile}: " + (result.get("error") or
              f"peak {result['peak_mb']:.0f} MB above {result['rss_before_mb']:.0f} MB, {result['seconds']:.1f} s"),
              flush=True)
    for row in rows:
        if "error" in row:
            row["peak_mb"] = f"> limit ({args.memory_limit_gb:g} GB address space)"
    print_table(rows, ["tile", "overlap", "peak_mb", "peak_rss_mb", "seconds", "frames_out"],
                title="peak memory above the memory before the call"
                      + (" (CUDA max_memory_allocated)" if device.type == "cuda" else " (ru_maxrss - VmRSS, fresh process)"))
    if not args.no_json:
        write_json(f"upscale_memory-{args.preset}-{w}x{h}", machine, {
            "script": "benchmarks/upscale_memory.py", "args": vars(args), "environment": env, "busy_before": busy,
            "rows": rows}, args.out_dir)


if __name__ == "__main__":
    sys.exit(main())

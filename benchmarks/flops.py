"""FLOPs per output frame of the network, the device's measured matmul/conv throughput, and what that implies.

    python benchmarks/flops.py                    # paper preset at 180x144 x 4 frames; times one forward pass
    python benchmarks/flops.py --repeats 0        # count FLOPs and measure the device only

Counting. torch.utils.flop_counter.FlopCounterMode counts the convolutions and matrix products of one forward
pass (2 FLOPs per multiply-add; elementwise operations are not counted). The deformable convolutions run on
the pure backend while counting, so their weight products (aten.bmm) are counted like a convolution's.
FlopCounterMode has no formula for grid_sample (nor for torchvision's deform_conv2d), so the deformable
sampling is counted here by formula, from the shape of every deformable convolution call (recorded by a
forward hook): per sampled value (B * Cin * K * Ho * Wo of them per call) 8 FLOPs of bilinear interpolation
(4 corner values times 4 weights, summed) and 1 FLOP of mask multiplication. The sampling-grid arithmetic
(about 10 FLOPs per group, tap and pixel, shared by Cin/G channels) is left out.

Ceiling. The device's achievable throughput is measured, not taken from a data sheet: a large float32 matrix
product (``--matmul-size``, default 2048) and a 3x3 convolution C=64 -> 64 at 180x144 on 7 frames (the most
common layer of the network). Every measured time is then also given as a fraction of the ceiling: the time
the FLOPs would take at the matmul rate divided by the measured time.
"""
from __future__ import annotations

from collections import defaultdict

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
import torch.nn.functional as F
from common import (base_parser, busy_fraction, describe, parse_size, print_table, setup, time_side_by_side,
                    warn_if_busy, write_json)
from torch.utils.flop_counter import FlopCounterMode

import zsm
from zsm.net.dcn import DeformConv

SAMPLING_FLOPS = 8  # per sampled value: bilinear interpolation of 4 corners
MASK_FLOPS = 1  # per sampled value


def count_flops(model, x) -> dict:
    """FLOPs of one forward pass: by FlopCounterMode per top-level module, plus deformable sampling by formula."""
    sampled = defaultdict(int)  # top-level module -> sampled values

    def hook(name):
        def record(module, inputs, output):
            feature = inputs[0]  # (N, Cin, H, W); output (N, Cout, Ho, Wo)
            k = module.kernel_size ** 2
            sampled[name.split(".")[0]] += feature.shape[0] * feature.shape[1] * k * output.shape[2] * output.shape[3]
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, DeformConv)]
    counter = FlopCounterMode(display=False, depth=1)
    try:
        with torch.no_grad(), zsm.ops.use_backend("pure"), counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    by_module = {}
    for name, _ in model.named_children():
        key = f"ZoomingSlowMo.{name}"
        by_module[name] = {
            "counted": sum(counts.get(key, {}).values()),
            "counted_ops": {str(op): n for op, n in counts.get(key, {}).items()},
            "sampling": SAMPLING_FLOPS * sampled[name],
            "mask": MASK_FLOPS * sampled[name],
        }
    return {"counted": counter.get_total_flops(), "sampled_values": sum(sampled.values()),
            "sampling": SAMPLING_FLOPS * sum(sampled.values()), "mask": MASK_FLOPS * sum(sampled.values()),
            "by_module": by_module}


def measure_ceiling(device, dtype, matmul_size: int, repeats: int) -> dict:
    """GFLOP/s of a large square matmul and of the network's typical 3x3 conv on this device."""
    n = matmul_size
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(7, 64, 144, 180, device=device, dtype=dtype)
    w = torch.randn(64, 64, 3, 3, device=device, dtype=dtype)
    with torch.no_grad():
        stats = time_side_by_side({"matmul": lambda: a @ b, "conv3x3": lambda: F.conv2d(x, w, padding=1)},
                                  repeats=repeats, warmup=1, device=device)
    flops = {"matmul": 2 * n ** 3, "conv3x3": 2 * 64 * 64 * 9 * 7 * 144 * 180}
    return {k: {"flops": flops[k], "median_ms": s["median_ms"], "gflops": flops[k] / s["median_ms"] / 1e6}
            for k, s in stats.items()}


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper", choices=["paper", "tiny"])
    parser.add_argument("--size", type=parse_size, default=(180, 144), help="LR size W x H (default 180x144)")
    parser.add_argument("--frames", type=int, default=4, help="T input frames (default 4)")
    parser.add_argument("--repeats", type=int, default=1, help="timed forward passes of the network (default 1)")
    parser.add_argument("--backend", default="pure", choices=["pure", "torchvision", "auto"],
                        help="DCN backend for the timed forward pass (default pure)")
    parser.add_argument("--matmul-size", type=int, default=2048)
    args = parser.parse_args(argv)
    device, machine, busy, env = setup(args)
    warn_if_busy(busy)
    w, h = args.size
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(getattr(zsm.ZSMConfig, args.preset)()).eval().to(device)
    x = torch.rand(1, args.frames, 3, h, w, generator=torch.Generator().manual_seed(1)).to(device)
    frames_out = 2 * args.frames - 1
    print(f"{args.preset} preset, {args.frames} frames of {w}x{h} -> {frames_out} frames of {4 * w}x{4 * h}, on {device}")
    print(describe(env, busy))

    flops = count_flops(model, x)
    total = flops["counted"] + flops["sampling"] + flops["mask"]
    rows = [{"part": name, "GFLOP/frame counted": m["counted"] / frames_out / 1e9,
             "GFLOP/frame sampling+mask": (m["sampling"] + m["mask"]) / frames_out / 1e9,
             "share": (m["counted"] + m["sampling"] + m["mask"]) / total} for name, m in flops["by_module"].items()]
    rows.append({"part": "total", "GFLOP/frame counted": flops["counted"] / frames_out / 1e9,
                 "GFLOP/frame sampling+mask": (flops["sampling"] + flops["mask"]) / frames_out / 1e9, "share": 1.0})
    print_table(rows, ["part", "GFLOP/frame counted", "GFLOP/frame sampling+mask", "share"],
                title=f"FLOPs per output frame (one forward pass / {frames_out}); counted = FlopCounterMode "
                      "(convs, matmuls); sampling+mask by formula")
    print(f"total: {total / frames_out / 1e9:.1f} GFLOP per output frame ({total / 1e9:.0f} GFLOP per forward pass)")

    ceiling = measure_ceiling(device, torch.float32, args.matmul_size, repeats=3)
    peak = ceiling["matmul"]["gflops"]
    timed = [{"item": f"float32 matmul {args.matmul_size}^3", **ceiling["matmul"]},
             {"item": "conv3x3 64->64, 7 x 180x144", **ceiling["conv3x3"]}]
    if args.repeats:
        with zsm.ops.use_backend(args.backend):
            stats = time_side_by_side({"net": lambda: _forward(model, x)}, args.repeats, warmup=0, device=device)
        ms = stats["net"]["median_ms"]
        timed.append({"item": f"network forward ({args.backend} DCN)", "flops": total, "median_ms": ms,
                      "gflops": total / ms / 1e6})
    for row in timed:
        row["fraction of matmul ceiling"] = row["gflops"] / peak
    print_table(timed, ["item", "median_ms", "gflops", "fraction of matmul ceiling"],
                title="measured times as a fraction of the ceiling (FLOPs / matmul rate / time)")
    ceiling_fps = peak * 1e9 / (total / frames_out)
    print(f"\nceiling at the matmul rate ({peak:.0f} GFLOP/s): {ceiling_fps:.3g} frames/s "
          f"(at the conv3x3 rate, {ceiling['conv3x3']['gflops']:.0f} GFLOP/s: "
          f"{ceiling['conv3x3']['gflops'] * 1e9 / (total / frames_out):.3g} frames/s)")
    if args.repeats:
        print(f"measured: {frames_out / (timed[-1]['median_ms'] / 1e3):.3g} frames/s")
    if not args.no_json:
        write_json("flops", machine, {
            "script": "benchmarks/flops.py", "args": vars(args), "environment": env, "busy_before": busy,
            "busy_after": busy_fraction(0.5), "frames_out": frames_out, "flops": flops, "total_flops": total,
            "gflop_per_frame": total / frames_out / 1e9, "ceiling": ceiling, "timed": timed,
            "ceiling_frames_per_s": ceiling_fps}, args.out_dir)


def _forward(model, x):
    with torch.inference_mode():
        return model(x)


if __name__ == "__main__":
    main()

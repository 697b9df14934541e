"""Where the network's forward pass spends its time: convolutions versus deformable sampling, by torch.profiler.

    python benchmarks/profile_network.py                       # paper preset, 180x144 x 4 frames, pure backend
    python benchmarks/profile_network.py --backend torchvision --size 90x72

One untimed forward pass, then one under torch.profiler. Every call of zsm.ops.deform_conv2d (as the model
makes it, from zsm.net.dcn) and of DeformConv.offsets_and_mask is wrapped in a profiler label, so each operator's
*self* time (its wall time minus that of the operators it called) can be put in one category:

  convolutions          every convolution outside the deformable ones (feature extraction, PCD offset
                        convs, ConvLSTM gates, reconstruction, 1x1 fusions)
  DCN offset/mask conv  the conv3x3 (C -> 3*G*9) that predicts each deformable conv's offsets and mask
                        (the sigmoid and cat that follow it count as "other")
  DCN sampling          grid_sample inside deform_conv2d (the deformable im2col)
  DCN mask multiply     the multiplication of the sampled columns by the mask
  DCN matmul            the matrix product of the weights with the columns
  DCN other             the rest inside deform_conv2d: sampling-grid arithmetic, cat of row chunks, bias
  DCN torchvision       torchvision's compiled kernel (one opaque operator) with --backend torchvision
  other                 activations, upsampling, cat, LSTM gate arithmetic, pixel shuffle, ...

With intra-op threads, an operator's time is wall time on the calling thread, so the categories add up to
the forward pass's wall time less Python overhead between operators ("outside operators").

On CUDA the categories hold the GPU time of each operator's kernels instead (the profiler's self device
time), so they add up to the time the GPU was busy, and "outside operators" is the time it sat idle waiting
for the CPU to launch work: large when the pass is launch-bound (small batches), small when the GPU is the
limit. ``--batch`` and ``--autocast bf16|fp16`` profile the configurations that benchmarks/inference.py times.
"""
from __future__ import annotations

import contextlib
import time
from collections import defaultdict

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
from common import (base_parser, busy_fraction, describe, parse_size, print_table, setup, synchronize, warn_if_busy,
                    write_json)
from torch.profiler import ProfilerActivity, profile, record_function

import zsm
import zsm.net.dcn

DCN_LABEL = "zsm.ops.deform_conv2d"
OFFSET_LABEL = "DeformConv.offsets_and_mask"
CONV_OPS = ("conv", "mkldnn_convolution")  # aten::conv2d, aten::convolution, aten::_convolution, aten::mkldnn_...


@contextlib.contextmanager
def labelled_dcn():
    """Wrap the deformable convolution and its offset/mask prediction in profiler labels, for this block."""
    original_op = zsm.net.dcn.deform_conv2d
    original_offsets = zsm.net.dcn.DeformConv.offsets_and_mask

    def op(*args, **kwargs):
        with record_function(DCN_LABEL):
            return original_op(*args, **kwargs)

    def offsets_and_mask(self, feature):
        with record_function(OFFSET_LABEL):
            return original_offsets(self, feature)

    zsm.net.dcn.deform_conv2d = op
    zsm.net.dcn.DeformConv.offsets_and_mask = offsets_and_mask
    try:
        yield
    finally:
        zsm.net.dcn.deform_conv2d = original_op
        zsm.net.dcn.DeformConv.offsets_and_mask = original_offsets


def category(event) -> str:
    """The category of one operator event, from its name and the labels above it."""
    name = event.name
    labels = set()
    parent = event.cpu_parent
    while parent is not None:
        labels.add(parent.name)
        parent = parent.cpu_parent
    if DCN_LABEL in labels:
        if "torchvision" in name:
            return "DCN torchvision"
        if "grid_sampler" in name:
            return "DCN sampling"
        if name in ("aten::mul", "aten::mul_"):
            return "DCN mask multiply"
        if name in ("aten::bmm", "aten::mm", "aten::matmul", "aten::addmm", "aten::baddbmm"):
            return "DCN matmul"
        return "DCN other"
    if any(key in name for key in CONV_OPS):
        return "DCN offset/mask conv" if OFFSET_LABEL in labels else "convolutions"
    return "other"


def self_seconds(event, device) -> float:
    """An operator event's self time: on the CPU its thread's time, on CUDA its kernels' GPU time."""
    if device.type != "cuda":
        return event.self_cpu_time_total / 1e6
    for name in ("self_device_time_total", "self_cuda_time_total"):  # the name changed in torch 2.4
        if hasattr(event, name):
            return getattr(event, name) / 1e6
    raise RuntimeError("this torch's profiler events report no device time")


def profile_forward(model, x, device, autocast=None) -> tuple:
    """(wall seconds, {category: self seconds}, top operators) of one profiled forward pass."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    cast = torch.autocast(device.type, dtype=autocast) if autocast is not None else contextlib.nullcontext()
    with labelled_dcn(), torch.inference_mode(), cast:
        model(x)  # untimed: first-call allocations
        synchronize(device)
        with profile(activities=activities) as prof:
            start = time.perf_counter()
            model(x)
            synchronize(device)
            wall = time.perf_counter() - start
    totals = defaultdict(float)
    per_op = defaultdict(float)
    for event in prof.events():
        if event.name in (DCN_LABEL, OFFSET_LABEL):
            continue  # labels have no self time of their own worth counting
        seconds = self_seconds(event, device)
        totals[category(event)] += seconds
        per_op[event.name] += seconds
    return wall, dict(totals), sorted(per_op.items(), key=lambda kv: -kv[1])[:12]


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper", choices=["paper", "tiny"])
    parser.add_argument("--size", type=parse_size, default=(180, 144), help="LR size W x H (default 180x144)")
    parser.add_argument("--frames", type=int, default=4, help="T input frames (default 4)")
    parser.add_argument("--backend", default="pure", choices=["pure", "torchvision", "auto"])
    parser.add_argument("--batch", type=int, default=1, help="clips per forward pass (default 1)")
    parser.add_argument("--autocast", choices=["bf16", "fp16"], default=None, help="run under torch.autocast")
    args = parser.parse_args(argv)
    device, machine, busy, env = setup(args)
    if args.autocast and device.type != "cuda":
        parser.error("--autocast is for CUDA (the network is profiled in float32 on a CPU)")
    autocast = {"bf16": torch.bfloat16, "fp16": torch.float16, None: None}[args.autocast]
    w, h = args.size
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(getattr(zsm.ZSMConfig, args.preset)()).eval().to(device)
    x = torch.rand(args.batch, args.frames, 3, h, w, generator=torch.Generator().manual_seed(1)).to(device)
    print(f"profile of one forward pass: {args.preset} preset, batch {args.batch}, {args.frames} frames of {w}x{h}, "
          f"DCN backend {args.backend}, {args.autocast or 'fp32'}, on {device} "
          f"({'GPU time of the kernels' if device.type == 'cuda' else 'CPU time'} by category)")
    print(describe(env, busy))
    warn_if_busy(busy)

    zsm.ops.reset_backend_counts()
    with zsm.ops.use_backend(args.backend):
        wall, totals, top = profile_forward(model, x, device, autocast)
    ran = zsm.ops.backend_counts()
    order = ["convolutions", "DCN offset/mask conv", "DCN sampling", "DCN mask multiply", "DCN matmul",
             "DCN other", "DCN torchvision", "other"]
    rows = [{"category": c, "seconds": totals[c], "share of wall": totals[c] / wall} for c in order if c in totals]
    outside = wall - sum(totals.values())
    rows.append({"category": "GPU idle (waiting for launches)" if device.type == "cuda" else "outside operators",
                 "seconds": outside, "share of wall": outside / wall})
    rows.append({"category": "forward pass (wall)", "seconds": wall, "share of wall": 1.0})
    print(f"deformable convolutions run: {ran} (two forward passes)")
    print_table(rows, ["category", "seconds", "share of wall"], title="self time by category")
    dcn = sum(v for k, v in totals.items() if k.startswith("DCN") and k != "DCN offset/mask conv")
    convs = totals.get("convolutions", 0) + totals.get("DCN offset/mask conv", 0)
    print(f"\ndeformable sampling + its matmul + mask: {dcn:.2f} s ({dcn / wall:.0%}); "
          f"all ordinary convolutions incl. offset/mask convs: {convs:.2f} s ({convs / wall:.0%})")
    print_table([{"operator": k, "self seconds": v} for k, v in top], ["operator", "self seconds"],
                title="top operators by self time")
    if not args.no_json:
        suffix = (f"-b{args.batch}" if args.batch != 1 else "") + (f"-{args.autocast}" if args.autocast else "")
        write_json(f"profile-{args.preset}-{args.backend}{suffix}", machine, {
            "script": "benchmarks/profile_network.py", "args": vars(args), "environment": env, "busy_before": busy,
            "busy_after": busy_fraction(0.5), "dcn_calls": ran, "wall_s": wall, "categories_s": totals,
            "dcn_s": dcn, "convolutions_s": convs, "top_operators_s": dict(top),
            "time_measured": "GPU kernel time per operator" if device.type == "cuda" else "CPU self time"}, args.out_dir)


if __name__ == "__main__":
    main()

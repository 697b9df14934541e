"""Time the modulated deformable convolution: zsm's pure backend, torchvision's compiled kernel, plain conv2d.

    python benchmarks/dcn.py                      # the paper's shapes, batch 1, forward and forward+backward
    python benchmarks/dcn.py --batch 1 2 --repeats 9
    python benchmarks/dcn.py --variants           # also the pure backend in one chunk (no row chunks)
    python benchmarks/dcn.py --chunk-mb 1 2 4 8 16 --modes fwd   # the pure backend at several chunk sizes

The shapes are those of every deformable convolution in the paper network (C = 64 channels in and out,
G = 8 offset groups, 3x3 kernel, padding 1) at the Vid4 LR size 180x144 (W x H) and its pyramid levels
90x72 and 45x36. Offsets are random with a standard deviation of ``--offset-std`` pixels, masks uniform in
(0, 1). ``conv2d`` is an ordinary 3x3 convolution of the same input and weight: the floor that a deformable
convolution can approach, since it does the same multiply-adds without sampling.

"fwd" runs under torch.no_grad(); "fwd+bwd" runs the forward pass and torch.autograd.grad of a random output
gradient with respect to input, offset, mask, weight and bias (input and weight only for conv2d). Backends
are timed in turn, interleaved, after warm-up; the table shows medians and the ratios of medians of one run.
"""
from __future__ import annotations

import inspect

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
import torch.nn.functional as F
from common import (base_parser, busy_fraction, describe, parse_size, print_table, setup, time_side_by_side,
                    warn_if_busy, write_json)

from zsm import ops

CHANNELS, GROUPS, KERNEL = 64, 8, 3


def make_case(batch: int, w: int, h: int, device, dtype, offset_std: float, seed: int = 0) -> dict:
    """Inputs of one deformable convolution of the paper network at LR size (w, h)."""
    g = torch.Generator().manual_seed(seed)
    taps = KERNEL * KERNEL
    case = dict(
        input=torch.randn(batch, CHANNELS, h, w, generator=g),
        offset=offset_std * torch.randn(batch, 2 * GROUPS * taps, h, w, generator=g),
        mask=torch.rand(batch, GROUPS * taps, h, w, generator=g),
        weight=torch.randn(CHANNELS, CHANNELS, KERNEL, KERNEL, generator=g) / (CHANNELS * taps) ** 0.5,
        bias=torch.randn(CHANNELS, generator=g),
    )
    return {k: v.to(device=device, dtype=dtype) for k, v in case.items()}


def backends_here(variants: bool, chunk_mb=()) -> dict:
    """name -> function(case) computing the output; what this environment can run."""
    def dcn(backend, chunk_mb=None):
        def run(c):
            if backend != "pure":
                return ops.deform_conv2d(c["input"], c["offset"], c["weight"], c["bias"], padding=1,
                                         mask=c["mask"], backend=backend)
            extra = {}
            if chunk_mb is not None:  # rows whose columns (B, Cin*K, rows*Wo) fill chunk_mb
                b, cin, _, w = c["input"].shape
                row_bytes = b * cin * KERNEL**2 * w * c["input"].element_size()
                extra["chunk_rows"] = 10**9 if chunk_mb == float("inf") else max(1, int(chunk_mb * 2**20) // row_bytes)
            return ops.deform_conv2d_pure(c["input"], c["offset"], c["weight"], c["bias"], padding=1,
                                          mask=c["mask"], **extra)
        return run

    chunked = "chunk_rows" in inspect.signature(ops.deform_conv2d_pure).parameters
    found = {"pure": dcn("pure")}
    if chunked:
        for mb in chunk_mb:
            found[f"pure-{mb:g}MB"] = dcn("pure", mb)
    if variants and chunked:
        found["pure-1chunk"] = dcn("pure", float("inf"))
    if ops.torchvision_status()[0]:
        found["torchvision"] = dcn("torchvision")
    found["conv2d"] = lambda c: F.conv2d(c["input"], c["weight"], c["bias"], padding=1)
    return found


def forward_only(fn, case):
    def run():
        with torch.no_grad():
            fn(case)
    return run


def forward_backward(fn, case, name):
    keys = ("input", "weight", "bias") if name == "conv2d" else ("input", "offset", "mask", "weight", "bias")
    leaves = {k: v.detach().clone().requires_grad_(k in keys) for k, v in case.items()}
    grad_out = torch.randn_like(case["input"])  # Cout = Cin and the output keeps the input's size

    def run():
        out = fn(leaves)
        torch.autograd.grad(out, [leaves[k] for k in keys], grad_out)
    return run


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[(45, 36), (90, 72), (180, 144)],
                        help="LR sizes W x H (default: 45x36 90x72 180x144)")
    parser.add_argument("--batch", nargs="+", type=int, default=[1])
    parser.add_argument("--modes", nargs="+", choices=["fwd", "fwd+bwd"], default=["fwd", "fwd+bwd"])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument("--offset-std", type=float, default=1.0, help="offset standard deviation in pixels (1.0)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16", "bfloat16"])
    parser.add_argument("--variants", action="store_true", help="also time the pure backend without row chunks")
    parser.add_argument("--chunk-mb", nargs="*", type=float, default=[],
                        help="also time the pure backend with chunks of these many MB of columns")
    args = parser.parse_args(argv)
    device, machine, busy, env = setup(args)
    dtype = getattr(torch, args.dtype)
    backends = backends_here(args.variants, args.chunk_mb)
    print(f"zsm.ops.deform_conv2d on {device}, {args.dtype}: C={CHANNELS}, G={GROUPS}, {KERNEL}x{KERNEL}, padding 1")
    print(describe(env, busy))
    print(f"backends measured: {', '.join(backends)}"
          + ("" if "torchvision" in backends else " (torchvision: not measured, " + env["torchvision"] + ")"))
    warn_if_busy(busy)

    rows = []
    for batch in args.batch:
        for w, h in args.sizes:
            case = make_case(batch, w, h, device, dtype, args.offset_std)
            for mode in args.modes:
                fns = {name: (forward_only(fn, case) if mode == "fwd" else forward_backward(fn, case, name))
                       for name, fn in backends.items()}
                stats = time_side_by_side(fns, args.repeats, args.warmup, device)
                row = {"size": f"{w}x{h}", "batch": batch, "mode": mode}
                for name, s in stats.items():
                    row[f"{name} ms"] = s["median_ms"]
                if "torchvision" in stats:
                    row["pure/torchvision"] = stats["pure"]["median_ms"] / stats["torchvision"]["median_ms"]
                row["pure/conv2d"] = stats["pure"]["median_ms"] / stats["conv2d"]["median_ms"]
                if "pure-1chunk" in stats:
                    row["pure/pure-1chunk"] = stats["pure"]["median_ms"] / stats["pure-1chunk"]["median_ms"]
                rows.append({**row, "stats": stats})
                print(f"  {w}x{h} batch {batch} {mode}: " + ", ".join(
                    f"{n} {s['median_ms']:.1f} ms" for n, s in stats.items()), flush=True)

    columns = ["size", "batch", "mode"] + [f"{n} ms" for n in backends] + ["pure/conv2d"]
    if "torchvision" in backends:
        columns.insert(-1, "pure/torchvision")
    if "pure-1chunk" in backends:
        columns.append("pure/pure-1chunk")
    print_table(rows, columns, title=f"median of {args.repeats} interleaved runs after {args.warmup} warm-up, ms")
    busy_after = busy_fraction(0.5)
    if not args.no_json:
        write_json("dcn", machine, {
            "script": "benchmarks/dcn.py", "args": {k: v for k, v in vars(args).items()}, "environment": env,
            "busy_before": busy, "busy_after": busy_after, "backends": list(backends), "rows": rows},
            args.out_dir)


if __name__ == "__main__":
    main()

"""What recording the offsets costs: zsm.viz.record_model_offsets against a plain forward pass, side by side.

    python benchmarks/record_offsets.py             # the shipped model at 320x180 (chapter 3), the tiny preset at 64x48
    python benchmarks/record_offsets.py --cases shipped:320x180 tiny:128x96 --frames 3 --repeats 5

A case is ``MODEL:WxH``: ``shipped`` is ``zsm.load_default_model()`` (the tiny network, C=8, trained), ``tiny``
and ``paper`` are fresh networks of those presets whose offset predictors get random weights (std 0.05), so
that every record holds real offsets. The input is ``--frames`` random LR frames of W x H (default 3, as in
chapter 3). Both passes run under torch.no_grad() on the same input, interleaved after warm-up: ``plain`` is
``model(x)``; ``recorded`` is ``zsm.viz.record_model_offsets(model, x)``, which puts forward hooks on the model
and on the offset predictor of each of its 18 deformable convolutions, copies every offset and mask
(6*(T-1) + 24*(2T-1) records) and removes the hooks. The target: a recorded pass within 1.5x a plain one.

Besides wall-clock time, each call's CPU time of this process (``time.process_time``: all its threads, system
time included, so page faults of the records' new memory count) is kept: on a machine shared with other work,
it varies much less than wall-clock time, which also counts the time the process waited for a core.
"""
from __future__ import annotations

import argparse
import statistics
import time

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
from common import (base_parser, describe, parse_size, print_table, save_rows, setup, time_side_by_side,
                    warn_if_busy)

import zsm
from zsm import viz

TARGET = 1.5  # recorded / plain
MODELS = ("shipped", "tiny", "paper")


def parse_case(text: str) -> tuple:
    """``"shipped:320x180"`` -> ("shipped", (320, 180))."""
    name, sep, size = text.partition(":")
    if not sep or name not in MODELS:
        raise argparse.ArgumentTypeError(f"a case is MODEL:WxH with MODEL one of {', '.join(MODELS)}, got {text!r}")
    return name, parse_size(size)


def build(name: str, device) -> zsm.ZoomingSlowMo:
    if name == "shipped":
        return zsm.load_default_model().to(device)
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(getattr(zsm.ZSMConfig, name)()).eval().to(device)
    for module in model.modules():
        if isinstance(module, zsm.net.DeformConv):
            torch.nn.init.normal_(module.offset_mask.weight, std=0.05)
    return model


def plain(model, x):
    with torch.no_grad():
        return model(x)


def with_cpu_time(fn, times_ms: list):
    """fn, appending the CPU time of this process (all its threads, system time included) that each call took."""
    def run():
        start = time.process_time()
        fn()
        times_ms.append((time.process_time() - start) * 1e3)
    return run


def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", type=parse_case, default=[("shipped", (320, 180)), ("tiny", (64, 48))],
                        help="MODEL:WxH, MODEL shipped, tiny or paper (default: shipped:320x180 tiny:64x48)")
    parser.add_argument("--frames", type=int, default=3, help="T input frames (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds of each pass (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    args = parser.parse_args(argv)
    device, machine, busy, env = setup(args)
    warn_if_busy(busy)
    print(describe(env, busy))
    payload = {"script": "benchmarks/record_offsets.py",
               "args": {**vars(args), "cases": [f"{name}:{w}x{h}" for name, (w, h) in args.cases]},
               "environment": env, "busy_before": busy, "target": TARGET, "rows": []}
    rows = payload["rows"]
    for name, (w, h) in args.cases:
        row = {"model": name, "size": f"{w}x{h}", "frames": args.frames}
        try:
            model = build(name, device)
        except FileNotFoundError as error:  # an installation without the shipped model
            rows.append({**row, "error": str(error)})
            print(f"{name}: {error}")
            continue
        x = torch.rand(1, args.frames, 3, h, w, generator=torch.Generator().manual_seed(1)).to(device)
        row["records"] = len(viz.record_model_offsets(model, x))
        cpu = {"plain": [], "recorded": []}  # this process's CPU time per call, warm-up included
        passes = {"plain": with_cpu_time(lambda: plain(model, x), cpu["plain"]),
                  "recorded": with_cpu_time(lambda: viz.record_model_offsets(model, x), cpu["recorded"])}
        stats = time_side_by_side(passes, args.repeats, args.warmup, device)
        for name in passes:
            row[f"{name} ms"] = stats[name]["median_ms"]
            row[f"{name} times ms"] = stats[name]["times_ms"]
            row[f"{name} cpu ms"] = statistics.median(cpu[name][args.warmup:])
        row["recorded/plain"] = row["recorded ms"] / row["plain ms"]
        row["recorded/plain cpu"] = row["recorded cpu ms"] / row["plain cpu ms"]
        rows.append(row)
        save_rows("record_offsets", machine, payload, args, complete=False)
    timed = [r for r in rows if "error" not in r]
    print_table(rows, ["model", "size", "frames", "records", "plain ms", "recorded ms", "recorded/plain",
                       "plain cpu ms", "recorded cpu ms", "recorded/plain cpu"],
                title=f"A forward pass with and without recording its offsets (no gradients), on {device}; medians of "
                      f"{args.repeats}, wall-clock and this process's CPU time")
    if timed:
        wall, cpu = max(r["recorded/plain"] for r in timed), max(r["recorded/plain cpu"] for r in timed)
        print(f"\nTarget: a recorded pass within {TARGET}x a plain one. Largest ratio: {wall:.2f} (wall-clock), "
              f"{cpu:.2f} (CPU time), so it {'meets' if max(wall, cpu) <= TARGET else 'misses'} the target.")
    save_rows("record_offsets", machine, payload, args, complete=True)


if __name__ == "__main__":
    main()

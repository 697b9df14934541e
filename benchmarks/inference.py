"""Output frames per second and peak memory of the network's forward pass, one fresh process per configuration.

    python benchmarks/inference.py                          # paper and tiny presets, Vid4 input size, this device
    python benchmarks/inference.py --presets tiny --repeats 5
    python benchmarks/inference.py --configs fp32 bf16 fp16 fp32+cl fp32+compile   # on a GPU
    python benchmarks/inference.py --presets paper --configs bf16+graph --batch 1 8   # throughput on a GPU

Input: B=1 clip (``--batch`` more, side by side) of T=4 LR frames of 180x144 (W x H), the Vid4 LR size; output
2T-1 = 7 frames of 720x576 per clip. Frames/s = 7 B output frames / median forward time. (A video streamed in windows that share one input frame,
as zsm.upscale does, yields 6 new frames per window after the first.)

Configurations are written ``<precision>[+cl][+compile|+graph]``:
  fp32          float32 weights and input;
  bf16, fp16    float32 weights under torch.autocast to that dtype;
  +cl           model converted to channels-last (torch.channels_last);
  +compile      torch.compile(model) (the first call, which compiles, is timed apart and reported);
  +graph        CUDA only: the whole forward pass captured once as a CUDA graph and replayed
                (zsm.graphs.GraphedModel, which copies each output out of the graph's buffer), so the CPU
                launches one graph instead of thousands of kernels (first call = capture).
Every configuration other than plain fp32 is compared with the fp32 output of the same weights and input
(the fp32 run, which goes first, saves it): the largest absolute difference and the PSNR against it,
both on outputs clamped to [0, 1] (PSNR = 10 log10(1 / MSE)). Default configurations: fp32 on the CPU;
fp32, bf16, fp16, fp32+cl, fp32+compile and bf16+cl+compile on CUDA.

Peak memory, and how it is measured:
  CPU   ru_maxrss (the kernel's high-water mark of the process's resident memory) after the timed runs,
        minus the resident memory (VmRSS) just before the first forward pass, when weights and input are
        already in memory. Each configuration runs in a fresh process, so earlier runs cannot set the mark.
        tracemalloc would miss torch's allocations (they are not made through Python's allocator).
  CUDA  torch.cuda.max_memory_allocated() minus torch.cuda.memory_allocated() before the timed runs
        (memory of tensors; the caching allocator's reserve, max_memory_reserved, is reported too).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (sets sys.path to this checkout first)
import torch
from common import (base_parser, current_rss_mb, describe, max_rss_mb, parse_size, print_table,
                    run_worker, save_rows, setup, summarize, synchronize, warn_if_busy)

FRAMES_IN = 4
CPU_CONFIGS = ["fp32"]
CUDA_CONFIGS = ["fp32", "bf16", "fp16", "fp32+cl", "fp32+compile", "bf16+cl+compile"]
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def parse_config(text: str) -> dict:
    """``"bf16+cl+compile"`` -> {"precision": "bf16", "channels_last": True, "compile": True, "graph": False}."""
    precision, *flags = text.split("+")
    if (precision not in PRECISIONS or any(f not in ("cl", "compile", "graph") for f in flags)
            or {"compile", "graph"} <= set(flags)):
        raise ValueError(f"configuration must be <fp32|bf16|fp16>[+cl][+compile|+graph], got {text!r}")
    return {"precision": precision, "channels_last": "cl" in flags, "compile": "compile" in flags,
            "graph": "graph" in flags}


# --------------------------------------------------------------------------------------------------------
# The worker: one configuration, in its own process
# --------------------------------------------------------------------------------------------------------
def build(preset: str, w: int, h: int, device, batch: int = 1):
    import zsm

    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(getattr(zsm.ZSMConfig, preset)()).eval().to(device)
    # Clip b of a batch is the same clip for every batch size, so outputs compare across batch sizes.
    x = torch.stack([torch.rand(FRAMES_IN, 3, h, w, generator=torch.Generator().manual_seed(1 + b))
                     for b in range(batch)]).to(device)
    return model, x


def compare(out: torch.Tensor, reference: torch.Tensor) -> dict:
    """Largest absolute difference and PSNR (dB) of ``out`` against ``reference``, both clamped to [0, 1]."""
    a = out.detach().float().cpu().clamp(0, 1)
    b = reference.clamp(0, 1)
    mse = (a - b).square().mean().item()
    return {"max_abs_diff": (a - b).abs().max().item(),
            "psnr_vs_fp32_db": float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1 / mse)).item()}


def worker(spec: dict) -> dict:
    from zsm import ops

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    config = parse_config(spec["config"])
    ops.set_default_backend(spec["backend"])
    if config["graph"] and device.type != "cuda":
        raise ValueError("+graph needs a CUDA device")
    model, x = build(spec["preset"], spec["width"], spec["height"], device, spec.get("batch", 1))
    result = {}
    if config["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    run_model = torch.compile(model) if config["compile"] else model
    dtype = PRECISIONS[config["precision"]]

    def eager():
        autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            return run_model(x)

    forward = eager
    if config["graph"]:  # the package's CUDA-graph runner, as `python -m zsm upscale --cuda-graph` uses it
        from zsm.graphs import GraphedModel

        # The first call captures; later calls replay and copy the output.
        forward = functools.partial(GraphedModel(model, autocast=dtype, max_graphs=1), x)

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base_cuda = torch.cuda.memory_allocated(device)
    rss_before = current_rss_mb()
    ops.reset_backend_counts()

    start = time.perf_counter()
    out = forward()  # the first call: compiles under +compile, captures under +graph, allocates everything else
    synchronize(device)
    result["first_call_s"] = time.perf_counter() - start
    for _ in range(spec["warmup"]):
        forward()
    times = []
    for _ in range(spec["repeats"]):
        synchronize(device)
        start = time.perf_counter()
        out = forward()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)

    frames_out = out.shape[0] * out.shape[1]
    stats = summarize(times)
    result.update(stats)
    result["frames_per_s"] = frames_out / (stats["median_ms"] / 1e3)
    result["output_shape"] = list(out.shape)
    result["dcn_backends"] = ops.backend_counts()  # what ran (eager calls only; compiled code may not count)
    if device.type == "cuda":
        result["peak_mb"] = (torch.cuda.max_memory_allocated(device) - base_cuda) / 2**20
        result["peak_reserved_mb"] = torch.cuda.max_memory_reserved(device) / 2**20
        result["peak_method"] = "torch.cuda.max_memory_allocated - memory_allocated before the first call"
    else:
        result["peak_mb"] = max_rss_mb() - rss_before
        result["peak_rss_mb"] = max_rss_mb()
        result["peak_method"] = "ru_maxrss after the runs - VmRSS before the first call, fresh process"
    if spec.get("save_output"):  # the fp32 run keeps its output for the other configurations to compare with
        torch.save(out.float().cpu(), spec["save_output"])
    if spec.get("reference"):
        result.update(compare(out, torch.load(spec["reference"])))
    return result


# --------------------------------------------------------------------------------------------------------
# The parent: one worker per preset x backend x configuration
# --------------------------------------------------------------------------------------------------------
def main(argv=None):
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["paper", "tiny"], choices=["paper", "tiny"])
    parser.add_argument("--size", type=parse_size, default=(180, 144), help="LR frame size W x H (default 180x144)")
    parser.add_argument("--configs", nargs="+", default=None, help="default: fp32 on CPU, six on CUDA (see above)")
    parser.add_argument("--backends", nargs="+", default=None, choices=["auto", "pure", "torchvision"],
                        help="DCN backends (default: pure and, where it imports, torchvision; auto on CUDA)")
    parser.add_argument("--worker-timeout", type=float, default=None,
                        help="give up on a configuration after this many seconds (e.g. a slow torch.compile)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="clips per forward pass (default: 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed forward passes (default on CPU: 1 paper, 3 tiny; 10 on CUDA)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed passes after the first call (default 0 on CPU, 3 on CUDA)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # set by run_worker
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    from zsm import ops

    device, machine, busy, env = setup(args)
    cuda = device.type == "cuda"
    configs = args.configs or (CUDA_CONFIGS if cuda else CPU_CONFIGS)
    for c in configs:
        parse_config(c)
    tv_ok = ops.torchvision_status()[0]
    backends = args.backends or (["auto"] if cuda else ["pure"] + (["torchvision"] if tv_ok else []))

    def repeats_for(preset):
        return args.repeats or (10 if cuda else 1 if preset == "paper" else 3)

    warmup = args.warmup if args.warmup is not None else (3 if cuda else 0)
    w, h = args.size
    print(f"ZoomingSlowMo forward, B=1, T={FRAMES_IN} frames of {w}x{h} -> {2 * FRAMES_IN - 1} frames of "
          f"{4 * w}x{4 * h}, on {device}; first call apart, then {warmup} warm-up and "
          f"{', '.join(f'{repeats_for(p)} ({p})' for p in args.presets)} timed passes")
    print(describe(env, busy))
    warn_if_busy(busy)

    if any(c != "fp32" for c in configs):  # the fp32 run goes first and saves the reference output
        configs = ["fp32"] + [c for c in configs if c != "fp32"]
    rows = []
    scratch = tempfile.TemporaryDirectory()

    payload = {"script": "benchmarks/inference.py", "args": vars(args), "environment": env, "busy_before": busy,
               "rows": rows}

    for preset in args.presets:
        for backend in backends:
            for batch in args.batch:
                reference = Path(scratch.name) / f"{preset}-{backend}-{batch}-fp32.pt"
                for config in configs:
                    spec = dict(preset=preset, backend=backend, config=config, device=str(device), width=w,
                                height=h, batch=batch, repeats=repeats_for(preset), warmup=warmup, threads=args.threads)
                    if config == "fp32":
                        spec["save_output"] = str(reference)
                    elif reference.exists():
                        spec["reference"] = str(reference)
                    try:
                        result = run_worker(Path(__file__), spec, timeout=args.worker_timeout)
                    except subprocess.TimeoutExpired:
                        result = {"error": f"stopped after --worker-timeout {args.worker_timeout:g} s"}
                    row = {"preset": preset, "backend": backend, "batch": batch, "config": config, **result}
                    if "dcn_backends" in result:
                        row["dcn ran"] = "+".join(sorted(result["dcn_backends"])) or "-"
                    rows.append(row)
                    save_rows("inference", machine, payload, args, complete=False)
                    print(f"  {preset} {backend} B={batch} {config}: " + (result.get("error") or
                          f"{result['median_ms']:.1f} ms, {result['frames_per_s']:.3g} frames/s, "
                          f"peak {result['peak_mb']:.0f} MB"), flush=True)

    columns = ["preset", "backend", "dcn ran", "batch", "config", "median_ms", "frames_per_s", "peak_mb", "first_call_s"]
    if any("psnr_vs_fp32_db" in r for r in rows):
        columns += ["max_abs_diff", "psnr_vs_fp32_db"]
    print_table(rows, columns, title=f"forward pass of {w}x{h} x {FRAMES_IN} frames; peak_mb: "
                + ("CUDA max_memory_allocated above the weights and input" if cuda
                   else "peak RSS above the RSS before the first call (fresh process each)"))
    save_rows("inference", machine, payload, args, complete=True)


if __name__ == "__main__":
    sys.exit(main())

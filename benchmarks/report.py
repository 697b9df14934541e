"""Write the book's Performance page from the JSON files that the benchmark scripts wrote.

    python benchmarks/report.py            # rewrite book/performance.md from benchmarks/results/*.json
    python benchmarks/report.py --check    # exit 1 if book/performance.md differs from what the JSON gives

Every figure on the page comes from a file under ``benchmarks/results/``, and every table says which run
(date, torch, CPU/GPU, load) produced it; nothing is typed by hand. A machine without a result (no GPU has been
measured yet, for instance) gets a sentence saying so, not an empty table. tests/test_benchmarks.py runs
``--check``, so the committed page cannot drift from the committed results.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PAGE = REPO / "book" / "performance.md"


class Share(float):
    """A fraction shown as a percentage."""


def fmt(value, digits: int = 3) -> str:
    """Numbers as people read them: 3 significant digits, at least the units; a Share as a percentage."""
    if isinstance(value, Share):
        return f"{100 * value:.1f}%"
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:
        return "nan"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def table(header: Sequence[str], rows: List[Sequence], align: Optional[str] = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def provenance(result: dict, path: Path) -> str:
    env = result["environment"]
    device = env.get("gpu") or f"{env['cpu']} x{env['cpu_count']}"
    busy = result.get("busy_before")
    load = f", {busy:.0%} of the CPU busy before" if isinstance(busy, (int, float)) else ""
    threads = (result.get("args") or {}).get("threads") or env["torch_threads"]  # workers apply --threads
    note = f" {result['note']}" if result.get("note") else ""
    if result.get("complete") is False and not note:
        note = " The run stopped before its last configuration; these rows are what it had measured."
    return (f"*{env['date']}, torch {env['torch']}, {device}, torch threads: {threads}{load}; "
            f"`benchmarks/results/{path.name}`.{note}*")


def command(result: dict) -> str:
    """The command line that reproduces a result, from the arguments it stored."""
    script = result["script"]
    args = result.get("args") or {}
    skip = {"out_dir", "no_json", "worker", "machine", "device", "threads", "memory_limit_gb"}
    parts = [f"python {script}"]
    for key, value in args.items():
        if key in skip or value is None or value is False or value == []:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif key == "size" and isinstance(value, list):
            parts.append(f"{flag} {size_text(value)}")
        elif isinstance(value, list):
            items = ["x".join(map(str, v)) if isinstance(v, list) else str(v) for v in value]
            parts.append(flag + " " + " ".join(items))
        else:
            parts.append(f"{flag} {value}")
    if args.get("threads"):
        parts.append(f"--threads {args['threads']}")
    return wrap_command(parts)


def wrap_command(parts: Sequence[str], width: int = 78) -> str:
    """Shell words joined into lines of at most ``width`` characters, continued with a backslash (the book's
    code column holds about 80)."""
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 1 + len(part) + 2 > width:
            lines[-1] += " \\"
            lines.append("    " + part)
        else:
            lines[-1] += " " + part
    return "\n".join(lines)


def size_text(size) -> str:
    return "x".join(map(str, size)) if isinstance(size, list) else str(size)


# ------------------------------------------------------------------------------------------------------------
# One section per script
# ------------------------------------------------------------------------------------------------------------
def _constant(rows: List[dict], key: str):
    """The value of ``key`` when every row has the same one (said once above the table), else None."""
    values = {json.dumps(r.get(key)) for r in rows}
    return rows[0].get(key) if len(values) == 1 else None


def dcn_section(result: dict) -> str:
    rows_in = result["rows"]
    peers = [b for b in result["backends"] if b in ("pure", "torchvision", "conv2d")]
    variants = [b for b in result["backends"] if b not in peers]  # pure-1chunk, pure-4MB: the pure backend's knobs
    batch = _constant(rows_in, "batch")
    lead = ["LR size", "pass"] if batch is not None else ["LR size", "batch", "pass"]

    def key(r):
        return [r["size"], r["mode"]] if batch is not None else [r["size"], r["batch"], r["mode"]]

    ratios = [k for k in ("pure/torchvision", "pure/conv2d") if any(k in r for r in rows_in)]
    spaced = [k.replace("/", " / ") for k in ratios]  # a header cell may then wrap
    text = [f"One 3x3 deformable convolution of the paper network (C=64, G=8){f', batch {batch}' if batch else ''}; "
            "milliseconds, and the pure backend's time as a fraction of its peers' (below 1: faster).",
            table(lead + [f"{b} ms" for b in peers] + spaced,
                  [key(r) + [r.get(f"{b} ms") for b in peers] + [r.get(k) for k in ratios] for r in rows_in])]
    fwdbwd = [r for r in rows_in if r["mode"] == "fwd+bwd" and "pure/torchvision" in r]
    if fwdbwd and result["environment"].get("gpu"):
        text.append(f"The 2x target is set for the CPU; on this GPU the largest forward+backward ratio pure/torchvision "
                    f"over these shapes is {fmt(max(r['pure/torchvision'] for r in fwdbwd))}.")
    elif fwdbwd:
        worst = max(r["pure/torchvision"] for r in fwdbwd)
        verdict = "meets" if worst <= 2 else "misses"
        text.append(f"Target: the pure backend's forward+backward within 2x of torchvision's compiled kernel. "
                    f"Largest ratio pure/torchvision over these shapes: **{fmt(worst)}**, so it {verdict} the target.")
    if variants:
        vratios = [f"pure/{v}" for v in variants if any(f"pure/{v}" in r for r in rows_in)]
        text.append("The pure backend as shipped (rows in chunks of about 4 MB of sampled columns) against its "
                    "variants in the same run (`pure-1chunk`: the whole image at once):")
        text.append(table(lead + ["pure ms"] + [f"{v} ms" for v in variants] + [k.replace("/", " / ") for k in vratios],
                          [key(r) + [r.get("pure ms")] + [r.get(f"{v} ms") for v in variants]
                           + [r.get(k) for k in vratios] for r in rows_in]))
    return "\n\n".join(text)


def inference_section(result: dict) -> str:
    ok = [r for r in result["rows"] if "error" not in r]
    batches = sorted({r.get("batch", 1) for r in ok})  # results written before --batch existed have none
    one_batch, batch = len(batches) <= 1, (batches or [1])[0]
    def dcn(r):  # the backend that ran, and the one asked for where they differ: "auto → pure"
        asked, ran = r.get("backend"), r.get("dcn ran")
        if asked and ran and asked != ran:
            return f"{asked} → {ran}"
        return ran or asked

    rows = [[r["preset"], dcn(r)] + ([] if one_batch else [r.get("batch", 1)])
            + [r["config"], r.get("median_ms"), r.get("frames_per_s"), r.get("peak_mb"), r.get("first_call_s"),
               r.get("psnr_vs_fp32_db")]
            for r in ok]
    errors = [f"- {r['preset']} {r['config']}: {r['error']}" for r in result["rows"] if "error" in r]
    w, h = result["args"]["size"]
    memory = ("memory of CUDA tensors above the loaded model and input (`torch.cuda.max_memory_allocated`)"
              if result["environment"].get("gpu") else "the resident memory above the loaded model")
    clips = f"batch {batch}" if one_batch else "batches of clips as given"
    text = [f"Input: 4 LR frames of {w}x{h} -> 7 frames of {4 * w}x{4 * h}, {clips}; frames/s counts output frames, "
            f"peak MB is the {memory}, PSNR vs fp32 (dB) compares a lower precision's output with fp32's. "
            "Configurations: `+cl` channels-last, `+graph` the forward pass replayed as one CUDA graph, `+compile` "
            "`torch.compile` (its first call compiles).",
            table(["preset", "DCN"] + ([] if one_batch else ["batch"])
                  + ["config", "median ms", "frames/s", "peak MB", "first call s", "PSNR vs fp32"], rows)]
    bf16 = [r for r in ok if r["preset"] == "paper" and r["config"].startswith("bf16") and r.get("frames_per_s")]
    if bf16 and result["environment"].get("gpu"):
        best = max(bf16, key=lambda r: r["frames_per_s"])
        text.append(f"Best bf16 configuration of the paper network in this table: `{best['config']}` at batch "
                    f"{best.get('batch', 1)}, **{fmt(best['frames_per_s'])} frames/s** (the target: at least 100 on "
                    "one H100-class GPU).")
    if errors:
        text.append("Configurations that failed:\n\n" + "\n".join(errors))
    return "\n\n".join(text)


def flops_section(result: dict) -> str:
    w, h = result["args"]["size"]
    text = [f"The {result['args']['preset']} network at {w}x{h} x {result['args']['frames']} frames: "
            f"**{fmt(result['gflop_per_frame'])} GFLOP per output frame** ({fmt(result['total_flops'] / 1e9)} GFLOP "
            f"for {result['frames_out']} frames; convolutions and matrix products counted by "
            f"`torch.utils.flop_counter`, the deformable sampling by formula).",
            table(["measured", "GFLOP", "median ms", "GFLOP/s", "fraction of the matmul rate"],
                  [[t["item"], t["flops"] / 1e9, t["median_ms"], t["gflops"], t["fraction of matmul ceiling"]]
                   for t in result["timed"]]),
            f"At the measured matrix-product rate the network could produce at most "
            f"**{fmt(result['ceiling_frames_per_s'])} frames/s** on this device (the ceiling)."]
    return "\n\n".join(text)


def profile_section(result: dict) -> str:
    wall = result["wall_s"]
    cats = sorted(result["categories_s"].items(), key=lambda kv: -kv[1])
    rows = [[name, seconds * 1e3, Share(seconds / wall)] for name, seconds in cats]
    w, h = result["args"]["size"]
    seconds = dict(cats)
    conv = sum(seconds.get(n, 0.0) for n in ("convolutions", "DCN offset/mask conv", "DCN matmul"))
    sampling = sum(seconds.get(n, 0.0) for n in ("DCN sampling", "DCN mask multiply", "DCN other"))
    args = result["args"]
    gpu = result["environment"].get("gpu")
    what = ("GPU time of the operators' kernels by category (the rest of the pass the GPU waited for launches)"
            if gpu else "self time of the operators by category")
    extra = "".join(f", {v}" for v in (f"batch {args['batch']}" if args.get("batch", 1) != 1 else None,
                                        args.get("autocast")) if v)
    text = [f"One forward pass of the {args['preset']} network at {w}x{h} x {args['frames']} "
            f"frames ({args['backend']} DCN{extra}), {fmt(wall * 1e3)} ms under `torch.profiler`; {what}:",
            table(["category", "ms", "share of the pass"], rows),
            f"Convolutions and matrix products (with the deformable convolutions' offset/mask convolutions and weight "
            f"products): {fmt(conv * 1e3)} ms ({fmt(Share(conv / wall))}); the pure backend's deformable sampling, "
            f"mask multiply and grid arithmetic: {fmt(sampling * 1e3)} ms ({fmt(Share(sampling / wall))})."]
    if "DCN torchvision" in seconds:
        text[-1] += (f" torchvision's kernel, sampling and products in one operator: "
                     f"{fmt(seconds['DCN torchvision'] * 1e3)} ms ({fmt(Share(seconds['DCN torchvision'] / wall))}).")
    return "\n\n".join(text)


def upscale_section(result: dict) -> str:
    rows = [[r["tile"], r.get("overlap"), r.get("peak_mb"), r.get("seconds"), r.get("frames_out")]
            for r in result["rows"]]
    errors = [f"- tile {r.get('tile')}: " + r["error"].split(" | ")[-1] for r in result["rows"] if "error" in r]
    args = result["args"]
    text = [f"`zsm.upscale.upscale_frames`, {args['preset']} network, {args['frames']} input frames of "
            f"{size_text(args['size'])}:",
            table(["tile", "overlap", "peak MB", "seconds", "output frames"], rows)]
    if errors:
        text.append("Configurations that failed:\n\n" + "\n".join(errors))
    return "\n\n".join(text)


def train_section(result: dict) -> str:
    ok = [r for r in result["rows"] if "its" in r]
    crop = _constant(ok, "lr_size") if ok else None
    rows = [[r["preset"], r["precision"], r["batch_size"]] + ([] if crop else [r["lr_size"]])
            + [r["steps"], r["median_ms"], r["its"], r["samples_per_s"], r["peak_mb"], r.get("speedup_vs_fp32")]
            for r in ok]
    errors = [f"- {r['preset']} amp={r['amp']}: {r['error']}" for r in result["rows"] if "error" in r]
    text = [f"Steps of `zsm.training.loop.train` itself (data, forward, loss, backward, Adam){f' on LR crops of {crop}x{crop}' if crop else ''}; "
            "median over the timed steps after warm-up; peak MB is the resident memory above the start.",
            table(["preset", "precision", "batch"] + ([] if crop else ["LR crop"])
                  + ["steps", "ms/step", "steps/s", "samples/s", "peak MB", "vs fp32"], rows)]
    if errors:
        text.append("\n".join(errors))
    return "\n\n".join(text)


SECTIONS = [  # (result-file prefix, title, section writer, the script that writes the file)
    ("dcn", "Deformable convolution: pure PyTorch vs torchvision vs conv2d", dcn_section, "dcn.py"),
    ("inference", "Network inference", inference_section, "inference.py"),
    ("flops", "Counted work and the ceiling", flops_section, "flops.py"),
    ("profile", "Where the forward pass spends its time", profile_section, "profile_network.py"),
    ("upscale_memory", "Memory of tiled upscaling", upscale_section, "upscale_memory.py"),
    ("train", "Training steps", train_section, "train.py"),
]

INTRO = """\
# Performance

What the network costs, measured by the scripts in `benchmarks/` (see `benchmarks/README.md`): medians of
several runs after warm-up, ratios measured side by side in the same run. This page is generated by
`python benchmarks/report.py` from the JSON files those scripts wrote into `benchmarks/results/`; each table
names the run it comes from. Timings on a shared 2-core machine vary by tens of percent from run to run; the
load just before each run is given with it.
"""


def _machine_of(path: Path, data: dict) -> str:
    env = data["environment"]
    if env.get("gpu"):
        return env["gpu"]
    return f"CPU: {env['cpu']}, {env['cpu_count']} cores"


def render(results_dir: Path = RESULTS) -> str:
    paths = sorted(results_dir.glob("*.json"))
    loaded = [(p, json.loads(p.read_text())) for p in paths]
    out = [INTRO]
    by_machine: Dict[str, list] = {}
    for p, data in loaded:
        by_machine.setdefault(_machine_of(p, data), []).append((p, data))
    if not by_machine:
        out.append("No benchmark result is recorded yet: run the scripts (see below) and then this page's generator.\n")
    for machine in sorted(by_machine, key=lambda m: (not m.startswith("CPU"), m)):
        out.append(f"## {machine}\n")
        have = {prefix for prefix, *_ in SECTIONS
                if any(p.name.startswith(prefix + "-") for p, _ in by_machine[machine])}
        missing = [f"{title.lower()} (`benchmarks/{script}`)" for prefix, title, _, script in SECTIONS
                   if prefix not in have]
        if missing:
            measured = [title for prefix, title, _, _ in SECTIONS if prefix in have]
            out.append("Measured on this machine, in the tables below: " + "; ".join(measured) + ". Not measured here "
                       "yet (the script to run is named): " + "; ".join(missing) + ".\n")
        for prefix, title, section, _ in SECTIONS:
            found = [(p, d) for p, d in by_machine[machine] if p.name.startswith(prefix + "-")]
            for p, data in found:
                out.append(f"### {title}\n")
                out.append(section(data) + "\n")
                out.append(provenance(data, p) + " Reproduce with:\n")
                out.append(f"```bash\n{command(data)}\n```\n")
    if not any(d["environment"].get("gpu") for _, d in loaded):
        out.append("## GPUs\n")
        out.append("No GPU measurement is recorded: no GPU was available to the sessions that wrote these results. "
                   "On a GPU machine, `python benchmarks/inference.py` times fp32, bf16, fp16, channels-last and "
                   "`torch.compile` side by side, and `python benchmarks/train.py` fp32 against mixed precision; "
                   "then `python benchmarks/report.py` adds their tables here.\n")
    return "\n".join(out).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--page", default=str(PAGE))
    args = parser.parse_args(argv)
    text = render(Path(args.results))
    page = Path(args.page)
    if args.check:
        if not page.is_file() or page.read_text() != text:
            print(f"{page} is not what benchmarks/report.py makes of {args.results}; run python benchmarks/report.py",
                  file=sys.stderr)
            return 1
        print(f"{page} matches {args.results}")
        return 0
    page.write_text(text)
    print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark scripts share: timing, the machine's name and load, tables, JSON results, subprocesses.

Every script runs from the repository root (``python benchmarks/dcn.py``) and measures the ``zsm`` of the
checkout it lives in: this module puts the repository root first on ``sys.path``, before any installed copy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
if str(REPO) not in sys.path[:1]:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402  (after the path is set, like zsm)

from zsm.cli import parse_size as cli_parse_size  # noqa: E402
from zsm.devices import pick_device  # noqa: E402


# --------------------------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------------------------
def machine_name(device: torch.device) -> str:
    """A short name for result files: ``cpu-2core`` or ``cuda-nvidia-h100-80gb-hbm3``."""
    if device.type == "cuda":
        return "cuda-" + re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-")
    return f"cpu-{os.cpu_count()}core"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def busy_fraction(seconds: float = 1.0) -> Optional[float]:
    """Fraction of all cores busy over the next ``seconds``, while this process sleeps (Linux /proc/stat).

    Measured just before a benchmark it says how much other processes were using the CPU; None elsewhere.
    """
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def environment(device: torch.device) -> dict:
    """Versions, threads and load, stored with every result."""
    from zsm import ops

    available, reason = ops.torchvision_status()
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": reason,
        "torchvision_available": available,
        "zsm": str(Path(sys.modules["zsm"].__file__).parent),
        "device": str(device),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version()
    return env


def describe(env: dict, busy: Optional[float]) -> str:
    gpu = f", {env['gpu']} (CUDA {env['cuda']})" if "gpu" in env else ""
    load = f"{busy:.0%} of the CPU busy with other work just before" if busy is not None else "load unknown"
    return (f"torch {env['torch']}, {env['cpu']} x{env['cpu_count']} ({env['torch_threads']} torch threads){gpu}; "
            f"{env['torchvision']}; {load}")


def warn_if_busy(busy: Optional[float], limit: float = 0.10) -> None:
    if busy is not None and busy > limit:
        sys.stdout.flush()
        print(f"WARNING: other processes used {busy:.0%} of the CPU before this run; timings may be noisy. "
              "Re-run when the machine is idle.", file=sys.stderr)


# --------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_side_by_side(fns: Dict[str, Callable[[], object]], repeats: int, warmup: int,
                      device: torch.device) -> Dict[str, dict]:
    """Time several functions in turn, interleaved: warm-up rounds, then ``repeats`` rounds of each.

    Interleaving (a, b, c, a, b, c, ...) exposes every function to the same drift of load and clock, so
    their ratios are fairer than those of separate runs.

    Returns:
        {name: {"median_ms", "min_ms", "max_ms", "times_ms"}}.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    synchronize(device)
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: summarize(ts) for name, ts in times.items()}


def summarize(times_ms: Sequence[float]) -> dict:
    return {"median_ms": statistics.median(times_ms), "min_ms": min(times_ms), "max_ms": max(times_ms),
            "times_ms": [round(t, 3) for t in times_ms]}


# --------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------
def print_table(rows: List[dict], columns: Sequence[str], title: str = "") -> None:
    """A plain text table; floats with 3 significant digits (at least one decimal)."""
    def cell(value):
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return str(value)
            return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3g}"
        return "" if value is None else str(value)

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))


def write_json(name: str, machine: str, payload: dict, out_dir: Optional[Path] = None, quiet: bool = False) -> Path:
    """Write ``<out_dir>/<name>-<machine>.json`` (default out_dir: benchmarks/results) and return its path."""
    out_dir = Path(out_dir) if out_dir else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{machine}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)
    if not quiet:
        print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return path


def save_rows(name: str, machine: str, payload: dict, args: argparse.Namespace, complete: bool,
              busy_seconds: float = 0.5) -> None:
    """Write a script's result so far: after every configuration (``complete=False``, quietly) and once at the end.

    A run stopped half-way (a time limit on a lent GPU) keeps what it measured, marked ``"complete": false``;
    the load after the run (``busy_after``) is measured only at the end. Nothing is written under ``--no-json``.
    """
    if args.no_json:
        return
    busy_after = busy_fraction(busy_seconds) if complete else None
    write_json(name, machine, {**payload, "busy_after": busy_after, "complete": complete}, args.out_dir,
               quiet=not complete)


def setup(args: argparse.Namespace):
    """Apply --threads and read --device/--machine: (device, machine name, CPU busy fraction, environment)."""
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    return device, args.machine or machine_name(device), busy_fraction(), environment(device)


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--machine", default=None, help="name in the result file (default: cpu-<n>core or cuda-<gpu>)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--out-dir", default=None, help="where to write the JSON (default: benchmarks/results)")
    parser.add_argument("--no-json", action="store_true", help="print the table only")
    return parser


def parse_size(text: str) -> tuple:
    """``"180x144"`` (W x H, as video sizes are written) -> (180, 144)."""
    return cli_parse_size(text, order="WxH")


# --------------------------------------------------------------------------------------------------------
# Fresh processes, for peak memory
# --------------------------------------------------------------------------------------------------------
def max_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports ru_maxrss in KiB, macOS in bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def current_rss_mb() -> Optional[float]:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return None


def run_worker(script: Path, spec: dict, extra_args: Sequence[str] = (), timeout: Optional[float] = None,
               memory_limit_gb: Optional[float] = None) -> dict:
    """Run ``script --worker '<spec as JSON>'`` in a fresh Python and return the JSON it prints last.

    A fresh process per configuration keeps peak-memory readings (ru_maxrss is a high-water mark of the
    whole process) from mixing. ``memory_limit_gb`` caps the child's address space (RLIMIT_AS), so a
    configuration too large for the machine fails with an allocation error instead of waking the OOM killer.
    """
    def limit():
        if memory_limit_gb:
            size = int(memory_limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    cmd = [sys.executable, str(script), "--worker", json.dumps(spec), *extra_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limit, cwd=REPO)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"worker exited with {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])

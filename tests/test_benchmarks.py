"""The benchmark scripts still run against the package and write the figures they promise.

Speed is never asserted here (timings belong to the scripts' tables); these runs use the smallest shapes and one
thread, and check that each script exits cleanly and that its JSON holds finite, positive measurements.

Every script run below is a fresh ``python benchmarks/<script>.py ...`` made once for the whole module (the
``runs`` fixture), two at a time: each is one thread, mostly starting Python and torch, and a machine has two
cores. The tests then read what each run printed and wrote; the report is generated from two of those runs.
"""
import json
import math
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RUNS = {
    "dcn": (["--sizes", "16x12", "--repeats", "1", "--warmup", "0"], "dcn-*.json"),
    "inference": (["--presets", "tiny", "--size", "16x16", "--repeats", "1", "--batch", "1", "2"], "inference-*.json"),
    "flops": (["--preset", "tiny", "--size", "16x16", "--repeats", "1", "--matmul-size", "64"], "flops-*.json"),
    "profile_network": (["--preset", "tiny", "--size", "16x16"], "profile-*.json"),
    "record_offsets": (["--cases", "tiny:16x16", "--repeats", "1", "--warmup", "0"], "record_offsets-*.json"),
    "upscale_memory": (["--preset", "tiny", "--size", "64x48", "--frames", "3", "--tiles", "32"],
                       "upscale_memory-*.json"),
    "train": (["--presets", "tiny", "--steps", "1", "--warmup", "1", "--batch-size", "1", "--lr-size", "8"],
              "train-*.json"),
}


# Runs beside those of RUNS: (script, arguments before --threads 1 --out-dir DIR, timeout in seconds)
OTHER_RUNS = {
    "inference-graph": ("inference", ["--device", "cpu", "--presets", "tiny", "--size", "8x8", "--repeats", "1",
                                      "--configs", "fp32", "fp32+graph"], 300),
    "train-bf16": ("train", ["--device", "cpu", "--amps", "bf16", "--no-json"], 120),
}
# Every run, by the seconds each took alone on an idle 2-core machine (12, 12, 11, 11, 10, 9, 6, 3);
# record_offsets was added after that measurement and is placed by its work (two passes of the tiny net at 16x16).
SLOWEST_FIRST = ["train", "inference", "flops", "inference-graph", "profile_network", "upscale_memory", "dcn",
                 "record_offsets", "train-bf16"]


@dataclass
class Run:
    cmd: list
    proc: subprocess.CompletedProcess
    out_dir: Path


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """The script runs that the selected tests of this module read (their ``name`` parameter or their
    ``runs`` mark), each made once, two at a time, the slowest first: {name: Run}."""
    jobs = {name: (name, args, 300) for name, (args, _) in RUNS.items()}
    jobs.update(OTHER_RUNS)
    assert sorted(SLOWEST_FIRST) == sorted(jobs)
    wanted = set()
    for item in request.session.items:
        if item.path == Path(__file__):
            wanted.update(name for mark in item.iter_markers("runs") for name in mark.args)
            if hasattr(item, "callspec") and "name" in item.callspec.params:
                wanted.add(item.callspec.params["name"])

    def run(name):
        script, args, timeout = jobs[name]
        out_dir = tmp_path_factory.mktemp(name)
        cmd = [sys.executable, str(REPO / "benchmarks" / f"{script}.py"), *args, "--threads", "1",
               "--out-dir", str(out_dir)]
        return name, Run(cmd, subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout), out_dir)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, [name for name in SLOWEST_FIRST if name in wanted]))


def script_result(run, pattern):
    """(stdout, the JSON the run wrote as ``pattern``), after checking that it exited cleanly and wrote it."""
    proc = run.proc
    assert proc.returncode == 0, f"{' '.join(run.cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    files = sorted(run.out_dir.glob(pattern))
    assert files, f"{Path(run.cmd[1]).name} wrote no {pattern} in {run.out_dir}; stdout:\n{proc.stdout[-1000:]}"
    return proc.stdout, json.loads(files[0].read_text())


def positive_numbers(rows, key):
    values = [row[key] for row in rows if key in row]
    assert values, f"no row has {key!r}: {rows}"
    assert all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values), values
    return values


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_script_runs_and_writes_json(name, runs):
    stdout, result = script_result(runs[name], RUNS[name][1])
    if name == "dcn":
        positive_numbers(result["rows"], "pure ms")
        positive_numbers(result["rows"], "conv2d ms")
    elif name == "inference":
        positive_numbers(result["rows"], "frames_per_s")
        positive_numbers(result["rows"], "peak_mb")
        assert result["complete"] is True
        assert [(r["batch"], r["output_shape"][:2]) for r in result["rows"]] == [(1, [1, 7]), (2, [2, 7])]
    elif name == "flops":
        assert result["gflop_per_frame"] > 0 and result["total_flops"] > 0
    elif name == "train":
        rows = result["rows"]
        assert not [r for r in rows if "error" in r], rows
        positive_numbers(rows, "its")
        positive_numbers(rows, "peak_mb")
        assert all(math.isfinite(r["final_loss"]) for r in rows)
        assert "Training step" in stdout
    elif name == "profile_network":
        assert result["dcn_s"] > 0 and result["convolutions_s"] > 0
        assert result["wall_s"] >= sum(result["categories_s"].values()) * 0.5
    elif name == "record_offsets":
        positive_numbers(result["rows"], "plain ms")
        positive_numbers(result["rows"], "recorded ms")
        positive_numbers(result["rows"], "recorded/plain")
        assert [(r["model"], r["records"]) for r in result["rows"]] == [("tiny", 6 * 2 + 24 * 5)]  # T=3
        assert result["complete"] is True
    elif name == "upscale_memory":
        positive_numbers(result["rows"], "peak_mb")
        assert all(row["frames_out"] == 5 for row in result["rows"]), result["rows"]  # 3 inputs -> 2*3-1


@pytest.mark.runs("train-bf16")
def test_train_benchmark_refuses_mixed_precision_on_cpu(runs):
    proc = runs["train-bf16"].proc
    assert proc.returncode == 2 and "CUDA-only" in proc.stderr, proc.stderr


@pytest.mark.runs("train", "flops")
def test_report_renders_every_script_and_says_when_no_gpu_was_measured(runs, tmp_path):
    """The generator on results written here by the smallest runs: one section per script, nothing invented."""
    for name in ("train", "flops"):
        script_result(runs[name], RUNS[name][1])
        for path in runs[name].out_dir.glob(RUNS[name][1]):
            shutil.copy(path, tmp_path)
    page = tmp_path / "performance.md"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "report.py"), "--results", str(tmp_path),
                           "--page", str(page)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = page.read_text()
    assert "### Training steps" in text and "### Counted work and the ceiling" in text
    assert "### Network inference" not in text  # no inference result given, so no table
    assert "No GPU measurement is recorded" in text
    assert "python benchmarks/train.py --presets tiny --batch-size 1 --lr-size 8" in text


def test_performance_page_is_generated_from_the_committed_results():
    """book/performance.md is exactly what benchmarks/report.py makes of benchmarks/results/*.json."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "report.py"), "--check"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_reproduce_commands_fit_the_book_column_and_mean_the_same_command():
    """The page's "Reproduce with" commands are wrapped with backslashes; the shell reads them as one line."""
    import importlib.util
    import shlex

    spec = importlib.util.spec_from_file_location("report", REPO / "benchmarks" / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    parts = ["python benchmarks/dcn.py"] + [f"--option-{i} value-{i}" for i in range(12)]
    text = report.wrap_command(parts)
    lines = text.splitlines()
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1]) and not lines[-1].endswith("\\")
    words = subprocess.run(["bash", "-c", "printf '%s\\n' " + text.replace("python ", "", 1)], check=True,
                           capture_output=True, text=True).stdout.split("\n")[:-1]  # as bash reads it
    assert ["python"] + words == shlex.split(" ".join(parts))
    assert report.wrap_command(["python x.py", "--a 1"]) == "python x.py --a 1"


@pytest.mark.runs("inference-graph")
def test_inference_configurations_and_cuda_graphs_off_cuda(runs):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import inference
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    assert inference.parse_config("bf16+cl+graph") == {"precision": "bf16", "channels_last": True, "compile": False,
                                                       "graph": True}
    for bad in ("fp32+compile+graph", "fp64", "fp32+fast"):
        with pytest.raises(ValueError, match="configuration must be"):
            inference.parse_config(bad)
    run = runs["inference-graph"]
    assert run.proc.returncode == 0, run.proc.stderr
    rows = json.loads(next(run.out_dir.glob("inference-*.json")).read_text())["rows"]
    assert "frames_per_s" in rows[0] and "+graph needs a CUDA device" in rows[1]["error"]

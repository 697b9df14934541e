"""The benchmark scripts still run against the package and write the figures they promise.

Speed is never asserted here (timings belong to the scripts' tables); these runs use the smallest shapes and one
thread, and check that each script exits cleanly and that its JSON holds finite, positive measurements.
"""
import json
import math
import subprocess
import sys
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


def run_script(name, args, out_dir):
    cmd = [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), *args, "--threads", "1", "--out-dir", str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    files = sorted(out_dir.glob(RUNS[name][1]))
    assert files, f"{name}.py wrote no {RUNS[name][1]} in {out_dir}; stdout:\n{proc.stdout[-1000:]}"
    return proc.stdout, json.loads(files[0].read_text())


def positive_numbers(rows, key):
    values = [row[key] for row in rows if key in row]
    assert values, f"no row has {key!r}: {rows}"
    assert all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values), values
    return values


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_script_runs_and_writes_json(name, tmp_path):
    stdout, result = run_script(name, RUNS[name][0], tmp_path)
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


def test_train_benchmark_refuses_mixed_precision_on_cpu(tmp_path):
    cmd = [sys.executable, str(REPO / "benchmarks" / "train.py"), "--device", "cpu", "--amps", "bf16", "--no-json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "CUDA-only" in proc.stderr, proc.stderr


def test_report_renders_every_script_and_says_when_no_gpu_was_measured(tmp_path):
    """The generator on results written here by the smallest runs: one section per script, nothing invented."""
    for name in ("train", "flops"):
        run_script(name, RUNS[name][0], tmp_path)
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


def test_inference_configurations_and_cuda_graphs_off_cuda(tmp_path):
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
    cmd = [sys.executable, str(REPO / "benchmarks" / "inference.py"), "--device", "cpu", "--presets", "tiny",
           "--size", "8x8", "--repeats", "1", "--configs", "fp32", "fp32+graph", "--out-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(next(tmp_path.glob("inference-*.json")).read_text())["rows"]
    assert "frames_per_s" in rows[0] and "+graph needs a CUDA device" in rows[1]["error"]

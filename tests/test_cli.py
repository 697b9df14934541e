"""Facts about the `python -m zsm` command: it reports the network and backend, and fails in one line."""
import subprocess
from pathlib import Path
import sys

import pytest
import torch

import zsm
from zsm.cli import main


def test_info_reports_network_parameters_and_the_backend_that_ran(capsys):
    assert main(["info", "--preset", "tiny", "--size", "13x18", "--frames", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "parameters: 162,095" in out
    assert "(1, 3, 3, 13, 18) -> (1, 5, 3, 52, 72)" in out
    assert "backends that ran: {'" in out


def test_info_loads_weights(tmp_path, capsys):
    path = tmp_path / "m.pt"
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), path)
    assert main(["info", "--weights", str(path), "--size", "8x8", "--backend", "pure"]) == 0
    assert "backends that ran: {'pure': " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["info", "--weights", "/no/such/file.pt"], "no checkpoint file at /no/such/file.pt"),
        (["info", "--frames", "1"], "--frames must be at least 2"),
        (["info", "--device", "cuda:7"] if not torch.cuda.is_available() else ["info", "--device", "tpu"],
         "device"),
    ],
)
def test_errors_are_one_line_on_stderr_with_status_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsm: error: ") and fragment in err and err.count("\n") == 1


def test_python_dash_m_zsm_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "zsm", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("zsm ")


# ------------------------------------------------------------------------------------------------------------
# data, upscale, evaluate, train
# ------------------------------------------------------------------------------------------------------------
import json  # noqa: E402

import numpy as np  # noqa: E402

from zsm.data.frames import read_frames, write_frames  # noqa: E402
from zsm.data.video import read_video, write_video  # noqa: E402


def moving_clip(n=8, h=16, w=12, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(h, w + n, 3), dtype=np.uint8)
    return np.stack([base[:, i: i + w] for i in range(n)])  # (n, h, w, 3)


@pytest.fixture()
def tiny_weights(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.manual_seed(0)
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), path)
    return str(path)


def one_line_error(capsys, fragment):
    """The run ended with one error line on stderr (after any progress bar), and no traceback."""
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("zsm: error: ") and "Traceback" not in err, err
    assert fragment in last, err


def test_upscale_turns_a_frame_folder_into_an_mp4_at_twice_the_rate(tmp_path, tiny_weights, capsys):
    frames = tmp_path / "in"
    write_frames(frames, moving_clip(n=6))
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(frames), str(out), "--weights", tiny_weights, "--fps", "12", "--tile", "8"]) == 0
    video, fps = read_video(out)
    assert video.shape == (11, 64, 48, 3) and fps == pytest.approx(24)
    assert "wrote" in capsys.readouterr().out


def test_upscale_of_a_video_file_to_png_frames(tmp_path, tiny_weights):
    write_video(tmp_path / "in.mp4", moving_clip(n=5), fps=10)
    assert main(["upscale", str(tmp_path / "in.mp4"), str(tmp_path / "frames"), "--weights", tiny_weights]) == 0
    assert read_frames(tmp_path / "frames").shape == (9, 64, 48, 3)


def test_upscale_refuses_bad_inputs_in_one_line_and_writes_nothing(tmp_path, tiny_weights, capsys):
    src = tmp_path / "in"
    write_frames(src, moving_clip(n=3))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    assert main(["upscale", str(src), str(out), "--weights", tiny_weights]) == 2
    one_line_error(capsys, "exists; pass --overwrite")
    assert out.read_bytes() == b"keep me"

    assert main(["upscale", str(src), str(src), "--weights", tiny_weights, "--overwrite"]) == 2
    one_line_error(capsys, "the output must not be the input")
    assert len(list(src.iterdir())) == 3

    assert main(["upscale", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4"), "--weights", tiny_weights]) == 2
    one_line_error(capsys, "no such video file or frame folder")

    single = tmp_path / "single"
    write_frames(single, moving_clip(n=1))
    assert main(["upscale", str(single), str(tmp_path / "o.mp4"), "--weights", tiny_weights]) == 2
    one_line_error(capsys, "at least 2 frames")
    assert not (tmp_path / "o.mp4").exists()

    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    assert main(["upscale", str(corrupt), str(tmp_path / "o.mp4"), "--weights", tiny_weights]) == 2
    capsys.readouterr()
    assert not (tmp_path / "o.mp4").exists()

    (src / "notes.txt").write_text("not a frame")
    assert main(["upscale", str(src), str(tmp_path / "o2"), "--weights", tiny_weights]) == 2
    one_line_error(capsys, "notes.txt")

    write_frames(tmp_path / "two", moving_clip(n=2))
    assert main(["upscale", str(tmp_path / "two"), str(tmp_path / "o3.mp4"), "--weights", tiny_weights, "--preset", "paper"]) == 2
    one_line_error(capsys, "was expected")

    if not torch.cuda.is_available():  # the GPU-only options say so (tests/test_cuda.py runs them on a GPU)
        for flag in ("--half", "--bf16", "--cuda-graph"):
            assert main(["upscale", str(tmp_path / "two"), str(tmp_path / "o4.mp4"), "--weights", tiny_weights,
                         flag]) == 2
            one_line_error(capsys, f"{flag} needs a CUDA device")
    assert main(["upscale", str(tmp_path / "two"), str(tmp_path / "o4.mp4"), "--weights", tiny_weights,
                 "--device", "cuda" if torch.cuda.is_available() else "cpu", "--half", "--bf16"]) == 2
    capsys.readouterr()
    assert not (tmp_path / "o4.mp4").exists()


def test_upscale_without_weights_says_what_is_missing(tmp_path, capsys, monkeypatch):
    from zsm.weights import checkpoint

    monkeypatch.setattr(checkpoint, "SHIPPED_MODEL", tmp_path / "none.pt")
    write_frames(tmp_path / "in", moving_clip(n=2))
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "o.mp4")]) == 2
    one_line_error(capsys, "no --weights given")


def test_evaluate_prints_and_saves_the_table_for_the_network_and_both_baselines(tmp_path, tiny_weights, capsys):
    footage = tmp_path / "footage"
    write_video(footage / "a.mp4", moving_clip(n=7, h=32, w=24), fps=10)
    out = tmp_path / "table.json"
    assert main(["evaluate", "--footage", str(footage), "--frames", "7", "--no-ssim", "--weights", tiny_weights,
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("zsm", "bicubic+average", "flow+bicubic", "footage/a", "average"):
        assert name in printed
    rows = json.loads(out.read_text())["rows"]
    assert {r["method"] for r in rows} == {"zsm", "bicubic+average", "flow+bicubic"}
    assert all(r["frames"] == 7 for r in rows if r["clip"] != "average")
    assert main(["evaluate", "--footage", str(footage), "--frames", "8"]) == 2
    one_line_error(capsys, "--frames must be odd")


def small_train_argv(folder, train_frames: int, held_out_frames: int, iterations: int) -> list:
    """A train command for a tiny run (batch 1, 8-pixel LR crops) on moving clips written into ``folder`` (train/,
    held_out/), with its run in ``folder / "run"`` validated every ``iterations`` steps."""
    write_frames(folder / "train", moving_clip(n=train_frames, h=40, w=40, seed=1))
    write_frames(folder / "held_out", moving_clip(n=held_out_frames, h=16, w=16, seed=2))
    return ["train", "--videos", str(folder / "train"), "--val-clip", str(folder / "held_out"),
            "--iterations", str(iterations), "--batch-size", "1", "--lr-size", "8", "--workers", "0",
            "--val-every", str(iterations), "--no-progress", "--run-dir", str(folder / "run")]


def test_train_runs_on_videos_validates_on_a_held_out_clip_and_resumes(tmp_path, capsys):
    run = tmp_path / "run"
    argv = small_train_argv(tmp_path, 9, 7, iterations=2) + ["--checkpoint-every", "1", "--log-every", "1"]
    assert main(argv) == 0
    curves = json.loads((run / "curves.json").read_text())
    assert curves["step"] == [1, 2] and curves["val"][0]["step"] == 2 and curves["val"][0]["psnr_y"] > 0
    assert zsm.load_checkpoint(run / "model.pt").config == zsm.ZSMConfig.tiny()
    argv[argv.index("--iterations") + 1] = "3"
    assert main(argv + ["--resume"]) == 0
    assert "resuming from" in capsys.readouterr().out
    assert json.loads((run / "curves.json").read_text())["step"] == [1, 2, 3]


def test_train_refuses_to_validate_on_training_footage(tmp_path, capsys):
    write_frames(tmp_path / "clip", moving_clip(n=9))
    assert main(["train", "--videos", str(tmp_path / "clip"), "--val-clip", str(tmp_path / "clip")]) == 2
    one_line_error(capsys, "is also a training video")
    assert main(["train"]) == 2
    one_line_error(capsys, "give training data")


def test_train_model_option_changes_fields_of_the_preset(tmp_path, capsys):
    write_frames(tmp_path / "train", moving_clip(n=9, h=40, w=40, seed=1))
    run = tmp_path / "run"
    argv = ["train", "--videos", str(tmp_path / "train"), "--preset", "tiny_skip", "--iterations", "1",
            "--batch-size", "1", "--lr-size", "8", "--workers", "0", "--no-progress", "--run-dir", str(run)]
    assert main(argv + ["--model", "channels=12, groups=3,reconstruction_blocks=1"]) == 0
    expected = zsm.ZSMConfig(channels=12, groups=3, extraction_blocks=1, reconstruction_blocks=1, hr_channels=8,
                             global_skip=True)
    assert zsm.load_checkpoint(run / "model.pt").config == expected
    for bad, fragment in [("channels=12,groups=5", "must divide channels"), ("width=3", "FIELD one of"),
                          ("channels", "FIELD=VALUE"), ("channels=3.5", "whole number"),
                          ("global_skip=maybe", "true or false")]:
        assert main(argv + ["--model", bad]) == 2
        one_line_error(capsys, fragment)


def test_data_refuses_unknown_clip_names(capsys):
    assert main(["data", "--clips", "no_such_clip"]) == 2
    one_line_error(capsys, "unknown clip names")


def test_torchrun_starts_two_training_processes_and_rank_0_alone_writes(tmp_path):
    import os
    import subprocess
    import sys

    write_frames(tmp_path / "train", moving_clip(n=9, h=40, w=40, seed=1))
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "zsm", "train",
           "--videos", str(tmp_path / "train"), "--iterations", "2", "--batch-size", "1", "--lr-size", "8",
           "--workers", "0", "--log-every", "1", "--checkpoint-every", "2", "--no-progress", "--run-dir", str(run)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done:") == 1  # rank 0 alone reports and writes
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000002.pt"]
    assert zsm.load_checkpoint(run / "model.pt").config == zsm.ZSMConfig.tiny()


def test_the_shipped_model_is_upscales_default(tmp_path):
    model = zsm.load_default_model()
    assert model.config.global_skip and model.config.channels == 8  # the small CPU-trained network
    write_frames(tmp_path / "in", moving_clip(n=3))
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "named"), "--weights", str(zsm.SHIPPED_MODEL)]) == 0
    default, named = read_frames(tmp_path / "out"), read_frames(tmp_path / "named")
    assert default.shape == (5, 64, 48, 3)
    np.testing.assert_array_equal(default, named)  # without --weights, exactly the shipped file


# ------------------------------------------------------------------------------------------------------------
# --time-factor: any moment between two frames (book chapter 8)
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def any_time_weights(tmp_path):
    import dataclasses

    path = tmp_path / "any-time.pt"
    torch.manual_seed(0)
    zsm.save_checkpoint(zsm.ZoomingSlowMo(dataclasses.replace(zsm.ZSMConfig.tiny_skip(), time_modulation=True)), path)
    return str(path)


def test_upscale_time_factor_3_makes_two_frames_between_each_pair_at_three_times_the_rate(tmp_path, any_time_weights,
                                                                                          capsys):
    write_frames(tmp_path / "in", moving_clip(n=5))
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(tmp_path / "in"), str(out), "--weights", any_time_weights, "--fps", "10",
                 "--time-factor", "3"]) == 0
    video, fps = read_video(out)
    assert video.shape == (5 + 4 * 2, 64, 48, 3) and fps == pytest.approx(30)
    assert "13 frames at 30 frames/s" in capsys.readouterr().out


def test_upscale_time_factor_without_an_any_time_model_is_one_line_naming_the_options(tmp_path, tiny_weights, capsys,
                                                                                      monkeypatch, any_time_weights):
    import zsm.cli.options

    write_frames(tmp_path / "in", moving_clip(n=3))
    out = str(tmp_path / "o.mp4")
    assert main(["upscale", str(tmp_path / "in"), out, "--weights", tiny_weights, "--time-factor", "3"]) == 2
    one_line_error(capsys, "make only the frame half-way between two inputs (--time-factor 2); --time-factor 3 "
                           "needs --weights")
    monkeypatch.setattr(zsm.cli.options, "SHIPPED_ANYTIME", tmp_path / "removed.pt")  # an installation without the file
    assert main(["upscale", str(tmp_path / "in"), out, "--time-factor", "3"]) == 2
    one_line_error(capsys, "--time-factor 3 needs a network trained with time modulation (book chapter 8), and this "
                           f"installation has none at {tmp_path / 'removed.pt'}: pass one with --weights")
    assert not (tmp_path / "o.mp4").exists()
    monkeypatch.setattr(zsm.cli.options, "SHIPPED_ANYTIME", Path(any_time_weights))
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "frames"), "--time-factor", "4"]) == 0
    assert read_frames(tmp_path / "frames").shape == (3 + 2 * 3, 64, 48, 3)


def test_upscale_time_factor_4_turns_5_frames_into_17_at_4x_the_size_with_the_shipped_any_time_model(tmp_path,
                                                                                                     capsys):
    """The shipped any-time model, no --weights: 5 frames -> 5 + 4 * 3 = 17, each 4x the size, at 4x the rate, and
    (in one window of all 5) exactly the frames the model makes at t = 1/4, 1/2, 3/4."""
    frames = moving_clip(n=5, h=24, w=32)
    write_frames(tmp_path / "in", frames)
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "out.mp4"), "--fps", "6", "--time-factor", "4"]) == 0
    assert "17 frames at 24 frames/s" in capsys.readouterr().out
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "frames"), "--time-factor", "4", "--window",
                 "5"]) == 0
    out = read_frames(tmp_path / "frames")
    assert out.shape == (17, 96, 128, 3)
    model = zsm.load_model("anytime")
    assert model.config.time_modulation and Path(zsm.SHIPPED_ANYTIME).stat().st_size < 20e6
    expected = model(torch.from_numpy(frames).permute(0, 3, 1, 2)[None].float() / 255, times=(0.25, 0.5, 0.75))
    expected = (expected[0].clamp(0, 1) * 255).round().permute(0, 2, 3, 1).to(torch.uint8).numpy()
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("factor", ["1", "0", "-3", "x", "2.5"])
def test_upscale_refuses_a_time_factor_that_is_not_a_whole_number_of_at_least_2(tmp_path, any_time_weights, capsys,
                                                                                 factor):
    write_frames(tmp_path / "in", moving_clip(n=3))
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "o.mp4"), "--weights", any_time_weights,
                 "--time-factor", factor]) == 2
    one_line_error(capsys, f"--time-factor must be a whole number of at least 2 (output frames per input frame "
                           f"interval), got '{factor}'")


def test_evaluate_time_factor_4_scores_each_moment_in_a_column_of_its_own(tmp_path, any_time_weights, tiny_weights,
                                                                          capsys):
    footage = tmp_path / "footage"
    write_video(footage / "a.mp4", moving_clip(n=9, h=32, w=24), fps=10)
    out = tmp_path / "table.json"
    assert main(["evaluate", "--footage", str(footage), "--frames", "9", "--no-ssim", "--weights", any_time_weights,
                 "--time-factor", "4", "--out", str(out)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "PSNR-Y t=0.25  PSNR-Y t=0.5  PSNR-Y t=0.75" in header
    table = json.loads(out.read_text())
    assert {r["method"] for r in table["rows"]} == {"zsm", "bicubic+average", "flow+bicubic"}
    assert all(r["frames"] == 9 and list(r["per_time"]) == ["0.25", "0.5", "0.75"] for r in table["rows"])
    assert table["protocol"].endswith("at t = 0.25, 0.5, 0.75")
    assert main(["evaluate", "--footage", str(footage), "--frames", "7", "--time-factor", "4"]) == 2
    one_line_error(capsys, "--frames must be (T-1)*4+1 HR frames for --time-factor 4 (5, 9, 13, ...), got 7")
    assert main(["evaluate", "--footage", str(footage), "--frames", "9", "--time-factor", "4", "--weights",
                 tiny_weights]) == 2
    one_line_error(capsys, "--time-factor 4 needs --weights of a network trained with time modulation")
    assert main(["evaluate", "--footage", str(footage), "--time-factor", "x"]) == 2
    one_line_error(capsys, "--time-factor must be a whole number")

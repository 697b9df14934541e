"""Facts about training for any moment between two frames (chapter 8): inputs every n-th frame, random moments."""
import dataclasses
import json

import numpy as np
import pytest
import torch

import zsm
from zsm.data.datasets import check_window
from zsm.data.resize import make_lr
from zsm.training import TrainConfig, train
from zsm.training.motion import Mixture, SyntheticMotion
from zsm.training.samples import FootageWindows, WindowSamples


def numbered_clip(n=13, side=32):
    """A clip whose frame i is flat grey 10 * i: every frame tells its number."""
    return np.stack([np.full((side, side, 3), 10 * i, np.uint8) for i in range(n)])


def frame_numbers(frames: torch.Tensor) -> np.ndarray:
    """(N, 3, h, w) float frames of numbered_clip -> their (fractional) frame numbers."""
    return frames.mean(dim=(1, 2, 3)).numpy() * 255 / 10


def smooth_clip(n=13, h=48, w=48, seed=0):
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((1, 3, 5, 5)))
    big = torch.nn.functional.interpolate(coarse, size=(h, w + n), mode="bicubic", align_corners=False)[0]
    return np.stack([big[:, :, i: i + w].permute(1, 2, 0).clamp(0, 1).mul(255).round().byte().numpy()
                     for i in range(n)])


def test_with_a_time_factor_the_inputs_are_every_nth_frame_of_the_window():
    clip = smooth_clip()
    source = FootageWindows([clip], frames=9, factor=4)
    assert len(source) == 13 - 9 + 1
    lr, hr = source.window(2)
    np.testing.assert_array_equal(hr, clip[2:11])
    np.testing.assert_array_equal(lr, make_lr(clip[2:11:4], 4))
    assert source.describe()["factor"] == 4 and "factor" not in FootageWindows([clip]).describe()


def test_a_sample_keeps_the_frames_of_its_moments_in_time_order_with_their_times():
    samples = WindowSamples(FootageWindows([numbered_clip()], frames=13, factor=4), lr_size=8, seed=0, moments=2)
    assert samples.timed and samples.describe()["moments"] == 2
    seen_times, reversed_seen = set(), set()
    for i in range(30):
        lr, hr, times = samples[i]
        assert lr.shape == (4, 3, 8, 8) and hr.shape == (4 + 3 * 2, 3, 32, 32) and times.shape == (2,)
        assert set(times.tolist()) <= {0.25, 0.5, 0.75} and times[0] < times[1]
        inputs = frame_numbers(lr)
        expected = [inputs[p] + t * (inputs[p + 1] - inputs[p]) for p in range(3) for t in (0.0, *times.tolist())]
        np.testing.assert_allclose(frame_numbers(hr), [*expected, inputs[-1]], atol=1e-4)
        seen_times.add(tuple(times.tolist()))
        reversed_seen.add(bool(inputs[0] > inputs[-1]))
    assert len(seen_times) == 3 and reversed_seen == {False, True}  # every set of two moments; both time directions


def test_without_moments_a_2x_source_gives_the_papers_samples_and_no_times():
    samples = WindowSamples(FootageWindows([numbered_clip(n=7)]), lr_size=8, seed=0)
    assert not samples.timed and len(samples[0]) == 2 and "moments" not in samples.describe()
    all_moments = WindowSamples(FootageWindows([numbered_clip()], frames=9, factor=4), lr_size=8)
    assert all_moments.moments == 3 and all_moments[0][2].tolist() == [0.25, 0.5, 0.75]


def test_windows_and_moments_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match=r"\(T-1\)\*4 \+ 1 HR frames"):
        check_window(8, 4)
    with pytest.raises(ValueError, match="whole number >= 2"):
        check_window(7, 1)
    source = FootageWindows([numbered_clip()], frames=9, factor=4)
    with pytest.raises(ValueError, match="moments must be a whole number from 1 to 3"):
        WindowSamples(source, lr_size=8, moments=4)
    with pytest.raises(ValueError, match="take none"):
        WindowSamples(FootageWindows([smooth_clip()], frames=9, factor=4, flows=True), lr_size=8, flows=True)


def test_synthetic_motion_between_inputs_is_the_same_at_any_factor_only_frames_are_added():
    still = (np.random.default_rng(0).random((200, 200, 3)) * 255).astype(np.uint8)
    kwargs = dict(lr_size=8, max_zoom=0.0, foreground=0.0, seed=4)
    two = SyntheticMotion([still], frames=7, **kwargs)
    four = SyntheticMotion([still], frames=13, factor=4, **kwargs)
    lr2, hr2, flow2 = two.window(3, flows=True)
    lr4, hr4, flow4 = four.window(3, flows=True)
    assert hr4.shape[0] == 13 and lr4.shape[0] == 4
    np.testing.assert_array_equal(lr4, lr2)  # the same inputs ...
    np.testing.assert_allclose(flow4, flow2, atol=1e-4)  # ... moving the same way between them
    np.testing.assert_array_equal(hr4[::2], hr2)  # the frames between: every other one is a 2x window's
    with pytest.raises(ValueError, match="same time factor"):
        Mixture([two, four], [1, 1])


def test_a_2x_model_starts_an_any_time_network_whose_features_are_its_own_at_every_moment():
    from zsm.training.initialise import deepen

    torch.manual_seed(0)
    plain = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    with torch.no_grad():  # trained-like: offset predictors that are not zero
        for p in plain.parameters():
            p.add_(0.05 * torch.randn_like(p))
    any_time = zsm.ZoomingSlowMo(dataclasses.replace(plain.config, time_modulation=True)).eval()
    deepen(any_time, plain.state_dict(), plain.config)
    x = torch.rand(1, 3, 3, 16, 16)
    with torch.no_grad():
        _, middle = plain.interpolated_features(x)
        _, moments = any_time.interpolated_features(x, times=(0.25, 0.5, 0.75))
        for j in range(3):
            torch.testing.assert_close(moments[:, :, j], middle[:, :, 0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="drop the time modulation"):
        deepen(plain, any_time.state_dict(), any_time.config)


def test_training_on_moments_needs_a_time_modulated_network_and_teaches_its_modulation(tmp_path):
    samples = WindowSamples(FootageWindows([smooth_clip()], frames=9, factor=4), lr_size=8, seed=0, moments=2)
    values = dict(preset="tiny", batch_size=2, lr_size=8, iterations=2, learning_rate=3e-3, workers=0, log_every=1,
                  val_every=0, checkpoint_every=0)
    with pytest.raises(ValueError, match="time_modulation=true"):
        train(TrainConfig(run_dir=str(tmp_path / "a"), **values), samples, progress=False)
    timed = dict(zsm.ZSMConfig.tiny().to_dict(), time_modulation=True)
    model, curves = train(TrainConfig(run_dir=str(tmp_path / "b"), model=timed, **values), samples, progress=False)
    assert curves["step"] == [1, 2]
    assert model.interpolation.blend_time.layers[-1].weight.abs().max() > 0  # started at zero, moved by training


def test_the_train_command_trains_an_any_time_network_and_validates_it_at_every_moment(tmp_path, capsys):
    from test_cli import one_line_error, small_train_argv
    from zsm.cli import main

    run = tmp_path / "run"
    argv = small_train_argv(tmp_path, 13, 9, iterations=1) + ["--time-factor", "4", "--moments", "2",
                                                               "--val-frames", "9"]
    assert main(argv) == 2
    one_line_error(capsys, "time_modulation=true")
    assert main(argv + ["--model", "time_modulation=true"]) == 0
    val = json.loads((run / "curves.json").read_text())["val"][0]
    assert {"psnr_y_input", "psnr_y_interp", "psnr_y_t0.25", "psnr_y_t0.5", "psnr_y_t0.75"} <= set(val)
    assert zsm.load_checkpoint(run / "model.pt").config.time_modulation
    for flags, fragment in [(["--moments", "4"], "--moments must be from 1 to 3"),
                            (["--guide-weight", "0.1"], "offset guidance"),
                            (["--val-frames", "7"], "--val-frames must be (T-1)*4+1"),
                            (["--time-factor", "1"], "--time-factor must be a whole number")]:
        assert main(argv + ["--model", "time_modulation=true", "--start-over"] + flags) == 2, flags
        one_line_error(capsys, fragment)

"""Facts about running a model over a whole video: every output frame exactly once, tiles that stitch."""
import numpy as np
import pytest
import torch

import zsm
from zsm.upscale import upscale_frames, upscale_window, window_starts


class LocalModel(torch.nn.Module):
    """A stand-in network, local in time and space: nearest x4 inputs, and neighbour averages between them.

    Applied to a whole clip at once it gives the exact answer any correct windowing and tiling must give.
    """

    config = zsm.ZSMConfig.tiny()

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.calls = []

    def forward(self, x):
        self.calls.append(tuple(x.shape))
        up = x.repeat_interleave(4, dim=-1).repeat_interleave(4, dim=-2)  # (B, T, 3, 4H, 4W)
        middles = (up[:, :-1] + up[:, 1:]) / 2  # (B, T-1, 3, 4H, 4W)
        b, t = up.shape[:2]
        both = torch.stack((up[:, :-1], middles), dim=2).flatten(1, 2)  # (B, 2T-2, 3, 4H, 4W)
        return torch.cat((both, up[:, -1:]), dim=1)  # (B, 2T-1, 3, 4H, 4W)


def clip(n, h=9, w=7, seed=0):
    return list(np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8))


def whole(frames):
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]
    y = LocalModel()(x)[0].clamp(0, 1).mul(255).round().to(torch.uint8)
    return list(y.permute(0, 2, 3, 1).numpy())


@pytest.mark.parametrize("n, window", [(2, 4), (3, 4), (4, 4), (10, 4), (11, 4), (12, 5), (7, 2)])
def test_every_output_frame_comes_once_and_in_order(n, window):
    frames = clip(n)
    model = LocalModel()
    out = list(upscale_frames(model, iter(frames), window=window))
    assert len(out) == 2 * n - 1
    for got, expected in zip(out, whole(frames)):
        np.testing.assert_array_equal(got, expected)
    assert len(model.calls) == len(window_starts(n, window))


def test_windows_share_one_frame_and_the_last_one_ends_at_the_last_frame():
    assert window_starts(10, 4) == [0, 3, 6]
    assert window_starts(11, 4) == [0, 3, 6, 7]
    assert window_starts(3, 4) == [0]
    assert window_starts(5, 2) == [0, 1, 2, 3]


def test_tiles_stitch_back_to_the_whole_frame():
    frames = clip(5, h=23, w=17, seed=1)
    out = list(upscale_frames(LocalModel(), frames, window=3, tile=6, overlap=2))
    for got, expected in zip(out, whole(frames)):
        np.testing.assert_array_equal(got, expected)


def test_tiles_bound_the_size_the_model_sees():
    model = LocalModel()
    x = torch.rand(1, 4, 3, 40, 30)
    upscale_window(model, x, tile=8, overlap=4)
    assert max(s[3] for s in model.calls) <= 16 and max(s[4] for s in model.calls) <= 16
    assert len(model.calls) == 5 * 4


@pytest.mark.parametrize("tile", [None, 8, 64])
def test_uint8_windows_are_the_float_windows_rounded_and_clipped(tile):
    local = LocalModel()
    model = lambda x: local(x) * 1.4 - 0.2  # noqa: E731  (values outside [0, 1] must be clipped, not wrapped)
    x = torch.rand(1, 3, 3, 21, 13, generator=torch.Generator().manual_seed(2))
    pixels = upscale_window(model, x, tile=tile, overlap=2, uint8=True)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 5, 3, 84, 52)
    expected = model(x).clamp(0, 1).mul(255).round().to(torch.uint8)
    torch.testing.assert_close(pixels, expected, rtol=0, atol=0)
    assert pixels.min() == 0 and pixels.max() == 255


def test_the_real_network_streams_a_clip():
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    out = list(upscale_frames(model, clip(5, h=8, w=12), window=4))
    assert len(out) == 9 and out[0].shape == (32, 48, 3) and out[0].dtype == np.uint8


@pytest.mark.parametrize(
    "frames, window, fragment",
    [
        (clip(1), 4, "at least 2 frames"),
        ([], 4, "at least 2 frames"),
        (clip(4), 1, "at least 2 frames, got 1"),
        (clip(2) + clip(1, h=5), 4, "every frame must have the size of the first"),
        ([np.zeros((4, 4, 3), np.float32)] * 3, 4, "expected RGB uint8 frames"),
        ([np.zeros((4, 4), np.uint8)] * 3, 4, "expected RGB uint8 frames"),
    ],
)
def test_bad_videos_are_refused_clearly(frames, window, fragment):
    with pytest.raises(ValueError, match=fragment):
        list(upscale_frames(LocalModel(), frames, window=window))


def test_cuda_graphs_are_refused_off_cuda_and_in_training_mode():
    from zsm.graphs import GraphedModel

    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    with pytest.raises(ValueError, match="need the model on a CUDA device"):
        GraphedModel(model)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="eval mode"):
            GraphedModel(model.cuda().train())


# ------------------------------------------------------------------------------------------------------------
# any moment between two frames (chapter 8): times and time_factor
# ------------------------------------------------------------------------------------------------------------
class TimedLocalModel(LocalModel):
    """LocalModel with moments: nearest x4 inputs, and at i + t the blend (1 - t) up_i + t up_(i+1)."""

    def forward(self, x, times=None):
        from zsm.net.model import check_times, in_time_order

        self.calls.append(tuple(x.shape))
        up = x.repeat_interleave(4, dim=-1).repeat_interleave(4, dim=-2)  # (B, T, 3, 4H, 4W)
        w = check_times(times, x.shape[0], x)[:, None, :, None, None, None]  # (B, 1, k, 1, 1, 1)
        return in_time_order(up, (1 - w) * up[:, :-1, None] + w * up[:, 1:, None])  # (B, T + (T-1)k, 3, 4H, 4W)


def whole_timed(frames, times):
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]
    y = TimedLocalModel()(x, times)[0].clamp(0, 1).mul(255).round().to(torch.uint8)
    return list(y.permute(0, 2, 3, 1).numpy())


@pytest.mark.parametrize("n, window", [(2, 4), (4, 4), (10, 4), (11, 4), (7, 2)])
@pytest.mark.parametrize("times", [(0.25, 0.5, 0.75), (1 / 3, 2 / 3), (0.2,)])
def test_k_moments_give_n_plus_n_minus_1_times_k_frames_each_from_one_window_in_order(n, window, times):
    frames = clip(n)
    model = TimedLocalModel()
    out = list(upscale_frames(model, iter(frames), window=window, times=times))
    expected = whole_timed(frames, times)  # one forward pass over the whole clip
    assert len(out) == len(expected) == n + (n - 1) * len(times)
    for got, want in zip(out, expected):
        np.testing.assert_array_equal(got, want)
    assert len(model.calls) == len(window_starts(n, window))


def test_tiles_with_moments_stitch_back_to_the_whole_frame():
    frames = clip(5, h=23, w=17, seed=1)
    times = (0.25, 0.5, 0.75)
    out = list(upscale_frames(TimedLocalModel(), frames, window=3, tile=6, overlap=2, times=times))
    whole_frames = list(upscale_frames(TimedLocalModel(), frames, window=3, times=times))
    assert len(out) == 5 + 4 * 3
    for got, expected in zip(out, whole_frames):
        np.testing.assert_array_equal(got, expected)


def test_a_model_without_a_times_argument_still_makes_the_half_way_frames():
    frames = clip(5)
    for times in (None, (0.5,), [0.5], torch.tensor([0.5])):
        out = list(upscale_frames(LocalModel(), frames, window=3, times=times))  # LocalModel.forward(x) alone
        for got, expected in zip(out, whole(frames)):
            np.testing.assert_array_equal(got, expected)


def test_a_model_that_ignores_the_moments_is_caught_by_its_frame_count():
    class Ignores(LocalModel):
        def forward(self, x, times=None):
            return super().forward(x)  # 2T-1 frames whatever the times

    with pytest.raises(ValueError, match="made 5 frames of 3 inputs; expected 7"):
        list(upscale_frames(Ignores(), clip(3), times=(1 / 3, 2 / 3)))


@pytest.mark.parametrize("times, error, fragment", [
    ((0.75, 0.25), ValueError, "strictly increasing"),
    ((0.0, 0.5), ValueError, "strictly between 0 and 1"),
    ((), ValueError, "at least one"),
    (0.5, TypeError, "numbers"),
    (torch.full((2, 1), 0.5), ValueError, "(B, k)"),
    (torch.tensor(0.5), ValueError, "(B, k)"),
])
def test_bad_moments_are_refused_before_any_frame_is_read(times, error, fragment):
    def never():
        raise AssertionError("a frame was read")
        yield

    with pytest.raises(error) as info:
        list(upscale_frames(TimedLocalModel(), never(), times=times))
    assert fragment in str(info.value)


def test_upscale_video_time_factor_n_writes_n_times_the_frames_and_frame_rate(tmp_path):
    from zsm.data.frames import read_frames, write_frames
    from zsm.upscale import upscale_video

    frames = clip(5, h=8, w=12)
    write_frames(tmp_path / "in", np.stack(frames))
    model = LocalModel()  # no times argument: the 2x call, model(clip)
    written, fps = upscale_video(model, tmp_path / "in", tmp_path / "two", fps=10, progress=False)
    same, fps_same = upscale_video(model, tmp_path / "in", tmp_path / "two-named", fps=10, progress=False,
                                   time_factor=2)
    assert (written, fps) == (same, fps_same) == (9, 20)
    expected = np.stack(whole(frames))
    np.testing.assert_array_equal(read_frames(tmp_path / "two"), expected)
    np.testing.assert_array_equal(read_frames(tmp_path / "two-named"), expected)

    timed = TimedLocalModel()
    assert upscale_video(timed, tmp_path / "in", tmp_path / "four", fps=10, progress=False, time_factor=4) == (17, 40)
    got = read_frames(tmp_path / "four")
    for a, b in zip(got, whole_timed(frames, (0.25, 0.5, 0.75))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("factor", [1, 0, -2, 2.5, "3", True])
def test_upscale_video_refuses_a_time_factor_that_is_not_a_whole_number_of_at_least_2(tmp_path, factor):
    from zsm.data.frames import write_frames
    from zsm.upscale import upscale_video

    write_frames(tmp_path / "in", np.stack(clip(2)))
    with pytest.raises(ValueError, match=f"time factor must be a whole number >= 2.*got {factor!r}"):
        upscale_video(LocalModel(), tmp_path / "in", tmp_path / "out", progress=False, time_factor=factor)
    assert not (tmp_path / "out").exists()

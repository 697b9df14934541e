"""Facts about training samples: aligned LR/HR crops, the same augmentation on both, one sample per number."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zsm.data import make_pair
from zsm.training.samples import FootageWindows, WindowSamples, augment


def smooth_clip(n=9, h=64, w=80, seed=0):
    """A clip of smooth random images that drift by one pixel per frame."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((1, 3, 6, 7))
    big = F.interpolate(torch.from_numpy(coarse), size=(h, w + n), mode="bicubic", align_corners=False)[0]
    frames = [big[:, :, i: i + w].permute(1, 2, 0).clamp(0, 1).mul(255).round().byte().numpy() for i in range(n)]
    return np.stack(frames)  # (n, h, w, 3)


def test_windows_are_consecutive_hr_frames_with_the_lr_of_their_even_frames():
    clip = smooth_clip()
    source = FootageWindows([clip])
    assert len(source) == 9 - 7 + 1
    lr, hr = source.window(1)
    expected_lr, expected_hr = make_pair(clip[1:8])
    np.testing.assert_array_equal(hr, expected_hr)
    np.testing.assert_array_equal(lr, expected_lr)  # LR of the whole frames, then the window's even frames


def test_lr_and_hr_crops_are_aligned_under_every_augmentation():
    samples = WindowSamples(FootageWindows([smooth_clip(h=96, w=96)]), lr_size=12, seed=3)
    for i in range(12):
        lr, hr = samples[i]
        assert lr.shape == (4, 3, 12, 12) and hr.shape == (7, 3, 48, 48)
        # A smooth image downscaled x4 is close to the 4x4 block means of the aligned HR crop.
        block_means = F.avg_pool2d(hr[::2], 4)
        assert (block_means - lr).abs().mean() < 0.01, i
        shifted = F.avg_pool2d(hr[::2, :, 4:, 4:], 4)  # what a crop one LR pixel off would look like
        assert (shifted - lr[:, :, :-1, :-1]).abs().mean() > 2 * (block_means - lr).abs().mean(), i


def test_a_sample_is_a_function_of_its_number_alone():
    samples = WindowSamples(FootageWindows([smooth_clip()]), lr_size=8, seed=1)
    a, b = samples[5], samples[5]
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(samples[6][1], a[1])
    other_seed = WindowSamples(FootageWindows([smooth_clip()]), lr_size=8, seed=2)
    assert not torch.equal(other_seed[5][1], a[1])


def test_time_reversal_reverses_inputs_and_targets_together():
    lr = np.arange(4)[:, None, None, None] * np.ones((4, 2, 2, 3))
    hr = np.arange(7)[:, None, None, None] * np.ones((7, 8, 8, 3))
    seen = set()
    for seed in range(40):
        a, b = augment(lr, hr, np.random.default_rng(seed))
        seen.add((a[0, 0, 0, 0], b[0, 0, 0, 0]))
    assert seen == {(0, 0), (3, 6)}  # reversed both or neither


def test_bad_training_data_is_refused_clearly():
    with pytest.raises(ValueError, match="a training window needs 7"):
        FootageWindows([smooth_clip(n=5)])
    with pytest.raises(ValueError, match="expected uint8 frames"):
        FootageWindows([smooth_clip().astype(np.float32)])
    with pytest.raises(ValueError, match="smaller than the 32x32 crop"):
        WindowSamples(FootageWindows([smooth_clip(h=64, w=64)]), lr_size=32)


def test_vimeo_septuplets_are_read_from_their_layout(tmp_path):
    from zsm.training.samples import VimeoWindows
    from zsm.data.frames import write_frames

    names = ["00001/0001", "00001/0002", "00002/0001"]
    for i, name in enumerate(names):
        folder = tmp_path / "sequences" / name
        write_frames(folder, smooth_clip(n=7, h=32, w=48, seed=i))
        for k, png in enumerate(sorted(folder.iterdir())):  # the layout names frames im1.png .. im7.png
            png.rename(folder / f"im{k + 1}.png")
    (tmp_path / "sep_trainlist.txt").write_text("\n".join(names[:2]) + "\n")
    (tmp_path / "sep_testlist.txt").write_text(names[2] + "\n")
    source = VimeoWindows(tmp_path, "train")
    assert len(source) == 2
    lr, hr = source.window(1)
    expected_lr, expected_hr = make_pair(smooth_clip(n=7, h=32, w=48, seed=1))
    np.testing.assert_array_equal(lr, expected_lr)
    np.testing.assert_array_equal(hr, expected_hr)
    lr_t, hr_t = WindowSamples(source, lr_size=8)[0]
    assert lr_t.shape == (4, 3, 8, 8) and hr_t.shape == (7, 3, 32, 32)

"""Facts about zsm.data.resize: it is MATLAB's bicubic imresize, checked against a per-pixel definition and literal numbers."""
import math

import cv2
import numpy as np
import pytest
import torch

from zsm.data.resize import cubic, imresize, make_lr, resize_matrix


def keys(t, a=-0.5):
    """Keys' cubic kernel, written from its textbook definition."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    if t < 2:
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a
    return 0.0


def mirror(k, n):
    """0-based index k folded into 0..n-1 by symmetric padding (edge repeated): -1 -> 0, n -> n-1."""
    while k < 0 or k >= n:
        k = -k - 1 if k < 0 else 2 * n - 1 - k
    return k


def naive_weights(n_in, n_out, scale):
    """{input pixel: weight} for each output pixel, from MATLAB's documented algorithm, one pixel at a time."""
    shrink = scale < 1
    width = 4 / scale if shrink else 4
    rows = []
    for x in range(1, n_out + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = {}
        for j in range(left, left + math.ceil(width) + 2):
            wgt = scale * keys(scale * (u - j)) if shrink else keys(u - j)
            taps[j] = wgt
        total = sum(taps.values())
        row = {}
        for j, wgt in taps.items():
            k = mirror(j - 1, n_in)
            row[k] = row.get(k, 0.0) + wgt / total
        rows.append(row)
    return rows


def naive_imresize(img, scale):
    """out[i, j] = sum_{p, q} wy[i][p] * wx[j][q] * img[p, q] for a 2-D image, one output pixel at a time."""
    h, w = img.shape
    oh, ow = math.ceil(scale * h), math.ceil(scale * w)
    wy, wx = naive_weights(h, oh, scale), naive_weights(w, ow, scale)
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = sum(a * b * img[p, q] for p, a in wy[i].items() for q, b in wx[j].items())
    return out


@pytest.mark.parametrize("shape, scale", [((13, 11), 0.25), ((9, 7), 4), ((10, 12), 0.5), ((8, 5), 0.6), ((6, 7), 1.5)])
def test_matches_a_per_pixel_implementation_of_matlabs_algorithm(shape, scale):
    img = np.random.default_rng(0).random(shape)
    np.testing.assert_allclose(imresize(img, scale), naive_imresize(img, scale), rtol=0, atol=1e-12)


def test_upscaling_an_impulse_by_two_gives_the_hand_computed_kernel_values():
    # output pixel x sits at u = x/2 + 1/4; the impulse at input 3 gives cubic(u - 3); weights sum to 1 when enlarging
    row = imresize(np.array([[0.0, 0.0, 1.0, 0.0, 0.0]]), 2)
    expected = [0, -0.0234375, -0.0703125, 0.2265625, 0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375, 0]
    assert row.shape == (2, 10)
    np.testing.assert_allclose(row, [expected, expected], atol=1e-15)


def test_the_kernel_has_the_a_minus_half_values():
    np.testing.assert_allclose(cubic(np.array([0, 0.5, 1, 1.5, 2, 2.5])), [1, 0.5625, 0, -0.0625, 0, 0], atol=1e-15)


def test_shrinking_by_four_averages_16_input_pixels_with_a_stretched_kernel():
    m = resize_matrix(64, 16, 0.25)
    assert m.shape == (16, 64)
    np.testing.assert_allclose(m.sum(axis=1), 1, atol=1e-13)
    # output pixel 9 (1-based) sits at input position 34.5 (1-based), i.e. between 0-based pixels 33 and 34;
    # the kernel stretched x4 reaches 8 input pixels to each side: 0-based 26..41, symmetric about 33.5
    nonzero = np.flatnonzero(np.abs(m[8]) > 1e-15)
    np.testing.assert_array_equal(nonzero, np.arange(26, 42))
    np.testing.assert_allclose(m[8, 26:42], m[8, 26:42][::-1], atol=1e-15)


def test_a_constant_image_stays_constant_at_any_scale():
    img = np.full((17, 23, 3), 0.37)
    for scale in (0.25, 0.3, 0.5, 2, 4):
        np.testing.assert_allclose(imresize(img, scale), 0.37, atol=1e-14)


def test_a_linear_ramp_is_reproduced_exactly_away_from_the_borders_when_enlarging():
    ramp = np.tile(np.arange(12, dtype=float), (3, 1))  # value = column index (0-based)
    out = imresize(ramp, (1, 4))
    x = (np.arange(48) + 1) / 4 + 0.5 * (1 - 1 / 4) - 1  # 0-based input position of each 0-based output column
    np.testing.assert_allclose(out[:, 8:40], np.broadcast_to(x[8:40], (3, 32)), atol=1e-12)


def test_output_size_is_ceil_of_scale_times_input_like_matlab():
    assert imresize(np.zeros((13, 10)), 0.25).shape == (4, 3)
    assert imresize(np.zeros((13, 10, 3)), output_shape=(5, 7)).shape == (5, 7, 3)


def test_uint8_input_is_resized_in_float_and_rounded_half_away_from_zero():
    img = np.random.default_rng(1).integers(0, 256, (16, 12, 3), dtype=np.uint8)
    out = imresize(img, 0.5)
    assert out.dtype == np.uint8
    expected = np.floor(np.clip(imresize(img / 255.0, 0.5), 0, 1) * 255 + 0.5)
    np.testing.assert_array_equal(out, expected)


def test_torch_tensors_resize_their_last_two_axes_like_numpy_images():
    x = torch.rand(2, 3, 3, 16, 20, dtype=torch.float64)
    out = imresize(x, 0.25)
    assert out.shape == (2, 3, 3, 4, 5) and out.dtype == torch.float64
    ref = imresize(x[1, 2].permute(1, 2, 0).numpy(), 0.25)  # (4, 5, 3)
    np.testing.assert_allclose(out[1, 2].permute(1, 2, 0).numpy(), ref, atol=1e-12)


def test_make_lr_crops_to_a_multiple_of_the_scale_then_downscales_every_frame():
    clip = np.random.default_rng(2).integers(0, 256, (3, 18, 23, 3), dtype=np.uint8)
    lr = make_lr(clip, scale=4)
    assert lr.shape == (3, 4, 5, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(lr[1], imresize(clip[1, :16, :20], 0.25))
    assert make_lr(clip[0].astype(np.float32) / 255).dtype == np.float32


def test_it_is_not_opencv_inter_cubic():
    # OpenCV uses a = -0.75 and never antialiases: far from MATLAB when shrinking, and different when enlarging too
    img = np.random.default_rng(3).random((64, 64)).astype(np.float32)
    down_cv = cv2.resize(img, (16, 16), interpolation=cv2.INTER_CUBIC)
    assert np.abs(imresize(img, 0.25) - down_cv).max() > 0.2
    up_cv = cv2.resize(img, (256, 256), interpolation=cv2.INTER_CUBIC)
    assert np.abs(imresize(img, 4) - up_cv).max() > 0.02


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: imresize(np.zeros((4, 4)), 0.5, (2, 2)), ValueError, "exactly one of scale and output_shape"),
    (lambda: imresize(np.zeros((4, 4)), -1), ValueError, "positive number"),
    (lambda: imresize(np.zeros((2, 4, 4, 3)), 0.5), ValueError, "(H, W) or (H, W, C)"),
    (lambda: imresize(np.zeros((4, 4), dtype=np.int32), 0.5), TypeError, "float or uint8"),
    (lambda: imresize([[1.0]], 2), TypeError, "numpy array or a torch tensor"),
    (lambda: imresize(torch.zeros(4, 4, dtype=torch.uint8), 2), TypeError, "float tensor"),
    (lambda: make_lr(np.zeros((3, 2, 2, 3)), 4), ValueError, "smaller than the scale"),
    (lambda: make_lr(np.zeros((8, 8, 3)), 2.0), TypeError, "integer"),
    (lambda: make_lr(np.zeros((8, 8)), 4), ValueError, "(T, H, W, C)"),
])
def test_bad_input_is_refused_with_a_message(call, error, fragment):
    with pytest.raises(error, match=None) as info:
        call()
    assert fragment in str(info.value)

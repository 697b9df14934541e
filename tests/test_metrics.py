"""Facts about zsm.eval.metrics: Y of BT.601, PSNR from a known MSE, SSIM equal to scikit-image's MATLAB-style SSIM."""
import math

import numpy as np
import pytest

from zsm.eval.metrics import psnr, psnr_y, quantize, rgb_to_y, ssim, ssim_y


def rand_image(seed, shape=(40, 48, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_y_of_black_white_and_primaries_has_the_bt601_values():
    rgb = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)
    np.testing.assert_allclose(rgb_to_y(rgb), [16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-12)
    np.testing.assert_allclose(rgb_to_y(rgb / 255.0), rgb_to_y(rgb), atol=1e-12)  # float in [0, 1] is the same scale


def test_psnr_of_a_known_mse_is_the_known_decibels():
    gt = np.full((16, 16, 3), 100, dtype=np.uint8)
    pred = gt + np.uint8(10)  # every Y moves by (65.481 + 128.553 + 24.966) * 10 / 255 = 219 * 10 / 255
    mse = (219 * 10 / 255) ** 2
    assert psnr_y(pred, gt) == pytest.approx(10 * math.log10(255 ** 2 / mse), abs=1e-9)
    assert psnr(np.zeros(4), np.full(4, 255.0 / 10)) == pytest.approx(20.0, abs=1e-12)  # MSE = (255/10)^2: 20 dB


def test_identical_images_have_infinite_psnr_and_unit_ssim():
    img = rand_image(0)
    assert psnr_y(img, img) == float("inf")
    assert ssim_y(img, img) == pytest.approx(1.0, abs=1e-12)


def test_float_images_are_rounded_to_8_bits_first():
    img = rand_image(1)
    noisy = img / 255.0 + np.random.default_rng(2).uniform(-0.4, 0.4, img.shape) / 255.0  # rounds back to img
    np.testing.assert_array_equal(quantize(noisy), img)
    assert psnr_y(noisy, img) == float("inf")
    np.testing.assert_array_equal(quantize(np.array([[[-0.1, 1.3, 2.5 / 255]]])), [[[0, 255, 2]]])  # clipped; 2.5 -> 2


def test_crop_border_scores_only_the_inside():
    gt = rand_image(3)
    pred = gt.copy()
    pred[:2] = 0  # damage the top two rows only
    assert psnr_y(pred, gt) < 40
    assert psnr_y(pred, gt, crop_border=2) == float("inf")


def test_ssim_equals_scikit_image_with_matlab_settings():
    # skimage filters the whole image (reflect padding) and then averages the SSIM map over the pixels at least
    # 5 from every edge: exactly the windows that lie inside the image, i.e. our 'valid' (H-10, W-10) map.
    # So the two means are the same number, even though the maps differ in the 5-pixel border skimage drops.
    structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity
    gt = rand_image(4, (37, 52, 3))
    pred = np.clip(gt.astype(int) + np.random.default_rng(5).integers(-30, 31, gt.shape), 0, 255).astype(np.uint8)
    y_pred, y_gt = rgb_to_y(pred), rgb_to_y(gt)
    expected = structural_similarity(y_pred, y_gt, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255)
    assert ssim_y(pred, gt) == pytest.approx(expected, abs=1e-10)
    assert ssim(y_pred, y_gt) == pytest.approx(expected, abs=1e-10)
    assert 0.3 < expected < 0.99  # a non-trivial pair


def test_ssim_of_a_constant_offset_has_the_closed_form():
    # a constant shift d changes only the luminance term: (2 mu (mu + d) + C1) / (mu^2 + (mu + d)^2 + C1)
    a = np.full((20, 20), 100.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a + 20, a) == pytest.approx((2 * 100 * 120 + c1) / (100 ** 2 + 120 ** 2 + c1), abs=1e-12)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: psnr_y(rand_image(0), rand_image(0, (40, 40, 3))), ValueError, "same shape"),
    (lambda: psnr_y(np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 4), np.uint8)), ValueError, "(H, W, 3)"),
    (lambda: ssim_y(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8)), ValueError, "(H, W, 3)"),
    (lambda: ssim_y(rand_image(0, (8, 30, 3)), rand_image(1, (8, 30, 3))), ValueError, "at least 11x11"),
    (lambda: psnr_y(rand_image(0), rand_image(0), crop_border=20), ValueError, "leaves nothing"),
    (lambda: psnr_y(rand_image(0), rand_image(0), crop_border=-1), ValueError, "crop_border"),
    (lambda: psnr_y(np.zeros((8, 8, 3), np.int16), np.zeros((8, 8, 3), np.int16)), TypeError, "float image in [0, 1]"),
    (lambda: rgb_to_y(np.zeros((4, 4))), ValueError, "3 channels"),
])
def test_bad_input_is_refused_with_a_message(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)

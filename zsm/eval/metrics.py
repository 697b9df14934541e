"""PSNR and SSIM on the Y channel, as the paper scores space-time video super-resolution.

Book: chapters 0 and 7.

The protocol (see the reference facts, "Evaluation protocol"): the network's output is rounded to 8 bits, both
images are converted to the luma Y of ITU-R BT.601 YCbCr with MATLAB's ``rgb2ycbcr`` coefficients (Y in
[16, 235] on the 0..255 scale), and PSNR / SSIM are computed on Y with no border crop. Scores are averaged over
frames, then over clips; that averaging is left to the caller (a mean of per-frame PSNRs is not the PSNR of
the stacked frames).

What exactly happens to an input image, ``pred`` or ``gt``:

* uint8 (H, W, 3) RGB is used as it is;
* float (H, W, 3) RGB in [0, 1] is first rounded to 8 bits: clipped to [0, 1], times 255, rounded half to
  even (``np.round``), as the authors' ``tensor2img`` does; it then counts as uint8;
* Y = 16 + (65.481 R + 128.553 G + 24.966 B) with R, G, B = uint8 / 255, kept in float64. Y is *not* rounded
  to an integer: the authors' test script keeps it in float. (MATLAB's ``rgb2ycbcr`` on a uint8 image would
  round Y to uint8; scores computed that way differ in the second decimal.)

SSIM is the original MATLAB ``ssim_index``: an 11x11 Gaussian window with sigma 1.5 (normalised to sum 1),
K1 = 0.01, K2 = 0.03, L = 255, local statistics by 'valid' filtering (only windows entirely inside the image,
so the SSIM map is (H-10, W-10)), population (biased) variances, and the mean of the map.
"""
from __future__ import annotations

import numpy as np

from ..data.pixels import to_uint8, unit_float64

__all__ = ["quantize", "rgb_to_y", "psnr", "psnr_y", "ssim", "ssim_y"]

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])  # BT.601, for R, G, B in [0, 1]; Y on the 0..255 scale


def quantize(img) -> np.ndarray:
    """Round an RGB image to 8 bits the way the authors' evaluation does.

    Args:
        img: (H, W, 3) uint8 (returned unchanged) or float in [0, 1] (clipped to [0, 1], times 255, rounded half
            to even). A CPU torch tensor (H, W, 3) also works (anything ``np.asarray`` takes).

    Returns:
        np.ndarray: (H, W, 3) uint8.

    Raises:
        ValueError: not an (H, W, 3) image.
        TypeError: neither uint8 nor float.
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {img.shape}")
    if img.dtype == np.uint8:
        return img
    if not np.issubdtype(img.dtype, np.floating):
        raise TypeError(f"expected a uint8 image or a float image in [0, 1], got dtype {img.dtype}")
    return to_uint8(img, "even")


def rgb_to_y(img) -> np.ndarray:
    """Luma Y of ITU-R BT.601 YCbCr, MATLAB ``rgb2ycbcr`` coefficients, unrounded.

    Args:
        img: (..., 3) RGB, uint8 (0..255) or float in [0, 1] (used as it is, not rounded to 8 bits).

    Returns:
        np.ndarray: (...) float64, Y = 16 + 65.481 R + 128.553 G + 24.966 B with RGB in [0, 1]: in [16, 235].

    Raises:
        ValueError: the last axis is not 3 channels.
        TypeError: neither uint8 nor float.
    """
    img = np.asarray(img)
    if img.ndim < 1 or img.shape[-1] != 3:
        raise ValueError(f"expected RGB values with 3 channels on the last axis (..., 3), got shape {img.shape}")
    return 16.0 + unit_float64(img, "RGB") @ _Y_WEIGHTS


def _pair(pred, gt, crop_border: int):
    """Both images rounded to 8 bits, checked to match, converted to Y and cropped: two (H', W') float64."""
    pred, gt = quantize(pred), quantize(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt must have the same shape, got {pred.shape} and {gt.shape}")
    if isinstance(crop_border, bool) or not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise ValueError(f"crop_border must be an integer >= 0, got {crop_border!r}")
    h, w = gt.shape[:2]
    if 2 * crop_border >= min(h, w):
        raise ValueError(f"crop_border {crop_border} leaves nothing of a {h}x{w} image")
    c = crop_border
    return rgb_to_y(pred)[c: h - c, c: w - c], rgb_to_y(gt)[c: h - c, c: w - c]


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB of two same-shape arrays.

    Identical arrays (MSE 0) give ``float('inf')``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two arrays must have the same shape, got {a.shape} and {b.shape}")
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range ** 2 / mse))


def psnr_y(pred, gt, crop_border: int = 0) -> float:
    """PSNR in dB on the Y channel, peak 255, as the paper reports it.

    Args:
        pred: (H, W, 3) RGB, uint8 or float in [0, 1] (rounded to 8 bits first, see the module docstring).
        gt: the same for the ground truth.
        crop_border (int): pixels removed on each side before scoring. Paper: 0.

    Returns:
        float: PSNR in dB; ``inf`` when the two Y images are identical.

    Raises:
        ValueError: shapes differ, not (H, W, 3), or the crop leaves nothing.
        TypeError: neither uint8 nor float.
    """
    y_pred, y_gt = _pair(pred, gt, crop_border)
    return psnr(y_pred, y_gt, 255.0)


def _filter_valid(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """'valid' 2-D correlation of x (H, W) with the separable window outer(taps, taps): (H-k+1, W-k+1)."""
    k = len(taps)
    rows = sum(taps[i] * x[i: x.shape[0] - k + 1 + i] for i in range(k))  # (H-k+1, W)
    return sum(taps[j] * rows[:, j: x.shape[1] - k + 1 + j] for j in range(k))  # (H-k+1, W-k+1)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two single-channel images, MATLAB ``ssim_index`` settings (see the module docstring).

    Args:
        a, b: (H, W) arrays of the same shape, H and W >= 11, values on a scale of ``data_range``.
        data_range (float): L. Default: 255.

    Returns:
        float: the mean of the (H-10, W-10) SSIM map; 1.0 for identical images.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two single-channel images (H, W) of the same shape, got {a.shape} and {b.shape}")
    if min(a.shape) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 (the Gaussian window), got {a.shape[0]}x{a.shape[1]}")
    t = np.arange(-5, 6, dtype=np.float64)
    taps = np.exp(-(t ** 2) / (2 * 1.5 ** 2))
    taps /= taps.sum()  # outer(taps, taps) is MATLAB's fspecial('gaussian', 11, 1.5)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, taps), _filter_valid(b, taps)
    var_a = _filter_valid(a * a, taps) - mu_a ** 2
    var_b = _filter_valid(b * b, taps) - mu_b ** 2
    cov = _filter_valid(a * b, taps) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim_y(pred, gt, crop_border: int = 0) -> float:
    """SSIM on the Y channel (MATLAB ``ssim_index`` settings), as the paper reports it.

    Args:
        pred: (H, W, 3) RGB, uint8 or float in [0, 1] (rounded to 8 bits first, see the module docstring).
        gt: the same for the ground truth.
        crop_border (int): pixels removed on each side before scoring. Paper: 0.

    Returns:
        float: mean SSIM in [-1, 1]; 1.0 for identical images.

    Raises:
        ValueError: shapes differ, not (H, W, 3), the crop leaves nothing, or smaller than 11x11 after cropping.
        TypeError: neither uint8 nor float.
    """
    y_pred, y_gt = _pair(pred, gt, crop_border)
    return ssim(y_pred, y_gt, 255.0)

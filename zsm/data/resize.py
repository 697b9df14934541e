"""MATLAB-compatible bicubic resizing (``imresize``), the degradation the paper's data scripts used.

Book: chapter 6.

The paper's LR frames come from MATLAB: ``imresize(im2double(img), 1/4, 'bicubic')`` on HR frames cropped to a
multiple of 4, then written as 8-bit PNG. MATLAB's default bicubic differs from OpenCV's ``INTER_CUBIC`` in two
ways that matter: its cubic kernel has ``a = -0.5`` (OpenCV uses ``a = -0.75``), and when shrinking it
*antialiases*, i.e. it stretches the kernel by ``1/scale`` so that every input pixel contributes. This module
computes MATLAB's function:

* output size ``ceil(scale * in)`` (or the size you ask for, and then ``scale = out / in`` per axis);
* output pixel ``x`` (1-based) sits at input position ``u = x / scale + 0.5 * (1 - 1 / scale)``;
* its weights are ``h(u - j)`` for the ``ceil(4 / scale) + 2`` input pixels ``j`` around ``u``, where
  ``h(t) = scale * cubic(scale * t)`` when shrinking with antialiasing and ``h = cubic`` otherwise;
* the weights of each output pixel are normalised to sum to 1;
* pixels past an edge are mirrored with the edge pixel repeated (``... 2 1 | 1 2 ... n | n n-1 ...``).

Each axis is one matrix (``resize_matrix``, shape (out, in)) and an image is resized by two matrix products, axis
after axis (the axis that shrinks most first, as MATLAB does). Everything is computed in float64; no
rounding happens between the two axes, as in MATLAB on double input.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .pixels import to_uint8

__all__ = ["cubic", "resize_matrix", "resize_axes", "imresize", "make_lr"]

Scale = Union[float, Tuple[float, float]]


def cubic(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with ``a = -0.5`` (MATLAB's bicubic), evaluated elementwise.

    ``1.5|t|^3 - 2.5|t|^2 + 1`` for ``|t| <= 1``, ``-0.5|t|^3 + 2.5|t|^2 - 4|t| + 2`` for ``1 < |t| <= 2``, else 0.
    """
    t = np.abs(np.asarray(t, dtype=np.float64))
    t2, t3 = t * t, t * t * t
    near = (1.5 * t3 - 2.5 * t2 + 1.0) * (t <= 1)
    far = (-0.5 * t3 + 2.5 * t2 - 4.0 * t + 2.0) * ((t > 1) & (t <= 2))
    return near + far


def resize_matrix(in_size: int, out_size: int, scale: Optional[float] = None, antialias: bool = True) -> np.ndarray:
    """The linear map of MATLAB's bicubic ``imresize`` along one axis.

    Args:
        in_size (int): input length along the axis.
        out_size (int): output length.
        scale (float, optional): the scale factor; default ``out_size / in_size``. MATLAB uses the factor you
            give (e.g. exactly 0.25), not the ratio of the rounded sizes.
        antialias (bool): widen the kernel by ``1 / scale`` when shrinking, as MATLAB does by default.

    Returns:
        np.ndarray: (out_size, in_size) float64; row ``i`` holds the weights of output pixel ``i``, summing to 1.
    """
    for name, value in (("in_size", in_size), ("out_size", out_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    scale = out_size / in_size if scale is None else float(scale)
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    if scale < 1 and antialias:
        width = 4.0 / scale
        kernel = lambda t: scale * cubic(scale * t)  # noqa: E731
    else:
        width = 4.0
        kernel = cubic
    x = np.arange(1, out_size + 1, dtype=np.float64)  # 1-based output pixels
    u = x / scale + 0.5 * (1 - 1 / scale)  # their positions in input coordinates (1-based)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    index = left[:, None] + np.arange(taps)[None, :]  # (out, taps), 1-based, may fall outside 1..in
    weights = kernel(u[:, None] - index)  # (out, taps)
    weights = weights / weights.sum(axis=1, keepdims=True)
    period = np.concatenate([np.arange(in_size), np.arange(in_size - 1, -1, -1)])  # mirror, edge repeated
    index = period[np.mod(index.astype(np.int64) - 1, 2 * in_size)]  # (out, taps), 0-based inside 0..in-1
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_size)[:, None], index.shape)
    np.add.at(matrix, (rows, index), weights)  # mirrored taps that land on the same pixel add up
    return matrix


def _sizes(in_hw: Tuple[int, int], scale: Optional[Scale], output_shape: Optional[Sequence[int]]):
    """Output (h, w) and per-axis scales, by MATLAB's rules."""
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale and output_shape, "
                         f"got scale={scale!r}, output_shape={output_shape!r}")
    if scale is not None:
        scales = tuple(scale) if isinstance(scale, (tuple, list)) else (scale, scale)
        if len(scales) != 2 or not all(isinstance(s, (int, float)) and math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"scale must be a positive number or a pair of them, got {scale!r}")
        out = tuple(int(math.ceil(s * n)) for s, n in zip(scales, in_hw))
        return out, tuple(float(s) for s in scales)
    out = tuple(output_shape)
    if len(out) != 2 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in out):
        raise ValueError(f"output_shape must be two positive integers (h, w), got {output_shape!r}")
    out = (int(out[0]), int(out[1]))
    return out, (out[0] / in_hw[0], out[1] / in_hw[1])


def _apply(matrix: np.ndarray, x, axis: int):
    """Multiply ``x`` along ``axis`` by ``matrix`` (out, in): numpy arrays or torch tensors."""
    if isinstance(x, np.ndarray):
        moved = np.moveaxis(x, axis, 0)  # (in, ...)
        out = matrix @ moved.reshape(moved.shape[0], -1)  # (out, prod(...))
        return np.moveaxis(out.reshape((matrix.shape[0],) + moved.shape[1:]), 0, axis)
    import torch

    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.movedim(torch.tensordot(m, x, dims=([1], [axis])), 0, axis)  # axis `axis` now has length out


def resize_axes(x, scale: Optional[Scale] = None, output_shape: Optional[Sequence[int]] = None,
                axes: Tuple[int, int] = (-2, -1), antialias: bool = True):
    """Resize a float array or tensor along two axes (height, width); the building block of :func:`imresize`.

    Args:
        x: float ``np.ndarray`` or ``torch.Tensor``.
        scale, output_shape: as in :func:`imresize`.
        axes (tuple): the (height, width) axes of ``x``. Default: the last two.
        antialias (bool): MATLAB's default True.

    Returns:
        The same kind and dtype as ``x``, with the two axes resized (numpy is computed in float64).
    """
    ha, wa = (a % x.ndim for a in axes)
    (oh, ow), (sh, sw) = _sizes((x.shape[ha], x.shape[wa]), scale, output_shape)
    steps = [(sh, ha, oh), (sw, wa, ow)]
    steps.sort(key=lambda s: s[0])  # MATLAB resizes the axis with the smallest scale first (stable: height on ties)
    dtype = x.dtype
    out = x.astype(np.float64) if isinstance(x, np.ndarray) else x
    for s, axis, size in steps:
        out = _apply(resize_matrix(out.shape[axis], size, s, antialias), out, axis)
    return out.astype(dtype, copy=False) if isinstance(out, np.ndarray) else out


def imresize(img, scale: Optional[Scale] = None, output_shape: Optional[Sequence[int]] = None,
             antialias: bool = True):
    """Resize an image like MATLAB's ``imresize(img, scale)`` with its default bicubic method.

    Args:
        img: a numpy image (H, W) or (H, W, C), float (any range) or uint8 (0..255); or a float
            ``torch.Tensor`` (..., H, W), e.g. (B, T, 3, H, W).
        scale (float or (float, float), optional): the factor, e.g. 0.25 or 4; output size ``ceil(scale * in)``.
        output_shape ((int, int), optional): (out_h, out_w) instead of ``scale``.
        antialias (bool): antialias when shrinking. Default True, as in MATLAB.

    Returns:
        Same kind as ``img``: numpy (oh, ow[, C]) or tensor (..., oh, ow). Float inputs keep their dtype and
        are not clipped (bicubic overshoots slightly at edges). uint8 inputs give uint8, computed as MATLAB's
        ``im2uint8(imresize(im2double(img), ...))``: in float64, then rounded half away from zero.

    Raises:
        TypeError: not a numpy array or torch tensor, or an integer dtype other than uint8, or a non-float tensor.
        ValueError: wrong number of dimensions, empty image, or a bad scale / output_shape.
    """
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"expected a numpy image (H, W) or (H, W, C), got shape {img.shape}")
        if img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"expected a non-empty image, got shape {img.shape}")
        if img.dtype == np.uint8:
            return to_uint8(resize_axes(img.astype(np.float64) / 255.0, scale, output_shape, (0, 1), antialias), "away")
        if not np.issubdtype(img.dtype, np.floating):
            raise TypeError(f"expected a float or uint8 numpy image, got dtype {img.dtype}")
        return resize_axes(img, scale, output_shape, (0, 1), antialias)
    if type(img).__module__.startswith("torch"):
        if not img.is_floating_point():
            raise TypeError(f"expected a float tensor (..., H, W), got dtype {img.dtype}")
        if img.ndim < 2 or img.shape[-1] < 1 or img.shape[-2] < 1:
            raise ValueError(f"expected a non-empty tensor (..., H, W), got shape {tuple(img.shape)}")
        return resize_axes(img, scale, output_shape, (-2, -1), antialias)
    raise TypeError(f"expected a numpy array or a torch tensor, got {type(img).__name__}")


def make_lr(frames: np.ndarray, scale: int = 4) -> np.ndarray:
    """The paper's LR inputs: crop to a multiple of ``scale``, then MATLAB bicubic downscaling by ``1/scale``.

    The crop keeps the top-left ``(H - H % scale, W - W % scale)`` pixels (MATLAB ``modcrop``). uint8 frames give
    uint8 LR frames, exactly what the paper's script wrote to PNG (``im2double``, ``imresize``, ``imwrite``);
    float frames give unrounded, unclipped float LR frames of the same dtype.

    Args:
        frames (np.ndarray): one frame (H, W, C) or a clip (T, H, W, C), uint8 or float.
        scale (int): s, an integer >= 1. Default: 4.

    Returns:
        np.ndarray: (H // s, W // s, C) or (T, H // s, W // s, C), dtype of ``frames``.

    Raises:
        TypeError: ``frames`` not a numpy array of uint8 / float, or ``scale`` not an integer.
        ValueError: wrong number of dimensions, or frames smaller than ``scale``.
    """
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"expected a numpy array (H, W, C) or (T, H, W, C), got {type(frames).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)):
        raise TypeError(f"scale must be an integer, got {scale!r}")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if frames.ndim not in (3, 4):
        raise ValueError(f"expected a frame (H, W, C) or a clip (T, H, W, C), got shape {frames.shape}")
    h, w = frames.shape[-3], frames.shape[-2]
    if h < scale or w < scale:
        raise ValueError(f"frames of {h}x{w} are smaller than the scale {scale}")
    crop = frames[..., : h - h % scale, : w - w % scale, :]
    axes = (-3, -2)
    if frames.dtype == np.uint8:
        return to_uint8(resize_axes(crop.astype(np.float64) / 255.0, 1 / scale, None, axes), "away")
    if not np.issubdtype(frames.dtype, np.floating):
        raise TypeError(f"expected uint8 or float frames, got dtype {frames.dtype}")
    return resize_axes(crop, 1 / scale, None, axes)

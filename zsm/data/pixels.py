"""Pixels: the one place where frames change between 8-bit integers and floats in [0, 1].

Book: chapters 0 and 7.

Frames are numpy RGB arrays ``(..., H, W, 3)`` of uint8 everywhere outside the network; the network takes float
tensors ``(N, 3, H, W)`` in [0, 1]. Rounding back to 8 bits clips to [0, 1], multiplies by 255 and rounds either
half to even (the authors' ``tensor2img``, numpy's and torch's ``round``: how outputs are scored and written) or half
away from zero (MATLAB's ``im2uint8``: how the paper's bicubic LR frames were made).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ["ROUNDINGS", "to_uint8", "unit_float64", "frames_to_tensor"]

ROUNDINGS = ("even", "away")


def to_uint8(x: Union[np.ndarray, Tensor], rounding: str = "even") -> Union[np.ndarray, Tensor]:
    """Floats in [0, 1] -> uint8 in 0..255: clipped to [0, 1], times 255, rounded.

    Args:
        x: a numpy array (computed in float64) or a torch tensor (computed in its own dtype, on its device).
        rounding (str): "even" (half to even) or "away" (half away from zero, MATLAB's ``im2uint8``).

    Returns:
        the same kind as ``x``, dtype uint8.
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if isinstance(x, Tensor):
        scaled = x.clamp(0, 1).mul_(255)  # clamp made a new tensor: scaling it in place holds one float copy
        return (scaled.round_() if rounding == "even" else scaled.add_(0.5).floor_()).to(torch.uint8)
    scaled = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) * 255.0
    return (np.round(scaled) if rounding == "even" else np.floor(scaled + 0.5)).astype(np.uint8)


def unit_float64(values: np.ndarray, what: str = "values") -> np.ndarray:
    """uint8 0..255 -> float64 in [0, 1]; floats are taken as already in [0, 1] (as float64, not rounded).

    Raises:
        TypeError: neither uint8 nor float (``what`` names them in the message).
    """
    if values.dtype == np.uint8:
        return values.astype(np.float64) / 255.0
    if np.issubdtype(values.dtype, np.floating):
        return values.astype(np.float64)
    raise TypeError(f"expected uint8 {what} or float {what} in [0, 1], got dtype {values.dtype}")


def frames_to_tensor(frames: Union[np.ndarray, Sequence[np.ndarray]], device: Optional[torch.device] = None,
                     dtype: torch.dtype = torch.float32) -> Tensor:
    """uint8 frames (N, H, W, 3) -> a float tensor (N, 3, H, W) in [0, 1], moved to ``device`` while still 8-bit.

    Args:
        frames: an array (N, H, W, 3) uint8, or a sequence of (H, W, 3) uint8 frames.
        device, dtype: of the result. Default: the CPU, float32.
    """
    array = np.ascontiguousarray(np.stack(frames) if not isinstance(frames, np.ndarray) else frames)  # (N, H, W, 3)
    clip = torch.from_numpy(array).to(device=device).permute(0, 3, 1, 2)  # (N, 3, H, W) uint8
    return clip.to(dtype).div_(255)

"""OpenCV for the video and frame modules: imported once with a clear message when it is missing, what its C code
prints kept back, and the checks of frames about to be written.

OpenCV comes from the ``opencv-python-headless`` wheel. Both that and ``opencv-python`` install the same
``cv2`` module with FFmpeg inside, but ``opencv-python`` also bundles Qt for ``cv2.imshow``, and Qt needs the
system's ``libGL.so.1``, ``libglib-2.0`` and ``libgthread-2.0``: on a fresh Debian or Docker slim image
``import cv2`` then fails with "libGL.so.1: cannot open shared object file". The headless wheel needs nothing
beyond libc, so it imports on such machines, on CI and on Colab (which already ships OpenCV). We never open
windows, so nothing is lost. (Install only one of the two into an environment: they overwrite each other.)
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Iterable

import numpy as np

try:
    import cv2
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("zsm.data needs OpenCV to read and write videos and images: "
                      "pip install opencv-python-headless") from error

__all__ = ["cv2", "Quiet", "quietly", "check_frame", "frames_of"]


class Quiet:
    """Keep what OpenCV, FFmpeg and libpng print from C to file descriptor 2 while a call runs (it would land above
    the one error line); ``said`` holds the last such line, for an error message. Only the call is wrapped, never a
    ``yield``, so the caller's own output (a progress bar) still reaches the terminal."""

    def __init__(self):
        self.said = ""
        self._sink = None

    def __call__(self, fn, *args):
        if self._sink is None:
            self._sink = tempfile.TemporaryFile()
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(self._sink.fileno(), 2)
            return fn(*args)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if self._sink.tell():
                self._sink.seek(0)
                lines = [line.strip() for line in self._sink.read().decode(errors="replace").splitlines() if line.strip()]
                self.said = lines[-1] if lines else self.said
                self._sink.seek(0)
                self._sink.truncate()

    def close(self):
        if self._sink is not None:
            self._sink.close()


def quietly(fn, *args):
    """``fn(*args)`` with what C code prints to stderr kept back; returns (result, its last line)."""
    quiet = Quiet()
    try:
        return quiet(fn, *args), quiet.said
    finally:
        quiet.close()


def check_frame(frame, index: int, shape=None) -> np.ndarray:
    """Frame ``index`` of an output as a (H, W, 3) uint8 array, or a ValueError; ``shape``: the one all frames share."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame {index}: expected uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise ValueError(f"frame {index} has shape {frame.shape}, but frame 0 has {shape}: all frames must have one size")
    return frame


def frames_of(frames) -> Iterable:
    """What a writer iterates over: the frames of a (T, H, W, 3) array, or ``frames`` as given (an iterable)."""
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4:
            raise ValueError(f"expected frames (T, H, W, 3) or an iterable of (H, W, 3), got shape {frames.shape}")
        return list(frames)
    return frames

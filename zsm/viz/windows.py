"""How a video is cut into the temporal windows of a run (:mod:`zsm.upscale`), traced with a probe network and drawn.

Book: chapter 7 (the full model on whole videos).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch
from torch import Tensor

from .records import _require

__all__ = ["Window", "trace_windows", "draw_windows"]


@dataclass(frozen=True)
class Window:
    """One temporal window of a run over a video: its inputs, the outputs it computes and those that are kept."""

    start: int
    inputs: Tuple[int, ...]
    computed: Tuple[int, ...]
    kept: Tuple[int, ...]


class _WindowProbe(torch.nn.Module):
    """A stand-in network for :func:`trace_windows`: 1x1 frames in, 1x1 frames out, labelled with the call number
    (red) and the output's position within the window (green)."""

    scale = 1

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor:  # (1, T, 3, 1, 1) -> (1, 2T-1, 3, 1, 1)
        self.calls += 1
        b, t = x.shape[:2]
        out = torch.zeros(b, 2 * t - 1, 3, 1, 1, dtype=x.dtype, device=x.device)
        out[:, :, 0] = self.calls / 255
        out[:, :, 1] = torch.arange(2 * t - 1, dtype=x.dtype, device=x.device).view(1, -1, 1, 1) / 255
        return out


def trace_windows(num_frames: int, window: int = 4) -> Tuple[Window, ...]:
    """How :func:`zsm.upscale.upscale_frames` (and so :func:`zsm.eval.evaluate`) cuts a video of ``num_frames``
    inputs into windows of ``window``, found by running it with a probe network that labels every output with the
    window that made it. Each :class:`Window` lists its inputs, the 2T-1 outputs it computes, and those taken from
    it (every output is taken from exactly one window)."""
    from ..upscale import upscale_frames, window_starts

    probe = _WindowProbe()
    frames = (torch.full((1, 1, 3), k % 256, dtype=torch.uint8).numpy() for k in range(num_frames))
    made = [(int(f[0, 0, 0]), int(f[0, 0, 1])) for f in upscale_frames(probe, frames, window=window)]
    windows = []
    for number, start in enumerate(window_starts(num_frames, window), start=1):
        length = min(window, num_frames - start)
        computed = tuple(range(2 * start, 2 * (start + length) - 1))
        kept = tuple(k for k, (call, _) in enumerate(made) if call == number)
        if any(made[k][1] != k - 2 * start for k in kept):
            raise RuntimeError("upscale_frames placed a window's outputs out of order")
        windows.append(Window(start, tuple(range(start, start + length)), computed, kept))
    if probe.calls != len(windows) or sorted(k for w in windows for k in w.kept) != list(range(2 * num_frames - 1)):
        raise RuntimeError("the windows do not cover every output frame exactly once")
    return tuple(windows)


def draw_windows(windows: Tuple[Window, ...], *, ax=None):
    """The windows of :func:`trace_windows`, one row each, over the output frames: every output a window computes
    (outline), the ones taken from it (filled; even outputs are input frames, odd ones interpolated). Returns the
    figure."""
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    outputs = max(k for w in windows for k in w.computed) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.42 * len(windows) + 1.1), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    for row, w in enumerate(windows):
        y = len(windows) - 1 - row
        colour = colours[row % len(colours)]
        for k in w.computed:
            taken = k in w.kept
            ax.add_patch(Rectangle((k + 0.06, y + 0.12), 0.88, 0.76, facecolor=colour if taken else "white",
                                   edgecolor=colour, lw=1.4, hatch=None if taken else "///", alpha=1 if taken else 0.6))
            if taken:
                ax.text(k + 0.5, y + 0.5, "in" if k % 2 == 0 else "new", ha="center", va="center", fontsize=6.5,
                        color="white")
        ax.text(-0.3, y + 0.5, f"window {row + 1}: inputs {w.inputs[0]}-{w.inputs[-1]}", ha="right", va="center",
                fontsize=8)
    ax.set_xlim(-0.1, outputs + 0.1)
    ax.set_ylim(0, len(windows))
    ax.set_xticks([k + 0.5 for k in range(outputs)], [str(k) for k in range(outputs)], fontsize=7)
    ax.set_xlabel("output frame (even: an input super-resolved; odd: interpolated)", fontsize=8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{len(windows)} windows of {max(len(w.inputs) for w in windows)} inputs over "
                 f"{max(w.inputs[-1] for w in windows) + 1} input frames: filled = taken from this window, "
                 "hatched = computed again, not used", fontsize=8.5)
    return ax.figure

"""Where ``pixel_shuffle`` puts each channel, found by shuffling labels and drawn in colour.

Book: chapter 5 (pixel-shuffle reconstruction).
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .records import _require

__all__ = ["pixel_shuffle_sources", "draw_pixel_shuffle"]


def pixel_shuffle_sources(r: int = 2, h: int = 2, w: int = 3) -> Tuple[Tensor, Tensor]:
    """Where every output pixel of ``torch.nn.functional.pixel_shuffle`` comes from, found by shuffling labels.

    The input is one output channel's r*r channels of an h x w map; each value encodes its channel and LR pixel,
    and the real ``pixel_shuffle`` moves them. Returns ``(channel, pixel)``, each (r*h, r*w) int64: the input
    channel (0 .. r*r - 1) and the LR pixel (row-major, 0 .. h*w - 1) that each output pixel holds.
    """
    channel = torch.arange(r * r).view(r * r, 1, 1).expand(r * r, h, w)
    pixel = torch.arange(h * w).view(1, h, w).expand(r * r, h, w)
    labels = (channel * (h * w) + pixel).to(torch.float64)[None]  # (1, r*r, h, w): exact in float64
    shuffled = torch.nn.functional.pixel_shuffle(labels, r)[0, 0].round().long()  # (r*h, r*w)
    return shuffled // (h * w), shuffled % (h * w)


def draw_pixel_shuffle(r: int = 2, h: int = 2, w: int = 3, *, axes=None):
    """Pixel shuffle's channel-to-block rearrangement in colour: the r*r input channels of an h x w map (one colour
    per channel, a letter per LR pixel) and the (r*h, r*w) output they fill, as ``pixel_shuffle`` itself moves them
    (:func:`pixel_shuffle_sources`). Returns the figure."""
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    channel, pixel = pixel_shuffle_sources(r, h, w)
    colours = plt.get_cmap("tab10" if r * r <= 10 else "tab20").colors
    letters = [chr(ord("a") + k) if k < 26 else str(k) for k in range(h * w)]
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), width_ratios=[1.25, 1], layout="constrained")
    left, right = axes
    # left: the r*r channels as h x w planes, channel i*r + j placed at (i, j), where its values go in each block
    gap = 0.8
    for k in range(r * r):
        i, j = divmod(k, r)
        x0, y0 = j * (w + gap), (r - 1 - i) * (h + gap)
        for y in range(h):
            for x in range(w):
                left.add_patch(Rectangle((x0 + x, y0 + h - 1 - y), 1, 1, facecolor=colours[k % len(colours)],
                                         edgecolor="white", lw=1.2))
                left.text(x0 + x + 0.5, y0 + h - 1 - y + 0.5, letters[y * w + x], ha="center", va="center",
                          fontsize=9, color="white", weight="bold")
        left.text(x0 + w / 2, y0 + h + 0.12, f"channel {k}", fontsize=8, ha="center", va="bottom")
    left.set_xlim(-0.1, r * w + (r - 1) * gap + 0.1)
    left.set_ylim(-0.1, r * h + (r - 1) * gap + 0.45)
    left.set_aspect("equal")
    left.axis("off")
    left.set_title(f"input: {r * r} channels of {h} x {w}", fontsize=10)
    for y in range(r * h):
        for x in range(r * w):
            k = int(channel[y, x])
            right.add_patch(Rectangle((x, r * h - 1 - y), 1, 1, facecolor=colours[k % len(colours)],
                                      edgecolor="white", lw=1.2))
            right.text(x + 0.5, r * h - 1 - y + 0.5, letters[int(pixel[y, x])], ha="center", va="center",
                       fontsize=9, color="white", weight="bold")
    for y in range(h + 1):  # the LR pixels' blocks
        right.plot([0, r * w], [r * y, r * y], color="black", lw=1.6)
    for x in range(w + 1):
        right.plot([r * x, r * x], [0, r * h], color="black", lw=1.6)
    right.set_xlim(-0.1, r * w + 0.1)
    right.set_ylim(-0.1, r * h + 0.1)
    right.set_aspect("equal")
    right.axis("off")
    right.set_title(f"pixel_shuffle(x, {r}): 1 channel of {r * h} x {r * w}", fontsize=10)
    return left.figure

"""Offsets as pictures: arrows over the LR frame, magnitude maps per pyramid level, the mean sampling grid.

Book: chapters 3 and 4. Everything is in pixels of the LR input frame (see :mod:`zsm.viz`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from torch import Tensor

from .records import LEVELS, OffsetRecord, _require

# --------------------------------------------------------------------------------------------------------
# Numbers behind the pictures
# --------------------------------------------------------------------------------------------------------
def level_factor(record: OffsetRecord) -> int:
    """2**(level-1): LR frame pixels per pixel of the record's pyramid level."""
    if not isinstance(record, OffsetRecord):
        raise TypeError(f"expected a zsm.OffsetRecord, got {type(record).__name__}")
    if record.level not in LEVELS:
        raise ValueError(f"the record has level {record.level!r}; expected 1, 2 or 3")
    return 2 ** (record.level - 1)


def tap_grid(taps: int = 9) -> np.ndarray:
    """The regular positions p_k (K, 2) = (dy, dx) of a square kernel's taps, row-major: (-1, -1) ... (1, 1)."""
    side = math.isqrt(taps)
    if side * side != taps:
        raise ValueError(f"expected a square kernel (K = 9 for 3x3), got K={taps}")
    ij = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), axis=-1).reshape(taps, 2)
    return (ij - side // 2).astype(np.float64)  # (K, (dy, dx))


def _checked(record: OffsetRecord, group: Optional[int], tap: Optional[int], batch: int) -> Tuple[Tensor, Tensor]:
    """The record's offsets (G', K', 2, h, w) and masks (G', K', h, w) of one batch item, group and tap."""
    if not isinstance(record, OffsetRecord):
        raise TypeError(f"expected a zsm.OffsetRecord, got {type(record).__name__}")
    b, g, k = record.offset.shape[:3]
    if not isinstance(batch, int) or not 0 <= batch < b:
        raise ValueError(f"batch {batch!r} out of range: the record holds B={b} clips (0..{b - 1})")
    if group is not None and (not isinstance(group, (int, np.integer)) or not 0 <= group < g):
        raise ValueError(f"group {group!r} out of range: the record has G={g} deformable groups (0..{g - 1}); "
                         "None averages them")
    if tap is not None and (not isinstance(tap, (int, np.integer)) or not 0 <= tap < k):
        raise ValueError(f"tap {tap!r} out of range: the kernel has K={k} taps (0..{k - 1}); None averages them")
    offset = record.offset[batch].detach().float().cpu()  # (G, K, 2, h, w)
    mask = record.mask[batch].detach().float().cpu()  # (G, K, h, w)
    if group is not None:
        offset, mask = offset[group : group + 1], mask[group : group + 1]  # (1, K, ...)
    if tap is not None:
        offset, mask = offset[:, tap : tap + 1], mask[:, tap : tap + 1]  # (G', 1, ...)
    return offset, mask


@dataclass
class Arrows:
    """Arrows in LR frame pixels: tails (x, y), vectors (u, v) = (dx, dy), and the mask of each; 1-D arrays."""

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    mask: np.ndarray
    step: int  # one arrow every ``step`` pixels of the record's level


def offset_arrows(record: OffsetRecord, group: Optional[int] = 0, tap: Optional[int] = None, stride: int = 8,
                  batch: int = 0) -> Arrows:
    """One arrow per sampled output pixel, from where tap k reads without offset to where it reads with it.

    For tap k of the level pixel p = (r, c) the arrow runs from (p + p_k) * f to (p + p_k + offset) * f, with
    f = 2**(level-1); with ``tap=None`` it shows the mean offset of the K taps, from p * f (the mean of the
    p_k is 0). ``group=None`` averages the groups too.

    Args:
        record (OffsetRecord): offsets (B, G, K, 2, h, w).
        group (int or None): deformable group. Default: 0.
        tap (int or None): kernel tap (row-major, 4 is the centre); None for the mean over taps.
        stride (int): spacing of the arrows in LR frame pixels; the level is sampled every
            ``max(1, round(stride / f))`` of its pixels. Default: 8.
        batch (int): clip of the batch. Default: 0.
    """
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a whole number of frame pixels >= 1, got {stride!r}")
    f = level_factor(record)
    offset, mask = _checked(record, group, tap, batch)
    step = max(1, round(stride / f))
    h, w = offset.shape[-2:]
    rows, cols = np.meshgrid(np.arange(0, h, step), np.arange(0, w, step), indexing="ij")  # sampled level pixels
    vec = offset.mean(dim=(0, 1))[:, ::step, ::step].numpy()  # (2, h', w'): mean over the chosen groups, taps
    m = mask.mean(dim=(0, 1))[::step, ::step].numpy()  # (h', w')
    dy, dx = tap_grid(record.offset.shape[2])[tap] if tap is not None else (0.0, 0.0)
    return Arrows(x=((cols + dx) * f).ravel().astype(np.float64), y=((rows + dy) * f).ravel().astype(np.float64),
                  u=(vec[1] * f).ravel().astype(np.float64), v=(vec[0] * f).ravel().astype(np.float64),
                  mask=m.ravel(), step=step)


def offset_magnitude(record: OffsetRecord, group: Optional[int] = None, tap: Optional[int] = None, batch: int = 0,
                     frame_pixels: bool = True) -> np.ndarray:
    """|offset| per level pixel: (h, w), the mean over the chosen groups and taps of each tap's length.

    Args:
        group, tap (int or None): one group / tap, or None for the mean over all. Default: all.
        frame_pixels (bool): in LR frame pixels (x 2**(level-1)) rather than pixels of the level. Default: True.
    """
    offset, _ = _checked(record, group, tap, batch)
    length = offset.norm(dim=2).mean(dim=(0, 1))  # (h, w)
    return (length * (level_factor(record) if frame_pixels else 1)).numpy()


def record_frame(frames: np.ndarray, record: OffsetRecord) -> Tuple[np.ndarray, str]:
    """The LR frame that the record's sampled feature belongs to, and a label.

    Interpolation: frame i for direction 1, i+1 for direction 2. ConvLSTM: the frame of the step (the state is
    aligned to it); an interpolated step at moment t has no LR frame, so the blend (1 - t) x_i + t x_(i+1) of its
    two neighbours is shown (their mean half-way).

    Args:
        frames (np.ndarray): (T, H, W, 3) float in [0, 1], the clip's input frames.
    """
    if record.stage == "interpolation" and record.pair is not None:
        i = record.pair[record.direction - 1]
        return frames[i], f"input frame {i}"
    i, j = record.input_and_moment
    if j == 0:
        return frames[i], f"input frame {i}"
    t = record.time if record.time is not None else j / (record.moments + 1)
    if t == 0.5:
        return 0.5 * (frames[i] + frames[i + 1]), f"mean of input frames {i}, {i + 1}"
    return (1 - t) * frames[i] + t * frames[i + 1], f"blend of input frames {i}, {i + 1} at t = {t:.3g}"


def _as_frames(frames) -> np.ndarray:
    """(T, H, W, 3) uint8/float numpy or (T, 3, H, W) tensor -> (T, H, W, 3) float64 in [0, 1]."""
    if isinstance(frames, Tensor):
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"expected frames as a tensor (T, 3, H, W), got shape {tuple(frames.shape)}")
        frames = frames.detach().float().cpu().permute(0, 2, 3, 1).numpy()  # (T, H, W, 3)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames (T, H, W, 3) (or a tensor (T, 3, H, W)), got shape {frames.shape}")
    if frames.dtype == np.uint8:
        return frames / 255.0
    return np.clip(frames.astype(np.float64), 0.0, 1.0)


def _check_frame(frame: np.ndarray, record: OffsetRecord) -> None:
    h1, w1 = (s * level_factor(record) for s in record.offset.shape[-2:])  # L1 size (padded to a multiple of 4)
    h, w = frame.shape[:2]
    if not (h1 - 4 < h <= h1 and w1 - 4 < w <= w1):
        raise ValueError(f"the frame is {h}x{w} but the offsets are {h1}x{w1} at level 1; pass the LR input frame")


# --------------------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------------------
def _pyplot():
    _require("matplotlib")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def draw_offsets(record: OffsetRecord, frame=None, *, ax=None, group: Optional[int] = 0, tap: Optional[int] = None,
                 stride: int = 8, batch: int = 0, gain: float = 1.0, color: str = "#ff2a2a", title: bool = True):
    """Draw the offsets of one record as arrows (see :func:`offset_arrows`) over an LR frame.

    Arrows are in frame pixels (``angles="xy"``, ``scale=1``): an offset of 1 pixel at level 2 is an arrow 2
    frame pixels long, times ``gain`` (say so when it is not 1: the title does).

    Args:
        record (OffsetRecord): the record to draw.
        frame (np.ndarray or Tensor, optional): the LR frame, (H, W, 3) or (3, H, W); None for a blank canvas.
        ax (matplotlib Axes, optional): where to draw; a new figure when None.
        group, tap, stride, batch: as in :func:`offset_arrows`.
        gain (float): arrow length multiplier. Default: 1.
        color (str): arrow colour.
        title (bool): write what is shown above the axes. Default: True.

    Returns:
        The Axes; its quiver is ``ax.collections[-1]`` (U, V: dx, dy in frame pixels times gain).
    """
    arrows = offset_arrows(record, group, tap, stride, batch)
    ax = _axes(ax, (8, 4.5))
    f = level_factor(record)
    h, w = (s * f for s in record.offset.shape[-2:])
    if frame is not None:
        image = _as_frames(frame[None])[0]  # (H, W, 3)
        _check_frame(image, record)
        h, w = image.shape[:2]
        ax.imshow(image, interpolation="nearest")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    inside = (arrows.x >= -0.5) & (arrows.x <= w - 0.5) & (arrows.y >= -0.5) & (arrows.y <= h - 0.5)
    ax.quiver(arrows.x[inside], arrows.y[inside], gain * arrows.u[inside], gain * arrows.v[inside], color=color,
              angles="xy", scale_units="xy", scale=1, width=0.004, headwidth=3.5, headlength=4,
              headaxislength=3.5, minlength=0.5)
    if title:
        what = "mean of the taps" if tap is None else f"tap {tap} {tuple(int(v) for v in tap_grid(record.offset.shape[2])[tap])}"
        scaled = "" if gain == 1 else f", arrows x{gain:g}"
        ax.set_title(f"L{record.level} dir {record.direction}, group {'mean' if group is None else group}, "
                     f"{what}{scaled}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def draw_magnitude(record: OffsetRecord, *, ax=None, group: Optional[int] = None, tap: Optional[int] = None,
                   batch: int = 0, vmax: Optional[float] = None, cmap: str = "magma", colorbar: bool = True):
    """Draw :func:`offset_magnitude` (frame pixels) as an image aligned with the LR frame; returns the Axes."""
    ax = _axes(ax, (6, 3.5))
    magnitude = offset_magnitude(record, group, tap, batch)
    f = level_factor(record)
    h, w = magnitude.shape
    image = ax.imshow(magnitude, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest",
                      extent=(-0.5 * f, (w - 0.5) * f, (h - 0.5) * f, -0.5 * f))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046 * h / w, pad=0.02, label="|offset| (frame px)")
    ax.set_title(f"L{record.level} ({h}x{w}): mean {magnitude.mean():.2f} px", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_magnitudes(records: Sequence[OffsetRecord], *, group: Optional[int] = None, per_group: bool = False,
                    batch: int = 0, vmax: Optional[float] = None, axes=None):
    """Magnitude maps of several records side by side, sorted by level, on one colour scale (frame pixels).

    Args:
        records: e.g. the three levels of one alignment, ``records.select(stage=..., pair=..., direction=1)``.
        group (int or None): one group, or the mean of all (default).
        per_group (bool): one row per deformable group instead.
        vmax (float, optional): top of the colour scale; default the largest value shown.
        axes: an array of Axes (rows x columns) to draw into; default a new figure.

    Returns:
        The matplotlib Figure.
    """
    records = sorted(records, key=lambda r: r.level)
    if not records:
        raise ValueError("no records to plot")
    groups = list(range(records[0].offset.shape[1])) if per_group else [group]
    maps = [[offset_magnitude(r, g, None, batch) for r in records] for g in groups]
    vmax = vmax if vmax is not None else max(float(m.max()) for row in maps for m in row) or 1.0
    if axes is None:
        size = (3.1 * len(records), 2.0 * len(groups))
        _, axes = _pyplot().subplots(len(groups), len(records), figsize=size, squeeze=False)
    axes = np.asarray(axes).reshape(len(groups), len(records))
    for row, g in enumerate(groups):
        for col, r in enumerate(records):
            draw_magnitude(r, ax=axes[row, col], group=g, batch=batch, vmax=vmax, colorbar=False)
            if per_group:
                axes[row, col].set_ylabel(f"group {g}")
    fig = axes[0, 0].figure
    fig.colorbar(axes[0, 0].images[0], ax=list(axes.ravel()), fraction=0.02, pad=0.01, label="|offset| (frame px)")
    return fig


def draw_tap_grid(record: OffsetRecord, *, ax=None, group: int = 0, batch: int = 0, title: bool = True):
    """Where the K taps read on average over the frame: regular positions p_k (grey circles), p_k plus the
    frame-mean offset of each tap (red dots, area = mean mask), in pixels of the record's level."""
    offset, mask = _checked(record, group, None, batch)
    regular = tap_grid(offset.shape[1])  # (K, (dy, dx))
    moved = regular + offset[0].mean(dim=(-1, -2)).double().numpy()  # (K, (dy, dx))
    weight = mask[0].mean(dim=(-1, -2)).numpy()  # (K,)
    ax = _axes(ax, (3.5, 3.5))
    ax.scatter(regular[:, 1], regular[:, 0], s=120, facecolors="none", edgecolors="0.35", linewidths=1.5)
    for (y0, x0), (y1, x1) in zip(regular, moved):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", color="0.2", lw=1))
    ax.scatter(moved[:, 1], moved[:, 0], s=160 * weight, color="red", edgecolors="black", linewidths=0.5, zorder=3)
    reach = max(1.5, float(np.abs(moved).max()) + 0.5)
    ax.set(xlim=(-reach, reach), ylim=(reach, -reach), aspect="equal", xlabel="dx (level px)", ylabel="dy (level px)")
    if title:
        ax.set_title(f"L{record.level} dir {record.direction}, group {group}", fontsize=9)
    return ax

"""Pictures of the deformable offsets a forward pass used: arrows over a frame, magnitude maps per pyramid level,
the mean sampling grid, and an interactive explorer.

Book: chapter 3 (frame feature temporal interpolation) and chapter 4 (deformable ConvLSTM).

matplotlib and ipywidgets are imported only when a function needs them (``pip install 'zsm[viz]'``), so
``import zsm.viz`` works without them. Every function takes the records of :func:`zsm.record_offsets` or
:meth:`zsm.ZoomingSlowMo.forward_with_offsets` (:class:`zsm.OffsetRecord`): offsets (B, G, K, 2, h, w) as (dy, dx)
in pixels of their pyramid level, masks (B, G, K, h, w). Drawings are in pixels of the LR input frame: a level-l
pixel (r, c) sits at (r, c) * 2**(l-1) in the frame (the centre of the stride-2 convolutions' window), and its
offsets are multiplied by 2**(l-1).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .dcn import OffsetRecord, record_offsets

__all__ = [
    "STAGES", "OffsetRecords", "record_model_offsets", "level_factor", "tap_grid", "Arrows", "offset_arrows",
    "offset_magnitude", "record_frame", "draw_offsets", "draw_magnitude", "plot_magnitudes", "draw_tap_grid",
    "OffsetExplorer",
]

STAGES = ("interpolation", "lstm_hidden", "lstm_cell")
STAGE_NAMES = {"interpolation": "feature interpolation", "lstm_hidden": "ConvLSTM hidden state",
               "lstm_cell": "ConvLSTM cell state"}
TIME_DIRECTIONS = ("forward", "backward")
LEVELS = (1, 2, 3)
DIRECTIONS = (1, 2)


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"zsm.viz needs {module} for this; install it with pip install 'zsm[viz]'") from None


# --------------------------------------------------------------------------------------------------------
# Choosing records
# --------------------------------------------------------------------------------------------------------
class OffsetRecords(Sequence):
    """A list of :class:`zsm.OffsetRecord` that can be filtered by stage, pair, frame, time direction, level and
    direction, with errors that say what the records hold.

    Example:
        >>> records = OffsetRecords(model.forward_with_offsets(x)[1])
        >>> records.one(stage="interpolation", pair=(0, 1), level=2, direction=1)
    """

    def __init__(self, records: Iterable[OffsetRecord]):
        self._records = list(records)
        for r in self._records:
            if not isinstance(r, OffsetRecord):
                raise TypeError(f"expected zsm.OffsetRecord items, got {type(r).__name__}")

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index):
        return OffsetRecords(self._records[index]) if isinstance(index, slice) else self._records[index]

    def __repr__(self) -> str:
        return f"OffsetRecords, {len(self)} records:\n" + "\n".join(f"  {k}: {v}" for k, v in self._summary())

    def _values(self, attribute: str) -> list:
        values = {getattr(r, attribute) for r in self._records}
        return sorted(v for v in values if v is not None) + ([None] if None in values else [])

    stages = property(lambda self: [s for s in STAGES if s in self._values("stage")], doc="stages present")
    pairs = property(lambda self: [p for p in self._values("pair") if p is not None], doc="interpolation pairs")
    frames = property(lambda self: self._values("frame"), doc="output frame indices present")
    levels = property(lambda self: self._values("level"), doc="pyramid levels present")
    directions = property(lambda self: self._values("direction"), doc="alignment directions present")
    time_directions = property(lambda self: [t for t in TIME_DIRECTIONS if t in self._values("time_direction")],
                               doc="ConvLSTM passes present")

    def _summary(self) -> List[Tuple[str, list]]:
        return [("stages", self.stages), ("pairs", self.pairs), ("frames", self.frames),
                ("time directions", self.time_directions), ("levels", self.levels), ("directions", self.directions)]

    def describe(self) -> str:
        """What the records hold, e.g. ``"stages ['interpolation'], pairs [(0, 1)], levels [1, 2, 3], ..."``."""
        return ", ".join(f"{k} {v}" for k, v in self._summary())

    def select(self, stage: Optional[str] = None, pair: Optional[Tuple[int, int]] = None,
               frame: Optional[int] = None, time_direction: Optional[str] = None, level: Optional[int] = None,
               direction: Optional[int] = None) -> "OffsetRecords":
        """The records that match every given criterion (None: any).

        Args:
            stage (str): "interpolation", "lstm_hidden" or "lstm_cell".
            pair (tuple): input frames (i, i+1) of an interpolation.
            frame (int): output frame index (0 .. 2T-2) the alignment belongs to.
            time_direction (str): "forward" or "backward" ConvLSTM pass.
            level (int): pyramid level 1, 2 or 3.
            direction (int): 1 (the first input is sampled) or 2 (the second is).

        Raises:
            ValueError: an unknown value (e.g. level 4, stage "lstm"), or no record matches; the message lists
                what the records hold.
        """
        criteria = {}
        if stage is not None:
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(map(repr, STAGES))}")
            criteria["stage"] = stage
        if pair is not None:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(i, int) for i in pair)):
                raise ValueError(f"pair must be two input frame indices (i, i+1), got {pair!r}")
            criteria["pair"] = tuple(pair)
        if frame is not None:
            if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
                raise ValueError(f"frame must be an output frame index >= 0, got {frame!r}")
            criteria["frame"] = frame
        if time_direction is not None:
            if time_direction not in TIME_DIRECTIONS:
                raise ValueError(f"unknown time_direction {time_direction!r}; expected 'forward' or 'backward'")
            criteria["time_direction"] = time_direction
        if level is not None:
            if level not in LEVELS:
                raise ValueError(f"unknown level {level!r}; pyramid levels are 1 (full LR size), 2 (half), "
                                 "3 (quarter)")
            criteria["level"] = level
        if direction is not None:
            if direction not in DIRECTIONS:
                raise ValueError(f"unknown direction {direction!r}; expected 1 (the first input is sampled) "
                                 "or 2 (the second input is sampled)")
            criteria["direction"] = direction
        found = [r for r in self._records if all(getattr(r, k) == v for k, v in criteria.items())]
        if not found:
            wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items())
            raise ValueError(f"no offset record with {wanted}; the {len(self)} records hold {self.describe()}")
        return OffsetRecords(found)

    def one(self, **criteria) -> OffsetRecord:
        """The single record that matches (see :meth:`select`); ValueError unless exactly one does."""
        found = self.select(**criteria)
        if len(found) != 1:
            raise ValueError(f"{len(found)} records match {criteria}, expected one; narrow it down with "
                             f"stage, pair or frame, time_direction, level and direction ({found.describe()})")
        return found[0]


def record_model_offsets(model, clip: Tensor) -> OffsetRecords:
    """Run ``model`` (no gradients) on ``clip`` and return every offset and mask its deformable convs used.

    Args:
        model (zsm.ZoomingSlowMo): the network (its train/eval mode is left as it is).
        clip (Tensor): (T, 3, H, W) or (B, T, 3, H, W), values in [0, 1]; moved to the model's device and dtype.
    """
    if not isinstance(clip, Tensor):
        raise TypeError(f"expected a clip tensor (T, 3, H, W) or (B, T, 3, H, W), got {type(clip).__name__}")
    clip = clip[None] if clip.dim() == 4 else clip  # (B, T, 3, H, W)
    weight = next(model.parameters())
    with torch.no_grad(), record_offsets() as records:
        model(clip.to(weight.device, weight.dtype))
    return OffsetRecords(records)


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
    aligned to it); an interpolated step has no LR frame, so the mean of its two neighbours is shown.

    Args:
        frames (np.ndarray): (T, H, W, 3) float in [0, 1], the clip's input frames.
    """
    if record.stage == "interpolation" and record.pair is not None:
        i = record.pair[record.direction - 1]
        return frames[i], f"input frame {i}"
    t = record.frame
    if t % 2 == 0:
        return frames[t // 2], f"input frame {t // 2}"
    i = t // 2
    return 0.5 * (frames[i] + frames[i + 1]), f"mean of input frames {i}, {i + 1}"


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


# --------------------------------------------------------------------------------------------------------
# The explorer
# --------------------------------------------------------------------------------------------------------
DENSITIES = (32, 16, 8, 4, 2, 1)  # arrow spacing in LR frame pixels, sparse to dense


class OffsetExplorer:
    """An ipywidgets explorer of offset records over their frames, drawn by matplotlib (Agg) into a PNG.

    Controls (``.controls``, name -> widget): ``"stage"`` (only when the records hold several stages),
    ``"pair"`` (interpolation: the input pair (i, i+1); ConvLSTM: the pass and step, ("forward", t)),
    ``"level"`` (1, 2, 3), ``"direction"`` (1, 2), ``"group"`` (0..G-1), ``"tap"`` ("mean" or 0..K-1) and
    ``"density"`` (arrow spacing in frame pixels, sparse to dense). ``.image`` (``ipywidgets.Image``, png) always
    holds ``render(settings())``; ``.widget`` is the box to display. :meth:`render` is pure: the same settings give
    the same bytes. In a static page (no kernel) the saved image stays as it was when the notebook ran.

    Args:
        frames: the clip's LR input frames, (T, H, W, 3) uint8/float numpy or a tensor (T, 3, H, W) in [0, 1].
        records: offset records of a forward pass on those frames (any iterable of :class:`zsm.OffsetRecord`).
        gain (float): arrow length multiplier (1: arrows in frame pixels). Default: 1.
        figsize (tuple), dpi (int): size of the picture. Default: (9, 3.3) inches at 100 dpi (900 x 330 pixels,
            shown at most as wide as the page).
        batch (int): which clip of the batch. Default: 0.
    """

    def __init__(self, frames, records, *, gain: float = 1.0, figsize=(9.0, 3.3), dpi: int = 100, batch: int = 0):
        widgets = _require("ipywidgets")
        _require("matplotlib")
        self.frames = _as_frames(frames)
        self.records = records if isinstance(records, OffsetRecords) else OffsetRecords(records)
        if not len(self.records):
            raise ValueError("no offset records to explore; record them with zsm.viz.record_model_offsets")
        self.gain, self.figsize, self.dpi, self.batch = float(gain), tuple(figsize), int(dpi), batch
        first = self.records[0]
        self.groups, self.taps = first.offset.shape[1], first.offset.shape[2]
        self._table: Dict[tuple, OffsetRecord] = {}
        for r in self.records:
            if r.stage not in STAGES or r.level not in LEVELS or r.direction not in DIRECTIONS:
                raise ValueError(f"record {r.module!r} has stage {r.stage!r}, level {r.level!r}, direction "
                                 f"{r.direction!r}; only records of zsm.ZoomingSlowMo can be explored")
            self._table[(r.stage, self._pair_key(r), r.level, r.direction)] = r
        self._stages = self.records.stages
        needed = max(max(r.pair) if r.stage == "interpolation" else (r.frame + 1) // 2 for r in self.records) + 1
        if len(self.frames) < needed:
            raise ValueError(f"the records need {needed} input frames, got {len(self.frames)}")
        _check_frame(self.frames[0], first)
        width = self.frames.shape[2]
        self.defaults = {"stage": self._stages[0], "pair": self._pair_options(self._stages[0])[0][1], "level": 1,
                         "direction": 1, "group": 0, "tap": "mean",
                         "density": min(DENSITIES, key=lambda d: abs(d - width / 40))}
        self._cache: Dict[tuple, bytes] = {}

        style = {"description_width": "initial"}
        c = {}
        if len(self._stages) > 1:
            c["stage"] = widgets.Dropdown(options=[(STAGE_NAMES[s], s) for s in self._stages], description="stage",
                                          style=style)
        c["pair"] = widgets.Dropdown(options=self._pair_options(self.defaults["stage"]), style=style,
                                     description=self._pair_description(self.defaults["stage"]))
        sizes = {r.level: tuple(r.offset.shape[-2:]) for r in self.records}
        c["level"] = widgets.Dropdown(options=[(f"L{l} ({sizes[l][0]}x{sizes[l][1]})", l) for l in sorted(sizes)],
                                      description="pyramid level", style=style)
        c["direction"] = widgets.Dropdown(options=self._direction_options(self.defaults["stage"]),
                                          description="direction", style=style)
        c["group"] = widgets.Dropdown(options=[(f"group {g}", g) for g in range(self.groups)],
                                      description="deformable group", style=style)
        grid = tap_grid(self.taps).astype(int)
        c["tap"] = widgets.Dropdown(options=[("mean of the taps", "mean")] + [
            (f"tap {k} at ({grid[k][0]}, {grid[k][1]})", k) for k in range(self.taps)], description="kernel tap",
            style=style)
        c["density"] = widgets.SelectionSlider(options=[(f"1 per {d} px", d) for d in DENSITIES],
                                               value=self.defaults["density"], description="arrow density",
                                               continuous_update=False, style=style)
        self.controls = c
        self.image = widgets.Image(format="png", value=self.render(self.settings()),
                                   layout=widgets.Layout(max_width="100%", height="auto"))
        self._syncing = False
        for control in c.values():
            control.observe(self._changed, names="value")
        # Two or three controls per line, wrapping on narrow pages. The pair's labels are long, and the slider
        # needs room for its label, its track and its readout ("1 per 32 px" is clipped at 290 px).
        widths = {"pair": "360px", "density": "350px"}
        for name, control in c.items():
            control.layout = widgets.Layout(width=widths.get(name, "290px"))
        self.widget = widgets.VBox([widgets.HBox(list(c.values()), layout=widgets.Layout(flex_flow="row wrap")),
                                    self.image])

    @classmethod
    def from_model(cls, model, clip: Tensor, **kwargs) -> "OffsetExplorer":
        """Run ``model`` on ``clip`` (T, 3, H, W) or (B, T, 3, H, W) and explore every record of that pass."""
        records = record_model_offsets(model, clip)
        frames = clip[kwargs.get("batch", 0)] if clip.dim() == 5 else clip
        return cls(frames, records, **kwargs)

    # -- what the controls offer ------------------------------------------------------------------------
    @staticmethod
    def _pair_key(r: OffsetRecord):
        return tuple(r.pair) if r.stage == "interpolation" else (r.time_direction, r.frame)

    def _pair_options(self, stage: str) -> List[tuple]:
        keys = {k[1] for k in self._table if k[0] == stage}
        if stage == "interpolation":
            return [(f"frames {i} and {j} (output {i + j})", (i, j)) for i, j in sorted(keys)]
        order = sorted(keys, key=lambda k: (TIME_DIRECTIONS.index(k[0]), k[1]))  # forward first, then by frame
        return [(f"{t} pass, frame {f}", (t, f)) for t, f in order]

    @staticmethod
    def _pair_description(stage: str) -> str:
        return "frame pair" if stage == "interpolation" else "pass and step"

    @staticmethod
    def _direction_options(stage: str) -> List[tuple]:
        if stage == "interpolation":
            return [("1: sample frame i", 1), ("2: sample frame i+1", 2)]
        return [("1: sample the input", 1), ("2: sample the state", 2)]

    def settings(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _changed(self, change) -> None:
        if self._syncing:
            return
        if "stage" in self.controls and change["owner"] is self.controls["stage"]:
            self._syncing = True
            try:
                stage, pair = change["new"], self.controls["pair"].value
                options = self._pair_options(stage)
                self.controls["pair"].options = options
                # the same step when switching between hidden and cell state, else the first of the stage
                self.controls["pair"].value = pair if pair in [v for _, v in options] else options[0][1]
                self.controls["pair"].description = self._pair_description(stage)
                direction = self.controls["direction"].value
                self.controls["direction"].options = self._direction_options(stage)
                self.controls["direction"].value = direction
            finally:
                self._syncing = False
        self.image.value = self.render(self.settings())

    # -- drawing ------------------------------------------------------------------------------------------
    def _resolve(self, settings: dict) -> dict:
        unknown = sorted(set(settings) - set(self.defaults))
        if unknown:
            raise ValueError(f"unknown settings {unknown}; expected {sorted(self.defaults)}")
        s = {**self.defaults, **settings}
        if s["stage"] not in self._stages:
            raise ValueError(f"stage {s['stage']!r} is not in these records; they hold {self._stages}")
        pair = tuple(s["pair"]) if isinstance(s["pair"], (list, tuple)) else s["pair"]
        key = (s["stage"], pair, s["level"], s["direction"])
        if key not in self._table:
            options = [v for _, v in self._pair_options(s["stage"])]
            raise ValueError(f"no record for stage {s['stage']!r}, pair {pair!r}, level {s['level']!r}, direction "
                             f"{s['direction']!r}; pairs of that stage: {options}, levels 1-3, directions 1-2")
        if s["tap"] != "mean" and s["tap"] not in range(self.taps):
            raise ValueError(f"tap must be 'mean' or 0..{self.taps - 1}, got {s['tap']!r}")
        if s["group"] not in range(self.groups):
            raise ValueError(f"group {s['group']!r} out of range: G={self.groups} groups (0..{self.groups - 1})")
        if s["density"] not in DENSITIES:
            raise ValueError(f"density must be an arrow spacing in {DENSITIES} (frame px), got {s['density']!r}")
        s["pair"] = pair
        return s

    def render(self, settings: dict) -> bytes:
        """The PNG (bytes) the explorer shows for ``settings`` (missing keys take their initial values)."""
        s = self._resolve(settings)
        cache_key = tuple(sorted((k, str(v)) for k, v in s.items()))
        if cache_key not in self._cache:
            self._cache[cache_key] = self._draw(s)
        return self._cache[cache_key]

    def _draw(self, s: dict) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        record = self._table[(s["stage"], s["pair"], s["level"], s["direction"])]
        tap = None if s["tap"] == "mean" else s["tap"]
        frame, frame_label = record_frame(self.frames, record)
        fig = Figure(figsize=self.figsize, dpi=self.dpi)
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2)
        draw_offsets(record, frame, ax=left, group=s["group"], tap=tap, stride=s["density"], batch=self.batch,
                     gain=self.gain, title=False)
        arrows_every = max(1, round(s["density"] / level_factor(record)))
        scaled = "" if self.gain == 1 else f" x{self.gain:g}"
        left.set_title(f"arrows{scaled} over {frame_label}, 1 per {arrows_every} L{record.level} px", fontsize=9)
        alignment = [self._table[k] for k in self._table if k[:2] == (s["stage"], s["pair"]) and k[3] == s["direction"]]
        vmax = max(float(offset_magnitude(r, s["group"], tap, self.batch).max()) for r in alignment) or 1.0
        draw_magnitude(record, ax=right, group=s["group"], tap=tap, batch=self.batch, vmax=vmax)
        what = "mean of the taps" if tap is None else f"tap {tap}"
        pair_label = next(label for label, v in self._pair_options(s["stage"]) if v == s["pair"])
        direction = dict((v, k) for k, v in self._direction_options(s["stage"]))[s["direction"]]
        fig.suptitle(f"{STAGE_NAMES[s['stage']]}, {pair_label}: L{s['level']}, direction {direction}, "
                     f"group {s['group']}, {what}", fontsize=10)
        fig.subplots_adjust(left=0.01, right=0.93, bottom=0.02, top=0.86, wspace=0.06)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi, metadata={"Software": None})
        return buffer.getvalue()

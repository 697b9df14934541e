"""The moment explorer: a time slider over the frames a time-modulated network makes between two input frames, with
the offsets each moment samples its two neighbours with.

Book: chapter 8 (the live explorer; the static page keeps the picture of the starting moment, and static figures of
several moments beside it).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Dict, List

import torch
from torch import Tensor

from ..net.model import moments_of
from .draw import _as_frames, _check_frame, _checked, draw_offsets, level_factor
from .explorer import DENSITIES, Explorer
from .hooks import record_offsets
from .records import OffsetRecord, OffsetRecords, _require

__all__ = ["MomentExplorer", "moment_label"]


def moment_label(t: float) -> str:
    """A moment as a reader reads it: "1/4", "3/8", or the number where no small fraction is it ("0.3")."""
    fraction = Fraction(t).limit_denominator(64)
    return f"{fraction.numerator}/{fraction.denominator}" if abs(float(fraction) - t) < 1e-9 else f"{t:.3g}"


class MomentExplorer(Explorer):
    """An ipywidgets explorer of the frames between two inputs at k moments, drawn by matplotlib (Agg) into a PNG.

    Each picture shows, for the moment t the slider is on: the network's output frame at i + t, the offsets with
    which the interpolation samples frame i (direction 1) drawn over frame i, and those with which it samples frame
    i+1 (direction 2) over frame i+1. A network that follows the motion reaches the nearer frame with the shorter
    arrows: direction 1's grow with t and direction 2's shrink.

    Controls (``.controls``, name -> widget): ``"time"`` (a slider over the moments), ``"level"`` (1, 2, 3),
    ``"group"`` (0..G-1, or the mean of the groups) and ``"density"`` (arrow spacing in frame pixels).
    ``.image`` (``ipywidgets.Image``, png) always holds ``render(settings())``; ``.widget`` is the box to display.
    :meth:`render` is pure: the same settings give the same bytes.

    Args:
        frames: the two LR input frames, (2, H, W, 3) uint8/float numpy or a tensor (2, 3, H, W) in [0, 1].
        outputs: the network's frames between them, one per moment, (k, sH, sW, 3) or a tensor (k, 3, sH, sW).
        records: the offset records of the pass that made them (its interpolation records at the k moments).
        gain (float): arrow length multiplier (1: arrows in frame pixels). Default: 1.
        figsize (tuple), dpi (int): size of the picture. Default: (9.5, 2) inches at 100 dpi.
        names (tuple): what the pictures call the two inputs. Default: ("input 0", "input 1").
    """

    def __init__(self, frames, outputs, records, *, gain: float = 1.0, figsize=(9.5, 2.0), dpi: int = 100,
                 names=("input 0", "input 1")):
        widgets = _require("ipywidgets")
        _require("matplotlib")
        self.frames = _as_frames(frames)
        self.outputs = _as_frames(outputs)
        if len(self.frames) != 2:
            raise ValueError(f"expected the two input frames around the moments, got {len(self.frames)} frames")
        records = records if isinstance(records, OffsetRecords) else OffsetRecords(records)
        self._table: Dict[tuple, OffsetRecord] = {}
        for r in records:
            if r.stage == "interpolation" and r.pair == (0, 1) and r.time is not None:
                self._table[(r.time, r.level, r.direction)] = r
        self.times = sorted({t for t, _, _ in self._table})
        if not self.times:
            raise ValueError("no interpolation records of frames 0 and 1 with their moments; record them with "
                             "zsm.viz.record_offsets around model(clip, times=...)")
        if len(self.outputs) != len(self.times):
            raise ValueError(f"expected one output frame per moment ({len(self.times)}), got {len(self.outputs)}")
        first = self._table[(self.times[0], 1, 1)]
        _check_frame(self.frames[0], first)
        self.gain, self.figsize, self.dpi = float(gain), tuple(figsize), int(dpi)
        self.names = tuple(str(n) for n in names)
        if len(self.names) != 2:
            raise ValueError(f"names must name the two inputs, got {names!r}")
        self.groups = first.offset.shape[1]
        width = self.frames.shape[2]
        self.defaults = {"time": min(self.times, key=lambda t: abs(t - 0.5)), "level": 1, "group": "mean",
                         "density": min(DENSITIES, key=lambda d: abs(d - width / 40))}
        self._cache: Dict[tuple, bytes] = {}

        style = {"description_width": "initial"}
        sizes = {level: tuple(self._table[(self.times[0], level, 1)].offset.shape[-2:]) for level in (1, 2, 3)
                 if (self.times[0], level, 1) in self._table}
        c = {
            "time": widgets.SelectionSlider(options=[(moment_label(t), t) for t in self.times],
                                            value=self.defaults["time"], description="moment t",
                                            continuous_update=False, style=style),
            "level": widgets.Dropdown(options=[(f"L{l} ({sizes[l][0]}x{sizes[l][1]})", l) for l in sorted(sizes)],
                                      description="pyramid level", style=style),
            "group": widgets.Dropdown(options=[("mean of the groups", "mean")] + [
                (f"group {g}", g) for g in range(self.groups)], description="deformable group", style=style),
            "density": widgets.SelectionSlider(options=[(f"1 per {d} px", d) for d in DENSITIES],
                                               value=self.defaults["density"], description="arrow density",
                                               continuous_update=False, style=style),
        }
        self.controls = c
        self.image = widgets.Image(format="png", value=self.render(self.settings()),
                                   layout=widgets.Layout(max_width="100%", height="auto"))
        for control in c.values():
            control.observe(self._changed, names="value")
        widths = {"time": "330px", "density": "350px", "group": "310px"}
        for name, control in c.items():
            control.layout = widgets.Layout(width=widths.get(name, "290px"))
        self.widget = widgets.VBox([widgets.HBox(list(c.values()), layout=widgets.Layout(flex_flow="row wrap")),
                                    self.image])

    @classmethod
    def from_model(cls, model, clip: Tensor, times, **kwargs) -> "MomentExplorer":
        """Run the time-modulated ``model`` (no gradients) on two frames ``clip`` (2, 3, H, W) at ``times`` and
        explore the frames it makes between them and the offsets it makes them with."""
        if not isinstance(clip, Tensor) or clip.dim() != 4 or clip.shape[0] != 2:
            raise ValueError(f"expected two frames (2, 3, H, W), got {getattr(clip, 'shape', type(clip).__name__)}")
        k = len(moments_of(times))
        weight = model.conv_first_weight
        with torch.no_grad(), record_offsets(model) as records:
            out = model(clip[None].to(weight.device, weight.dtype), times=times)  # (1, 2 + k, 3, sH, sW)
        return cls(clip, out[0, 1: 1 + k].clamp(0, 1), records, **kwargs)

    def _check(self, s: dict) -> dict:
        near = [t for t in self.times if abs(t - s["time"]) < 5e-7] if isinstance(s["time"], (int, float)) else []
        if not near:
            raise ValueError(f"no moment {s['time']!r} in these records; they hold {self.times}")
        s["time"] = near[0]
        if (s["time"], s["level"], 1) not in self._table:
            raise ValueError(f"no level {s['level']!r} in these records; levels 1-3")
        if s["group"] != "mean" and s["group"] not in range(self.groups):
            raise ValueError(f"group must be 'mean' or 0..{self.groups - 1}, got {s['group']!r}")
        return s

    def lengths(self, level: int = 1, group=None) -> List[dict]:
        """Per moment, the mean length of the arrows the explorer draws at ``level`` (frame pixels; the offsets of
        each pixel averaged over the taps, and over the groups for ``group=None``), for each direction:
        [{"time": t, "direction_1": ..., "direction_2": ...}, ...]."""
        return [{"time": t, **{f"direction_{d}": self._mean_length(self._table[(t, level, d)], group) for d in (1, 2)}}
                for t in self.times]

    @staticmethod
    def _mean_length(record: OffsetRecord, group) -> float:
        offset, _ = _checked(record, group, None, 0)  # (G', K, 2, h, w)
        return float(offset.mean(dim=(0, 1)).norm(dim=0).mean()) * level_factor(record)

    def _draw(self, s: dict) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        t, level = s["time"], s["level"]
        group = None if s["group"] == "mean" else s["group"]
        fig = Figure(figsize=self.figsize, dpi=self.dpi)
        FigureCanvasAgg(fig)
        made, first, second = fig.subplots(1, 3)
        made.imshow(self.outputs[self.times.index(t)], interpolation="nearest")
        made.set_title(f"its frame at t = {moment_label(t)}", fontsize=9)
        made.set_xticks([])
        made.set_yticks([])
        scaled = "" if self.gain == 1 else f" x{self.gain:g}"
        for ax, direction, frame in ((first, 1, 0), (second, 2, 1)):
            record = self._table[(t, level, direction)]
            draw_offsets(record, self.frames[frame], ax=ax, group=group, stride=s["density"], gain=self.gain,
                         title=False)
            ax.set_title(f"{self.names[frame]}{scaled}: mean {self._mean_length(record, group):.2f} px",
                         fontsize=9)
        what = "mean of the groups" if group is None else f"group {group}"
        fig.suptitle(f"t = {moment_label(t)} between {self.names[0]} and {self.names[1]}: L{level} offsets sampling "
                     f"each ({what}, mean of the taps)", fontsize=10)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.78, wspace=0.04)
        return self._png(fig, self.dpi)

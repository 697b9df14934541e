"""The offset explorer: ipywidgets controls over every record of a forward pass, drawn by :mod:`zsm.viz.draw`.

Book: chapters 3 and 4 (the live explorer; the static pages keep the picture of the defaults).
"""
from __future__ import annotations

import io
from typing import Dict, List

from torch import Tensor

from .draw import (_as_frames, _check_frame, draw_magnitude, draw_offsets, level_factor, offset_magnitude, record_frame,
                   tap_grid)
from .hooks import record_model_offsets
from .records import DIRECTIONS, LEVELS, STAGE_NAMES, STAGES, TIME_DIRECTIONS, OffsetRecord, OffsetRecords, _require

DENSITIES = (32, 16, 8, 4, 2, 1)  # arrow spacing in LR frame pixels, sparse to dense


class Explorer:
    """What the explorers share: ``defaults`` (every setting's starting value), ``controls`` whose values are the
    settings, a pure and cached :meth:`render`, and a redraw of ``image`` on every change. A subclass checks its own
    settings in ``_check`` and draws them in ``_draw`` (a matplotlib figure, see :meth:`_png`)."""

    defaults: Dict[str, object]
    controls: Dict[str, object]
    _cache: Dict[tuple, bytes]  # settings -> PNG, filled by render

    def settings(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def render(self, settings: dict) -> bytes:
        """The PNG (bytes) the explorer shows for ``settings`` (missing keys take their initial values)."""
        unknown = sorted(set(settings) - set(self.defaults))
        if unknown:
            raise ValueError(f"unknown settings {unknown}; expected {sorted(self.defaults)}")
        s = {**self.defaults, **settings}
        if s["density"] not in DENSITIES:
            raise ValueError(f"density must be an arrow spacing in {DENSITIES} (frame px), got {s['density']!r}")
        s = self._check(s)
        key = tuple(sorted((k, str(v)) for k, v in s.items()))
        if key not in self._cache:
            self._cache[key] = self._draw(s)
        return self._cache[key]

    def _changed(self, change) -> None:
        self.image.value = self.render(self.settings())

    def _check(self, s: dict) -> dict:
        raise NotImplementedError

    def _draw(self, s: dict) -> bytes:
        raise NotImplementedError

    @staticmethod
    def _png(fig, dpi: int) -> bytes:
        """The figure as PNG bytes, the same for the same figure (no software tag)."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()


class OffsetExplorer(Explorer):
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
        needed = 1 + max(r.last_input for r in self.records)
        if len(self.frames) < needed:
            raise ValueError(f"the records need {needed} input frames, got {len(self.frames)}")
        _check_frame(self.frames[0], first)
        width = self.frames.shape[2]
        self.defaults = {"stage": self._stages[0], "pair": self._pair_options(self._stages[0])[0][1], "level": 1,
                         "direction": 1, "group": 0, "tap": "mean",
                         "density": min(DENSITIES, key=lambda d: abs(d - width / 40))}
        self._cache: Dict[tuple, bytes] = {}  # settings -> PNG (render)

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
        """The pair (i, i+1) of an interpolation record, with its moment when the pass made several; the pass and
        step of a ConvLSTM record."""
        if r.stage != "interpolation":
            return (r.time_direction, r.frame)
        return tuple(r.pair) if r.moments == 1 else (*r.pair, r.time)

    def _pair_options(self, stage: str) -> List[tuple]:
        keys = {k[1] for k in self._table if k[0] == stage}
        if stage == "interpolation":
            frames = {self._pair_key(r): r.frame for r in self.records if r.stage == stage}
            return [(f"frames {key[0]} and {key[1]}" + (f" at t = {key[2]:.3g}" if len(key) > 2 else "")
                     + f" (output {frames[key]})", key) for key in sorted(keys)]
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
        super()._changed(change)

    # -- drawing ------------------------------------------------------------------------------------------
    def _check(self, s: dict) -> dict:
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
        s["pair"] = pair
        return s

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
        return self._png(fig, self.dpi)

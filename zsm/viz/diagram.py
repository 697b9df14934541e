"""The network as a diagram, drawn from a real forward pass: each stage's name and the shapes it received and returned.

Book: the introduction (the whole network) and chapters 1-5 (the "you are here" strip at the top).

:func:`trace_network` runs a model once with forward hooks on its four stages and keeps what they were called with
and returned (shapes only); :func:`draw_network` draws that trace, so the picture cannot drift from the code: a stage
renamed, a shape changed or a block added shows in the diagram. :func:`draw_strip` draws the four stages in one row,
one of them highlighted. :func:`draw_pixel_shuffle` shows, in colour, where ``pixel_shuffle`` puts each channel, and
:func:`draw_windows` how a video is cut into the evaluation's windows (traced through :mod:`zsm.upscale`).
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch import Tensor

from .records import _require

__all__ = ["STAGE_TITLES", "StageTrace", "NetworkTrace", "trace_network", "trace_config", "paper_trace", "PAPER_TRACE",
           "draw_network", "draw_strip",
           "pixel_shuffle_sources", "draw_pixel_shuffle", "Window", "trace_windows", "draw_windows", "draw_convlstm", "draw_pcd"]

Shape = Tuple[int, ...]

# The model's four stages (attribute names of zsm.ZoomingSlowMo, in the order they run): title and book chapter.
STAGE_TITLES = {
    "extractor": ("Residual feature extraction", 1),
    "interpolation": ("Frame feature temporal interpolation", 3),
    "convlstm": ("Bidirectional deformable ConvLSTM", 4),
    "reconstruction": ("Pixel-shuffle reconstruction", 5),
}


@dataclass(frozen=True)
class StageTrace:
    """One stage as a forward pass used it.

    ``inputs`` and ``outputs`` are the shapes of the tensors it received and returned, flattened in order (a list
    of pyramid levels gives one shape per level); ``calls`` counts its calls in the pass.
    """

    name: str
    title: str
    chapter: int
    module: str
    parameters: int
    calls: int
    inputs: Tuple[Shape, ...]
    outputs: Tuple[Shape, ...]
    detail: str


@dataclass(frozen=True)
class NetworkTrace:
    """A model's forward pass on one input: the input and output shapes, and every stage in the order it ran."""

    input: Shape
    output: Shape
    stages: Tuple[StageTrace, ...]
    config: object

    def stage(self, name: str) -> StageTrace:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage {name!r}; the stages are {[s.name for s in self.stages]}")


def _shapes(value) -> Tuple[Shape, ...]:
    """Shapes of the tensors in a (nested) tuple or list, in order."""
    if isinstance(value, Tensor):
        return (tuple(value.shape),)
    if isinstance(value, (list, tuple)):
        return tuple(shape for item in value for shape in _shapes(item))
    return ()


def _detail(name: str, config) -> str:
    """What is inside a stage, from the configuration (so it follows the model's sizes)."""
    c, g = config.channels, config.groups
    if name == "extractor":
        blocks = config.extraction_blocks
        return f"conv + {blocks} residual block{'s' * (blocks != 1)}, pyramid L1, L2, L3 (C = {c})"
    if name == "interpolation":
        return f"2 PCD alignments (deformable, G = {g}) + 1x1 blend, per pair"
    if name == "convlstm":
        return "ConvLSTM with deformably aligned h, c; forward + backward, 1x1 fusion"
    if name == "reconstruction":
        skip = ", + bicubic guess (global skip)" if getattr(config, "global_skip", False) else ""
        blocks = config.reconstruction_blocks
        return (f"{blocks} residual block{'s' * (blocks != 1)}, 2 x (conv, pixel shuffle x2), "
                f"{config.hr_channels} HR channels{skip}")
    return ""


def trace_network(model, x: Tensor) -> NetworkTrace:
    """Run ``model`` (a :class:`zsm.ZoomingSlowMo`) on ``x`` once, without gradients, and trace its stages.

    Shape:
        x: (B, T, 3, H, W), as the model takes it.
    """
    calls = {name: [] for name in STAGE_TITLES}
    hooks = []
    for name in STAGE_TITLES:
        module = getattr(model, name, None)
        if module is None:
            raise TypeError(f"{type(model).__name__} has no stage {name!r}: trace_network needs a ZoomingSlowMo")
        hooks.append(module.register_forward_hook(
            lambda mod, args, out, name=name: calls[name].append((_shapes(args), _shapes(out)))))
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    stages = []
    for name in (name for name in STAGE_TITLES if calls[name]):  # in the order they run
        module = getattr(model, name)
        title, chapter = STAGE_TITLES[name]
        inputs, outputs = calls[name][0]
        stages.append(StageTrace(name, title, chapter, type(module).__name__,
                                 sum(p.numel() for p in module.parameters()), len(calls[name]), inputs, outputs,
                                 _detail(name, model.config)))
    return NetworkTrace(tuple(x.shape), tuple(y.shape), tuple(stages), model.config)


# The example input of the book's diagrams: B = 1, T = 4 frames of 64 x 96.
PAPER_INPUT: Shape = (1, 4, 3, 64, 96)


def trace_config(config=None, shape: Shape = PAPER_INPUT) -> NetworkTrace:
    """Trace a network of ``config`` (default: the paper's) on an input of ``shape`` without computing anything.

    The network is built and run on PyTorch's ``meta`` device, which keeps shapes and no values: the paper's network
    traces in a few seconds on a CPU, whatever the input size, and a trace is kept for later calls with the same
    config and shape (it cannot change: the trace and the config are frozen). Its deformable convolutions run on the
    pure backend (they show in :func:`zsm.ops.backend_counts`).
    """
    from ..net import ZSMConfig

    return _trace_config(config or ZSMConfig.paper(), tuple(shape))


@functools.lru_cache(maxsize=8)
def _trace_config(config, shape: Shape) -> NetworkTrace:
    from ..net import ZoomingSlowMo, ops

    with torch.device("meta"), ops.use_backend("pure"):
        model = ZoomingSlowMo(config).eval()
        return trace_network(model, torch.empty(shape))


# The paper's network on 4 frames of 64 x 96, as trace_config() returns it, kept beside this module so that the
# book's diagrams draw it without a trace in every chapter (3-6 s each on a 2-core CPU).
# tests/test_diagram.py checks that it is what trace_config() gives; `python -m zsm.viz.diagram` rewrites it.
PAPER_TRACE = Path(__file__).with_name("paper_trace.json")


def trace_to_dict(trace: NetworkTrace) -> dict:
    """A trace as plain JSON data (the config as its fields)."""
    return {"input": list(trace.input), "output": list(trace.output), "config": asdict(trace.config),
            "stages": [asdict(stage) for stage in trace.stages]}


def trace_from_dict(data: dict) -> NetworkTrace:
    """The inverse of :func:`trace_to_dict`."""
    from ..net import ZSMConfig

    def shapes(items):
        return tuple(tuple(shape) for shape in items)

    stages = tuple(StageTrace(**{**stage, "inputs": shapes(stage["inputs"]), "outputs": shapes(stage["outputs"])})
                   for stage in data["stages"])
    return NetworkTrace(tuple(data["input"]), tuple(data["output"]), stages, ZSMConfig(**data["config"]))


def paper_trace() -> NetworkTrace:
    """The trace of the paper's network (``ZSMConfig.paper()``) on 4 frames of 64 x 96, read from the file shipped
    with the package (:data:`PAPER_TRACE`), which the tests hold equal to ``trace_config()``: what the chapters'
    strips draw, in no time."""
    return trace_from_dict(json.loads(PAPER_TRACE.read_text()))


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _fmt_all(shapes: Tuple[Shape, ...], limit: int = 3) -> str:
    """Distinct shapes in order; a stage that takes two pyramids lists each level once."""
    distinct = list(dict.fromkeys(shapes))
    text = ", ".join(_fmt(s) for s in distinct[:limit])
    return text + (" ..." if len(distinct) > limit else "")


# What the tensors entering each stage are (their layout is fixed by zsm.ZoomingSlowMo.forward).
_ENTERING = {
    "extractor": "every input frame, folded into the batch (B*T)",
    "interpolation": "the pyramids of both frames of every pair (B*(T-1) pairs), L1, L2, L3",
    "convlstm": "F0, I01, F1, I12, ..., F(T-1): input and interpolated features in time order",
    "reconstruction": "the 2T-1 features, folded into the batch",
}

_COLOURS = {"extractor": "#cfe2f3", "interpolation": "#f9cb9c", "convlstm": "#d9ead3", "reconstruction": "#ead1dc"}


def draw_network(trace: NetworkTrace, *, highlight: Optional[str] = None, ax=None, title: bool = True):
    """Draw the traced network top to bottom: the input, each stage as a box (title, chapter, what is inside, its
    module and parameter count), the shapes passed between them, and the output. Returns the figure.

    ``highlight``: a stage name drawn with a heavy outline (the others faded).
    """
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if highlight is not None and highlight not in STAGE_TITLES:
        raise ValueError(f"highlight must be one of {list(STAGE_TITLES)}, got {highlight!r}")
    n = len(trace.stages)
    step, box_h = 1.2, 0.64  # inches per stage (arrow + box), box height
    height = step * n + 1.25
    if ax is None:
        _, ax = plt.subplots(figsize=(9, height))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, height)
    ax.axis("off")
    mono = dict(family="monospace", fontsize=8, color="0.2")
    y = height - 0.2
    ax.text(4.5, y, f"input clip x {_fmt(trace.input)}   (B, T, 3, H, W)", ha="center", va="center",
            **{**mono, "fontsize": 9, "color": "black"})
    for stage in trace.stages:
        top = y - (step - box_h)
        ax.annotate("", xy=(0.9, top + 0.03), xytext=(0.9, y - 0.12), arrowprops=dict(arrowstyle="->", color="0.3"))
        ax.text(1.05, (y + top) / 2 + 0.07, _fmt_all(stage.inputs), ha="left", va="center", **mono)
        ax.text(1.05, (y + top) / 2 - 0.11, _ENTERING.get(stage.name, ""), ha="left", va="center", fontsize=7.5,
                color="0.35", style="italic")
        faded = highlight is not None and stage.name != highlight
        ax.add_patch(FancyBboxPatch((0.4, top - box_h), 8.2, box_h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=_COLOURS.get(stage.name, "#eeeeee"),
                                    edgecolor="0.6" if faded else "black", lw=2.2 if stage.name == highlight else 0.8,
                                    alpha=0.45 if faded else 1.0))
        ink = "0.5" if faded else "black"
        ax.text(0.55, top - 0.14, f"{stage.title}  (chapter {stage.chapter})", ha="left", va="center", fontsize=10,
                weight="bold", color=ink)
        ax.text(0.55, top - 0.34, stage.detail, ha="left", va="center", fontsize=8.5, color=ink)
        ax.text(0.55, top - 0.52, f"{stage.module}: {stage.parameters:,} parameters", ha="left", va="center",
                **{**mono, "fontsize": 7.5, "color": "0.5" if faded else "0.3"})
        y = top - box_h
    out = trace.stages[-1].outputs if trace.stages else ()
    ax.annotate("", xy=(0.9, y - 0.42), xytext=(0.9, y - 0.05), arrowprops=dict(arrowstyle="->", color="0.3"))
    ax.text(1.05, y - 0.23, _fmt_all(out) + "   (then unfolded to the clip)", ha="left", va="center", **mono)
    ax.text(4.5, y - 0.6, f"output clip y {_fmt(trace.output)}   (B, 2T-1, 3, sH, sW)", ha="center", va="center",
            **{**mono, "fontsize": 9, "color": "black"})
    if title:
        cfg = trace.config
        ax.set_title(f"{type(cfg).__name__}(channels={cfg.channels}, groups={cfg.groups}, ...), "
                     f"shapes of one forward pass", fontsize=9)
    return ax.figure


def draw_strip(trace: NetworkTrace, here, *, ax=None, note: Optional[str] = None):
    """The four stages in one row, ``here`` (a stage name, or several) highlighted: a "you are here" strip for the
    top of a chapter.

    Each box names the stage and its chapter; under the strip, the shapes entering and leaving the one highlighted
    stage, or ``note`` when given.
    """
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    names = [s.name for s in trace.stages]
    chosen = (here,) if isinstance(here, str) else tuple(here)
    if not chosen or any(name not in names for name in chosen):
        raise ValueError(f"here must be one or more of {names}, got {here!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 1.35))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 1.35)
    ax.axis("off")
    width, gap = 1.85, 0.37
    left = (9 - len(names) * width - (len(names) - 1) * gap) / 2
    for i, stage in enumerate(trace.stages):
        x0 = left + i * (width + gap)
        mine = stage.name in chosen
        ax.add_patch(FancyBboxPatch((x0, 0.5), width, 0.6, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=_COLOURS.get(stage.name, "#eeeeee"),
                                    edgecolor="black" if mine else "0.65", lw=2.4 if mine else 0.7,
                                    alpha=1.0 if mine else 0.45))
        words = stage.title.split()
        half = (len(words) + 1) // 2
        ax.text(x0 + width / 2, 0.8, " ".join(words[:half]) + "\n" + " ".join(words[half:]), ha="center",
                va="center", fontsize=8, weight="bold" if mine else "normal", color="black" if mine else "0.45")
        ax.text(x0 + width / 2, 1.24, f"chapter {stage.chapter}", ha="center", va="center", fontsize=7,
                color="black" if mine else "0.5")
        if i:
            ax.annotate("", xy=(x0 - 0.03, 0.8), xytext=(x0 - gap + 0.03, 0.8),
                        arrowprops=dict(arrowstyle="->", color="0.4", lw=1))
    if note is None and len(chosen) == 1:
        stage = trace.stage(chosen[0])
        note = f"you are here: {_fmt_all(stage.inputs)}  ->  {_fmt_all(stage.outputs)}"
    ax.text(4.5, 0.2, note or "", ha="center", va="center", fontsize=8, family="monospace")
    return ax.figure


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


def _sequence_names(t: int):
    """F0, I01, F1, I12, ..., F(T-1): the 2T-1 features in time order (zsm.net.model.interleave)."""
    names = []
    for i in range(t):
        names.append(f"F{i}")
        if i < t - 1:
            names.append(f"I{i}{i + 1}" if t <= 10 else f"I{i},{i + 1}")
    return names


def draw_convlstm(trace: NetworkTrace, *, ax=None):
    """The bidirectional deformable ConvLSTM unrolled over the traced sequence of 2T-1 features: the same cell run
    forward and backward in time, each step aligning the previous h and c to its input, and a 1x1 fusion of both
    directions at every step. Returns the figure."""
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    shape = trace.stage("convlstm").inputs[0]  # (B, 2T-1, C, H, W)
    n = shape[1]
    names = _sequence_names((n + 1) // 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.3))
    ax.set_xlim(-1.6, n)
    ax.set_ylim(-0.35, 4.15)
    ax.axis("off")
    rows = {"input": 0.25, "forward": 1.35, "backward": 2.45, "fused": 3.55}
    for label, y in (("features", rows["input"]), ("forward in time", rows["forward"]),
                     ("backward in time", rows["backward"]), ("1x1 fusion", rows["fused"])):
        ax.text(-1.55, y, label, ha="left", va="center", fontsize=8, style="italic")
    arrow = dict(arrowstyle="->", color="0.35", lw=0.9)
    for t, name in enumerate(names):
        x = t + 0.5
        interpolated = name.startswith("I")
        ax.add_patch(FancyBboxPatch((x - 0.36, rows["input"] - 0.2), 0.72, 0.4, boxstyle="round,pad=0.02",
                                    facecolor="#f9cb9c" if interpolated else "#cfe2f3", edgecolor="0.4", lw=0.7))
        ax.text(x, rows["input"], name, ha="center", va="center", fontsize=8)
        for direction in ("forward", "backward"):
            y = rows[direction]
            ax.add_patch(FancyBboxPatch((x - 0.36, y - 0.22), 0.72, 0.44, boxstyle="round,pad=0.02",
                                        facecolor="#d9ead3", edgecolor="0.3", lw=0.8))
            ax.text(x, y, "cell", ha="center", va="center", fontsize=7.5)
        ax.add_patch(FancyBboxPatch((x - 0.36, rows["fused"] - 0.2), 0.72, 0.4, boxstyle="round,pad=0.02",
                                    facecolor="#ead1dc", edgecolor="0.4", lw=0.7))
        ax.text(x, rows["fused"], f"out {t}", ha="center", va="center", fontsize=7.5)
        # the input feeds both directions; both directions' h feed the fusion (lines beside the boxes)
        line = dict(color="0.45", lw=0.9)
        ax.annotate("", xy=(x, rows["forward"] - 0.24), xytext=(x, rows["input"] + 0.22), arrowprops=arrow)
        ax.plot([x + 0.45, x + 0.45], [rows["input"] + 0.05, rows["backward"] - 0.1], **line)
        ax.plot([x + 0.36, x + 0.45], [rows["input"] + 0.05, rows["input"] + 0.05], **line)
        ax.annotate("", xy=(x + 0.37, rows["backward"] - 0.1), xytext=(x + 0.46, rows["backward"] - 0.1),
                    arrowprops=arrow)
        ax.annotate("", xy=(x, rows["fused"] - 0.22), xytext=(x, rows["backward"] + 0.24), arrowprops=arrow)
        ax.plot([x - 0.45, x - 0.45], [rows["forward"] + 0.1, rows["fused"] - 0.05], **line)
        ax.plot([x - 0.45, x - 0.36], [rows["forward"] + 0.1, rows["forward"] + 0.1], **line)
        ax.annotate("", xy=(x - 0.37, rows["fused"] - 0.05), xytext=(x - 0.46, rows["fused"] - 0.05),
                    arrowprops=arrow)
        if t:
            ax.annotate("", xy=(x - 0.38, rows["forward"] - 0.08), xytext=(x - 0.62, rows["forward"] - 0.08),
                        arrowprops=dict(arrow, color="#38761d", lw=1.4))
        if t < n - 1:
            ax.annotate("", xy=(x + 0.38, rows["backward"] + 0.08), xytext=(x + 0.62, rows["backward"] + 0.08),
                        arrowprops=dict(arrow, color="#38761d", lw=1.4))
    ax.set_title(f"the ConvLSTM unrolled over the {n} features of one window {_fmt(shape)}; green: h and c, aligned "
                 "to the next input before each step", fontsize=8.5)
    return ax.figure


def draw_pcd(trace: NetworkTrace, *, ax=None):
    """One PCD alignment, coarse to fine, with the pyramid sizes of the traced pass: at each level the offset
    feature o^l is computed from both frames' features (and, below L3, from the coarser o upsampled and doubled),
    the DCN samples the feature being aligned, and below L3 the result is fused with the coarser aligned feature
    upsampled. Returns the figure."""
    _require("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    levels = trace.stage("extractor").outputs  # L1, L2, L3: (B*T, C, h, w)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 3.6)
    ax.axis("off")
    arrow = dict(arrowstyle="->", color="0.3", lw=1)
    up = dict(arrowstyle="->", color="#b45f06", lw=1.3)
    rows = {3: 2.95, 2: 1.75, 1: 0.55}

    def box(x, y, w, text, colour):
        ax.add_patch(FancyBboxPatch((x, y - 0.25), w, 0.5, boxstyle="round,pad=0.02", facecolor=colour,
                                    edgecolor="0.35", lw=0.8))
        ax.text(x + w / 2, y, text, ha="center", va="center", fontsize=8)

    for level in (3, 2, 1):
        y = rows[level]
        _, c, h, w = levels[level - 1]
        ax.text(0.05, y + 0.12, f"L{level}", fontsize=10, weight="bold", va="center")
        ax.text(0.05, y - 0.14, f"{c} x {h} x {w}", fontsize=7, va="center", family="monospace")
        box(1.15, y, 1.5, f"[$a^{level}$, $b^{level}$]", "#cfe2f3")
        box(3.2, y, 1.75, f"convs: offset feature $o^{level}$", "#fff2cc")
        box(5.5, y, 1.4, f"DCN($a^{level}$; $o^{level}$)", "#f9cb9c")
        box(7.4, y, 1.5, f"aligned $\\hat a^{level}$" if level == 3 else f"fuse with $\\uparrow \\hat a^{level + 1}$",
            "#d9ead3")
        ax.annotate("", xy=(3.18, y), xytext=(2.67, y), arrowprops=arrow)
        ax.annotate("", xy=(5.48, y), xytext=(4.97, y), arrowprops=arrow)
        ax.annotate("", xy=(7.38, y), xytext=(6.92, y), arrowprops=arrow)
        if level < 3:  # the cascade: coarser offset feature and aligned feature come down, upsampled
            above = rows[level + 1]
            ax.annotate("", xy=(4.05, y + 0.27), xytext=(4.05, above - 0.27), arrowprops=up)
            ax.text(4.12, (y + above) / 2, "$2 \\cdot \\uparrow o$", fontsize=8, color="#b45f06", va="center")
            ax.annotate("", xy=(8.15, y + 0.27), xytext=(8.15, above - 0.27), arrowprops=up)
            ax.text(8.22, (y + above) / 2, "$\\uparrow \\hat a$", fontsize=8, color="#b45f06", va="center")
    ax.text(8.15, 0.1, "to the blend (chapter 3)", ha="center", va="center", fontsize=7.5, style="italic")
    ax.set_title("one PCD alignment: offsets found at L3 first and refined at L2 and L1 (orange: the cascade, "
                 "bilinear x2)", fontsize=8.5)
    return ax.figure


if __name__ == "__main__":  # python -m zsm.viz.diagram: rewrite PAPER_TRACE from a fresh trace
    from ..outputs import atomic_file

    with atomic_file(PAPER_TRACE, overwrite=True) as partial:
        Path(partial).write_text(json.dumps(trace_to_dict(trace_config()), indent=1) + "\n")
    print(f"wrote {PAPER_TRACE}")

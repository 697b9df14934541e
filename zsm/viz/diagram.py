"""The network as diagrams drawn from a trace of a real forward pass (:mod:`zsm.viz.trace`).

Book: the introduction (the whole network), chapters 1-5 (the "you are here" strip at the top), chapter 3 (one PCD
alignment) and chapter 4 (the ConvLSTM unrolled).

:func:`draw_network` draws the stages top to bottom with the shapes passed between them; :func:`draw_strip` draws
the four stages in one row, one of them highlighted; :func:`draw_pcd` and :func:`draw_convlstm` draw the inside of
a stage with the sizes of the traced pass.
"""
from __future__ import annotations

from typing import Optional, Tuple

from .records import _require
from .trace import STAGE_TITLES, NetworkTrace, Shape

__all__ = ["draw_network", "draw_strip", "draw_convlstm", "draw_pcd"]


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

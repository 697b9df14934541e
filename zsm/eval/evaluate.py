"""Evaluation with the paper's protocol, for the network and the baselines alike.

Book: chapters 0 and 7.

A clip is a pair (LR inputs (T, h, w, 3), HR ground truth (2T-1, sh, sw, 3)), uint8. A method (the network or a
baseline: anything that maps (B, T, 3, h, w) in [0, 1] to (B, 2T-1, 3, sh, sw)) runs over the clip in windows of
4 inputs that share one frame (:func:`zsm.upscale.upscale_frames`), so each output frame is produced and scored
once. Each output frame is rounded to 8 bits and scored by PSNR and SSIM on the Y channel (BT.601, MATLAB's
``rgb2ycbcr``), without border crop; scores are averaged over the frames of a clip, then over clips. Input
frames (even outputs) and interpolated frames (odd outputs) are also averaged separately.

Any moment between two frames (chapter 8): given ``times``, k moments in (0, 1), a method makes T + (T-1)k frames
and the truth holds as many (:func:`zsm.data.make_pair` with ``factor=N`` for the moments 1/N, ..., (N-1)/N). Input
frames are then outputs ``i(k+1)``, the frame at moment j of each pair ``i(k+1) + j``; "interpolated" averages all
the in-between frames, and ``ClipScore.per_time`` scores each moment apart (for 2x, the one moment "0.5").
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, fields
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from ..net.model import moments_of
from ..outputs import atomic_file
from ..upscale import factor_times, upscale_frames
from .metrics import psnr_y, ssim_y

__all__ = ["ClipScore", "score_frames", "evaluate_clip", "evaluate", "summarise", "format_table", "save_table",
           "held_out_validator", "time_label"]


def time_label(t: float) -> str:
    """A moment between two frames as the key of ``ClipScore.per_time``: 0.25 -> "0.25", 1/3 -> "0.3333"."""
    return f"{float(t):.4g}"


@dataclass
class ClipScore:
    """Scores of one method on one clip (dB for PSNR), and its speed in output frames per second.

    ``per_time`` scores the frames of each moment between two inputs apart: {:func:`time_label` of t:
    {"psnr_y": ..., "ssim_y": ...}}, in time order (2x: the one moment "0.5", the interpolated frames).
    ``outputs`` holds the T + (T-1)k output frames that were scored, (sH, sW, 3) uint8, when the evaluation was asked
    to keep them (``keep_outputs=True``), else None; it is not part of :meth:`as_dict`.
    """

    method: str
    clip: str
    frames: int
    psnr_y: float
    ssim_y: float
    psnr_y_input: float
    psnr_y_interp: float
    ssim_y_input: float
    ssim_y_interp: float
    fps: float
    per_time: Dict[str, Dict[str, float]] = field(default_factory=dict)
    outputs: Optional[List[np.ndarray]] = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        """The scores and labels (everything but ``outputs``)."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outputs"}
        row["per_time"] = {t: dict(scores) for t, scores in self.per_time.items()}
        return row


def score_frames(outputs: List[np.ndarray], truth: np.ndarray, ssim: bool = True, moments: int = 1) -> dict:
    """Per-frame PSNR-Y / SSIM-Y of T + (T-1)k outputs against the truth, averaged: all, input and interpolated
    frames, and the frames of each moment apart.

    Args:
        outputs: T + (T-1)k frames (sH, sW, 3) uint8 in time order: input i at i(k+1), the frame at moment j
            (1..k) after it at i(k+1) + j. For 2x (k = 1): 2T-1 frames, inputs even, interpolated odd.
        truth: (T + (T-1)k, sH, sW, 3) uint8.
        ssim (bool): also compute SSIM-Y (slower). Default: True.
        moments (int): k, frames between two inputs. Default: 1.

    Returns:
        {"psnr_y", "ssim_y", "psnr_y_input", "psnr_y_interp", "ssim_y_input", "ssim_y_interp": float,
        "per_moment": k dicts {"psnr_y", "ssim_y"}, moment 1 first}.

    Raises:
        ValueError: a count of outputs other than the truth's, or not T + (T-1)k with T >= 2; ``moments`` < 1.
    """
    if isinstance(moments, bool) or not isinstance(moments, (int, np.integer)) or moments < 1:
        raise ValueError(f"moments must be a whole number >= 1 (frames between two inputs), got {moments!r}")
    if len(outputs) != len(truth):
        raise ValueError(f"{len(outputs)} output frames but {len(truth)} ground-truth frames")
    per = moments + 1
    if len(truth) < per + 1 or (len(truth) - 1) % per:
        raise ValueError(f"{len(truth)} frames are not T + (T-1)k for T >= 2 inputs and k = {moments} frames between "
                         f"two ({per + 1}, {2 * per + 1}, ...)")
    psnrs = np.array([psnr_y(o, t) for o, t in zip(outputs, truth)])
    ssims = np.array([ssim_y(o, t) for o, t in zip(outputs, truth)]) if ssim else np.full(len(truth), np.nan)
    between = np.arange(len(truth)) % per != 0  # the interpolated frames
    return {
        "psnr_y": float(psnrs.mean()), "ssim_y": float(ssims.mean()),
        "psnr_y_input": float(psnrs[0::per].mean()), "psnr_y_interp": float(psnrs[between].mean()),
        "ssim_y_input": float(ssims[0::per].mean()), "ssim_y_interp": float(ssims[between].mean()),
        "per_moment": [{"psnr_y": float(psnrs[j::per].mean()), "ssim_y": float(ssims[j::per].mean())}
                       for j in range(1, per)],
    }


def evaluate_clip(method, lr: np.ndarray, hr: np.ndarray, name: str = "method", clip: str = "clip",
                  window: int = 4, tile: Optional[int] = None, ssim: bool = True, device=None,
                  keep_outputs: bool = False, times=None) -> ClipScore:
    """Run ``method`` over one clip with the paper's protocol and score it.

    Args:
        method: the network or a baseline (see the module docstring).
        lr: (T, h, w, 3) uint8 inputs, T >= 2.
        hr: (2T-1, sh, sw, 3) uint8 ground truth; with k ``times``, (T + (T-1)k, sh, sw, 3).
        name, clip: labels for the result.
        window (int): inputs per forward pass. Paper: 4.
        tile (int, optional): spatial tiles (see :func:`zsm.upscale.upscale_window`).
        ssim (bool): also compute SSIM-Y.
        device: where to run; default: the method's own.
        keep_outputs (bool): keep the scored output frames in ``ClipScore.outputs`` (e.g. to look at them or
            score them frame by frame without running the method again). Default: False.
        times: the k moments to make between each pair of inputs (:func:`zsm.upscale.upscale_frames`), e.g.
            (0.25, 0.5, 0.75); the method must take them (a time-modulated network, the baselines). Default: None,
            the frame half-way alone.

    Raises:
        ValueError: shapes that do not match (an HR length other than T + (T-1)k), bad ``times`` (or TypeError).
    """
    moments = moments_of(times)  # the k moments
    k = len(moments)
    if len({time_label(t) for t in moments}) != k:
        raise ValueError(f"the moments {moments} are too close to be told apart in the scores (4 digits)")
    if lr.ndim != 4 or hr.ndim != 4 or len(hr) != len(lr) + (len(lr) - 1) * k:
        shape = "2T-1" if k == 1 else f"T + (T-1)k with k = {k}"
        raise ValueError(f"expected LR (T, h, w, 3) and HR ({shape}, sh, sw, 3), got {lr.shape} and {hr.shape}")
    start = time.perf_counter()
    outputs = list(upscale_frames(method, iter(lr), window=window, tile=tile, device=device, times=times))
    seconds = time.perf_counter() - start
    if outputs[0].shape != hr.shape[1:]:
        raise ValueError(f"the method gave frames of {outputs[0].shape}, the ground truth is {hr.shape[1:]}")
    scores = score_frames(outputs, hr, ssim, moments=k)
    per_time = {time_label(t): s for t, s in zip(moments, scores.pop("per_moment"))}
    return ClipScore(method=name, clip=clip, frames=len(outputs), fps=len(outputs) / seconds, per_time=per_time,
                     outputs=outputs if keep_outputs else None, **scores)


def evaluate(methods: Mapping[str, object], clips: Mapping[str, Tuple[np.ndarray, np.ndarray]], window: int = 4,
             tile: Optional[int] = None, ssim: bool = True, progress=None,
             keep_outputs: bool = False, times=None) -> List[ClipScore]:
    """Every method on every clip: a list of :class:`ClipScore`, clips in order, methods in order.

    ``keep_outputs=True`` keeps every method's output frames in its ``ClipScore.outputs``; ``times`` asks every
    method for those moments between two inputs, and the clips' truth must hold them (see :func:`evaluate_clip`)."""
    scores = []
    for clip, (lr, hr) in clips.items():
        for name, method in methods.items():
            if progress is not None:
                progress(f"{name} on {clip} ({len(lr)} inputs of {lr.shape[2]}x{lr.shape[1]})")
            scores.append(evaluate_clip(method, lr, hr, name, clip, window, tile, ssim, keep_outputs=keep_outputs,
                                        times=times))
    return scores


def summarise(scores: Iterable[ClipScore]) -> List[dict]:
    """Per-clip rows plus, for each method, an "average" row: scores averaged over clips (frames/s over frames;
    ``per_time`` moment by moment, over the clips that have it)."""
    scores = list(scores)
    rows = [s.as_dict() for s in scores]
    for method in dict.fromkeys(s.method for s in scores):
        mine = [s for s in scores if s.method == method]
        row = {"method": method, "clip": "average", "frames": sum(s.frames for s in mine)}
        for key in ("psnr_y", "ssim_y", "psnr_y_input", "psnr_y_interp", "ssim_y_input", "ssim_y_interp"):
            row[key] = float(np.mean([getattr(s, key) for s in mine]))
        row["fps"] = row["frames"] / sum(s.frames / s.fps for s in mine)
        labels = dict.fromkeys(t for s in mine for t in s.per_time)
        row["per_time"] = {t: {key: float(np.mean([s.per_time[t][key] for s in mine if t in s.per_time]))
                               for key in ("psnr_y", "ssim_y")} for t in labels}
        rows.append(row)
    return rows


def _moments_of(rows: List[dict]) -> List[str]:
    """The labels of the moments the rows were scored at, in order of first appearance."""
    return list(dict.fromkeys(t for r in rows for t in r.get("per_time", {})))


def format_table(rows: List[dict]) -> str:
    """A plain-text table of :func:`summarise` rows; with more than one moment between two inputs, a column
    "PSNR-Y t=0.25" for each moment after "PSNR-Y interp"."""
    moments = _moments_of(rows)
    moments = moments if len(moments) > 1 else []
    header = (["clip", "method", "frames", "PSNR-Y", "SSIM-Y", "PSNR-Y in", "PSNR-Y interp"]
              + [f"PSNR-Y t={t}" for t in moments] + ["frames/s"])
    lines = [header]
    for r in rows:
        at = r.get("per_time", {})
        lines.append([r["clip"], r["method"], str(r["frames"]), f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}",
                      f"{r['psnr_y_input']:.2f}", f"{r['psnr_y_interp']:.2f}"]
                     + [f"{at[t]['psnr_y']:.2f}" if t in at else "n/a" for t in moments] + [f"{r['fps']:.2f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows: List[dict], columns: Dict[str, str], names: Optional[Dict[str, str]] = None) -> str:
    """Rows of scores (e.g. :func:`summarise`'s) as a Markdown table, for a notebook's ``display(Markdown(...))``.

    Args:
        rows: dicts of scores.
        columns: {key of a row: its column heading}, in column order. Values are written as they are measured:
            PSNR with 2 decimals, SSIM with 4, frames/s with 2, whole numbers and text as they are; a score not
            computed (NaN) as "n/a". Text columns are aligned left, numbers right.
        names: {text value: what to show instead} (e.g. short method names); default: none.
    """
    names = names or {}

    def cell(key: str, value) -> str:
        if isinstance(value, float):
            if not math.isfinite(value):
                return "n/a"
            return f"{value:.4f}" if key.startswith("ssim") else f"{value:.2f}"
        return str(names.get(value, value)).replace("|", "\\|")

    lines = ["| " + " | ".join(columns.values()) + " |",
             "|" + "|".join("---" if rows and isinstance(rows[0][key], str) else "---:" for key in columns) + "|"]
    lines += ["| " + " | ".join(cell(key, row[key]) for key in columns) + " |" for row in rows]
    return "\n".join(lines)


def save_table(rows: List[dict], path, window: int = 4, overwrite: bool = False,
               extra: Optional[Dict[str, list]] = None) -> None:
    """:func:`summarise` rows as strict JSON (a score not computed, e.g. SSIM with ``ssim=False``, is ``null``, also
    inside ``per_time``), written atomically, with the protocol they were measured with (and the moments, when
    there are several between two inputs), and any ``extra`` tables beside them (e.g. ``{"offsets": [...]}``).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False. OSError: it cannot be written.
    """
    def value(v):
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        return None if isinstance(v, float) and not math.isfinite(v) else v

    def strict(table):
        return [value(r) for r in table]

    protocol = f"PSNR/SSIM on Y (BT.601), 8-bit, no border crop, windows of {window} inputs sharing one frame"
    moments = _moments_of(rows)
    if len(moments) > 1:
        protocol += f", {len(moments)} frames between two inputs at t = {', '.join(moments)}"
    table = {"rows": strict(rows), "protocol": protocol}
    table.update({name: strict(t) for name, t in (extra or {}).items()})
    with atomic_file(path, overwrite) as tmp:
        tmp.write_text(json.dumps(table, indent=1, allow_nan=False))


def held_out_validator(clip, frames: int = 7, time_factor: int = 2):
    """``validate(model) -> {"psnr_y", "psnr_y_input", "psnr_y_interp"}`` on the first ``frames`` frames (odd) of
    a held-out clip (a video file or frame folder, or a range of one: ``PATH:START-STOP``), for
    :func:`zsm.training.train`'s ``validate``.

    With ``time_factor`` N > 2 the inputs are every N-th frame (``frames`` = (T-1)N + 1), the model makes the moments
    1/N, ..., (N-1)/N between them (it must be time-modulated), and the scores also hold one ``"psnr_y_t0.25"``-style
    key per moment (:func:`time_label`).

    Raises:
        ValueError: ``frames`` that do not fit ``time_factor`` (:func:`zsm.data.make_pair`), a clip too short.
    """
    from ..data.datasets import make_pair
    from ..data.footage import load_clip

    lr, hr = make_pair(load_clip(clip, 0, frames), factor=time_factor)
    times = factor_times(time_factor)

    def validate(model) -> Dict[str, float]:
        s = evaluate_clip(model, lr, hr, ssim=False, times=times)
        scores = {"psnr_y": s.psnr_y, "psnr_y_input": s.psnr_y_input, "psnr_y_interp": s.psnr_y_interp}
        if times is not None:
            scores.update({f"psnr_y_t{t}": at["psnr_y"] for t, at in s.per_time.items()})
        return scores

    return validate

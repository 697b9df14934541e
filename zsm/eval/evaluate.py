"""Evaluation with the paper's protocol, for the network and the baselines alike.

Book: chapters 0 and 7.

A clip is a pair (LR inputs (T, h, w, 3), HR ground truth (2T-1, sh, sw, 3)), uint8. A method (the network or a
baseline: anything that maps (B, T, 3, h, w) in [0, 1] to (B, 2T-1, 3, sh, sw)) runs over the clip in windows of
4 inputs that share one frame (:func:`zsm.upscale.upscale_frames`), so each output frame is produced and scored
once. Each output frame is rounded to 8 bits and scored by PSNR and SSIM on the Y channel (BT.601, MATLAB's
``rgb2ycbcr``), without border crop; scores are averaged over the frames of a clip, then over clips. Input
frames (even outputs) and interpolated frames (odd outputs) are also averaged separately.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, fields
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from ..outputs import atomic_file
from ..upscale import upscale_frames
from .metrics import psnr_y, ssim_y

__all__ = ["ClipScore", "score_frames", "evaluate_clip", "evaluate", "summarise", "format_table", "save_table", "held_out_validator"]


@dataclass
class ClipScore:
    """Scores of one method on one clip (dB for PSNR), and its speed in output frames per second.

    ``outputs`` holds the 2T-1 output frames that were scored, (sH, sW, 3) uint8, when the evaluation was asked to
    keep them (``keep_outputs=True``), else None; it is not part of :meth:`as_dict`.
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
    outputs: Optional[List[np.ndarray]] = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        """The scores and labels (everything but ``outputs``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outputs"}


def score_frames(outputs: List[np.ndarray], truth: np.ndarray, ssim: bool = True) -> Dict[str, float]:
    """Per-frame PSNR-Y / SSIM-Y of 2T-1 outputs against the truth, averaged: all, input and interpolated frames.

    Args:
        outputs: 2T-1 frames (sH, sW, 3) uint8.
        truth: (2T-1, sH, sW, 3) uint8.
        ssim (bool): also compute SSIM-Y (slower). Default: True.
    """
    if len(outputs) != len(truth):
        raise ValueError(f"{len(outputs)} output frames but {len(truth)} ground-truth frames")
    psnrs = np.array([psnr_y(o, t) for o, t in zip(outputs, truth)])
    ssims = np.array([ssim_y(o, t) for o, t in zip(outputs, truth)]) if ssim else np.full(len(truth), np.nan)
    return {
        "psnr_y": float(psnrs.mean()), "ssim_y": float(ssims.mean()),
        "psnr_y_input": float(psnrs[0::2].mean()), "psnr_y_interp": float(psnrs[1::2].mean()),
        "ssim_y_input": float(ssims[0::2].mean()), "ssim_y_interp": float(ssims[1::2].mean()),
    }


def evaluate_clip(method, lr: np.ndarray, hr: np.ndarray, name: str = "method", clip: str = "clip",
                  window: int = 4, tile: Optional[int] = None, ssim: bool = True, device=None,
                  keep_outputs: bool = False) -> ClipScore:
    """Run ``method`` over one clip with the paper's protocol and score it.

    Args:
        method: the network or a baseline (see the module docstring).
        lr: (T, h, w, 3) uint8 inputs, T >= 2.
        hr: (2T-1, sh, sw, 3) uint8 ground truth.
        name, clip: labels for the result.
        window (int): inputs per forward pass. Paper: 4.
        tile (int, optional): spatial tiles (see :func:`zsm.upscale.upscale_window`).
        ssim (bool): also compute SSIM-Y.
        device: where to run; default: the method's own.
        keep_outputs (bool): keep the scored output frames in ``ClipScore.outputs`` (e.g. to look at them or
            score them frame by frame without running the method again). Default: False.
    """
    if lr.ndim != 4 or hr.ndim != 4 or len(hr) != 2 * len(lr) - 1:
        raise ValueError(f"expected LR (T, h, w, 3) and HR (2T-1, sh, sw, 3), got {lr.shape} and {hr.shape}")
    start = time.perf_counter()
    outputs = list(upscale_frames(method, iter(lr), window=window, tile=tile, device=device))
    seconds = time.perf_counter() - start
    if outputs[0].shape != hr.shape[1:]:
        raise ValueError(f"the method gave frames of {outputs[0].shape}, the ground truth is {hr.shape[1:]}")
    return ClipScore(method=name, clip=clip, frames=len(outputs), fps=len(outputs) / seconds,
                     outputs=outputs if keep_outputs else None, **score_frames(outputs, hr, ssim))


def evaluate(methods: Mapping[str, object], clips: Mapping[str, Tuple[np.ndarray, np.ndarray]], window: int = 4,
             tile: Optional[int] = None, ssim: bool = True, progress=None,
             keep_outputs: bool = False) -> List[ClipScore]:
    """Every method on every clip: a list of :class:`ClipScore`, clips in order, methods in order.

    ``keep_outputs=True`` keeps every method's output frames in its ``ClipScore.outputs``
    (see :func:`evaluate_clip`)."""
    scores = []
    for clip, (lr, hr) in clips.items():
        for name, method in methods.items():
            if progress is not None:
                progress(f"{name} on {clip} ({len(lr)} inputs of {lr.shape[2]}x{lr.shape[1]})")
            scores.append(evaluate_clip(method, lr, hr, name, clip, window, tile, ssim, keep_outputs=keep_outputs))
    return scores


def summarise(scores: Iterable[ClipScore]) -> List[dict]:
    """Per-clip rows plus, for each method, an "average" row: scores averaged over clips (frames/s over frames)."""
    scores = list(scores)
    rows = [s.as_dict() for s in scores]
    for method in dict.fromkeys(s.method for s in scores):
        mine = [s for s in scores if s.method == method]
        row = {"method": method, "clip": "average", "frames": sum(s.frames for s in mine)}
        for key in ("psnr_y", "ssim_y", "psnr_y_input", "psnr_y_interp", "ssim_y_input", "ssim_y_interp"):
            row[key] = float(np.mean([getattr(s, key) for s in mine]))
        row["fps"] = row["frames"] / sum(s.frames / s.fps for s in mine)
        rows.append(row)
    return rows


def format_table(rows: List[dict]) -> str:
    """A plain-text table of :func:`summarise` rows."""
    header = ["clip", "method", "frames", "PSNR-Y", "SSIM-Y", "PSNR-Y in", "PSNR-Y interp", "frames/s"]
    lines = [header]
    for r in rows:
        lines.append([r["clip"], r["method"], str(r["frames"]), f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}",
                      f"{r['psnr_y_input']:.2f}", f"{r['psnr_y_interp']:.2f}", f"{r['fps']:.2f}"])
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
    """:func:`summarise` rows as strict JSON (a score not computed, e.g. SSIM with ``ssim=False``, is ``null``),
    written atomically, with the protocol they were measured with, and any ``extra`` tables beside them (e.g.
    ``{"offsets": [...]}``).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False. OSError: it cannot be written.
    """
    def strict(table):
        return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in table]

    table = {"rows": strict(rows), "protocol": "PSNR/SSIM on Y (BT.601), 8-bit, no border crop, "
             f"windows of {window} inputs sharing one frame"}
    table.update({name: strict(t) for name, t in (extra or {}).items()})
    with atomic_file(path, overwrite) as tmp:
        tmp.write_text(json.dumps(table, indent=1, allow_nan=False))


def held_out_validator(clip, frames: int = 7):
    """``validate(model) -> {"psnr_y", "psnr_y_input", "psnr_y_interp"}`` on the first ``frames`` frames (odd) of
    a held-out clip (a video file or frame folder, or a range of one: ``PATH:START-STOP``), for
    :func:`zsm.training.train`'s ``validate``."""
    from ..data.datasets import make_pair
    from ..data.footage import load_clip

    lr, hr = make_pair(load_clip(clip, 0, frames))

    def validate(model) -> Dict[str, float]:
        s = evaluate_clip(model, lr, hr, ssim=False)
        return {"psnr_y": s.psnr_y, "psnr_y_input": s.psnr_y_input, "psnr_y_interp": s.psnr_y_interp}

    return validate

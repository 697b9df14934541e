"""The clips to score on, assembled as the paper's protocol says: Vid4, the Vimeo-90K test septuplets, real footage.

Book: chapters 7 and 8.

Every clip is a pair (LR inputs (T, h, w, 3), HR ground truth (2T-1, sh, sw, 3)), uint8, named
``"vid4/<clip>"``, ``"vimeo/<septuplet>"`` or ``"footage/<file stem>"``. With ``time_factor`` N the inputs are
every N-th frame and the truth holds the (T-1)N + 1 frames they span: the N - 1 frames between two inputs are the
truth at the moments 1/N, ..., (N-1)/N (chapter 8); N = 2 is the paper's protocol.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..data.datasets import load_vid4, load_vimeo_septuplet, make_pair, vid4_clips, vimeo_septuplets
from ..data.footage import load_clip
from ..upscale import factor_times

__all__ = ["vid4_set", "vimeo_set", "footage_set", "evaluation_clips"]

Clips = Dict[str, Tuple[np.ndarray, np.ndarray]]

SEPTUPLET = 7  # frames of a Vimeo-90K septuplet


def _check_factor(time_factor) -> int:
    factor_times(time_factor)  # ValueError unless a whole number >= 2
    return int(time_factor)


def vid4_set(root, clips: Optional[Sequence[str]] = None, time_factor: int = 2) -> Clips:
    """Vid4 clips: the inputs are the even 0-based frames of the LR sequence (every ``time_factor``-th), the truth
    every HR frame they span."""
    factor = _check_factor(time_factor)
    out = {}
    for name in clips or vid4_clips(root):
        lr, gt = load_vid4(root, name)
        t = (len(lr) - 1) // factor + 1  # inputs 0, N, 2N, ... as far as the frames go
        out[f"vid4/{name}"] = (lr[0::factor][:t], gt[: (t - 1) * factor + 1])
    return out


def vimeo_set(root, names_file=None, limit: int = 0, time_factor: int = 2) -> Clips:
    """The Vimeo-90K test septuplets (only those listed in ``names_file``, e.g. the Fast/Medium/Slow lists, when
    given; at most ``limit`` of them when > 0), each made into the paper's pair; with ``time_factor`` 3, inputs
    frames 0, 3, 6 (6: frames 0 and 6).

    Raises:
        FileNotFoundError, ValueError: a missing list or folder, a list that is not a text file; a ``time_factor``
            that does not divide the 6 intervals of a septuplet (2, 3 or 6).
    """
    factor = _check_factor(time_factor)
    if (SEPTUPLET - 1) % factor:
        raise ValueError(f"a Vimeo-90K septuplet has {SEPTUPLET} frames, so its inputs can be every 2nd, 3rd or 6th "
                         f"frame: the time factor must be 2, 3 or 6, got {factor}")
    names = vimeo_septuplets(root, "test")
    if names_file:
        listing = Path(names_file)
        if not listing.is_file():
            raise FileNotFoundError(f"no septuplet list file {listing}")
        wanted = {line.strip() for line in listing.read_text().splitlines() if line.strip()}
        names = [n for n in names if n in wanted]
    return {f"vimeo/{name}": make_pair(load_vimeo_septuplet(root, name), factor=factor)
            for name in names[: limit or None]}


def footage_set(folder, clips: Optional[Sequence[str]] = None, frames: int = 15, time_factor: int = 2) -> Clips:
    """The first ``frames`` frames (odd) of each ``.mp4`` in ``folder`` (or of the named ones), LR made from the even
    frames by MATLAB-style bicubic; with ``time_factor`` N, from every N-th frame (``frames`` = (T-1)N + 1).

    Raises:
        ValueError: ``frames`` even or < 3 (with N: not (T-1)N + 1 for T >= 2), or no clip in the folder.
    """
    factor = _check_factor(time_factor)
    if factor == 2 and (frames < 3 or frames % 2 == 0):
        raise ValueError(f"frames must be odd and at least 3 (2T-1 HR frames), got {frames}")
    if factor != 2 and (frames < factor + 1 or (frames - 1) % factor):
        raise ValueError(f"with time factor {factor}, frames must be (T-1)*{factor}+1 HR frames ({factor + 1}, "
                         f"{2 * factor + 1}, {3 * factor + 1}, ...), got {frames}")
    folder = Path(folder)
    paths = [folder / f"{n}.mp4" for n in clips] if clips else sorted(folder.glob("*.mp4"))
    if not paths:
        raise ValueError(f"no .mp4 clips in {folder}; run `python -m zsm data` first")
    return {f"footage/{p.stem}": make_pair(load_clip(p, 0, frames), factor=factor) for p in paths}


def evaluation_clips(vid4=None, vimeo=None, vimeo_list=None, limit: int = 0, footage=None,
                     clips: Optional[Sequence[str]] = None, frames: int = 15, time_factor: int = 2) -> Clips:
    """Every clip asked for, in the order Vid4, Vimeo, footage; the footage of ``data/`` when nothing is given.

    Args:
        vid4, vimeo, footage: the data sets' folders (any of them).
        vimeo_list, limit: see :func:`vimeo_set`.
        clips: names of Vid4 clips when ``vid4`` is given, else of footage clips (file stems).
        frames (int): HR frames of each footage clip (odd; with ``time_factor`` N, (T-1)N + 1).
        time_factor (int): N, HR frames per input interval: the truth holds the moments 1/N, ..., (N-1)/N between
            two inputs. Default: 2, the paper's protocol.
    """
    out: Clips = {}
    if vid4:
        out.update(vid4_set(vid4, clips, time_factor))
    if vimeo:
        out.update(vimeo_set(vimeo, vimeo_list, limit, time_factor))
    if footage or not out:
        out.update(footage_set(footage or "data", clips if not vid4 else None, frames, time_factor))
    return out

"""The clips to score on, assembled as the paper's protocol says: Vid4, the Vimeo-90K test septuplets, real footage.

Book: chapter 7.

Every clip is a pair (LR inputs (T, h, w, 3), HR ground truth (2T-1, sh, sw, 3)), uint8, named
``"vid4/<clip>"``, ``"vimeo/<septuplet>"`` or ``"footage/<file stem>"``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..data.datasets import load_vid4, load_vimeo_septuplet, make_pair, vid4_clips, vimeo_septuplets
from ..data.footage import load_clip

__all__ = ["vid4_set", "vimeo_set", "footage_set", "evaluation_clips"]

Clips = Dict[str, Tuple[np.ndarray, np.ndarray]]


def vid4_set(root, clips: Optional[Sequence[str]] = None) -> Clips:
    """Vid4 clips: the inputs are the even 0-based frames of the LR sequence, the truth every HR frame they span."""
    out = {}
    for name in clips or vid4_clips(root):
        lr, gt = load_vid4(root, name)
        t = (len(lr) + 1) // 2
        out[f"vid4/{name}"] = (lr[0::2][:t], gt[: 2 * t - 1])
    return out


def vimeo_set(root, names_file=None, limit: int = 0) -> Clips:
    """The Vimeo-90K test septuplets (only those listed in ``names_file``, e.g. the Fast/Medium/Slow lists, when
    given; at most ``limit`` of them when > 0), each made into the paper's pair.

    Raises:
        FileNotFoundError, ValueError: a missing list or folder, a list that is not a text file.
    """
    names = vimeo_septuplets(root, "test")
    if names_file:
        listing = Path(names_file)
        if not listing.is_file():
            raise FileNotFoundError(f"no septuplet list file {listing}")
        wanted = {line.strip() for line in listing.read_text().splitlines() if line.strip()}
        names = [n for n in names if n in wanted]
    return {f"vimeo/{n}": make_pair(load_vimeo_septuplet(root, n)) for n in names[: limit or None]}


def footage_set(folder, clips: Optional[Sequence[str]] = None, frames: int = 15) -> Clips:
    """The first ``frames`` frames (odd) of each ``.mp4`` in ``folder`` (or of the named ones), LR made from the even
    frames by MATLAB-style bicubic.

    Raises:
        ValueError: ``frames`` even or < 3, or no clip in the folder.
    """
    if frames < 3 or frames % 2 == 0:
        raise ValueError(f"frames must be odd and at least 3 (2T-1 HR frames), got {frames}")
    folder = Path(folder)
    paths = [folder / f"{n}.mp4" for n in clips] if clips else sorted(folder.glob("*.mp4"))
    if not paths:
        raise ValueError(f"no .mp4 clips in {folder}; run `python -m zsm data` first")
    return {f"footage/{p.stem}": make_pair(load_clip(p, 0, frames)) for p in paths}


def evaluation_clips(vid4=None, vimeo=None, vimeo_list=None, limit: int = 0, footage=None,
                     clips: Optional[Sequence[str]] = None, frames: int = 15) -> Clips:
    """Every clip asked for, in the order Vid4, Vimeo, footage; the footage of ``data/`` when nothing is given.

    Args:
        vid4, vimeo, footage: the data sets' folders (any of them).
        vimeo_list, limit: see :func:`vimeo_set`.
        clips: names of Vid4 clips when ``vid4`` is given, else of footage clips (file stems).
        frames (int): HR frames of each footage clip (odd).
    """
    out: Clips = {}
    if vid4:
        out.update(vid4_set(vid4, clips))
    if vimeo:
        out.update(vimeo_set(vimeo, vimeo_list, limit))
    if footage or not out:
        out.update(footage_set(footage or "data", clips if not vid4 else None, frames))
    return out

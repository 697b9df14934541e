"""The public data sets' layouts (Vimeo-90K septuplets, Vid4) and the paper's LR/HR pairs.

Book: chapters 6 and 7.

* :func:`vimeo_septuplets` / :func:`load_vimeo_septuplet` read the Vimeo-90K septuplet layout::

      <root>/sep_trainlist.txt, <root>/sep_testlist.txt   one septuplet per line, e.g. "00001/0001"
      <root>/sequences/00001/0001/im1.png ... im7.png

* :func:`vid4_clips` / :func:`load_vid4` read Vid4 as commonly distributed (e.g. with BasicSR's datasets)::

      <root>/GT/<clip>/*.png      HR frames (clips calendar, city, foliage, walk)
      <root>/BIx4/<clip>/*.png    the same frames downscaled x4 by MATLAB bicubic, one per HR frame

* :func:`make_pair` turns an HR clip into the paper's pair: LR inputs from the even frames (every N-th with
  ``factor=N``), HR targets all frames.

Everything here returns numpy uint8 RGB arrays (frames last: (T, H, W, 3)) and knows nothing of the network.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from .resize import make_lr
from .frames import read_frames, read_image

__all__ = ["vimeo_septuplets", "load_vimeo_septuplet", "vid4_clips", "load_vid4", "make_pair", "check_window"]

PathLike = Union[str, os.PathLike]


def vimeo_septuplets(root: PathLike, split: str = "train") -> List[str]:
    """Names ("00001/0001") of the Vimeo-90K septuplets of a split, from ``sep_trainlist.txt`` / ``sep_testlist.txt``.

    Raises:
        ValueError: ``split`` not "train" / "test", a malformed line (file and line number in the message), or an
            empty list.
        FileNotFoundError: the list file is missing.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    listing = Path(root) / f"sep_{split}list.txt"
    if not listing.is_file():
        raise FileNotFoundError(f"no Vimeo-90K list {listing} (expected <root>/sep_{split}list.txt)")
    names = []
    for number, line in enumerate(listing.read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not re.fullmatch(r"\d+/\d+", line):
            raise ValueError(f"{listing}, line {number}: expected a septuplet name like '00001/0001', got {line!r}")
        names.append(line)
    if not names:
        raise ValueError(f"{listing} lists no septuplets")
    return names


def load_vimeo_septuplet(root: PathLike, name: str) -> np.ndarray:
    """The 7 frames ``<root>/sequences/<name>/im1.png .. im7.png`` of one Vimeo-90K septuplet.

    Returns:
        np.ndarray: (7, H, W, 3) uint8 RGB (448x256 in the real data set).

    Raises:
        FileNotFoundError: the septuplet folder or one of its frames is missing (path in the message).
        ValueError: an undecodable frame, or frames of different sizes.
    """
    folder = Path(root) / "sequences" / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no Vimeo-90K septuplet folder {folder}")
    frames = [read_image(folder / f"im{i}.png") for i in range(1, 8)]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError(f"the frames of {folder} differ in size: {[f.shape for f in frames]}")
    return np.stack(frames)  # (7, H, W, 3)


def vid4_clips(root: PathLike, gt_dir: str = "GT") -> List[str]:
    """Names of the clip folders in ``<root>/<gt_dir>`` (calendar, city, foliage, walk for the real Vid4)."""
    folder = Path(root) / gt_dir
    if not folder.is_dir():
        raise FileNotFoundError(f"no Vid4 HR folder {folder} (expected <root>/{gt_dir}/<clip>/*.png)")
    clips = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not clips:
        raise ValueError(f"no clip folders in {folder}")
    return clips


def load_vid4(root: PathLike, clip: str, lr_dir: Optional[str] = "BIx4", gt_dir: str = "GT",
              scale: int = 4) -> Tuple[np.ndarray, np.ndarray]:
    """One Vid4 clip: LR frames and HR frames, one LR frame per HR frame.

    Args:
        root: the Vid4 folder (layout in the module docstring).
        clip (str): e.g. "calendar".
        lr_dir (str, optional): the LR variant's folder; None makes LR frames from GT with :func:`zsm.data.resize.make_lr`.
        gt_dir (str): the HR folder. Default: "GT".
        scale (int): s. Default: 4.

    Returns:
        (lr, gt): (N, h, w, 3) and (N, s*h, s*w, 3), uint8 RGB. The paper's inputs are ``lr[0::2]``.

    Raises:
        FileNotFoundError: a clip folder is missing.
        ValueError: LR and HR disagree in frame count or size.
    """
    gt = read_frames(Path(root) / gt_dir / clip)
    if lr_dir is None:
        return make_lr(gt, scale), gt[:, : gt.shape[1] // scale * scale, : gt.shape[2] // scale * scale]
    lr = read_frames(Path(root) / lr_dir / clip)
    if len(lr) != len(gt):
        raise ValueError(f"Vid4 {clip}: {len(lr)} LR frames in {lr_dir} but {len(gt)} HR frames in {gt_dir}")
    if gt.shape[1:3] != (scale * lr.shape[1], scale * lr.shape[2]):
        raise ValueError(f"Vid4 {clip}: HR frames are {gt.shape[2]}x{gt.shape[1]}, not {scale} x the LR "
                         f"{lr.shape[2]}x{lr.shape[1]}")
    return lr, gt


def check_window(frames: int, factor: int) -> None:
    """Raise ValueError unless a window of ``frames`` HR frames has inputs every ``factor``-th frame, at least two.

    The window then has (T-1) * factor + 1 frames: 7 frames with factor 2 (the paper's), 9 or 13 with factor 4.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
        raise ValueError(f"the time factor must be a whole number >= 2 (inputs every n-th frame), got {factor!r}")
    if frames < factor + 1 or (frames - 1) % factor:
        raise ValueError(f"a window with inputs every {factor}th frame needs (T-1)*{factor} + 1 HR frames "
                         f"({factor + 1}, {2 * factor + 1}, {3 * factor + 1}, ...), got {frames}")


def make_pair(hr_frames: np.ndarray, scale: int = 4, lr_frames: str = "even",
              factor: int = 2) -> Tuple[np.ndarray, np.ndarray]:
    """The paper's training pair from an HR clip: LR inputs from the even frames, HR targets all frames.

    The HR frames are first cropped to a multiple of ``scale`` (top-left part kept, MATLAB ``modcrop``), so that
    LR and HR align exactly: LR pixel (y, x) covers HR pixels (s*y .. s*y+s-1, s*x .. s*x+s-1). The LR frames are
    the cropped HR frames 0, 2, 4, ... (1, 3, 5, 7 counted from 1) downscaled by MATLAB bicubic
    (:func:`zsm.data.resize.make_lr`). With ``factor`` N the inputs are every N-th HR frame, 0, N, 2N, ..., and the
    N - 1 HR frames between two inputs are the truth at the moments 1/N, ..., (N-1)/N (chapter 8).

    Args:
        hr_frames (np.ndarray): (2T-1, H, W, 3) uint8, or float in [0, 1]; at least 3 frames. With ``factor`` N:
            (T-1)N + 1 frames, T >= 2.
        scale (int): s. Default: 4.
        lr_frames (str): "even" (the paper's inputs, every ``factor``-th frame; needs an odd number of HR frames
            for factor 2) or "all" (an LR frame for every HR frame, e.g. to cut many windows from one long clip).
        factor (int): N >= 2, HR frames per input interval (the output frame rate over the input's). Default: 2,
            the paper's.

    Returns:
        (lr, hr): lr (T, H//s, W//s, 3) ("all": (2T-1, ...)), hr (2T-1, s*(H//s), s*(W//s), 3); dtype of the input.
        With ``factor`` N: lr (T, ...), hr ((T-1)N + 1, ...).

    Raises:
        ValueError: not (N, H, W, 3), fewer than 3 frames, an even count with "even", frames smaller than ``scale``;
            a ``factor`` that is not a whole number >= 2, a clip whose length is not (T-1)N + 1, or a ``factor``
            other than 2 with "all".
        TypeError: not a numpy array of uint8 / float.
    """
    if not isinstance(hr_frames, np.ndarray):
        raise TypeError(f"expected a numpy array (2T-1, H, W, 3), got {type(hr_frames).__name__}")
    if hr_frames.ndim != 4 or hr_frames.shape[-1] != 3:
        raise ValueError(f"expected HR frames (2T-1, H, W, 3), got shape {hr_frames.shape}")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
        raise ValueError(f"factor must be a whole number >= 2 (HR frames per input interval), got {factor!r}")
    n = len(hr_frames)
    if factor == 2 and n < 3:
        raise ValueError(f"a training pair needs at least 3 HR frames (2 inputs and the one between), got {n}")
    if lr_frames not in ("even", "all"):
        raise ValueError(f"lr_frames must be 'even' or 'all', got {lr_frames!r}")
    if factor != 2 and lr_frames == "all":
        raise ValueError(f"factor {factor} picks the inputs of lr_frames='even'; lr_frames='all' makes an LR frame "
                         "of every HR frame and takes no factor")
    if factor == 2 and lr_frames == "even" and n % 2 == 0:
        raise ValueError(f"the LR inputs are the even frames, so the HR clip needs an odd length 2T-1; got {n} "
                         "frames (drop the last one)")
    if factor != 2 and (n < factor + 1 or (n - 1) % factor):
        raise ValueError(f"with factor {factor} the inputs are HR frames 0, {factor}, {2 * factor}, ..., so the clip "
                         f"needs (T-1)*{factor}+1 HR frames ({factor + 1}, {2 * factor + 1}, {3 * factor + 1}, ...); "
                         f"got {n}"
                         + (f" (drop the last {(n - 1) % factor})" if n > factor else ""))
    lr = make_lr(hr_frames[::factor] if lr_frames == "even" else hr_frames, scale)  # (T or 2T-1, H//s, W//s, 3)
    hr = hr_frames[:, : lr.shape[1] * scale, : lr.shape[2] * scale]  # ((T-1)N+1, s*(H//s), s*(W//s), 3)
    return lr, hr

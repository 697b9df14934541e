"""Folders of frames: image files read in natural order (``2.png`` before ``10.png``), written as lossless PNGs.

Book: chapter 7.

Frames are numpy ``uint8`` RGB, one frame (H, W, 3), a clip (T, H, W, 3), as in :mod:`zsm.data.video`. A frame
folder holds only image files (hidden files are ignored), so that a stray file never becomes a frame; writing
never replaces an existing folder unless ``overwrite=True``, and then only one of frames zsm wrote.
"""
from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import List, Union

import numpy as np

from ..outputs import atomic_folder
from .opencv import check_frame, cv2, frames_of, quietly

__all__ = ["IMAGE_SUFFIXES", "list_frames", "read_image", "read_frames", "write_frames", "is_frame_file"]

PathLike = Union[str, os.PathLike]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _natural_key(name: str):
    parts = re.split(r"(\d+)", name)  # text, number, text, number, ..., text
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)], name


def list_frames(folder: PathLike) -> List[Path]:
    """The image files of a frame folder, in natural order (``im2.png`` before ``im10.png``).

    Hidden files (names starting with ".", e.g. ``.DS_Store``) are ignored; anything else that is not an image
    file (by suffix, one of ``IMAGE_SUFFIXES``) is an error, so that a stray file never becomes a frame.

    Raises:
        FileNotFoundError: no such folder.
        ValueError: not a folder, a non-image entry, or no image at all.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"no such frame folder: {folder}")
    if not folder.is_dir():
        raise ValueError(f"expected a folder of frames, got a file: {folder} (use read_video for a video file)")
    files = []
    for entry in sorted(folder.iterdir(), key=lambda p: _natural_key(p.name)):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() or entry.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{entry} is not an image file; a frame folder must hold only images "
                             f"({', '.join(IMAGE_SUFFIXES)})")
        files.append(entry)
    if not files:
        raise ValueError(f"no image files in the frame folder {folder}")
    return files


def read_image(path: PathLike) -> np.ndarray:
    """Read one image file as (H, W, 3) uint8 RGB (grey images are repeated on 3 channels, 16-bit scaled to 8).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a decodable image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        image, _ = quietly(cv2.imread, str(path), cv2.IMREAD_COLOR)  # (H, W, 3) uint8 BGR, or None
    except cv2.error as err:  # e.g. a header that declares more pixels than OpenCV will allocate
        reason = "larger than OpenCV reads" if "MAX_IMAGE_PIXELS" in str(err) else str(err).strip().splitlines()[-1]
        raise ValueError(f"cannot read the image {path}: {reason}") from None
    if image is None:
        raise ValueError(f"cannot decode the image {path} (corrupt or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def stack_frames(frames: List[np.ndarray], names: List[Path]) -> np.ndarray:
    for frame, name in zip(frames, names):
        if frame.shape != frames[0].shape:
            raise ValueError(f"{name} is {frame.shape[1]}x{frame.shape[0]}, but {names[0]} is "
                             f"{frames[0].shape[1]}x{frames[0].shape[0]}: all frames must have one size")
    return np.stack(frames)  # (n, H, W, 3)


def read_frames(folder: PathLike) -> np.ndarray:
    """Read a folder of image files (PNG, JPEG, ...) as one clip, in natural order of their names.

    Args:
        folder: the folder; it must hold only image files (hidden files are ignored).

    Returns:
        np.ndarray: (T, H, W, 3) uint8 RGB.

    Raises:
        FileNotFoundError: no such folder.
        ValueError: a non-image entry (named in the message), an undecodable image, no images, different sizes.
    """
    files = list_frames(folder)
    return stack_frames([read_image(f) for f in files], files)


def is_frame_file(path: Path) -> bool:
    """Whether ``path`` is a frame file that :func:`write_frames` writes (``00000012.png``)."""
    return path.is_file() and re.fullmatch(r"\d{8}\.png", path.name) is not None


def write_frames(folder: PathLike, frames, overwrite: bool = False, start: int = 0) -> List[Path]:
    """Write frames as lossless PNG files ``00000000.png``, ``00000001.png``, ... into a folder.

    The frames go into a temporary folder beside ``folder`` (:func:`zsm.outputs.atomic_folder`), which becomes
    ``folder`` only when every frame is written: a failure, Ctrl-C or a full disk leaves ``folder`` as it was.

    Args:
        folder: the output folder.
        frames: (T, H, W, 3) uint8 RGB, or any iterable of (H, W, 3) uint8 RGB frames.
        overwrite (bool): replace a folder of frames written earlier. A folder that holds any other file is never
            replaced (nothing zsm did not write is deleted). Default: False, and then a folder with files is an error.
        start (int): number of the first file. Default: 0.

    Returns:
        list of Path: the files written, in order.

    Raises:
        FileExistsError: the folder holds files and ``overwrite`` is False.
        ValueError: ``folder`` is a file or holds files zsm did not write, bad frames, or no frames at all.
        OSError: a file could not be written (e.g. a full disk).
    """
    folder = Path(folder)
    frames = iter(frames_of(frames))
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write")
    first = check_frame(first, 0)  # checked before anything is written
    names: List[str] = []
    with atomic_folder(folder, overwrite, ours=is_frame_file) as partial:
        for i, frame in enumerate(itertools.chain([first], frames)):
            frame = check_frame(frame, i, first.shape)
            name = f"{start + i:08d}.png"
            ok, said = quietly(cv2.imwrite, str(partial / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if not ok:
                raise OSError(f"could not write frame {i} of {folder} (is the disk full or read-only?"
                              + (f" {said}" if said else "") + "); nothing was written")
            names.append(name)
    return [folder / n for n in names]

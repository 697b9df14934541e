"""Reading and writing video files as uint8 RGB arrays; a folder of frames reads through here too.

Book: chapter 7.

Frames are always numpy ``uint8`` RGB, one frame (H, W, 3), a clip (T, H, W, 3). Sources are a video file
(anything OpenCV's FFmpeg can decode: mp4, avi, mkv, ...) or, for :func:`iter_video`, a folder of image files
(:mod:`zsm.data.frames`). Writing never replaces an existing output unless ``overwrite=True``.

MP4 files are written with the MPEG-4 Part 2 codec (``mp4v``), the one MP4 encoder in OpenCV's wheels (they
carry no H.264 encoder). It is lossy: reading back gives frames close to, not equal to, what was written, and
it needs even width and height. For exact frames, write a folder of PNGs with
:func:`zsm.data.frames.write_frames`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Tuple, Union

import numpy as np

from ..outputs import atomic_file
from .frames import list_frames, read_image, stack_frames
from .opencv import Quiet, check_frame, cv2, frames_of, quietly

__all__ = ["VideoInfo", "probe_video", "read_video", "iter_video", "write_video"]

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class VideoInfo:
    """What a video container says about itself; ``frames`` is the container's count and may be approximate."""

    frames: int
    fps: float
    height: int
    width: int


def _existing_file(path: PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such video file: {path}")
    if not path.is_file():
        raise ValueError(f"expected a video file, got a folder: {path} (use read_frames for a folder of images)")
    return path


def _open(path: PathLike) -> "cv2.VideoCapture":
    path = _existing_file(path)
    capture, said = quietly(cv2.VideoCapture, str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError(f"cannot decode {path}: not a video OpenCV can read, or a corrupt file"
                         + (f" ({said.split('] ', 1)[-1]})" if said else ""))
    return capture


def probe_video(path: PathLike) -> VideoInfo:
    """Frame count, frame rate and size of a video file, without decoding it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable video.
    """
    capture = _open(path)
    try:
        return VideoInfo(frames=int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), fps=float(capture.get(cv2.CAP_PROP_FPS)),
                         height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                         width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))
    finally:
        capture.release()


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")


def iter_video(source: PathLike, chunk_size: int = 32) -> Iterator[np.ndarray]:
    """Read a video file or a folder of frames lazily, ``chunk_size`` frames at a time.

    Only one chunk is held in memory, so arbitrarily long videos stream. A missing source or a bad chunk size
    raise at once; an undecodable file or image raises on the ``next()`` that reaches it.

    Args:
        source: a video file, or a folder of image files (see :func:`read_frames`).
        chunk_size (int): frames per chunk (the last chunk may be shorter). Default: 32.

    Yields:
        np.ndarray: (n, H, W, 3) uint8 RGB, 1 <= n <= chunk_size.

    Raises:
        FileNotFoundError: no such file or folder.
        ValueError: undecodable video or image, a video with zero frames, frames of different sizes.
    """
    _check_chunk_size(chunk_size)
    if not Path(source).exists():
        raise FileNotFoundError(f"no such video file or frame folder: {source}")
    return _iter_folder(source, chunk_size) if Path(source).is_dir() else _iter_file(source, chunk_size)


def _iter_folder(source: PathLike, chunk_size: int) -> Iterator[np.ndarray]:
    files = list_frames(source)
    for start in range(0, len(files), chunk_size):
        names = files[:1] + files[start: start + chunk_size]  # the first file sets the size of every chunk
        yield stack_frames([read_image(f) for f in names], names)[1:]


def _iter_file(source: PathLike, chunk_size: int) -> Iterator[np.ndarray]:
    capture = _open(source)
    quiet = Quiet()
    try:
        chunk: List[np.ndarray] = []
        count = 0
        while True:
            ok, frame = quiet(capture.read)
            if not ok:
                break
            chunk.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))  # (H, W, 3) BGR -> RGB
            count += 1
            if len(chunk) == chunk_size:
                yield np.stack(chunk)  # (chunk_size, H, W, 3)
                chunk = []
        if chunk:
            yield np.stack(chunk)  # (n, H, W, 3)
        if count == 0:
            raise ValueError(f"{source} holds no decodable frame (empty or corrupt video)")
    finally:
        capture.release()
        quiet.close()


def read_video(path: PathLike) -> Tuple[np.ndarray, float]:
    """Read a whole video file into memory.

    Args:
        path: a video file (mp4, avi, mkv, ...).

    Returns:
        (frames, fps): frames (T, H, W, 3) uint8 RGB, T >= 1; fps as the container states it (0.0 if unknown).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, an undecodable or corrupt file, or zero frames.
    """
    path = _existing_file(path)
    fps = probe_video(path).fps
    return np.concatenate(list(iter_video(path, chunk_size=64))), fps


def _count_frames(path: Path) -> int:
    """Frames that OpenCV decodes from a video file (0 when it does not open)."""
    capture, _ = quietly(cv2.VideoCapture, str(path))
    quiet = Quiet()
    try:
        count = 0
        while capture.isOpened() and quiet(capture.grab):
            count += 1
        return count
    finally:
        capture.release()
        quiet.close()


def write_video(path: PathLike, frames, fps: float, overwrite: bool = False) -> Path:
    """Write frames to an MP4 file (MPEG-4 Part 2, lossy; see the module docstring).

    The file is written under a temporary name beside ``path`` (:func:`zsm.outputs.atomic_file`), re-opened and its
    frames counted, and renamed into place only when every frame is there: a failure, Ctrl-C or a full disk never
    leaves a truncated video at ``path``, and an existing ``path`` is replaced only by a whole new video.

    Args:
        path: the output file; it must end in ``.mp4``. Missing parent folders are created.
        frames: (T, H, W, 3) uint8 RGB, or any iterable of (H, W, 3) uint8 RGB frames (e.g. a generator that
            streams a long video). H and W must be even.
        fps (float): frames per second, > 0.
        overwrite (bool): replace an existing file at ``path``. Default: False.

    Returns:
        Path: ``path``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        ValueError: not ``.mp4``, fps <= 0, bad frames, odd size, or no frames at all.
        OSError: the encoder could not be opened, or the written file does not hold every frame (e.g. a full disk).
    """
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"write_video writes .mp4 files, got {path.name!r}")
    if not (isinstance(fps, (int, float)) and np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    quiet = Quiet()
    with atomic_file(path, overwrite) as partial:
        writer, shape, written = None, None, 0
        try:
            for index, frame in enumerate(frames_of(frames)):
                frame = check_frame(frame, index, shape)
                if writer is None:
                    shape = frame.shape
                    if shape[0] % 2 or shape[1] % 2:
                        raise ValueError(f"MP4 (mp4v) needs even width and height, got {shape[1]}x{shape[0]}; "
                                         "crop a pixel or use write_frames")
                    writer, _ = quietly(cv2.VideoWriter, str(partial), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                                         (shape[1], shape[0]))
                    if not writer.isOpened():
                        raise OSError(f"OpenCV could not open an mp4v encoder to write {path}")
                quiet(writer.write, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                written += 1
            if writer is None:
                raise ValueError("no frames to write")
        finally:
            if writer is not None:
                quiet(writer.release)
            quiet.close()
        found = _count_frames(partial)
        if found != written:
            raise OSError(f"writing {path} failed: the encoded file holds {found} of the {written} frames "
                          "(is the disk full?); nothing was written")
    return path

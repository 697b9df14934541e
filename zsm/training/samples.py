"""Training samples: 7-frame windows of HR footage, aligned LR/HR crops, flips, rotations, time reversal.

Book: chapter 6; samples with moments other than half-way, chapter 8.

A sample is drawn from a *source* of HR windows (real footage in memory, or the Vimeo-90K septuplets on
disk). As in the paper, the LR inputs are the even frames (0, 2, 4, 6) of the window downscaled x4 with
MATLAB-style bicubic over the *whole frame*; crops are taken afterwards at aligned positions (LR (y, x),
HR (4y, 4x)), so no crop border is downscaled differently from the full frame.

For a time-modulated network (chapter 8) a source's ``factor`` n may be more than 2: the inputs are every n-th
frame of the window, and each sample keeps, between every pair of inputs, the frames of a random set of moments
j/n (:class:`WindowSamples` ``moments``), with those times beside it.

Every random choice of sample ``i`` comes from a generator seeded with ``(seed, i)``: the same index always
gives the same sample, in any worker and on any rank, which is what makes resumed training exact.
"""
from __future__ import annotations

import hashlib
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.datasets import check_window, load_vimeo_septuplet, make_pair, vimeo_septuplets
from ..data.footage import load_clip
from ..data.pixels import frames_to_tensor
from .motion import flip_flows, flow_pair, input_flows

__all__ = ["FootageWindows", "VimeoWindows", "WindowSamples", "augment"]


class FootageWindows:
    """Every window of ``frames`` consecutive frames of some in-memory HR clips, with precomputed LR frames.

    Args:
        clips: HR clips, each (N, H, W, 3) uint8 with N >= frames.
        frames (int): HR frames per window, (T-1)n + 1 (2T-1 for the paper's n = 2). Default: 7.
        scale (int): s. Default: 4.
        strides: temporal strides: for each k, every window of ``frames`` frames k apart (inputs ``factor`` k apart).
            Default: (1,), the paper's consecutive frames.
        flows (bool): compute the DIS flow of every pair of LR frames ``factor`` k apart once, here, so that
            ``window(i, flows=True)`` gives each window's flow (:mod:`zsm.training.motion`). Default: False.
        factor (int): n, the inputs are every n-th frame of a window, which then has (T-1)n + 1 frames.
            Default: 2, the paper's (inputs 0, 2, 4, 6 of 7).
    """

    def __init__(self, clips: Sequence[np.ndarray], frames: int = 7, scale: int = 4, names: Sequence[str] = (),
                 strides: Sequence[int] = (1,), flows: bool = False, factor: int = 2):
        check_window(frames, factor)
        strides = tuple(int(k) for k in strides)
        if not strides or min(strides) < 1 or len(set(strides)) != len(strides):
            raise ValueError(f"strides must be distinct whole numbers >= 1, got {list(strides)}")
        self.frames, self.scale, self.strides, self.factor = frames, scale, strides, factor
        self.names = [str(n) for n in names] or [f"clip {i}" for i in range(len(clips))]
        self._digest = hashlib.sha256()
        self.hr: List[np.ndarray] = []
        self.lr: List[np.ndarray] = []
        for i, clip in enumerate(clips):
            clip = np.asarray(clip)
            if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
                raise ValueError(f"{self.names[i]}: expected uint8 frames (N, H, W, 3), got {clip.dtype} {clip.shape}")
            span = (frames - 1) * max(strides) + 1
            if len(clip) < span:
                apart = f" of {frames} frames {max(strides)} apart" if max(strides) > 1 else ""
                raise ValueError(f"{self.names[i]} has {len(clip)} frames; a training window{apart} needs {span}")
            self._digest.update(f"{clip.shape}".encode())
            self._digest.update(np.ascontiguousarray(clip).data)
            lr, hr = make_pair(clip, scale, lr_frames="all")  # LR of every frame; HR cropped to s * LR size
            self.hr.append(hr)
            self.lr.append(lr)
        if not self.hr:
            raise ValueError("no clips to train on")
        # window numbers run clip by clip, stride by stride, start by start
        self.counts = np.array([len(c) - (frames - 1) * k for c in self.hr for k in strides])
        self.flows = [self._clip_flows(lr) for lr in self.lr] if flows else None

    @classmethod
    def from_files(cls, videos: Sequence, max_frames: Optional[int] = None, **kwargs) -> "FootageWindows":
        """The windows of video files or frame folders, each read whole (or its first ``max_frames`` frames)."""
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        return cls([load_clip(v, 0, max_frames) for v in videos], names=[str(v) for v in videos], **kwargs)

    def _clip_flows(self, lr: np.ndarray) -> dict:
        """The DIS flow of every pair of LR frames nk apart (n the factor), for each stride k:
        {k: (N - nk, 2, 2, h, w) float16}."""
        apart = {k: self.factor * k for k in self.strides}
        return {k: np.stack([flow_pair(lr[f], lr[f + d]) for f in range(len(lr) - d)]).astype(np.float16)
                for k, d in apart.items()}

    def describe(self) -> dict:
        """What the windows are made of: the clips' names, sizes and a SHA-256 of their frames."""
        out = {"kind": "footage", "clips": self.names, "frames": [int(len(c)) for c in self.hr],
               "window": self.frames, "sha256": self._digest.hexdigest()}
        if self.strides != (1,):
            out["strides"] = list(self.strides)
        if self.factor != 2:
            out["factor"] = self.factor
        return out

    def __len__(self) -> int:
        return int(self.counts.sum())

    def window(self, index: int, flows: bool = False):
        """LR inputs (T, h, w, 3) and HR targets ((T-1)n + 1, sh, sw, 3), uint8, of window ``index``; with
        ``flows`` also the DIS flow between its inputs, (T-1, 2, 2, h, w) float32 (see :mod:`zsm.training.motion`)."""
        part = int(np.searchsorted(np.cumsum(self.counts), index, side="right"))
        start = index - int(self.counts[:part].sum())
        clip, k = divmod(part, len(self.strides))
        k = self.strides[k]
        span = (self.frames - 1) * k + 1
        hr = self.hr[clip][start: start + span: k]
        apart = self.factor * k  # frames between two inputs
        lr = self.lr[clip][start: start + span: apart]
        if not flows:
            return lr, hr
        if self.flows is None:
            raise ValueError("these windows were made without flows; make them with flows=True")
        return lr, hr, self.flows[clip][k][start: start + span - apart: apart].astype(np.float32)


class VimeoWindows:
    """The Vimeo-90K septuplets of a split, read from disk when asked for; LR made on the fly.

    Args:
        root: the folder with ``sequences/`` and ``sep_trainlist.txt`` / ``sep_testlist.txt``.
        split (str): "train" or "test".
        scale (int): s. Default: 4.
    """

    def __init__(self, root, split: str = "train", scale: int = 4):
        self._load = load_vimeo_septuplet
        self.root, self.split, self.names = root, split, vimeo_septuplets(root, split)
        self.scale, self.frames, self.factor = scale, 7, 2

    def __len__(self) -> int:
        return len(self.names)

    def describe(self) -> dict:
        """What the windows are: the data set's folder, split and septuplet count."""
        return {"kind": "vimeo", "root": str(self.root), "split": self.split, "septuplets": len(self.names)}

    def window(self, index: int, flows: bool = False):
        hr = self._load(self.root, self.names[index])  # (7, H, W, 3) uint8
        lr, hr = make_pair(hr, self.scale)
        if not flows:
            return lr, hr
        return lr, hr, input_flows(lr)


def augment(lr: np.ndarray, hr: np.ndarray, rng: np.random.Generator, flow: Optional[np.ndarray] = None):
    """The paper's augmentation, the same on LR and HR: horizontal and vertical flips, a 90-degree rotation
    (each with probability 1/2), and the whole window reversed in time with probability 1/2. A window's flow,
    when given, is transformed with it (:func:`zsm.training.motion.flip_flows`).

    Shape:
        lr: (T, h, w, 3), hr: (2T-1, H, W, 3), flow: (T-1, 2, 2, h, w) -> the same shapes (h and w swap when
        rotated); (lr, hr) or, with a flow, (lr, hr, flow).
    """
    moves = [rng.random() < 0.5 for _ in range(4)]  # horizontal, vertical, transpose, reverse
    if moves[0]:
        lr, hr = lr[:, :, ::-1], hr[:, :, ::-1]
    if moves[1]:
        lr, hr = lr[:, ::-1], hr[:, ::-1]
    if moves[2]:
        lr, hr = lr.transpose(0, 2, 1, 3), hr.transpose(0, 2, 1, 3)
    if moves[3]:
        lr, hr = lr[::-1], hr[::-1]
    if flow is None:
        return lr, hr
    return lr, hr, flip_flows(flow, *moves)


class WindowSamples(Dataset):
    """Random aligned crops of the windows of a source, as float tensors in [0, 1].

    Sample ``i`` is a pure function of ``(seed, i)``; the dataset is as long as ``length`` says (the trainer
    asks for sample numbers step * batch + j, so it never runs out).

    Args:
        source: a :class:`FootageWindows`, :class:`VimeoWindows`, or a source of :mod:`zsm.training.motion`.
        lr_size (int): side of the LR crop. Paper: 32 (HR 128).
        augment (bool): flips, rotations and time reversal. Default: True.
        seed (int): the seed of every random choice. Default: 0.
        length (int): the number of distinct sample numbers. Default: 2**62.
        flows (bool): each sample also carries the flow between its inputs, cropped and augmented with it, for
            offset guidance (the source must give flows: ``window(i, flows=True)``). Default: False.
        moments (int, optional): K, for a time-modulated network (chapter 8): each sample keeps, between every
            pair of inputs, the frames at K moments j/n drawn at random (distinct, in time order, the same for every
            pair of the sample) from 1/n .. (n-1)/n, n the source's ``factor``, and carries their times. Default:
            None: every frame of the window, and no times, unless n > 2, which then means all n - 1 moments.

    Shape:
        sample: (lr (T, 3, lr_size, lr_size), hr (2T-1, 3, s*lr_size, s*lr_size)), float32; with ``flows``
        also flow (T-1, 2, 2, lr_size, lr_size), NaN where unknown. With moments: (lr, hr (T + (T-1)K, 3, ...),
        times (K,)); time reversal turns the times t into 1 - t.
    """

    def __init__(self, source, lr_size: int = 32, augment: bool = True, seed: int = 0, length: int = 2**62,
                 flows: bool = False, moments: Optional[int] = None):
        self.source, self.lr_size, self.augment, self.seed, self.length = source, lr_size, augment, seed, length
        self.flows = flows
        self.factor = factor = int(getattr(source, "factor", 2))
        if moments is None and factor > 2:
            moments = factor - 1
        if moments is not None and (isinstance(moments, bool) or not isinstance(moments, (int, np.integer))
                                    or not 1 <= moments <= factor - 1):
            raise ValueError(f"moments must be a whole number from 1 to {factor - 1} (the frames between two inputs "
                             f"{factor} frames apart), got {moments!r}")
        if moments is not None and flows:
            raise ValueError("offset guidance (flows) is for training the half-way frame; samples with moments "
                             "(a time factor) take none")
        self.moments = None if moments is None else int(moments)
        lr, _ = source.window(0)
        if lr.shape[1] < lr_size or lr.shape[2] < lr_size:
            raise ValueError(f"LR frames of {lr.shape[1]}x{lr.shape[2]} are smaller than the {lr_size}x{lr_size} crop")

    @property
    def timed(self) -> bool:
        """Whether the samples carry times (the trainer passes them to the network)."""
        return self.moments is not None

    def __len__(self) -> int:
        return self.length

    def describe(self) -> dict:
        """What defines these samples (a run records it, and resuming with other samples is refused)."""
        source = self.source.describe() if hasattr(self.source, "describe") else {"kind": type(self.source).__name__}
        out = {"source": source, "lr_size": self.lr_size, "augment": self.augment, "seed": self.seed}
        if self.timed:
            out["moments"] = self.moments
        return out

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        number = int(rng.integers(len(self.source)))
        lr, hr, *flow = self.source.window(number, flows=True) if self.flows else self.source.window(number)
        s, n = self.source.scale, self.lr_size
        y = int(rng.integers(lr.shape[1] - n + 1))
        x = int(rng.integers(lr.shape[2] - n + 1))
        lr = lr[:, y: y + n, x: x + n]
        hr = hr[:, s * y: s * (y + n), s * x: s * (x + n)]
        flow = [f[..., y: y + n, x: x + n] for f in flow]
        if self.augment:
            lr, hr, *flow = augment(lr, hr, rng, *flow)  # time reversal reverses the whole window: j/n -> 1 - j/n
        if self.timed:
            steps = np.sort(rng.choice(np.arange(1, self.factor), size=self.moments, replace=False))  # (K,) j
            keep = [i * self.factor + j for i in range(len(lr) - 1) for j in (0, *steps)] + [len(hr) - 1]
            times = torch.from_numpy((steps / self.factor).astype(np.float32))  # (K,)
            return frames_to_tensor(lr), frames_to_tensor(hr[keep]), times  # (T, 3, n, n), (T + (T-1)K, 3, sn, sn)
        sample = frames_to_tensor(lr), frames_to_tensor(hr)  # (T, 3, n, n), (2T-1, 3, sn, sn)
        if self.flows:
            return (*sample, torch.from_numpy(np.ascontiguousarray(flow[0], np.float32)))  # (T-1, 2, 2, n, n)
        return sample

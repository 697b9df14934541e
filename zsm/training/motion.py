"""Motion for training: the optical flow between a window's inputs, and synthetic windows whose motion is known.

Book: chapter 6.

The deformable offsets of the feature interpolation only learn to follow motion if the training windows move, and
only a guide that knows the motion can point them there during the first steps (see :mod:`zsm.training.guidance`).
This module gives both:

- :func:`input_flows`: the optical flow (OpenCV DIS) between every two neighbouring LR inputs of a real window;
- :class:`SyntheticMotion`: windows made from still images by a camera that pans and zooms at a constant rate,
  with a foreground patch that moves its own way, whose flow is known exactly (FlyingChairs' idea, Dosovitskiy et
  al. 2015, in the smallest form);
- :class:`Mixture`: windows drawn from several sources with given weights.

The flow of a window, everywhere in the package, is a float32 array (T-1, 2, 2, h, w) in LR pixels:

- axis 0, pair j: inputs j and j+1;
- axis 1, direction: 0 is f(j+1 -> j), where each pixel of input j+1 was in input j (input j+1 at p shows what input
  j shows at p + f(p)): the motion that direction-1 offsets follow, as they sample input j; 1 is f(j -> j+1);
- axis 2, the component (dy, dx), the order of the deformable offsets;
- NaN where the flow is unknown (occluded in the other frame, or the edge of a moving patch).
"""
from __future__ import annotations

import hashlib
from typing import List, Optional, Sequence

import numpy as np

from ..data.datasets import check_window
from ..data.resize import make_lr

__all__ = ["input_flows", "flow_pair", "flip_flows", "SyntheticMotion", "Mixture", "stills_from", "pan"]


def _grey(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def flow_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Both flows between two LR frames (h, w, 3) uint8: (2, 2, h, w) float32, [f(b -> a), f(a -> b)], (dy, dx)."""
    from ..eval.baselines import optical_flow

    ga, gb = _grey(a), _grey(b)
    flows = [optical_flow(gb, ga), optical_flow(ga, gb)]  # (h, w, (dx, dy)) each: b(p) ~ a(p + f), a(p) ~ b(p + f)
    return np.stack([f[..., ::-1].transpose(2, 0, 1) for f in flows]).astype(np.float32)  # (2, 2, h, w)


def input_flows(lr: np.ndarray) -> np.ndarray:
    """The DIS optical flow between every two neighbouring inputs of a window.

    Shape:
        lr: (T, h, w, 3) uint8 -> (T-1, 2, 2, h, w) float32 (layout in the module docstring).
    """
    lr = np.asarray(lr)
    if lr.ndim != 4 or lr.shape[-1] != 3 or lr.dtype != np.uint8 or len(lr) < 2:
        raise ValueError(f"expected at least 2 uint8 frames (T, h, w, 3), got {lr.dtype} {lr.shape}")
    return np.stack([flow_pair(lr[j], lr[j + 1]) for j in range(len(lr) - 1)])


def stills_from(clips: Sequence[np.ndarray], every: int = 10) -> List[np.ndarray]:
    """Every ``every``-th frame of some HR clips (N, H, W, 3) uint8, as stills for :class:`SyntheticMotion`."""
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    return [np.ascontiguousarray(frame) for clip in clips for frame in np.asarray(clip)[::every]]


def pan(still: np.ndarray, frames: int, step: Sequence[float], size: Sequence[int]) -> np.ndarray:
    """A clip of a camera panning over a still at a constant velocity: (frames, h, w, 3) uint8.

    Frame ``t`` shows the ``size = (w, h)`` window of ``still`` whose top-left corner is at ``t * step`` (plus the
    margin that keeps the whole path inside the still), rendered by bicubic interpolation; so the motion between
    frames is exactly ``step = (dx, dy)`` HR pixels everywhere. A clip for validation: a still that is held out
    of training makes a clip with real texture and known motion.

    Raises:
        ValueError: a still that is not (H, W, 3) uint8, or too small for the path.
    """
    import cv2

    still = np.asarray(still)
    if still.ndim != 3 or still.shape[-1] != 3 or still.dtype != np.uint8:
        raise ValueError(f"expected a still (H, W, 3) uint8, got {still.dtype} {still.shape}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    (dx, dy), (w, h) = (float(v) for v in step), (int(v) for v in size)
    travel = np.array([dx, dy]) * (frames - 1)
    start = np.maximum(-travel, 0.0)  # a leftward (upward) pan starts right (low) enough to stay inside
    need = np.ceil(np.abs(travel)) + np.array([w, h])
    if np.any(need > np.array(still.shape[1::-1])):
        raise ValueError(f"a {w}x{h} view moving {dx:g}, {dy:g} pixels a frame for {frames} frames needs a still of "
                         f"at least {int(need[0])}x{int(need[1])}; got {still.shape[1]}x{still.shape[0]}")
    out = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        x, y = start + t * np.array([dx, dy])
        out[t] = cv2.warpAffine(still, np.array([[1.0, 0, x], [0, 1.0, y]]), (w, h),
                                flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
    return out


def _velocity(rng: np.random.Generator, max_speed: float) -> np.ndarray:
    """A velocity (x, y) uniform in the disc of radius ``max_speed``."""
    angle, radius = rng.uniform(0, 2 * np.pi), max_speed * np.sqrt(rng.uniform())
    return np.array([radius * np.cos(angle), radius * np.sin(angle)])


class SyntheticMotion:
    """Windows of 2T-1 HR frames rendered from still images, with exactly known motion.

    Window ``i`` is a pure function of ``(seed, i)``. A still is picked; the camera looks at a square of it that
    moves at a constant velocity (up to ``max_speed`` LR pixels between two inputs, a uniform direction) and zooms at
    a constant rate (up to ``max_zoom`` per HR frame); with probability ``foreground`` an elliptic patch cut from
    another still crosses the view at its own velocity. Frames are rendered by bicubic warping at HR; the LR inputs
    are the even frames downscaled by MATLAB bicubic (:func:`zsm.data.resize.make_lr`), as for real footage.

    Args:
        stills: HR images (H, W, 3) uint8, each at least ``2 * scale * lr_size`` on both sides.
        lr_size (int): side of the LR window (the HR side is ``scale`` times it). Default: 32.
        frames (int): HR frames, (T-1)n + 1 (2T-1 for n = 2). Default: 7.
        scale (int): s. Default: 4.
        max_speed (float): LR pixels between two neighbouring inputs. Default: 4.
        max_zoom (float): relative zoom per HR frame. Default: 0.02.
        foreground (float): probability of a moving patch. Default: 0.5.
        seed (int): Default: 0.
        windows (int): how many distinct windows there are (their numbers 0 .. windows-1); 1 makes a training set of
            one clip, as in chapter 3's controlled experiment. Default: 2**31.
        factor (int): n, the inputs are every n-th HR frame (chapter 8: the frames between are the moments j/n).
            Default: 2, the paper's. ``max_speed`` stays the motion between two inputs.
    """

    def __init__(self, stills: Sequence[np.ndarray], lr_size: int = 32, frames: int = 7, scale: int = 4,
                 max_speed: float = 4.0, max_zoom: float = 0.02, foreground: float = 0.5, seed: int = 0,
                 windows: int = 2**31, factor: int = 2):
        check_window(frames, factor)
        if max_speed < 0 or max_zoom < 0 or not 0 <= foreground <= 1:
            raise ValueError("max_speed and max_zoom must be >= 0 and foreground in [0, 1], got "
                             f"{max_speed}, {max_zoom}, {foreground}")
        if windows < 1:
            raise ValueError(f"windows must be at least 1, got {windows}")
        self.windows = int(windows)
        self.stills = [np.ascontiguousarray(s) for s in stills]
        if not self.stills:
            raise ValueError("no stills to make synthetic motion from")
        side = 2 * scale * lr_size
        for i, still in enumerate(self.stills):
            if still.ndim != 3 or still.shape[-1] != 3 or still.dtype != np.uint8:
                raise ValueError(f"still {i}: expected (H, W, 3) uint8, got {still.dtype} {still.shape}")
            if min(still.shape[:2]) < side:
                raise ValueError(f"still {i} is {still.shape[1]}x{still.shape[0]}; needs at least {side} on both sides")
        self.lr_size, self.frames, self.scale, self.factor = lr_size, frames, scale, factor
        self.max_speed, self.max_zoom, self.foreground, self.seed = max_speed, max_zoom, foreground, seed
        digest = hashlib.sha256()
        for still in self.stills:
            digest.update(f"{still.shape}".encode())
            digest.update(still.data)
        self._sha256 = digest.hexdigest()

    def __len__(self) -> int:
        return self.windows

    def describe(self) -> dict:
        """What the windows are made of (a run records it)."""
        return {"kind": "synthetic", "stills": len(self.stills), "sha256": self._sha256, "lr_size": self.lr_size,
                "frames": self.frames, "max_speed": self.max_speed, "max_zoom": self.max_zoom,
                "foreground": self.foreground, "seed": self.seed, "windows": self.windows,
                **({"factor": self.factor} if self.factor != 2 else {})}

    def window(self, index: int, flows: bool = False):
        """LR inputs (T, n, n, 3) and HR frames ((T-1)f + 1, sn, sn, 3) (f the factor; 2T-1 for f = 2), uint8, and
        with ``flows`` their exact flow (T-1, 2, 2, n, n) float32 (layout in the module docstring)."""
        import cv2

        rng = np.random.default_rng([self.seed, int(index), 7])
        s, n, k = self.scale, self.lr_size, self.frames
        side = s * n
        still = self.stills[int(rng.integers(len(self.stills)))]
        v = _velocity(rng, self.max_speed) * s / self.factor  # HR pixels per HR frame (inputs `factor` frames apart)
        zoom = rng.uniform(-self.max_zoom, self.max_zoom)
        times = np.arange(k) - (k - 1) / 2  # the middle frame at t = 0
        zooms = (1 + zoom) ** times  # (2T-1,)
        centre = (side - 1) / 2
        reach = np.abs(v) * (k - 1) / 2 + zooms.max() * side / 2 + 2  # half-extent of the view on the still
        h, w = still.shape[:2]
        lo, hi = reach, np.array([w, h]) - 1 - reach
        if np.any(hi < lo):  # a slow still: shrink the motion until the view stays inside
            v, zooms = v * 0, np.ones(k)
            lo, hi = np.full(2, side / 2 + 1), np.array([w, h]) - side / 2 - 2
        c0 = rng.uniform(lo, hi)  # the still point at the centre of the middle frame

        def camera(t):  # 2x3 matrix: frame pixel (x, y, 1) -> still coordinates
            z = zooms[t]
            return np.array([[z, 0, c0[0] - z * centre + times[t] * v[0]],
                             [0, z, c0[1] - z * centre + times[t] * v[1]]])

        hr = np.empty((k, side, side, 3), np.float32)
        for t in range(k):
            hr[t] = cv2.warpAffine(still, camera(t), (side, side), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REFLECT)
        masks = None
        if rng.random() < self.foreground:
            other = self.stills[int(rng.integers(len(self.stills)))]
            radius = rng.uniform(0.2, 0.35, size=2) * side  # (rx, ry)
            pw, ph = int(2 * radius[0]) + 8, int(2 * radius[1]) + 8
            py, px = int(rng.integers(other.shape[0] - ph)), int(rng.integers(other.shape[1] - pw))
            patch = other[py: py + ph, px: px + pw].astype(np.float32)
            gy, gx = np.mgrid[0:ph, 0:pw].astype(np.float32)
            ellipse = (((gx - (pw - 1) / 2) / radius[0]) ** 2 + ((gy - (ph - 1) / 2) / radius[1]) ** 2 <= 1)
            ellipse = cv2.GaussianBlur(ellipse.astype(np.float32), (5, 5), 1.0)
            u = _velocity(rng, self.max_speed) * s / self.factor
            start = rng.uniform(0.1, 0.9, size=2) * side - np.array([pw, ph]) / 2  # top-left of the patch, middle frame
            masks = np.empty((k, side, side), np.float32)
            for t in range(k):
                shift = np.array([[1, 0, -(start[0] + times[t] * u[0])], [0, 1, -(start[1] + times[t] * u[1])]])
                flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
                fg = cv2.warpAffine(patch, shift, (side, side), flags=flags, borderMode=cv2.BORDER_REPLICATE)
                masks[t] = np.clip(cv2.warpAffine(ellipse, shift, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0), 0, 1)
                hr[t] = hr[t] * (1 - masks[t][..., None]) + fg * masks[t][..., None]
        hr = np.clip(np.rint(hr), 0, 255).astype(np.uint8)
        lr = make_lr(hr[0::self.factor], s)
        if not flows:
            return lr, hr
        return lr, hr, self._flows(camera, masks, u if masks is not None else None)

    def _flows(self, camera, masks: Optional[np.ndarray], u: Optional[np.ndarray]) -> np.ndarray:
        """The exact flow between neighbouring inputs (HR frames fj and fj+f, f the factor), at the LR pixel centres."""
        import cv2

        s, n = self.scale, self.lr_size
        q = np.arange(n, dtype=np.float64)
        hr_pos = (q + 0.5) * s - 0.5  # LR pixel centre -> HR coordinate
        px, py = np.meshgrid(hr_pos, hr_pos)  # (n, n) HR x and y of the LR grid
        f = self.factor
        pairs = (self.frames - 1) // f
        out = np.empty((pairs, 2, 2, n, n), np.float32)

        def mask_at(t, x, y):
            if masks is None:
                return np.zeros_like(x, dtype=np.float32)
            return cv2.remap(masks[t], x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)

        for j in range(pairs):
            for direction, (src, dst) in enumerate(((f * j + f, f * j), (f * j, f * j + f))):
                m_src, m_dst = camera(src), camera(dst)
                still_x = m_src[0, 0] * px + m_src[0, 2]  # the still point seen at p in frame src
                still_y = m_src[1, 1] * py + m_src[1, 2]
                bx = (still_x - m_dst[0, 2]) / m_dst[0, 0]  # where frame dst shows it
                by = (still_y - m_dst[1, 2]) / m_dst[1, 1]
                fx, fy = bx - px, by - py
                if masks is not None:
                    here = mask_at(src, px, py)
                    fg = here > 0.5
                    fx = np.where(fg, -(src - dst) * u[0], fx)
                    fy = np.where(fg, -(src - dst) * u[1], fy)
                    unknown = ((here > 0.05) & (here < 0.95)) | (~fg & (mask_at(dst, bx, by) > 0.05))
                    fx, fy = np.where(unknown, np.nan, fx), np.where(unknown, np.nan, fy)
                out[j, direction, 0], out[j, direction, 1] = fy / s, fx / s
        return out


class Mixture:
    """Windows drawn from several sources: window ``i`` comes from source k with probability ``weights[k]``.

    Window ``i`` is a pure function of ``(seed, i)``: the source is drawn, then one of its windows.

    Args:
        sources: objects with ``window(index, flows=False)``, ``__len__``, ``scale`` and ``describe()``.
        weights: one per source, >= 0, not all 0 (normalised here).
        seed (int): Default: 0.
    """

    def __init__(self, sources: Sequence, weights: Sequence[float], seed: int = 0):
        if len(sources) != len(weights) or not sources:
            raise ValueError(f"need one weight per source, got {len(sources)} sources and {len(weights)} weights")
        weights = np.asarray(weights, np.float64)
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"weights must be >= 0 and not all 0, got {list(weights)}")
        scales = {source.scale for source in sources}
        if len(scales) != 1:
            raise ValueError(f"every source must have the same scale, got {sorted(scales)}")
        factors = {getattr(source, "factor", 2) for source in sources}
        if len(factors) != 1:
            raise ValueError(f"every source must have the same time factor, got {sorted(factors)}")
        self.sources, self.weights, self.seed, self.scale = list(sources), weights / weights.sum(), seed, scales.pop()
        self.factor = factors.pop()

    def __len__(self) -> int:
        return 2**31

    def describe(self) -> dict:
        return {"kind": "mixture", "weights": [float(w) for w in self.weights], "seed": self.seed,
                "sources": [s.describe() for s in self.sources]}

    def window(self, index: int, flows: bool = False):
        rng = np.random.default_rng([self.seed, int(index), 11])
        source = self.sources[int(rng.choice(len(self.sources), p=self.weights))]
        return source.window(int(rng.integers(len(source))), flows=flows)


def flip_flows(flow: np.ndarray, horizontal: bool = False, vertical: bool = False, transpose: bool = False,
               reverse: bool = False) -> np.ndarray:
    """The flow (T-1, 2, 2, h, w) of a window after the augmentation of :func:`zsm.training.samples.augment`:
    flipped left-right, upside down, transposed (in that order), and reversed in time."""
    if horizontal:
        flow = flow[..., ::-1] * np.array([1, -1], np.float32)[:, None, None]
    if vertical:
        flow = flow[..., ::-1, :] * np.array([-1, 1], np.float32)[:, None, None]
    if transpose:
        flow = flow.swapaxes(-1, -2)[:, :, ::-1]  # pixels transposed, (dy, dx) -> (dx, dy) of the old axes
    if reverse:
        flow = flow[::-1, ::-1]  # pairs in the other order; each pair's two directions swap
    return np.ascontiguousarray(flow)


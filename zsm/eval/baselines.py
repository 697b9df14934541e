"""Two classical baselines for space-time video super-resolution, with the network's interface.

Book: chapters 0, 7 and 8.

Both are *two-stage* methods, the kind the paper compares against: first make the missing frames at low
resolution (temporal interpolation), then upscale every frame with MATLAB bicubic (:mod:`zsm.data.resize`).

* :class:`BicubicAverage`: a missing frame is the average of its two neighbours; at a moment t between them, the
  blend ``(1 - t) x_i + t x_(i+1)``. Bicubic resizing is linear, so blending in LR and then upscaling equals
  upscaling and then blending (up to rounding); we blend in LR, which is 16 times cheaper.
* :class:`FlowThenBicubic`: a missing frame is made by optical flow (OpenCV's DIS or Farneback): both neighbours
  are warped toward the missing moment by backward warping (``cv2.remap``, bilinear, edge pixels repeated), half-way
  for the middle frame, and blended, then every frame is upscaled by bicubic.

Like :class:`zsm.net.model.ZoomingSlowMo`, they map a float tensor (B, T, 3, H, W) in [0, 1] to
(B, 2T-1, 3, sH, sW): output ``2i`` is input ``i`` upscaled, output ``2i+1`` lies half-way between inputs ``i``
and ``i+1``. Given ``times``, k moments t in (0, 1) (as the time-modulated network takes them, chapter 8), they make
(B, T + (T-1)k, 3, sH, sW) in time order: input ``i``, then the frames at ``i + t_1, ..., i + t_k``, then input
``i+1``. Outputs are not clipped (bicubic overshoots a little at edges), as the network's are not.
They also take uint8 frames (T, H, W, 3) and then return uint8 frames (2T-1 or T + (T-1)k, sH, sW, 3).
They are ``nn.Module`` subclasses without parameters, so ``.eval()`` / ``.to()`` work as for the network.

:class:`HalfWayThenBlend` is what a 2x method (the network or a baseline) gives at other moments without retraining
(chapter 8): its own frames half-way, and between those and its super-resolved inputs a linear blend.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..data.pixels import to_uint8, unit_float64
from ..data.resize import resize_axes
from ..net.model import check_times, in_time_order, is_half_way

__all__ = ["BicubicAverage", "FlowThenBicubic", "HalfWayThenBlend", "flow_consistency", "optical_flow", "warp"]


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
    return int(scale)


def _check_tensor(x: Tensor) -> Tensor:
    if not x.is_floating_point():
        raise TypeError(f"expected a float tensor (B, T, 3, H, W) in [0, 1], got dtype {x.dtype}")
    if x.ndim != 5 or x.shape[2] != 3 or x.shape[1] < 2 or x.shape[3] < 1 or x.shape[4] < 1:
        raise ValueError(f"expected a tensor (B, T, 3, H, W) with T >= 2 RGB frames, got shape {tuple(x.shape)}")
    return x


class _TwoStage(nn.Module):
    """Interpolate the missing frames in LR (``middle_frames``), then upscale all frames by MATLAB bicubic."""

    def __init__(self, scale: int = 4):
        super().__init__()
        self.scale = _check_scale(scale)

    def middle_frames(self, x: Tensor, times=None) -> Tensor:
        """The frames between neighbouring inputs, in LR.

        Without ``times``, the T-1 frames half-way between neighbours, (B, T-1, 3, H, W): the hook a subclass
        overrides to make its own middle frames (chapter 0). With ``times``, the (B, k) tensor of moments that
        :func:`zsm.net.model.check_times` returns for ``x`` (``forward`` checks them once), the frames at each
        moment, (B, T-1, k, 3, H, W).

        Shape:
            x: (B, T, 3, H, W) -> (B, T-1, 3, H, W), or (B, T-1, k, 3, H, W) with ``times``
        """
        raise NotImplementedError

    def forward(self, x, times=None):
        """Space-time super-resolution of a clip.

        Args:
            x: float tensor (B, T, 3, H, W) in [0, 1]; or numpy frames (T, H, W, 3), uint8 or float in [0, 1].
            times: the moments to make between each pair of inputs: None (t = 0.5 alone), k numbers in (0, 1),
                strictly increasing, or a (k,) or (B, k) tensor of them (:func:`zsm.net.model.check_times`).

        Returns:
            Tensor (B, T + (T-1)k, 3, sH, sW) of the input's dtype and device, in time order (k = 1 without
            ``times``: (B, 2T-1, 3, sH, sW)); for numpy input, numpy frames (T + (T-1)k, sH, sW, 3), uint8
            (rounded, clipped) for uint8 input, else float64.

        Raises:
            TypeError: not a float tensor / numpy array of uint8 or float; times that are not numbers.
            ValueError: wrong shape, fewer than 2 frames, or bad times (empty, outside (0, 1), not increasing).
        """
        if isinstance(x, np.ndarray):
            return self._forward_numpy(x, times)
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a tensor (B, T, 3, H, W) or numpy frames (T, H, W, 3), got {type(x).__name__}")
        x = _check_tensor(x)
        tt = check_times(times, x.shape[0], x)  # (B, k), checked once for the whole call
        if tt.shape[1] == 1 and bool((tt == 0.5).all()):  # the half-way hook a subclass may override (chapter 0)
            middles = self.middle_frames(x).unsqueeze(2)  # (B, T-1, 1, 3, H, W)
        else:
            middles = self.middle_frames(x, tt)  # (B, T-1, k, 3, H, W)
        seq = in_time_order(x, middles)  # (B, T + (T-1)k, 3, H, W)
        return resize_axes(seq, float(self.scale))  # (B, T + (T-1)k, 3, sH, sW)

    def _forward_numpy(self, frames: np.ndarray, times=None) -> np.ndarray:
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
            raise ValueError(f"expected frames (T, H, W, 3) with T >= 2, got shape {frames.shape}")
        clip = unit_float64(frames, "frames")  # (T, H, W, 3)
        x = torch.from_numpy(clip).permute(0, 3, 1, 2).unsqueeze(0)  # (1, T, 3, H, W)
        out = self.forward(x, times)[0].permute(0, 2, 3, 1).numpy()  # (T + (T-1)k, sH, sW, 3)
        return to_uint8(out, "away") if frames.dtype == np.uint8 else out


class BicubicAverage(_TwoStage):
    """Missing frames = average of the two neighbours (at moment t their blend); every frame upscaled by MATLAB bicubic.

    Book: chapters 0, 7 and 8. The frame at ``i + t`` is ``(1 - t) x_i + t x_(i+1)``, a cross-fade.

    Args:
        scale (int): s. Default: 4.

    Shape:
        x: (B, T, 3, H, W) -> (B, 2T-1, 3, sH, sW); or numpy (T, H, W, 3) -> (2T-1, sH, sW, 3).
        With k ``times``: (B, T + (T-1)k, 3, sH, sW), or numpy (T + (T-1)k, sH, sW, 3).
    """

    def middle_frames(self, x: Tensor, times=None) -> Tensor:
        if times is None:
            return 0.5 * (x[:, :-1] + x[:, 1:])  # (B, T-1, 3, H, W)
        w = times[:, None, :, None, None, None]  # (B, 1, k, 1, 1, 1)
        return (1 - w) * x[:, :-1, None] + w * x[:, 1:, None]  # (B, T-1, k, 3, H, W)


def optical_flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """Optical flow from ``a`` to ``b`` (H, W) uint8: (H, W, 2) float32 (dx, dy), ``a(p) ~ b(p + flow(p))``.

    ``method``: "dis" (``cv2.DISOpticalFlow``, preset MEDIUM) or "farneback". DIS refuses frames smaller than
    12 pixels on both sides; such frames are padded (edge pixels repeated) to 12 for the flow, which is then
    cropped back.
    """
    import cv2

    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method != "dis":
        raise ValueError(f"method must be 'dis' or 'farneback', got {method!r}")
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    h, w = a.shape
    pad = dict(top=0, left=0, bottom=max(0, 12 - h), right=max(0, 12 - w), borderType=cv2.BORDER_REPLICATE)
    a, b = cv2.copyMakeBorder(a, **pad), cv2.copyMakeBorder(b, **pad)  # (max(H, 12), max(W, 12)) each
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)[:h, :w]


def warp(image: np.ndarray, flow: np.ndarray, fraction: float = 1.0) -> np.ndarray:
    """Backward warp: ``image`` read at ``p + fraction * flow(p)`` for every pixel ``p``, bilinear, edge repeated.

    ``image`` (H, W) or (H, W, C) float32; ``flow`` (H, W, 2) float32 (dx, dy), as :func:`optical_flow` returns.
    With the flow from ``a`` to ``b``, ``warp(b, flow)`` is ``b`` brought into register with ``a``; with
    ``fraction=0.5`` it reads ``b`` half-way along the flow (how :class:`FlowThenBicubic` makes a middle frame).
    Returns an array of ``image``'s shape.
    """
    import cv2

    h, w = flow.shape[:2]
    if image.shape[:2] != (h, w) or flow.shape[2:] != (2,):
        raise ValueError(f"image {image.shape} and flow {flow.shape} must be (H, W[, C]) and (H, W, 2)")
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)  # (H, W) pixel coordinates
    return cv2.remap(image, gx + fraction * flow[..., 0], gy + fraction * flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def flow_consistency(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Forward-backward error of two flows, in pixels: ``|forward(p) + backward(p + forward(p))|``, (H, W).

    ``forward`` is the flow from ``a`` to ``b`` and ``backward`` the flow from ``b`` to ``a`` (each (H, W, 2)
    float32). Where both are right, following one and then the other returns to ``p`` and the error is about 0; it is
    large where a pixel of ``a`` has no match in ``b`` (occlusion), where the match is ambiguous (flat or
    one-directional texture: the aperture problem), or where the estimator failed (large motion).
    """
    return np.linalg.norm(forward + warp(backward, forward), axis=-1)


class FlowThenBicubic(_TwoStage):
    """Missing frames by optical-flow interpolation (OpenCV), then every frame upscaled by MATLAB bicubic.

    Book: chapters 0 and 7.

    For neighbours ``I0``, ``I1`` the flows ``f01`` (from I0 to I1) and ``f10`` are estimated on 8-bit grey
    frames; the middle frame is ``(I0(p + f10(p) / 2) + I1(p + f01(p) / 2)) / 2``, each term a backward warp by
    half the flow (so it uses the flow at ``p`` as the flow of the middle frame at ``p``: exact for a uniform
    translation, approximate near motion boundaries). At a moment t the frame is
    ``(1 - t) I0(p + t f10(p)) + t I1(p + (1 - t) f01(p))``: each neighbour warped by the fraction of the way
    to t, and the nearer one weighted more (chapter 8). It runs on the CPU in numpy and is not differentiable.

    Args:
        scale (int): s. Default: 4.
        method (str): "dis" (``cv2.DISOpticalFlow``, preset MEDIUM) or "farneback". Default: "dis".

    Shape:
        x: (B, T, 3, H, W) -> (B, 2T-1, 3, sH, sW); or numpy (T, H, W, 3) -> (2T-1, sH, sW, 3).
        With k ``times``: (B, T + (T-1)k, 3, sH, sW), or numpy (T + (T-1)k, sH, sW, 3).
    """

    def __init__(self, scale: int = 4, method: str = "dis"):
        super().__init__(scale)
        if method not in ("dis", "farneback"):
            raise ValueError(f"method must be 'dis' or 'farneback', got {method!r}")
        self.method = method

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Optical flow from ``a`` to ``b`` (H, W) uint8 by this baseline's method: see :func:`optical_flow`."""
        return optical_flow(a, b, self.method)

    def interpolate(self, i0: np.ndarray, i1: np.ndarray, t: float = 0.5) -> np.ndarray:
        """The frame at moment ``t`` (default: half-way) between two float32 frames (H, W, 3) in [0, 1]:
        (H, W, 3) float32."""
        return self.interpolate_at(i0, i1, [t])[0]

    def interpolate_at(self, i0: np.ndarray, i1: np.ndarray, times) -> np.ndarray:
        """The frames at each moment of ``times`` (floats in (0, 1)) between two float32 frames (H, W, 3) in
        [0, 1], from one pair of flows: (k, H, W, 3) float32.

        At t = 0.5 the blend ``0.5 a + 0.5 b`` is exactly ``0.5 (a + b)`` in floating point (halving is exact).
        """
        import cv2

        grey = [cv2.cvtColor(to_uint8(i, "away"), cv2.COLOR_RGB2GRAY) for i in (i0, i1)]  # 2 x (H, W) uint8
        f01, f10 = self.flow(grey[0], grey[1]), self.flow(grey[1], grey[0])  # (H, W, 2) each
        return np.stack([(1 - t) * warp(i0, f10, t) + t * warp(i1, f01, 1 - t) for t in map(float, times)])

    def middle_frames(self, x: Tensor, times=None) -> Tensor:
        tt = times.tolist() if times is not None else [[0.5]] * len(x)  # B lists of k moments
        frames = np.ascontiguousarray(x.detach().to("cpu", torch.float32).permute(0, 1, 3, 4, 2).numpy())  # (B, T, H, W, 3)
        mids = np.stack([np.stack([self.interpolate_at(clip[i], clip[i + 1], row) for i in range(len(clip) - 1)])
                         for clip, row in zip(frames, tt)])  # (B, T-1, k, H, W, 3)
        mids = torch.from_numpy(mids).permute(0, 1, 2, 5, 3, 4).to(x.device, x.dtype)  # (B, T-1, k, 3, H, W)
        return mids if times is not None else mids[:, :, 0]  # (B, T-1, 3, H, W) for the half-way frames alone


class HalfWayThenBlend(nn.Module):
    """A 2x network asked for any moment: its frame half-way, and a blend of its HR frames elsewhere.

    Book: chapter 8. Zooming Slow-Mo makes only t = 1/2; the frame at another moment t between inputs i and i+1 is
    then the linear blend of the two network frames around it: of input i's and the half-way frame's for
    t < 1/2 (weight 2t on the half-way frame), of the half-way frame's and input i+1's for t > 1/2. The comparison
    that says what training on the moments (a time-modulated network) buys over reusing a 2x model.

    Args:
        model: a 2x method (B, T, 3, H, W) -> (B, 2T-1, 3, sH, sW): the network or a baseline.

    Shape:
        x: (B, T, 3, H, W) -> (B, T + (T-1)k, 3, sH, sW) with k ``times`` (k = 1 without), in time order.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.scale = getattr(model, "scale", None) or model.config.scale

    def forward(self, x: Tensor, times=None) -> Tensor:
        out = self.model(x)  # (B, 2T-1, 3, sH, sW)
        if is_half_way(times):
            return out
        w = check_times(times, x.shape[0], x)[:, None, :, None, None, None]  # (B, 1, k, 1, 1, 1)
        inputs, halves = out[:, 0::2], out[:, 1::2, None]  # (B, T, 3, sH, sW), (B, T-1, 1, 3, sH, sW)
        before, after = inputs[:, :-1, None], inputs[:, 1:, None]  # (B, T-1, 1, 3, sH, sW) each
        early = before + 2 * w * (halves - before)  # t <= 1/2: from input i to the half-way frame
        late = halves + (2 * w - 1) * (after - halves)  # t > 1/2: from the half-way frame to input i+1
        return in_time_order(inputs, torch.where(w <= 0.5, early, late))  # (B, T + (T-1)k, 3, sH, sW)

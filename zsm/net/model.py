"""The whole Zooming Slow-Mo network: LR, low-frame-rate frames in; HR frames at twice the frame rate out.

Book: chapter 7.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .blocks import FeatureExtractor
from .config import ZSMConfig
from .convlstm import BiDeformableConvLSTM
from .interpolation import FeatureTemporalInterpolation
from .reconstruction import Reconstruction

PYRAMID_MULTIPLE = 4  # the pyramid halves H and W twice


def check_clip(x, reference: Optional[Tensor] = None) -> None:
    """Raise ValueError (TypeError for a non-tensor) unless x is a clip (B, T, 3, H, W) the model can run.

    Args:
        x: the input to check.
        reference (Tensor, optional): a parameter of the model; x must share its device, and its dtype unless
            autocast is on.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor of shape (B, T, 3, H, W), got {type(x).__name__}")
    if x.dim() != 5:
        raise ValueError(f"expected a clip of shape (B, T, 3, H, W), got a {x.dim()}-D tensor of shape {tuple(x.shape)}")
    b, t, c, h, w = x.shape
    if c != 3:
        raise ValueError(f"expected 3 colour channels (RGB) in dimension 2 of (B, T, 3, H, W), got shape {tuple(x.shape)}")
    if t < 2:
        raise ValueError(f"need at least T=2 input frames to interpolate between, got T={t}")
    if b < 1 or h < 1 or w < 1:
        raise ValueError(f"need B, H, W >= 1, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point clip with values in [0, 1], got dtype {x.dtype}")
    if reference is not None:
        if x.device != reference.device:
            raise ValueError(f"the clip is on {x.device} but the model is on {reference.device}")
        autocast = torch.is_autocast_enabled(x.device.type) if x.device.type in ("cuda", "cpu") else False
        if x.dtype != reference.dtype and not autocast:
            raise ValueError(
                f"the clip is {x.dtype} but the model is {reference.dtype}; convert one of them "
                f"(e.g. x.to({reference.dtype})) or run under torch.autocast"
            )


def interleave(inputs: Tensor, middles: Tensor) -> Tensor:
    """The inputs and the frames (or features) between them, in time order: x0, m01, x1, m12, ..., x(T-1).

    Shape:
        inputs: (B, T, ...), middles: (B, T-1, ...) -> (B, 2T-1, ...)
    """
    return in_time_order(inputs, middles.unsqueeze(2))


def in_time_order(inputs: Tensor, middles: Tensor) -> Tensor:
    """The inputs and k frames (or features) between each pair of them, in time order:
    x0, m01(t1), ..., m01(tk), x1, m12(t1), ..., x(T-1).

    Shape:
        inputs: (B, T, ...), middles: (B, T-1, k, ...) -> (B, T + (T-1)k, ...)
    """
    groups = torch.cat((inputs[:, :-1].unsqueeze(2), middles), dim=2)  # (B, T-1, 1+k, ...): input i, then its k
    return torch.cat((groups.flatten(1, 2), inputs[:, -1:]), dim=1)  # (B, T + (T-1)k, ...)


def is_half_way(times) -> bool:
    """Whether ``times`` asks for the frame half-way alone, what every network makes: None, or a list or tuple
    holding the one number 0.5.

    Told without any tensor operation, so that the default path of a network can run inside a CUDA graph; a
    tensor of times, even of 0.5, is not told here but goes through :func:`check_times` (which reads it back).
    """
    if times is None:
        return True
    if not isinstance(times, (list, tuple)) or len(times) != 1:
        return False
    t = times[0]
    return isinstance(t, (int, float)) and not isinstance(t, bool) and t == 0.5


def moments_of(times) -> Tuple[float, ...]:
    """The k moments that ``times`` asks for between two frames of one clip, checked as :func:`check_times`
    checks them: floats in time order, (0.5,) for None.

    Raises:
        TypeError, ValueError: as :func:`check_times` with a batch of one.
    """
    if is_half_way(times):
        return (0.5,)
    return tuple(check_times(times, 1, torch.zeros(1, dtype=torch.float64))[0].tolist())


def check_times(times, batch: int, reference: Tensor) -> Tensor:
    """The moments to make between each pair of input frames, as a (B, k) tensor like ``reference``.

    Args:
        times: None (only t = 0.5, Zooming Slow-Mo), a sequence of k numbers, a (k,) tensor, or a (B, k)
            tensor of moments for each clip of the batch; each row strictly increasing, every t in (0, 1).
        batch (int): B.
        reference (Tensor): a tensor whose device and dtype the result takes.

    Raises:
        TypeError: not numbers. ValueError: empty, out of (0, 1), not increasing, or a (B, k) tensor whose
            B is not the batch's.
    """
    if times is None:
        times = (0.5,)
    if isinstance(times, Tensor):
        tt = times.detach().to(device=reference.device, dtype=reference.dtype)
        if tt.dim() == 1:
            tt = tt.unsqueeze(0)
        if tt.dim() != 2 or tt.shape[0] not in (1, batch):
            raise ValueError(f"times must be a (k,) or (B, k) = ({batch}, k) tensor, got shape {tuple(times.shape)}")
    else:
        try:
            values = [float(t) for t in times]
        except (TypeError, ValueError):
            raise TypeError(f"times must be a sequence of numbers in (0, 1), got {times!r}") from None
        tt = torch.tensor(values, device=reference.device, dtype=reference.dtype).view(1, -1)  # (1, k)
    if tt.shape[1] == 0:
        raise ValueError("times must hold at least one moment in (0, 1)")
    if not bool(((tt > 0) & (tt < 1)).all()):
        raise ValueError(f"every time must lie strictly between 0 and 1 (the input frames), got {tt.tolist()}")
    if not bool((tt[:, 1:] > tt[:, :-1]).all()):
        raise ValueError(f"times must be strictly increasing (the output is in time order), got {tt.tolist()}")
    return tt.expand(batch, -1)  # (B, k)


class ZoomingSlowMo(nn.Module):
    """Zooming Slow-Mo: one-stage space-time video super-resolution.

    Book: chapter 7. Residual feature extraction per input frame, frame feature temporal interpolation for
    each neighbouring pair, a bidirectional deformable ConvLSTM over the 2T-1 features, and pixel-shuffle
    reconstruction of every frame. H and W that are not multiples of 4 are zero-padded at the bottom and
    right inside the model, and the output is cropped back.

    Args:
        config (ZSMConfig): sizes; :meth:`ZSMConfig.paper` is the published network. Default: paper.

    Shape:
        x: (B, T, 3, H, W) in [0, 1], T >= 2 -> (B, 2T-1, 3, sH, sW), s = config.scale = 4.
        Output frame 2i is input frame i super-resolved; frame 2i+1 is the frame half-way between
        inputs i and i+1.

        With ``config.time_modulation`` (chapter 8) the network also takes ``times``, k moments t in (0, 1),
        the same for every pair or a (B, k) tensor, one row per clip: (B, T, 3, H, W) -> (B, T + (T-1)k, 3, sH, sW),
        input frame i followed by the frames at i + t1, ..., i + tk. ``times=(0.5,)``, the default, is the
        shape above. The ConvLSTM runs over the whole longer sequence.
    """

    def __init__(self, config: Optional[ZSMConfig] = None):
        super().__init__()
        self.config = config = config or ZSMConfig.paper()
        c, g = config.channels, config.groups
        self.extractor = FeatureExtractor(c, config.extraction_blocks)
        self.interpolation = FeatureTemporalInterpolation(c, g, timed=config.time_modulation)
        self.convlstm = BiDeformableConvLSTM(c, g)
        self.reconstruction = Reconstruction(c, config.reconstruction_blocks, config.hr_channels)
        if config.global_skip:  # start exactly at the cheap guess (see ZSMConfig.global_skip)
            nn.init.zeros_(self.reconstruction.conv_last.weight)
            nn.init.zeros_(self.reconstruction.conv_last.bias)

    def forward(self, x: Tensor, times=None) -> Tensor:
        check_clip(x, self.conv_first_weight)
        tt = self._times(x, times)  # (B, k), or None for t = 0.5 alone
        pyramid, middles = self._features(x, tt)  # 3 x (B, T, C, h_l, w_l), (B, T-1, k, C, H', W')
        b, t, _, h, w = x.shape
        k = middles.shape[2]
        hp, wp = middles.shape[-2:]
        sequence = in_time_order(pyramid[0], middles)  # (B, N, C, H', W'), N = T + (T-1)k: F0, I01(t1..tk), F1, ...

        sequence = self.convlstm(sequence)  # (B, N, C, H', W')
        n, s = t + (t - 1) * k, self.config.scale
        out = self.reconstruction(sequence.view(b * n, -1, hp, wp))  # (B*N, 3, sH', sW')
        out = out.view(b, n, 3, s * hp, s * wp)  # (B, N, 3, sH', sW')
        out = out[..., : s * h, : s * w]  # (B, N, 3, sH, sW)
        if self.config.global_skip:
            out = out + self._cheap_guess(x.reshape(b * t, 3, h, w), b, t, tt)
        return out

    def interpolated_features(self, x: Tensor, times=None) -> Tuple[List[Tensor], Tensor]:
        """The first two stages alone: the inputs' feature pyramids and the interpolated features between them.

        ``forward`` starts with this; training uses it alone where only the interpolation's offsets matter
        (:mod:`zsm.training.guidance`). The inputs are padded with zeros at the bottom and right to multiples of 4.

        Args:
            x (Tensor): the clip.
            times: the moments between each pair, as ``forward`` takes them. Default: None, t = 0.5.

        Shape:
            x: (B, T, 3, H, W) -> (3 levels of (B, T, C, h_l, w_l), (B, T-1, k, C, H', W')) with H', W' = H, W
            padded and k moments per pair (1 by default)
        """
        check_clip(x, self.conv_first_weight)
        return self._features(x, self._times(x, times))

    def _features(self, x: Tensor, tt: Optional[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """:meth:`interpolated_features` of a checked clip and checked times."""
        b, t, _, h, w = x.shape
        pad_h, pad_w = -h % PYRAMID_MULTIPLE, -w % PYRAMID_MULTIPLE
        frames = x.reshape(b * t, 3, h, w)  # (B*T, 3, H, W)
        frames = F.pad(frames, (0, pad_w, 0, pad_h))  # zeros at the bottom and right: (B*T, 3, H', W')
        pyramid = self.extractor(frames)  # 3 levels of (B*T, C, h_l, w_l)
        pyramid = [level.view(b, t, *level.shape[1:]) for level in pyramid]  # 3 levels of (B, T, C, h_l, w_l)
        return pyramid, self._interpolate_pairs(pyramid, tt)  # (B, T-1, k, C, H', W')

    def _times(self, x: Tensor, times) -> Optional[Tensor]:
        """``times`` checked, as (B, k), or None for the frame half-way alone; only t = 0.5 unless the network is
        time-modulated."""
        if is_half_way(times):
            return None
        tt = check_times(times, x.shape[0], x)
        if not self.config.time_modulation and not bool((tt == 0.5).all()):
            raise ValueError(
                f"this network makes only the frame half-way (t = 0.5), got times {tt[0].tolist()}; "
                "moments other than 0.5 need a network built with ZSMConfig(time_modulation=True)"
            )
        return tt

    def _cheap_guess(self, frames: Tensor, b: int, t: int, tt: Optional[Tensor]) -> Tensor:
        """Inputs bicubic-upscaled, the frame at i + t the blend (1 - t) up_i + t up_(i+1) of its neighbours'
        (their mean when ``tt`` is None: the frame half-way alone).

        Shape:
            frames: (B*T, 3, H, W), tt: (B, k) or None (k = 1) -> (B, T + (T-1)k, 3, sH, sW)
        """
        s = self.config.scale
        up = F.interpolate(frames, scale_factor=s, mode="bicubic", align_corners=False)  # (B*T, 3, sH, sW)
        up = up.view(b, t, *up.shape[1:])  # (B, T, 3, sH, sW)
        if tt is None:
            return interleave(up, (up[:, :-1] + up[:, 1:]) / 2)  # (B, 2T-1, 3, sH, sW)
        w = tt.to(up.dtype)[:, None, :, None, None, None]  # (B, 1, k, 1, 1, 1)
        middles = (1 - w) * up[:, :-1, None] + w * up[:, 1:, None]  # (B, T-1, k, 3, sH, sW)
        return in_time_order(up, middles)  # (B, T + (T-1)k, 3, sH, sW)

    def _interpolate_pairs(self, pyramid: List[Tensor], tt: Optional[Tensor]) -> Tensor:
        """The interpolated features of every neighbouring pair at each time: 3 levels of (B, T, C, h, w) and
        times (B, k), or None for t = 0.5 alone -> (B, T-1, k, C, H, W).

        All pairs and times run as one batch of B*(T-1)*k, laid out (B, T-1, k).
        """
        b, t = pyramid[0].shape[:2]
        k = 1 if tt is None else tt.shape[1]

        def pairs(levels: List[Tensor]) -> List[Tensor]:  # 3 x (B, T-1, C, h, w) -> 3 x (B*(T-1)*k, C, h, w)
            return [l.unsqueeze(2).expand(-1, -1, k, -1, -1, -1).reshape(b * (t - 1) * k, *l.shape[2:]) for l in levels]

        first = pairs([l[:, :-1] for l in pyramid])
        second = pairs([l[:, 1:] for l in pyramid])
        if self.config.time_modulation:
            if tt is None:
                times = first[0].new_full((b * (t - 1),), 0.5)  # (B*(T-1),)
            else:
                times = tt.unsqueeze(1).expand(-1, t - 1, -1).reshape(-1)  # (B*(T-1)*k,), laid out (B, T-1, k)
            middles = self.interpolation(first, second, times)  # (B*(T-1)*k, C, H, W)
        else:
            middles = self.interpolation(first, second)  # (B*(T-1)*k, C, H, W), k = 1
        return middles.view(b, t - 1, k, *middles.shape[1:])  # (B, T-1, k, C, H, W)

    @property
    def conv_first_weight(self) -> Tensor:
        """A parameter of the model, to tell its device and dtype."""
        return self.extractor.conv_first.weight

    def num_parameters(self) -> int:
        """The number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

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
    pairs = torch.stack((inputs[:, :-1], middles), dim=2)  # (B, T-1, 2, ...): input i, then what follows it
    return torch.cat((pairs.flatten(1, 2), inputs[:, -1:]), dim=1)  # (B, 2T-1, ...)


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
    """

    def __init__(self, config: Optional[ZSMConfig] = None):
        super().__init__()
        self.config = config = config or ZSMConfig.paper()
        c, g = config.channels, config.groups
        self.extractor = FeatureExtractor(c, config.extraction_blocks)
        self.interpolation = FeatureTemporalInterpolation(c, g)
        self.convlstm = BiDeformableConvLSTM(c, g)
        self.reconstruction = Reconstruction(c, config.reconstruction_blocks, config.hr_channels)
        if config.global_skip:  # start exactly at the cheap guess (see ZSMConfig.global_skip)
            nn.init.zeros_(self.reconstruction.conv_last.weight)
            nn.init.zeros_(self.reconstruction.conv_last.bias)

    def forward(self, x: Tensor) -> Tensor:
        pyramid, middles = self.interpolated_features(x)  # checks x; 3 x (B, T, C, h_l, w_l), (B, T-1, C, H', W')
        b, t, _, h, w = x.shape
        hp, wp = middles.shape[-2:]
        sequence = interleave(pyramid[0], middles)  # (B, 2T-1, C, H', W'): F0, I01, F1, I12, ..., F(T-1)

        sequence = self.convlstm(sequence)  # (B, 2T-1, C, H', W')
        n, s = 2 * t - 1, self.config.scale
        out = self.reconstruction(sequence.view(b * n, -1, hp, wp))  # (B*(2T-1), 3, sH', sW')
        out = out.view(b, n, 3, s * hp, s * wp)  # (B, 2T-1, 3, sH', sW')
        out = out[..., : s * h, : s * w]  # (B, 2T-1, 3, sH, sW)
        if self.config.global_skip:
            out = out + self._cheap_guess(x.reshape(b * t, 3, h, w), b, t)
        return out

    def interpolated_features(self, x: Tensor) -> Tuple[List[Tensor], Tensor]:
        """The first two stages alone: the inputs' feature pyramids and the interpolated features between them.

        ``forward`` starts with this; training uses it alone where only the interpolation's offsets matter
        (:mod:`zsm.training.guidance`). The inputs are padded with zeros at the bottom and right to multiples of 4.

        Shape:
            x: (B, T, 3, H, W) -> (3 levels of (B, T, C, h_l, w_l), (B, T-1, C, H', W')) with H', W' = H, W padded
        """
        check_clip(x, self.conv_first_weight)
        b, t, _, h, w = x.shape
        pad_h, pad_w = -h % PYRAMID_MULTIPLE, -w % PYRAMID_MULTIPLE
        frames = x.reshape(b * t, 3, h, w)  # (B*T, 3, H, W)
        frames = F.pad(frames, (0, pad_w, 0, pad_h))  # zeros at the bottom and right: (B*T, 3, H', W')
        pyramid = self.extractor(frames)  # 3 levels of (B*T, C, h_l, w_l)
        pyramid = [level.view(b, t, *level.shape[1:]) for level in pyramid]  # 3 levels of (B, T, C, h_l, w_l)
        return pyramid, self._interpolate_pairs(pyramid)  # (B, T-1, C, H', W')

    def _cheap_guess(self, frames: Tensor, b: int, t: int) -> Tensor:
        """Inputs bicubic-upscaled, missing frames the mean of their neighbours: (B*T, 3, H, W) -> (B, 2T-1, 3, sH, sW)."""
        s = self.config.scale
        up = F.interpolate(frames, scale_factor=s, mode="bicubic", align_corners=False)  # (B*T, 3, sH, sW)
        up = up.view(b, t, *up.shape[1:])  # (B, T, 3, sH, sW)
        return interleave(up, (up[:, :-1] + up[:, 1:]) / 2)  # (B, 2T-1, 3, sH, sW)

    def _interpolate_pairs(self, pyramid: List[Tensor]) -> Tensor:
        """The interpolated feature of every neighbouring pair: 3 levels of (B, T, C, h, w) -> (B, T-1, C, H, W).

        All pairs run as one batch of B*(T-1), laid out (B, T-1): item j*(T-1) + i is pair (i, i+1) of clip j.
        """
        b, t = pyramid[0].shape[:2]
        first = [l[:, :-1].reshape(b * (t - 1), *l.shape[2:]) for l in pyramid]  # 3 x (B*(T-1), C, h, w)
        second = [l[:, 1:].reshape(b * (t - 1), *l.shape[2:]) for l in pyramid]  # 3 x (B*(T-1), C, h, w)
        middles = self.interpolation(first, second)  # (B*(T-1), C, H, W)
        return middles.view(b, t - 1, *middles.shape[1:])  # (B, T-1, C, H, W)

    @property
    def conv_first_weight(self) -> Tensor:
        """A parameter of the model, to tell its device and dtype."""
        return self.extractor.conv_first.weight

    def num_parameters(self) -> int:
        """The number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

"""PCD alignment: pyramid, cascading and deformable alignment of one feature to another (from EDVR).

Book: chapter 3.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .blocks import conv3x3, lrelu
from .dcn import DeformConv
from .modulation import OffsetModulation


def upsample2x(x: Tensor) -> Tensor:
    """Bilinear x2 upsampling with align_corners=False, as between pyramid levels."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class PCDLevel(nn.Module):
    """One pyramid level of PCD alignment: predict an offset feature, then sample with a deformable conv.

    Book: chapter 3. At the coarsest level (L3) the offset feature comes from [a, b] alone. At a finer level
    it also takes the coarser level's offset feature, upsampled x2 and doubled (a displacement of one
    coarse pixel is two fine pixels), and the sampled feature is fused with the coarser level's, upsampled.

    Args:
        channels (int): C.
        groups (int): G.
        coarsest (bool): True for L3.
        timed (bool): add a temporal modulation of t to the offset feature (chapter 8,
            :class:`~zsm.net.modulation.OffsetModulation`). Default: False, the paper's level.

    Shape:
        a, b: (N, C, h, w); coarser_offset_feature, coarser_aligned: (N, C, h/2, w/2) or None at L3; t: (N,),
        only when timed -> (aligned (N, C, h, w), offset_feature (N, C, h, w)); ``aligned`` is before the
        activation (the caller applies it except at L1).
    """

    def __init__(self, channels: int, groups: int, coarsest: bool, timed: bool = False):
        super().__init__()
        self.coarsest = coarsest
        self.offset_conv1 = conv3x3(2 * channels, channels)
        if coarsest:
            self.offset_conv2 = conv3x3(channels, channels)
        else:
            self.offset_conv2 = conv3x3(2 * channels, channels)
            self.offset_conv3 = conv3x3(channels, channels)
            self.fuse = conv3x3(2 * channels, channels)
        self.dcn = DeformConv(channels, channels, channels, groups)
        self.time = OffsetModulation(channels) if timed else None

    def forward(
        self, a: Tensor, b: Tensor, coarser_offset_feature: Optional[Tensor] = None,
        coarser_aligned: Optional[Tensor] = None, t: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        offset_feature = lrelu(self.offset_conv1(torch.cat((a, b), dim=1)))  # cat: (N, 2C, h, w)
        if self.coarsest:
            offset_feature = self._modulated(self.offset_conv2, offset_feature, t)
            return self.dcn(a, offset_feature), offset_feature
        coarser = upsample2x(coarser_offset_feature) * 2
        offset_feature = lrelu(self.offset_conv2(torch.cat((offset_feature, coarser), dim=1)))  # (N, 2C, h, w)
        offset_feature = self._modulated(self.offset_conv3, offset_feature, t)
        aligned = self.dcn(a, offset_feature)
        aligned = self.fuse(torch.cat((aligned, upsample2x(coarser_aligned)), dim=1))  # cat: (N, 2C, h, w)
        return aligned, offset_feature

    def _modulated(self, conv: nn.Conv2d, x: Tensor, t: Optional[Tensor]) -> Tensor:
        """The last offset convolution, plus the temporal modulation of the same input when the level is timed."""
        if (t is None) != (self.time is None):
            raise ValueError("a timed PCD level needs t, and an untimed one takes none")
        out = lrelu(conv(x))
        return out if self.time is None else out + self.time(x, t)


class PCDAlignment(nn.Module):
    """Align feature ``a`` towards ``b``: sample ``a`` with offsets predicted from [a, b], coarse to fine.

    Book: chapter 3. Levels L3 -> L2 -> L1; LeakyReLU after the aligned features of L3 and L2, none at L1.

    Args:
        channels (int): C.
        groups (int): G, deformable groups.
        timed (bool): modulate every level's offset feature by t (chapter 8). Default: False.

    Shape:
        a, b: pyramids [(N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4)]; t: (N,), only when timed
        -> (N, C, H, W)
    """

    def __init__(self, channels: int, groups: int, timed: bool = False):
        super().__init__()
        self.l3 = PCDLevel(channels, groups, coarsest=True, timed=timed)
        self.l2 = PCDLevel(channels, groups, coarsest=False, timed=timed)
        self.l1 = PCDLevel(channels, groups, coarsest=False, timed=timed)

    def forward(self, a: List[Tensor], b: List[Tensor], t: Optional[Tensor] = None) -> Tensor:
        aligned, offset_feature = self.l3(a[2], b[2], t=t)
        aligned, offset_feature = self.l2(a[1], b[1], offset_feature, lrelu(aligned), t=t)
        aligned, _ = self.l1(a[0], b[0], offset_feature, lrelu(aligned), t=t)
        return aligned

"""The deformable convolution of Zooming Slow-Mo, whose offsets and mask come from a separate feature.

Book: chapter 2. The offsets a forward pass used are taken from outside, by :mod:`zsm.viz` (forward hooks).
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .ops import deform_conv2d

__all__ = ["DeformConv"]


class DeformConv(nn.Module):
    """A 3x3 modulated deformable convolution (DCNv2) whose offsets and mask are predicted from another feature.

    Book: chapter 2. A zero-initialised conv3x3 maps the offset feature to 3*G*K channels, split in three equal
    chunks (o1, o2, m): offset = cat(o1, o2) with layout [group][tap][(dy, dx)], mask = sigmoid(m). At
    initialisation every offset is 0 and every mask 0.5. The convolution itself runs in :mod:`zsm.ops`.

    Args:
        in_channels (int): channels of the sampled feature x.
        out_channels (int): output channels.
        offset_channels (int): channels of the offset feature.
        groups (int): G, deformable groups; must divide ``in_channels``.

    Shape:
        x: (N, in_channels, H, W), offset_feature: (N, offset_channels, H, W) -> (N, out_channels, H, W)
    """

    kernel_size = 3

    def __init__(self, in_channels: int, out_channels: int, offset_channels: int, groups: int):
        super().__init__()
        if in_channels % groups:
            raise ValueError(f"groups ({groups}) must divide in_channels ({in_channels})")
        self.groups = groups
        k = self.kernel_size
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, k, k))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        bound = 1.0 / math.sqrt(in_channels * k * k)
        nn.init.uniform_(self.weight, -bound, bound)
        self.offset_mask = nn.Conv2d(offset_channels, 3 * groups * k * k, k, padding=k // 2)
        nn.init.zeros_(self.offset_mask.weight)
        nn.init.zeros_(self.offset_mask.bias)

    @staticmethod
    def split_offsets_and_mask(offset_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """The offsets (N, 2*G*K, H, W) and mask (N, G*K, H, W) in the output (N, 3*G*K, H, W) of ``offset_mask``."""
        o1, o2, m = torch.chunk(offset_mask, 3, dim=1)  # 3 x (N, G*K, H, W)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(m)  # (N, 2*G*K, H, W), (N, G*K, H, W)

    def offsets_and_mask(self, offset_feature: Tensor) -> Tuple[Tensor, Tensor]:
        """The offsets (N, 2*G*K, H, W) and mask (N, G*K, H, W) predicted from the offset feature."""
        return self.split_offsets_and_mask(self.offset_mask(offset_feature))

    def forward(self, x: Tensor, offset_feature: Tensor) -> Tensor:
        offset, mask = self.offsets_and_mask(offset_feature)
        return deform_conv2d(x, offset, self.weight, self.bias, padding=self.kernel_size // 2, mask=mask)

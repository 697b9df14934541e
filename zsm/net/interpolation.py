"""Frame feature temporal interpolation: the feature of the missing frame between two input frames.

Book: chapter 3.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
from torch import Tensor

from .alignment import PCDAlignment


class FeatureTemporalInterpolation(nn.Module):
    """Synthesise the in-between feature from two neighbours' pyramids, without any pixel-level frame.

    Book: chapter 3. Two PCD alignments with separate weights sample F1 (offsets from [F1, F2]) and F2
    (offsets from [F2, F1]); a learned 1x1 convolution blends the two aligned features.

    Args:
        channels (int): C.
        groups (int): G.

    Shape:
        pyramid1, pyramid2: [(N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4)] -> (N, C, H, W)
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.align1 = PCDAlignment(channels, groups)
        self.align2 = PCDAlignment(channels, groups)
        self.blend = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, pyramid1: List[Tensor], pyramid2: List[Tensor]) -> Tensor:
        aligned1 = self.align1(pyramid1, pyramid2)
        aligned2 = self.align2(pyramid2, pyramid1)
        return self.blend(torch.cat((aligned1, aligned2), dim=1))  # cat: (N, 2C, H, W)

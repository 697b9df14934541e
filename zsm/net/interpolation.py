"""Frame feature temporal interpolation: the feature of the missing frame between two input frames.

Book: chapter 3; its time-modulated form (any moment between the two, not only half-way), chapter 8.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from .alignment import PCDAlignment
from .modulation import TimeVector


class FeatureTemporalInterpolation(nn.Module):
    """Synthesise the in-between feature from two neighbours' pyramids, without any pixel-level frame.

    Book: chapter 3. Two PCD alignments with separate weights sample F1 (offsets from [F1, F2]) and F2
    (offsets from [F2, F1]); a learned 1x1 convolution blends the two aligned features.

    Timed (chapter 8, after TMNet): the feature at time t in (0, 1) between F1 and F2. The first alignment's
    offset features are modulated by t, the second's by 1 - t (each is its frame's distance in time to the moment
    made), and the two aligned features are scaled channel-wise by 1 + w(t) before the blend, so the blend can
    lean towards the nearer frame. Every modulation is zero at t = 0.5 (:class:`~zsm.net.modulation.TimeVector`).

    Args:
        channels (int): C.
        groups (int): G.
        timed (bool): condition on the time t. Default: False, the paper's module.

    Shape:
        pyramid1, pyramid2: [(N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4)]; t: (N,), only when timed
        -> (N, C, H, W)
    """

    def __init__(self, channels: int, groups: int, timed: bool = False):
        super().__init__()
        self.align1 = PCDAlignment(channels, groups, timed=timed)
        self.align2 = PCDAlignment(channels, groups, timed=timed)
        self.blend = nn.Conv2d(2 * channels, channels, 1)
        self.blend_time = TimeVector(2 * channels, channels) if timed else None

    def forward(self, pyramid1: List[Tensor], pyramid2: List[Tensor], t: Optional[Tensor] = None) -> Tensor:
        if (t is None) != (self.blend_time is None):
            raise ValueError("a timed interpolation needs t, and an untimed one takes none")
        if t is None:
            aligned1, aligned2 = self.align1(pyramid1, pyramid2), self.align2(pyramid2, pyramid1)
            return self.blend(torch.cat((aligned1, aligned2), dim=1))  # cat: (N, 2C, H, W)
        aligned = torch.cat((self.align1(pyramid1, pyramid2, t), self.align2(pyramid2, pyramid1, 1 - t)), dim=1)
        scale = 1 + self.blend_time(t)  # (N, 2C): 1 at t = 0.5
        return self.blend(aligned * scale[:, :, None, None])  # aligned: (N, 2C, H, W)

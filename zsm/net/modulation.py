"""Temporal modulation: the feature interpolation told *when* between two frames to synthesise (after TMNet).

Book: chapter 8. Not in Zooming Slow-Mo, which only makes the frame half-way; Xu et al., *Temporal Modulation
Network for Controllable Space-Time Video Super-Resolution* (CVPR 2021), condition the offset features of the
interpolation's PCD alignments on the time t, so one network makes any moment between two frames.

Ours differs from TMNet's block in one way, on purpose: the vector of t is *centred*, zero at t = 0.5 for every
weight, so at t = 0.5 a time-modulated network computes exactly the Zooming Slow-Mo function of its other weights.
A 2x model is then an any-time model whose modulation has not learnt anything yet, and training it on more
moments starts from where the 2x model is.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from .blocks import conv3x3, lrelu

MIDPOINT = 0.5  # the moment Zooming Slow-Mo interpolates; every modulation is zero there


class TimeVector(nn.Module):
    """A learned vector of the time t that is zero at t = 0.5: v(t) = mlp(t - 0.5) - mlp(0).

    Book: chapter 8. The MLP is 1 -> hidden -> hidden -> out with LeakyReLU between; its last layer starts at zero,
    so v is zero for every t until training moves it. Subtracting mlp(0) keeps v(0.5) = 0 exactly, ever after.

    Args:
        out_features (int): length of the vector.
        hidden (int): width of the hidden layers.

    Shape:
        t: (N,) in (0, 1) -> (N, out_features)
    """

    def __init__(self, out_features: int, hidden: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(1, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, hidden), nn.LeakyReLU(0.1),
            nn.Linear(hidden, out_features),
        )
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, t: Tensor) -> Tensor:
        s = (t - MIDPOINT).view(-1, 1)  # (N, 1)
        both = self.layers(torch.cat((s, torch.zeros_like(s[:1])), dim=0))  # (N + 1, out): v at s, then at 0
        return both[:-1] - both[-1:]  # (N, out)


class OffsetModulation(nn.Module):
    """TMNet's temporal modulation of an offset feature: a feature of its own times a vector of t.

    Book: chapter 8. Added to the offset feature of a PCD level, so the offsets (and masks) the deformable
    convolution samples with depend on t: m(x, t) = f(x) * v(t), f two conv3x3 + LeakyReLU, v a
    :class:`TimeVector` (zero at t = 0.5).

    Args:
        channels (int): C.

    Shape:
        x: (N, C, h, w), t: (N,) -> (N, C, h, w)
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)
        self.vector = TimeVector(channels, channels)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        feature = lrelu(self.conv2(lrelu(self.conv1(x))))  # (N, C, h, w)
        return feature * self.vector(t)[:, :, None, None]  # (N, C, 1, 1) broadcast over h, w

"""Residual blocks and the residual feature extractor with its 3-level pyramid.

Book: chapter 1 (residual feature extraction).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

NEGATIVE_SLOPE = 0.1  # every LeakyReLU of the network


def lrelu(x: Tensor) -> Tensor:
    """LeakyReLU with slope 0.1, the network's activation."""
    return F.leaky_relu(x, NEGATIVE_SLOPE)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution that keeps the size (padding 1), optionally with stride."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class ResidualBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, plus the identity; no batch normalisation.

    Book: chapter 1. Both convolutions start as Kaiming-normal weights scaled by 0.1 with zero bias, so a deep
    stack of blocks starts close to the identity.

    Args:
        channels (int): C, input and output channels.
        init_scale (float): factor on the Kaiming-normal initial weights. Default: 0.1.

    Shape:
        x: (N, C, H, W) -> (N, C, H, W)
    """

    def __init__(self, channels: int, init_scale: float = 0.1):
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
            with torch.no_grad():
                conv.weight.mul_(init_scale)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class FeaturePyramid(nn.Module):
    """Two stride-2 stages that turn an L1 feature into the levels L1 (H, W), L2 (H/2, W/2), L3 (H/4, W/4).

    Book: chapter 1. Each level: conv3x3 with stride 2 -> LeakyReLU -> conv3x3 -> LeakyReLU.

    Args:
        channels (int): C.

    Shape:
        l1: (N, C, H, W) with H, W multiples of 4 -> [(N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4)]
    """

    def __init__(self, channels: int):
        super().__init__()
        self.l2_conv1 = conv3x3(channels, channels, stride=2)
        self.l2_conv2 = conv3x3(channels, channels)
        self.l3_conv1 = conv3x3(channels, channels, stride=2)
        self.l3_conv2 = conv3x3(channels, channels)

    def forward(self, l1: Tensor) -> List[Tensor]:
        l2 = lrelu(self.l2_conv2(lrelu(self.l2_conv1(l1))))
        l3 = lrelu(self.l3_conv2(lrelu(self.l3_conv1(l2))))
        return [l1, l2, l3]


class FeatureExtractor(nn.Module):
    """Residual feature extraction: conv3x3(3 -> C) + LeakyReLU, residual blocks, then the feature pyramid.

    Book: chapter 1.

    Args:
        channels (int): C.
        num_blocks (int): residual blocks. Paper: 5.

    Shape:
        frames: (N, 3, H, W), H, W multiples of 4 -> [(N, C, H, W), (N, C, H/2, W/2), (N, C, H/4, W/4)]
    """

    def __init__(self, channels: int, num_blocks: int):
        super().__init__()
        self.conv_first = conv3x3(3, channels)
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))
        self.pyramid = FeaturePyramid(channels)

    def forward(self, frames: Tensor) -> List[Tensor]:
        return self.pyramid(self.blocks(lrelu(self.conv_first(frames))))

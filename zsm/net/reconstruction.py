"""Pixel-shuffle reconstruction: from an LR feature to the HR frame.

Book: chapter 5.
"""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .blocks import ResidualBlock, conv3x3, lrelu


class Reconstruction(nn.Module):
    """Residual blocks, then two x2 sub-pixel convolutions (conv + pixel shuffle) and two HR convolutions.

    Book: chapter 5. There is no global skip connection from an upsampled input.

    Args:
        channels (int): C, the LR feature channels.
        num_blocks (int): residual blocks. Paper: 40.
        hr_channels (int): channels after the second pixel shuffle. Paper: 64.

    Shape:
        feature: (N, C, H, W) -> (N, 3, 4H, 4W)
    """

    def __init__(self, channels: int, num_blocks: int, hr_channels: int = 64):
        super().__init__()
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))
        self.up1 = conv3x3(channels, 4 * channels)
        self.up2 = conv3x3(channels, 4 * hr_channels)
        self.hr_conv = conv3x3(hr_channels, hr_channels)
        self.conv_last = conv3x3(hr_channels, 3)

    def forward(self, feature: Tensor) -> Tensor:
        x = self.blocks(feature)
        x = lrelu(F.pixel_shuffle(self.up1(x), 2))  # (N, 4C, H, W) -> (N, C, 2H, 2W)
        x = lrelu(F.pixel_shuffle(self.up2(x), 2))  # (N, 4*hr, 2H, 2W) -> (N, hr, 4H, 4W)
        return self.conv_last(lrelu(self.hr_conv(x)))

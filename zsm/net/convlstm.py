"""The bidirectional deformable ConvLSTM: temporal aggregation with states aligned to each input.

Book: chapter 4.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .blocks import FeaturePyramid
from .interpolation import FeatureTemporalInterpolation


class ConvLSTMCell(nn.Module):
    """A convolutional LSTM cell with a 3x3 gate convolution.

    Book: chapter 4. gates = conv3x3(cat(x, h)) split as (i, f, o, g); c' = f*c + i*g, h' = o*tanh(c'),
    with sigmoid on i, f, o and tanh on g.

    Args:
        channels (int): C, both the input and the hidden channels.

    Shape:
        x, h, c: (N, C, H, W) -> (h', c'), each (N, C, H, W)
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(2 * channels, 4 * channels, 3, padding=1)

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> Tuple[Tensor, Tensor]:
        gates = self.conv(torch.cat((x, h), dim=1))  # cat: (N, 2C, H, W) -> (N, 4C, H, W)
        i, f, o, g = torch.chunk(gates, 4, dim=1)  # 4 x (N, C, H, W)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_next = torch.sigmoid(o) * torch.tanh(c_next)
        return h_next, c_next


class StateAlignment(nn.Module):
    """Align an LSTM state to the current input: pyramids of both, then the same two-way PCD and blend as
    the frame feature temporal interpolation (with its own weights).

    Book: chapter 4.

    Args:
        channels (int): C.
        groups (int): G.

    Shape:
        x, state: (N, C, H, W), H and W multiples of 4 -> (N, C, H, W)
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.pyramid = FeaturePyramid(channels)
        self.interpolation = FeatureTemporalInterpolation(channels, groups)

    def forward(self, x: Tensor, state: Tensor) -> Tensor:
        n = x.shape[0]
        levels = self.pyramid(torch.cat((x, state), dim=0))  # one batch of 2N: 3 levels of (2N, C, h, w)
        return self.interpolation([l[:n] for l in levels], [l[n:] for l in levels])


class DeformableConvLSTM(nn.Module):
    """A ConvLSTM whose hidden and cell states are each aligned to the input by deformable sampling.

    Book: chapter 4. Before every step, h and c from the previous step are aligned to x_t by two
    :class:`StateAlignment` modules; the states start as zeros.

    Args:
        channels (int): C.
        groups (int): G.

    Shape:
        sequence: (B, N, C, H, W) -> hidden states (B, N, C, H, W)
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.align_hidden = StateAlignment(channels, groups)
        self.align_cell = StateAlignment(channels, groups)
        self.cell = ConvLSTMCell(channels)

    def forward(self, sequence: Tensor) -> Tensor:
        b, n, c, h, w = sequence.shape
        hidden = sequence.new_zeros(b, c, h, w)
        cell = sequence.new_zeros(b, c, h, w)
        outputs = []
        for t in range(n):
            x = sequence[:, t]
            hidden = self.align_hidden(x, hidden)
            cell = self.align_cell(x, cell)
            hidden, cell = self.cell(x, hidden, cell)
            outputs.append(hidden)
        return torch.stack(outputs, dim=1)  # (B, N, C, H, W)


class BiDeformableConvLSTM(nn.Module):
    """The same deformable ConvLSTM run forward and backward in time, fused by a 1x1 convolution.

    Book: chapter 4. One set of weights serves both directions; the backward outputs are put back in time
    order before the fusion. Since the weights are shared, both directions run as one batch of 2B sequences:
    the forward sequences first, then the time-reversed ones.

    Args:
        channels (int): C.
        groups (int): G.

    Shape:
        sequence: (B, N, C, H, W) -> (B, N, C, H, W)
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.lstm = DeformableConvLSTM(channels, groups)
        self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, sequence: Tensor) -> Tensor:
        b, n, c, h, w = sequence.shape
        both_ways = self.lstm(torch.cat((sequence, sequence.flip(1)), dim=0))  # (2B, N, C, H, W)
        forward, backward = both_ways[:b], both_ways[b:].flip(1)  # 2 x (B, N, C, H, W), in time order
        both = torch.cat((forward, backward), dim=2)  # (B, N, 2C, H, W)
        fused = self.fuse(both.view(b * n, 2 * c, h, w))  # (B*N, C, H, W)
        return fused.view(b, n, c, h, w)

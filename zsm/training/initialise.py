"""Starting weights for training: the feature extraction and interpolation drawn for their LeakyReLUs.

Book: chapter 6.

PyTorch's default convolution weights (uniform, variance 1/(3 fan_in)) shrink a signal about 2.5x per convolution
followed by LeakyReLU(0.1). The offsets of the feature interpolation are predicted from features that are 7-9 such
convolutions deep, so they start tiny: in the ``tiny_skip`` network, the offset features that feed the L1 offset
predictor have a standard deviation of 0.04 (on random frames), and the guide (:mod:`zsm.training.guidance`) moves the
offsets, which a zero-initialised convolution predicts from them, only slowly. Kaiming-normal weights with the gain of
LeakyReLU(0.1) keep the signal's size from layer to layer (0.55 there). Measured on this project's CPU
(``experiments/README.md``): with them, guide-only training on moving crops turned the offsets to the motion after
350-400 steps (cosine with the flow 0.5 at 450); with PyTorch's default, not by step 400.

The network stays the same function of its weights: only where training starts changes. The residual blocks keep
their own (0.1-scaled) start, and the offset predictors and, with a global skip, the last convolution stay zero.
"""
from __future__ import annotations

import torch.nn as nn

from ..net import DeformConv
from ..net.blocks import NEGATIVE_SLOPE, ResidualBlock

__all__ = ["kaiming_alignment"]


def kaiming_alignment(model) -> None:
    """Redraw, in place, the weights of the feature extraction and interpolation of a :class:`zsm.ZoomingSlowMo`
    (Kaiming normal, fan-in, gain of LeakyReLU(0.1); zero biases), except the residual blocks and the offset
    predictors (``DeformConv.offset_mask``), which keep their start. The ConvLSTM and reconstruction are left as
    they are. Uses torch's random generator (seed it for a reproducible start)."""
    skip = set()
    for part in (model.extractor, model.interpolation):
        for module in part.modules():
            if isinstance(module, ResidualBlock):
                skip.update(id(m) for m in module.modules())
            elif isinstance(module, DeformConv):
                skip.add(id(module.offset_mask))
        for module in part.modules():
            if id(module) in skip:
                continue
            if isinstance(module, (nn.Conv2d, DeformConv)):  # DeformConv holds its own weight and bias
                nn.init.kaiming_normal_(module.weight, a=NEGATIVE_SLOPE, mode="fan_in", nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)

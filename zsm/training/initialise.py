"""Starting weights for training: the feature extraction and interpolation drawn for their LeakyReLUs, and a
trained network deepened with residual blocks that start as the identity.

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

:func:`deepen` starts a deeper network from a trained one's weights: the same config but for more residual blocks in
the feature extraction and/or the reconstruction, and possibly a time modulation (chapter 8) the trained one lacks,
whose vectors start at zero so that it changes nothing until training moves it. The extra blocks are appended to each trunk with their second
convolution at zero, so each is the identity and the deeper network computes exactly the trained one's function at
the first step; training then uses them. At the tiny width, residual blocks cost almost nothing (C = 8: 1 + 2 blocks
-> 5 + 10 leaves a CPU training step within a few per cent), while the offsets and the ConvLSTM dominate.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn as nn

from ..net import DeformConv
from ..net.blocks import NEGATIVE_SLOPE, ResidualBlock

__all__ = ["kaiming_alignment", "deepen", "DEEPENED_TRUNKS"]

# The trunks deepen() can extend: the config field of each, and the module that holds its residual blocks.
DEEPENED_TRUNKS = {"extraction_blocks": "extractor", "reconstruction_blocks": "reconstruction"}


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


def deepen(model, state: dict, config) -> None:
    """Load ``state``, the weights of a network of ``config``, into ``model``, a network with the same config but
    as many or more residual blocks in its feature extraction and reconstruction, and time modulation on or as
    ``config`` has it; each extra block is appended to its trunk as the identity (second convolution zero), and a
    new time modulation keeps ``model``'s draw, whose time vectors are zero, so ``model`` then computes exactly the
    function of the network ``state`` came from (at every moment t). The extra blocks' first convolutions keep
    ``model``'s draw.

    Raises:
        ValueError: the configs differ in anything else, or ``model`` has fewer blocks or no time modulation
            where ``config`` has it.
    """
    counts = {name: getattr(model.config, name) for name in DEEPENED_TRUNKS}
    if replace(config, **counts, time_modulation=model.config.time_modulation) != model.config:
        raise ValueError(f"weights of a network with {config} cannot start {model.config}: only the numbers of "
                         "residual blocks (extraction_blocks, reconstruction_blocks) may grow, and time modulation "
                         "be added")
    if config.time_modulation and not model.config.time_modulation:
        raise ValueError(f"weights of a network with {config} cannot start {model.config}: it would drop the "
                         "time modulation")
    fewer = [name for name in DEEPENED_TRUNKS if counts[name] < getattr(config, name)]
    if fewer:
        raise ValueError(f"weights of a network with {config} cannot start {model.config}: it has fewer "
                         f"{' and '.join(fewer)}; a network can only be deepened")
    missing, unexpected = model.load_state_dict(state, strict=False)
    new = tuple(f"{trunk}.blocks.{i}." for name, trunk in DEEPENED_TRUNKS.items()
                for i in range(getattr(config, name), counts[name]))  # the appended blocks' parameter names
    for prefix in new:
        block = model.get_submodule(prefix.rstrip("."))
        with torch.no_grad():
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
    added = model.config.time_modulation and not config.time_modulation
    wrong = [k for k in missing if not k.startswith(new) and not (added and _is_time_modulation(k))]
    if wrong or unexpected:  # not the network the config says: another layout, or another model
        raise ValueError(f"the weights do not fit the network their config describes (missing {wrong[:3]}, "
                         f"unexpected {list(unexpected)[:3]})")


def _is_time_modulation(name: str) -> bool:
    """Whether a parameter name belongs to the time modulation (:mod:`zsm.net.modulation`)."""
    return name.startswith("interpolation.") and (".time." in name or name.startswith("interpolation.blend_time."))

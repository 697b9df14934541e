"""Offset guidance: a training-only loss that pulls the feature interpolation's offsets towards the motion.

Book: chapter 6.

Chan et al. (*Understanding Deformable Alignment in Video Super-Resolution*, AAAI 2021) found that the offsets of a
trained deformable alignment are close to optical flow, and that an *offset-fidelity* loss, offsets pulled towards
flow, makes their training stable. Here, for the frame feature temporal interpolation: the feature of the moment
half-way between inputs j and j+1 that direction 1 builds by sampling input j should sample it at about
p + f(j+1 -> j)(p) / 2, so every tap's offset of direction 1 is pulled towards half of that flow, and direction 2's
towards half of f(j -> j+1), at each pyramid level (at level l in units of its pixels, 2^(l-1) LR pixels, the
flow averaged over the 2^(l-1) x 2^(l-1) LR pixels it covers).

The guide acts on the loss only: forward hooks read the offsets that the deformable convolutions predict, so the
network computes the same function with or without it, and its weight decays to zero over the first steps, after
which only the reconstruction loss trains (:func:`guidance_weight`).
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..net import DeformConv

__all__ = ["OffsetGuide", "guidance_weight"]


def guidance_weight(step: int, weight: float, steps: int) -> float:
    """The guide's weight at optimiser step ``step`` (counted from 0): ``weight`` falling along half a cosine to 0
    at ``steps``, and 0 from there on (always 0 when ``weight`` or ``steps`` is 0)."""
    if weight <= 0 or steps <= 0 or step >= steps:
        return 0.0
    return weight * 0.5 * (1 + math.cos(math.pi * step / steps))


class OffsetGuide:
    """Keeps the offsets the feature interpolation predicts in each forward pass, and scores them against a flow.

    Use as a context manager around the training loop (or :meth:`attach` and :meth:`remove`); :meth:`loss` after
    each forward pass.

    Args:
        model: a :class:`zsm.ZoomingSlowMo` (not wrapped: pass ``ddp.module``).
        levels: the pyramid levels to guide. Default: (1, 2, 3).
    """

    def __init__(self, model, levels=(1, 2, 3)):
        self.model, self.levels = model, tuple(levels)
        self._raw: Dict[Tuple[int, int], Tensor] = {}
        self._handles: List = []

    def __enter__(self) -> "OffsetGuide":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.remove()

    def attach(self) -> "OffsetGuide":
        """Register the hooks (once); returns self."""
        if self._handles:
            return self
        interpolation = self.model.interpolation
        for direction, align in ((1, interpolation.align1), (2, interpolation.align2)):
            for level in self.levels:
                dcn: DeformConv = getattr(align, f"l{level}").dcn
                self._handles.append(dcn.offset_mask.register_forward_hook(self._keep(direction, level)))
        return self

    def remove(self) -> None:
        """Remove the hooks and forget the kept offsets."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._raw.clear()

    def _keep(self, direction: int, level: int):
        def hook(module, inputs, output):
            self._raw[(direction, level)] = output  # (B*(T-1), 3*G*K, h_l, w_l), with its graph

        return hook

    def loss(self, flow: Tensor) -> Tensor:
        """Mean distance (LR pixels of each level, Charbonnier) of every tap's offset to half the flow.

        Args:
            flow: (B, T-1, 2, 2, h, w) (see :mod:`zsm.training.motion`), NaN where unknown.

        Returns:
            a scalar, the mean over directions, levels, taps, groups and the pixels whose flow is known.
        """
        if not self._raw:
            raise RuntimeError("no offsets were kept: call loss() after a forward pass inside the context")
        b, pairs = flow.shape[:2]
        total, count = 0.0, 0
        for (direction, level), raw in self._raw.items():
            offset, _ = DeformConv.split_offsets_and_mask(raw)  # (B*(T-1), 2*G*K, h', w')
            target = 0.5 * flow[:, :, direction - 1].reshape(b * pairs, 2, *flow.shape[-2:])  # (B*(T-1), 2, h, w)
            factor = 2 ** (level - 1)
            known = torch.isfinite(target).all(dim=1, keepdim=True).to(target.dtype)  # (B*(T-1), 1, h, w)
            target = torch.nan_to_num(target)
            if factor > 1:
                weight = F.avg_pool2d(known, factor, ceil_mode=True)
                target = F.avg_pool2d(target * known, factor, ceil_mode=True) / weight.clamp_min(1e-6) / factor
                known = (weight > 0.5).to(target.dtype)
            h, w = target.shape[-2:]
            offset = offset[..., :h, :w].reshape(b * pairs, -1, 2, h, w).float()  # (B*(T-1), G*K, 2, h, w)
            distance = torch.sqrt(((offset - target[:, None]) ** 2).sum(dim=2) + 1e-6)  # (B*(T-1), G*K, h, w)
            total = total + (distance * known).sum() / (known.sum() * offset.shape[1]).clamp_min(1)
            count += 1
        self._raw.clear()
        return total / count

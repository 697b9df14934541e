"""The deformable convolution of Zooming Slow-Mo, whose offsets and mask come from a separate feature,
and the recorder that keeps every offset and mask a forward pass used.

Book: chapter 2 (deformable convolution), chapters 3 and 4 (offset views).
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .ops import deform_conv2d

__all__ = ["DeformConv", "OffsetRecord", "record_offsets", "offset_scope", "is_recording"]

# The list that collects records while record_offsets() is active, and the tags of the current scope.
_RECORDS: contextvars.ContextVar[Optional[list]] = contextvars.ContextVar("zsm_offset_records", default=None)
_TAGS: contextvars.ContextVar[Tuple[Tuple[str, object], ...]] = contextvars.ContextVar("zsm_offset_tags", default=())


@dataclass
class OffsetRecord:
    """One deformable convolution's offsets and mask in one forward pass.

    Attributes:
        module (str): the module's name in the model, e.g. ``"interpolation.align1.l1.dcn"``.
        stage (str): ``"interpolation"`` (frame feature temporal interpolation), ``"lstm_hidden"`` or
            ``"lstm_cell"`` (the deformable ConvLSTM aligning its hidden or cell state to the input).
        frame (int): index, in the 2T-1 output frames, of the frame this alignment produces (interpolation)
            or of the input step it aligns the state to (ConvLSTM).
        pair (tuple or None): the input frames (i, i+1) that the interpolation blends; None in the ConvLSTM.
        time_direction (str or None): ``"forward"`` or ``"backward"`` pass of the bidirectional ConvLSTM;
            None for the interpolation.
        level (int): pyramid level, 1 (full LR size), 2 (half) or 3 (quarter).
        direction (int): 1 when the first input is sampled (offsets from [first, second]), 2 when the second
            is sampled (offsets from [second, first]). In the interpolation the first input is frame i; in
            the ConvLSTM it is the current input feature and the second is the state.
        offset (Tensor): (B, G, K, 2, h, w), the pair (dy, dx) in pixels of that level, per group and tap.
        mask (Tensor): (B, G, K, h, w), the modulation in (0, 1).
    """

    module: str
    stage: str
    frame: int
    pair: Optional[Tuple[int, int]]
    time_direction: Optional[str]
    level: int
    direction: int
    offset: Tensor
    mask: Tensor


@contextlib.contextmanager
def record_offsets() -> Iterator[List[OffsetRecord]]:
    """Collect every offset and mask used by the deformable convolutions run inside the block.

    Example:
        >>> with record_offsets() as records:
        ...     y = model(x)
        >>> [r for r in records if r.stage == "interpolation" and r.level == 1 and r.pair == (0, 1)]

    The tensors are detached copies on the model's device; a full-size forward pass keeps a few hundred MB.
    """
    records: List[OffsetRecord] = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)


def is_recording() -> bool:
    """Whether a :func:`record_offsets` block is active (the model then runs its loops one item at a time,
    so that every record carries its own frame and direction)."""
    return _RECORDS.get() is not None


@contextlib.contextmanager
def offset_scope(**tags) -> Iterator[None]:
    """Tag the records made inside the block (``stage=``, ``frame=``, ...); free when nothing records."""
    if _RECORDS.get() is None:
        yield
        return
    token = _TAGS.set(_TAGS.get() + tuple(tags.items()))
    try:
        yield
    finally:
        _TAGS.reset(token)


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
        self.record_name = ""  # set by the model to its name there, for OffsetRecord.module

    def offsets_and_mask(self, offset_feature: Tensor) -> Tuple[Tensor, Tensor]:
        """The offsets (N, 2*G*K, H, W) and mask (N, G*K, H, W) predicted from the offset feature."""
        o1, o2, m = torch.chunk(self.offset_mask(offset_feature), 3, dim=1)  # 3 x (N, G*K, H, W)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(m)  # (N, 2*G*K, H, W), (N, G*K, H, W)

    def forward(self, x: Tensor, offset_feature: Tensor) -> Tensor:
        offset, mask = self.offsets_and_mask(offset_feature)
        records = _RECORDS.get()
        if records is not None:
            self._record(records, offset, mask)
        return deform_conv2d(x, offset, self.weight, self.bias, padding=self.kernel_size // 2, mask=mask)

    def _record(self, records: list, offset: Tensor, mask: Tensor) -> None:
        n, _, h, w = offset.shape
        g, k = self.groups, self.kernel_size**2
        tags = dict(_TAGS.get())
        records.append(
            OffsetRecord(
                module=self.record_name,
                stage=tags.get("stage", ""),
                frame=tags.get("frame", -1),
                pair=tags.get("pair"),
                time_direction=tags.get("time_direction"),
                level=tags.get("level", 0),
                direction=tags.get("direction", 0),
                offset=offset.detach().view(n, g, k, 2, h, w).clone(),  # (B, G, K, (dy, dx), h, w)
                mask=mask.detach().view(n, g, k, h, w).clone(),  # (B, G, K, h, w)
            )
        )

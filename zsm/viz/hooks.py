"""Offsets taken from outside the network: forward hooks on every deformable convolution of a ZoomingSlowMo tag
what it computes with stage, level and direction (from its name), pair or time step and pass (from the batch layout
and the call order), without a line of recording code in the network.

Book: chapters 3 and 4.
"""
from __future__ import annotations

import contextlib
import re
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..net import DeformConv, ZoomingSlowMo
from ..net.model import check_times
from .records import DIRECTIONS, LEVELS, STAGES, TIME_DIRECTIONS, OffsetRecord, OffsetRecords

__all__ = ["record_offsets", "record_model_offsets"]


# The names of the deformable convolutions of a ZoomingSlowMo, which say their stage, direction and level.
_INTERPOLATION = re.compile(r"interpolation\.align(?P<direction>[12])\.l(?P<level>[123])\.dcn")
_LSTM = re.compile(r"convlstm\.lstm\.align_(?P<state>hidden|cell)\.interpolation\.align(?P<direction>[12])"
                   r"\.l(?P<level>[123])\.dcn")


def _tagged_deform_convs(model) -> List[Tuple[str, DeformConv, dict]]:
    """Every DeformConv of ``model`` with the tags its name gives (stage, level, direction), checked complete."""
    if not isinstance(model, ZoomingSlowMo):
        raise TypeError(f"expected a zsm.ZoomingSlowMo to record offsets from, got {type(model).__name__}")
    found = []
    for name, module in model.named_modules():
        if not isinstance(module, DeformConv):
            continue
        match = _INTERPOLATION.fullmatch(name) or _LSTM.fullmatch(name)
        if match is None:
            raise ValueError(f"cannot tell the stage of the deformable convolution {name!r}; expected the names of a "
                             "zsm.ZoomingSlowMo, e.g. 'interpolation.align1.l3.dcn' or "
                             "'convlstm.lstm.align_hidden.interpolation.align2.l1.dcn'")
        state = match.groupdict().get("state")
        found.append((name, module, {"stage": f"lstm_{state}" if state else "interpolation",
                                     "level": int(match["level"]), "direction": int(match["direction"])}))
    expected = {(stage, level, direction) for stage in STAGES for level in LEVELS for direction in DIRECTIONS}
    tags = [(t["stage"], t["level"], t["direction"]) for _, _, t in found]
    if len(tags) != len(expected) or set(tags) != expected:
        raise ValueError(f"expected one deformable convolution per stage, level and direction ({len(expected)} in a "
                         f"zsm.ZoomingSlowMo), found {len(tags)}: {', '.join(name for name, _, _ in found) or 'none'}")
    return found


class _Recorder:
    """The hooks of :func:`record_offsets`: the model's pre-hook opens a pass (B and T of its input), each offset
    predictor's hook keeps its raw output with its tags and call number, and the model's hook turns them into
    records, one per pair (interpolation) or per time step and pass (ConvLSTM), in the order of a one-at-a-time
    pass: pair by pair, then the forward pass step by step, then the backward pass.
    """

    def __init__(self, model: ZoomingSlowMo, records: List[OffsetRecord]):
        self.records = records
        self.batch_time: Optional[Tuple[int, int]] = None  # (B, T) of the pass in progress; None outside a pass
        self.moments: Tuple[float, ...] = (0.5,)  # the k moments between two inputs in the pass in progress
        self.pending: List[Tuple[tuple, OffsetRecord]] = []  # (sort key, record) of the pass in progress
        self.calls: Dict[str, int] = {}  # module name -> calls in this pass
        tagged = _tagged_deform_convs(model)  # refuses another model before any hook is in place
        self.handles = [model.register_forward_pre_hook(self._open, with_kwargs=True),
                        model.register_forward_hook(self._close)]
        self.handles += [dcn.offset_mask.register_forward_hook(self._hook(name, dcn, tags))
                         for name, dcn, tags in tagged]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def _open(self, model, args, kwargs) -> None:
        self.open_pass(args[0] if args else kwargs.get("x"), args[1] if len(args) > 1 else kwargs.get("times"))

    def open_pass(self, x, times=None) -> None:
        """Start a pass on the clip ``x`` at ``times`` (the model's pre-hook, or a caller that runs only its first
        stages). Every clip of the batch must ask for the same moments, which the records then carry."""
        ok = isinstance(x, Tensor) and x.dim() == 5
        self.batch_time = tuple(x.shape[:2]) if ok else None  # a bad clip: forward raises, nothing is recorded
        self.pending, self.calls = [], {}
        if ok:
            try:
                tt = check_times(times, x.shape[0], torch.zeros(1, dtype=torch.float64))  # (B, k)
            except (TypeError, ValueError):
                self.batch_time = None  # forward refuses these times itself
                return
            if not bool((tt == tt[:1]).all()):
                self.batch_time = None
                raise ValueError("zsm.viz records the offsets of a pass whose clips all ask for the same moments; "
                                 f"got times {tt.tolist()}: record one clip at a time")
            self.moments = tuple(tt[0].tolist())

    def _close(self, model, args, output) -> None:
        self.close_pass()

    def close_pass(self) -> None:
        """End the pass: its records, in pass order, join the list."""
        if self.batch_time is not None:
            self.pending.sort(key=lambda item: item[0])
            self.records.extend(record for _, record in self.pending)
        self.batch_time, self.pending, self.calls = None, [], {}

    def _hook(self, name: str, dcn: DeformConv, tags: dict):
        g, taps = dcn.groups, dcn.kernel_size**2

        def keep(conv: nn.Module, inputs, raw: Tensor) -> None:
            if self.batch_time is None:  # called outside a pass of the model
                return
            b, t = self.batch_time
            k = len(self.moments)
            call = self.calls[name] = self.calls.get(name, 0) + 1
            order = len(self.pending)
            offset, mask = dcn.split_offsets_and_mask(raw.detach())  # (N, 2*G*K, h, w), (N, G*K, h, w)
            n, _, h, w = offset.shape
            lstm = tags["stage"] != "interpolation"
            items = 2 * b if lstm else b * (t - 1) * k  # (forward B, backward B) sequences, or (B, T-1, k) moments
            if n != items:
                raise RuntimeError(f"{name} ran on a batch of {n}, expected {items} for a clip of B={b}, T={t} and "
                                   f"{k} moments; the model does not lay out its batch as zsm.viz expects")
            if lstm:
                step, steps = call - 1, t + (t - 1) * k
                if step >= steps:
                    raise RuntimeError(f"{name} ran {call} times in one pass, expected {steps} (the T + (T-1)k steps)")
                offset = offset.view(2, b, g, taps, 2, h, w)  # (forward/backward, B, G, K, (dy, dx), h, w)
                mask = mask.view(2, b, g, taps, h, w)  # (forward/backward, B, G, K, h, w)
                for index, time_direction in enumerate(TIME_DIRECTIONS):
                    frame = step if time_direction == "forward" else steps - 1 - step
                    j = frame % (k + 1)  # 0: an input frame's step, else the j-th moment after it
                    self._keep((1, index, order), name, tags, frame, None, time_direction, offset[index], mask[index],
                               self.moments[j - 1] if j else None)
            else:
                offset = offset.view(b, t - 1, k, g, taps, 2, h, w)  # (B, T-1, k, G, K, (dy, dx), h, w)
                mask = mask.view(b, t - 1, k, g, taps, h, w)  # (B, T-1, k, G, K, h, w)
                for i in range(t - 1):
                    for j, moment in enumerate(self.moments):
                        self._keep((0, i, j, order), name, tags, i * (k + 1) + 1 + j, (i, i + 1), None,
                                   offset[:, i, j], mask[:, i, j], moment)

        return keep

    def _keep(self, key, name, tags, frame, pair, time_direction, offset: Tensor, mask: Tensor,
              time: Optional[float]) -> None:
        """Keep one record. Its tensors are parts of the split's output (new memory, which cat and sigmoid
        allocate, never the network's), copied only where a part is not contiguous (the pairs of B > 1 clips)."""
        self.pending.append((key, OffsetRecord(
            module=name, frame=frame, pair=pair, time_direction=time_direction, **tags,
            offset=offset.contiguous(), mask=mask.contiguous(),  # (B, G, K, (dy, dx), h, w), (B, G, K, h, w)
            time=time, moments=len(self.moments))))


@contextlib.contextmanager
def record_offsets(model) -> Iterator[List[OffsetRecord]]:
    """Collect every offset and mask the deformable convolutions of ``model`` use while the block runs it.

    Forward hooks on the model and on each :class:`zsm.net.dcn.DeformConv`'s offset predictor take the offsets
    from outside; the network runs exactly as without them. Each pass of the model appends its records to the
    list when it ends: with T inputs, 6*(T-1) interpolation records and 2 * 2 * 6 * (2T-1) ConvLSTM records; a pass
    at k moments (``model(x, times=...)``, chapter 8) gives 6*(T-1)*k and 2 * 2 * 6 * (T + (T-1)k), each record
    with its ``time``. The
    hooks are removed when the block exits, also on an exception.

    Example:
        >>> with zsm.record_offsets(model) as records:
        ...     y = model(x)
        >>> [r for r in records if r.stage == "interpolation" and r.level == 1 and r.pair == (0, 1)]

    Args:
        model (zsm.ZoomingSlowMo): the network.

    Raises:
        TypeError: ``model`` is not a ZoomingSlowMo. ValueError: its deformable convolutions are not those of one.

    The tensors are detached copies on the model's device, in memory of their own (never the network's); a
    full-size forward pass keeps a few hundred MB.
    """
    records: List[OffsetRecord] = []
    recorder = _Recorder(model, records)
    try:
        yield records
    finally:
        recorder.remove()


def record_model_offsets(model, clip: Tensor, stage: Optional[str] = None, times=None) -> OffsetRecords:
    """Run ``model`` (no gradients) on ``clip`` and return every offset and mask its deformable convs used.

    Args:
        model (zsm.ZoomingSlowMo): the network (its train/eval mode is left as it is).
        clip (Tensor): (T, 3, H, W) or (B, T, 3, H, W), values in [0, 1]; moved to the model's device and dtype.
        stage (str): None (default): the whole forward pass, every stage's records. ``"interpolation"``: only the
            first two stages run (:meth:`zsm.ZoomingSlowMo.interpolated_features`), and the records are the
            interpolation's, the same as those of a whole pass (they depend on nothing after it), in a fraction of
            the time (about 1/20 for the shipped model on a 180x320 pair).
        times: the moments to make between each pair (a time-modulated network, chapter 8), as the model takes
            them; the same for every clip. Default: None, the frame half-way.
    """
    if not isinstance(clip, Tensor):
        raise TypeError(f"expected a clip tensor (T, 3, H, W) or (B, T, 3, H, W), got {type(clip).__name__}")
    if stage not in (None, "interpolation"):
        raise ValueError(f"stage must be None (a whole pass) or 'interpolation', got {stage!r}")
    clip = clip[None] if clip.dim() == 4 else clip  # (B, T, 3, H, W)
    records: List[OffsetRecord] = []
    recorder = _Recorder(model, records)  # refuses a model that is not a ZoomingSlowMo
    try:
        with torch.no_grad():
            weight = model.conv_first_weight
            x = clip.to(weight.device, weight.dtype)
            if stage is None:
                model(x) if times is None else model(x, times=times)  # the model's own hooks open and close the pass
            else:
                recorder.open_pass(x, times)
                model.interpolated_features(x) if times is None else model.interpolated_features(x, times=times)
                recorder.close_pass()
    finally:
        recorder.remove()
    return OffsetRecords(records)

"""Which offsets to look at: every offset and mask of a forward pass, taken by forward hooks from outside the
network, and filtered by stage, pair, frame, level, direction.

Book: chapters 3 and 4.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..net import DeformConv, ZoomingSlowMo

STAGES = ("interpolation", "lstm_hidden", "lstm_cell")
STAGE_NAMES = {"interpolation": "feature interpolation", "lstm_hidden": "ConvLSTM hidden state",
               "lstm_cell": "ConvLSTM cell state"}
TIME_DIRECTIONS = ("forward", "backward")
LEVELS = (1, 2, 3)
DIRECTIONS = (1, 2)


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


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"zsm.viz needs {module} for this; install it with pip install 'zsm[viz]'") from None


class OffsetRecords(Sequence):
    """A list of :class:`zsm.OffsetRecord` that can be filtered by stage, pair, frame, time direction, level and
    direction, with errors that say what the records hold.

    Example:
        >>> with zsm.record_offsets(model) as records:
        ...     y = model(x)
        >>> records = OffsetRecords(records)
        >>> records.one(stage="interpolation", pair=(0, 1), level=2, direction=1)
    """

    def __init__(self, records: Iterable[OffsetRecord]):
        self._records = list(records)
        for r in self._records:
            if not isinstance(r, OffsetRecord):
                raise TypeError(f"expected zsm.OffsetRecord items, got {type(r).__name__}")

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index):
        return OffsetRecords(self._records[index]) if isinstance(index, slice) else self._records[index]

    def __repr__(self) -> str:
        return f"OffsetRecords, {len(self)} records:\n" + "\n".join(f"  {k}: {v}" for k, v in self._summary())

    def _values(self, attribute: str) -> list:
        values = {getattr(r, attribute) for r in self._records}
        return sorted(v for v in values if v is not None) + ([None] if None in values else [])

    stages = property(lambda self: [s for s in STAGES if s in self._values("stage")], doc="stages present")
    pairs = property(lambda self: [p for p in self._values("pair") if p is not None], doc="interpolation pairs")
    frames = property(lambda self: self._values("frame"), doc="output frame indices present")
    levels = property(lambda self: self._values("level"), doc="pyramid levels present")
    directions = property(lambda self: self._values("direction"), doc="alignment directions present")
    time_directions = property(lambda self: [t for t in TIME_DIRECTIONS if t in self._values("time_direction")],
                               doc="ConvLSTM passes present")

    def _summary(self) -> List[Tuple[str, list]]:
        return [("stages", self.stages), ("pairs", self.pairs), ("frames", self.frames),
                ("time directions", self.time_directions), ("levels", self.levels), ("directions", self.directions)]

    def describe(self) -> str:
        """What the records hold, e.g. ``"stages ['interpolation'], pairs [(0, 1)], levels [1, 2, 3], ..."``."""
        return ", ".join(f"{k} {v}" for k, v in self._summary())

    def select(self, stage: Optional[str] = None, pair: Optional[Tuple[int, int]] = None,
               frame: Optional[int] = None, time_direction: Optional[str] = None, level: Optional[int] = None,
               direction: Optional[int] = None) -> "OffsetRecords":
        """The records that match every given criterion (None: any).

        Args:
            stage (str): "interpolation", "lstm_hidden" or "lstm_cell".
            pair (tuple): input frames (i, i+1) of an interpolation.
            frame (int): output frame index (0 .. 2T-2) the alignment belongs to.
            time_direction (str): "forward" or "backward" ConvLSTM pass.
            level (int): pyramid level 1, 2 or 3.
            direction (int): 1 (the first input is sampled) or 2 (the second is).

        Raises:
            ValueError: an unknown value (e.g. level 4, stage "lstm"), or no record matches; the message lists
                what the records hold.
        """
        criteria = {}
        if stage is not None:
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(map(repr, STAGES))}")
            criteria["stage"] = stage
        if pair is not None:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(i, int) for i in pair)):
                raise ValueError(f"pair must be two input frame indices (i, i+1), got {pair!r}")
            criteria["pair"] = tuple(pair)
        if frame is not None:
            if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
                raise ValueError(f"frame must be an output frame index >= 0, got {frame!r}")
            criteria["frame"] = frame
        if time_direction is not None:
            if time_direction not in TIME_DIRECTIONS:
                raise ValueError(f"unknown time_direction {time_direction!r}; expected 'forward' or 'backward'")
            criteria["time_direction"] = time_direction
        if level is not None:
            if level not in LEVELS:
                raise ValueError(f"unknown level {level!r}; pyramid levels are 1 (full LR size), 2 (half), "
                                 "3 (quarter)")
            criteria["level"] = level
        if direction is not None:
            if direction not in DIRECTIONS:
                raise ValueError(f"unknown direction {direction!r}; expected 1 (the first input is sampled) "
                                 "or 2 (the second input is sampled)")
            criteria["direction"] = direction
        found = [r for r in self._records if all(getattr(r, k) == v for k, v in criteria.items())]
        if not found:
            wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items())
            raise ValueError(f"no offset record with {wanted}; the {len(self)} records hold {self.describe()}")
        return OffsetRecords(found)

    def one(self, **criteria) -> OffsetRecord:
        """The single record that matches (see :meth:`select`); ValueError unless exactly one does."""
        found = self.select(**criteria)
        if len(found) != 1:
            raise ValueError(f"{len(found)} records match {criteria}, expected one; narrow it down with "
                             f"stage, pair or frame, time_direction, level and direction ({found.describe()})")
        return found[0]


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
        x = args[0] if args else kwargs.get("x")
        ok = isinstance(x, Tensor) and x.dim() == 5
        self.batch_time = tuple(x.shape[:2]) if ok else None  # a bad clip: forward raises, nothing is recorded
        self.pending, self.calls = [], {}

    def _close(self, model, args, output) -> None:
        if self.batch_time is not None:
            self.pending.sort(key=lambda item: item[0])
            self.records.extend(record for _, record in self.pending)
        self.batch_time, self.pending, self.calls = None, [], {}

    def _hook(self, name: str, dcn: DeformConv, tags: dict):
        g, k = dcn.groups, dcn.kernel_size**2

        def keep(conv: nn.Module, inputs, raw: Tensor) -> None:
            if self.batch_time is None:  # called outside a pass of the model
                return
            b, t = self.batch_time
            call = self.calls[name] = self.calls.get(name, 0) + 1
            order = len(self.pending)
            offset, mask = dcn.split_offsets_and_mask(raw.detach())  # (N, 2*G*K, h, w), (N, G*K, h, w)
            n, _, h, w = offset.shape
            lstm = tags["stage"] != "interpolation"
            items = 2 * b if lstm else b * (t - 1)  # (forward B, backward B) sequences, or (B, T-1) pairs
            if n != items:
                raise RuntimeError(f"{name} ran on a batch of {n}, expected {items} for a clip of B={b}, T={t}; "
                                   "the model does not lay out its batch as zsm.viz expects")
            if lstm:
                step, steps = call - 1, 2 * t - 1
                if step >= steps:
                    raise RuntimeError(f"{name} ran {call} times in one pass, expected {steps} (the 2T-1 steps)")
                offset = offset.view(2, b, g, k, 2, h, w)  # (forward/backward, B, G, K, (dy, dx), h, w)
                mask = mask.view(2, b, g, k, h, w)  # (forward/backward, B, G, K, h, w)
                for index, time_direction in enumerate(TIME_DIRECTIONS):
                    frame = step if time_direction == "forward" else steps - 1 - step
                    self._keep((1, index, order), name, tags, frame, None, time_direction, offset[index], mask[index])
            else:
                offset = offset.view(b, t - 1, g, k, 2, h, w)  # (B, T-1, G, K, (dy, dx), h, w)
                mask = mask.view(b, t - 1, g, k, h, w)  # (B, T-1, G, K, h, w)
                for i in range(t - 1):
                    self._keep((0, i, order), name, tags, 2 * i + 1, (i, i + 1), None, offset[:, i], mask[:, i])

        return keep

    def _keep(self, key, name, tags, frame, pair, time_direction, offset: Tensor, mask: Tensor) -> None:
        """Keep one record. Its tensors are parts of the split's output (new memory, which cat and sigmoid
        allocate, never the network's), copied only where a part is not contiguous (the pairs of B > 1 clips)."""
        self.pending.append((key, OffsetRecord(
            module=name, frame=frame, pair=pair, time_direction=time_direction, **tags,
            offset=offset.contiguous(), mask=mask.contiguous())))  # (B, G, K, (dy, dx), h, w), (B, G, K, h, w)


@contextlib.contextmanager
def record_offsets(model) -> Iterator[List[OffsetRecord]]:
    """Collect every offset and mask the deformable convolutions of ``model`` use while the block runs it.

    Forward hooks on the model and on each :class:`zsm.net.dcn.DeformConv`'s offset predictor take the offsets
    from outside; the network runs exactly as without them. Each pass of the model appends its records to the
    list when it ends: with T inputs, 6*(T-1) interpolation records and 2 * 2 * 6 * (2T-1) ConvLSTM records. The
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


def record_model_offsets(model, clip: Tensor) -> OffsetRecords:
    """Run ``model`` (no gradients) on ``clip`` and return every offset and mask its deformable convs used.

    Args:
        model (zsm.ZoomingSlowMo): the network (its train/eval mode is left as it is).
        clip (Tensor): (T, 3, H, W) or (B, T, 3, H, W), values in [0, 1]; moved to the model's device and dtype.
    """
    if not isinstance(clip, Tensor):
        raise TypeError(f"expected a clip tensor (T, 3, H, W) or (B, T, 3, H, W), got {type(clip).__name__}")
    clip = clip[None] if clip.dim() == 4 else clip  # (B, T, 3, H, W)
    with torch.no_grad(), record_offsets(model) as records:
        weight = model.conv_first_weight
        model(clip.to(weight.device, weight.dtype))
    return OffsetRecords(records)

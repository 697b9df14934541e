"""Which offsets to look at: the record of one deformable convolution in one pass, and lists of them filtered by
stage, pair, frame, time direction, level and direction (the hooks that take them: :mod:`zsm.viz.hooks`).

Book: chapters 3 and 4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from torch import Tensor

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
        frame (int): index, in the 2T-1 output frames (T + (T-1)k with k moments, chapter 8), of the frame this
            alignment produces (interpolation) or of the input step it aligns the state to (ConvLSTM).
        pair (tuple or None): the input frames (i, i+1) that the interpolation blends; None in the ConvLSTM.
        time_direction (str or None): ``"forward"`` or ``"backward"`` pass of the bidirectional ConvLSTM;
            None for the interpolation.
        level (int): pyramid level, 1 (full LR size), 2 (half) or 3 (quarter).
        direction (int): 1 when the first input is sampled (offsets from [first, second]), 2 when the second
            is sampled (offsets from [second, first]). In the interpolation the first input is frame i; in
            the ConvLSTM it is the current input feature and the second is the state.
        offset (Tensor): (B, G, K, 2, h, w), the pair (dy, dx) in pixels of that level, per group and tap.
        mask (Tensor): (B, G, K, h, w), the modulation in (0, 1).
        time (float or None): the moment t in (0, 1) between input frames i and i+1 of the frame this alignment
            produces or aligns to (0.5 in Zooming Slow-Mo's pass); None for an input frame's ConvLSTM step.
        moments (int): k, the frames made between two inputs in that pass (1 in Zooming Slow-Mo's).
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
    time: Optional[float] = None
    moments: int = 1

    @property
    def input_and_moment(self) -> Tuple[int, int]:
        """(i, j): the frame is input frame i (j = 0) or the j-th of the k frames after it (1 <= j <= k)."""
        return divmod(self.frame, self.moments + 1)

    @property
    def last_input(self) -> int:
        """The last input frame the record belongs to: i+1 for a pair (i, i+1) or a step between them, else i."""
        if self.pair is not None:
            return max(self.pair)
        i, j = self.input_and_moment
        return i + (j > 0)


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
    times = property(lambda self: [t for t in self._values("time") if t is not None], doc="moments t present")

    def _summary(self) -> List[Tuple[str, list]]:
        return [("stages", self.stages), ("pairs", self.pairs), ("frames", self.frames),
                ("time directions", self.time_directions), ("levels", self.levels), ("directions", self.directions),
                ("times", self.times)]

    def describe(self) -> str:
        """What the records hold, e.g. ``"stages ['interpolation'], pairs [(0, 1)], levels [1, 2, 3], ..."``."""
        return ", ".join(f"{k} {v}" for k, v in self._summary())

    def select(self, stage: Optional[str] = None, pair: Optional[Tuple[int, int]] = None,
               frame: Optional[int] = None, time_direction: Optional[str] = None, level: Optional[int] = None,
               direction: Optional[int] = None, time: Optional[float] = None) -> "OffsetRecords":
        """The records that match every given criterion (None: any).

        Args:
            stage (str): "interpolation", "lstm_hidden" or "lstm_cell".
            pair (tuple): input frames (i, i+1) of an interpolation.
            frame (int): output frame index (0 .. 2T-2) the alignment belongs to.
            time_direction (str): "forward" or "backward" ConvLSTM pass.
            level (int): pyramid level 1, 2 or 3.
            direction (int): 1 (the first input is sampled) or 2 (the second is).
            time (float): the moment t of the frame (chapter 8), matched to 6 decimals.

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
        if time is not None:
            if isinstance(time, bool) or not isinstance(time, (int, float)) or not 0 < time < 1:
                raise ValueError(f"time must be a moment in (0, 1), got {time!r}")
        found = [r for r in self._records if all(getattr(r, k) == v for k, v in criteria.items())
                 and (time is None or (r.time is not None and abs(r.time - time) < 5e-7))]
        if time is not None:
            criteria["time"] = time
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

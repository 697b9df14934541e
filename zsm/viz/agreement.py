"""How well the feature interpolation's offsets follow the motion: their direction against optical flow.

Book: chapter 3 (the measurement), chapter 7 and ``zsm/weights/README.md`` (the shipped model's figure); at every
moment t of a time-modulated network, chapter 8 (:func:`offsets_over_time`).

For inputs i and i+1, direction 1 samples frame i, so a motion-following offset points along f(i+1 -> i), where
frame i+1's pixels were in frame i (about half of it, for the middle moment); direction 2 along f(i -> i+1). The
measure: the L1 offsets averaged over taps and groups, their cosine similarity with the DIS flow per pixel,
averaged over the pixels that move by more than ``min_motion`` LR pixels, over every neighbouring pair of a clip.
1 is "along the motion everywhere", 0 "unrelated", -1 "against it".
"""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from ..net.model import moments_of
from .hooks import record_model_offsets

__all__ = ["offset_flow_agreement", "offsets_over_time"]


def offset_flow_agreement(model, frames: np.ndarray, min_motion: float = 1.0, flows: Optional[np.ndarray] = None
                          ) -> Dict[str, float]:
    """The cosine similarity of the L1 interpolation offsets with the DIS flow, over the moving pixels of a clip.

    Each neighbouring pair of LR frames is run through ``model`` as a 2-frame clip (the interpolation of a pair
    depends on that pair alone) and its offsets recorded (:func:`zsm.viz.record_model_offsets`).

    Args:
        model (zsm.ZoomingSlowMo): the network.
        frames (np.ndarray): LR frames (N, h, w, 3) uint8, N >= 2.
        min_motion (float): LR pixels a pixel must move (DIS flow) to count. Default: 1.
        flows (np.ndarray): the true flow between the frames, (N-1, 2, 2, h, w) in the layout of
            :mod:`zsm.training.motion` (e.g. of :class:`zsm.training.motion.SyntheticMotion`), to score against
            instead of DIS flow; NaN where unknown (such pixels do not count). Default: None (DIS).

    Returns:
        {"cosine": mean of the two directions, "cosine_1", "cosine_2", "moving": the fraction of pixels that
        count, "pairs": N - 1, "offset_px": the mean length of the averaged offsets over the moving pixels (both
        directions), "flow_px": the mean length of the flow there, "along": the mean component of the offsets
        along the flow divided by half the flow's length (1 for offsets of exactly half the flow, as for the
        middle moment; 0 for offsets that do not move, whatever their cosine)}.

    A cosine alone says nothing about size: offsets of a thousandth of a pixel can point along the motion. Read it
    with ``offset_px`` and ``along``.
    """
    from ..data.pixels import frames_to_tensor  # here, not at import: `import zsm` must not need OpenCV
    from ..training.motion import flow_pair

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) < 2:
        raise ValueError(f"expected at least 2 LR frames (N, h, w, 3) uint8, got {frames.dtype} {frames.shape}")
    if flows is not None and (np.shape(flows)[:3] != (len(frames) - 1, 2, 2) or np.shape(flows)[3:] != frames.shape[1:3]):
        raise ValueError(f"flows must be (N-1, 2, 2, h, w) = {(len(frames) - 1, 2, 2, *frames.shape[1:3])}, "
                         f"got {np.shape(flows)}")
    sums = {1: [0.0, 0], 2: [0.0, 0]}
    lengths = [0.0, 0.0, 0.0]  # offset length, flow length, offset component along the flow / half the flow length
    moving = total = 0
    for i in range(len(frames) - 1):
        records = record_model_offsets(model, frames_to_tensor(frames[i: i + 2]), stage="interpolation")
        pair = flow_pair(frames[i], frames[i + 1]) if flows is None else np.asarray(flows[i], np.float64)
        # pair: (2, 2, h, w): f(i+1 -> i), f(i -> i+1), (dy, dx)
        for direction in (1, 2):
            record = records.one(stage="interpolation", pair=(0, 1), level=1, direction=direction)
            flow = pair[direction - 1]
            known = np.isfinite(flow).all(axis=0)
            flow = np.nan_to_num(flow)
            where = (np.hypot(*flow) > min_motion) & known
            cosine, length, along, speed = _sums_over(record, flow, where, share=0.5)
            sums[direction][0] += cosine
            sums[direction][1] += int(where.sum())
            lengths[0] += length
            lengths[1] += speed
            lengths[2] += along
            if direction == 1:
                moving, total = moving + int(where.sum()), total + where.size
    if moving == 0:
        raise ValueError(f"no pixel of these {len(frames)} frames moves by more than {min_motion} LR pixels")
    c1, c2 = (sums[d][0] / max(sums[d][1], 1) for d in (1, 2))
    return {"cosine": (c1 + c2) / 2, "cosine_1": c1, "cosine_2": c2, "moving": moving / total,
            "pairs": len(frames) - 1, "offset_px": lengths[0] / max(sums[1][1] + sums[2][1], 1),
            "flow_px": lengths[1] / max(sums[1][1] + sums[2][1], 1), "along": lengths[2] / max(sums[1][1] + sums[2][1], 1)}


def _sums_over(record, flow: np.ndarray, where: np.ndarray, share: float) -> np.ndarray:
    """Sums over the pixels ``where`` of: the cosine of the record's L1 offsets (averaged over taps and groups) with
    ``flow`` (2, h, w), their length, their component along the flow divided by ``share`` times the flow's length,
    and the flow's length; as a float64 array of 4."""
    ours = record.offset[0].float().mean(dim=(0, 1)).cpu().numpy()  # (2, h, w)
    length, speed = np.hypot(*ours), np.hypot(*flow)
    dot = (ours * flow).sum(0)
    return np.array([float((dot / (length * speed + 1e-9))[where].sum()), float(length[where].sum()),
                     float((dot / (share * speed ** 2 + 1e-9))[where].sum()), float(speed[where].sum())])


def offsets_over_time(model, frames: np.ndarray, times, min_motion: float = 1.0) -> List[Dict[str, float]]:
    """How the interpolation's L1 offsets follow the motion at each moment t between neighbouring frames.

    For the frame at i + t, a motion-following offset of direction 1 (sampling frame i) is t f(i+1 -> i) and one of
    direction 2 (sampling frame i+1) is (1 - t) f(i -> i+1): the nearer frame needs the shorter reach. Per moment,
    over the pixels that move by more than ``min_motion`` LR pixels (DIS flow) in every neighbouring pair of
    ``frames``, each pair run as a 2-frame clip at all the moments at once.

    Args:
        model (zsm.ZoomingSlowMo): a time-modulated network (or any network, for ``times=(0.5,)``).
        frames (np.ndarray): LR frames (N, h, w, 3) uint8, N >= 2.
        times: the moments, as the model takes them, e.g. (0.125, 0.25, ..., 0.875).
        min_motion (float): LR pixels a pixel must move to count. Default: 1.

    Returns:
        one dict per moment: {"time": t, "cosine_1", "cosine_2": the mean cosine of each direction's offsets with
        its flow, "length_1", "length_2": their mean length in LR pixels, "flow_px": the mean length of the flow,
        "along_1", "along_2": the mean component of the offsets along the flow divided by the flow's length (t and
        1 - t for offsets that follow the motion exactly)}.
    """
    from ..data.pixels import frames_to_tensor  # here, not at import: `import zsm` must not need OpenCV
    from ..training.motion import flow_pair

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) < 2:
        raise ValueError(f"expected at least 2 LR frames (N, h, w, 3) uint8, got {frames.dtype} {frames.shape}")
    moments = moments_of(times)
    sums = {(t, d): np.zeros(4) for t in moments for d in (1, 2)}  # cosine, length, along, flow length
    count = 0
    for i in range(len(frames) - 1):
        records = record_model_offsets(model, frames_to_tensor(frames[i: i + 2]), stage="interpolation", times=times)
        pair = flow_pair(frames[i], frames[i + 1])  # (2, 2, h, w): f(i+1 -> i), f(i -> i+1), (dy, dx)
        speed = np.hypot(*pair[0])
        where = speed > min_motion
        count += int(where.sum())
        for t in moments:
            for direction in (1, 2):
                record = records.one(pair=(0, 1), level=1, direction=direction, time=t)
                sums[t, direction] += _sums_over(record, pair[direction - 1], where, share=1.0)
    if count == 0:
        raise ValueError(f"no pixel of these {len(frames)} frames moves by more than {min_motion} LR pixels")
    rows = []
    for t in moments:
        (c1, l1, a1, f1), (c2, l2, a2, _) = (sums[t, d] / count for d in (1, 2))
        values = {"cosine_1": c1, "cosine_2": c2, "length_1": l1, "length_2": l2, "flow_px": f1, "along_1": a1,
                  "along_2": a2}
        rows.append({"time": t, **{k: float(v) for k, v in values.items()}})
    return rows

"""The training samples of a run, assembled from what a user names: footage or Vimeo-90K, temporal strides,
synthetic motion, and the flows that offset guidance needs.

Book: chapter 6. ``python -m zsm train`` calls :func:`training_samples` with its flags.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from .motion import Mixture, SyntheticMotion, stills_from
from .samples import FootageWindows, VimeoWindows, WindowSamples

__all__ = ["training_samples"]


def training_samples(videos: Optional[Sequence] = None, vimeo=None, *, max_frames: Optional[int] = None,
                     strides: Sequence[int] = (1,), synthetic: float = 0.0, flows: bool = False, lr_size: int = 32,
                     seed: int = 0, max_speed: Union[float, Sequence[float]] = 4.0, stills: Optional[Sequence] = None,
                     stills_share: float = 0.25, time_factor: int = 2, moments: Optional[int] = None,
                     inputs: int = 4) -> WindowSamples:
    """The samples of a run: random aligned crops of real windows, mixed with synthetic motion if asked.

    Args:
        videos: video files or frame folders (read whole, or their first ``max_frames`` frames); or
        vimeo: the Vimeo-90K septuplet folder (its train split). Exactly one of them.
        strides: temporal strides of the real windows (HR frames k apart; footage only). Default: (1,), the paper's.
        synthetic (float): the fraction of samples from :class:`zsm.training.motion.SyntheticMotion`, made from
            every 10th frame of the footage (or the middle frame of every 50th septuplet). Default: 0.
        flows (bool): samples carry the flow between their inputs (for offset guidance). Default: False.
        lr_size (int): the LR crop side. Default: 32.
        seed (int): every random choice. Default: 0.
        max_speed (float or sequence of floats): the synthetic motion's top speed, LR pixels between two inputs;
            several speeds make a synthetic source each (of the footage's frames, and of ``stills``), sharing
            ``synthetic`` (and ``stills_share``) equally: e.g. (2, 6) keeps slow motion while adding fast. Default: 4.
        stills: more stills for synthetic motion, (H, W, 3) uint8 each (e.g. :func:`zsm.data.load_stills` of the
            photographs of :func:`zsm.data.fetch_stills`): a source of their own, at the same speeds. Default: none.
        stills_share (float): the fraction of samples from ``stills`` (taken from the real windows' share).
            Default: 0.25.
        time_factor (int): n, inputs every n-th frame (chapter 8; n > 2 needs a time-modulated network); the synthetic
            motion's ``max_speed`` stays the motion between two inputs. Default: 2, the paper's.
        moments (int, optional): K moments j/n per sample (:class:`WindowSamples`); default: all n - 1 when n > 2.
        inputs (int): T, input frames per sample. Default: 4, the paper's (7-frame windows at n = 2).

    Returns:
        a :class:`zsm.training.samples.WindowSamples`.
    """
    if bool(videos) == (vimeo is not None):
        raise ValueError("give training data: videos or a Vimeo-90K folder (one of them)")
    if not 0 <= synthetic <= 1:
        raise ValueError(f"synthetic must be a fraction in [0, 1], got {synthetic}")
    share = stills_share if stills else 0.0
    if not 0 <= share <= 1 - synthetic:
        raise ValueError(f"stills_share must be a fraction in [0, 1 - synthetic] = [0, {1 - synthetic:g}], "
                         f"got {stills_share}")
    speeds = (max_speed,) if isinstance(max_speed, (int, float)) else tuple(max_speed)
    if not speeds or not all(isinstance(v, (int, float)) and v > 0 for v in speeds):
        raise ValueError(f"max_speed must be a positive number of LR pixels, or a sequence of them, got {max_speed!r}")
    if isinstance(inputs, bool) or not isinstance(inputs, int) or inputs < 2:
        raise ValueError(f"inputs must be a whole number >= 2, got {inputs!r}")
    frames = (inputs - 1) * time_factor + 1 if isinstance(time_factor, int) else 0  # checked by check_window
    if vimeo is not None:
        if tuple(strides) != (1,):
            raise ValueError("temporal strides need footage: Vimeo-90K septuplets are 7 frames, one window each")
        if (time_factor, inputs) != (2, 4):
            raise ValueError("Vimeo-90K septuplets are 7 frames: 4 inputs at time factor 2 only; use footage for more")
        real = VimeoWindows(vimeo, "train")
    else:
        real = FootageWindows.from_files(videos, max_frames, strides=strides, flows=flows and synthetic + share < 1,
                                         frames=frames, factor=time_factor)
    sources, weights = [], []

    def add_synthetic(pictures, fraction: float, stream: int) -> None:
        """A SyntheticMotion over ``pictures`` for each speed, sharing ``fraction`` of the samples; seeds seed +
        stream, + 2, + 4, ... (one speed keeps the seeds of a run before speeds could be several)."""
        for j, speed in enumerate(speeds):
            sources.append(SyntheticMotion(pictures, lr_size=lr_size, scale=real.scale, max_speed=speed,
                                           seed=seed + stream + 2 * j, frames=real.frames, factor=time_factor))
            weights.append(fraction / len(speeds))

    if synthetic + share < 1:
        sources.append(real)
        weights.append(1 - synthetic - share)
    if synthetic > 0:
        if vimeo is not None:
            footage_stills = [real.window(i)[1][3] for i in range(0, len(real), 50)]
        else:
            footage_stills = stills_from(real.hr, every=10)
        add_synthetic(footage_stills, synthetic, stream=0)
    if share > 0:
        add_synthetic(stills, share, stream=1)
    source = sources[0] if len(sources) == 1 else Mixture(sources, weights, seed=seed)
    return WindowSamples(source, lr_size=lr_size, seed=seed, flows=flows, moments=moments)

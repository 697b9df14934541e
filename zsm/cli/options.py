"""Flag values that several commands share: sizes, ``--time-factor`` and the network of ``--weights``."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Optional

from ..data.datasets import check_window
from ..net import ZoomingSlowMo, ZSMConfig
from ..weights import SHIPPED_ANYTIME, load_checkpoint, load_default_model
from .errors import UserError


def parse_size(text: str, order: str = "HxW"):
    """``'64x48'`` -> (64, 48), the two numbers in the order written; ``order`` only names them in the message."""
    try:
        a, b = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 64x48 ({order}), got {text!r}") from None
    if a < 1 or b < 1:
        raise argparse.ArgumentTypeError(f"the size must be positive, got {text!r}")
    return a, b


def trained_model(weights: Optional[str], preset: Optional[str]) -> ZoomingSlowMo:
    """The model of --weights (checked against --preset when both are given), else the shipped one."""
    if weights is None:
        try:
            return load_default_model()
        except FileNotFoundError as err:
            raise UserError(f"no --weights given, and {err}") from None
    return load_checkpoint(weights, expect=ZSMConfig.preset(preset) if preset else None)


def time_factor_of(text: str) -> int:
    """``--time-factor``: a whole number >= 2, or a UserError naming the option (not argparse's usage lines)."""
    try:
        factor = int(text)
    except ValueError:
        factor = None
    if factor is None or factor < 2:
        raise UserError(f"--time-factor must be a whole number of at least 2 (output frames per input frame "
                        f"interval), got {text!r}")
    return factor


def check_hr_frames(flag: str, frames: int, time_factor: int) -> None:
    """A UserError naming ``flag`` unless ``frames`` HR frames hold inputs every ``time_factor``-th frame, at
    least two: (T-1)N+1 frames, odd for the paper's factor 2."""
    try:
        check_window(frames, time_factor)  # the library's rule, said here in the flag's words
    except ValueError:
        n = time_factor
        if n == 2:
            raise UserError(f"{flag} must be odd and at least 3 (2T-1 HR frames), got {frames}") from None
        raise UserError(f"{flag} must be (T-1)*{n}+1 HR frames for --time-factor {n} ({n + 1}, {2 * n + 1}, "
                        f"{3 * n + 1}, ...), got {frames}") from None


def moments_model(weights: Optional[str], preset: Optional[str], time_factor: int) -> ZoomingSlowMo:
    """The model for ``--time-factor N``: :func:`trained_model` for 2; else the network of --weights (or the shipped
    any-time model, :data:`zsm.SHIPPED_ANYTIME`), which must be time-modulated."""
    if time_factor == 2:
        return trained_model(weights, preset)
    if weights is None:
        if not SHIPPED_ANYTIME.is_file():
            raise UserError(f"--time-factor {time_factor} needs a network trained with time modulation (book chapter "
                            f"8), and this installation has none at {SHIPPED_ANYTIME}: pass one with --weights")
        weights = str(SHIPPED_ANYTIME)
    model = load_checkpoint(weights)
    if not model.config.time_modulation:
        raise UserError(f"the weights {weights} make only the frame half-way between two inputs (--time-factor 2); "
                        f"--time-factor {time_factor} needs --weights of a network trained with time modulation")
    if preset and model.config != dataclasses.replace(ZSMConfig.preset(preset), time_modulation=True):
        raise UserError(f"{weights} holds a network with {model.config}, but the {preset} preset with time "
                        "modulation was expected")
    return model

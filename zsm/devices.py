"""Where to run: ``"auto"`` takes the GPU when this torch sees one, and a device asked for must exist.

Book: every chapter's first cell (``zsm.devices.pick_device()``).
"""
from __future__ import annotations

from typing import Optional, Union

import torch

__all__ = ["pick_device"]


def pick_device(name: Optional[Union[str, torch.device]] = "auto") -> torch.device:
    """``"auto"`` (or None) -> ``cuda`` when available, else ``cpu``; anything else must be a device torch has.

    Raises:
        ValueError: an unknown device name, or a CUDA device that this torch does not see.
    """
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was asked for, but this torch sees no CUDA GPU")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} was asked for, but this machine has {torch.cuda.device_count()} GPU(s)")
    return device

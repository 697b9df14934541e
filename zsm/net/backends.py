"""Which implementation runs the deformable convolution, and a record of which ran.

Book: chapter 2.

``"auto"`` (the default) picks ``torchvision.ops.deform_conv2d`` for float32 and float64 inputs when torchvision
imports, and :func:`zsm.ops.deform_conv2d_pure` otherwise (bfloat16, which torchvision lacks, and float16, which it
computes at half-precision sampling positions); ``"pure"`` and ``"torchvision"`` force one. The choice is
process-wide (:func:`set_default_backend`) or per thread and block (:func:`use_backend`). Nothing falls back
silently: :func:`last_backend` names the backend of the latest call, :func:`backend_counts` counts calls per
backend, and :func:`torchvision_status` says why torchvision is or is not usable.
"""
from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    "BACKENDS",
    "default_backend",
    "set_default_backend",
    "use_backend",
    "last_backend",
    "backend_counts",
    "reset_backend_counts",
    "torchvision_status",
]

BACKENDS = ("auto", "pure", "torchvision")

_state = threading.local()
_counts: Counter = Counter()
_default = {"backend": "auto"}
_torchvision: dict = {}  # filled once by _load_torchvision(): {"fn": callable or None, "reason": str}


def _load_torchvision():
    """Import ``torchvision.ops.deform_conv2d`` once; remember the function or why it failed."""
    if not _torchvision:
        try:
            from torchvision.ops import deform_conv2d as tv_deform_conv2d  # noqa: WPS433 (optional import)

            _torchvision["fn"] = tv_deform_conv2d
            import torchvision

            _torchvision["reason"] = f"torchvision {torchvision.__version__} imports"
        except Exception as err:  # torchvision raises RuntimeError, not ImportError, beside mismatched torch
            _torchvision["fn"] = None
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
            _torchvision["reason"] = f"torchvision does not import: {type(err).__name__}: {first_line}"
    return _torchvision["fn"]


def torchvision_status() -> Tuple[bool, str]:
    """Whether the torchvision backend can run here, and a sentence saying why.

    Returns:
        (available, reason), e.g. ``(False, "torchvision does not import: ModuleNotFoundError: ...")``.
    """
    available = _load_torchvision() is not None
    return available, _torchvision["reason"]


def _check_backend_name(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return name


def default_backend() -> str:
    """The backend that :func:`deform_conv2d` uses when called with ``backend=None``.

    This is ``"auto"`` unless changed by :func:`set_default_backend` or inside :func:`use_backend`.
    """
    return getattr(_state, "backend", None) or _default["backend"]


def set_default_backend(name: str) -> None:
    """Set the process-wide default backend: ``"auto"``, ``"pure"`` or ``"torchvision"``."""
    _default["backend"] = _check_backend_name(name)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Context manager: run every deformable convolution inside it with backend ``name`` (this thread only).

    Example:
        >>> with use_backend("pure"):
        ...     y = model(x)  # every DCN in the model uses the pure PyTorch backend
    """
    previous = getattr(_state, "backend", None)
    _state.backend = _check_backend_name(name)
    try:
        yield
    finally:
        _state.backend = previous


def last_backend() -> Optional[str]:
    """The backend (``"pure"`` or ``"torchvision"``) that the latest :func:`deform_conv2d` call used."""
    return getattr(_state, "last", None)


def backend_counts() -> dict:
    """How many :func:`deform_conv2d` calls each backend has run since the last reset."""
    return dict(_counts)


def reset_backend_counts() -> None:
    """Set the counts of :func:`backend_counts` back to zero."""
    _counts.clear()


def _torchvision_supports(x: Tensor) -> bool:
    # torchvision's kernels: float32/float64 everywhere, float16 on CUDA, no bfloat16. "auto" leaves float16 to the
    # pure backend too: torchvision's half kernel computes in half precision, sampling positions included, which
    # puts it further from float32 than the pure backend's float16, which samples at float32 positions
    # (tests/test_cuda.py measures both errors on a GPU; the figures are in benchmarks/NOTES.md).
    return x.dtype in (torch.float32, torch.float64)


def _resolve(backend: Optional[str], x: Tensor) -> str:
    name = _check_backend_name(backend or default_backend())
    if name == "auto":
        return "torchvision" if _load_torchvision() is not None and _torchvision_supports(x) else "pure"
    if name == "torchvision" and _load_torchvision() is None:
        raise RuntimeError(f"backend='torchvision' was asked for, but {_torchvision['reason']}")
    return name


def _record(name: str) -> None:
    """Note that a call ran on backend ``name`` (for :func:`last_backend` and :func:`backend_counts`)."""
    _state.last = name
    _counts[name] += 1

"""Reading and writing weight files safely: nothing unpickled but tensors, nothing half-written, a digest of the tensors.

Book: chapter 7.

Every checkpoint of this package (ours, training checkpoints, the authors' file) goes through these three: a file
is read with ``torch.load(..., weights_only=True)`` and refused with the reason when it is missing, truncated or
holds other objects; it is written to a temporary sibling and renamed into place when complete; and its tensors
carry a SHA-256 so that an altered file is noticed.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path
from typing import Dict, Union

import torch
from torch import Tensor

from ..outputs import atomic_file

__all__ = ["PathLike", "safe_torch_load", "atomic_torch_save", "state_dict_digest", "listing"]

PathLike = Union[str, "os.PathLike[str]"]


def safe_torch_load(path: PathLike, map_location="cpu"):
    """``torch.load`` with ``weights_only=True`` and errors that say what is wrong with the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a readable PyTorch checkpoint (truncated, corrupt), or it holds objects
            other than tensors and plain containers (refused instead of unpickled).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message goes on to advise weights_only=False, the unsafe path: keep only what the file holds.
        text = str(err)
        detail = next((line.strip() for line in text.splitlines() if "GLOBAL" in line), "")  # a class or function
        if not detail:  # nothing to run, the pickle itself is broken: a damaged or foreign file
            broken = text.split("Unpickler error:", 1)[-1].strip().splitlines()
            raise ValueError(f"could not read {path} as a PyTorch checkpoint; is it truncated or corrupt? "
                             f"({broken[0][:120] if broken and 'Unpickler error:' in text else 'not a pickle'})") from None
        raise ValueError(
            f"refusing to load {path}: it holds objects other than tensors and plain containers, which would "
            f"need arbitrary code to unpickle ({detail})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as err:
        raise ValueError(
            f"could not read {path} as a PyTorch checkpoint; is it truncated or corrupt? "
            f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''})"
        ) from None


def atomic_torch_save(obj, path: PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a crash never leaves half a file.

    Raises:
        OSError: the file could not be written (a full disk, a read-only folder), with ``path`` in the message.
    """
    # Serialised in memory first, then written by Python: a full disk is then an OSError with its errno (ENOSPC)
    # instead of torch's writer's "enforce fail at inline_container.cc ... unexpected pos".
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_file(path, overwrite=True) as tmp:
        try:
            with open(tmp, "wb") as f:
                f.write(buffer.getbuffer())
                f.flush()
                os.fsync(f.fileno())
        except OSError as err:
            if err.filename or err.errno is None:
                raise
            raise OSError(err.errno, err.strerror, str(path)) from None  # name the file the user asked for


def state_dict_digest(state_dict: Dict[str, Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        # reshape(-1) after contiguous(): a channels-last weight with 1x1 kernels counts as contiguous but keeps a
        # last stride > 1, which view(uint8) refuses; the flat row-major copy has the same bytes in the same order
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def listing(items, most: int = 8) -> str:
    """``"a, b, c, ... and 5 more"``: the first ``most`` items of a list for an error message."""
    items = list(items)
    shown = ", ".join(items[:most])
    return shown + (f", ... and {len(items) - most} more" if len(items) > most else "")

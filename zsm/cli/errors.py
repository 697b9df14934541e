"""What a user reads when a command fails: :class:`UserError` for a bad request, :func:`describe` for any expected
failure, in one line."""
from __future__ import annotations

import errno
import re

import torch


class UserError(Exception):
    """A problem with what the user asked for: reported in one line, without a traceback."""


def describe(err: BaseException) -> str:
    """The one line a user reads for an expected failure: the library's own message, or an operating-system error
    in plain words with the file it concerns."""
    if isinstance(err, OSError) and not isinstance(err, (FileNotFoundError, FileExistsError)) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        advice = {errno.ENOSPC: "; free some space or write elsewhere",
                  errno.EACCES: "; choose a place you may write to", errno.EROFS: "; choose a writable place",
                  errno.ENAMETOOLONG: "; use a shorter name"}.get(err.errno, "")
        return f"{err.strerror}{where}{advice}"
    if isinstance(err, torch.OutOfMemoryError) or "can't allocate memory" in str(err):
        asked = re.search(r"(?:tried to allocate|Tried to allocate) ([\d.]+) ?(bytes|[KMGT]iB)", str(err))
        need = ""
        if asked:
            amount = float(asked[1]) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[asked[2]]
            need = f" (one step needed {amount / 2**30:,.1f} GiB more)"
        where = "the GPU" if isinstance(err, torch.OutOfMemoryError) else "this machine"
        return (f"not enough memory on {where} for this input{need}; use a smaller input or size, or for upscale "
                "and evaluate --tile N (e.g. --tile 128) or a smaller --window")
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


# Failures that come from what the user gave or from the machine (files, disk, memory), not from a bug.
EXPECTED = (UserError, ValueError, OSError, RuntimeError)

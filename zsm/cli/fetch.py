"""``python -m zsm data`` (the real footage) and ``python -m zsm download`` (the authors' checkpoint)."""
from __future__ import annotations

import sys

from .errors import UserError


def add_parsers(sub, common) -> None:
    """Add ``data`` and ``download`` to ``sub`` (the subparsers); ``common``: the options every command takes."""
    data = sub.add_parser("data", parents=[common], help="fetch the real footage into data/ (idempotent)")
    data.add_argument("--dest", default="data", help="folder for the clips (default: data)")
    data.add_argument("--clips", nargs="*", help="clip names (default: all: bikes, carphone_pristine, bigbuckbunny)")
    data.set_defaults(run=run_data)

    dl = sub.add_parser("download", parents=[common], help="fetch the authors' published checkpoint "
                        "(xiang2020zooming.pth), checked by its git blob SHA-1")
    dl.add_argument("--dest", default=".", help="folder (or .pth file path) to put it in (default: .)")
    dl.add_argument("--url", default=None, help="download from here instead of the authors' repository")
    dl.add_argument("--timeout", type=float, default=30.0, metavar="S",
                    help="give up when the connection stays silent this long (default: 30)")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    dl.set_defaults(run=run_download)


def run_data(args) -> int:
    """Carry out ``python -m zsm data``: fetch the footage (idempotent)."""
    from ..data.footage import fetch_footage

    fetch_footage(args.dest, clips=args.clips or None)
    return 0


def run_download(args) -> int:
    """Carry out ``python -m zsm download``: the authors' checkpoint, verified, or one error line."""
    from ..weights import download

    if not args.timeout > 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    say = (lambda m: print(m, file=sys.stderr))
    path = download.download_official_checkpoint(args.dest, args.url, timeout=args.timeout,
                                                 progress=not args.no_progress, say=say)
    print(f"{path}: the authors' published checkpoint (git blob {download.OFFICIAL_CHECKPOINT_BLOB}); use it with "
          f"--weights {path}")
    return 0

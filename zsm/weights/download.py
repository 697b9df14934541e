"""The authors' published checkpoint, fetched and proven to be theirs.

Book: chapter 7.

The authors keep ``xiang2020zooming.pth`` as a plain file of their git repository, so git itself names its content:
the **blob SHA-1**, git's SHA-1 of ``b"blob <size>\\0"`` followed by the file's bytes, as listed in the repository's
tree (``git ls-tree``, or GitHub's tree API). :func:`download_official_checkpoint` downloads into a temporary sibling
of the destination, checks that digest, and only then moves the file into place; anything else (another file, a
truncated download, an HTML error page) is refused and removed. :func:`is_official_checkpoint` lets a loader tell a
user when a file in the authors' layout is not the published one.
"""
from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Callable, Optional

from ..outputs import atomic_file
from .files import PathLike

__all__ = ["OFFICIAL_CHECKPOINT_URL", "OFFICIAL_CHECKPOINT_BLOB", "OFFICIAL_CHECKPOINT_NAME", "git_blob_sha1",
           "is_official_checkpoint", "download_official_checkpoint", "UnpublishedCheckpointWarning"]

OFFICIAL_CHECKPOINT_NAME = "xiang2020zooming.pth"
OFFICIAL_CHECKPOINT_URL = ("https://github.com/Mukosame/Zooming-Slow-Mo-CVPR-2020/raw/master/"
                           "experiments/pretrained_models/" + OFFICIAL_CHECKPOINT_NAME)
# git's blob SHA-1 of the published file, as the authors' repository tree lists it
OFFICIAL_CHECKPOINT_BLOB = "96b6d2a9b0d54cb24ab698a871dc29277fcc7657"

_CHUNK = 1 << 20


class UnpublishedCheckpointWarning(UserWarning):
    """A file in the authors' layout loaded, but it is not the checkpoint they published (its git blob SHA-1 differs):
    a retrained, converted or altered network, whose results are not the paper's."""


def git_blob_sha1(path: PathLike) -> str:
    """git's SHA-1 of the file as a blob: ``sha1(b"blob <size>\\0" + bytes)``, read in 1 MB pieces."""
    path = Path(path)
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(_CHUNK), b""):
            h.update(piece)
    return h.hexdigest()


def is_official_checkpoint(path: PathLike, blob: Optional[str] = None) -> bool:
    """Whether ``path`` is byte for byte the authors' published checkpoint (its git blob SHA-1 is ``blob``, by
    default :data:`OFFICIAL_CHECKPOINT_BLOB`)."""
    return git_blob_sha1(path) == (blob or OFFICIAL_CHECKPOINT_BLOB)


def download_official_checkpoint(dest: PathLike = ".", url: Optional[str] = None, *,
                                 blob: Optional[str] = None, timeout: float = 30.0,
                                 progress: bool = True, say: Optional[Callable[[str], None]] = None) -> Path:
    """Download the authors' checkpoint (``xiang2020zooming.pth``) and prove it is theirs; return its path.

    The file is written to a temporary sibling of the destination and moved into place only once its git blob
    SHA-1 is ``blob``; a file that does not match is deleted and refused, so the destination holds the published
    file or nothing new. A verified file already at the destination is reused without any download. Load the result
    with :func:`zsm.load_official_checkpoint` (or :func:`zsm.load_checkpoint`).

    Args:
        dest: a folder (the file goes in it as ``xiang2020zooming.pth``; created if missing) or a file path.
        url: where to download from (default: :data:`OFFICIAL_CHECKPOINT_URL`, the authors' repository; their README also links a Google Drive copy,
            which needs a browser: download it by hand, then pass its folder as ``dest`` to have it checked).
        blob: the git blob SHA-1 the file must have. Default: :data:`OFFICIAL_CHECKPOINT_BLOB`, the published
            checkpoint's (both defaults are read when the function is called).
        timeout: seconds the connection may stay silent (connecting, or between two pieces) before giving up.
        progress: show a progress bar (tqdm).
        say: where to report a reused file (default: nothing).

    Raises:
        FileExistsError: the destination holds another file than the published one (it is never replaced: delete it
            or choose another ``dest``).
        ValueError: the downloaded bytes are not the published file (nothing is left behind).
        ConnectionError: no answer from ``url`` (no network, refused, timed out, an HTTP error).
        OSError: the destination cannot be written (full or read-only disk).
    """
    url = url or OFFICIAL_CHECKPOINT_URL
    blob = blob or OFFICIAL_CHECKPOINT_BLOB
    dest = Path(dest)
    target = dest / OFFICIAL_CHECKPOINT_NAME if dest.is_dir() or not dest.suffix else dest
    if target.is_file():
        if git_blob_sha1(target) == blob:
            if say is not None:
                say(f"{target} is already the published checkpoint (git blob {blob}); not downloaded again")
            return target
        raise FileExistsError(f"{target} exists but is not the published checkpoint (its git blob SHA-1 is "
                              f"{git_blob_sha1(target)}, not {blob}); delete it or choose another destination")
    with atomic_file(target) as partial:  # removed on any error, Ctrl-C or SIGTERM; moved into place if checked
        size = _fetch(url, partial, timeout, progress)
        got = git_blob_sha1(partial)
        if got != blob:
            raise ValueError(f"the file downloaded from {url} ({size:,} bytes) is not the published checkpoint: its "
                             f"git blob SHA-1 is {got}, not {blob}; nothing was kept")
    return target


def _fetch(url: str, path: Path, timeout: float, progress: bool) -> int:
    """Stream ``url`` into ``path``; the number of bytes. Network failures become one ConnectionError naming ``url``."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "zsm (python urllib)"})
    bar = None
    written = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(path, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=Path(url).name)
            for piece in iter(lambda: response.read(_CHUNK), b""):
                out.write(piece)
                written += len(piece)
                if bar is not None:
                    bar.update(len(piece))
            if total is not None and written != total:
                raise ConnectionError(f"the download from {url} stopped after {written:,} of {total:,} bytes")
    except urllib.error.HTTPError as err:
        raise ConnectionError(f"could not download {url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            reason = f"no answer within {timeout:g} s"
        raise ConnectionError(f"could not download {url}: {reason} (no network? download the file by hand and "
                              "pass its folder or path)") from None
    except (socket.timeout, TimeoutError):
        raise ConnectionError(f"could not download {url}: the connection went silent for {timeout:g} s") from None
    except (ConnectionResetError, ConnectionAbortedError, http.client.HTTPException) as err:
        raise ConnectionError(f"could not download {url}: {type(err).__name__} {err}") from None
    finally:
        if bar is not None:
            bar.close()
    return written

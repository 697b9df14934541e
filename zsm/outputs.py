"""Outputs that are whole or absent: written to a temporary sibling, moved into place only when complete.

Book: chapter 6 (checkpoints that survive a disconnect).

Every file and folder this package writes goes through :func:`atomic_file` or :func:`atomic_folder`. The
temporary sibling is hidden and named after the target and this process, ``.<name>.<pid>.zsm-partial<suffix>``
(the suffix kept, so that writers that look at it, such as video encoders, see it); on any exception, Ctrl-C, or
SIGTERM raised as an exception (``python -m zsm`` does that), it is removed, and the target is as it was. A folder
replaced with ``overwrite=True`` is swapped for the new one only when the new one is complete, and only when it
held nothing but files this package writes. Temporaries left by a process that was killed outright (SIGKILL,
power loss) are removed by the next write to the same target (:func:`remove_stale_partials`).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Callable, Iterator, Union

__all__ = ["PARTIAL", "partial_sibling", "remove_stale_partials", "check_writable", "atomic_file", "atomic_folder"]

PathLike = Union[str, "os.PathLike[str]"]
PARTIAL = ".zsm-partial"


def partial_sibling(target: PathLike, pid: int = None) -> Path:
    """The temporary name beside ``target`` that this process writes it under."""
    target = Path(target)
    return target.with_name(f".{target.name}.{pid or os.getpid()}{PARTIAL}{target.suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(target: PathLike, folder_wide: bool = False) -> list:
    """Remove the temporaries of ``target`` (of anything in its folder with ``folder_wide``) left by processes that
    no longer run; return what was removed."""
    target = Path(target)
    name = r".+?" if folder_wide else re.escape(target.name)
    pattern = re.compile(rf"\.({name})\.(\d+){re.escape(PARTIAL)}")
    removed = []
    folder = target.parent
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = pattern.match(entry.name)
        if m and int(m[2]) != os.getpid() and not _alive(int(m[2])):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _check_parent(target: Path) -> None:
    """Refuse a target whose folder, or a folder above it, is a file."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {target}: {parent} is a file, not a folder")
            return


def check_writable(target: PathLike) -> None:
    """Fail now, before any work, if ``target`` (a file or folder to be written) could not be written: its folder
    is made if missing, and a probe file is created there and removed.

    Raises:
        OSError: the folder cannot be made or written to (read-only, no permission, a file in the way), or the name
            is too long; the message names ``target``.
    """
    target = Path(target)
    _check_parent(target)
    probe = partial_sibling(target).with_name(partial_sibling(target).name + ".probe")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
    except OSError as err:
        raise OSError(err.errno, f"cannot write {target}: {err.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


@contextlib.contextmanager
def atomic_file(target: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` to; it becomes ``target`` when the block ends without error.

    Raises:
        FileExistsError: ``target`` exists and ``overwrite`` is False (checked before the block runs).
        IsADirectoryError: ``target`` is a folder.
        OSError: the folder cannot be made or written to.
    """
    target = Path(target)
    _check_parent(target)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True (--overwrite) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    tmp = partial_sibling(target)
    try:
        yield tmp
        if not tmp.is_file():
            raise RuntimeError(f"nothing was written for {target}")
        os.replace(tmp, target)
    finally:
        if tmp.exists() or tmp.is_symlink():
            tmp.unlink()


@contextlib.contextmanager
def atomic_folder(target: PathLike, overwrite: bool = False,
                  ours: Callable[[Path], bool] = lambda p: False) -> Iterator[Path]:
    """Yield a new temporary folder to fill; it becomes ``target`` when the block ends without error.

    An existing empty folder is replaced. A folder with files is replaced only with ``overwrite=True``, and only if
    every entry in it is one of ours (``ours(path)``): a folder that holds anything else is refused before any work,
    so nothing this package did not write is ever deleted.

    Raises:
        FileExistsError: ``target`` holds files and ``overwrite`` is False.
        ValueError: ``target`` is a file, or holds files this package did not write (named in the message).
    """
    target = Path(target)
    _check_parent(target)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{target} is a file; give a folder for the frames")
    entries = sorted(target.iterdir()) if target.is_dir() else []
    if entries:
        if not overwrite:
            raise FileExistsError(f"{target} already holds {len(entries)} files; pass overwrite=True (--overwrite) to "
                                  "replace them, or choose a new folder")
        foreign = [p.name for p in entries if not ours(p)]
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise ValueError(f"{target} holds files that zsm did not write ({shown}); they would be lost, so it is "
                             "not replaced: choose a new or empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    tmp = partial_sibling(target)
    old = tmp.with_name(tmp.name + ".old")
    tmp.mkdir()
    try:
        yield tmp
        if target.exists():
            os.rename(target, old)  # the old output stays whole until the new one is in place
            os.rename(tmp, target)
            shutil.rmtree(old)
        else:
            os.rename(tmp, target)
    finally:
        if old.exists() and not target.exists():  # moving the new one in failed: put the old one back
            os.rename(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

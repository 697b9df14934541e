"""Photographs for synthetic motion: natural stills fetched from a pinned PyPI wheel, and reading them.

Book: chapter 6.

The footage of :mod:`zsm.data.footage` is a cartoon and one H.264 clip; the fine texture of real photographs
(fur, foliage, brick, text) is nowhere in it. scikit-image's wheel ships a few photographs that their authors
released into the public domain or under CC0 (provenance: ``data/README.md``). :func:`fetch_stills` brings them from
that wheel, pinned by version, file and sha256; :func:`load_stills` reads them (or any images) as RGB stills for
:class:`zsm.training.motion.SyntheticMotion` (``python -m zsm train --stills data/stills``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from .footage import data_dir, fetch_pinned, pinned_wheel
from .frames import list_frames, read_image

__all__ = ["STILLS", "STILLS_VERSION", "STILLS_WHEEL", "STILLS_WHEEL_SHA256", "fetch_stills", "stills_wheel",
           "load_stills"]

PathLike = Union[str, os.PathLike]

STILLS_VERSION = "0.26.0"  # scikit-image; its data folder ships a few photographs
# One platform's wheel, named in full so that every machine downloads the same bytes (the photographs are the same
# in every wheel of a release, the file's sha256 is not).
STILLS_WHEEL = f"scikit_image-{STILLS_VERSION}-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
STILLS_WHEEL_SHA256 = "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"
STILLS = {  # name -> (member of the wheel, its sha256, what it is and its terms, from scikit-image's docstrings)
    "astronaut": ("skimage/data/astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
                  "512x512 colour; Eileen Collins, NASA; public domain"),
    "chelsea": ("skimage/data/chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
                "451x300 colour; a cat, by Stefan van der Walt; CC0"),
    "coffee": ("skimage/data/coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
               "600x400 colour; a coffee cup, by Rachel Michetti; CC0"),
    "rocket": ("skimage/data/rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
               "640x427 colour; a Falcon 9 launch, SpaceX; public domain"),
    "camera": ("skimage/data/camera.png", "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
               "512x512 grey; a photographer, by Lav Varshney; CC0"),
    "brick": ("skimage/data/brick.png", "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
              "512x512 grey; a brick wall, from CC0Textures; CC0"),
    "grass": ("skimage/data/grass.png", "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
              "512x512 grey; grass, by linolafett; CC0"),
    "gravel": ("skimage/data/gravel.png", "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
               "512x512 grey; gravel, from CC0Textures; CC0"),
}


def _pip_download_command(cache: Path) -> List[str]:
    return [sys.executable, "-m", "pip", "download", f"scikit-image=={STILLS_VERSION}", "--no-deps",
            "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
            "--implementation", "cp", "--abi", "cp311", "--disable-pip-version-check", "-d", str(cache)]


def fetch_stills(dest: Optional[PathLike] = None, names: Optional[Sequence[str]] = None,
                 cache: Optional[PathLike] = None, quiet: bool = False) -> Dict[str, Path]:
    """Fetch the photographs of ``STILLS`` from scikit-image's wheel (13.7 MB), pinned by version and sha256.

    Like :func:`zsm.data.fetch_footage`: ``python -m pip download`` fetches the wheel (once; it stays in the cache),
    its sha256 is checked, each photograph is extracted whole or not at all and checked too, and a second call
    that finds every file verified does nothing.

    Args:
        dest: folder for the photographs, created if needed. Default: ``stills`` in :func:`zsm.data.data_dir`.
        names: names from ``STILLS``; default: all of them.
        cache: folder for the wheel. Default: ``_cache`` beside ``dest`` (the footage's cache).
        quiet (bool): print nothing. Default: False.

    Returns:
        dict: name -> path of the photograph (its file name in the wheel, e.g. ``stills/rocket.jpg``).

    Raises:
        ValueError: an unknown name.
        RuntimeError: pip failed (its last lines are in the message), or a sha256 did not match.
    """
    dest = Path(dest) if dest is not None else data_dir() / "stills"
    cache = Path(cache) if cache is not None else dest.parent / "_cache"
    return fetch_pinned(dest, names, STILLS, lambda name: Path(STILLS[name][0]).name,
                        lambda say: stills_wheel(cache, say), item="still", kind="stills", quiet=quiet)


def stills_wheel(cache: PathLike, say=print) -> Path:
    """The pinned scikit-image wheel that :func:`fetch_stills` reads, in ``cache``: downloaded once, checked by its
    sha256 (:func:`zsm.data.footage.pinned_wheel`). For reading other members of it with
    :func:`zsm.data.footage.fetch_pinned` and pins of one's own.

    Raises:
        RuntimeError: pip failed, or the sha256 did not match.
    """
    return pinned_wheel(Path(cache), STILLS_WHEEL, STILLS_WHEEL_SHA256, _pip_download_command,
                        f"scikit-image=={STILLS_VERSION}", say)


def load_stills(sources: Sequence[PathLike], min_side: int = 0) -> List[np.ndarray]:
    """Images as RGB stills (H, W, 3) uint8: each source is an image file or a folder of them (read in name order).

    Args:
        sources: image files or folders.
        min_side (int): every still must be at least this many pixels on both sides (the synthetic motion's view
            with its margin: ``2 * scale * lr_size``). Default: 0.

    Raises:
        FileNotFoundError: a source that does not exist.
        ValueError: a folder with no images, an image that cannot be read, or one too small (each names the file).
    """
    stills = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such image or folder of images")
        for file in list_frames(path) if path.is_dir() else [path]:  # a folder: only images, at least one
            image = read_image(file)  # (H, W, 3) uint8 RGB, grey images repeated on 3 channels
            if min(image.shape[:2]) < min_side:
                raise ValueError(f"{file} is {image.shape[1]}x{image.shape[0]}; synthetic motion needs at least "
                                 f"{min_side} pixels on both sides")
            stills.append(image)
    return stills

"""Our checkpoints: a trained model's file and a training run's resumable checkpoint, checked by one validator.

Book: chapters 6 and 7.

Both are dicts of tensors and plain values, written atomically and read with ``weights_only=True``
(:mod:`zsm.weights.files`), and both carry a SHA-256 of their weights:

    zsm-model  {"format", "version": 1, "config", "state_dict", "sha256", "meta"}          save_checkpoint
    zsm-train  {"format", "version": 1, "model_config", "model", "sha256", "step", "train_config",
                "optimizer", "scheduler", "scaler", "rng", "curves"}                       save_training_checkpoint

:func:`load_checkpoint` also reads the authors' published file (:mod:`zsm.weights.official`), and
:func:`load_default_model` gives the model that ``python -m zsm upscale`` uses without ``--weights``.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Optional, Tuple

from torch import Tensor

from ..net.config import ZSMConfig
from ..net.model import ZoomingSlowMo
from .download import download_official_checkpoint
from .files import PathLike, atomic_torch_save, listing, safe_torch_load, state_dict_digest
from .official import load_official_checkpoint, stored_dtype

__all__ = ["MODEL_FORMAT", "TRAIN_FORMAT", "SHIPPED_MODEL", "SHIPPED_ANYTIME", "save_checkpoint", "load_checkpoint",
           "load_default_model", "load_model", "cache_dir", "save_training_checkpoint", "load_training_checkpoint", "model_from_state"]

MODEL_FORMAT = "zsm-model"
TRAIN_FORMAT = "zsm-train"
VERSION = 1
# What each format must hold besides "format" and "version": (name of the config entry, of the weights, others).
_PARTS = {
    MODEL_FORMAT: ("config", "state_dict", ("sha256",)),
    TRAIN_FORMAT: ("model_config", "model", ("sha256", "step", "optimizer", "scheduler", "scaler", "rng", "curves")),
}
# The model that training on the footage produced (README, "The shipped model"): upscale's and the book's default.
SHIPPED_MODEL = Path(__file__).resolve().parent / "zsm-deeper.pt"
# The time-modulated model (book chapter 8): ``upscale --time-factor N`` (N > 2) and ``load_model("anytime")``.
SHIPPED_ANYTIME = Path(__file__).resolve().parent / "zsm-anytime.pt"


def _checked(obj, path: PathLike, fmt: str) -> Tuple[dict, Dict[str, Tensor]]:
    """The one validator of our files: the format, its version, every part, weights that match their digest.

    Returns:
        (config, state_dict): the network's config dict and its weights, as stored.
    """
    if not isinstance(obj, dict) or obj.get("format") != fmt:
        kind = "zsm training checkpoint" if fmt == TRAIN_FORMAT else "zsm model checkpoint"
        raise ValueError(f"{path} is not a {kind} (format {fmt!r})")
    if obj.get("version") != VERSION:
        raise ValueError(f"{path}: {fmt} version {obj.get('version')!r}, this zsm reads version {VERSION}")
    config_key, weights_key, others = _PARTS[fmt]
    missing = [k for k in (config_key, weights_key, *others) if k not in obj]
    if missing:
        raise ValueError(f"{path}: the checkpoint lacks {missing}")
    state = obj[weights_key]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise ValueError(f"{path}: {weights_key!r} is not a state_dict (names to tensors)")
    if not isinstance(obj[config_key], dict):
        raise ValueError(f"{path}: {config_key!r} is not a dict of ZSMConfig fields")
    if state_dict_digest(state) != obj["sha256"]:
        raise ValueError(f"{path}: the weights do not match their recorded SHA-256; the file was altered or damaged")
    return obj[config_key], state


def model_from_state(config: dict, state: Dict[str, Tensor], path: PathLike = "the checkpoint") -> ZoomingSlowMo:
    """A :class:`ZoomingSlowMo` of ``config`` holding ``state``, in the dtype the weights were stored in.

    Raises:
        ValueError: the config is not a valid ZSMConfig, or the weights do not fit it (each name listed).
    """
    try:
        model = ZoomingSlowMo(ZSMConfig.from_dict(config))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: its network config is invalid: {err}") from None
    target = model.state_dict()
    missing = sorted(set(target) - set(state))
    unexpected = sorted(set(state) - set(target))
    wrong = sorted(k for k in set(target) & set(state) if target[k].shape != state[k].shape)
    problems = [f"{what} {listing(names)}" for what, names in
                (("missing", missing), ("unexpected", unexpected), ("of the wrong shape", wrong)) if names]
    if problems:
        raise ValueError(f"{path}: the weights do not fit its config: " + "; ".join(problems))
    model.to(stored_dtype(state)).load_state_dict(state)
    return model


def _cpu_state(model) -> Dict[str, Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def save_checkpoint(model: ZoomingSlowMo, path: PathLike, meta: Optional[dict] = None) -> None:
    """Save the model's config and weights (with their SHA-256) atomically; ``meta`` holds plain values."""
    state = _cpu_state(model)
    atomic_torch_save({"format": MODEL_FORMAT, "version": VERSION, "config": model.config.to_dict(),
                       "state_dict": state, "sha256": state_dict_digest(state), "meta": dict(meta or {})}, path)


def load_checkpoint(path: PathLike, map_location="cpu", expect: Optional[ZSMConfig] = None) -> ZoomingSlowMo:
    """Load a model saved by :func:`save_checkpoint`, the network of a training checkpoint (a run's
    ``checkpoints/step-N.pt``), or the authors' checkpoint, ready in eval mode, in the dtype the weights were
    stored in.

    Args:
        path: the file.
        map_location: as in ``torch.load``. Default: "cpu".
        expect (ZSMConfig, optional): refuse a file whose network has another config.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, altered (digest mismatch), or another network than ``expect``.
    """
    obj = safe_torch_load(path, map_location)
    if isinstance(obj, dict) and obj.get("format") in (MODEL_FORMAT, TRAIN_FORMAT):
        model = model_from_state(*_checked(obj, path, obj["format"]), path)
    else:
        try:
            model = load_official_checkpoint(path, map_location=map_location)
        except ValueError as err:
            raise ValueError(f"{path} is neither a zsm checkpoint nor the authors' layout: {err}") from None
    if expect is not None and model.config != expect:
        raise ValueError(f"{path} holds a network with {model.config}, but {expect} was expected")
    return model.eval()


def load_default_model(map_location="cpu") -> ZoomingSlowMo:
    """The shipped model (:data:`SHIPPED_MODEL`), in eval mode: what ``python -m zsm upscale`` uses without ``--weights``.

    Raises:
        FileNotFoundError: this installation has no shipped model file.
    """
    if not SHIPPED_MODEL.is_file():
        raise FileNotFoundError(f"this installation has no shipped model at {SHIPPED_MODEL}; pass the weights to use")
    return load_checkpoint(SHIPPED_MODEL, map_location)


def cache_dir() -> Path:
    """Where downloaded weights are kept: ``$ZSM_CACHE``, else ``~/.cache/zsm`` (``$XDG_CACHE_HOME/zsm``)."""
    if os.environ.get("ZSM_CACHE"):
        return Path(os.environ["ZSM_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "zsm"


def load_model(weights: PathLike = "shipped", map_location="cpu", progress: bool = True, say=None) -> ZoomingSlowMo:
    """The trained network a chapter (or a script) asks for by name, in eval mode, on the CPU (or ``map_location``).

    Args:
        weights: ``"shipped"``: this package's model (:func:`load_default_model`); ``"anytime"``: its
            time-modulated model, which makes any moment between two frames (:data:`SHIPPED_ANYTIME`, chapter 8);
            ``"authors"``: the authors'
            published checkpoint, the paper's network (downloaded once into :func:`cache_dir` and checked by its
            git blob SHA-1, :func:`zsm.download_official_checkpoint`); anything else: the path of a model file
            (ours or in the authors' layout, :func:`load_checkpoint`).
        progress: show the download's progress bar.
        say: where to report a reused download (e.g. ``print``).

    Raises:
        FileNotFoundError, ValueError: see :func:`load_checkpoint`; ConnectionError: see
        :func:`zsm.download_official_checkpoint`.
    """
    if weights == "shipped":
        return load_default_model(map_location)
    if weights == "anytime":
        if not SHIPPED_ANYTIME.is_file():
            raise FileNotFoundError(f"this installation has no any-time model at {SHIPPED_ANYTIME}; pass the weights "
                                    "of a network trained with time modulation")
        return load_checkpoint(SHIPPED_ANYTIME, map_location)
    if weights == "authors":
        path = download_official_checkpoint(cache_dir(), progress=progress, say=say)
        return load_official_checkpoint(path, map_location=map_location)
    return load_checkpoint(weights, map_location)


def save_training_checkpoint(path: PathLike, model, optimizer, scheduler, scaler, step: int, cfg, curves: dict,
                             rng: dict) -> None:
    """Write everything a resumed run needs to ``path`` atomically (a crash leaves the old file or the new one).

    Args:
        model: the (unwrapped) ZoomingSlowMo; optimizer, scheduler, scaler: their ``state_dict()`` is saved.
        step (int): optimiser steps done. cfg: the run's dataclass config. curves (dict): the run's curves.
        rng (dict): the random generators' states (:func:`zsm.training.runs.rng_state`).
    """
    state = _cpu_state(model)
    atomic_torch_save({
        "format": TRAIN_FORMAT, "version": VERSION, "step": step, "train_config": asdict(cfg),
        "model_config": model.config.to_dict(), "model": state, "sha256": state_dict_digest(state),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
        "rng": rng, "curves": curves,
    }, path)


def load_training_checkpoint(path: PathLike, map_location="cpu") -> dict:
    """Read and check a checkpoint of :func:`save_training_checkpoint` (tensors and plain data only).

    Load it onto the CPU (the default) to resume: the random states must be CPU tensors, and ``load_state_dict``
    moves the rest to the model's device.

    Raises:
        ValueError: not a zsm training checkpoint, a part missing, or weights that do not match their digest.
    """
    state = safe_torch_load(path, map_location=map_location)
    _checked(state, path, TRAIN_FORMAT)
    return state

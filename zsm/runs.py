"""A training run's folder on disk: resumable checkpoints, the latest of them, and the curves.

Book: chapter 6.

    run_dir/checkpoints/step-0000123.pt   weights (with their SHA-256), optimiser, scheduler, scaler, RNG states,
                                          step, configs and curves: everything a resumed run needs
    run_dir/curves.json                   loss, learning rate, validation scores per step (for plots)
    run_dir/model.pt                      the trained weights alone, written by zsm.train at the end

Checkpoints are written atomically (:func:`zsm.checkpoint.atomic_torch_save`) and read with ``weights_only=True``
(:func:`zsm.checkpoint.safe_torch_load`); a file that is not one, lacks a part, or whose weights do not match their
digest is refused with the reason.
"""
from __future__ import annotations

import json
import os
import random
import re
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .checkpoint import atomic_torch_save, safe_torch_load, state_dict_digest

__all__ = ["CHECKPOINT_FORMAT", "checkpoint_dir", "latest_checkpoint", "save_training_checkpoint",
           "load_training_checkpoint", "write_curves", "set_rng_state"]

CHECKPOINT_FORMAT = "zsm-train"


def checkpoint_dir(run_dir) -> Path:
    """``run_dir/checkpoints``, where the resumable checkpoints of a run go."""
    return Path(run_dir) / "checkpoints"


def latest_checkpoint(run_dir) -> Optional[Path]:
    """The checkpoint of the highest step in ``run_dir/checkpoints`` (``step-0000123.pt``), or None."""
    folder = checkpoint_dir(run_dir)
    found = sorted(p for p in folder.glob("step-*.pt") if re.fullmatch(r"step-\d+\.pt", p.name)) if folder.is_dir() else []
    return found[-1] if found else None


def _rng_state() -> dict:
    """Every random generator a run draws from: torch (and CUDA), Python's ``random``, NumPy's global one."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    np_state = np.random.get_state()
    state["numpy"] = {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                      "has_gauss": int(np_state[3]), "gauss": float(np_state[4])}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Put back the generators saved by a checkpoint, so a resumed run draws what the uninterrupted one would.

    The states are CPU tensors, as :func:`load_training_checkpoint` returns them when loaded onto the CPU.
    """
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: Path, model, optimizer, scheduler, scaler, step, cfg, curves) -> None:
    """Write everything a resumed run needs to ``path`` atomically (a crash leaves the old file or the new one)."""
    model_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save({
        "format": CHECKPOINT_FORMAT, "version": 1, "step": step, "train_config": asdict(cfg),
        "model_config": model.config.to_dict(), "model": model_state, "sha256": state_dict_digest(model_state),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
        "rng": _rng_state(), "curves": curves,
    }, path)


def load_training_checkpoint(path: Path, device) -> dict:
    """Read a checkpoint of :func:`save_training_checkpoint` (tensors and plain data only) and check it.

    Raises:
        ValueError: not a zsm training checkpoint, a part missing, or weights that do not match their digest.
    """
    state = safe_torch_load(path, map_location=device)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a zsm training checkpoint (format {CHECKPOINT_FORMAT!r})")
    missing = [k for k in ("step", "model", "sha256", "optimizer", "scheduler", "scaler", "rng", "curves") if k not in state]
    if missing:
        raise ValueError(f"{path}: the training checkpoint lacks {missing}")
    if state_dict_digest(state["model"]) != state["sha256"]:
        raise ValueError(f"{path}: the weights do not match their recorded SHA-256; the file was altered or damaged")
    return state


def write_curves(run_dir: Path, curves: dict) -> None:
    """``run_dir/curves.json``, replaced atomically, so a reader never sees half a file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "curves.json.tmp"
    tmp.write_text(json.dumps(curves))
    os.replace(tmp, run_dir / "curves.json")

"""A training run's folder on disk: resumable checkpoints, the latest of them, and the curves.

Book: chapter 6.

    run_dir/checkpoints/step-0000123.pt   weights (with their SHA-256), optimiser, scheduler, scaler, RNG states,
                                          step, configs and curves: everything a resumed run needs
    run_dir/curves.json                   loss, learning rate, validation scores per step (for plots)
    run_dir/model.pt                      the trained weights alone, written by zsm.training.loop at the end

The checkpoints themselves are written and checked by :mod:`zsm.weights.checkpoint`
(:func:`~zsm.weights.checkpoint.save_training_checkpoint`, :func:`~zsm.weights.checkpoint.load_training_checkpoint`);
this module knows where they lie in the folder and what a resumed run must put back.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..outputs import atomic_file, remove_stale_partials


__all__ = ["checkpoint_dir", "latest_checkpoint", "rng_state", "set_rng_state", "write_curves", "RUN_FILE",
           "DEFINING", "run_files", "clear_run", "write_definition", "definition_changes"]

RUN_FILE = "run.json"  # what defines the run: its configs and its data, written when it starts
# The TrainConfig fields that define a run; the others (iterations, logging, checkpoints, workers) may change on resume.
DEFINING = ("preset", "model", "batch_size", "lr_size", "learning_rate", "betas", "restart_every", "eta_min", "amp",
            "seed", "warmup_steps", "offset_lr_scale", "guide_weight", "guide_steps", "align_steps",
            "kaiming_init", "init_weights")


def checkpoint_dir(run_dir) -> Path:
    """``run_dir/checkpoints``, where the resumable checkpoints of a run go."""
    return Path(run_dir) / "checkpoints"


def latest_checkpoint(run_dir) -> Optional[Path]:
    """The checkpoint of the highest step in ``run_dir/checkpoints`` (``step-0000123.pt``), or None."""
    folder = checkpoint_dir(run_dir)
    found = sorted(p for p in folder.glob("step-*.pt") if re.fullmatch(r"step-\d+\.pt", p.name)) if folder.is_dir() else []
    return found[-1] if found else None


def rng_state() -> dict:
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

    The states are CPU tensors, as :func:`zsm.weights.checkpoint.load_training_checkpoint` returns them when loaded onto the CPU.
    """
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_curves(run_dir: Path, curves: dict) -> None:
    """``run_dir/curves.json``, replaced atomically, so a reader never sees half a file."""
    with atomic_file(Path(run_dir) / "curves.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(curves))


def run_files(run_dir) -> list:
    """The files of a training run that this package wrote in ``run_dir`` (checkpoints, curves, model, definition)."""
    run_dir = Path(run_dir)
    found = [run_dir / n for n in ("model.pt", "curves.json", RUN_FILE) if (run_dir / n).is_file()]
    folder = checkpoint_dir(run_dir)
    if folder.is_dir():
        found += sorted(p for p in folder.glob("step-*.pt") if re.fullmatch(r"step-\d+\.pt", p.name))
    return found


def clear_run(run_dir) -> list:
    """Delete the run files of :func:`run_files` (nothing else) and stale temporaries; return what was deleted."""
    files = run_files(run_dir)
    for path in files:
        path.unlink()
    remove_stale_partials(Path(run_dir) / "model.pt", folder_wide=True)
    remove_stale_partials(checkpoint_dir(run_dir) / "x", folder_wide=True)
    return files


def write_definition(run_dir, definition: dict) -> None:
    """``run_dir/run.json``: what defines the run (see :data:`DEFINING` and the samples' ``describe()``)."""
    with atomic_file(Path(run_dir) / RUN_FILE, overwrite=True) as tmp:
        tmp.write_text(json.dumps(definition, indent=1, sort_keys=True))


def definition_changes(run_dir, definition: dict) -> list:
    """How ``definition`` differs from the one the run in ``run_dir`` recorded: ``["seed: 0 -> 1", ...]``
    (empty when they agree, or when the run recorded none)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return []
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        raise ValueError(f"{path} is damaged (not JSON); move it away to resume without the check") from None
    return _differences(recorded, json.loads(json.dumps(definition)), "")


_MISSING = object()


def _differences(old, new, where: str) -> list:
    """``["data.source.sources[1].windows: 1 -> (absent)", ...]``: every leaf where two JSON values differ, by path."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += _differences(old.get(key, _MISSING), new.get(key, _MISSING), f"{where}.{key}" if where else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, f"{where}[{i}]")]
    if old == new:
        return []
    return [f"{where}: {_short(old)} -> {_short(new)}"]


def _short(value) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."

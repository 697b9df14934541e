"""What each training step uses besides the network: the parameter groups, Adam, the cosine schedule with warm
restarts and its warm-up, and the mixed-precision dtype.

Book: chapter 6.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import torch

from .config import TrainConfig

__all__ = ["parameter_groups", "warmup_factor", "make_optimizer", "follow_schedule", "amp_dtype"]


def parameter_groups(model, cfg: TrainConfig) -> list:
    """The model's parameters for :func:`make_optimizer`: one group, or with ``cfg.offset_lr_scale != 1`` two, the
    offset and mask predictors of the deformable convolutions (their own learning rate) and the rest."""
    if cfg.offset_lr_scale == 1:
        return [{"params": list(model.parameters())}]
    offsets = [p for name, p in model.named_parameters() if ".offset_mask." in name]
    rest = [p for name, p in model.named_parameters() if ".offset_mask." not in name]
    return [{"params": rest}, {"params": offsets, "lr": cfg.learning_rate * cfg.offset_lr_scale}]


def warmup_factor(step: int, cfg: TrainConfig) -> float:
    """What the learning rate of optimiser step ``step + 1`` is multiplied by during the warm-up (1 after it)."""
    return min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0


def make_optimizer(parameters, cfg: TrainConfig):
    """The optimiser and learning-rate schedule of a run: Adam and cosine annealing with warm restarts.

    The schedule is stepped once per optimiser step: the learning rate falls from ``cfg.learning_rate`` to
    ``cfg.eta_min`` along half a cosine over ``cfg.restart_every`` steps, then jumps back up.

    Args:
        parameters: the model's parameters (an iterable of tensors, as for any torch optimiser).
        cfg (TrainConfig): learning_rate, betas, restart_every and eta_min are used.

    Returns:
        (torch.optim.Adam, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts)
    """
    optimizer = torch.optim.Adam(parameters, lr=cfg.learning_rate, betas=tuple(cfg.betas))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=cfg.restart_every,
                                                                     eta_min=cfg.eta_min)
    return optimizer, scheduler


def follow_schedule(optimizer, scheduler, cfg: TrainConfig) -> None:
    """Make a resumed scheduler follow ``cfg.restart_every`` and ``cfg.eta_min`` from the step it reached.

    A scheduler's saved state carries the period and floor it started with; a run resumed with another
    ``--restart-every`` (``--allow-changes``) should anneal along the new one from where it is, e.g. to end a
    3,000-step plan at step 1,400: the rate at step s becomes eta_min + (base - eta_min)(1 + cos(pi (s mod R) / R)) / 2
    with R the new period, set on the optimiser at once. Unchanged settings leave the state exactly as loaded.
    """
    if scheduler.T_0 == cfg.restart_every and scheduler.eta_min == cfg.eta_min:
        return
    scheduler.T_0 = scheduler.T_i = cfg.restart_every
    scheduler.eta_min = cfg.eta_min
    scheduler.T_cur = scheduler.last_epoch % cfg.restart_every
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = cfg.eta_min + (base - cfg.eta_min) * (1 + math.cos(math.pi * scheduler.T_cur / scheduler.T_i)) / 2
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def amp_dtype(amp: str, device) -> Optional[torch.dtype]:
    """The autocast dtype that ``amp`` ("auto", "bf16", "fp16", "off") gives on ``device``; None: float32.

    "auto" is bfloat16 on a GPU that computes it natively (NVIDIA compute capability 8.0 and later: A100, L4,
    H100, RTX 30xx on; or ROCm), else float16, which the trainer pairs with a gradient scaler. (Older GPUs such
    as the T4 only emulate bfloat16, slowly, although ``torch.cuda.is_bf16_supported()`` says True there.)
    Mixed precision is for CUDA only: on any other device the answer is None, with a warning when bf16 or
    fp16 was asked for explicitly.
    """
    if amp not in ("auto", "bf16", "fp16", "off"):
        raise ValueError(f"amp must be auto, bf16, fp16 or off, got {amp!r}")
    device = torch.device(device)
    if device.type != "cuda" or amp == "off":
        if amp in ("bf16", "fp16") and device.type != "cuda":
            warnings.warn(f"amp={amp!r} needs a CUDA device; training in float32 on {device}")
        return None
    if amp == "auto":
        native_bf16 = bool(torch.version.hip) or torch.cuda.get_device_capability(device)[0] >= 8
        return torch.bfloat16 if native_bf16 else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]

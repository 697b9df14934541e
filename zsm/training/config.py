"""Everything a training run depends on, in one dataclass saved with each checkpoint: the paper's recipe by default.

Book: chapter 6.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

from ..net.config import ZSMConfig

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved in each checkpoint. Defaults are the paper's recipe.

    Args:
        run_dir: folder for checkpoints, curves and the final model (a Google Drive folder works on Colab).
        preset: "paper", "tiny" or "tiny_skip" (see :class:`ZSMConfig`); ``model`` overrides it.
        model: ZSMConfig fields as a dict, or None to use the preset.
        batch_size: samples per step per process. Paper: 16 on 4 GPUs (the paper text says 24).
        lr_size: LR crop side; HR crops are 4x. Paper: 32.
        iterations: optimiser steps. Paper: 600,000.
        learning_rate, betas: Adam. Paper: 4e-4, (0.9, 0.99).
        restart_every, eta_min: cosine annealing restarted every this many steps, down to eta_min.
            Paper: 150,000 and 1e-7.
        amp: "auto" (bf16 on GPUs that compute it natively, else fp16 with a gradient scaler; off on CPU),
            "bf16", "fp16", or "off". See :func:`amp_dtype`.
        workers: DataLoader worker processes.
        log_every, val_every, checkpoint_every: in steps; 0 switches validation or checkpoints off.
        keep_checkpoints: how many recent checkpoints to keep.
        seed: model initialisation and every sample.
        max_bad_steps: consecutive non-finite losses tolerated (each skipped) before training stops.
        warmup_steps: the learning rate rises linearly from 1/warmup_steps of the schedule's to all of it over
            the first steps (EDVR, TDAN). Paper: 0.
        offset_lr_scale: the learning rate of the offset and mask predictors of every deformable convolution
            (``DeformConv.offset_mask``) is this times the others'. Paper: 1.
        guide_weight, guide_steps: offset guidance (:mod:`zsm.training.guidance`), a loss on the feature
            interpolation's offsets towards half the flow between the inputs, weighted ``guide_weight`` at the
            start and falling to 0 at ``guide_steps`` after the alignment steps; needs samples with flows.
            Paper: 0 (off).
        align_steps: the first ``align_steps`` optimiser steps train the feature extraction and interpolation alone,
            on the guide loss alone (the forward pass stops after the interpolation), so that the offsets learn the
            motion before the reconstruction loss starts; needs samples with flows. Paper: 0 (none).
        kaiming_init: the feature extraction and interpolation start from Kaiming-normal weights for their
            LeakyReLUs instead of PyTorch's default (:func:`zsm.training.initialise.kaiming_alignment`); the same
            network, another starting point. Paper: False.
        channels_last: keep the weights (and so the activations) in channels-last memory order, which mkldnn's
            convolutions compute faster on a CPU (see ``benchmarks/train.py --memory-formats``); the same function.
        init_weights: a model file (:func:`zsm.weights.checkpoint.load_checkpoint`: ours, digest-checked, or the
            authors') whose weights the run starts from instead of a random draw (fine-tuning); its network must be
            the run's (same config), or the same with fewer residual blocks, which then start as the identity
            (:func:`zsm.training.initialise.deepen`). Used when the run starts, not when it resumes (the checkpoint
            holds the weights then). The run's definition records the weights' SHA-256. Paper: None (a random start).
    """

    run_dir: str = "runs/zsm"
    preset: str = "paper"
    model: Optional[Dict[str, int]] = None
    batch_size: int = 16
    lr_size: int = 32
    iterations: int = 600_000
    learning_rate: float = 4e-4
    betas: Sequence[float] = (0.9, 0.99)
    restart_every: int = 150_000
    eta_min: float = 1e-7
    amp: str = "auto"
    workers: int = 2
    log_every: int = 10
    val_every: int = 5_000
    checkpoint_every: int = 1_000
    keep_checkpoints: int = 3
    seed: int = 0
    max_bad_steps: int = 10
    warmup_steps: int = 0
    offset_lr_scale: float = 1.0
    guide_weight: float = 0.0
    guide_steps: int = 0
    align_steps: int = 0
    kaiming_init: bool = False
    channels_last: bool = False
    init_weights: Optional[str] = None

    @property
    def needs_flows(self) -> bool:
        """Whether the samples must carry flows: offset guidance or alignment steps use them."""
        return self.guide_weight > 0 or self.align_steps > 0

    def model_config(self) -> ZSMConfig:
        if self.model is not None:
            return ZSMConfig.from_dict(dict(self.model))
        return ZSMConfig.preset(self.preset)

    def __post_init__(self):
        self.betas = tuple(float(b) for b in self.betas)
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise ValueError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        for name in ("batch_size", "lr_size", "iterations", "restart_every", "keep_checkpoints", "max_bad_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.offset_lr_scale > 0:
            raise ValueError(f"offset_lr_scale must be > 0, got {self.offset_lr_scale}")
        if not self.guide_weight >= 0:
            raise ValueError(f"guide_weight must be >= 0, got {self.guide_weight}")
        if self.guide_weight > 0 and self.guide_steps < 1:
            raise ValueError(f"guide_weight {self.guide_weight} needs guide_steps >= 1 (the steps it decays over)")
        for name in ("workers", "log_every", "val_every", "checkpoint_every", "warmup_steps", "guide_steps",
                     "align_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        self.model_config()  # fail early on a bad preset or model dict

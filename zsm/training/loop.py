"""Training: Charbonnier loss, Adam with cosine restarts, mixed precision, safe resumable checkpoints, DDP.

Book: chapter 6.

One process trains on the CPU or one GPU; ``torchrun --nproc_per_node=N -m zsm train ...`` trains on N GPUs
(or N CPU processes with gloo) with DistributedDataParallel: rank r of W takes sample numbers
``(step * W + r) * batch + j``, so every rank sees different samples and rank 0 alone logs and writes.

A checkpoint holds the model, optimiser, scheduler, gradient scaler, random states, step and curves; it is
written atomically (temporary file, then rename), so a run killed at any moment resumes from its last
checkpoint with ``resume=True`` and continues exactly as if it had never stopped (the samples are a pure
function of their number; see :mod:`zsm.training.samples`).
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from ..net.config import ZSMConfig
from ..net.model import ZoomingSlowMo
from ..outputs import check_writable, remove_stale_partials
from ..weights.checkpoint import load_checkpoint, load_training_checkpoint, save_checkpoint, save_training_checkpoint
from ..weights.files import state_dict_digest
from .guidance import OffsetGuide, guidance_weight
from .initialise import deepen, kaiming_alignment
from .runs import (DEFINING, checkpoint_dir, clear_run, definition_changes, latest_checkpoint, rng_state, run_files,
                   set_rng_state, write_curves, write_definition)

__all__ = ["TrainConfig", "charbonnier", "make_optimizer", "parameter_groups", "warmup_factor", "amp_dtype", "train", "latest_checkpoint", "TrainingDiverged"]



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


class TrainingDiverged(RuntimeError):
    """The loss stayed non-finite for ``max_bad_steps`` steps; the weights were not updated by those steps."""


def charbonnier(output: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """Charbonnier loss, mean over all elements: mean(sqrt((output - target)^2 + eps)).

    The reference code sums instead; a mean only rescales the gradient, which Adam all but ignores, and keeps
    the loss readable (about the mean absolute error).
    """
    return torch.sqrt((output.float() - target.float()) ** 2 + eps).mean()


class StepSampler(Sampler):
    """Sample numbers for steps ``start + 1, start + 2, ...``: rank r of W takes (step*W + r)*batch + j."""

    def __init__(self, start_step: int, end_step: int, batch_size: int, rank: int = 0, world: int = 1):
        self.start, self.end, self.batch, self.rank, self.world = start_step, end_step, batch_size, rank, world

    def __iter__(self):
        for step in range(self.start, self.end):
            first = (step * self.world + self.rank) * self.batch
            yield from range(first, first + self.batch)

    def __len__(self) -> int:
        return (self.end - self.start) * self.batch


# --------------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------------
def _distributed() -> tuple:
    """(rank, world size, local rank), initialising the process group when torchrun started us."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


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


def train(cfg: TrainConfig, dataset, validate=None, device: Optional[str] = None, resume: bool = False,
          progress: bool = True, start_over: bool = False, allow_changes: bool = False):
    """Train a ZoomingSlowMo on ``dataset`` as ``cfg`` says; return the model and its curves.

    Args:
        cfg (TrainConfig): the run.
        dataset: a :class:`zsm.training.samples.WindowSamples` (or any dataset whose sample ``i`` is
            ``(lr (T, 3, h, w), hr (2T-1, 3, 4h, 4w))``).
        validate (callable, optional): ``validate(model) -> dict`` of numbers (e.g. PSNR-Y on a held-out clip),
            run on rank 0 every ``cfg.val_every`` steps and at the end.
        device (str, optional): "cpu", "cuda", "cuda:N"; default: the local GPU if there is one, else CPU.
        resume (bool): continue from the latest checkpoint in ``cfg.run_dir`` if there is one. A run folder that
            already holds a run is refused without it, so that no run is ever replaced by accident.
        progress (bool): show a progress bar (rank 0).
        start_over (bool): with ``resume=False``, delete the run files already in ``cfg.run_dir`` (checkpoints,
            curves, model, ``run.json``; nothing else) and start a new run there.
        allow_changes (bool): resume even though the run's definition (:data:`zsm.training.runs.DEFINING`, the
            model config, the samples' ``describe()``) differs from the one it recorded in ``run.json``. A changed
            ``restart_every`` or ``eta_min`` takes effect from the step reached (:func:`follow_schedule`).

    Returns:
        (model, curves): the trained ZoomingSlowMo (unwrapped, in train mode, on ``device``) and the curves
        {"step": [...], "loss": [...], "lr": [...], "its": [...], "val": [{"step": s, ...}, ...]}, where loss is
        the mean training loss and its the iterations/s over each logging interval.

    Raises:
        TrainingDiverged: the loss stayed non-finite for ``cfg.max_bad_steps`` consecutive steps.
        FileExistsError: ``cfg.run_dir`` holds a run and neither ``resume`` nor ``start_over`` was asked for.
        ValueError: resuming a run whose definition changed, without ``allow_changes``.
        OSError: the run folder cannot be written (checked before any training step).
    """
    rank, world, local_rank = _distributed()
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        if device.index is None:  # "cuda": this process's GPU (torch.cuda.set_device needs an index)
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    run_dir = Path(cfg.run_dir)
    torch.manual_seed(cfg.seed)
    model = ZoomingSlowMo(cfg.model_config())
    if cfg.kaiming_init:
        kaiming_alignment(model)
    start_weights = _start_from(cfg, model) if cfg.init_weights else None
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer, scheduler = make_optimizer(parameter_groups(model, cfg), cfg)
    if cfg.needs_flows and not getattr(dataset, "flows", False):
        raise ValueError("offset guidance (guide_weight > 0 or align_steps > 0) needs samples with flows, "
                         "e.g. WindowSamples(..., flows=True)")
    timed = bool(getattr(dataset, "timed", False))  # samples carry the times of their in-between frames
    if timed and not model.config.time_modulation:
        raise ValueError("samples with moments other than half-way (a time factor) need a time-modulated network: "
                         "--model time_modulation=true (ZSMConfig(time_modulation=True))")
    autocast_dtype = amp_dtype(cfg.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16)
    step, curves = 0, {"step": [], "loss": [], "lr": [], "its": [], "val": []}

    definition = {"train": {k: v for k, v in asdict(cfg).items() if k in DEFINING},
                  "model_config": model.config.to_dict(),
                  **({"init_sha256": state_dict_digest(start_weights)} if start_weights is not None else {}),
                  "data": dataset.describe() if hasattr(dataset, "describe") else type(dataset).__name__}
    _prepare_run_dir(run_dir, definition, resume, start_over, allow_changes, writer=rank == 0, world=world)
    latest = latest_checkpoint(run_dir) if resume else None
    if latest is not None:
        state = load_training_checkpoint(latest)  # onto the CPU, where the RNG states must be
        if state["model_config"] != model.config.to_dict():
            raise ValueError(f"{latest} holds a {state['model_config']} network, but this run asks for {model.config}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        follow_schedule(optimizer, scheduler, cfg)
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        step, curves = state["step"], state["curves"]
        if rank == 0:
            print(f"resuming from {latest} at step {step}")
    if step >= cfg.iterations:  # a finished run (or one cut short with a smaller --iterations): export it
        if rank == 0:
            _export(model, run_dir, step, cfg, curves)
        return model, curves

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    loader = DataLoader(
        dataset, batch_size=cfg.batch_size, sampler=StepSampler(step, cfg.iterations, cfg.batch_size, rank, world),
        num_workers=cfg.workers, pin_memory=device.type == "cuda", persistent_workers=False, drop_last=True,
    )
    bar = _progress_bar(step, cfg.iterations) if progress and rank == 0 else None
    bad_steps, window_start, window_steps, window_loss = 0, time.perf_counter(), 0, 0.0
    updating = False

    def checkpoint_now():
        if rank != 0:
            return
        save_training_checkpoint(checkpoint_dir(run_dir) / f"step-{step:07d}.pt", model, optimizer, scheduler,
                                 scaler, step, cfg, curves, rng_state())
        for old in sorted(checkpoint_dir(run_dir).glob("step-*.pt"))[: -cfg.keep_checkpoints]:
            old.unlink()
        write_curves(run_dir, curves)

    model.train()
    guide = OffsetGuide(model).attach() if cfg.guide_weight > 0 or step < cfg.align_steps else None
    if cfg.guide_weight > 0:
        curves.setdefault("guide", [])
    if cfg.align_steps:
        curves.setdefault("align", [])  # {"step", "guide", "its"} of each logging window of the alignment steps
    window_guide = 0.0
    try:
        for batch in loader:
            lr_clip = batch[0].to(device, non_blocking=True)
            hr_clip = batch[1].to(device, non_blocking=True)
            aligning = step < cfg.align_steps
            weight = 0.0 if aligning else guidance_weight(step - cfg.align_steps, cfg.guide_weight, cfg.guide_steps)
            if guide is not None and not aligning and weight == 0:
                guide.remove()  # the guide is over: no more offsets kept
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
                if aligning:  # the guide alone, on a forward pass that ends after the interpolation
                    model.interpolated_features(lr_clip)
                    loss = objective = guide.loss(batch[2].to(device, non_blocking=True))
                else:
                    times = batch[-1].to(device, non_blocking=True) if timed else None  # (B, K)
                    loss = objective = charbonnier(net(lr_clip, times=times) if timed else net(lr_clip), hr_clip)
                    if weight > 0:
                        guide_loss = guide.loss(batch[2].to(device, non_blocking=True))
                        objective = loss + weight * guide_loss
                        window_guide += guide_loss.item()
            finite = torch.isfinite(objective.detach()).to(torch.float32)
            if world > 1:  # every rank skips together, or the gradient all-reduce would hang
                dist.all_reduce(finite, op=dist.ReduceOp.MIN)
            if finite.item() < 1:
                bad_steps += 1
                optimizer.zero_grad(set_to_none=True)
                message = (f"step {step + 1}: the loss is {loss.item()}; the step was skipped and the weights left as "
                           f"they were ({bad_steps} in a row)")
                if bad_steps >= cfg.max_bad_steps:
                    raise TrainingDiverged(message + f"; stopping. The last checkpoint is {latest_checkpoint(run_dir)}; "
                                           "try a lower learning_rate or amp='off'")
                warnings.warn(message)
                continue
            bad_steps = 0
            optimizer.zero_grad(set_to_none=True)
            if aligning and world > 1:  # the forward pass bypassed DDP: average the gradients here
                with net.no_sync():
                    scaler.scale(objective).backward()
                for p in model.parameters():
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad /= world
            else:
                scaler.scale(objective).backward()
            updating = True  # from here until the step is counted and logged, a checkpoint would be inconsistent
            if cfg.warmup_steps and step < cfg.warmup_steps:  # the scheduler's rate, scaled (it is recomputed each step)
                for group, rate in zip(optimizer.param_groups, scheduler.get_last_lr()):
                    group["lr"] = rate * warmup_factor(step, cfg)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            window_steps += 1
            window_loss += loss.item()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            if cfg.log_every and (step % cfg.log_every == 0 or step == cfg.align_steps) and aligning:
                curves["align"].append({"step": step, "guide": window_loss / window_steps,
                                        "its": window_steps / (time.perf_counter() - window_start)})
                window_start, window_steps, window_loss, window_guide = time.perf_counter(), 0, 0.0, 0.0
            elif cfg.log_every and step % cfg.log_every == 0:
                elapsed = time.perf_counter() - window_start
                curves["step"].append(step)
                curves["loss"].append(window_loss / window_steps)
                curves["lr"].append(scheduler.get_last_lr()[0] * warmup_factor(step, cfg))
                curves["its"].append(window_steps / elapsed)
                if "guide" in curves:
                    curves["guide"].append(window_guide / window_steps)
                window_start, window_steps, window_loss, window_guide = time.perf_counter(), 0, 0.0, 0.0
            updating = False
            if validate is not None and rank == 0 and cfg.val_every and (step % cfg.val_every == 0 or step == cfg.iterations):
                model.eval()
                with torch.no_grad():
                    curves["val"].append({"step": step, **validate(model)})
                model.train()
                if bar is not None:
                    bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in curves["val"][-1].items() if k != "step"))
            if cfg.checkpoint_every and (step % cfg.checkpoint_every == 0 or step == cfg.iterations):
                checkpoint_now()
    except KeyboardInterrupt:
        if rank == 0 and updating:  # the weights may hold step + 1 while the counters say step: save nothing
            print(f"\ninterrupted while the weights were being updated; nothing saved (a checkpoint now could mix "
                  f"two steps); the latest checkpoint is {latest_checkpoint(run_dir)}; run again with resume")
        elif rank == 0:
            checkpoint_now()
            print(f"\ninterrupted at step {step}; saved {latest_checkpoint(run_dir)}; run again with resume to continue")
        raise
    finally:
        if bar is not None:
            bar.close()
        if guide is not None:
            guide.remove()
    if rank == 0:
        _export(model, run_dir, step, cfg, curves)
    return model, curves


def _start_from(cfg: TrainConfig, model) -> dict:
    """Load ``cfg.init_weights`` into ``model`` (checked: its digest, and that it is the run's network or one with
    fewer residual blocks or without time modulation, which :func:`zsm.training.initialise.deepen` extends by
    identity blocks and a zero modulation); returns the file's state dict (float32, on the CPU), whose digest the
    run's definition records."""
    start = load_checkpoint(cfg.init_weights)  # FileNotFoundError / ValueError name the file
    state = {k: v.float() for k, v in start.state_dict().items()}
    if start.config == model.config:
        model.load_state_dict(state)
        return state
    try:
        deepen(model, state, start.config)
    except ValueError as error:
        raise ValueError(f"{cfg.init_weights}: {error}; give the run the same --preset / --model, or one that "
                         "differs only by more residual blocks or by time_modulation=true") from None
    return state


def _prepare_run_dir(run_dir: Path, definition: dict, resume: bool, start_over: bool, allow_changes: bool,
                     writer: bool, world: int = 1) -> None:
    """Refuse to replace a run, or to resume one with another definition; check the folder can be written; clean
    stale temporaries; record the definition. Every rank checks (so all of them stop together), all before
    ``writer`` writes anything."""
    existing = run_files(run_dir)
    if existing and not resume and not start_over:
        raise FileExistsError(
            f"{run_dir} already holds a training run ({len(existing)} files: {', '.join(p.name for p in existing[:3])}"
            f"{', ...' if len(existing) > 3 else ''}); continue it with --resume, start over with --start-over "
            "(deletes that run's checkpoints, curves and model), or choose another --run-dir")
    changes = definition_changes(run_dir, definition) if resume and existing else []
    if changes and not allow_changes:
        raise ValueError(f"{run_dir} holds a run defined otherwise ({'; '.join(changes)}); resume it as it was, "
                         "choose another --run-dir, or pass --allow-changes to continue it with these changes")
    if world > 1:
        dist.barrier()  # every rank has read the folder as it was
    if not writer:
        return
    if existing and start_over and not resume:
        print(f"starting over in {run_dir}: deleted the {len(clear_run(run_dir))} files of the run that was there")
    check_writable(checkpoint_dir(run_dir) / "step-0000000.pt")  # before any step, not at the first checkpoint
    for folder in (run_dir, checkpoint_dir(run_dir)):
        remove_stale_partials(folder / "x", folder_wide=True)
    write_definition(run_dir, definition)


def _export(model, run_dir: Path, step: int, cfg: TrainConfig, curves: dict) -> None:
    """The trained model as ``run_dir/model.pt`` (our checkpoint format) and the curves as ``curves.json``."""
    save_checkpoint(model, run_dir / "model.pt", meta={"step": step, "train_config": json.dumps(asdict(cfg))})
    write_curves(run_dir, curves)


def _progress_bar(start: int, total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, unit="it", dynamic_ncols=True)

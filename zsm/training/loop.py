"""Training: the loop, with Charbonnier loss, mixed precision, safe resumable checkpoints and DDP.

Book: chapter 6.

The run's settings are a :class:`zsm.training.config.TrainConfig`; the optimiser (Adam), its cosine schedule with
warm restarts and the mixed-precision dtype come from :mod:`zsm.training.optim`.

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
import os
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from ..net.model import ZoomingSlowMo
from ..outputs import check_writable, remove_stale_partials
from ..weights.checkpoint import load_checkpoint, load_training_checkpoint, save_checkpoint, save_training_checkpoint
from ..weights.files import state_dict_digest
from .config import TrainConfig
from .guidance import OffsetGuide, guidance_weight
from .initialise import deepen, kaiming_alignment
from .optim import amp_dtype, follow_schedule, make_optimizer, parameter_groups, warmup_factor
from .runs import (DEFINING, checkpoint_dir, clear_run, definition_changes, latest_checkpoint, rng_state, run_files,
                   set_rng_state, write_curves, write_definition)

__all__ = ["charbonnier", "train", "TrainingDiverged", "StepSampler"]



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

"""Facts about training: the loss falls, a killed run resumes exactly, bad losses never touch the weights,
and two gloo processes stay in lockstep."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import zsm
from zsm.weights import state_dict_digest
from zsm.training import loop as train_module
from zsm.training.config import TrainConfig
from zsm.training.loop import StepSampler, TrainingDiverged, charbonnier, train
from zsm.training.optim import amp_dtype, follow_schedule, make_optimizer
from zsm.training.runs import latest_checkpoint

REPO = Path(__file__).resolve().parents[1]

SYNTHETIC = '''
import torch
import torch.nn.functional as F


class Synthetic(torch.utils.data.Dataset):
    """Smooth random clips whose sample i depends on i alone: LR = 4x4 average of the even HR frames."""

    def __len__(self):
        return 10**9

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(int(i))
        coarse = torch.rand(7, 3, 4, 4, generator=g)
        hr = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)  # (7, 3, 32, 32)
        return F.avg_pool2d(hr[::2], 4), hr  # (4, 3, 8, 8), (7, 3, 32, 32)
'''
namespace = {}
exec(SYNTHETIC, namespace)
Synthetic = namespace["Synthetic"]


# A learning rate at which the tiny network's loss visibly falls within a few steps (at the default 1e-3 it takes
# about 15), so that the tests asserting a falling loss train 6-8 steps, each a large share of their time.
FAST_LR = 3e-3


def config(tmp_path, **changes):
    values = dict(run_dir=str(tmp_path / "run"), preset="tiny", batch_size=2, lr_size=8, iterations=8,
                  learning_rate=1e-3, workers=0, log_every=1, val_every=0, checkpoint_every=1, keep_checkpoints=2)
    values.update(changes)
    return TrainConfig(**values)


def test_charbonnier_is_about_the_mean_absolute_error():
    a, b = torch.zeros(10), torch.full((10,), 0.5)
    assert charbonnier(a, b).item() == pytest.approx(0.5, abs=1e-5)
    assert charbonnier(a, a).item() == pytest.approx(1e-3, rel=1e-6)  # sqrt(eps)


def test_the_schedule_falls_along_a_cosine_to_eta_min_and_restarts():
    cfg = TrainConfig(learning_rate=4e-4, restart_every=10, eta_min=1e-7)
    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    assert optimizer.defaults["betas"] == (0.9, 0.99)  # the paper's
    lrs = []
    for _ in range(21):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == lrs[10] == lrs[20] == pytest.approx(4e-4)  # restarts every 10 steps
    assert lrs[5] == pytest.approx((4e-4 + 1e-7) / 2)  # half-way down the cosine
    assert min(lrs) == lrs[9] and 1e-7 < lrs[9] < 2e-5


def _rates(optimizer, scheduler, steps):
    rates = []
    for _ in range(steps):
        rates.append(scheduler.get_last_lr()[0])
        assert optimizer.param_groups[0]["lr"] == pytest.approx(rates[-1])
        optimizer.step()
        scheduler.step()
    return rates


def test_a_resumed_schedule_follows_a_changed_period_from_the_step_it_reached():
    """Saved at step 7 of a 30-step cosine, resumed with restart_every=12: from then on, the rates of a run that had
    had period 12 from the start (steps 7..30, through a restart at 12 and 24)."""
    old = TrainConfig(learning_rate=4e-4, restart_every=30, eta_min=1e-7)
    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.zeros(1))], old)
    _rates(optimizer, scheduler, 7)
    saved = optimizer.state_dict(), scheduler.state_dict()

    new = TrainConfig(learning_rate=4e-4, restart_every=12, eta_min=1e-6)
    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.zeros(1))], new)
    optimizer.load_state_dict(saved[0])
    scheduler.load_state_dict(saved[1])  # what a resume does: the old period comes back with the state
    assert scheduler.T_0 == 30
    follow_schedule(optimizer, scheduler, new)
    resumed = _rates(optimizer, scheduler, 24)

    fresh_optimizer, fresh = make_optimizer([torch.nn.Parameter(torch.zeros(1))], new)
    expected = _rates(fresh_optimizer, fresh, 31)[7:]
    assert resumed == pytest.approx(expected, rel=1e-9)
    assert resumed[5] == pytest.approx(4e-4) and resumed[4] < 2e-5  # the restart at step 12, the floor before it


def test_an_unchanged_schedule_resumes_exactly_as_saved():
    cfg = TrainConfig(learning_rate=4e-4, restart_every=30, eta_min=1e-7)
    optimizer, scheduler = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    _rates(optimizer, scheduler, 7)
    before = scheduler.state_dict()
    follow_schedule(optimizer, scheduler, cfg)
    assert scheduler.state_dict() == before


def test_mixed_precision_is_for_cuda_only():
    assert amp_dtype("auto", "cpu") is None and amp_dtype("off", "cpu") is None
    with pytest.warns(UserWarning, match="needs a CUDA device"):
        assert amp_dtype("bf16", "cpu") is None
    with pytest.raises(ValueError, match="auto, bf16, fp16 or off"):
        amp_dtype("fp8", "cpu")


@pytest.mark.parametrize("capability, expected", [((7, 5), torch.float16), ((8, 0), torch.bfloat16)])
def test_auto_precision_is_bf16_only_where_the_gpu_computes_it_natively(monkeypatch, capability, expected):
    """A T4 (7.5) emulates bfloat16 slowly, though torch.cuda.is_bf16_supported() is True there: fp16 + scaler."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert amp_dtype("auto", "cuda") is expected
    assert amp_dtype("fp16", "cuda") is torch.float16 and amp_dtype("off", "cuda") is None


def test_the_sampler_gives_each_rank_its_own_samples():
    r0 = list(StepSampler(3, 5, 2, rank=0, world=2))
    r1 = list(StepSampler(3, 5, 2, rank=1, world=2))
    assert r0 == [12, 13, 16, 17] and r1 == [14, 15, 18, 19]


def test_training_lowers_the_loss_and_writes_model_curves_and_checkpoints(tmp_path):
    cfg = config(tmp_path, iterations=6, log_every=2, checkpoint_every=2, val_every=2, learning_rate=FAST_LR)
    seen = []
    model, curves = train(cfg, Synthetic(), validate=lambda m: {"psnr": float(len(seen.append(m.training) or seen))},
                          progress=False)
    assert curves["step"] == [2, 4, 6]
    assert curves["val"] == [{"step": 2, "psnr": 1.0}, {"step": 4, "psnr": 2.0}, {"step": 6, "psnr": 3.0}]
    assert seen == [False, False, False]  # validation runs in eval mode
    assert curves["loss"][-1] < 0.8 * curves["loss"][0]
    run = Path(cfg.run_dir)
    assert json.loads((run / "curves.json").read_text())["loss"] == curves["loss"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-0000004.pt", "step-0000006.pt"]
    loaded = zsm.load_checkpoint(run / "model.pt")
    assert state_dict_digest(loaded.state_dict()) == state_dict_digest({k: v.cpu() for k, v in model.state_dict().items()})


RESUMED_STEPS = 6  # the runs that are stopped and resumed below, and the uninterrupted run they must match


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The curves of an uninterrupted run, the same for both tests that resume: trained once, not once each."""
    _, curves = train(config(tmp_path_factory.mktemp("uninterrupted"), iterations=RESUMED_STEPS), Synthetic(),
                      progress=False)
    return curves


def test_a_killed_run_resumes_with_the_same_losses_as_an_uninterrupted_one(tmp_path, uninterrupted):
    expected = uninterrupted
    interrupted = config(tmp_path / "b", iterations=RESUMED_STEPS)
    script = tmp_path / "run.py"
    script.write_text(SYNTHETIC + textwrap.dedent(f'''
        from zsm.training import TrainConfig, train
        train(TrainConfig(**{interrupted.__dict__!r}), Synthetic(), progress=False)
    '''))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO)
    deadline = time.time() + 120
    while latest_checkpoint(interrupted.run_dir) is None or latest_checkpoint(interrupted.run_dir).name < "step-0000003.pt":
        assert proc.poll() is None and time.time() < deadline, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # no clean-up, no last checkpoint: as a dying Colab session
    proc.wait()
    stopped_at = int(latest_checkpoint(interrupted.run_dir).stem.split("-")[1])
    assert 3 <= stopped_at < RESUMED_STEPS
    _, resumed = train(interrupted, Synthetic(), resume=True, progress=False)
    assert resumed["step"] == expected["step"]
    assert zsm.load_checkpoint(Path(interrupted.run_dir) / "model.pt").config == zsm.ZSMConfig.tiny()
    torch.testing.assert_close(torch.tensor(resumed["loss"]), torch.tensor(expected["loss"]), rtol=1e-6, atol=0)
    torch.testing.assert_close(torch.tensor(resumed["lr"]), torch.tensor(expected["lr"]), rtol=1e-12, atol=0)


class ScheduleInterruptedAtStep4(torch.optim.lr_scheduler.CosineAnnealingWarmRestarts):
    """Raises KeyboardInterrupt in step 4 after optimizer.step(), before the step is counted (as Ctrl+C could)."""

    def step(self, epoch=None):
        if self.last_epoch == 3:
            raise KeyboardInterrupt
        super().step(epoch)


def test_an_interrupt_while_the_weights_change_saves_nothing_and_resume_stays_exact(tmp_path, monkeypatch, capsys,
                                                                                    uninterrupted):
    expected = uninterrupted

    def interrupting(parameters, cfg):
        optimizer, _ = make_optimizer(parameters, cfg)
        return optimizer, ScheduleInterruptedAtStep4(optimizer, T_0=cfg.restart_every, eta_min=cfg.eta_min)

    cfg = config(tmp_path / "b", iterations=RESUMED_STEPS)
    monkeypatch.setattr(train_module, "make_optimizer", interrupting)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, Synthetic(), progress=False)
    assert "nothing saved" in capsys.readouterr().out
    assert latest_checkpoint(cfg.run_dir).name == "step-0000003.pt"  # no step-3 file holding step 4's weights
    monkeypatch.undo()
    _, resumed = train(cfg, Synthetic(), resume=True, progress=False)
    torch.testing.assert_close(torch.tensor(resumed["loss"]), torch.tensor(expected["loss"]), rtol=1e-6, atol=0)


class PoisonedAfter(torch.utils.data.Dataset):
    """Synthetic samples, but from sample number `first_bad` on the targets are NaN."""

    def __init__(self, first_bad):
        self.inner, self.first_bad = Synthetic(), first_bad

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        lr, hr = self.inner[i]
        return lr, hr * float("nan") if i >= self.first_bad else hr


def test_a_non_finite_loss_skips_the_step_and_then_stops_training_with_a_clear_message(tmp_path):
    cfg = config(tmp_path, iterations=10, max_bad_steps=3, checkpoint_every=1)
    with pytest.warns(UserWarning, match="the step was skipped"):
        with pytest.raises(TrainingDiverged, match="3 in a row\\); stopping"):
            train(cfg, PoisonedAfter(first_bad=2 * 2), progress=False)  # steps 1, 2 fine; then NaN
    last = latest_checkpoint(cfg.run_dir)
    assert last.name == "step-0000002.pt"
    state = torch.load(last, weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_a_tampered_training_checkpoint_is_refused_on_resume(tmp_path):
    cfg = config(tmp_path, iterations=2)
    train(cfg, Synthetic(), progress=False)
    path = latest_checkpoint(cfg.run_dir)
    state = torch.load(path, weights_only=True)
    state["model"]["reconstruction.conv_last.bias"] += 1
    torch.save(state, path)
    with pytest.raises(ValueError, match="SHA-256"):
        train(config(tmp_path, iterations=4), Synthetic(), resume=True, progress=False)


def test_two_gloo_processes_hold_identical_weights_and_the_loss_falls(tmp_path):
    cfg = config(tmp_path, iterations=8, log_every=4, checkpoint_every=0, learning_rate=FAST_LR)
    script = tmp_path / "ddp.py"
    script.write_text(SYNTHETIC + textwrap.dedent(f'''
        import json, os
        import torch.distributed as dist
        from zsm.weights import state_dict_digest
        from zsm.training import TrainConfig, train
        model, curves = train(TrainConfig(**{cfg.__dict__!r}), Synthetic(), progress=False)
        rank = dist.get_rank()
        out = {{"digest": state_dict_digest(model.state_dict()), "loss": curves["loss"], "world": dist.get_world_size()}}
        open(os.path.join({str(tmp_path)!r}, f"rank{{rank}}.json"), "w").write(json.dumps(out))
        dist.destroy_process_group()
    '''))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", str(script)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world"] == 2
    assert ranks[0]["digest"] == ranks[1]["digest"]
    loss = ranks[0]["loss"]
    assert loss[-1] < 0.8 * loss[0]


def test_resuming_with_fewer_iterations_exports_the_model_of_the_last_checkpoint(tmp_path):
    cfg = config(tmp_path, iterations=3)
    train(cfg, Synthetic(), progress=False)
    (Path(cfg.run_dir) / "model.pt").unlink()
    model, curves = train(config(tmp_path, iterations=2), Synthetic(), resume=True, progress=False)
    assert curves["step"] == [1, 2, 3]  # nothing trained: the run is already past 2 steps
    assert (Path(cfg.run_dir) / "model.pt").is_file()


def test_a_run_started_from_a_model_file_starts_from_its_weights_and_refuses_another_network(tmp_path):
    first = config(tmp_path / "a", iterations=3, learning_rate=FAST_LR)
    trained, _ = train(first, Synthetic(), progress=False)
    start = Path(first.run_dir) / "model.pt"
    # one step at a learning rate of 0 leaves the weights where the run started: the file's, not a fresh draw
    cfg = config(tmp_path / "b", iterations=1, learning_rate=0.0, eta_min=0.0, init_weights=str(start), seed=5)
    tuned, _ = train(cfg, Synthetic(), progress=False)
    assert state_dict_digest(tuned.state_dict()) == state_dict_digest(zsm.load_checkpoint(start).state_dict())
    definition = json.loads((Path(cfg.run_dir) / "run.json").read_text())
    assert definition["init_sha256"] == state_dict_digest(zsm.load_checkpoint(start).state_dict())
    assert definition["train"]["init_weights"] == str(start)
    with pytest.raises(ValueError, match="model.pt: weights of a network with .* cannot start"):
        train(config(tmp_path / "c", preset="tiny_skip", init_weights=str(start)), Synthetic(), progress=False)
    with pytest.raises(FileNotFoundError):
        train(config(tmp_path / "d", init_weights=str(tmp_path / "missing.pt")), Synthetic(), progress=False)


def test_a_deeper_run_starts_from_a_shallower_model_file_computing_its_function(tmp_path):
    small = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip()).eval()
    with torch.no_grad():  # a start whose every weight matters (the skip's last convolution starts at zero)
        for p in small.parameters():
            p.add_(0.05 * torch.randn_like(p))
    start = tmp_path / "small.pt"
    zsm.save_checkpoint(small, start)
    deeper = dict(zsm.ZSMConfig.tiny_skip().to_dict(), extraction_blocks=3, reconstruction_blocks=5)
    cfg = config(tmp_path / "deep", model=deeper, iterations=1, learning_rate=0.0, eta_min=0.0, init_weights=str(start))
    model, _ = train(cfg, Synthetic(), progress=False)
    model.eval()
    assert model.config == zsm.ZSMConfig.from_dict(deeper)
    x = torch.rand(1, 3, 3, 16, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(x), small(x), rtol=0, atol=0)
    definition = json.loads((Path(cfg.run_dir) / "run.json").read_text())
    assert definition["init_sha256"] == state_dict_digest(small.state_dict())
    assert definition["model_config"] == deeper


def test_deepen_appends_identity_blocks_and_refuses_anything_but_more_blocks():
    from zsm.training.initialise import deepen

    small = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    deep = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny().with_fields("extraction_blocks=2,reconstruction_blocks=4")).eval()
    deepen(deep, small.state_dict(), small.config)
    for name, trunk, first_new in (("extractor", deep.extractor, 1), ("reconstruction", deep.reconstruction, 2)):
        for i, block in enumerate(trunk.blocks):
            old = f"{name}.blocks.{i}.conv2.weight"
            if i < first_new:
                assert torch.equal(block.conv2.weight, small.state_dict()[old])
            else:  # a new block: the identity, its first convolution still drawn (so it can learn)
                assert not block.conv2.weight.any() and not block.conv2.bias.any()
                assert block.conv1.weight.abs().sum() > 0
    x = torch.rand(1, 3, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(deep(x), small(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="fewer reconstruction_blocks"):
        deepen(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny().with_fields("reconstruction_blocks=1")), small.state_dict(),
               small.config)
    with pytest.raises(ValueError, match="only the numbers of residual blocks"):
        deepen(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny().with_fields("hr_channels=4")), small.state_dict(), small.config)
    with pytest.raises(ValueError, match="do not fit"):  # weights that are not the network their config says
        deepen(deep, {k: v for k, v in small.state_dict().items() if "blend" not in k}, small.config)


def test_a_channels_last_run_writes_checkpoints_whose_digest_matches_the_contiguous_weights(tmp_path):
    cfg = config(tmp_path, iterations=2, channels_last=True)
    model, _ = train(cfg, Synthetic(), progress=False)
    assert any(p.dim() == 4 and p.shape[-1] == 1 and p.stride(-1) != 1 for p in model.parameters())  # 1x1 kernels
    contiguous = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    assert state_dict_digest(model.state_dict()) == state_dict_digest(contiguous)
    assert state_dict_digest(zsm.load_checkpoint(Path(cfg.run_dir) / "model.pt").state_dict()) == state_dict_digest(contiguous)


def test_a_changed_definition_is_reported_by_the_paths_of_what_differs(tmp_path):
    from zsm.training.runs import definition_changes, write_definition

    recorded = {"train": {"seed": 0, "lr_size": 32}, "data": {"source": {"sources": [{"a": 1}, {"b": 2}]}}}
    write_definition(tmp_path, recorded)
    now = {"train": {"seed": 0, "lr_size": 32}, "data": {"source": {"sources": [{"a": 1}, {"b": 2, "windows": 7}]}}}
    assert definition_changes(tmp_path, now) == ["data.source.sources[1].windows: (absent) -> 7"]
    now["train"]["seed"] = 1
    now["data"]["source"]["sources"].append({"c": 3})
    assert definition_changes(tmp_path, now) == [
        'data.source.sources: [{"a": 1}, {"b": 2}] -> [{"a": 1}, {"b": 2, "windows": 7}, {"c": 3}]', "train.seed: 0 -> 1"]
    assert definition_changes(tmp_path, recorded) == []

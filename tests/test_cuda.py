"""Facts that only a GPU can show: the same function on CUDA as on the CPU, half precision close to float32,
mixed-precision training and resuming, CUDA graphs, and the CLI's --half, --bf16 and --cuda-graph.

Every test here skips without CUDA (the reason is printed); ZSM_REQUIRE_CUDA=1 turns the skip into a failure,
for runs on a GPU machine that must not pass by skipping. TF32 is switched off where a result is compared with
float32 on the CPU (it would round the convolutions' inputs to 10 bits of mantissa).
"""
import json
import os

import numpy as np
import pytest
import torch

import zsm
from conftest import torchvision_or_skip
from test_ops import naive_deform_conv2d, random_case
from test_train import Synthetic
from zsm import ops
from zsm.weights import official_config

CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def cuda_or_skip():
    if not torch.cuda.is_available():
        if os.environ.get("ZSM_REQUIRE_CUDA") == "1":
            pytest.fail("ZSM_REQUIRE_CUDA=1 but torch.cuda.is_available() is False")
        pytest.skip(f"no CUDA device (torch {torch.__version__}, built with CUDA {torch.version.cuda})")


@pytest.fixture()
def no_tf32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


TENSORS = ("input", "offset", "weight", "bias", "mask")


def to(case, **kwargs):
    """The tensors of a test_ops.random_case, moved or cast."""
    return {k: case[k].to(**kwargs) for k in TENSORS}


def call(case, backend, **extra):
    return ops.deform_conv2d(case["input"], case["offset"], case["weight"], case["bias"], padding=(1, 1),
                             mask=case["mask"], backend=backend, **extra)


def test_pure_backend_on_cuda_matches_the_per_pixel_definition():
    case = random_case(b=1, cin=4, cout=3, h=5, w=6, groups=2, scale=3.0)  # float64, offsets past the border
    expected = naive_deform_conv2d(case["input"], case["offset"], case["weight"], case["bias"], padding=(1, 1),
                                   mask=case["mask"])
    got = call(to(case, device=CUDA), "pure")
    assert ops.last_backend() == "pure" and got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), expected, rtol=0, atol=1e-12)


def test_gradients_on_cuda_equal_those_on_the_cpu_in_float64():
    case = random_case(b=2, cin=8, cout=6, h=9, w=11, groups=4, wgroups=2, scale=2.5)
    grads = {}
    for device in ("cpu", "cuda"):
        leaves = {k: v.detach().requires_grad_() for k, v in to(case, device=device).items()}
        out = call(leaves, "pure")
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=device).view_as(out)).sum().backward()
        grads[device] = {k: v.grad.cpu() for k, v in leaves.items()}
    for name in TENSORS:
        torch.testing.assert_close(grads["cuda"][name], grads["cpu"][name], rtol=0, atol=1e-10, msg=name)


def paper_shape_case(dtype=torch.float32, h=36, w=45):
    """A deformable convolution of the paper network's shape (C=64, G=8, 3x3) at a pyramid level's size."""
    return to(random_case(b=1, cin=64, cout=64, h=h, w=w, groups=8, scale=4.0, seed=3), device=CUDA, dtype=dtype)


def test_torchvision_on_cuda_computes_the_pure_backends_function_and_gradients(no_tf32):
    torchvision_or_skip()
    case = paper_shape_case(torch.float64)
    results = {}
    for backend in ("pure", "torchvision"):
        leaves = {k: v.detach().clone().requires_grad_() for k, v in case.items()}
        out = call(leaves, backend)
        assert ops.last_backend() == backend
        out.square().sum().backward()
        results[backend] = out.detach(), {k: v.grad for k, v in leaves.items()}
    torch.testing.assert_close(results["pure"][0], results["torchvision"][0], rtol=0, atol=1e-10)
    for name in TENSORS:
        torch.testing.assert_close(results["pure"][1][name], results["torchvision"][1][name], rtol=1e-9, atol=1e-9,
                                   msg=name)


def relative_error(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_close_to_float32(dtype, no_tf32):
    case = paper_shape_case()
    reference = call(case, "pure")
    half = call(to(case, dtype=dtype), "pure")
    assert half.dtype == dtype
    # Inputs, weights and output rounded to 11 (fp16) or 8 (bf16) significant bits: measured on a CPU with these
    # inputs, 2.0e-3 and 1.6e-2.
    assert relative_error(half, reference) < (4e-3 if dtype == torch.float16 else 3e-2)


def test_auto_leaves_float16_to_the_pure_backend_whose_positions_stay_float32():
    """torchvision's float16 kernel also samples at float16 positions; "auto" picks the pure backend for half."""
    case = paper_shape_case()
    reference = call(case, "pure")
    pure_half = call(to(case, dtype=torch.float16), "auto")
    assert ops.last_backend() == "pure"
    errors = {"pure": relative_error(pure_half, reference)}
    if ops.torchvision_status()[0]:
        errors["torchvision"] = relative_error(call(to(case, dtype=torch.float16), "torchvision"), reference)
        assert errors["torchvision"] < 5e-2, errors  # measured 1.2e-2 on an H200 (torch 2.11, torchvision 0.26)
        assert errors["pure"] < errors["torchvision"], errors
    assert errors["pure"] < 4e-3, errors


def test_the_reference_network_reproduces_the_reference_outputs_on_cuda(reference_tiny):
    model = zsm.ZoomingSlowMo(official_config(reference_tiny["state_dict"])).double().eval()
    model.load_state_dict(zsm.convert_official_state_dict(reference_tiny["state_dict"], model))
    model.to(CUDA)
    with torch.no_grad():
        for backend in ["pure"] + (["torchvision"] if ops.torchvision_status()[0] else []):
            for case in reference_tiny["cases"]:
                with ops.use_backend(backend):
                    y = model(case["x"].to(CUDA))
                torch.testing.assert_close(y.cpu(), case["y"], rtol=0, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_output_is_close_to_float32(dtype):
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval().to(CUDA)
    x = torch.rand(1, 3, 3, 24, 32, generator=torch.Generator().manual_seed(0)).to(CUDA)
    with torch.no_grad():
        reference = model(x)
        with torch.autocast("cuda", dtype=dtype):
            y = model(x)
    assert torch.isfinite(y).all()
    mse = (y.float().clamp(0, 1) - reference.clamp(0, 1)).square().mean().item()
    assert mse < 10 ** -3.5  # PSNR above 35 dB; the benchmarks report this figure for the paper network


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_training_runs_checkpoints_and_resumes(tmp_path, amp):
    from zsm.training import TrainConfig, latest_checkpoint, train

    cfg = TrainConfig(run_dir=str(tmp_path / "run"), preset="tiny", batch_size=2, lr_size=8, iterations=4,
                      learning_rate=1e-3, amp=amp, workers=0, log_every=1, val_every=0, checkpoint_every=2)
    model, curves = train(cfg, Synthetic(), device="cuda", progress=False)
    assert next(model.parameters()).device.type == "cuda"
    assert curves["step"] == [1, 2, 3, 4] and all(np.isfinite(curves["loss"]))
    state = torch.load(latest_checkpoint(cfg.run_dir), weights_only=True)
    assert state["step"] == 4
    if amp == "fp16":  # the gradient scaler's loss scale travels with the checkpoint; bf16 needs none
        assert state["scaler"]["scale"] > 0
    else:
        assert state["scaler"] == {}
    cfg.iterations = 6
    _, curves = train(cfg, Synthetic(), device="cuda", resume=True, progress=False)
    assert curves["step"] == [1, 2, 3, 4, 5, 6]


def test_cuda_graphs_replay_the_eager_pass_with_new_data_for_each_shape(no_tf32):
    from zsm.graphs import GraphedModel

    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval().to(CUDA)
    graphed = GraphedModel(model, max_graphs=2)
    g = torch.Generator().manual_seed(1)
    inputs = [torch.rand(1, 4, 3, 16, 20, generator=g) for _ in range(2)] + [torch.rand(1, 4, 3, 12, 12, generator=g),
                                                                            torch.rand(1, 3, 3, 8, 8, generator=g)]
    for x in inputs:
        x = x.to(CUDA)
        with torch.no_grad():
            expected = model(x)
        torch.testing.assert_close(graphed(x), expected, rtol=0, atol=1e-5)
    assert graphed.graphs == 2 and graphed.eager_calls == 1  # two shapes captured, the third ran eagerly


def test_upscale_on_cuda_in_half_bf16_and_graphs_matches_float32_to_two_grey_levels(tmp_path):
    from test_cli import moving_clip
    from zsm.cli import main
    from zsm.data.frames import read_frames, write_frames

    torch.manual_seed(0)
    weights = tmp_path / "tiny.pt"
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip()), weights)
    write_frames(tmp_path / "clip", moving_clip(n=6, h=24, w=32))
    outputs = {}
    for name, extra in [("fp32", []), ("half", ["--half"]), ("graph", ["--cuda-graph"]),
                        ("bf16-graph", ["--bf16", "--cuda-graph"]),
                        ("tiles-graph", ["--cuda-graph", "--tile", "12", "--overlap", "4"])]:
        out = tmp_path / name
        assert main(["upscale", str(tmp_path / "clip"), str(out), "--weights", str(weights), "--device", "cuda",
                     *extra]) == 0
        outputs[name] = read_frames(out).astype(np.int16)
    for name in ("half", "graph", "bf16-graph", "tiles-graph"):
        assert outputs[name].shape == outputs["fp32"].shape == (11, 96, 128, 3)
        assert np.abs(outputs[name] - outputs["fp32"]).max() <= 2, name


# Any moment between two frames (chapter 8): the moments travel to the GPU with the clip


def test_the_any_time_model_on_cuda_computes_its_cpu_function_for_every_form_of_times(no_tf32):
    model = zsm.load_model("anytime").double()
    x = torch.rand(2, 3, 3, 20, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    moments = (0.25, 0.5, 0.75)
    with torch.no_grad():
        expected = model(x, times=moments)  # (2, 3 + 2*3, 3, 80, 96)
        model.to(CUDA)
        for backend in ["pure"] + (["torchvision"] if ops.torchvision_status()[0] else []):
            for times in (moments, torch.tensor(moments), torch.tensor([moments, moments], device=CUDA)):
                with ops.use_backend(backend):
                    got = model(x.to(CUDA), times=times)
                assert got.shape == (2, 9, 3, 80, 96) and got.device == x.to(CUDA).device
                torch.testing.assert_close(got.cpu(), expected, rtol=0, atol=1e-8)


def test_the_any_time_model_and_the_blended_2x_model_under_bf16_autocast_stay_close_to_float32():
    from zsm.eval import HalfWayThenBlend

    x = torch.rand(1, 3, 3, 24, 32, generator=torch.Generator().manual_seed(0)).to(CUDA)
    moments = (0.25, 0.5, 0.75)
    for model in (zsm.load_model("anytime"), HalfWayThenBlend(zsm.load_model("shipped"))):
        model = model.eval().to(CUDA)
        with torch.no_grad():
            reference = model(x, times=moments)
            with torch.autocast(CUDA.type, dtype=torch.bfloat16):
                y = model(x, times=moments)
        assert y.shape == reference.shape == (1, 9, 3, 96, 128)
        mse = (y.float().clamp(0, 1) - reference.clamp(0, 1)).square().mean().item()
        assert mse < 10 ** -3.5, type(model).__name__  # PSNR above 35 dB, as for the half-way pass


def test_upscale_and_train_with_a_time_factor_on_cuda(tmp_path):
    from test_cli import moving_clip, small_train_argv
    from zsm.cli import main
    from zsm.data.frames import read_frames, write_frames

    write_frames(tmp_path / "clip", moving_clip(n=5, h=24, w=32))
    outputs = {}
    for name, device in (("cpu", "cpu"), ("gpu", CUDA.type)):
        out = tmp_path / name
        assert main(["upscale", str(tmp_path / "clip"), str(out), "--time-factor", "4", "--device", device]) == 0
        outputs[name] = read_frames(out).astype(np.int16)
    assert outputs["gpu"].shape == outputs["cpu"].shape == (17, 96, 128, 3)
    assert np.abs(outputs["gpu"] - outputs["cpu"]).max() <= 2  # TF32 convolutions on the GPU

    run = tmp_path / "run"
    argv = small_train_argv(tmp_path, 13, 9, iterations=2) + [
        "--time-factor", "4", "--moments", "2", "--val-frames", "9", "--model", "time_modulation=true",
        "--device", CUDA.type, "--amp", "bf16", "--checkpoint-every", "1", "--log-every", "1"]
    assert main(argv) == 0
    assert zsm.load_checkpoint(run / "model.pt").config.time_modulation
    assert main(argv[: argv.index("--iterations") + 1] + ["3"] + argv[argv.index("--iterations") + 2:]
                + ["--resume"]) == 0
    assert json.loads((run / "curves.json").read_text())["step"] == [1, 2, 3]  # resumed on the GPU

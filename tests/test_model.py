"""Facts about the Zooming Slow-Mo network: size, shapes, the reference outputs, offsets, bad input."""
import pytest
import torch

import zsm
from conftest import torchvision_or_skip
from zsm.weights import official_config


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()


def test_the_paper_preset_has_11_102_771_parameters():
    assert zsm.ZoomingSlowMo(zsm.ZSMConfig.paper()).num_parameters() == 11_102_771


def test_the_converted_reference_network_reproduces_the_reference_outputs(reference_tiny):
    model = zsm.ZoomingSlowMo(official_config(reference_tiny["state_dict"])).double().eval()
    model.load_state_dict(zsm.convert_official_state_dict(reference_tiny["state_dict"], model))
    assert len(reference_tiny["cases"]) == 3
    with torch.no_grad():
        for case in reference_tiny["cases"]:
            y = model(case["x"])
            assert y.shape == case["y"].shape
            torch.testing.assert_close(y, case["y"], rtol=0, atol=1e-8)


@pytest.mark.parametrize("b, t, h, w", [(1, 2, 8, 8), (2, 3, 12, 16), (1, 4, 13, 18), (1, 2, 1, 1), (1, 5, 7, 4)])
def test_output_is_2t_minus_1_frames_at_4x(tiny, b, t, h, w):
    with torch.no_grad():
        y = tiny(torch.rand(b, t, 3, h, w))
    assert y.shape == (b, 2 * t - 1, 3, 4 * h, 4 * w)
    assert torch.isfinite(y).all()


def test_sizes_not_multiple_of_4_are_zero_padded_bottom_right_and_cropped_back(tiny):
    x = torch.rand(1, 3, 3, 10, 7)
    padded = torch.nn.functional.pad(x, (0, 1, 0, 2))  # to 12 x 8
    with torch.no_grad():
        torch.testing.assert_close(tiny(x), tiny(padded)[..., :40, :28])


def test_the_batched_pass_equals_the_one_at_a_time_recording_pass():
    torch.manual_seed(1)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).double().eval()
    _randomise_offset_predictors(model)
    x = torch.rand(2, 3, 3, 8, 12, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)
        y_recorded, _ = model.forward_with_offsets(x)
    torch.testing.assert_close(y, y_recorded, rtol=0, atol=1e-12)


def test_at_initialisation_every_offset_is_zero_and_every_mask_one_half(tiny):
    with torch.no_grad():
        _, records = tiny.forward_with_offsets(torch.rand(1, 3, 3, 8, 8))
    assert records
    for r in records:
        assert torch.count_nonzero(r.offset) == 0
        torch.testing.assert_close(r.mask, torch.full_like(r.mask, 0.5))


def test_offset_records_name_module_stage_frame_direction_and_level():
    torch.manual_seed(2)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    _randomise_offset_predictors(model)
    b, t, h, w = 2, 3, 8, 12
    g, k = model.config.groups, 9
    with torch.no_grad():
        _, records = model.forward_with_offsets(torch.rand(b, t, 3, h, w))
    interp = [r for r in records if r.stage == "interpolation"]
    lstm = [r for r in records if r.stage in ("lstm_hidden", "lstm_cell")]
    assert len(records) == len(interp) + len(lstm)
    assert len(interp) == 6 * (t - 1)  # 3 levels x 2 directions per pair
    assert len(lstm) == 2 * 2 * 6 * (2 * t - 1)  # 2 time directions x 2 states x 6 DCNs per step
    assert {(r.pair, r.frame) for r in interp} == {((0, 1), 1), ((1, 2), 3)}
    assert {(r.level, r.direction) for r in records} == {(l, d) for l in (1, 2, 3) for d in (1, 2)}
    assert {r.time_direction for r in lstm} == {"forward", "backward"}
    assert {r.frame for r in lstm if r.time_direction == "backward"} == set(range(2 * t - 1))
    for r in records:
        scale = 2 ** (r.level - 1)
        assert r.offset.shape == (b, g, k, 2, h // scale, w // scale)
        assert r.mask.shape == (b, g, k, h // scale, w // scale)
        assert r.module.endswith(f"align{r.direction}.l{r.level}.dcn")
    assert interp[0].module == "interpolation.align1.l3.dcn"
    assert {r.module.split(".")[2] for r in lstm if r.stage == "lstm_cell"} == {"align_cell"}
    assert all(torch.count_nonzero(r.offset) > 0 for r in records)  # random predictors: real offsets


def test_gradients_reach_every_parameter(tiny):
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny())
    model(torch.rand(1, 2, 3, 8, 8)).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


@pytest.mark.parametrize(
    "x, error, fragment",
    [
        ("not a tensor", TypeError, "expected a torch.Tensor"),
        (torch.rand(4, 3, 16, 16), ValueError, "expected a clip of shape"),
        (torch.rand(1, 4, 1, 16, 16), ValueError, "3 colour channels"),
        (torch.rand(1, 1, 3, 16, 16), ValueError, "at least T=2"),
        (torch.zeros(1, 4, 3, 0, 16), ValueError, "H, W >= 1"),
        (torch.zeros(1, 4, 3, 16, 16, dtype=torch.uint8), ValueError, "floating-point"),
        (torch.rand(1, 4, 3, 16, 16, dtype=torch.float64), ValueError, "the clip is torch.float64 but the model is torch.float32"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(tiny, x, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        tiny(x)


def test_config_presets_and_validation():
    assert zsm.ZSMConfig.paper() == zsm.ZSMConfig(64, 8, 5, 40, 64, 4)
    assert zsm.ZSMConfig.from_dict(zsm.ZSMConfig.tiny().to_dict()) == zsm.ZSMConfig.tiny()
    with pytest.raises(ValueError, match="must divide channels"):
        zsm.ZSMConfig(channels=10, groups=4)
    with pytest.raises(ValueError, match="scale must be 4"):
        zsm.ZSMConfig(scale=2)
    with pytest.raises(ValueError, match="unknown ZSMConfig fields"):
        zsm.ZSMConfig.from_dict({"nf": 64})


def _randomise_offset_predictors(model, std=0.05):
    """Give every offset predictor random weights, so offsets are non-zero as in a trained network."""
    for name, p in model.named_parameters():
        if ".offset_mask." in name:
            with torch.no_grad():
                p.normal_(0, std)


def test_the_network_computes_the_same_with_either_backend(reference_tiny):
    from zsm import ops

    torchvision_or_skip()
    model = zsm.ZoomingSlowMo(official_config(reference_tiny["state_dict"])).double().eval()
    model.load_state_dict(zsm.convert_official_state_dict(reference_tiny["state_dict"], model))
    case = reference_tiny["cases"][2]
    with torch.no_grad():
        outputs = {}
        for backend in ("pure", "torchvision"):
            ops.reset_backend_counts()
            with ops.use_backend(backend):
                outputs[backend] = model(case["x"])
            assert set(ops.backend_counts()) == {backend}  # every deformable conv ran on that backend
    torch.testing.assert_close(outputs["pure"], outputs["torchvision"], rtol=0, atol=1e-10)
    torch.testing.assert_close(outputs["torchvision"], case["y"], rtol=0, atol=1e-8)


def test_with_global_skip_an_untrained_network_outputs_the_cheap_guess():
    # Not in the paper: the optional skip starts training at bicubic inputs and averaged missing frames.
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip()).eval()
    x = torch.rand(2, 3, 3, 10, 7)
    up = torch.nn.functional.interpolate(x.flatten(0, 1), scale_factor=4, mode="bicubic", align_corners=False)
    up = up.view(2, 3, 3, 40, 28)
    with torch.no_grad():
        y = model(x)
    torch.testing.assert_close(y[:, 0::2], up)
    torch.testing.assert_close(y[:, 1::2], (up[:, :-1] + up[:, 1:]) / 2)
    assert zsm.ZSMConfig.paper().global_skip is False

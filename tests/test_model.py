"""Facts about the Zooming Slow-Mo network: size, shapes, the reference outputs, offsets, bad input."""
import ast
import inspect
from pathlib import Path

import pytest
import torch

import zsm
from conftest import torchvision_or_skip
from zsm.net.alignment import upsample2x
from zsm.net.blocks import lrelu
from zsm.net.dcn import DeformConv
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


def test_recording_offsets_leaves_the_output_unchanged():
    torch.manual_seed(1)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).double().eval()
    _randomise_offset_predictors(model)
    x = torch.rand(2, 3, 3, 8, 12, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)
        with zsm.record_offsets(model) as records:
            y_recorded = model(x)
    assert records
    torch.testing.assert_close(y, y_recorded, rtol=0, atol=0)  # the hooks only look: the same batched pass


def test_at_initialisation_every_offset_is_zero_and_every_mask_one_half(tiny):
    with torch.no_grad(), zsm.record_offsets(tiny) as records:
        tiny(torch.rand(1, 3, 3, 8, 8))
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
    with torch.no_grad(), zsm.record_offsets(model) as records:
        model(torch.rand(b, t, 3, h, w))
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


@pytest.mark.parametrize("t", [2, 4])
def test_t_inputs_give_6_t_minus_1_interpolation_and_24_2t_minus_1_convlstm_records_in_one_at_a_time_order(tiny, t):
    """Pair by pair; then the forward pass, then the backward pass, step by step; in each, the hidden state's
    alignment before the cell's, direction 1 before 2, L3 -> L2 -> L1: the order of running them one by one."""
    with torch.no_grad(), zsm.record_offsets(tiny) as records:
        tiny(torch.rand(1, t, 3, 8, 8))
    n = 2 * t - 1
    one_alignment = [(d, l) for d in (1, 2) for l in (3, 2, 1)]
    expected = [("interpolation", (i, i + 1), 2 * i + 1, None, d, l) for i in range(t - 1) for d, l in one_alignment]
    expected += [(stage, None, step if pass_ == "forward" else n - 1 - step, pass_, d, l)
                 for pass_ in ("forward", "backward") for step in range(n)
                 for stage in ("lstm_hidden", "lstm_cell") for d, l in one_alignment]
    assert len(expected) == 6 * (t - 1) + 2 * 2 * 6 * n
    assert [(r.stage, r.pair, r.frame, r.time_direction, r.direction, r.level) for r in records] == expected


def test_records_are_detached_copies_taken_per_pass_by_hooks_that_leave_with_the_block(tiny):
    x = torch.rand(2, 3, 3, 8, 8)  # B=2, T=3: each pair copied out of the batch, each pass a half of it
    with zsm.record_offsets(tiny) as records:
        tiny(x)
        assert len(records) == 6 * 2 + 24 * 5  # filled when the pass ends
        tiny(x)
        assert len(records) == 2 * (6 * 2 + 24 * 5)  # each pass adds its own
    assert not any(r.offset.requires_grad or r.mask.requires_grad for r in records)
    tensors = [tensor for r in records for tensor in (r.offset, r.mask)]
    assert len({tensor.data_ptr() for tensor in tensors}) == len(tensors)  # no two records overlap
    storages = {tensor.untyped_storage().data_ptr(): tensor.untyped_storage().nbytes() for tensor in tensors}
    assert sum(storages.values()) == sum(tensor.nbytes for tensor in tensors)  # nor keep more than their own bytes
    with pytest.raises(ValueError, match="at least T=2"):
        with zsm.record_offsets(tiny) as failed:
            tiny(x[:, :1])  # T=1: the model refuses it, the block exits with the error
    assert failed == []
    hooks = [m for m in tiny.modules() if m._forward_hooks or m._forward_pre_hooks]
    assert not hooks, f"hooks left behind on {hooks}"
    tiny(x)
    assert len(records) == 2 * (6 * 2 + 24 * 5)  # after the block nothing records


def _pcd_offsets_by_hand(pcd, a, b):
    """{level: (offset (N, G, K, 2, h, w), mask (N, G, K, h, w))} of a PCDAlignment sampling pyramid a towards
    pyramid b, each level's offset feature computed conv by conv (chapter 3's equations), not by the module."""
    def cat(*features):
        return torch.cat(features, dim=1)  # (N, 2C, h, w)

    feature = lrelu(pcd.l3.offset_conv2(lrelu(pcd.l3.offset_conv1(cat(a[2], b[2])))))
    features = {3: feature}
    for level, module in ((2, pcd.l2), (1, pcd.l1)):
        first = lrelu(module.offset_conv1(cat(a[level - 1], b[level - 1])))
        second = lrelu(module.offset_conv2(cat(first, upsample2x(feature) * 2)))
        feature = features[level] = lrelu(module.offset_conv3(second))
    out = {}
    for level, feature in features.items():
        dcn = getattr(pcd, f"l{level}").dcn
        offset, mask = dcn.offsets_and_mask(feature)  # (N, 2*G*K, h, w), (N, G*K, h, w)
        n, _, h, w = offset.shape
        out[level] = (offset.view(n, dcn.groups, 9, 2, h, w), mask.view(n, dcn.groups, 9, h, w))
    return out


def _interpolation_offsets_by_hand(interpolation, first, second):
    """{(direction, level): (offset, mask)}: direction 1 samples ``first`` (align1), direction 2 ``second``."""
    by_hand = {}
    for direction, pcd, a, b in ((1, interpolation.align1, first, second), (2, interpolation.align2, second, first)):
        by_hand.update({(direction, level): om for level, om in _pcd_offsets_by_hand(pcd, a, b).items()})
    return by_hand


def test_hooked_records_equal_offsets_computed_pair_by_pair_and_step_by_step_by_hand():
    """Every record of the hooks on the batched pass (all pairs in one batch, both ConvLSTM passes in one batch of
    2B) against offsets computed from the modules' convolutions one pair, one pass and one step at a time."""
    torch.manual_seed(4)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).double().eval()
    for module in model.modules():
        if isinstance(module, DeformConv):
            torch.nn.init.normal_(module.offset_mask.weight, std=0.05)
    b, t, h, w = 2, 3, 8, 12
    x = torch.rand(b, t, 3, h, w, dtype=torch.float64)
    with torch.no_grad():
        with zsm.record_offsets(model) as recorded:
            model(x)
        records = zsm.viz.OffsetRecords(recorded)
        checked = 0

        def check(record, offset, mask):
            nonlocal checked
            assert torch.count_nonzero(offset) > 0
            torch.testing.assert_close(record.offset, offset)
            torch.testing.assert_close(record.mask, mask)
            checked += 1

        pyramid = [l.view(b, t, *l.shape[1:]) for l in model.extractor(x.flatten(0, 1))]  # 3 x (B, T, C, h, w)
        middles = []
        for i in range(t - 1):
            first, second = [l[:, i] for l in pyramid], [l[:, i + 1] for l in pyramid]
            for (d, l), (offset, mask) in _interpolation_offsets_by_hand(model.interpolation, first, second).items():
                check(records.one(stage="interpolation", pair=(i, i + 1), frame=2 * i + 1, level=l, direction=d),
                      offset, mask)
            middles.append(model.interpolation(first, second))  # (B, C, H, W)
        features = [f for i in range(t - 1) for f in (pyramid[0][:, i], middles[i])] + [pyramid[0][:, -1]]
        sequence = torch.stack(features, dim=1)  # (B, 2T-1, C, H, W): F0, I01, F1, I12, F2

        lstm, n = model.convlstm.lstm, 2 * t - 1
        for time_direction, steps in (("forward", sequence), ("backward", sequence.flip(1))):
            hidden, cell = torch.zeros_like(sequence[:, 0]), torch.zeros_like(sequence[:, 0])  # (B, C, H, W)
            for step in range(n):
                current = steps[:, step]
                frame = step if time_direction == "forward" else n - 1 - step
                for stage, align, state in (("lstm_hidden", lstm.align_hidden, hidden),
                                            ("lstm_cell", lstm.align_cell, cell)):
                    by_hand = _interpolation_offsets_by_hand(align.interpolation, align.pyramid(current),
                                                             align.pyramid(state))
                    for (d, l), (offset, mask) in by_hand.items():
                        check(records.one(stage=stage, time_direction=time_direction, frame=frame, level=l,
                                          direction=d), offset, mask)
                hidden, cell = lstm.cell(current, lstm.align_hidden(current, hidden), lstm.align_cell(current, cell))
    assert checked == len(records) == 6 * (t - 1) + 2 * 2 * 6 * n


def test_the_network_holds_no_recording_code():
    """The offsets are taken from outside (zsm.viz's forward hooks): no tags, scopes or second code paths inside."""
    net = Path(zsm.net.__file__).parent
    for path in sorted(net.glob("*.py")):
        source = path.read_text()
        for word in ("offset_scope", "is_recording", "contextvars", "record_name", "OffsetRecord", "record_offsets",
                     "forward_with_offsets", "frame_order"):
            assert word not in source, f"{path.name} mentions {word}"
        if path.stem not in ("ops", "backends"):  # they keep a record of which deform_conv2d backend ran
            assert "record" not in source.lower(), f"{path.name} mentions recording"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1) and not (node.module or "").startswith("zsm"), \
                    f"{path.name} imports {'.' * node.level}{node.module}: zsm.net imports nothing else of zsm"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("zsm") for a in node.names), f"{path.name} imports zsm"
    assert not hasattr(zsm.ZoomingSlowMo, "forward_with_offsets")
    assert list(inspect.signature(zsm.net.convlstm.DeformableConvLSTM.forward).parameters) == ["self", "sequence"]


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

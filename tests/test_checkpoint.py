"""Facts about checkpoints: the authors' layout converts exactly, and bad files are refused clearly."""

import dataclasses

import pytest
import torch

import zsm
from zsm.weights import official_config, safe_torch_load


def reference_layout(config: zsm.ZSMConfig) -> dict:
    """Names and shapes of the reference checkpoint, written from the layout in ZSM_REFERENCE.md."""
    c, g, hr = config.channels, config.groups, config.hr_channels
    shapes = {}

    def conv(name, cout, cin, k=3):
        shapes[f"{name}.weight"] = (cout, cin, k, k)
        shapes[f"{name}.bias"] = (cout,)

    def alignment(prefix):
        for d in (1, 2):
            for lvl in (3, 2, 1):
                conv(f"{prefix}pcd_align.L{lvl}_offset_conv1_{d}", c, 2 * c)
                conv(f"{prefix}pcd_align.L{lvl}_offset_conv2_{d}", c, c if lvl == 3 else 2 * c)
                if lvl != 3:
                    conv(f"{prefix}pcd_align.L{lvl}_offset_conv3_{d}", c, c)
                    conv(f"{prefix}pcd_align.L{lvl}_fea_conv_{d}", c, 2 * c)
                conv(f"{prefix}pcd_align.L{lvl}_dcnpack_{d}", c, c)
                conv(f"{prefix}pcd_align.L{lvl}_dcnpack_{d}.conv_offset_mask", 3 * g * 9, c)
        conv(f"{prefix}fusion", c, 2 * c, k=1)

    def pyramid(prefix):
        for lvl in (2, 3):
            for n in (1, 2):
                conv(f"{prefix}fea_L{lvl}_conv{n}", c, c)

    conv("conv_first", c, 3)
    for i in range(config.extraction_blocks):
        conv(f"feature_extraction.{i}.conv1", c, c)
        conv(f"feature_extraction.{i}.conv2", c, c)
    pyramid("")
    alignment("")
    conv("ConvBLSTM.conv_1x1", c, 2 * c, k=1)
    conv("ConvBLSTM.forward_net.cell_list.0.conv", 4 * c, 2 * c)
    for state in ("pcd_h", "pcd_c"):
        pyramid(f"ConvBLSTM.forward_net.{state}.")
        alignment(f"ConvBLSTM.forward_net.{state}.")
    for i in range(config.reconstruction_blocks):
        conv(f"recon_trunk.{i}.conv1", c, c)
        conv(f"recon_trunk.{i}.conv2", c, c)
    conv("upconv1", 4 * c, c)
    conv("upconv2", 4 * hr, c)
    conv("HRconv", hr, hr)
    conv("conv_last", 3, hr)
    return shapes


def random_reference_state_dict(config, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(s, generator=gen) for k, s in reference_layout(config).items()}


def test_the_paper_layout_has_416_tensors_and_converts_onto_every_parameter():
    sd = random_reference_state_dict(zsm.ZSMConfig.paper())
    assert len(sd) == 416
    assert official_config(sd) == zsm.ZSMConfig.paper()
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.paper())
    converted = zsm.convert_official_state_dict(sd, model)
    assert set(converted) == set(model.state_dict())
    assert sum(t.numel() for t in sd.values()) == 11_102_771


def test_the_fixture_layout_is_the_documented_layout(reference_tiny):
    sd = reference_tiny["state_dict"]
    expected = reference_layout(official_config(sd))
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected


def test_converted_tensors_land_where_they_belong():
    sd = random_reference_state_dict(zsm.ZSMConfig.tiny())
    converted = zsm.convert_official_state_dict(sd)
    pairs = {
        "pcd_align.L3_dcnpack_1.conv_offset_mask.weight": "interpolation.align1.l3.dcn.offset_mask.weight",
        "pcd_align.L1_fea_conv_2.bias": "interpolation.align2.l1.fuse.bias",
        "fusion.weight": "interpolation.blend.weight",
        "ConvBLSTM.forward_net.pcd_c.pcd_align.L2_offset_conv3_2.weight":
            "convlstm.lstm.align_cell.interpolation.align2.l2.offset_conv3.weight",
        "ConvBLSTM.forward_net.pcd_h.fea_L3_conv1.weight": "convlstm.lstm.align_hidden.pyramid.l3_conv1.weight",
        "ConvBLSTM.forward_net.pcd_h.fusion.bias": "convlstm.lstm.align_hidden.interpolation.blend.bias",
        "recon_trunk.1.conv2.weight": "reconstruction.blocks.1.conv2.weight",
        "HRconv.weight": "reconstruction.hr_conv.weight",
    }
    for theirs, ours in pairs.items():
        assert converted[ours] is sd[theirs]


def test_load_official_checkpoint_gives_a_ready_model(tmp_path, reference_tiny):
    path = tmp_path / "official.pth"
    torch.save({"module." + k: v for k, v in reference_tiny["state_dict"].items()}, path)  # DataParallel names
    model = zsm.load_official_checkpoint(path)
    assert not model.training and model.conv_first_weight.dtype == torch.float64  # the file's dtype
    case = reference_tiny["cases"][0]
    with torch.no_grad():
        torch.testing.assert_close(model(case["x"]), case["y"], rtol=0, atol=1e-8)
    assert zsm.load_checkpoint(path).config == model.config  # load_checkpoint reads the authors' files too


def test_missing_extra_and_misshapen_tensors_are_named():
    sd = random_reference_state_dict(zsm.ZSMConfig.tiny())
    del sd["upconv2.bias"]
    sd["pcd_align.L9_offset_conv1_1.weight"] = torch.zeros(1)
    sd["HRconv.bias"] = torch.zeros(5)
    with pytest.raises(ValueError) as err:
        zsm.convert_official_state_dict(sd)
    message = str(err.value)
    assert "1 unexpected tensor(s): pcd_align.L9_offset_conv1_1.weight" in message
    assert "1 missing tensor(s) (our names): reconstruction.up2.bias" in message
    assert "HRconv.bias: (5,), expected (8,)" in message


def test_a_state_dict_of_another_network_is_refused():
    with pytest.raises(ValueError, match="not a Zooming Slow-Mo reference state_dict"):
        zsm.convert_official_state_dict({"fc.weight": torch.zeros(2, 2)})


def test_our_checkpoints_round_trip_with_config_and_meta(tmp_path):
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny())
    path = tmp_path / "sub" / "model.pt"
    zsm.save_checkpoint(model, path, meta={"step": 3})
    loaded = zsm.load_checkpoint(path)
    assert loaded.config == model.config and not loaded.training
    for (n, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), n
    assert safe_torch_load(path)["meta"] == {"step": 3}
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left behind
    with pytest.raises(ValueError, match="was expected"):
        zsm.load_checkpoint(path, expect=zsm.ZSMConfig.paper())


def test_a_training_checkpoint_serves_as_weights_and_is_checked_like_a_model_file(tmp_path):
    from zsm.training import TrainConfig
    from zsm.training.runs import rng_state
    from zsm.weights.checkpoint import save_training_checkpoint

    torch.manual_seed(1)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip())
    optimizer = torch.optim.Adam(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    path = tmp_path / "step-0000100.pt"
    save_training_checkpoint(path, model, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False), 100,
                             TrainConfig(run_dir=str(tmp_path)), {}, rng_state())
    loaded = zsm.load_checkpoint(path)  # what evaluate --weights and upscale --weights call
    assert loaded.config == model.config and not loaded.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    obj = torch.load(path, weights_only=True)
    obj["model"]["reconstruction.conv_last.bias"][0] += 1e-3
    torch.save(obj, path)
    with pytest.raises(ValueError, match="do not match their recorded SHA-256"):
        zsm.load_checkpoint(path)


def test_an_altered_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), path)
    obj = torch.load(path, weights_only=True)
    obj["state_dict"]["reconstruction.conv_last.bias"][0] += 1e-3
    torch.save(obj, path)
    with pytest.raises(ValueError, match="do not match their recorded SHA-256"):
        zsm.load_checkpoint(path)


def test_a_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        zsm.load_checkpoint(path)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_checkpoint_that_would_run_code_is_refused_not_unpickled(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(ValueError, match="refusing to load"):
        zsm.load_checkpoint(path)
    assert "this must never run" not in capsys.readouterr().out


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        zsm.load_checkpoint(tmp_path / "nope.pt")


def test_a_file_that_is_no_checkpoint_at_all(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        zsm.load_checkpoint(path)
    torch.save({"weights": [1, 2, 3]}, path)
    with pytest.raises(ValueError, match="neither a zsm checkpoint nor the authors' layout"):
        zsm.load_checkpoint(path)


def test_the_shipped_any_time_model_loads_by_name_and_its_absence_is_named(tmp_path, monkeypatch):
    from zsm.weights import checkpoint

    model = zsm.load_model("anytime")
    assert model.config.time_modulation and not model.training
    shipped = zsm.load_default_model()  # the 2x model it was trained from: the same network but the modulation
    assert dataclasses.replace(model.config, time_modulation=False) == shipped.config
    monkeypatch.setattr(checkpoint, "SHIPPED_ANYTIME", tmp_path / "gone.pt")
    with pytest.raises(FileNotFoundError, match="no any-time model at .*gone.pt"):
        zsm.load_model("anytime")

"""Facts about motion in training: synthetic windows carry their exact flow, flows follow the augmentation, strided
footage windows are the frames k apart, offset guidance pulls towards half the flow without changing the network,
and the offset/flow agreement measure says 1 for offsets along the motion and -1 against it."""
import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import zsm
from zsm.data.footage import frame_range, load_clip
from zsm.data.frames import write_frames
from zsm.training.guidance import OffsetGuide, guidance_weight
from zsm.training import TrainConfig, train
from zsm.training.optim import parameter_groups, warmup_factor
from zsm.training.motion import Mixture, SyntheticMotion, flip_flows, input_flows, pan
from zsm.training.recipe import training_samples
from zsm.training.samples import FootageWindows, WindowSamples, augment
from zsm.viz import offset_flow_agreement


def texture(h, w, seed=0):
    """A smooth random colour image (h, w, 3) uint8 with detail at several scales (DIS and warps can lock on)."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.zeros((h, w, 3), np.float32)
    for cell in (4, 8, 16):
        coarse = rng.uniform(0, 255, (h // cell + 2, w // cell + 2, 3)).astype(np.float32)
        out += cv2.resize(coarse, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[cell:cell + h, cell:cell + w]
    return np.clip(out / 3, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def stills():
    return [texture(256, 320, seed) for seed in range(3)]


def warp_error(lr, flow):
    """Mean |input j+1 - input j warped by f(j+1 -> j)| (and the reverse) over the known interior pixels, against
    the same without warping: how well a flow explains the motion."""
    import cv2

    errors, still = [], []
    for j in range(len(lr) - 1):
        for direction, (src, dst) in enumerate(((j + 1, j), (j, j + 1))):
            fy, fx = flow[j, direction]
            known = np.isfinite(fx)
            known[:3], known[-3:], known[:, :3], known[:, -3:] = False, False, False, False
            gy, gx = np.mgrid[0:fx.shape[0], 0:fx.shape[1]].astype(np.float32)
            warped = cv2.remap(lr[dst].astype(np.float32), gx + np.nan_to_num(fx), gy + np.nan_to_num(fy),
                               cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            errors.append(np.abs(warped - lr[src])[known].mean())
            still.append(np.abs(lr[dst].astype(np.float32) - lr[src])[known].mean())
    return float(np.mean(errors)), float(np.mean(still))


def test_synthetic_windows_carry_their_exact_flow_and_are_a_function_of_their_number(stills):
    moving = SyntheticMotion(stills, lr_size=32, foreground=1.0, max_speed=4.0)
    for i in range(4):
        lr, hr, flow = moving.window(i, flows=True)
        assert lr.shape == (4, 32, 32, 3) and hr.shape == (7, 128, 128, 3) and flow.shape == (3, 2, 2, 32, 32)
        assert np.isnan(flow).mean() < 0.3
        warped, unwarped = warp_error(lr, flow)
        assert warped < 0.35 * unwarped, (i, warped, unwarped)
        again = moving.window(i, flows=True)
        assert np.array_equal(again[0], lr) and np.array_equal(again[2], flow, equal_nan=True)
    assert not np.array_equal(moving.window(0)[0], moving.window(1)[0])


def test_a_pure_pan_has_the_same_flow_everywhere_and_its_speed_is_bounded(stills):
    moving = SyntheticMotion(stills, lr_size=16, foreground=0.0, max_zoom=0.0, max_speed=3.0)
    for i in range(5):
        _, _, flow = moving.window(i, flows=True)
        assert np.isfinite(flow).all()
        assert np.allclose(flow, flow[..., :1, :1], atol=1e-5)  # one translation
        assert np.allclose(flow[:, 0], -flow[:, 1], atol=1e-5)  # the two directions are opposite
        assert np.hypot(*flow[0, 0, :, 0, 0]) <= 3.0 + 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_the_flow_follows_the_flips_rotation_and_time_reversal(stills, seed):
    moving = SyntheticMotion(stills, lr_size=32, foreground=1.0)
    lr, hr, flow = moving.window(seed, flows=True)
    lr2, hr2, flow2 = augment(lr, hr, np.random.default_rng(seed), flow)
    rng = np.random.default_rng(seed)
    assert np.array_equal(lr2, augment(lr, hr, rng)[0])  # the same random draws with or without a flow
    warped, unwarped = warp_error(np.ascontiguousarray(lr2), flow2)
    assert warped < 0.35 * unwarped


def test_flip_flows_on_a_known_translation():
    flow = np.zeros((3, 2, 2, 4, 5), np.float32)
    flow[:, 0, 0], flow[:, 0, 1] = 1.0, 2.0  # direction 0: (dy, dx) = (1, 2)
    flow[:, 1] = -flow[:, 0]
    flow[0, 0, 0, 0, 0] = 7.0  # a marked pixel, top-left of pair 0 direction 0
    h = flip_flows(flow, horizontal=True)
    assert h[1, 0, :, 1, 1].tolist() == [1.0, -2.0] and h[0, 0, 0, 0, -1] == 7.0
    v = flip_flows(flow, vertical=True)
    assert v[1, 0, :, 1, 1].tolist() == [-1.0, 2.0] and v[0, 0, 0, -1, 0] == -7.0
    t = flip_flows(flow, transpose=True)
    assert t.shape == (3, 2, 2, 5, 4) and t[1, 0, :, 1, 1].tolist() == [2.0, 1.0] and t[0, 0, 1, 0, 0] == 7.0
    r = flip_flows(flow, reverse=True)
    assert r[2, 1, 0, 0, 0] == 7.0 and r[0, 0, :, 1, 1].tolist() == [-1.0, -2.0]


@pytest.fixture(scope="module")
def video(tmp_path_factory, stills):
    """A 30-frame clip whose content moves 1 HR pixel a frame to the left, written as PNG frames."""
    big = texture(200, 400, 5)
    frames = np.stack([big[40:136, i: i + 160] for i in range(30)])
    folder = tmp_path_factory.mktemp("pan") / "frames"
    write_frames(folder, frames)
    return folder, frames


def test_strided_footage_windows_are_the_frames_k_apart_and_their_flows_those_of_their_inputs(video):
    folder, frames = video
    windows = FootageWindows([frames], strides=(1, 3), flows=True)
    assert len(windows) == (30 - 6) + (30 - 18)
    lr, hr, flow = windows.window(24 + 5, flows=True)  # stride 3, start 5
    assert np.array_equal(hr, frames[5: 24: 3])
    assert np.allclose(flow, input_flows(lr), atol=0.02)  # float16 storage
    # inputs 6 HR frames apart: input j's pixels are 6 HR = 1.5 LR pixels to the left in input j+1
    assert np.median(flow[:, 1, 1]) == pytest.approx(-1.5, abs=0.2)
    assert np.median(flow[:, 0, 1]) == pytest.approx(1.5, abs=0.2) and np.median(np.abs(flow[:, :, 0])) < 0.2
    assert windows.describe()["strides"] == [1, 3]
    with pytest.raises(ValueError, match="needs 25"):
        FootageWindows([frames[:20]], strides=(4,))


def test_samples_with_flows_are_deterministic_and_shaped_like_the_crops(video, stills):
    _, frames = video
    source = Mixture([FootageWindows([frames], flows=True), SyntheticMotion(stills, lr_size=8)], [0.5, 0.5])
    samples = WindowSamples(source, lr_size=8, flows=True)
    lr, hr, flow = samples[3]
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (7, 3, 32, 32) and flow.shape == (3, 2, 2, 8, 8)
    assert torch.equal(samples[3][2].nan_to_num(), flow.nan_to_num())
    kinds = [type(source.sources[int(np.random.default_rng([0, i, 11]).choice(2, p=source.weights))]).__name__
             for i in range(200)]
    assert 70 < kinds.count("SyntheticMotion") < 130
    assert len(WindowSamples(FootageWindows([frames]), lr_size=8)[0]) == 2


def test_training_samples_assemble_footage_strides_and_synthetic_motion(video):
    folder, _ = video
    samples = training_samples([folder], strides=(1, 2), synthetic=0.5, flows=True, lr_size=8)
    described = samples.describe()["source"]
    assert described["kind"] == "mixture" and described["sources"][0]["strides"] == [1, 2]
    assert len(samples[0]) == 3
    with pytest.raises(ValueError, match="one of them"):
        training_samples()
    with pytest.raises(ValueError, match="fraction"):
        training_samples([folder], synthetic=1.5)


def test_photographs_are_a_synthetic_source_of_their_own_and_leave_the_recipe_without_them_unchanged(video, stills):
    folder, _ = video
    photos = [texture(256, 256, 9)]
    plain = training_samples([folder], synthetic=0.5, lr_size=8).describe()["source"]
    assert plain["weights"] == [0.5, 0.5] and [s["kind"] for s in plain["sources"]] == ["footage", "synthetic"]
    mixed = training_samples([folder], synthetic=0.25, lr_size=8, stills=photos, stills_share=0.25)
    source = mixed.describe()["source"]
    assert source["weights"] == [0.5, 0.25, 0.25]
    assert [s["kind"] for s in source["sources"]] == ["footage", "synthetic", "synthetic"]
    assert source["sources"][2]["stills"] == 1 and source["sources"][1]["stills"] == 3  # 30 frames, every 10th
    lr, hr = mixed[0]
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (7, 3, 32, 32)
    only = training_samples([folder], lr_size=8, stills=photos, stills_share=1.0).describe()["source"]
    assert only["kind"] == "synthetic" and only["stills"] == 1
    with pytest.raises(ValueError, match=r"stills_share must be a fraction in \[0, 1 - synthetic\] = \[0, 0.5\]"):
        training_samples([folder], synthetic=0.5, lr_size=8, stills=photos, stills_share=0.75)


def test_several_synthetic_speeds_make_a_source_each_that_share_the_synthetic_samples(video):
    folder, _ = video
    photos = [texture(256, 256, 9)]
    one = training_samples([folder], synthetic=0.5, lr_size=8, max_speed=2).describe()["source"]
    assert one["weights"] == [0.5, 0.5] and one["sources"][1]["max_speed"] == 2  # as before speeds could be several
    both = training_samples([folder], synthetic=0.25, lr_size=8, max_speed=(2, 6), stills=photos, stills_share=0.25)
    source = both.describe()["source"]
    assert source["weights"] == [0.5, 0.125, 0.125, 0.125, 0.125]
    assert [(s["kind"], s["max_speed"], s["stills"]) for s in source["sources"][1:]] == [
        ("synthetic", 2, 3), ("synthetic", 6, 3), ("synthetic", 2, 1), ("synthetic", 6, 1)]
    assert len({s["seed"] for s in source["sources"][1:]}) == 4  # four sources, four streams of motion
    lr, hr = both[0]
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (7, 3, 32, 32)
    for bad in [(), (2, 0), (float("nan"),), -1]:
        with pytest.raises(ValueError, match="max_speed must be a positive number"):
            training_samples([folder], synthetic=0.5, lr_size=8, max_speed=bad)


def test_the_train_command_takes_several_synthetic_speeds_and_refuses_bad_ones(tmp_path, capsys):
    from test_cli import one_line_error, small_train_argv
    from zsm.cli import main

    argv = small_train_argv(tmp_path, 9, 7, iterations=1) + ["--synthetic", "0.5", "--lr-size", "4"]  # 40x40 stills
    assert main(argv + ["--synthetic-speed", "2", "6"]) == 0
    sources = json.loads((tmp_path / "run" / "run.json").read_text())["data"]["source"]["sources"]
    assert [s.get("max_speed") for s in sources] == [None, 2, 6]
    for given in (["0"], ["2", "nan"], ["-1", "3"]):
        assert main(argv + ["--synthetic-speed", *given, "--start-over"]) == 2
        one_line_error(capsys, f"--synthetic-speed must be positive numbers of pixels, got {' '.join(given)}")


def test_a_pan_moves_by_its_step_exactly_and_refuses_a_still_too_small_for_its_path():
    still = texture(120, 160, 3)
    clip = pan(still, 5, (3.0, -2.0), (64, 48))
    assert clip.shape == (5, 48, 64, 3) and clip.dtype == np.uint8
    # integer steps: frame t is the still's window at (3t, 8 - 2t) (an upward pan starts low enough)
    for t in range(5):
        assert np.array_equal(clip[t], still[8 - 2 * t: 8 - 2 * t + 48, 3 * t: 3 * t + 64])
    half = pan(still, 3, (0.5, 0.0), (64, 48))
    assert np.array_equal(half[0], still[:48, :64]) and not np.array_equal(half[1], half[0])
    assert np.abs(half[2].astype(int) - still[:48, 1:65]).max() <= 1  # two half steps: one pixel
    with pytest.raises(ValueError, match="needs a still of at least 172x48; got 160x120"):
        pan(still, 37, (3.0, 0.0), (64, 48))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        pan(still[..., 0], 2, (1, 0), (8, 8))


def test_a_frame_range_names_part_of_a_clip(video):
    folder, frames = video
    assert frame_range(f"{folder}:5-12") == (folder, 5, 12)
    assert frame_range(folder) == (folder, 0, None)
    assert np.array_equal(load_clip(f"{folder}:5-12"), frames[5:12])
    assert np.array_equal(load_clip(f"{folder}:5-12", 2, 3), frames[7:10])
    with pytest.raises(ValueError, match="holds 7 frames"):
        load_clip(f"{folder}:5-12", 2, 6)
    with pytest.raises(ValueError, match="empty"):
        frame_range(f"{folder}:9-9")


def with_constant_offsets(model, dy, dx, levels=(1, 2, 3), directions=(1, 2)):
    """Make the feature interpolation's offsets (dy, dx) at every pixel, tap and group, by the offset convs' bias."""
    g, k = model.config.groups, 9
    for direction in directions:
        for level in levels:
            conv = getattr(getattr(model.interpolation, f"align{direction}"), f"l{level}").dcn.offset_mask
            with torch.no_grad():
                conv.weight.zero_()
                bias = torch.zeros(3, g * k)
                offsets = torch.tensor([dy, dx]).repeat(g * k)  # [group][tap][(dy, dx)]
                bias[0], bias[1] = offsets[: g * k], offsets[g * k:]
                conv.bias.copy_(bias.flatten())
    return model


def test_the_guide_scores_every_tap_against_half_the_flow_at_each_level_and_leaves_the_output_alone():
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    x = torch.rand(2, 3, 3, 16, 16)
    plain = model(x)
    flow = torch.zeros(2, 2, 2, 2, 16, 16)
    flow[:, :, 0, 0], flow[:, :, 0, 1] = 2.0, -4.0  # direction 1 target: half = (1, -2) LR px
    flow[:, :, 1] = -flow[:, :, 0]
    with OffsetGuide(model) as guide:
        assert torch.equal(model(x), plain)
        loss = guide.loss(flow).item()
    assert loss == pytest.approx(np.mean([math.hypot(1, 2) / 2 ** (l - 1) for l in (1, 2, 3)]), rel=1e-3)
    with_constant_offsets(model, 1.0, -2.0, levels=(1,), directions=(1,))
    with_constant_offsets(model, -1.0, 2.0, levels=(1,), directions=(2,))
    with_constant_offsets(model, 0.5, -1.0, levels=(2,), directions=(1,))
    with_constant_offsets(model, -0.5, 1.0, levels=(2,), directions=(2,))
    with_constant_offsets(model, 0.25, -0.5, levels=(3,), directions=(1,))
    with_constant_offsets(model, -0.25, 0.5, levels=(3,), directions=(2,))
    with OffsetGuide(model) as guide:
        model(x)
        assert guide.loss(flow).item() == pytest.approx(0.0, abs=2e-3)
        flow[0, 0, 0] = float("nan")  # unknown flow does not count
        model(x)
        assert guide.loss(flow).item() == pytest.approx(0.0, abs=2e-3)
    assert not model.interpolation.align1.l1.dcn.offset_mask._forward_hooks


def test_the_guide_weight_falls_along_half_a_cosine_to_zero():
    assert guidance_weight(0, 0.2, 100) == pytest.approx(0.2)
    assert guidance_weight(50, 0.2, 100) == pytest.approx(0.1)
    assert guidance_weight(100, 0.2, 100) == 0 and guidance_weight(5, 0.0, 100) == 0


def test_warmup_and_the_offset_learning_rate(tmp_path):
    cfg = TrainConfig(run_dir=str(tmp_path), preset="tiny", warmup_steps=4, offset_lr_scale=0.25, learning_rate=1e-3)
    assert [warmup_factor(s, cfg) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny())
    rest, offsets = parameter_groups(model, cfg)
    assert offsets["lr"] == pytest.approx(2.5e-4)
    assert len(offsets["params"]) == 2 * 18 and len(rest["params"]) + len(offsets["params"]) == len(list(model.parameters()))
    with pytest.raises(ValueError, match="guide_steps"):
        TrainConfig(guide_weight=0.1)


def test_guided_training_records_the_guide_and_needs_flows(tmp_path, video, stills):
    _, frames = video
    samples = WindowSamples(Mixture([FootageWindows([frames], flows=True), SyntheticMotion(stills, lr_size=8)],
                                    [0.5, 0.5]), lr_size=8, flows=True)
    cfg = TrainConfig(run_dir=str(tmp_path / "run"), preset="tiny", batch_size=2, lr_size=8, iterations=4,
                      learning_rate=1e-3, workers=0, log_every=1, val_every=0, checkpoint_every=0, guide_weight=0.1,
                      guide_steps=2, warmup_steps=2, offset_lr_scale=0.5)
    model, curves = train(cfg, samples, progress=False)
    assert len(curves["guide"]) == 4 and curves["guide"][0] > 0 and curves["guide"][2:] == [0.0, 0.0]
    assert curves["lr"][0] == pytest.approx(1e-3, rel=1e-2)  # after step 1 of a 2-step warm-up: the full rate
    assert not model.interpolation.align1.l1.dcn.offset_mask._forward_hooks
    cfg.run_dir = str(tmp_path / "other")
    with pytest.raises(ValueError, match="flows"):
        train(cfg, WindowSamples(FootageWindows([frames]), lr_size=8), progress=False)


def test_alignment_steps_train_only_the_extraction_and_interpolation_on_the_guide(tmp_path, video, stills):
    _, frames = video
    samples = WindowSamples(SyntheticMotion(stills, lr_size=8), lr_size=8, flows=True)
    cfg = TrainConfig(run_dir=str(tmp_path / "run"), preset="tiny", batch_size=2, lr_size=8, iterations=3,
                      learning_rate=1e-2, workers=0, log_every=1, val_every=0, checkpoint_every=1, align_steps=2)
    torch.manual_seed(cfg.seed)
    start = {k: v.clone() for k, v in zsm.ZoomingSlowMo(cfg.model_config()).state_dict().items()}
    cfg.iterations = 2
    model, curves = train(cfg, samples, progress=False)
    after = model.state_dict()
    moved = {k.split(".")[0] for k in start if not torch.equal(start[k], after[k])}
    assert moved == {"extractor", "interpolation"}  # the guide alone: the ConvLSTM and reconstruction never move
    assert not torch.equal(start["interpolation.align1.l1.dcn.offset_mask.weight"],
                           after["interpolation.align1.l1.dcn.offset_mask.weight"])
    assert [a["step"] for a in curves["align"]] == [1, 2] and all(a["guide"] > 0 for a in curves["align"])
    assert curves["step"] == [] and curves["loss"] == []
    cfg.iterations = 3  # resume into the reconstruction steps: the whole network trains on its loss
    model, curves = train(cfg, samples, resume=True, progress=False)
    assert curves["step"] == [3] and len(curves["align"]) == 2
    assert not torch.equal(after["reconstruction.conv_last.weight"], model.state_dict()["reconstruction.conv_last.weight"])
    assert not model.interpolation.align1.l1.dcn.offset_mask._forward_hooks
    cfg.run_dir = str(tmp_path / "other")
    with pytest.raises(ValueError, match="flows"):
        train(cfg, WindowSamples(FootageWindows([frames]), lr_size=8), progress=False)


def test_kaiming_alignment_redraws_only_the_extraction_and_interpolation_and_keeps_the_zero_starts():
    from zsm.training.initialise import kaiming_alignment

    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(1)
    kaiming_alignment(model)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("extractor.", "interpolation.")) for k in changed)
    assert not any(".blocks." in k or "offset_mask" in k for k in changed)  # their own starts: 0.1-scaled, zero
    assert "interpolation.align1.l1.dcn.weight" in changed and "extractor.conv_first.weight" in changed
    assert after["interpolation.align1.l1.dcn.offset_mask.weight"].abs().max() == 0
    # the point: the offset features keep their size through the convolutions (std 0.04 -> ~0.5 with PyTorch's start)
    kept = {}
    model.interpolation.align1.l1.dcn.offset_mask.register_forward_hook(lambda m, i, o: kept.update(x=i[0]))
    with torch.no_grad():
        model(torch.rand(1, 3, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert kept["x"].std() > 0.2
    fan_in = 2 * 8 * 9  # offset_conv1 of a level: [a, b] of 8 channels each, 3x3
    std = after["interpolation.align1.l3.offset_conv1.weight"].std().item()
    assert std == pytest.approx(math.sqrt(2 / (1 + 0.1 ** 2) / fan_in), rel=0.15)


def test_the_agreement_is_one_along_the_motion_and_minus_one_against_it():
    big = texture(80, 160, 7)
    frames = np.stack([big[8:40, 3 * i: 3 * i + 48] for i in range(4)])  # the content moves 3 px a frame to the left
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    # direction 1 samples frame i: frame i+1 at p shows frame i at p + 3, so along the motion is dx > 0
    with_constant_offsets(model, 0.0, 1.5, directions=(1,))
    with_constant_offsets(model, 0.0, -1.5, directions=(2,))
    along = offset_flow_agreement(model, frames)
    assert along["cosine"] > 0.9 and along["moving"] > 0.8 and along["pairs"] == 3
    assert along["flow_px"] == pytest.approx(3.0, abs=0.5) and along["offset_px"] == pytest.approx(1.5, abs=1e-4)
    assert along["along"] == pytest.approx(1.0, abs=0.2)
    with_constant_offsets(model, 0.0, -1.5, directions=(1,))
    with_constant_offsets(model, 0.0, 1.5, directions=(2,))
    assert offset_flow_agreement(model, frames)["cosine"] < -0.9
    with pytest.raises(ValueError, match="moves"):
        offset_flow_agreement(model, np.repeat(frames[:1], 3, axis=0))
    # against a given (true) flow instead of DIS: exactly 3 px, and NaN pixels do not count
    truth = np.zeros((3, 2, 2, 32, 48), np.float32)
    truth[:, 0, 1], truth[:, 1, 1] = 3.0, -3.0  # dx of f(i+1 -> i) and of f(i -> i+1)
    truth[:, :, :, :, :8] = np.nan
    with_constant_offsets(model, 0.0, 1.5, directions=(1,))
    with_constant_offsets(model, 0.0, -1.5, directions=(2,))
    exact = offset_flow_agreement(model, frames, flows=truth)
    assert exact["cosine"] == pytest.approx(1.0) and exact["along"] == pytest.approx(1.0, abs=1e-4)
    assert exact["flow_px"] == pytest.approx(3.0) and exact["moving"] == pytest.approx(40 / 48)
    with pytest.raises(ValueError, match="flows must be"):
        offset_flow_agreement(model, frames, flows=truth[:2])


def test_offsets_over_time_measure_each_moment_against_its_share_of_the_motion(monkeypatch):
    from zsm.viz import offsets_over_time, record_model_offsets

    big = texture(80, 160, 7)
    frames = np.stack([big[8:40, 3 * i: 3 * i + 48] for i in range(3)])  # 3 px a frame to the left
    model = zsm.ZoomingSlowMo(dataclasses.replace(zsm.ZSMConfig.tiny(), time_modulation=True)).eval()
    with_constant_offsets(model, 0.0, 1.5, directions=(1,))  # the same offsets at every t: half the motion
    with_constant_offsets(model, 0.0, -1.5, directions=(2,))
    times = (0.25, 0.5, 0.75)
    seen = []

    def recording(*args, **kwargs):
        seen.append(kwargs.get("times"))
        return record_model_offsets(*args, **kwargs)

    monkeypatch.setattr("zsm.viz.agreement.record_model_offsets", recording)
    rows = offsets_over_time(model, frames, times)
    assert seen == [times, times]  # each pair once, at all the moments
    assert [r["time"] for r in rows] == list(times)
    for r in rows:
        assert r["cosine_1"] > 0.9 and r["cosine_2"] > 0.9
        assert r["length_1"] == pytest.approx(1.5, abs=1e-4) and r["length_2"] == pytest.approx(1.5, abs=1e-4)
        assert r["flow_px"] == pytest.approx(3.0, abs=0.5)
        assert r["along_1"] == pytest.approx(0.5, abs=0.1) and r["along_2"] == pytest.approx(0.5, abs=0.1)
    with pytest.raises(ValueError, match="moves"):
        offsets_over_time(model, np.repeat(frames[:1], 2, axis=0), times)
    with pytest.raises(ValueError, match="between 0 and 1"):
        offsets_over_time(model, frames, (0.5, 1.0))


def test_channels_last_computes_the_same_network():
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny_skip())
    x = torch.rand(2, 3, 3, 16, 16)
    plain = model(x)
    fast = model.to(memory_format=torch.channels_last)(x)
    assert torch.allclose(plain, fast, atol=1e-5)


def test_train_refuses_a_validation_range_that_overlaps_the_training_frames(video, tmp_path, capsys):
    from zsm.cli import main

    folder, _ = video
    argv = ["train", "--videos", f"{folder}:0-20", "--run-dir", str(tmp_path / "run"), "--iterations", "1"]
    assert main(argv + ["--val-clip", f"{folder}:15-25"]) == 2
    assert "overlaps its frames" in capsys.readouterr().err
    assert main(argv + ["--val-clip", str(folder)]) == 2
    assert main(argv + ["--strides", "0"]) == 2
    assert "--strides" in capsys.readouterr().err
    assert main(argv + ["--synthetic", "2"]) == 2
    assert "--synthetic" in capsys.readouterr().err
    assert main(argv + ["--stills", str(tmp_path / "no-such-photos")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsm: error: --stills: ") and "no-such-photos: no such image or folder" in err
    small = tmp_path / "small.png"
    write_frames(tmp_path / "tiny", np.zeros((1, 100, 300, 3), np.uint8))
    (tmp_path / "tiny" / "00000000.png").rename(small)
    assert main(argv + ["--stills", str(small)]) == 2
    assert "small.png is 300x100; synthetic motion needs at least 256" in capsys.readouterr().err
    assert main(argv + ["--stills", str(small), "--synthetic", "0.5", "--stills-share", "0.75"]) == 2
    assert "--stills-share must be a fraction from 0 to 1 - --synthetic (0.5)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_evaluate_offsets_reports_the_agreement_of_each_network(video, tmp_path, capsys):
    import json

    from zsm.cli import main
    from zsm.data.video import write_video

    _, frames = video
    write_video(tmp_path / "clips" / "pan.mp4", frames[::3][:9], fps=10)  # 3 HR px a frame: 1.5 LR px between inputs
    model = with_constant_offsets(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), 0.0, 0.25, directions=(1,))
    zsm.save_checkpoint(model, tmp_path / "along.pt")
    out = tmp_path / "t.json"
    assert main(["evaluate", "--footage", str(tmp_path / "clips"), "--frames", "9", "--weights",
                 str(tmp_path / "along.pt"), "--no-ssim", "--offsets", "--out", str(out)]) == 0
    assert "against DIS flow" in capsys.readouterr().out
    table = json.loads(out.read_text())
    (row,) = table["offsets"]
    assert row["clip"] == "footage/pan" and row["cosine_1"] > 0.9  # the content moves left: f(1 -> 0) points right

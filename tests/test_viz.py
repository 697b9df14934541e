"""Offset pictures: arrows point where the offsets say, in frame pixels; selections fail clearly; the explorer
redraws on every control and shows exactly what render() computes, deterministically."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

import zsm  # noqa: E402
from zsm import viz  # noqa: E402
from zsm.net.dcn import DeformConv  # noqa: E402
from zsm.viz.records import OffsetRecord  # noqa: E402

G, K = 2, 9


def record(level=1, h=8, w=12, offset=None, stage="interpolation", pair=(0, 1), direction=1, frame=1,
           time_direction=None, batch=1):
    """A synthetic record: offsets (B, G, K, 2, h, w) zero unless given, masks 0.5."""
    if offset is None:
        offset = torch.zeros(batch, G, K, 2, h, w)
    return OffsetRecord(module="test", stage=stage, frame=frame, pair=pair, time_direction=time_direction,
                        level=level, direction=direction, offset=offset, mask=torch.full((batch, G, K, h, w), 0.5))


def quiver_of(ax) -> Quiver:
    found = [c for c in ax.collections if isinstance(c, Quiver)]
    assert len(found) == 1
    return found[0]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_tap_grid_is_row_major_from_top_left():
    grid = viz.tap_grid(9)
    assert grid[0].tolist() == [-1, -1] and grid[4].tolist() == [0, 0] and grid[5].tolist() == [0, 1]
    with pytest.raises(ValueError, match="square kernel"):
        viz.tap_grid(8)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_arrows_of_one_tap_run_from_its_regular_position_by_its_offset_in_frame_pixels(level):
    f = 2 ** (level - 1)
    h, w = 12 // f, 16 // f
    offset = torch.zeros(1, G, K, 2, h, w)
    offset[0, 1, 3, 0] = 0.5  # group 1, tap 3 (regular position (0, -1)): dy
    offset[0, 1, 3, 1] = -1.25  # dx
    r = record(level=level, h=h, w=w, offset=offset)
    ax = viz.draw_offsets(r, np.zeros((12, 16, 3)), group=1, tap=3, stride=f)  # every level pixel
    q = quiver_of(ax)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    np.testing.assert_allclose(q.X, ((cols - 1) * f).ravel()[cols.ravel() >= 1])  # tails left of the frame dropped
    np.testing.assert_allclose(q.Y, (rows * f).ravel()[cols.ravel() >= 1])
    np.testing.assert_allclose(q.U, -1.25 * f)
    np.testing.assert_allclose(q.V, 0.5 * f)
    assert q.angles == "xy" and q.scale_units == "xy" and q.scale == 1  # lengths in data (= frame pixel) units
    assert ax.yaxis_inverted()  # image coordinates: +dy points down on screen, as a row offset does


def test_the_mean_over_taps_starts_at_the_pixel_and_group_none_averages_groups():
    offset = torch.zeros(1, G, K, 2, 4, 6)
    offset[0, :, :, 0] = torch.from_numpy(viz.tap_grid(K)[:, 0]).float()[None, :, None, None]  # taps spread apart
    offset[0, 0, :, 1] += 2.0  # group 0 moves right by 2, group 1 not at all
    r = record(level=2, h=4, w=6, offset=offset)
    arrows = viz.offset_arrows(r, group=0, tap=None, stride=2)
    np.testing.assert_allclose(arrows.v, 0.0, atol=1e-6)  # the spread cancels in the mean
    np.testing.assert_allclose(arrows.u, 4.0)  # 2 level-2 pixels = 4 frame pixels
    assert arrows.x.tolist()[:3] == [0.0, 2.0, 4.0] and set(arrows.y.tolist()) == {0.0, 2.0, 4.0, 6.0}
    np.testing.assert_allclose(viz.offset_arrows(r, group=None, stride=2).u, 2.0)


def test_stride_is_in_frame_pixels_and_gain_scales_the_arrows():
    offset = torch.ones(1, G, K, 2, 8, 8)
    r = record(level=2, h=8, w=8, offset=offset)
    assert viz.offset_arrows(r, stride=8).step == 4 and len(viz.offset_arrows(r, stride=8).x) == 4
    assert viz.offset_arrows(r, stride=1).step == 1  # never finer than the level's pixels
    q = quiver_of(viz.draw_offsets(r, gain=3.0, stride=4))
    np.testing.assert_allclose(q.U, 6.0)  # 1 level-2 pixel x 2 x gain 3
    with pytest.raises(ValueError, match="stride"):
        viz.offset_arrows(r, stride=0)


def test_magnitude_is_the_mean_tap_length_in_frame_pixels():
    offset = torch.zeros(1, G, K, 2, 4, 4)
    offset[0, :, :, 0], offset[0, :, :, 1] = 3.0, 4.0  # |(3, 4)| = 5 level pixels
    offset[0, 1, 0] = 0.0  # one tap of group 1 stays put
    r = record(level=3, h=4, w=4, offset=offset)
    np.testing.assert_allclose(viz.offset_magnitude(r, group=0), 20.0)  # x 4 at level 3
    np.testing.assert_allclose(viz.offset_magnitude(r, group=1, frame_pixels=False), 5.0 * 8 / 9, rtol=1e-6)
    np.testing.assert_allclose(viz.offset_magnitude(r, group=1, tap=0), 0.0)
    fig = viz.plot_magnitudes([r, record(level=1, h=16, w=16)], group=0)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [im.get_clim() for im in images] == [(0, 20.0)] * 2  # one colour scale for all levels
    assert images[0].get_array().shape == (16, 16)  # sorted by level: L1 first


def test_tap_grid_drawing_shows_the_frame_mean_reading_positions():
    offset = torch.zeros(1, G, K, 2, 4, 4)
    offset[0, 0, 0, 1] = 1.0  # tap 0 of group 0 reads one pixel to the right of (-1, -1)
    ax = viz.draw_tap_grid(record(h=4, w=4, offset=offset), group=0)
    moved = ax.collections[1].get_offsets()  # (x, y) of the red dots
    assert tuple(moved[0]) == (0.0, -1.0) and tuple(moved[8]) == (1.0, 1.0)


def test_bad_group_tap_batch_and_frame_are_refused_with_what_was_expected():
    r = record()
    with pytest.raises(ValueError, match=r"group 2 out of range: the record has G=2"):
        viz.draw_offsets(r, group=2)
    with pytest.raises(ValueError, match=r"tap 9 out of range.*K=9"):
        viz.offset_magnitude(r, tap=9)
    with pytest.raises(ValueError, match=r"batch 1 out of range"):
        viz.offset_arrows(r, batch=1)
    with pytest.raises(ValueError, match="pass the LR input frame"):
        viz.draw_offsets(r, np.zeros((32, 48, 3)))
    with pytest.raises(TypeError, match="OffsetRecord"):
        viz.offset_arrows("not a record")


def synthetic_records():
    out = []
    for pair in [(0, 1), (1, 2)]:
        for level in (1, 2, 3):
            for direction in (1, 2):
                out.append(record(level=level, h=8 // 2 ** (level - 1), w=8 // 2 ** (level - 1), pair=pair,
                                  frame=pair[0] * 2 + 1, direction=direction))
    for t in ("forward", "backward"):
        out.append(record(stage="lstm_hidden", pair=None, frame=2, time_direction=t, level=1, h=8, w=8))
    return viz.OffsetRecords(out)


def test_select_by_stage_pair_frame_time_direction_level_and_direction():
    records = synthetic_records()
    assert len(records.select(stage="interpolation")) == 12
    assert len(records.select(pair=(1, 2), direction=2)) == 3
    assert len(records.select(pair=[1, 2], direction=2)) == 3  # a list is a pair too
    assert records.one(stage="lstm_hidden", time_direction="backward").time_direction == "backward"
    assert records.one(pair=(0, 1), level=3, direction=1).offset.shape[-1] == 2
    assert records.select(frame=3).pairs == [(1, 2)]
    assert records.stages == ["interpolation", "lstm_hidden"] and records.levels == [1, 2, 3]
    many = viz.OffsetRecords(record(pair=(i, i + 1), frame=2 * i + 1) for i in (10, 2, 0))
    assert many.pairs == [(0, 1), (2, 3), (10, 11)] and many.frames == [1, 5, 21]  # numbers, not strings, order


def test_select_errors_name_the_unknown_value_or_what_the_records_hold():
    records = synthetic_records()
    with pytest.raises(ValueError, match=r"unknown level 4; pyramid levels are 1"):
        records.select(level=4)
    with pytest.raises(ValueError, match=r"unknown stage 'lstm'; expected one of 'interpolation'"):
        records.select(stage="lstm")
    with pytest.raises(ValueError, match=r"unknown time_direction 'up'"):
        records.select(time_direction="up")
    with pytest.raises(ValueError, match=r"unknown direction 3"):
        records.select(direction=3)
    with pytest.raises(ValueError, match=r"no offset record with stage='lstm_cell'.*stages \['interpolation', 'lstm_hidden'\]"):
        records.select(stage="lstm_cell")
    with pytest.raises(ValueError, match=r"no offset record with pair=\(5, 6\).*pairs \[\(0, 1\), \(1, 2\)\]"):
        records.select(pair=(5, 6))
    with pytest.raises(ValueError, match=r"6 records match .* expected one"):
        records.one(pair=(0, 1))
    with pytest.raises(TypeError, match="OffsetRecord"):
        viz.OffsetRecords([1, 2])


@pytest.fixture(scope="module")
def tiny_model():
    """The tiny network with random offset predictors, so that every record holds real, different offsets."""
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    for module in model.modules():
        if isinstance(module, DeformConv):
            torch.nn.init.normal_(module.offset_mask.weight, std=0.2)
    return model


@pytest.fixture(scope="module")
def clip():
    torch.manual_seed(1)
    return torch.rand(3, 3, 16, 16)  # (T, 3, H, W)


def test_recording_only_the_interpolation_runs_two_stages_and_gives_the_whole_passs_records(tiny_model, clip):
    whole = viz.record_model_offsets(tiny_model, clip).select(stage="interpolation")
    calls = []
    handle = tiny_model.convlstm.register_forward_hook(lambda *args: calls.append(1))
    try:
        alone = viz.record_model_offsets(tiny_model, clip, stage="interpolation")
    finally:
        handle.remove()
    assert calls == []  # the ConvLSTM (and what follows it) never ran
    assert len(alone) == len(whole) == 6 * (clip.shape[0] - 1)
    for a, w in zip(alone, whole):
        assert (a.module, a.pair, a.level, a.direction) == (w.module, w.pair, w.level, w.direction)
        torch.testing.assert_close(a.offset, w.offset, rtol=0, atol=0)
        torch.testing.assert_close(a.mask, w.mask, rtol=0, atol=0)
    with pytest.raises(ValueError, match="stage must be"):
        viz.record_model_offsets(tiny_model, clip, stage="lstm_cell")


def test_recording_a_model_gives_every_stage_level_and_direction(tiny_model, clip):
    records = viz.record_model_offsets(tiny_model, clip)
    t = clip.shape[0]
    assert len(records) == 6 * (t - 1) + 2 * 2 * 6 * (2 * t - 1)
    assert records.stages == list(viz.STAGES) and records.pairs == [(0, 1), (1, 2)]
    assert records.one(stage="lstm_cell", frame=4, time_direction="forward", level=3, direction=2).offset.shape == (
        1, 2, 9, 2, 4, 4)
    frame, label = viz.record_frame(viz.draw._as_frames(clip), records.one(stage="lstm_hidden", frame=3,
                                                                      time_direction="forward", level=1, direction=1))
    np.testing.assert_allclose(frame, clip[1:3].mean(0).permute(1, 2, 0).numpy(), atol=1e-6)
    assert "mean of input frames 1, 2" in label
    with pytest.raises(TypeError, match="clip tensor"):
        viz.record_model_offsets(tiny_model, clip.numpy())


@pytest.fixture(scope="module")
def timed_model():
    """A tiny time-modulated network with random offset predictors and modulation: offsets that depend on t."""
    from test_time_modulation import perturb_time_modulation, timed

    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny())).eval()
    for module in model.modules():
        if isinstance(module, DeformConv):
            torch.nn.init.normal_(module.offset_mask.weight, std=0.2)
    perturb_time_modulation(model)
    return model


def test_a_pass_at_several_moments_records_each_moment_as_a_pass_at_that_moment_alone(timed_model, clip):
    times = (0.25, 0.5, 0.75)
    t, k = clip.shape[0], len(times)
    records = viz.record_model_offsets(timed_model, clip, times=times)
    assert len(records) == 6 * (t - 1) * k + 2 * 2 * 6 * (t + (t - 1) * k)
    assert records.times == list(times) and records.pairs == [(0, 1), (1, 2)]
    interpolation = records.select(stage="interpolation")
    assert [r.frame for r in interpolation.select(level=1, direction=1)] == [1, 2, 3, 5, 6, 7]  # T + (T-1)k = 9
    for moment in times:  # the interpolation makes each moment on its own: the same offsets as a pass at it alone
        alone = viz.record_model_offsets(timed_model, clip, stage="interpolation", times=(moment,))
        for r in alone:
            assert r.time == moment and r.moments == 1
            same = interpolation.one(pair=r.pair, level=r.level, direction=r.direction, time=moment)
            torch.testing.assert_close(same.offset, r.offset, rtol=0, atol=0)
    quarter = interpolation.one(pair=(0, 1), level=1, direction=1, time=0.25)
    half = interpolation.one(pair=(0, 1), level=1, direction=1, time=0.5)
    assert not torch.equal(quarter.offset, half.offset)  # the modulation moves the offsets with t
    steps = records.select(stage="lstm_hidden", time_direction="forward", level=1, direction=1)
    assert [r.frame for r in steps] == list(range(t + (t - 1) * k))
    assert [r.time for r in steps] == [None, *times, None, *times, None]
    frames = viz.draw._as_frames(clip)
    frame, label = viz.record_frame(frames, steps[5])  # the frame at 1 + 0.25
    np.testing.assert_allclose(frame, 0.75 * frames[1] + 0.25 * frames[2])
    assert label == "blend of input frames 1, 2 at t = 0.25"
    assert viz.record_frame(frames, steps[4])[1] == "input frame 1"


def test_the_explorer_offers_each_pair_at_each_moment(timed_model, clip):
    records = viz.record_model_offsets(timed_model, clip, times=(0.25, 0.75))
    explorer = viz.OffsetExplorer(clip, records)
    labels = [label for label, _ in explorer.controls["pair"].options]
    assert labels == ["frames 0 and 1 at t = 0.25 (output 1)", "frames 0 and 1 at t = 0.75 (output 2)",
                      "frames 1 and 2 at t = 0.25 (output 4)", "frames 1 and 2 at t = 0.75 (output 5)"]
    assert explorer.render({"pair": (1, 2, 0.75)}) != explorer.render({"pair": (1, 2, 0.25)})


def test_a_batch_of_clips_at_different_moments_is_refused_for_recording(timed_model, clip):
    x = clip[None].expand(2, -1, -1, -1, -1)
    with pytest.raises(ValueError, match="same moments"):
        viz.record_model_offsets(timed_model, x, times=torch.tensor([[0.25], [0.75]]))
    assert not timed_model._forward_pre_hooks and not timed_model._forward_hooks  # no hook left behind


def test_the_moment_explorer_shows_each_moments_frame_and_offsets_and_redraws_on_every_control(timed_model, clip):
    times = tuple(j / 8 for j in range(1, 8))
    pair = clip[:2]
    explorer = viz.MomentExplorer.from_model(timed_model, pair, times)
    assert explorer.times == list(times) and explorer.settings()["time"] == 0.5
    labels = [label for label, _ in explorer.controls["time"].options]
    assert labels == ["1/8", "1/4", "3/8", "1/2", "5/8", "3/4", "7/8"]
    with torch.no_grad():
        made = timed_model(pair[None], times=times)[0, 1:8].clamp(0, 1)  # the 7 frames between the two inputs
    np.testing.assert_allclose(explorer.outputs, made.permute(0, 2, 3, 1).double().numpy(), atol=1e-6)
    records = viz.record_model_offsets(timed_model, pair, times=times)
    for row in explorer.lengths(level=2):  # the arrows' mean length, from the arrows themselves
        for d in (1, 2):
            arrows = viz.offset_arrows(records.one(stage="interpolation", level=2, direction=d, time=row["time"]),
                                       group=None, stride=1)
            assert row[f"direction_{d}"] == pytest.approx(float(np.hypot(arrows.u, arrows.v).mean()), rel=1e-5)
    start = explorer.image.value
    assert start == explorer.render({}) == viz.MomentExplorer.from_model(timed_model, pair, times).render({})
    seen = {start}
    for name, value in (("time", 0.125), ("level", 2), ("group", 1), ("density", 4)):
        explorer.controls[name].value = value
        assert explorer.image.value == explorer.render(explorer.settings())
        assert explorer.image.value not in seen, name
        seen.add(explorer.image.value)
    for settings, fragment in (({"time": 0.3}, "no moment 0.3"), ({"tap": 1}, "unknown settings"),
                               ({"group": 5}, "group must be"), ({"density": 3}, "density must be")):
        with pytest.raises(ValueError, match=fragment):
            explorer.render(settings)
    with pytest.raises(ValueError, match="two frames"):
        viz.MomentExplorer.from_model(timed_model, clip, times)
    with pytest.raises(ValueError, match="one output frame per moment"):
        viz.MomentExplorer(pair, explorer.outputs[:3], records)
    named = viz.MomentExplorer(pair, explorer.outputs, records, names=("frame 112", "frame 116"))
    assert named.render({}) != start
    with pytest.raises(ValueError, match="name the two inputs"):
        viz.MomentExplorer(pair, explorer.outputs, records, names=("one",))
    assert viz.moment_label(0.3) == "3/10" and viz.moment_label(1 / 3) == "1/3" and viz.moment_label(0.123) == "0.123"


def test_recording_refuses_a_model_that_is_not_a_zooming_slow_mo_and_leaves_no_hook():
    with pytest.raises(TypeError, match="expected a zsm.ZoomingSlowMo to record offsets from, got Conv2d"):
        viz.record_model_offsets(torch.nn.Conv2d(3, 3, 3), torch.rand(2, 3, 8, 8))
    torch.manual_seed(0)
    renamed = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny())
    renamed.interpolation.add_module("extra", DeformConv(8, 8, 8, 2))  # a DCN whose name says no stage
    with pytest.raises(ValueError, match=r"cannot tell the stage of the deformable convolution 'interpolation\.extra'"):
        with zsm.record_offsets(renamed):
            pass
    del renamed.interpolation.extra
    renamed.convlstm.lstm.align_cell.interpolation.align2.l1.dcn = torch.nn.Identity()  # one DCN fewer
    with pytest.raises(ValueError, match=r"one deformable convolution per stage, level and direction \(18 in a "
                                         r"zsm.ZoomingSlowMo\), found 17"):
        with zsm.record_offsets(renamed):
            pass
    assert not [m for m in renamed.modules() if m._forward_hooks or m._forward_pre_hooks]


CONTRACT = ["stage", "pair", "level", "direction", "group", "tap", "density"]


@pytest.fixture(scope="module")
def explorer(tiny_model, clip):
    return viz.OffsetExplorer.from_model(tiny_model, clip)


def test_explorer_exposes_the_controls_image_and_widget_of_its_contract(explorer):
    import ipywidgets

    assert list(explorer.controls) == CONTRACT
    assert all(isinstance(c, ipywidgets.ValueWidget) and c.description for c in explorer.controls.values())
    assert isinstance(explorer.image, ipywidgets.Image) and explorer.image.format == "png"
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert isinstance(explorer.widget, ipywidgets.Box) and explorer.image in explorer.widget.children
    assert explorer.settings() == {name: c.value for name, c in explorer.controls.items()}
    assert explorer.image.value == explorer.render(explorer.settings())


@pytest.mark.parametrize("name", CONTRACT)
def test_changing_any_control_redraws_the_image_as_render_does(explorer, name):
    control = explorer.controls[name]
    before = explorer.image.value
    values = [v for _, v in control.options]
    control.value = values[(values.index(control.value) + 1) % len(values)]
    assert explorer.image.value != before
    assert explorer.image.value == explorer.render(explorer.settings())


def test_changing_stage_offers_that_stages_pairs_and_keeps_them_consistent(explorer):
    explorer.controls["stage"].value = "interpolation"
    explorer.controls["stage"].value = "lstm_cell"
    assert explorer.controls["pair"].value == ("forward", 0)  # the first step of the stage
    explorer.controls["pair"].value = ("backward", 3)
    explorer.controls["stage"].value = "lstm_hidden"
    assert explorer.controls["pair"].value == ("backward", 3)  # hidden <-> cell keeps the step
    assert ("backward", 4) in [v for _, v in explorer.controls["pair"].options]
    explorer.controls["stage"].value = "interpolation"
    assert [v for _, v in explorer.controls["pair"].options] == [(0, 1), (1, 2)]
    assert explorer.image.value == explorer.render(explorer.settings())


def test_render_is_pure_and_deterministic(tiny_model, clip, explorer):
    settings = {"stage": "lstm_hidden", "pair": ("backward", 3), "level": 2, "direction": 2, "group": 1, "tap": 4,
                "density": 2}
    first = explorer.render(settings)
    explorer._cache.clear()
    assert explorer.render(settings) == first
    fresh = viz.OffsetExplorer.from_model(tiny_model, clip)  # a new explorer, a new figure: the same pixels
    assert fresh.render(settings) == first
    assert explorer.render({**settings, "tap": 5}) != first


def test_render_refuses_settings_it_cannot_show(explorer):
    with pytest.raises(ValueError, match=r"unknown settings \['colour'\]"):
        explorer.render({"colour": "red"})
    with pytest.raises(ValueError, match=r"no record for stage 'interpolation', pair \(2, 3\)"):
        explorer.render({"stage": "interpolation", "pair": (2, 3)})
    with pytest.raises(ValueError, match="group 2 out of range"):
        explorer.render({"group": 2})
    with pytest.raises(ValueError, match="density must be"):
        explorer.render({"density": 3})


def test_explorer_of_interpolation_records_only_has_no_stage_control(tiny_model, clip):
    records = viz.record_model_offsets(tiny_model, clip).select(stage="interpolation")
    explorer = viz.OffsetExplorer(clip, records, gain=2.0)
    assert list(explorer.controls) == CONTRACT[1:]
    assert explorer.image.value == explorer.render(explorer.settings())
    with pytest.raises(ValueError, match="no offset records"):
        viz.OffsetExplorer(clip, [])
    with pytest.raises(ValueError, match="the records need 3 input frames, got 2"):
        viz.OffsetExplorer(clip[:2], records)
    with pytest.raises(ValueError, match="pass the LR input frame"):
        viz.OffsetExplorer(torch.rand(3, 3, 64, 64), records)


def test_importing_zsm_viz_needs_neither_matplotlib_nor_ipywidgets(monkeypatch):
    import subprocess
    import sys

    code = "import sys, zsm.viz; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'zsm\[viz\]'"):
        viz.draw_offsets(record())


# The explorers the chapters show, built by the chapters' own code (tests/chapter_code.py runs it here): chapter 3
# explores the interpolation's records (no stage control), chapter 4 the ConvLSTM's (with one).
CHAPTERS = ["03_feature_interpolation.ipynb", "04_deformable_convlstm.ipynb"]


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda name: name[:2])
def chapter_explorer(request):
    from chapter_code import BOOK, run_chapter

    return run_chapter(BOOK / request.param, through="viz.OffsetExplorer(")["explorer"]


def test_the_chapters_explorer_redraws_for_every_option_of_every_control(chapter_explorer):
    """What a reader of the chapter does in Jupyter, without a browser: each control through all its options, one
    control at a time, and back; after every change the image is new and is what render() draws for the controls."""
    explorer = chapter_explorer
    start = explorer.settings()
    assert set(start) == set(CONTRACT) - ({"stage"} if len(explorer.records.stages) == 1 else set())
    as_rendered = bytes(explorer.image.value) == explorer.render(start)
    assert as_rendered, f"as the chapter shows it, the explorer's image is not what render() draws for {start}"
    for name, control in explorer.controls.items():
        original = control.value
        for value in [v for _, v in control.options if v != original] + [original]:
            before = bytes(explorer.image.value)
            control.value = value
            settings = explorer.settings()
            assert settings[name] == value
            shown = bytes(explorer.image.value)
            changed, as_rendered = shown != before, shown == explorer.render(settings)
            assert changed, f"{name} = {value!r}: the image did not change"
            assert as_rendered, f"{name} = {value!r}: the image is not what render() draws for {settings}"
    assert explorer.settings() == start

"""Facts about the evaluation protocol (zsm.eval.evaluate, zsm.eval.sets) at any moment between two frames."""
import json
import math
import os

import numpy as np
import pytest

from zsm.data import make_pair
from zsm.data.resize import make_lr
from zsm.data.frames import write_frames
from zsm.data.video import write_video
from zsm.eval import BicubicAverage, FlowThenBicubic, evaluate, evaluate_clip, format_table, summarise
from zsm.eval.evaluate import held_out_validator, save_table, score_frames
from zsm.eval.metrics import psnr_y, ssim_y
from zsm.eval.sets import footage_set, vid4_set, vimeo_set

from test_baselines import translating_clip


def noisy_copies(truth, seed=0):
    """The truth with noise of a different strength on every frame, so every frame has its own score."""
    rng = np.random.default_rng(seed)
    noise = [rng.normal(0, 2 + 3 * i, truth.shape[1:]) for i in range(len(truth))]
    return [np.clip(t + n, 0, 255).round().astype(np.uint8) for t, n in zip(truth, noise)]


def test_score_frames_with_k_moments_finds_inputs_every_k_plus_1_and_each_moment_after_them():
    truth = np.random.default_rng(1).integers(0, 256, (9, 16, 12, 3), dtype=np.uint8)  # T = 3 inputs, k = 3
    outputs = noisy_copies(truth)
    psnrs = [psnr_y(o, t) for o, t in zip(outputs, truth)]
    ssims = [ssim_y(o, t) for o, t in zip(outputs, truth)]
    s = score_frames(outputs, truth, moments=3)
    assert s["psnr_y"] == pytest.approx(np.mean(psnrs))
    assert s["psnr_y_input"] == pytest.approx(np.mean([psnrs[0], psnrs[4], psnrs[8]]))
    assert s["psnr_y_interp"] == pytest.approx(np.mean([psnrs[i] for i in (1, 2, 3, 5, 6, 7)]))
    assert s["ssim_y_interp"] == pytest.approx(np.mean([ssims[i] for i in (1, 2, 3, 5, 6, 7)]))
    for j, at in enumerate(s["per_moment"], start=1):  # the frame at moment j of pair i is output 4i + j
        assert at == pytest.approx({"psnr_y": (psnrs[j] + psnrs[4 + j]) / 2, "ssim_y": (ssims[j] + ssims[4 + j]) / 2})


def test_score_frames_for_2x_is_the_even_and_odd_average_as_before():
    truth = np.random.default_rng(2).integers(0, 256, (7, 16, 12, 3), dtype=np.uint8)
    outputs = noisy_copies(truth)
    psnrs = np.array([psnr_y(o, t) for o, t in zip(outputs, truth)])
    s = score_frames(outputs, truth, ssim=False)
    assert s["psnr_y_input"] == float(psnrs[0::2].mean()) and s["psnr_y_interp"] == float(psnrs[1::2].mean())
    assert s["per_moment"] == [{"psnr_y": s["psnr_y_interp"], "ssim_y": pytest.approx(math.nan, nan_ok=True)}]


@pytest.mark.parametrize("frames, moments, fragment", [
    (8, 3, "8 frames are not T + (T-1)k for T >= 2 inputs and k = 3"),
    (4, 3, "k = 3"),
    (6, 1, "6 frames are not T + (T-1)k"),
    (5, 0, "moments must be a whole number >= 1"),
])
def test_score_frames_refuses_a_length_that_is_not_inputs_and_moments(frames, moments, fragment):
    truth = np.zeros((frames, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        score_frames(list(truth), truth, moments=moments)


@pytest.fixture(scope="module")
def quarter_clip():
    """A texture moving 2 HR px per frame, inputs every 4th frame: (3 LR inputs, 9 HR frames)."""
    return make_pair(translating_clip(frames=9, h=64, w=96, step=2), factor=4)


def test_evaluate_clip_scores_each_moment_and_flow_beats_averaging_at_every_one(quarter_clip):
    lr, hr = quarter_clip
    times = (0.25, 0.5, 0.75)
    flow = evaluate_clip(FlowThenBicubic(), lr, hr, "flow", ssim=False, times=times)
    average = evaluate_clip(BicubicAverage(), lr, hr, "average", ssim=False, times=times)
    assert flow.frames == average.frames == 3 + 2 * 3
    assert list(flow.per_time) == ["0.25", "0.5", "0.75"]
    assert flow.psnr_y_input == average.psnr_y_input  # the inputs are bicubic in both
    assert np.mean([at["psnr_y"] for at in flow.per_time.values()]) == pytest.approx(flow.psnr_y_interp)
    for t in flow.per_time:
        assert flow.per_time[t]["psnr_y"] > average.per_time[t]["psnr_y"] + 3, t
    # a cross-fade is worst half-way, where both neighbours are furthest from the truth
    fade = {t: at["psnr_y"] for t, at in average.per_time.items()}
    assert fade["0.5"] < min(fade["0.25"], fade["0.75"])


def test_evaluate_clip_for_2x_has_the_one_moment_one_half_and_the_keys_of_before():
    lr, hr = make_pair(translating_clip(frames=5, h=32, w=48))
    s = evaluate_clip(BicubicAverage(), lr, hr)
    assert s.per_time == {"0.5": {"psnr_y": s.psnr_y_interp, "ssim_y": s.ssim_y_interp}}
    assert list(s.as_dict()) == ["method", "clip", "frames", "psnr_y", "ssim_y", "psnr_y_input", "psnr_y_interp",
                                 "ssim_y_input", "ssim_y_interp", "fps", "per_time"]
    again = evaluate_clip(BicubicAverage(), lr, hr, times=(0.5,))
    assert (again.psnr_y, again.ssim_y_interp) == (s.psnr_y, s.ssim_y_interp)


def test_evaluate_clip_checks_the_truth_holds_every_moment(quarter_clip):
    lr, hr = quarter_clip
    with pytest.raises(ValueError, match=r"HR \(T \+ \(T-1\)k with k = 2, sh, sw, 3\)"):
        evaluate_clip(BicubicAverage(), lr, hr, times=(1 / 3, 2 / 3))
    with pytest.raises(ValueError, match=r"HR \(2T-1, sh, sw, 3\)"):
        evaluate_clip(BicubicAverage(), lr, hr)
    with pytest.raises(ValueError, match="strictly increasing"):
        evaluate_clip(BicubicAverage(), lr, hr, times=(0.75, 0.5, 0.25))
    with pytest.raises(ValueError, match="too close to be told apart"):
        evaluate_clip(BicubicAverage(), lr, hr, times=(0.25, 0.5, 0.50001))


def test_summary_tables_and_json_add_a_column_and_a_score_per_moment(quarter_clip, tmp_path):
    lr, hr = quarter_clip
    clips = {"a": (lr, hr), "b": (lr[:2], hr[:5])}
    scores = evaluate({"average": BicubicAverage()}, clips, ssim=False, times=(0.25, 0.5, 0.75))
    rows = summarise(scores)
    average = rows[-1]
    for t in ("0.25", "0.5", "0.75"):
        assert average["per_time"][t]["psnr_y"] == pytest.approx(np.mean([s.per_time[t]["psnr_y"] for s in scores]))
    table = format_table(rows).splitlines()
    assert table[0].split("  PSNR-Y interp  ")[1].split() == ["PSNR-Y", "t=0.25", "PSNR-Y", "t=0.5", "PSNR-Y",
                                                              "t=0.75", "frames/s"]
    assert f"{average['per_time']['0.75']['psnr_y']:.2f}" in table[-1]
    save_table(rows, tmp_path / "t.json")
    saved = json.loads((tmp_path / "t.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert saved["protocol"].endswith(", 3 frames between two inputs at t = 0.25, 0.5, 0.75")
    assert saved["rows"][-1]["per_time"]["0.5"] == {"psnr_y": average["per_time"]["0.5"]["psnr_y"], "ssim_y": None}


def test_the_2x_table_and_protocol_are_those_of_before(tmp_path):
    lr, hr = make_pair(translating_clip(frames=5, h=32, w=48))
    rows = summarise(evaluate({"average": BicubicAverage()}, {"a": (lr, hr)}, ssim=False))
    table = format_table(rows).splitlines()
    assert table[0].split() == ["clip", "method", "frames", "PSNR-Y", "SSIM-Y", "PSNR-Y", "in", "PSNR-Y", "interp",
                                "frames/s"]
    assert len(table) == 4
    save_table(rows, tmp_path / "t.json")
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["protocol"] == ("PSNR/SSIM on Y (BT.601), 8-bit, no border crop, windows of 4 inputs sharing one "
                                 "frame")
    assert saved["rows"][0]["per_time"] == {"0.5": {"psnr_y": rows[0]["psnr_y_interp"], "ssim_y": None}}


def test_the_held_out_validator_scores_each_moment_for_a_time_factor_above_2(tmp_path):
    write_frames(tmp_path / "clip", translating_clip(frames=9, h=32, w=48))
    scores = held_out_validator(tmp_path / "clip", frames=9, time_factor=4)(BicubicAverage())
    assert list(scores) == ["psnr_y", "psnr_y_input", "psnr_y_interp", "psnr_y_t0.25", "psnr_y_t0.5", "psnr_y_t0.75"]
    assert scores["psnr_y_interp"] == pytest.approx(np.mean([scores[f"psnr_y_t{t}"] for t in ("0.25", "0.5", "0.75")]))
    assert list(held_out_validator(tmp_path / "clip", frames=7)(BicubicAverage())) == ["psnr_y", "psnr_y_input",
                                                                                       "psnr_y_interp"]
    with pytest.raises(ValueError, match=r"\(T-1\)\*3\+1 HR frames \(4, 7, 10, ...\); got 9"):
        held_out_validator(tmp_path / "clip", frames=9, time_factor=3)


# ------------------------------------------------------------------------------------------------------------
# the sets
# ------------------------------------------------------------------------------------------------------------
def test_footage_with_time_factor_n_takes_every_nth_frame_as_input(tmp_path):
    frames = translating_clip(frames=7, h=32, w=32)
    write_video(tmp_path / "a.mp4", frames, fps=10)
    (lr, hr), = footage_set(tmp_path, frames=7, time_factor=3).values()
    assert lr.shape == (3, 8, 8, 3) and hr.shape == (7, 32, 32, 3)
    two, = footage_set(tmp_path, frames=7).values()
    three_from_two = make_pair(two[1], factor=3)  # the same decoded frames
    np.testing.assert_array_equal(lr, three_from_two[0])
    with pytest.raises(ValueError, match=r"with time factor 3, frames must be \(T-1\)\*3\+1 HR frames \(4, 7, 10"):
        footage_set(tmp_path, frames=9, time_factor=3)
    with pytest.raises(ValueError, match="frames must be odd"):
        footage_set(tmp_path, frames=8)
    with pytest.raises(ValueError, match=r"time factor must be a whole number >= 2 \(output frames per input frame "
                                         r"interval\), got 1"):
        footage_set(tmp_path, frames=7, time_factor=1)


def test_vid4_with_time_factor_n_takes_every_nth_lr_frame_and_the_hr_frames_they_span(tmp_path):
    gt = translating_clip(frames=8, h=16, w=16)
    write_frames(tmp_path / "GT" / "walk", gt)
    write_frames(tmp_path / "BIx4" / "walk", make_lr(gt))
    lr2, hr2 = vid4_set(tmp_path)["vid4/walk"]
    assert lr2.shape[0] == 4 and hr2.shape[0] == 7  # inputs 0, 2, 4, 6: frame 7 is past the last input
    lr3, hr3 = vid4_set(tmp_path, time_factor=3)["vid4/walk"]
    assert lr3.shape[0] == 3 and hr3.shape[0] == 7  # inputs 0, 3, 6
    np.testing.assert_array_equal(lr3, make_lr(gt)[[0, 3, 6]])
    np.testing.assert_array_equal(hr3, gt[:7])


def test_vimeo_septuplets_take_time_factors_that_divide_their_six_intervals(tmp_path):
    root = tmp_path / "vimeo"
    folder = root / "sequences" / "00001" / "0001"
    write_frames(folder, translating_clip(frames=7, h=32, w=32))
    for i in range(7):
        os.replace(folder / f"{i:08d}.png", folder / f"im{i + 1}.png")
    (root / "sep_testlist.txt").write_text("00001/0001\n")
    lr, hr = vimeo_set(root, time_factor=3)["vimeo/00001/0001"]
    assert lr.shape[0] == 3 and hr.shape[0] == 7
    assert vimeo_set(root)["vimeo/00001/0001"][0].shape[0] == 4
    for factor in (4, 5):
        with pytest.raises(ValueError, match=f"the time factor must be 2, 3 or 6, got {factor}"):
            vimeo_set(root, time_factor=factor)

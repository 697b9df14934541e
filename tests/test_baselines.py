"""Facts about zsm.eval.baselines: shapes of the network's interface, and flow interpolation beating frame averaging."""
import cv2
import numpy as np
import pytest
import torch

import zsm
from zsm.eval.baselines import BicubicAverage, FlowThenBicubic, flow_consistency, warp
from zsm.eval.metrics import psnr
from zsm.data.resize import imresize, make_lr


def translating_clip(frames=7, h=96, w=128, step=4, seed=0):
    """HR frames of a smooth random texture moving left by `step` pixels per frame (new content enters at the
    right edge): (frames, h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.random((h, w + step * frames, 3)).astype(np.float32), (0, 0), 6)
    texture = (texture - texture.min()) / (texture.max() - texture.min())
    return np.stack([(255 * texture[:, step * k: step * k + w]).round().astype(np.uint8) for k in range(frames)])


def test_flow_interpolation_finds_the_true_middle_frame_where_averaging_blurs_it():
    hr = translating_clip()  # 4 HR px per frame: the LR inputs (even frames) move 2 LR px, the middle 1 LR px
    lr = make_lr(hr[::2])  # (4, 24, 32, 3)
    flow_out, avg_out = FlowThenBicubic()(lr), BicubicAverage()(lr)  # (7, 96, 128, 3) uint8 each
    inner = (slice(16, -16), slice(16, -16))  # away from the edges, where content enters and leaves
    for k in (1, 3, 5):  # the interpolated frames
        gain = psnr(flow_out[k][inner], hr[k][inner]) - psnr(avg_out[k][inner], hr[k][inner])
        assert gain > 6, f"frame {k}: flow is only {gain:.1f} dB better than averaging"
    np.testing.assert_array_equal(flow_out[::2], avg_out[::2])  # the input frames are plain bicubic in both


def test_flow_interpolation_of_a_uniform_two_pixel_shift_is_the_one_pixel_shift_inside():
    hr = translating_clip(frames=3, step=8)  # LR inputs 2 px apart; the true middle is 1 LR px from each
    lr = make_lr(hr).astype(np.float32) / 255  # (3, 24, 32, 3): frame 1 is the true middle of frames 0 and 2
    middle = FlowThenBicubic().interpolate(lr[0], lr[2])
    error = np.abs(middle - lr[1])[4:-4, 4:-4]  # away from the edges, where content enters and leaves
    assert error.mean() < 0.002 and error.max() < 0.05  # (averaging: mean ~0.06, max ~0.25)


def naive_warp(image, flow, fraction):
    """warp() by its definition, one pixel at a time: bilinear between the four neighbours, edge repeated."""
    h, w = image.shape[:2]
    out = np.zeros_like(image, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            qx = min(max(x + fraction * flow[y, x, 0], 0), w - 1)
            qy = min(max(y + fraction * flow[y, x, 1], 0), h - 1)
            x0, y0 = int(np.floor(qx)), int(np.floor(qy))
            x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
            ax, ay = qx - x0, qy - y0
            out[y, x] = ((1 - ay) * ((1 - ax) * image[y0, x0] + ax * image[y0, x1])
                         + ay * ((1 - ax) * image[y1, x0] + ax * image[y1, x1]))
    return out


def test_warp_reads_the_image_where_the_flow_points():
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.random((20, 24, 3)).astype(np.float32), (0, 0), 2)
    flow = rng.uniform(-3, 3, (20, 24, 2)).astype(np.float32)  # fractional, some beyond the border
    for fraction in (1.0, 0.5):
        # cv2.remap keeps 5 bits of the fractional position (1/32 pixel): agreement to that, not to rounding
        np.testing.assert_allclose(warp(image, flow, fraction), naive_warp(image, flow, fraction), atol=2e-3)
    shift = np.zeros((20, 24, 2), np.float32)
    shift[..., 0], shift[..., 1] = 2, -1  # read 2 columns right and 1 row up
    np.testing.assert_array_equal(warp(image, shift)[1:, :-2], image[:-1, 2:])
    shift[..., 1] = -2
    np.testing.assert_array_equal(warp(image, shift, 0.5)[1:, :-1], image[:-1, 1:])  # half of (2, -2): (1, -1)
    with pytest.raises(ValueError, match="must be"):
        warp(image, flow[:10])


def test_flow_consistency_is_zero_for_flows_that_undo_each_other_and_the_mismatch_elsewhere():
    forward = np.zeros((16, 16, 2), np.float32)
    forward[..., 0] = 3  # a uniform translation by 3 columns...
    backward = -forward  # ...and its exact inverse
    np.testing.assert_allclose(flow_consistency(forward, backward), 0, atol=1e-6)
    wrong = backward.copy()
    wrong[4:8, 7:11] = (1, 2)  # a patch of b whose flow back is wrong: pixels of a that land in it see the error
    error = flow_consistency(forward, wrong)
    landing = np.zeros((16, 16), bool)
    landing[4:8, 4:8] = True  # a(p) lands at p + (3, 0), inside the wrong patch, for these columns
    np.testing.assert_allclose(error[landing], np.hypot(3 + 1, 2), rtol=1e-6)
    np.testing.assert_allclose(error[~landing & (np.arange(16) < 3)[None, :]], 0, atol=1e-6)


def test_bicubic_average_equals_upscaling_then_averaging_because_bicubic_is_linear():
    x = torch.rand(2, 3, 3, 6, 5, dtype=torch.float64)
    out = BicubicAverage()(x)
    assert out.shape == (2, 5, 3, 24, 20) and out.dtype == torch.float64
    up = imresize(x, 4)  # (2, 3, 3, 24, 20)
    torch.testing.assert_close(out[:, ::2], up)
    torch.testing.assert_close(out[:, 1::2], 0.5 * (up[:, :-1] + up[:, 1:]))


@pytest.mark.parametrize("model", [BicubicAverage(), FlowThenBicubic(), FlowThenBicubic(method="farneback")])
def test_the_tensor_and_uint8_interfaces_agree(model):
    frames = translating_clip(frames=3, h=32, w=48)  # (3, 32, 48, 3), used here as LR frames
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).unsqueeze(0).float() / 255  # (1, 3, 3, 32, 48)
    out = model(x)
    assert out.shape == (1, 5, 3, 128, 192) and out.dtype == torch.float32
    frames_out = model(frames)
    assert frames_out.shape == (5, 128, 192, 3) and frames_out.dtype == np.uint8
    expected = (out[0].permute(0, 2, 3, 1).clamp(0, 1) * 255).numpy()
    assert np.abs(frames_out - expected).max() < 1.5  # float32 vs float64, then rounding


def test_other_scales_and_tiny_frames_work():
    assert BicubicAverage(scale=2)(torch.rand(1, 2, 3, 5, 7)).shape == (1, 3, 3, 10, 14)
    assert FlowThenBicubic()(torch.rand(1, 2, 3, 5, 7)).shape == (1, 3, 3, 20, 28)  # DIS needs 12 px: padded


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: BicubicAverage()(torch.rand(1, 1, 3, 8, 8)), ValueError, "T >= 2"),
    (lambda: BicubicAverage()(torch.rand(1, 4, 4, 8, 8)), ValueError, "(B, T, 3, H, W)"),
    (lambda: BicubicAverage()(torch.rand(4, 3, 8, 8)), ValueError, "(B, T, 3, H, W)"),
    (lambda: FlowThenBicubic()(torch.zeros(1, 2, 3, 8, 8, dtype=torch.uint8)), TypeError, "float tensor"),
    (lambda: FlowThenBicubic()(np.zeros((1, 8, 8, 3), np.uint8)), ValueError, "T >= 2"),
    (lambda: FlowThenBicubic()(np.zeros((2, 8, 8, 3), np.int32)), TypeError, "uint8 frames or float"),
    (lambda: FlowThenBicubic()([[0]]), TypeError, "numpy frames (T, H, W, 3)"),
    (lambda: FlowThenBicubic(method="raft"), ValueError, "'dis' or 'farneback'"),
    (lambda: BicubicAverage(scale=0), ValueError, "scale"),
])
def test_bad_input_is_refused_with_a_message(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_a_markdown_table_writes_each_score_as_measured_and_aligns_text_left():
    from zsm.eval import markdown_table

    rows = [{"clip": "carphone", "method": "bicubic + average", "frames": 119, "psnr_y": 25.7149,
             "ssim_y": 0.81234567, "fps": float("nan")},
            {"clip": "a|b", "method": "zsm", "frames": 119, "psnr_y": 27.255, "ssim_y": 0.849, "fps": 3.0}]
    table = markdown_table(rows, {"clip": "clip", "method": "method", "frames": "frames", "psnr_y": "PSNR-Y (dB)",
                                  "ssim_y": "SSIM-Y", "fps": "frames/s"}, names={"bicubic + average": "average"})
    assert table.splitlines() == [
        "| clip | method | frames | PSNR-Y (dB) | SSIM-Y | frames/s |",
        "|---|---|---:|---:|---:|---:|",
        "| carphone | average | 119 | 25.71 | 0.8123 | n/a |",
        "| a\\|b | zsm | 119 | 27.25 | 0.8490 | 3.00 |",
    ]


# ------------------------------------------------------------------------------------------------------------
# any moment between two frames (chapter 8): times
# ------------------------------------------------------------------------------------------------------------
def test_at_t_one_half_both_baselines_compute_exactly_the_half_way_formulas():
    from zsm.data.resize import resize_axes
    from zsm.eval.baselines import optical_flow
    from zsm.data.pixels import to_uint8

    x = torch.from_numpy(translating_clip(frames=3, h=24, w=32)).permute(0, 3, 1, 2)[None].double() / 255
    average = 0.5 * (x[:, :-1] + x[:, 1:])  # (1, 2, 3, H, W)
    frames = x[0].permute(0, 2, 3, 1).float().numpy()  # (3, H, W, 3)
    flows = []
    for a, b in zip(frames[:-1], frames[1:]):
        grey = [cv2.cvtColor(to_uint8(i, "away"), cv2.COLOR_RGB2GRAY) for i in (a, b)]
        f01, f10 = optical_flow(grey[0], grey[1]), optical_flow(grey[1], grey[0])
        flows.append(0.5 * (warp(a, f10, 0.5) + warp(b, f01, 0.5)))
    flow = torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2)[None].double()  # (1, 2, 3, H, W)
    for model, middles in ((BicubicAverage(), average), (FlowThenBicubic(), flow)):
        expected = resize_axes(torch.stack((x[:, 0], middles[:, 0], x[:, 1], middles[:, 1], x[:, 2]), 1), 4.0)
        for times in (None, (0.5,), [0.5], torch.tensor([0.5])):
            assert torch.equal(model(x, times=times), expected)  # bit for bit, as before times existed
        assert torch.equal(model.middle_frames(x, torch.full((1, 1), 0.5, dtype=x.dtype))[:, :, 0],
                           model.middle_frames(x))


def test_bicubic_average_at_moment_t_is_the_blend_of_the_upscaled_neighbours():
    x = torch.rand(2, 3, 3, 6, 5, dtype=torch.float64)
    out = BicubicAverage()(x, times=(0.25, 0.6))
    assert out.shape == (2, 3 + 2 * 2, 3, 24, 20)
    up = imresize(x, 4)  # (2, 3, 3, 24, 20): bicubic is linear, so blending after upscaling is the same
    for i in range(2):  # input i, then i + 0.25, then i + 0.6
        torch.testing.assert_close(out[:, 3 * i], up[:, i])
        torch.testing.assert_close(out[:, 3 * i + 1], 0.75 * up[:, i] + 0.25 * up[:, i + 1])
        torch.testing.assert_close(out[:, 3 * i + 2], 0.4 * up[:, i] + 0.6 * up[:, i + 1])
    torch.testing.assert_close(out[:, 6], up[:, 2])
    rows = torch.tensor([[0.25, 0.6], [0.1, 0.9]], dtype=torch.float64)  # one row of moments per clip
    both = BicubicAverage()(x, times=rows)
    torch.testing.assert_close(both[:1], out[:1])
    torch.testing.assert_close(both[1, 1], 0.9 * up[1, 0] + 0.1 * up[1, 1])


def test_flow_interpolation_of_a_four_pixel_shift_at_a_quarter_is_the_one_pixel_shift_inside():
    frames = translating_clip(frames=5, h=48, w=64, step=1).astype(np.float32) / 255  # frame k: shifted k px
    made = FlowThenBicubic().interpolate_at(frames[0], frames[4], [0.25, 0.5, 0.75])  # (3, 48, 64, 3)
    for j in range(3):  # the frame at moment (j + 1) / 4 is the frame shifted j + 1 px
        error = np.abs(made[j] - frames[j + 1])[8:-8, 8:-8]  # away from the edges, where content enters
        blend = np.abs((0.75 - j / 4) * frames[0] + (0.25 + j / 4) * frames[4] - frames[j + 1])[8:-8, 8:-8]
        assert error.mean() < 0.0005 and error.max() < 0.01, (j, error.mean(), error.max())
        assert blend.mean() > 10 * error.mean()  # a cross-fade is far from it
    np.testing.assert_array_equal(FlowThenBicubic().interpolate(frames[0], frames[4], 0.25), made[0])


@pytest.mark.parametrize("model", [BicubicAverage(), FlowThenBicubic()])
def test_k_moments_give_t_plus_t_minus_1_times_k_frames_in_time_order(model):
    frames = translating_clip(frames=3, h=24, w=32)  # (3, 24, 32, 3) uint8, as LR frames
    half = model(frames)  # (5, 96, 128, 3): inputs at 0, 2, 4
    out = model(frames, times=(0.25, 0.5, 0.75))
    assert out.shape == (3 + 2 * 3, 96, 128, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0::4], half[0::2])  # inputs at 0, 4, 8
    np.testing.assert_array_equal(out[2::4], half[1::2])  # t = 0.5 at 2 and 6, as the half-way frames
    x = torch.from_numpy(frames).permute(0, 3, 1, 2)[None].float() / 255
    assert model(x, times=torch.tensor([1 / 3, 2 / 3])).shape == (1, 3 + 2 * 2, 3, 96, 128)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: BicubicAverage()(torch.rand(1, 2, 3, 8, 8), times=(0.75, 0.25)), ValueError, "strictly increasing"),
    (lambda: BicubicAverage()(torch.rand(1, 2, 3, 8, 8), times=(0.5, 1.0)), ValueError, "strictly between 0 and 1"),
    (lambda: FlowThenBicubic()(np.zeros((2, 8, 8, 3), np.uint8), times=()), ValueError, "at least one"),
    (lambda: FlowThenBicubic()(torch.rand(1, 2, 3, 8, 8), times="ab"), TypeError, "numbers"),
    (lambda: BicubicAverage()(torch.rand(2, 2, 3, 8, 8), times=torch.rand(3, 1)), ValueError, "(B, k)"),
])
def test_bad_times_are_refused_with_what_was_expected(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_a_subclass_that_overrides_the_half_way_hook_alone_still_makes_its_2x_frames():
    class CopyPrevious(BicubicAverage):  # book chapter 0, exercise 4
        def middle_frames(self, x):
            return x[:, :-1]  # (B, T-1, 3, H, W)

    x = torch.rand(1, 3, 3, 6, 5, dtype=torch.float64)
    out, up = CopyPrevious()(x), imresize(x, 4)
    torch.testing.assert_close(out[:, 1::2], up[:, :-1])
    torch.testing.assert_close(CopyPrevious()(x, times=(0.5,)), out)


def test_a_2x_method_asked_for_any_moment_blends_its_frames_around_it():
    """Bicubic resizing and blending are linear, so a 2x bicubic + average blended at t equals bicubic + blend at t
    itself: an independent check of the weights on both sides of the half-way frame."""
    from zsm.eval.baselines import HalfWayThenBlend

    x = torch.rand(2, 3, 3, 6, 5, dtype=torch.float64)
    reused = HalfWayThenBlend(BicubicAverage())
    assert reused.scale == 4
    times = (0.125, 0.25, 0.5, 0.75, 0.875)
    torch.testing.assert_close(reused(x, times=times), BicubicAverage()(x, times=times))
    assert torch.equal(reused(x), BicubicAverage()(x))  # the half-way frames alone: the 2x method's own
    # a network's half-way frame is kept at t = 1/2 and the inputs at their places, whatever the network makes
    torch.manual_seed(0)
    net = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()
    with torch.no_grad():
        two_x, any_t = net(x[:, :, :, :4, :4].float()), HalfWayThenBlend(net)(x[:, :, :, :4, :4].float(), times=times)
    assert any_t.shape == (2, 3 + 2 * 5, 3, 16, 16)
    torch.testing.assert_close(any_t[:, [0, 6, 12]], two_x[:, 0::2], rtol=0, atol=0)
    torch.testing.assert_close(any_t[:, [3, 9]], two_x[:, 1::2], rtol=0, atol=0)
    torch.testing.assert_close(any_t[:, 2], 0.5 * (two_x[:, 0] + two_x[:, 1]))  # t = 1/4
    with pytest.raises(ValueError, match="between 0 and 1"):
        reused(x, times=(0.5, 1.5))

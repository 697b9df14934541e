"""The network diagram is read from a forward pass: its stages, shapes and sizes are the model's, for any config."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import zsm  # noqa: E402
from zsm import viz  # noqa: E402


def texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).eval()


def test_the_trace_holds_each_stage_with_the_shapes_the_model_passes(tiny):
    c = tiny.config.channels
    trace = viz.trace_network(tiny, torch.rand(2, 3, 3, 18, 28))  # B = 2, T = 3; H = 18 is padded to 20 inside
    assert trace.input == (2, 3, 3, 18, 28) and trace.output == (2, 5, 3, 72, 112)
    assert [s.name for s in trace.stages] == ["extractor", "interpolation", "convlstm", "reconstruction"]
    assert [s.chapter for s in trace.stages] == [1, 3, 4, 5]
    levels = ((c, 20, 28), (c, 10, 14), (c, 5, 7))
    extractor = trace.stage("extractor")
    assert extractor.inputs == ((6, 3, 20, 28),)  # B*T frames, padded
    assert extractor.outputs == tuple((6, *level) for level in levels)
    assert trace.stage("interpolation").inputs == 2 * tuple((4, *level) for level in levels)  # B*(T-1) pairs
    assert trace.stage("interpolation").outputs == ((4, c, 20, 28),)
    assert trace.stage("convlstm").inputs == ((2, 5, c, 20, 28),)  # 2T-1 features in time order
    assert trace.stage("reconstruction").inputs == ((10, c, 20, 28),)
    assert trace.stage("reconstruction").outputs == ((10, 3, 80, 112),)
    assert all(s.calls == 1 for s in trace.stages)
    # the four stages hold every parameter of the network, and the trace counts them
    assert sum(s.parameters for s in trace.stages) == tiny.num_parameters()
    assert [s.module for s in trace.stages] == ["FeatureExtractor", "FeatureTemporalInterpolation",
                                                "BiDeformableConvLSTM", "Reconstruction"]


def test_tracing_on_the_meta_device_gives_the_real_passs_trace_for_any_config(tiny):
    real = viz.trace_network(tiny, torch.rand(1, 4, 3, 16, 24))
    meta = viz.trace_config(tiny.config, (1, 4, 3, 16, 24))
    assert meta == real  # same stages, shapes, parameter counts and details, nothing computed
    paper = viz.trace_config()  # the paper's network, in moments
    assert sum(s.parameters for s in paper.stages) == 11_102_771  # the parameter count the paper reports (11.10 M)
    assert paper.stage("convlstm").inputs == ((1, 7, 64, 64, 96),)


def test_the_diagram_says_what_the_trace_holds_and_follows_the_config():
    trace = viz.trace_config(zsm.ZSMConfig.tiny().with_fields("reconstruction_blocks=3"), (1, 4, 3, 16, 24))
    fig = viz.draw_network(trace)
    shown = texts(fig)
    for stage in trace.stages:
        assert stage.title in shown and f"{stage.parameters:,} parameters" in shown
    assert "(1, 7, 8, 16, 24)" in shown and "(1, 7, 3, 64, 96)" in shown and "(4, 3, 16, 24)" in shown
    assert "3 residual blocks" in shown and "1 residual block," in shown  # from the config, not written in
    plt.close(fig)
    fig = viz.draw_strip(trace, "interpolation")
    assert "you are here: (3, 8, 16, 24), (3, 8, 8, 12), (3, 8, 4, 6)  ->  (3, 8, 16, 24)" in texts(fig)
    plt.close(fig)
    fig = viz.draw_strip(trace, ("interpolation", "convlstm"), note="the operator of both")
    bold = [t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    assert len(bold) == 2 and "the operator of both" in texts(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="one or more of"):
        viz.draw_strip(trace, "decoder")
    with pytest.raises(ValueError, match="highlight must be one of"):
        viz.draw_network(trace, highlight="decoder")


@pytest.mark.parametrize("r, h, w", [(2, 2, 3), (3, 2, 2), (4, 1, 2)])
def test_pixel_shuffle_sources_are_where_the_definition_puts_each_channel(r, h, w):
    channel, pixel = viz.pixel_shuffle_sources(r, h, w)
    assert channel.shape == pixel.shape == (r * h, r * w)
    for y in range(r * h):
        for x in range(r * w):  # output (rY + i, rX + j) holds channel i*r + j of LR pixel (Y, X)
            assert channel[y, x] == (y % r) * r + x % r and pixel[y, x] == (y // r) * w + x // r
    fig = viz.draw_pixel_shuffle(r, h, w)
    assert f"pixel_shuffle(x, {r})" in texts(fig) and f"channel {r * r - 1}" in texts(fig)
    plt.close(fig)


def test_the_windows_are_traced_through_upscale_and_take_every_output_once():
    from zsm.upscale import window_starts

    for frames in (2, 4, 10, 11, 13):
        windows = viz.trace_windows(frames)
        assert [w.start for w in windows] == window_starts(frames, 4)
        kept = [k for w in windows for k in w.kept]
        assert kept == list(range(2 * frames - 1))  # in order, each output once
        assert all(set(w.kept) <= set(w.computed) and len(w.computed) == 2 * len(w.inputs) - 1 for w in windows)
    last = viz.trace_windows(11)[-1]  # moved back to end at the last input: only its last two outputs are new
    assert last.inputs == (7, 8, 9, 10) and last.kept == (19, 20)
    fig = viz.draw_windows(viz.trace_windows(11))
    assert "4 windows of 4 inputs over 11 input frames" in texts(fig) and "window 4: inputs 7-10" in texts(fig)
    plt.close(fig)


def test_the_pcd_and_convlstm_diagrams_take_their_sizes_from_the_trace():
    trace = viz.trace_config(zsm.ZSMConfig.tiny(), (1, 3, 3, 16, 24))  # T = 3: 5 features
    fig = viz.draw_convlstm(trace)
    shown = texts(fig)
    assert "the 5 features" in shown and "(1, 5, 8, 16, 24)" in shown
    assert [name for name in ("F0", "I01", "F1", "I12", "F2") if name in shown] == ["F0", "I01", "F1", "I12", "F2"]
    assert "out 4" in shown and "out 5" not in shown
    plt.close(fig)
    fig = viz.draw_pcd(trace)
    shown = texts(fig)
    assert "8 x 16 x 24" in shown and "8 x 8 x 12" in shown and "8 x 4 x 6" in shown
    plt.close(fig)


def test_the_shipped_paper_trace_is_what_a_fresh_trace_gives():
    """The chapters draw viz.paper_trace() (read from zsm/viz/paper_trace.json) to save a trace per chapter; it must
    be exactly trace_config() of the paper's network, so that it cannot drift from the code
    (rewrite it with `python -m zsm.viz.trace`)."""
    fresh = viz.trace_config()
    assert viz.paper_trace() == fresh
    assert viz.trace.trace_from_dict(viz.trace.trace_to_dict(fresh)) == fresh

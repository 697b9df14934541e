"""Facts about the time-modulated network (book chapter 8, after TMNet): any moments between two frames."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

import zsm
from zsm.net.model import check_times, in_time_order, interleave, is_half_way, moments_of
from zsm.net.modulation import TimeVector


def timed(config: zsm.ZSMConfig) -> zsm.ZSMConfig:
    return dataclasses.replace(config, time_modulation=True)


def perturb_time_modulation(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every modulation weight a random value, as if trained: the zero-started last layers included."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".time." in name or "blend_time" in name:
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)


@pytest.fixture(scope="module")
def pair():
    """A 2x tiny network and a time-modulated one with the same weights elsewhere and trained-like modulations."""
    torch.manual_seed(0)
    plain = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).double().eval()
    any_time = zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny())).double().eval()
    result = any_time.load_state_dict(plain.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all(".time." in k or "blend_time" in k for k in result.missing_keys)
    perturb_time_modulation(any_time)
    return plain, any_time


def test_time_modulation_is_off_in_every_preset_and_adds_parameters_only_when_on():
    for name in zsm.PRESETS:
        assert zsm.ZSMConfig.preset(name).time_modulation is False
    assert zsm.ZoomingSlowMo(zsm.ZSMConfig.paper()).num_parameters() == 11_102_771  # the paper's, unchanged
    tiny = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()).num_parameters()
    assert zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny())).num_parameters() > tiny


def test_the_time_vector_is_zero_at_the_midpoint_for_any_weights():
    v = TimeVector(6, 4).double()
    t = torch.tensor([0.1, 0.5, 0.75], dtype=torch.float64)
    assert torch.equal(v(t), torch.zeros(3, 6, dtype=torch.float64))  # last layer starts at zero: zero everywhere
    perturb_time_modulation(torch.nn.ModuleDict({"x": torch.nn.ModuleDict({"time": v})}))
    out = v(t)
    assert torch.equal(out[1], torch.zeros(6, dtype=torch.float64))  # exactly, not nearly
    assert out[0].abs().min() > 0 and out[2].abs().min() > 0


def test_at_t_one_half_the_any_time_network_computes_zooming_slow_mo_exactly(pair):
    plain, any_time = pair
    x = torch.rand(2, 3, 3, 12, 16, dtype=torch.float64)
    with torch.no_grad():
        expected = plain(x)
        torch.testing.assert_close(any_time(x), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(any_time(x, times=(0.5,)), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(plain(x, times=[0.5]), expected, rtol=0, atol=1e-12)


def test_other_moments_change_the_interpolated_features_and_the_output(pair):
    _, any_time = pair
    x = torch.rand(1, 2, 3, 12, 16, dtype=torch.float64)
    with torch.no_grad():
        _, middles = any_time.interpolated_features(x, times=(0.25, 0.5, 0.75))
        assert middles.shape == (1, 1, 3, 8, 12, 16)
        assert (middles[0, 0, 0] - middles[0, 0, 1]).abs().max() > 1e-3
        assert (middles[0, 0, 2] - middles[0, 0, 1]).abs().max() > 1e-3


@pytest.mark.parametrize("t, times", [(2, (0.25, 0.5, 0.75)), (3, (0.3,)), (4, (1 / 8, 3 / 8, 5 / 8, 7 / 8))])
def test_k_moments_per_pair_give_t_plus_t_minus_1_times_k_frames(pair, t, times):
    _, any_time = pair
    x = torch.rand(1, t, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        assert any_time(x, times=times).shape == (1, t + (t - 1) * len(times), 3, 32, 32)


def test_each_clip_of_a_batch_may_take_its_own_moments(pair):
    _, any_time = pair
    x = torch.rand(2, 3, 3, 8, 12, dtype=torch.float64)
    rows = torch.tensor([[0.2, 0.6], [0.4, 0.9]], dtype=torch.float64)
    with torch.no_grad():
        both = any_time(x, times=rows)
        for i in range(2):
            torch.testing.assert_close(both[i:i + 1], any_time(x[i:i + 1], times=rows[i].tolist()), rtol=0, atol=1e-12)


def test_outputs_are_in_time_order():
    inputs = torch.tensor([[0.0, 1.0, 2.0]])  # (B=1, T=3)
    middles = torch.tensor([[[0.25, 0.5, 0.75], [1.25, 1.5, 1.75]]])  # (1, T-1=2, k=3): their moments
    order = in_time_order(inputs, middles)
    assert order.tolist() == [[0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]]
    assert interleave(inputs, torch.tensor([[0.5, 1.5]])).tolist() == [[0.0, 0.5, 1.0, 1.5, 2.0]]


def test_the_global_skip_guess_at_t_is_the_blend_of_the_upscaled_neighbours():
    model = zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny_skip())).eval()  # untrained: outputs exactly the guess
    x = torch.rand(1, 2, 3, 6, 5)
    up = F.interpolate(x[0], scale_factor=4, mode="bicubic", align_corners=False)  # (2, 3, 24, 20)
    with torch.no_grad():
        y = model(x, times=(0.25, 0.75))
    torch.testing.assert_close(y[0, 0], up[0])
    torch.testing.assert_close(y[0, 1], 0.75 * up[0] + 0.25 * up[1])
    torch.testing.assert_close(y[0, 2], 0.25 * up[0] + 0.75 * up[1])
    torch.testing.assert_close(y[0, 3], up[1])


def test_started_from_a_trained_2x_network_the_modulation_learns_from_the_first_step():
    # Its last layers start at zero, so only they get gradient at first, and only where the offsets matter: behind a
    # fresh network's zero-initialised offset predictors they would get none. The shipped model's offsets matter.
    shipped = zsm.load_model()
    model = zsm.ZoomingSlowMo(timed(shipped.config))
    model.load_state_dict(shipped.state_dict(), strict=False)
    x = torch.rand(1, 2, 3, 8, 8)
    model(x, times=(0.25,)).square().mean().backward()
    for level in ("l1", "l2", "l3"):
        last = getattr(model.interpolation.align1, level).time.vector.layers[-1].weight
        assert last.grad.abs().max() > 0
    assert model.interpolation.blend_time.layers[-1].weight.grad.abs().max() > 0


def test_a_2x_network_refuses_other_moments_and_says_how_to_get_them():
    model = zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny())
    with pytest.raises(ValueError, match="time_modulation=True"):
        model(torch.rand(1, 2, 3, 8, 8), times=(0.25, 0.5))


@pytest.mark.parametrize("times, error, fragment", [
    ((), ValueError, "at least one"),
    ((0.0, 0.5), ValueError, "strictly between 0 and 1"),
    ((0.5, 1.0), ValueError, "strictly between 0 and 1"),
    ((0.75, 0.25), ValueError, "strictly increasing"),
    ((0.5, 0.5), ValueError, "strictly increasing"),
    (("a",), TypeError, "numbers"),
    (0.5, TypeError, "numbers"),
    (torch.full((3, 1), 0.5), ValueError, "(B, k)"),
    (torch.full((1, 1, 1), 0.5), ValueError, "(B, k)"),
])
def test_bad_times_are_refused_with_what_was_expected(times, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        check_times(times, 2, torch.zeros(1))


@pytest.mark.parametrize("times, half", [
    (None, True), ((0.5,), True), ([0.5], True), ((1 / 2,), True),
    (torch.tensor([0.5]), False),  # a tensor goes through check_times, which reads it
    ((0.25, 0.5), False), ((0.4,), False), ((True,), False), (("0.5",), False), (0.5, False),
])
def test_the_half_way_request_is_told_from_python_values_alone(times, half):
    assert is_half_way(times) is half


def test_the_default_path_never_checks_a_times_tensor(monkeypatch):
    """The half-way path must not read times back from the device (CUDA-graph capture): check_times never runs."""
    model = zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny_skip())).eval()
    x = torch.rand(1, 2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x, times=torch.tensor([0.5]))

    def refuse(*args, **kwargs):
        raise AssertionError("check_times ran on the default path")

    monkeypatch.setattr("zsm.net.model.check_times", refuse)
    with torch.no_grad():
        for times in (None, (0.5,), [0.5]):
            torch.testing.assert_close(model(x, times=times), expected, rtol=0, atol=0)


@pytest.mark.parametrize("times, moments", [
    (None, (0.5,)), ((0.5,), (0.5,)), ([0.25, 0.5, 0.75], (0.25, 0.5, 0.75)),
    (torch.tensor([0.25, 0.75]), (0.25, 0.75)), (torch.tensor([[1 / 3, 2 / 3]], dtype=torch.float64), (1 / 3, 2 / 3)),
])
def test_the_moments_of_one_clip_are_checked_floats_in_time_order(times, moments):
    got = moments_of(times)
    assert isinstance(got, tuple) and all(type(t) is float for t in got)
    assert got == pytest.approx(moments, abs=0)


@pytest.mark.parametrize("times", [(), (0.75, 0.25), (1.0,), torch.full((2, 1), 0.5)])
def test_the_moments_of_one_clip_refuse_what_check_times_refuses(times):
    with pytest.raises(ValueError):
        moments_of(times)


def test_a_time_modulated_network_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = zsm.ZoomingSlowMo(timed(zsm.ZSMConfig.tiny_skip())).eval()
    perturb_time_modulation(model)
    path = tmp_path / "any-time.pt"
    zsm.save_checkpoint(model, path)
    loaded = zsm.load_model(path)
    assert loaded.config.time_modulation is True
    x = torch.rand(1, 2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, times=(0.3, 0.6)), model(x, times=(0.3, 0.6)), rtol=0, atol=0)

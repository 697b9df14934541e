"""Facts about zsm.ops.deform_conv2d, checked against an independent per-pixel definition."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import torchvision_or_skip
from zsm import ops


def bilinear_zero_padded(img, y, x):
    """Value of img (H, W) at the fractional pixel (y, x); pixels outside the image are 0. Written from the definition."""
    h, w = img.shape
    y0, x0 = math.floor(y), math.floor(x)
    total = img.new_zeros(())
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total = total + wy * wx * img[yy, xx]
    return total


def naive_deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), mask=None):
    """out[b, o, ho, wo] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * m * x[b, c](p0 + p_ij + (dy, dx)), one pixel at a time."""
    x = input
    b, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    wgroups = cin // cin_g
    ho, wo = offset.shape[2:]
    groups = offset.shape[1] // (2 * kh * kw)
    out = x.new_zeros(b, cout, ho, wo)
    for n in range(b):
        for oy in range(ho):
            for ox in range(wo):
                for c in range(cin):
                    g = c // (cin // groups)
                    wg = c // cin_g
                    for i in range(kh):
                        for j in range(kw):
                            k = i * kw + j
                            dy = offset[n, 2 * (g * kh * kw + k), oy, ox].item()
                            dx = offset[n, 2 * (g * kh * kw + k) + 1, oy, ox].item()
                            py = oy * stride[0] - padding[0] + i * dilation[0] + dy
                            px = ox * stride[1] - padding[1] + j * dilation[1] + dx
                            v = bilinear_zero_padded(x[n, c], py, px)
                            if mask is not None:
                                v = v * mask[n, g * kh * kw + k, oy, ox]
                            outs = range(wg * cout // wgroups, (wg + 1) * cout // wgroups)
                            for o in outs:
                                out[n, o, oy, ox] += weight[o, c - wg * cin_g, i, j] * v
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def random_case(b=2, cin=4, cout=6, h=7, w=9, k=(3, 3), groups=2, wgroups=1, stride=(1, 1), padding=(1, 1),
                dilation=(1, 1), scale=2.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    kh, kw = k
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    x = torch.randn(b, cin, h, w, generator=g, dtype=dtype)
    weight = torch.randn(cout, cin // wgroups, kh, kw, generator=g, dtype=dtype)
    bias = torch.randn(cout, generator=g, dtype=dtype)
    offset = scale * torch.randn(b, 2 * groups * kh * kw, ho, wo, generator=g, dtype=dtype)
    mask = torch.rand(b, groups * kh * kw, ho, wo, generator=g, dtype=dtype)
    return dict(input=x, offset=offset, weight=weight, bias=bias, stride=stride, padding=padding,
                dilation=dilation, mask=mask)


CASES = {
    "groups2_pad1": dict(),
    "stride2": dict(stride=(2, 2), h=8, w=7),
    "dilation2": dict(dilation=(2, 2), padding=(2, 2)),
    "nonsquare_kernel_and_stride": dict(k=(3, 2), stride=(2, 1), padding=(1, 0), h=6, w=5),
    "offsets_far_outside": dict(scale=6.0, h=5, w=4),
    "weight_groups": dict(cin=4, cout=4, wgroups=2, groups=4),
    "single_pixel_image": dict(h=1, w=1, padding=(1, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pure_backend_matches_the_per_pixel_definition(name):
    case = random_case(**CASES[name])
    expected = naive_deform_conv2d(**case)
    got = ops.deform_conv2d(**case, backend="pure")
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_without_a_mask_the_modulation_is_one():
    case = random_case()
    case["mask"] = None
    torch.testing.assert_close(ops.deform_conv2d(**case, backend="pure"), naive_deform_conv2d(**case))


def test_zero_offsets_and_mask_one_reduce_to_conv2d():
    case = random_case(stride=(2, 1), dilation=(1, 2), padding=(1, 2), h=9, w=8)
    case["offset"] = torch.zeros_like(case["offset"])
    case["mask"] = torch.ones_like(case["mask"])
    expected = F.conv2d(case["input"], case["weight"], case["bias"], case["stride"], case["padding"], case["dilation"])
    torch.testing.assert_close(ops.deform_conv2d(**case, backend="pure"), expected, rtol=1e-12, atol=1e-12)


def test_an_integer_offset_equals_a_shifted_convolution():
    # Every tap moved by (dy, dx) = (1, -2): the same as convolving the image shifted by (-1, +2) with zero fill.
    case = random_case(h=8, w=10)
    case["mask"] = None
    offset = case["offset"].view(2, 2, 9, 2, 8, 10)
    offset[:, :, :, 0] = 1.0
    offset[:, :, :, 1] = -2.0
    padded = F.pad(case["input"], (1, 1, 1, 1))  # the zero padding of the convolution, made explicit
    shifted = torch.zeros_like(padded)
    shifted[:, :, :-1, 2:] = padded[:, :, 1:, :-2]  # shifted[y, x] = padded[y + 1, x - 2], zeros elsewhere
    expected = F.conv2d(shifted, case["weight"], case["bias"])
    torch.testing.assert_close(ops.deform_conv2d(**case, backend="pure"), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_rows", [None, 3])
def test_gradcheck_in_float64(chunk_rows):
    # chunk_rows=3 on 4 output rows: two chunks of unequal height, whose input gradients autograd must sum.
    case = random_case(b=1, cin=2, cout=2, h=4, w=5, groups=2, scale=1.5, seed=3)
    inputs = tuple(case[k].requires_grad_() for k in ("input", "offset", "weight", "bias", "mask"))

    def fn(x, offset, weight, bias, mask):
        return ops.deform_conv2d_pure(x, offset, weight, bias, padding=1, mask=mask, chunk_rows=chunk_rows)

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6)


GRAD_INPUTS = ("input", "offset", "weight", "bias", "mask")


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_chunks_of_output_rows_give_the_one_chunk_result_and_gradients(name, chunk_rows):
    case = random_case(**CASES[name])
    inputs = {k: v.requires_grad_() if torch.is_tensor(v) else v for k, v in case.items()}
    whole = ops.deform_conv2d_pure(**inputs, chunk_rows=10**6)
    chunked = ops.deform_conv2d_pure(**inputs, chunk_rows=chunk_rows)
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=1e-12)
    grad_out = torch.randn_like(whole)
    grads_whole = torch.autograd.grad(whole, [inputs[k] for k in GRAD_INPUTS], grad_out)
    grads_chunked = torch.autograd.grad(chunked, [inputs[k] for k in GRAD_INPUTS], grad_out)
    for key, a, b in zip(GRAD_INPUTS, grads_chunked, grads_whole):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"{name}: gradient of {key}")


def test_the_default_chunks_keep_the_columns_under_the_byte_budget(monkeypatch):
    # One output row of this case samples B*Cin*K*Wo = 2*4*9*9 float64 columns = 5,184 bytes.
    case = random_case()
    whole = ops.deform_conv2d_pure(**case, chunk_rows=10**6)
    assert ops._default_chunk_rows(case["input"], case["weight"], wo=9) == ops.COLUMNS_CHUNK_BYTES // 5184
    monkeypatch.setattr(ops, "COLUMNS_CHUNK_BYTES", 2 * 5184)
    assert ops._default_chunk_rows(case["input"], case["weight"], wo=9) == 2
    torch.testing.assert_close(ops.deform_conv2d(**case, backend="pure"), whole, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ops.deform_conv2d(**case, backend="pure"), naive_deform_conv2d(**case))


def test_off_the_cpu_the_default_is_one_chunk():
    x = torch.empty(1, 64, 1000, 1000, device="meta")
    weight = torch.empty(64, 64, 3, 3, device="meta")
    assert ops._default_chunk_rows(x, weight, wo=1000) >= 1000
    on_cpu = torch.zeros(1).expand(1, 64, 1000, 1000)  # the shape without the memory
    assert ops._default_chunk_rows(on_cpu, weight, wo=1000) < 1000


def test_inference_leaves_the_inputs_unchanged():
    # Without autograd the mask is applied in place, to the freshly sampled columns only.
    case = random_case()
    before = {k: v.clone() for k, v in case.items() if torch.is_tensor(v)}
    with torch.no_grad():
        ops.deform_conv2d_pure(**case, chunk_rows=2)
    for key, value in before.items():
        assert torch.equal(case[key], value), key


@pytest.mark.parametrize("chunk_rows", [0, -1, 2.0, True])
def test_a_bad_chunk_size_is_refused(chunk_rows):
    with pytest.raises(ValueError, match="chunk_rows must be None or an int >= 1"):
        ops.deform_conv2d_pure(**random_case(), chunk_rows=chunk_rows)


def test_float32_agrees_with_float64():
    case = random_case()
    expected = ops.deform_conv2d(**case, backend="pure")
    got = ops.deform_conv2d(**{k: v.float() if torch.is_tensor(v) else v for k, v in case.items()}, backend="pure")
    torch.testing.assert_close(got.double(), expected, rtol=1e-4, atol=1e-4)


def test_the_package_says_which_backend_ran():
    case = random_case()
    ops.reset_backend_counts()
    ops.deform_conv2d(**case, backend="pure")
    assert ops.last_backend() == "pure"
    assert ops.backend_counts() == {"pure": 1}
    with ops.use_backend("pure"):
        assert ops.default_backend() == "pure"
        ops.deform_conv2d(**case)
    assert ops.backend_counts() == {"pure": 2}
    available, reason = ops.torchvision_status()
    assert isinstance(reason, str) and reason
    ops.deform_conv2d(**case)  # auto
    assert ops.last_backend() == ("torchvision" if available else "pure")


def test_asking_for_torchvision_where_it_does_not_import_is_an_error():
    available, _ = ops.torchvision_status()
    if available:
        pytest.skip("torchvision imports here; the error path cannot be reached")
    with pytest.raises(RuntimeError, match="torchvision does not import"):
        ops.deform_conv2d(**random_case(), backend="torchvision")


@pytest.mark.parametrize(
    "change, error, fragment",
    [
        (dict(input=torch.zeros(2, 4, 7)), ValueError, "input must be 4-D"),
        (dict(offset=torch.zeros(2, 35, 7, 9, dtype=torch.float64)), ValueError, "multiple of 18"),
        (dict(offset=torch.zeros(2, 36, 6, 9, dtype=torch.float64)), ValueError, "offset must have shape"),
        (dict(mask=torch.zeros(2, 17, 7, 9, dtype=torch.float64)), ValueError, "mask must have shape"),
        (dict(bias=torch.zeros(5, dtype=torch.float64)), ValueError, "bias must have shape"),
        (dict(weight=torch.zeros(6, 3, 3, 3, dtype=torch.float64)), ValueError, "multiple of weight.shape[1]"),
        (dict(stride=0), ValueError, "stride >= 1"),
        (dict(input=torch.zeros(2, 4, 7, 9, dtype=torch.int64)), ValueError, "floating-point"),
        (dict(backend="cuda-magic"), ValueError, "backend must be one of"),
        (dict(offset=[0.0]), TypeError, "offset must be a torch.Tensor"),
    ],
)
def test_bad_inputs_are_refused_with_a_clear_message(change, error, fragment):
    case = random_case()
    case.update(change)
    with pytest.raises(error, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        ops.deform_conv2d(**case)


def test_agrees_with_torchvision_where_it_imports():
    torchvision_or_skip()
    for name, kwargs in sorted(CASES.items()):
        case = random_case(**kwargs)
        inputs = {k: v.requires_grad_() if torch.is_tensor(v) else v for k, v in case.items()}
        ours = ops.deform_conv2d(**inputs, backend="pure")
        grads_ours = torch.autograd.grad(ours.square().sum(), [inputs[k] for k in ("input", "offset", "weight", "bias", "mask")])
        theirs = ops.deform_conv2d(**inputs, backend="torchvision")
        grads_theirs = torch.autograd.grad(theirs.square().sum(), [inputs[k] for k in ("input", "offset", "weight", "bias", "mask")])
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9, msg=name)
        for a, b in zip(grads_ours, grads_theirs):
            torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-8, msg=name)


def test_half_precision_inputs_sample_at_float32_positions():
    # In bfloat16 a sampling position near pixel 143 can only be a multiple of 1.0 (8 bits of mantissa): the
    # pure backend computes positions and samples in float32, so only the inputs' own rounding remains.
    case = random_case(b=1, cin=2, cout=2, h=150, w=3, groups=1, padding=(1, 1), scale=0.3, dtype=torch.float32)
    expected = ops.deform_conv2d(**case, backend="pure")
    low = {k: v.bfloat16() if torch.is_tensor(v) else v for k, v in case.items()}
    exact_inputs = {k: v.float() if torch.is_tensor(v) else v for k, v in low.items()}
    got = ops.deform_conv2d(**low, backend="pure")
    assert got.dtype == torch.bfloat16
    reference = ops.deform_conv2d(**exact_inputs, backend="pure")  # the same rounded inputs, float32 maths
    torch.testing.assert_close(got.float(), reference, rtol=2e-2, atol=5e-2)
    assert (reference - expected).abs().max() < 0.5  # sanity: rounding the inputs alone changes little

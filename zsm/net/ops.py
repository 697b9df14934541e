"""Modulated deformable convolution (DCNv2), in plain PyTorch or through torchvision.

Book: chapter 2.

:func:`deform_conv2d` has the signature and semantics of ``torchvision.ops.deform_conv2d``:

* ``offset`` (B, 2*G*K, Ho, Wo) holds, for each offset group ``g`` and kernel tap ``k`` (row-major over the
  kernel), the pair ``(dy, dx)``: channel ``2*(g*K + k)`` is dy and ``2*(g*K + k) + 1`` is dx;
* ``mask`` (B, G*K, Ho, Wo) holds one modulation scalar per group and tap (``g*K + k``); no mask means 1;
* tap ``k = (i, j)`` of output pixel ``(ho, wo)`` reads the input at the fractional position
  ``(ho*stride_h - pad_h + i*dil_h + dy, wo*stride_w - pad_w + j*dil_w + dx)`` by bilinear interpolation,
  where pixels outside the image read as zero;
* input channels are split into G consecutive offset groups, and ``weight`` (Cout, Cin / groups, kh, kw) may
  itself be grouped like ``conv2d``.

Two backends compute that function:

``"pure"``
    Vectorised PyTorch in this file: one ``grid_sample`` gathers every tap of every group (a "deformable
    im2col"), the mask scales the columns, and one matrix product applies the weights. This runs on chunks
    of output rows whose columns fit in a few MB (:data:`COLUMNS_CHUNK_BYTES`), which keeps them in the CPU's
    caches. It runs on any device and dtype that ``grid_sample`` supports and is differentiable by autograd.
``"torchvision"``
    ``torchvision.ops.deform_conv2d``, a compiled kernel, used when torchvision imports (it does not import
    beside some CPU wheels of torch) and supports the input's dtype.

``backend="auto"`` (the default) picks torchvision when it can and the pure backend otherwise. Nothing falls
back silently: :func:`last_backend` names the backend of the latest call, :func:`backend_counts` counts calls
per backend, and :func:`torchvision_status` says why torchvision is or is not usable. That bookkeeping lives in
:mod:`zsm.net.backends`; this module re-exports it.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .backends import (BACKENDS, _load_torchvision, _record, _resolve, backend_counts, default_backend,
                       last_backend, reset_backend_counts, set_default_backend, torchvision_status, use_backend)

__all__ = [
    "BACKENDS",
    "deform_conv2d",
    "deform_conv2d_pure",
    "default_backend",
    "set_default_backend",
    "use_backend",
    "last_backend",
    "backend_counts",
    "reset_backend_counts",
    "torchvision_status",
]

IntPair = Union[int, Tuple[int, int]]


# --------------------------------------------------------------------------------------------------------
# Input checks (shared by both backends, so both refuse the same inputs with the same words)
# --------------------------------------------------------------------------------------------------------
def _pair(value: IntPair, name: str) -> Tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def _check_inputs(x, offset, weight, bias, mask, stride, padding, dilation):
    for name, t in (("input", x), ("offset", offset), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if x.dim() != 4:
        raise ValueError(f"input must be 4-D (B, Cin, H, W), got shape {tuple(x.shape)}")
    if weight.dim() != 4:
        raise ValueError(f"weight must be 4-D (Cout, Cin/groups, kh, kw), got shape {tuple(weight.shape)}")
    if offset.dim() != 4:
        raise ValueError(f"offset must be 4-D (B, 2*G*kh*kw, Ho, Wo), got shape {tuple(offset.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"input must be a floating-point tensor, got dtype {x.dtype}")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if sh < 1 or sw < 1 or dh < 1 or dw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"need stride >= 1, dilation >= 1, padding >= 0; got {stride}, {dilation}, {padding}")
    b, cin, h, w = x.shape
    cout, cin_per_group, kh, kw = weight.shape
    if cin_per_group == 0 or cin % cin_per_group:
        raise ValueError(f"input channels ({cin}) must be a multiple of weight.shape[1] ({cin_per_group})")
    weight_groups = cin // cin_per_group
    if cout % weight_groups:
        raise ValueError(f"weight.shape[0] ({cout}) must be divisible by the weight groups ({weight_groups})")
    taps = kh * kw
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"the output would be empty ({ho}x{wo}) for input {h}x{w} and kernel {kh}x{kw}")
    if offset.shape[1] % (2 * taps) or offset.shape[1] == 0:
        raise ValueError(f"offset.shape[1] must be 2*G*kh*kw = a multiple of {2 * taps}, got {offset.shape[1]}")
    groups = offset.shape[1] // (2 * taps)
    if cin % groups:
        raise ValueError(f"input channels ({cin}) must be divisible by the offset groups G ({groups})")
    if offset.shape[0] != b or tuple(offset.shape[2:]) != (ho, wo):
        raise ValueError(
            f"offset must have shape ({b}, {2 * groups * taps}, {ho}, {wo}) for this input and kernel, "
            f"got {tuple(offset.shape)}"
        )
    if mask is not None and tuple(mask.shape) != (b, groups * taps, ho, wo):
        raise ValueError(f"mask must have shape ({b}, {groups * taps}, {ho}, {wo}), got {tuple(mask.shape)}")
    if bias is not None and tuple(bias.shape) != (cout,):
        raise ValueError(f"bias must have shape ({cout},), got {tuple(bias.shape)}")
    return (sh, sw), (ph, pw), (dh, dw)


# --------------------------------------------------------------------------------------------------------
# The pure PyTorch backend
# --------------------------------------------------------------------------------------------------------
# The sampled columns of one chunk of output rows stay under about this many bytes. At 180x144 with C=64 the
# columns of the whole image take 60 MB: written by grid_sample, read and rewritten by the mask, read again
# by the matmul, they spill out of the caches, and each fresh 60 MB buffer costs ~15,000 page faults.
# Chunks of a few MB are reused from the allocator's cache and mostly stay in L2/L3; much smaller chunks pay
# the fixed cost of a few small ops per chunk. benchmarks/NOTES.md has the measurements behind this value.
COLUMNS_CHUNK_BYTES = 4 * 2**20


def _sampling_grid(offset: Tensor, h: int, w: int, kh: int, kw: int, stride, padding, dilation,
                   row_start: int = 0) -> Tensor:
    """Where every tap samples, in ``grid_sample``'s normalised coordinates (align_corners=False).

    Args:
        offset (Tensor): (B, 2*G*K, rows, Wo), the offsets of output rows ``row_start`` .. ``row_start + rows - 1``.
        h, w (int): input height and width.

    Returns:
        grid (B*G, K*rows, Wo, 2) with (x, y) in the last dimension.
    """
    b, _, rows, wo = offset.shape
    taps = kh * kw
    groups = offset.shape[1] // (2 * taps)
    dtype, device = offset.dtype, offset.device
    # Regular (undeformed) sampling positions of tap (i, j) at output pixel (ho, wo), in pixels.
    ki = torch.arange(kh, device=device, dtype=dtype).repeat_interleave(kw) * dilation[0]  # (K,)
    kj = torch.arange(kw, device=device, dtype=dtype).repeat(kh) * dilation[1]  # (K,)
    oy = torch.arange(row_start, row_start + rows, device=device, dtype=dtype) * stride[0] - padding[0]  # (rows,)
    ox = torch.arange(wo, device=device, dtype=dtype) * stride[1] - padding[1]  # (Wo,)
    # Pixel centre p maps to (2p + 1) / size - 1 with align_corners=False, so the position p + d maps to
    # norm(p) + d * 2 / size: normalise the small regular grid once, then one fused pass over the offsets.
    base_y = (2 * (ki.view(taps, 1, 1) + oy.view(1, rows, 1)) + 1) / h - 1  # (K, rows, 1)
    base_x = (2 * (kj.view(taps, 1, 1) + ox.view(1, 1, wo)) + 1) / w - 1  # (K, 1, Wo)
    off = offset.view(b, groups, taps, 2, rows, wo)  # (B, G, K, (dy, dx), rows, Wo)
    # Written straight into the interleaved (x, y) layout: torch.stack((gx, gy), -1) would take twice as long.
    grid = offset.new_empty(b, groups, taps, rows, wo, 2)  # (B, G, K, rows, Wo, (x, y))
    grid[..., 0] = torch.add(base_x, off[:, :, :, 1], alpha=2 / w)  # (B, G, K, rows, Wo)
    grid[..., 1] = torch.add(base_y, off[:, :, :, 0], alpha=2 / h)  # (B, G, K, rows, Wo)
    return grid.view(b * groups, taps * rows, wo, 2)


def deform_conv2d_pure(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    mask: Optional[Tensor] = None,
    chunk_rows: Optional[int] = None,
) -> Tensor:
    """Modulated deformable convolution in vectorised PyTorch (no Python loop over pixels, taps or groups).

    Arguments and result as in :func:`deform_conv2d`, plus:

    Args:
        chunk_rows (int, optional): output rows computed per chunk (a loop over chunks, each vectorised).
            Default: None, on the CPU as many as keep one chunk's sampled columns under
            :data:`COLUMNS_CHUNK_BYTES`, on other devices all rows in one chunk.
            Any value gives the same result up to float rounding; ``chunk_rows >= Ho`` is one chunk.
    """
    stride, padding, dilation = _check_inputs(input, offset, weight, bias, mask, stride, padding, dilation)
    if chunk_rows is not None and (not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1):
        raise ValueError(f"chunk_rows must be None or an int >= 1, got {chunk_rows!r}")
    return _pure(input, offset, weight, bias, stride, padding, dilation, mask, chunk_rows)


def _default_chunk_rows(input: Tensor, weight: Tensor, wo: int) -> int:
    """Output rows per chunk so that the columns (B, Cin*K, rows*Wo) of a chunk fill COLUMNS_CHUNK_BYTES.

    On the CPU only. Elsewhere (CUDA) every chunk would cost a few more kernel launches and there are no page
    faults to save, so the default is one chunk; that choice is not measured yet (benchmarks/NOTES.md).
    """
    if input.device.type != "cpu":
        return 2**62
    kh, kw = weight.shape[2:]
    row_bytes = input.shape[0] * input.shape[1] * kh * kw * wo * input.element_size()
    return max(1, COLUMNS_CHUNK_BYTES // row_bytes)


def _pure(input, offset, weight, bias, stride, padding, dilation, mask, chunk_rows=None) -> Tensor:
    b, cin, h, w = input.shape
    cout, cin_per_wgroup, kh, kw = weight.shape
    taps = kh * kw
    ho, wo = offset.shape[2:]
    groups = offset.shape[1] // (2 * taps)
    wgroups = cin // cin_per_wgroup
    rows = chunk_rows or _default_chunk_rows(input, weight, wo)
    # Sampling positions need float32 at least: in float16/bfloat16 a position like 143.3 rounds to a whole
    # pixel or worse. Half-precision inputs are sampled in float32 and the columns cast back for the matmul.
    sample_dtype = torch.promote_types(input.dtype, torch.float32)
    grouped = input.reshape(b * groups, cin // groups, h, w).to(sample_dtype)  # (B*G, Cin/G, H, W)
    wmat = weight.reshape(wgroups, cout // wgroups, cin_per_wgroup * taps)  # (Gw, Cout/Gw, Cin/Gw*K)
    # A loop over chunks of output rows, each a deformable im2col and a matmul; every chunk reads the whole
    # input (offsets may point anywhere), and autograd sums the input gradients of the chunks. split(), not
    # slicing: the backward pass of split is one cat, that of each slice a zero tensor of the full size.
    offsets = offset.split(rows, dim=2)  # chunks of (B, 2*G*K, rows, Wo)
    masks = mask.split(rows, dim=2) if mask is not None else [None] * len(offsets)  # chunks of (B, G*K, rows, Wo)
    chunks = [_pure_rows(grouped, off, wmat, m, r0, b, h, w, (kh, kw), stride, padding, dilation)
              for off, m, r0 in zip(offsets, masks, range(0, ho, rows))]
    out = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=2)  # (B, Cout, Ho, Wo)
    if bias is not None:
        # In place: matmul and cat do not keep their outputs for the backward pass.
        out.add_(bias.view(1, cout, 1, 1))
    return out


def _pure_rows(grouped, offset_rows, wmat, mask_rows, r0, b, h, w, kernel, stride, padding, dilation) -> Tensor:
    """Output rows r0 .. r0+rows-1: grouped (B*G, Cin/G, H, W), offset_rows (B, 2*G*K, rows, Wo),
    mask_rows (B, G*K, rows, Wo) or None -> (B, Cout, rows, Wo)."""
    kh, kw = kernel
    taps = kh * kw
    rows, wo = offset_rows.shape[2:]
    groups = offset_rows.shape[1] // (2 * taps)
    cin = grouped.shape[1] * groups
    wgroups, cout_per_wgroup, cin_k = wmat.shape
    grid = _sampling_grid(offset_rows.to(grouped.dtype), h, w, kh, kw, stride, padding, dilation, r0)  # (B*G, K*rows, Wo, 2)
    # Bilinear sampling with zeros outside the image: DCNv2's (and torchvision's) interpolation.
    cols = F.grid_sample(grouped, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    cols = cols.to(wmat.dtype)  # back to the input's dtype for the matmul
    cols = cols.view(b, groups, cin // groups, taps, rows, wo)  # (B, G, Cin/G, K, rows, Wo)
    if mask_rows is not None:
        m = mask_rows.view(b, groups, 1, taps, rows, wo).to(cols.dtype)  # (B, G, 1, K, rows, Wo)
        if cols.requires_grad or m.requires_grad:
            cols = cols * m  # autograd keeps the unmasked columns for the mask's gradient
        else:
            cols.mul_(m)  # inference: no second columns buffer
    # Channel c = g*(Cin/G) + c', so (G, Cin/G, K) flattens in the order of weight's (Cin, kh, kw).
    cols = cols.view(b, wgroups, cin_k, rows * wo)  # (B, Gw, Cin/Gw*K, rows*Wo)
    out = torch.matmul(wmat, cols)  # (B, Gw, Cout/Gw, rows*Wo)
    return out.view(b, wgroups * cout_per_wgroup, rows, wo)  # (B, Cout, rows, Wo)


# --------------------------------------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------------------------------------
def deform_conv2d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    mask: Optional[Tensor] = None,
    backend: Optional[str] = None,
) -> Tensor:
    """Modulated deformable convolution (DCNv2), as ``torchvision.ops.deform_conv2d``.

    Args:
        input (Tensor): (B, Cin, H, W).
        offset (Tensor): (B, 2*G*kh*kw, Ho, Wo), layout [group][tap][(dy, dx)].
        weight (Tensor): (Cout, Cin/groups, kh, kw).
        bias (Tensor, optional): (Cout,). Default: None.
        stride, padding, dilation (int or (int, int)): as in ``conv2d``. Defaults: 1, 0, 1.
        mask (Tensor, optional): (B, G*kh*kw, Ho, Wo), layout [group][tap]. Default: None (all ones).
        backend (str, optional): ``"auto"``, ``"pure"`` or ``"torchvision"``. Default: None, meaning
            :func:`default_backend`.

    Returns:
        Tensor: (B, Cout, Ho, Wo).

    Raises:
        ValueError, TypeError: shapes, dtypes or arguments that do not fit together.
        RuntimeError: ``backend="torchvision"`` where torchvision does not import.
    """
    name = _resolve(backend, input)
    stride_, padding_, dilation_ = _check_inputs(input, offset, weight, bias, mask, stride, padding, dilation)
    if name == "torchvision":
        out = _load_torchvision()(
            input, offset, weight, bias, stride=stride_, padding=padding_, dilation=dilation_, mask=mask
        )
    else:
        out = _pure(input, offset, weight, bias, stride_, padding_, dilation_, mask)
    _record(name)
    return out

"""The authors' published checkpoint: their parameter names mapped onto :class:`zsm.ZoomingSlowMo`'s.

Book: chapter 7.

The reference code (``LunaTokis`` in the authors' repository) names its tensors by its own modules; every one of
the 416 tensors of the paper network (248 of the tiny fixture) has exactly one place in ours. A file is read with
``weights_only=True`` (:func:`zsm.weights.checkpoint.safe_torch_load`), and one that does not fit is refused with
every missing, unexpected or misshapen tensor named.
"""
from __future__ import annotations

import re
import warnings
from typing import Dict, Optional

import torch
from torch import Tensor

from ..net.config import ZSMConfig
from ..net.model import ZoomingSlowMo
from . import download
from .files import PathLike, listing, safe_torch_load

__all__ = ["convert_official_state_dict", "official_config", "load_official_checkpoint", "stored_dtype"]


# --------------------------------------------------------------------------------------------------------
# Scopes of the reference network that hold a pyramid, a two-way PCD alignment and a 1x1 blend:
# the frame feature interpolation at the top level, and the two state alignments of the ConvLSTM.
_SCOPES = {
    "": ("extractor.pyramid.", "interpolation."),
    "ConvBLSTM.forward_net.pcd_h.": ("convlstm.lstm.align_hidden.pyramid.", "convlstm.lstm.align_hidden.interpolation."),
    "ConvBLSTM.forward_net.pcd_c.": ("convlstm.lstm.align_cell.pyramid.", "convlstm.lstm.align_cell.interpolation."),
}
_PCD_RULES = [  # inside a scope's "pcd_align." -> inside our FeatureTemporalInterpolation
    (r"L([123])_offset_conv([123])_([12])\.", lambda m: f"align{m[3]}.l{m[1]}.offset_conv{m[2]}."),
    (r"L([123])_dcnpack_([12])\.conv_offset_mask\.", lambda m: f"align{m[2]}.l{m[1]}.dcn.offset_mask."),
    (r"L([123])_dcnpack_([12])\.", lambda m: f"align{m[2]}.l{m[1]}.dcn."),
    (r"L([12])_fea_conv_([12])\.", lambda m: f"align{m[2]}.l{m[1]}.fuse."),
]
_TOP_RULES = [
    (r"conv_first\.", lambda m: "extractor.conv_first."),
    (r"feature_extraction\.(\d+)\.(conv[12])\.", lambda m: f"extractor.blocks.{m[1]}.{m[2]}."),
    (r"ConvBLSTM\.conv_1x1\.", lambda m: "convlstm.fuse."),
    (r"ConvBLSTM\.forward_net\.cell_list\.0\.conv\.", lambda m: "convlstm.lstm.cell.conv."),
    (r"recon_trunk\.(\d+)\.(conv[12])\.", lambda m: f"reconstruction.blocks.{m[1]}.{m[2]}."),
    (r"upconv1\.", lambda m: "reconstruction.up1."),
    (r"upconv2\.", lambda m: "reconstruction.up2."),
    (r"HRconv\.", lambda m: "reconstruction.hr_conv."),
    (r"conv_last\.", lambda m: "reconstruction.conv_last."),
]
_LEAF = r"(weight|bias)$"


def _official_to_ours(key: str) -> Optional[str]:
    """Our parameter name for a reference key, or None if the key is not part of the reference layout."""
    for pattern, ours in _TOP_RULES:
        m = re.fullmatch(pattern + _LEAF, key)
        if m:
            return ours(m) + m[m.lastindex]
    for scope, (pyramid, interp) in sorted(_SCOPES.items(), key=lambda kv: -len(kv[0])):
        if not key.startswith(scope):
            continue
        rest = key[len(scope):]
        m = re.fullmatch(r"fea_L([23])_conv([12])\." + _LEAF, rest)
        if m:
            return f"{pyramid}l{m[1]}_conv{m[2]}.{m[3]}"
        m = re.fullmatch(r"fusion\." + _LEAF, rest)
        if m:
            return f"{interp}blend.{m[1]}"
        if rest.startswith("pcd_align."):
            rest = rest[len("pcd_align."):]
            for pattern, ours in _PCD_RULES:
                m = re.fullmatch(pattern + _LEAF, rest)
                if m:
                    return interp + ours(m) + m[m.lastindex]
        return None
    return None


def _strip_wrappers(sd: dict) -> dict:
    """Accept {'state_dict': ...} / {'params': ...} wrappers and DataParallel's 'module.' prefix."""
    for wrapper in ("state_dict", "params", "model"):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict) or not all(isinstance(v, Tensor) for v in sd.values()):
        raise ValueError("expected a state_dict: a dict from parameter names to tensors")
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def official_config(sd: Dict[str, Tensor]) -> ZSMConfig:
    """Read the network's sizes off a reference state_dict (channels, groups, block counts, HR channels)."""
    sd = _strip_wrappers(sd)
    needed = ["conv_first.weight", "pcd_align.L3_dcnpack_1.conv_offset_mask.weight", "HRconv.weight"]
    missing = [k for k in needed if k not in sd]
    if missing:
        raise ValueError(f"not a Zooming Slow-Mo reference state_dict: missing {missing}")
    k2 = sd["pcd_align.L3_dcnpack_1.conv_offset_mask.weight"].shape
    blocks = lambda prefix: len({k.split(".")[1] for k in sd if k.startswith(prefix + ".")})  # noqa: E731
    return ZSMConfig(
        channels=sd["conv_first.weight"].shape[0],
        groups=k2[0] // (3 * k2[2] * k2[3]),
        extraction_blocks=blocks("feature_extraction"),
        reconstruction_blocks=blocks("recon_trunk"),
        hr_channels=sd["HRconv.weight"].shape[0],
    )


def convert_official_state_dict(sd: Dict[str, Tensor], model: Optional[ZoomingSlowMo] = None) -> Dict[str, Tensor]:
    """Map a state_dict in the reference code's layout (``LunaTokis``) to :class:`ZoomingSlowMo`'s names.

    Args:
        sd (dict): the reference state_dict (416 tensors for the paper network). A ``{"state_dict": ...}``
            wrapper and a DataParallel ``module.`` prefix are accepted.
        model (ZoomingSlowMo, optional): the network the result is for; default: one built with
            :func:`official_config` of ``sd``.

    Returns:
        dict: our state_dict, with the same tensors.

    Raises:
        ValueError: keys outside the reference layout, missing tensors, or tensors of the wrong shape; the
            message names each one (in the reference's names).
    """
    sd = _strip_wrappers(sd)
    model = model if model is not None else ZoomingSlowMo(official_config(sd))
    target = model.state_dict()
    converted, ours_to_official, unknown = {}, {}, []
    for key, tensor in sd.items():
        ours = _official_to_ours(key)
        if ours is None or ours not in target:
            unknown.append(key)
            continue
        converted[ours] = tensor
        ours_to_official[ours] = key
    missing = sorted(k for k in target if k not in converted)
    wrong = sorted(
        f"{ours_to_official[k]}: {tuple(v.shape)}, expected {tuple(target[k].shape)}"
        for k, v in converted.items() if v.shape != target[k].shape
    )
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unexpected tensor(s): {listing(sorted(unknown))}")
    if missing:
        problems.append(f"{len(missing)} missing tensor(s) (our names): {listing(missing)}")
    if wrong:
        problems.append(f"{len(wrong)} tensor(s) of the wrong shape: {listing(wrong)}")
    if problems:
        raise ValueError(
            f"the state_dict does not fit a Zooming Slow-Mo network with {model.config}: " + "; ".join(problems)
        )
    return converted


def load_official_checkpoint(path: PathLike, config: Optional[ZSMConfig] = None, map_location="cpu",
                             warn_unpublished: bool = True) -> ZoomingSlowMo:
    """Load the authors' published checkpoint (e.g. ``xiang2020zooming.pth``) into a ready model in eval mode.

    The model is on the CPU (or ``map_location``) in the dtype the weights were stored in. A file that loads but is
    not the published one (its git blob SHA-1 is not :data:`zsm.weights.download.OFFICIAL_CHECKPOINT_BLOB`: a
    retrained, converted or altered network) loads with an :class:`~zsm.weights.download.UnpublishedCheckpointWarning`
    unless ``warn_unpublished`` is False; :func:`zsm.download_official_checkpoint` fetches the published one.

    Args:
        path: the ``.pth`` file, a plain state_dict saved with ``torch.save``.
        config (ZSMConfig, optional): the network to expect; default: read off the file.
        map_location: as in ``torch.load``. Default: "cpu".

    Raises:
        FileNotFoundError, ValueError: see :func:`safe_torch_load` and :func:`convert_official_state_dict`.
    """
    sd = _strip_wrappers(safe_torch_load(path, map_location))
    model = ZoomingSlowMo(config if config is not None else official_config(sd))
    converted = convert_official_state_dict(sd, model)
    model.to(stored_dtype(converted)).load_state_dict(converted)
    if warn_unpublished and not download.is_official_checkpoint(path):
        warnings.warn(f"{path} is in the authors' layout but is not their published checkpoint (its git blob SHA-1 "
                      f"is not {download.OFFICIAL_CHECKPOINT_BLOB}): results from it are not the paper's network's; "
                      "zsm.download_official_checkpoint() fetches the published file",
                      download.UnpublishedCheckpointWarning, stacklevel=2)
    return model.eval()


def stored_dtype(state_dict: Dict[str, Tensor]) -> torch.dtype:
    """The floating dtype the weights were stored in: the loaded model takes it (float32 for the authors' file)."""
    return next((t.dtype for t in state_dict.values() if t.is_floating_point()), torch.float32)

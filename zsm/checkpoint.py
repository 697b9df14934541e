"""Checkpoints: our own format, and the authors' published Zooming Slow-Mo checkpoint.

Book: chapter 7.

Nothing here unpickles arbitrary objects: every file is read with ``torch.load(..., weights_only=True)``, and
a file that is missing, truncated, altered, or holds tensors of another network is refused with a message
that names what is wrong.

Our format is a dict ``{"format": "zsm-model", "version": 1, "config": {...}, "state_dict": {...},
"sha256": <digest of the tensors>, "meta": {...}}``, written atomically (a temporary file, then a rename).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
from torch import Tensor

from .config import ZSMConfig
from .model import ZoomingSlowMo

__all__ = [
    "convert_official_state_dict",
    "official_config",
    "load_official_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "safe_torch_load",
    "atomic_torch_save",
    "state_dict_digest",
]

PathLike = Union[str, "os.PathLike[str]"]
FORMAT = "zsm-model"
VERSION = 1


# --------------------------------------------------------------------------------------------------------
# Safe reading and atomic writing
# --------------------------------------------------------------------------------------------------------
def safe_torch_load(path: PathLike, map_location="cpu"):
    """``torch.load`` with ``weights_only=True`` and errors that say what is wrong with the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a readable PyTorch checkpoint (truncated, corrupt), or it holds objects
            other than tensors and plain containers (refused instead of unpickled).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"refusing to load {path}: it holds objects other than tensors and plain containers, which would "
            f"need arbitrary code to unpickle ({str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as err:
        raise ValueError(
            f"could not read {path} as a PyTorch checkpoint; is it truncated or corrupt? "
            f"({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''})"
        ) from None


def atomic_torch_save(obj, path: PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def state_dict_digest(state_dict: Dict[str, Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------------
# The authors' layout
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
        problems.append(f"{len(unknown)} unexpected tensor(s): {_listing(sorted(unknown))}")
    if missing:
        problems.append(f"{len(missing)} missing tensor(s) (our names): {_listing(missing)}")
    if wrong:
        problems.append(f"{len(wrong)} tensor(s) of the wrong shape: {_listing(wrong)}")
    if problems:
        raise ValueError(
            f"the state_dict does not fit a Zooming Slow-Mo network with {model.config}: " + "; ".join(problems)
        )
    return converted


def _listing(items, most: int = 8) -> str:
    shown = ", ".join(items[:most])
    return shown + (f", ... and {len(items) - most} more" if len(items) > most else "")


def load_official_checkpoint(path: PathLike, config: Optional[ZSMConfig] = None, map_location="cpu") -> ZoomingSlowMo:
    """Load the authors' published checkpoint (e.g. ``xiang2020zooming.pth``) into a ready model in eval mode.

    The model is on the CPU (or ``map_location``) in the dtype the weights were stored in.

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
    model.to(_stored_dtype(converted)).load_state_dict(converted)
    return model.eval()


def _stored_dtype(state_dict: Dict[str, Tensor]) -> torch.dtype:
    """The floating dtype the weights were stored in: the loaded model takes it (float32 for the authors' file)."""
    return next((t.dtype for t in state_dict.values() if t.is_floating_point()), torch.float32)


# --------------------------------------------------------------------------------------------------------
# Our format
# --------------------------------------------------------------------------------------------------------
def save_checkpoint(model: ZoomingSlowMo, path: PathLike, meta: Optional[dict] = None) -> None:
    """Save the model's config and weights (with their SHA-256) atomically; ``meta`` holds plain values."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save(
        {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(), "state_dict": state,
         "sha256": state_dict_digest(state), "meta": dict(meta or {})},
        path,
    )


def load_checkpoint(path: PathLike, map_location="cpu", expect: Optional[ZSMConfig] = None) -> ZoomingSlowMo:
    """Load a model saved by :func:`save_checkpoint`, or the authors' checkpoint, ready in eval mode,
    in the dtype the weights were stored in.

    Args:
        path: the file.
        map_location: as in ``torch.load``. Default: "cpu".
        expect (ZSMConfig, optional): refuse a file whose network has another config.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, altered (digest mismatch), or another network than ``expect``.
    """
    obj = safe_torch_load(path, map_location)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        model, state = _model_from_ours(obj, path)
        model.to(_stored_dtype(state)).load_state_dict(state)
    else:
        try:
            model = load_official_checkpoint(path, map_location=map_location)
        except ValueError as err:
            raise ValueError(f"{path} is neither a zsm checkpoint nor the authors' layout: {err}") from None
    if expect is not None and model.config != expect:
        raise ValueError(f"{path} holds a network with {model.config}, but {expect} was expected")
    return model.eval()


def _model_from_ours(obj: dict, path) -> Tuple[ZoomingSlowMo, dict]:
    if obj.get("version") != VERSION:
        raise ValueError(f"{path}: zsm checkpoint version {obj.get('version')!r}, this zsm reads version {VERSION}")
    for field in ("config", "state_dict", "sha256"):
        if field not in obj:
            raise ValueError(f"{path}: the zsm checkpoint has no {field!r} entry")
    state = obj["state_dict"]
    if state_dict_digest(state) != obj["sha256"]:
        raise ValueError(f"{path}: the weights do not match their recorded SHA-256; the file was altered or damaged")
    model = ZoomingSlowMo(ZSMConfig.from_dict(obj["config"]))
    target = model.state_dict()
    missing = sorted(set(target) - set(state))
    unexpected = sorted(set(state) - set(target))
    wrong = sorted(k for k in set(target) & set(state) if target[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"{path}: the weights do not fit its config: missing {_listing(missing)}; "
            f"unexpected {_listing(unexpected)}; wrong shape {_listing(wrong)}"
        )
    return model, state

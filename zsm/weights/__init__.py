"""Weights on disk: our checkpoints (a model, a training run's), the authors' published one, the shipped model.

    files       safe reading (tensors only), atomic writing, a SHA-256 of the tensors
    official    the authors' parameter names mapped onto ours
    download    the authors' published file fetched, and proven theirs by its git blob SHA-1
    checkpoint  our two formats with one validator, and the shipped model (zsm-deeper.pt, beside this file)

Book: chapter 7.
"""
from .checkpoint import (SHIPPED_ANYTIME, SHIPPED_MODEL, cache_dir, load_checkpoint, load_default_model, load_model,
                         load_training_checkpoint, save_checkpoint, save_training_checkpoint)
from .download import (OFFICIAL_CHECKPOINT_BLOB, OFFICIAL_CHECKPOINT_URL, UnpublishedCheckpointWarning,
                       download_official_checkpoint, git_blob_sha1, is_official_checkpoint)
from .files import atomic_torch_save, safe_torch_load, state_dict_digest
from .official import convert_official_state_dict, load_official_checkpoint, official_config

__all__ = ["SHIPPED_MODEL", "SHIPPED_ANYTIME", "load_checkpoint", "load_default_model", "load_model", "cache_dir",
           "save_checkpoint", "load_training_checkpoint", "save_training_checkpoint", "convert_official_state_dict",
           "load_official_checkpoint", "official_config", "safe_torch_load", "atomic_torch_save", "state_dict_digest",
           "download_official_checkpoint", "OFFICIAL_CHECKPOINT_URL", "OFFICIAL_CHECKPOINT_BLOB",
           "UnpublishedCheckpointWarning", "git_blob_sha1", "is_official_checkpoint"]

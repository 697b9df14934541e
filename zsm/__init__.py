"""zsm: Zooming Slow-Mo (Xiang et al., CVPR 2020), one-stage space-time video super-resolution, in plain PyTorch.

Feed it T low-resolution, low-frame-rate frames; it returns 2T-1 frames at 4x the resolution: the inputs
super-resolved and the missing frames half-way between them, in one network.

Dimension letters, used in every docstring and shape comment:

    B  batch                    T  input frames (2T-1 output frames)
    C  feature channels         H, W  LR height and width
    s  scale (4)                G  deformable groups
    K  kernel taps (9 for 3x3)  N  a flattened batch (e.g. B*T) where it matters

Rooms by role; each imports only the rooms below it, and ``net`` imports none:

    cli, __main__   the command line: parse, call the library, report
    viz             offsets recorded by forward hooks, drawn as arrows and maps; the notebook explorer
    training        samples with motion, the training loop, a run's folder
    eval            PSNR/SSIM-Y, the two-stage baselines, the paper's evaluation protocol
    upscale         a whole video through a model in windows and tiles;  graphs: CUDA-graph replay
    data            video and frame I/O, MATLAB bicubic, the real footage, Vimeo-90K and Vid4
    weights         our checkpoints, the authors' layout and published file, the shipped model
    net             the network, one module per stage of the paper (see zsm.net)
"""
import sys as _sys

from .net import PRESETS, ZoomingSlowMo, ZSMConfig, ops
from .viz.hooks import record_offsets
from .viz.records import OffsetRecord
from .weights import (OFFICIAL_CHECKPOINT_BLOB, OFFICIAL_CHECKPOINT_URL, SHIPPED_ANYTIME, SHIPPED_MODEL,
                      convert_official_state_dict, download_official_checkpoint, load_checkpoint, load_default_model,
                      load_model, load_official_checkpoint, save_checkpoint)

_sys.modules[__name__ + ".ops"] = ops  # `import zsm.ops` and `from zsm.ops import ...` keep working

__version__ = "0.1.0"

__all__ = [
    "ZSMConfig",
    "PRESETS",
    "ZoomingSlowMo",
    "ops",
    "OffsetRecord",
    "record_offsets",
    "convert_official_state_dict",
    "load_official_checkpoint",
    "download_official_checkpoint",
    "OFFICIAL_CHECKPOINT_URL",
    "OFFICIAL_CHECKPOINT_BLOB",
    "save_checkpoint",
    "load_checkpoint",
    "load_default_model",
    "load_model",
    "SHIPPED_MODEL",
    "SHIPPED_ANYTIME",
]

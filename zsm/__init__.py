"""zsm: Zooming Slow-Mo (Xiang et al., CVPR 2020), one-stage space-time video super-resolution, in plain PyTorch.

Feed it T low-resolution, low-frame-rate frames; it returns 2T-1 frames at 4x the resolution: the inputs
super-resolved and the missing frames half-way between them, in one network.

Dimension letters, used in every docstring and shape comment:

    B  batch                    T  input frames (2T-1 output frames)
    C  feature channels         H, W  LR height and width
    s  scale (4)                G  deformable groups
    K  kernel taps (9 for 3x3)  N  a flattened batch (e.g. B*T) where it matters

Modules, from the paper's stages down to the operator (imports flow one way, down this list):

    model           ZoomingSlowMo: the whole network            (book chapter 7)
    reconstruction  residual blocks + pixel shuffle             (chapter 5)
    convlstm        bidirectional deformable ConvLSTM           (chapter 4)
    interpolation   frame feature temporal interpolation        (chapter 3)
    alignment       PCD alignment                               (chapter 3)
    dcn             deformable conv with its offset predictor   (chapter 2)
    ops             deform_conv2d: pure PyTorch or torchvision  (chapter 2)
    backends        which deform_conv2d runs, and which ran     (chapter 2)
    blocks          residual blocks, feature extractor, pyramid (chapter 1)
    config          ZSMConfig with paper() and tiny() presets
    checkpoint      our checkpoints and the authors' published one
"""
from .checkpoint import convert_official_state_dict, load_checkpoint, load_official_checkpoint, save_checkpoint
from .config import ZSMConfig
from .dcn import OffsetRecord, record_offsets
from .model import ZoomingSlowMo

__version__ = "0.1.0"

__all__ = [
    "ZSMConfig",
    "ZoomingSlowMo",
    "OffsetRecord",
    "record_offsets",
    "convert_official_state_dict",
    "load_official_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
]

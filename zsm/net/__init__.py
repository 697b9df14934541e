"""The Zooming Slow-Mo network, one module per stage of the paper; it imports nothing else of :mod:`zsm`.

From the input to the output, as in the paper's figure (imports flow one way, up this list):

    blocks          residual feature extraction and the 3-level pyramid          (book chapter 1)
    ops, backends   deform_conv2d, pure PyTorch or torchvision, and which ran    (chapter 2)
    dcn             DeformConv: a deformable conv with its offset predictor      (chapter 2)
    modulation      time modulation (after TMNet): any moment, not only half-way (chapter 8)
    alignment       PCD alignment, coarse to fine                                (chapter 3)
    interpolation   frame feature temporal interpolation                         (chapter 3)
    convlstm        the bidirectional deformable ConvLSTM                        (chapter 4)
    reconstruction  residual blocks + pixel shuffle                              (chapter 5)
    model           ZoomingSlowMo: the whole network                             (chapter 7)
    config          ZSMConfig and its presets
"""
from . import ops
from .config import PRESETS, ZSMConfig
from .dcn import DeformConv
from .model import ZoomingSlowMo, check_clip

__all__ = ["ZSMConfig", "PRESETS", "ZoomingSlowMo", "DeformConv", "check_clip", "ops"]

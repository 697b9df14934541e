"""Training the network: samples with motion, the loop, and the run's folder.

    samples  windows cut from footage or Vimeo-90K septuplets, cropped and augmented, a pure function of their number
    loop     Charbonnier loss, Adam with cosine restarts, mixed precision, DDP, resumable
    runs     a run's folder: its checkpoints, the latest of them, random states, curves

Book: chapter 6.
"""
from .loop import TrainConfig, TrainingDiverged, charbonnier, train
from .runs import latest_checkpoint
from .samples import FootageWindows, VimeoWindows, WindowSamples

__all__ = ["TrainConfig", "TrainingDiverged", "charbonnier", "train", "latest_checkpoint", "FootageWindows",
           "VimeoWindows", "WindowSamples"]

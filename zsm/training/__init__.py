"""Training the network: samples with motion, the loop, and the run's folder.

    samples  windows cut from footage or Vimeo-90K septuplets, cropped and augmented, a pure function of their number
    config   TrainConfig: everything a run depends on, the paper's recipe by default
    optim    Adam, the cosine schedule with warm restarts and its warm-up, the mixed-precision dtype
    loop     the loop: Charbonnier loss, mixed precision, DDP, resumable checkpoints
    runs     a run's folder: its checkpoints, the latest of them, random states, curves
    motion   the flow between a window's inputs; synthetic windows with known motion; mixtures of sources
    guidance a training-only loss that pulls the interpolation's offsets towards the flow
    recipe   the samples of a run, assembled from footage or Vimeo-90K, strides and synthetic motion
    initialise  a start for the feature extraction and interpolation whose signals keep their size

Book: chapter 6.
"""
from .config import TrainConfig
from .loop import TrainingDiverged, charbonnier, train
from .runs import latest_checkpoint
from .samples import FootageWindows, VimeoWindows, WindowSamples
from .recipe import training_samples

__all__ = ["TrainConfig", "TrainingDiverged", "charbonnier", "train", "latest_checkpoint", "FootageWindows",
           "VimeoWindows", "WindowSamples", "training_samples"]

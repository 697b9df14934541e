"""Pictures of the deformable offsets a forward pass used: arrows over a frame, magnitude maps per pyramid level,
the mean sampling grid, and an interactive explorer; and diagrams of the network traced from a forward pass.

Book: chapter 3 (frame feature temporal interpolation), chapter 4 (deformable ConvLSTM) and chapter 8 (any moment
between two frames); the network's diagrams, from the introduction to chapter 7.

matplotlib and ipywidgets are imported only when a function needs them (``pip install 'zsm[viz]'``), so
``import zsm.viz`` works without them. The offsets are taken from outside the network: :func:`zsm.record_offsets`
(``with zsm.record_offsets(model) as records: model(x)``) puts forward hooks on the model and on its deformable
convolutions' offset predictors for the duration of the block, and tags each record from the module's name, the
batch layout and the call order; :func:`record_model_offsets` runs the model once that way. Every function takes
those records (:class:`zsm.OffsetRecord`): offsets (B, G, K, 2, h, w) as (dy, dx) in pixels of their pyramid level,
masks (B, G, K, h, w). Drawings are in pixels of the LR input frame: a level-l pixel (r, c) sits at (r, c) * 2**(l-1)
in the frame (the centre of the stride-2 convolutions' window), and its offsets are multiplied by 2**(l-1).
"""
from .agreement import offset_flow_agreement, offsets_over_time
from .diagram import draw_convlstm, draw_network, draw_pcd, draw_strip
from .draw import (Arrows, draw_magnitude, draw_offsets, draw_tap_grid, level_factor, offset_arrows, offset_magnitude,
                   plot_magnitudes, record_frame, tap_grid)
from .explorer import OffsetExplorer
from .hooks import record_model_offsets, record_offsets
from .moments import MomentExplorer, moment_label
from .pixel_shuffle import draw_pixel_shuffle, pixel_shuffle_sources
from .records import STAGES, OffsetRecord, OffsetRecords
from .trace import NetworkTrace, StageTrace, paper_trace, trace_config, trace_network
from .windows import Window, draw_windows, trace_windows

__all__ = [
    "STAGES", "OffsetRecord", "OffsetRecords", "record_offsets", "record_model_offsets", "level_factor", "tap_grid",
    "Arrows", "offset_arrows", "offset_magnitude", "record_frame", "draw_offsets", "draw_magnitude",
    "plot_magnitudes", "draw_tap_grid", "OffsetExplorer", "MomentExplorer", "moment_label", "offset_flow_agreement",
    "offsets_over_time", "NetworkTrace", "StageTrace", "trace_network", "trace_config", "draw_network", "draw_strip",
    "pixel_shuffle_sources", "draw_pixel_shuffle", "Window", "trace_windows", "draw_windows", "draw_convlstm",
    "draw_pcd", "paper_trace",
]

"""The network's forward pass replayed as CUDA graphs, so the CPU launches one graph instead of thousands of kernels.

At batch 1 the paper network's pass is thousands of small kernels, and on a fast GPU launching them from Python
takes a large part of it (``benchmarks/inference.py`` measures eager against graphed passes; its figures are on the
book's Performance page). A CUDA graph records the kernels of one pass once and replays them with new data.

A graph is tied to the shapes, dtype and device of its input: :class:`GraphedModel` captures one per input shape
(a video's windows share one; tiles add a few for the edges) and runs the model eagerly once ``max_graphs``
shapes are held. Each graph keeps its own activations alive, so memory grows with the number of shapes.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn


class GraphedModel:
    """Call ``model`` through CUDA graphs, under ``torch.inference_mode`` (and autocast to ``autocast``).

    Args:
        model (nn.Module): in eval mode, on a CUDA device; maps (B, T, 3, H, W) -> (B, 2T-1, 3, sH, sW).
        autocast (torch.dtype, optional): torch.bfloat16 or torch.float16 to run under ``torch.autocast``; None
            runs in the model's own dtype.
        max_graphs (int): input shapes to capture; further shapes run eagerly. Default: 4.

    Calls return a new tensor (a copy of the graph's output buffer, which the next replay overwrites).
    ``graphs`` is the number of captured graphs; ``eager_calls`` counts calls that ran without one.

    Raises:
        ValueError: the model is not on a CUDA device, is in training mode, or ``autocast`` is not a half type.
    """

    def __init__(self, model: nn.Module, autocast: Optional[torch.dtype] = None, max_graphs: int = 4):
        param = next(model.parameters(), None)
        if param is None or param.device.type != "cuda":
            raise ValueError("CUDA graphs need the model on a CUDA device "
                             f"(its parameters are on {param.device if param is not None else 'no device'})")
        if model.training:
            raise ValueError("CUDA graphs replay one fixed pass; put the model in eval mode (model.eval()) first")
        if autocast not in (None, torch.bfloat16, torch.float16):
            raise ValueError(f"autocast must be None, torch.bfloat16 or torch.float16, got {autocast}")
        if max_graphs < 0:
            raise ValueError(f"max_graphs must be >= 0, got {max_graphs}")
        self.model, self.autocast, self.max_graphs = model, autocast, max_graphs
        self.config = getattr(model, "config", None)  # upscale_frames reads config.scale
        self._graphs: Dict[Tuple, tuple] = {}
        self.eager_calls = 0

    @property
    def graphs(self) -> int:
        return len(self._graphs)

    def parameters(self):
        """The model's parameters (so code that asks a model for its device and dtype can ask this too)."""
        return self.model.parameters()

    def _eager(self, x: Tensor) -> Tensor:
        if self.autocast is None:
            return self.model(x)
        # No weight-cast cache: a cast cached while capturing would be replayed stale after the weights change.
        with torch.autocast("cuda", dtype=self.autocast, cache_enabled=False):
            return self.model(x)

    def _capture(self, x: Tensor) -> tuple:
        static_in = x.clone()
        side = torch.cuda.Stream(x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):  # warm-up passes: cuDNN picks its algorithms, the allocator settles
            for _ in range(2):
                self._eager(static_in)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # Captured on the warm-up stream: libraries that keep per-stream handles and workspaces (cuBLAS) made them
        # during the warm-up, not in the middle of the capture.
        with torch.cuda.graph(graph, stream=side):
            static_out = self._eager(static_in)
        return static_in, graph, static_out

    def __call__(self, x: Tensor) -> Tensor:
        if x.device.type != "cuda":
            raise ValueError(f"the input must be on the model's CUDA device, got {x.device}")
        key = (tuple(x.shape), x.dtype, x.device)
        with torch.inference_mode():
            entry = self._graphs.get(key)
            if entry is None and len(self._graphs) < self.max_graphs:
                entry = self._graphs[key] = self._capture(x)
            if entry is None:
                self.eager_calls += 1
                return self._eager(x)
            static_in, graph, static_out = entry
            static_in.copy_(x)
            graph.replay()
            return static_out.clone()


def accelerated(model: nn.Module, bf16: bool = False, cuda_graph: bool = False, max_graphs: int = 4):
    """``model`` under bfloat16 autocast and/or replayed as CUDA graphs (``upscale --bf16 --cuda-graph``), or
    ``model`` itself when neither is asked for. With ``bf16`` alone every call runs eagerly under autocast."""
    if not (bf16 or cuda_graph):
        return model
    return GraphedModel(model, autocast=torch.bfloat16 if bf16 else None, max_graphs=max_graphs if cuda_graph else 0)

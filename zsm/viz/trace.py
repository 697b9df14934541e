"""The network's forward pass as shapes: each stage's name, chapter and the shapes it received and returned.

Book: the introduction and chapters 1-5 draw it (:mod:`zsm.viz.diagram`).

:func:`trace_network` runs a model once with forward hooks on its four stages and keeps what they were called with
and returned (shapes only), so a diagram drawn from a trace cannot drift from the code: a stage renamed, a shape
changed or a block added shows in it. :func:`trace_config` traces a configuration on the ``meta`` device (no values,
no time), and :func:`paper_trace` reads the paper network's trace shipped beside this module.
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Tuple

import torch
from torch import Tensor

__all__ = ["STAGE_TITLES", "StageTrace", "NetworkTrace", "trace_network", "trace_config", "paper_trace", "PAPER_TRACE",
           "trace_to_dict", "trace_from_dict"]

Shape = Tuple[int, ...]

# The model's four stages (attribute names of zsm.ZoomingSlowMo, in the order they run): title and book chapter.
STAGE_TITLES = {
    "extractor": ("Residual feature extraction", 1),
    "interpolation": ("Frame feature temporal interpolation", 3),
    "convlstm": ("Bidirectional deformable ConvLSTM", 4),
    "reconstruction": ("Pixel-shuffle reconstruction", 5),
}


@dataclass(frozen=True)
class StageTrace:
    """One stage as a forward pass used it.

    ``inputs`` and ``outputs`` are the shapes of the tensors it received and returned, flattened in order (a list
    of pyramid levels gives one shape per level); ``calls`` counts its calls in the pass.
    """

    name: str
    title: str
    chapter: int
    module: str
    parameters: int
    calls: int
    inputs: Tuple[Shape, ...]
    outputs: Tuple[Shape, ...]
    detail: str


@dataclass(frozen=True)
class NetworkTrace:
    """A model's forward pass on one input: the input and output shapes, and every stage in the order it ran."""

    input: Shape
    output: Shape
    stages: Tuple[StageTrace, ...]
    config: object

    def stage(self, name: str) -> StageTrace:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage {name!r}; the stages are {[s.name for s in self.stages]}")


def _shapes(value) -> Tuple[Shape, ...]:
    """Shapes of the tensors in a (nested) tuple or list, in order."""
    if isinstance(value, Tensor):
        return (tuple(value.shape),)
    if isinstance(value, (list, tuple)):
        return tuple(shape for item in value for shape in _shapes(item))
    return ()


def _detail(name: str, config) -> str:
    """What is inside a stage, from the configuration (so it follows the model's sizes)."""
    c, g = config.channels, config.groups
    if name == "extractor":
        blocks = config.extraction_blocks
        return f"conv + {blocks} residual block{'s' * (blocks != 1)}, pyramid L1, L2, L3 (C = {c})"
    if name == "interpolation":
        return f"2 PCD alignments (deformable, G = {g}) + 1x1 blend, per pair"
    if name == "convlstm":
        return "ConvLSTM with deformably aligned h, c; forward + backward, 1x1 fusion"
    if name == "reconstruction":
        skip = ", + bicubic guess (global skip)" if getattr(config, "global_skip", False) else ""
        blocks = config.reconstruction_blocks
        return (f"{blocks} residual block{'s' * (blocks != 1)}, 2 x (conv, pixel shuffle x2), "
                f"{config.hr_channels} HR channels{skip}")
    return ""


def trace_network(model, x: Tensor) -> NetworkTrace:
    """Run ``model`` (a :class:`zsm.ZoomingSlowMo`) on ``x`` once, without gradients, and trace its stages.

    Shape:
        x: (B, T, 3, H, W), as the model takes it.
    """
    calls = {name: [] for name in STAGE_TITLES}
    hooks = []
    for name in STAGE_TITLES:
        module = getattr(model, name, None)
        if module is None:
            raise TypeError(f"{type(model).__name__} has no stage {name!r}: trace_network needs a ZoomingSlowMo")
        hooks.append(module.register_forward_hook(
            lambda mod, args, out, name=name: calls[name].append((_shapes(args), _shapes(out)))))
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    stages = []
    for name in (name for name in STAGE_TITLES if calls[name]):  # in the order they run
        module = getattr(model, name)
        title, chapter = STAGE_TITLES[name]
        inputs, outputs = calls[name][0]
        stages.append(StageTrace(name, title, chapter, type(module).__name__,
                                 sum(p.numel() for p in module.parameters()), len(calls[name]), inputs, outputs,
                                 _detail(name, model.config)))
    return NetworkTrace(tuple(x.shape), tuple(y.shape), tuple(stages), model.config)


# The example input of the book's diagrams: B = 1, T = 4 frames of 64 x 96.
PAPER_INPUT: Shape = (1, 4, 3, 64, 96)


def trace_config(config=None, shape: Shape = PAPER_INPUT) -> NetworkTrace:
    """Trace a network of ``config`` (default: the paper's) on an input of ``shape`` without computing anything.

    The network is built and run on PyTorch's ``meta`` device, which keeps shapes and no values: the paper's network
    traces in a few seconds on a CPU, whatever the input size, and a trace is kept for later calls with the same
    config and shape (it cannot change: the trace and the config are frozen). Its deformable convolutions run on the
    pure backend (they show in :func:`zsm.ops.backend_counts`).
    """
    from ..net import ZSMConfig

    return _trace_config(config or ZSMConfig.paper(), tuple(shape))


@functools.lru_cache(maxsize=8)
def _trace_config(config, shape: Shape) -> NetworkTrace:
    from ..net import ZoomingSlowMo, ops

    with torch.device("meta"), ops.use_backend("pure"):
        model = ZoomingSlowMo(config).eval()
        return trace_network(model, torch.empty(shape))


# The paper's network on 4 frames of 64 x 96, as trace_config() returns it, kept beside this module so that the
# book's diagrams draw it without a trace in every chapter (3-6 s each on a 2-core CPU).
# tests/test_diagram.py checks that it is what trace_config() gives; `python -m zsm.viz.trace` rewrites it.
PAPER_TRACE = Path(__file__).with_name("paper_trace.json")


def trace_to_dict(trace: NetworkTrace) -> dict:
    """A trace as plain JSON data (the config as its fields)."""
    return {"input": list(trace.input), "output": list(trace.output), "config": asdict(trace.config),
            "stages": [asdict(stage) for stage in trace.stages]}


def trace_from_dict(data: dict) -> NetworkTrace:
    """The inverse of :func:`trace_to_dict`."""
    from ..net import ZSMConfig

    def shapes(items):
        return tuple(tuple(shape) for shape in items)

    stages = tuple(StageTrace(**{**stage, "inputs": shapes(stage["inputs"]), "outputs": shapes(stage["outputs"])})
                   for stage in data["stages"])
    return NetworkTrace(tuple(data["input"]), tuple(data["output"]), stages, ZSMConfig(**data["config"]))


def paper_trace() -> NetworkTrace:
    """The trace of the paper's network (``ZSMConfig.paper()``) on 4 frames of 64 x 96, read from the file shipped
    with the package (:data:`PAPER_TRACE`), which the tests hold equal to ``trace_config()``: what the chapters'
    strips draw, in no time."""
    return trace_from_dict(json.loads(PAPER_TRACE.read_text()))


if __name__ == "__main__":  # python -m zsm.viz.trace: rewrite PAPER_TRACE from a fresh trace
    from ..outputs import atomic_file

    with atomic_file(PAPER_TRACE, overwrite=True) as partial:
        Path(partial).write_text(json.dumps(trace_to_dict(trace_config()), indent=1) + "\n")
    print(f"wrote {PAPER_TRACE}")

"""Scoring with the paper's protocol: the metrics, the two-stage baselines, and the evaluation of any method.

    metrics    PSNR and SSIM on Y (BT.601), 8-bit
    baselines  bicubic + frame averaging, optical flow + bicubic: the network's interface, no learning; a 2x
               method asked for other moments (its frames blended)
    evaluate   methods over clips in windows of 4 inputs, each output frame scored once; the evaluation sets

Book: chapters 0, 7 and 8.
"""
from .baselines import BicubicAverage, FlowThenBicubic, HalfWayThenBlend
from .evaluate import evaluate, evaluate_clip, format_table, markdown_table, summarise
from .metrics import psnr_y, ssim_y

__all__ = ["BicubicAverage", "FlowThenBicubic", "HalfWayThenBlend", "evaluate", "evaluate_clip", "format_table",
           "markdown_table", "summarise", "psnr_y", "ssim_y"]

"""zsm: Zooming Slow-Mo, one-stage space-time video super-resolution, in plain PyTorch."""

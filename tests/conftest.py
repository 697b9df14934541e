"""Shared test helpers: where the reference fixtures live (../shared beside the checkout, or $ZSM_SHARED)."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("ZSM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def reference_tiny():
    """The reference network's weights, inputs and outputs (see ../shared/fixtures/README.md)."""
    path = shared_dir() / "fixtures" / "reference_tiny.pt"
    if not path.is_file():
        pytest.skip(f"golden fixture not found at {path} (it lives in the project's shared/ folder, "
                    "which a plain clone of this repository does not have; set ZSM_SHARED to its path)")
    return torch.load(path, weights_only=True)


def torchvision_or_skip():
    """Skip the calling test unless torchvision imports; with ZSM_REQUIRE_TORCHVISION=1 fail instead."""
    from zsm import ops

    available, reason = ops.torchvision_status()
    if not available:
        if os.environ.get("ZSM_REQUIRE_TORCHVISION") == "1":
            pytest.fail(f"ZSM_REQUIRE_TORCHVISION=1 but {reason}")
        pytest.skip(reason)

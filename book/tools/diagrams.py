"""Draw the diagrams of the book's Markdown pages, which run no code: the whole network on the introduction.

Run by book/tools/build.sh before Sphinx (``python book/tools/diagrams.py``). The pictures are traced from a
forward pass of the configured network (``zsm.viz.trace_config``, on PyTorch's meta device, so nothing is
computed), so they follow the package. They go to book/_generated/, which is not committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

BOOK = Path(__file__).resolve().parents[1]
OUT = BOOK / "_generated"
NETWORK_INPUT = (1, 4, 3, 64, 96)  # B, T, 3, H, W of the introduction's example


def main(out: Path = OUT) -> int:
    import matplotlib.pyplot as plt

    from zsm import ZSMConfig, viz

    out.mkdir(parents=True, exist_ok=True)
    fig = viz.draw_network(viz.trace_config(ZSMConfig.paper(), NETWORK_INPUT))
    target = out / "network.png"
    partial = target.with_name(target.name + ".partial")
    fig.savefig(partial, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    partial.replace(target)
    print(f"diagrams: {target.relative_to(BOOK)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

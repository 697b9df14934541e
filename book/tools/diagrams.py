"""Draw the diagrams of the book's Markdown pages, which run no code: the whole network on the introduction.

Run by book/tools/build.sh before Sphinx (``python book/tools/diagrams.py``). The pictures are traced from a
forward pass of the paper's network (``zsm.viz.paper_trace``, which the tests hold equal to a fresh
``zsm.viz.trace_config()``), so they follow the package. They go to book/_generated/, which is not committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

BOOK = Path(__file__).resolve().parents[1]
OUT = BOOK / "_generated"


def main(out: Path = OUT) -> int:
    import matplotlib.pyplot as plt

    from zsm import viz

    out.mkdir(parents=True, exist_ok=True)
    fig = viz.draw_network(viz.paper_trace())  # the paper's network on 4 frames of 64 x 96
    target = out / "network.png"
    partial = target.with_name(target.name + ".partial")
    fig.savefig(partial, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    partial.replace(target)
    print(f"diagrams: {target.relative_to(BOOK)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

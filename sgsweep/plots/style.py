"""Shared figure conventions: Agg backend, sizes, colour maps, saving as PNG + PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..store import atomic_write  # noqa: E402

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "legend.fontsize": "small",
        "legend.frameon": False,
        "axes.titlesize": "medium",
    }
)


def save(fig, out_stem: str) -> list[str]:
    """Write ``out_stem.png`` and ``out_stem.pdf`` (each through a temporary file and a rename, so
    that a killed job leaves no half-written figure), close the figure, return both paths."""
    stem = Path(out_stem)
    paths = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix("." + ext) if stem.suffix == "" else Path(f"{stem}.{ext}")
        atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, bbox_inches="tight"))
        paths.append(str(path))
    plt.close(fig)
    return paths


def colors(n: int, cmap: str = "viridis"):
    cm = plt.get_cmap(cmap)
    return [cm(0.1 + 0.8 * i / max(n - 1, 1)) for i in range(n)]


def panels(n: int, width: float = 4.2, height: float = 3.4, sharey: bool = True):
    """One row of ``n`` panels."""
    fig, axs = plt.subplots(1, n, figsize=(width * n, height), sharey=sharey, squeeze=False)
    return fig, list(axs[0])

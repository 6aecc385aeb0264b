"""Registry of figure kinds: named input Datasets -> PNG + PDF files.

::

    @figure("spiked.phase_diagram")
    def phase_diagram(inputs: dict[str, xr.Dataset], options: dict, out_stem: str) -> list[str]: ...

Figures read aggregates and products only; they never recompute physics.
"""

from __future__ import annotations

from typing import Callable

from ..methods import import_all

FIGURE_MODULES = (
    "sgsweep.plots.spiked",
    "sgsweep.plots.phase_diagram",
    "sgsweep.plots.landscape",
    "sgsweep.plots.dmft",
    "sgsweep.plots.mixture",
    "sgsweep.plots.retrieval",
)

_FIGURES: dict[str, Callable] = {}


def figure(kind: str):
    """Decorator registering ``func(inputs, options, out_stem) -> [paths]`` as figure ``kind``."""

    def deco(func):
        _FIGURES[kind] = func
        return func

    return deco


def _load() -> None:
    import_all(FIGURE_MODULES)


def get_figure(kind: str) -> Callable:
    _load()
    try:
        return _FIGURES[kind]
    except KeyError:
        raise KeyError(f"figure kind {kind!r} unknown; known: {', '.join(sorted(_FIGURES))}") from None


def all_figures() -> dict[str, Callable]:
    _load()
    return dict(sorted(_FIGURES.items()))

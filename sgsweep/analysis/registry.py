"""Registry of derived products: sweep aggregate -> Dataset (thresholds, theory lines, ...).

A product is declared by the family that knows how to compute it::

    @product("spiked.sim", "thresholds")
    def sim_thresholds(agg: xr.Dataset, sweep: dict) -> xr.Dataset: ...

and the workflow writes it to ``results/<sweep>/<name>.nc`` for every sweep of that method.
"""

from __future__ import annotations

from typing import Callable

from ..methods import import_all

#: modules whose import registers products
PRODUCT_MODULES = (
    "sgsweep.analysis.spiked",
    "sgsweep.analysis.theory",
    "sgsweep.analysis.dmft",
    "sgsweep.analysis.mixture",
    "sgsweep.analysis.retrieval",
)

_PRODUCTS: dict[str, dict[str, Callable]] = {}


def product(method: str, name: str):
    """Decorator registering ``func(agg, sweep) -> Dataset`` as product ``name`` of ``method``."""

    def deco(func):
        _PRODUCTS.setdefault(method, {})[name] = func
        return func

    return deco


def _load() -> None:
    import_all(PRODUCT_MODULES)


def products_of(method: str) -> dict[str, Callable]:
    """``{name: func}`` of the products registered for ``method``."""
    _load()
    return dict(_PRODUCTS.get(method, {}))

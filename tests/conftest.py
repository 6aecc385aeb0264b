"""Shared fixtures: a cheap toy method to exercise the framework without physics."""

import numpy as np
import pytest
import xarray as xr

from sgsweep import rng
from sgsweep.methods import Method, Param, register, _REGISTRY


def _toy(params, ctx):
    if params["fail"]:
        raise FloatingPointError("toy solver diverged on purpose")
    states = rng.init_states(ctx.replica_seeds)
    n = len(ctx.replica_index)
    out = np.empty((n, params["steps"]))
    for i in range(n):
        rng.fill_normal(states[i], out[i])
    t = np.arange(params["steps"], dtype=float)
    walk = params["scale"] * np.cumsum(out, axis=1)
    return xr.Dataset(
        {"walk": (("sample", "time"), walk, {"units": "1", "long_name": "random walk"})},
        coords={"sample": ctx.replica_index, "time": ("time", t, {"units": "1", "long_name": "step"})},
        attrs={"status": "ok", "walk_scale_squared": params["scale"] ** 2, "walk_kind": "gaussian",
               "walk_regime": "small steps" if params["scale"] < 1.5 else "large steps"},
    )


TOY = Method(
    name="toy.walk",
    description="Gaussian random walks (test method).",
    params=(
        Param("scale", float, 1.0, "step size", minimum=0, minimum_open=True),
        Param("steps", int, 5, "number of steps", minimum=1),
        Param("fail", bool, False, "raise inside the solve"),
        Param("samples", int, 3, "walks", minimum=1, identity=False),
        Param("seed", int, 0, "base seed", minimum=0, identity=False),
    ),
    compute=_toy,
    replicas=("samples", "sample"),
)
if "toy.walk" not in _REGISTRY:
    register(TOY)


@pytest.fixture
def toy():
    return TOY

"""Grid points: canonical values, stable identities and the seed tree.

The path of a parameter (design.md): declared once in a sweep, validated by its :class:`Param`,
turned into a *canonical* value here (numbers rounded to 12 significant digits, so that
``0.1 + 0.2`` and ``0.3`` are the same point), hashed into a stable identity and a seed, passed to
the method's pure compute function, and written next to its result as a coordinate.

Identity of a point = method + every identity parameter (sorted by name, canonical text). It never
depends on the position of a value in an axis, on the other values of the axis, on the number of
replicas or on how points are batched, so a grid can grow without renaming anything.

Seed tree::

    SeedSequence(entropy=[base_seed, *sha256(method | point id)[:4 words]], spawn_key=(replica,))

so replica ``i`` of a point has the same bits alone, in a sweep, on 1 or N cores, locally or on
SLURM, and whatever the number of replicas.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .methods import Method, Param, ParameterError

#: longest human-readable identity; longer ones keep a readable prefix and a hash
MAX_ID_LENGTH = 180


def canonical(value, param: Param | None = None):
    """Canonical Python value: floats rounded to 12 significant digits, ints as int."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if param is not None and param.kind is int:
        return int(value)
    if isinstance(value, (int, np.integer)) and (param is None or param.kind is not float):
        return int(value)
    v = float(value)
    if not math.isfinite(v):
        return v
    return float(f"{v:.12g}")


def canonical_text(value) -> str:
    """Text of a canonical value used in identities and file names ("0.25", "1e-05", "128")."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.12g}"
        return text
    return str(value)


def canonical_params(method: Method, values: dict, where: str = "") -> dict:
    """Validate ``values`` against ``method`` and return the full canonical parameter dict."""
    full = method.validate(values, where)
    out = {}
    for p in method.params:
        v = canonical(full[p.name], p)
        out[p.name] = p.coerce(v, where) if v is not None else None
    return out


def identity_items(method: Method, params: dict) -> list[tuple[str, str]]:
    return sorted(
        (p.name, canonical_text(params[p.name])) for p in method.params if p.identity
    )


def point_id(method: Method, params: dict) -> str:
    """Human-readable, stable identity of a point, e.g. ``N=128,T=0,delta2=0.25,...``."""
    text = ",".join(f"{k}={v}" for k, v in identity_items(method, params))
    for bad in "/\\":
        text = text.replace(bad, "_")
    if len(text) > MAX_ID_LENGTH:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        text = text[: MAX_ID_LENGTH - 18] + "--" + digest
    return text


def point_digest(method: Method, params: dict) -> bytes:
    full = method.name + "|" + ",".join(f"{k}={v}" for k, v in identity_items(method, params))
    return hashlib.sha256(full.encode()).digest()


def _entropy(base_seed: int, method: Method, params: dict) -> list[int]:
    d = point_digest(method, params)
    words = [int.from_bytes(d[4 * i : 4 * i + 4], "little") for i in range(4)]
    return [int(base_seed), *words]


def root_seed(base_seed: int, method: Method, params: dict) -> np.random.SeedSequence:
    """Seed sequence of the point (for randomness not tied to a replica)."""
    return np.random.SeedSequence(entropy=_entropy(base_seed, method, params))


def replica_seeds(base_seed: int, method: Method, params: dict, indices) -> list:
    """Seed sequences of replicas ``indices`` (global indices) of the point."""
    ent = _entropy(base_seed, method, params)
    return [np.random.SeedSequence(entropy=ent, spawn_key=(int(i),)) for i in indices]


# ---------------------------------------------------------------------------------------- axes
def axis_param(method: Method, axis: str, where: str = "") -> tuple[Param, bool]:
    """The parameter an axis sets, and whether the axis holds its reciprocal (``inv_delta2``)."""
    names = method.param_names
    if axis in names:
        return method.param(axis), False
    if axis.startswith("inv_") and axis[4:] in names and method.param(axis[4:]).kind is float:
        return method.param(axis[4:]), True
    raise ParameterError(
        f"{where or 'grid.' + axis}: unknown parameter of method {method.name}; allowed: {', '.join(names)}"
        + " (or inv_<name> for the reciprocal of a real parameter)"
    )


def axis_values(spec, where: str) -> list:
    """Expand an axis spec: a list, or ``{start, stop, num, spacing: linear|log}``."""
    if isinstance(spec, dict):
        try:
            start, stop, num = float(spec["start"]), float(spec["stop"]), int(spec["num"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(f"{where}: expected a list or {{start, stop, num, spacing}}") from None
        spacing = spec.get("spacing", "linear")
        if num < 1:
            raise ParameterError(f"{where}.num: got {num}, expected an integer >= 1")
        if spacing == "linear":
            vals = np.linspace(start, stop, num)
        elif spacing == "log":
            if start <= 0 or stop <= 0:
                raise ParameterError(f"{where}: log spacing needs start > 0 and stop > 0")
            vals = np.geomspace(start, stop, num)
        else:
            raise ParameterError(f"{where}.spacing: got {spacing!r}, expected one of linear, log")
        return [float(v) for v in vals]
    if isinstance(spec, (list, tuple)):
        if len(spec) == 0:
            raise ParameterError(f"{where}: empty axis, expected at least one value")
        return list(spec)
    return [spec]

"""The method registry: name -> parameter specs + pure compute function.

A *method* is what one grid point runs (``spiked.sim``, ``spiked.dmft``, ...). Its parameter specs
are the single source of truth for validation, ``sgsweep run METHOD --help``, the sweep JSON schema
and the netCDF attrs of the point's coordinates. Its compute function is pure:

    compute(params: dict, ctx: PointContext) -> xarray.Dataset

``params`` holds every parameter of the method, validated and canonical (defaults filled in).
``ctx`` carries the randomness (a seed tree keyed by the canonical point and the replica index),
the execution resources (threads, memory budget) and a progress logger. The function returns data
variables only (with ``units``/``long_name`` attrs and optionally ``attrs["status"]``); the caller
(:func:`sgsweep.point.compute_point`) adds the parameters as scalar coordinates and attrs and the
provenance, so that the CLI and the pipeline write byte-for-byte the same dataset.

Families register their methods in ``sgsweep/<family>/method_<kind>.py``; :func:`get` imports them lazily.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: modules whose import registers methods (one per family)
FAMILY_MODULES = (
    "sgsweep.spiked.method_sim",
    "sgsweep.spiked.method_theory",
    "sgsweep.spiked.method_dmft",
    "sgsweep.spiked.method_amp",
    "sgsweep.mixture.method_sim",
    "sgsweep.mixture.method_dmft",
    "sgsweep.retrieval.method_sim",
)


#: seconds per replica assumed for methods without a cost model
DEFAULT_COST = 10.0


class ParameterError(ValueError):
    """Bad input: unknown key, wrong type or value outside the allowed range.

    The message always names the key and the allowed range or choices."""


REQUIRED = object()  # sentinel: the parameter has no default


@dataclass(frozen=True)
class Param:
    """Specification of one method parameter.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``. Ranges are inclusive unless ``*_open``.
    ``identity=False`` marks execution settings that do not change the result of a replica
    (``samples``/``runs`` count, ``seed`` is handled separately by the seed tree).
    ``optional=True`` allows ``None`` (written as "none"), meaning "not set".
    """

    name: str
    kind: type
    default: Any = REQUIRED
    description: str = ""
    units: str = "1"
    long_name: str = ""
    minimum: float | None = None
    maximum: float | None = None
    minimum_open: bool = False
    maximum_open: bool = False
    choices: tuple | None = None
    optional: bool = False
    identity: bool = True

    # ---------------------------------------------------------------- description of the range
    def range_text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "a string"
        lo = "" if self.minimum is None else ("(" if self.minimum_open else "[") + _fmt(self.minimum)
        hi = "" if self.maximum is None else _fmt(self.maximum) + (")" if self.maximum_open else "]")
        what = "an integer" if self.kind is int else "a number"
        if self.minimum is None and self.maximum is None:
            text = what
        elif self.maximum is None:
            text = f"{what} {'>' if self.minimum_open else '>='} {_fmt(self.minimum)}"
        elif self.minimum is None:
            text = f"{what} {'<' if self.maximum_open else '<='} {_fmt(self.maximum)}"
        else:
            text = f"{what} in {lo}, {hi}"
        return text + (" or none" if self.optional else "")

    # ---------------------------------------------------------------- validation
    def coerce(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to ``kind`` and checked, or raise :class:`ParameterError`."""
        key = f"{where}{self.name}"
        if self.optional and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None
        try:
            if self.kind is bool:
                if isinstance(value, str):
                    low = value.lower()
                    if low not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    v = low in ("true", "1", "yes")
                elif isinstance(value, (bool, np.bool_)) or value in (0, 1):
                    v = bool(value)
                else:
                    raise ValueError
            elif self.kind is int:
                if isinstance(value, bool):
                    raise ValueError
                if isinstance(value, str):
                    fv = float(value)
                else:
                    fv = float(value)
                if not math.isfinite(fv) or fv != int(fv):
                    raise ValueError
                v = int(fv)
            elif self.kind is float:
                if isinstance(value, bool):
                    raise ValueError
                v = float(value)
                if math.isnan(v):
                    raise ValueError
            else:
                v = str(value)
        except (TypeError, ValueError, OverflowError):
            raise ParameterError(f"{key}: got {value!r}, expected {self.range_text()}") from None
        if self.choices is not None and v not in self.choices:
            raise ParameterError(f"{key}: got {value!r}, expected {self.range_text()}")
        if self.kind in (int, float):
            bad = False
            if self.minimum is not None:
                bad |= v <= self.minimum if self.minimum_open else v < self.minimum
            if self.maximum is not None:
                bad |= v >= self.maximum if self.maximum_open else v > self.maximum
            if bad:
                raise ParameterError(f"{key}: got {value!r}, expected {self.range_text()}")
        return v

    def json_schema(self) -> dict:
        """JSON-schema fragment for one value of this parameter."""
        if self.kind is bool:
            s: dict = {"type": "boolean"}
        elif self.kind is int:
            s = {"type": "integer"}
        elif self.kind is float:
            s = {"type": "number"}
        else:
            s = {"type": "string"}
        if self.choices is not None:
            s["enum"] = list(self.choices)
        if self.minimum is not None:
            s["exclusiveMinimum" if self.minimum_open else "minimum"] = self.minimum
        if self.maximum is not None:
            s["exclusiveMaximum" if self.maximum_open else "maximum"] = self.maximum
        if self.optional:
            s = {"anyOf": [s, {"type": "null"}]}
        s["description"] = f"{self.description} [{self.units}] ({self.range_text()})"
        return s


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass
class PointContext:
    """What a compute function may use besides its parameters.

    * ``replica_seeds``: one :class:`numpy.random.SeedSequence` per replica (sample / run), keyed
      by the canonical point and the global replica index, so that replica ``i`` has the same bits
      whatever the number of replicas, the batch it runs in, the thread count or the machine.
    * ``replica_index``: the global indices of those replicas (``sample`` / ``run`` coordinate).
    * ``root_seed``: seed sequence of the point itself (for methods without replicas, e.g. the
      Monte-Carlo paths of a DMFT).
    * ``threads``: cores the computation may use; ``memory_mb``: memory budget.
    * ``progress(done, total, what)``: progress line for the job log (rate-limited).
    """

    replica_seeds: list
    replica_index: np.ndarray
    root_seed: np.random.SeedSequence
    threads: int = 1
    memory_mb: float = 4000.0
    progress: Callable[..., None] = field(default=lambda *a, **k: None)


@dataclass(frozen=True)
class Method:
    """A registered method.

    ``replicas``: ``(count_param, dim_name)`` for methods that average over independent replicas
    (``("samples", "sample")``), else ``None``.
    ``variables``: name -> one-line description (documentation and ``--help``).
    ``cost``: optional estimate of the wall time (s) of one replica on one core, from the params;
    the pipeline sizes job time limits with it (default :data:`DEFAULT_COST`).
    ``check``: optional cross-parameter check ``check(params)`` raising :class:`ParameterError`
    (e.g. a persistence time too short for the learning rate); it runs at validation time, so a
    bad combination is refused before any job starts, like a value out of its range.
    """

    name: str
    description: str
    params: tuple
    compute: Callable[[dict, PointContext], Any]
    replicas: tuple | None = None
    variables: dict = field(default_factory=dict)
    reference: str = ""
    check: Callable[[dict], None] | None = None
    cost: Callable[[dict], float] | None = None

    def estimate(self, params: dict) -> float:
        """Estimated seconds per replica on one core (for job time limits)."""
        return float(self.cost(params)) if self.cost is not None else DEFAULT_COST

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(
            f"{name}: unknown parameter of method {self.name}; known: {', '.join(self.param_names)}"
        )

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def validate(self, values: dict, where: str = "") -> dict:
        """Full, canonical parameter dict: unknown keys rejected, defaults filled, ranges checked."""
        known = set(self.param_names)
        unknown = [k for k in values if k not in known]
        if unknown:
            raise ParameterError(
                f"{where}{unknown[0]}: unknown parameter of method {self.name}; "
                f"allowed: {', '.join(self.param_names)}"
            )
        out = {}
        for p in self.params:
            if p.name in values:
                out[p.name] = p.coerce(values[p.name], where)
            elif p.default is REQUIRED:
                raise ParameterError(f"{where}{p.name}: required by method {self.name} ({p.range_text()})")
            else:
                out[p.name] = p.default
        self.check_combination(out, where)
        return out

    def check_combination(self, params: dict, where: str = "") -> None:
        if self.check is not None:
            try:
                self.check(params)
            except ParameterError as exc:
                raise ParameterError(f"{where}{exc}") from None

    def help_text(self) -> str:
        lines = [f"sgsweep run {self.name} key=value ... -o OUT.nc", "", self.description.strip(), ""]
        if self.reference:
            lines += [f"Reference: {self.reference}", ""]
        lines.append("parameters:")
        for p in self.params:
            default = "required" if p.default is REQUIRED else f"default {p.default}"
            lines.append(f"  {p.name:<16} {p.description} [{p.units}]; {default}; {p.range_text()}")
        if self.variables:
            lines += ["", "output variables:"]
            lines += [f"  {k:<16} {v}" for k, v in self.variables.items()]
        return "\n".join(lines)


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the registry (called at import of the family's ``points`` module)."""
    if method.name in _REGISTRY and _REGISTRY[method.name] is not method:
        raise RuntimeError(f"method {method.name} registered twice")
    names = method.param_names
    if len(set(names)) != len(names):
        raise RuntimeError(f"method {method.name}: duplicate parameter names")
    _REGISTRY[method.name] = method
    return method


def import_all(modules) -> None:
    """Import the modules that register methods, products or figures (idempotent)."""
    for mod in modules:
        importlib.import_module(mod)


def _load_families() -> None:
    import_all(FAMILY_MODULES)


def get(name: str) -> Method:
    """The method called ``name`` (raises :class:`ParameterError` listing the known ones)."""
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(f"method: unknown method {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def all_methods() -> dict[str, Method]:
    _load_families()
    return dict(sorted(_REGISTRY.items()))

"""Sweeps: a YAML config -> validated sweeps -> grid points -> tasks -> hash-bucketed chunks.

A sweep (``sweeps.<name>`` in the config)::

    method: spiked.sim
    grid:                                   # one dimension of the aggregate per axis, in this order
      delta_p: [0.5, 1.0, 2.0]
      inv_delta2: {start: 1.0, stop: 4.0, num: 8, spacing: linear}   # or log; inv_x sets x = 1/value
      N: [32, 64, 128]
    fixed: {p: 3, T: 0, t_max: 40}
    samples: 32                             # replicas per point (the method's samples/runs)
    seed: 1                                 # base of the seed tree
    samples_per_task: 64                    # replicas per point file (adding samples adds files)
    chunks: 8                               # hash buckets = at most this many jobs per sweep
    products: [thresholds]                  # default: every product registered for the method

A *task* is (point, replica block [start, stop)); it writes one netCDF file at
``<results>/<sweep>/points/<point id>/seed<seed>_r<start>-<stop>.nc``. Tasks are bucketed into
chunks by a hash of their identity, so the bucket of a task never changes when the grid grows:
adding axis values touches only the chunks that receive new tasks, and inside a chunk job
finished point files are skipped (per-point cache).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field

from . import grid, methods
from .methods import ParameterError

SWEEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
SWEEP_KEYS = {
    "method": "registered method name (sgsweep methods)",
    "description": "free text",
    "grid": "axes: parameter -> list of values or {start, stop, num, spacing}",
    "fixed": "parameters held fixed",
    "samples": "replicas per point (samples/runs of the method)",
    "seed": "base seed of the seed tree",
    "samples_per_task": "replicas per point file",
    "chunks": "number of hash buckets (jobs) of the sweep",
    "threads": "cores per chunk job",
    "memory_mb": "memory budget of a chunk job",
    "products": "derived products to write (default: every product registered for the method)",
}
DEFAULTS = {"seed": 0, "samples_per_task": 64, "chunks": 8, "threads": 1, "memory_mb": 4000}


@dataclass
class Task:
    sweep: str
    method: str
    point_id: str
    params: dict
    axes: dict  # axis name -> declared canonical value
    seed: int
    start: int
    stop: int

    @property
    def relpath(self) -> str:
        return f"{self.sweep}/points/{self.point_id}/seed{self.seed}_r{self.start}-{self.stop}.nc"

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "point_id": self.point_id,
            "params": self.params,
            "axes": self.axes,
            "seed": self.seed,
            "start": self.start,
            "stop": self.stop,
            "path": self.relpath,
        }


@dataclass
class Sweep:
    name: str
    method: methods.Method
    axes: list  # [(axis name, param name, reciprocal?, [canonical declared values])]
    fixed: dict
    samples: int | None
    seed: int
    samples_per_task: int
    chunks: int
    threads: int
    memory_mb: float
    products: list = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def axis_names(self) -> list[str]:
        return [a[0] for a in self.axes]

    @property
    def shape(self) -> tuple:
        return tuple(len(a[3]) for a in self.axes)

    @property
    def n_points(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def describe(self) -> dict:
        """JSON-able description stored in the aggregate's attrs and passed to products."""
        return {
            "name": self.name,
            "method": self.method.name,
            "axes": self.axis_names,
            "axis_params": {a[0]: a[1] for a in self.axes},
            "grid": {a[0]: a[3] for a in self.axes},
            "fixed": self.fixed,
            "samples": self.samples,
            "seed": self.seed,
        }

    # ---------------------------------------------------------------- points and tasks
    def points(self, check: bool = False):
        """Yield ``(axes dict, params dict, point id)`` for every grid point (last axis fastest).

        ``check``: run the method's cross-parameter check on every point (:func:`parse_sweep` does
        this once, so a :class:`Sweep` it returned needs no second pass)."""
        m = self.method
        base = dict(self.fixed)
        if m.replicas is not None:
            base[m.replicas[0]] = self.samples
        if "seed" in m.param_names:
            base["seed"] = self.seed
        base_full = grid.canonical_params(m, {**base, **self._first_values()}, f"sweeps.{self.name}.")
        # identity texts of the fixed parameters, computed once (10^5 points must plan fast)
        fixed_text = {p.name: grid.canonical_text(base_full[p.name]) for p in m.params if p.identity}
        for idx in itertools.product(*[range(len(a[3])) for a in self.axes]):
            params = dict(base_full)
            texts = dict(fixed_text)
            axes = {}
            for (axis, pname, _recip, declared, values), i in zip(self.axes, idx):
                value, text = values[i]
                params[pname] = value
                if pname in texts:
                    texts[pname] = text
                axes[axis] = declared[i]
            if check and m.check is not None:
                m.check_combination(params, f"sweeps.{self.name} at {axes}: ")
            ident = ",".join(f"{k}={texts[k]}" for k in sorted(texts)).replace("/", "_")
            if len(ident) > grid.MAX_ID_LENGTH:
                ident = grid.point_id(m, params)
            yield axes, params, ident

    def _first_values(self) -> dict:
        return {a[1]: a[4][0][0] for a in self.axes}

    def tasks(self):
        """Every task of the sweep (points × replica blocks)."""
        m = self.method
        for axes, params, ident in self.points():
            if m.replicas is None:
                blocks = [(0, 1)]
            else:
                step = self.samples_per_task
                blocks = [(a, min(a + step, self.samples)) for a in range(0, self.samples, step)]
            for start, stop in blocks:
                yield Task(self.name, m.name, ident, params, axes, self.seed, start, stop)

    def chunk_of(self, task: Task) -> int:
        h = hashlib.sha256(f"{task.point_id}|{task.start}".encode()).digest()
        return int.from_bytes(h[:8], "little") % self.chunks

    def chunked_tasks(self) -> dict[int, list[Task]]:
        out: dict[int, list[Task]] = {}
        for t in self.tasks():
            out.setdefault(self.chunk_of(t), []).append(t)
        return out


# ------------------------------------------------------------------------------ validation
def _axis(method, axis: str, spec, where: str):
    """``(axis, param name, reciprocal?, declared values, [(param value, text)])`` of one axis."""
    param, recip = grid.axis_param(method, axis, where)
    if param.name == "seed" or (method.replicas and param.name == method.replicas[0]):
        raise ParameterError(f"{where}: {param.name} cannot be a grid axis (use the sweep key)")
    declared, values, seen = [], [], {}
    for i, v in enumerate(grid.axis_values(spec, where)):
        if recip:
            try:
                d = grid.canonical(float(v))
            except (TypeError, ValueError):
                d = float("nan")
            if not d > 0:
                raise ParameterError(f"{where}[{i}]: got {v!r}, expected a number > 0 (1/{param.name})")
            value = grid.canonical(param.coerce(1.0 / d, f"{where}[{i}] -> "), param)
        else:
            value = grid.canonical(param.coerce(v, f"{where}[{i}] -> "), param)
            d = value
        text = grid.canonical_text(value)
        if text in seen:
            raise ParameterError(f"{where}: duplicate value {v!r} (same point as entry {seen[text]})")
        seen[text] = i
        declared.append(d)
        values.append((value, text))
    return (axis, param.name, recip, declared, values)


def parse_sweep(name: str, spec: dict) -> Sweep:
    where = f"sweeps.{name}"
    if not SWEEP_NAME.match(name):
        raise ParameterError(f"{where}: sweep names must match {SWEEP_NAME.pattern}")
    if not isinstance(spec, dict):
        raise ParameterError(f"{where}: expected a mapping with keys {', '.join(SWEEP_KEYS)}")
    unknown = [k for k in spec if k not in SWEEP_KEYS]
    if unknown:
        raise ParameterError(f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(SWEEP_KEYS)}")
    if "method" not in spec:
        raise ParameterError(f"{where}.method: required ({', '.join(methods.all_methods())})")
    try:
        method = methods.get(spec["method"])
    except ParameterError as exc:
        raise ParameterError(f"{where}.{exc}") from None
    grid_spec = spec.get("grid") or {}
    fixed_spec = dict(spec.get("fixed") or {})
    if not isinstance(grid_spec, dict) or not isinstance(fixed_spec, dict):
        raise ParameterError(f"{where}: grid and fixed must be mappings")
    axes = [_axis(method, a, s, f"{where}.grid.{a}") for a, s in grid_spec.items()]
    axis_params = [a[1] for a in axes]
    if len(set(axis_params)) != len(axis_params):
        raise ParameterError(f"{where}.grid: two axes set the same parameter")
    for k in fixed_spec:
        if k in axis_params:
            raise ParameterError(f"{where}.fixed.{k}: also a grid axis")
        if k == "seed" or (method.replicas and k == method.replicas[0]):
            raise ParameterError(f"{where}.fixed.{k}: set it with the sweep key {'seed' if k == 'seed' else 'samples'}")
        if k not in method.param_names:
            raise ParameterError(
                f"{where}.fixed.{k}: unknown parameter of method {method.name}; allowed: {', '.join(method.param_names)}"
            )
    fixed = {}
    for k, v in fixed_spec.items():
        p = method.param(k)
        fixed[k] = grid.canonical(p.coerce(v, f"{where}.fixed."), p)
    opts = {k: spec.get(k, DEFAULTS.get(k)) for k in ("seed", "samples_per_task", "chunks", "threads", "memory_mb")}
    for k, lo in (("seed", 0), ("samples_per_task", 1), ("chunks", 1), ("threads", 1), ("memory_mb", 1)):
        v = opts[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or (k != "memory_mb" and int(v) != v):
            raise ParameterError(f"{where}.{k}: got {v!r}, expected an integer >= {lo}")
    samples = None
    if method.replicas is not None:
        rp = method.param(method.replicas[0])
        samples = rp.coerce(spec.get("samples", rp.default), f"{where}.samples -> ")
    elif "samples" in spec:
        raise ParameterError(f"{where}.samples: method {method.name} has no replicas")
    from .analysis.registry import products_of

    known = sorted(products_of(method.name))
    products = spec.get("products", known)
    if not isinstance(products, list) or any(p not in known for p in products):
        raise ParameterError(f"{where}.products: got {products!r}, expected a list of {', '.join(known) or '(none)'}")
    sw = Sweep(
        name=name,
        method=method,
        axes=axes,
        fixed=fixed,
        samples=samples,
        seed=int(opts["seed"]),
        samples_per_task=int(opts["samples_per_task"]),
        chunks=int(opts["chunks"]),
        threads=int(opts["threads"]),
        memory_mb=float(opts["memory_mb"]),
        products=list(products),
        raw=copy.deepcopy(spec),
    )
    # validate one full point (required parameters present), every point if the method checks
    # parameter combinations, so that a bad combination is refused before any job starts
    if method.check is not None:
        for _ in sw.points(check=True):
            pass
    else:
        next(iter(sw.points()))
    return sw


def load_sweeps(config: dict) -> dict[str, Sweep]:
    """Validate every sweep of ``config`` and return them by name (raises ParameterError)."""
    if not isinstance(config, dict):
        raise ParameterError("config: expected a mapping with key sweeps")
    sweeps = config.get("sweeps")
    if not isinstance(sweeps, dict) or not sweeps:
        raise ParameterError("sweeps: expected a non-empty mapping of sweep name -> sweep")
    return {name: parse_sweep(name, spec) for name, spec in sweeps.items()}


def load_figures(config: dict, sweeps: dict[str, Sweep]) -> dict[str, dict]:
    """Validate the ``figures`` section: inputs refer to ``<sweep>/aggregate`` or ``<sweep>/<product>``."""
    from .plots.registry import get_figure

    out = {}
    for name, spec in (config.get("figures") or {}).items():
        where = f"figures.{name}"
        if not SWEEP_NAME.match(name):
            raise ParameterError(f"{where}: figure names must match {SWEEP_NAME.pattern}")
        unknown = [k for k in spec if k not in ("kind", "inputs", "options", "caption")]
        if unknown:
            raise ParameterError(f"{where}.{unknown[0]}: unknown key; allowed: kind, inputs, options, caption")
        try:
            get_figure(spec.get("kind"))
        except KeyError as exc:
            raise ParameterError(f"{where}.kind: {exc.args[0]}") from None
        inputs = {}
        for role, ref in (spec.get("inputs") or {}).items():
            sweep, _, prod = str(ref).partition("/")
            if sweep not in sweeps:
                raise ParameterError(f"{where}.inputs.{role}: unknown sweep {sweep!r}; known: {', '.join(sweeps)}")
            known = ["aggregate", *sweeps[sweep].products]
            if prod not in known:
                raise ParameterError(f"{where}.inputs.{role}: {ref!r}: expected {sweep}/<one of {', '.join(known)}>")
            inputs[role] = (sweep, prod)
        out[name] = {
            "kind": spec["kind"],
            "inputs": inputs,
            "options": spec.get("options") or {},
            "caption": spec.get("caption", ""),
        }
    return out


def sweep_json(sweep: Sweep) -> str:
    return json.dumps(sweep.describe(), sort_keys=True)

# Config validation and the sweep -> chunk bookkeeping shared by all rules.
# Everything here is done once, at parse time, before any job starts: a bad config stops the run
# with a message naming the key and the allowed range, and nothing in results/ is touched.
import hashlib
import json
import math

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from sgsweep.methods import ParameterError
from sgsweep.sweeps import load_figures, load_sweeps

# 1. every value against its parameter spec (messages name the key and the allowed range),
# 2. the whole config against the JSON schema generated from the same specs.
try:
    SWEEPS = load_sweeps(config)
    FIGURES = load_figures(config, SWEEPS)
except ParameterError as exc:
    raise WorkflowError(f"invalid sweep config: {exc}") from None
try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as exc:
    raise WorkflowError(f"invalid sweep config (schema workflow/schemas/config.schema.yaml):\n{exc}") from None

RESULTS = config.get("results", "results")
# chunk index -> tasks, per sweep (hash buckets: a task never changes bucket when the grid grows)
CHUNKS = {name: sweep.chunked_tasks() for name, sweep in SWEEPS.items()}
PRODUCTS = {name: sweep.products for name, sweep in SWEEPS.items()}


def chunk_digest(wildcards):
    """Digest of the point files a chunk must hold (method + path = point identity, seed, replica
    block): the params rerun-trigger reruns a chunk iff that set changes. Settings that are not part
    of a point's identity (the total `samples`) stay out, so adding samples reruns only the chunks
    that receive new replica blocks."""
    tasks = CHUNKS[wildcards.sweep].get(int(wildcards.chunk), [])
    text = json.dumps(sorted([t.method, t.relpath] for t in tasks))
    return hashlib.sha256(text.encode()).hexdigest()


def sweep_digest(wildcards):
    return hashlib.sha256(json.dumps(SWEEPS[wildcards.sweep].describe(), sort_keys=True).encode()).hexdigest()


def chunk_files(wildcards):
    return [f"{RESULTS}/{wildcards.sweep}/chunks/{c}.json" for c in sorted(CHUNKS[wildcards.sweep])]


def chunk_caches(wildcards):
    """Read caches left by the chunk jobs (used only where a file's stamp still matches)."""
    return [f"{RESULTS}/{wildcards.sweep}/chunks/{c}.pkl" for c in sorted(CHUNKS[wildcards.sweep])]


def chunk_replicas(wildcards):
    """Replica-points of a chunk: the unit the resources scale with."""
    return sum(t.stop - t.start for t in CHUNKS[wildcards.sweep].get(int(wildcards.chunk), []))


def chunk_runtime(wildcards, attempt):
    """Time limit (minutes) of a chunk job from the methods' cost estimates (seconds per replica
    on one core, see Method.cost), with a 3x margin and 10 min of slack, doubled at every retry."""
    sweep = SWEEPS[wildcards.sweep]
    seconds = sum(sweep.method.estimate(t.params) * (t.stop - t.start) for t in CHUNKS[wildcards.sweep].get(int(wildcards.chunk), []))
    return int(min(10 + math.ceil(3 * seconds / 60 / sweep.threads), 10080) * 2 ** (attempt - 1))


def figure_inputs(wildcards):
    fig = FIGURES[wildcards.name]
    return {role: f"{RESULTS}/{sweep}/{prod}.nc" for role, (sweep, prod) in fig["inputs"].items()}


def all_targets():
    targets = []
    for name in SWEEPS:
        targets.append(f"{RESULTS}/{name}/aggregate.nc")
        targets += [f"{RESULTS}/{name}/{prod}.nc" for prod in PRODUCTS[name]]
    for name in FIGURES:
        targets += [f"{RESULTS}/figures/{name}.png", f"{RESULTS}/figures/{name}.pdf"]
    return targets

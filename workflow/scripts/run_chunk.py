"""Snakemake script of rule `points`: compute the missing point files of one chunk."""
from sgsweep.batch import run_chunk
from sgsweep.progress import setup_logging
from sgsweep.sweeps import parse_sweep

setup_logging(snakemake.log[0])
name = snakemake.wildcards.sweep
sweep = parse_sweep(name, snakemake.config["sweeps"][name])
tasks = [t.to_json() for t in sweep.chunked_tasks().get(int(snakemake.wildcards.chunk), [])]
run_chunk(tasks, snakemake.params.root, snakemake.output.manifest, snakemake.params.cache,
          threads=snakemake.threads, memory_mb=float(snakemake.resources.mem_mb))

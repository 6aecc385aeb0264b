"""Snakemake script of rule `aggregate`: a sweep's point files -> one netCDF."""
import logging

from sgsweep.progress import Progress, setup_logging
from sgsweep.store import aggregate, write_atomic
from sgsweep.sweeps import parse_sweep

setup_logging(snakemake.log[0])
name = snakemake.wildcards.sweep
sweep = parse_sweep(name, snakemake.config["sweeps"][name])
ds = aggregate(sweep, snakemake.params.root, progress=Progress(f"aggregate {name}"), caches=snakemake.params.caches)
write_atomic(ds, snakemake.output[0])
logging.getLogger("sgsweep").info("wrote %s (%d points, %d failed)", snakemake.output[0], ds.attrs["points"], ds.attrs["failed_points"])

"""Snakemake script of rule `product`: aggregate -> derived Dataset (thresholds, theory lines...)."""
import json
import logging

from sgsweep.analysis.registry import products_of
from sgsweep.progress import setup_logging
from sgsweep.store import open_dataset, write_atomic

setup_logging(snakemake.log[0])
agg = open_dataset(snakemake.input[0])
sweep = json.loads(agg.attrs["sweep"])
func = products_of(sweep["method"])[snakemake.wildcards.product]
ds = func(agg, sweep)
write_atomic(ds, snakemake.output[0])
logging.getLogger("sgsweep").info("wrote %s", snakemake.output[0])

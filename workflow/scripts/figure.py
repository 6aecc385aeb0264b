"""Snakemake script of rule `figure`: draw one configured figure (PNG + PDF)."""
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from sgsweep.plots.registry import get_figure  # noqa: E402
from sgsweep.progress import setup_logging  # noqa: E402
from sgsweep.store import open_dataset  # noqa: E402

setup_logging(snakemake.log[0])
inputs = {role: open_dataset(path) for role, path in snakemake.input.items()}
stem = str(Path(snakemake.output.png).with_suffix(""))
paths = get_figure(snakemake.params.kind)(inputs, dict(snakemake.params.options), stem)
logging.getLogger("sgsweep").info("wrote %s", ", ".join(paths))

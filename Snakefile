# sgsweep: sweeps of simulations and theory -> netCDF -> threshold curves and figures.
#
#   snakemake --cores 2                                        # the embedded default sweep
#   snakemake --cores 2 --configfile workflow/config/test.yaml # the tiny sweep used by the tests
#   snakemake --profile profiles/slurm                         # on a SLURM cluster
#
# Rules are thin: every number is computed by the sgsweep package (see workflow/rules/*.smk).
from snakemake.utils import min_version

min_version("9.0")


# The default sweep unless the user gives a config: a --configfile REPLACES the default rather
# than being deep-merged into it (a merge would silently add the default sweeps to every run).
if not config:

    configfile: f"{workflow.basedir}/workflow/config/default.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/points.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,


rule all:
    input:
        all_targets(),
    default_target: True

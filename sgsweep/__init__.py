"""sgsweep: reproducible sweeps of gradient-based algorithms in rough high-dimensional landscapes."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("sgsweep")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def __getattr__(name):  # lazy: `import sgsweep` stays light for the CLI and the workflow
    if name in ("open_sweep", "open_product"):
        from . import api

        return getattr(api, name)
    if name == "compute_point":
        from .point import compute_point

        return compute_point
    raise AttributeError(f"module 'sgsweep' has no attribute {name!r}")

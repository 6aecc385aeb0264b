"""Command line: ``sgsweep run``, ``sgsweep methods``, ``sgsweep schema``, ``sgsweep bench``, ``sgsweep status``.

    sgsweep run METHOD key=value ... -o OUT.nc     # one grid point -> one netCDF file
    sgsweep run METHOD --help                      # parameters, defaults, allowed ranges
"""

from __future__ import annotations

import argparse
import sys

from . import methods


def _parse_kv(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise methods.ParameterError(f"{item}: expected key=value")
        if key in out:
            raise methods.ParameterError(f"{key}: given twice")
        out[key] = value
    return out


def cmd_run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: sgsweep run METHOD key=value ... -o OUT.nc [--threads N] [--memory-mb M]\n")
        print("methods:")
        for name, m in methods.all_methods().items():
            print(f"  {name:<16} {m.description.strip().splitlines()[0]}")
        return 0
    name, rest = argv[0], argv[1:]
    try:
        method = methods.get(name)
    except methods.ParameterError as exc:
        print(f"sgsweep run: {exc}", file=sys.stderr)
        return 2
    if "-h" in rest or "--help" in rest:
        print(method.help_text())
        return 0
    ap = argparse.ArgumentParser(prog=f"sgsweep run {name}", add_help=False)
    ap.add_argument("-o", "--output", required=True, help="output netCDF file")
    ap.add_argument("--threads", type=int, default=None, help="cores to use (default: all)")
    ap.add_argument("--memory-mb", type=float, default=4000.0, help="memory budget")
    ap.add_argument("--replica-start", type=int, default=0, help="first global replica index")
    ap.add_argument("params", nargs="*", help="key=value")
    args = ap.parse_args(rest)
    from .grid import canonical_params
    from .point import compute_point
    from .progress import setup_logging
    from .store import write_atomic

    try:
        values = _parse_kv(args.params)
        full = canonical_params(method, values)  # reject bad input before any computation
    except methods.ParameterError as exc:
        print(f"sgsweep run {name}: {exc}", file=sys.stderr)
        return 2
    replicas = None
    if method.replicas is not None:
        replicas = (args.replica_start, args.replica_start + full[method.replicas[0]])
    import os

    threads = args.threads or os.cpu_count() or 1
    setup_logging()
    ds = compute_point(name, full, replicas=replicas, threads=threads, memory_mb=args.memory_mb)
    path = write_atomic(ds, args.output)
    status = ds.attrs.get("status")
    print(f"wrote {path.resolve()} (status {status}, {ds.attrs.get('wall_time_s', 0):.2f} s)")
    return 0 if status != "failed" else 1


def cmd_methods(argv: list[str]) -> int:
    for name, m in methods.all_methods().items():
        print(f"{name:<16} {m.description.strip().splitlines()[0]}")
    return 0


def cmd_schema(argv: list[str]) -> int:
    from .schema import config_schema, dump_schema

    ap = argparse.ArgumentParser(prog="sgsweep schema", description="JSON schema of the sweep config")
    ap.add_argument("--write", help="write the schema (YAML) to this file")
    args = ap.parse_args(argv)
    text = dump_schema(config_schema())
    if args.write:
        from .store import write_text_atomic

        write_text_atomic(text, args.write)
        print(f"wrote {args.write}")
    else:
        print(text)
    return 0


def cmd_bench(argv: list[str]) -> int:
    from . import bench

    return bench.main(argv)


def cmd_status(argv: list[str]) -> int:
    from . import status

    return status.main(argv)


COMMANDS = {
    "run": cmd_run,
    "methods": cmd_methods,
    "schema": cmd_schema,
    "bench": cmd_bench,
    "status": cmd_status,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__.strip())
        print("\ncommands: " + ", ".join(COMMANDS))
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())

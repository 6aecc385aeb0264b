"""The Snakemake pipeline end to end on the tiny test config, and its refusal of bad configs.

One run of ``workflow/config/test.yaml`` in a temporary folder is shared by the tests of this module.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sgsweep.store import open_dataset
from sgsweep.sweeps import load_sweeps

ROOT = Path(__file__).resolve().parents[1]
TEST_CONFIG = ROOT / "workflow" / "config" / "test.yaml"


def snakemake(workdir: Path, *args, check=True):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    if check and out.returncode != 0:
        raise AssertionError(f"snakemake failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    snakemake(work, "--cores", "2", "--configfile", str(TEST_CONFIG))
    config = yaml.safe_load(TEST_CONFIG.read_text())
    return work, config


def test_outputs_and_figures(run):
    work, config = run
    results = work / config["results"]
    for name in config["sweeps"]:
        agg = open_dataset(results / name / "aggregate.nc")
        assert (agg["status"].values != "failed").all()
        assert agg.attrs["points"] == load_sweeps(config)[name].n_points
    for fig in config["figures"]:
        for ext in ("png", "pdf"):
            f = results / "figures" / f"{fig}.{ext}"
            assert f.stat().st_size > 5000, f


def test_aggregate_has_grid_dims_units_and_provenance(run):
    work, config = run
    agg = open_dataset(work / config["results"] / "spiked_gf" / "aggregate.nc")
    assert agg["overlap"].dims == ("delta_p", "inv_delta2", "N", "sample", "time")
    np.testing.assert_allclose(agg["delta2"].values, 1 / agg["inv_delta2"].values, rtol=1e-12)
    assert agg["time"].attrs["units"] and agg["overlap"].attrs["long_name"]
    assert agg.attrs["seed"] == 1 and "sweep" in agg.attrs


def _point_file(work, config, sweep="spiked_gf"):
    sw = load_sweeps(config)[sweep]
    task = next(iter(sw.tasks()))
    return sw, task, work / config["results"] / task.relpath


@pytest.mark.parametrize("threads", [1, 2])
def test_cli_point_equals_sweep_point_bits(run, tmp_path, threads):
    work, config = run
    sw, task, path = _point_file(work, config)
    assert (task.start, task.stop) == (0, sw.samples), "test config must keep one replica block per point"
    args = [f"{k}={v}" for k, v in task.params.items() if v is not None and k not in ("seed",)]
    out = tmp_path / "point.nc"
    res = subprocess.run(
        [sys.executable, "-m", "sgsweep.cli", "run", task.method, *args, f"seed={task.seed}", "-o", str(out), "--threads", str(threads)],
        capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert str(out.resolve()) in res.stdout  # the CLI says where its output went
    a, b = open_dataset(out), open_dataset(path)
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.variables:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for key, value in b.attrs.items():
        if key not in ("wall_time_s", "git_commit"):
            assert a.attrs[key] == value or (isinstance(value, np.ndarray) and np.array_equal(a.attrs[key], value)), key


def _tree_digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


BAD = [
    ("p: 2", "sweeps.spiked_gf.fixed.p", lambda c: c["sweeps"]["spiked_gf"]["fixed"].update(p=2)),
    ("negative delta2", "inv_delta2", lambda c: c["sweeps"]["spiked_gf"]["grid"].update(inv_delta2=[-1.0, 2.0])),
    ("delta_p 0", "delta_p", lambda c: c["sweeps"]["spiked_gf"]["grid"].update(delta_p=[0.0])),
    ("N 1", "N", lambda c: c["sweeps"]["spiked_gf"]["grid"].update(N=[1, 16])),
    ("T < 0", "T", lambda c: c["sweeps"]["spiked_gf"]["fixed"].update(T=-0.5)),
    ("samples 0", "samples", lambda c: c["sweeps"]["spiked_gf"].update(samples=0)),
    ("unknown key", "colour", lambda c: c["sweeps"]["spiked_gf"].update(colour="red")),
    ("empty axis", "N", lambda c: c["sweeps"]["spiked_gf"]["grid"].update(N=[])),
    ("duplicate", "duplicate", lambda c: c["sweeps"]["spiked_gf"]["grid"].update(inv_delta2=[2.0, 2.0])),
]


@pytest.mark.parametrize("label, needle, mutate", BAD, ids=[b[0] for b in BAD])
def test_bad_config_rejected_before_any_job(run, tmp_path, label, needle, mutate):
    work, config = run
    bad = yaml.safe_load(TEST_CONFIG.read_text())
    mutate(bad)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(bad))
    before = _tree_digest(work / config["results"])
    out = snakemake(work, "--cores", "2", "--configfile", str(cfg), check=False)
    assert out.returncode != 0
    msg = out.stdout + out.stderr
    assert needle in msg, msg[-3000:]
    assert _tree_digest(work / config["results"]) == before  # nothing deleted or overwritten


def test_malformed_yaml_rejected(run, tmp_path):
    work, config = run
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("sweeps:\n  a: [unclosed\n")
    before = _tree_digest(work / config["results"])
    out = snakemake(work, "--cores", "2", "--configfile", str(cfg), check=False)
    assert out.returncode != 0
    assert "not valid JSON or YAML" in out.stdout + out.stderr  # snakemake parses --configfile itself
    assert _tree_digest(work / config["results"]) == before


def test_schema_file_is_generated_from_specs():
    # in a fresh process: the tests register toy methods in this one
    out = subprocess.run([sys.executable, "-m", "sgsweep.cli", "schema"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text() == out.stdout[:-1]


@pytest.mark.parametrize("path", sorted((ROOT / "workflow" / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    import jsonschema

    from sgsweep.sweeps import load_figures

    config = yaml.safe_load(path.read_text())
    jsonschema.validate(config, yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()))
    load_figures(config, load_sweeps(config))


def test_readme_commands_are_the_ci_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = [b.split("```")[0].strip() for b in readme.split("```bash\n")[1:]]
    setup = [b for b in blocks if b.startswith("pip install")]
    assert len(setup) == 2, setup
    main, tests = setup
    assert "snakemake --cores 2" in main and "pytest" in tests
    assert tests in ci

"""Sweep configs: validation, grid expansion, stable identities and chunks."""

import copy

import pytest

from sgsweep.methods import ParameterError
from sgsweep.sweeps import load_sweeps, parse_sweep

BASE = {
    "method": "toy.walk",
    "grid": {"scale": [1.0, 2.0], "steps": {"start": 2, "stop": 6, "num": 3}},
    "samples": 5,
    "seed": 3,
    "samples_per_task": 2,
    "chunks": 4,
}


def sweep(**over):
    spec = copy.deepcopy(BASE)
    spec.update(over)
    return parse_sweep("s", spec)


def test_grid_expansion_and_blocks():
    sw = sweep()
    pts = list(sw.points())
    assert len(pts) == sw.n_points == 6
    assert [p[0] for p in pts[:3]] == [{"scale": 1.0, "steps": 2}, {"scale": 1.0, "steps": 4}, {"scale": 1.0, "steps": 6}]
    tasks = list(sw.tasks())
    assert len(tasks) == 6 * 3  # blocks [0,2) [2,4) [4,5)
    assert {(t.start, t.stop) for t in tasks} == {(0, 2), (2, 4), (4, 5)}
    assert tasks[0].relpath == "s/points/fail=false,scale=1,steps=2/seed3_r0-2.nc"


def test_extending_an_axis_keeps_identities_and_chunks():
    small = sweep()
    big = sweep(grid={"scale": [0.5, 1.0, 2.0, 3.0], "steps": {"start": 2, "stop": 6, "num": 3}})
    old = {t.relpath: small.chunk_of(t) for t in small.tasks()}
    new = {t.relpath: big.chunk_of(t) for t in big.tasks()}
    assert set(old) < set(new)
    assert all(new[k] == v for k, v in old.items())


def test_log_axis_and_reciprocal_axis():
    sw = parse_sweep("r", {"method": "toy.walk", "grid": {"inv_scale": {"start": 1, "stop": 100, "num": 3, "spacing": "log"}}})
    values = [p[1]["scale"] for p in sw.points()]
    assert values == [1.0, 0.1, 0.01]
    assert [p[0]["inv_scale"] for p in sw.points()] == [1.0, 10.0, 100.0]


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"grid": {"scale": []}}, "sweeps.s.grid.scale: empty axis"),
        ({"grid": {"scale": [1.0, 1.0]}}, "sweeps.s.grid.scale: duplicate value 1.0"),
        ({"grid": {"scale": [1, 0.1 + 0.9]}}, "duplicate value"),
        ({"grid": {"scale": [0.0]}}, "scale: got 0.0, expected a number > 0"),
        ({"grid": {"bogus": [1]}}, "sweeps.s.grid.bogus: unknown parameter of method toy.walk"),
        ({"grid": {"scale": [1.0]}, "fixed": {"steps": 0}}, "sweeps.s.fixed.steps: got 0, expected an integer >= 1"),
        ({"fixed": {"scale": 2}}, "sweeps.s.fixed.scale: also a grid axis"),
        ({"samples": 0}, "sweeps.s.samples -> samples: got 0, expected an integer >= 1"),
        ({"colour": "red"}, "sweeps.s.colour: unknown key"),
        ({"method": "nope"}, "unknown method 'nope'"),
    ],
)
def test_bad_config_names_the_key(over, needle):
    with pytest.raises(ParameterError) as exc:
        sweep(**over)
    assert needle in str(exc.value)


def test_config_needs_sweeps():
    with pytest.raises(ParameterError, match="sweeps: expected a non-empty mapping"):
        load_sweeps({"sweeps": {}})

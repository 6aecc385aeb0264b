"""Canonical identities and the seed tree."""

import numpy as np
import pytest

from sgsweep import grid
from sgsweep.methods import ParameterError
from sgsweep.point import compute_point


def test_canonical_numbers_identify_points(toy):
    a = grid.canonical_params(toy, {"scale": 0.1 + 0.2})
    b = grid.canonical_params(toy, {"scale": "0.3"})
    assert a == b and grid.point_id(toy, a) == grid.point_id(toy, b)
    assert grid.point_id(toy, a) == "fail=false,scale=0.3,steps=5"


def test_identity_ignores_replica_count_and_seed(toy):
    a = grid.canonical_params(toy, {"samples": 3, "seed": 1})
    b = grid.canonical_params(toy, {"samples": 50, "seed": 2})
    assert grid.point_id(toy, a) == grid.point_id(toy, b)


def test_replica_bits_do_not_depend_on_batch(toy):
    whole = compute_point("toy.walk", {"samples": 6, "seed": 4})
    part = compute_point("toy.walk", {"samples": 6, "seed": 4}, replicas=(4, 6))
    np.testing.assert_array_equal(whole["walk"].values[4:], part["walk"].values)
    other_seed = compute_point("toy.walk", {"samples": 6, "seed": 5})
    assert not np.array_equal(whole["walk"].values, other_seed["walk"].values)


def test_seed_tree_distinguishes_points(toy):
    a = grid.replica_seeds(0, toy, grid.canonical_params(toy, {"scale": 1}), [0])[0]
    b = grid.replica_seeds(0, toy, grid.canonical_params(toy, {"scale": 2}), [0])[0]
    assert not np.array_equal(a.generate_state(4), b.generate_state(4))


@pytest.mark.parametrize(
    "values, needle",
    [
        ({"scale": -1}, "scale: got -1, expected a number > 0"),
        ({"steps": 1.5}, "steps: got 1.5, expected an integer >= 1"),
        ({"nope": 1}, "nope: unknown parameter of method toy.walk"),
        ({"fail": "maybe"}, "fail: got 'maybe', expected true or false"),
    ],
)
def test_bad_parameters_name_key_and_range(toy, values, needle):
    with pytest.raises(ParameterError) as exc:
        grid.canonical_params(toy, values)
    assert needle in str(exc.value)


def test_failed_solve_is_a_status_not_an_exception():
    ds = compute_point("toy.walk", {"fail": True})
    assert ds.attrs["status"] == "failed"
    assert "diverged on purpose" in ds.attrs["error"]
    assert ds.attrs["param_fail"] == 1


def test_provenance_attrs():
    ds = compute_point("toy.walk", {"seed": 7})
    for key in ("sgsweep_version", "git_commit", "seed", "wall_time_s", "status", "method", "point_id"):
        assert key in ds.attrs
    assert ds.attrs["seed"] == 7
    assert float(ds["scale"]) == 1.0 and ds["scale"].attrs["units"] == "1"

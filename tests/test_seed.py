"""problems/a4.yaml against the reference course's worked solution, number for number.

Every number the seed prints is checked against nncalc's value rounded to the
seed's 4 decimals.  Where the two differ, the test says why:
- "carried": the seed computed that step from its own rounded intermediates
  (e.g. δ2 = 0.7818 instead of 0.78175), so its 4th decimal drifts; the test
  recomputes the seed's number from its rounded inputs to prove it, and checks
  that it is still within the seed's grading tolerance (3 decimals) of ours;
- "wrong": the seed's arithmetic is wrong; the test asserts the right value.
"""

from __future__ import annotations

import numpy as np
import pytest

import nncalc

# The seed's numbers, transcribed from ../shared/seed (Problem 1, "Solution").
SEED = {
    "Z1": [1.35, 0.35, 0.6],
    "H": [2.3257, 0.6929, 1.1646],
    "Z2": [-0.3927, 0.8832],
    "y_hat": [0.2182, 0.7818],
    "delta2": [-0.7818, 0.7818],
    "fprime1": [1.219, 1.9394, 1.8253],
    "db2": [-0.7818, 0.7818],
    "W2'": [[-0.2982, 0.2005, 0.1009], [0.3982, -0.5005, 0.2991]],
    "b2'": [0.0508, -0.0508],
    "W1'": [
        [0.0993, -0.1993, 0.2997, 0.3987],
        [0.5011, -0.3011, 0.1005, -0.1979],
        [0.3997, 0.2003, -0.5001, 0.2994],
    ],
    "b1'": [0.0993, -0.0989, 0.0497],
}
# Steps the seed computed from its own rounded intermediates.
SEED_CARRIED = {
    "W2T_delta2": [0.5473, -0.5473, 0.1564],  # the seed prints 0.1716, then 0.1546: see below
    "delta1": [0.6672, -1.0614, 0.2855],
    "dW2": [[-1.8182, -0.5417, -0.9105], [1.8182, 0.5417, 0.9105]],
    "dW1": [
        [0.6672, -0.6672, 0.3336, 1.3344],
        [-1.0614, 1.0614, -0.5307, -2.1228],
        [0.2855, -0.2855, 0.1428, 0.5710],
    ],
    "db1": [0.6672, -1.0614, 0.2855],
}


@pytest.fixture(scope="module")
def solution() -> nncalc.Solution:
    return nncalc.solve(nncalc.load_problem("problems/a4.yaml"))


@pytest.mark.parametrize("name", SEED)
def test_matches_the_seed_to_its_four_decimals(solution: nncalc.Solution, name: str) -> None:
    np.testing.assert_array_equal(np.round(solution[name], 4), SEED[name])


def test_loss_is_minus_log_of_the_first_output(solution: nncalc.Solution) -> None:
    # The seed never prints the loss; -log(0.21825) by hand.
    assert solution["loss"] == pytest.approx(1.52212392, abs=1e-8)


@pytest.mark.parametrize("name", SEED_CARRIED)
def test_seed_steps_from_rounded_intermediates_are_within_three_decimals(
    solution: nncalc.Solution, name: str
) -> None:
    ours = np.asarray(solution[name])
    seed = np.asarray(SEED_CARRIED[name])
    assert np.abs(ours - seed).max() <= 0.5e-3
    # ...but not equal at 4 decimals: the drift is real, and ours is the exact value.
    assert not np.array_equal(np.round(ours, 4), seed)


def test_seed_numbers_are_reproduced_from_its_rounded_intermediates() -> None:
    """Recompute the seed's carried numbers the way the seed did: from 4-decimal values."""
    w2 = np.array([[-0.3, 0.2, 0.1], [0.4, -0.5, 0.3]])
    x = np.array([1, -1, 0.5, 2])
    delta2 = np.array([-0.7818, 0.7818])  # the seed's rounded δ2
    h = np.array([2.3257, 0.6929, 1.1646])
    fprime = np.array([1.219, 1.9394, 1.8253])
    w2t_delta2 = np.round(w2.T @ delta2, 4)
    np.testing.assert_array_equal(w2t_delta2, SEED_CARRIED["W2T_delta2"])
    delta1 = np.round(w2t_delta2 * fprime, 4)
    np.testing.assert_array_equal(delta1, SEED_CARRIED["delta1"])
    # The seed rounds half up (0.2855·0.5 = 0.14275 → 0.1428), so compare within half a unit.
    half_unit = 0.5e-4 + 1e-12
    assert np.abs(np.outer(delta2, h) - SEED_CARRIED["dW2"]).max() <= half_unit
    assert np.abs(np.outer(delta1, x) - SEED_CARRIED["dW1"]).max() <= half_unit


def test_the_seeds_third_entry_of_W2T_delta2_is_wrong(solution: nncalc.Solution) -> None:
    """The seed prints 0.1716 for (W2ᵀδ2)_3 and then uses 0.1546; both are slips.

    (W2ᵀδ2)_3 = 0.1·(−0.78175) + 0.3·0.78175 = 0.2·0.78175 = 0.15635.
    """
    value = solution["W2T_delta2"][2]
    assert round(value, 4) == 0.1564
    assert abs(value - 0.1716) > 0.01 and abs(value - 0.1546) > 1e-3


def test_fprime_is_the_seeds_piecewise_derivative(solution: nncalc.Solution) -> None:
    z1 = np.array([1.35, 0.35, 0.6])
    np.testing.assert_allclose(solution["fprime1"], 1 + np.cos(z1), rtol=1e-12)
    step = next(s for s in solution.steps if s.name == "fprime1")
    assert step.equation.text == "f1'(Z1) = 1 + cos(Z1) if Z1 > 0, cos(Z1) otherwise"

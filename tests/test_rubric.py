"""Tolerance modes at their boundaries, their properties, and the `grading:` section."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from nncalc.errors import NncalcError
from nncalc.problem import load_problem, problem_from_dict
from nncalc.rubric import Rubric, Tolerance

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"


def passes(tolerance: Tolerance, answer: Any, exact: Any) -> bool:
    return bool(np.all(tolerance.passes(answer, exact)))


def decimals(d: int) -> Tolerance:
    return Tolerance("decimals", decimals=d)


def sigfigs(n: int) -> Tolerance:
    return Tolerance("sigfigs", sigfigs=n)


def relative(rtol: float = 0.0, atol: float = 0.0) -> Tolerance:
    return Tolerance("relative", rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# decimals: |answer − exact| ≤ ½·10⁻ᵈ


@pytest.mark.parametrize("d", range(0, 13))  # every value the validator allows
def test_decimals_boundary_from_zero(d: int) -> None:
    half = 0.5 * 10.0**-d
    beyond = half + 10.0 ** -(d + 3)  # a thousandth of a unit beyond half a unit
    assert passes(decimals(d), half, 0.0)
    assert passes(decimals(d), -half, 0.0)
    assert not passes(decimals(d), beyond, 0.0)
    assert not passes(decimals(d), -beyond, 0.0)
    assert not passes(decimals(d), 0.6 * 10.0**-d, 0.0)


@pytest.mark.parametrize("d", range(0, 10))
def test_decimals_boundary_away_from_zero(d: int) -> None:
    half = 0.5 * 10.0**-d
    beyond = half + 10.0 ** -(d + 3)
    assert passes(decimals(d), 7 + half, 7.0)
    assert passes(decimals(d), -7 - half, -7.0)
    assert not passes(decimals(d), 7 + beyond, 7.0)
    assert not passes(decimals(d), -7 - beyond, -7.0)


@pytest.mark.parametrize(
    ("answer", "exact", "ok"),
    [
        # the docstring's example: exact 0.66707 accepts 0.66657 … 0.66757
        ("0.66657", "0.66707", True),
        ("0.66757", "0.66707", True),
        ("0.66656", "0.66707", False),
        ("0.66758", "0.66707", False),
        # half a unit written as decimals (not exactly representable in binary)
        ("2.3252", "2.3257", True),
        ("2.32519", "2.3257", True),  # 2.325…: the first 3 decimals, cut (issue 12)
        ("2.32419", "2.3257", False),
        ("-0.3922", "-0.3927", True),
        ("-0.3932", "-0.3927", True),
        ("-0.39321", "-0.3927", False),
        ("1000.0005", "1000", True),
        ("1000.00051", "1000", False),
        ("100000.0005", "100000", True),
    ],
)
def test_decimals_boundary_in_decimal_notation(answer: str, exact: str, ok: bool) -> None:
    assert passes(decimals(3), float(answer), float(exact)) is ok


def test_float_representation_never_fails_a_correct_answer() -> None:
    exact = 0.1 + 0.2  # 0.30000000000000004
    assert exact != 0.3
    for d in range(0, 13):
        assert passes(decimals(d), 0.3, exact)
        assert passes(sigfigs(min(d + 1, 15)), 0.3, exact)
    assert passes(relative(rtol=1e-15), 0.3, exact)
    # exactly half a unit away, but only once the binary error is forgiven:
    assert abs(exact - 0.2995) > 0.0005
    assert passes(decimals(3), 0.2995, exact)
    assert abs(exact - 0.25) > 0.05
    assert passes(sigfigs(1), 0.25, exact)
    assert abs(1.1 - 0.99) > 0.1 * 1.1
    assert passes(relative(rtol=0.1), 0.99, 1.1)


def test_passes_is_entry_by_entry() -> None:
    result = decimals(3).passes([[1.0004, 2.0], [3.0, float("nan")]], [[1.0, 1.9994], [3.0, 4.0]])
    assert result.tolist() == [[True, False], [True, False]]  # NaN (an empty entry) fails


def test_float_representation_at_large_magnitudes() -> None:
    # 328979.84 is 328979.8395 correctly rounded to 3 decimals, but in binary
    # |diff| = 5e-4 + 2.4e-11: more than half a float spacing at this magnitude
    exact = 328979.8395
    answer = round(exact, 3)
    assert answer == 328979.84
    assert abs(answer - exact) - 0.0005 == pytest.approx(2.4e-11, rel=0.05)
    assert passes(decimals(3), answer, exact)
    assert not passes(decimals(3), 328979.8401, exact)
    assert passes(decimals(2), 956100.21, 956100.2050000001)
    assert passes(decimals(3), 12345678.9015, 12345678.901)
    assert not passes(decimals(3), 12345678.9016, 12345678.901)


# ---------------------------------------------------------------------------
# sigfigs: ½ unit in the n-th significant figure of the exact value


@pytest.mark.parametrize(
    ("answer", "exact", "n", "ok"),
    [
        # the docstring's example: exact 1.8181 accepts 1.8131 … 1.8231
        (1.8131, 1.8181, 3, True),
        (1.8231, 1.8181, 3, True),
        (1.8130, 1.8181, 3, False),
        (1.8232, 1.8181, 3, False),
        # large magnitudes: the unit is 1000 for 3 figures of 123456
        (123000.0, 123456.0, 3, True),
        (122956.0, 123456.0, 3, True),
        (122955.9, 123456.0, 3, False),
        (123956.0, 123456.0, 3, True),
        (123956.1, 123456.0, 3, False),
        (1.2346e9, 1.23456789e9, 5, True),
        (1.2347e9, 1.23456789e9, 5, False),
        # powers of ten: 1000 to 3 figures is ± 5; 0.001 to 1 figure is ± 0.0005
        (1005.0, 1000.0, 3, True),
        (1005.1, 1000.0, 3, False),
        (0.0015, 0.001, 1, True),
        (0.00151, 0.001, 1, False),
        # around zero: small values keep their relative precision ...
        (0.000118, 0.000123, 2, True),
        (0.0001179, 0.000123, 2, False),
        (-0.0461, -0.0456, 2, True),
        (-0.0462, -0.0456, 2, False),
        (1.23e-7, 1.2345e-7, 3, True),
        (1.24e-7, 1.2345e-7, 3, False),
        # ... and the unit follows the exact value's decade, not the answer's
        (1.0, 0.99996, 3, True),
        (10.0, 9.9996, 3, True),
        (10.0, 9.94, 3, False),
        # exact 0 needs 0
        (0.0, 0.0, 3, True),
        (-0.0, 0.0, 3, True),
        (1e-9, 0.0, 3, False),
    ],
)
def test_sigfigs_boundaries(answer: float, exact: float, n: int, ok: bool) -> None:
    assert passes(sigfigs(n), answer, exact) is ok


def test_tiny_exact_values_keep_their_relative_precision() -> None:
    # no absolute slack swamps a tiny exact value
    assert passes(sigfigs(3), 3.004e-13, 3.0e-13)
    assert not passes(sigfigs(3), 0.0, 3e-13)
    assert not passes(sigfigs(3), 1.5e-12, 3e-13)
    assert not passes(sigfigs(3), 3.006e-13, 3.0e-13)
    assert passes(relative(rtol=1e-3), 1.0009e-14, 1e-14)
    assert not passes(relative(rtol=1e-3), 1.1e-14, 1e-14)
    assert not passes(relative(rtol=1e-3), 1e-13, 1e-14)


# ---------------------------------------------------------------------------
# rtol/atol: |answer − exact| ≤ atol + rtol·|exact|


@pytest.mark.parametrize(
    ("tolerance", "answer", "exact", "ok"),
    [
        (relative(rtol=0.01), 2.02, 2.0, True),
        (relative(rtol=0.01), 1.98, 2.0, True),
        (relative(rtol=0.01), 2.0201, 2.0, False),
        (relative(rtol=0.01), 1e-9, 0.0, False),  # rtol alone: exact 0 needs 0
        (relative(atol=1e-3), 100.001, 100.0, True),
        (relative(atol=1e-3), 100.0011, 100.0, False),
        (relative(atol=1e-3), -0.001, 0.0, True),
        (relative(rtol=0.01, atol=0.001), -4.041, -4.0, True),
        (relative(rtol=0.01, atol=0.001), -4.0411, -4.0, False),
        (relative(rtol=0.01, atol=0.001), -3.959, -4.0, True),
    ],
)
def test_relative_boundaries(tolerance: Tolerance, answer: float, exact: float, ok: bool) -> None:
    assert passes(tolerance, answer, exact) is ok


def test_relative_agrees_with_numpy_isclose_away_from_the_boundary() -> None:
    rng = np.random.default_rng(4023)
    exact = rng.uniform(-10, 10, 2000)
    answer = exact + rng.uniform(-0.2, 0.2, 2000)
    tolerance = relative(rtol=0.01, atol=0.01)
    bound = 0.01 + 0.01 * np.abs(exact)
    clear = np.abs(np.abs(answer - exact) - bound) > 1e-9
    ours = tolerance.passes(answer, exact)
    theirs = np.isclose(answer, exact, rtol=0.01, atol=0.01)
    assert clear.sum() > 1900 and 100 < ours.sum() < 1900
    assert (ours[clear] == theirs[clear]).all()


# ---------------------------------------------------------------------------
# round() and describe()


def test_round_as_a_student_carries_values_forward() -> None:
    assert decimals(3).round(1.23456) == 1.235
    assert decimals(3).round(np.array([0.66707, -2.12263])).tolist() == [0.667, -2.123]
    assert sigfigs(3).round(123456.0) == 123000.0
    assert sigfigs(2).round(0.000123456) == pytest.approx(0.00012, abs=1e-18)
    assert sigfigs(3).round(np.array([0.0, -1.8181, 9.9996])).tolist() == [0.0, -1.82, 10.0]
    assert relative(rtol=0.1).round(1.23456) == 1.23456  # no rounding to model


def test_describe() -> None:
    assert decimals(3).describe() == "3 decimals"
    assert sigfigs(2).describe() == "2 significant figures"
    assert relative(rtol=0.001, atol=1e-6).describe() == "rtol 0.001, atol 1e-06"


# ---------------------------------------------------------------------------
# Properties

magnitudes = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
places = st.integers(min_value=0, max_value=12)


@given(value=magnitudes, d=places)
def test_rounding_to_d_decimals_always_passes(value: float, d: int) -> None:
    assert passes(decimals(d), round(value, d), value)  # correctly rounded, as printed


@given(value=st.floats(min_value=-1e4, max_value=1e4), d=st.integers(min_value=0, max_value=10))
def test_rounding_carried_forward_passes(value: float, d: int) -> None:
    assert passes(decimals(d), decimals(d).round(value), value)  # NumPy's rounding


@given(value=magnitudes, d=places, sign=st.sampled_from([-1, 1]))
def test_off_by_six_tenths_of_a_unit_always_fails(value: float, d: int, sign: int) -> None:
    # where a tenth of a unit is still far above the float spacing of the value; away from
    # zero (toward zero, the first d decimals may still be the exact ones, cut: issue 12)
    assume(0.1 * 10.0**-d > 16 * np.spacing(abs(value)))
    exact = sign * abs(value)
    assert not passes(decimals(d), exact + sign * 0.6 * 10.0**-d, exact)


nonzero = st.floats(min_value=1e-30, max_value=1e30).flatmap(lambda v: st.sampled_from([v, -v]))


@given(value=nonzero, n=st.integers(min_value=1, max_value=8))
def test_rounding_to_n_figures_always_passes(value: float, n: int) -> None:
    written = float(f"{value:.{n - 1}e}")
    assert passes(sigfigs(n), written, value)
    assert passes(sigfigs(n), sigfigs(n).round(value), value)


@given(value=nonzero, n=st.integers(min_value=1, max_value=8), sign=st.sampled_from([-1, 1]))
def test_off_by_six_tenths_of_a_figure_always_fails(value: float, n: int, sign: int) -> None:
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - n + 1)
    assert not passes(sigfigs(n), value + sign * 0.6 * unit, value)


@given(
    exact=st.floats(min_value=-1e6, max_value=1e6),
    rtol=st.floats(min_value=1e-6, max_value=0.1),
    atol=st.floats(min_value=0.0, max_value=1e-2),
    inside=st.floats(min_value=0.0, max_value=0.999),
    sign=st.sampled_from([-1, 1]),
)
def test_relative_inside_passes_outside_fails(
    exact: float, rtol: float, atol: float, inside: float, sign: int
) -> None:
    bound = atol + rtol * abs(exact)
    tolerance = relative(rtol=rtol, atol=atol)
    assert passes(tolerance, exact + sign * inside * bound, exact)
    if bound > 1e-6:
        assert not passes(tolerance, exact + sign * 1.001 * bound, exact)


# ---------------------------------------------------------------------------
# The grading: section of a problem file


def a4_with(grading: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(A4.read_text()))
    data["grading"] = grading
    return data


def rubric_error(grading: Any) -> str:
    with pytest.raises(NncalcError) as caught:
        problem_from_dict(a4_with(grading), source="a4.yaml")
    return str(caught.value)


def test_the_a4_rubric() -> None:
    rubric = load_problem(A4).rubric
    assert rubric.tolerance == Tolerance("decimals", decimals=3)
    assert rubric.follow_through == 1.0 and rubric.partial is False
    assert rubric.points is not None and sum(rubric.points.values()) == 10.0
    assert rubric.points["A1"] == 1.0  # written as H
    assert rubric.points["dA1"] == 0.5  # written as W2T_delta2
    assert rubric.points["W1_new"] == 1.0  # written as W1'
    assert rubric.points_for("loss") == 0.0


def test_defaults_without_a_grading_section() -> None:
    data = a4_with(None)
    del data["grading"]
    rubric = problem_from_dict(data).rubric
    assert rubric == Rubric()
    assert (rubric.points_for("Z1"), rubric.points_for("loss")) == (1.0, 1.0)
    assert rubric.tolerance.describe() == "3 decimals"
    assert (rubric.partial, rubric.follow_through) == (False, 1.0)


@pytest.mark.parametrize(
    ("grading", "tolerance"),
    [
        ({"tolerance": {"decimals": 0}}, Tolerance("decimals", decimals=0)),
        ({"tolerance": {"sigfigs": 4}}, Tolerance("sigfigs", sigfigs=4)),
        ({"tolerance": {"rtol": 0.01}}, Tolerance("relative", rtol=0.01)),
        ({"tolerance": {"atol": 0.001}}, Tolerance("relative", atol=0.001)),
        ({"tolerance": {"rtol": 0.01, "atol": 1e-6}}, Tolerance("relative", rtol=0.01, atol=1e-6)),
    ],
)
def test_tolerance_modes_are_read(grading: dict[str, Any], tolerance: Tolerance) -> None:
    assert problem_from_dict(a4_with(grading)).rubric.tolerance == tolerance


@pytest.mark.parametrize(
    ("follow_through", "fraction"), [(True, 1.0), (False, 0.0), (0.5, 0.5), (0, 0.0), (1, 1.0)]
)
def test_follow_through_values(follow_through: Any, fraction: float) -> None:
    rubric = problem_from_dict(a4_with({"follow_through": follow_through})).rubric
    assert rubric.follow_through == fraction


@pytest.mark.parametrize(
    ("grading", "message"),
    [
        ({"points": {"Z9": 1}}, "grading.points.Z9: unknown quantity 'Z9'"),
        ({"points": {"Z3": 1}}, "grading.points.Z3: unknown quantity 'Z3'"),
        (
            {"points": {"H": 1, "A1": 2}},
            "grading.points.A1: 'A1' names A1, which already has points",
        ),
        ({"points": {"H": -1}}, "grading.points.H: expected points between 0 and 1e+06, got -1"),
        ({"points": {"H": "one"}}, "grading.points.H: expected a number, got string 'one'"),
        (
            {"tolerance": {"decimals": 3, "sigfigs": 2}},
            "grading.tolerance: expected exactly one of: decimals, sigfigs, or rtol/atol",
        ),
        (
            {"tolerance": {"decimals": 3, "rtol": 0.01}},
            "grading.tolerance: expected exactly one of: decimals, sigfigs, or rtol/atol",
        ),
        (
            {"tolerance": {}},
            "grading.tolerance: expected exactly one of: decimals, sigfigs, or rtol/atol",
        ),
        (
            {"tolerance": {"decimals": 13}},
            "grading.tolerance.decimals: expected a whole number between 0 and 12, got 13",
        ),
        (
            {"tolerance": {"decimals": 2.5}},
            "grading.tolerance.decimals: expected a whole number, got float 2.5",
        ),
        (
            {"tolerance": {"sigfigs": 0}},
            "grading.tolerance.sigfigs: expected a whole number between 1 and 15, got 0",
        ),
        ({"tolerance": {"rtol": -0.1}}, "grading.tolerance: expected rtol and atol ≥ 0"),
        (
            {"follow_through": 1.5},
            "grading.follow_through: expected true, false or a fraction 0–1, got 1.5",
        ),
        (
            {"follow_through": -0.5},
            "grading.follow_through: expected true, false or a fraction 0–1, got -0.5",
        ),
        (
            {"follow_through": float("nan")},
            "grading.follow_through: expected a finite number, got nan",
        ),
        ({"partial": "all"}, "grading.partial: expected one of none, element; got string 'all'"),
        (
            {"bonus": 1},
            "grading.bonus: unknown key 'bonus'; expected one of: points, tolerance, partial, "
            "follow_through, layout, equations",
        ),
        (
            {"layout": "transposed"},
            "grading.layout: expected one of either, strict; got string 'transposed'",
        ),
        ([1], "grading: expected a mapping of keys for grading, got a list of 1"),
    ],
)
def test_grading_section_errors(grading: Any, message: str) -> None:
    assert rubric_error(grading) == f"a4.yaml: {message}"


def test_grading_errors_name_the_file_and_line(tmp_path: Path) -> None:
    text = A4.read_text().replace("    W2': 1\n", "    W2': 1\n    W3': 1\n")
    path = tmp_path / "a4_bad_points.yaml"
    path.write_text(text)
    line = text.splitlines().index("    W3': 1") + 1
    with pytest.raises(NncalcError) as caught:
        load_problem(path)
    assert str(caught.value) == f"{path}:{line}: grading.points.W3': unknown quantity \"W3'\""

    text = A4.read_text().replace("follow_through: true", "follow_through: 2")
    path.write_text(text)
    line = text.splitlines().index("  follow_through: 2") + 1
    with pytest.raises(NncalcError) as caught:
        load_problem(path)
    assert str(caught.value) == (
        f"{path}:{line}: grading.follow_through: expected true, false or a fraction 0–1, got 2"
    )


def test_points_for_a_quantity_the_problem_lacks_are_refused_at_load() -> None:
    # dA2 has the right form, but a4 computes δ2 = ŷ − y directly: there is no dA2
    assert rubric_error({"points": {"dA2": 1}}) == (
        "a4.yaml: grading.points.dA2: dA2 is not a quantity of this problem; it has: Z1, A1, "
        "Z2, A2, loss, delta2, dW2, db2, dA1, fprime1, delta1, dW1, db1, W1_new, b1_new, "
        "W2_new, b2_new"
    )


def test_the_readme_boundary_examples_hold() -> None:
    """The examples in the README's tolerance table, number for number."""
    d3 = Tolerance("decimals", decimals=3)
    assert d3.passes([0.66657, 0.66757, 0.6665, 0.6676], [0.66707] * 4).tolist() == [
        True,
        True,
        False,
        False,
    ]
    s3 = Tolerance("sigfigs", sigfigs=3)
    assert s3.passes([1.8131, 1.8231, 1.813, 1.8232], [1.8181] * 4).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert s3.passes([0.0, 1e-9], [0.0, 0.0]).tolist() == [True, False]
    rel = Tolerance("relative", rtol=0.01)
    assert rel.passes([1.98, 2.02, 1.979], [2, 2, 2]).tolist() == [True, True, False]

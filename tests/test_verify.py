"""`nncalc verify`: verdicts, points, hints and exit codes on hand-made submissions.

The answers files in ``tests/data/a4/`` model one kind of student each (a comment at
the top of each file says which). Their numbers were computed independently with
plain NumPy (not with nncalc) and written by hand, 4 decimals unless said otherwise.
Points come from the ``grading:`` section of ``problems/a4.yaml`` (20 in all: 10 for
the numbers, 10 for the equations (issue 13); tolerance 3 decimals, full follow-through).
The sheets that model full marks write the course's equations; the others write numbers
only, so each of their 10 equation items is missing (0 of 1).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncalc.answers import load_answers
from nncalc.cli import app
from nncalc.grading import Grader, answer_files, grade_file, grade_files
from nncalc.problem import load_problem
from nncalc.results import StudentResult

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
DATA = ROOT / "tests" / "data"
A4_ANSWERS = DATA / "a4"
RELU_NEGATIVE = DATA / "relu_negative.yaml"

#: The graded quantities of a4 in the order of the worked solution, with their points.
A4_POINTS = {
    "Z1": 0.5,
    "A1": 1.0,
    "Z2": 0.5,
    "A2": 1.0,
    "dW2": 0.5,
    "db2": 0.5,
    "dA1": 0.5,
    "delta1": 0.5,
    "dW1": 0.5,
    "db1": 0.5,
    "W1_new": 1.0,
    "b1_new": 1.0,
    "W2_new": 1.0,
    "b2_new": 1.0,
}
#: The equation items of a4 (1 point each), in the order they come among the items.
A4_EQUATIONS = ["Z1", "Z2", "A2", "delta2", "dW2", "db2", "fprime1", "delta1", "dW1", "db1"]
NO_EQUATIONS = {n: ("missing", 0.0) for n in A4_EQUATIONS}
FORWARD_AND_GRADIENTS = ["A1", "Z2", "A2", "dW2", "db2", "dA1", "delta1", "dW1", "db1"]
UPDATES = ["W1_new", "b1_new", "W2_new", "b2_new"]

MALFORMED = {
    "malformed_broken_yaml.yaml": "tests/data/a4/malformed_broken_yaml.yaml:5: invalid YAML: "
    "did not find expected ',' or ']'",
    "malformed_top_level_list.yaml": "tests/data/a4/malformed_top_level_list.yaml: expected a "
    "mapping with 'answers' (and 'problem', 'student')",
    "malformed_unknown_key.yaml": "tests/data/a4/malformed_unknown_key.yaml:3: answer: unknown "
    "key 'answer'; expected one of: problem, student, answers, equations",
    "malformed_problem_not_found.yaml": "problems/a5.yaml: no such file",
    "malformed_no_problem.yaml": "tests/data/a4/malformed_no_problem.yaml: missing 'problem' "
    "(the problem file); or pass --problem",
}


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, so that paths in messages are relative to it."""
    monkeypatch.chdir(ROOT)


def grade(name: str, *, problem: Path | None = None) -> StudentResult:
    return grade_file(Path("tests/data/a4") / name, {}, problem)


def verdicts(result: StudentResult) -> dict[str, tuple[str, float]]:
    """The numbers' verdicts and points, by quantity."""
    return {item.name: (item.verdict, item.points) for item in result.items if item.kind == "value"}


def equation_verdicts(result: StudentResult) -> dict[str, tuple[str, float]]:
    """The equations' verdicts and points, by quantity."""
    return {i.name: (i.verdict, i.points) for i in result.items if i.kind == "equation"}


def item_of(result: StudentResult, name: str) -> Any:
    """The value item of a quantity (its number, not its equation)."""
    (found,) = [item for item in result.items if item.name == name and item.kind == "value"]
    return found


def verify(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# ---------------------------------------------------------------------------
# Full marks


@pytest.mark.parametrize("name", ["full.yaml", "three_decimals.yaml", "rounded_intermediates.yaml"])
def test_full_marks(name: str) -> None:
    result = grade(name)
    assert result.error is None
    assert (result.score, result.max_score, result.full_marks) == (20.0, 20.0, True)
    graded = {n: v for n, v in verdicts(result).items() if n in A4_POINTS}
    assert graded == {n: ("correct", p) for n, p in A4_POINTS.items()}
    assert equation_verdicts(result) == {n: ("correct", 1.0) for n in A4_EQUATIONS}
    assert all(item.hint is None and item.reason is None for item in result.items)


def test_full_lists_every_graded_quantity_in_solution_order_with_expected_values() -> None:
    result = grade("full.yaml")
    values = [item for item in result.items if item.kind == "value"]
    assert [item.name for item in values] == list(A4_POINTS)
    assert [item.max_points for item in values] == list(A4_POINTS.values())
    # each equation comes just before its quantity's number (δ2, f'(Z1): no number here)
    assert [(item.kind, item.name) for item in result.items[:4]] == [
        ("equation", "Z1"),
        ("value", "Z1"),
        ("value", "A1"),
        ("equation", "Z2"),
    ]
    equations = [item for item in result.items if item.kind == "equation"]
    assert [item.name for item in equations] == A4_EQUATIONS
    assert [item.max_points for item in equations] == [1.0] * 10
    assert [item.label for item in equations][:3] == [
        "Z1 equation",
        "Z2 equation",
        "A2 (ŷ) equation",
    ]
    assert equations[0].answer == "W1 x + b1"  # the formula as written
    assert item_of(result, "A1").label == "A1 (H)"
    assert item_of(result, "A2").label == "A2 (ŷ)"
    # expected values are the exact ones (by hand: Z1 = W1·x + b1), answers as written
    assert item_of(result, "Z1").expected == pytest.approx([1.35, 0.35, 0.6], abs=1e-12)
    assert item_of(result, "A2").expected == pytest.approx([0.21824785, 0.78175215], abs=1e-8)
    assert item_of(result, "dW2").answer == [[-1.8181, -0.5417, -0.9105], [1.8181, 0.5417, 0.9105]]
    assert result.student == "full"
    assert result.file == "tests/data/a4/full.yaml"
    assert Path(result.problem or "").resolve() == A4


def test_rounded_intermediates_drift_beyond_the_tolerance_is_still_correct() -> None:
    result = grade("rounded_intermediates.yaml")
    # by hand: dW2[0][0] = -0.782 · 2.326 = -1.819 vs -1.81814; dW1[2][3] = 0.285 · 2 = 0.570
    for name, drift in (("dW2", 8.608e-4), ("dW1", 7.840e-4)):
        item = item_of(result, name)
        off = np.abs(np.array(item.answer) - np.array(item.expected)).max()
        assert off == pytest.approx(drift, abs=1e-6)  # beyond ½·10⁻³ of the exact value ...
        assert (item.verdict, item.points) == ("correct", 0.5)  # ... yet right for 3 decimals


def test_a_correct_answer_has_no_wrong_entries() -> None:
    # dW2 and dW1 are off the exact value in some entries (above) but correct: no entry
    # of theirs may be marked wrong in a report
    result = grade("rounded_intermediates.yaml")
    assert {i.name: i.wrong_entries for i in result.items if i.wrong_entries} == {}


def test_the_student_name_defaults_to_the_file_name() -> None:
    assert grade("three_decimals.yaml").student == "three_decimals"
    assert grade("seed.yaml").student == "seed solution"


# ---------------------------------------------------------------------------
# The seed solution


def test_seed_solution_gets_19_5_with_its_slip_in_w2t_delta2() -> None:
    result = grade("seed.yaml")
    assert (result.score, result.max_score, result.full_marks) == (19.5, 20.0, False)
    assert equation_verdicts(result) == {n: ("correct", 1.0) for n in A4_EQUATIONS}
    dA1 = item_of(result, "dA1")
    assert (dA1.verdict, dA1.points, dA1.max_points) == ("wrong", 0.0, 0.5)
    assert dA1.answer == [0.5473, -0.5473, 0.1716]
    assert dA1.expected[2] == pytest.approx(0.1 * -0.78175215 + 0.3 * 0.78175215, abs=1e-8)
    assert dA1.wrong_entries == [[2]]  # only the third entry; 0.5473 is within 3 decimals
    assert dA1.hint is None
    others = {n: v for n, v in verdicts(result).items() if n != "dA1"}
    # the seed also prints δ2 and f'(Z1), worth 0 points here
    assert others == {
        **{n: ("correct", p) for n, p in A4_POINTS.items() if n != "dA1"},
        "delta2": ("correct", 0.0),
        "fprime1": ("correct", 0.0),
    }


# ---------------------------------------------------------------------------
# Classic mistakes: the hint names them; later steps follow through

MISTAKES = [
    # file, {wrong quantity: hint}, quantities that follow through, score
    (
        "mistake_degrees.yaml",
        {"A1": "sin/cos evaluated in degrees; use radians"},
        [*FORWARD_AND_GRADIENTS[1:], "W2_new"],
        9.0,
    ),
    (
        "mistake_bias.yaml",
        {"Z1": "the bias b1 seems left out (Z1 = W1·x without + b1)"},
        FORWARD_AND_GRADIENTS,
        9.5,
    ),
    (
        "mistake_update_sign.yaml",
        {n: f"update sign flipped: {n[:2]} + α·∇ instead of {n[:2]} − α·∇" for n in UPDATES},
        [],
        6.0,
    ),
    (
        "mistake_transposed.yaml",
        {"dW1": "transposed: this is the transpose of the right matrix (x·δᵀ for δ·xᵀ)"},
        [],
        9.5,
    ),
    (
        "mistake_derivative_at_activation.yaml",
        {"delta1": "derivative taken at the activation f'(A1) instead of the net input f'(Z1)"},
        ["dW1", "db1", "W1_new"],
        9.5,
    ),
    (
        "mistake_relu_derivative_dropped.yaml",
        {"delta1": "the ReLU part of the derivative is missing (relu'(x) = 1 for x > 0)"},
        ["dW1", "db1", "W1_new", "b1_new"],
        9.5,
    ),
    (
        "mistake_no_learning_rate.yaml",
        {n: f"learning rate left out: {n[:2]} − ∇ instead of {n[:2]} − α·∇" for n in UPDATES},
        [],
        6.0,
    ),
    (
        "mistake_softmax_unnormalised.yaml",
        {"A2": "softmax not normalised: e^z without dividing by Σ e^z"},
        [*FORWARD_AND_GRADIENTS[3:], *UPDATES],
        9.0,
    ),
    (
        "mistake_decimal_point.yaml",
        {"Z1": "a misplaced decimal point: the digits look right, the size does not"},
        [],
        9.5,
    ),
]


@pytest.mark.parametrize(
    ("name", "wrong", "follow", "score"),
    MISTAKES,
    ids=[m[0].removesuffix(".yaml") for m in MISTAKES],
)
def test_classic_mistake_is_named(
    name: str, wrong: dict[str, str], follow: list[str], score: float
) -> None:
    result = grade(name)
    assert result.error is None
    expected = {}
    for quantity, points in A4_POINTS.items():
        if quantity in wrong:
            expected[quantity] = ("wrong", 0.0)
        elif quantity in follow:
            expected[quantity] = ("follow_through", points)  # full follow-through in a4
        else:
            expected[quantity] = ("correct", points)
    assert verdicts(result) == expected
    assert equation_verdicts(result) == NO_EQUATIONS  # numbers only
    assert {i.name: i.hint for i in result.items if i.hint} == wrong
    assert (result.score, result.max_score, result.full_marks) == (score, 20.0, False)


def test_update_sign_flipped_marks_the_entries_that_differ() -> None:
    # W1' = W1 + α·∇W1: only the (2, 2) entry (|∂L/∂W1| = 0.1427, so 2α|∇| = 2.9e-4)
    # stays within ½·10⁻³ of the right value.
    item = item_of(grade("mistake_update_sign.yaml"), "W1_new")
    all_entries = [[i, j] for i in range(3) for j in range(4)]
    assert item.wrong_entries == [e for e in all_entries if e != [2, 2]]


def test_transposed_gradient_gets_no_credit_and_no_wrong_entries() -> None:
    item = item_of(grade("mistake_transposed.yaml"), "dW1")
    assert (item.verdict, item.points) == ("wrong", 0.0)
    assert item.wrong_entries == []  # the layout is wrong, not particular entries


def test_transposed_gradient_is_reported_as_written() -> None:
    item = item_of(grade("mistake_transposed.yaml"), "dW1")
    assert np.shape(item.answer) == (4, 3)  # not turned back into the right-looking 3×4
    assert item.answer[3] == [1.3341, -2.1226, 0.5708]  # the row of x4 = 2
    assert np.shape(item.expected) == (3, 4)


UNPAID = (
    "no follow-through credit: it builds on your {}, which is wrong and carries no points "
    "of its own"
)


def test_delta_sign_flipped_is_named_on_delta2_and_paid_for_once() -> None:
    # δ2 is worth 0 points in a4: its mistake must not be carried forward for free (it
    # would earn 10/10 with every gradient's sign flipped). The first graded step built
    # on it pays for it, once (issue 12, rule 2); everything after follows through.
    result = grade("mistake_delta_sign.yaml")
    delta2 = item_of(result, "delta2")
    assert (delta2.verdict, delta2.points, delta2.max_points) == ("wrong", 0.0, 0.0)
    assert delta2.hint == "sign flipped: δ = y − ŷ instead of ŷ − y"
    assert delta2.wrong_entries == [[0], [1]]
    paying = ["dW2"]
    assert {n: (verdicts(result)[n], item_of(result, n).hint) for n in paying} == {
        n: (("wrong", 0.0), UNPAID.format("delta2")) for n in paying
    }
    later = ["db2", "dA1", "delta1", "dW1", "db1", *UPDATES]
    assert {n: verdicts(result)[n] for n in later} == {
        n: ("follow_through", A4_POINTS[n]) for n in later
    }
    assert (result.score, result.max_score, result.full_marks) == (9.5, 20.0, False)


def test_delta_sign_flipped_costs_the_same_when_delta2_is_not_written(tmp_path: Path) -> None:
    data = yaml.safe_load((A4_ANSWERS / "mistake_delta_sign.yaml").read_text())
    data["problem"] = str(A4)
    del data["answers"]["delta2"]
    sheet = tmp_path / "no_delta2.yaml"
    sheet.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = grade_file(sheet, {})
    assert {n: v[0] for n, v in verdicts(result).items() if v[0] != "correct"} == {
        "dW2": "wrong",  # charged once (issue 12, rule 2)
        **dict.fromkeys(["db2", "dA1", "delta1", "dW1", "db1", *UPDATES], "follow_through"),
    }
    assert result.score == 9.5


def test_delta_sign_flipped_is_named_on_db2_when_delta2_is_not_written(tmp_path: Path) -> None:
    data = yaml.safe_load((A4_ANSWERS / "mistake_delta_sign.yaml").read_text())
    data["problem"] = str(A4)
    del data["answers"]["delta2"]
    sheet = tmp_path / "no_delta2.yaml"
    sheet.write_text(yaml.safe_dump(data, allow_unicode=True))
    hint = item_of(grade_file(sheet, {}), "db2").hint
    assert hint is not None and "sign flipped" in hint


def test_a_slip_in_an_ungraded_step_still_costs_points(tmp_path: Path) -> None:
    # f'(Z1) is worth 0 points in a4: writing the slipped f'(H) there must not turn
    # δ1 = (W2ᵀδ2) ⊙ f'(H) into a follow-through
    data = yaml.safe_load((A4_ANSWERS / "mistake_derivative_at_activation.yaml").read_text())
    data["problem"] = str(A4)
    h = np.array(data["answers"]["H"])
    data["answers"]["fprime1"] = (1 + np.cos(h)).round(4).tolist()  # f'(H), all H > 0
    sheet = tmp_path / "fprime_at_h.yaml"
    sheet.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = grade_file(sheet, {})
    fprime1 = item_of(result, "fprime1")
    assert (fprime1.verdict, fprime1.points) == ("wrong", 0.0)
    assert fprime1.hint == (
        "derivative taken at the activation f'(A1) instead of the net input f'(Z1)"
    )
    delta1 = item_of(result, "delta1")
    assert (delta1.verdict, delta1.hint) == ("wrong", UNPAID.format("fprime1"))
    assert {n: verdicts(result)[n] for n in ("dW1", "db1", "W1_new")} == {
        "dW1": ("follow_through", 0.5),
        "db1": ("follow_through", 0.5),
        "W1_new": ("follow_through", 1.0),
    }
    assert result.score == 9.5  # as when f'(Z1) is not written (mistake_derivative_…)


# ---------------------------------------------------------------------------
# ReLU's derivative as 1 everywhere: needs a negative net input (a4 has none)


def test_relu_one_everywhere_is_indistinguishable_in_a4() -> None:
    # all of a4's Z1 are > 0, so relu'(Z1) = 1 is right there
    grader = Grader(load_problem(A4))
    assert (grader.exact["Z1"] > 0).all()


RELU_ONE = "ReLU's derivative taken as 1 everywhere (it is 0 for x ≤ 0)"


def test_relu_negative_full_marks_under_the_default_rubric() -> None:
    result = grade_file(DATA / "relu_negative" / "full.yaml", {})
    assert (result.score, result.max_score) == (17.0, 17.0)  # every quantity 1 point
    assert {i.verdict for i in result.items} == {"correct"}


def test_relu_one_everywhere_named_on_fprime1() -> None:
    result = grade_file(DATA / "relu_negative" / "relu_one_in_fprime.yaml", {})
    fprime1 = item_of(result, "fprime1")
    assert (fprime1.verdict, fprime1.points, fprime1.hint) == ("wrong", 0.0, RELU_ONE)
    assert fprime1.wrong_entries == [[0]]  # only the negative Z1[0] = -0.4
    follow = ["delta1", "dW1", "db1", "W1_new", "b1_new"]
    assert {n: v for n, v in verdicts(result).items() if v[0] != "correct"} == {
        "fprime1": ("wrong", 0.0),
        **{n: ("follow_through", 1.0) for n in follow},
    }
    assert (result.score, result.max_score) == (16.0, 17.0)


def test_relu_one_everywhere_named_on_delta1_when_fprime1_is_skipped() -> None:
    result = grade_file(DATA / "relu_negative" / "relu_one_in_delta.yaml", {})
    delta1 = item_of(result, "delta1")
    assert (delta1.verdict, delta1.hint, delta1.wrong_entries) == ("wrong", RELU_ONE, [[0]])
    assert item_of(result, "fprime1").verdict == "missing"
    assert (result.score, result.max_score) == (15.0, 17.0)


# ---------------------------------------------------------------------------
# Follow-through, the all-zeros rule, missing and invalid answers


def test_wrong_z1_is_followed_through() -> None:
    result = grade("wrong_z1_follow_through.yaml")
    z1 = item_of(result, "Z1")
    assert (z1.verdict, z1.points, z1.wrong_entries, z1.hint) == ("wrong", 0.0, [[1]], None)
    assert verdicts(result) == {
        "Z1": ("wrong", 0.0),
        **{n: ("follow_through", A4_POINTS[n]) for n in FORWARD_AND_GRADIENTS},
        **{n: ("correct", 1.0) for n in UPDATES},  # within 3 decimals of exact (α = 0.001)
    }
    assert item_of(result, "A1").wrong_entries == [[1]]  # only sin(0.45) + 0.45 differs
    assert equation_verdicts(result) == NO_EQUATIONS
    assert (result.score, result.max_score) == (9.5, 20.0)


@pytest.mark.parametrize(
    ("follow_through", "score", "verdict", "hint"),
    [
        (0.5, 4 + 5.5 / 2, "follow_through", None),
        (
            False,
            4.0,
            "wrong",
            "computed correctly from your earlier wrong answers (no credit here)",
        ),
    ],
)
def test_follow_through_fraction_from_the_rubric(
    tmp_path: Path, follow_through: float, score: float, verdict: str, hint: str | None
) -> None:
    problem = yaml.safe_load(A4.read_text())
    problem["grading"]["follow_through"] = follow_through
    path = tmp_path / "a4_half.yaml"
    path.write_text(yaml.safe_dump(problem, allow_unicode=True))
    result = grade("wrong_z1_follow_through.yaml", problem=path)
    dW2 = item_of(result, "dW2")
    assert (dW2.verdict, dW2.hint) == (verdict, hint)
    assert dW2.points == (0.25 if follow_through else 0.0)
    assert result.score == pytest.approx(score)


def test_partial_credit_per_entry(tmp_path: Path) -> None:
    problem = yaml.safe_load(A4.read_text())
    problem["grading"]["partial"] = "element"
    path = tmp_path / "a4_partial.yaml"
    path.write_text(yaml.safe_dump(problem, allow_unicode=True))
    result = grade("seed.yaml", problem=path)
    dA1 = item_of(result, "dA1")
    assert dA1.verdict == "wrong"
    assert dA1.points == pytest.approx(0.5 * 2 / 3)  # two of its three entries pass
    assert result.score == pytest.approx(19.5 + 1 / 3)  # the seed writes every equation


ZEROS_HINT = "no follow-through credit: it builds on Z1, all zeros"


def test_all_zeros_gets_no_follow_through_credit() -> None:
    result = grade("all_zeros.yaml")
    assert item_of(result, "Z1").verdict == "wrong"
    assert item_of(result, "Z1").hint == "all zeros: nothing computed here"  # issue 12
    later = [n for n in A4_POINTS if n not in ("Z1", "b2_new")]
    assert {n: (verdicts(result)[n], item_of(result, n).hint) for n in later} == {
        n: (("wrong", 0.0), ZEROS_HINT) for n in later
    }
    # b2' = b2 − α·δ2 lands within 3 decimals of the exact value anyway (0.0505 vs 0.05078)
    assert verdicts(result)["b2_new"] == ("correct", 1.0)
    assert (result.score, result.max_score) == (1.0, 20.0)


def test_missing_answers_get_no_points() -> None:
    result = grade("missing.yaml")
    assert verdicts(result) == {
        "Z1": ("correct", 0.5),
        "A1": ("correct", 1.0),
        "Z2": ("correct", 0.5),
        **{n: ("missing", 0.0) for n in list(A4_POINTS)[3:]},
    }
    assert item_of(result, "A2").answer is None  # [null, null]: left blank
    assert item_of(result, "dW1").answer is None
    assert equation_verdicts(result) == NO_EQUATIONS
    assert (result.score, result.max_score, result.full_marks) == (2.0, 20.0, False)


def test_a_bare_null_is_missing(tmp_path: Path) -> None:
    # `dW2:` left empty or `db2: null` is a blank answer, like the template's [null, …]
    sheet = tmp_path / "bare_null.yaml"
    sheet.write_text(f"problem: {A4}\nanswers:\n  Z1: [1.35, 0.35, 0.6]\n  dW2:\n  db2: null\n")
    result = grade_file(sheet, {})
    assert (verdicts(result)["dW2"], item_of(result, "dW2").reason) == (("missing", 0.0), None)
    assert (verdicts(result)["db2"], item_of(result, "db2").reason) == (("missing", 0.0), None)
    assert result.score == 0.5


def test_a_partly_blank_answer_is_wrong_in_the_blank_entries(tmp_path: Path) -> None:
    sheet = tmp_path / "part_blank.yaml"
    sheet.write_text(f"problem: {A4}\nanswers:\n  Z1: [1.35, null, 0.6]\n")
    z1 = item_of(grade_file(sheet, {}), "Z1")
    assert (z1.verdict, z1.answer, z1.wrong_entries) == ("wrong", [1.35, None, 0.6], [[1]])


def test_invalid_entries() -> None:
    result = grade("invalid_entries.yaml")
    assert result.error is None
    assert verdicts(result) == {
        "Z1": ("correct", 0.5),  # written as a column [[1.35], [0.35], [0.6]]
        "A1": ("correct", 1.0),  # as H
        "Z2": ("invalid", 0.0),
        "A2": ("correct", 1.0),  # as y_hat, numeric strings
        "dW2": ("invalid", 0.0),
        "db2": ("invalid", 0.0),
        "dA1": ("correct", 0.5),  # as W2T_delta2
        "delta1": ("correct", 0.5),
        "dW1": ("missing", 0.0),
        "db1": ("missing", 0.0),
        "W1_new": ("correct", 1.0),  # as W1'
        "b1_new": ("correct", 1.0),  # as b1', numeric strings with a Unicode minus
        "W2_new": ("correct", 1.0),
        "b2_new": ("invalid", 0.0),
        "δ1": ("invalid", 0.0),
        "hidden_output": ("invalid", 0.0),
        "Z3": ("invalid", 0.0),
    }
    reasons = {i.name: i.reason for i in result.items if i.verdict == "invalid"}
    assert reasons == {
        "Z2": "expected 2 numbers, got 3 numbers",
        "dW2": "rows of different lengths",
        "db2": "not a number: 'about 0.78'",
        "b2_new": "expected numbers, got true",
        "δ1": "delta1 answered twice (as 'delta1' and 'δ1')",
        "hidden_output": "unknown quantity 'hidden_output'",
        "Z3": "unknown quantity 'Z3'",
    }
    assert item_of(result, "Z1").answer == [1.35, 0.35, 0.6]  # the column, read as a vector
    assert item_of(result, "A2").answer == [0.2182, 0.7818]
    assert item_of(result, "b1_new").answer == [0.0993, -0.0989, 0.0497]
    assert item_of(result, "Z3").max_points == 0.0  # unknown names are worth nothing
    assert (result.score, result.max_score) == (6.5, 20.0)


def test_shape_messages(tmp_path: Path) -> None:
    sheet = tmp_path / "shapes.yaml"
    sheet.write_text(
        f"problem: {A4}\nanswers:\n  dW2: [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\n"
        "  Z1: [[1, 2], [3, 4]]\n  db1: 0.5\n  b2': [.inf, 1]\n"
    )
    reasons = {i.name: i.reason for i in grade_file(sheet, {}).items if i.reason}
    assert reasons == {
        "Z1": "expected 3 numbers, got a 2×2 matrix",
        "dW2": "expected a 2×3 matrix, got a 3×3 matrix",
        "db1": "expected 3 numbers, got a single number",
        "b2_new": "not a finite number",
    }


def test_aliases_are_read_as_their_canonical_names() -> None:
    sheet = load_answers(A4_ANSWERS / "invalid_entries.yaml")
    written = [a.written for a in sheet.answers]
    assert written[:6] == ["Z1", "H", "Z2", "y_hat", "W2T_delta2", "delta1"]
    assert sheet.problem is not None and sheet.problem.resolve() == A4
    assert sheet.answers[0].line == 9  # the line of Z1 in the file


# ---------------------------------------------------------------------------
# Malformed files: error results; the rest of a batch is still graded


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_becomes_an_error_result(name: str) -> None:
    result = grade(name)
    assert result.error == MALFORMED[name]
    assert result.items == []
    assert not result.full_marks
    assert result.student == Path(name).stem  # the file could not be read for its student


def test_problem_override_grades_a_file_without_a_problem() -> None:
    result = grade("malformed_no_problem.yaml", problem=A4)
    assert result.error is None
    assert result.student == "no problem key"
    assert (result.score, result.max_score, result.full_marks) == (20.0, 20.0, True)


def test_batch_of_the_folder_grades_every_readable_file() -> None:
    files = answer_files([Path("tests/data/a4")])
    names = sorted(p.name for p in A4_ANSWERS.glob("*.yaml"))
    assert [f.name for f in files] == names
    results = grade_files(files)
    assert [Path(r.file).name for r in results] == names
    errors = {Path(r.file).name: r.error for r in results if r.error}
    assert errors == MALFORMED
    scores = {Path(r.file).name: r.score for r in results if not r.error}
    assert scores == {
        "full.yaml": 20.0,  # these four write the course's equations too
        "three_decimals.yaml": 20.0,
        "rounded_intermediates.yaml": 20.0,
        "seed.yaml": 19.5,
        "wrong_z1_follow_through.yaml": 9.5,
        "all_zeros.yaml": 1.0,
        "missing.yaml": 2.0,
        "invalid_entries.yaml": 6.5,
        "mistake_delta_sign.yaml": 9.5,  # charged once (issue 12)
        **{m[0]: m[3] for m in MISTAKES},
    }


def test_batch_solves_each_problem_once() -> None:
    graders: dict[Path, Any] = {}
    for name in ("full.yaml", "seed.yaml", "malformed_problem_not_found.yaml"):
        grade_file(Path("tests/data/a4") / name, graders)
    assert set(graders) == {A4, (ROOT / "problems" / "a5.yaml").resolve()}
    assert isinstance(graders[A4], Grader)


# ---------------------------------------------------------------------------
# The command line


def test_cli_json_matches_the_library(runner: CliRunner) -> None:
    code, out, err = verify(runner, "tests/data/a4/seed.yaml", "--format", "json")
    assert (code, err) == (1, "")
    (line,) = json_lines(out)
    # the student is the file's (issue 11); the sheet's own student: field is a warning
    assert (line["student"], line["score"], line["max_score"]) == ("seed", 19.5, 20.0)
    assert line["warnings"][0] == "the sheet says student: seed solution; graded as seed (its file)"
    by_name = {i["name"]: i for i in line["items"] if i["kind"] == "value"}
    assert by_name["dA1"]["verdict"] == "wrong"
    assert by_name["dA1"]["answer"] == [0.5473, -0.5473, 0.1716]
    assert by_name["dA1"]["wrong_entries"] == [[2]]
    assert by_name["W1_new"]["verdict"] == "correct"


@pytest.mark.parametrize(
    ("paths", "code"),
    [
        (["tests/data/a4/full.yaml"], 0),
        (["tests/data/a4/full.yaml", "tests/data/a4/three_decimals.yaml"], 0),
        (["tests/data/a4/rounded_intermediates.yaml"], 0),
        (["tests/data/a4/seed.yaml"], 1),
        (["tests/data/a4/full.yaml", "tests/data/a4/mistake_bias.yaml"], 1),
        (["tests/data/a4/malformed_broken_yaml.yaml"], 2),
        (["tests/data/a4/missing_file.yaml"], 2),
        (["tests/data/a4/full.yaml", "tests/data/a4/malformed_top_level_list.yaml"], 2),
        (["tests/data/a4"], 2),
        (["tests/data/relu_negative"], 1),
    ],
)
def test_cli_exit_codes(runner: CliRunner, paths: list[str], code: int) -> None:
    assert (
        verify(
            runner,
            *paths,
            "--problem-root",
            "problems",
            "--problem-root",
            "tests/data",
            "--format",
            "json",
        )[0]
        == code
    )


def test_cli_batch_of_the_folder_reports_every_file(runner: CliRunner) -> None:
    code, out, _ = verify(runner, "tests/data/a4", "--problem-root", "problems", "--format", "json")
    assert code == 2
    lines = json_lines(out)
    assert [Path(line["file"]).name for line in lines] == sorted(
        p.name for p in A4_ANSWERS.glob("*.yaml")
    )
    errors = {Path(line["file"]).name: line["error"] for line in lines if "error" in line}
    assert errors == MALFORMED | {  # with --problem-root, a sheet's claim is checked
        "malformed_problem_not_found.yaml": "tests/data/a4/malformed_problem_not_found.yaml: "
        "names ../../../problems/a5.yaml, which is not a problem file under the problem roots "
        "(--problem-root)",
        "malformed_no_problem.yaml": "tests/data/a4/malformed_no_problem.yaml: names no "
        "problem; with --problem-root a sheet must name its problem file",
    }
    graded = {Path(line["file"]).name: line["score"] for line in lines if "error" not in line}
    assert graded["full.yaml"] == 20.0
    assert graded["all_zeros.yaml"] == 1.0
    assert len(graded) == len(lines) - len(MALFORMED)


def test_cli_problem_override(runner: CliRunner) -> None:
    alone = "tests/data/a4/malformed_no_problem.yaml"
    assert verify(runner, alone, "--format", "json")[0] == 2
    code, out, _ = verify(runner, alone, "--problem", "problems/a4.yaml", "--format", "json")
    assert code == 0
    (line,) = json_lines(out)
    assert (line["problem"], line["score"]) == ("problems/a4.yaml", 20.0)
    # graded against the override, whatever the file says: a4's answers have a4's shapes
    code, out, _ = verify(
        runner, "tests/data/a4/full.yaml", "--problem", str(RELU_NEGATIVE), "--format", "json"
    )
    assert code == 1
    (line,) = json_lines(out)
    by_name = {i["name"]: i for i in line["items"] if i["kind"] == "value"}
    assert by_name["Z1"]["verdict"] == "invalid"
    assert by_name["Z1"]["reason"] == "expected 2 numbers, got 3 numbers"
    assert line["max_score"] == 17.0


@pytest.mark.parametrize(
    ("path", "code"),
    [("full.yaml", 0), ("seed.yaml", 1), ("malformed_unknown_key.yaml", 2), ("", 2)],
)
def test_cli_quiet_prints_nothing_and_keeps_the_exit_code(
    runner: CliRunner, path: str, code: int
) -> None:
    roots = ("--problem-root", "problems")
    assert verify(runner, f"tests/data/a4/{path}", *roots, "--quiet") == (code, "", "")


def test_cli_output_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "grades.jsonl"
    args = ["tests/data/a4/seed.yaml", "tests/data/a4/full.yaml", "--format", "json"]
    args += ["--problem-root", "problems"]
    code, out, _ = verify(runner, *args, "--output", str(target))
    assert (code, out) == (1, "")
    assert target.read_text() == verify(runner, *args)[1]
    assert [line["score"] for line in json_lines(target.read_text())] == [19.5, 20.0]


def test_cli_subprocess(tmp_path: Path) -> None:
    work = tmp_path / "class"
    shutil.copytree(A4_ANSWERS, work / "tests" / "data" / "a4")
    (work / "problems").mkdir()
    shutil.copy(A4, work / "problems" / "a4.yaml")
    run = subprocess.run(
        [sys.executable, "-m", "nncalc", "verify", "tests/data/a4/seed.yaml", "-f", "json"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr) == (1, "")
    (line,) = json_lines(run.stdout)
    assert (line["file"], line["score"], line["max_score"]) == ("tests/data/a4/seed.yaml", 19.5, 20)


@pytest.mark.parametrize("fmt", ["plain", "rich"])
def test_an_80_column_terminal_still_shows_points_and_hints(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Too narrow for the table, each item is a block: quantity, verdict and points on one
    line, the answer and the hint indented below (Rich would drop the last columns)."""
    monkeypatch.setenv("COLUMNS", "80")
    sheet = str(A4_ANSWERS / "mistake_bias.yaml")
    code, out, _ = verify(runner, sheet, "--problem", str(A4), "-f", fmt)
    assert code == 1
    lines = out.splitlines()
    z1 = lines.index("Z1                ✗ wrong           0 / 0.5")
    assert lines[z1 + 1 : z1 + 5] == [
        "    ⎡ *1.25* ⎤",
        "    ⎢ *0.45* ⎥",
        "    ⎣ *0.55* ⎦",
        "    the bias b1 seems left out (Z1 = W1·x without + b1)",
    ]
    assert "A1 (H)            ↪ follow-through  1 / 1" in lines
    assert max(map(len, lines)) <= 80 and out.rstrip().endswith("Total: 9.5 / 20")
    # wide enough, the table as before
    monkeypatch.setenv("COLUMNS", "160")
    wide = verify(runner, sheet, "--problem", str(A4), "-f", fmt)[1]
    assert "the bias b1 seems left out" in wide and "Z1                ✗ wrong" not in wide

"""Issue 12, fair verdicts: sheets a student would hand in, graded through `nncalc verify`.

Each sheet is built the way a student computes it: step by step, every written value
rounded to 4 decimals and carried forward, with one slip in one place. The fair points
were decided as a careful TA would mark the sheet (course rule: "correct for the first
three decimal points"; a4's numbers are worth 10) before the grader was run. The sheets
write numbers only: a4's 10 equation points (issue 13) are missing on every one of them
(max_score 20), so a score of 10 here is full marks for the numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.expr import Evaluation
from nncalc.grading import Grader
from nncalc.problem import load_problem

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
Values = dict[str, Any]
Slip = Callable[[Any, Values], Any]  # (network, the student's values so far) → their value

#: What each a4 sheet below writes: every quantity of the template.
EVERY_STEP = [
    "Z1", "A1", "Z2", "A2", "loss", "delta2", "dW2", "db2", "dA1", "fprime1",
    "delta1", "dW1", "db1", "W1_new", "b1_new", "W2_new", "b2_new",
]  # fmt: skip
#: The same sheet without the ungraded steps (δ2, f′(Z1), the loss).
GRADED_ONLY = [n for n in EVERY_STEP if n not in ("loss", "delta2", "fprime1")]


def student_sheet(
    problem: Path, slips: dict[str, Slip], written: list[str], decimals: int = 4
) -> dict[str, Any]:
    """The answers a student writes: each step from their own rounded earlier values."""
    network = Grader(load_problem(problem)).network
    world = network.given()
    answers: dict[str, Any] = {}
    for _, name in network.plan():
        value = slips[name](network, world) if name in slips else network.compute(name, world)
        shown = np.round(np.asarray(network.shown(name, value), dtype=float), decimals)
        world[name] = network.internal(name, shown)
        if name in written:
            answers[name] = shown.tolist()
    return answers


def verify(tmp_path: Path, answers: dict[str, Any], problem: Path = A4) -> dict[str, Any]:
    """`nncalc verify --problem … --format json` on the sheet; its one JSON line."""
    path = tmp_path / "sheet.yaml"
    path.write_text(yaml.safe_dump({"student": "s", "answers": answers}, allow_unicode=True))
    result = CliRunner().invoke(
        app, ["verify", str(path), "--problem", str(problem), "--format", "json"]
    )
    assert result.exit_code in (0, 1), result.output
    line: dict[str, Any] = json.loads(result.stdout.splitlines()[0])
    return line


def value_items(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of the numbers (not of the equations, all missing on these sheets)."""
    return [item for item in line["items"] if item["kind"] == "value"]


def by_name(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in value_items(line)}


def verdicts(line: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["verdict"] for item in value_items(line)}


# -- classic slips, as the student makes them ----------------------------------------


def no_bias_z1(net: Any, w: Values) -> Any:
    return w["W1"] @ w["A0"]


def degrees_h(net: Any, w: Values) -> Any:
    return net.compute("A1", w, Evaluation(degrees=True))


def degrees_fprime(net: Any, w: Values) -> Any:
    return net.activation(1).derivative(w["Z1"], Evaluation(degrees=True))


def flipped_delta2(net: Any, w: Values) -> Any:
    return -net.compute("delta2", w)


def plus_update(param: str) -> Slip:
    """W + α·∇: with δ = y − ŷ this is the right update."""
    return lambda net, w: w[param] + 0.001 * w[f"d{param}"]


# ---------------------------------------------------------------------------
# Rule 1: showing work never costs points


@pytest.mark.parametrize("written", [EVERY_STEP, GRADED_ONLY], ids=["shows work", "graded only"])
def test_rule1_bias_left_out_costs_z1_only_with_or_without_ungraded_steps(
    tmp_path: Path, written: list[str]
) -> None:
    # Fair: Z1 wrong (−0.5); everything after is carried forward correctly: 9.5/10.
    line = verify(tmp_path, student_sheet(A4, {"Z1": no_bias_z1}, written))
    assert line["score"] == 9.5
    items = by_name(line)
    assert items["Z1"]["verdict"] == "wrong"
    assert items["Z1"]["hint"].startswith("the bias b1 seems left out")
    later = [n for n in GRADED_ONLY if n != "Z1" and not n.endswith("_new")]
    assert {n: items[n]["verdict"] for n in later} == dict.fromkeys(later, "follow_through")


@pytest.mark.parametrize("written", [EVERY_STEP, GRADED_ONLY], ids=["shows work", "graded only"])
def test_rule1_degrees_costs_h_once_even_with_f_prime_in_degrees(
    tmp_path: Path, written: list[str]
) -> None:
    # Fair: H in degrees (−1); f′(Z1) in degrees too is the same slip, not a new one: 9/10.
    slips = {"A1": degrees_h, "fprime1": degrees_fprime}
    line = verify(tmp_path, student_sheet(A4, slips, written))
    assert line["score"] == 9.0
    items = by_name(line)
    assert items["A1"]["hint"] == "sin/cos evaluated in degrees; use radians"
    assert items["delta1"]["verdict"] == "follow_through"


def test_rule1_ungraded_slip_is_still_charged_once(tmp_path: Path) -> None:
    # A slip made only in an ungraded step (δ2 sign) must cost something downstream.
    line = verify(tmp_path, student_sheet(A4, {"delta2": flipped_delta2}, EVERY_STEP))
    assert line["score"] < 10


# ---------------------------------------------------------------------------
# Rule 2: a mistake is charged once


@pytest.mark.parametrize("written", [EVERY_STEP, GRADED_ONLY], ids=["shows δ2", "skips δ2"])
def test_rule2_sign_convention_with_plus_update_is_charged_once(
    tmp_path: Path, written: list[str]
) -> None:
    # δ = y − ŷ, then W + α·δHᵀ: the final weights are exactly right. Fair: the sign
    # convention costs the first graded item it shows in (dW2, −0.5): 9.5/10.
    slips: dict[str, Slip] = {"delta2": flipped_delta2}
    slips |= {f"{p}_new": plus_update(p) for p in ("W1", "b1", "W2", "b2")}
    line = verify(tmp_path, student_sheet(A4, slips, written))
    assert line["score"] == 9.5
    items = by_name(line)
    assert items["dW2"]["verdict"] == "wrong"
    assert "sign" in items["dW2"]["hint"] or "your delta2" in items["dW2"]["hint"]
    for name in ("db2", "dA1", "delta1", "dW1", "db1"):
        assert items[name]["verdict"] == "follow_through", name
    for name in ("W1_new", "b1_new", "W2_new", "b2_new"):
        assert items[name]["verdict"] == "correct", name


RNN = ROOT / "problems" / "rnn.yaml"


def averaged(name: str) -> Slip:
    """The loss averaged over the T = 3 time steps, and its gradient with it."""
    return lambda net, w: net.compute(name, w) / 3


@pytest.mark.parametrize("writes_da2", [True, False], ids=["writes ∂L/∂ŷ", "skips ∂L/∂ŷ"])
def test_rule2_rnn_loss_averaged_over_time_is_charged_at_the_loss_only(
    tmp_path: Path, writes_da2: bool
) -> None:
    # Fair: the loss (1 pt) is wrong; every δ follows from that same choice: 12/13.
    graded = ["A1_t1", "A1_t2", "A1_t3", "A2", "loss", "delta1_t3", "delta1_t2", "delta1_t1"]
    written = [*graded, "dWx1", "dWh1", "db1", *(["dA2"] if writes_da2 else [])]
    sheet = student_sheet(RNN, {"loss": averaged("loss"), "dA2": averaged("dA2")}, written)
    line = verify(tmp_path, sheet, RNN)
    assert (line["score"], line["max_score"]) == (12.0, 13.0)
    items = by_name(line)
    assert items["loss"]["verdict"] == "wrong"
    assert "averaged over the 3 time steps" in items["loss"]["hint"]
    for name in ("delta1_t3", "delta1_t2", "delta1_t1", "dWx1", "dWh1", "db1"):
        assert items[name]["verdict"] == "follow_through", name


# ---------------------------------------------------------------------------
# Rule 3: "correct for the first three decimal points" accepts truncation


def truncating_sheet(decimals: int) -> dict[str, Any]:
    """A student who cuts every value after ``decimals`` decimals and carries that forward."""
    network = Grader(load_problem(A4)).network
    world = network.given()
    answers: dict[str, Any] = {}
    for _, name in network.plan():
        shown = np.asarray(network.shown(name, network.compute(name, world)), dtype=float)
        cut = np.trunc(shown * 10**decimals) / 10**decimals
        world[name] = network.internal(name, cut)
        answers[name] = cut.tolist()
    return answers


def test_rule3_truncated_to_three_decimals_is_full_marks(tmp_path: Path) -> None:
    # H = 2.32572… written 2.325: only correct digits. Fair: 10/10.
    sheet = truncating_sheet(3)
    assert sheet["A1"][0] == 2.325
    line = verify(tmp_path, sheet)
    assert line["score"] == 10.0
    assert set(verdicts(line).values()) == {"correct"}


def test_rule3_truncation_accepts_only_right_digits(tmp_path: Path) -> None:
    # 2.324 (a wrong third decimal) for 2.32572 is neither rounded nor truncated: wrong.
    sheet = truncating_sheet(4)
    sheet["A1"][0] = 2.324
    assert by_name(verify(tmp_path, sheet))["A1"]["verdict"] == "wrong"


def written_sheet(tmp_path: Path, answers: dict[str, Any], written: dict[str, str]) -> Path:
    """An answers file with some answers in the student's own text (``Z1: [1.3500, …]``)."""
    lines = ["student: s", "answers:"]
    lines += [
        f"  {name}: {written.get(name, json.dumps(value))}" for name, value in answers.items()
    ]
    path = tmp_path / "sheet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["plain", "markdown", "html", "gradescope", "json"])
def test_rule3_the_students_digits_are_shown_as_they_wrote_them(tmp_path: Path, fmt: str) -> None:
    # H = 2.32572… cut to 2.325 must not be shown as 2.3250 (a fourth digit never written);
    # Z1 written with trailing zeros keeps them; a fraction stays a fraction. H[1] is
    # wrong, so that Gradescope (which shows only answers with wrong entries) shows H.
    sheet = truncating_sheet(3)
    sheet["A1"][1] = 0.5
    written = {
        "Z1": "[1.3500, 0.3500, 0.6000]",
        "A2": '["21.82%", 0.7818]',
        "db2": "[-0.21820, 0.2182]",
    }
    path = written_sheet(tmp_path, sheet, written)
    args = ["verify", str(path), "--problem", str(A4), "--format", fmt]
    out = CliRunner().invoke(app, args).stdout
    if fmt == "json":
        items = by_name(json.loads(out))
        assert items["Z1"]["answer"] == [1.35, 0.35, 0.6]
        assert items["Z1"]["answer_text"] == ["1.3500", "0.3500", "0.6000"]
        assert items["A2"]["answer_text"] == ["21.82%", "0.7818"]
        assert "answer_text" not in items["A1"]  # every entry as Python writes it: no need
        return
    assert "2.325" in out and "2.3250" not in out
    if fmt != "gradescope":
        assert "1.3500" in out and "0.6000" in out and "21.82%" in out and "-0.21820" in out


# ---------------------------------------------------------------------------
# Rule 4: nothing for work not done


def constant_delta1(value: float) -> Slip:
    return lambda net, w: np.full(3, value)


@pytest.mark.parametrize("value", [0.0, 0.0001], ids=["honest zeros", "near zero"])
def test_rule4_near_zero_earns_what_honest_zeros_earn(tmp_path: Path, value: float) -> None:
    # δ1 all (near) zero, dW1, db1 from it, W1′ and b1′ copied from W1, b1. Fair: forward
    # 3 + dW2, db2, W2ᵀδ2 1.5 + W2′, b2′ 2 = 6.5; nothing for the vanished first layer.
    line = verify(tmp_path, student_sheet(A4, {"delta1": constant_delta1(value)}, GRADED_ONLY))
    assert line["score"] == 6.5
    items = by_name(line)
    assert [items[n]["verdict"] for n in ("dW1", "db1", "W1_new", "b1_new")] == ["wrong"] * 4


def test_rule4_y_hat_equal_to_y_makes_every_gradient_vanish(tmp_path: Path) -> None:
    # ŷ = y, so δ2 = 0 and every gradient is zero; the updates hand back W, b. Fair: Z1,
    # H, Z2 = 2/10.
    slips: dict[str, Slip] = {"A2": lambda net, w: w["y"].copy()}
    line = verify(tmp_path, student_sheet(A4, slips, GRADED_ONLY))
    assert line["score"] == 2.0


def test_rule4_an_update_too_small_to_show_earns_nothing(tmp_path: Path) -> None:
    # δ1 a tenth of the right value: W1 − α·dW1 rounds back to W1 at 3 decimals. Fair: δ1
    # wrong (−0.5), dW1, db1 carried forward, W1′ and b1′ the given ones (−2): 7.5/10.
    slips: dict[str, Slip] = {"delta1": lambda net, w: net.compute("delta1", w) / 10}
    line = verify(tmp_path, student_sheet(A4, slips, GRADED_ONLY, decimals=3))
    assert line["score"] == 7.5
    items = by_name(line)
    assert items["W1_new"]["verdict"] == "wrong"
    assert "not updated" in items["W1_new"]["hint"]


def test_rule4_a_correct_update_that_rounds_back_is_still_full_marks(tmp_path: Path) -> None:
    # b1′[2] = 0.05 − 0.001·0.2854 = 0.04971…: written 0.050 (3 decimals, rounded) is right.
    line = verify(tmp_path, student_sheet(A4, {}, GRADED_ONLY, decimals=3))
    assert line["score"] == 10.0


def test_rule4_generated_variants_show_every_update_at_the_grading_tolerance() -> None:
    # Handing in the given parameters as the updated ones must never pass in a variant.
    from nncalc.variants import make_variant

    problem = load_problem(A4)
    for student in [f"s{k}" for k in range(25)]:
        variant = make_variant(problem, 7, student).problem
        grader = Grader(variant)
        given = grader.network.given()
        for name in ("W1_new", "b1_new", "W2_new", "b2_new"):
            old = np.asarray(grader.shown(name, given[name.removesuffix("_new")]))
            unchanged = np.abs(old - grader.expected[name]) <= grader.bounds[name]
            assert not unchanged.all(), (student, name)  # (a cut value is no excuse: rule 4)


# ---------------------------------------------------------------------------
# Rule 5: legitimate forms are accepted, each with a short note

MATRICES = ("dW2", "dW1", "W1_new", "W2_new")


def test_rule5_inputs_by_outputs_layout_throughout_is_accepted(tmp_path: Path) -> None:
    # Z = xW + b: every weight matrix (gradients, updates) written inputs×outputs. Every
    # number is right. Fair: 10/10, with a note on the layout.
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    for name in MATRICES:
        sheet[name] = np.asarray(sheet[name]).T.tolist()
    line = verify(tmp_path, sheet)
    assert line["score"] == 10.0
    items = by_name(line)
    for name in MATRICES:
        assert items[name]["verdict"] == "correct"
        assert "inputs×outputs" in items[name]["hint"]
        assert np.shape(items[name]["answer"]) == np.shape(sheet[name])  # as written


def with_grading(tmp_path: Path, problem: Path, **grading: Any) -> Path:
    """A copy of ``problem`` with some ``grading:`` settings changed."""
    data = yaml.safe_load(problem.read_text())
    data["grading"] = {**data.get("grading", {}), **grading}
    path = tmp_path / f"{problem.stem}_changed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


@pytest.mark.parametrize("layout", [None, "either", "strict"])
def test_rule5_a_strict_layout_refuses_the_inputs_by_outputs_sheet(
    tmp_path: Path, layout: str | None
) -> None:
    # The same sheet as above: accepted with a note by default (layout: either); under
    # layout: strict every transposed matrix is the "transposed" slip. Fair: 10/10, and
    # under strict 7/10 (dW2, dW1 −0.5 each, W1′, W2′ −1 each; every other item right).
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    for name in MATRICES:
        sheet[name] = np.asarray(sheet[name]).T.tolist()
    problem = A4 if layout is None else with_grading(tmp_path, A4, layout=layout)
    line = verify(tmp_path, sheet, problem)
    items = by_name(line)
    if layout == "strict":
        assert line["score"] == 7.0
        for name in MATRICES:
            assert items[name]["verdict"] == "wrong", name
            assert items[name]["hint"].startswith("transposed"), name
    else:
        assert line["score"] == 10.0
        assert all("inputs×outputs" in items[name]["hint"] for name in MATRICES)


def test_rule5_a_layout_that_is_neither_is_a_clear_error(tmp_path: Path) -> None:
    problem = with_grading(tmp_path, A4, layout="rows")
    sheet = tmp_path / "sheet.yaml"
    sheet.write_text("answers: {Z1: [1.35, 0.35, 0.6]}\n")
    result = CliRunner().invoke(app, ["verify", str(sheet), "--problem", str(problem)])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{problem}:" in message
    assert "grading.layout: expected one of either, strict; got string 'rows'" in message
    assert "Traceback" not in result.output


def test_rule5_one_matrix_transposed_in_a_sheet_that_is_not_is_still_wrong(
    tmp_path: Path,
) -> None:
    # Only dW1 written 4×3: a slip (x·δᵀ for δ·xᵀ), not a layout. Fair: −0.5.
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    sheet["dW1"] = np.asarray(sheet["dW1"]).T.tolist()
    line = verify(tmp_path, sheet)
    assert line["score"] == 9.5
    assert by_name(line)["dW1"]["hint"].startswith("transposed")


def test_rule5_matrices_written_flat_row_by_row_are_accepted(tmp_path: Path) -> None:
    # dW1 and W1′ as 12 numbers, row by row: the count fits only the 3×4 matrix. Fair 10.
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    for name in MATRICES:
        sheet[name] = np.ravel(sheet[name]).tolist()
    line = verify(tmp_path, sheet)
    assert line["score"] == 10.0
    assert "row by row" in by_name(line)["dW1"]["hint"]


COURSE_NAMES = {
    "Z1": "Z[1]", "A1": "A^[1]", "Z2": "Z^{[2]}", "A2": "\\hat{y}", "dW2": "dW[2]",
    "db2": "db^[2]", "dA1": "dA[1]", "delta1": "\\delta^{[1]}", "dW1": "dW^{[1]}",
    "db1": "db[1]", "W1_new": "W[1]'", "b1_new": "b^[1]'", "W2_new": "W^{[2]}'",
    "b2_new": "b[2]'",
}  # fmt: skip


def test_rule5_course_notations_for_names_are_read(tmp_path: Path) -> None:
    # Every number right under Z[1]-style names. Fair: 10/10.
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    line = verify(tmp_path, {COURSE_NAMES[n]: v for n, v in sheet.items()})
    assert line["score"] == 10.0


def test_rule5_an_unknown_name_gets_a_did_you_mean(tmp_path: Path) -> None:
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    sheet["delat1"] = sheet.pop("delta1")
    item = by_name(verify(tmp_path, sheet))["delat1"]
    assert item["verdict"] == "invalid"
    assert "did you mean delta1?" in item["reason"]


def test_rule5_fractions_and_percentages_are_numbers(tmp_path: Path) -> None:
    # Z1 = 27/20, 7/20, 3/5 exactly; ŷ as percentages. Fair: 10/10.
    sheet = student_sheet(A4, {}, GRADED_ONLY)
    sheet["Z1"] = ["27/20", "7/20", "3/5"]
    sheet["A2"] = ["21.82%", "78.18%"]
    line = verify(tmp_path, sheet)
    assert line["score"] == 10.0
    assert by_name(line)["Z1"]["answer"] == [1.35, 0.35, 0.6]


# ---------------------------------------------------------------------------
# Rule 6: too few decimals is a precision problem, not a wrong method


def test_rule6_two_decimals_throughout_gets_a_precision_hint_on_every_short_item(
    tmp_path: Path,
) -> None:
    # One rule: the usual one (right to 3 decimals, against the exact value or the one from
    # the student's own earlier answers); an item right only to the 2 decimals it shows
    # earns nothing and is told to give 3 decimals; no item is blamed on a method slip.
    line = verify(tmp_path, student_sheet(A4, {}, GRADED_ONLY, decimals=2))
    short = [i for i in value_items(line) if i["verdict"] not in ("correct", "follow_through")]
    assert short, "some 2-decimal answers must miss the third decimal"
    for item in short:
        assert item["verdict"] == "wrong" and item["points"] == 0, item["name"]
        # An update that rounds back to the given parameter is the given one, not updated.
        precision = re.fullmatch(r"given to 2 decimals: give at least 3 decimals", item["hint"])
        assert precision or item["hint"].endswith("not updated"), item["name"]


# ---------------------------------------------------------------------------
# Feedback a student can act on


def test_feedback_a_hint_never_hands_over_the_factor(tmp_path: Path) -> None:
    sheet = student_sheet(A4, {"Z1": lambda net, w: 10 * net.compute("Z1", w)}, GRADED_ONLY)
    hint = by_name(verify(tmp_path, sheet))["Z1"]["hint"]
    assert "misplaced decimal point" in hint and "10^" not in hint and "times" not in hint


def test_feedback_an_all_zeros_sheet_is_told_it_is_all_zeros(tmp_path: Path) -> None:
    sheet = {name: np.zeros(np.shape(v)).tolist() for name, v in
             student_sheet(A4, {}, GRADED_ONLY).items()}  # fmt: skip
    line = verify(tmp_path, sheet)
    hints = [i["hint"] or "" for i in value_items(line)]
    assert all("all zeros" in hint for hint in hints), hints
    equations = [i for i in line["items"] if i["kind"] == "equation"]
    assert {(i["verdict"], i["hint"]) for i in equations} == {("missing", None)}
    assert not any("left out" in hint for hint in hints)


# ---------------------------------------------------------------------------
# Property: a single slip anywhere costs at most the first graded item it touches

PROBLEMS = [A4, RNN, ROOT / "problems" / "classic_222.yaml", ROOT / "problems" / "batch_xor.yaml"]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.stem)
def test_property_one_slip_costs_at_most_the_first_graded_item_it_touches(
    tmp_path: Path, problem: Path
) -> None:
    rng = np.random.default_rng(12)
    grader = Grader(load_problem(problem))
    names, points = grader.names, grader.rubric.points_for
    share = grader.rubric.follow_through
    for trial in range(12):
        slipped = names[int(rng.integers(len(names)))]
        entry, factor = rng.random(), float(rng.choice([-1.0, 0.5, 1.7, 3.0]))

        def slip(
            net: Any, w: Values, name: str = slipped, at: float = entry, by: float = factor
        ) -> Any:
            value = np.array(net.compute(name, w), dtype=float)
            flat = value.reshape(-1)
            flat[int(at * flat.size)] *= by
            flat[int(at * flat.size)] += 0.37  # never a zero, never the right value
            return value

        written = [n for n in names if points(n) or rng.random() < 0.5 or n == slipped]
        sheet = student_sheet(problem, {slipped: slip}, written)
        clean = student_sheet(problem, {}, written)
        touched = [n for n in names[names.index(slipped) :] if points(n)
                   and not np.allclose(sheet.get(n, 0), clean.get(n, 0))]  # fmt: skip
        line = verify(tmp_path, sheet, problem)
        # the points lost on the numbers (the sheet writes no equation: those are missing)
        lost = sum(i["max_points"] - i["points"] for i in value_items(line))
        bound = points(touched[0]) * (1 + (1 - share)) if touched else 0.0
        assert lost <= bound + 1e-9, (
            problem.stem,
            trial,
            slipped,
            touched[:1],
            lost,
            by_name(line),
        )


def report(tmp_path: Path, answers: dict[str, Any], fmt: str) -> str:
    path = tmp_path / "sheet.yaml"
    path.write_text(yaml.safe_dump({"student": "s", "answers": answers}, allow_unicode=True))
    args = ["verify", str(path), "--problem", str(A4), "--format", fmt]
    return CliRunner().invoke(app, args).stdout


@pytest.mark.parametrize("fmt", ["plain", "markdown", "html", "gradescope"])
def test_feedback_every_format_says_what_an_item_was_marked_on(tmp_path: Path, fmt: str) -> None:
    sheet = student_sheet(A4, {"Z1": no_bias_z1}, GRADED_ONLY)
    assert "marked using your Z1, which was wrong" in report(tmp_path, sheet, fmt)


def test_feedback_json_lists_the_answers_an_item_was_marked_on(tmp_path: Path) -> None:
    items = by_name(verify(tmp_path, student_sheet(A4, {"Z1": no_bias_z1}, GRADED_ONLY)))
    assert items["A1"]["marked_on"] == ["Z1"]
    assert items["Z2"]["marked_on"] == ["A1 (H)"]
    assert "marked_on" not in items["Z1"]


# ---------------------------------------------------------------------------
# New hints, each reproduced by recomputing with the slip (a sheet per slip, the slip
# carried forward by every later step the student computes)

UPDATES = ("W1_new", "b1_new", "W2_new", "b2_new")


def scaled_rate(param: str, factor: float, rate: float) -> Slip:
    """W − (α·factor)·∇: the learning rate misread."""
    return lambda net, w: w[param] - rate * factor * w[f"d{param}"]


def test_hint_learning_rate_ten_times_too_large(tmp_path: Path) -> None:
    # α = 0.01 for 0.001 in every update: charged once, at W1′ (−1): 9/10.
    slips = {name: scaled_rate(name[:-4], 10, 0.001) for name in UPDATES}
    line = verify(tmp_path, student_sheet(A4, slips, GRADED_ONLY))
    items = by_name(line)
    assert line["score"] == 9.0
    assert items["W1_new"]["hint"] == "the learning rate misread: a misplaced decimal point in α"
    assert [items[n]["verdict"] for n in UPDATES] == ["wrong"] + ["follow_through"] * 3
    assert "10" not in items["W1_new"]["hint"]  # never the factor


def test_hint_learning_rate_ten_times_too_small(tmp_path: Path) -> None:
    # rnn, α = 0.01 for 0.1, the updates made worth a point each: Wx1′ −1 of 18.
    rnn = RNN_POINTS | dict.fromkeys(RNN_UPDATES, 1)
    problem = with_grading(tmp_path, RNN, points=rnn)
    slips = {name: scaled_rate(name[:-4], 0.1, 0.1) for name in RNN_UPDATES}
    line = verify(tmp_path, student_sheet(problem, slips, [*rnn]), problem)
    items = by_name(line)
    assert (line["score"], line["max_score"]) == (17.0, 18.0)
    assert items["Wx1_new"]["hint"] == "the learning rate misread: a misplaced decimal point in α"
    assert {items[n]["verdict"] for n in RNN_UPDATES[1:]} == {"follow_through"}


RNN_POINTS = {
    "A1_t1": 1, "A1_t2": 1, "A1_t3": 1, "A2": 1, "loss": 1, "delta1_t3": 1,
    "delta1_t2": 1, "delta1_t1": 1, "dWx1": 2, "dWh1": 2, "db1": 1,
}  # fmt: skip
RNN_UPDATES = ("Wx1_new", "Wh1_new", "b1_new", "W2_new", "b2_new")


def test_hint_softmax_written_as_log_softmax(tmp_path: Path) -> None:
    # ŷ = z − log Σ e^z; δ2 = ŷ − y and everything after carried forward: ŷ −1: 9/10.
    slips: dict[str, Slip] = {"A2": lambda net, w: np.log(net.compute("A2", w))}
    line = verify(tmp_path, student_sheet(A4, slips, GRADED_ONLY))
    items = by_name(line)
    assert line["score"] == 9.0
    assert items["A2"]["hint"] == (
        "softmax written as log-softmax (z − log Σ e^z); ŷ is e^z / Σ e^z"
    )
    assert items["dW2"]["verdict"] == "follow_through"


CNN = ROOT / "problems" / "cnn.yaml"


def test_hint_log10_in_the_cross_entropy(tmp_path: Path) -> None:
    # cnn: L = −Σ y·log₁₀ ŷ; δ4 = ŷ − y does not use L: the loss −1: 13/14.
    slips: dict[str, Slip] = {"loss": lambda net, w: net.compute("loss", w) / np.log(10)}
    names = Grader(load_problem(CNN)).names
    line = verify(tmp_path, student_sheet(CNN, slips, names), CNN)
    assert (line["score"], line["max_score"]) == (13.0, 14.0)
    hint = by_name(line)["loss"]["hint"]
    assert hint == "log base 10 in the cross-entropy; it uses the natural logarithm ln"


AVGPOOL = {
    "name": "conv, average pooling",
    "network": {
        "input": [1, 4, 4],
        "layers": [
            {"type": "conv2d", "channels": 1, "kernel": 2, "activation": "relu"},
            {"type": "avgpool2d", "kernel": 2, "stride": 1},
            {"type": "flatten"},
            {"units": 2, "activation": "softmax"},
        ],
    },
    "loss": "cross_entropy",
    "learning_rate": 0.1,
    "parameters": {
        "W1": [[1, -1], [0.5, 1]],
        "b1": [0.1],
        "W4": [[0.3, -0.2, 0.1, 0.4], [-0.1, 0.2, 0.5, -0.3]],
        "b4": [0.0, 0.1],
    },
    "x": [[1, 3, 0, 2], [4, 0, 2, 1], [0, 2, 5, 1], [3, 1, 0, 2]],
    "y": [1, 0],
}


def routed_to_max(net: Any, w: Values) -> Any:
    """∂L/∂A1 of the average pooling (layer 2) sent to each window's maximum, whole."""
    from nncalc.layers import maxpool, maxpool_backward

    won = maxpool(w["A1"], (2, 2), (1, 1), 0)[1]
    return maxpool_backward(w["dA2"], won, w["A1"].shape, (2, 2), (1, 1), 0)


def test_hint_average_pooling_routed_like_max_pooling(tmp_path: Path) -> None:
    # Every quantity is worth 1 (no grading section): ∂L/∂A1 −1, the rest follows.
    problem = tmp_path / "avgpool.yaml"
    problem.write_text(yaml.safe_dump(AVGPOOL))
    names = Grader(load_problem(problem)).names
    line = verify(tmp_path, student_sheet(problem, {"dA1": routed_to_max}, names), problem)
    items = by_name(line)
    assert line["score"] == line["max_score"] - 1
    assert items["dA1"]["hint"] == (
        "average pooling routed like max pooling (all to each window's maximum); "
        "average pooling shares ∂L/∂A equally over the window"
    )
    assert {items[n]["verdict"] for n in ("delta1", "dW1", "db1")} == {"follow_through"}


def without_recurrent(name: str, later: str) -> Slip:
    """∂L/∂h_t from the output only: Whᵀ·δ_{t+1} dropped."""
    return lambda net, w: net.compute(name, {**w, later: np.zeros_like(w[later])})


RNN_WRITTEN = [*RNN_POINTS]


def test_hint_rnn_recurrent_term_dropped(tmp_path: Path) -> None:
    # dA_t without Whᵀ·δ_{t+1} at t = 2 and 1: charged once, at δ_2 (−1): 12/13.
    slips = {
        "dA1_t2": without_recurrent("dA1_t2", "delta1_t3"),
        "dA1_t1": without_recurrent("dA1_t1", "delta1_t2"),
    }
    line = verify(tmp_path, student_sheet(RNN, slips, RNN_WRITTEN), RNN)
    items = by_name(line)
    assert (line["score"], line["max_score"]) == (12.0, 13.0)
    assert items["delta1_t2"]["hint"] == "the recurrent term Whᵀ·δ_{t+1} left out of ∂L/∂h_t"
    for name in ("delta1_t1", "dWx1", "dWh1", "db1"):
        assert items[name]["verdict"] == "follow_through", name


def test_hint_tanh_derivative_without_the_square(tmp_path: Path) -> None:
    # f′ = 1 − tanh(z) at every step: charged once, at δ_3 (−1): 12/13.
    slips: dict[str, Slip] = {
        f"fprime1_t{t}": lambda net, w, t=t: 1 - np.tanh(w[f"Z1_t{t}"]) for t in (1, 2, 3)
    }
    line = verify(tmp_path, student_sheet(RNN, slips, RNN_WRITTEN), RNN)
    items = by_name(line)
    assert (line["score"], line["max_score"]) == (12.0, 13.0)
    assert items["delta1_t3"]["hint"] == "tanh′ written as 1 − tanh(z); it is 1 − tanh²(z)"
    for name in ("delta1_t2", "delta1_t1", "dWx1", "dWh1", "db1"):
        assert items[name]["verdict"] == "follow_through", name


def test_hint_parameters_not_updated(tmp_path: Path) -> None:
    # Every step right, then the given W and b handed in as the updated ones: each
    # update is work not done (−1 each), each hint naming it; except b2′, whose right
    # value [0.0502, −0.0502] is b2 = [0.05, −0.05] at 3 decimals (a correct update
    # written at the problem's precision is full marks, rule 4): 7/10.
    given: dict[str, Slip] = {n: lambda net, w, p=n[:-4]: w[p].copy() for n in UPDATES}
    line = verify(tmp_path, student_sheet(A4, given, GRADED_ONLY))
    items = by_name(line)
    assert line["score"] == 7.0
    for name in ("W1_new", "b1_new", "W2_new"):
        assert items[name]["verdict"] == "wrong"
        assert items[name]["hint"].endswith(f"the given {name[:-4]}, not updated"), name
    assert items["b2_new"]["verdict"] == "correct"


# ---------------------------------------------------------------------------
# A class summary over sheets for different problems: each problem out of its own points


@pytest.mark.parametrize("fmt", ["plain", "markdown", "html"])
def test_class_summary_reports_each_problem_with_its_own_maximum(tmp_path: Path, fmt: str) -> None:
    # Two a4 sheets (10 and 9.5 of a4's 20: numbers only, no equations) and a cnn sheet
    # (14 of 14): a4's mean is 9.75 / 20, never 9.75 / 14.
    folder = tmp_path / "submissions"
    folder.mkdir()
    cnn_names = Grader(load_problem(CNN)).names
    sheets = {
        "ann": ("a4.yaml", student_sheet(A4, {}, GRADED_ONLY)),
        "bob": ("a4.yaml", student_sheet(A4, {"Z1": no_bias_z1}, GRADED_ONLY)),
        "cat": ("cnn.yaml", student_sheet(CNN, {}, cnn_names)),
    }
    for student, (problem, answers) in sheets.items():
        doc = {"problem": str(ROOT / "problems" / problem), "student": student, "answers": answers}
        (folder / f"{student}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True))
    args = ["verify", str(folder), "--problem-root", str(ROOT / "problems"), "-f", fmt]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    text = result.stdout
    assert "9.75 / 20" in text and "14 / 14" in text
    assert "/ 14" not in text.replace("14 / 14", "")  # no a4 mean out of cnn's 14
    summary = " ".join(text[text.index("Class summary") :].split())
    assert "a4.yaml (2 graded)" in summary and "cnn.yaml (1 graded)" in summary

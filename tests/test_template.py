"""`nncalc template`: a blank answer sheet that `nncalc verify` reads back."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import COURSE_EQUATIONS
from typer.testing import CliRunner

from nncalc.answers import load_answers
from nncalc.cli import app
from nncalc.grading import grade_file

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
RELU_NEGATIVE = ROOT / "tests" / "data" / "relu_negative.yaml"
PROBLEMS = [A4, ROOT / "problems" / "classic_222.yaml", ROOT / "problems" / "batch_xor.yaml"]

#: a4's points as the template should show them (from its grading: section).
A4_NOTES = {
    "Z1": "0.5 pts",
    "A1": "1 pt",
    "Z2": "0.5 pts",
    "A2": "1 pt",
    "loss": "not graded",
    "delta2": "not graded",
    "dW2": "0.5 pts",
    "db2": "0.5 pts",
    "dA1": "0.5 pts",
    "fprime1": "not graded",
    "delta1": "0.5 pts",
    "dW1": "0.5 pts",
    "db1": "0.5 pts",
    "W1_new": "1 pt",
    "b1_new": "1 pt",
    "W2_new": "1 pt",
    "b2_new": "1 pt",
}
ANSWER_LINE = re.compile(r"^  (?P<name>[^:#\s]+): (?P<value>.+?)   # (?P<note>[^;]+); (?P<eq>.+)$")
#: a4's graded equations (1 point each), in the order of the template's equations: block.
A4_EQUATIONS = ["Z1", "Z2", "A2", "delta2", "dW2", "db2", "fprime1", "delta1", "dW1", "db1"]


def answer_lines(out: str) -> list[str]:
    """The lines of a template's answers: block (its equations: block has lines alike)."""
    return out.split("\nequations:\n", 1)[0].splitlines()


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def solved(runner: CliRunner, problem: Path) -> dict[str, Any]:
    code, out, _ = run(runner, "solve", str(problem), "--format", "json")
    assert code == 0
    values: dict[str, Any] = json.loads(out)["values"]
    return values


def nulls(value: Any) -> bool:
    """Every entry of a (nested) list is None."""
    if isinstance(value, list):
        return all(nulls(v) for v in value)
    return value is None


def shape_of_nulls(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return (len(value), *shape_of_nulls(value[0]))


def test_template_parses_and_has_every_quantity_as_nulls(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run(runner, "template", "problems/a4.yaml")
    assert (code, err) == (0, "")
    doc = yaml.safe_load(out)
    assert set(doc) == {"problem", "student", "answers", "equations"}
    assert doc["equations"] == dict.fromkeys(A4_EQUATIONS)  # empty slots, a4's 10 formulas
    assert doc["problem"] == "problems/a4.yaml"  # relative to where the sheet is printed
    assert doc["student"] is None
    values = solved(runner, A4)
    assert list(doc["answers"]) == list(values)  # every quantity of solve, in its order
    for name, blank in doc["answers"].items():
        assert nulls(blank), name
        assert shape_of_nulls(blank) == np.shape(values[name]), name
    assert shape_of_nulls(doc["answers"]["dW1"]) == (3, 4)
    assert doc["answers"]["loss"] is None


def test_a_blank_sheet_names_each_quantity_but_not_its_equation(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The equations are half of the course's points: a sheet for students must not hold them."""
    monkeypatch.chdir(ROOT)
    out = run(runner, "template", "problems/a4.yaml")[1]
    shown = {m["name"]: m["eq"] for m in map(ANSWER_LINE.match, out.splitlines()) if m}
    assert shown["Z1"] == "Z1"
    assert shown["fprime1"] == "f1'(Z1)"
    assert shown["dW2"] == "∂L/∂W2"
    assert shown["W1_new"] == "W1'"
    assert "cos" not in out and "·" not in out and " = " not in out.replace("problem: ", "")


def test_template_with_equations_shows_points_and_equations_in_comments(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = run(runner, "template", "problems/a4.yaml", "--with-equations")[1]
    lines = answer_lines(out)
    assert lines[:3] == [
        "# Answer sheet for: DS4023 Assignment 4, Problem 1",
        "# Replace each null with your number; leave null what you do not answer.",
        "# Graded to 3 decimals; points per quantity in the comments.",
    ]
    notes = {}
    for line in lines:
        match = ANSWER_LINE.match(line)
        if match:
            notes[match["name"]] = match["note"]
            if match["name"] == "Z1":
                assert match["eq"] == "Z1 = W1·x + b1"
            if match["name"] == "W1_new":
                assert match["eq"] == "W1' = W1 − 0.001·∂L/∂W1"
    assert notes == A4_NOTES
    for phase in ("  # Forward pass", "  # Backpropagation", "  # Update"):
        assert phase in lines
    assert (
        lines.index("  # Backpropagation")
        == lines.index(next(iter(line for line in lines if line.startswith("  delta2:")))) - 1
    )


def test_template_default_rubric_and_other_tolerances(runner: CliRunner, tmp_path: Path) -> None:
    out = run(runner, "template", str(RELU_NEGATIVE))[1]
    assert "equations:" not in out  # no grading: section, no equation points
    notes = [m["note"] for m in map(ANSWER_LINE.match, out.splitlines()) if m]
    assert notes == ["1 pt"] * 17  # no grading: section: every quantity 1 point
    problem = yaml.safe_load(A4.read_text())
    problem["grading"]["tolerance"] = {"sigfigs": 2}
    problem["grading"]["points"] = {"Z1": 2, "H": 0.25}
    path = tmp_path / "sigfigs.yaml"
    path.write_text(yaml.safe_dump(problem, allow_unicode=True))
    out = run(runner, "template", str(path))[1]
    assert "# Graded to 2 significant figures; points per quantity in the comments." in out
    notes = {m["name"]: m["note"] for m in map(ANSWER_LINE.match, answer_lines(out)) if m}
    assert (notes["Z1"], notes["A1"], notes["Z2"]) == ("2 pts", "0.25 pts", "not graded")


@pytest.mark.parametrize("problem", [*PROBLEMS, RELU_NEGATIVE], ids=lambda p: p.stem)
def test_round_trip_exact_values_get_full_marks(
    runner: CliRunner, tmp_path: Path, problem: Path
) -> None:
    sheet = tmp_path / "sheets" / "answers.yaml"
    sheet.parent.mkdir()
    assert run(runner, "template", str(problem), "-o", str(sheet))[0] == 0
    doc = yaml.safe_load(sheet.read_text())
    values = solved(runner, problem)
    doc["answers"] = {name: values[name] for name in doc["answers"]}
    doc["student"] = "exact"
    if problem == A4:  # the only one of these with equation points: the course's formulas
        assert doc["equations"] == dict.fromkeys(A4_EQUATIONS)
        doc["equations"] = COURSE_EQUATIONS
    else:
        assert "equations" not in doc
    sheet.write_text(yaml.safe_dump(doc, allow_unicode=True))
    result = grade_file(sheet, {})
    assert result.error is None
    assert {item.verdict for item in result.items} == {"correct"}
    values_graded = [item.name for item in result.items if item.kind == "value"]
    assert values_graded == list(values)  # answered, so all listed
    equations = [item.name for item in result.items if item.kind == "equation"]
    assert equations == (A4_EQUATIONS if problem == A4 else [])
    assert result.full_marks and result.score == result.max_score > 0
    assert run(runner, "verify", str(sheet), "--quiet")[0] == 0


def test_a_blank_template_grades_as_all_missing(runner: CliRunner, tmp_path: Path) -> None:
    sheet = tmp_path / "blank.yaml"
    run(runner, "template", str(A4), "-o", str(sheet))
    result = grade_file(sheet, {})
    assert result.error is None
    assert result.student == "blank"  # student: null → the file name
    assert {item.verdict for item in result.items} == {"missing"}
    assert (result.score, result.max_score) == (0.0, 20.0)  # 10 for numbers, 10 for equations
    assert [i.kind for i in result.items].count("equation") == 10
    assert run(runner, "verify", str(sheet), "--quiet")[0] == 1


def test_output_file_names_the_problem_relative_to_itself(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class" / "sheets").mkdir(parents=True)
    code, out, _ = run(runner, "template", str(A4), "-o", "class/sheets/answers.yaml")
    assert (code, out) == (0, "")
    target = tmp_path / "class" / "sheets" / "answers.yaml"
    doc = yaml.safe_load(target.read_text())
    assert doc["problem"] == Path(os.path.relpath(A4, target.parent)).as_posix()
    assert not Path(doc["problem"]).is_absolute()
    sheet = load_answers(target)
    assert sheet.problem is not None and sheet.problem.resolve() == A4
    # and without -o, relative to the current folder
    doc = yaml.safe_load(run(runner, "template", str(A4))[1])
    assert (tmp_path / doc["problem"]).resolve() == A4


def test_template_of_a_bad_problem_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: {input: 2}\n")
    code, out, err = run(runner, "template", str(bad))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {bad}")
    code, out, err = run(runner, "template", str(tmp_path / "none.yaml"))
    assert (code, out, err) == (2, "", f"error: {tmp_path / 'none.yaml'}: no such file\n")


def test_template_refuses_points_for_a_quantity_the_problem_lacks(
    runner: CliRunner, tmp_path: Path
) -> None:
    # dA2 is a name of the right form, but a4 computes δ2 = ŷ − y directly: no dA2
    text = A4.read_text().replace("    W2': 1\n", "    W2': 1\n    dA2: 1\n")
    path = tmp_path / "extra_points.yaml"
    path.write_text(text)
    line = text.splitlines().index("    dA2: 1") + 1
    code, out, err = run(runner, "template", str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"error: {path}:{line}: grading.points.dA2: dA2 is not a quantity of this problem; it "
        "has: Z1, A1, Z2, A2, loss, delta2, dW2, db2, dA1, fprime1, delta1, dW1, db1, W1_new, "
        "b1_new, W2_new, b2_new\n"
    )

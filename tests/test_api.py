"""The Python API for notebooks: load_problem, solve, grade, and how results display."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import COURSE_EQUATIONS

import nncalc
from nncalc.errors import NncalcError
from nncalc.results import ItemResult, StudentResult

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
SEED = ROOT / "tests" / "data" / "a4" / "seed.yaml"


@pytest.fixture(scope="module")
def problem() -> nncalc.Problem:
    return nncalc.load_problem(A4)


@pytest.fixture(scope="module")
def solution(problem: nncalc.Problem) -> nncalc.Solution:
    return nncalc.solve(problem)


def test_public_names() -> None:
    for name in ("load_problem", "solve", "grade", "problem_from_dict", "gradcheck"):
        assert callable(getattr(nncalc, name)), name
        assert name in nncalc.__all__
    for name in ("Problem", "Solution", "Step", "StudentResult", "ItemResult"):
        assert isinstance(getattr(nncalc, name), type), name
        assert name in nncalc.__all__
    assert nncalc.StudentResult is StudentResult
    assert nncalc.ItemResult is ItemResult
    assert {"grade", "StudentResult"} <= set(dir(nncalc))
    assert nncalc.grade.__doc__ and "mapping" in nncalc.grade.__doc__
    with pytest.raises(AttributeError):
        nncalc.no_such_name  # noqa: B018


def test_import_is_cheap() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import nncalc, sys; print('numpy' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "False"


def test_grade_the_exact_values_full_marks(
    problem: nncalc.Problem, solution: nncalc.Solution
) -> None:
    # NumPy arrays and floats, and the course's equations
    result = nncalc.grade(problem, solution.values, equations=COURSE_EQUATIONS)
    assert isinstance(result, StudentResult)
    assert result.error is None
    assert result.full_marks
    assert (result.score, result.max_score) == (20.0, 20.0)
    assert all(isinstance(i, ItemResult) for i in result.items)
    assert {i.verdict for i in result.items} == {"correct"}
    assert result.student == "notebook"
    assert result.file == "<notebook>"
    assert result.problem == str(problem.source)


def test_grade_a_problem_path_and_plain_lists(solution: nncalc.Solution) -> None:
    answers = {name: np.asarray(v).tolist() for name, v in solution.values.items()}
    result = nncalc.grade(str(A4), answers, student="s1234567", equations=COURSE_EQUATIONS)
    assert result.full_marks and result.score == 20.0
    assert result.student == "s1234567"
    assert nncalc.grade(A4, answers, equations=COURSE_EQUATIONS).full_marks  # a Path too
    # the numbers alone: every one right, yet the 10 equation points are missing
    numbers_only = nncalc.grade(A4, answers)
    assert (numbers_only.score, numbers_only.max_score) == (10.0, 20.0)
    assert not numbers_only.full_marks


def test_grade_an_answers_file() -> None:
    result = nncalc.grade(A4, SEED)
    assert (result.score, result.max_score) == (19.5, 20.0)  # its equations are all right
    assert result.student == "seed solution"  # the file names its student
    assert result.file == str(SEED)
    wrong = [i.name for i in result.items if i.verdict != "correct"]
    assert wrong == ["dA1"]
    assert nncalc.grade(nncalc.load_problem(A4), str(SEED)).score == 19.5


def test_grade_an_answers_file_against_a_problem_from_dict(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(A4.read_text())
    problem = nncalc.problem_from_dict(data)
    answers = tmp_path / "a.yaml"
    answers.write_text("answers:\n  Z1: [1.35, 0.35, 0.6]\n")  # no problem: key needed
    result = nncalc.grade(problem, answers)
    assert result.error is None
    (z1,) = [i for i in result.items if i.name == "Z1" and i.kind == "value"]
    assert z1.verdict == "correct"


def test_aliases_and_partial_answers(problem: nncalc.Problem, solution: nncalc.Solution) -> None:
    answers = {
        "H": solution["A1"],
        "y_hat": [0.2182, 0.7818],
        "W2T_delta2": ["0.5473", "−0.5473", "0.1564"],  # numeric strings, a Unicode minus
        "f'(Z1)": [1.219, 1.9394, 1.8253],
        "W1'": solution["W1_new"],
        "delta1": [0.5, -1.0614, 0.2855],  # one entry wrong
    }
    result = nncalc.grade(problem, answers)
    verdicts = {i.name: i.verdict for i in result.items if i.kind == "value"}
    assert verdicts["A1"] == verdicts["A2"] == verdicts["dA1"] == "correct"
    assert verdicts["fprime1"] == verdicts["W1_new"] == "correct"
    assert verdicts["Z1"] == "missing"
    assert verdicts["delta1"] == "wrong"
    (delta1,) = [i for i in result.items if i.name == "delta1" and i.kind == "value"]
    assert delta1.wrong_entries == [[0]]
    assert not result.full_marks


def test_bad_answers_in_a_mapping(problem: nncalc.Problem) -> None:
    result = nncalc.grade(problem, {"bogus": 1, "H": [1, 2], "Z1": "x", "A1 ": None})
    by_name = {i.name: i for i in result.items if i.kind == "value"}
    assert by_name["bogus"].verdict == "invalid"
    assert by_name["bogus"].reason == "unknown quantity 'bogus'"
    assert by_name["A1"].verdict == "invalid"
    assert by_name["A1"].reason == "expected 3 numbers, got 2 numbers"
    assert by_name["Z1"].verdict == "invalid"
    assert by_name["Z1"].reason == "not a number: 'x'"
    assert by_name["A1 "].reason == "A1 answered twice (as 'H' and 'A1 ')"
    assert result.score == 0


def test_bad_problem_raises_bad_answers_file_is_an_error_result(tmp_path: Path) -> None:
    with pytest.raises(NncalcError):
        nncalc.grade(tmp_path / "missing.yaml", {})
    with pytest.raises(TypeError):
        nncalc.grade(42, {})  # type: ignore[arg-type]
    broken = tmp_path / "broken.yaml"
    broken.write_text("answers: [1, 2\n")
    result = nncalc.grade(A4, broken)
    assert result.error is not None and str(broken) in result.error
    assert not result.full_marks


# ---------------------------------------------------------------------------
# Display in Jupyter


def test_solution_html(solution: nncalc.Solution) -> None:
    text = solution._repr_html_()
    assert isinstance(text, str)
    assert text.startswith('<div class="nncalc nncalc-solution">')
    assert "<script" not in text
    for title in ("Given", "Forward pass", "Backpropagation", "Update"):
        assert f"<caption>{title}</caption>" in text
    assert text.count('<table class="steps">') == 4
    assert "<th>quantity</th><th>equation</th><th>value</th>" in text
    assert '<th scope="row">A1 (H)</th><td>H = relu(Z1) + sin(Z1)</td>' in text
    assert "<tr><td>2.3257</td></tr><tr><td>0.6929</td></tr><tr><td>1.1646</td></tr>" in text
    assert "DS4023 Assignment 4, Problem 1" in text
    assert "α = 0.001" in text
    assert "$$" in solution._repr_markdown_()  # unchanged


def test_training_run_displays_its_losses_then_the_last_update() -> None:
    problem = nncalc.load_problem(ROOT / "problems" / "classic_222.yaml")
    run = nncalc.train(problem, 3)
    assert run.steps == 3 and len(run.history) == 4
    md = run._repr_markdown_()
    assert "Training: 3 updates" in md
    assert md.index("Training: 3 updates") < md.index("Forward pass (update 3)")
    html = run._repr_html_()
    assert "<caption>Training: 3 updates</caption>" in html
    assert '<tr><th scope="row">before update 1</th><td class="num">0.2984</td></tr>' in html
    assert "<caption>Forward pass (update 3)</caption>" in html
    assert "<script" not in html


def test_student_result_markdown_and_html(problem: nncalc.Problem) -> None:
    result = nncalc.grade(problem, {"H": [2.3257, 0.6929, 1.1646], "y_hat": [0.2, 0.8]})
    md = result._repr_markdown_()
    assert md.startswith("# Feedback: notebook\n")
    assert "| A1 (H) | [2.3257; 0.6929; 1.1646] | ✓ correct | 1 / 1 |  |" in md
    assert "| A2 (ŷ) | [**0.2**; **0.8**] | ✗ wrong | 0 / 1 |" in md
    assert "**Total: 1 / 20**" in md
    assert "expected" not in md  # student-facing: exact values hidden
    html = result._repr_html_()
    assert "<!DOCTYPE" not in html  # a fragment for the notebook, not a page
    assert "<script" not in html
    assert "<h3>Feedback: notebook</h3>" in html
    assert "File: <code>&lt;notebook&gt;</code>" in html
    assert '<td class="verdict">✓ correct</td>' in html
    assert "<strong><mark>0.2</mark></strong>" in html
    assert "<strong>Total: 1 / 20</strong>" in html
    assert "0.2182" not in html  # the exact ŷ stays hidden
    # Every CSS rule is scoped to the report's own class.
    style = html[html.index("<style>") + 7 : html.index("</style>")]
    rules = [rule.split("{")[0] for rule in style.split("}") if rule.strip()]
    assert rules and all(
        all(sel.strip().startswith(".nncalc") for sel in rule.split(",")) for rule in rules
    )


def test_error_result_displays(tmp_path: Path) -> None:
    broken = tmp_path / "<b>.yaml"
    broken.write_text("answers: [1, 2\n")
    result = nncalc.grade(A4, broken)
    assert "**Could not be graded:**" in result._repr_markdown_()
    html = result._repr_html_()
    assert "Could not be graded:" in html
    assert "&lt;b&gt;" in html and "<b>" not in html

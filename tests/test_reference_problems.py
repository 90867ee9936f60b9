"""The example problems in problems/ against published hand computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nncalc
from nncalc.cli import app

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


def test_classic_222_matches_the_published_worked_example() -> None:
    """M. Mazur, "A Step by Step Backpropagation Example": values printed there to 8-9 digits."""
    sol = nncalc.solve(nncalc.load_problem(PROBLEMS / "classic_222.yaml"))
    assert sol["H"] == pytest.approx([0.593269992, 0.596884378], abs=1e-9)
    assert sol["y_hat"] == pytest.approx([0.75136507, 0.772928465], abs=1e-8)
    assert sol["loss"] == pytest.approx(0.298371109, abs=1e-9)
    np.testing.assert_allclose(
        sol["W2'"], [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=1e-8
    )
    np.testing.assert_allclose(
        sol["W1'"], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], atol=1e-8
    )
    # frozen biases stay as they were
    assert list(sol["b1'"]) == [0.35, 0.35] and list(sol["b2'"]) == [0.6, 0.6]


def test_batch_problem_shapes_and_mean_reduction() -> None:
    problem = nncalc.load_problem(PROBLEMS / "batch_xor.yaml")
    sol = nncalc.solve(problem)
    assert problem.batch_size == 4
    assert sol["Z1"].shape == (3, 4) and sol["A2"].shape == (1, 4)
    assert sol["dW1"].shape == (3, 2) and sol["db1"].shape == (3,)
    # mean reduction: the loss is the average of the per-sample losses, computed by hand
    y_hat, y = sol["A2"][0], np.array([0, 1, 1, 0])
    per_sample = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    assert sol["loss"] == pytest.approx(per_sample.mean(), rel=1e-12)
    np.testing.assert_allclose(sol["delta2"][0], (y_hat - y) / 4, rtol=1e-12)


def test_init_is_reproducible_and_rounded() -> None:
    one = nncalc.load_problem(PROBLEMS / "batch_xor.yaml").parameters
    two = nncalc.load_problem(PROBLEMS / "batch_xor.yaml").parameters
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(one[name], two[name])
        np.testing.assert_array_equal(one[name], np.round(one[name], 1))
        assert np.abs(one[name]).max() <= 1.0


def test_square_brackets_in_equations_are_shown_not_eaten(runner: CliRunner) -> None:
    out = runner.invoke(app, ["solve", str(PROBLEMS / "batch_xor.yaml"), "-q", "loss"]).stdout
    assert "L = (1/B) Σ_b −Σ [y·log ŷ + (1−y)·log(1−ŷ)]" in out


@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_problem_solves_and_passes_the_gradient_check(path: Path) -> None:
    problem = nncalc.load_problem(path)
    assert nncalc.gradcheck(problem).ok

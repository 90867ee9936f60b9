"""A blank answer sheet for a problem: every quantity, the right shape, nulls to fill in."""

from __future__ import annotations

import numpy as np

from nncalc.engine import Network
from nncalc.escape import yaml_comment, yaml_string
from nncalc.problem import Problem
from nncalc.rubric import Rubric


def _blank(shape: tuple[int, ...]) -> str:
    if not shape:
        return "null"
    if len(shape) == 1:
        return "[" + ", ".join(["null"] * shape[0]) + "]"
    row = _blank(shape[1:])
    return "[" + ", ".join([row] * shape[0]) + "]"


def answer_template(
    problem: Problem,
    problem_ref: str | None,
    student: str | None = None,
    *,
    with_equations: bool = False,
) -> str:
    """The YAML of an answers file with every quantity set to nulls of the right shape.

    ``problem_ref`` is the problem's path as the answers file should name it
    (relative to where the answers file will be), None when it has none (read from
    standard input).  Each slot's comment gives its points
    and what the quantity is (∂L/∂W2, f1'(Z1)); its equation is half the answer, so only
    ``with_equations`` (the instructor's own key) shows it.
    """
    network = Network(problem)
    values = network.given()
    rubric = problem.rubric
    phases = {"forward": "Forward pass", "backward": "Backpropagation", "update": "Update"}
    lines = [
        f"# Answer sheet for: {yaml_comment(problem.name or problem_ref or 'a problem')}",
        "# Replace each null with your number; leave null what you do not answer.",
        f"# Graded to {rubric.tolerance.describe()}; points per quantity in the comments.",
        f"problem: {yaml_string(problem_ref)}"
        if problem_ref is not None
        else "problem: null   # the problem file's path",
        f"student: {yaml_string(student)}" if student else "student: null   # your student id",
        "answers:",
    ]
    current = ""
    with np.errstate(all="ignore"):
        for phase, name in network.steps(values):
            if phase != current:
                lines.append(f"  # {phases[phase]}")
                current = phase
            shape = np.shape(network.shown(name, values[name]))
            points = rubric.points_for(name)
            equation = network.equation(name).text
            note = f"{_points(points)}; {equation if with_equations else _quantity(equation)}"
            lines.append(f"  {name}: {_blank(shape)}   # {note}")
    lines += _equation_slots(network, rubric, with_equations)
    return "\n".join(lines) + "\n"


def _equation_slots(network: Network, rubric: Rubric, with_equations: bool) -> list[str]:
    """An ``equations:`` block: a slot per formula worth points, empty unless
    ``with_equations`` (the instructor's key)."""
    names = [name for _, name in network.plan()]
    wanted = [n for n in names if rubric.equation_points_for(n)]
    if not wanted:
        return []
    lines = [
        "# Your formulas, in plain text, LaTeX or NumPy notation (e.g. W1 x + b1);",
        "# leave null what you do not answer.",
        "equations:",
    ]
    for name in wanted:
        equation = network.equation(name).text
        slot = yaml_string(equation.partition(" = ")[2]) if with_equations else "null"
        note = f"{_points(rubric.equation_points_for(name))}; {_quantity(equation)}"
        lines.append(f"  {name}: {slot}   # {note}")
    return lines


def _quantity(equation: str) -> str:
    """The left side of an equation: what the quantity is, not how it is computed."""
    return equation.partition(" = ")[0]


def _points(points: float) -> str:
    if points == 0:
        return "not graded"
    return f"{points:g} pt" if points == 1 else f"{points:g} pts"

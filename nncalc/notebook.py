"""What Jupyter shows of nncalc's results: the views that :mod:`nncalc.display` asks for.

A worked solution and a training run show as ``nncalc solve`` writes them (the given data
first; a run's losses before its last update); a grading result as the feedback report of
``nncalc verify``, the exact values hidden. Each type has its HTML and its Markdown view.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch

from nncalc.engine import Solution
from nncalc.render import given_steps, render, to_html
from nncalc.report import html_fragment, to_markdown
from nncalc.results import StudentResult
from nncalc.training import Run

#: Decimals shown in a notebook (the command line's default).
PRECISION = 4


@singledispatch
def html(shown: object) -> str:
    """``shown`` as an HTML fragment (scoped CSS, no scripts)."""
    raise TypeError(f"nncalc has no notebook view of a {type(shown).__name__}")


@singledispatch
def markdown(shown: object) -> str:
    """``shown`` as Markdown (math in ``$$``)."""
    raise TypeError(f"nncalc has no notebook view of a {type(shown).__name__}")


def _worked_html(solution: Solution, history: Sequence[float | None] = ()) -> str:
    return to_html(solution, given_steps(solution) + solution.steps, PRECISION, history)


@html.register
def _solution_html(solution: Solution) -> str:
    return _worked_html(solution)


@markdown.register
def _solution_markdown(solution: Solution) -> str:
    return render(solution, "markdown")


@html.register
def _run_html(run: Run) -> str:
    return _worked_html(run.solution, run.history)


@markdown.register
def _run_markdown(run: Run) -> str:
    return render(run.solution, "markdown", history=run.history)


@html.register
def _result_html(result: StudentResult) -> str:
    return html_fragment([result], show_expected=False, precision=PRECISION, summary=False)


@markdown.register
def _result_markdown(result: StudentResult) -> str:
    return to_markdown([result], show_expected=False, precision=PRECISION, summary=False)

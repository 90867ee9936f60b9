"""nncalc: compute, show and check neural-network exercises step by step.

The library API, usable without the CLI (and in notebooks)::

    import nncalc
    problem = nncalc.load_problem("problems/a4.yaml")  # a Problem
    solution = nncalc.solve(problem)  # a Solution: its Steps, in order
    solution["delta1"]  # canonical names or aliases such as "H", "W1'"
    result = nncalc.grade(problem, {"H": [2.3257, 0.6929, 1.1646]})  # a StudentResult
    result.score, result.max_score, result.items  # ItemResults, one per quantity
    nncalc.grade(problem, "answers.yaml")  # or an answers file
    run = nncalc.train(problem, 100)  # 100 updates: run.history, run.solution (the last)

* :func:`load_problem` (a file) and :func:`problem_from_dict` (a mapping) give a
  validated :class:`Problem`; :func:`solve` gives its :class:`Solution`, a list of
  :class:`Step` (phase, name, label, equation, value); :func:`gradcheck` checks the
  gradients by finite differences; :func:`train` applies several updates (a
  :class:`Run`: the loss history, the last update's solution, the final problem).
* :func:`grade` grades answers (an answers file, or a mapping of names to values)
  against a problem, as ``nncalc verify`` does, and gives a :class:`StudentResult`
  (``score``, ``max_score``, ``full_marks``, ``items``: :class:`ItemResult` with
  ``verdict``, ``points``, ``hint``, ...).
* In Jupyter a :class:`Solution` shows as step tables and a :class:`StudentResult`
  as its feedback report.

Errors in input are :class:`NncalcError` (with file, line and field path).
Heavy modules (NumPy) are imported only when these are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nncalc.errors import NncalcError, NumericError

__version__ = "0.2.0"
__all__ = [
    "ItemResult",
    "NncalcError",
    "NumericError",
    "Problem",
    "Run",
    "Solution",
    "Step",
    "StudentResult",
    "gradcheck",
    "grade",
    "load_problem",
    "problem_from_dict",
    "solve",
    "train",
]

if TYPE_CHECKING:
    from nncalc.api import grade
    from nncalc.engine import Solution, Step, solve
    from nncalc.finite_diff import gradcheck
    from nncalc.problem import Problem, load_problem, problem_from_dict
    from nncalc.results import ItemResult, StudentResult
    from nncalc.training import Run, train

_LAZY = {
    "Solution": "nncalc.engine",
    "Step": "nncalc.engine",
    "solve": "nncalc.engine",
    "gradcheck": "nncalc.finite_diff",
    "Problem": "nncalc.problem",
    "load_problem": "nncalc.problem",
    "problem_from_dict": "nncalc.problem",
    "grade": "nncalc.api",
    "ItemResult": "nncalc.results",
    "StudentResult": "nncalc.results",
    "Run": "nncalc.training",
    "train": "nncalc.training",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nncalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

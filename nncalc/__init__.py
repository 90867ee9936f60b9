"""nncalc: compute, show and check neural-network exercises step by step.

The library API, usable without the CLI::

    import nncalc
    problem = nncalc.load_problem("problems/a4.yaml")
    solution = nncalc.solve(problem)
    solution["delta1"]          # canonical names or aliases such as "H", "W1'"

Heavy modules (NumPy) are imported only when these are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nncalc.errors import NncalcError, NumericError

__version__ = "0.1.0"
__all__ = [
    "NncalcError",
    "NumericError",
    "Problem",
    "Solution",
    "Step",
    "gradcheck",
    "load_problem",
    "problem_from_dict",
    "solve",
]

if TYPE_CHECKING:
    from nncalc.engine import Solution, Step, solve
    from nncalc.finite_diff import gradcheck
    from nncalc.problem import Problem, load_problem, problem_from_dict

_LAZY = {
    "Solution": "nncalc.engine",
    "Step": "nncalc.engine",
    "solve": "nncalc.engine",
    "gradcheck": "nncalc.finite_diff",
    "Problem": "nncalc.problem",
    "load_problem": "nncalc.problem",
    "problem_from_dict": "nncalc.problem",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nncalc' has no attribute {name!r}")

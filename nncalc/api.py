"""Grading from Python (notebooks): :func:`grade`.

``nncalc.grade`` is this module's :func:`grade`; it is reached through the lazy
table of :mod:`nncalc`, and imports the grader (and NumPy) only when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nncalc.problem import Problem
    from nncalc.results import StudentResult

#: The ``file`` of a result graded from a mapping (no answers file behind it).
NOTEBOOK_FILE = "<notebook>"


def grade(
    problem: Problem | str | Path,
    answers: str | Path | Mapping[str, Any],
    *,
    student: str = "notebook",
    equations: Mapping[str, str] | None = None,
) -> StudentResult:
    """Grade answers against a problem, as ``nncalc verify`` does, and return the result.

    ``problem`` is a :class:`~nncalc.problem.Problem` (from :func:`nncalc.load_problem`
    or :func:`nncalc.problem_from_dict`) or the path of a problem file; the answers
    are always graded against it (like ``nncalc verify --problem``).

    ``answers`` is either the path of an answers file, or a mapping of quantity names
    (canonical names or aliases: ``"H"``, ``"W1'"``, ``"delta1"``) to values: numbers,
    numeric strings, (nested) lists, or NumPy arrays, as the values of
    :func:`nncalc.solve`. ``student`` names the student of a mapping; an answers file
    names its own (its ``student:`` key, else the file name). ``equations`` maps
    quantity names to formulas (``{"Z1": "W1 x + b1"}``), as an answers file's
    ``equations:`` section does; they are added to the file's own.

    Raises :class:`~nncalc.errors.NncalcError` when the problem cannot be loaded. An
    answers file that cannot be read gives a result with ``error`` set, as in
    ``nncalc verify``; a bad answer (unknown name, wrong shape, not numbers) is an
    ``invalid`` item, the rest is still graded.

    The :class:`~nncalc.results.StudentResult` has ``items`` (one
    :class:`~nncalc.results.ItemResult` per quantity), ``score``, ``max_score`` and
    ``full_marks``; in Jupyter it shows as the feedback report.
    """
    from nncalc.grading import Grader, grade_file
    from nncalc.problem import Problem, load_problem

    if isinstance(problem, (str, os.PathLike)):
        problem = load_problem(problem)
    elif not isinstance(problem, Problem):
        raise TypeError(f"expected a Problem or the path of a problem file, got {problem!r}")
    grader = Grader(problem)
    if isinstance(answers, Mapping):
        from nncalc.answers import Answer, AnswerSheet

        sheet = AnswerSheet(NOTEBOOK_FILE, str(student), _problem_path(problem))
        sheet.answers = [Answer(str(key), _as_lists(value)) for key, value in answers.items()]
        sheet.equations = _formulas(equations)
        return grader.grade(sheet)
    if equations:  # the file's sheet, with these formulas added
        from nncalc.answers import load_answers

        sheet = load_answers(answers, problem=_problem_path(problem))
        sheet.equations += _formulas(equations)
        return grader.grade(sheet)
    # grade_file with this problem's grader already in place: it never reloads the problem.
    where = _problem_path(problem)
    return grade_file(answers, {Path(os.path.abspath(where)): grader}, problem=where)


def _formulas(equations: Mapping[str, str] | None) -> list[Any]:
    from nncalc.answers import Answer

    return [Answer(str(k), None if v is None else str(v)) for k, v in (equations or {}).items()]


def _problem_path(problem: Problem) -> Path:
    return Path(problem.source or "<problem>")


def _as_lists(value: Any) -> Any:
    """NumPy arrays and scalars as the lists and numbers an answers file holds."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    return value

"""Grading: a student's answers against the exact solution of their problem.

Each quantity, in the order of the worked solution, gets one verdict:

- ``correct``: every entry within the tolerance of the exact value; or of the value a
  student gets by rounding every intermediate to the tolerance and carrying it forward;
  or of the value computed from the student's own earlier answers when those are all
  correct (rounding carried forward).
- ``follow_through``: wrong, but computed correctly from the student's own wrong earlier
  answers (error carried forward). It earns ``rubric.follow_through`` of the points,
  unless it builds on an earlier answer of all zeros (which makes later steps trivial).
- ``wrong``: none of the above; with ``partial: element`` it earns the fraction of its
  entries that pass. A hint names the likely mistake when recomputing with a classic
  slip reproduces the student's numbers.
- ``missing`` (not answered) and ``invalid`` (unknown name, wrong shape, not numbers).

"Earlier answers" are followed through unanswered steps: a student who skips Z2 but
answers ŷ is judged on softmax of the Z2 that follows from their own H.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nncalc.answers import Answer, AnswerSheet
from nncalc.engine import Elementwise, Network, Softmax, split_name
from nncalc.errors import NncalcError
from nncalc.expr import Variant
from nncalc.names import canonical_name
from nncalc.problem import Problem
from nncalc.results import ItemResult, StudentResult

Values = dict[str, Any]
#: A classic slip: the hint that names it, and the value it gives from the student's values.
Slip = tuple[str, Callable[[Values], Any]]


@dataclass
class _Read:
    """An answer turned into numbers of the expected shape (NaN for empty entries)."""

    value: np.ndarray | None = None
    transposed: bool = False  # written in the transposed shape
    reason: str | None = None  # why it is invalid


class Grader:
    """Grades answer sheets for one problem; the exact solution is computed once."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.rubric = problem.rubric
        self.network = Network(problem)
        self.names = [name for _, name in self.network.plan()]
        with np.errstate(all="ignore"):
            self.exact = self._evaluate(self.network.given())
            rounded = self.network.given()
            for name in self.names:
                rounded[name] = self.rubric.tolerance.round(self.network.compute(name, rounded))
            self.rounded = rounded
        self._check_points()

    def _evaluate(self, values: Values) -> Values:
        for name in self.names:
            values[name] = self.network.compute(name, values)
        return values

    def _check_points(self) -> None:
        for name in self.rubric.points or {}:
            if name not in self.names:
                path = f"grading.points.{name}"
                raise NncalcError(
                    f"{name} is not a quantity of this problem; it has: {', '.join(self.names)}",
                    source=self.problem.source,
                    path=path,
                    line=self.problem.lines.get(path),
                )

    def label(self, name: str) -> str:
        kind, layer = split_name(name)
        return self.network.symbols.label(layer) or name if kind == "A" else name

    def shown(self, name: str, value: Any) -> Any:
        return self.network.shown(name, value)

    # -- grading -----------------------------------------------------------------------

    def grade(self, sheet: AnswerSheet) -> StudentResult:
        result = StudentResult(sheet.student, sheet.file, self.problem.source)
        given, extra = self._sort_answers(sheet.answers)
        reads = {name: self._read(name, answer.raw) for name, answer in given.items()}
        with np.errstate(all="ignore"):
            result.items = self._judge_all(reads) + extra
        return result

    def _sort_answers(self, answers: list[Answer]) -> tuple[dict[str, Answer], list[ItemResult]]:
        """Answers by canonical name; unknown or repeated names become invalid items."""
        given: dict[str, Answer] = {}
        extra = []
        for answer in answers:
            name = canonical_name(answer.written, self.problem.depth)
            reason = None
            if name is None:
                reason = f"unknown quantity {answer.written!r}"
            elif name not in self.names:
                reason = f"{answer.written!r} ({name}) is not a quantity of this problem"
            elif name in given:
                reason = (
                    f"{name} answered twice (as {given[name].written!r} and {answer.written!r})"
                )
            if reason is None and name is not None:
                given[name] = answer
            else:
                extra.append(
                    ItemResult(answer.written, answer.written, "invalid", 0.0, 0.0, reason=reason)
                )
        return given, extra

    def _judge_all(self, reads: dict[str, _Read]) -> list[ItemResult]:
        rubric = self.rubric
        world = self.network.given()  # the student's values, or what follows from them
        off: dict[str, bool] = {}  # differs from the exact value (beyond tolerance)
        zeros: dict[str, str] = {}  # builds on an answer of all zeros: that answer's name
        items = []
        for name in self.names:
            inputs = self.network.inputs(name)
            recomputed = self._recompute(name, world)
            read = reads.get(name)
            max_points = rubric.points_for(name)
            exact_shown = self.shown(name, self.exact[name])
            item = ItemResult(
                name, self.label(name), "missing", 0.0, max_points, None, _plain(exact_shown)
            )
            if read is None or (read.value is not None and np.isnan(read.value).all()):
                world[name] = recomputed
                off[name] = any(off.get(i, False) for i in inputs)
                zeros[name] = next((zeros[i] for i in inputs if zeros.get(i)), "")
                if max_points or read is not None:
                    items.append(item)
                continue
            if read.value is None:
                item.verdict, item.reason = "invalid", read.reason
                world[name] = recomputed
                off[name] = any(off.get(i, False) for i in inputs)
                zeros[name] = next((zeros[i] for i in inputs if zeros.get(i)), "")
                items.append(item)
                continue
            answer = read.value
            item.answer = _plain(answer)
            passes = rubric.tolerance.passes(answer, exact_shown)
            student_value = self.network.internal(name, answer)
            upstream_off = any(off.get(i, False) for i in inputs)
            upstream_zeros = next((zeros[i] for i in inputs if zeros.get(i)), "")
            if not read.transposed and (
                passes.all()
                or self._passes(answer, name, self.rounded[name])
                or (not upstream_off and self._passes(answer, name, recomputed))
            ):
                item.verdict, item.points = "correct", max_points
                off[name] = False
            elif not read.transposed and upstream_off and self._passes(answer, name, recomputed):
                off[name] = True
                if upstream_zeros:
                    item.verdict = "wrong"
                    item.hint = (
                        f"no follow-through credit: it builds on {upstream_zeros}, "
                        "an answer of all zeros"
                    )
                elif rubric.follow_through > 0:
                    item.verdict = "follow_through"
                    item.points = round(max_points * rubric.follow_through, 10)
                else:
                    item.verdict = "wrong"
                    item.hint = "computed correctly from your earlier wrong answers (no credit)"
            else:
                off[name] = True
                item.verdict = "wrong"
                if rubric.partial and not read.transposed:
                    item.points = round(max_points * float(passes.mean()), 10)
                item.hint = self._hint(name, answer, read.transposed, world, exact_shown)
            if not read.transposed:
                item.wrong_entries = [list(map(int, i)) for i in np.argwhere(~passes)]
            world[name] = student_value if not read.transposed else recomputed
            is_zero = not read.transposed and np.all(answer == 0) and not np.all(exact_shown == 0)
            zeros[name] = name if is_zero else upstream_zeros
            items.append(item)
        return items

    def _recompute(self, name: str, world: Values) -> Any:
        """The quantity from the student's values; NaN where those make it undefined."""
        try:
            return self.network.compute(name, world)
        except NncalcError:  # e.g. log of a non-positive ŷ the student wrote
            return np.full(np.shape(self.exact[name]), np.nan)

    def _passes(self, answer: np.ndarray, name: str, internal_value: Any) -> bool:
        return bool(self.rubric.tolerance.passes(answer, self.shown(name, internal_value)).all())

    # -- reading an answer --------------------------------------------------------------

    def _read(self, name: str, raw: Any) -> _Read:
        expected = np.shape(self.shown(name, self.exact[name]))
        numbers = _numbers(raw)
        if isinstance(numbers, str):
            return _Read(reason=numbers)
        value = np.asarray(numbers, dtype=float)
        want = _shape_text(expected)
        if value.shape == expected:
            return _Read(value)
        if value.size == int(np.prod(expected)) and _is_flat(value.shape) and _is_flat(expected):
            return _Read(value.reshape(expected))  # a vector written as a row or a column
        if len(expected) == 2 and value.shape == expected[::-1]:
            return _Read(value.T.copy(), transposed=True)
        return _Read(reason=f"expected shape {want}, got {_shape_text(value.shape)}")

    # -- hints -----------------------------------------------------------------------------

    def _hint(
        self, name: str, answer: np.ndarray, transposed: bool, world: Values, exact: Any
    ) -> str | None:
        if transposed:
            if self._passes(answer, name, self.exact[name]):
                return "transposed: this is the transpose of the right matrix (x·δᵀ for δ·xᵀ)"
            return None
        for hint, slip in self._slips(name):
            try:
                candidate = slip(world)
            except (ValueError, KeyError):
                continue
            if np.shape(self.shown(name, candidate)) == np.shape(answer) and self._passes(
                answer, name, candidate
            ):
                return hint
        nonzero = np.asarray(exact) != 0
        if nonzero.any():
            for power in (1, -1, 2, -2):
                if self._passes(answer, name, self.exact[name] * 10.0**power):
                    return (
                        f"a misplaced decimal point: the answer is 10^{power} times the right value"
                    )
        return None

    def _slips(self, name: str) -> list[Slip]:
        """The classic mistakes that change this quantity's own formula."""
        kind, i = split_name(name)
        net, p = self.network, self.problem
        act = net.acts[i - 1] if i else None
        slips: list[Slip] = []
        trig = isinstance(act, Elementwise) and any(t in act.f.text for t in ("sin", "cos"))
        if kind == "Z" and p.layers[i - 1].bias:
            slips.append(
                (
                    f"the bias b{i} seems left out (Z{i} = W{i}·A without + b{i})",
                    lambda w: w[f"W{i}"] @ w[f"A{i - 1}"],
                )
            )
        if kind == "A" and trig:
            slips.append(
                (
                    "sin/cos evaluated in degrees; use radians",
                    lambda w: net.compute(name, w, Variant(degrees=True)),
                )
            )
        if kind == "A" and isinstance(act, Softmax):
            slips.append(
                (
                    "softmax not normalised: e^z without dividing by Σ e^z",
                    lambda w: np.exp(w[f"Z{i}"]),
                )
            )
        if kind in ("fprime", "delta") and isinstance(act, Elementwise):
            fprime_slips = self._fprime_slips(i, act, trig)
            if kind == "fprime":
                slips += fprime_slips
            elif i < p.depth or not net.fast_output:
                # δ_l = ∂L/∂A_l ⊙ f'(Z_l) with the slipped f' (a student who skipped f').
                slips += [(h, _times_upstream(i, f)) for h, f in fprime_slips]
        if kind == "delta" and i == p.depth and net.fast_output:
            slips.append(
                ("sign flipped: δ = y − ŷ instead of ŷ − y", lambda w: -net.compute(name, w))
            )
            if net.scale != 1.0:
                slips.append(
                    (
                        "the 1/B of the mean over the batch is missing",
                        lambda w: net.compute(name, w) / net.scale,
                    )
                )
        if kind == "dA" and i == p.depth:
            slips.append(("sign flipped in ∂L/∂ŷ", lambda w: -net.compute(name, w)))
        if kind in ("W_new", "b_new") and f"{kind[0]}{i}" not in p.frozen:
            param, rate = f"{kind[0]}{i}", p.learning_rate
            slips.append(
                (
                    f"update sign flipped: {param} + α·∇ instead of {param} − α·∇",
                    lambda w: w[param] + rate * w[f"d{param}"],
                )
            )
            slips.append(
                (
                    f"learning rate left out: {param} − ∇ instead of {param} − α·∇",
                    lambda w: w[param] - w[f"d{param}"],
                )
            )
        return slips

    def _fprime_slips(self, i: int, act: Elementwise, trig: bool) -> list[Slip]:
        slips: list[Slip] = [
            (
                f"derivative taken at the activation f'(A{i}) instead of the net input f'(Z{i})",
                lambda w: act.derivative(w[f"A{i}"]),
            ),
        ]
        if trig:
            slips.append(
                (
                    "sin/cos evaluated in degrees; use radians",
                    lambda w: act.derivative(w[f"Z{i}"], Variant(degrees=True)),
                )
            )
        if act.f.has_step:
            slips.append(
                (
                    "the ReLU part of the derivative is missing (relu'(x) = 1 for x > 0)",
                    lambda w: act.derivative(w[f"Z{i}"], Variant(step=0.0)),
                )
            )
            slips.append(
                (
                    "ReLU's derivative taken as 1 everywhere (it is 0 for x ≤ 0)",
                    lambda w: act.derivative(w[f"Z{i}"], Variant(step=1.0)),
                )
            )
        return slips


# ---------------------------------------------------------------------------
# Helpers


def _times_upstream(layer: int, fprime: Callable[[Values], Any]) -> Callable[[Values], Any]:
    return lambda w: w[f"dA{layer}"] * fprime(w)


def _numbers(raw: Any) -> list[Any] | float | str:
    """Numbers (or numeric strings, null → NaN) in nested lists; a message if not."""
    if isinstance(raw, bool):
        return f"expected numbers, got {str(raw).lower()}"
    if raw is None:
        return float("nan")
    if isinstance(raw, (int, float)):
        try:
            return float(raw)
        except OverflowError:
            return "a number too large for a float"
    if isinstance(raw, str):
        try:
            return float(raw.strip().replace("−", "-"))
        except ValueError:
            return f"not a number: {raw[:40]!r}"
    if isinstance(raw, (list, tuple)):
        items = [_numbers(item) for item in raw]
        for item in items:
            if isinstance(item, str):
                return item
        shapes = {np.shape(item) for item in items}
        if len(shapes) > 1:
            return "rows of different lengths"
        return items
    return f"expected numbers, got {type(raw).__name__}"


def _is_flat(shape: tuple[int, ...]) -> bool:
    return len(shape) <= 1 or sum(d != 1 for d in shape) <= 1


def _shape_text(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a single number"
    return "×".join(map(str, shape)) if len(shape) > 1 else f"{shape[0]} numbers"


def _plain(value: Any) -> Any:
    """NumPy to plain numbers and lists; an empty (NaN) entry becomes None."""
    if isinstance(value, (np.ndarray, list)):
        return [_plain(v) for v in value]
    number = float(value)
    return None if number != number else number


def grade_file(
    path: str | Path, graders: dict[Path, Grader | NncalcError], problem: str | Path | None = None
) -> StudentResult:
    """Grade one answers file; a broken file or problem becomes a result with ``error``."""
    from nncalc.answers import load_answers
    from nncalc.problem import load_problem

    try:
        sheet = load_answers(path, problem=problem)
    except NncalcError as exc:
        return StudentResult(Path(path).stem, str(path), error=str(exc))
    assert sheet.problem is not None
    key = sheet.problem.resolve()
    if key not in graders:
        try:
            graders[key] = Grader(load_problem(sheet.problem))
        except NncalcError as exc:
            graders[key] = exc
    grader = graders[key]
    if isinstance(grader, NncalcError):
        return StudentResult(sheet.student, sheet.file, str(sheet.problem), error=str(grader))
    return grader.grade(sheet)


def answer_files(paths: list[Path]) -> list[Path]:
    """The answers files named or inside the folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
            files += sorted(p for p in found if not any(part.startswith(".") for part in p.parts))
        else:
            files.append(path)  # a missing file becomes an error row when graded
    return files


def grade_files(
    files: list[Path], *, problem: str | Path | None = None, progress: bool = False
) -> list[StudentResult]:
    """Grade every file in one process; problems are loaded and solved once each."""
    graders: dict[Path, Grader | NncalcError] = {}
    if not progress or len(files) < 2:
        return [grade_file(f, graders, problem) for f in files]
    from rich.progress import track

    return [
        grade_file(f, graders, problem)
        for f in track(files, description="grading", transient=True, console=_stderr_console())
    ]


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)

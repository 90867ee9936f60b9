"""Grading: a student's answers against the exact solution of their problem.

Each quantity, in the order of the worked solution, gets one verdict:

- ``correct``: every entry within the tolerance of the exact value; or of the value a
  student gets by rounding every intermediate to the tolerance and carrying it forward;
  or of the value computed from the student's own earlier answers when those are all
  correct (rounding carried forward).
- ``follow_through``: wrong, but computed correctly from the student's own wrong earlier
  answers (error carried forward). It earns ``rubric.follow_through`` of the points,
  unless it builds on an earlier answer of all zeros at the tolerance (which makes later
  steps trivial), vanishes itself (zeros, or the given parameter handed back as its
  update), or builds on a wrong earlier answer worth no points itself that no graded
  answer has paid for yet: a mistake is charged once, at its first graded appearance,
  and a later item explained by the same named slip follows through.
- ``wrong``: none of the above; with ``partial: element`` it earns the fraction of its
  entries that pass. A hint names the likely mistake when recomputing with a classic
  slip reproduces the student's numbers.
- ``missing`` (not answered) and ``invalid`` (unknown name, wrong shape, not numbers).

"Earlier answers" are followed through unanswered steps: a student who skips Z2 but
answers ŷ is judged on softmax of the Z2 that follows from their own H.
"""

from __future__ import annotations

import gc
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nncalc.answers import Answer, AnswerSheet, written_text
from nncalc.derivations import Derivations
from nncalc.engine import traced
from nncalc.errors import NncalcError
from nncalc.expr import Evaluation
from nncalc.layers import (
    Elementwise,
    Layer,
    Softmax,
    columns,
    conv_forward,
    maxpool,
    maxpool_backward,
)
from nncalc.names import course_name, param_of, split_name
from nncalc.problem import Limits, Problem
from nncalc.results import ItemResult, StudentResult
from nncalc.rubric import Tolerance
from nncalc.sources import (
    SHEET_SUFFIXES,
    Entry,
    GivenProblem,
    KeySource,
    SelfCheck,
    VariantsIndex,
    find_sheets,
    identity,
)
from nncalc.validate import NUMBER_TEXT, drop_leading_ones
from nncalc.yamlio import WrittenNumber, shown_path

Values = dict[str, Any]
#: f', f'(x), f′(z), fprime: the activation's derivative, without a layer number.
_BARE_FPRIME = re.compile(r"(f['′]|fprime)(\((x|z|Z)\))?")
#: A classic slip: the hint that names it, and the value it gives from the student's values.
Slip = tuple[str, Callable[[Values], Any]]


#: How close to the given parameter an update must be to count as handed back unchanged.
UNCHANGED = 1e-12
MISPLACED = "a misplaced decimal point: the digits look right, the size does not"
ALL_ZEROS = "all zeros: nothing computed here"
LAYOUT = (
    "written in the inputs×outputs layout (Z = xW + b), transposed; accepted, as the "
    "whole sheet uses that layout"
)
TRANSPOSED = "transposed: this is the transpose of the right matrix (x·δᵀ for δ·xᵀ)"
#: Hints of classic slips (each names the mistake, never the factor that undoes it).
LEARNING_RATE = "the learning rate misread: a misplaced decimal point in α"
LOG_SOFTMAX = "softmax written as log-softmax (z − log Σ e^z); ŷ is e^z / Σ e^z"
LOG10 = "log base 10 in the cross-entropy; it uses the natural logarithm ln"
AVG_AS_MAX = (
    "average pooling routed like max pooling (all to each window's maximum); average "
    "pooling shares ∂L/∂A equally over the window"
)
NO_RECURRENT = "the recurrent term Whᵀ·δ_{t+1} left out of ∂L/∂h_t"
TANH_NO_SQUARE = "tanh′ written as 1 − tanh(z); it is 1 − tanh²(z)"


@dataclass
class _World:
    """The student's values and, for the steps they skipped, what follows from them.

    ``off`` marks values that differ from the exact ones beyond the tolerance. Two things
    refuse follow-through to what builds on a value (each holds the reason, "" if none):
    ``zeros``, an answer of all zeros upstream (it stays refused all the way down), and
    ``unpaid``, a wrong answer worth no points upstream (until a graded answer has paid
    for the mistake). ``charged`` holds the mistakes already paid for, each once: an
    unpaid reason once a graded item has lost its points to it, and the hint of a named
    slip once a graded item has lost its points to that slip.
    """

    values: Values
    off: dict[str, bool] = field(default_factory=dict)
    zeros: dict[str, str] = field(default_factory=dict)
    unpaid: dict[str, str] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    charged: set[str] = field(default_factory=set)
    #: The student's wrong formulas that lost points, by quantity: numbers that follow
    #: from one were computed as the student believed, and the mistake was charged there.
    formulas: dict[str, str] = field(default_factory=dict)

    def upstream_off(self, inputs: list[str]) -> bool:
        return any(self.off.get(i, False) for i in inputs)

    def upstream(self, reasons: dict[str, str], inputs: list[str]) -> str:
        return next((reasons[i] for i in inputs if reasons.get(i)), "")

    def upstream_unpaid(self, inputs: list[str]) -> str:
        """The first mistake upstream that no graded answer has paid for yet."""
        return next((r for i in inputs if (r := self.unpaid.get(i)) and r not in self.charged), "")

    def follow(self, name: str, value: Any, inputs: list[str], off: bool = False) -> None:
        """A step the student skipped: it is what follows from their earlier values."""
        zeros, unpaid = self.upstream(self.zeros, inputs), self.upstream(self.unpaid, inputs)
        self.answer(name, value, off or self.upstream_off(inputs), zeros, unpaid)

    def answer(self, name: str, value: Any, off: bool, zeros: str, unpaid: str) -> None:
        self.values[name], self.off[name] = value, off
        self.zeros[name], self.unpaid[name] = zeros, unpaid


@dataclass
class _Read:
    """An answer turned into numbers of the expected shape (NaN for empty entries)."""

    value: np.ndarray | None = None
    transposed: bool = False  # written in the transposed shape
    layout: bool = False  # transposed, accepted: the sheet uses the inputs×outputs layout
    note: str | None = None  # a legitimate form, read as such (shown when there is no hint)
    reason: str | None = None  # why it is invalid
    #: The entries as written (strings, laid out like ``value``), where some entry's text is
    #: not the shortest form of its number (2.3250, 27/20, 21.82%, 2); None otherwise.
    text: np.ndarray | None = None

    def written(self, as_answered: bool) -> Any:
        """The texts as a result holds them: in the layout the student wrote if
        ``as_answered`` (transposed back), else in the expected one."""
        if self.text is None:
            return None
        turned = as_answered and (self.transposed or self.layout)
        return (self.text.T if turned else self.text).tolist()

    raw_text: str | None = None  # for an invalid answer: what the student wrote (shortened)


class Grader:
    """Grades answer sheets for one problem; the exact solution is computed once."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.rubric = problem.rubric
        # The same checks as `nncalc solve`: a problem it refuses is not graded.
        solution, self.exact = traced(problem)
        self.network = solution.network
        self.names = [name for _, name in self.network.plan()]
        with np.errstate(all="ignore"):
            # What a student who rounds every intermediate gets (NaN where that breaks down).
            rounded = self.network.given()
            for name in self.names:
                rounded[name] = self.rubric.tolerance.round(self._recompute(name, rounded))
            self.rounded = rounded
        # What every sheet is compared with, computed once: shown values, their plain form.
        self.expected = {n: self.shown(n, self.exact[n]) for n in self.names}
        self.expected_lists = {n: _answer_lists(v) for n, v in self.expected.items()}
        self.labels = {n: self._label(n) for n in self.names}
        self.inputs = {n: self.network.inputs(n) for n in self.names}
        self.bounds = {n: self.rubric.tolerance.bound(v) for n, v in self.expected.items()}
        self.expected_nonzero = {n: bool(np.any(v)) for n, v in self.expected.items()}
        self.flat_expected = {n: np.ravel(v) for n, v in self.expected.items()}
        self.flat_bounds = {n: np.ravel(b) for n, b in self.bounds.items()}
        given = self.network.given()
        #: Each update's parameter as given, in the update's shown layout.
        self.given_shown = {
            n: np.asarray(self.shown(n, given[param_of(n)]), dtype=float)
            for n in self.names
            if n.endswith("_new")
        }
        self.order = {n: i for i, n in enumerate(self.names)}
        self.derivations = Derivations(problem, self.network, self.shown)
        self._equation_texts: dict[str, str] = {}

    def _label(self, name: str) -> str:
        return self.network.label(name) or name

    def shown(self, name: str, value: Any) -> Any:
        return self.network.shown(name, value)

    # -- grading -----------------------------------------------------------------------

    def grade(self, sheet: AnswerSheet) -> StudentResult:
        result = StudentResult(sheet.student, sheet.file, self.problem.source)
        given, extra = self._sort_answers(sheet.answers)
        # A bare null (or an empty value) is an answer left blank, like a list of nulls.
        reads = {n: self._read_as_written(n, a.raw) for n, a in given.items() if a.raw is not None}
        if self.rubric.layout == "either":  # a strict problem asks for its own layout
            _accept_consistent_layout(reads)
        formulas, extra_formulas = self._sort_answers(sheet.equations)
        equations = self._judge_equations(formulas)
        wrong = {
            item.name: formulas[item.name].raw
            for item in equations
            if item.verdict == "wrong" and item.max_points
        }
        with np.errstate(all="ignore"):
            items = self._all_correct(reads)
            values = self._judge_all(reads, wrong) if items is None else items
        # Each formula just before its quantity's numbers, as in the worked solution.
        ordered = sorted(equations + values, key=lambda i: (self.order[i.name], i.kind == "value"))
        for item in extra_formulas:
            item.kind = "equation"
        result.items = ordered + extra + extra_formulas
        return result

    def _judge_equations(self, formulas: dict[str, Answer]) -> list[ItemResult]:
        """One item per formula written or worth points, judged in random worlds."""
        items = []
        for name in self.names:
            points = self.rubric.equation_points_for(name)
            answer = formulas.get(name)
            if answer is None and not points:
                continue
            item = ItemResult(
                name,
                f"{self.labels[name]} equation",
                "missing",
                0.0,
                points,
                expected=self._equation_text(name),
                kind="equation",
            )
            items.append(item)
            if answer is None or answer.raw is None or not str(answer.raw).strip():
                continue
            item.answer = answer.raw
            judged = self.derivations.judge(name, answer.raw)
            item.verdict = judged.verdict  # type: ignore[assignment]
            item.formula, item.latex = judged.text or None, judged.latex or None
            if judged.verdict == "correct":
                item.points = points
            elif judged.verdict == "invalid":
                item.reason = judged.message
            else:
                item.hint = judged.message
        return items

    def _equation_text(self, name: str) -> str:
        """The engine's equation for ``name``, written once per problem."""
        text = self._equation_texts.get(name)
        if text is None:
            text = self._equation_texts[name] = self.network.equation(name).text
        return text

    def _all_correct(self, reads: dict[str, _Read]) -> list[ItemResult] | None:
        """The items when every answer given is right (one comparison); else None."""
        if not reads or any(
            r.value is None or r.transposed or r.layout or r.note for r in reads.values()
        ):
            return None
        names = [name for name in self.names if name in reads]
        answers = np.concatenate([reads[name].value.ravel() for name in names])  # type: ignore[union-attr]
        expected = np.concatenate([self.flat_expected[name] for name in names])
        bounds = np.concatenate([self.flat_bounds[name] for name in names])
        if not (np.abs(answers - expected) <= bounds).all():  # an empty entry (NaN) fails too
            return None  # (cut rather than rounded: judged one by one)
        items = []
        for name in self.names:
            read = reads.get(name)
            item = self._item(name)
            if read is not None:
                item.verdict, item.points, item.answer = (
                    "correct",
                    item.max_points,
                    _answer_lists(read.value),
                )
                item.answer_text = read.written(True)
            if read is not None or item.max_points:
                items.append(item)
        return items

    def _item(self, name: str) -> ItemResult:
        """The item of a quantity before judging: missing, with its points and exact value."""
        points = self.rubric.points_for(name)
        item = ItemResult(name, self.labels[name], "missing", 0.0, points)
        item.expected = self.expected_lists[name]
        return item

    def _sort_answers(self, answers: list[Answer]) -> tuple[dict[str, Answer], list[ItemResult]]:
        """Answers by canonical name; unknown or repeated names become invalid items."""
        given: dict[str, Answer] = {}
        extra = []
        for answer in answers:
            name = self._name(answer.written)
            reason = None
            if name is None:
                reason = f"unknown quantity {answer.written!r}{self._did_you_mean(answer.written)}"
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
                extra[-1].answer_text = written_text(answer.raw)
        return given, extra

    def _name(self, written: str) -> str | None:
        name = course_name(written, self.problem.depth, self.problem.recurrent)
        if name is None and _BARE_FPRIME.fullmatch(written.replace(" ", "")):
            # f'(x) with no layer: the derivative of the one activation that has one.
            fprimes = [n for n in self.names if n.startswith("fprime") and "_t" not in n]
            name = fprimes[0] if len(fprimes) == 1 else None
        return name

    def _did_you_mean(self, written: str) -> str:
        """``; did you mean Z1?`` for the closest name of this problem, if one is close."""
        import difflib

        close = difflib.get_close_matches(written, self.names, n=1, cutoff=0.6)
        return f"; did you mean {close[0]}?" if close else ""

    def _judge_all(self, reads: dict[str, _Read], formulas: dict[str, str]) -> list[ItemResult]:
        world = _World(self.network.given(), formulas=formulas)
        items = []
        for name in self.names:
            inputs = self.inputs[name]
            read = reads.get(name)
            item = self._item(name)
            if read is None or read.value is None or np.isnan(read.value).all():
                # Not answered (or unreadable): later steps build on what follows instead,
                # which may vanish on the student's numbers (δ2 = ŷ − y = 0 from ŷ = y).
                followed = self._recompute(name, world.values)
                own = self._formula_value(name, world)
                if own is not None:  # a skipped step follows the student's own formula
                    followed = own
                world.follow(name, followed, inputs, off=own is not None)
                vanished = world.off[name] and not world.zeros[name]
                if vanished and self._zero(name, self.shown(name, followed)):
                    world.zeros[name] = (
                        f"no follow-through credit: it builds on {name}, all zeros "
                        "from your earlier answers"
                    )
                if read is not None and read.value is None:
                    item.verdict, item.reason = "invalid", read.reason
                    item.answer_text = read.raw_text
                if item.max_points or read is not None:
                    items.append(item)
                continue
            self._judge(item, read, self.expected[name], world, inputs)
            items.append(item)
        return items

    def _judge(
        self,
        item: ItemResult,
        read: _Read,
        expected: Any,
        world: _World,
        inputs: list[str],
    ) -> None:
        """Set the item's verdict, points and hint; record the answer in the world."""
        assert read.value is not None
        name, answer, rubric = item.name, read.value, self.rubric
        item.answer = _answer_lists(
            answer.T if read.transposed or read.layout else answer
        )  # as the student wrote it
        item.answer_text = read.written(True)
        if read.transposed:  # the right numbers, maybe, in the wrong layout: never credit
            item.verdict = "wrong"
            item.hint = self._hint(name, answer, True, world, expected)
            world.follow(name, self._recompute(name, world.values), inputs, off=True)
            return
        off_by = np.abs(answer - expected)
        passes = off_by <= self.bounds[name]
        # A value cut after d decimals is less than 10⁻ᵈ (two bounds) from the exact one:
        # only a failing entry that close can be a cut value (most wrong answers are not).
        if not passes.all() and (off_by <= 2 * self.bounds[name]).any():
            # The first decimals may be cut off rather than rounded; not so the given
            # parameter handed back as the update (0.05 for b′ = 0.0508 is no cut value).
            cut = rubric.tolerance.truncated(answer, expected)
            if (cut & ~passes).any() and not self._unchanged(name, answer):
                passes |= cut
        all_pass = bool(passes.all())
        if not all_pass:
            item.wrong_entries = np.argwhere(~passes).tolist()
        upstream_off = world.upstream_off(inputs)
        upstream_zeros = world.upstream(world.zeros, inputs)
        upstream_unpaid = world.upstream_unpaid(inputs)
        upstream_block = upstream_zeros or upstream_unpaid
        # Follows from the student's own earlier values (computed only when needed):
        own = None if all_pass else self.shown(name, self._recompute(name, world.values))
        consistent = all_pass or bool(rubric.tolerance.passes(answer, own).all())
        correct = (
            all_pass
            or (consistent and not upstream_off)
            or self._passes(answer, name, self.rounded[name])
        )
        # Computed as the student's own (wrong, charged) formula says: follow-through.
        by_formula = not (consistent or correct) and self._follows_formula(name, answer, world)
        consistent = consistent or by_formula
        # A named slip already charged at an earlier graded item is carried forward here.
        slip = None if consistent or correct else self._hint(name, answer, False, world, expected)
        recharged = slip is not None and slip in world.charged
        # Work that vanishes on the student's numbers earns no follow-through: an answer
        # zero at the tolerance where the exact one is not, an update that hands back the
        # given parameter.
        may_vanish = not correct and (consistent or name in self.given_shown)
        vanished = self._vanished(name, answer) if may_vanish else ""
        if correct:
            item.verdict, item.points = "correct", item.max_points
        elif (consistent and upstream_block) or (
            vanished and (consistent or self._unchanged(name, answer))
        ):
            item.verdict = "wrong"
            item.hint = upstream_block or vanished
            if item.max_points and upstream_unpaid and not upstream_zeros:
                world.charged.add(upstream_unpaid)  # paid here, once
        elif (consistent or recharged) and rubric.follow_through > 0:
            item.verdict = "follow_through"
            item.points = round(item.max_points * rubric.follow_through, 10)
        elif consistent:
            item.verdict = "wrong"
            item.hint = "computed correctly from your earlier wrong answers (no credit here)"
        else:
            item.verdict = "wrong"
            if rubric.partial:
                item.points = round(item.max_points * float(passes.mean()), 10)
            item.hint = slip
            if slip is not None and item.max_points:
                world.charged.add(slip)
            elif shown := self._too_few_decimals(answer, (expected, own)):
                # A precision problem, not a method: right to the decimals shown, too few.
                item.hint = (
                    f"given to {shown} decimal{'s' * (shown > 1)}: "
                    f"give at least {rubric.tolerance.decimals} decimals"
                )
        if item.verdict == "follow_through":
            item.marked_on = self._marked_on(name, world)
            if by_formula:
                item.hint = f"follows from your equation for {self.labels[name]}, which was wrong"
        if recharged and item.verdict == "follow_through":
            item.hint = f"the same mistake as before, carried forward: {slip}"
        if item.hint is None:
            item.hint = LAYOUT if read.layout else read.note
        if item.verdict == "correct":
            item.wrong_entries = []  # e.g. rounding carried forward: nothing to mark
        off = item.verdict != "correct"
        zeros = unpaid = ""
        if off:
            zeros = upstream_zeros
            if not zeros and self._zero(name, answer):
                zeros = f"no follow-through credit: it builds on {name}, all zeros"
            # A new mistake here costs nothing: it must not carry forward unpaid. A step
            # carried forward from earlier answers (or a slip already charged) is no new one.
            new_mistake = not (consistent or recharged)
            if not item.max_points:
                unpaid = world.upstream_unpaid(inputs) or (
                    f"no follow-through credit: it builds on your {name}, which is wrong "
                    "and carries no points of its own"
                    if new_mistake
                    else ""
                )
        world.answer(name, self.network.internal(name, answer), off, zeros, unpaid)
        world.answered.add(name)

    def _follows_formula(self, name: str, answer: np.ndarray, world: _World) -> bool:
        """The numbers are the student's own wrong formula for ``name``, evaluated on their
        own earlier values."""
        own = self._formula_value(name, world)
        return own is not None and bool(
            self.rubric.tolerance.passes(answer, self.shown(name, own)).all()
        )

    def _formula_value(self, name: str, world: _World) -> Any:
        """The student's wrong formula for ``name`` on their own values (internal layout)."""
        source = world.formulas.get(name)
        if source is None:
            return None
        shape = np.shape(self.expected[name])
        own = self.derivations.value_on(name, source, world.values, shape)
        return None if own is None else self.network.internal(name, own)

    def _marked_on(self, name: str, world: _World) -> list[str]:
        """The student's own wrong answers this step was marked on (through skipped steps)."""
        found: list[str] = []
        frontier = list(self.inputs[name])
        while frontier:
            step = frontier.pop(0)
            if step in found or not world.off.get(step, False):
                continue
            if step in world.answered:
                found.append(step)
            elif step in self.inputs:
                frontier += self.inputs[step]
        return [self.labels[step] for step in self.names if step in found]

    def _too_few_decimals(self, answer: np.ndarray, candidates: tuple[Any, ...]) -> int:
        """The decimals written when fewer than the tolerance's, and right to those against
        the exact value or the one from the student's earlier answers; else 0."""
        tolerance = self.rubric.tolerance
        if tolerance.mode != "decimals" or tolerance.decimals == 0:
            return 0
        shown = max((_decimals(float(v)) for v in answer.ravel()), default=0)
        if not 0 < shown < tolerance.decimals:  # whole numbers (0, 1) are no short answers
            return 0
        coarse = Tolerance("decimals", decimals=shown)
        right = any(bool(coarse.passes(answer, value).all()) for value in candidates)
        return shown if right else 0

    def _zero(self, name: str, shown_value: Any) -> bool:
        """All zeros at the tolerance (0.0001 at 3 decimals) where the exact value is not."""
        if not self.expected_nonzero[name]:
            return False
        return bool((np.abs(shown_value) <= self.bounds[name]).all())

    def _unchanged(self, name: str, answer: np.ndarray) -> bool:
        """An update that hands back the given parameter's numbers (an update written
        0.0995 for a given 0.1 changed it, even where that is within the tolerance)."""
        old = self.given_shown.get(name)
        return old is not None and bool((np.abs(answer - old) <= UNCHANGED).all())

    def _vanished(self, name: str, answer: np.ndarray) -> str:
        """Why follow-through has nothing to credit in this answer, or ""."""
        if self._zero(name, answer):
            return f"no follow-through credit: your {name} is all zeros, nothing to credit"
        if self._unchanged(name, answer):
            return f"no follow-through credit: the given {param_of(name)}, not updated"
        return ""

    def _recompute(self, name: str, world: Values) -> Any:
        """The quantity from the student's values; NaN where those make it undefined."""
        try:
            return self.network.compute(name, world)
        except NncalcError:  # e.g. log of a non-positive ŷ the student wrote
            return np.full(np.shape(self.exact[name]), np.nan)

    def _passes(self, answer: np.ndarray, name: str, internal_value: Any) -> bool:
        shown = self.shown(name, internal_value)
        return bool(self.rubric.tolerance.passes(answer, shown, cut=False).all())

    # -- reading an answer --------------------------------------------------------------

    def _read_as_written(self, name: str, raw: Any) -> _Read:
        """:meth:`_read`, keeping the entries' texts where they differ from the numbers'
        shortest form, laid out as the value read (so the report shows what was written)."""
        read = self._read(name, raw)
        texts = None if read.value is None else _written_texts(raw)
        if texts is not None and read.value is not None:
            written = np.empty(np.shape(texts), dtype=object)
            written[...] = texts
            if written.size == read.value.size:
                read.text = written.T if read.transposed else written.reshape(read.value.shape)
        return read

    def _read(self, name: str, raw: Any) -> _Read:
        expected = np.shape(self.expected[name])
        value = _numbers(raw)
        if isinstance(value, str):
            return _Read(reason=value, raw_text=written_text(raw))
        want = _shape_text(expected)
        if value.shape == expected:
            return _Read(value)
        if len(expected) >= 2 and drop_leading_ones(value.shape, keep=1) == expected:
            return _Read(value.reshape(expected))  # a one-channel map written as 1×H×W, say
        if value.size == int(np.prod(expected)) and _is_flat(value.shape) and _is_flat(expected):
            return _Read(value.reshape(expected))  # a vector written as a row or a column
        if value.ndim == 1 and len(expected) == 2 and value.size == int(np.prod(expected)):
            note = f"written flat; read row by row as {_shape_text(expected)}"
            return _Read(value.reshape(expected), note=note)
        if len(expected) == 2 and value.shape == expected[::-1]:
            return _Read(value.T.copy(), transposed=True)
        reason = f"expected {want}, got {_shape_text(value.shape)}"
        return _Read(reason=reason, raw_text=written_text(raw))

    # -- hints -----------------------------------------------------------------------------

    def _hint(
        self, name: str, answer: np.ndarray, transposed: bool, state: _World, exact: Any
    ) -> str | None:
        """The classic slip that reproduces the student's numbers, if one does."""
        world = state.values
        if self._zero(name, answer):  # say so before any slip that zeros happen to fit
            return ALL_ZEROS
        if transposed:
            return TRANSPOSED if self._passes(answer, name, self.exact[name]) else None
        for hint, slip in self._slips(name):
            if self._matches(answer, name, partial(slip, world)):
                return hint
        # A slip in a step the student did not write down shows first in this one
        # (δ1 = W2ᵀδ2 ⊙ f'(H) with f' never written; db2 from a δ2 of the wrong sign),
        # also through a chain of unwritten steps (an rnn's δ_t from an unwritten ∂L/∂ŷ).
        for step in self._unwritten_upstream(name, state.answered):
            for hint, slip in self._slips(step):

                def slipped(step: str = step, slip: Callable[[Values], Any] = slip) -> Any:
                    return self._recompute_after(step, name, {**world, step: slip(world)}, state)

                if self._matches(answer, name, slipped):
                    return hint
        # A square matrix written transposed has the right shape: only its numbers tell
        # (dWh = Σ δ_t·h_{t−1}ᵀ written as Σ h_{t−1}·δ_tᵀ).
        square = answer.ndim == 2 and answer.shape[0] == answer.shape[1]
        if square and self._passes(answer.T, name, self.exact[name]):
            return TRANSPOSED
        nonzero = np.asarray(exact) != 0
        if nonzero.any():
            for power in (1, -1, 2, -2):
                if self._passes(answer, name, self.exact[name] * 10.0**power):
                    return MISPLACED  # never the factor: it would hand over the answer
        return None

    def _unwritten_upstream(self, name: str, answered: set[str]) -> list[str]:
        """The steps the student skipped that this one builds on, directly or through other
        skipped steps, nearest first."""
        found: list[str] = []
        frontier = [s for s in self.inputs[name] if s in self.inputs and s not in answered]
        while frontier:
            step = frontier.pop(0)
            if step not in found:
                found.append(step)
                frontier += [s for s in self.inputs[step] if s in self.inputs and s not in answered]
        return found

    def _recompute_after(self, step: str, name: str, world: Values, state: _World) -> Any:
        """``name`` from a world where ``step`` changed: the skipped steps between follow."""
        order = self.names
        for between in order[order.index(step) + 1 : order.index(name)]:
            if between not in state.answered:
                world[between] = self.network.compute(between, world)
        return self.network.compute(name, world)

    def _matches(self, answer: np.ndarray, name: str, candidate: Callable[[], Any]) -> bool:
        try:
            value = candidate()
        except (ValueError, KeyError, NncalcError):
            return False
        same_shape = np.shape(self.shown(name, value)) == np.shape(answer)
        return same_shape and self._passes(answer, name, value)

    def _slips(self, name: str) -> list[Slip]:
        """The classic mistakes that change this quantity's own formula."""
        quantity, i = split_name(name)
        net, p = self.network, self.problem
        act = net.activation(i) if i else None
        slips: list[Slip] = []
        trig = isinstance(act, Elementwise) and any(t in act.f.text for t in ("sin", "cos"))
        layer = p.layers[i - 1] if i else None
        if quantity == "Z" and layer and layer.kind == "dense" and layer.bias:
            slips.append(
                (
                    f"the bias b{i} seems left out (Z{i} = W{i}·{net.symbols.a(i - 1).text} "
                    f"without + b{i})",
                    lambda w: w[f"W{i}"] @ w[f"A{i - 1}"],
                )
            )
        if quantity == "Z" and layer and layer.kind == "conv2d":
            slips += self._conv_slips(i, layer)
        if quantity in ("A", "A_t") and isinstance(act, Elementwise) and act.f.text != "x":
            z = name.replace("A", "Z", 1)
            slips.append(
                (f"the activation {act.f.text} not applied ({name} = {z})", lambda w: w[z])
            )
        if quantity == "A" and trig:
            slips.append(
                (
                    "sin/cos evaluated in degrees; use radians",
                    lambda w: net.compute(name, w, Evaluation(degrees=True)),
                )
            )
        if quantity == "A" and isinstance(act, Softmax):
            slips.append(
                (
                    "softmax not normalised: e^z without dividing by Σ e^z",
                    lambda w: np.exp(w[f"Z{i}"]),
                )
            )
            slips.append((LOG_SOFTMAX, lambda w: np.log(net.compute(name, w))))
        if quantity in ("fprime", "fprime_t") and isinstance(act, Elementwise):
            slips += self._fprime_slips(name, act, trig)
        if quantity == "delta" and i == p.depth and net.closed_form_delta:
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
        if quantity == "dA" and i == p.depth:
            slips.append(("sign flipped in ∂L/∂ŷ", lambda w: -net.compute(name, w)))
        if (quantity == "loss" or (quantity == "dA" and i == p.depth)) and p.recurrent:
            steps = net.time_steps  # L = Σ_t L_t, not (1/T)·Σ_t L_t
            if steps > 1:
                slips.append(
                    (
                        f"the loss averaged over the {steps} time steps instead of summed",
                        lambda w: net.compute(name, w) / steps,
                    )
                )
        sgd = p.optimizer.name == "sgd"
        if sgd and quantity.endswith("_new") and param_of(name) not in p.frozen:
            param, rate = param_of(name), p.learning_rate
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
        if quantity.endswith("_new") and param_of(name) not in p.frozen and not sgd:
            slips += self._optimizer_slips(param_of(name))
        return slips + self._added_slips(name, quantity, i)  # after the ones above

    def _added_slips(self, name: str, quantity: str, i: int) -> list[Slip]:
        """Issue 12's classic slips: the learning rate a power of ten off, log₁₀ in the
        cross-entropy, average pooling routed like max pooling, an rnn's recurrent term
        dropped from ∂L/∂h_t."""
        net, p = self.network, self.problem
        slips: list[Slip] = []
        updated = quantity.endswith("_new") and param_of(name) not in p.frozen
        if p.optimizer.name == "sgd" and updated:
            param, rate = param_of(name), p.learning_rate

            def misread(w: Values, power: int) -> Any:  # α·10 or α/10: W − α·10^±1·∇
                return w[param] - rate * 10.0**power * w[f"d{param}"]

            slips += [(LEARNING_RATE, partial(misread, power=power)) for power in (1, -1)]
        cross_entropy = p.loss in ("cross_entropy", "binary_cross_entropy")
        if cross_entropy and (quantity == "loss" or (quantity == "dA" and i == p.depth)):
            # log₁₀ u = ln u / ln 10: the loss and ∂L/∂ŷ shrink by that factor
            slips.append((LOG10, lambda w: net.compute(name, w) / math.log(10)))
        pooled = p.layers[i] if quantity == "dA" and i < len(p.layers) else None
        if pooled is not None and pooled.kind == "avgpool2d":
            slips.append((AVG_AS_MAX, lambda w: self._routed_to_max(i + 1, w)))
        if quantity == "dA_t":
            later = [s for s in self.inputs[name] if s.startswith("delta")]
            if later:  # ∂L/∂h_t = (output part) + Whᵀ·δ_{t+1}: the second term dropped
                slips.append(
                    (
                        NO_RECURRENT,
                        lambda w: net.compute(name, {**w, later[0]: np.zeros_like(w[later[0]])}),
                    )
                )
        return slips

    def _routed_to_max(self, i: int, world: Values) -> Any:
        """∂L/∂A_{i−1} of pooling layer i routed as max pooling routes it."""
        layer, below = self.problem.layers[i - 1], world[f"A{i - 1}"]
        won = maxpool(below, layer.kernel, layer.stride, layer.padding)[1]
        grad = world[f"dA{i}"]
        return maxpool_backward(grad, won, below.shape, layer.kernel, layer.stride, layer.padding)

    def _optimizer_slips(self, param: str) -> list[Slip]:
        """An update by the optimizer's rule with a classic step left out."""
        opt, rate = self.problem.optimizer, self.problem.learning_rate
        g = f"d{param}"
        if opt.name == "adam":
            eps = opt["epsilon"]
            return [
                (
                    "adam's bias correction left out: m and v used instead of m̂ and v̂",
                    lambda w: w[param] - rate * w[f"m_{param}"] / (np.sqrt(w[f"v_{param}"]) + eps),
                )
            ]
        if opt.name in ("momentum", "nesterov"):
            return [
                (
                    f"plain gradient descent ({param} − α·∇) instead of the {opt.name} update",
                    lambda w: w[param] - rate * w[g],
                )
            ]
        return []

    def _conv_slips(self, i: int, layer: Layer) -> list[Slip]:
        """A convolution computed as a true convolution (kernel flipped), or without b."""
        net = self.network

        def conv(w: Values, flip: bool, bias: bool) -> Any:
            kernel = w[f"W{i}"][:, :, ::-1, ::-1] if flip else w[f"W{i}"]
            a = net.layer_input(i, w)
            cols = columns(a, layer.kernel, layer.stride, layer.padding)
            z = conv_forward(cols, kernel, (a.shape[0], *layer.shape))
            return z + w[f"b{i}"][None, :, None, None] if bias and layer.bias else z

        slips: list[Slip] = [
            (
                f"the kernel is flipped: a true convolution instead of the cross-correlation "
                f"(Z{i}[p,q] = Σ window ⊙ W{i}, unflipped)",
                lambda w: conv(w, True, True),
            )
        ]
        if layer.bias:
            slips.append((f"the bias b{i} seems left out", lambda w: conv(w, False, False)))
        return slips

    def _fprime_slips(self, name: str, act: Elementwise, trig: bool) -> list[Slip]:
        z, a = name.replace("fprime", "Z", 1), name.replace("fprime", "A", 1)
        slips: list[Slip] = [
            (
                f"derivative taken at the activation f'({a}) instead of the net input f'({z})",
                lambda w: act.derivative(w[a]),
            ),
        ]
        if trig:
            slips.append(
                (
                    "sin/cos evaluated in degrees; use radians",
                    lambda w: act.derivative(w[z], Evaluation(degrees=True)),
                )
            )
        if act.f.text == "tanh(x)":
            slips.append((TANH_NO_SQUARE, lambda w: 1 - np.tanh(w[z])))
        if act.f.has_step:
            slips.append(
                (
                    "the ReLU part of the derivative is missing (relu'(x) = 1 for x > 0)",
                    lambda w: act.derivative(w[z], Evaluation(step=0.0)),
                )
            )
            slips.append(
                (
                    "ReLU's derivative taken as 1 everywhere (it is 0 for x ≤ 0)",
                    lambda w: act.derivative(w[z], Evaluation(step=1.0)),
                )
            )
        return slips


# ---------------------------------------------------------------------------
# Helpers


_NUMBER_TYPES = (int, float, WrittenNumber)
_NON_FINITE = ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")  # named as not finite


def _numbers(raw: Any) -> np.ndarray | str:
    """Numbers (or numeric strings; null → NaN, an empty entry) as an array; a message if not."""
    plain = type(raw) is list and all(
        type(v) in _NUMBER_TYPES or (type(v) is list and all(type(u) in _NUMBER_TYPES for u in v))
        for v in raw
    )
    if plain:  # the usual case, checked in one pass without recursion
        try:
            value = np.asarray(raw, dtype=float)
        except (ValueError, OverflowError):
            plain = False
        else:
            return value if np.isfinite(value).all() else "not a finite number"
    nested = _nested(raw)
    if isinstance(nested, str):
        return nested
    return np.asarray(nested, dtype=float)


def _nested(raw: Any) -> list[Any] | float | str:
    if isinstance(raw, bool):
        return f"expected numbers, got {str(raw).lower()}"
    if raw is None:
        return float("nan")
    if isinstance(raw, str):
        text = raw.replace("−", "-")  # a typographic minus, as a word processor writes it
        written = _written_number(text)
        if written is not None:
            return written
        if not NUMBER_TEXT.fullmatch(text) and text.strip().lower() not in _NON_FINITE:
            return f"not a number: {raw[:40]!r}"
        raw = text
    if isinstance(raw, (int, float, str)):
        try:
            number = float(raw)
        except (ValueError, OverflowError):
            return f"not a number: {str(raw)[:40]!r}"
        return number if math.isfinite(number) else f"not a finite number: {str(raw)[:40]!r}"
    if isinstance(raw, (list, tuple)):
        items = [_nested(item) for item in raw]
        for item in items:
            if isinstance(item, str):
                return item
        if len({np.shape(item) for item in items}) > 1:
            return "rows of different lengths"
        return items
    return f"expected numbers, got {type(raw).__name__}"


def _written_texts(raw: Any) -> Any:
    """Each entry as the student wrote it (nested like ``raw``; None for an empty entry),
    or None when every entry is a plain float, whose shortest form is what was written."""
    kinds = set(map(type, raw)) if type(raw) is list else {type(raw)}
    if kinds == _LIST:  # rows: the kinds of their entries (one set, no per-entry Python)
        kinds = set().union(*[map(type, row) for row in raw])
    return None if kinds == _FLOAT else _entry_texts(raw)


_LIST, _FLOAT = {list}, {float}


def _entry_texts(raw: Any) -> Any:
    if isinstance(raw, list):
        return [_entry_texts(v) for v in raw]
    if isinstance(raw, WrittenNumber):
        return raw.text
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return repr(raw)
    return None


#: Course notations: a layer number in brackets or as a superscript (Z[1], W^{[2]}), a hat.


def _accept_consistent_layout(reads: dict[str, _Read]) -> None:
    """A sheet that writes every (non-square) matrix transposed uses the inputs×outputs
    layout (Z = xW + b) throughout: read its matrices the other way round. One matrix
    transposed among others in the usual layout, or alone, stays a slip."""
    matrices = [
        r
        for r in reads.values()
        if r.value is not None and r.value.ndim == 2 and 1 not in r.value.shape
    ]
    rectangular = [
        r for r in matrices if r.value is not None and r.value.shape[0] != r.value.shape[1]
    ]
    if len(rectangular) >= 2 and all(r.transposed for r in rectangular):  # one is no layout
        for read in rectangular:
            read.transposed, read.layout = False, True


_FRACTION = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")
_PERCENT = re.compile(r"\s*([-+]?\d+(?:\.\d+)?)\s*%\s*")


def _decimals(number: float) -> int:
    """How many decimals a number as written has (2.325 → 3; 1.0 → 0)."""
    text = repr(number)
    if not math.isfinite(number) or "e" in text:
        return 99  # too large or small for plain decimals: not a short answer
    return len(text.partition(".")[2].rstrip("0"))


def _written_number(text: str) -> float | None:
    """A fraction (27/20) or a percentage (21.82%) as its number; None if neither."""
    fraction = _FRACTION.fullmatch(text)
    if fraction and float(fraction[2]) != 0:
        return float(fraction[1]) / float(fraction[2])
    percent = _PERCENT.fullmatch(text)
    return float(percent[1]) / 100 if percent else None


def _is_flat(shape: tuple[int, ...]) -> bool:
    """A vector, or a matrix with one row or one column (not deeper nesting)."""
    return len(shape) <= 1 or (len(shape) == 2 and 1 in shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a single number"
    if len(shape) == 1:
        return f"{shape[0]} numbers"
    return f"a {'×'.join(map(str, shape))} {'matrix' if len(shape) == 2 else 'array'}"


def _answer_lists(value: Any) -> Any:
    """An answer or exact value as a result holds it: numbers and lists, an empty (NaN)
    entry as None."""
    array = np.asarray(value, dtype=float)
    if not np.isnan(array).any():
        return array.tolist()
    shown = array.astype(object)
    shown[np.isnan(array)] = None
    return shown.tolist()


def grade_file(
    path: str | Path,
    graders: dict[Path, Grader | NncalcError],
    problem: str | Path | None = None,
    limits: Limits | None = None,
) -> StudentResult:
    """Grade one answers file; a broken file or problem becomes a result with ``error``.

    Against ``problem`` if given, else the problem the sheet names (the library trusts
    its caller; ``nncalc verify`` asks for an instructor's source, see :func:`grade_files`).
    """
    source = (
        GivenProblem(Path(problem)) if problem is not None else SelfCheck(note=None, trusted=True)
    )
    return _grade_entry(Entry(Path(path)), graders, source, limits, by_location=False)[1]


def answer_files(paths: list[Path]) -> list[Path]:
    """The answers files named or inside the folders named, in a stable order (entries
    that cannot be graded included: they become error rows)."""
    return [entry.path for entry in find_sheets(paths)]


def grade_files(
    files: Sequence[Path | Entry],
    *,
    problem: str | Path | None = None,
    limits: Limits | None = None,
    progress: Callable[[list[Entry]], Iterable[Entry]] | None = None,
    source: KeySource | None = None,
    done: Callable[[StudentResult], None] | None = None,
    previous: Mapping[str, StudentResult] | None = None,
) -> list[StudentResult]:
    """Grade every file in one process; problems are loaded and solved once each.

    The key comes from ``source`` (else ``problem``, else each sheet's own claim); each
    result's student is where its file is (:func:`nncalc.sources.identity`). One sheet
    that fails for any reason is an error row and the others are graded. ``progress``
    wraps the iteration (the CLI's progress bar); ``done`` receives each new result as it
    is made (the CLI streams them to a file); a file already in ``previous`` (by its
    path) is not graded again. With a :class:`VariantsIndex`, a sheet that matches
    another student's variant better than its own is flagged (:func:`flag_copy`).
    """
    if source is None:
        source = (
            GivenProblem(Path(problem))
            if problem is not None
            else SelfCheck(note=None, trusted=True)
        )
    graders: dict[Path, Grader | NncalcError] = {}
    copies = _CopyCheck(source, graders, limits) if isinstance(source, VariantsIndex) else None
    entries = [f if isinstance(f, Entry) else Entry(Path(f)) for f in files]
    results = []
    with _kept_results() as keep:
        for entry in progress(entries) if progress else entries:
            earlier = previous.get(str(entry.path)) if previous else None
            if earlier is not None:
                results.append(earlier)
                continue
            sheet, result = _grade_entry(entry, graders, source, limits, by_location=True)
            if copies is not None and sheet is not None:
                copies.check(sheet, result)
            results.append(result)
            keep(len(results))
            if done is not None:
                done(result)
    _warn_duplicates(results)
    return results


@contextmanager
def _kept_results(every: int = 256) -> Iterator[Callable[[int], None]]:
    """Results live until the report: keep the cycle collector from walking them again.

    Each full collection walks every object alive, and a class's results (items, answer
    lists) grow to millions of them: on 10,000 sheets the collector took a quarter of
    the run. Every ``every`` results the young objects are collected (what a sheet left
    behind in cycles, cheaply) and what survives is frozen (:func:`gc.freeze`), then
    unfrozen at the end. Left alone when the caller froze objects of its own.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield lambda count: None
        return

    def keep(count: int) -> None:
        if count % every == 0:
            gc.collect(1)
            gc.freeze()

    try:
        yield keep
    finally:
        gc.unfreeze()


def _grade_entry(
    entry: Entry,
    graders: dict[Path, Grader | NncalcError],
    source: KeySource,
    limits: Limits | None,
    *,
    by_location: bool,
) -> tuple[AnswerSheet | None, StudentResult]:
    """One sheet, whatever happens: a result, and the sheet if it could be read."""
    from nncalc.answers import read_sheet

    path = entry.path
    student = source.student_of(identity(path)) if by_location else path.stem
    result = StudentResult(student, shown_path(path))
    if entry.error is not None:
        result.error = str(NncalcError(entry.error, source=shown_path(path)))
        return None, result
    sheet, warnings = None, []
    try:
        sheet = read_sheet(path, claimed=source.reads_claim)
        if by_location:
            if sheet.declared is not None and sheet.declared != student:
                warnings.append(
                    f"the sheet says student: {sheet.declared}; graded as {student} (its file)"
                )
            sheet.student = student
        key = source.problem_for(sheet, sheet.student)
        sheet.problem = key
        result.student, result.problem = sheet.student, str(key)
        try:
            grader = _grader(graders, key, limits)
        except NncalcError as exc:
            raise exc if source.trusted else _without_content(exc) from None
        result = grader.grade(sheet)
    except NncalcError as exc:
        result.error = str(exc)
    except (Exception, MemoryError, RecursionError) as exc:  # one sheet never stops a class
        result.error = f"{path}: could not be graded ({type(exc).__name__})"
    result.warnings += warnings + ([source.note] if source.note else [])
    return (sheet if result.error is None else None), result


def _grader(
    graders: dict[Path, Grader | NncalcError], problem: Path, limits: Limits | None
) -> Grader:
    """The grader of a problem file, loaded and solved once; its failure is kept too."""
    from nncalc.problem import load_problem

    key = Path(os.path.abspath(problem))  # no file-system calls, unlike resolve()
    if key not in graders:
        try:
            graders[key] = Grader(load_problem(problem, limits=limits))
        except NncalcError as exc:
            graders[key] = exc
        except (Exception, MemoryError, RecursionError) as exc:
            graders[key] = NncalcError(
                f"could not be loaded ({type(exc).__name__})", source=str(problem)
            )
    grader = graders[key]
    if isinstance(grader, NncalcError):
        raise grader
    return grader


def _without_content(exc: NncalcError) -> NncalcError:
    """A problem file's error as a sheet's claim may see it: what and where, never its bytes."""
    if exc.line is None and exc.path is None and not exc.message.startswith("invalid YAML"):
        return exc  # about the file itself (no such file, not a regular file, too large)
    return NncalcError("not a valid problem file", source=exc.source, line=exc.line)


def _warn_duplicates(results: list[StudentResult]) -> None:
    """Two sheets of one student: both rows stay, each names the other file."""
    files: dict[str, list[str]] = {}
    for result in results:
        if result.file.endswith(SHEET_SUFFIXES):
            files.setdefault(result.student, []).append(result.file)
    for result in results:
        others = [f for f in files.get(result.student, []) if f != result.file]
        if others:
            result.warnings.append(
                f"another sheet of {result.student}: {', '.join(others)}; both are graded"
            )


# ---------------------------------------------------------------------------
# Copy detection (with --variants)

#: The first quantities of each variant whose exact values are indexed.
COPY_QUANTITIES = 3
#: Decimals kept when comparing a sheet's numbers with a variant's (answers give ~4).
COPY_DECIMALS = 2


def _fingerprint(name: str, values: Any) -> tuple[str, tuple[float, ...]] | None:
    flat = np.ravel(np.asarray(values, dtype=float))
    if flat.size == 0 or not np.isfinite(flat).all():
        return None
    return name, tuple(np.round(flat, COPY_DECIMALS).tolist())


class _CopyCheck:
    """Finds a sheet that matches another student's variant better than its own.

    Candidates come cheaply from an index of every variant's first few exact values
    (rounded); each is confirmed by grading the sheet against the candidate's variant.
    """

    def __init__(
        self,
        source: VariantsIndex,
        graders: dict[Path, Grader | NncalcError],
        limits: Limits | None,
    ) -> None:
        self.source, self.graders, self.limits = source, graders, limits
        self.index: dict[tuple[str, tuple[float, ...]], set[str]] | None = None

    def _build(self) -> dict[tuple[str, tuple[float, ...]], set[str]]:
        index: dict[tuple[str, tuple[float, ...]], set[str]] = {}
        for student, problem in self.source.problems.items():
            try:
                grader = _grader(self.graders, problem, self.limits)
            except NncalcError:
                continue
            for name in grader.names[:COPY_QUANTITIES]:
                key = _fingerprint(name, grader.expected[name])
                if key is not None:
                    index.setdefault(key, set()).add(student)
        return index

    def check(self, sheet: AnswerSheet, result: StudentResult) -> None:
        if result.error is not None or result.full_marks:
            return
        if self.index is None:
            self.index = self._build()
        candidates: set[str] = set()
        for item in result.items:
            key = _fingerprint(item.name, item.answer) if item.answer is not None else None
            candidates |= self.index.get(key, set()) if key is not None else set()
        candidates.discard(result.student)
        best, best_score = None, result.score
        for student in sorted(candidates):
            try:
                other = _grader(self.graders, self.source.problems[student], self.limits)
            except NncalcError:
                continue
            score = other.grade(sheet).score
            if score > best_score:
                best, best_score = student, score
        if best is not None:
            flag_copy(result, best)


def flag_copy(result: StudentResult, student: str) -> None:
    """Mark a sheet that matches ``student``'s key: a warning, and no follow-through credit."""
    why = f"matches the key of {student}'s problem"
    result.copied_from = student
    result.warnings.append(why)
    for item in result.items:
        if item.verdict == "follow_through":
            item.verdict, item.points = "wrong", 0.0
            item.hint = f"no follow-through credit: the sheet {why}"

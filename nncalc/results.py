"""What grading produces: one :class:`StudentResult` per answers file.

Plain dataclasses with no NumPy inside (numbers are lists), so every renderer,
JSON included, can use them directly. In Jupyter a :class:`StudentResult` shows
as its feedback report (HTML, or Markdown), the exact values hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Verdicts, in the order of the symbols the tables show.
VERDICTS = ("correct", "follow_through", "wrong", "missing", "invalid")
SYMBOLS = {"correct": "✓", "follow_through": "↪", "wrong": "✗", "missing": "—", "invalid": "!"}


@dataclass
class ItemResult:
    """The verdict on one quantity of one student's answers."""

    name: str  # canonical name, e.g. "A1"
    label: str  # as shown, e.g. "A1 (H)"; the student's spelling for unknown names
    verdict: str  # one of VERDICTS
    points: float
    max_points: float
    answer: Any = None  # the student's numbers (number, list or list of rows), if readable
    expected: Any = None  # the exact value, same layout
    wrong_entries: list[list[int]] = field(default_factory=list)  # indices of failing entries
    hint: str | None = None  # the likely mistake, or why follow-through was refused
    reason: str | None = None  # for "invalid": what is wrong with the answer


@dataclass
class StudentResult:
    """One answers file: its items, score, and an error if it could not be graded."""

    student: str
    file: str
    problem: str | None = None  # the problem file graded against
    items: list[ItemResult] = field(default_factory=list)
    error: str | None = None  # the file could not be read or its problem not loaded

    @property
    def score(self) -> float:
        return round(sum(item.points for item in self.items), 10)

    @property
    def max_score(self) -> float:
        return round(sum(item.max_points for item in self.items), 10)

    @property
    def full_marks(self) -> bool:
        return self.error is None and self.score >= self.max_score

    # Jupyter's rich display: the feedback report of ``nncalc verify`` (exact values hidden).

    def _repr_markdown_(self) -> str:
        from nncalc.report import to_markdown

        return to_markdown([self], show_expected=False, precision=4, summary=False)

    def _repr_html_(self) -> str:
        from nncalc.report import html_fragment

        return html_fragment([self], show_expected=False, precision=4, summary=False)

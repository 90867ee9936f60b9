"""What grading produces: one :class:`StudentResult` per answers file.

Plain dataclasses with no NumPy inside (numbers are lists), so every renderer,
JSON included, can use them directly. In Jupyter a :class:`StudentResult` shows
as its feedback report (HTML, or Markdown), the exact values hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nncalc.display import NotebookDisplay
from nncalc.vocabulary import ItemKind, Verdict

#: The symbol of each verdict in the tables (the verdicts: :data:`nncalc.vocabulary.VERDICTS`).
SYMBOLS: dict[Verdict, str] = {
    "correct": "✓",
    "follow_through": "↪",
    "wrong": "✗",
    "missing": "—",
    "invalid": "!",
}


@dataclass
class ItemResult:
    """The verdict on one quantity of one student's answers."""

    name: str  # canonical name, e.g. "A1"
    label: str  # as shown, e.g. "A1 (H)"; the student's spelling for unknown names
    verdict: Verdict
    points: float
    max_points: float
    answer: Any = None  # the student's numbers (number, list or list of rows), if readable
    expected: Any = None  # the exact value, same layout
    wrong_entries: list[list[int]] = field(default_factory=list)  # indices of failing entries
    hint: str | None = None  # the likely mistake, or why follow-through was refused
    reason: str | None = None  # for "invalid": what is wrong with the answer
    marked_on: list[str] = field(default_factory=list)  # the student's own wrong answers used
    #: The answer as the student wrote it: its entries' texts (same layout: 2.3250, 27/20)
    #: where some entry's text is not the shortest form of its number; for "invalid", what
    #: the student wrote, as one text (at most 80 characters, raw: escape it). Else None.
    answer_text: Any = None
    #: "value" (numbers) or "equation" (a formula: ``answer`` is its text as written,
    #: ``expected`` the engine's equation; when it parses, ``formula`` is it in the course's
    #: notation, δ2·Hᵀ, and ``latex`` typeset).
    kind: ItemKind = "value"
    formula: str | None = None
    latex: str | None = None

    @property
    def key(self) -> str:
        """What tells items apart across a class: the name, and the kind for formulas."""
        return self.name if self.kind == "value" else f"{self.name}="


@dataclass
class StudentResult(NotebookDisplay):
    """One answers file: its items, score, and an error if it could not be graded."""

    student: str
    file: str
    problem: str | None = None  # the problem file graded against
    items: list[ItemResult] = field(default_factory=list)
    error: str | None = None  # the file could not be read or its problem not loaded
    #: What a reader of the grade must know: a contradicting ``student:`` field, another
    #: sheet with the same identity, a self-check, a sheet that matches another's key.
    warnings: list[str] = field(default_factory=list)
    copied_from: str | None = None  # the student whose variant's key the sheet matches

    @property
    def score(self) -> float:
        return round(sum(item.points for item in self.items), 10)

    @property
    def max_score(self) -> float:
        return round(sum(item.max_points for item in self.items), 10)

    @property
    def full_marks(self) -> bool:
        return self.error is None and self.score >= self.max_score


def result_to_dict(result: StudentResult) -> dict[str, Any]:
    """The result as plain data, as :func:`dataclasses.asdict` gives it, without its deep
    copy of every answer (the fields hold only JSON's types): ``verify -o`` streams one
    per sheet, and ``asdict`` took longer than grading the sheet."""
    return {**vars(result), "items": [vars(item) for item in result.items]}


def result_from_dict(data: dict[str, Any]) -> StudentResult:
    """A result back from :func:`result_to_dict` (as ``verify -o`` streams them to resume)."""
    items = [ItemResult(**item) for item in data.get("items", [])]
    return StudentResult(**{**data, "items": items})

"""Answers files: what a student submits, read safely and leniently.

```yaml
problem: ../problems/a4.yaml     # relative to this file (``--problem`` overrides)
student: s1234567                # optional; default: the file name
answers:
  Z1: [1.35, 0.35, 0.6]
  W1': [[0.0993, -0.1993, 0.2997, 0.3987], ...]
equations:                       # optional: the formulas, judged by nncalc.derivations
  Z1: W1 x + b1
  delta1: (W2^T delta2) ⊙ f'(Z1)
```

Only the file's structure is checked here; each answer's numbers are judged by
:mod:`nncalc.grading`, so one bad answer never stops the others being graded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from nncalc.errors import NncalcError
from nncalc.yamlio import MAX_FILE_BYTES, load_yaml_file, shown_path

_KEYS = ("problem", "student", "answers", "equations")

#: How much of an unreadable answer a report shows (:func:`written_text`).
WRITTEN_LIMIT = 80


@dataclass
class Answer:
    """One answer as written: the key the student used, the raw YAML value, its line."""

    written: str
    raw: Any
    line: int | None = None


@dataclass
class AnswerSheet:
    file: str
    student: str
    problem: Path | None  # resolved against the answers file's folder
    answers: list[Answer] = field(default_factory=list)
    equations: list[Answer] = field(default_factory=list)  # raw: the formula's text
    claim: str | None = None  # the ``problem:`` field as written: a claim, checked by the grader
    declared: str | None = None  # the ``student:`` field as written, if any


def load_answers(path: str | Path, *, problem: str | Path | None = None) -> AnswerSheet:
    """Read an answers file; ``problem`` (``--problem``) overrides the file's own."""
    sheet = read_sheet(path, claimed=problem is None)
    if problem is not None:
        sheet.problem = Path(problem)
    elif sheet.claim is None:
        raise NncalcError(
            "missing 'problem' (the problem file); or pass --problem", source=str(path)
        )
    return sheet


def read_sheet(
    path: str | Path, *, claimed: bool = True, max_bytes: int = MAX_FILE_BYTES
) -> AnswerSheet:
    """Read an answers file without choosing its problem: ``problem`` is the claim resolved
    lexically against the file's folder (None without a claim); the grader decides.
    With ``claimed=False`` (the problem is given) the ``problem:`` field is not read."""
    doc = load_yaml_file(path, max_bytes=max_bytes, written=True)
    data = doc.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise doc.error("", "expected a mapping with 'answers' (and 'problem', 'student')")
    for key in data:
        if key not in _KEYS:
            raise doc.error(str(key), f"unknown key {key!r}; expected one of: {', '.join(_KEYS)}")
    student = data.get("student")
    if student is not None and (not isinstance(student, (str, int)) or isinstance(student, bool)):
        raise doc.error("student", "expected a student id (text)")
    claim = data.get("problem") if claimed else None
    if claim is not None and not isinstance(claim, str):
        raise doc.error("problem", "expected the path of the problem file")
    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise doc.error("answers", "expected a mapping of quantity names to numbers")
    declared = None if student is None else str(student)
    sheet = AnswerSheet(
        shown_path(path),
        declared if declared is not None else Path(path).stem,
        None if claim is None else Path(os.path.normpath(Path(path).parent / claim)),
        claim=claim,
        declared=declared,
    )
    for key, value in answers.items():
        sheet.answers.append(Answer(str(key), value, doc.line(f"answers.{key}")))
    equations = data.get("equations")
    if equations is None:
        equations = {}
    if not isinstance(equations, dict):
        raise doc.error("equations", "expected a mapping of quantity names to formulas")
    for key, value in equations.items():
        if isinstance(value, (list, dict)):
            raise doc.error(f"equations.{key}", "expected a formula (text), e.g. W1 x + b1")
        text = None if value is None else str(value)
        sheet.equations.append(Answer(str(key), text, doc.line(f"equations.{key}")))
    return sheet


def written_text(raw: Any, limit: int = WRITTEN_LIMIT) -> str:
    """An answer as the student wrote it, on one line, for a report to show when it cannot
    be read as numbers: ``[1, two, 3]``, ``abc``, ``{a: 1}`` (YAML's flow style, unquoted).

    At most ``limit`` characters, the last one ``…`` when cut; a huge answer is read only
    as far as that. The text is raw: each report escapes it (:mod:`nncalc.escape`).
    """
    pieces: list[str] = []
    size = 0

    def add(text: str) -> bool:
        """Append; False once past the limit, which stops the walk."""
        nonlocal size
        pieces.append(text)
        size += len(text)
        return size <= limit

    def flow(opening: str, closing: str, entries: Iterable[Callable[[], bool]]) -> bool:
        """``[a, b]`` or ``{k: v}``, each entry shown by its own function."""
        if not add(opening):
            return False
        for n, show in enumerate(entries):
            if (n and not add(", ")) or not show():
                return False
        return add(closing)

    def pair(key: Any, value: Any) -> bool:
        return walk(key) and add(": ") and walk(value)

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return flow("{", "}", (partial(pair, k, v) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return flow("[", "]", (partial(walk, v) for v in value))
        if value is None or isinstance(value, bool):
            return add({None: "null", True: "true", False: "false"}[value])
        return add(str(value))

    walk(raw)
    text = "".join(pieces)
    return text if len(text) <= limit else text[: limit - 1] + "…"

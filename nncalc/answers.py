"""Answers files: what a student submits, read safely and leniently.

```yaml
problem: ../problems/a4.yaml     # relative to this file (``--problem`` overrides)
student: s1234567                # optional; default: the file name
answers:
  Z1: [1.35, 0.35, 0.6]
  W1': [[0.0993, -0.1993, 0.2997, 0.3987], ...]
```

Only the file's structure is checked here; each answer's numbers are judged by
:mod:`nncalc.grading`, so one bad answer never stops the others being graded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nncalc.yamlio import load_yaml_file

_KEYS = ("problem", "student", "answers")


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


def load_answers(path: str | Path, *, problem: str | Path | None = None) -> AnswerSheet:
    """Read an answers file; ``problem`` (``--problem``) overrides the file's own."""
    doc = load_yaml_file(path)
    data = doc.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise doc.error("", "expected a mapping with 'answers' (and 'problem', 'student')")
    for key in data:
        if key not in _KEYS:
            raise doc.error(str(key), f"unknown key {key!r}; expected one of: {', '.join(_KEYS)}")
    student = data.get("student")
    if student is None:
        student = Path(path).stem
    elif not isinstance(student, (str, int)) or isinstance(student, bool):
        raise doc.error("student", "expected a student id (text)")
    problem_path = Path(problem) if problem is not None else None
    if problem_path is None:
        written = data.get("problem")
        if written is None:
            raise doc.error("", "missing 'problem' (the problem file); or pass --problem")
        if not isinstance(written, str):
            raise doc.error("problem", "expected the path of the problem file")
        problem_path = Path(os.path.normpath(Path(path).parent / written))
    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise doc.error("answers", "expected a mapping of quantity names to numbers")
    sheet = AnswerSheet(str(path), str(student), problem_path)
    for key, value in answers.items():
        sheet.answers.append(Answer(str(key), value, doc.line(f"answers.{key}")))
    return sheet

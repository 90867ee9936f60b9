"""Show grading results: Rich tables, plain text, JSON Lines, CSV, Gradescope, Markdown, HTML.

Every renderer takes the same list of :class:`~nncalc.results.StudentResult`;
only the layout differs.

* ``rich`` / ``plain``: one table per student (quantity, answer, expected with
  ``show_expected``, verdict, points, note) and a ``Total: score / max`` line;
  a file that could not be graded is one line ``file: error``. With more than
  one result (and ``summary``) a class summary follows.
* ``json``: JSON Lines, one object per student, full precision, no summary line.
* ``csv``: a gradebook, one row per student and one column of points per quantity.
* ``gradescope``: Gradescope's ``results.json`` for a single submission.
* ``markdown``: a feedback report per student (a class summary at the end, as above).
* ``html``: the same report as a standalone HTML5 page (inline CSS, no scripts, no
  external resources) to e-mail or post.

**Untrusted text.** Every text that comes from a student or a file (ids, file names,
problem paths, labels, answers shown as text, hints, reasons, errors) goes through the
rule of its format in :mod:`nncalc.escape`: :func:`_text` (rich, plain, Gradescope's
text), :func:`md_escape`, :func:`_h` (HTML), :func:`~nncalc.escape.csv_cell` and
:func:`~nncalc.escape.json_dumps`; control characters are shown escaped (``\\x1b``), never obeyed.

**Wrong entries.** In an answer, an entry listed in ``wrong_entries`` is wrapped
in asterisks, ``*0.5000*``, in every text format; ``rich`` also colours it red,
and Markdown sets it in bold instead (``**0.5000**``). Indices follow the
answer's own shape: ``[i]`` for a vector, ``[i, j]`` for a matrix, ``[i]`` of a
matrix marks the whole row and ``[]`` (or any index of a scalar) the whole value.
HTML highlights it (``<strong><mark>0.5000</mark></strong>``) in a small table.

**Numbers.** Answers and expected values are laid out as :mod:`nncalc.render`
lays out values (vectors as columns, large matrices by their corners); expected
values with ``precision`` decimals, answers with the student's digits as written
(:func:`answer_texts`: 2.325 is never padded to 2.3250). Points, scores and class
statistics are rounded to ``precision`` decimals without trailing zeros (``9.5 / 10``).
JSON and CSV keep full precision; JSON writes a non-finite number in an answer as ``null``.

Rich, and NumPy through :mod:`nncalc.render`, are imported only when a human
format is drawn, so ``json`` and ``csv`` stay fast.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncalc import escape
from nncalc.errors import NncalcError
from nncalc.results import SYMBOLS
from nncalc.vocabulary import REPORT_FORMATS, ReportFormat, Verdict

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from nncalc.results import ItemResult, StudentResult

#: Verdicts as words in tables (``follow_through`` reads better with a hyphen).
VERDICT_WORDS: dict[Verdict, str] = {
    "correct": "correct",
    "follow_through": "follow-through",
    "wrong": "wrong",
    "missing": "missing",
    "invalid": "invalid",
}
VERDICT_STYLES: dict[Verdict, str] = {
    "correct": "green",
    "follow_through": "cyan",
    "wrong": "red",
    "missing": "yellow",
    "invalid": "magenta",
}
#: Verdicts that count as a success in the class summary.
SUCCESS: tuple[Verdict, ...] = ("correct", "follow_through")
WRONG_STYLE = "bold red"

#: The widest line of an unreadable answer in a terminal table (longer ones are folded).
WRITTEN_WIDTH = 24

#: Text safe on a terminal, in plain text and in Gradescope's text (:func:`nncalc.escape.visible`).
_text = escape.visible


@dataclass
class ClassSummary:
    """Statistics over a class's results (graded files only, unless said otherwise)."""

    graded: int  # files graded
    failed: int  # files that could not be graded (``error`` set)
    mean: float | None  # mean score; None when nothing was graded
    median: float | None
    max_score: float | None  # the points available (the largest, if problems differ)
    #: Per quantity name, in the order first seen: the fraction of the graded
    #: students having that quantity whose verdict is correct or follow_through.
    success: dict[str, float] = field(default_factory=dict)
    top_hint: tuple[str, int] | None = None  # the most frequent hint and how often it was given


def render_results(
    results: list[StudentResult],
    fmt: ReportFormat,
    *,
    show_expected: bool = False,
    precision: int = 4,
    color: bool = False,
    width: int | None = None,
    summary: bool = True,
) -> str:
    """The results as text in format ``fmt`` (one of :data:`~nncalc.vocabulary.REPORT_FORMATS`).

    ``show_expected`` adds the exact values; ``summary`` adds a class summary to
    ``rich``, ``plain``, ``markdown``, ``latex`` and ``html`` when there is more than one
    result.
    ``color`` and ``width`` apply to ``rich`` only (``plain`` is 200 wide).
    """
    if fmt == "json":
        return to_json_lines(results, show_expected=show_expected)
    if fmt == "csv":
        return to_csv(results)
    if fmt == "gradescope":
        return to_gradescope(results, show_expected=show_expected, precision=precision)
    with_summary = summary and len(results) > 1
    if fmt == "markdown":
        return to_markdown(
            results, show_expected=show_expected, precision=precision, summary=with_summary
        )
    if fmt == "latex":
        return to_latex(
            results, show_expected=show_expected, precision=precision, summary=with_summary
        )
    if fmt == "html":
        return to_html(
            results, show_expected=show_expected, precision=precision, summary=with_summary
        )
    if fmt in ("rich", "plain"):
        return to_rich_text(
            results,
            show_expected=show_expected,
            precision=precision,
            plain=fmt == "plain",
            color=color,
            width=width,
            summary=with_summary,
        )
    raise NncalcError(f"unknown format {fmt!r}; expected one of {', '.join(REPORT_FORMATS)}")


# ---------------------------------------------------------------------------
# Class summary


def summarize(results: list[StudentResult]) -> ClassSummary:
    """Counts, mean and median score, success rate per quantity and the commonest hint."""
    graded = [r for r in results if r.error is None]
    scores = sorted(r.score for r in graded)
    mean = median = max_score = None
    if scores:
        mean = math.fsum(scores) / len(scores)
        mid = len(scores) // 2
        median = scores[mid] if len(scores) % 2 else (scores[mid - 1] + scores[mid]) / 2
        max_score = max(r.max_score for r in graded)
    having: dict[str, int] = {}
    succeeded: dict[str, int] = {}
    for result in graded:
        for name in dict.fromkeys(item.key for item in result.items):
            having[name] = having.get(name, 0) + 1
            succeeded.setdefault(name, 0)
        for name in {item.key for item in result.items if item.verdict in SUCCESS}:
            succeeded[name] += 1
    top = _hint_counts(graded).most_common(1)
    return ClassSummary(
        graded=len(graded),
        failed=len(results) - len(graded),
        mean=mean,
        median=median,
        max_score=max_score,
        success={name: succeeded[name] / count for name, count in having.items()},
        top_hint=top[0] if top else None,
    )


def _labels(results: Sequence[StudentResult]) -> dict[str, str]:
    """The first label seen for each item (:attr:`~nncalc.results.ItemResult.key`)."""
    labels: dict[str, str] = {}
    for result in results:
        for item in result.items:
            labels.setdefault(item.key, item.label)
    return labels


def _summary_rows(results: list[StudentResult], precision: int) -> list[tuple[str, str]]:
    """The class summary's rows; with sheets for more than one problem, the scores of
    each problem's sheets, out of that problem's own points (never a4's 10 as 14)."""
    s = summarize(results)
    rows = [("graded files", str(s.graded)), ("failed files", str(s.failed))]
    problems = by_problem(results)
    if len(problems) > 1:
        for problem, group in problems.items():
            rows.append(("problem", f"{problem} ({len(group)} graded)"))
            rows += _score_rows(summarize(group), precision)
    else:
        rows += _score_rows(s, precision)
    if s.top_hint is not None:
        hint, count = s.top_hint
        rows.append(("most frequent hint", f"{hint} ({count}×)"))
    return rows


def by_problem(results: list[StudentResult]) -> dict[str, list[StudentResult]]:
    """The graded results by the problem they were graded against, in the order first seen."""
    groups: dict[str, list[StudentResult]] = {}
    for result in results:
        if result.error is None:
            groups.setdefault(result.problem or "", []).append(result)
    return groups


def _score_rows(s: ClassSummary, precision: int) -> list[tuple[str, str]]:
    out_of = f" / {fmt_points(s.max_score, precision)}" if s.max_score is not None else ""
    return [
        (what, "—" if value is None else f"{fmt_points(value, precision)}{out_of}")
        for what, value in (("mean score", s.mean), ("median score", s.median))
    ]


def _success_rows(results: list[StudentResult]) -> list[tuple[str, str]]:
    return [(label, fmt_percent(rate)) for label, rate in _success_rates(results)]


# ---------------------------------------------------------------------------
# Numbers and values


def fmt_points(value: float, precision: int) -> str:
    """Points and scores: ``precision`` decimals at most, no trailing zeros (``9.5``, ``10``)."""
    text = f"{value:.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_percent(fraction: float) -> str:
    return f"{fmt_points(100 * fraction, 1)}%"


def _verdict_text(verdict: Verdict) -> str:
    return f"{SYMBOLS.get(verdict, '?')} {VERDICT_WORDS.get(verdict, verdict)}"


def error_line(result: StudentResult) -> str:
    """``file: error``, without repeating the file when the error already starts with it."""
    error = result.error or ""
    return error if error.startswith(result.file) else f"{result.file}: {error}"


def warnings_text(result: StudentResult) -> str:
    """The result's warnings in one line ("warning: …; …"), or "" (shown in every format)."""
    return f"warning: {'; '.join(result.warnings)}" if result.warnings else ""


def _note(item: ItemResult) -> str:
    return "; ".join(text for text in (item.reason, item.hint, marked_on_text(item)) if text)


def marked_on_text(item: ItemResult) -> str:
    """In plain words, the student's own earlier answers an item was marked on."""
    if not item.marked_on:
        return ""
    names = item.marked_on
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"marked using your {listed}, which {'was' if len(names) == 1 else 'were'} wrong"


def _lists(value: Any) -> Any:
    """Arrays as nested lists (results hold lists, but an array may slip in)."""
    return value.tolist() if hasattr(value, "tolist") else value


#: One line of a laid-out value: (text, marked) pieces.
Line = list[tuple[str, bool]]


def value_lines(
    value: Any, wrong: list[list[int]], precision: int, texts: Any = None
) -> list[Line]:
    """The value laid out as :func:`nncalc.render.matrix_text` does, wrong entries marked
    (``*0.5000*``; the others padded to match, `` 0.2500 ``); ``texts``, the entries as
    written (:func:`answer_texts`), are shown instead of the formatted numbers.

    Unreadable values (not numbers, ragged rows) are shown as Python writes them.
    """
    from nncalc.render import bracket_pairs, column_widths, marked_grid, matrix_text

    value = _lists(value)
    if value is None:
        return []
    unreadable: list[Line] = [[(_text(str(value)), False)]]
    if not wrong:
        try:
            laid = matrix_text(value, precision, texts)
            return [[(line, False)] for line in laid.split("\n")]
        except (TypeError, ValueError, IndexError):
            return unreadable
    layout = marked_grid(value, precision, wrong, texts)
    if layout is None:
        return unreadable
    if layout.ndim == 0:
        return [[(f"*{layout.rows[0][0][0]}*", True)]]
    shown = [
        [(f"*{text}*" if mark else f" {text} ", mark) for text, mark in row] for row in layout.rows
    ]
    widths = column_widths([[text for text, _ in row] for row in shown])
    lines: list[Line] = []
    for row, (left, right) in zip(shown, bracket_pairs(len(shown)), strict=True):
        line: Line = [(left, False)]
        for j, (text, mark) in enumerate(row):
            line += [(" " * (widths[j] - len(text) + (j > 0)), False), (text, mark)]
        lines.append([*line, (right, False)])
    return lines


def value_text(value: Any, wrong: list[list[int]], precision: int, texts: Any = None) -> str:
    return "\n".join(
        "".join(text for text, _ in line) for line in value_lines(value, wrong, precision, texts)
    )


def answer_texts(item: ItemResult) -> Any:
    """A student's answer as they wrote it, entry by entry (2.325 stays 2.325, never padded
    to 2.3250; 2.3250 stays 2.3250): the texts kept when reading, else each number's
    shortest form, which is what the file said."""
    if item.answer_text is not None:
        return _escaped_texts(item.answer_text)
    return _shortest_texts(_lists(item.answer))


def _escaped_texts(texts: Any) -> Any:
    """Texts from a student's file, made visible (the format's own escaping follows)."""
    if isinstance(texts, list):
        return [_escaped_texts(t) for t in texts]
    return _text(texts) if isinstance(texts, str) else None


def _shortest_texts(value: Any) -> Any:
    if isinstance(value, list):
        return [_shortest_texts(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


# ---------------------------------------------------------------------------
# Rich tables and plain text


def to_rich_text(
    results: list[StudentResult],
    *,
    show_expected: bool,
    precision: int,
    plain: bool,
    color: bool,
    width: int | None,
    summary: bool,
) -> str:
    from rich.text import Text

    from nncalc.render import console_text, rich_table, text_console

    console, out = text_console(plain=plain, color=color, width=width)
    for result in results:
        if result.warnings:
            console.print(Text(_text(warnings_text(result)), style="bold yellow"))
        if result.error is not None:
            console.print(Text(_text(error_line(result)), style="bold red"))
            continue
        table = rich_table(
            Text(f"{_text(result.student)} ({_text(result.file)})"),
            plain=plain,
            show_lines=not plain,
            caption=Text(f"graded against {_text(result.problem)}") if result.problem else None,
            caption_justify="left",
        )
        rows = []
        for item in result.items:
            cells = [Text(_text(item.label)), _rich_answer(item, precision)]
            if show_expected:
                cells.append(_rich_value(item.expected, [], precision))
            cells += [
                Text(_verdict_text(item.verdict), style=VERDICT_STYLES.get(item.verdict, "")),
                Text(
                    f"{fmt_points(item.points, precision)} / "
                    f"{fmt_points(item.max_points, precision)}"
                ),
                Text(_text(_note(item))),
            ]
            rows.append(cells)
        # On a narrow terminal Rich shrinks every column; keep the short ones readable.
        v = 3 if show_expected else 2  # the verdict column
        table.add_column(
            "quantity", style="bold cyan", no_wrap=True, min_width=_widest(rows, 0, 16)
        )
        table.add_column("answer", no_wrap=True)
        if show_expected:
            table.add_column("expected", no_wrap=True)
        table.add_column("verdict", no_wrap=True, min_width=_widest(rows, v, 20))
        table.add_column(
            "points", no_wrap=True, justify="right", min_width=_widest(rows, v + 1, 20)
        )
        table.add_column("note", overflow="fold", min_width=_widest(rows, v + 2, 16))
        for cells in rows:
            table.add_row(*cells)
        # Columns that never wrap (all but the note, which needs a word's width) and
        # each column's padding and rule: wider than the console, Rich drops columns.
        widths = [_widest(rows, n, cap=console.width) for n in range(v + 2)]
        note = max((_line_width(row[-1], longest_word=True) for row in rows), default=0)
        if sum(widths) + min(note, 16) + 3 * (len(widths) + 1) + 1 <= console.width:
            console.print(table)
        else:  # too narrow for the table (an 80-column terminal): a block per item
            _print_stacked(console, table, rows)
        total = f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
        console.print(Text(f"Total: {total}", style="bold"))
        console.print()
    if summary:
        _print_summary(console, results, precision, plain=plain)
    return console_text(out)


def _print_stacked(console: Console, table: Table, rows: list[list[Text]]) -> None:
    """The table's rows one below the other: the quantity, its verdict and points on one
    line, then (indented) the answer, the expected value and the note, which wraps. Where
    the table does not fit, Rich would drop its last columns: the points and the hints."""
    from rich.padding import Padding
    from rich.text import Text

    if table.title is not None:
        console.print(table.title, style="bold")
    label_width = min(20, max(_line_width(cells[0]) for cells in rows))
    verdict_width = max(_line_width(cells[-3]) for cells in rows)
    for cells in rows:
        label, answer, *middle, verdict, points, note = cells
        console.print(
            Text.assemble(
                (label.plain.ljust(label_width), "bold cyan"),
                "  ",
                (verdict.plain.ljust(verdict_width), verdict.style),
                "  ",
                points,
            )
        )
        for part in [answer, *middle]:
            if part.plain:
                console.print(Padding(part, (0, 0, 0, 4)), no_wrap=True, crop=False)
        if note.plain:
            console.print(Padding(note, (0, 0, 0, 4)))
    if table.caption is not None:
        console.print(table.caption)


def _line_width(text: Text, *, longest_word: bool = False) -> int:
    """The cells of a text's longest line (or word)."""
    from rich.cells import cell_len

    parts = text.plain.split() if longest_word else text.plain.split("\n")
    return max((cell_len(part) for part in parts), default=0)


def _widest(rows: list[list[Text]], column: int, cap: int) -> int:
    return min(cap, max((_line_width(row[column]) for row in rows), default=0))


def _rich_answer(item: ItemResult, precision: int) -> Text:
    """The answer's numbers; for an unreadable answer, what the student wrote (folded)."""
    from rich.text import Text

    if item.answer is None and item.answer_text:
        shown = _text(item.answer_text)
        width = WRITTEN_WIDTH  # folded: a long text must not squeeze the other columns
        lines = [shown[i : i + width] for i in range(0, len(shown), width)]
        return Text("\n".join(lines), style="magenta")
    return _rich_value(item.answer, item.wrong_entries, precision, answer_texts(item))


def _rich_value(value: Any, wrong: list[list[int]], precision: int, texts: Any = None) -> Text:
    from rich.text import Text

    text = Text()
    for n, line in enumerate(value_lines(value, wrong, precision, texts)):
        if n:
            text.append("\n")
        for piece, marked in line:
            text.append(piece, style=WRONG_STYLE if marked else "")
    return text


def _print_summary(
    console: Console, results: list[StudentResult], precision: int, *, plain: bool
) -> None:
    from rich.text import Text

    from nncalc.render import rich_table

    def table(title: str, *columns: str) -> Table:
        t = rich_table(title, plain=plain)
        for n, column in enumerate(columns):
            t.add_column(column, style="bold cyan" if n == 0 else "", overflow="fold")
        return t

    overview = table("Class summary", "", "")
    overview.show_header = False
    for what, value in _summary_rows(results, precision):
        overview.add_row(Text(what), Text(_text(value)))
    console.print(overview)
    rates = _success_rows(results)
    if rates:
        success = table("Success by quantity", "quantity", "correct or follow-through")
        for label, rate in rates:
            success.add_row(Text(_text(label)), Text(rate))
        console.print(success)


# ---------------------------------------------------------------------------
# JSON Lines


def _jsonable(value: Any) -> Any:
    """Plain JSON data: arrays as lists, non-finite numbers as None."""
    value = _lists(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_dict(result: StudentResult, *, show_expected: bool) -> dict[str, Any]:
    """One student's result as a JSON-ready dict (the object of one JSON line)."""
    head: dict[str, Any] = {
        "student": result.student,
        "file": result.file,
        "problem": result.problem,
    }
    if result.warnings:
        head["warnings"] = list(result.warnings)
    if result.error is not None:
        return {**head, "score": 0, "max_score": None, "error": result.error}
    items = []
    for item in result.items:
        entry: dict[str, Any] = {
            "name": item.name,
            "kind": item.kind,
            "label": item.label,
            "verdict": item.verdict,
            "points": item.points,
            "max_points": item.max_points,
            "answer": _jsonable(item.answer),
        }
        if item.answer_text is not None:  # as written: digits (2.3250), or an invalid answer
            entry["answer_text"] = item.answer_text
        if show_expected:
            entry["expected"] = _jsonable(item.expected)
        entry |= {
            "wrong_entries": [list(index) for index in item.wrong_entries],
            "hint": item.hint,
            "reason": item.reason,
        }
        if item.marked_on:  # marked on the student's own wrong earlier answers
            entry["marked_on"] = item.marked_on
        if item.latex:  # a formula, typeset
            entry["latex"] = item.latex
        items.append(entry)
    return {**head, "score": result.score, "max_score": result.max_score, "items": items}


def to_json_lines(results: list[StudentResult], *, show_expected: bool) -> str:
    return "".join(
        escape.json_dumps(result_dict(r, show_expected=show_expected), allow_nan=False) + "\n"
        for r in results
    )


# ---------------------------------------------------------------------------
# CSV gradebook


def _csv_number(value: float) -> str:
    """Full precision, without a needless ``.0`` (``1``, ``0.5``, ``0.3333333333333333``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(results: list[StudentResult]) -> str:
    """A gradebook: a row per sheet, its problem, a column of points per graded quantity.

    A sheet that could not be graded has no score (an empty cell, which a gradebook
    import leaves alone), not 0, which it would record as a grade.
    """
    # A column for each quantity that carries points (not for ungraded or unknown names).
    graded = {item.key for result in results for item in result.items if item.max_points}
    names = [name for name in _labels(results) if name in graded]
    columns = [name.replace("=", " equation") for name in names]
    head = ["student", "file", "problem", *columns, "score", "max_score", "error", "warning"]
    # Texts are escaped (:func:`nncalc.escape.csv_cell`: shown, never run as a formula);
    # numbers are written by :func:`_csv_number` and need no escaping.
    text = escape.csv_cell
    rows: list[list[str]] = [[text(cell) for cell in head]]
    for result in results:
        student = [text(result.student), text(result.file), text(result.problem or "")]
        warning = text("; ".join(result.warnings))
        if result.error is not None:
            blank = [""] * len(names)
            rows.append([*student, *blank, "", "", text(result.error), warning])
            continue
        points: dict[str, float] = {}
        for item in result.items:
            key = item.key
            points[key] = points.get(key, 0.0) + item.points
        rows.append(
            [
                *student,
                *[_csv_number(points[name]) if name in points else "" for name in names],
                _csv_number(result.score),
                _csv_number(result.max_score),
                "",
                warning,
            ]
        )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Gradescope


def to_gradescope(results: list[StudentResult], *, show_expected: bool, precision: int) -> str:
    """Gradescope's ``results.json`` (autograder specification) for one submission.

    Top level: ``score`` (set explicitly, so it is the total), ``output`` and
    ``tests``; each quantity is a test with ``name``, ``score``, ``max_score``,
    ``status`` (``passed`` only with full points for a correct or follow-through
    answer) and ``output`` (plain text,
    shown by Gradescope in a ``<pre>`` block).
    """
    if len(results) != 1:
        raise NncalcError(
            f"the gradescope format grades one submission at a time; got {len(results)}"
        )
    result = results[0]
    warning = f"\n{_text(warnings_text(result))}" if result.warnings else ""
    if result.error is not None:
        output = _text(error_line(result)) + warning
        doc: dict[str, Any] = {"score": 0, "output": output, "tests": []}
        return escape.json_dumps(doc, indent=2, allow_nan=False) + "\n"
    counts = Counter(item.verdict for item in result.items)
    tally = ", ".join(f"{counts[v]} {VERDICT_WORDS[v]}" for v in VERDICT_WORDS if counts[v])
    total = f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
    tests = []
    for item in result.items:
        lines = [_verdict_text(item.verdict)]
        if item.answer is None and isinstance(item.answer_text, str):  # an invalid answer
            lines.append(f"You wrote: {_text(item.answer_text)}")
        if item.reason:
            lines.append(_text(item.reason))
        if item.hint:
            lines.append(f"Hint: {_text(item.hint)}")
        if item.marked_on:
            lines.append(_text(marked_on_text(item)))
        if item.wrong_entries and item.answer is not None:
            lines += ["Your answer (wrong entries *marked*):"]
            lines.append(value_text(item.answer, item.wrong_entries, precision, answer_texts(item)))
        if show_expected and item.expected is not None:
            lines += ["Expected:", value_text(item.expected, [], precision)]
        tests.append(
            {
                "name": _text(item.label),
                "score": item.points,
                "max_score": item.max_points,
                "status": "passed" if _passed(item) else "failed",
                "output": "\n".join(lines),
            }
        )
    doc = {
        "score": result.score,
        "output": f"Total: {total}" + (f" ({tally})" if tally else "") + warning,
        "tests": tests,
    }
    return escape.json_dumps(doc, indent=2, allow_nan=False) + "\n"


def _passed(item: ItemResult) -> bool:
    """Full points, and a verdict that says so (a wrong answer worth 0 / 0 still fails)."""
    return item.verdict in SUCCESS and item.points >= item.max_points


# ---------------------------------------------------------------------------
# Markdown


#: Text safe on a Markdown line or in a table cell (:func:`nncalc.escape.markdown`): one
#: line, control characters shown escaped, structure characters backslashed.
md_escape = escape.markdown


def md_value(value: Any, wrong: list[list[int]], precision: int, texts: Any = None) -> str:
    """A value on one line: ``[a, b; c, d]`` (rows split by ``;``), wrong entries in bold;
    ``texts``: the entries as written (:func:`answer_texts`)."""
    from nncalc.render import marked_grid

    value = _lists(value)
    if value is None:
        return ""
    layout = marked_grid(value, precision, wrong, texts)
    if layout is None:
        return md_escape(str(value))
    cells = [[(text if texts is None else md_escape(text), mark) for text, mark in row]
             for row in layout.rows]  # fmt: skip
    rows = [[f"**{text}**" if mark else text for text, mark in row] for row in cells]
    if layout.ndim == 0:
        return rows[0][0]
    return f"[{'; '.join(', '.join(entry for entry in row if entry) for row in rows)}]"


def md_formula(item: ItemResult) -> str:
    """A formula as written (code) and typeset (``$…$``, from nncalc's own LaTeX of the
    parsed formula, so nothing the student typed reaches the page unescaped)."""
    if item.kind != "equation" or item.answer is None:
        return ""
    written = md_escape(str(item.answer))
    shown = f"`{written}`" if "`" not in written else written
    return f"{shown} ${item.latex}$" if item.latex and not set("|$`\n") & set(item.latex) else shown


def to_markdown(
    results: list[StudentResult], *, show_expected: bool, precision: int, summary: bool
) -> str:
    lines: list[str] = []
    for result in results:
        lines += [f"# Feedback: {md_escape(result.student)}", ""]
        where = f"File: {md_escape(result.file)}"
        if result.problem:
            where += f" · problem: {md_escape(result.problem)}"
        lines += [where, ""]
        if result.warnings:
            lines += [f"**{md_escape(warnings_text(result))}**", ""]
        if result.error is not None:
            lines += [f"**Could not be graded:** {md_escape(error_line(result))}", ""]
            continue
        head = ["quantity", "answer", *(["expected"] if show_expected else [])]
        head += ["verdict", "points", "note"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("| " + " | ".join("---:" if h == "points" else "---" for h in head) + " |")
        for item in result.items:
            answer = md_formula(item) or md_value(
                item.answer, item.wrong_entries, precision, answer_texts(item)
            )
            row = [md_escape(item.label), answer or md_escape(item.answer_text or "")]
            if show_expected:
                row.append(md_value(item.expected, [], precision))
            row += [
                _verdict_text(item.verdict),
                f"{fmt_points(item.points, precision)} / {fmt_points(item.max_points, precision)}",
                md_escape(_note(item)),
            ]
            lines.append("| " + " | ".join(row) + " |")
        total = f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
        lines += ["", f"**Total: {total}**", ""]
    if summary:
        lines += ["# Class summary", ""]
        lines += [
            f"- {what}: {md_escape(value)}" for what, value in _summary_rows(results, precision)
        ]
        rates = _success_rows(results)
        if rates:
            lines += ["", "| quantity | correct or follow-through |", "| --- | ---: |"]
            lines += [f"| {md_escape(label)} | {rate} |" for label, rate in rates]
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# LaTeX


def _tex_entry(text: str, mark: bool) -> str:
    """One entry of an answer in math mode: a number as it is, anything the student
    wrote otherwise (27/20, 21.82%) as escaped text; a wrong entry boxed."""
    from nncalc.render import latex_number

    if escape.is_number(text):  # as formatted, or written plainly: 2.3250, +1.5, 1e-3
        shown = latex_number(text)
    elif text in ("⋮", "…"):  # the gaps of a shortened value
        shown = r"\vdots" if text == "⋮" else r"\cdots"
    else:
        shown = rf"\text{{{escape.latex(text)}}}" if text else ""
    return rf"\boxed{{{shown}}}" if mark else shown


def tex_value(value: Any, wrong: list[list[int]], precision: int, texts: Any = None) -> str:
    """A value in inline math, wrong entries boxed; ``texts``: the entries as written."""
    from nncalc.render import marked_grid

    value = _lists(value)
    if value is None:
        return ""
    layout = marked_grid(value, precision, wrong, texts)
    if layout is None:
        return rf"\texttt{{{escape.latex(str(value))}}}"
    rows = [[_tex_entry(text, mark) for text, mark in row] for row in layout.rows]
    if layout.ndim == 0:
        return f"${rows[0][0]}$"
    body = r" \\ ".join(" & ".join(row) for row in rows)
    matrix = rf"$\left(\begin{{array}}{{{'r' * len(rows[0])}}} {body} \end{{array}}\right)$"
    # shrunk to its column when wider (graphicx reads \width, the natural width)
    return rf"\resizebox{{\ifdim\width>\linewidth\linewidth\else\width\fi}}{{!}}{{{matrix}}}"


def _tex_answer(item: ItemResult, precision: int) -> str:
    """The answer: numbers, a formula as written and typeset, or what the student wrote."""
    if item.answer is None and item.answer_text:
        return rf"\texttt{{{escape.latex(item.answer_text)}}}"
    if item.kind == "equation" and item.answer is not None:
        written = rf"\texttt{{{escape.latex(str(item.answer))}}}"
        # nncalc's own LaTeX of the parsed formula: only its commands, names and numbers
        typeset = item.latex and item.latex.isascii()
        return written + (rf"\newline ${item.latex}$" if typeset else "")
    return tex_value(item.answer, item.wrong_entries, precision, answer_texts(item))


def to_latex(
    results: list[StudentResult], *, show_expected: bool, precision: int, summary: bool
) -> str:
    """A LaTeX document (pdflatex): a page of feedback per sheet, then the class summary.

    Every text is ASCII by :func:`nncalc.escape.latex`, so no name or answer, in any
    script, can stop the document from compiling or run a command."""
    from nncalc.render import LATEX_PREAMBLE

    # quantity, answer, [expected,] verdict, points, note: fixed widths, 15.5 cm in all
    # with the gaps: the table fits A4 and Letter, and one pdflatex run lays it out
    widths = ["2cm", "3.9cm", "3cm"] if show_expected else ["2cm", "6cm"]
    widths += ["2.4cm", "1.6cm", "2.6cm" if show_expected else "3.5cm"]
    ragged = [r"\raggedright"] * len(widths)
    ragged[-2] = r"\raggedleft"  # the points
    columns = "".join(
        rf">{{{r}\arraybackslash}}p{{{w}}}" for r, w in zip(ragged, widths, strict=True)
    )
    head = ["quantity", "answer", *(["expected"] if show_expected else [])]
    head += ["verdict", "points", "note"]
    lines = [
        *LATEX_PREAMBLE,
        r"\usepackage{array,booktabs,graphicx,longtable}",
        r"\begin{document}",
    ]
    lines += [r"\setlength{\parindent}{0pt}\setlength{\tabcolsep}{4pt}\setlength{\fboxsep}{1.5pt}"]
    lines += [r"\setlength{\arraycolsep}{3pt}"]
    for result in results:
        lines.append(rf"\section*{{Feedback: {escape.latex(result.student)}}}")
        where = rf"File: \texttt{{{escape.latex(result.file)}}}"
        if result.problem:
            where += rf" \quad problem: \texttt{{{escape.latex(result.problem)}}}"
        lines += [where, ""]
        if result.warnings:
            lines += [rf"\textbf{{{escape.latex(warnings_text(result))}}}", ""]
        if result.error is not None:
            lines += [rf"\textbf{{Could not be graded:}} {escape.latex(error_line(result))}"]
            lines += [r"\clearpage"]
            continue
        lines += [r"{\small", rf"\begin{{longtable}}{{@{{}}{columns}@{{}}}}", r"\toprule"]
        lines += [" & ".join(head) + r" \\", r"\midrule", r"\endhead"]
        for item in result.items:
            row = [escape.latex(item.label), _tex_answer(item, precision)]
            if show_expected:
                row.append(
                    escape.latex(str(item.expected))  # the engine's equation, as text
                    if item.kind == "equation"
                    else tex_value(item.expected, [], precision)
                )
            row += [
                escape.latex(_verdict_text(item.verdict)),
                f"{fmt_points(item.points, precision)} / {fmt_points(item.max_points, precision)}",
                escape.latex(_note(item)),
            ]
            lines.append(" & ".join(row) + r" \\")
        total = f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
        lines += [r"\bottomrule", r"\end{longtable}}", rf"\textbf{{Total: {total}}}"]
        lines += [r"\clearpage"]
    if summary:
        lines += [r"\section*{Class summary}", r"\begin{tabular}{@{}ll@{}}"]
        lines += [
            rf"{escape.latex(what)} & {escape.latex(value)} \\"
            for what, value in _summary_rows(results, precision)
        ]
        lines.append(r"\end{tabular}")
        rates = _success_rows(results)
        if rates:
            lines += [r"\subsection*{Success by quantity}", r"\begin{longtable}{@{}lr@{}}"]
            lines += [r"\toprule quantity & correct or follow-through \\ \midrule"]
            lines += [rf"{escape.latex(label)} & {escape.latex(rate)} \\" for label, rate in rates]
            lines += [r"\bottomrule", r"\end{longtable}"]
    lines += [r"\end{document}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# HTML


#: Text safe in HTML content and attribute values (:func:`nncalc.escape.html`).
_h = escape.html


def html_body(
    results: list[StudentResult],
    *,
    show_expected: bool,
    precision: int,
    summary: bool,
    level: int = 1,
) -> str:
    """The reports as an HTML fragment in a ``<div class="nncalc nncalc-report">``.

    ``level`` is the heading level of each student's heading (the class summary's
    too; its table of success rates is one level lower). No styles, no scripts.
    """
    from nncalc.render import html_value

    h, sub = f"h{level}", f"h{min(level + 1, 6)}"
    parts = ['<div class="nncalc nncalc-report">']
    for result in results:
        parts.append(f'<section class="student">\n<{h}>Feedback: {_h(result.student)}</{h}>')
        where = f"File: <code>{_h(result.file)}</code>"
        if result.problem:
            where += f" · problem: <code>{_h(result.problem)}</code>"
        parts.append(f'<p class="meta">{where}</p>')
        if result.warnings:
            parts.append(f'<p class="warning">{_h(warnings_text(result))}</p>')
        if result.error is not None:
            parts.append(
                f'<p class="error"><strong>Could not be graded:</strong> '
                f"{_h(error_line(result))}</p>\n</section>"
            )
            continue
        head = ["quantity", "answer", *(["expected"] if show_expected else [])]
        head += ["verdict", "points", "note"]
        parts.append('<table class="results">')
        parts.append(
            "<thead><tr>" + "".join(f'<th scope="col">{c}</th>' for c in head) + "</tr></thead>"
        )
        parts.append("<tbody>")
        for item in result.items:
            verdict = item.verdict if item.verdict in VERDICT_WORDS else "unknown"
            cells = [
                f'<th scope="row">{_h(item.label)}</th>',
                f'<td class="num">{_html_answer(item, precision)}</td>',
            ]
            if show_expected:
                cells.append(f'<td class="num">{html_value(item.expected, precision)}</td>')
            points = (
                f"{fmt_points(item.points, precision)} / {fmt_points(item.max_points, precision)}"
            )
            cells += [
                f'<td class="verdict">{_h(_verdict_text(item.verdict))}</td>',
                f'<td class="num">{points}</td>',
                f'<td class="note">{_h(_note(item))}</td>',
            ]
            parts.append(f'<tr class="{verdict}">{"".join(cells)}</tr>')
        parts.append("</tbody>\n</table>")
        total = f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
        parts.append(f'<p class="total"><strong>Total: {total}</strong></p>\n</section>')
    if summary:
        parts.append(f'<section class="class-summary">\n<{h}>Class summary</{h}>')
        parts.append('<table class="summary"><tbody>')
        parts += [
            f'<tr><th scope="row">{_h(what)}</th><td>{_h(value)}</td></tr>'
            for what, value in _summary_rows(results, precision)
        ]
        parts.append("</tbody></table>")
        rates = _success_rows(results)
        if rates:
            parts.append(f"<{sub}>Success by quantity</{sub}>")
            parts.append(
                '<table class="summary"><thead><tr><th scope="col">quantity</th>'
                '<th scope="col">correct or follow-through</th></tr></thead><tbody>'
            )
            parts += [
                f'<tr><th scope="row">{_h(label)}</th><td class="num">{_h(rate)}</td></tr>'
                for label, rate in rates
            ]
            parts.append("</tbody></table>")
        parts.append("</section>")
    parts.append("</div>")
    return "\n".join(parts)


def _html_answer(item: ItemResult, precision: int) -> str:
    """The answer's numbers; for an unreadable answer, what the student wrote."""
    from nncalc.mathml import mathml
    from nncalc.render import html_value

    if item.answer is None and item.answer_text:
        return f'<code class="written">{_h(item.answer_text)}</code>'
    if (
        item.kind == "equation" and item.answer is not None
    ):  # as written, and as the course writes it
        written = f"<code>{_h(str(item.answer))}</code>"
        # typeset (MathML from nncalc's own LaTeX of it), else in the course's notation
        typeset = mathml(item.latex) if item.latex else None
        if typeset is None and item.formula:
            typeset = f'<span class="formula">{_h(item.formula)}</span>'
        return written + (f"<br>{typeset}" if typeset else "")
    return html_value(item.answer, precision, item.wrong_entries, answer_texts(item))


#: The feedback page's own rules, on top of :data:`nncalc.render.HTML_CSS`.
REPORT_CSS = """\
.nncalc section.student { margin-bottom: 2.5em; }
.nncalc .meta { color: #555; }
.nncalc tr.correct td.verdict { color: #1a7f37; }
.nncalc tr.follow_through td.verdict { color: #0a6f8f; }
.nncalc tr.wrong td.verdict { color: #b00020; font-weight: bold; }
.nncalc tr.missing td.verdict { color: #8a6d00; }
.nncalc tr.invalid td.verdict { color: #8b008b; font-weight: bold; }
.nncalc tr.wrong, .nncalc tr.invalid { background: #fff5f5; }
.nncalc .error { color: #b00020; }
.nncalc td.note { max-width: 28em; }
.nncalc td.verdict { white-space: nowrap; }
.nncalc .formula { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", serif;
  font-style: italic; font-size: 1.1em; white-space: nowrap; }
.nncalc math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", math;
  font-size: 1.15em; }
.nncalc code.written { display: inline-block; max-width: 24em; text-align: left; \
white-space: pre-wrap; overflow-wrap: anywhere; color: #8b008b; }
"""


PAGE_CSS = "body { margin: 2em auto; max-width: 60em; padding: 0 1em; }\n"


def html_fragment(
    results: list[StudentResult], *, show_expected: bool, precision: int, summary: bool
) -> str:
    """The reports for embedding (Jupyter): :func:`html_body` with its scoped CSS."""
    from nncalc.render import HTML_CSS

    body = html_body(
        results, show_expected=show_expected, precision=precision, summary=summary, level=3
    )
    return f"<style>{HTML_CSS}{REPORT_CSS}</style>\n{body}"


def to_html(
    results: list[StudentResult], *, show_expected: bool, precision: int, summary: bool
) -> str:
    """A standalone HTML5 page: inline CSS, no scripts, no external resources."""
    if len(results) == 1:
        title = f"Feedback: {results[0].student}"
    else:
        title = f"Feedback ({len(results)} files)" if results else "Feedback"
    body = html_body(results, show_expected=show_expected, precision=precision, summary=summary)
    return _page(title, body)


def _page(title: str, body: str) -> str:
    from nncalc.render import HTML_CSS

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(title)}</title>\n"
        f"<style>\n{PAGE_CSS}{HTML_CSS}{REPORT_CSS}{INDEX_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------
# One page per student, and the class overview for the TA

INDEX_CSS = """\
.nncalc svg { display: block; margin: 0.5em 0 1.5em; }
.nncalc svg text { font: 12px system-ui, sans-serif; fill: #1a1a1a; }
"""
#: Bars of the score histogram.
HISTOGRAM_BINS = 10


def html_pages(
    results: list[StudentResult], *, show_expected: bool, precision: int
) -> dict[str, str]:
    """``index.html`` (the class overview) and one self-contained page per sheet, by file name.

    The overview opens with a histogram of the scores and each quantity's success rate
    (inline SVG: no scripts, nothing fetched), then the mistakes most students made
    (each hint counted once per student), then the students, each linked to their page.
    """
    pages: dict[str, str] = {}
    names = [_page_name(result, pages) for result in results]
    for result, name in zip(results, names, strict=True):
        pages[name] = to_html(
            [result], show_expected=show_expected, precision=precision, summary=False
        )
    pages["index.html"] = _index(results, names, precision)
    return pages


def _page_name(result: StudentResult, taken: dict[str, str]) -> str:
    """A file name for the student's page: the id where it is a safe name, else its safe
    part and a short hash of it; never index.html, never a name already taken."""
    import hashlib

    safe = "".join(
        c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in result.student
    )
    safe = safe.strip(".")[:80] or "student"
    if safe != result.student or safe.lower() == "index":
        safe += "-" + hashlib.sha256(result.student.encode("utf-8", "replace")).hexdigest()[:10]
    name, n = f"{safe}.html", 1
    while name in taken or name == "index.html":
        n += 1
        name = f"{safe}-{n}.html"
    taken[name] = ""
    return name


def _index(results: list[StudentResult], names: list[str], precision: int) -> str:
    graded = [r for r in results if r.error is None]
    parts = ['<div class="nncalc nncalc-report">', "<h1>Class overview</h1>"]
    parts.append('<table class="summary"><tbody>')
    parts += [
        f'<tr><th scope="row">{_h(what)}</th><td>{_h(value)}</td></tr>'
        for what, value in _summary_rows(results, precision)
    ]
    parts.append("</tbody></table>")
    if graded:
        top = max(r.max_score for r in graded) or 1.0
        parts += ["<h2>Scores</h2>", _histogram([r.score / top for r in graded], top, precision)]
        parts.append("<h2>Correct or follow-through, by quantity</h2>")
        parts.append(_bars(_success_rates(results)))
    mistakes = _mistakes(graded)
    if mistakes:
        parts.append("<h2>Most frequent mistakes</h2>")
        parts.append('<table class="summary"><thead><tr><th scope="col">mistake</th>')
        parts.append('<th scope="col">students</th></tr></thead><tbody>')
        parts += [
            f'<tr><td>{_h(hint)}</td><td class="num">{count}</td></tr>' for hint, count in mistakes
        ]
        parts.append("</tbody></table>")
    parts.append("<h2>Students</h2>")
    parts.append(
        '<table class="results"><thead><tr><th scope="col">student</th>'
        '<th scope="col">score</th><th scope="col">note</th></tr></thead><tbody>'
    )
    for result, name in zip(results, names, strict=True):
        if result.error is None:
            score = (
                f"{fmt_points(result.score, precision)} / {fmt_points(result.max_score, precision)}"
            )
        else:
            score = "not graded"
        note = result.error or warnings_text(result)
        parts.append(
            f'<tr><th scope="row"><a href="{_h(name)}">{_h(result.student)}</a></th>'
            f'<td class="num">{_h(score)}</td><td class="note">{_h(note)}</td></tr>'
        )
    parts += ["</tbody></table>", "</div>"]
    return _page(f"Class overview ({len(results)} files)", "\n".join(parts))


def _success_rates(results: list[StudentResult]) -> list[tuple[str, float]]:
    """Each quantity's rate; not for a name that was never one (unknown, answered twice)."""
    labels = _labels(results)
    quantities = {
        item.name
        for result in results
        for item in result.items
        if item.verdict != "invalid" or item.max_points
    }
    rates = summarize(results).success.items()
    return [(labels[name], rate) for name, rate in rates if name in quantities]


def _hint_counts(results: list[StudentResult]) -> Counter[str]:
    """How many students got each hint: once per student, however many of their items it
    was given for (one all-zeros sheet is one student, not seven)."""
    counts: Counter[str] = Counter()
    for result in results:
        # In the items' order, not a set's: ties must not depend on the hash seed.
        counts.update(list(dict.fromkeys(item.hint for item in result.items if item.hint)))
    return counts


def _mistakes(results: list[StudentResult], most: int = 5) -> list[tuple[str, int]]:
    """The hints given to the most students."""
    return _hint_counts(results).most_common(most)


def _histogram(fractions: list[float], top: float, precision: int) -> str:
    """Scores as bars: how many students in each tenth of the maximum."""
    bins = [0] * HISTOGRAM_BINS
    for fraction in fractions:
        bins[min(int(fraction * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width, height, bar = 40, 120, max(bins) or 1
    rects, labels = [], []
    for k, count in enumerate(bins):
        h = round(height * count / bar)
        x = 40 + k * width
        rects.append(
            f'<rect x="{x + 4}" y="{20 + height - h}" width="{width - 8}" height="{h}" '
            f'fill="#4a78c2"><title>{count}</title></rect>'
        )
        if count:
            labels.append(
                f'<text x="{x + width // 2}" y="{14 + height - h}" '
                f'text-anchor="middle">{count}</text>'
            )
        low = fmt_points(top * k / HISTOGRAM_BINS, precision)
        labels.append(f'<text x="{x}" y="{height + 36}" text-anchor="middle">{_h(low)}</text>')
    labels.append(
        f'<text x="{40 + HISTOGRAM_BINS * width}" y="{height + 36}" '
        f'text-anchor="middle">{_h(fmt_points(top, precision))}</text>'
    )
    total_width = 80 + HISTOGRAM_BINS * width
    return (
        f'<svg width="{total_width}" height="{height + 50}" role="img" '
        f'aria-label="histogram of scores">{"".join(rects)}{"".join(labels)}</svg>'
    )


def _bars(rates: list[tuple[str, float]]) -> str:
    """Each quantity's success rate as a horizontal bar, its percentage beside it."""
    row, left, length = 22, 160, 300
    parts = []
    for k, (label, rate) in enumerate(rates):
        y, bar, shown = 10 + k * row, round(length * rate), _h(fmt_percent(rate))
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{_h(label)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{bar}" height="{row - 6}" '
            f'fill="#2e8b57"><title>{shown}</title></rect>'
        )
        parts.append(f'<text x="{left + bar + 6}" y="{y + 14}">{shown}</text>')
    return (
        f'<svg width="{left + length + 60}" height="{20 + row * len(rates)}" role="img" '
        f'aria-label="success rate by quantity">{"".join(parts)}</svg>'
    )

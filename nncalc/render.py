"""Show a solution: Rich tables, plain text, JSON, Markdown or LaTeX.

Every renderer takes the same filtered list of steps; only the layout differs.
:func:`to_html` is the HTML view Jupyter shows for a :class:`~nncalc.engine.Solution`.
Rich is imported only when a table is drawn, so ``--format json`` stays fast.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nncalc import escape
from nncalc.engine import as_rows
from nncalc.formula import fmt_number
from nncalc.validate import nesting_depth

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from nncalc.engine import Solution, Step
    from nncalc.vocabulary import SolveFormat

PHASE_TITLES = {
    "given": "Given",
    "forward": "Forward pass",
    "backward": "Backpropagation",
    "update": "Update",
}
#: Matrices larger than this are shown with their corners only (full values stay in JSON).
MAX_SHOWN = 12


def select(solution: Solution, phases: Iterable[str] = (), names: Iterable[str] = ()) -> list[Step]:
    """The steps in the given phases and with the given names (all when empty).

    Names may be aliases; one this problem does not have is an :class:`NncalcError`.
    """
    from nncalc.errors import NncalcError
    from nncalc.names import canonical_name

    phases = set(phases)
    wanted = set()
    for name in names:
        canonical = canonical_name(name, solution.problem.depth, solution.problem.recurrent)
        if canonical is None or canonical not in solution.values:
            known = ", ".join(solution.values)
            message = f"unknown quantity {name!r}; this problem has: {known}"
            raise NncalcError(message, argument="quantities")
        wanted.add(canonical)
    return [
        s
        for s in solution.steps
        if (not phases or s.phase in phases) and (not wanted or s.name in wanted)
    ]


def render(
    solution: Solution, fmt: SolveFormat, steps: Sequence[Step] | None = None, **options: Any
) -> str:
    """The solution (or the chosen steps) as text in format ``fmt``: :func:`pieces`, joined."""
    return "".join(pieces(solution, fmt, steps, **options))


def pieces(
    solution: Solution,
    fmt: SolveFormat,
    steps: Sequence[Step] | None = None,
    *,
    precision: int = 4,
    color: bool = False,
    width: int | None = None,
    given: bool = True,
    history: Sequence[float | None] = (),
) -> Iterator[str]:
    """The solution (or the chosen steps) as text in format ``fmt``, in pieces to write one
    after the other: JSON comes an array row at a time, so that a big network's answer key
    never sits in memory whole; the other formats come in one piece.

    ``given`` prefixes the data of the problem (x, y, parameters), as a worked
    solution starts; JSON carries it in its ``problem`` object instead.
    ``history`` is the loss before each update of a training run and after the
    last; with more than one update, the human formats start with it.
    """
    steps = list(solution.steps if steps is None else steps)
    if fmt == "json":
        yield from json_pieces(solution, steps, history)
        return
    if given:
        steps = given_steps(solution) + steps
    run = list(history) if len(history) > 2 else []
    if fmt == "markdown":
        yield to_markdown(solution, steps, precision, run)
    elif fmt == "latex":
        yield to_latex(solution, steps, precision, run)
    else:
        yield to_rich_text(
            solution, steps, precision, plain=fmt == "plain", color=color, width=width, history=run
        )


def by_phase(steps: Sequence[Step]) -> Iterator[tuple[str, list[Step]]]:
    """Each phase that has steps, with its steps, in the order of :data:`PHASE_TITLES`."""
    for phase in PHASE_TITLES:
        rows = [s for s in steps if s.phase == phase]
        if rows:
            yield phase, rows


def history_rows(history: Sequence[float | None], precision: int) -> list[tuple[str, str]]:
    """(update, loss) rows of a training run: all, or the first and last few around '…'."""
    rows = []
    for k in shown_indices(len(history)):
        if k is None:
            rows.append(("…", "…"))
        else:
            when = "after the last update" if k == len(history) - 1 else f"before update {k + 1}"
            rows.append((when, _loss_text(history[k], precision)))
    return rows


def _loss_text(loss: float | None, precision: int) -> str:
    """A loss as shown: fixed decimals, or significant digits once those would show 0."""
    if loss is None:
        return "not finite"
    return f"{loss:.{precision}g}" if loss < 10**-precision else fmt_number(loss, precision)


def history_title(history: Sequence[float | None]) -> str:
    return f"Training: {len(history) - 1} updates"


def phase_title(phase: str, history: Sequence[float | None]) -> str:
    """A phase's heading; in a training run, it names the update shown (the last)."""
    if not history:
        return PHASE_TITLES[phase]
    return f"{PHASE_TITLES[phase]} (update {len(history) - 1})"


# ---------------------------------------------------------------------------
# Numbers


def shown_indices(n: int) -> list[int | None]:
    """Indices to show along an axis: all, or the first and last few around a gap (None)."""
    if n <= MAX_SHOWN:
        return list(range(n))
    head = MAX_SHOWN // 2
    return [*range(head), None, *range(n - (MAX_SHOWN - head - 1), n)]


def grid(
    value: Any, precision: int, gap_row: str = "⋮", gap_col: str = "…", texts: Any = None
) -> list[list[str]]:
    """The value as a (possibly shortened) grid of formatted entries; ``texts`` (nested
    like the value) gives an entry's text as written instead, where it is not None."""
    rows = as_rows(value)
    written = None if texts is None else _text_rows(texts, rows.shape)
    cols = shown_indices(len(rows[0]))
    out = []
    for i in shown_indices(len(rows)):
        if i is None:
            out.append([gap_row if j is not None else "" for j in cols])
        else:
            out.append(
                [
                    gap_col
                    if j is None
                    else written[i, j]
                    if written is not None and written[i, j] is not None
                    else fmt_number(float(rows[i, j]), precision)
                    for j in cols
                ]
            )
    return out


def _text_rows(texts: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Texts laid out as :func:`as_rows` lays out their value; None if they do not fit."""
    written = np.empty(np.shape(texts), dtype=object)  # strings stay whole, never split
    try:
        written[...] = texts
        return written.reshape(shape)
    except ValueError:
        return None


#: Of a stack of feature maps or kernels, this many matrices are shown (all stay in JSON).
MAX_BLOCKS = 8


def blocks(value: Any) -> list[tuple[str, Any]]:
    """A value as labelled matrices: itself, or one per channel ('[2]') or per
    (output, input) channel pair of a kernel bank ('[1,2]'), counted from 1."""
    arr = np.asarray(value)
    if arr.ndim <= 2:
        return [("", value)]
    lead = list(np.ndindex(*arr.shape[:-2]))
    shown = lead if len(lead) <= MAX_BLOCKS else [*lead[: MAX_BLOCKS - 1], lead[-1]]
    out = [(f"[{','.join(str(k + 1) for k in index)}]", arr[index]) for index in shown]
    if len(shown) < len(lead):
        out.insert(MAX_BLOCKS - 1, (f"… {len(lead) - MAX_BLOCKS} more", None))
    return out


def matrix_text(value: Any, precision: int, texts: Any = None) -> str:
    """A vector or matrix laid out in aligned, bracketed rows; a stack as labelled matrices.
    (``texts``: the entries as written, see :func:`grid`.)"""
    if np.ndim(value) == 0:
        return texts if isinstance(texts, str) else fmt_number(float(value), precision)
    if np.ndim(value) > 2:
        parts = []
        laid_texts = None if texts is None else _text_rows(texts, np.shape(value))
        written = {} if laid_texts is None else dict(blocks(laid_texts))
        for label, block in blocks(value):
            laid = None if block is None else matrix_text(block, precision, written.get(label))
            parts.append(label if laid is None else f"{label}\n{laid}")
        return "\n".join(parts)
    cells = grid(value, precision, texts=texts)
    widths = column_widths(cells)
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    brackets = bracket_pairs(len(lines))
    return "\n".join(f"{a}{line}{b}" for line, (a, b) in zip(lines, brackets, strict=True))


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column of a grid of texts: its longest entry."""
    return [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]


def bracket_pairs(lines: int) -> list[tuple[str, str]]:
    """The (left, right) bracket of each line of a laid-out value: ``[…]`` around a single
    line; a tall bracket, ``⎡ … ⎤`` down to ``⎣ … ⎦``, around more."""
    if lines == 1:
        return [("[", "]")]
    return [("⎡ ", " ⎤"), *[("⎢ ", " ⎥")] * (lines - 2), ("⎣ ", " ⎦")]


#: One entry of a laid-out value: its text, and whether it is marked as wrong.
Cell = tuple[str, bool]


@dataclass(frozen=True)
class MarkedGrid:
    """A value laid out as :func:`grid` lays it out, each entry marked or not.

    ``ndim`` is how deeply the value nests (0: a number, whose grid is its one cell);
    the gap cells of a shortened matrix (``⋮``, ``…`` and ``""``) are never marked.
    """

    ndim: int
    rows: list[list[Cell]]


def marked_grid(
    value: Any, precision: int, wrong: Sequence[Sequence[int]] = (), texts: Any = None
) -> MarkedGrid | None:
    """A number or nested lists laid out with the entries listed in ``wrong`` marked (as
    :func:`_is_wrong` reads an index); None when it is not numbers (text, ragged rows).
    ``texts``: the entries as written, shown instead of the formatted numbers (:func:`grid`).

    The one layout behind every "answer with its wrong entries marked": each format
    (plain text, Markdown, HTML) only wraps the cells.
    """
    try:
        ndim = nesting_depth(value)
        if ndim == 0:
            shown = texts if isinstance(texts, str) else fmt_number(float(value), precision)
            return MarkedGrid(0, [[(shown, bool(wrong))]])
        rows = as_rows(value)
        cells = grid(value, precision, texts=texts)
    except (TypeError, ValueError, IndexError):
        return None
    row_ids, col_ids = shown_indices(len(rows)), shown_indices(len(rows[0]))
    return MarkedGrid(
        ndim,
        [
            [
                (text, i is not None and j is not None and _is_wrong(ndim, wrong, i, j))
                for j, text in zip(col_ids, row, strict=True)
            ]
            for i, row in zip(row_ids, cells, strict=True)
        ],
    )


def _is_wrong(ndim: int, wrong: Sequence[Sequence[int]], i: int, j: int) -> bool:
    """Whether entry (i, j) of the value's row layout (vectors as columns) is listed:
    ``[i]`` of a vector, ``[i, j]`` of a matrix, ``[i]`` of a matrix (the whole row), or
    ``[]`` (or any index of a number: the whole value)."""
    for index in wrong:
        if ndim == 0 or not index:
            return True
        if index[0] != i:
            continue
        if len(index) == 1 and ndim >= 2:  # a whole row of a matrix
            return True
        if (index[1] if len(index) > 1 else 0) == j:
            return True
    return False


def given_steps(solution: Solution) -> list[Step]:
    """The problem's data as pseudo-steps of phase "given", for the human formats."""
    from nncalc.engine import Step
    from nncalc.formula import Formula, param_symbol

    p, network = solution.problem, solution.network
    given = network.given()
    # The "equation" of given data is its description (text) and its symbol (LaTeX).
    x, y = network.shown("A0", p.x), network.shown("y", p.y)
    inputs, targets = "input", "target"
    if p.time_steps:  # one column per time step: x_1 … x_T (for a batch, as written)
        inputs, targets = "input sequence, a column per step", "targets"
        x = p.x if p.single else p.as_written("x")
    rows = [
        Step("given", "x", "x", Formula(inputs, "x"), x),
        Step("given", "y", "y", Formula(targets, "y"), y),
    ]
    if p.recurrent:
        h0 = network.shown("A1_t0", given["A1_t0"])
        rows.append(Step("given", "h0", "h_0", Formula("the state before step 1", "h_0"), h0))
    for name, value in p.parameters.items():
        what = {"W": "weights", "b": "biases", "Wx": "input weights", "Wh": "recurrent weights"}
        letters = name.rstrip("0123456789")
        formula = Formula(
            f"{what[letters]} of layer {name[len(letters) :]}", param_symbol(name).latex
        )
        rows.append(Step("given", name, name, formula, network.shown(name, value)))
    for name, value in p.optimizer.state.items():
        formula = Formula(f"{p.optimizer.name} state before this step", name.replace("_", r"\_"))
        rows.append(
            Step("given", f"{name} (prev)", f"{name} (prev)", formula, network.shown(name, value))
        )
    return rows


# ---------------------------------------------------------------------------
# JSON


def _json_ready(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def problem_summary(solution: Solution) -> dict[str, Any]:
    p = solution.problem
    return {
        "name": p.name,
        "source": p.source,
        "network": {
            "input": p.input_size if len(p.input_shape) == 1 else list(p.input_shape),
            "layers": [layer.summary() for layer in p.layers],
        },
        "loss": p.loss,
        "reduction": p.reduction,
        "learning_rate": p.learning_rate,
        "optimizer": {"name": p.optimizer.name, **p.optimizer.hyper, "step": p.optimizer.step},
        "batch_size": p.batch_size,
        "time_steps": p.time_steps,
        "frozen": sorted(p.frozen),
        "parameters": dict(p.parameters),
        "x": p.as_written("x"),
        "y": p.as_written("y"),
    }


def json_pieces(
    solution: Solution, steps: Sequence[Step], history: Sequence[float | None] = ()
) -> Iterator[str]:
    """The JSON answer key, in pieces: the arrays stay NumPy arrays until they are written,
    a row at a time, so memory holds one row as text, not every value twice as lists."""
    doc = {
        "problem": problem_summary(solution),
        "history": list(history),
        "values": {s.name: s.value for s in steps},
        "steps": [
            {
                "phase": s.phase,
                "name": s.name,
                "equation": s.equation.text,
                "latex": s.equation.latex,
                "value": s.value,
                **({"work": s.work(4)} if s.work else {}),
            }
            for s in steps
        ],
    }
    yield from _json(doc, 0)
    yield "\n"


#: Arrays up to this many entries are written in one piece; larger ones a row (or, for a
#: long vector, this many entries) at a time.
JSON_PIECE = 10_000


def _json(value: Any, depth: int) -> Iterator[str]:
    """JSON indented by its mappings and lists of records, with every array of numbers on
    one line: readable, and each array written by the C encoder."""
    pad = "  " * (depth + 1)
    if isinstance(value, dict) and value:
        yield "{\n"
        for i, (key, item) in enumerate(value.items()):
            yield f",\n{pad}{json.dumps(str(key))}: " if i else f"{pad}{json.dumps(str(key))}: "
            yield from _json(item, depth + 1)
        yield "\n" + "  " * depth + "}"
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        yield "[\n"
        for i, item in enumerate(value):
            yield f",\n{pad}" if i else pad
            yield from _json(item, depth + 1)
        yield "\n" + "  " * depth + "]"
    elif isinstance(value, np.ndarray) and value.size > JSON_PIECE:
        yield from _json_array(value)
    else:
        yield json.dumps(_json_ready(value), allow_nan=False)


def _json_array(value: np.ndarray) -> Iterator[str]:
    """A big array as the encoder writes it ([[1.0, 2.0], [3.0, 4.0]]), a piece at a time."""
    parts: Iterable[np.ndarray] = (
        value
        if value.ndim > 1
        else (value[i : i + JSON_PIECE] for i in range(0, value.size, JSON_PIECE))
    )
    yield "["
    for i, part in enumerate(parts):
        if i:
            yield ", "
        if value.ndim > 1 and part.size > JSON_PIECE:
            yield from _json_array(part)
        else:
            text = json.dumps(part.tolist(), allow_nan=False)
            yield text if value.ndim > 1 else text[1:-1]
    yield "]"


# ---------------------------------------------------------------------------
# Rich tables and plain text


def architecture(solution: Solution) -> str:
    p = solution.problem
    parts = ["×".join(map(str, p.input_shape))] + [layer.describe() for layer in p.layers]
    batch = f", batch of {p.batch_size} ({p.reduction})" if not p.single else ""
    steps = f", sequences of {p.time_steps} steps" if p.time_steps else ""
    optimizer = f"; {p.optimizer.describe()}" if p.optimizer.name != "sgd" else ""
    return f"{' → '.join(parts)}; loss {p.loss}{batch}{steps}; α = {p.learning_rate:g}{optimizer}"


def text_console(*, plain: bool, color: bool, width: int | None) -> tuple[Any, io.StringIO]:
    """A Rich console that writes into a string: coloured, or plain text for pipes and files."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=color and not plain,
        no_color=plain or not color,
        highlight=False,
        emoji=False,
    )
    return console, out


def console_text(out: io.StringIO) -> str:
    """What a text console wrote, without the spaces Rich pads each line to its width with."""
    return "\n".join(line.rstrip() for line in out.getvalue().split("\n"))


def rich_table(title: str | Text, *, plain: bool, **options: Any) -> Table:
    """A Rich table as every table of nncalc looks: its title bold on the left, a rounded
    box (plain text: a rule under the header only, in box characters every terminal has).

    ``options`` go to :class:`rich.table.Table` as they are (``show_lines``, ``caption``).
    """
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD if plain else box.ROUNDED,
        safe_box=plain,
        **options,
    )


def to_rich_text(
    solution: Solution,
    steps: Sequence[Step],
    precision: int,
    *,
    plain: bool,
    color: bool,
    width: int | None,
    history: Sequence[float | None] = (),
) -> str:
    from rich.text import Text

    from nncalc.plot import finite, terminal_plot

    console, out = text_console(plain=plain, color=color, width=width)
    title = solution.problem.name or "problem"
    console.print(Text(escape.visible(title), style="bold"))
    console.print(Text(architecture(solution), style="dim"))
    if history:
        table = rich_table(history_title(history), plain=plain)
        table.add_column("loss", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        for when, loss in history_rows(history, precision):
            table.add_row(when, loss)
        console.print(table)
        console.print(Text("\n".join(terminal_plot(finite(history)))))
    for phase, rows in by_phase(steps):
        table = rich_table(phase_title(phase, history), plain=plain, show_lines=not plain)
        table.add_column("quantity", style="bold cyan", no_wrap=True)
        table.add_column("equation", overflow="fold")
        table.add_column("value", no_wrap=True)
        for s, block in blocks_of(rows):
            if block:  # an rnn's time step starts: a ruled-off block under its own heading
                if not plain:
                    table.add_section()
                table.add_row(Text(block, style="bold"), "", "")
            # Text, not str: Rich would read "[y·log ŷ ...]" as markup.
            table.add_row(
                Text(s.label),
                Text(equation_text(s, precision)),
                Text(matrix_text(s.value, precision)),
            )
        console.print(table)
    return console_text(out)


def blocks_of(rows: Sequence[Step]) -> Iterator[tuple[Step, str]]:
    """Each step, with the heading of the time-step block it starts ('' if none): an rnn's
    per-step quantities are shown step by step, as a worked solution writes them."""
    from nncalc.names import time_step

    current = 0
    for s in rows:
        t = time_step(s.name)
        if t == current:
            yield s, ""
        else:
            yield s, f"time step t = {t}" if t else "after the time steps"
        current = t


def equation_text(step: Step, precision: int) -> str:
    """The equation, and under it the worked arithmetic when the step has it."""
    if step.work is None:
        return step.equation.text
    return "\n".join([step.equation.text, *step.work(precision)])


# ---------------------------------------------------------------------------
# Markdown and LaTeX (the same math, different wrappers)


def latex_value(value: Any, precision: int) -> str:
    return latex_number(_latex_value(value, precision))


def latex_number(text: str) -> str:
    r"""Numbers in math mode: 1.2345e+12 becomes 1.2345 \cdot 10^{12}."""
    return _SCIENTIFIC.sub(r"\1 \\cdot 10^{\2\3}", text)


_SCIENTIFIC = re.compile(r"(\d(?:\.\d*)?)e\+?(-?)0*(\d+)")


def _latex_loss(text: str) -> str:
    return text if text == "not finite" else f"${latex_number(text)}$"


def _latex_value(value: Any, precision: int) -> str:
    if np.ndim(value) == 0:
        return fmt_number(float(value), precision)
    if np.ndim(value) > 2:
        return r",\; ".join(
            rf"\text{{{label}}}"
            if block is None
            else rf"\underset{{{label}}}{{{_latex_value(block, precision)}}}"
            for label, block in blocks(value)
        )
    cells = grid(value, precision, gap_row=r"\vdots", gap_col=r"\cdots")
    body = r" \\ ".join(" & ".join(row) for row in cells)
    # An array rather than pmatrix: columns align on the right, as numbers should.
    return rf"\left(\begin{{array}}{{{'r' * len(cells[0])}}} {body} \end{{array}}\right)"


#: The worked arithmetic's words and signs, as LaTeX writes them.
_WORK_LATEX = (
    (re.compile(r"\b([A-Za-z]+)(\d+)\["), r"\1_{\2}["),  # Z1[1,2] → Z_{1}[1,2]
    (re.compile("·"), r" \\cdot "),
    (re.compile(r"\bmax\("), r"\\max("),
    (re.compile(r"\bmean\("), r"\\operatorname{mean}("),
    (re.compile(r", from "), r",\\ \\text{from } "),
)


def latex_work(line: str) -> str:
    """A line of worked arithmetic (Z1[1,1] = 2.0000·1.0000 + … = 3.5000) as inline math,
    which TeX breaks after a + or = where the line is too long for the page."""
    for pattern, replacement in _WORK_LATEX:
        line = pattern.sub(replacement, line)
    return f"${latex_number(line)}$\\\\"


def step_math(step: Step, precision: int) -> str:
    return f"{step.equation.latex} = {latex_value(step.value, precision)}"


def to_markdown(
    solution: Solution, steps: Sequence[Step], precision: int, history: Sequence[float | None] = ()
) -> str:
    title = escape.markdown(solution.problem.name or "Solution")
    lines = [f"# {title}", "", f"*{architecture(solution)}*", ""]
    if history:
        lines += [f"## {history_title(history)}", "", "| loss | value |", "|---|---:|"]
        lines += [f"| {when} | {loss} |" for when, loss in history_rows(history, precision)]
        lines.append("")
    for phase, rows in by_phase(steps):
        lines += [f"## {phase_title(phase, history)}", ""]
        for s, block in blocks_of(rows):
            if block:
                lines += [f"### {block}", ""]
            lines += [f"**{s.label}**", "", f"$$ {step_math(s, precision)} $$", ""]
            if s.work:
                lines += ["```", *s.work(precision), "```", ""]
    return "\n".join(lines)


#: The start of every LaTeX document nncalc writes (its texts are ASCII: escape.latex).
LATEX_PREAMBLE = (
    r"\documentclass[11pt]{article}",
    r"\usepackage[utf8]{inputenc}",
    r"\usepackage{amsmath,amssymb}",
    r"\usepackage[margin=2cm]{geometry}",
)


def to_latex(
    solution: Solution, steps: Sequence[Step], precision: int, history: Sequence[float | None] = ()
) -> str:
    lines = [
        *LATEX_PREAMBLE,
        r"\begin{document}",
        rf"\section*{{{escape.latex(solution.problem.name or 'Solution')}}}",
        escape.latex(architecture(solution)),
    ]
    if history:
        lines += [
            rf"\subsection*{{{escape.latex(history_title(history))}}}",
            r"\begin{tabular}{lr}",
            *[
                rf"{escape.latex(when)} & {_latex_loss(loss)} \\"
                for when, loss in history_rows(history, precision)
            ],
            r"\end{tabular}",
        ]
    for phase, rows in by_phase(steps):
        lines.append(rf"\subsection*{{{escape.latex(phase_title(phase, history))}}}")
        for s, block in blocks_of(rows):
            if block:
                lines.append(rf"\paragraph{{{escape.latex(block)}}}")
            lines += [r"\[", step_math(s, precision), r"\]"]
            if s.work:
                lines += [r"\begin{flushleft}\small", *map(latex_work, s.work(precision))]
                lines.append(r"\end{flushleft}")
    lines += [r"\end{document}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# HTML (Jupyter's rich display; the feedback pages of nncalc.report use the same values)

#: Minimal CSS for the HTML views, every rule scoped to the ``nncalc`` class.
HTML_CSS = """\
.nncalc { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; \
line-height: 1.4; color: #1a1a1a; }
.nncalc table.steps, .nncalc table.results, .nncalc table.summary { \
border-collapse: collapse; margin: 0.5em 0 1em; }
.nncalc table.steps > * > tr > th, .nncalc table.steps > * > tr > td, \
.nncalc table.results > * > tr > th, .nncalc table.results > * > tr > td, \
.nncalc table.summary > * > tr > th, .nncalc table.summary > * > tr > td { \
border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: middle; }
.nncalc thead th { background: #f2f2f2; }
.nncalc caption { text-align: left; font-weight: bold; padding: 0.2em 0; }
.nncalc td.num { text-align: right; white-space: nowrap; }
.nncalc table.matrix { border-collapse: separate; border-spacing: 0; \
border-left: 1.5px solid #444; border-right: 1.5px solid #444; border-radius: 4px; \
margin: 0; font-variant-numeric: tabular-nums; }
.nncalc table.matrix td { border: 0; padding: 0 0.4em; text-align: right; \
background: transparent; white-space: nowrap; }
.nncalc .scalar { font-variant-numeric: tabular-nums; white-space: nowrap; }
.nncalc mark { background: #ffd6d6; color: #a00000; padding: 0 0.1em; }
"""


def html_value(
    value: Any, precision: int, wrong: Sequence[Sequence[int]] = (), texts: Any = None
) -> str:
    """A value as HTML: a number, or a small table of entries (vectors as a column).

    The entries listed in ``wrong`` (see :func:`marked_grid`) are highlighted
    (``<mark>`` inside ``<strong>``, readable without CSS too); ``texts`` are the
    entries as written (:func:`grid`).
    A value that is not numbers (ragged rows, text) is shown escaped in ``<code>``.
    """
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is None:
        return ""
    layout = marked_grid(value, precision, wrong, texts)
    if layout is None:
        return f"<code>{escape.html(str(value))}</code>"

    def cell(text: str, mark: bool) -> str:
        text = escape.html(text)
        return f"<strong><mark>{text}</mark></strong>" if mark else text

    if layout.ndim == 0:
        return f'<span class="scalar">{cell(*layout.rows[0][0])}</span>'
    body = "".join(
        f"<tr>{''.join(f'<td>{cell(text, mark)}</td>' for text, mark in row)}</tr>"
        for row in layout.rows
    )
    return f'<table class="matrix"><tbody>{body}</tbody></table>'


def to_html(
    solution: Solution, steps: Sequence[Step], precision: int, history: Sequence[float | None] = ()
) -> str:
    """The steps as an HTML fragment: a title, the loss along a training run (with more
    than one update), then a table per phase (quantity, equation, value as a small matrix).
    Scoped CSS included; no scripts.
    """
    title = escape.html(solution.problem.name or "Solution")
    parts = [
        f'<div class="nncalc nncalc-solution"><style>{HTML_CSS}</style>',
        f"<h3>{title}</h3>",
        f"<p><em>{escape.html(architecture(solution))}</em></p>",
    ]
    run = history if len(history) > 2 else ()
    if run:
        parts.append(
            f'<table class="steps"><caption>{escape.html(history_title(run))}</caption>'
            "<thead><tr><th>when</th><th>loss</th></tr></thead><tbody>"
        )
        for when, loss in history_rows(run, precision):
            parts.append(
                f'<tr><th scope="row">{escape.html(when)}</th><td class="num">{loss}</td></tr>'
            )
        parts.append("</tbody></table>")
    for phase, rows in by_phase(steps):
        parts.append(
            f'<table class="steps"><caption>{escape.html(phase_title(phase, run))}</caption>'
            "<thead><tr><th>quantity</th><th>equation</th><th>value</th></tr></thead><tbody>"
        )
        for s in rows:
            parts.append(
                f'<tr><th scope="row">{escape.html(s.label)}</th>'
                f"<td>{escape.html(s.equation.text)}</td>"
                f'<td class="num">{html_value(s.value, precision)}</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "\n".join(parts)

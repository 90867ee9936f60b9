"""Show a solution: Rich tables, plain text, JSON, Markdown or LaTeX.

Every renderer takes the same filtered list of steps; only the layout differs.
:func:`to_html` is the HTML view Jupyter shows for a :class:`~nncalc.engine.Solution`.
Rich is imported only when a table is drawn, so ``--format json`` stays fast.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nncalc.engine import Solution, Step

FORMATS = ("rich", "plain", "json", "markdown", "latex")
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
        canonical = canonical_name(name, solution.problem.depth)
        if canonical is None or canonical not in solution.values:
            known = ", ".join(solution.values)
            message = f"unknown quantity {name!r}; this problem has: {known}"
            raise NncalcError(message, path="--quantity")
        wanted.add(canonical)
    return [
        s
        for s in solution.steps
        if (not phases or s.phase in phases) and (not wanted or s.name in wanted)
    ]


def render(
    solution: Solution,
    fmt: str,
    steps: Sequence[Step] | None = None,
    *,
    precision: int = 4,
    color: bool = False,
    width: int | None = None,
    given: bool = True,
) -> str:
    """The solution (or the chosen steps) as text in format ``fmt``.

    ``given`` prefixes the data of the problem (x, y, parameters), as a worked
    solution starts; JSON carries it in its ``problem`` object instead.
    """
    steps = list(solution.steps if steps is None else steps)
    if fmt == "json":
        return to_json(solution, steps)
    if given:
        steps = given_steps(solution) + steps
    if fmt == "markdown":
        return to_markdown(solution, steps, precision)
    if fmt == "latex":
        return to_latex(solution, steps, precision)
    return to_rich_text(solution, steps, precision, plain=fmt == "plain", color=color, width=width)


# ---------------------------------------------------------------------------
# Numbers


def fmt_number(value: float, precision: int) -> str:
    text = f"{value:.{precision}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # never show -0.0000
    return text


def _window(n: int) -> list[int | None]:
    """Indices to show along an axis: all, or the first and last few around a gap (None)."""
    if n <= MAX_SHOWN:
        return list(range(n))
    head = MAX_SHOWN // 2
    return [*range(head), None, *range(n - (MAX_SHOWN - head - 1), n)]


def as_rows(value: Any) -> list[list[float]]:
    """Vectors as a column (the course's convention), matrices as they are."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return [[float(arr)]]
    if arr.ndim == 1:
        return [[float(v)] for v in arr]
    return arr.tolist()


def grid(value: Any, precision: int, gap_row: str = "⋮", gap_col: str = "…") -> list[list[str]]:
    """The value as a (possibly shortened) grid of formatted entries."""
    rows = as_rows(value)
    cols = _window(len(rows[0]))
    out = []
    for i in _window(len(rows)):
        if i is None:
            out.append([gap_row if j is not None else "" for j in cols])
        else:
            out.append(
                [fmt_number(rows[i][j], precision) if j is not None else gap_col for j in cols]
            )
    return out


def matrix_text(value: Any, precision: int) -> str:
    """A vector or matrix laid out in aligned, bracketed rows."""
    if np.ndim(value) == 0:
        return fmt_number(float(value), precision)
    cells = grid(value, precision)
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if len(lines) == 1:
        return f"[{lines[0]}]"
    left = ["⎡", *["⎢"] * (len(lines) - 2), "⎣"]
    right = ["⎤", *["⎥"] * (len(lines) - 2), "⎦"]
    return "\n".join(f"{a} {line} {b}" for a, line, b in zip(left, lines, right, strict=True))


def given_steps(solution: Solution) -> list[Step]:
    """The problem's data as pseudo-steps of phase "given", for the human formats."""
    from nncalc.engine import Formula, Step

    p = solution.problem
    x = p.x[:, 0] if p.single else p.x
    y = p.y[:, 0] if p.single else p.y
    # The "equation" of given data is its description (text) and its symbol (LaTeX).
    rows = [
        Step("given", "x", "x", Formula("input", "x"), x),
        Step("given", "y", "y", Formula("target", "y"), y),
    ]
    for name, value in p.parameters.items():
        what = "weights" if name[0] == "W" else "biases"
        formula = Formula(f"{what} of layer {name[1:]}", f"{name[0]}_{{{name[1:]}}}")
        rows.append(Step("given", name, name, formula, value))
    return rows


# ---------------------------------------------------------------------------
# JSON


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def problem_summary(solution: Solution) -> dict[str, Any]:
    p = solution.problem
    x = p.x[:, 0] if p.single else p.x.T
    y = p.y[:, 0] if p.single else p.y.T
    return {
        "name": p.name,
        "source": p.source,
        "network": {
            "input": p.input_size,
            "layers": [
                {"units": layer.units, "activation": layer.activation, "bias": layer.bias}
                for layer in p.layers
            ],
        },
        "loss": p.loss,
        "reduction": p.reduction,
        "learning_rate": p.learning_rate,
        "batch_size": p.batch_size,
        "frozen": sorted(p.frozen),
        "parameters": {k: v.tolist() for k, v in p.parameters.items()},
        "x": x.tolist(),
        "y": y.tolist(),
    }


def to_json(solution: Solution, steps: Sequence[Step]) -> str:
    doc = {
        "problem": problem_summary(solution),
        "values": {s.name: _plain(s.value) for s in steps},
        "steps": [
            {
                "phase": s.phase,
                "name": s.name,
                "equation": s.equation.text,
                "latex": s.equation.latex,
                "value": _plain(s.value),
            }
            for s in steps
        ],
    }
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------
# Rich tables and plain text


def architecture(solution: Solution) -> str:
    p = solution.problem
    parts = [f"{p.input_size}"] + [f"{layer.units} ({layer.activation})" for layer in p.layers]
    batch = f", batch of {p.batch_size} ({p.reduction})" if not p.single else ""
    return f"{' → '.join(parts)}; loss {p.loss}{batch}; α = {p.learning_rate:g}"


def text_console(*, plain: bool, color: bool, width: int | None) -> tuple[Any, io.StringIO]:
    """A Rich console that writes into a string: coloured, or plain text for pipes and files."""
    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out,
        width=width or (200 if plain else None),
        force_terminal=color and not plain,
        no_color=plain or not color,
        highlight=False,
        emoji=False,
    )
    return console, out


def to_rich_text(
    solution: Solution,
    steps: Sequence[Step],
    precision: int,
    *,
    plain: bool,
    color: bool,
    width: int | None,
) -> str:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console, out = text_console(plain=plain, color=color, width=width)
    title = solution.problem.name or "problem"
    console.print(Text(title, style="bold"))
    console.print(Text(architecture(solution), style="dim"))
    for phase in PHASE_TITLES:
        rows = [s for s in steps if s.phase == phase]
        if not rows:
            continue
        table = Table(
            title=PHASE_TITLES[phase],
            title_justify="left",
            title_style="bold",
            box=box.SIMPLE_HEAD if plain else box.ROUNDED,
            show_lines=not plain,
            safe_box=plain,
        )
        table.add_column("quantity", style="bold cyan", no_wrap=True)
        table.add_column("equation", overflow="fold")
        table.add_column("value", no_wrap=True)
        for s in rows:
            # Text, not str: Rich would read "[y·log ŷ ...]" as markup.
            table.add_row(
                Text(s.label), Text(s.equation.text), Text(matrix_text(s.value, precision))
            )
        console.print(table)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Markdown and LaTeX (the same math, different wrappers)


def latex_value(value: Any, precision: int) -> str:
    if np.ndim(value) == 0:
        return fmt_number(float(value), precision)
    cells = grid(value, precision, gap_row=r"\vdots", gap_col=r"\cdots")
    body = r" \\ ".join(" & ".join(row) for row in cells)
    # An array rather than pmatrix: columns align on the right, as numbers should.
    return rf"\left(\begin{{array}}{{{'r' * len(cells[0])}}} {body} \end{{array}}\right)"


def latex_escape(text: str) -> str:
    specials = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{"}
    specials.update(
        {"}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}"}
    )
    return "".join(specials.get(c, c) for c in text)


def step_math(step: Step, precision: int) -> str:
    return f"{step.equation.latex} = {latex_value(step.value, precision)}"


def to_markdown(solution: Solution, steps: Sequence[Step], precision: int) -> str:
    lines = [f"# {solution.problem.name or 'Solution'}", "", f"*{architecture(solution)}*", ""]
    for phase in PHASE_TITLES:
        rows = [s for s in steps if s.phase == phase]
        if not rows:
            continue
        lines += [f"## {PHASE_TITLES[phase]}", ""]
        for s in rows:
            lines += [f"**{s.label}**", "", f"$$ {step_math(s, precision)} $$", ""]
    return "\n".join(lines)


def to_latex(solution: Solution, steps: Sequence[Step], precision: int) -> str:
    lines = [
        r"\documentclass[11pt]{article}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage{amsmath,amssymb}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\begin{document}",
        rf"\section*{{{latex_escape(solution.problem.name or 'Solution')}}}",
        latex_escape(architecture(solution)).replace("→", r"$\to$").replace("α", r"$\alpha$"),
    ]
    for phase in PHASE_TITLES:
        rows = [s for s in steps if s.phase == phase]
        if not rows:
            continue
        lines.append(rf"\subsection*{{{PHASE_TITLES[phase]}}}")
        for s in rows:
            lines += [r"\[", step_math(s, precision), r"\]"]
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
    value: Any, precision: int, marked: Callable[[int, int, int], bool] | None = None
) -> str:
    """A value as HTML: a number, or a small table of entries (vectors as a column).

    ``marked(ndim, i, j)`` says whether entry (i, j) of the row layout is to be
    highlighted (``<mark>`` inside ``<strong>``, readable without CSS too).
    A value that is not numbers (ragged rows, text) is shown escaped in ``<code>``.
    """
    import html

    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is None:
        return ""

    def cell(text: str, mark: bool) -> str:
        text = html.escape(text)
        return f"<strong><mark>{text}</mark></strong>" if mark else text

    try:
        ndim = int(np.ndim(value))
        if ndim == 0:
            text = cell(fmt_number(float(value), precision), bool(marked and marked(0, 0, 0)))
            return f'<span class="scalar">{text}</span>'
        rows = as_rows(value)
        cells = grid(value, precision)
    except (TypeError, ValueError, IndexError):
        return f"<code>{html.escape(str(value))}</code>"
    cols = _window(len(rows[0]))
    body = []
    for i, row in zip(_window(len(rows)), cells, strict=True):
        tds = []
        for j, text in zip(cols, row, strict=True):
            mark = marked is not None and i is not None and j is not None and marked(ndim, i, j)
            tds.append(f"<td>{cell(text, mark)}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    return f'<table class="matrix"><tbody>{"".join(body)}</tbody></table>'


def to_html(solution: Solution, steps: Sequence[Step], precision: int) -> str:
    """The steps as an HTML fragment: a title, then a table per phase (quantity,
    equation, value as a small matrix). Scoped CSS included; no scripts.
    """
    import html

    title = html.escape(solution.problem.name or "Solution")
    parts = [
        f'<div class="nncalc nncalc-solution"><style>{HTML_CSS}</style>',
        f"<h3>{title}</h3>",
        f"<p><em>{html.escape(architecture(solution))}</em></p>",
    ]
    for phase in PHASE_TITLES:
        rows = [s for s in steps if s.phase == phase]
        if not rows:
            continue
        parts.append(
            f'<table class="steps"><caption>{html.escape(PHASE_TITLES[phase])}</caption>'
            "<thead><tr><th>quantity</th><th>equation</th><th>value</th></tr></thead><tbody>"
        )
        for s in rows:
            parts.append(
                f'<tr><th scope="row">{html.escape(s.label)}</th>'
                f"<td>{html.escape(s.equation.text)}</td>"
                f'<td class="num">{html_value(s.value, precision)}</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "\n".join(parts)

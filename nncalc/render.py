"""Show a solution: Rich tables, plain text, JSON, Markdown or LaTeX.

Every renderer takes the same filtered list of steps; only the layout differs.
Rich is imported only when a table is drawn, so ``--format json`` stays fast.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
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
    """The steps in the given phases and with the given names (all when empty)."""
    from nncalc.names import canonical_name

    phases = set(phases)
    wanted = {canonical_name(n, solution.problem.depth) or n for n in names}
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

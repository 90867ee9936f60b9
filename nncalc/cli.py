"""The command line: parse options, call the library, print the result.

All user-facing errors are :class:`nncalc.errors.NncalcError`; they are turned
into one line on stderr and exit code 2 by :func:`reported_errors`, the one
place that catches them.

Unlike the other modules, this one has no ``from __future__ import annotations``: Typer
reads every command's annotations to build the command line, and as strings it evaluates
them again for each read (about 9 ms of every run); as objects they are built once.
"""

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from nncalc import __version__
from nncalc.errors import NncalcError
from nncalc.validate import Limits
from nncalc.vocabulary import PHASES, REPORT_FORMATS, SCHEMA_KINDS, SOLVE_FORMATS

if TYPE_CHECKING:
    from nncalc.problem import Problem
    from nncalc.results import StudentResult
    from nncalc.sources import KeySource
    from nncalc.vocabulary import ReportFormat, SolveFormat

app = typer.Typer(
    name="nncalc",
    help="Compute, show and check neural-network exercises step by step.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_BAD_INPUT = 2
Item = TypeVar("Item")


def _choices(name: str, words: Iterable[str]) -> Any:
    """The choices of an option, as Typer reads them: an Enum whose members are ``words``."""
    return Enum(name, {word: word for word in words}, type=str, module=__name__)


# The choices of the options are the vocabulary's words; mypy cannot see members made at
# run time, so it takes each for a plain Enum.
if TYPE_CHECKING:
    Format = Enum
    VerifyFormat = Enum
    Phase = Enum
    SchemaKind = Enum
else:
    Format = _choices("Format", SOLVE_FORMATS)
    VerifyFormat = _choices("VerifyFormat", REPORT_FORMATS)
    Phase = _choices("Phase", PHASES)
    SchemaKind = _choices("SchemaKind", SCHEMA_KINDS)


PrecisionOption = Annotated[
    int, typer.Option("--precision", "-p", min=0, max=15, help="Decimals shown.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file (atomically); '-' is standard output; a device or FIFO "
        "is written into, never replaced.",
    ),
]
LimitOption = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        metavar="NAME=VALUE",
        help="Raise or lower a size limit (repeatable): "
        + ", ".join(f.name for f in fields(Limits))
        + ".",
    ),
]
# "\[" keeps Rich from reading "[default: …]" as markup (it would vanish from the help).
ColorOption = Annotated[
    bool | None,
    typer.Option(
        "--color/--no-color",
        help="Colour the rich format, or not \\[default: by NO_COLOR, FORCE_COLOR, a terminal].",
        show_default=False,
    ),
]
FORMAT_HELP = "Output format \\[default: rich on a terminal, plain otherwise]."

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a Unix tool whose reader went away reports


#: The option of each library argument an error may name: the CLI speaks of its options.
OPTION_OF_ARGUMENT = {
    "out_dir": "--out-dir",
    "out": "--output",
    "visibility": "--visibility",
    "limits": "--limit",
    "steps": "--steps",
    "quantities": "--quantity",
    "plot": "--plot",
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: cleanly, nothing half written


@contextmanager
def reported_errors() -> Iterator[None]:
    """The one place library errors become messages: one line on stderr and exit code 2.

    Ctrl-C and SIGTERM stop the run with exit code 130; output files are written
    atomically at the end, so none is ever left half written.
    """
    import signal
    import threading

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        yield
    except NncalcError as exc:
        if exc.argument is not None:
            exc.argument = OPTION_OF_ARGUMENT.get(exc.argument, exc.argument)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        typer.echo("error: interrupted; no output file was written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader of stdout stopped reading (`| head`): end quietly, as `cat` would, and
        # point stdout at /dev/null so that the final flush has nowhere to fail.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Compute, show and check neural-network exercises step by step."""


def _is_terminal() -> bool:
    return sys.stdout.isatty()


@app.command(
    epilog=(
        "Examples:\n\n"
        "  nncalc solve problems/a4.yaml\n\n"
        "  nncalc solve problems/a4.yaml --format json | jq .values.delta1\n\n"
        "  nncalc solve problems/a4.yaml --format latex -o key.tex\n\n"
        '  nncalc solve problems/a4.yaml --phase backward -q H -q "W1\'" --gradcheck\n\n'
        "  nncalc solve problems/classic_222.yaml --steps 10000 --plot loss.png"
    )
)
def solve(
    problem: Annotated[Path, typer.Argument(help="Problem file (YAML).", show_default=False)],
    fmt: Annotated[
        Format | None,
        typer.Option("--format", "-f", help=FORMAT_HELP),
    ] = None,
    precision: PrecisionOption = 4,
    phase: Annotated[
        list[Phase] | None,
        typer.Option("--phase", help="Show only this phase (repeatable)."),
    ] = None,
    quantity: Annotated[
        list[str] | None,
        typer.Option(
            "--quantity", "-q", help="Show only this quantity, e.g. Z1, H, W1' (repeatable)."
        ),
    ] = None,
    gradcheck: Annotated[
        bool,
        typer.Option(
            "--gradcheck",
            help="Check the gradients by central finite differences; exit 1 if the largest "
            "relative error exceeds 1e-6.",
        ),
    ] = False,
    steps: Annotated[
        int,
        typer.Option(
            "--steps",
            "-n",
            min=1,
            help="Apply this many updates; show the loss at each and the last update in full.",
        ),
    ] = 1,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the loss of each update as a PNG picture."),
    ] = None,
    output: OutputOption = None,
    limit: LimitOption = None,
    color: ColorOption = None,
) -> None:
    """Solve a problem: every intermediate of the forward pass, backpropagation and update."""
    with reported_errors():
        from nncalc.problem import Limits, load_problem
        from nncalc.render import pieces, select
        from nncalc.training import train

        loaded = load_problem(problem, limits=Limits.parse(limit or []))
        if plot is not None:
            from nncalc.plot import check_plot_path, finite, png_bytes

            check_plot_path(plot)
        run = train(loaded, steps)
        solution = run.solution
        chosen = select(solution, [p.value for p in phase or []], quantity or [])
        fmt_name, colored, width = _display(fmt, output, color)
        text = pieces(
            solution,
            cast("SolveFormat", fmt_name),  # a Format's value
            chosen,
            precision=precision,
            color=colored,
            width=width,
            given=not (phase or quantity),
            history=run.history,
        )
        pictures = []
        if plot is not None:
            pictures.append((plot, png_bytes(finite(run.history), loaded.name or problem.stem)))
        _write(text, output, also=pictures)
        if gradcheck:
            _run_gradcheck(solution.problem, to_stderr=fmt_name in ("json", "markdown", "latex"))


def _run_gradcheck(problem: "Problem", *, to_stderr: bool) -> None:
    from nncalc.finite_diff import TOLERANCE, gradcheck

    result = gradcheck(problem)
    verdict = "ok" if result.ok else f"FAILED (tolerance {TOLERANCE:g})"
    typer.echo(
        f"gradient check: max relative error {result.max_error:.2e} at {result.worst} "
        f"over {result.checked} entries: {verdict}",
        err=to_stderr,
    )
    if not result.ok:
        raise typer.Exit(1)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  nncalc verify answers.yaml   (a student checking their own sheet)\n\n"
        "  nncalc verify submissions/ --problem problems/a4.yaml --format csv -o grades.csv\n\n"
        "  nncalc verify variants/submissions/ --variants variants/ --format csv -o grades.csv"
        "\n\n"
        "  nncalc verify submissions/ --problem-root problems/ --format json\n\n"
        "  nncalc verify submission.yaml --problem a4.yaml --format gradescope "
        "> /autograder/results/results.json"
        "\n\n"
        "Exit codes: 0 every answer has full marks; 1 some answer does not; 2 some input "
        "could not be graded (every other file is still graded and reported)."
    )
)
def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Answers files, or folders of them (*.yaml, *.yml).", show_default=False
        ),
    ],
    problem: Annotated[
        Path | None,
        typer.Option(
            "--problem", help="Grade against this problem file, whatever the answers say."
        ),
    ] = None,
    variants: Annotated[
        Path | None,
        typer.Option(
            "--variants",
            help="The folder nncalc generate wrote: each sheet against the variant of the "
            "student its file (or folder) names.",
        ),
    ] = None,
    problem_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--problem-root",
            help="Trust a sheet's problem: only if it names a file under this folder (repeatable).",
        ),
    ] = None,
    fmt: Annotated[
        VerifyFormat | None,
        typer.Option("--format", "-f", help=FORMAT_HELP),
    ] = None,
    show_expected: Annotated[
        bool,
        typer.Option("--show-expected/--hide-expected", help="Show the exact values."),
    ] = False,
    precision: PrecisionOption = 4,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="With --format html: one page per student and index.html, the class "
            "overview, in this folder.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Print nothing; the exit code only.")
    ] = False,
    output: OutputOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="With -o FILE (json, csv): keep the results in FILE.partial from a run that "
            "stopped, grade only the rest.",
        ),
    ] = False,
    limit: LimitOption = None,
    color: ColorOption = None,
) -> None:
    """Grade students' answers against the instructor's key: verdicts, points, hints, total."""
    with reported_errors():
        from nncalc.grading import grade_files
        from nncalc.problem import Limits
        from nncalc.report import render_results
        from nncalc.sources import find_sheets

        limits = Limits.parse(limit or [])
        fmt_name, color, width = _display(fmt, output, color, suffixes=VERIFY_SUFFIXES)
        if out_dir is not None and (fmt_name != "html" or output is not None):
            raise NncalcError(
                "expected --format html and no -o (the pages go in the folder)", argument="out_dir"
            )
        entries = find_sheets(paths)
        source = _key_source(problem, variants, problem_root or [], paths, fmt_name)
        partial = _partial_file(output, fmt_name, resume)
        previous = _read_partial(partial) if resume and partial else {}
        bar = not quiet and sys.stderr.isatty() and len(entries) > 1
        with _stream(partial, append=resume) as done:
            results = grade_files(
                entries,
                source=source,
                limits=limits,
                progress=_progress_bar if bar else None,
                done=done,
                previous=previous,
            )
        if out_dir is not None:
            from nncalc.output import atomic_write_all
            from nncalc.report import html_pages

            out_dir.mkdir(parents=True, exist_ok=True)
            pages = html_pages(results, show_expected=show_expected, precision=precision)
            atomic_write_all([(out_dir / name, page) for name, page in pages.items()])
        elif not quiet:
            text = render_results(
                results,
                cast("ReportFormat", fmt_name),  # a VerifyFormat's value
                show_expected=show_expected,
                precision=precision,
                color=color,
                width=width,
            )
            _write(text, output)
        if partial is not None:
            partial.unlink(missing_ok=True)
    if any(r.error for r in results):
        raise typer.Exit(EXIT_BAD_INPUT)
    if not all(r.full_marks for r in results):
        raise typer.Exit(1)


#: The formats a student's self-check may use: none of them is a gradebook.
SELF_CHECK_FORMATS = ("rich", "plain", "markdown", "latex", "html", "json")
KEY_OPTIONS = "--problem FILE, --variants DIR or --problem-root DIR"


def _key_source(
    problem: Path | None,
    variants: Path | None,
    roots: list[Path],
    paths: list[Path],
    fmt_name: str,
) -> "KeySource":
    """The instructor's source of the key; a self-check only for one file, not a gradebook."""
    from nncalc.sources import GivenProblem, ProblemRoots, SelfCheck, VariantsIndex

    if sum(x is not None and x != [] for x in (problem, variants, roots)) > 1:
        raise NncalcError(f"give only one of {KEY_OPTIONS}")
    if problem is not None:
        return GivenProblem(problem)
    if variants is not None:
        return VariantsIndex.read(variants)
    if roots:
        return ProblemRoots(roots)
    if len(paths) != 1 or paths[0].is_dir() or fmt_name not in SELF_CHECK_FORMATS:
        raise NncalcError(
            f"grading a class (a folder, several files, csv or gradescope) needs the "
            f"instructor's key: pass {KEY_OPTIONS}"
        )
    return SelfCheck()


def _partial_file(output: Path | None, fmt_name: str, resume: bool) -> Path | None:
    """Where results are streamed while grading (-o FILE in json or csv): FILE.partial."""
    regular = (
        output is not None and str(output) != "-" and (output.is_file() or not output.exists())
    )
    if output is None or fmt_name not in ("json", "csv") or not regular:
        if resume:
            raise NncalcError("--resume needs -o FILE with --format json or csv")
        return None
    return output.with_name(output.name + ".partial")


def _read_partial(partial: Path) -> "dict[str, StudentResult]":
    """The results a stopped run streamed, by file; a line cut short by the crash is skipped."""
    import json

    from nncalc.results import result_from_dict

    if not partial.is_file():
        raise NncalcError("nothing to resume: no such file", source=str(partial))
    results = {}
    with partial.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                result = result_from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError):
                continue
            results[result.file] = result
    return results


@contextmanager
def _stream(partial: Path | None, *, append: bool) -> "Iterator[Callable[[StudentResult], None]]":
    """A function that writes each result as one JSON line to ``partial``, flushed at once."""
    if partial is None:
        yield lambda result: None
        return
    import json

    from nncalc.results import result_to_dict

    try:
        stream = partial.open("a" if append else "w", encoding="utf-8")
    except OSError as exc:
        raise NncalcError(f"cannot write: {exc.strerror or exc}", source=str(partial)) from None
    with stream:

        def done(result: "StudentResult") -> None:
            stream.write(json.dumps(result_to_dict(result), ensure_ascii=False) + "\n")
            stream.flush()

        yield done


def _progress_bar(files: list[Item]) -> Iterable[Item]:
    """The files one by one, with a progress bar on stderr that is gone when all are done."""
    from rich.console import Console
    from rich.progress import track

    return track(files, description="grading", transient=True, console=Console(stderr=True))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  nncalc template problems/a4.yaml > answers.yaml\n\n"
        "  nncalc template problems/a4.yaml -o answers.yaml\n\n"
        "  nncalc template problems/a4.yaml --with-equations -o key-sheet.yaml"
    )
)
def template(
    problem: Annotated[Path, typer.Argument(help="Problem file (YAML).", show_default=False)],
    output: OutputOption = None,
    with_equations: Annotated[
        bool,
        typer.Option(
            "--with-equations",
            help="Show each quantity's equation in its comment (for the instructor: the "
            "equations are part of the answers).",
        ),
    ] = False,
) -> None:
    """Print a blank answer sheet: every quantity in the right shape, with its points."""
    with reported_errors():
        import os

        from nncalc.problem import load_problem
        from nncalc.template import answer_template

        loaded = load_problem(problem)
        target = _to_file(output)
        where = target.parent if target is not None else Path.cwd()
        reference = (
            None
            if str(problem) == "-"  # from standard input: no path to name
            else Path(os.path.relpath(problem.resolve(), where.resolve())).as_posix()
        )
        _write(answer_template(loaded, reference, with_equations=with_equations), output)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  nncalc generate problems/a4.yaml --roster roster.csv --seed 2024 -o variants/\n\n"
        "  nncalc generate problems/a4.yaml --count 30 --seed 2024 -o variants/\n\n"
        "Then collect the filled sheets in variants/submissions/ and run "
        "nncalc verify variants/submissions/ --variants variants/: each is graded against "
        "its own variant."
    )
)
def generate(
    problem: Annotated[Path, typer.Argument(help="Problem file (YAML).", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            "--out",
            help="Folder to write the variants into (--out is the same option).",
        ),
    ],
    roster: Annotated[
        Path | None,
        typer.Option("--roster", help="CSV of students: a student/id column, or the first."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, max=100_000, help="Students s001, s002, …")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same variants.")] = 0,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the variants an earlier run wrote in --out."),
    ] = False,
) -> None:
    """Write one variant per student (new numbers, same network), its blank sheet and keys."""
    with reported_errors():
        from nncalc.problem import load_problem
        from nncalc.variants import generate as write_variants
        from nncalc.variants import read_roster

        if (roster is None) == (count is None):
            raise NncalcError("give exactly one of --roster FILE or --count N")
        width = len(str(count)) if count else 0
        students = (
            read_roster(roster)
            if roster
            else [f"s{i:0{max(3, width)}d}" for i in range(1, (count or 0) + 1)]
        )
        variants = write_variants(load_problem(problem), students, seed, out, force=force)
        redrawn = sum(v.attempts > 1 for v in variants)
        typer.echo(
            f"wrote {len(variants)} variants to {out} (index: {out / 'index.csv'}; "
            f"{redrawn} redrawn to avoid kinks, saturation or invisible updates)"
        )


@app.command(
    epilog=(
        "Examples:\n\n"
        "  nncalc schema problem > problems/problem.schema.json\n\n"
        "  nncalc schema answers -o answers.schema.json\n\n"
        "Then start a YAML file with  # yaml-language-server: $schema=problem.schema.json  "
        "and VS Code (with the YAML extension) and other editors check and complete it."
    )
)
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="Which file: problem or answers.")],
    output: OutputOption = None,
) -> None:
    """Print the JSON Schema of problem files or answers files, for editors."""
    with reported_errors():
        from nncalc.schema import schema_json

        _write(schema_json(kind.value), output)


@app.command(
    "gradescope-autograder",
    epilog=(
        "Examples:\n\n"
        "  nncalc gradescope-autograder problems/a4.yaml -o autograder.zip\n\n"
        "  nncalc gradescope-autograder problems/a4.yaml -o autograder.zip "
        "--visibility after_published\n\n"
        "Upload the zip as the assignment's autograder (Gradescope: Configure Autograder, "
        "Zip file upload); students submit one answers file, such as answers.yaml."
    ),
)
def gradescope_autograder(
    problem: Annotated[Path, typer.Argument(help="Problem file (YAML).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip to write.")],
    visibility: Annotated[
        str,
        typer.Option(
            "--visibility",
            help="When students see their results: visible, hidden, after_due_date or "
            "after_published.",
        ),
    ] = "visible",
    show_expected: Annotated[
        bool,
        typer.Option(
            "--show-expected/--hide-expected", help="Show the exact values in the feedback."
        ),
    ] = False,
) -> None:
    """Build a Gradescope autograder zip: nncalc, the problem (the only key) and the scripts."""
    with reported_errors():
        from nncalc.autograder import VISIBILITIES, build
        from nncalc.output import atomic_write

        if visibility not in VISIBILITIES:
            raise NncalcError(
                f"expected one of {', '.join(VISIBILITIES)}; got {visibility!r}",
                argument="visibility",
            )
        atomic_write(output, build(problem, visibility=visibility, show_expected=show_expected))


#: The format an output file's extension implies, when --format is not given.
SOLVE_SUFFIXES = {".json": "json", ".md": "markdown", ".tex": "latex", ".txt": "plain"}
VERIFY_SUFFIXES = {
    ".json": "json",
    ".jsonl": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".tex": "latex",
    ".html": "html",
    ".htm": "html",
    ".txt": "plain",
}


def _display(
    fmt: Enum | None,
    output: Path | None,
    color: bool | None = None,
    suffixes: dict[str, str] = SOLVE_SUFFIXES,
) -> tuple[str, bool, int | None]:
    """The format, whether to colour, the width (None: the terminal's, else ``COLUMNS``, else
    80, as Rich finds it).

    Without ``--format``, ``-o key.tex`` writes LaTeX (the extension's format, by
    ``suffixes``); a ``--format`` the extension contradicts is refused.

    Colour follows ``--color/--no-color``, else ``NO_COLOR`` (no colour) and ``FORCE_COLOR``
    (colour, also into a pipe), else whether stdout is a terminal; the default format is
    rich where there is colour to show, plain otherwise.
    """
    import os

    output = _to_file(output)
    to_terminal = _is_terminal() and output is None
    if color is None:
        if os.environ.get("NO_COLOR"):
            color = False
        elif os.environ.get("FORCE_COLOR"):
            color = output is None
        else:
            color = to_terminal
    implied = suffixes.get(output.suffix.lower()) if output is not None else None
    if fmt is not None and implied is not None and str(fmt.value) != implied:
        raise NncalcError(
            f"--format {fmt.value} contradicts the extension of {output} ({implied}); "
            "give one of them, or a file name that agrees",
        )
    name = str(fmt.value) if fmt else implied or ("rich" if to_terminal or color else "plain")
    return name, name == "rich" and color, None


def _to_file(output: Path | None) -> Path | None:
    """The file ``-o`` names, or None for standard output (no ``-o``, or ``-o -``)."""
    return None if output is None or str(output) == "-" else output


def _write(
    text: str | Iterable[str], output: Path | None, also: Sequence[tuple[Path, bytes]] = ()
) -> None:
    """``text`` (or its pieces) to ``output`` (stdout if None or '-'), and the ``also``
    files: every regular file or none; a device or FIFO is written into, never replaced."""
    target = _to_file(output)
    files: list[tuple[Path, str | bytes | Iterable[str]]] = [
        *([(target, text)] if target else []),
        *also,
    ]
    if files:
        from nncalc.output import write_outputs  # tempfile: only when writing files

        write_outputs(files)
    if target is None:
        sys.stdout.writelines([text] if isinstance(text, str) else text)


def main() -> None:
    """Entry point of the ``nncalc`` command (and of ``python -m nncalc``, which is named
    nncalc too, in its help and for shell completion).

    A usage error (a missing argument, an unknown option) is one line on stderr, as every
    other error is, with exit code 2 (click's own code for usage errors).
    """
    # click's UsageError, whether Typer vendors click or depends on it
    usage_error: type[Exception] = next(
        c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
    )
    try:
        code = app(prog_name="nncalc", standalone_mode=False)
    except usage_error as exc:
        message = exc.format_message()  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `nncalc`: the help, as before
            if message.strip():  # (Rich has printed it already where it draws the help)
                typer.echo(message)
        else:
            ctx = exc.ctx  # type: ignore[attr-defined]
            where = ctx.command_path if ctx else "nncalc"
            typer.echo(f"error: {message} (see '{where} --help')", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:
        typer.echo("error: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

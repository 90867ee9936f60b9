"""Fuzz tests for every loader and the expression parser (docs/fuzzing.md).

Entry points and the property each must keep, whatever the input:

* ``nncalc solve FILE --format json``: exit 0 with JSON whose values are all finite and
  whose loss is a float, nothing on stderr; or exit 2, nothing on stdout and exactly one
  clean line on stderr starting with ``error: ``.
* ``nncalc verify FILE --problem P --format json``: exit 0 or 1 with one JSON line (score
  ≤ max_score, points ≤ max_points, every verdict one of the five, exit 0 exactly at full
  marks); or exit 2 with one JSON line, the error row ``{"student", "file", "problem",
  "error"}`` whose error is one clean line; nothing on stderr. P is problems/a4.yaml, or a
  random well-formed problem: then verify grades it exactly when solve accepts it.
* ``nncalc.yamlio.parse_yaml``: a Document, or an NncalcError whose message is one line.
* ``nncalc.expr.parse_activation``: an Activation whose f and f' evaluate on
  ``np.linspace(-3, 3, 7)`` to 7 floats, or an ExpressionError whose one-line message
  names the column; within 500 ms.

Never a traceback, another exception or exit code, a warning (the real command prints
NumPy's RuntimeWarning on stderr), or a hang (NNCALC_FUZZ_TIMEOUT seconds, default 60).
"One clean line": no line break of any kind and no control character.

Inputs: mutations of the valid examples (keys dropped or renamed, types swapped, numbers
out of range, lists resized or reshaped, nesting deepened past the limit, activations
replaced by random expressions, YAML tags, anchors and odd scalars spliced in), random
well-formed problems (random architecture, activations, losses, grading; extreme numbers
in a quarter of them), random documents and YAML-ish text, the files' text cut and
spliced, raw bytes (garbage, invalid UTF-8, other encodings).

Examples per entry point: 2,000 (the ``ci`` profile), the profile's ``max_examples``
when larger (``--hypothesis-profile=fuzz-long``: 100,000), or NNCALC_FUZZ_EXAMPLES; each
test runs its share of its entry point's examples (the argument of ``fuzz``).

Failures found are listed in KNOWN with a minimal reproducer, run by test_found_failure:
a strict xfail while open, a regression test once ``fixed`` names the commit. While an
open failure still reproduces, the fuzz tests count it as an event instead of failing, so
they go on looking for new ones; once its reproducer passes it is no longer tolerated.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import re
import signal
import tempfile
import time
import traceback
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from nncalc.cli import app
from nncalc.errors import NncalcError
from nncalc.expr import Activation, ExpressionError, parse_activation
from nncalc.results import VERDICTS
from nncalc.yamlio import Document, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
A4 = PROBLEMS / "a4.yaml"
ANSWERS_DIR = ROOT / "tests" / "data" / "a4"

#: Examples per entry point: NNCALC_FUZZ_EXAMPLES, else the profile's when above 2,000.
EXAMPLES = int(os.environ.get("NNCALC_FUZZ_EXAMPLES") or max(2000, settings.default.max_examples))
#: A single CLI run slower than this is reported as a hang (seconds).
TIMEOUT = float(os.environ.get("NNCALC_FUZZ_TIMEOUT", "60"))


def fuzz(share: float, deadline: int | None = None) -> settings:
    """Settings for a test that runs ``share`` of its entry point's examples."""
    return settings(
        max_examples=max(1, round(EXAMPLES * share)),
        deadline=deadline,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


RUNNER = CliRunner()


# ---------------------------------------------------------------------------
# The property, and the failures found (reproduced at the end of the file)


class PropertyError(AssertionError):
    """The property does not hold; ``detail`` is what known failures are matched against."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(f"{message}:\n{detail}")
        self.detail = detail


def require(ok: bool, message: str, detail: Any = "") -> None:
    if not ok:
        raise PropertyError(message, detail if isinstance(detail, str) else repr(detail))


def record(what: str) -> None:
    """A Hypothesis event (counted in --hypothesis-show-statistics), when inside a test."""
    if currently_in_test_context():
        event(what)


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def clean_line(text: str) -> bool:
    """One line of plain text: no line break of any kind, no control character."""
    return text.strip() != "" and not any(unicodedata.category(c) in _BREAKS for c in text)


_BREAKS = ("Cc", "Zl", "Zp")  # control characters (\n, \r, \t, \x1b ...), U+2028, U+2029


@dataclass(frozen=True)
class Known:
    """A failure the fuzz tests found: a minimal input for one entry point, and a pattern
    that recognises the failure (in PropertyError.detail) when the fuzzer meets it again."""

    id: str
    entry: str  # a key of CHECKS
    input: str
    pattern: str
    reason: str
    fixed: str = ""  # the commit that fixed it: the reproducer is then a regression test


_CTRL = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
KNOWN: tuple[Known, ...] = (
    Known(
        "reader-error-two-lines",
        "solve",
        "a: \x01\n",
        r'unacceptable character #x[0-9a-f]+: .*\n\s*in "<unicode string>"',
        "yamlio.parse_yaml: a control character (or NUL) in the file gives PyYAML's ReaderError, "
        "whose str() has a second line ('  in \"<unicode string>\", position N')",
        fixed="a21affa",
    ),
    Known(
        "raw-key-in-field-path",
        "solve",
        '"a\\nb": 1\n',
        rf"\.yaml:\d+: (?:(?!: ).)*{_CTRL}",
        "the field path in a message is built from the key as written: a key with a newline "
        "or another control character breaks the one-line message (the key is shown with "
        "repr() in the message itself, but raw in the path)",
        fixed="a21affa",
    ),
    *(
        Known(
            f"tagged-scalar-{tag}",
            "solve",
            f"a: !!{tag}{value}\n",
            rf"in construct_yaml_{tag}\n(?:.*\n)*?{exc.__name__}",
            f"yamlio: an explicitly tagged scalar (e.g. 'a: !!{tag}{value}') reaches PyYAML's "
            f"constructor, which raises {exc.__name__}; parse_yaml only turns YAMLError, "
            "ValueError, OverflowError and TypeError into NncalcError",
            fixed="a21affa",
        )
        for tag, value, exc in (
            ("int", "", IndexError),
            ("float", "", IndexError),
            ("bool", " maybe", KeyError),
            ("timestamp", " xyz", AttributeError),
        )
    ),
    Known(
        "init-scale-overflow",
        "solve",
        "network: {input: 1, layers: [{units: 1, activation: relu}]}\n"
        "loss: mse\nlearning_rate: 0.1\ninit: {seed: 0, scale: 1.0e+308}\nx: [1]\ny: [1]\n",
        r"OverflowError: high - low range exceeds valid bounds",
        "problem.init: a uniform init with scale > ~9e307 makes NumPy's Generator.uniform "
        "raise OverflowError (high - low is inf): a traceback instead of exit 2",
        fixed="a21affa",
    ),
    Known(
        "init-round-overflow-warning",
        "solve",
        "network: {input: 1, layers: [{units: 1, activation: relu, bias: false}]}\n"
        "loss: mse\nlearning_rate: 0.1\n"
        "init: {seed: 1, scale: 1.0e+308, decimals: 1, distribution: normal}\nx: [1]\ny: [0]\n",
        r"RuntimeWarning: overflow encountered in multiply \(.*fromnumeric\.py",
        "problem.init: rounding drawn parameters of ~1e307 and more to 'decimals' overflows "
        "(NumPy RuntimeWarning printed on stderr before the error line; the drawn values "
        "become inf and are not checked for finiteness)",
        fixed="a21affa",
    ),
    Known(
        "rubric-bound-overflow-warning",
        "graded",
        "network: {input: 1, layers: [{units: 2, activation: softmax}]}\n"
        "loss: cross_entropy\nlearning_rate: 0.1\n"
        "parameters: {W1: [[1], [0]], b1: [0, 0]}\nx: [1.7976931348623157e+308]\ny: [1, 0]\n",
        r"RuntimeWarning: .* \(.*rubric\.py",
        "rubric.Tolerance.bound: np.spacing / rtol·exact overflow for exact values near the "
        "float maximum (or inf), and NumPy prints a RuntimeWarning on stderr during verify",
        fixed="2cc341f",
    ),
    Known(
        "verify-grades-unsolvable-problem",
        "graded",
        "network: {input: 1, layers: [{units: 1, activation: relu, bias: false}]}\n"
        "loss: mse\nlearning_rate: 0\nparameters: {W1: [[1.0]]}\nx: [1.0e+308]\ny: [0]\n",
        r"^verify exit [01], solve exit 2$",
        "verify grades against a problem whose exact solution is not finite (solve refuses it, "
        "exit 2: 'loss: the value is not finite'); the items with an inf/NaN exact value "
        "(expected: null) can never be earned but count in max_score",
        fixed="2cc341f",
    ),
    Known(
        "rounded-intermediates-refuse-problem",
        "graded",
        "network: {input: 1, layers: [{units: 1, activation: sigmoid, bias: false}]}\n"
        "loss: cross_entropy\nlearning_rate: 0\nparameters: {W1: [[0.5]]}\nx: [0]\ny: [1]\n"
        "grading: {tolerance: {decimals: 0}}\n",
        r"^verify exit 2, solve exit 0$",
        "grading.Grader computes the 'rounded intermediates' solution with network.compute, "
        "which raises when a rounded value makes a later step undefined (ŷ = 0.5 rounds to 0 "
        "with decimals: 0, so log ŷ = -inf): verify refuses a problem solve accepts, for "
        "every student, with an error row that does not name the problem file",
        fixed="2cc341f",
    ),
    Known(
        "points-sum-overflow",
        "graded",
        "network: {input: 1, layers: [{units: 1, activation: identity}]}\n"
        "loss: mse\nlearning_rate: 0.1\nparameters: {W1: [[1]], b1: [0]}\nx: [1]\ny: [1]\n"
        "grading: {points: {Z1: 1.0e+308, A1: 1.0e+308}}\n",
        r"ValueError: Out of range float values are not JSON compliant",
        "rubric: each grading.points value only has to be finite, but their sum (max_score) "
        "overflows to inf: verify --format json dies with a traceback (json.dumps with "
        "allow_nan=False), csv and plain print 'inf'",
        fixed="2cc341f",
    ),
    Known(
        "control-character-in-expression-message",
        "expression",
        "\x1b",
        rf'at column \d+ in ".*{_CTRL}',
        "expr._error shows the expression in the message with whitespace replaced but other "
        "control characters (ESC, NUL, DEL...) left raw",
        fixed="a21affa",
    ),
    Known(
        "empty-expression-no-column",
        "expression",
        " ",
        r"^empty expression",
        "parse_activation('') and parse_activation('   ') raise ExpressionError without a "
        "column in the message (every other refusal names one)",
        fixed="a21affa",
    ),
)
#: The failures not fixed yet: tolerated by the fuzz tests while they still reproduce.
OPEN = tuple(known for known in KNOWN if not known.fixed)


@functools.cache
def still_broken(known: Known) -> bool:
    """Whether the reproducer still fails (so a fixed failure is never tolerated again)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            CHECKS[known.entry](Path(folder), known.input)
        except PropertyError as failure:
            return re.search(known.pattern, failure.detail) is not None
    return False


@contextmanager
def tolerating_known() -> Iterator[None]:
    """Record a known failure that still reproduces as an event, so fuzzing goes on."""
    try:
        yield
    except PropertyError as failure:
        for known in OPEN:
            if re.search(known.pattern, failure.detail) and still_broken(known):
                record(f"known failure: {known.id}")
                return
        raise


# ---------------------------------------------------------------------------
# Running the CLI


class Hang(BaseException):
    """Raised by the alarm; a BaseException so nothing in nncalc or Click catches it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str]) -> Result:
    """Run nncalc in-process; a warning fails the property, since the real command prints
    it on stderr (Python shows RuntimeWarning by default)."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, time_limit(TIMEOUT):
        warnings.simplefilter("always")
        result = RUNNER.invoke(app, args)
    if time.perf_counter() - start > 2:
        record("a CLI run took over 2 s")
    shown = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    require(not shown, "a warning, which nncalc would print on stderr", "\n".join(shown))
    return result


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _common(result: Result) -> None:
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        require(False, "an exception escaped the CLI", _describe(exc))
    output = result.stdout + result.stderr
    require("Traceback" not in output, "a traceback in the output", output)


def _no_constants(name: str) -> Any:
    raise PropertyError("JSON output contains a non-finite number", name)


def _json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise PropertyError(f"not JSON ({exc})", text[:500]) from None


def _finite(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        require(math.isfinite(value), "a non-finite value", f"{where}: {value}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}")


def check_solve(folder: Path, content: str | bytes) -> int:
    """`nncalc solve FILE --format json`: exit 0 and finite JSON, or exit 2 and one line."""
    path = _write(folder, "problem.yaml", content)
    result = run_cli(["solve", str(path), "--format", "json"])
    _common(result)
    out, err, code = result.stdout, result.stderr, result.exit_code
    require(code in (0, 2), f"exit code {code}", err)
    if code == 2:
        require(out == "", "exit 2 with output on stdout", out[:500])
        require(err.startswith("error: "), "the message does not start with 'error: '", err)
        require(err.endswith("\n") and clean_line(err[:-1]), "not one clean line", err[:-1])
        record("solve: exit 2")
        return code
    require(err == "", "exit 0 with output on stderr", err)
    doc = _json(out)
    values = doc["values"]
    require(isinstance(values.get("loss"), float), "the loss is not a float", values.get("loss"))
    _finite(values, "values")
    _finite(doc["steps"], "steps")
    record("solve: exit 0")
    return code


def check_verify(folder: Path, content: str | bytes, problem: Path = A4) -> dict[str, Any]:
    """`nncalc verify FILE --problem P --format json`: one JSON line, a result or an error."""
    path = _write(folder, "answers.yaml", content)
    result = run_cli(["verify", str(path), "--problem", str(problem), "--format", "json"])
    _common(result)
    out, err, code = result.stdout, result.stderr, result.exit_code
    require(code in (0, 1, 2), f"exit code {code}", err)
    require(err == "", "output on stderr", err)
    require(out.count("\n") == 1 and out.endswith("\n"), "not one JSON line", out[:500])
    row = _json(out)
    if code == 2:
        require(set(row) >= {"student", "file", "problem", "error"}, "not an error row", row)
        require("items" not in row, "an error row with items", row)
        error = row["error"]
        require(isinstance(error, str) and clean_line(error), "not one clean line", error)
        record("verify: exit 2")
        return {"exit": code, **row}
    require("error" not in row, f"exit {code} with an error", row)
    score, max_score = row["score"], row["max_score"]
    require(0 <= score <= max_score + 1e-9, "score out of range", (score, max_score))
    for item in row["items"]:
        require(item["verdict"] in VERDICTS, "unknown verdict", item)
        require(0 <= item["points"] <= item["max_points"] + 1e-9, "points out of range", item)
    full = score >= max_score
    require((code == 0) == full, "exit code and score disagree", (code, score, max_score))
    record(f"verify: exit {code}")
    return {"exit": code, **row}


def check_graded(folder: Path, problem: str, answers: str = "answers: {}\n") -> None:
    """verify on any problem: the property of verify, and verify grades a problem exactly
    when solve accepts it (a problem solve refuses is an error row for verify)."""
    path = _write(folder, "graded_problem.yaml", problem)
    row = check_verify(folder, answers, problem=path)
    if row["exit"] == 2 and row["problem"] is None:
        record("verify: the answers file refused")  # the problem was not even read
        return
    graded = row["exit"]
    solved = check_solve(folder, problem)
    require(
        (graded == 2) == (solved == 2),
        "verify and solve disagree on the problem",
        f"verify exit {graded}, solve exit {solved}",
    )


Z = np.linspace(-3, 3, 7)


def check_expression(folder: Path | None, text: str) -> None:
    """parse_activation: an Activation that evaluates, or ExpressionError naming the column."""
    try:
        act = parse_activation(text)
    except ExpressionError as exc:
        message = str(exc)
        require(clean_line(message), "not one clean line", message)
        require("column" in message, "the message names no column", message)
        record("expression: refused")
        return
    except Exception as exc:
        require(False, "an exception other than ExpressionError", _describe(exc))
    require(isinstance(act, Activation), "not an Activation", act)
    for values in (act(Z), act.derivative(Z)):
        require(
            isinstance(values, np.ndarray) and values.shape == Z.shape and values.dtype == float,
            "not 7 floats",
            values,
        )
    record("expression: parsed")


def check_parse_yaml(folder: Path | None, text: str) -> None:
    """parse_yaml: a Document, or NncalcError with one clean line."""
    try:
        doc = parse_yaml(text, "x.yaml")
    except NncalcError as exc:
        require(clean_line(str(exc)), "not one clean line", str(exc))
        record("parse_yaml: refused")
        return
    except Exception as exc:
        require(False, "an exception other than NncalcError", _describe(exc))
    require(isinstance(doc, Document), "not a Document", doc)
    record("parse_yaml: parsed")


CHECKS: dict[str, Callable[[Path, Any], None]] = {
    "solve": check_solve,
    "verify": check_verify,
    "graded": check_graded,
    "expression": check_expression,
    "parse_yaml": check_parse_yaml,
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------------------
# Expressions


FUNCTIONS = (
    *("relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus", "sin", "cos"),
    *("exp", "log", "sqrt", "abs", "identity", "linear"),
)
EXPR_TOKENS = (
    *FUNCTIONS,
    *("x", "x", "x", "pi", "e", "softmax", "lambda", "ln", "X", "z", "ReLU", "sigma", "__import__"),
    *("(", "(", ")", ")", "+", "-", "*", "/", "**", "^", ",", "=", ".", "[", "]", "{", "}"),
    *("'", '"', "\u2212", "\u00d7", "\u00b7", "\u00b2", "0", "1", "2", "2.5", ".5", "5."),
    *("1e3", "1e308", "1e309", "1e-400", "64", "65", "-64", "0.0", "9" * 400, "1" * 20),
    *(" ", " ", "\t", "\n", "\u00a0", "\u2028", "#", "@", "$", "!", "<", ">", "%", "&", "|"),
)
CONSTANTS = ("0", "1", "2", "0.5", "3", "0.1", "pi", "e", "64", "1e-3", "100", "700", "1e300")


def _call(func: str) -> Callable[[str], str]:
    return lambda arg: f"{func}({arg})"


@st.composite
def _binary(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    a, b = draw(inner), draw(inner)
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({a} {op} {b})" if draw(st.booleans()) else f"{a}{op}{b}"


@st.composite
def _power(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    base = draw(inner)
    exponent = draw(st.sampled_from(["2", "3", "0.5", "-1", "64", "-64", "65", "1/3", "(1-1)"]))
    return f"({base})**{exponent}" if draw(st.booleans()) else f"{base}^{exponent}"


@st.composite
def _alpha_call(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    func = draw(st.sampled_from(["leaky_relu", "elu"]))
    alpha = draw(st.sampled_from((*CONSTANTS, "-1", "x", "1/0", "0*1e309")))
    return f"{func}({draw(inner)}, {alpha})"


def _grammar_leaf() -> st.SearchStrategy[str]:
    numbers = st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(abs(f)))
    return st.one_of(st.just("x"), st.sampled_from(CONSTANTS), numbers)


#: Mostly valid expressions, built from the grammar.
valid_expressions = st.recursive(
    _grammar_leaf(),
    lambda inner: st.one_of(
        st.builds(lambda f, a: _call(f)(a), st.sampled_from(FUNCTIONS), inner),
        _binary(inner),
        _power(inner),
        _alpha_call(inner),
        inner.map(lambda a: f"-{a}"),
        inner.map(lambda a: f"({a})"),
    ),
    max_leaves=12,
)


@st.composite
def token_soup(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.sampled_from(EXPR_TOKENS), max_size=30))
    sep = draw(st.sampled_from(["", " "]))
    return sep.join(tokens)


@st.composite
def deep_expression(draw: st.DrawFn) -> str:
    """Nesting around the parser's limit of 64 levels."""
    n = draw(st.integers(55, 75))
    kind = draw(st.sampled_from(["paren", "call", "neg", "pow", "chain", "sum"]))
    if kind == "paren":
        return "(" * n + "x" + ")" * n
    if kind == "call":
        func = draw(st.sampled_from(FUNCTIONS))
        return f"{func}(" * n + "x" + ")" * n
    if kind == "neg":
        return "-" * n + "x"
    if kind == "pow":
        return "x" + "**1" * n
    if kind == "chain":
        return "**".join(["x"] + ["1"] * n)
    return "+".join(["x"] * n)


@st.composite
def mutated_text(
    draw: st.DrawFn, source: st.SearchStrategy[str], tokens: tuple[str, ...] = EXPR_TOKENS
) -> str:
    """A text with characters or slices deleted, inserted, replaced or duplicated."""
    text = draw(source)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        piece = draw(st.one_of(st.sampled_from(tokens), st.text(max_size=3)))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


expressions = st.one_of(
    st.sampled_from((*FUNCTIONS, "softmax", "relu(x) + sin(x)", "x**2/2 - 3*tanh(x)")),
    valid_expressions,
    token_soup(),
    deep_expression(),
    mutated_text(valid_expressions),
    st.text(max_size=60),
    st.text(alphabet="x()+-*/^., 0123456789e", max_size=60),
)

# ---------------------------------------------------------------------------
# YAML documents: mutations of the valid examples, random documents, raw bytes


@dataclass(frozen=True)
class Raw:
    """Text written into the YAML as it is (a tag, an anchor, an odd plain scalar)."""

    text: str


RAW_SCALARS = (
    *("1.0e+309", "-1.0e+309", "1e309", ".inf", "-.inf", ".nan", ".NaN", "0x1F", "0o17", "0b11"),
    *("017", "1_000", "1:30", "190:20:30.15", "-1:30", "2001-12-14"),
    *("2001-12-14t21:59:43.10-05:00",),
    *("2020-13-45", "2020-02-30 25:61:61", "~", "null", "Null", "yes", "No", "on", "OFF", "y"),
    *("!!binary aGVsbG8=", "!!binary '%%%'", "!!python/object/apply:os.system ['true']"),
    *("!!python/name:os.system", "!!python/tuple [1, 2]", "!!str 5", "!!int abc", "!!int 0x"),
    *("!!int", "!!int _", "!!float", "!!float .", "!!float abc", "!!bool maybe", "!!bool"),
    *("!!bool yes", "!!timestamp xyz", "!!timestamp", "!!timestamp 2001-12-14", "!!set {a, b}"),
    *("!!omap [a: 1]", "!!pairs [a: 1]", "!!null x", "!!map x", "!!seq x", "!!merge 5"),
    *("!!str [1, 2]", "!!seq {a: 1}", "!!map [1, 2]", "!custom 1", "!<tag:yaml.org,2002:str> 5"),
    *("!<tag:yaml.org,2002:int> 5", "&a [1, 2]", "*a", "&b {x: 1}", "*b", "*undefined"),
    *("[1, 2", "{a: 1", "'unterminated", '"\\x"', '"\\u2028"', '"a\\nb"', '"\\0"', "{}", "[]"),
    *("[[]]", "[{}]", "[null, null]", "{<<: {a: 1}}", "{<<: [*b]}", "{<<: 1}", "? a", "- a"),
    *("@at", "`tick", "%percent", "|", ">", "'\t'", "[1, [2, [3]]]", "{a: [1, {b: 2}]}"),
    *("[&c [1,1,1,1,1,1,1,1,1,1], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], [*d,*d,*d,*d,*d]]",),
)
RAW_KEYS = ("<<", "[a, b]", "{a: 1}", "!!binary aGk=", "!!int 5", "&k key", "*k", "? x", "~", "1.5")
NAMES = (
    *("name", "network", "loss", "reduction", "learning_rate", "parameters", "init"),
    *("frozen", "x", "y", "grading", "input", "layers", "units", "activation", "bias"),
    *("seed", "scale", "decimals", "distribution", "points", "tolerance", "partial"),
    *("follow_through", "sigfigs", "rtol", "atol", "problem", "student", "answers", "answer"),
    *("W0", "W1", "W2", "W3", "b0", "b1", "b2", "b3", "Z1", "Z2", "Z3", "A0", "A1", "A2"),
    *("H", "y_hat", "ŷ", "W1'", "b1'", "W2'", "δ1", "delta_1", "delta1", "delta2", "f'(Z1)"),
    *("fprime1", "fprime2", "dL/dW1", "dW1", "db1", "dW2", "db2", "dA1", "dA2", "W2T_delta2"),
    *("W1_new", "b2_new", "loss", "Loss", "nework", "learning rate", "", " ", "a\nb", "é"),
)
OUT_OF_RANGE = (
    *(0, -1, 1, 2, 0.5, -0.5, 3.0, -0.0, 1e-320, 1e308, -1e308, 1.7976931348623157e308),
    *(2**53 + 1, 2**63, 10**30, -(10**30), 10**400, 64, 65, 100_000, 100_001, 4_000_001),
    *(float("nan"), float("inf"), float("-inf"), True, False, None),
    *("", " ", "0.5", "\u22120.5", "1e-3", "1e309", "-1e309", "nan", "NaN", "inf", "-inf"),
    *(".inf", "0x10", "1,5", "1/2", " 2 ", "2e", "e2", "∞", "½", "١٢", "\u00a0"),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-3, 3),
    st.floats(),
    st.floats(-10, 10),
    st.text(max_size=12),
    st.sampled_from(OUT_OF_RANGE),
    st.sampled_from(RAW_SCALARS).map(Raw),
)
keys = st.one_of(
    st.sampled_from(NAMES),
    st.text(max_size=10),
    st.integers(-2, 5),
    st.sampled_from([None, True, False, 1.5]),
    st.sampled_from(RAW_KEYS).map(Raw),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=25,
)


def numeric_lists(max_side: int = 5) -> st.SearchStrategy[Any]:
    number = st.one_of(st.floats(-10, 10), st.integers(-3, 3), st.sampled_from(OUT_OF_RANGE))
    return st.one_of(
        st.lists(number, max_size=max_side),
        st.lists(st.lists(number, max_size=max_side), max_size=max_side),
        st.integers(1, max_side).flatmap(
            lambda n: st.lists(st.lists(number, min_size=n, max_size=n), max_size=max_side)
        ),
    )


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """Nesting around the loader's limit of 64 levels."""
    value: Any = draw(scalars)
    for _ in range(draw(st.integers(60, 70))):
        value = [value] if draw(st.booleans()) else {"a": value}
    return value


replacements = st.one_of(
    scalars,
    documents,
    numeric_lists(),
    expressions,
    deep(),
    st.lists(st.none(), max_size=4),
)

_TOKEN_SALT = "QZXRAWQZX"


class _Dumper(yaml.SafeDumper):
    pass


def dump(doc: Any, *, flow: bool | None = False) -> str:
    """YAML text for ``doc``; Raw strings (values and keys) appear unquoted, as written."""
    raws: list[str] = []

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"{_TOKEN_SALT}{len(raws) - 1}{_TOKEN_SALT}"
        if isinstance(value, dict):
            return {mark(k): mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = yaml.dump(
        mark(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=flow
    )
    for i, raw in enumerate(raws):
        token = f"{_TOKEN_SALT}{i}{_TOKEN_SALT}"
        text = text.replace(f"'{token}'", raw).replace(token, raw)
    return text


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _rename(mapping: dict[Any, Any], old: Any, new: Any) -> dict[Any, Any]:
    return {(new if k == old else k): v for k, v in mapping.items()}


MUTATIONS = ("drop", "swap", "swap", "range", "resize", "rename", "nest", "add", "expression")


@st.composite
def mutated(draw: st.DrawFn, bases: st.SearchStrategy[Any]) -> Any:
    """A valid document with 1–4 mutations at random places."""
    doc = copy.deepcopy(draw(bases))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(MUTATIONS))
        note(f"mutation {op} at {path!r}")
        old = _get(doc, path)
        parent = _get(doc, path[:-1]) if path else None
        key = path[-1] if path else None
        new: Any = old
        if op == "drop":
            if parent is None:
                new = draw(documents)
            else:
                del parent[key]
                continue
        elif op == "swap":
            new = draw(replacements)
        elif op == "range":
            new = draw(st.sampled_from(OUT_OF_RANGE))
        elif op == "resize":
            new = draw(_resized(old))
        elif op == "rename":
            if isinstance(parent, dict):
                doc = _rebuilt(doc, path[:-1], _rename(parent, key, draw(keys)))
                continue
            new = draw(replacements)
        elif op == "nest":
            depth = draw(st.sampled_from([1, 1, 2, 63, 64, 65]))
            for _ in range(depth):
                new = [new] if draw(st.booleans()) else {draw(keys): new}
        elif op == "add":
            if isinstance(old, dict):
                new = {**old, draw(keys): draw(replacements)}
            elif isinstance(old, list):
                new = [*old, draw(replacements)]
            else:
                new = draw(replacements)
        else:  # expression: an activation or any string becomes a random expression
            new = draw(expressions)
        if parent is None:
            doc = new
        else:
            parent[key] = new
    return doc


def _rebuilt(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


@st.composite
def _resized(draw: st.DrawFn, value: Any) -> Any:
    if not isinstance(value, list):
        return draw(st.one_of(st.just([value]), st.just([[value]]), numeric_lists()))
    how = draw(st.sampled_from(["pop", "append", "repeat", "empty", "column", "transpose", "flat"]))
    if how == "pop" and value:
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + value[i + 1 :]
    if how == "append":
        return [*value, copy.deepcopy(value[-1]) if value else draw(scalars)]
    if how == "repeat":
        return value * draw(st.integers(2, 40))
    if how == "column":
        return [[v] for v in value]
    if how == "transpose" and value and all(isinstance(r, list) for r in value):
        width = min(len(r) for r in value)
        return [[r[j] for r in value] for j in range(width)]
    if how == "flat":
        return [v for r in value for v in (r if isinstance(r, list) else [r])]
    return []


def _load(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _parseable(paths: list[Path]) -> list[Any]:
    docs = []
    for path in paths:
        try:
            docs.append(_load(path))
        except yaml.YAMLError:
            continue
    return docs


PROBLEM_FILES = [PROBLEMS / "a4.yaml", PROBLEMS / "classic_222.yaml", PROBLEMS / "batch_xor.yaml"]
PROBLEM_DOCS = [_load(p) for p in PROBLEM_FILES]
PROBLEM_TEXTS = [p.read_text(encoding="utf-8") for p in PROBLEM_FILES]
ANSWER_FILES = sorted(ANSWERS_DIR.glob("*.yaml"))
ANSWER_DOCS = _parseable(ANSWER_FILES)
ANSWER_TEXTS = [p.read_text(encoding="utf-8") for p in ANSWER_FILES]

# -- random well-formed problems, so that mutations also reach the engine with
# -- other architectures, activations, losses and extreme numbers

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "sse", "half_sse")
HUGE = (1e300, 1e308, 1.7976931348623157e308)
TINY = (5e-324, 1e-300)
EXTREME = (0.0, 1e3, -1e3, 1e150, -1e150, 700.0, -700.0, *HUGE, *TINY, -1e300, -1e308)
activations = st.one_of(
    st.sampled_from((*FUNCTIONS, "softmax", "leaky_relu(x, 0.1)", "elu(x, 0.5)")),
    valid_expressions,
)
QUANTITIES = (
    *("Z1", "A1", "H", "Z2", "A2", "y_hat", "loss", "dA1", "dA2", "delta1", "delta2"),
    *("fprime1", "fprime2", "dW1", "db1", "dW2", "db2", "W1_new", "b1_new", "W2'", "Z3"),
)


@st.composite
def grading_sections(draw: st.DrawFn) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if draw(st.booleans()):
        points = st.one_of(st.floats(0, 10), st.sampled_from([0, 1, 0.5, *HUGE]))
        section["points"] = draw(st.dictionaries(st.sampled_from(QUANTITIES), points, max_size=5))
    mode = draw(st.sampled_from(["decimals", "sigfigs", "relative", None]))
    if mode == "decimals":
        section["tolerance"] = {"decimals": draw(st.integers(0, 12))}
    elif mode == "sigfigs":
        section["tolerance"] = {"sigfigs": draw(st.integers(1, 15))}
    elif mode == "relative":
        bound = st.one_of(st.floats(0, 1), st.sampled_from([0, *TINY, *HUGE]))
        section["tolerance"] = {"rtol": draw(bound), "atol": draw(bound)}
    if draw(st.booleans()):
        section["partial"] = draw(st.sampled_from(["none", "element"]))
    if draw(st.booleans()):
        section["follow_through"] = draw(st.one_of(st.booleans(), st.floats(0, 1)))
    return section


@st.composite
def well_formed_problems(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem of random architecture, activations, loss and numbers (extreme
    ones in a quarter of the problems, so that most can be solved)."""
    extreme = draw(st.integers(0, 3)) == 0

    def numbers(usual: st.SearchStrategy[float], odd: tuple[float, ...]) -> Any:
        return st.one_of(usual, st.sampled_from(odd)) if extreme else usual

    weights = numbers(st.floats(-3, 3), EXTREME)
    n = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    layers: list[dict[str, Any]] = []
    for units in sizes:
        layer: dict[str, Any] = {"units": units, "activation": draw(activations)}
        if draw(st.integers(0, 4)) == 0:
            layer["bias"] = False
        layers.append(layer)
    rate = numbers(st.floats(0, 10), (0, *TINY, *HUGE))
    doc: dict[str, Any] = {
        "network": {"input": n, "layers": layers},
        "loss": draw(st.sampled_from(LOSSES)),
        "learning_rate": draw(rate),
    }
    if draw(st.booleans()):
        doc["reduction"] = draw(st.sampled_from(["mean", "sum"]))
    names = []
    if draw(st.booleans()):
        params: dict[str, Any] = {}
        inputs = n
        for i, layer in enumerate(layers, start=1):
            units = layer["units"]
            row = st.lists(weights, min_size=inputs, max_size=inputs)
            params[f"W{i}"] = draw(st.lists(row, min_size=units, max_size=units))
            names.append(f"W{i}")
            if layer.get("bias", True):
                params[f"b{i}"] = draw(st.lists(weights, min_size=units, max_size=units))
                names.append(f"b{i}")
            inputs = units
        doc["parameters"] = params
    else:
        init: dict[str, Any] = {"seed": draw(st.integers(0, 2**70))}
        if draw(st.booleans()):
            init["scale"] = draw(numbers(st.sampled_from([0.5, 1.0, 1e-3, 1e3]), (*TINY, *HUGE)))
        if draw(st.booleans()):
            init["decimals"] = draw(st.integers(0, 15))
        if draw(st.booleans()):
            init["distribution"] = draw(st.sampled_from(["uniform", "normal"]))
        doc["init"] = init
    batch = draw(st.integers(0, 3))  # 0: a single sample
    k = sizes[-1]
    target = numbers(st.one_of(st.floats(0, 1), st.sampled_from([0, 1, -1, 2])), HUGE)
    sample = st.lists(weights, min_size=n, max_size=n)
    goal = st.lists(target, min_size=k, max_size=k)
    if batch == 0:
        doc["x"], doc["y"] = draw(sample), draw(goal)
    else:
        doc["x"] = draw(st.lists(sample, min_size=batch, max_size=batch))
        doc["y"] = draw(st.lists(goal, min_size=batch, max_size=batch))
    if names and draw(st.booleans()):
        doc["frozen"] = draw(st.lists(st.sampled_from(names), unique=True))
    if draw(st.integers(0, 2)) == 0:
        doc["grading"] = draw(grading_sections())
    return doc


problem_bases = st.one_of(st.sampled_from(PROBLEM_DOCS), well_formed_problems())
answer_bases = st.sampled_from(ANSWER_DOCS)

YAML_TOKENS = (
    *(": ", ":", "- ", "-", "[", "]", "{", "}", ", ", "\n", "\n  ", "  ", "\t", "&a ", "*a"),
    *("!!int ", "!!bool ", "!!timestamp ", "!!binary ", "!!float ", "!!python/object ", "! "),
    *("!!str ", "!!map ", "!!seq ", "!!set ", "<<: ", "? ", "|", ">", "|-\n  ", "'", '"', "#"),
    *("---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "~", "null", "true", "1e309"),
    *("1.0e+309", ".nan", "0x", "1:3", "2001-12-14", "\ufeff", "\x00", "\x85", "\u2028", "\r"),
    *("\\", "\\x", "%", "@", "`", "1", "0.5", "-1", "x", "relu(x)", "softmax", "a4.yaml"),
    *NAMES,
)


@st.composite
def yaml_soup(draw: st.DrawFn) -> str:
    token = st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=3))
    parts = draw(st.lists(token, max_size=40))
    return "".join(parts)


def yaml_texts(valid: list[str]) -> st.SearchStrategy[str]:
    """Random YAML-ish text: token soups, random documents, random text, spliced files."""
    return st.one_of(
        yaml_soup(),
        documents.map(dump),
        documents.map(lambda d: dump(d, flow=True)),
        st.text(),
        mutated_text(st.sampled_from(valid), YAML_TOKENS),
        _line_edits(st.sampled_from(valid)),
    )


@st.composite
def _line_edits(draw: st.DrawFn, source: st.SearchStrategy[str]) -> str:
    """Lines of a valid file duplicated (duplicate keys), dropped, swapped or re-indented."""
    lines = draw(source).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["duplicate", "drop", "swap", "indent", "dedent", "splice"]))
        if op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = draw(st.sampled_from([" ", "  ", "\t", "    "])) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        else:
            lines.insert(i, draw(st.sampled_from(YAML_TOKENS)) + draw(st.sampled_from(YAML_TOKENS)))
    return "".join(lines)


def byte_inputs(valid: list[str]) -> st.SearchStrategy[bytes]:
    """Binary garbage, invalid UTF-8 inside valid files, other encodings, BOMs, NULs."""

    @st.composite
    def corrupted(draw: st.DrawFn) -> bytes:
        data = draw(st.sampled_from(valid)).encode("utf-8")
        i = draw(st.integers(0, len(data)))
        junk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=6),
                st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]),
            )
        )
        return data[:i] + junk + data[i:]

    encoded = st.builds(
        lambda text, codec: text.encode(codec, errors="replace"),
        st.sampled_from(valid),
        st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "utf-8-sig", "cp1252"]),
    )
    return st.one_of(st.binary(max_size=200), corrupted(), encoded)


# ---------------------------------------------------------------------------
# 1. Problem files: nncalc solve FILE --format json


@fuzz(0.5)
@given(doc=st.one_of(mutated(problem_bases), well_formed_problems()))
@example(doc={"name": "x", "network": {"input": 1, "layers": [{"units": 1}]}})
def test_solve_mutated_problems(workdir: Path, doc: Any) -> None:
    text = dump(doc)
    note(text)
    with tolerating_known():
        check_solve(workdir, text)


@fuzz(0.25)
@given(text=yaml_texts(PROBLEM_TEXTS))
def test_solve_random_text(workdir: Path, text: str) -> None:
    note(repr(text))
    with tolerating_known():
        check_solve(workdir, text)


@fuzz(0.25)
@given(data=byte_inputs(PROBLEM_TEXTS))
def test_solve_bytes(workdir: Path, data: bytes) -> None:
    note(repr(data))
    with tolerating_known():
        check_solve(workdir, data)


# ---------------------------------------------------------------------------
# 2. Answers files: nncalc verify FILE --problem problems/a4.yaml --format json


answer_values = st.one_of(replacements, numeric_lists(), st.sampled_from(OUT_OF_RANGE))


@st.composite
def random_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed sheet with random names (aliases, unknown, repeated) and values."""
    names = st.one_of(st.sampled_from(NAMES), keys)
    return {
        "student": draw(st.one_of(st.text(max_size=8), scalars)),
        "answers": draw(st.dictionaries(names, answer_values, max_size=8)),
    }


@fuzz(0.45)
@given(doc=mutated(st.one_of(answer_bases, random_answers())))
def test_verify_mutated_answers(workdir: Path, doc: Any) -> None:
    text = dump(doc)
    note(text)
    with tolerating_known():
        check_verify(workdir, text)


@fuzz(0.3)
@given(content=st.one_of(yaml_texts(ANSWER_TEXTS), byte_inputs(ANSWER_TEXTS), documents.map(dump)))
def test_verify_random_text_and_bytes(workdir: Path, content: str | bytes) -> None:
    note(repr(content))
    with tolerating_known():
        check_verify(workdir, content)


@st.composite
def graded_problems(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A random well-formed problem and a sheet of answers derived from its solution."""
    from nncalc import problem_from_dict, solve

    problem = draw(well_formed_problems())
    try:
        values = solve(problem_from_dict(problem)).values
    except Exception:  # refused, or a failure the CLI run of the test reports
        values = {name: 0.0 for name in QUANTITIES}
    answers: dict[Any, Any] = {}
    with np.errstate(all="ignore"):  # rounding or scaling values near the float maximum
        for name, value in values.items():
            answers.update(draw(_answer_for(name, value)))
    return problem, {"answers": answers}


@st.composite
def _answer_for(draw: st.DrawFn, name: str, value: Any) -> dict[Any, Any]:
    """One quantity's answer: exact, rounded, scaled, perturbed, transposed, blank,
    garbage (maybe under another name) or left out."""
    how = draw(st.sampled_from(["exact", "round", "scale", "noise", "T", "null", "junk", "-"]))
    array = np.asarray(value, dtype=float)
    if how == "exact":
        return {name: array.tolist()}
    if how == "round":
        return {name: np.round(array, draw(st.integers(0, 6))).tolist()}
    if how == "scale":
        return {name: (array * draw(st.sampled_from([10, 0.1, -1, 0]))).tolist()}
    if how == "noise":
        return {name: (array + draw(st.floats(-1e-3, 1e-3))).tolist()}
    if how == "T":
        return {name: array.T.tolist()}
    if how == "null":
        return {name: np.full(array.shape, None).tolist() if array.ndim else None}
    if how == "junk":
        return {draw(st.one_of(st.just(name), st.sampled_from(QUANTITIES))): draw(answer_values)}
    return {}


@fuzz(0.25)
@given(pair=graded_problems())
def test_verify_random_problems(workdir: Path, pair: tuple[Any, Any]) -> None:
    problem, answers = pair
    problem_text, answers_text = dump(problem), dump(answers)
    note(problem_text)
    note(answers_text)
    with tolerating_known():
        check_graded(workdir, problem_text, answers_text)


# ---------------------------------------------------------------------------
# 3. The expression parser


@fuzz(1.0, deadline=500)  # the parser must also be fast
@given(text=expressions)
@example(text="relu(x) + sin(x)")
@example(text="(" * 65 + "x" + ")" * 65)
def test_parse_activation(text: str) -> None:
    note(repr(text))
    with tolerating_known():
        check_expression(None, text)


# ---------------------------------------------------------------------------
# 4. The YAML loader, in-process


@fuzz(1.0)
@given(
    text=st.one_of(
        yaml_texts(PROBLEM_TEXTS + ANSWER_TEXTS),
        mutated(st.one_of(problem_bases, answer_bases)).map(dump),
    )
)
def test_parse_yaml(text: str) -> None:
    note(repr(text))
    with tolerating_known():
        check_parse_yaml(None, text)


# ---------------------------------------------------------------------------
# Reproducers of the failures found: strict xfail while open; once fixed (``fixed`` set,
# the mark removed), a regression test


def _reproducer(known: Known) -> Any:
    if known.fixed:
        return pytest.param(known, id=known.id)
    mark = pytest.mark.xfail(strict=True, raises=PropertyError, reason=known.reason)
    return pytest.param(known, id=known.id, marks=mark)


@pytest.mark.parametrize("known", [_reproducer(k) for k in KNOWN])
def test_found_failure(workdir: Path, known: Known) -> None:
    CHECKS[known.entry](workdir, known.input)

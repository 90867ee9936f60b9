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
* ``nncalc solve FILE --steps N -o OUT [--plot PNG] --format json`` (a training run):
  exit 0 with OUT complete (as for solve, and ``history`` the N + 1 losses) and the PNG
  written, nothing else; or exit 2 with one clean line and no file at all, not even a
  temporary one. OUT or PNG may be in a folder that does not exist, or be a folder.

Never a traceback, another exception or exit code, a warning (the real command prints
NumPy's RuntimeWarning on stderr), a hang (NNCALC_FUZZ_TIMEOUT seconds, default 60), or a
huge allocation (a run may grow by NNCALC_FUZZ_MEMORY MiB, default 2048; beyond that an
allocation fails with MemoryError). "One clean line": no line break of any kind and no
control character.

Inputs: mutations of the valid examples (keys dropped or renamed, types swapped, numbers
out of range, lists resized or reshaped, nesting deepened past the limit, activations
replaced by random expressions, YAML tags, anchors and odd scalars spliced in), random
well-formed problems (random architecture, activations, losses, grading; extreme numbers
in a quarter of them), random documents and YAML-ish text, the files' text cut and
spliced, raw bytes (garbage, invalid UTF-8, other encodings). For the layer kinds beyond
dense (conv2d, pooling, flatten, rnn), optimizers and training runs: the cnn and rnn
examples, two more (two channels, stride 2, padding 1, average pooling; an rnn read at the
last step on a batch of sequences) and random well-formed conv and rnn problems, with
hostile values at random places (huge, negative, zero, fractional, textual and null sizes,
windows, strides and paddings larger than the input, wrong shapes, long sequences, big
batches, optimizer settings and states out of range), and well-formed problems of sizes
near the limits (held to 1,024 MiB).

Examples per entry point: 2,000 (the ``ci`` profile), the profile's ``max_examples``
when larger (``--hypothesis-profile=fuzz-long``: 100,000), or NNCALC_FUZZ_EXAMPLES; each
test runs its share of its entry point's examples (the argument of ``fuzz``); the four
tests of layered problems (``-k layer``) share 0.455 of them, to keep CI short.

Failures found are listed in KNOWN with a minimal reproducer, run by test_found_failure:
a strict xfail while open, a regression test once ``fixed`` names the commit. While an
open failure still reproduces, the fuzz tests count it as an event instead of failing, so
they go on looking for new ones; once its reproducer passes it is no longer tolerated.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import gc
import io
import itertools
import json
import math
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, note, settings
from hypothesis import strategies as st

from nncalc.cli import app
from nncalc.errors import NncalcError
from nncalc.expr import Activation, ExpressionError, parse_activation
from nncalc.vocabulary import VERDICTS
from nncalc.yamlio import Document, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
A4 = PROBLEMS / "a4.yaml"
ANSWERS_DIR = ROOT / "tests" / "data" / "a4"

#: Examples per entry point: NNCALC_FUZZ_EXAMPLES, else the profile's when above 2,000.
EXAMPLES = int(os.environ.get("NNCALC_FUZZ_EXAMPLES") or max(2000, settings.default.max_examples))
#: A single CLI run slower than this is reported as a hang (seconds).
TIMEOUT = float(os.environ.get("NNCALC_FUZZ_TIMEOUT", "60"))
#: A single CLI run may grow by this much memory (MiB); an allocation beyond fails at once.
MEMORY = int(os.environ.get("NNCALC_FUZZ_MEMORY", "2048"))
#: If set, a file to which every slow (over 2 s) or big (over 500 MiB) CLI run is appended.
SLOW_LOG = os.environ.get("NNCALC_FUZZ_SLOW_LOG")


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


@dataclass
class Result:
    """What a CLI run did: exit code, what it printed, the exception that escaped if any."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke(args: list[str], out: BinaryIO, err: BinaryIO) -> tuple[int, BaseException | None]:
    """Run nncalc in-process with stdout and stderr going to files, as a shell redirect
    sends them: the exit code, and the exception that escaped if any. Typer's CliRunner
    keeps two copies in memory of all a run prints, which would count against the run's
    memory bound: 180 MB for an 89 MB answer key that nncalc streams out a row at a time."""
    streams = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", newline="")
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", newline="")
    try:
        app(args, prog_name="nncalc")
    except SystemExit as exc:
        return (exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1), None
    except Exception as exc:  # the real command would show a traceback
        return 1, exc
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            stream.detach()
        sys.stdin, sys.stdout, sys.stderr = streams
    return 0, None


def _printed(stream: BinaryIO) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", "replace")


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
    options: tuple[tuple[str, Any], ...] = ()  # keyword arguments of the check, if any

    def check(self, folder: Path) -> None:
        CHECKS[self.entry](folder, self.input, **dict(self.options))


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
        "plot-written-before-output-fails",
        "train",
        "network: {input: 1, layers: [{units: 1, activation: identity}]}\n"
        "loss: mse\nlearning_rate: 0.1\nparameters: {W1: [[1]], b1: [0]}\nx: [1]\ny: [0]\n",
        r"^\['loss\.png'\]$",
        "cli.solve writes the --plot PNG before the --output file: when the output cannot be "
        "written (its folder does not exist, or it is a folder) the run exits 2 ('cannot "
        "write') yet leaves the PNG of the failed run behind",
        options=(("steps", 1), ("output", "missing/out.json"), ("plot", "loss.png")),
        fixed="5a866ca",
    ),
    Known(
        "hidden-z-of-batch-unbounded",
        "solve",
        "network: {input: 1, layers: [{units: 100000, activation: relu}, "
        "{units: 1, activation: identity}]}\nloss: mse\nlearning_rate: 0.1\ninit: {seed: 0}\n"
        f"x: [{', '.join(['[0.5]'] * 3000)}]\ny: [{', '.join(['[0]'] * 3000)}]\n",
        r'engine\.py", line \d+, in compute\n(?![\s\S]*layers\.py)[\s\S]*MemoryError',
        "problem: max_entries bounds each weight matrix and the input and output of a batch, "
        "not the batch's Z of a hidden dense layer (also above an rnn: T·batch columns): "
        "100,000 units × 3,000 samples (a 36 kB file) is accepted, then Z1 alone is 2.2 GiB "
        "(the real command: MemoryError traceback, or GBs more for A1, δ1 ... and the JSON)",
        fixed="5a866ca",
    ),
    Known(
        "conv-z-of-batch-unbounded",
        "solve",
        "network:\n  input: [1, 2, 2]\n  layers:\n    - {type: conv2d, channels: 100000, kernel: 1}"
        "\n    - {type: flatten}\n    - {units: 1, activation: identity}\n"
        "loss: mse\nlearning_rate: 0.1\ninit: {seed: 0}\n"
        f"x: [{', '.join(['[[0.5, 0.5], [0.5, 0.5]]'] * 1000)}]\ny: [{', '.join(['0'] * 1000)}]\n",
        r'layers\.py", line \d+, in conv_[\s\S]*MemoryError',
        "problem: the windows check bounds batch × input channels × positions × window, and "
        "max_entries one sample's output maps, but not the batch's Z of a conv2d layer "
        "(batch × channels × positions): 1,000 images of 2×2 into 100,000 channels (a 29 kB "
        "file) is accepted, then Z1 is 3 GiB (4·10⁸ entries) in layers.conv_forward",
        fixed="5a866ca",
    ),
    Known(
        "tensor-huge-integer",
        "solve",
        "network:\n  input: [1, 1, 1]\n  layers:\n    - {type: conv2d, channels: 1, kernel: 1}\n"
        "    - {type: flatten}\n    - {units: 1, activation: identity}\n"
        f"loss: mse\nlearning_rate: 0.1\ninit: {{seed: 0}}\nx: [[1{'0' * 400}]]\ny: 0\n",
        r"in tensor\n(?:[^\n]*\n)*?OverflowError: int too large to convert to float",
        "problem._Validator.tensor (images in x, conv2d kernels, optimizer.state entries, "
        "also of dense problems) skips the per-entry check when every entry is an int or "
        "float, then float() of an integer beyond the float range (10**400) raises "
        "OverflowError: a traceback (the real command: exit 1) instead of exit 2 ('expected a "
        "number that fits a float', as matrix() and vector() say for W1 of a dense layer)",
        fixed="62d5aeb",
    ),
    Known(
        "conv-padding-unbounded",
        "solve",
        "network:\n  input: [100, 1, 1]\n  layers:\n"
        "    - {type: conv2d, channels: 1, kernel: 1, stride: 1000, padding: 1000}\n"
        "    - {type: flatten}\n    - {units: 1, activation: identity}\n"
        "loss: mse\nlearning_rate: 0.1\ninit: {seed: 0}\n"
        f"x: [{', '.join(['[[0.5]]'] * 100)}]\ny: 0\n",
        r'layers\.py", line \d+, in (?:pad|_scatter)\n[\s\S]*MemoryError',
        "layers.pad materializes every padded input map, batch × channels × (H + 2p) × "
        "(W + 2p), which no check bounds: with a stride that skips most of it the windows "
        "are few (here 3×3 positions) and the output tiny, yet one sample of 100 channels "
        "of 1×1 with padding 1000 pads to 100 × 2001 × 2001 = 4·10⁸ entries, 3 GiB "
        "(1,000 channels: 32 GB); the backward pass (_scatter) allocates as much again",
        fixed="62d5aeb",
    ),
    Known(
        "finite-update-called-diverged",
        "graded",
        "network: {input: 2, layers: [{units: 1, activation: relu, bias: false}]}\n"
        "loss: mse\nlearning_rate: 0.0\nparameters: {W1: [[1.0e+308, 1.7e+308]]}\n"
        "x: [0.0, 0.0]\ny: [0.0]\n",
        r"verify exit [01], solve exit 2",
        "training.train checked each updated quantity with isfinite(sum(...)): the sum of "
        "entries that are all finite can overflow (1e308 + 1.7e308), so solve called a "
        "problem whose every number is finite 'training diverged' (exit 2) while verify "
        "graded it (CI at 593c183)",
        fixed="19f3ccf",
    ),
    Known(
        "json-output-memory",
        "solve",
        "network: {input: 1000, layers: [{units: 1000, activation: relu}, "
        "{units: 1, activation: identity}]}\nloss: mse\nlearning_rate: 0.1\ninit: {seed: 0}\n"
        f"x: [{', '.join(['0.5'] * 1000)}]\ny: [0]\n",
        r'(?:json[/\\]encoder|json[/\\]__init__|render)\.py", line \d+[\s\S]*'
        r"(?:MemoryError|Hang: no result)|it printed \d{8,} bytes",
        "render.to_json holds every array as Python lists (values and steps) and the whole "
        "JSON text in memory; the limits allow arrays of 4,000,000 entries, so a problem "
        "within every limit takes GBs (measured at 5a866ca, the real command): W1 of "
        "2000×2000 1.98 GB and 16 s; a conv2d of 10,000 channels on one 20×20 image "
        "(4·10⁶ outputs) 7.7 GB, 79 s and 1.44 GB of JSON. Shown here at 1000×1000 "
        "(0.56 GB, 89 MB of JSON); since the fix (render.json_pieces writes an array a row "
        "at a time) it runs within 128 MiB",
        fixed="96856e9",
        options=(("memory", 128),),
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
            known.check(Path(folder))
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


def _status_kib(field: str) -> int | None:
    """A size from /proc/self/status (VmSize, VmRSS, VmHWM) in KiB; None without /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim() -> None:
    """After a run that left over 64 MiB to the allocators, give it back to the system, so
    that the next run is measured (and limited) from about the same footprint."""
    rss = _status_kib("VmRSS")
    if rss is None or rss < _FOOTPRINT[0] + 64 * 1024:
        return
    gc.collect()
    with suppress(OSError, AttributeError):  # glibc only; elsewhere nothing is trimmed
        ctypes.CDLL(None).malloc_trim(0)
    _FOOTPRINT[0] = _status_kib("VmRSS") or rss


_FOOTPRINT = [_status_kib("VmRSS") or 0]  # the resident size (KiB) after the last trim


@contextmanager
def memory_limit(mib: int) -> Iterator[Callable[[], int | None]]:
    """Allow ``mib`` MiB more address space than now (RLIMIT_AS), so that a runaway
    allocation fails at once with MemoryError instead of taking the machine down; yields
    a function that tells by how much the peak resident memory grew (MiB; None if /proc
    cannot tell)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = _status_kib("VmSize")
    if size is not None:
        cap = (size + mib * 1024) * 1024
        limited = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limited, hard))
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets the peak resident size (VmHWM) to the current one
        base = _status_kib("VmRSS")
    except OSError:
        base = None

    def grown() -> int | None:
        peak = _status_kib("VmHWM")
        return None if base is None or peak is None else (peak - base) // 1024

    try:
        yield grown
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_cli(args: list[str], memory: int = MEMORY, timeout: float = TIMEOUT) -> Result:
    """Run nncalc in-process; a warning fails the property, since the real command prints
    it on stderr (Python shows RuntimeWarning by default); so do a hang (with where it
    hung) and a run whose memory grows by more than ``memory`` MiB (an allocation beyond
    that raises MemoryError) or that takes more than ``timeout`` seconds."""
    _trim()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            with warnings.catch_warnings(record=True) as caught, time_limit(timeout):
                warnings.simplefilter("always")
                with memory_limit(memory) as grown:
                    code, exception = invoke(args, out, err)
                    peak = grown()
        except Hang as exc:
            raise PropertyError(f"a hang: no result after {timeout:g} s", _describe(exc)) from None
        result = Result(code, _printed(out), _printed(err), exception)
    seconds = time.perf_counter() - start
    if seconds > 2:
        record("a CLI run took over 2 s")
    if peak is not None and peak > 500:
        record("a CLI run grew by over 500 MiB")
    if SLOW_LOG and (seconds > 2 or (peak or 0) > 500 or isinstance(result.exception, MemoryError)):
        _log_slow(args, seconds, peak, result)
    shown = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    require(not shown, "a warning, which nncalc would print on stderr", "\n".join(shown))
    if isinstance(result.exception, MemoryError):  # where the allocation failed
        require(False, f"an allocation over {memory} MiB", _describe(result.exception))
    require(
        peak is None or peak <= memory,
        "a huge allocation",
        f"the run's peak memory grew by {peak} MiB (limit {memory} MiB) in {seconds:.1f} s; "
        f"it printed {len(result.stdout)} bytes",
    )
    return result


def _log_slow(args: list[str], seconds: float, peak: int | None, result: Result) -> None:
    """One JSON line in SLOW_LOG: the command, its time, memory and outcome, the input."""
    assert SLOW_LOG
    inputs = {}
    for arg in args:
        path = Path(arg)
        if path.suffix == ".yaml" and path.is_file():
            inputs[path.name] = path.read_bytes()[:20_000].decode("utf-8", "replace")
    entry = {
        "seconds": round(seconds, 2),
        "peak_mib": peak,
        "exit": result.exit_code,
        "exception": repr(result.exception)[:200],
        "stderr": result.stderr[:300],
        "args": args,
        "inputs": inputs,
    }
    with open(SLOW_LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")


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


def _finite_float(text: str) -> float:
    """Every float of the JSON as it is parsed (1e999 would parse as inf): one C-to-Python
    call per number, where walking the parsed document took 30 s for a 370 MB key."""
    value = float(text)
    if not math.isfinite(value):
        raise PropertyError("JSON output contains a non-finite number", text)
    return value


def _json(text: str) -> Any:
    """The JSON document, every number in it finite."""
    try:
        return json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise PropertyError(f"not JSON ({exc})", text[:500]) from None


def _error_line(out: str, err: str) -> None:
    """Exit 2: nothing on stdout, one clean line on stderr starting with 'error: '."""
    require(out == "", "exit 2 with output on stdout", out[:500])
    require(err.startswith("error: "), "the message does not start with 'error: '", err)
    require(err.endswith("\n") and clean_line(err[:-1]), "not one clean line", err[:-1])


def _solution(doc: Any) -> None:
    """The JSON of a solution (its numbers are finite: see _json): values and steps, with
    the loss a float."""
    values = doc["values"]
    require(isinstance(values.get("loss"), float), "the loss is not a float", values.get("loss"))
    require(
        isinstance(doc["steps"], list) and [s["name"] for s in doc["steps"]] == list(values),
        "the steps are not the values in order",
        list(values),
    )


def check_solve(
    folder: Path, content: str | bytes, memory: int = MEMORY, timeout: float = TIMEOUT
) -> int:
    """`nncalc solve FILE --format json`: exit 0 and finite JSON, or exit 2 and one line
    (``memory`` MiB and ``timeout`` seconds at most: a reproducer may show a smaller case,
    the test of big problems holds them to tighter bounds)."""
    path = _write(folder, "problem.yaml", content)
    result = run_cli(["solve", str(path), "--format", "json"], memory, timeout)
    _common(result)
    out, err, code = result.stdout, result.stderr, result.exit_code
    require(code in (0, 2), f"exit code {code}", err)
    if code == 2:
        _error_line(out, err)
        record("solve: exit 2")
        return code
    require(err == "", "exit 0 with output on stderr", err)
    _solution(_json(out))
    record("solve: exit 0")
    return code


PNG = b"\x89PNG\r\n\x1a\n"


def check_train(
    folder: Path,
    content: str | bytes,
    steps: int = 2,
    output: str = "out.json",
    plot: str | None = "loss.png",
) -> int:
    """`nncalc solve FILE --steps N -o OUTPUT [--plot PLOT] --format json`: exit 0 with
    OUTPUT (finite JSON, ``history`` the N + 1 losses) and the PNG written, nothing else; or
    exit 2, one clean line, and no file written (no temporary file left either).
    OUTPUT and PLOT are names in an empty folder: ``missing/...`` is in a folder that does
    not exist, ``folder`` is a folder."""
    path = _write(folder, "problem.yaml", content)
    target = folder / "outputs"
    shutil.rmtree(target, ignore_errors=True)
    (target / "folder").mkdir(parents=True)
    args = ["solve", str(path), "--format", "json", "--steps", str(steps)]
    args += ["--output", str(target / output)]
    if plot is not None:
        args += ["--plot", str(target / plot)]
    result = run_cli(args)
    _common(result)
    out, err, code = result.stdout, result.stderr, result.exit_code
    written = sorted(str(p.relative_to(target)) for p in target.rglob("*") if not p.is_dir())
    require(code in (0, 2), f"exit code {code}", err)
    if code == 2:
        _error_line(out, err)
        require(not written, "exit 2, yet files were written", f"{written}")
        record("solve --steps: exit 2")
        return code
    require(out == "" and err == "", "exit 0 with output on stdout or stderr", out[:500] + err)
    expected = sorted([output, *([plot] if plot else [])])
    require(written == expected, f"exit 0, files written: {written}, expected {expected}", err)
    doc = _json((target / output).read_text(encoding="utf-8"))
    _solution(doc)
    history = doc.get("history")
    require(
        isinstance(history, list)
        and len(history) == steps + 1
        and all(isinstance(v, float) for v in history[:-1])
        and (history[-1] is None or isinstance(history[-1], float)),
        f"history is not the {steps + 1} losses",
        history,
    )
    if plot:
        require((target / plot).read_bytes().startswith(PNG), "the plot is not a PNG", plot)
    record("solve --steps: exit 0")
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
    "train": check_train,
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
_TOKEN = re.compile(rf"'{_TOKEN_SALT}(\d+){_TOKEN_SALT}'|{_TOKEN_SALT}(\d+){_TOKEN_SALT}")


class _Dumper(yaml.SafeDumper):
    pass


def dump(doc: Any, *, flow: bool | None = False, aliases: bool = False) -> str:
    """YAML text for ``doc``; Raw strings (values and keys) appear unquoted, as written.
    With ``aliases``, a list or mapping that appears several times in ``doc`` is written
    once with an anchor, then as aliases (a big batch or a long sequence stays small)."""
    raws: list[str] = []
    seen: dict[int, Any] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"{_TOKEN_SALT}{len(raws) - 1}{_TOKEN_SALT}"
        if aliases and id(value) in seen:
            return seen[id(value)]
        if isinstance(value, dict):
            marked: Any = {mark(k): mark(v) for k, v in value.items()}
        elif isinstance(value, list):
            marked = [mark(v) for v in value]
        else:
            return value
        seen[id(value)] = marked
        return marked

    text = yaml.dump(
        mark(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=flow
    )
    # One pass over the text: a replace per Raw took minutes on a document of 1.8 MB.
    return _TOKEN.sub(lambda m: raws[int(m[1] or m[2])], text)


#: The most places of a document a mutation chooses from (the first ones).
MAX_PATHS = 20_000


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
        # (at most MAX_PATHS: a big batch written with aliases has billions of paths)
        paths = list(itertools.islice(_paths(doc), MAX_PATHS))
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
def grading_sections(draw: st.DrawFn, names: tuple[str, ...] = QUANTITIES) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if draw(st.booleans()):
        points = st.one_of(st.floats(0, 10), st.sampled_from([0, 1, 0.5, *HUGE]))
        section["points"] = draw(st.dictionaries(st.sampled_from(names), points, max_size=5))
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
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(doc=st.one_of(mutated(problem_bases), well_formed_problems()))
@example(doc={"name": "x", "network": {"input": 1, "layers": [{"units": 1}]}})
def test_solve_mutated_problems(workdir: Path, doc: Any) -> None:
    text = dump(doc)
    note(text)
    with tolerating_known():
        check_solve(workdir, text)


@fuzz(0.25)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(text=yaml_texts(PROBLEM_TEXTS))
def test_solve_random_text(workdir: Path, text: str) -> None:
    note(repr(text))
    with tolerating_known():
        check_solve(workdir, text)


@fuzz(0.25)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
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
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(doc=mutated(st.one_of(answer_bases, random_answers())))
def test_verify_mutated_answers(workdir: Path, doc: Any) -> None:
    text = dump(doc)
    note(text)
    with tolerating_known():
        check_verify(workdir, text)


@fuzz(0.3)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
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
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
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
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
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
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
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
# 5. Layers beyond dense (conv2d, pooling, flatten, rnn), optimizers, training runs:
# solve, solve --steps and verify on conv and rnn problems with hostile values

CONV2_DOC: dict[str, Any] = {
    "name": "two channels, stride 2, padding 1, average pooling",
    "network": {
        "input": [2, 4, 4],
        "layers": [
            {"type": "conv2d", "channels": 2, "in_channels": 2, "kernel": 3, "stride": 2}
            | {"padding": 1, "activation": "relu"},
            {"type": "avgpool2d", "kernel": 2},
            {"type": "flatten"},
            {"units": 2, "activation": "softmax"},
        ],
    },
    "loss": "cross_entropy",
    "learning_rate": 0.1,
    "optimizer": {"name": "momentum", "momentum": 0.9, "state": {"velocity_b1": [0.01, -0.01]}},
    "parameters": {
        "W1": [
            [
                [[0.1, 0.0, -0.1], [0.2, 0.1, 0.0], [0.0, -0.2, 0.1]],
                [[0.0, 0.1, 0.1], [-0.1, 0.0, 0.2], [0.1, 0.1, -0.1]],
            ],
            [
                [[0.2, -0.1, 0.0], [0.0, 0.1, 0.1], [-0.1, 0.0, 0.2]],
                [[0.1, 0.1, 0.0], [0.0, -0.1, 0.1], [0.2, 0.0, -0.2]],
            ],
        ],
        "b1": [0.1, -0.1],
        "W4": [[0.5, -0.4], [-0.3, 0.6]],
        "b4": [0.0, 0.1],
    },
    "x": [
        [[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 0], [1, 1, 0, 2]],
        [[0, 1, 1, 0], [2, 0, 0, 1], [1, 3, 1, 0], [0, 1, 2, 1]],
    ],
    "y": [1, 0],
    "grading": {"points": {"Z1": 2, "A2": 1, "dW1": 2, "loss": 1}, "tolerance": {"decimals": 3}},
}
RNN_LAST_DOC: dict[str, Any] = {
    "name": "rnn read at the last step, a batch of two sequences, adam at t = 2",
    "network": {
        "input": 2,
        "layers": [
            {"type": "rnn", "units": 3, "activation": "tanh", "output": "last"}
            | {"h0": [0.1, 0.0, -0.1]},
            {"units": 2, "activation": "softmax"},
        ],
    },
    "loss": "cross_entropy",
    "reduction": "sum",
    "learning_rate": 0.05,
    "optimizer": {
        "name": "adam",
        "beta1": 0.9,
        "beta2": 0.99,
        "epsilon": 1e-8,
        "step": 2,
        "state": {
            "m_Wx1": [[0.01, 0.0], [0.0, -0.01], [0.02, 0.01]],
            "v_Wx1": [[1e-4, 0.0], [0.0, 1e-4], [4e-4, 1e-4]],
        },
    },
    "parameters": {
        "Wx1": [[0.5, -0.3], [0.2, 0.4], [-0.1, 0.1]],
        "Wh1": [[0.1, 0.2, 0.0], [-0.2, 0.3, 0.1], [0.0, 0.1, -0.1]],
        "b1": [0.0, 0.1, -0.1],
        "W2": [[1.0, -1.0, 0.5], [-0.5, 0.5, 1.0]],
        "b2": [0.0, 0.1],
    },
    "x": [[[1, 0], [0, 1], [1, 1]], [[0, 0], [1, -1], [0.5, 0.5]]],
    "y": [[1, 0], [0, 1]],
    "grading": {"points": {"h_3": 1, "dWh1": 2, "loss": 1}, "follow_through": True},
}
LAYER_FILES = [PROBLEMS / "cnn.yaml", PROBLEMS / "rnn.yaml"]
LAYER_DOCS = [*(_load(p) for p in LAYER_FILES), CONV2_DOC, RNN_LAST_DOC]

#: Optimizers, their settings (a strategy of valid values each) and carried states.
OPTIMIZER_SETTINGS: dict[str, dict[str, st.SearchStrategy[float]]] = {
    "sgd": {},
    "momentum": {"momentum": st.floats(0, 0.999)},
    "nesterov": {"momentum": st.floats(0, 0.999)},
    "rmsprop": {"rho": st.floats(0, 0.999), "epsilon": st.floats(1e-12, 1)},
    "adam": {
        "beta1": st.floats(0, 0.999),
        "beta2": st.floats(0, 0.999),
        "epsilon": st.floats(1e-12, 1),
    },
}
CARRIED_STATES = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",)}
CARRIED_STATES |= {"rmsprop": ("sq",), "adam": ("m", "v")}
LAYER_KINDS = ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn")
LAYER_KEY_NAMES = (
    *("type", "units", "activation", "bias", "channels", "in_channels", "kernel", "stride"),
    *("padding", "output", "h0"),
)
OPTIMIZER_KEYS = ("name", "momentum", "rho", "beta1", "beta2", "epsilon", "step", "state")
LAYER_ACTIVATIONS = st.one_of(
    st.sampled_from(("relu", "tanh", "sigmoid", "identity", "leaky_relu(x, 0.1)", "softplus")),
    st.sampled_from(("elu", "sin", "x**2/2 - 3*tanh(x)", "relu(x) + sin(x)")),
    valid_expressions,
)
#: Quantity names for grading.points: some exist in a given problem, some do not.
LAYER_QUANTITIES = (
    *("loss", "Z1", "A1", "A2", "A3", "dW1", "db1", "dA1", "dA2", "W1_new", "delta1", "y_hat"),
    *("h_1", "h_2", "delta1_t1", "dWx1", "dWh1", "Wh1_new", "velocity_W1", "m_W1", "v_hat_b1"),
    *("sq_W2", "Z1_t1", "A1_t2", "dA1_t1", "fprime1_t1"),
)


def _side(draw: st.DrawFn, a: int, b: int) -> int | list[int]:
    """A window or stride as the file may write it: n for n × n, else [height, width]."""
    return a if a == b and draw(st.booleans()) else [a, b]


@st.composite
def _array(draw: st.DrawFn, shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> Any:
    """Nested lists of random numbers (drawn from a seed, so that big arrays stay cheap),
    rounded like a hand-made exercise; a few entries extreme in a tenth of them."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = np.round(rng.uniform(low, high, shape), draw(st.integers(0, 3)))
    if values.size and draw(st.integers(0, 9)) == 0:
        extreme = draw(st.sampled_from((1e3, -1e3, 1e150, 700.0, *HUGE, *TINY)))
        flat = values.reshape(-1)
        flat[draw(st.integers(0, flat.size - 1))] = extreme if low < 0 else abs(extreme)
    return values.tolist()


@st.composite
def _parameters_or_init(draw: st.DrawFn, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """``parameters`` for every shape, ``init``, or both (init drawing what is missing)."""
    how = draw(st.sampled_from(["parameters", "parameters", "init", "both"]))
    doc: dict[str, Any] = {}
    if how != "init":
        names = list(shapes)
        if how == "both":
            names = draw(st.lists(st.sampled_from(names), unique=True))
        params = {name: draw(_array(shapes[name])) for name in names}
        for name in names:  # a kernel bank of one input and one output channel: kh × kw
            if len(shapes[name]) == 4 and shapes[name][:2] == (1, 1) and draw(st.booleans()):
                params[name] = params[name][0][0]
        doc["parameters"] = params
    if how != "parameters":
        init: dict[str, Any] = {"seed": draw(st.integers(0, 2**32))}
        if draw(st.booleans()):
            init["scale"] = draw(st.sampled_from([0.1, 0.5, 1.0, 3.0]))
        if draw(st.booleans()):
            init["decimals"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            init["distribution"] = draw(st.sampled_from(["uniform", "normal"]))
        doc["init"] = init
    return doc


@st.composite
def _optimizer(draw: st.DrawFn, shapes: dict[str, tuple[int, ...]], frozen: list[str]) -> Any:
    name = draw(st.sampled_from(list(OPTIMIZER_SETTINGS)))
    if draw(st.booleans()):
        return name
    spec: dict[str, Any] = {"name": name}
    for key, values in OPTIMIZER_SETTINGS[name].items():
        if draw(st.booleans()):
            spec[key] = draw(values)
    if name == "adam" and draw(st.booleans()):
        spec["step"] = draw(st.sampled_from([1, 2, 3, 10, 1000, 10**9]))
    state = {}
    for param in shapes:
        if param in frozen:
            continue
        for kind in CARRIED_STATES[name]:
            if draw(st.integers(0, 2)) == 0:
                low = 0.0 if kind in ("sq", "v") else -0.1
                state[f"{kind}_{param}"] = draw(_array(shapes[param], low, 0.1))
    if state:
        spec["state"] = state
    return spec


def _dense_layers(draw: st.DrawFn, inputs: int, first: int) -> tuple[list[Any], dict[str, Any]]:
    """1–2 dense layers on top (numbered from ``first``) and their parameter shapes."""
    layers, shapes = [], {}
    count = draw(st.integers(1, 2))
    for i in range(first, first + count):
        units = draw(st.integers(1, 3))
        last = i == first + count - 1
        act = draw(st.one_of(st.just("softmax"), LAYER_ACTIVATIONS) if last else LAYER_ACTIVATIONS)
        layer: dict[str, Any] = {"units": units, "activation": act}
        if draw(st.integers(0, 5)) == 0:
            layer["type"] = "dense"
        shapes[f"W{i}"] = (units, inputs)
        if draw(st.integers(0, 4)) == 0:
            layer["bias"] = False
        else:
            shapes[f"b{i}"] = (units,)
        layers.append(layer)
        inputs = units
    return layers, shapes


def _targets(draw: st.DrawFn, k: int, count: int | None) -> Any:
    """``count`` targets of k numbers (one if None); a single number when k is 1."""

    def one() -> Any:
        values = draw(_array((k,), 0.0, 1.0))
        return values[0] if k == 1 and draw(st.booleans()) else values

    return one() if count is None else [one() for _ in range(count)]


def _finish(draw: st.DrawFn, doc: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
    """The parts every layered problem has: loss, rate, parameters, optimizer, grading."""
    doc["loss"] = draw(st.sampled_from(LOSSES))
    doc["learning_rate"] = draw(st.one_of(st.floats(0, 1), st.sampled_from([0, 0.1, 10.0])))
    if draw(st.integers(0, 3)) == 0:
        doc["reduction"] = draw(st.sampled_from(["mean", "sum"]))
    doc.update(draw(_parameters_or_init(shapes)))
    frozen = []
    if draw(st.integers(0, 4)) == 0:
        frozen = draw(st.lists(st.sampled_from(list(shapes)), unique=True, max_size=2))
        doc["frozen"] = frozen
    if draw(st.booleans()):
        doc["optimizer"] = draw(_optimizer(shapes, frozen))
    if draw(st.integers(0, 3)) == 0:
        doc["grading"] = draw(grading_sections(LAYER_QUANTITIES))


@st.composite
def well_formed_cnn_problems(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem: an image (1–3 channels, 1–6 × 1–6), 1–3 convolutions and poolings
    of random windows, strides and paddings, flatten, 1–2 dense layers; one image or a
    batch of them."""
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    channels, height, width = c, h, w
    layers: list[dict[str, Any]] = []
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(1, draw(st.integers(1, 3)) + 1):
        kind = draw(st.sampled_from(["conv2d", "conv2d", "maxpool2d", "avgpool2d"]))
        layer: dict[str, Any] = {"type": kind}
        if kind == "conv2d":
            pad = draw(st.integers(0, 2))
            kh, kw = draw(st.integers(1, height + 2 * pad)), draw(st.integers(1, width + 2 * pad))
            sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            out = draw(st.integers(1, 3))
            layer["channels"] = out
            if draw(st.booleans()):
                layer["in_channels"] = channels
            if draw(st.booleans()):
                layer["activation"] = draw(LAYER_ACTIVATIONS)
            shapes[f"W{i}"] = (out, channels, kh, kw)
            if draw(st.integers(0, 4)) == 0:
                layer["bias"] = False
            else:
                shapes[f"b{i}"] = (out,)
            channels = out
        else:
            kh, kw = draw(st.integers(1, height)), draw(st.integers(1, width))
            pad = draw(st.integers(0, min(kh, kw) // 2))
            sh, sw = (kh, kw) if draw(st.booleans()) else (draw(st.integers(1, 3)),) * 2
        layer["kernel"] = _side(draw, kh, kw)
        default = (1, 1) if kind == "conv2d" else (kh, kw)
        if (sh, sw) != default or draw(st.integers(0, 3)) == 0:
            layer["stride"] = _side(draw, sh, sw)
        if pad or draw(st.integers(0, 3)) == 0:
            layer["padding"] = pad
        height = (height + 2 * pad - kh) // sh + 1
        width = (width + 2 * pad - kw) // sw + 1
        layers.append(layer)
    layers.append({"type": "flatten"})
    dense, more = _dense_layers(draw, channels * height * width, len(layers) + 1)
    shapes |= more
    doc: dict[str, Any] = {"network": {"input": [c, h, w], "layers": [*layers, *dense]}}
    k = dense[-1]["units"]

    def image() -> Any:
        values = draw(_array((c, h, w), -2.0, 4.0))
        return values[0] if c == 1 and draw(st.booleans()) else values

    batch = draw(st.sampled_from([None, None, 1, 2, 3]))
    if batch is None:
        doc["x"], doc["y"] = image(), _targets(draw, k, None)
    else:
        doc["x"], doc["y"] = [image() for _ in range(batch)], _targets(draw, k, batch)
    _finish(draw, doc, shapes)
    return doc


@st.composite
def well_formed_rnn_problems(draw: st.DrawFn) -> dict[str, Any]:
    """A valid problem: an rnn (1–3 inputs, 1–3 units, read at every step or the last,
    h0 or not) under 1–2 dense layers; one sequence of 1–4 steps or a batch of them."""
    n, units, steps = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    rnn: dict[str, Any] = {"type": "rnn", "units": units}
    output = draw(st.sampled_from([None, "every", "last"]))
    if output:
        rnn["output"] = output
    if draw(st.booleans()):
        rnn["activation"] = draw(LAYER_ACTIVATIONS)
    if draw(st.booleans()):
        rnn["h0"] = draw(_array((units,)))
    shapes: dict[str, tuple[int, ...]] = {"Wx1": (units, n), "Wh1": (units, units)}
    if draw(st.integers(0, 4)) == 0:
        rnn["bias"] = False
    else:
        shapes["b1"] = (units,)
    dense, more = _dense_layers(draw, units, 2)
    shapes |= more
    doc: dict[str, Any] = {"network": {"input": n, "layers": [rnn, *dense]}}
    k = dense[-1]["units"]
    batch = draw(st.sampled_from([None, None, 1, 2, 3]))

    def sequence(flat: bool) -> Any:
        values = draw(_array((steps, n), -2.0, 2.0))
        return [v[0] for v in values] if flat else values

    def targets() -> Any:
        return _targets(draw, k, steps if output != "last" else None)

    if batch is None:
        doc["x"], doc["y"] = sequence(n == 1 and draw(st.booleans())), targets()
    else:
        doc["x"] = [sequence(False) for _ in range(batch)]
        doc["y"] = [targets() for _ in range(batch)]
    _finish(draw, doc, shapes)
    return doc


well_formed_layered_problems = st.one_of(well_formed_cnn_problems(), well_formed_rnn_problems())
layer_bases = st.one_of(st.sampled_from(LAYER_DOCS), well_formed_layered_problems)

#: Hostile values for sizes, windows, names and settings.
LAYER_SCALARS = (
    *(0, -1, -3, 1, 2, 3, 4, 5, 6, 7, 9, 10, 64, 100, 499, 500, 501, 997, 998, 999, 1000),
    *(1001, 9999, 10_000, 10_001, 100_000, 100_001, 10**6, 4_000_001, 2**31, 2**63, 10**400),
    *(-(10**400), 0.5, 1.0, 2.0, 2.5, -0.0, 0.999, 0.9999999, 1e308, 1e-320, 1e-8),
    *(float("nan"), float("inf"), float("-inf"), None, True, False, "", " "),
    *("3", " 3 ", "3x3", "3×3", "[3, 3]", "0x3", "nan", "NaN", "inf", "-inf", "1e309"),
    *(".inf", "1e3", "1e-3", "2.0", *LAYER_KINDS, "Conv2D", "DENSE", "dense ", "lstm", "pool"),
    *("every", "last", "first", "all", "Every", "sgd", "momentum", "nesterov", "rmsprop"),
    *("adam", "Adam", "adagrad", "relu", "softmax", "tanh", "identity", "x/0", "log(x)"),
)
LAYER_LISTS = (
    *([], [3], [3, 3], [3, 3, 3], [0, 3], [3, 0], [-1, 3], [1000, 1000], [999, 999]),
    *([100, 100], [101, 99], [10**6, 1], [1, 10**6], [1, 10_000], [10_000, 1], [[3]]),
    *([[3, 3]], [3, [3]], ["3", "3"], [1.5, 2], [2.0, 2.0], [None, None], [True, 1]),
    *([1, 5, 5], [2, 5, 5], [3, 5, 5], [2, 4, 4], [1, 1, 1], [1, 0, 5], [1, 2000, 2000]),
    *([1, 1000, 1000], [100_000, 1, 1], [1, 5], [1, 5, 5, 5], [[1, 5, 5]], [1, "5", 5]),
    *([0.5, 0.5], [0, 0, 0], [float("nan")] * 3, [1e308, -1e308], ["every"], ["last"]),
)
LAYER_MAPS = (
    *({}, {"h": 3, "w": 3}, {"height": 3, "width": 3}, {"name": "adam"}, {"a": 1}),
    *({"type": "conv2d"}, {"units": 1}, {"velocity_W1": [[1]]}, {"<<": {"a": 1}}),
)
#: Layers to insert, valid or not for where they land.
LAYER_POOL = (
    *({"type": "flatten"}, {"type": "maxpool2d", "kernel": 2}, {"type": "avgpool2d", "kernel": 1}),
    *({"type": "conv2d", "channels": 1, "kernel": 1}, {"type": "conv2d", "channels": 2}),
    *({"type": "rnn", "units": 2}, {"type": "rnn", "units": 1, "output": "last"}),
    *({"units": 2, "activation": "relu"}, {"units": 1, "activation": "softmax"}),
    *({"type": "maxpool2d", "kernel": [1000, 1000], "padding": 500},),
    *({"type": "conv2d", "channels": 100_000, "kernel": 1},),
    *({"type": "avgpool2d", "kernel": 100, "stride": 1, "padding": 50},),
    *({"type": "conv2d", "channels": 1, "kernel": 1, "padding": 999},),
    *({"type": "flatten", "units": 3}, {"type": "dense"}, {}, None, [], "conv2d"),
)


@st.composite
def _nd_array(draw: st.DrawFn, shape: tuple[int, ...] | None = None) -> Any:
    """Nested lists of a given or random shape (0–5 axes of 0–4), numbers with, in a
    third of them, a few hostile entries (text, null, booleans, out-of-range numbers)."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=5)))
    values = np.asarray(draw(_array(shape)), dtype=object)
    if values.size and values.size <= 256 and draw(st.integers(0, 2)) == 0:
        flat = values.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(OUT_OF_RANGE))
    return values.tolist() if values.ndim else values.item()


def _shape(value: Any) -> tuple[int, ...] | None:
    """The shape of rectangular nested lists of numbers (None if not, or if too big)."""
    size, node = 1, value
    while isinstance(node, list) and node:
        size, node = size * len(node), node[0]
    if size > 100_000:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.shape(np.asarray(value, dtype=float))
    except (ValueError, TypeError, OverflowError):
        return None


@st.composite
def _reshaped(draw: st.DrawFn, value: Any) -> Any:
    """An array like ``value`` of a nearly right shape: an axis dropped, added, grown,
    shrunk (to 0, too) or the axes reversed; or of a random shape."""
    shape = _shape(value)
    if not shape:
        return draw(_nd_array())
    how = draw(st.sampled_from(["drop", "add", "grow", "shrink", "reverse", "random"]))
    axis = draw(st.integers(0, len(shape) - 1))
    before, size, after = shape[:axis], shape[axis], shape[axis + 1 :]
    if how == "drop":
        new = (*before, *after)
    elif how == "add":
        new = (*before, draw(st.integers(1, 3)), size, *after)
    elif how == "grow":
        new = (*before, size + draw(st.integers(1, 3)), *after)
    elif how == "shrink":
        new = (*before, max(size - draw(st.integers(1, 3)), 0), *after)
    elif how == "reverse":
        new = shape[::-1]
    else:
        return draw(_nd_array())
    return draw(_nd_array(new))


hostile_values = st.one_of(
    st.sampled_from(LAYER_SCALARS),
    st.sampled_from(LAYER_LISTS).map(copy.deepcopy),
    st.sampled_from(LAYER_MAPS).map(copy.deepcopy),
    _nd_array(),
    replacements,
)
HOSTILE_OPS = ("value", "value", "value", "key", "key", "type", "layers", "shape", "long", "big")
#: Sizes near the limits, for a layer's key, a batch, a sequence and an image.
BIG_SIZES: dict[str, tuple[Any, ...]] = {
    "channels": (1000, 10_000, 100_000, 100_001),
    "units": (1000, 2000, 10_000, 100_000, 100_001),
    "kernel": (100, [100, 100], [1, 10_000], [10_000, 1], [101, 99], 1000, [1000, 1000]),
    "stride": (1000, [1, 1000], 10**6),
    "padding": (100, 500, 997, 999, 1000, 1001),
}
BIG_COUNTS = (100, 1000, 3000, 10_000, 10_001, 100_000, 100_001)
BIG_KEYS = {
    "dense": ("units",),
    "rnn": ("units",),
    "conv2d": ("channels", "kernel", "stride", "padding"),
    "maxpool2d": ("kernel", "stride", "padding"),
    "avgpool2d": ("kernel", "stride", "padding"),
}
BIG_SIDES = (100, 300, 700, 999, 1000)


@st.composite
def _hostile(draw: st.DrawFn, doc: Any) -> Any:
    """One hostile change to a layered problem (``doc`` is changed in place and returned)."""
    if not isinstance(doc, dict) or not doc:
        return draw(hostile_values)
    op = draw(st.sampled_from(HOSTILE_OPS))
    network = doc.get("network")
    layers = network.get("layers") if isinstance(network, dict) else None
    layer_list = layers if isinstance(layers, list) and layers else None
    note(f"hostile {op}")
    if op == "key":  # a layer key, optimizer setting or state, with a hostile value
        where = draw(st.sampled_from(["layer", "optimizer", "state", "network"]))
        if where == "layer" and layer_list:
            i = draw(st.integers(0, len(layer_list) - 1))
            if isinstance(layer_list[i], dict):
                key = draw(st.sampled_from(LAYER_KEY_NAMES))
                layer_list[i][key] = draw(hostile_values)
                note(f"network.layers[{i}].{key} = {layer_list[i][key]!r}"[:300])
                return doc
        if where in ("optimizer", "state"):
            spec = doc.get("optimizer")
            spec = spec if isinstance(spec, dict) else {"name": spec}
            if where == "optimizer":
                spec[draw(st.sampled_from(OPTIMIZER_KEYS))] = draw(hostile_values)
            else:
                params = doc.get("parameters")
                names = list(params) if isinstance(params, dict) and params else ["W1", "b1"]
                kind = draw(st.sampled_from(["velocity", "sq", "m", "v", "m_hat", "velocity_"]))
                key = f"{kind}_{draw(st.sampled_from(names))}"
                state = spec.get("state")
                state = state if isinstance(state, dict) else {}
                given = params.get(key.partition("_")[2]) if isinstance(params, dict) else None
                state[key] = draw(st.one_of(_reshaped(given), hostile_values))
                spec["state"] = state
            doc["optimizer"] = spec
            return doc
        if isinstance(network, dict):
            network[draw(st.sampled_from(["input", "layers", "type", "units"]))] = draw(
                hostile_values
            )
            return doc
    if op == "type" and layer_list:
        i = draw(st.integers(0, len(layer_list) - 1))
        if isinstance(layer_list[i], dict):
            layer_list[i]["type"] = draw(st.sampled_from(LAYER_KINDS))
            return doc
    if op == "layers" and layer_list is not None:
        i = draw(st.integers(0, len(layer_list)))
        how = draw(st.sampled_from(["insert", "delete", "duplicate", "swap"]))
        if how == "insert" or len(layer_list) < 2:
            layer_list.insert(i, copy.deepcopy(draw(st.sampled_from(LAYER_POOL))))
        elif how == "delete":
            del layer_list[min(i, len(layer_list) - 1)]
        elif how == "duplicate":
            j = min(i, len(layer_list) - 1)
            layer_list.insert(j, copy.deepcopy(layer_list[j]))
        else:
            j = draw(st.integers(0, len(layer_list) - 1))
            k = min(i, len(layer_list) - 1)
            layer_list[j], layer_list[k] = layer_list[k], layer_list[j]
        return doc
    if op == "shape":  # a parameter, state, h0, x or y of a nearly right shape
        targets: list[tuple[Any, Any]] = [(doc, "x"), (doc, "y")]
        for part in ("parameters", "optimizer"):
            holder = doc.get(part)
            if isinstance(holder, dict):
                targets += [(holder, key) for key in holder]
                state = holder.get("state")
                if isinstance(state, dict):
                    targets += [(state, key) for key in state]
        if layer_list:
            targets += [(layer, "h0") for layer in layer_list if isinstance(layer, dict)]
        parent, key = draw(st.sampled_from(targets))
        parent[key] = draw(_reshaped(parent.get(key)))
        return doc
    if op == "big":
        return draw(_big(doc, layer_list))
    if op == "long":  # a long sequence or a big batch: x and (mostly) y repeated
        size = draw(st.sampled_from([2, 2, 3, 3, 10, 10, 100, 1000, 10_000, 10_001]))
        how = draw(st.sampled_from(["steps", "batch"]))
        both = draw(st.integers(0, 3)) > 0
        note(f"long: {how} {size}, y too: {both}")
        for key in ("x", "y") if both else ("x",):
            value = doc.get(key)
            if how == "batch":
                doc[key] = [value] * size  # written once with an anchor, then aliases
            elif isinstance(value, list) and value:
                doc[key] = (value * -(-size // len(value)))[:size]
        return doc
    # op == "value", or an op that did not apply: a hostile value at a random place
    path = (draw(st.sampled_from(list(doc))),)
    node = doc[path[0]]
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 2)) > 0:
        step = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path, node = (*path, step), node[step]
    new = draw(hostile_values)
    note(f"{'.'.join(map(str, path))} = {new!r}"[:300])
    _get(doc, path[:-1])[path[-1]] = new
    return doc


@st.composite
def _big(draw: st.DrawFn, doc: dict[str, Any], layer_list: list[Any] | None) -> Any:
    """Sizes near the limits, where a problem may pass validation yet be costly: a layer's
    channels, units, window, stride or padding (a key of its kind), a big batch, a long
    sequence or a big image (written with aliases); mostly with ``init`` instead of the
    parameters (and no optimizer state), so that the shapes still fit."""
    network = doc.get("network")
    images = isinstance(network, dict) and isinstance(network.get("input"), list)
    how = draw(st.sampled_from(["layer", "layer", "batch", "image" if images else "steps"]))
    count = draw(st.sampled_from(BIG_COUNTS))
    if how == "layer" and layer_list:
        i = draw(st.integers(0, len(layer_list) - 1))
        layer = layer_list[i]
        if isinstance(layer, dict):
            kind = layer.get("type", "dense")
            keys = [k for k in BIG_SIZES if k in BIG_KEYS.get(kind, BIG_SIZES)]
            key = draw(st.sampled_from(keys or list(BIG_SIZES)))
            layer[key] = copy.deepcopy(draw(st.sampled_from(BIG_SIZES[key])))
            note(f"big: network.layers[{i}].{key} = {layer[key]}")
    elif how == "batch":
        doc["x"], doc["y"] = [doc.get("x")] * count, [doc.get("y")] * count
        note(f"big: a batch of {count}")
    elif how == "steps":
        for key in ("x", "y"):
            value = doc.get(key)
            if isinstance(value, list) and value:
                doc[key] = (value * -(-count // len(value)))[:count]
        note(f"big: {count} steps")
    elif how == "image" and isinstance(network, dict):
        c = draw(st.sampled_from([1, 1, 2, 3]))
        h, w = draw(st.sampled_from(BIG_SIDES)), draw(st.sampled_from(BIG_SIDES))
        network["input"] = [c, h, w]
        row = [0.5] * w
        image = [row] * h
        doc["x"] = image if c == 1 and draw(st.booleans()) else [image] * c
        note(f"big: an image {c}×{h}×{w}")
    if draw(st.integers(0, 3)) > 0:
        doc.pop("parameters", None)
        doc["init"] = {"seed": draw(st.integers(0, 3))}
        if isinstance(doc.get("optimizer"), dict):
            doc["optimizer"].pop("state", None)
    return doc


@st.composite
def big_layered_problems(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed conv, rnn or dense problem whose sizes are near the limits (some beyond
    them): big images, batches, channels, windows, paddings, units and sequences; the
    parameters drawn by ``init``, x and y written with aliases. Whatever passes validation
    must run within the time and memory bounds."""
    kind = draw(st.sampled_from(["conv", "conv", "rnn", "dense"]))
    batch = draw(st.sampled_from([None, None, 2, 100, 1000, 10_000, 100_000]))
    sizes = st.sampled_from([1, 2, 10, 100, 1000, 2000, 10_000, 100_000])
    layers: list[dict[str, Any]] = []
    if kind == "conv":
        c = draw(st.sampled_from([1, 2, 3]))
        h, w = draw(st.sampled_from([1, 2, 5, 20, 100, 700])), draw(st.sampled_from([1, 5, 700]))
        for _ in range(draw(st.integers(1, 2))):
            layer: dict[str, Any] = {"type": draw(st.sampled_from(["conv2d", "maxpool2d"]))}
            if layer["type"] == "conv2d":
                layer["channels"] = draw(sizes)
            else:
                layer["type"] = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
            layer["kernel"] = draw(st.sampled_from([1, 2, 3, 100, [1, 100], [100, 1], 1000]))
            for key, values in (("stride", [1, 2, 100]), ("padding", [1, 50, 500, 999])):
                if draw(st.booleans()):
                    layer[key] = draw(st.sampled_from(values))
            layers.append(layer)
        layers.append({"type": "flatten"})
        network: dict[str, Any] = {"input": [c, h, w]}
        row = [0.5] * w
        sample: Any = [row] * h if c == 1 and draw(st.booleans()) else [[row] * h] * c
    elif kind == "rnn":
        n, steps = (
            draw(st.sampled_from([1, 10, 1000])),
            draw(st.sampled_from([1, 10, 1000, 10_000])),
        )
        layers.append({"type": "rnn", "units": draw(sizes)})
        if draw(st.booleans()):
            layers[0]["output"] = "last"
        network = {"input": n}
        sample = [[0.5] * n] * steps
    else:
        n = draw(sizes)
        network = {"input": n}
        sample = [0.5] * n
    for _ in range(draw(st.integers(0, 1))):
        layers.append({"units": draw(sizes), "activation": "relu"})
    layers.append({"units": 1, "activation": "identity"})
    network["layers"] = layers
    every = kind == "rnn" and layers[0].get("output") != "last"
    target: Any = [0.0] * len(sample) if every else 0.0
    doc: dict[str, Any] = {"network": network, "loss": "mse", "learning_rate": 0.1}
    doc["init"] = {"seed": 0}
    if draw(st.booleans()):
        doc["optimizer"] = draw(st.sampled_from(["momentum", "adam"]))
    doc["x"], doc["y"] = (sample, target) if batch is None else ([sample] * batch, [target] * batch)
    return doc


@st.composite
def mutated_layers(draw: st.DrawFn, bases: st.SearchStrategy[Any]) -> Any:
    """A valid layered problem with 1–4 changes: hostile values mostly, or the generic
    mutations of the dense problems (keys dropped or renamed, types swapped, ...)."""
    doc = copy.deepcopy(draw(bases))
    for _ in range(draw(st.integers(1, 4))):
        generic = draw(st.integers(0, 3)) == 0
        doc = draw(mutated(st.just(doc))) if generic else draw(_hostile(doc))
    return doc


layered_problems = st.one_of(mutated_layers(layer_bases), well_formed_layered_problems)

# The layered tests share about half an entry point's examples (910 in CI: 600 mutated
# problems, 150 training runs, 150 graded problems, 10 big ones), to keep CI short.


@fuzz(0.3)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(doc=layered_problems)
def test_solve_mutated_layers(workdir: Path, doc: Any) -> None:
    text = dump(doc, aliases=True)
    note(text[:20_000])
    with tolerating_known():
        check_solve(workdir, text)


@fuzz(0.075)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(
    doc=layered_problems,
    steps=st.sampled_from([1, 1, 2, 3, 5, 20]),
    output=st.sampled_from(["out.json"] * 8 + ["missing/out.json", "folder"]),
    plot=st.sampled_from([None] * 6 + ["loss.png", "loss.png", "missing/loss.png", "folder"]),
)
def test_train_mutated_layers(
    workdir: Path, doc: Any, steps: int, output: str, plot: str | None
) -> None:
    text = dump(doc, aliases=True)
    note(text[:20_000])
    with tolerating_known():
        check_train(workdir, text, steps, output, plot)


@st.composite
def graded_layered_problems(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A conv or rnn problem (well formed, an example, or one of them with one hostile
    change) and a sheet of answers derived from its solution, as for the dense problems."""
    from nncalc import solve
    from nncalc.problem import problem_from_document

    problem = draw(
        st.one_of(
            well_formed_layered_problems,
            st.sampled_from(LAYER_DOCS).map(copy.deepcopy),
            layer_bases.map(copy.deepcopy).flatmap(_hostile),
        )
    )
    values: dict[str, Any] = {name: 0.0 for name in LAYER_QUANTITIES}
    text = dump(problem, aliases=True)
    if len(text) < 50_000:  # (a bigger one, a long sequence or batch, gets blank answers)
        try:  # as the CLI reads it (parse_yaml counts aliases), within the test's bounds
            with memory_limit(MEMORY), time_limit(TIMEOUT):
                values = solve(problem_from_document(parse_yaml(text, "problem.yaml"))).values
        except (Exception, Hang):  # refused, or a failure the CLI runs of the test report
            pass
    answers: dict[Any, Any] = {}
    with np.errstate(all="ignore"):
        for name, value in values.items():
            if np.size(value) <= 1000:  # (a bigger one is left out: the sheet stays small)
                answers.update(draw(_answer_for(name, value)))
    return problem, {"answers": answers}


@fuzz(0.075)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(pair=graded_layered_problems())
def test_verify_layered_problems(workdir: Path, pair: tuple[Any, Any]) -> None:
    problem, answers = pair
    problem_text, answers_text = dump(problem, aliases=True), dump(answers)
    note(problem_text[:20_000])
    note(answers_text[:20_000])
    with tolerating_known():
        check_graded(workdir, problem_text, answers_text)


#: A big problem that passes validation must be solved within these bounds.
BIG_MEMORY = min(MEMORY, 1024)


@fuzz(0.005)
@pytest.mark.slow  # the random exploration: `python -m pytest -m "not slow"` skips it
@given(doc=big_layered_problems())
def test_solve_big_layers(workdir: Path, doc: Any) -> None:
    text = dump(doc, aliases=True)
    note(text[:5_000])
    with tolerating_known():
        check_solve(workdir, text, BIG_MEMORY)


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
    known.check(workdir)

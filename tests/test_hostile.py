"""Hostile and broken input: nothing crashes, hangs or is lost.

Every entry point answers any input with a correct result or one clean line
naming the file and field, exit code 2; in a batch every other file is graded.
(Problem-file cases are in test_problem_errors.py; random inputs in test_fuzz.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import nncalc
from nncalc.cli import app
from nncalc.problem import Limits

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
FULL = (ROOT / "tests" / "data" / "a4" / "full.yaml").read_text()

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)

# Each broken answers file and the exact error it must produce (after "FILE:").
BROKEN_ANSWERS: dict[str, tuple[bytes, str]] = {
    "python tag": (
        b"!!python/object/apply:os.system ['echo hacked']\n",
        "1: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed "
        "(only plain data)",
    ),
    "alias bomb": (
        BOMB.encode(),
        " document too large: more than 1000000 nodes (aliases count each time used)",
    ),
    "100-level nesting": (
        ("answers: {Z1: " + "[" * 100 + "]" * 100 + "}\n").encode(),
        "1: answers.Z1" + "[0]" * 63 + ": nested deeper than 64 levels",
    ),
    "several documents": (
        b"answers: {}\n---\nanswers: {}\n",
        "2: invalid YAML: expected a single YAML document, found several",
    ),
    "empty file": (b"", " the file is empty"),
    "binary garbage": (bytes(range(256)) * 4, " not UTF-8 text (byte 128 is 0x80)"),
    "latin-1 text": ("student: José\n".encode("latin-1"), " not UTF-8 text (byte 12 is 0xe9)"),
    "duplicate keys": (
        b"answers:\n  Z1: [1, 2, 3]\n  Z1: [1, 2, 3]\n",
        "3: answers: duplicate key 'Z1' (first on line 2)",
    ),
}


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize("case", BROKEN_ANSWERS)
def test_a_broken_answers_file_among_good_ones(
    case: str, runner: CliRunner, tmp_path: Path
) -> None:
    data, expected = BROKEN_ANSWERS[case]
    good = write(tmp_path, "a_good.yaml", FULL)
    bad = write(tmp_path, "b_bad.yaml", data)
    result = runner.invoke(app, ["verify", str(tmp_path), "--problem", str(A4), "-f", "json"])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(bad)]
    assert lines[0]["score"] == lines[0]["max_score"] == 20  # numbers and equations
    assert lines[1]["error"] == f"{bad}:{expected}"
    assert "Traceback" not in result.output


@pytest.mark.parametrize("variant", ["bom", "crlf"])
def test_bom_and_crlf_answers_files_work(variant: str, runner: CliRunner, tmp_path: Path) -> None:
    text = FULL.replace("\n", "\r\n") if variant == "crlf" else FULL
    data = (b"\xef\xbb\xbf" if variant == "bom" else b"") + text.encode()
    sheet = write(tmp_path, "s.yaml", data)
    result = runner.invoke(app, ["verify", str(sheet), "--problem", str(A4), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["score"] == 20


def test_a_directory_where_the_problem_file_should_be(runner: CliRunner, tmp_path: Path) -> None:
    sheet = write(tmp_path, "s.yaml", FULL)
    result = runner.invoke(app, ["verify", str(sheet), "--problem", str(tmp_path), "-f", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == f"{tmp_path}: expected a file, found a directory"


def test_a_missing_answers_file_is_an_error_row(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["verify", str(missing), "--problem", str(A4), "-f", "csv"])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "student,file,problem,score,max_score,error,warning",  # no graded quantity: no columns
        f"nope,{missing},,,,{missing}: no such file,",  # no score: it was not graded
    ]


def test_an_unreadable_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any file whatever its mode, so the permission error is simulated.
    sheet = write(tmp_path, "s.yaml", FULL)
    original = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path) == sheet:
            raise PermissionError(13, "Permission denied")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = runner.invoke(app, ["verify", str(sheet), "--problem", str(A4), "-f", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == f"{sheet}: permission denied"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("'abc'", "not a number: 'abc'"),
        ("true", "expected numbers, got true"),
        ("'nan'", "not a finite number: 'nan'"),
        (".inf", "not a finite number: 'inf'"),
        ("'1e309'", "not a finite number: '1e309'"),
        ("1" + "0" * 400, "not a number: '1" + "0" * 39 + "'"),
        ("[[1.35], [0.35, 0.6]]", "rows of different lengths"),
        ("[[[1.35, 0.35, 0.6]]]", "expected 3 numbers, got a 1×1×3 array"),
        ("{a: 1}", "expected numbers, got dict"),
    ],
)
def test_bad_numbers_make_that_answer_invalid(value: str, reason: str, tmp_path: Path) -> None:
    from nncalc.grading import grade_file

    sheet = write(tmp_path, "s.yaml", FULL.replace("Z1: [1.35, 0.35, 0.6]", f"Z1: {value}"))
    assert "Z1: [1.35" not in sheet.read_text()
    result = grade_file(sheet, {}, A4)
    (z1,) = [item for item in result.items if item.name == "Z1" and item.kind == "value"]
    assert (z1.verdict, z1.reason) == ("invalid", reason)
    assert result.score == 19.5  # every other answer (and every equation) still graded


def test_limits_are_configurable_from_the_command_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["solve", str(A4), "--limit", "max_entries=10", "-f", "json"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {A4}:8: network.layers[0].units: W1 would have 3×4 = 12 entries; the limit is 10\n"
    )
    raised = runner.invoke(app, ["solve", str(A4), "--limit", "max_entries=20", "-f", "json"])
    assert raised.exit_code == 0
    bad = runner.invoke(app, ["solve", str(A4), "--limit", "max_entrys=1"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --limit: unknown limit 'max_entrys'")


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = write(tmp_path, "big.yaml", "x: " + "1" * 2000 + "\n")
    with pytest.raises(nncalc.NncalcError, match=r"file too large: 2004 bytes \(limit 1000\)"):
        nncalc.load_problem(big, limits=Limits(max_file_bytes=1000))


# ---------------------------------------------------------------------------
# Numerics


def solve_dict(**changes: object) -> nncalc.Solution:
    problem = {
        "network": {"input": 1, "layers": [{"units": 2, "activation": "softmax"}]},
        "loss": "cross_entropy",
        "learning_rate": 0.1,
        "parameters": {"W1": [[1.0], [-1.0]], "b1": [0.0, 0.0]},
        "x": [1000.0],
        "y": [0.0, 1.0],
    }
    problem.update(changes)
    return nncalc.solve(nncalc.problem_from_dict(problem))


def test_softmax_of_huge_logits_stays_finite() -> None:
    sol = solve_dict(y=[1.0, 0.0])  # Z = [1000, -1000]
    assert sol["y_hat"].tolist() == [1.0, 0.0]
    assert sol["loss"] == 0.0


def test_cross_entropy_where_y_hat_underflows_is_finite_by_log_softmax() -> None:
    sol = solve_dict()  # ŷ_2 = e^-2000 underflows to 0 but y_2 = 1
    assert sol["y_hat"][1] == 0.0
    assert sol["loss"] == pytest.approx(2000.0)  # −log softmax = 1000 − (−1000)
    np.testing.assert_allclose(sol["delta1"], [1.0, -1.0])


def test_overflow_is_reported_never_printed_as_nan(runner: CliRunner, tmp_path: Path) -> None:
    problem = write(
        tmp_path,
        "p.yaml",
        "network: {input: 1, layers: [{units: 1, activation: exp}]}\nloss: mse\n"
        "learning_rate: 0.1\nparameters: {W1: [[1.0]], b1: [0.0]}\nx: [1000]\ny: [0]\n",
    )
    result = runner.invoke(app, ["solve", str(problem), "-f", "json"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {problem}: A1: the value is not finite (overflow or an invalid operation "
        "such as log of a negative number); check the activation and the magnitudes of the "
        "inputs\n"
    )
    assert "nan" not in result.stdout.lower()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "unknown name '__import__' at column 1"),
        ("x.real", "column 2"),
        ("lambda x: x", "lambda is not allowed at column 1"),
        ("[x for x in y]", "column 1"),
        ("x**x**x**99", "column"),
        ("relu(x", "column"),
        ("x" + "+x" * 50_000, "column 1001"),
    ],
)
def test_hostile_activation_expressions_are_refused_with_a_position(
    expression: str, message: str, runner: CliRunner, tmp_path: Path
) -> None:
    text = A4.read_text().replace('"relu(x) + sin(x)"', json.dumps(expression))
    problem = write(tmp_path, "p.yaml", text)
    started = time.perf_counter()
    result = runner.invoke(app, ["solve", str(problem), "-f", "json"])
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {problem}:8: network.layers[0].activation: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------
# Signals: a batch stopped by Ctrl-C or SIGTERM leaves no half-written output


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_batch_leaves_no_output_file(signum: int, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for i in range(3000):
        write(submissions, f"s{i:04d}.yaml", FULL)
    target = tmp_path / "grades.csv"
    command = [sys.executable, "-m", "nncalc", "verify", str(submissions), "--problem", str(A4)]
    process = subprocess.Popen(
        [*command, "-f", "csv", "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        # A shell starts a background job with SIGINT ignored, and a child inherits that:
        # give it the default disposition, as a terminal's foreground job has it.
        preexec_fn=_default_sigint,
    )
    time.sleep(1.5)  # well into grading (3,000 files take several seconds)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err == "error: interrupted; no output file was written\n"
    assert out == ""
    # no grades, no temp; the results so far survive in grades.csv.partial (--resume)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv.partial", "submissions"]


def test_a_hidden_layer_too_big_for_the_batch_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    """max_entries bounds every layer's values for the whole batch, not only the weights."""
    problem = tmp_path / "p.yaml"
    samples = "[" + ", ".join(["[0.5]"] * 3000) + "]"
    targets = "[" + ", ".join(["[0]"] * 3000) + "]"
    problem.write_text(
        "network: {input: 1, layers: [{units: 100000, activation: relu},"
        " {units: 1, activation: identity}]}\n"
        f"loss: mse\nlearning_rate: 0.1\ninit: {{seed: 0}}\nx: {samples}\ny: {targets}\n"
    )
    result = runner.invoke(app, ["solve", str(problem), "-f", "json"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {problem}:1: network.layers[0].units: layer 1 would hold 300,000,000 values "
        "for the batch (100,000 per sample × 3,000); the limit is 4,000,000 (max_entries)\n"
    )

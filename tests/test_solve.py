"""`nncalc solve`: formats, filters, gradient check and exit codes, as a user runs it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nncalc.cli import app

CANONICAL_A4 = [
    *("Z1", "A1", "Z2", "A2", "loss", "delta2", "dW2", "db2", "dA1", "fprime1", "delta1"),
    *("dW1", "db1", "W1_new", "b1_new", "W2_new", "b2_new"),
]


def solve(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["solve", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_has_every_canonical_quantity_at_full_precision(runner: CliRunner, a4: Path) -> None:
    code, out, _ = solve(runner, str(a4), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert list(doc["values"]) == CANONICAL_A4
    assert [s["name"] for s in doc["steps"]] == CANONICAL_A4
    assert {s["phase"] for s in doc["steps"]} == {"forward", "backward", "update"}
    # full precision, not the 4 shown decimals: -log(softmax(Z2))_1 by hand
    assert doc["values"]["loss"] == pytest.approx(1.5221239173780619, abs=1e-15)
    delta1 = doc["values"]["delta1"]
    assert len(delta1) == 3 and delta1[0] == pytest.approx(
        0.7 * 0.78175215 * (1 + np.cos(1.35)), abs=1e-8
    )
    assert np.shape(doc["values"]["W1_new"]) == (3, 4)  # matrices are lists of rows
    step = doc["steps"][CANONICAL_A4.index("delta1")]
    assert step == {
        "phase": "backward",
        "name": "delta1",
        "equation": "δ1 = (W2ᵀ·δ2) ⊙ f1'(Z1)",
        "latex": r"\delta_{1} = \left(W_{2}^{\top} \delta_{2}\right) \odot f_{1}'(Z_{1})",
        "value": delta1,
    }
    assert doc["problem"]["name"] == "DS4023 Assignment 4, Problem 1"
    assert doc["problem"]["x"] == [1, -1, 0.5, 2]
    assert doc["problem"]["learning_rate"] == 0.001


def test_plain_tables_show_equations_and_values(runner: CliRunner, a4: Path) -> None:
    code, out, _ = solve(runner, str(a4), "--format", "plain")
    assert code == 0
    for title in ("Given", "Forward pass", "Backpropagation", "Update"):
        assert title in out
    assert "H = relu(Z1) + sin(Z1)" in out
    assert "δ1 = (W2ᵀ·δ2) ⊙ f1'(Z1)" in out
    assert "f1'(Z1) = 1 + cos(Z1) if Z1 > 0, cos(Z1) otherwise" in out
    assert "⎡ 0.0993  -0.1993   0.2997   0.3987 ⎤" in out  # W1', as in the seed
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_default_format_when_piped_is_plain(runner: CliRunner, a4: Path) -> None:
    assert solve(runner, str(a4))[1] == solve(runner, str(a4), "--format", "plain")[1]


def test_precision_changes_the_decimals_shown(runner: CliRunner, a4: Path) -> None:
    out = solve(runner, str(a4), "-f", "plain", "-p", "6", "-q", "loss")[1]
    assert "1.522124" in out
    assert "1.5221 " not in out


def test_phase_and_quantity_filters(runner: CliRunner, a4: Path) -> None:
    doc = json.loads(solve(runner, str(a4), "-f", "json", "--phase", "update")[1])
    assert list(doc["values"]) == ["W1_new", "b1_new", "W2_new", "b2_new"]
    doc = json.loads(
        solve(runner, str(a4), "-f", "json", "--phase", "forward", "--phase", "update")[1]
    )
    assert "Z1" in doc["values"] and "W1_new" in doc["values"] and "delta1" not in doc["values"]
    # aliases are read wherever a name is read
    doc = json.loads(
        solve(runner, str(a4), "-f", "json", "-q", "H", "-q", "W1'", "-q", "W2T_delta2")[1]
    )
    assert list(doc["values"]) == ["A1", "dA1", "W1_new"]
    plain = solve(runner, str(a4), "-f", "plain", "-q", "y_hat")[1]
    assert "Given" not in plain and "ŷ = softmax(Z2)" in plain and "Z1" not in plain


def test_unknown_quantity_is_a_clean_error(runner: CliRunner, a4: Path) -> None:
    code, out, err = solve(runner, str(a4), "-q", "Z9")
    assert code == 2 and out == ""
    assert err.startswith("error: --quantity: unknown quantity 'Z9'; this problem has: Z1, A1, Z2")


def test_markdown_has_display_math(runner: CliRunner, a4: Path) -> None:
    out = solve(runner, str(a4), "-f", "markdown")[1]
    assert out.startswith("# DS4023 Assignment 4, Problem 1\n")
    assert "## Backpropagation" in out
    assert (
        r"$$ Z_{1} = W_{1} x + b_{1} = "
        r"\left(\begin{array}{r} 1.3500 \\ 0.3500 \\ 0.6000 \end{array}\right) $$" in out
    )


def test_latex_is_a_standalone_document(runner: CliRunner, a4: Path) -> None:
    out = solve(runner, str(a4), "-f", "latex")[1]
    assert out.startswith(r"\documentclass")
    assert out.rstrip().endswith(r"\end{document}")
    assert r"\section*{DS4023 Assignment 4, Problem 1}" in out
    assert r"H = \operatorname{ReLU}(Z_{1}) + \sin(Z_{1}) = \left(\begin{array}{r} 2.3257 \\" in out
    assert out.count(r"\[") == out.count(r"\]") == 6 + 17  # given + every quantity


HUGE_WEIGHTS = """\
network: {input: 2, layers: [{units: 1, activation: identity, bias: false}]}
loss: mse
learning_rate: 0.0
parameters: {W1: [[1.0e+300, -2.5e+9]]}
x: [1.0e-300, 0.0]
y: [0.0]
"""


def test_huge_numbers_are_written_in_scientific_notation(runner: CliRunner, tmp_path: Path) -> None:
    # Fixed point would print all 301 digits of 1e300 and push the table off the screen.
    problem = tmp_path / "huge.yaml"
    problem.write_text(HUGE_WEIGHTS)
    code, plain, _ = solve(runner, str(problem), "-f", "plain", "-q", "W1_new")
    assert code == 0
    assert "1.0000e+300" in plain and "-2.5000e+09" in plain
    assert max(map(len, plain.splitlines())) < 100
    latex = solve(runner, str(problem), "-f", "latex", "-q", "W1_new")[1]
    assert r"1.0000 \cdot 10^{300} & -2.5000 \cdot 10^{9}" in latex
    assert "e+" not in latex


CNN = Path(__file__).resolve().parent.parent / "problems" / "cnn.yaml"
SHEETS = CNN.parent.parent / "tests" / "data" / "a4"
_PROBLEM = {"solve": [], "verify": ["--problem", str(CNN.parent / "a4.yaml")]}


def test_the_latex_key_of_a_convolution_shows_each_windows_sum(runner: CliRunner) -> None:
    """As the terminal and Markdown do: each output entry as its window ⊙ kernel sum."""
    code, latex, _ = solve(runner, str(CNN), "-f", "latex")
    assert code == 0
    assert (
        r"$Z_{1}[1,1] = 2.0000 \cdot 1.0000 + 3.0000 \cdot 0.0000 + 1.0000 \cdot (-1.0000)"
        r" + 4.0000 \cdot 1.0000 + 0.0000 \cdot 0.0000 + 0.0000 \cdot (-1.0000)"
        r" + 2.0000 \cdot 1.0000 + 0.0000 \cdot 0.0000 + 4.0000 \cdot (-1.0000) + 0.5000"
        r" = 3.5000$\\"
    ) in latex.splitlines()
    assert (
        r"$A_{2}[1,1] = \max(3.5000, 0.0000, 4.5000, 0.0000) = 4.5000,\ \text{from } A_{1}[2,1]$\\"
        in latex.splitlines()
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("problem", ["a4.yaml", "cnn.yaml"])
def test_latex_compiles_with_pdflatex(runner: CliRunner, problem: str, tmp_path: Path) -> None:
    key = tmp_path / "key.tex"
    source = str(CNN.parent / problem)
    assert runner.invoke(app, ["solve", source, "-f", "latex", "-o", str(key)]).exit_code == 0
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", key.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "key.pdf").stat().st_size > 1000


def test_output_file_is_written_whole(runner: CliRunner, a4: Path, tmp_path: Path) -> None:
    target = tmp_path / "key.json"
    code, out, _ = solve(runner, str(a4), "-f", "json", "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["values"]["Z1"] == pytest.approx([1.35, 0.35, 0.6])
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]  # no temporary left behind


def test_output_into_a_missing_directory_is_a_clean_error(
    runner: CliRunner, a4: Path, tmp_path: Path
) -> None:
    target = tmp_path / "nope" / "key.json"
    code, _, err = solve(runner, str(a4), "-f", "json", "-o", str(target))
    assert code == 2
    assert err == f"error: {target}: cannot write: No such file or directory\n"


def test_gradcheck_passes_on_a4(runner: CliRunner, a4: Path) -> None:
    code, out, _ = solve(runner, str(a4), "-f", "plain", "--gradcheck", "-q", "loss")
    assert code == 0
    line = out.strip().splitlines()[-1]
    assert line.startswith("gradient check: max relative error ")
    assert line.endswith("over 23 entries: ok")
    assert float(line.split()[5]) < 1e-6


def test_gradcheck_goes_to_stderr_for_json(runner: CliRunner, a4: Path) -> None:
    code, out, err = solve(runner, str(a4), "-f", "json", "--gradcheck")
    assert code == 0
    json.loads(out)  # stdout stays valid JSON
    assert "gradient check:" in err


def test_gradcheck_fails_where_finite_differences_straddle_a_kink(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Z1 = 0 exactly: relu is not differentiable there, so the check must fail loudly.
    problem = tmp_path / "kink.yaml"
    problem.write_text(
        "network: {input: 1, layers: [{units: 1, activation: relu}]}\n"
        "loss: half_sse\nlearning_rate: 0.1\n"
        "parameters: {W1: [[1.0]], b1: [0.0]}\nx: [0]\ny: [1]\n"
    )
    code, out, _ = solve(runner, str(problem), "-f", "plain", "--gradcheck")
    assert code == 1
    assert "FAILED (tolerance 1e-06)" in out


def test_help_lists_every_option_and_an_example(runner: CliRunner) -> None:
    result = runner.invoke(app, ["solve", "--help"])
    assert result.exit_code == 0
    for option in ("--format", "--precision", "--phase", "--quantity", "--gradcheck", "--output"):
        assert option in result.stdout
    assert "nncalc solve problems/a4.yaml --format json" in result.stdout


def _installed_command() -> list[str]:
    script = Path(sys.executable).parent / "nncalc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nncalc"]


def test_installed_command_runs_in_a_real_process(a4: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    done = subprocess.run(
        [*_installed_command(), "solve", str(a4), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["values"]["A2"] == pytest.approx([0.21825, 0.78175], abs=1e-5)


def test_a_reader_that_stops_reading_ends_the_run_quietly_with_141(a4: Path) -> None:
    # `nncalc solve ... | head`: the pipe is closed before the first write.
    run = subprocess.Popen(
        [sys.executable, "-m", "nncalc", "solve", str(a4), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()
    assert run.wait(timeout=60) == 141
    assert run.stderr.read() == b""


def test_python_dash_m_runs_and_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: {input: 2}\nloss: mse\nlearning_rate: 0.1\nx: [1, 2]\ny: [0]\n")
    done = subprocess.run(
        [sys.executable, "-m", "nncalc", "solve", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"error: {bad}:1: network: missing required key 'layers'\n"


def test_equations_use_mathematical_notation(runner: CliRunner, tmp_path: Path) -> None:
    """A worked solution writes 1 − tanh(Z1)² and 2·Z1, not Python's ** and *."""
    problem = tmp_path / "p.yaml"
    problem.write_text(
        "network: {input: 1, layers: [{units: 1, activation: tanh},"
        " {units: 1, activation: '3*x**2 - x'}]}\n"
        "loss: mse\nlearning_rate: 0.1\nparameters: {W1: [[0.5]], b1: [0], W2: [[1]], b2: [0]}\n"
        "x: [1]\ny: [0]\n"
    )
    code, out, _ = solve(runner, str(problem), "-f", "json")
    assert code == 0
    equations = {step["name"]: step["equation"] for step in json.loads(out)["steps"]}
    assert equations["fprime1"] == "f1'(Z1) = 1 − tanh(Z1)²"
    assert equations["A2"] == "ŷ = 3·Z2² − Z2"
    assert equations["fprime2"] == "f2'(Z2) = 6·Z2 − 1"


@pytest.mark.parametrize(("columns", "width"), [(None, 80), ("100", 100)])
def test_piped_plain_text_follows_columns_without_trailing_spaces(
    runner: CliRunner, a4: Path, monkeypatch: pytest.MonkeyPatch, columns: str | None, width: int
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    for command in (["solve", str(a4)], ["verify", str(SHEETS / "mistake_bias.yaml")]):
        result = runner.invoke(app, [*command, "--format", "plain", *_PROBLEM[command[0]]])
        lines = result.stdout.splitlines()
        assert max(map(len, lines)) <= width, command
        if command[0] == "solve":  # the tables fill the width
            assert max(map(len, lines)) >= width - 2
        else:  # too narrow for the results table: a block per item, nothing cut off
            assert "Z1                ✗ wrong           0 / 0.5" in lines
        assert [line for line in lines if line != line.rstrip()] == [], command


def _in_a_terminal(args: list[str], **env: str) -> str:
    """What nncalc prints on a real (pseudo-)terminal, run by `script`."""
    command = shlex.join([sys.executable, "-m", "nncalc", *args])
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        env={
            **{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")},
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


CYAN = "\x1b[1;36m"  # the quantity column of a rich table


@pytest.mark.skipif(shutil.which("script") is None, reason="script (util-linux) is not installed")
def test_colour_follows_no_color_and_the_color_option_on_a_terminal(a4: Path) -> None:
    args = ["solve", str(a4), "-q", "H"]
    assert CYAN in _in_a_terminal(args)
    assert "\x1b[" not in _in_a_terminal(args, NO_COLOR="1")
    assert "\x1b[" not in _in_a_terminal([*args, "--no-color"])
    assert CYAN in _in_a_terminal([*args, "--color"], NO_COLOR="1")  # the option wins


def test_force_color_and_the_color_option_colour_a_pipe(
    runner: CliRunner, a4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["solve", str(a4), "-q", "H"]
    assert "\x1b[" not in runner.invoke(app, args).stdout  # piped: plain text
    assert CYAN in runner.invoke(app, [*args, "--color"]).stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert CYAN in runner.invoke(app, args).stdout


@pytest.mark.parametrize(
    ("command", "name", "start"),
    [
        ("solve", "key.tex", r"\documentclass"),
        ("solve", "key.json", "{"),
        ("solve", "key.md", "# DS4023"),
        ("verify", "grades.csv", "student,file,"),
        ("verify", "report.html", "<!DOCTYPE html>"),
        ("verify", "feedback.tex", r"\documentclass"),
    ],
)
def test_the_output_files_extension_sets_the_format(
    runner: CliRunner, tmp_path: Path, command: str, name: str, start: str
) -> None:
    target = tmp_path / name
    subject = str(CNN.parent / "a4.yaml") if command == "solve" else str(SHEETS / "full.yaml")
    result = runner.invoke(app, [command, subject, *_PROBLEM[command], "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert target.read_text().startswith(start)


def test_a_format_the_extension_contradicts_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "key.tex"
    result = runner.invoke(
        app, ["solve", str(CNN.parent / "a4.yaml"), "-f", "json", "-o", str(target)]
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: --format json contradicts the extension of {target} (latex); "
        "give one of them, or a file name that agrees\n"
    )
    assert not target.exists()


def test_a_dash_reads_standard_input(runner: CliRunner, a4: Path) -> None:
    """`cat problem.yaml | nncalc solve -`, `cat answers.yaml | nncalc verify -`."""
    solved = runner.invoke(app, ["solve", "-", "-f", "json"], input=a4.read_text())
    assert solved.exit_code == 0, solved.stderr
    assert json.loads(solved.stdout)["values"]["Z1"] == pytest.approx([1.35, 0.35, 0.6])
    sheet = (SHEETS / "mistake_bias.yaml").read_text()
    graded = runner.invoke(app, ["verify", "-", "--problem", str(a4), "-f", "json"], input=sheet)
    assert graded.exit_code == 1  # not full marks: the bias slip
    row = json.loads(graded.stdout)
    assert (row["student"], row["file"], row["score"]) == ("stdin", "<stdin>", 9.5)
    blank = runner.invoke(app, ["template", "-"], input=a4.read_text())
    assert "problem: null   # the problem file's path" in blank.stdout.splitlines()
    bad = runner.invoke(app, ["solve", "-"], input="x")
    assert (bad.exit_code, bad.stderr) == (
        2,
        "error: <stdin>: expected a mapping of keys for the file, got string 'x'\n",
    )

"""Every class of bad problem file: one line on stderr naming file, field, expectation; exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.problem import Limits, load_problem

A4_TEXT = (Path(__file__).resolve().parent.parent / "problems" / "a4.yaml").read_text()
#: The line where text appended to a4.yaml begins (the file grows with its grading section).
AFTER_A4 = A4_TEXT.count("\n") + 1
W1_ROWS = """    - [0.1, -0.2, 0.3, 0.4]
    - [0.5, -0.3, 0.1, -0.2]
    - [0.4, 0.2, -0.5, 0.3]"""


def a4_with(old: str, new: str) -> str:
    assert old in A4_TEXT
    return A4_TEXT.replace(old, new)


CASES = {
    "wrong shape": (
        a4_with(W1_ROWS, "    - [0.1, -0.2, 0.3]\n    - [0.5, -0.3, 0.1]\n    - [0.4, 0.2, -0.5]"),
        "13: parameters.W1: expected shape 3×4 (layer 1: 3 units, 4 inputs), got 3×3",
    ),
    "ragged matrix": (
        a4_with("- [0.4, 0.2, -0.5, 0.3]", "- [0.4, 0.2, -0.5]"),
        "13: parameters.W1: expected shape 3×4 (layer 1: 3 units, 4 inputs), got a ragged matrix",
    ),
    "wrong vector length": (
        a4_with("b1: [0.1, -0.1, 0.05]", "b1: [0.1, -0.1]"),
        "17: parameters.b1: expected 3 numbers (layer 1: 3 units), got 2",
    ),
    "x of the wrong length": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, -1, 0.5]"),
        "22: x: expected 4 numbers (network.input = 4), got 3",
    ),
    "unknown key": (
        a4_with("learning_rate", "learnig_rate"),
        "11: learnig_rate: unknown key 'learnig_rate' (did you mean 'learning_rate'?); expected "
        "one of: name, network, loss, reduction, learning_rate, optimizer, parameters, init, "
        "frozen, x, y, grading",
    ),
    "unknown layer key": (
        a4_with("{units: 3,", "{unit: 3,"),
        "8: network.layers[0].unit: unknown key 'unit' (did you mean 'units'?); expected one "
        "of: type, units, activation, bias",
    ),
    "missing key": (
        a4_with("loss: cross_entropy\n", ""),
        " missing required key 'loss'",
    ),
    "unknown loss": (
        a4_with("loss: cross_entropy", "loss: crossentropy"),
        "10: loss: expected one of cross_entropy, binary_cross_entropy, mse, sse, half_sse; "
        "got string 'crossentropy' (did you mean 'cross_entropy'?)",
    ),
    "not a number": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, abc, 0.5, 2]"),
        "22: x[1]: expected a number, got string 'abc'",
    ),
    "boolean": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, true, 0.5, 2]"),
        "22: x[1]: expected a number, got boolean true",
    ),
    "null": (
        a4_with("b2: [0.05, -0.05]", "b2: [0.05, null]"),
        "21: parameters.b2[1]: expected a number, got null",
    ),
    "NaN": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, .nan, 0.5, 2]"),
        "22: x[1]: expected a finite number, got nan",
    ),
    "infinity as text": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, -.inf, 0.5, 2]"),
        "22: x[1]: expected a finite number, got -inf",
    ),
    "number overflowing to inf": (
        a4_with("learning_rate: 0.001", "learning_rate: 1e309"),
        "11: learning_rate: expected a finite number, got inf",
    ),
    "integer too large for a float": (
        a4_with("x: [1, -1, 0.5, 2]", "x: [1, " + "9" * 400 + ", 0.5, 2]"),
        "22: x[1]: expected a number that fits a float, got an integer with 400 digits",
    ),
    "negative learning rate": (
        a4_with("learning_rate: 0.001", "learning_rate: -0.1"),
        "11: learning_rate: expected a number ≥ 0, got -0.1",
    ),
    "activation refused": (
        a4_with('"relu(x) + sin(x)"', "\"relu(x) + __import__('os')\""),
        "8: network.layers[0].activation: unknown name '__import__' at column 11 in "
        "\"relu(x) + __import__('os')\"; allowed are x, pi, e and the functions abs, cos, elu, "
        "exp, identity, leaky_relu, linear, log, relu, sigmoid, sin, softplus, sqrt, tanh",
    ),
    "unknown frozen parameter": (
        A4_TEXT + "frozen: [b3]\n",
        f"{AFTER_A4}: frozen[0]: expected a parameter name (W1, b1, W2, b2), got string 'b3'",
    ),
    "duplicate key": (
        a4_with("loss: cross_entropy", "loss: cross_entropy\nloss: mse"),
        "11: duplicate key 'loss' (first on line 10)",
    ),
    "python tag": (
        "!!python/object/apply:os.system ['echo hacked']\n",
        "1: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed "
        "(only plain data)",
    ),
    "several documents": (
        A4_TEXT + "---\nname: two\n",
        f"{AFTER_A4}: invalid YAML: expected a single YAML document, found several",
    ),
    "empty file": ("", " the file is empty"),
    "not a mapping": ("- 1\n- 2\n", " expected a mapping of keys for the file, got a list of 2"),
    "broken YAML": (
        "name: [unclosed\nloss: x\n",
        "2: invalid YAML: did not find expected ',' or ']'",
    ),
    "layer too wide": (
        a4_with("{units: 3,", "{units: 1000000000,"),
        "8: network.layers[0].units: expected a whole number between 1 and 100000, got 1000000000",
    ),
    "matrix too large": (
        "network: {input: 5000, layers: [{units: 5000, activation: relu}]}\n"
        "loss: mse\nlearning_rate: 0.1\ninit: {seed: 1}\nx: [0]\ny: [0]\n",
        "1: network.layers[0].units: W1 would have 5000×5000 = 25000000 entries; "
        "the limit is 4000000",
    ),
    "cross-entropy of a non-probability": (
        a4_with("activation: softmax", "activation: relu"),
        " loss: the loss is infinite: log of ŷ ≤ 0 (at ŷ = 0); use an output activation with "
        "values in (0, 1), such as softmax or sigmoid",
    ),
    "overflow in the forward pass": (
        a4_with('"relu(x) + sin(x)"', '"exp(exp(x*100))"'),
        " A1: the value is not finite (overflow or an invalid operation such as log of a "
        "negative number); check the activation and the magnitudes of the inputs",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_problem_gives_one_clean_line_and_exit_2(
    case: str, runner: CliRunner, tmp_path: Path
) -> None:
    text, expected = CASES[case]
    problem = tmp_path / "p.yaml"
    problem.write_text(text)
    result = runner.invoke(app, ["solve", str(problem), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {problem}:{expected}\n"


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'none.yaml'}: no such file\n"


def test_directory_instead_of_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path}: expected a file, found a directory\n"


def test_binary_garbage(runner: CliRunner, tmp_path: Path) -> None:
    problem = tmp_path / "g.yaml"
    problem.write_bytes(b"\x00\xff\xfe garbage")
    result = runner.invoke(app, ["solve", str(problem)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {problem}: not UTF-8 text (byte 1 is 0xff)\n"


def test_alias_bomb_is_stopped(runner: CliRunner, tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    problem = tmp_path / "bomb.yaml"
    problem.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["solve", str(problem)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {problem}: document too large: more than 1000000 nodes "
        "(aliases count each time used)\n"
    )


@pytest.mark.parametrize("variant", ["crlf", "bom"])
def test_crlf_and_bom_files_work(variant: str, runner: CliRunner, tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    if variant == "crlf":
        problem.write_bytes(A4_TEXT.replace("\n", "\r\n").encode())
    else:
        problem.write_bytes(b"\xef\xbb\xbf" + A4_TEXT.encode())
    result = runner.invoke(app, ["solve", str(problem), "-f", "json", "-q", "Z1"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["values"]["Z1"] == [1.35, 0.35, 0.6000000000000001]


def test_sizes_are_checked_before_allocation(tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(A4_TEXT)
    with pytest.raises(Exception, match=r"W1 would have 3×4 = 12 entries; the limit is 10"):
        load_problem(problem, limits=Limits(max_entries=10))


# ---------------------------------------------------------------------------
# Messages a first-week user meets: each says what is wrong in the user's terms

ONE_OUTPUT = """\
network: {input: 2, layers: [{units: 2, activation: relu}, {units: 1, activation: identity}]}
loss: mse
learning_rate: 0.1
parameters: {W1: [[0.1, 0.2], [0.3, 0.4]], b1: [0, 0], W2: [[0.5, -0.5]], B2}
x: [1, 2]
y: 0.5
"""


def _solve(runner: CliRunner, tmp_path: Path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["solve", str(path), "-f", "json"])
    return result.exit_code, result.stdout, result.stderr.replace(str(path), "p.yaml")


def test_a_one_unit_bias_may_be_one_number_as_a_one_unit_target_is(
    runner: CliRunner, tmp_path: Path
) -> None:
    code, out, _ = _solve(runner, tmp_path, ONE_OUTPUT.replace("B2", "b2: 0.2"))
    assert code == 0
    # H = relu(W1·x + b1) = relu([0.1 + 0.4, 0.3 + 0.8]) = [0.5, 1.1]; Z2 = 0.5·0.5 − 0.5·1.1 + 0.2
    assert json.loads(out)["values"]["Z2"] == pytest.approx([-0.1])


def test_counts_of_one_are_singular(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = _solve(runner, tmp_path, ONE_OUTPUT.replace("B2", "b2: [0.2, 0.3]"))
    assert (code, err) == (
        2,
        "error: p.yaml:4: parameters.b2: expected 1 number (layer 2: 1 unit), got 2\n",
    )


def test_a_misspelt_activation_gets_the_name_it_resembles(
    runner: CliRunner, tmp_path: Path
) -> None:
    text = ONE_OUTPUT.replace("B2", "b2: 0.2").replace("activation: relu", "activation: sigmiod")
    code, _, err = _solve(runner, tmp_path, text)
    assert (code, err) == (
        2,
        "error: p.yaml:1: network.layers[0].activation: unknown name 'sigmiod' at column 1 in "
        "\"sigmiod\"; did you mean 'sigmoid'?\n",
    )


def test_a_tab_in_the_indentation_is_named(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = _solve(runner, tmp_path, "network:\n\tinput: 2\n")
    assert (code, err) == (
        2,
        "error: p.yaml:2: invalid YAML: a tab at column 1; YAML indents with spaces, not tabs\n",
    )


def test_samples_written_as_columns_are_named_at_x(runner: CliRunner, tmp_path: Path) -> None:
    text = ONE_OUTPUT.replace("B2", "b2: 0.2").replace(
        "x: [1, 2]\ny: 0.5", "x: [[1, 2, 3], [4, 5, 6]]\ny: [0.5, 0.1, 0.2]"
    )
    code, _, err = _solve(runner, tmp_path, text)
    assert (code, err) == (
        2,
        "error: p.yaml:5: x: expected one row per sample (2 numbers each); x looks written with "
        "the samples as columns (2×3 for 3 targets): write each sample as a row\n",
    )

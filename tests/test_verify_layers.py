"""`nncalc verify` on the convolution and recurrent problems (problems/cnn.yaml, rnn.yaml).

The numbers in the sheets were computed with plain NumPy, not with nncalc: the
all-correct sheets in ``tests/data/cnn/`` and ``tests/data/rnn/`` are the oracle of
tests/test_cnn_rnn_problems.py rounded to 4 decimals; the others are computed below
from the problem files. Sheets are written into tmp_path with an absolute problem path.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
CNN = ROOT / "problems" / "cnn.yaml"
RNN = ROOT / "problems" / "rnn.yaml"
DATA = ROOT / "tests" / "data"

#: The graded quantities and their points, from the problem files' grading: sections.
CNN_POINTS = {
    "Z1": 2.0,
    "A1": 1.0,
    "A2": 1.0,
    "A4": 1.0,
    "loss": 1.0,
    "delta4": 1.0,
    "dW4": 1.0,
    "dA2": 1.0,
    "dA1": 1.0,
    "dW1": 2.0,
    "db1": 1.0,
    "W1_new": 1.0,
}
RNN_POINTS = {
    "A1_t1": 1.0,
    "A1_t2": 1.0,
    "A1_t3": 1.0,
    "A2": 1.0,
    "loss": 1.0,
    "delta1_t3": 1.0,
    "delta1_t2": 1.0,
    "delta1_t1": 1.0,
    "dWx1": 2.0,
    "dWh1": 2.0,
    "db1": 1.0,
}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def r4(value: Any) -> Any:
    """Rounded to 4 decimals, as plain lists, the way a student writes it."""
    return (np.round(np.asarray(value, dtype=float), 4) + 0.0).tolist()


def write_sheet(
    tmp_path: Path, problem: Path, answers: dict[str, Any], student: str = "s1"
) -> Path:
    path = tmp_path / f"{student}.yaml"
    sheet = {"problem": str(problem.resolve()), "student": student, "answers": answers}
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def verify(runner: CliRunner, sheet: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["verify", str(sheet), "--format", "json"])
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.output
    return result.exit_code, json.loads(lines[0])


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in report["items"]}


# ---------------------------------------------------------------------------
# Everything right


@pytest.mark.parametrize(
    ("problem", "points"), [(CNN, CNN_POINTS), (RNN, RNN_POINTS)], ids=["cnn", "rnn"]
)
def test_every_value_right_gets_full_marks(
    runner: CliRunner, tmp_path: Path, problem: Path, points: dict[str, float]
) -> None:
    answers = load(DATA / problem.stem / "all_correct.yaml")["answers"]
    code, report = verify(runner, write_sheet(tmp_path, problem, answers))
    assert code == 0
    assert report["score"] == report["max_score"] == sum(points.values())
    items = by_name(report)
    assert list(items) == list(answers)  # every answered quantity, in the solution's order
    assert {name: item["verdict"] for name, item in items.items()} == dict.fromkeys(
        answers, "correct"
    )
    assert {name: item["points"] for name, item in items.items() if item["max_points"]} == points
    assert all(item["hint"] is None and item["wrong_entries"] == [] for item in items.values())


def test_the_data_sheets_grade_as_they_are(runner: CliRunner) -> None:
    """The sheets in tests/data name their problem relative to themselves."""
    sheets = [str(DATA / "cnn" / "all_correct.yaml"), str(DATA / "rnn" / "all_correct.yaml")]
    roots = ["--problem-root", str(ROOT / "problems")]
    result = runner.invoke(app, ["verify", *sheets, *roots, "--format", "json"])
    assert result.exit_code == 0
    rows = list(map(json.loads, result.stdout.splitlines()))
    scores = [(r["student"], r["score"], r["max_score"]) for r in rows]
    # the student is the file's name (issue 11): two sheets of "all_correct", both kept
    assert scores == [("all_correct", 14.0, 14.0), ("all_correct", 13.0, 13.0)]
    assert [r["warnings"][0] for r in rows] == [
        f"the sheet says student: {kind}_all_correct; graded as all_correct (its file)"
        for kind in ("cnn", "rnn")
    ]
    assert all(r["warnings"][1].startswith("another sheet of all_correct: ") for r in rows)


def test_rnn_aliases_are_accepted(runner: CliRunner, tmp_path: Path) -> None:
    right = load(DATA / "rnn" / "all_correct.yaml")["answers"]
    aliases = {
        "h_1": "A1_t1",
        "h2": "A1_t2",
        "h(3)": "A1_t3",
        "y_hat": "A2",
        "δ1_t2": "delta1_t2",
        "dWxh1": "dWx1",
        "Whh1'": "Wh1_new",
    }
    answers = {alias: right[name] for alias, name in aliases.items()}
    code, report = verify(runner, write_sheet(tmp_path, RNN, answers))
    items = by_name(report)
    assert list(items) == [
        "A1_t1",
        "A1_t2",
        "A1_t3",
        "A2",
        "loss",
        "delta1_t3",
        "delta1_t2",
        "delta1_t1",
        "dWx1",
        "dWh1",
        "db1",
        "Wh1_new",
    ]
    assert {name: items[name]["verdict"] for name in aliases.values()} == dict.fromkeys(
        aliases.values(), "correct"
    )
    assert items["A1_t1"]["label"] == "A1_t1 (h_1)"
    assert items["Wh1_new"]["max_points"] == 0.0  # answered, not graded
    assert report["score"] == 7.0 and report["max_score"] == 13.0
    assert code == 1  # loss, two of the deltas, dWh1 and db1 are missing


@pytest.mark.parametrize(
    ("alias", "name"),
    [("dW_xh1", "dWx1"), ("h(1)", "A1_t1"), ("delta1_t3", "delta1_t3"), ("ŷ", "A2")],
)
def test_more_rnn_aliases(runner: CliRunner, tmp_path: Path, alias: str, name: str) -> None:
    right = load(DATA / "rnn" / "all_correct.yaml")["answers"]
    _, report = verify(runner, write_sheet(tmp_path, RNN, {alias: right[name]}))
    assert by_name(report)[name]["verdict"] == "correct"


# ---------------------------------------------------------------------------
# Mistakes


def test_rnn_tanh_forgotten_at_step_1_follows_through(runner: CliRunner, tmp_path: Path) -> None:
    p = load(RNN)
    par = p["parameters"]
    wx, wh, b = (np.asarray(par[k], dtype=float) for k in ("Wx1", "Wh1", "b1"))
    w2, b2 = np.asarray(par["W2"], dtype=float), np.asarray(par["b2"], dtype=float)
    xs, ys = np.asarray(p["x"], dtype=float), np.asarray(p["y"], dtype=float)
    # h_1 = Z1_t1 = Wx·[1, 0] + b = [0.5, 0.3] (tanh forgotten); then tanh at steps 2 and 3
    h1 = wx @ xs[0] + b
    h2 = np.tanh(wx @ xs[1] + wh @ h1 + b)
    h3 = np.tanh(wx @ xs[2] + wh @ h2 + b)
    y_hat = np.array([[w2[0] @ h + b2[0] for h in (h1, h2, h3)]])
    loss = 0.5 * float(((y_hat[0] - ys) ** 2).sum())
    assert r4(h1) == [0.5, 0.3]
    assert r4(h2) == [-0.1877, 0.4542]  # tanh(−0.19), tanh(0.49)
    answers = {"h_1": r4(h1), "h_2": r4(h2), "h_3": r4(h3), "y_hat": r4(y_hat), "loss": r4(loss)}
    code, report = verify(runner, write_sheet(tmp_path, RNN, answers))
    assert code == 1
    items = by_name(report)
    got = {n: (items[n]["verdict"], items[n]["points"], items[n]["hint"]) for n in list(items)[:5]}
    assert got == {
        "A1_t1": ("wrong", 0.0, "the activation tanh(x) not applied (A1_t1 = Z1_t1)"),
        "A1_t2": ("follow_through", 1.0, None),
        "A1_t3": ("follow_through", 1.0, None),
        "A2": ("follow_through", 1.0, None),
        "loss": ("follow_through", 1.0, None),
    }
    assert items["A1_t1"]["wrong_entries"] == [[0], [1]]
    assert report["score"] == 4.0


def test_rnn_tanh_forgotten_hint_at_a_later_step(runner: CliRunner, tmp_path: Path) -> None:
    """h_3 = Z1_t3 from a right h_2: the hint names A1_t3."""
    right = load(DATA / "rnn" / "all_correct.yaml")["answers"]
    answers = {"h_2": right["A1_t2"], "h_3": right["Z1_t3"]}
    _, report = verify(runner, write_sheet(tmp_path, RNN, answers))
    item = by_name(report)["A1_t3"]
    assert item["verdict"] == "wrong"
    assert item["hint"] == "the activation tanh(x) not applied (A1_t3 = Z1_t3)"


def flipped_z1() -> np.ndarray:
    """Z1 of cnn.yaml as a true convolution: the kernel turned by 180°."""
    p = load(CNN)
    x = np.asarray(p["x"], dtype=float)
    kernel = np.asarray(p["parameters"]["W1"], dtype=float)[::-1, ::-1]
    bias = p["parameters"]["b1"][0]
    return np.array(
        [
            [float((kernel * x[r : r + 3, c : c + 3]).sum()) + bias for c in range(3)]
            for r in range(3)
        ]
    )


def test_cnn_flipped_kernel_gets_the_hint(runner: CliRunner, tmp_path: Path) -> None:
    z1 = flipped_z1()
    # the kernel's columns (1, 0, −1) become (−1, 0, 1): Z1 − b1 changes sign, so
    # Z1[1,1] = −3 + 0.5 = −2.5; Z1[2,3] = −0 + 0.5 = 0.5 is the same both ways
    assert z1.tolist() == [[-2.5, 3.5, 3.5], [-3.5, 5.5, 0.5], [2.5, 0.5, -0.5]]
    a1 = np.maximum(z1, 0)
    a2 = np.array([[a1[r : r + 2, c : c + 2].max() for c in range(2)] for r in range(2)])
    answers = {"Z1": z1.tolist(), "A1": a1.tolist(), "A2": a2.tolist()}
    code, report = verify(runner, write_sheet(tmp_path, CNN, answers))
    assert code == 1
    items = by_name(report)
    assert items["Z1"]["verdict"] == "wrong" and items["Z1"]["points"] == 0.0
    assert items["Z1"]["hint"] == (
        "the kernel is flipped: a true convolution instead of the cross-correlation "
        "(Z1[p,q] = Σ window ⊙ W1, unflipped)"
    )
    assert items["Z1"]["wrong_entries"] == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [2, 0], [2, 2]]
    # relu and max-pooling done right on the wrong Z1: follow-through
    assert (items["A1"]["verdict"], items["A1"]["points"]) == ("follow_through", 1.0)
    assert (items["A2"]["verdict"], items["A2"]["points"]) == ("follow_through", 1.0)


def test_cnn_maps_and_kernels_with_their_size_1_axes_written_out_are_read(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A 1×3×3 Z1 (the channel axis written out) and a 1×1×3×3 W1' (out, in, kh, kw) are the
    same numbers as the 3×3 matrices shown; a 2×3×3 answer is refused with its shape."""
    right = load(DATA / "cnn" / "all_correct.yaml")["answers"]
    answers = {"Z1": [right["Z1"]], "W1_new": [[right["W1_new"]]], "A2": [[right["A2"]]]}
    code, report = verify(runner, write_sheet(tmp_path, CNN, answers))
    items = by_name(report)
    assert [items[n]["verdict"] for n in answers] == ["correct"] * 3
    assert items["Z1"]["points"] == 2.0
    code, report = verify(runner, write_sheet(tmp_path, CNN, {"Z1": [right["Z1"]] * 2}))
    item = by_name(report)["Z1"]
    assert (item["verdict"], item["points"]) == ("invalid", 0.0)
    assert item["reason"] == "expected a 3×3 matrix, got a 2×3×3 array"
    assert code == 1


def cnn_slips() -> dict[str, tuple[str, Any, str]]:
    """Classic slips on cnn.yaml, computed by hand from the problem file: (name, answer, hint)."""
    p = load(CNN)
    right = load(DATA / "cnn" / "all_correct.yaml")["answers"]
    z1, z4 = np.asarray(right["Z1"]), np.asarray(right["Z4"])
    w1, dw1 = np.asarray(p["parameters"]["W1"], dtype=float), np.asarray(right["dW1"])
    return {
        "bias": ("Z1", (z1 - 0.5).tolist(), "the bias b1 seems left out"),
        "relu": ("A1", z1.tolist(), "the activation relu(x) not applied (A1 = Z1)"),
        "relu_prime": (
            "fprime1",
            np.ones((3, 3)).tolist(),
            "ReLU's derivative taken as 1 everywhere (it is 0 for x ≤ 0)",
        ),
        "softmax": (
            "A4",
            r4(np.exp(z4)),  # [e^2.4, e^−0.75] = [11.0232, 0.4724]
            "softmax not normalised: e^z without dividing by Σ e^z",
        ),
        "delta_sign": (
            "delta4",
            (-np.asarray(right["delta4"])).tolist(),
            "sign flipped: δ = y − ŷ instead of ŷ − y",
        ),
        "update_sign": (
            "W1_new",
            r4(w1 + 0.1 * dw1),
            "update sign flipped: W1 + α·∇ instead of W1 − α·∇",
        ),
        "decimal": (
            "dW1",
            (10 * dw1).tolist(),
            "a misplaced decimal point: the digits look right, the size does not",
        ),
    }


@pytest.mark.parametrize("slip", list(cnn_slips()))
def test_cnn_classic_slips_get_their_hint(runner: CliRunner, tmp_path: Path, slip: str) -> None:
    name, answer, hint = cnn_slips()[slip]
    _, report = verify(runner, write_sheet(tmp_path, CNN, {name: answer}))
    item = by_name(report)[name]
    assert (item["verdict"], item["points"], item["hint"]) == ("wrong", 0.0, hint)


def test_rnn_update_slips_get_their_hint(runner: CliRunner, tmp_path: Path) -> None:
    p = load(RNN)
    right = load(DATA / "rnn" / "all_correct.yaml")["answers"]
    wx, wh = (np.asarray(p["parameters"][k], dtype=float) for k in ("Wx1", "Wh1"))
    answers = {
        "Whh1'": r4(wh + 0.1 * np.asarray(right["dWh1"])),
        "Wx1_new": r4(wx - np.asarray(right["dWx1"])),
    }
    _, report = verify(runner, write_sheet(tmp_path, RNN, answers))
    items = by_name(report)
    assert items["Wh1_new"]["hint"] == "update sign flipped: Wh1 + α·∇ instead of Wh1 − α·∇"
    assert items["Wx1_new"]["hint"] == "learning rate left out: Wx1 − ∇ instead of Wx1 − α·∇"


def test_rnn_square_gradient_written_transposed_gets_the_hint(
    runner: CliRunner, tmp_path: Path
) -> None:
    # dWh1 is 2×2: written as Σ h_(t−1)·δ_tᵀ it has the right shape, the wrong layout.
    right = load(DATA / "rnn" / "all_correct.yaml")["answers"]
    dwh = np.asarray(right["dWh1"], dtype=float)
    assert not np.allclose(dwh, dwh.T, atol=1e-3)  # else the slip would not show
    answers = {"dWh1": dwh.T.tolist(), "dWx1": right["dWx1"]}
    _, report = verify(runner, write_sheet(tmp_path, RNN, answers))
    items = by_name(report)
    assert (items["dWh1"]["verdict"], items["dWh1"]["points"]) == ("wrong", 0.0)
    assert items["dWh1"]["hint"] == (
        "transposed: this is the transpose of the right matrix (x·δᵀ for δ·xᵀ)"
    )
    assert items["dWx1"]["hint"] is None and items["dWx1"]["verdict"] == "correct"


def test_rnn_derivative_at_the_activation_gets_the_hint(runner: CliRunner, tmp_path: Path) -> None:
    """f1'(Z1_t) taken at h_t: 1 − tanh(h_t)² instead of 1 − tanh(Z1_t)² = 1 − h_t².

    A dense tanh layer gets "derivative taken at the activation f'(A1) instead of the net
    input f'(Z1)" for the same slip; the rnn's per-step fprime1_t{t} gets no hint.
    """
    p = load(RNN)
    wx, wh, b = (np.asarray(p["parameters"][k], dtype=float) for k in ("Wx1", "Wh1", "b1"))
    h3 = np.zeros(2)
    for x_t in np.asarray(p["x"], dtype=float):
        h3 = np.tanh(wx @ x_t + wh @ h3 + b)
    assert r4(h3) == [0.2658, 0.7044]
    slipped = 1 - np.tanh(h3) ** 2
    assert r4(slipped) == [0.9326, 0.6313]  # the right fprime1_t3 = 1 − h_3² is [0.9294, 0.5038]
    _, report = verify(runner, write_sheet(tmp_path, RNN, {"fprime1_t3": r4(slipped)}))
    item = by_name(report)["fprime1_t3"]
    assert (item["verdict"], item["points"]) == ("wrong", 0.0)
    assert item["hint"] is not None  # bug: no hint for the rnn's per-step f'
    assert "derivative taken at the activation" in item["hint"]


# ---------------------------------------------------------------------------
# The blank sheet


def test_rnn_template_lists_every_step(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", str(RNN), "--with-equations"])
    assert result.exit_code == 0
    # no equations: block (issue 13): rnn.yaml gives no formula points
    answers = result.stdout
    assert "\nequations:" not in answers
    answer_line = re.compile(r"^  (\S+): (.+?)   # ([^;]+); (.+)$")
    notes, blanks, equations = {}, {}, {}
    for line in answers.splitlines():
        if match := answer_line.match(line):
            name, blank, note, equation = match.groups()
            notes[name], blanks[name], equations[name] = note, blank, equation
    per_step = [f"{kind}_t{t}" for t in (1, 2, 3) for kind in ("Z1", "A1")]
    backward = [f"{kind}_t{t}" for t in (3, 2, 1) for kind in ("dA1", "fprime1", "delta1")]
    assert list(notes) == [
        *per_step,
        "Z2",
        "A2",
        "loss",
        "dA2",
        "fprime2",
        "delta2",
        "dW2",
        "db2",
        "dA1",
        *backward,
        "dWx1",
        "dWh1",
        "db1",
        "Wx1_new",
        "Wh1_new",
        "b1_new",
        "W2_new",
        "b2_new",
    ]
    want_notes = dict.fromkeys(notes, "not graded")
    for name, points in RNN_POINTS.items():
        want_notes[name] = "1 pt" if points == 1 else f"{points:g} pts"
    assert notes == want_notes
    vector, row, two_by_two = "[null, null]", "[[null, null, null]]", "[[null, null], [null, null]]"
    assert {name: blanks[name] for name in per_step + backward} == dict.fromkeys(
        per_step + backward, vector
    )
    assert blanks["A2"] == blanks["Z2"] == row
    assert blanks["dA1"] == "[[null, null, null], [null, null, null]]"
    assert blanks["dWx1"] == blanks["dWh1"] == two_by_two
    assert blanks["dW2"] == "[[null, null]]" and blanks["loss"] == "null"
    assert equations["Z1_t2"] == "Z1_t2 = Wx1·x_2 + Wh1·h_1 + b1"
    assert equations["A1_t1"] == "h_1 = tanh(Z1_t1)"
    assert equations["dA1_t3"] == "∂L/∂h_3 = ∂L/∂A1[t=3]"
    assert equations["dA1_t1"] == "∂L/∂h_1 = ∂L/∂A1[t=1] + Wh1ᵀ·δ1_t2"
    assert equations["delta1_t1"] == "δ1_t1 = ∂L/∂h_1 ⊙ f1'(Z1_t1)"

    # read back as a sheet: every quantity missing (nulls), nothing invalid
    sheet = yaml.safe_load(result.stdout)
    code, report = verify(runner, write_sheet(tmp_path, RNN, sheet["answers"]))
    assert code == 1 and report["score"] == 0.0 and report["max_score"] == 13.0
    items = by_name(report)
    assert {name: item["verdict"] for name, item in items.items()} == dict.fromkeys(
        notes, "missing"
    )
    assert {name: item["max_points"] for name, item in items.items() if item["max_points"]} == (
        RNN_POINTS
    )


# ---------------------------------------------------------------------------
# Adam


ADAM_POINTS = {"m_W2": 1, "v_W2": 1, "m_hat_W2": 1, "v_hat_W2": 1, "W2_new": 1}


@pytest.fixture
def adam_problem(tmp_path: Path) -> Path:
    p = load(RNN)
    p["name"] = "RNN through time, one adam step"
    p["optimizer"] = "adam"
    p["grading"]["points"] = ADAM_POINTS
    p["grading"]["tolerance"] = {"sigfigs": 3}  # v_W2 is of order 1e-5: decimals would pass 0
    path = tmp_path / "rnn_adam.yaml"
    path.write_text(yaml.safe_dump(p, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def adam_w2() -> dict[str, Any]:
    """Adam's first update (t = 1, zero state) of W2, dW2 from a forward pass by hand."""
    p = load(RNN)
    w2 = np.asarray(p["parameters"]["W2"], dtype=float)
    rate, beta1, beta2, eps = float(p["learning_rate"]), 0.9, 0.999, 1e-8
    # dW2 = Σ_t (ŷ_t − y_t)·h_tᵀ, at full precision from the forward pass
    wx, wh, b = (np.asarray(p["parameters"][k], dtype=float) for k in ("Wx1", "Wh1", "b1"))
    h = np.zeros(2)
    g = np.zeros_like(w2)
    for x_t, y_t in zip(np.asarray(p["x"], dtype=float), p["y"], strict=True):
        h = np.tanh(wx @ x_t + wh @ h + b)
        g += (float(w2[0] @ h) + p["parameters"]["b2"][0] - y_t) * h[None, :]
    m = (1 - beta1) * g
    v = (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1), v / (1 - beta2)
    return {
        "dW2": g,
        "m_W2": m,
        "v_W2": v,
        "m_hat_W2": m_hat,
        "v_hat_W2": v_hat,
        "W2_new": w2 - rate * m_hat / (np.sqrt(v_hat) + eps),
        "sgd": w2 - rate * g,
    }


def test_adam_state_and_update_full_marks(
    runner: CliRunner, tmp_path: Path, adam_problem: Path
) -> None:
    want = adam_w2()
    # t = 1: m̂ = g and v̂ = g², so W2' = W2 − α·g/(|g| + ε) ≈ W2 − 0.1·sign(g) = [1.1, −0.9]
    assert r4(want["dW2"]) == [[-0.2082, -0.6821]]
    assert r4(want["W2_new"]) == [[1.1, -0.9]]
    answers = {name: want[name].tolist() for name in ADAM_POINTS}
    answers["v_W2"] = [[f"{v:.4e}" for v in want["v_W2"][0]]]  # numeric strings, 5 digits
    code, report = verify(runner, write_sheet(tmp_path, adam_problem, answers))
    assert code == 0
    assert report["score"] == report["max_score"] == 5.0
    assert {i["name"]: i["verdict"] for i in report["items"]} == dict.fromkeys(
        ADAM_POINTS, "correct"
    )


def test_adam_graded_with_the_sgd_update_is_wrong(
    runner: CliRunner, tmp_path: Path, adam_problem: Path
) -> None:
    want = adam_w2()
    sgd = r4(want["sgd"])
    assert sgd == [[1.0208, -0.9318]]  # W2 − 0.1·dW2
    code, report = verify(runner, write_sheet(tmp_path, adam_problem, {"W2_new": sgd}))
    assert code == 1
    item = by_name(report)["W2_new"]
    assert (item["verdict"], item["points"]) == ("wrong", 0.0)
    assert item["wrong_entries"] == [[0, 0], [0, 1]]
    assert report["score"] == 0.0 and report["max_score"] == 5.0


def test_adam_with_the_right_state_but_sgd_update(
    runner: CliRunner, tmp_path: Path, adam_problem: Path
) -> None:
    """Right m̂ and v̂, then W2 − α·dW2: not follow-through (it ignores m̂, v̂)."""
    want = adam_w2()
    answers = {name: want[name].tolist() for name in ("m_W2", "v_W2", "m_hat_W2", "v_hat_W2")}
    answers["W2_new"] = r4(want["sgd"])
    code, report = verify(runner, write_sheet(tmp_path, adam_problem, answers))
    items = by_name(report)
    assert [items[n]["verdict"] for n in ADAM_POINTS] == ["correct"] * 4 + ["wrong"]
    assert report["score"] == 4.0 and code == 1
    assert math.isclose(want["v_hat_W2"][0, 0], want["dW2"][0, 0] ** 2, rel_tol=1e-9)


def test_adam_without_bias_correction_gets_the_hint(
    runner: CliRunner, tmp_path: Path, adam_problem: Path
) -> None:
    """W2 − α·m/(√v + ε): at t = 1, m = 0.1·g and √v ≈ 0.0316·|g|, a step about 3.16·α."""
    want = adam_w2()
    w2 = np.asarray(load(RNN)["parameters"]["W2"], dtype=float)
    uncorrected = w2 - 0.1 * want["m_W2"] / (np.sqrt(want["v_W2"]) + 1e-8)
    assert r4(uncorrected) == [[1.3162, -0.6838]]
    code, report = verify(runner, write_sheet(tmp_path, adam_problem, {"W2_new": r4(uncorrected)}))
    item = by_name(report)["W2_new"]
    assert (code, item["verdict"]) == (1, "wrong")
    assert item["hint"] == "adam's bias correction left out: m and v used instead of m̂ and v̂"

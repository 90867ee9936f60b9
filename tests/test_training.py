"""`nncalc solve --steps N`: training runs, checked against training loops written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.problem import problem_from_dict
from nncalc.training import train

ROOT = Path(__file__).resolve().parent.parent
CLASSIC = ROOT / "problems" / "classic_222.yaml"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def classic_by_hand(steps: int) -> tuple[list[float], dict[str, np.ndarray]]:
    """The 2-2-2 sigmoid network trained by plain gradient descent, biases frozen."""
    data = yaml.safe_load(CLASSIC.read_text())
    p = {k: np.array(v, dtype=float) for k, v in data["parameters"].items()}
    x, y = np.array(data["x"], float), np.array(data["y"], float)
    history = []
    for _ in range(steps + 1):
        h = sigmoid(p["W1"] @ x + p["b1"])
        out = sigmoid(p["W2"] @ h + p["b2"])
        history.append(0.5 * float(((out - y) ** 2).sum()))
        if len(history) > steps:
            break
        d2 = (out - y) * out * (1 - out)
        d1 = (p["W2"].T @ d2) * h * (1 - h)
        p["W2"] = p["W2"] - 0.5 * np.outer(d2, h)
        p["W1"] = p["W1"] - 0.5 * np.outer(d1, x)
    return history, p


def run_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["solve", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_classic_222_reaches_the_textbook_loss_after_10000_updates(runner: CliRunner) -> None:
    doc = run_json(runner, str(CLASSIC), "--steps", "10000")
    history, params = classic_by_hand(10000)
    assert len(doc["history"]) == 10001
    np.testing.assert_allclose(doc["history"], history, rtol=1e-9, atol=0)
    assert doc["history"][-1] == pytest.approx(3.51e-5, abs=5e-8)
    # values describe the last update: its loss is the one before it
    assert doc["values"]["loss"] == doc["history"][-2]
    np.testing.assert_allclose(doc["values"]["W1_new"], params["W1"], rtol=1e-9)
    np.testing.assert_allclose(doc["values"]["W2_new"], params["W2"], rtol=1e-9)
    assert doc["values"]["b1_new"] == [0.35, 0.35]  # frozen throughout
    assert doc["problem"]["parameters"]["b2"] == [0.6, 0.6]


def test_one_step_history_is_the_loss_before_and_after(runner: CliRunner) -> None:
    doc = run_json(runner, str(CLASSIC))
    history, _ = classic_by_hand(1)
    assert doc["history"] == pytest.approx(history, rel=1e-12)


def adam_by_hand(steps: int, lr: float, b1: float, b2: float, eps: float) -> list[float]:
    """One linear unit, squared error, trained by adam written out from its definition."""
    w, b = np.array([0.5, -0.3]), np.array([0.1])
    x, y = np.array([1.0, 2.0]), np.array([0.7])
    m = {"w": np.zeros(2), "b": np.zeros(1)}
    v = {"w": np.zeros(2), "b": np.zeros(1)}
    history = []
    for t in range(1, steps + 2):
        out = w @ x + b
        history.append(0.5 * float(((out - y) ** 2).sum()))
        if t > steps:
            break
        g = {"w": (out - y) * x, "b": out - y}
        for k in ("w", "b"):
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            step = lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
            if k == "w":
                w = w - step
            else:
                b = b - step
    return history


def test_adam_state_and_bias_correction_carry_across_updates() -> None:
    problem = problem_from_dict(
        {
            "network": {"input": 2, "layers": [{"units": 1, "activation": "identity"}]},
            "loss": "half_sse",
            "learning_rate": 0.05,
            "optimizer": {"name": "adam", "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6},
            "parameters": {"W1": [[0.5, -0.3]], "b1": [0.1]},
            "x": [1, 2],
            "y": [0.7],
        }
    )
    run = train(problem, 7)
    assert run.history == pytest.approx(adam_by_hand(7, 0.05, 0.8, 0.95, 1e-6), rel=1e-12)
    assert run.final.optimizer.step == 8
    assert run.solution.problem.optimizer.step == 7  # the update shown is the 7th


def test_plain_output_shows_the_history_table_and_a_terminal_plot(runner: CliRunner) -> None:
    result = runner.invoke(app, ["solve", str(CLASSIC), "--steps", "200", "--format", "plain"])
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "Training: 200 updates" in lines
    history, _ = classic_by_hand(200)
    assert any(line.split() == ["before", "update", "1", f"{history[0]:.4f}"] for line in lines)
    assert any(
        line.split() == ["after", "the", "last", "update", f"{history[-1]:.4f}"] for line in lines
    )
    plot = [line for line in lines if "┤" in line]
    assert len(plot) == 8 and plot[0].split()[0] == f"{max(history):.4g}"
    assert "Forward pass (update 200)" in lines


def test_latex_writes_small_losses_as_powers_of_ten() -> None:
    from nncalc.engine import solve
    from nncalc.problem import load_problem
    from nncalc.render import render

    solution = solve(load_problem(CLASSIC))
    # Below 10⁻⁴ a loss is shown with significant digits (3.51e-05), which LaTeX must not
    # print as text: 3.51 · 10⁻⁵.
    latex = render(solution, "latex", history=[0.2984, 1e-05, 3.51e-05, 0.0011])
    assert r"before update 1 & $0.2984$ \\" in latex
    assert r"before update 2 & $1 \cdot 10^{-5}$ \\" in latex
    assert r"before update 3 & $3.51 \cdot 10^{-5}$ \\" in latex
    assert r"after the last update & $0.0011$ \\" in latex
    assert "e-05" not in latex


def test_plot_writes_a_png(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "loss.png"
    result = runner.invoke(
        app, ["solve", str(CLASSIC), "--steps", "50", "--plot", str(target), "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(target.read_bytes()) > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left


def test_plot_must_be_a_png_and_nothing_is_written(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", str(CLASSIC), "--plot", str(tmp_path / "loss.jpg")])
    assert result.exit_code == 2
    assert result.stderr == "error: --plot: expected a .png file name, got 'loss.jpg'\n"
    assert list(tmp_path.iterdir()) == []


def test_a_diverging_run_names_the_update(runner: CliRunner, tmp_path: Path) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(
        "network: {input: 1, layers: [{units: 1, activation: identity}]}\n"
        "loss: half_sse\nlearning_rate: 10\n"
        "parameters: {W1: [[1.0]], b1: [0.0]}\nx: [1]\ny: [0]\n"
    )
    result = runner.invoke(app, ["solve", str(problem), "--steps", "1000", "-f", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {problem}: loss: the value is not finite (overflow or an invalid operation "
        "such as log of a negative number); check the activation and the magnitudes of the "
        "inputs (in update 122 of 1000)\n"
    )


def test_steps_must_be_at_least_one(runner: CliRunner) -> None:
    result = runner.invoke(app, ["solve", str(CLASSIC), "--steps", "0"])
    assert result.exit_code == 2
    assert "--steps" in result.stderr


def test_frozen_rnn_weights_never_change() -> None:
    data = yaml.safe_load((ROOT / "problems" / "rnn.yaml").read_text())
    data["frozen"] = ["Wh1"]
    data["optimizer"] = "momentum"
    run = train(problem_from_dict(data), 5)
    np.testing.assert_array_equal(run.final.parameters["Wh1"], data["parameters"]["Wh1"])
    assert "velocity_Wh1" not in run.solution.values
    assert "velocity_Wx1" in run.final.optimizer.state
    assert run.history[-1] < run.history[0]


def test_a_loss_that_is_not_finite_after_the_last_update_is_null(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The update itself is finite, so solve succeeds; the loss after it (√ of a negative
    net input) is reported as not finite rather than failing the run."""
    problem = tmp_path / "p.yaml"
    problem.write_text(
        "network: {input: 1, layers: [{units: 1, activation: x},"
        " {units: 1, activation: '-(x^0.5)', bias: false}]}\n"
        "loss: mse\nlearning_rate: 1.0\ninit: {seed: 0}\nx: [0.0]\ny: [0.0]\n"
    )
    doc = run_json(runner, str(problem))
    assert doc["history"][0] == doc["values"]["loss"]
    assert doc["history"][1] is None
    result = runner.invoke(app, ["solve", str(problem), "--steps", "1", "-f", "plain"])
    assert result.exit_code == 0
    assert doc["values"]["W2_new"][0][0] < 0 < doc["values"]["Z2"][0]


def test_output_and_plot_are_written_both_or_neither(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "out.json"
    plot = tmp_path / "loss.png"
    args = ["solve", str(CLASSIC), "--steps", "3", "-f", "json", "--plot", str(plot)]
    result = runner.invoke(app, [*args, "-o", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {missing}: cannot write: No such file or directory\n"
    assert list(tmp_path.iterdir()) == []  # the plot was not written either
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 0 and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "out.json"]
    assert len(json.loads((tmp_path / "out.json").read_text())["history"]) == 4
    # new files get the umask's permissions, as a shell redirection would give them
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask

"""problems/cnn.yaml and problems/rnn.yaml against an independent oracle.

Every quantity that ``nncalc solve FILE --format json`` prints under ``values`` is
recomputed here from the textbook definitions, with plain NumPy and explicit Python
loops (no nncalc.layers, no nncalc.engine): the numbers are read from the problem
file with ``yaml.safe_load``. The two must agree to 1e-12. A few numbers are also
worked out on paper (in the comments) and asserted to 4 decimals.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nncalc.cli import app

PROBLEMS = Path(__file__).resolve().parent.parent / "problems"
CNN = PROBLEMS / "cnn.yaml"
RNN = PROBLEMS / "rnn.yaml"


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def arr(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=float)


# ---------------------------------------------------------------------------
# The oracles


def cnn_oracle(p: dict[str, Any]) -> dict[str, Any]:
    """The CNN of problems/cnn.yaml, one sample, one SGD step, by explicit loops."""
    x = arr(p["x"])  # 5×5, one channel
    w1 = arr(p["parameters"]["W1"])  # 3×3, one kernel, one input channel
    b1 = arr(p["parameters"]["b1"])  # one bias
    w4 = arr(p["parameters"]["W4"])
    b4 = arr(p["parameters"]["b4"])
    y = arr(p["y"])
    rate = float(p["learning_rate"])
    conv, pool = p["network"]["layers"][0], p["network"]["layers"][1]
    kh = kw = conv["kernel"]
    ph = pw = pool["kernel"]
    stride = pool["stride"]

    # conv2d as a cross-correlation (stride 1, no padding): one output per window position
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    z1 = np.zeros((out_h, out_w))
    for r in range(out_h):
        for c in range(out_w):
            total = 0.0
            for i in range(kh):
                for j in range(kw):
                    total += w1[i, j] * x[r + i, c + j]
            z1[r, c] = total + b1[0]
    a1 = np.zeros_like(z1)
    for r in range(out_h):
        for c in range(out_w):
            a1[r, c] = z1[r, c] if z1[r, c] > 0 else 0.0

    # max-pooling: the maximum of each window, and where it was (the first on a tie)
    pool_h, pool_w = (out_h - ph) // stride + 1, (out_w - pw) // stride + 1
    a2 = np.zeros((pool_h, pool_w))
    winner: dict[tuple[int, int], tuple[int, int]] = {}
    for r in range(pool_h):
        for c in range(pool_w):
            best, where = -math.inf, (-1, -1)
            for i in range(ph):
                for j in range(pw):
                    value = a1[r * stride + i, c * stride + j]
                    if value > best:
                        best, where = value, (r * stride + i, c * stride + j)
            a2[r, c], winner[(r, c)] = best, where

    # flatten: channel by channel (one here), row by row, column by column
    a3 = np.array([a2[r, c] for r in range(pool_h) for c in range(pool_w)])

    z4 = np.array([sum(w4[k, m] * a3[m] for m in range(a3.size)) + b4[k] for k in range(2)])
    e = [math.exp(v - max(z4)) for v in z4]
    a4 = np.array([v / sum(e) for v in e])
    loss = -sum(y[k] * math.log(a4[k]) for k in range(2))

    delta4 = a4 - y  # softmax with cross-entropy, one-hot target
    dw4 = np.array([[delta4[k] * a3[m] for m in range(a3.size)] for k in range(2)])
    db4 = delta4.copy()
    da3 = np.array([sum(w4[k, m] * delta4[k] for k in range(2)) for m in range(a3.size)])
    da2 = np.zeros((pool_h, pool_w))
    for m in range(a3.size):
        da2[m // pool_w, m % pool_w] = da3[m]
    # routing: each window sends its gradient to its winner; windows that overlap and
    # pick the same entry add up there
    da1 = np.zeros_like(a1)
    for (r, c), (i, j) in winner.items():
        da1[i, j] += da2[r, c]
    fprime1 = np.array([[1.0 if z1[r, c] > 0 else 0.0 for c in range(out_w)] for r in range(out_h)])
    delta1 = da1 * fprime1
    # the kernel gradient: Σ_{p,q} δ[p,q] · (the window of x under output position (p,q))
    dw1 = np.zeros_like(w1)
    for r in range(out_h):
        for c in range(out_w):
            dw1 += delta1[r, c] * x[r : r + kh, c : c + kw]
    db1 = np.array([delta1.sum()])

    return {
        "Z1": z1,
        "A1": a1,
        "A2": a2,
        "A3": a3,
        "Z4": z4,
        "A4": a4,
        "loss": loss,
        "delta4": delta4,
        "dW4": dw4,
        "db4": db4,
        "dA3": da3,
        "dA2": da2,
        "dA1": da1,
        "fprime1": fprime1,
        "delta1": delta1,
        "dW1": dw1,
        "db1": db1,
        "W1_new": w1 - rate * dw1,
        "b1_new": b1 - rate * db1,
        "W4_new": w4 - rate * dw4,
        "b4_new": b4 - rate * db4,
    }


def rnn_forward(p: dict[str, Any], h1: np.ndarray | None = None) -> dict[str, Any]:
    """h_t = tanh(Wx·x_t + Wh·h_{t−1} + b) step by step; ``h1`` replaces h_1 if given."""
    par = p["parameters"]
    wx, wh, b = arr(par["Wx1"]), arr(par["Wh1"]), arr(par["b1"])
    xs = arr(p["x"])
    h = arr(p["network"]["layers"][0]["h0"])
    out: dict[str, Any] = {}
    for t in range(1, len(xs) + 1):
        z = wx @ xs[t - 1] + wh @ h + b
        h = np.tanh(z) if not (t == 1 and h1 is not None) else h1
        out[f"Z1_t{t}"], out[f"A1_t{t}"] = z, h
    return out


def rnn_oracle(p: dict[str, Any]) -> dict[str, Any]:
    """The RNN of problems/rnn.yaml, one sequence, one SGD step, BPTT by an explicit loop."""
    par = p["parameters"]
    wx, wh, b = arr(par["Wx1"]), arr(par["Wh1"]), arr(par["b1"])
    w2, b2 = arr(par["W2"]), arr(par["b2"])
    xs, ys = arr(p["x"]), arr(p["y"])
    rate = float(p["learning_rate"])
    steps = len(xs)
    h0 = arr(p["network"]["layers"][0]["h0"])

    out = rnn_forward(p)
    h = {0: h0, **{t: out[f"A1_t{t}"] for t in range(1, steps + 1)}}
    z = {t: out[f"Z1_t{t}"] for t in range(1, steps + 1)}
    # the linear output reads h_t at every step: ŷ_t = W2·h_t + b2
    y_hat = np.array([[float(w2[0] @ h[t] + b2[0]) for t in range(1, steps + 1)]])
    loss = sum(0.5 * (y_hat[0, t - 1] - ys[t - 1]) ** 2 for t in range(1, steps + 1))
    delta2 = y_hat - ys[None, :]  # ∂L/∂ŷ_t = ŷ_t − y_t; identity output: δ2 = that
    dw2 = np.zeros_like(w2)
    db2 = np.zeros_like(b2)
    for t in range(1, steps + 1):
        dw2 += delta2[0, t - 1] * h[t][None, :]
        db2 += delta2[0, t - 1]
    da1 = np.array([[w2[0, k] * delta2[0, t] for t in range(steps)] for k in range(2)])
    out.update(
        Z2=y_hat.copy(),
        A2=y_hat,
        loss=loss,
        dA2=delta2.copy(),
        fprime2=np.ones_like(y_hat),
        delta2=delta2,
        dW2=dw2,
        db2=db2,
        dA1=da1,
    )

    # backpropagation through time, t = T down to 1
    dwx, dwh, db = np.zeros_like(wx), np.zeros_like(wh), np.zeros_like(b)
    delta_next = np.zeros(2)
    for t in range(steps, 0, -1):
        dh = da1[:, t - 1] + (wh.T @ delta_next if t < steps else 0.0)
        fprime = 1.0 - np.tanh(z[t]) ** 2
        delta = dh * fprime
        out[f"dA1_t{t}"], out[f"fprime1_t{t}"], out[f"delta1_t{t}"] = dh, fprime, delta
        dwx += np.outer(delta, xs[t - 1])
        dwh += np.outer(delta, h[t - 1])
        db += delta
        delta_next = delta
    out.update(
        dWx1=dwx,
        dWh1=dwh,
        db1=db,
        Wx1_new=wx - rate * dwx,
        Wh1_new=wh - rate * dwh,
        b1_new=b - rate * db,
        W2_new=w2 - rate * dw2,
        b2_new=b2 - rate * db2,
    )
    return out


# ---------------------------------------------------------------------------
# The engine against the oracles


def solve_json(runner: CliRunner, path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["solve", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("path", "oracle"), [(CNN, cnn_oracle), (RNN, rnn_oracle)], ids=["cnn", "rnn"]
)
def test_every_value_matches_the_oracle(runner: CliRunner, path: Path, oracle: Any) -> None:
    out = solve_json(runner, path)
    want = oracle(load(path))
    assert list(out["values"]) == list(want)  # the same quantities, in the same order
    for name, value in want.items():
        got = out["values"][name]
        assert np.shape(got) == np.shape(value), name
        np.testing.assert_allclose(got, value, rtol=0, atol=1e-12, err_msg=name)
    assert out["history"][0] == pytest.approx(want["loss"], rel=0, abs=1e-12)


def test_cnn_numbers_by_hand(runner: CliRunner) -> None:
    v = solve_json(runner, CNN)["values"]
    # Z1[0][0]: the top-left window [[2,3,1],[4,0,0],[2,0,4]] against the columns (1, 0, −1):
    #   (2 − 1) + (4 − 0) + (2 − 4) = 3, plus b1 = 0.5 → 3.5
    assert round(v["Z1"][0][0], 4) == 3.5
    # Z4 = W4·[4.5, 0.5, 4.5, 1.5] + b4:
    #   0.9 − 0.05 + 1.35 + 0.15 + 0.05 = 2.4;  −0.9 + 0.2 + 0.45 − 0.45 − 0.05 = −0.75
    # ŷ2 = 1/(1 + e^3.15) = 1/24.3361 = 0.0411;  loss = −ln ŷ2 = 3.15 + ln(1.04285) = 3.1920
    assert [round(z, 4) for z in v["Z4"]] == [2.4, -0.75]
    assert round(v["A4"][1], 4) == 0.0411
    assert round(v["loss"], 4) == 3.1920
    # dA1[2,1] (1-based): the windows at (1,1) and (2,1) both pick A1[2,1] = 4.5, so it gets
    # dA2[1,1] + dA2[2,1] = (0.2·0.9589 + 0.2·0.9589) + (0.3·0.9589 − 0.1·0.9589)
    #                     = 0.3836 + 0.1918 = 0.5753
    assert round(v["dA1"][1][0], 4) == 0.5753


def test_rnn_numbers_by_hand(runner: CliRunner) -> None:
    v = solve_json(runner, RNN)["values"]
    # h_1 = tanh(Wx·[1, 0] + Wh·0 + b) = tanh([0.5, 0.2 + 0.1]) = [tanh 0.5, tanh 0.3]
    #     = [0.4621, 0.2913]
    assert [round(h, 4) for h in v["A1_t1"]] == [0.4621, 0.2913]
    # Z1_t2 = Wx·[0, 1] + Wh·h_1 + b
    #       = [−0.3 + 0.1·0.4621 + 0.2·0.2913, 0.4 − 0.2·0.4621 + 0.3·0.2913 + 0.1]
    #       = [−0.3 + 0.04621 + 0.05826, 0.4 − 0.09242 + 0.08739 + 0.1] = [−0.1955, 0.4950]
    assert [round(z, 4) for z in v["Z1_t2"]] == [-0.1955, 0.4950]
    # ŷ_1 = h_1[1] − h_1[2] = 0.4621 − 0.2913 = 0.1708
    assert round(v["A2"][0][0], 4) == 0.1708


# ---------------------------------------------------------------------------
# The worked arithmetic


def test_cnn_work_lines_in_json_and_plain(runner: CliRunner) -> None:
    steps = {s["name"]: s for s in solve_json(runner, CNN)["steps"]}
    # Checked by hand: the window of Z1[1,1] (1-based) is rows 1-3, columns 1-3 of x;
    # the kernel row (1, 0, −1) times (2, 3, 1), (4, 0, 0), (2, 0, 4) gives 1 + 4 − 2 = 3.
    z11 = (
        "Z1[1,1] = 2.0000·1.0000 + 3.0000·0.0000 + 1.0000·(-1.0000) + 4.0000·1.0000 + "
        "0.0000·0.0000 + 0.0000·(-1.0000) + 2.0000·1.0000 + 0.0000·0.0000 + "
        "4.0000·(-1.0000) + 0.5000 = 3.5000"
    )
    assert steps["Z1"]["work"][0] == z11
    assert len(steps["Z1"]["work"]) == 9
    # A2[1,1] is the max of A1[1:3, 1:3] = (3.5, 0, 4.5, 0): 4.5, at A1[2,1];
    # A2[2,2] the max of (0, 0.5, 0.5, 1.5): 1.5, at A1[3,3].
    pool = [
        "A2[1,1] = max(3.5000, 0.0000, 4.5000, 0.0000) = 4.5000, from A1[2,1]",
        "A2[1,2] = max(0.0000, 0.0000, 0.0000, 0.5000) = 0.5000, from A1[2,3]",
        "A2[2,1] = max(4.5000, 0.0000, 0.0000, 0.5000) = 4.5000, from A1[2,1]",
        "A2[2,2] = max(0.0000, 0.5000, 0.5000, 1.5000) = 1.5000, from A1[3,3]",
    ]
    assert steps["A2"]["work"] == pool

    result = runner.invoke(app, ["solve", str(CNN), "--format", "plain"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    for text in pool:
        assert any(line.startswith(text) for line in lines), text
    # The Z1[1,1] line is longer than the plain table's column (200 columns wide here):
    # it is wrapped after its 8th term, the value column to its right.
    first = z11.split(" + 4.0000·(-1.0000) + ")[0]
    assert any(line.startswith(first + " +") for line in lines)
    assert any(line.startswith("4.0000·(-1.0000) + 0.5000 = 3.5000 ") for line in lines)

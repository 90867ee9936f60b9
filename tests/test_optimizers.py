"""Optimizers: hand-checked updates, frozen parameters, sgd as the default, and bad settings.

The expected numbers are written out here from the textbook formulas (and, for nesterov, also
from PyTorch's form of it), never taken from nncalc.optimizers:

    momentum:  v' = μ·v − α·g;  θ' = θ + v'
    nesterov:  v' = μ·v − α·g;  θ' = θ + μ·v' − α·g   (PyTorch: b' = μ·b + g; θ' = θ − α(g + μ·b'))
    rmsprop:   s' = ρ·s + (1 − ρ)·g²;  θ' = θ − α·g / (√s' + ε)
    adam:      m' = β1·m + (1 − β1)·g;  v' = β2·v + (1 − β2)·g²;  m̂ = m'/(1 − β1ᵗ);
               v̂ = v'/(1 − β2ᵗ);  θ' = θ − α·m̂ / (√v̂ + ε)

The example problem has gradients that are easy to check by hand: one identity unit,
half_sse, x = [1, 2], W1 = [[0.5, −0.25]], b1 = [0.1], y = 1, so z = 0.5 − 0.5 + 0.1 = 0.1,
δ = z − y = −0.9, dW1 = δ·xᵀ = [[−0.9, −1.8]] and db1 = [−0.9].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from typer.testing import CliRunner

import nncalc
from nncalc.cli import app

LR = 0.1
W1 = np.array([[0.5, -0.25]])
B1 = np.array([0.1])
G_W1 = np.array([[-0.9, -1.8]])  # by hand, see the module docstring
G_B1 = np.array([-0.9])


def example(optimizer: Any = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "network": {"input": 2, "layers": [{"units": 1, "activation": "identity"}]},
        "loss": "half_sse",
        "learning_rate": LR,
        "parameters": {"W1": W1.tolist(), "b1": B1.tolist()},
        "x": [1.0, 2.0],
        "y": [1.0],
        **extra,
    }
    if optimizer is not None:
        data["optimizer"] = optimizer
    return data


def solve(data: dict[str, Any]) -> dict[str, Any]:
    values = nncalc.solve(nncalc.problem_from_dict(data)).values
    # the gradients every optimizer starts from
    np.testing.assert_allclose(values["dW1"], G_W1, rtol=1e-15)
    np.testing.assert_allclose(values["db1"], G_B1, rtol=1e-15)
    return values


def assert_values(values: dict[str, Any], expected: dict[str, Any], rtol: float = 1e-12) -> None:
    for name, value in expected.items():
        np.testing.assert_allclose(values[name], value, rtol=rtol, atol=1e-15, err_msg=name)


# ---------------------------------------------------------------------------------------------
# One hand-checked step per optimizer


def test_sgd() -> None:
    values = solve(example("sgd"))
    # W1' = [0.5 − 0.1·(−0.9), −0.25 − 0.1·(−1.8)] = [0.59, −0.07]; b1' = 0.1 + 0.09 = 0.19
    assert_values(values, {"W1_new": [[0.59, -0.07]], "b1_new": [0.19]})
    assert not any(k.startswith(("velocity_", "sq_", "m_", "v_")) for k in values)


def test_momentum_with_a_given_velocity() -> None:
    mu, v_w, v_b = 0.9, np.array([[0.2, -0.1]]), np.array([0.05])
    opt = {
        "name": "momentum",
        "momentum": mu,
        "state": {"velocity_W1": v_w.tolist(), "velocity_b1": v_b.tolist()},
    }
    values = solve(example(opt))
    new_v_w, new_v_b = mu * v_w - LR * G_W1, mu * v_b - LR * G_B1
    assert_values(
        values,
        {
            "velocity_W1": new_v_w,
            "velocity_b1": new_v_b,
            "W1_new": W1 + new_v_w,
            "b1_new": B1 + new_v_b,
        },
    )
    # by hand: v' = [0.18 + 0.09, −0.09 + 0.18] = [0.27, 0.09]; W1' = [0.77, −0.16];
    # v_b' = 0.045 + 0.09 = 0.135; b1' = 0.235
    assert_values(
        values,
        {"velocity_W1": [[0.27, 0.09]], "W1_new": [[0.77, -0.16]], "b1_new": [0.235]},
    )


def test_momentum_defaults_to_0_9_and_a_zero_velocity() -> None:
    values = solve(example("momentum"))
    # v' = −α·g = [0.09, 0.18]; W1' = [0.59, −0.07] (as sgd on the first step)
    assert_values(values, {"velocity_W1": [[0.09, 0.18]], "W1_new": [[0.59, -0.07]]})
    values = solve(example({"name": "momentum", "step": 2, "state": {"velocity_W1": [[1.0, 1.0]]}}))
    assert_values(values, {"velocity_W1": [[0.99, 1.08]], "W1_new": [[1.49, 0.83]]})


def test_nesterov_with_a_given_velocity() -> None:
    mu, v_w, v_b = 0.8, np.array([[0.2, -0.1]]), np.array([-0.3])
    opt = {
        "name": "nesterov",
        "momentum": mu,
        "state": {"velocity_W1": v_w.tolist(), "velocity_b1": v_b.tolist()},
    }
    values = solve(example(opt))
    new_v_w = mu * v_w - LR * G_W1
    new_v_b = mu * v_b - LR * G_B1
    expected_w = W1 + mu * new_v_w - LR * G_W1
    expected_b = B1 + mu * new_v_b - LR * G_B1
    # PyTorch's form, with the buffer b = −v/α: b' = μ·b + g; θ' = θ − α·(g + μ·b')
    buf_w = mu * (-v_w / LR) + G_W1
    np.testing.assert_allclose(W1 - LR * (G_W1 + mu * buf_w), expected_w, rtol=1e-12)
    assert_values(
        values,
        {
            "velocity_W1": new_v_w,
            "velocity_b1": new_v_b,
            "W1_new": expected_w,
            "b1_new": expected_b,
        },
    )
    # by hand: v' = [0.16 + 0.09, −0.08 + 0.18] = [0.25, 0.10];
    # W1' = [0.5 + 0.2 + 0.09, −0.25 + 0.08 + 0.18] = [0.79, 0.01]
    assert_values(values, {"velocity_W1": [[0.25, 0.1]], "W1_new": [[0.79, 0.01]]})


def test_rmsprop_with_a_given_average() -> None:
    rho, eps = 0.9, 1e-8
    s_w, s_b = np.array([[0.01, 0.04]]), np.array([0.0])
    opt = {"name": "rmsprop", "state": {"sq_W1": s_w.tolist(), "sq_b1": s_b.tolist()}}
    values = solve(example(opt))
    new_s_w = rho * s_w + (1 - rho) * G_W1**2
    new_s_b = rho * s_b + (1 - rho) * G_B1**2
    assert_values(
        values,
        {
            "sq_W1": new_s_w,
            "sq_b1": new_s_b,
            "W1_new": W1 - LR * G_W1 / (np.sqrt(new_s_w) + eps),
            "b1_new": B1 - LR * G_B1 / (np.sqrt(new_s_b) + eps),
        },
    )
    # by hand: s' = [0.009 + 0.081, 0.036 + 0.324] = [0.09, 0.36], √s' = [0.3, 0.6];
    # W1' ≈ [0.5 + 0.09/0.3, −0.25 + 0.18/0.6] = [0.8, 0.05]
    assert_values(values, {"sq_W1": [[0.09, 0.36]], "W1_new": [[0.8, 0.05]]}, rtol=1e-7)


def test_rmsprop_settings() -> None:
    rho, eps = 0.5, 1e-3
    values = solve(example({"name": "rmsprop", "rho": rho, "epsilon": eps}))
    new_s = (1 - rho) * G_W1**2
    assert_values(values, {"sq_W1": new_s, "W1_new": W1 - LR * G_W1 / (np.sqrt(new_s) + eps)})


def adam_step(
    theta: np.ndarray,
    g: np.ndarray,
    m: Any,
    v: Any,
    t: int,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> dict[str, np.ndarray]:
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return {
        "m": m,
        "v": v,
        "m_hat": m_hat,
        "v_hat": v_hat,
        "new": theta - LR * m_hat / (np.sqrt(v_hat) + eps),
    }


def test_adam_first_step() -> None:
    values = solve(example("adam"))
    for name, theta, g in (("W1", W1, G_W1), ("b1", B1, G_B1)):
        want = adam_step(theta, g, 0.0, 0.0, 1)
        assert_values(
            values,
            {
                f"m_{name}": want["m"],
                f"v_{name}": want["v"],
                f"m_hat_{name}": want["m_hat"],
                f"v_hat_{name}": want["v_hat"],
                f"{name}_new": want["new"],
            },
        )
    # by hand: at t = 1, m̂ = g and v̂ = g², so each entry moves by α·sign(−g) (ε aside)
    assert_values(values, {"m_hat_W1": G_W1, "v_hat_W1": G_W1**2}, rtol=1e-12)
    assert_values(values, {"W1_new": [[0.6, -0.15]], "b1_new": [0.2]}, rtol=1e-7)


def test_adam_third_step_with_a_given_state() -> None:
    b1_, b2_, eps = 0.8, 0.99, 1e-6
    m_w, v_w = np.array([[-0.5, 0.3]]), np.array([[0.2, 0.05]])
    m_b, v_b = np.array([0.1]), np.array([0.01])
    opt = {
        "name": "adam",
        "beta1": b1_,
        "beta2": b2_,
        "epsilon": eps,
        "step": 3,
        "state": {
            "m_W1": m_w.tolist(),
            "v_W1": v_w.tolist(),
            "m_b1": m_b.tolist(),
            "v_b1": v_b.tolist(),
        },
    }
    values = solve(example(opt))
    for name, theta, g, m, v in (("W1", W1, G_W1, m_w, v_w), ("b1", B1, G_B1, m_b, v_b)):
        want = adam_step(theta, g, m, v, 3, b1_, b2_, eps)
        assert_values(
            values,
            {
                f"m_{name}": want["m"],
                f"v_{name}": want["v"],
                f"m_hat_{name}": want["m_hat"],
                f"v_hat_{name}": want["v_hat"],
                f"{name}_new": want["new"],
            },
        )
    # by hand for W1[0, 0]: m' = 0.8·(−0.5) + 0.2·(−0.9) = −0.58; v' = 0.99·0.2 + 0.01·0.81
    # = 0.2061; m̂ = −0.58/(1 − 0.512); v̂ = 0.2061/(1 − 0.970299).  W1[0, 1]: m' = 0.24 − 0.36.
    assert_values(values, {"m_W1": [[-0.58, -0.12]], "v_W1": [[0.2061, 0.99 * 0.05 + 0.0324]]})
    np.testing.assert_allclose(values["m_hat_W1"][0, 0], -0.58 / 0.488, rtol=1e-12)
    np.testing.assert_allclose(values["v_hat_W1"][0, 0], 0.2061 / 0.029701, rtol=1e-12)


def test_optimizer_state_of_a_conv_kernel_and_an_rnn() -> None:
    """State of a one-channel conv kernel may be written kh×kw and is shown so; an rnn's
    parameters Wx1, Wh1 carry their own state."""
    w = np.array([[0.5, -0.5], [0.25, 1.0]])
    velocity = np.array([[0.1, 0.0], [-0.2, 0.3]])
    conv = {
        "network": {
            "input": [1, 2, 2],
            "layers": [
                {"type": "conv2d", "channels": 1, "kernel": 2, "bias": False},
                {"type": "flatten"},
                {"units": 1, "activation": "identity", "bias": False},
            ],
        },
        "loss": "half_sse",
        "learning_rate": LR,
        "parameters": {"W1": w.tolist(), "W3": [[2.0]]},
        "x": [[1.0, 2.0], [3.0, 4.0]],
        "y": [0.0],
        "optimizer": {
            "name": "momentum",
            "momentum": 0.5,
            "state": {"velocity_W1": velocity.tolist()},
        },
    }
    v = nncalc.solve(nncalc.problem_from_dict(conv)).values
    # Z1 = 0.5 − 1 + 0.75 + 4 = 4.25; ŷ = 8.5; δ3 = 8.5; δ1 = 17; dW1 = 17·x
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(v["dW1"], 17.0 * x, rtol=1e-14)
    new_velocity = 0.5 * velocity - LR * 17.0 * x
    np.testing.assert_allclose(v["velocity_W1"], new_velocity, rtol=1e-14)
    np.testing.assert_allclose(v["W1_new"], w + new_velocity, rtol=1e-14)

    rnn = {
        "network": {
            "input": 1,
            "layers": [
                {
                    "type": "rnn",
                    "units": 1,
                    "activation": "identity",
                    "bias": False,
                    "output": "last",
                },
                {"units": 1, "activation": "identity", "bias": False},
            ],
        },
        "loss": "half_sse",
        "learning_rate": LR,
        "parameters": {"Wx1": [[0.5]], "Wh1": [[0.5]], "W2": [[2.0]]},
        "x": [1.0, 2.0],
        "y": 1.0,
        "optimizer": {"name": "rmsprop", "rho": 0.5, "state": {"sq_Wh1": [[4.0]]}},
    }
    v = nncalc.solve(nncalc.problem_from_dict(rnn)).values
    # h1 = 0.5, h2 = 1 + 0.25 = 1.25, ŷ = 2.5, δ2 = 1.5, δ_t2 = 3, δ_t1 = 1.5
    # dWx = 3·2 + 1.5·1 = 7.5; dWh = 3·h1 + 1.5·h0 = 1.5
    np.testing.assert_allclose(v["dWx1"], [[7.5]], rtol=1e-14)
    np.testing.assert_allclose(v["dWh1"], [[1.5]], rtol=1e-14)
    np.testing.assert_allclose(v["sq_Wx1"], [[0.5 * 7.5**2]], rtol=1e-14)
    np.testing.assert_allclose(v["sq_Wh1"], [[0.5 * 4.0 + 0.5 * 1.5**2]], rtol=1e-14)
    np.testing.assert_allclose(
        v["Wh1_new"], [[0.5 - LR * 1.5 / (np.sqrt(2.0 + 1.125) + 1e-8)]], rtol=1e-14
    )


# ---------------------------------------------------------------------------------------------
# Frozen parameters: unchanged, and no state quantities

OPTIMIZERS = {
    "sgd": "sgd",
    "momentum": {"name": "momentum", "state": {"velocity_b1": [0.3]}},
    "nesterov": {"name": "nesterov", "state": {"velocity_b1": [0.3]}},
    "rmsprop": {"name": "rmsprop", "state": {"sq_b1": [0.3]}},
    "adam": {"name": "adam", "step": 5, "state": {"m_b1": [0.3], "v_b1": [0.2]}},
}
STATE_KINDS = {
    "sgd": (),
    "momentum": ("velocity",),
    "nesterov": ("velocity",),
    "rmsprop": ("sq",),
    "adam": ("m", "v", "m_hat", "v_hat"),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_frozen_parameter_is_unchanged_and_has_no_state(name: str) -> None:
    values = solve(example(OPTIMIZERS[name], frozen=["W1"]))
    np.testing.assert_array_equal(values["W1_new"], W1)
    for kind in STATE_KINDS[name]:
        assert f"{kind}_W1" not in values
        assert f"{kind}_b1" in values  # the other parameter still has its state
    assert not np.array_equal(values["b1_new"], B1)
    stateful = [k for k in values if k.endswith("_W1") and not k.startswith("d")]
    assert stateful == [], stateful


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_everything_frozen(name: str) -> None:
    values = solve(example(name if name == "sgd" else {"name": name}, frozen=["W1", "b1"]))
    np.testing.assert_array_equal(values["W1_new"], W1)
    np.testing.assert_array_equal(values["b1_new"], B1)
    assert [k for k in values if k.endswith(("_W1", "_b1")) and not k.endswith("_new")] == []


# ---------------------------------------------------------------------------------------------
# sgd is the default


def floats(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_subnormal=False))


@st.composite
def dense_problems(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    acts = [draw(st.sampled_from(("tanh", "sigmoid", "identity"))) for _ in widths]
    loss = draw(st.sampled_from(("mse", "half_sse", "sse")))
    batch = draw(st.integers(1, 3))
    params: dict[str, Any] = {}
    fan_in = n
    for i, u in enumerate(widths, start=1):
        params[f"W{i}"] = draw(floats((u, fan_in))).tolist()
        params[f"b{i}"] = draw(floats((u,))).tolist()
        fan_in = u
    x = draw(floats((batch, n), -2.0, 2.0))
    y = draw(floats((batch, widths[-1]), -1.0, 1.0))
    single = batch == 1 and draw(st.booleans())
    return {
        "network": {
            "input": n,
            "layers": [{"units": u, "activation": a} for u, a in zip(widths, acts, strict=True)],
        },
        "loss": loss,
        "reduction": draw(st.sampled_from(("mean", "sum"))),
        "learning_rate": draw(st.floats(0.0, 1.0)),
        "parameters": params,
        "x": x[0].tolist() if single else x.tolist(),
        "y": y[0].tolist() if single else y.tolist(),
        "frozen": draw(st.lists(st.sampled_from(sorted(params)), unique=True, max_size=2)),
    }


def solved(data: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(s.name, s.value) for s in nncalc.solve(nncalc.problem_from_dict(data))]


def assert_same(a: list[tuple[str, Any]], b: list[tuple[str, Any]], what: str) -> None:
    assert [n for n, _ in a] == [n for n, _ in b], what
    for (name, x), (_, y) in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: {name}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=dense_problems())
def test_sgd_is_the_default(data: dict[str, Any]) -> None:
    note(f"problem = {data!r}")
    default = solved(data)
    for spelled in ("sgd", {"name": "sgd"}, {}, {"name": "sgd", "step": 7}):
        assert_same(default, solved({**data, "optimizer": spelled}), f"optimizer: {spelled}")
    # with μ = 0 and no velocity, momentum and nesterov take exactly the sgd step
    sgd_new = {n: v for n, v in default if n.endswith("_new")}
    for name in ("momentum", "nesterov"):
        other = dict(solved({**data, "optimizer": {"name": name, "momentum": 0.0}}))
        for key, value in sgd_new.items():
            np.testing.assert_array_equal(other[key], value, err_msg=f"{name}: {key}")


# ---------------------------------------------------------------------------------------------
# Bad optimizer settings: one line on stderr, exit 2

PROBLEM = """\
network:
  input: 2
  layers:
    - {units: 1, activation: identity}
loss: half_sse
learning_rate: 0.1
parameters:
  W1: [[0.5, -0.25]]
  b1: [0.1]
x: [1, 2]
y: [1]
"""  # the optimizer starts on line 12

CASES = {
    "unknown name": (
        "optimizer:\n  name: adagrad\n",
        "13: optimizer.name: expected one of sgd, momentum, nesterov, rmsprop, adam; "
        "got string 'adagrad'",
    ),
    "unknown name, flow style": (
        "optimizer: adagrad\n",
        "12: optimizer.name: expected one of sgd, momentum, nesterov, rmsprop, adam; "
        "got string 'adagrad'",
    ),
    "misspelt name": (
        "optimizer:\n  name: momentu\n",
        "13: optimizer.name: expected one of sgd, momentum, nesterov, rmsprop, adam; "
        "got string 'momentu' (did you mean 'momentum'?)",
    ),
    "setting sgd does not have": (
        "optimizer:\n  name: sgd\n  momentum: 0.9\n",
        "14: optimizer.momentum: sgd has no setting 'momentum'; its settings: none",
    ),
    "setting adam does not have": (
        "optimizer:\n  name: adam\n  rho: 0.9\n",
        "14: optimizer.rho: adam has no setting 'rho'; its settings: beta1, beta2, epsilon",
    ),
    "setting of the default sgd, flow style": (
        "optimizer: {momentum: 0.9}\n",
        "12: optimizer.momentum: sgd has no setting 'momentum'; its settings: none",
    ),
    "beta1 = 1": (
        "optimizer:\n  name: adam\n  beta1: 1\n",
        "14: optimizer.beta1: expected a number in [0, 1), got 1",
    ),
    "negative momentum": (
        "optimizer:\n  name: nesterov\n  momentum: -0.1\n",
        "14: optimizer.momentum: expected a number in [0, 1), got -0.1",
    ),
    "zero epsilon": (
        "optimizer:\n  name: rmsprop\n  epsilon: 0\n",
        "14: optimizer.epsilon: expected a number > 0, got 0",
    ),
    "step 0": (
        "optimizer:\n  name: adam\n  step: 0\n",
        "14: optimizer.step: expected a whole number between 1 and 1000000000, got 0",
    ),
    "unknown key": (
        "optimizer:\n  nam: sgd\n",
        "13: optimizer.nam: unknown key 'nam' (did you mean 'name'?); expected one of: name, "
        "step, state, beta1, beta2, epsilon, momentum, rho",
    ),
    "state of the wrong shape": (
        "optimizer:\n  name: momentum\n  state:\n    velocity_b1: [0.1]\n"
        "    velocity_W1: [[1, 2, 3]]\n",
        "16: optimizer.state.velocity_W1: expected shape 1×2 (as W1), got 1×3",
    ),
    "state a vector instead of a matrix": (
        "optimizer:\n  name: adam\n  state:\n    m_W1: [0.1, 0.2]\n",
        "15: optimizer.state.m_W1: expected shape 1×2 (as W1), got 2",
    ),
    "state of another optimizer": (
        "optimizer:\n  name: adam\n  state:\n    m_hat_W1: [[0.1, 0.2]]\n",
        "15: optimizer.state.m_hat_W1: unknown key 'm_hat_W1' (did you mean 'm_W1'?); "
        "expected one of: m_W1, v_W1, m_b1, v_b1",
    ),
    "state of a frozen parameter": (
        "optimizer:\n  name: momentum\n  state:\n    velocity_W1: [[0.1, 0.2]]\nfrozen: [W1]\n",
        "15: optimizer.state.velocity_W1: unknown key 'velocity_W1' (did you mean "
        "'velocity_b1'?); expected one of: velocity_b1",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_optimizer_gives_one_clean_line_and_exit_2(
    case: str, runner: CliRunner, tmp_path: Path
) -> None:
    text, expected = CASES[case]
    problem = tmp_path / "p.yaml"
    problem.write_text(PROBLEM + text)
    result = runner.invoke(app, ["solve", str(problem), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {problem}:{expected}\n"


# An update that is not finite.  The library names the quantity (W1_new); the CLI, which
# runs the update through nncalc.training.train, must say the same, not blame a quantity of the
# forward pass after the update (Z1) that the solution it shows never computed.  (If the loader
# comes to refuse a negative average of squares, the CLI must still print what it says.)
NOT_FINITE_UPDATES = {
    "sgd step overflows": PROBLEM.replace("learning_rate: 0.1", "learning_rate: 1e308").replace(
        "x: [1, 2]", "x: [1e10, 2]"
    ),
    "rmsprop, negative average of g²": PROBLEM
    + "optimizer: {name: rmsprop, state: {sq_W1: [[0.1, -1]]}}\n",
    "adam, negative average of g²": PROBLEM
    + "optimizer: {name: adam, state: {v_W1: [[0.1, -1]]}}\n",
}


@pytest.mark.parametrize("case", NOT_FINITE_UPDATES)
def test_an_update_that_is_not_finite_is_reported_as_the_library_reports_it(
    case: str, runner: CliRunner, tmp_path: Path
) -> None:
    problem = tmp_path / "p.yaml"
    problem.write_text(NOT_FINITE_UPDATES[case])
    with pytest.raises(nncalc.NncalcError) as caught:
        nncalc.solve(nncalc.load_problem(problem))
    message = str(caught.value)
    assert ": W1_new: the value is not finite" in message or "optimizer.state" in message
    result = runner.invoke(app, ["solve", str(problem), "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"

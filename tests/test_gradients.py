"""Property tests: the engine against an independent NumPy oracle and finite differences.

Random networks (depth 1–4, widths 1–5, one sample or a batch of 2–4, every activation, loss
and reduction, with and without biases, some parameters frozen) are solved by the engine and
checked against a forward pass written here from the math alone:

    Z_l = W_l·A_{l-1} + b_l (samples are columns),  A_l = f_l(Z_l),  softmax per column,
    L = mean or sum over the batch of the per-sample loss.

Nothing below imports from the engine but the problem loader and `solve`; the activations are
NumPy lambdas written out by hand (also for the custom formulas), and every derivative the
engine reports (dW, db, delta, dA, fprime) is compared with central finite differences of this
oracle's loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nncalc

EXT = np.longdouble  # the oracle computes in extended precision (64-bit mantissa on x86-64)
H = 1e-6  # finite-difference step
RTOL, ATOL = 1e-5, 1e-7  # derivative tolerances (analytic against finite differences)
FWD_RTOL, FWD_ATOL = 1e-9, 1e-12  # forward values: the same math, different rounding
Z_LIMIT = 15.0  # keep |Z| moderate so that exp stays finite and sigmoid is not saturated
KINK_MARGIN = 1e-4  # skip cases with a net input this close to a kink

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "sse", "half_sse")
REDUCTIONS = ("mean", "sum")

# ---------------------------------------------------------------------------------------------
# The oracle's activations, written by hand (never via nncalc.expr)

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Act:
    f: Fn
    kink: bool = False  # not differentiable (or not twice) at 0: avoid net inputs near 0
    probability: bool = False  # values in (0, 1): a valid output for the cross-entropy losses


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(z))


NAMED: dict[str, Act] = {
    "identity": Act(lambda z: z),
    "relu": Act(lambda z: np.maximum(z, 0.0), kink=True),
    "leaky_relu": Act(lambda z: np.where(z > 0, z, 0.01 * z), kink=True),
    "sigmoid": Act(_sigmoid, probability=True),
    "tanh": Act(np.tanh),
    "softplus": Act(_softplus),
    "elu": Act(lambda z: np.where(z > 0, z, np.exp(z) - 1.0), kink=True),
    "sin": Act(np.sin),
    "cos": Act(np.cos),
    "exp": Act(np.exp),
}
CUSTOM: dict[str, Act] = {
    "relu(x) + sin(x)": Act(lambda z: np.maximum(z, 0.0) + np.sin(z), kink=True),
    "x**2/2 + tanh(x)": Act(lambda z: z * z / 2.0 + np.tanh(z)),
    "sigmoid(x)*x": Act(lambda z: z / (1.0 + np.exp(-z))),
    "leaky_relu(x, 0.2)": Act(lambda z: np.where(z > 0, z, 0.2 * z), kink=True),
    "elu(x, 0.5)": Act(lambda z: np.where(z > 0, z, 0.5 * (np.exp(z) - 1.0)), kink=True),
    "abs(x) - x/2": Act(lambda z: np.abs(z) - z / 2.0, kink=True),
    "1/(1 + exp(-x))": Act(_sigmoid, probability=True),  # sigmoid, but not by name
    "x*tanh(softplus(x))": Act(lambda z: z * np.tanh(_softplus(z))),
    "log(1 + x**2) - sqrt(1 + x^2)": Act(lambda z: np.log(1 + z * z) - np.sqrt(1 + z * z)),
    "sin(x)*cos(x) + x/(1 + abs(x))": Act(  # f'' jumps at 0: central differences are O(h)
        lambda z: np.sin(z) * np.cos(z) + z / (1 + np.abs(z)), kink=True
    ),
    "exp(-x**2/2)*2 - 3*x**3/(2 + x**2)": Act(
        lambda z: np.exp(-z * z / 2) * 2 - 3 * z**3 / (2 + z * z)
    ),
    "tanh(2*x - 1)**2 + cos(x)/2": Act(lambda z: np.tanh(2 * z - 1) ** 2 + np.cos(z) / 2),
    "cos(cos(x)) - sin(x)/-3": Act(lambda z: np.cos(np.cos(z)) + np.sin(z) / 3),
    "-cos(x)*-sin(2*x)": Act(lambda z: np.cos(z) * np.sin(2 * z)),
}
ELEMENTWISE = {**NAMED, **CUSTOM}
ACTIVATIONS = (*ELEMENTWISE, "softmax")


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return ELEMENTWISE[name].f(z)


def has_kink(name: str) -> bool:
    return name != "softmax" and ELEMENTWISE[name].kink


def fits_output(name: str, loss: str, units: int) -> bool:
    """Whether `name` may be the output activation for `loss` (a finite loss needs ŷ in (0,1))."""
    if loss in ("mse", "sse", "half_sse"):
        return True
    if name == "softmax":  # one softmax unit is exactly 1: log(1 − ŷ) = −inf for BCE
        return loss == "cross_entropy" or units >= 2
    return ELEMENTWISE[name].probability


# ---------------------------------------------------------------------------------------------
# The oracle network


@dataclass
class Net:
    n_in: int
    units: list[int]
    acts: list[str]
    bias: list[bool]
    loss: str
    reduction: str
    lr: float
    params: dict[str, np.ndarray]
    X: np.ndarray  # (n_in, batch)
    Y: np.ndarray  # (units[-1], batch)
    single: bool
    frozen: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.units)

    @property
    def names(self) -> list[str]:
        out = []
        for i in range(1, self.depth + 1):
            out += [f"W{i}", f"b{i}"] if self.bias[i - 1] else [f"W{i}"]
        return out

    def to_dict(self) -> dict[str, Any]:
        def samples(m: np.ndarray) -> list[Any]:
            return m[:, 0].tolist() if self.single else m.T.tolist()

        return {
            "network": {
                "input": self.n_in,
                "layers": [
                    {"units": u, "activation": a, "bias": b}
                    for u, a, b in zip(self.units, self.acts, self.bias, strict=True)
                ],
            },
            "loss": self.loss,
            "reduction": self.reduction,
            "learning_rate": self.lr,
            "parameters": {k: v.tolist() for k, v in self.params.items()},
            "x": samples(self.X),
            "y": samples(self.Y),
            "frozen": list(self.frozen),
        }

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return f"Net({self.to_dict()!r})"

    # -- forward pass, optionally from a replaced Z_l or A_l -------------------------------

    def forward(
        self,
        params: dict[str, np.ndarray] | None = None,
        replace: tuple[str, int, np.ndarray] | None = None,
    ) -> tuple[list[np.ndarray], list[np.ndarray], Any]:
        """Z_l and A_l of every layer and the loss, all in extended precision."""
        p = {k: np.asarray(v, dtype=EXT) for k, v in (params or self.params).items()}
        zs: list[np.ndarray] = []
        As: list[np.ndarray] = [self.X.astype(EXT)]
        for i in range(1, self.depth + 1):
            z = p[f"W{i}"] @ As[-1]
            if self.bias[i - 1]:
                z = z + p[f"b{i}"][:, None]
            if replace is not None and replace[:2] == ("Z", i):
                z = np.asarray(replace[2], dtype=EXT)
            a = activate(self.acts[i - 1], z)
            if replace is not None and replace[:2] == ("A", i):
                a = np.asarray(replace[2], dtype=EXT)
            zs.append(z)
            As.append(a)
        return zs, As[1:], self.loss_of(As[-1])

    def loss_of(self, a: np.ndarray) -> Any:
        y = self.Y.astype(EXT)
        if self.loss == "cross_entropy":
            per = -(y * np.log(a)).sum(axis=0)
        elif self.loss == "binary_cross_entropy":
            per = -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=0)
        elif self.loss == "mse":
            per = ((a - y) ** 2).sum(axis=0) / a.shape[0]
        elif self.loss == "sse":
            per = ((a - y) ** 2).sum(axis=0)
        else:
            per = 0.5 * ((a - y) ** 2).sum(axis=0)
        return per.mean() if self.reduction == "mean" else per.sum()

    # -- finite differences ----------------------------------------------------------------

    def param_grad(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂name by central differences, with its round-off (per entry) as a tolerance."""
        _, As, loss = self.forward()
        step = np.full(self.params[name].shape, H)
        if name.startswith("W"):  # W[i, j] moves Z[i] by h·A_{l-1}[j]: keep that step small
            inputs = ([self.X, *As])[int(name[1:]) - 1]
            step = step / np.maximum(1.0, np.abs(inputs).max(axis=1))[None, :]

        def loss_at(value: np.ndarray) -> Any:
            return self.forward({**self.params, name: value})[2]

        return central_difference(loss_at, self.params[name], step), roundoff(loss, step)

    def inner_grad(self, kind: str, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂Z_l (kind "Z") or ∂L/∂A_l (kind "A"), by perturbing it and continuing forward;
        with the round-off of that finite difference (per entry) as a tolerance."""
        zs, As, loss = self.forward()
        base = (zs if kind == "Z" else As)[layer - 1]
        step: float | np.ndarray = H
        if kind == "A" and layer == self.depth and self.loss == "cross_entropy":
            step = H * np.minimum(1.0, base)  # log ŷ curves sharply near ŷ = 0
        elif kind == "A" and layer == self.depth and self.loss == "binary_cross_entropy":
            step = H * np.minimum(1.0, np.minimum(base, 1.0 - base))  # ... and log(1 − ŷ) at 1
        g = central_difference(lambda v: self.forward(replace=(kind, layer, v))[2], base, step)
        return g, roundoff(loss, np.broadcast_to(step, g.shape))

    def shaped(self, m: np.ndarray) -> np.ndarray:
        """As the engine shows a per-sample quantity: a vector for a single sample."""
        return m[:, 0] if self.single else m


def roundoff(loss: Any, step: np.ndarray) -> np.ndarray:
    """A bound on the rounding error of a central difference of a loss of this size."""
    return np.asarray(16 * np.finfo(EXT).eps * max(1.0, abs(float(loss))) / step, dtype=float)


def central_difference(
    fun: Callable[[np.ndarray], Any], x0: np.ndarray, step: float | np.ndarray = H
) -> np.ndarray:
    """(f(x + h·e_i) − f(x − h·e_i)) / 2h for every entry i of x0 (h per entry if an array),
    evaluated in extended precision when f is the oracle's loss."""
    x0 = np.asarray(x0, dtype=EXT)
    steps = np.broadcast_to(np.asarray(step, dtype=EXT), x0.shape)
    g = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += steps[idx]
        xm[idx] -= steps[idx]
        g[idx] = (fun(xp) - fun(xm)) / (xp[idx] - xm[idx])
    return g


# ---------------------------------------------------------------------------------------------
# Strategies


def array(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> st.SearchStrategy:
    elements = st.floats(low, high, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def targets(draw: st.DrawFn, loss: str, k: int, batch: int) -> np.ndarray:
    if loss == "cross_entropy":
        kind = draw(st.sampled_from(["one-hot", "smoothed", "any nonnegative"]))
        if kind == "any nonnegative":  # need not sum to 1: δ = ŷ·Σy − y
            return draw(array((k, batch), 0.0, 1.0))
        hot = np.zeros((k, batch))
        for b in range(batch):
            hot[draw(st.integers(0, k - 1)), b] = 1.0
        if kind == "one-hot":
            return hot
        eps = draw(st.floats(0.01, 0.5))
        return hot * (1 - eps) + eps / k
    if loss == "binary_cross_entropy":
        return draw(array((k, batch), 0.0, 1.0))
    return draw(array((k, batch), -2.0, 2.0))


@st.composite
def nets(
    draw: st.DrawFn,
    *,
    activation: str | None = None,
    loss: str | None = None,
    reduction: str | None = None,
    min_depth: int = 1,
) -> Net:
    """A random problem whose loss is finite, optionally forcing an activation, loss, reduction."""
    loss = loss or draw(st.sampled_from(LOSSES))
    if activation is not None and not fits_output(activation, loss, 2):
        min_depth = max(min_depth, 2)  # then it goes on a hidden layer
    depth = draw(st.integers(min_depth, 4))
    n_in = draw(st.integers(1, 5))
    units = [draw(st.integers(1, 5)) for _ in range(depth)]
    acts = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(depth - 1)]
    acts.append(draw(st.sampled_from([a for a in ACTIVATIONS if fits_output(a, loss, units[-1])])))
    if activation is not None:
        where = [i for i in range(depth) if i < depth - 1 or fits_output(activation, loss, 2)]
        at = draw(st.sampled_from(where))
        if at == depth - 1 and not fits_output(activation, loss, units[-1]):
            units[-1] = 2  # a lone softmax unit cannot be a BCE output
        acts[at] = activation
    bias = [draw(st.booleans()) for _ in range(depth)]
    single = draw(st.booleans())
    batch = 1 if single else draw(st.integers(2, 4))
    params: dict[str, np.ndarray] = {}
    fan_in = n_in
    for i, u in enumerate(units, start=1):
        params[f"W{i}"] = draw(array((u, fan_in)))
        if bias[i - 1]:
            params[f"b{i}"] = draw(array((u,)))
        fan_in = u
    net = Net(
        n_in=n_in,
        units=units,
        acts=acts,
        bias=bias,
        loss=loss,
        reduction=reduction or draw(st.sampled_from(REDUCTIONS)),
        lr=draw(st.floats(0.0, 1.0)),
        params=params,
        X=draw(array((n_in, batch), -2.0, 2.0)),
        Y=draw(targets(loss, units[-1], batch)),
        single=single,
    )
    net.frozen = draw(st.lists(st.sampled_from(net.names), unique=True, max_size=2))
    return net


def usable(net: Net) -> None:
    """Skip (via assume) nets whose loss is not finite or is near a kink or saturation."""
    with np.errstate(all="ignore"):
        zs, As, loss = net.forward()
    assume(all(np.isfinite(z).all() and np.abs(z).max() <= Z_LIMIT for z in zs))
    assume(all(np.isfinite(a).all() for a in As) and np.isfinite(loss))
    for z, act in zip(zs, net.acts, strict=True):
        if has_kink(act):
            assume(np.abs(z).min() > KINK_MARGIN)


def solve(net: Net) -> dict[str, Any]:
    note(f"problem = {net.to_dict()!r}")
    problem = nncalc.problem_from_dict(net.to_dict())
    before = {k: v.copy() for k, v in problem.parameters.items()}
    values = nncalc.solve(problem).values
    for k, v in before.items():  # solving must not update the problem's parameters in place
        np.testing.assert_array_equal(problem.parameters[k], v, err_msg=f"{k} changed in place")
    return values


# ---------------------------------------------------------------------------------------------
# The checks


def close(
    actual: Any, expected: np.ndarray, name: str, rtol: float, atol: float | np.ndarray
) -> None:
    """|actual − expected| ≤ atol + rtol·|expected| entry by entry (atol may be per entry)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    bad = ~(np.abs(actual - expected) <= atol + rtol * np.abs(expected))  # NaN counts as bad
    assert not bad.any(), (
        f"{name}: engine {actual[bad]} != oracle {expected[bad]} at {np.argwhere(bad).tolist()}"
        f"\nengine:\n{actual}\noracle:\n{expected}"
    )


def check_forward(net: Net, values: dict[str, Any]) -> None:
    zs, As, loss = net.forward()
    for i, (z, a) in enumerate(zip(zs, As, strict=True), start=1):
        close(values[f"Z{i}"], net.shaped(z), f"Z{i}", FWD_RTOL, FWD_ATOL)
        close(values[f"A{i}"], net.shaped(a), f"A{i}", FWD_RTOL, FWD_ATOL)
    assert isinstance(values["loss"], float)
    assert values["loss"] == pytest.approx(float(loss), rel=FWD_RTOL, abs=FWD_ATOL)


Grads = dict[str, tuple[np.ndarray, np.ndarray]]  # name: (FD gradient, its round-off)


def check_parameter_gradients(net: Net, values: dict[str, Any]) -> Grads:
    grads = {}
    for name in net.names:
        g, noise = grads[name] = net.param_grad(name)
        close(values[f"d{name}"], g, f"d{name}", RTOL, ATOL + noise)
    for i, has_bias in enumerate(net.bias, start=1):
        if not has_bias:
            assert f"db{i}" not in values and f"b{i}_new" not in values
    return grads


def check_inner_gradients(net: Net, values: dict[str, Any]) -> None:
    """delta_l = ∂L/∂Z_l and dA_l = ∂L/∂A_l, fprime_l = f_l'(Z_l), all by finite differences."""
    zs, _, _ = net.forward()
    for i in range(1, net.depth + 1):
        g, noise = net.inner_grad("Z", i)
        close(values[f"delta{i}"], net.shaped(g), f"delta{i}", RTOL, ATOL + net.shaped(noise))
        if i < net.depth or f"dA{i}" in values:  # the output's dA is skipped on the fast paths
            g, noise = net.inner_grad("A", i)
            close(values[f"dA{i}"], net.shaped(g), f"dA{i}", RTOL, ATOL + net.shaped(noise))
        act = net.acts[i - 1]
        if act == "softmax":
            assert f"fprime{i}" not in values
        elif i < net.depth or f"fprime{i}" in values:
            f = ELEMENTWISE[act].f
            slope = (f(zs[i - 1] + H) - f(zs[i - 1] - H)) / (2 * H)
            close(values[f"fprime{i}"], net.shaped(slope), f"fprime{i}", RTOL, ATOL)


def check_update(net: Net, values: dict[str, Any], grads: Grads) -> None:
    """W_new = W − lr·∂L/∂W (the FD gradient), and frozen parameters exactly unchanged."""
    for name in net.names:
        new = np.asarray(values[f"{name}_new"])
        old = net.params[name]
        assert new.shape == old.shape, f"{name}_new: shape {new.shape} != {old.shape}"
        if name in net.frozen:
            np.testing.assert_array_equal(new, old, err_msg=f"{name} is frozen")
            continue
        g = np.asarray(grads[name][0], dtype=np.float64)
        step = net.lr * np.abs(g)
        slack = net.lr * (ATOL + grads[name][1]) + RTOL * step + 4e-16 * (np.abs(old) + step)
        close(new, old - net.lr * g, f"{name}_new", 0.0, slack)


def check_everything(net: Net) -> None:
    usable(net)
    values = solve(net)
    check_forward(net, values)
    grads = check_parameter_gradients(net, values)
    check_inner_gradients(net, values)
    check_update(net, values, grads)


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )


# ---------------------------------------------------------------------------------------------
# Tests


@examples(300)
@given(net=nets())
def test_forward_values_match_the_oracle(net: Net) -> None:
    usable(net)
    check_forward(net, solve(net))


@examples(400)
@given(net=nets())
def test_engine_matches_finite_differences_of_the_oracle(net: Net) -> None:
    check_everything(net)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@examples(15)
@given(data=st.data())
def test_every_activation(activation: str, data: st.DataObject) -> None:
    check_everything(data.draw(nets(activation=activation)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", LOSSES)
@examples(20)
@given(data=st.data())
def test_every_loss_and_reduction(loss: str, reduction: str, data: st.DataObject) -> None:
    check_everything(data.draw(nets(loss=loss, reduction=reduction)))


@examples(80)
@given(data=st.data())
def test_reduction_mean_divides_by_the_batch_size(data: st.DataObject) -> None:
    """The same batch under mean and sum: the oracle's loss and FD gradients, not the engine's."""
    net = data.draw(nets(reduction="sum"))
    usable(net)
    batch = net.X.shape[1]
    summed = solve(net)
    net.reduction = "mean"
    meaned = solve(net)
    _, _, loss = net.forward()
    assert summed["loss"] == pytest.approx(batch * float(loss), rel=FWD_RTOL, abs=FWD_ATOL)
    assert meaned["loss"] == pytest.approx(float(loss), rel=FWD_RTOL, abs=FWD_ATOL)
    last = net.depth
    g, noise = net.inner_grad("Z", last)
    close(meaned[f"delta{last}"], net.shaped(g), "delta", RTOL, ATOL + net.shaped(noise))
    for name in net.names:
        g, noise = net.param_grad(name)
        close(meaned[f"d{name}"], g, f"d{name} (mean)", RTOL, ATOL + noise)


# -- relu'(0) = 0 -----------------------------------------------------------------------------


def test_relu_derivative_at_zero_is_zero_worked_example() -> None:
    # Z1 = [1·1 − 0.5·2, 0.5·1 + 0.5·2] = [0, 1.5] exactly.
    problem = {
        "network": {
            "input": 2,
            "layers": [
                {"units": 2, "activation": "relu"},
                {"units": 1, "activation": "identity"},
            ],
        },
        "loss": "half_sse",
        "learning_rate": 0.1,
        "parameters": {
            "W1": [[1.0, -0.5], [0.5, 0.5]],
            "b1": [0.0, 0.0],
            "W2": [[0.7, -0.4]],
            "b2": [0.2],
        },
        "x": [1.0, 2.0],
        "y": [1.0],
    }
    v = nncalc.solve(nncalc.problem_from_dict(problem)).values
    np.testing.assert_array_equal(v["Z1"], [0.0, 1.5])
    np.testing.assert_array_equal(v["A1"], [0.0, 1.5])
    np.testing.assert_array_equal(v["fprime1"], [0.0, 1.0])
    # ŷ = −0.4·1.5 + 0.2 = −0.4; δ2 = ŷ − y = −1.4; dA1 = W2ᵀδ2 = [−0.98, 0.56]
    np.testing.assert_allclose(v["delta2"], [-1.4], rtol=1e-12)
    np.testing.assert_allclose(v["dA1"], [-0.98, 0.56], rtol=1e-12)
    np.testing.assert_allclose(v["delta1"], [0.0, 0.56], rtol=1e-12)
    np.testing.assert_allclose(v["dW1"], [[0.0, 0.0], [0.56, 1.12]], rtol=1e-12)
    np.testing.assert_allclose(v["db1"], [0.0, 0.56], rtol=1e-12)
    np.testing.assert_array_equal(v["W1_new"][0], [1.0, -0.5])  # no gradient through the kink
    np.testing.assert_allclose(v["dW2"], [[0.0, -1.4 * 1.5]], rtol=1e-12)


@examples(80)
@given(data=st.data())
def test_relu_derivative_at_zero_is_zero(data: st.DataObject) -> None:
    """A relu unit whose weights and bias are all 0 has net input exactly 0 for every sample:
    its fprime, delta and gradients must be 0; every other gradient still matches FD."""
    net = data.draw(nets(activation="relu", min_depth=2))
    layer = data.draw(st.sampled_from([i for i, a in enumerate(net.acts, 1) if a == "relu"]))
    row = data.draw(st.integers(0, net.units[layer - 1] - 1))
    net.params[f"W{layer}"][row, :] = 0.0
    if net.bias[layer - 1]:
        net.params[f"b{layer}"][row] = 0.0
    with np.errstate(all="ignore"):
        zs, _, loss = net.forward()
    assume(np.isfinite(loss))
    for i, (z, act) in enumerate(zip(zs, net.acts, strict=True), start=1):
        assume(np.isfinite(z).all() and np.abs(z).max() <= Z_LIMIT)
        if has_kink(act):  # away from the kinks, but for the row that sits on one
            rest = np.delete(z, row, axis=0) if i == layer else z
            assume(rest.size == 0 or np.abs(rest).min() > KINK_MARGIN)
    assert (zs[layer - 1][row] == 0.0).all()
    v = solve(net)
    assert (np.asarray(v[f"Z{layer}"]).reshape(net.units[layer - 1], -1)[row] == 0).all()
    fprime = np.asarray(v[f"fprime{layer}"]).reshape(net.units[layer - 1], -1)
    delta = np.asarray(v[f"delta{layer}"]).reshape(net.units[layer - 1], -1)
    np.testing.assert_array_equal(fprime[row], 0.0)
    np.testing.assert_array_equal(delta[row], 0.0)
    np.testing.assert_array_equal(v[f"dW{layer}"][row], 0.0)
    if net.bias[layer - 1]:
        np.testing.assert_array_equal(v[f"db{layer}"][row], 0.0)
    # Everything else is smooth: compare with finite differences, except the kinked row.
    for name in net.names:
        g, noise = net.param_grad(name)
        got = np.array(v[f"d{name}"], dtype=np.float64)
        if name in (f"W{layer}", f"b{layer}"):  # FD averages the two one-sided slopes there
            g, got, noise = (np.delete(m, row, axis=0) for m in (g, got, noise))
        close(got, g, f"d{name}", RTOL, ATOL + noise)


# -- softmax + cross-entropy with targets that do not sum to 1 -------------------------------


def test_softmax_cross_entropy_with_a_target_summing_to_0_8() -> None:
    w1 = np.array([[0.2, -0.4, 0.1], [-0.3, 0.5, 0.6]])
    b1 = np.array([0.1, -0.2])
    x, y = np.array([1.0, -0.5, 2.0]), np.array([0.3, 0.5])
    problem = {
        "network": {"input": 3, "layers": [{"units": 2, "activation": "softmax"}]},
        "loss": "cross_entropy",
        "learning_rate": 0.5,
        "parameters": {"W1": w1.tolist(), "b1": b1.tolist()},
        "x": x.tolist(),
        "y": y.tolist(),
    }
    v = nncalc.solve(nncalc.problem_from_dict(problem)).values
    z = w1 @ x + b1
    y_hat = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(v["A1"], y_hat, rtol=1e-12)
    assert v["loss"] == pytest.approx(-(y * np.log(y_hat)).sum(), rel=1e-12)

    def loss_of_z(zz: np.ndarray) -> float:
        return float(-(y * (zz - np.log(np.exp(zz).sum()))).sum())

    fd_delta = central_difference(loss_of_z, z)
    np.testing.assert_allclose(fd_delta, y_hat * 0.8 - y, rtol=1e-6)  # the oracle's own sanity
    np.testing.assert_allclose(v["delta1"], fd_delta, rtol=RTOL, atol=ATOL)
    assert not np.allclose(v["delta1"], y_hat - y, atol=1e-3)  # ŷ − y would be wrong here
    np.testing.assert_allclose(v["dW1"], np.outer(fd_delta, x), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(v["db1"], fd_delta, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(v["W1_new"], w1 - 0.5 * np.outer(fd_delta, x), rtol=1e-5)


@examples(80)
@given(data=st.data())
def test_softmax_cross_entropy_with_non_one_hot_targets(data: st.DataObject) -> None:
    net = data.draw(nets(loss="cross_entropy"))
    net.acts[-1] = "softmax"
    net.Y = data.draw(array(net.Y.shape, 0.0, 2.0))  # any nonnegative targets
    assume(not np.allclose(net.Y.sum(axis=0), 1.0))
    check_everything(net)


# -- products of two negated factors ----------------------------------------------------------

# Regression: nncalc.expr's simplifier once pulled the signs out of two negated factors as one
# sign, (−a)·(−b) → −(a·b) and (−a)/(−b) → −(a/b): the forward values were right but fprime,
# and so every gradient through the layer, had the wrong sign.  These expressions reach that
# case through the chain, quotient and product rules.
NEGATED_FACTORS = {
    "cos(cos(x))": lambda z: np.cos(np.cos(z)),  # f' = (−sin x)·(−sin(cos x))
    "cos(x)/-2": lambda z: np.cos(z) / -2,  # f' = (−sin x)/(−2)
    "-cos(x)*-sin(x)": lambda z: np.cos(z) * np.sin(z),  # product rule: (−cos)·(−cos)
}


@pytest.mark.parametrize("expression", NEGATED_FACTORS)
def test_fprime_of_products_of_two_negated_factors(expression: str) -> None:
    f = NEGATED_FACTORS[expression]
    z = np.array([0.3, 1.2, -0.7])
    problem = {
        "network": {"input": 3, "layers": [{"units": 3, "activation": expression}]},
        "loss": "half_sse",
        "learning_rate": 0.1,
        "parameters": {"W1": np.eye(3).tolist(), "b1": [0.0, 0.0, 0.0]},
        "x": z.tolist(),
        "y": [0.0, 0.0, 0.0],
    }
    v = nncalc.solve(nncalc.problem_from_dict(problem)).values
    np.testing.assert_allclose(v["A1"], f(z), rtol=1e-12)
    slope = (f(z + H) - f(z - H)) / (2 * H)
    np.testing.assert_allclose(v["fprime1"], slope, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(v["dW1"], np.outer(f(z) * slope, z), rtol=RTOL, atol=ATOL)


# -- binary cross-entropy with an output exactly equal to its target -------------------------

# The loss accepts ŷ = 1 where y = 1 (and ŷ = 0 where y = 0): that term is 0·log 0 = 0, so the
# loss is finite, and the true gradient is 0 on every path (a regression test: the general path
# once computed ∂ℓ/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) = 0/0 = NaN there).
SATURATED_BCE = {
    "one-softmax-unit-y1": ("softmax", 0.5, 1.0),
    "formula-sigmoid-z40-y1": ("1/(1 + exp(-x))", 40.0, 1.0),
}


def test_an_overflowing_derivative_is_reported_not_printed_as_nan() -> None:
    # d/dz 1/(1 + exp(-z)) as written is exp(-z)/(1 + exp(-z))², which is inf/inf at z = -800.
    problem = {
        "network": {"input": 1, "layers": [{"units": 1, "activation": "1/(1 + exp(-x))"}]},
        "loss": "binary_cross_entropy",
        "learning_rate": 0.1,
        "parameters": {"W1": [[-800.0]], "b1": [0.0]},
        "x": [1.0],
        "y": [0.0],
    }
    with pytest.raises(nncalc.NumericError) as caught:
        nncalc.solve(nncalc.problem_from_dict(problem))
    assert caught.value.path == "fprime1"
    assert str(caught.value).startswith("<problem>: fprime1: the value is not finite")


@pytest.mark.parametrize("case", SATURATED_BCE)
def test_binary_cross_entropy_with_an_output_equal_to_its_target(case: str) -> None:
    activation, w, y = SATURATED_BCE[case]
    problem = {
        "network": {"input": 1, "layers": [{"units": 1, "activation": activation}]},
        "loss": "binary_cross_entropy",
        "learning_rate": 0.1,
        "parameters": {"W1": [[w]], "b1": [0.0]},
        "x": [1.0],
        "y": [y],
    }
    v = nncalc.solve(nncalc.problem_from_dict(problem)).values
    assert v["loss"] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(v["dW1"], [[0.0]], atol=1e-15)
    np.testing.assert_allclose(v["db1"], [0.0], atol=1e-15)

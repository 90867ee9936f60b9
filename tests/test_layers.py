"""Property tests of the conv2d, pooling, flatten and rnn layers.

Random small problems of each layer kind are solved by the engine and checked three ways:

* forward: every Z/A (and an rnn's h_t) against a naive implementation written here with
  explicit Python loops over output positions (conv2d as cross-correlation with zero padding,
  maxpool2d over the real entries of each window, avgpool2d dividing by the whole window so
  padding counts as zeros, as PyTorch's ``count_include_pad=True``; an rnn step by step);
* gradients: every dW/db (dWx/dWh for an rnn) against central finite differences of the
  engine's own loss, each parameter entry perturbed through ``dataclasses.replace``;
* backpropagation through time: dWx, dWh, db, dA1_t, delta1_t against a naive per-sample,
  per-step loop.

Nothing here imports the engine's layers: the oracles are written from the math alone.
Draws avoid relu kinks and maxpool ties (a margin is required) and keep |Z| moderate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nncalc

H = 1e-6  # finite-difference step
RTOL = 1e-5  # derivatives: analytic against central differences
ATOL = 1e-7  # ... plus this times max(1, |loss|)
FWD_RTOL, FWD_ATOL = 1e-9, 1e-10  # forward values: the same math, different rounding
Z_LIMIT = 12.0  # keep net inputs moderate (no saturation, exp stays tame)
MARGIN = 1e-4  # relu kinks and maxpool ties: skip draws closer than this

# ---------------------------------------------------------------------------------------------
# Activations and losses, written by hand for one number at a time


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


ACT = {
    "identity": lambda z: z,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda z: z if z > 0 else 0.0,
}
SLOPE = {
    "identity": lambda z: 1.0,
    "tanh": lambda z: 1.0 - math.tanh(z) ** 2,
    "sigmoid": lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
    "relu": lambda z: 1.0 if z > 0 else 0.0,
}
HIDDEN_ACTS = tuple(ACT)
# (loss, output activation): pairs whose loss is finite for any output
OUTPUTS = (
    ("half_sse", "identity"),
    ("sse", "tanh"),
    ("mse", "identity"),
    ("mse", "sigmoid"),
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
)


def activate(name: str, z: list[float]) -> list[float]:
    if name == "softmax":
        top = max(z)
        e = [math.exp(v - top) for v in z]
        return [v / sum(e) for v in e]
    return [ACT[name](v) for v in z]


def sample_loss(loss: str, a: list[float], y: list[float]) -> float:
    k = len(a)
    if loss == "half_sse":
        return 0.5 * sum((p - t) ** 2 for p, t in zip(a, y, strict=True))
    if loss == "sse":
        return sum((p - t) ** 2 for p, t in zip(a, y, strict=True))
    if loss == "mse":
        return sum((p - t) ** 2 for p, t in zip(a, y, strict=True)) / k
    if loss == "cross_entropy":
        return -sum(t * math.log(p) for p, t in zip(a, y, strict=True) if t != 0)
    return -sum(t * math.log(p) + (1 - t) * math.log(1 - p) for p, t in zip(a, y, strict=True))


def output_delta(loss: str, act: str, z: list[float], a: list[float], y: list[float]) -> list:
    """∂ℓ/∂z of one sample's (one step's) loss at the output layer."""
    k = len(a)
    if loss == "cross_entropy":  # softmax: ŷ·Σy − y
        return [p * sum(y) - t for p, t in zip(a, y, strict=True)]
    if loss == "binary_cross_entropy":  # sigmoid: ŷ − y
        return [p - t for p, t in zip(a, y, strict=True)]
    c = {"half_sse": 1.0, "sse": 2.0, "mse": 2.0 / k}[loss]
    return [c * (p - t) * SLOPE[act](v) for p, t, v in zip(a, y, z, strict=True)]


def dense(w: np.ndarray, b: np.ndarray | None, a: list[float]) -> list[float]:
    out = []
    for r in range(w.shape[0]):
        s = 0.0 if b is None else float(b[r])
        for c in range(w.shape[1]):
            s += float(w[r, c]) * a[c]
        out.append(s)
    return out


def dense_back(w: np.ndarray, delta: list[float]) -> list[float]:
    """Wᵀ·δ, by loops."""
    return [sum(float(w[r, c]) * delta[r] for r in range(w.shape[0])) for c in range(w.shape[1])]


# ---------------------------------------------------------------------------------------------
# Shared checks


def close(actual: Any, expected: Any, name: str, rtol: float, atol: float) -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    bad = ~(np.abs(actual - expected) <= atol + rtol * np.abs(expected))  # NaN counts as bad
    assert not bad.any(), (
        f"{name}: engine {actual[bad]} != oracle {expected[bad]} at {np.argwhere(bad).tolist()}"
        f"\nengine:\n{actual}\noracle:\n{expected}"
    )


def engine_loss(problem: Any, parameters: dict[str, np.ndarray]) -> float:
    return float(nncalc.solve(dataclasses.replace(problem, parameters=parameters)).values["loss"])


def finite_differences(problem: Any) -> dict[str, np.ndarray]:
    """∂L/∂θ of the engine's loss by central differences, for every parameter entry θ."""
    base = {k: v.copy() for k, v in problem.parameters.items()}
    grads = {}
    for name, value in base.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(*value.shape):
            plus, minus = value.copy(), value.copy()
            plus[idx] += H
            minus[idx] -= H
            up = engine_loss(problem, {**base, name: plus})
            down = engine_loss(problem, {**base, name: minus})
            g[idx] = (up - down) / (plus[idx] - minus[idx])
        grads[name] = g
    return grads


def check_parameter_gradients(problem: Any, values: dict[str, Any], shown: dict) -> None:
    """Every d{param} against finite differences (and in the shape it is shown in)."""
    tol = ATOL * max(1.0, abs(values["loss"]))
    for name, g in finite_differences(problem).items():
        got = np.asarray(values[f"d{name}"])
        assert got.shape == shown[name], f"d{name}: shown as {got.shape}, not {shown[name]}"
        close(got.reshape(g.shape), g, f"d{name}", RTOL, tol)


def solve(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if currently_in_test_context():
        note(f"problem = {data!r}")
    problem = nncalc.problem_from_dict(data)
    return problem, nncalc.solve(problem).values


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )


def array(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> st.SearchStrategy:
    elements = st.floats(low, high, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def targets(draw: st.DrawFn, loss: str, k: int, count: int) -> np.ndarray:
    """``count`` targets of k entries each: (count, k)."""
    if loss == "cross_entropy":
        y = np.zeros((count, k))
        for n in range(count):
            y[n, draw(st.integers(0, k - 1))] = 1.0
        eps = draw(st.sampled_from([0.0, 0.1]))  # one-hot or label-smoothed
        return y * (1 - eps) + eps / k
    if loss == "binary_cross_entropy":
        return draw(array((count, k), 0.0, 1.0))
    return draw(array((count, k), -1.5, 1.5))


@st.composite
def output_layer(draw: st.DrawFn) -> tuple[str, str, int]:
    loss, act = draw(st.sampled_from(OUTPUTS))
    k = draw(st.integers(2 if act == "softmax" else 1, 3))
    return loss, act, k


# ---------------------------------------------------------------------------------------------
# Convolutional networks: conv2d / maxpool2d / avgpool2d layers, flatten, a dense output


@dataclass
class MapLayer:
    kind: str  # conv2d, maxpool2d, avgpool2d
    in_shape: tuple[int, int, int]
    out_channels: int
    kernel: tuple[int, int]
    stride: int
    padding: int
    activation: str = "identity"  # conv2d only
    bias: bool = True
    spec: dict[str, Any] = field(default_factory=dict)  # as written in the problem


@dataclass
class ConvNet:
    in_shape: tuple[int, int, int]
    maps: list[MapLayer]
    units: int
    out_act: str
    out_bias: bool
    loss: str
    reduction: str
    lr: float
    params: dict[str, np.ndarray]
    X: np.ndarray  # (batch, C, H, W)
    Y: np.ndarray  # (batch, k)
    single: bool
    matrix_image: bool = False  # a one-channel single image written as H×W
    squeeze_kernels: bool = False  # 1×1-channel kernels written as kh×kw

    @property
    def flat(self) -> int:  # the layer number of flatten
        return len(self.maps) + 1

    @property
    def out(self) -> int:  # the layer number of the dense output
        return len(self.maps) + 2

    def to_dict(self) -> dict[str, Any]:
        layers = [m.spec for m in self.maps] + [{"type": "flatten"}]
        out: dict[str, Any] = {"units": self.units, "activation": self.out_act}
        if not self.out_bias:
            out["bias"] = False
        params = {}
        for name, v in self.params.items():
            if self.squeeze_kernels and v.ndim == 4 and v.shape[:2] == (1, 1):
                v = v[0, 0]
            params[name] = v.tolist()
        if self.single:
            x: Any = self.X[0, 0] if self.matrix_image else self.X[0]
            x, y = x.tolist(), self.Y[0].tolist()
        else:
            x, y = self.X.tolist(), self.Y.tolist()
        return {
            "network": {"input": list(self.in_shape), "layers": [*layers, out]},
            "loss": self.loss,
            "reduction": self.reduction,
            "learning_rate": self.lr,
            "parameters": params,
            "x": x,
            "y": y,
        }

    def __repr__(self) -> str:
        return f"ConvNet({self.to_dict()!r})"

    # -- the naive forward pass ----------------------------------------------------------

    def forward(self) -> tuple[dict[str, np.ndarray], float, list[float]]:
        """Z{l} and A{l} with a batch axis ((B, C, H, W) maps, (B, n) vectors), the loss, and
        the gap between the two largest entries of every maxpool window fed by a conv."""
        values: dict[str, np.ndarray] = {}
        a = self.X
        gaps: list[float] = []
        conv_below: MapLayer | None = None
        for i, m in enumerate(self.maps, start=1):
            if m.kind == "conv2d":
                b = self.params.get(f"b{i}")
                z = conv_naive(a, self.params[f"W{i}"], b, m.stride, m.padding)
                values[f"Z{i}"] = z
                a = np.vectorize(ACT[m.activation], otypes=[float])(z)
                conv_below = m
            elif m.kind == "maxpool2d":
                a, window_gaps = maxpool_naive(a, m.kernel, m.stride, m.padding)
                if conv_below is not None:  # ties matter only where gradients flow
                    relu = conv_below.activation == "relu"
                    gaps += [g for g, top in window_gaps if not (relu and top == 0.0)]
            else:
                a = avgpool_naive(a, m.kernel, m.stride, m.padding)
            values[f"A{i}"] = a
        flat = np.array(
            [[a[b, c, r, s] for c, r, s in np.ndindex(*a.shape[1:])] for b in range(len(a))]
        )
        values[f"A{self.flat}"] = flat
        w, bias = self.params[f"W{self.out}"], self.params.get(f"b{self.out}")
        zs = [dense(w, bias, list(row)) for row in flat]
        As = [activate(self.out_act, z) for z in zs]
        values[f"Z{self.out}"], values[f"A{self.out}"] = np.array(zs), np.array(As)
        losses = [sample_loss(self.loss, a_, list(y)) for a_, y in zip(As, self.Y, strict=True)]
        loss = sum(losses) / len(losses) if self.reduction == "mean" else sum(losses)
        return values, loss, gaps

    def shown(self, name: str, value: np.ndarray) -> np.ndarray:
        """As the engine shows it: one sample without its batch axis, one channel as a matrix;
        vectors of a batch as columns."""
        if value.ndim == 4:
            if not self.single:
                return value
            return value[0, 0] if value.shape[1] == 1 else value[0]
        return value[0] if self.single else value.T

    def kernel_shape(self, name: str) -> tuple[int, ...]:
        shape = self.params[name].shape
        return shape[2:] if len(shape) == 4 and shape[:2] == (1, 1) else shape


def positions(size: int, kernel: int, stride: int, padding: int) -> list[int]:
    """The first (padded) index of every window along one axis."""
    return list(range(0, size + 2 * padding - kernel + 1, stride))


def conv_naive(
    a: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, padding: int
) -> np.ndarray:
    """Z[n, o, p, q] = Σ_{c,i,j} W[o,c,i,j]·A[n, c, p·s + i − pad, q·s + j − pad] + b[o]."""
    batch, channels, h, wd = a.shape
    out_ch, _, kh, kw = w.shape
    rows, cols = positions(h, kh, stride, padding), positions(wd, kw, stride, padding)
    z = np.zeros((batch, out_ch, len(rows), len(cols)))
    for n in range(batch):
        for o in range(out_ch):
            for p, r0 in enumerate(rows):
                for q, c0 in enumerate(cols):
                    s = 0.0 if b is None else float(b[o])
                    for c in range(channels):
                        for i in range(kh):
                            for j in range(kw):
                                r, col = r0 + i - padding, c0 + j - padding
                                if 0 <= r < h and 0 <= col < wd:  # else a padded zero
                                    s += float(w[o, c, i, j]) * float(a[n, c, r, col])
                    z[n, o, p, q] = s
    return z


def _windows(a: np.ndarray, kernel: tuple[int, int], stride: int, padding: int):
    """(n, c, p, q, the real entries of that window)."""
    batch, channels, h, wd = a.shape
    kh, kw = kernel
    rows, cols = positions(h, kh, stride, padding), positions(wd, kw, stride, padding)
    for n in range(batch):
        for c in range(channels):
            for p, r0 in enumerate(rows):
                for q, c0 in enumerate(cols):
                    entries = [
                        float(a[n, c, r0 + i - padding, c0 + j - padding])
                        for i in range(kh)
                        for j in range(kw)
                        if 0 <= r0 + i - padding < h and 0 <= c0 + j - padding < wd
                    ]
                    yield n, c, p, q, entries, (len(rows), len(cols))


def maxpool_naive(
    a: np.ndarray, kernel: tuple[int, int], stride: int, padding: int
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    out = None
    gaps = []
    for n, c, p, q, entries, (oh, ow) in _windows(a, kernel, stride, padding):
        if out is None:
            out = np.zeros((a.shape[0], a.shape[1], oh, ow))
        top = sorted(entries, reverse=True)
        out[n, c, p, q] = top[0]
        gaps.append((top[0] - top[1] if len(top) > 1 else math.inf, top[0]))
    assert out is not None
    return out, gaps


def avgpool_naive(a: np.ndarray, kernel: tuple[int, int], stride: int, padding: int) -> np.ndarray:
    out = None
    for n, c, p, q, entries, (oh, ow) in _windows(a, kernel, stride, padding):
        if out is None:
            out = np.zeros((a.shape[0], a.shape[1], oh, ow))
        out[n, c, p, q] = sum(entries) / (kernel[0] * kernel[1])  # padding counts as zeros
    assert out is not None
    return out


MAP_KINDS = ("conv2d", "maxpool2d", "avgpool2d")


def sizes(at_most: int) -> st.SearchStrategy[int]:
    """A kernel size of 1 to 3 (at most ``at_most``), 2 and 3 more often than 1."""
    return st.sampled_from([k for k in (1, 2, 2, 3, 3) if k <= at_most])


@st.composite
def map_layer(draw: st.DrawFn, kind: str, shape: tuple[int, int, int]) -> MapLayer:
    c, h, w = shape
    spec: dict[str, Any] = {"type": kind}
    if kind == "conv2d":
        padding = draw(st.sampled_from((0, 0, 1, 1, 2)))  # 2 can exceed kernel − 1
        kh = draw(sizes(h + 2 * padding))
        kw = draw(sizes(w + 2 * padding))
        stride = draw(st.integers(1, 2))
        out_channels = draw(st.integers(1, 2))
        activation = draw(st.sampled_from(HIDDEN_ACTS))
        bias = draw(st.booleans())
        spec["channels"] = out_channels
        if activation != "identity" or draw(st.booleans()):  # identity is the default
            spec["activation"] = activation
        if not bias:
            spec["bias"] = False
    else:
        kh, kw = draw(sizes(h)), draw(sizes(w))
        padding = draw(st.integers(0, min(kh, kw) // 2))
        stride = draw(st.integers(1, 2)) if draw(st.booleans()) else kh
        # the default stride is the window; written out unless the window is square (see
        # test_pooling_default_stride_of_a_non_square_window)
        if stride != kh or kh != kw or draw(st.booleans()):
            spec["stride"] = stride
        out_channels, activation, bias = c, "identity", False
    spec["kernel"] = kh if kh == kw and draw(st.booleans()) else [kh, kw]
    if kind == "conv2d" and (stride != 1 or draw(st.booleans())):
        spec["stride"] = stride
    if padding or draw(st.booleans()):
        spec["padding"] = padding
    return MapLayer(kind, shape, out_channels, (kh, kw), stride, padding, activation, bias, spec)


def out_shape(m: MapLayer) -> tuple[int, int, int]:
    _, h, w = m.in_shape
    rows = positions(h, m.kernel[0], m.stride, m.padding)
    cols = positions(w, m.kernel[1], m.stride, m.padding)
    return m.out_channels, len(rows), len(cols)


@st.composite
def conv_nets(draw: st.DrawFn, kinds: tuple[str, ...] | None = None) -> ConvNet:
    side = st.sampled_from((1, 2, 3, 3, 4, 4))
    shape = (draw(st.integers(1, 2)), draw(side), draw(side))
    in_shape = shape
    if kinds is None:
        kinds = tuple(draw(st.lists(st.sampled_from(MAP_KINDS), min_size=1, max_size=3)))
        if "conv2d" not in kinds:  # mostly with weights below a pooling
            kinds = ("conv2d", *kinds[:2]) if draw(st.integers(0, 3)) else kinds
    maps = []
    for kind in kinds:
        m = draw(map_layer(kind, shape))
        maps.append(m)
        shape = out_shape(m)
    flat = math.prod(shape)
    assume(flat <= 16)  # keep the dense layer (and its finite differences) small
    loss, out_act, k = draw(output_layer())
    single = draw(st.booleans())
    batch = 1 if single else draw(st.integers(2, 3))
    params: dict[str, np.ndarray] = {}
    for i, m in enumerate(maps, start=1):
        if m.kind == "conv2d":
            params[f"W{i}"] = draw(array((m.out_channels, m.in_shape[0], *m.kernel), -0.8, 0.8))
            if m.bias:
                params[f"b{i}"] = draw(array((m.out_channels,), -0.5, 0.5))
    out = len(maps) + 2
    params[f"W{out}"] = draw(array((k, flat)))
    out_bias = draw(st.booleans())
    if out_bias:
        params[f"b{out}"] = draw(array((k,), -0.5, 0.5))
    X = draw(array((batch, *in_shape), -2.0, 2.0))
    return ConvNet(
        in_shape=in_shape,
        maps=maps,
        units=k,
        out_act=out_act,
        out_bias=out_bias,
        loss=loss,
        reduction=draw(st.sampled_from(("mean", "sum"))),
        lr=draw(st.sampled_from((0.0, 0.1, 0.5))),
        params=params,
        X=X,
        Y=draw(targets(loss, k, batch)),
        single=single,
        matrix_image=single and in_shape[0] == 1 and draw(st.booleans()),
        squeeze_kernels=draw(st.booleans()),
    )


def conv_usable(net: ConvNet) -> tuple[dict[str, np.ndarray], float]:
    """The oracle's forward pass; rejects draws near a relu kink or a maxpool tie."""
    values, loss, gaps = net.forward()
    assume(math.isfinite(loss))
    for i, m in enumerate(net.maps, start=1):
        if m.kind == "conv2d":
            z = values[f"Z{i}"]
            assume(np.abs(z).max() <= Z_LIMIT)
            if m.activation == "relu":
                assume(np.abs(z).min() > MARGIN)
    assume(np.abs(values[f"Z{net.out}"]).max() <= Z_LIMIT)
    assume(all(g > MARGIN for g in gaps))
    return values, loss


def check_conv_forward(net: ConvNet, values: dict[str, Any]) -> float:
    expected, loss = conv_usable(net)
    for name, value in expected.items():
        close(values[name], net.shown(name, value), name, FWD_RTOL, FWD_ATOL)
    # the activation of a conv layer is the activation applied to the engine's own Z
    for i, m in enumerate(net.maps, start=1):
        if m.kind == "conv2d":
            a = np.vectorize(ACT[m.activation], otypes=[float])(np.asarray(values[f"Z{i}"]))
            close(values[f"A{i}"], a, f"A{i} = f(Z{i})", FWD_RTOL, FWD_ATOL)
    assert values["loss"] == pytest_approx(loss)
    return loss


def pytest_approx(x: float) -> Any:
    return pytest.approx(x, rel=FWD_RTOL, abs=FWD_ATOL)


def conv_shown_shapes(net: ConvNet) -> dict[str, tuple[int, ...]]:
    return {name: net.kernel_shape(name) for name in net.params}


@examples(100)
@given(net=conv_nets())
def test_conv_forward_matches_the_naive_loops(net: ConvNet) -> None:
    conv_usable(net)
    _, values = solve(net.to_dict())
    check_conv_forward(net, values)


@examples(50)
@given(net=conv_nets())
def test_conv_gradients_match_finite_differences(net: ConvNet) -> None:
    conv_usable(net)
    problem, values = solve(net.to_dict())
    check_conv_forward(net, values)
    check_parameter_gradients(problem, values, conv_shown_shapes(net))
    for name, old in net.params.items():  # sgd: θ' = θ − α·∂L/∂θ
        new = np.asarray(values[f"{name}_new"])
        assert new.shape == net.kernel_shape(name)
        g = np.asarray(values[f"d{name}"]).reshape(old.shape)
        close(new.reshape(old.shape), old - net.lr * g, f"{name}_new", 1e-12, 1e-15)


@examples(20)
@given(data=st.data())
def test_each_window_layer_alone_then_conv(data: st.DataObject) -> None:
    """A pooling layer on the input, then a conv: pooling forward on x, gradients of the conv."""
    kind = data.draw(st.sampled_from(("maxpool2d", "avgpool2d")))
    net = data.draw(conv_nets(kinds=(kind, "conv2d")))
    conv_usable(net)
    problem, values = solve(net.to_dict())
    check_conv_forward(net, values)
    check_parameter_gradients(problem, values, conv_shown_shapes(net))


@examples(20)
@given(data=st.data())
def test_conv_pool_conv(data: st.DataObject) -> None:
    """Two conv layers with a pooling between: gradients flow back through the pooling."""
    kind = data.draw(st.sampled_from(("maxpool2d", "avgpool2d")))
    net = data.draw(conv_nets(kinds=("conv2d", kind, "conv2d")))
    conv_usable(net)
    problem, values = solve(net.to_dict())
    check_conv_forward(net, values)
    check_parameter_gradients(problem, values, conv_shown_shapes(net))


# -- worked examples, small enough to check by hand -------------------------------------------


def test_conv_stride_padding_worked_example() -> None:
    # x (1×3×3), kernel 2×2, stride 2, padding 1: windows start at padded rows/cols 0 and 2.
    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    w = [[1.0, -1.0], [0.5, 2.0]]
    data = {
        "network": {
            "input": [1, 3, 3],
            "layers": [
                {"type": "conv2d", "channels": 1, "kernel": 2, "stride": 2, "padding": 1},
                {"type": "flatten"},
                {"units": 1, "activation": "identity", "bias": False},
            ],
        },
        "loss": "half_sse",
        "learning_rate": 0.1,
        "parameters": {"W1": w, "b1": [0.25], "W3": [[1.0, 0.0, 0.0, 0.0]]},
        "x": x,
        "y": [0.0],
    }
    _, v = solve(data)
    # padded x: row 0 and col 0 are zeros; window (0,0) sees only x[0][0] at kernel (1,1):
    # 2·1 + 0.25 = 2.25; window (0,1) sees x[0][1], x[0][2] at kernel (1,0), (1,1): 0.5·2 + 2·3
    # + 0.25 = 7.25; window (1,0): x[1][0]·(−1) + x[2][0]·2 = −4 + 14 = 10.25 with the bias;
    # window (1,1): 5 − 6 + 0.5·8 + 2·9 + 0.25 = 21.25.
    np.testing.assert_allclose(v["Z1"], [[2.25, 7.25], [10.25, 21.25]], rtol=1e-12)
    # L = ½·2.25²: δ1 = 2.25 at (0,0) only, so dW1[i, j] = 2.25·(padded x at (i, j)) for the
    # window (0,0), whose only real entry, x[0][0] = 1, sits at (1, 1)
    np.testing.assert_allclose(v["dW1"], [[0.0, 0.0], [0.0, 2.25]], rtol=1e-12)
    np.testing.assert_allclose(v["db1"], [2.25], rtol=1e-12)


def test_avgpool_padding_counts_zeros_and_maxpool_ignores_them() -> None:
    x = [[-1.0, -2.0], [-3.0, -4.0]]
    for kind, expected in (
        ("avgpool2d", [[-0.25, -0.5], [-0.75, -1.0]]),  # each 2×2 window has one real entry
        ("maxpool2d", [[-1.0, -2.0], [-3.0, -4.0]]),  # padding never wins, even over negatives
    ):
        data = {
            "network": {
                "input": [1, 2, 2],
                "layers": [
                    {"type": kind, "kernel": 2, "stride": 2, "padding": 1},
                    {"type": "flatten"},
                    {"units": 1, "activation": "identity"},
                ],
            },
            "loss": "mse",
            "learning_rate": 0.1,
            "parameters": {"W3": [[1.0, 1.0, 1.0, 1.0]], "b3": [0.0]},
            "x": x,
            "y": [0.0],
        }
        _, v = solve(data)
        np.testing.assert_allclose(v["A1"], expected, rtol=1e-12, err_msg=kind)


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
def test_pooling_default_stride_of_a_non_square_window(kind: str) -> None:
    """The default stride of a pooling layer is its window (README: "pooling default the
    window size"; PyTorch: stride = kernel_size): a 2×1 window steps 2 down and 1 across, so
    every column of the input is pooled; a 1×2 window steps 1 down and 2 across."""
    x = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    pooled = {
        ("maxpool2d", (2, 1)): [[5.0, 6.0, 7.0, 8.0]],
        ("avgpool2d", (2, 1)): [[3.0, 4.0, 5.0, 6.0]],
        ("maxpool2d", (1, 2)): [[2.0, 4.0], [6.0, 8.0]],
        ("avgpool2d", (1, 2)): [[1.5, 3.5], [5.5, 7.5]],
    }
    for kernel in ((2, 1), (1, 2)):
        expected = np.array(pooled[kind, kernel])
        data = {
            "network": {
                "input": [1, 2, 4],
                "layers": [
                    {"type": kind, "kernel": list(kernel)},
                    {"type": "flatten"},
                    {"units": 1, "activation": "identity"},
                ],
            },
            "loss": "mse",
            "learning_rate": 0.1,
            "init": {"seed": 1},
            "x": x,
            "y": [0.0],
        }
        _, v = solve(data)
        np.testing.assert_array_equal(v["A1"], expected, err_msg=f"kernel {list(kernel)}")


# ---------------------------------------------------------------------------------------------
# Recurrent networks: rnn (output every or last), an optional hidden dense layer, a dense output


@dataclass
class RnnNet:
    n: int
    units: int
    activation: str
    bias: bool
    output: str  # every | last
    h0: np.ndarray
    hidden: int  # units of a hidden dense tanh layer after the rnn, or 0
    k: int
    out_act: str
    loss: str
    reduction: str
    lr: float
    params: dict[str, np.ndarray]
    X: np.ndarray  # (batch, T, n)
    Y: np.ndarray  # (batch, T, k) for output every, (batch, k) for last
    single: bool
    spec: dict[str, Any] = field(default_factory=dict)
    scalar_steps: bool = False  # a single sequence of 1-number inputs written as numbers

    @property
    def T(self) -> int:
        return self.X.shape[1]

    @property
    def batch(self) -> int:
        return self.X.shape[0]

    @property
    def dense_layers(self) -> list[tuple[int, str]]:
        """(layer number, activation) of the dense layers after the rnn."""
        out = [(2, "tanh")] if self.hidden else []
        return [*out, (len(out) + 2, self.out_act)]

    def to_dict(self) -> dict[str, Any]:
        layers: list[dict[str, Any]] = [self.spec]
        if self.hidden:
            layers.append({"units": self.hidden, "activation": "tanh"})
        layers.append({"units": self.k, "activation": self.out_act})
        if self.single:
            x: Any = self.X[0].tolist()
            if self.scalar_steps:
                x = [row[0] for row in x]
            y: Any = self.Y[0].tolist()
        else:
            x, y = self.X.tolist(), self.Y.tolist()
        return {
            "network": {"input": self.n, "layers": layers},
            "loss": self.loss,
            "reduction": self.reduction,
            "learning_rate": self.lr,
            "parameters": {k: v.tolist() for k, v in self.params.items()},
            "x": x,
            "y": y,
        }

    def __repr__(self) -> str:
        return f"RnnNet({self.to_dict()!r})"

    def dense_stack(self, h: list[float]) -> tuple[list[list[float]], list[list[float]]]:
        zs, As = [], []
        a = h
        for layer, act in self.dense_layers:
            z = dense(self.params[f"W{layer}"], self.params.get(f"b{layer}"), a)
            a = activate(act, z)
            zs.append(z)
            As.append(a)
        return zs, As

    def forward(self) -> dict[str, Any]:
        """Per sample b: hs[b][t] (t = 0 … T, hs[b][0] = h0), zs[b][t − 1] (= Z1_t{t}), the dense
        layers' Z/A per read-out step, and the loss."""
        f = ACT[self.activation]
        wx, wh, b = self.params["Wx1"], self.params["Wh1"], self.params.get("b1")
        hs, zs, dense_z, dense_a = [], [], [], []
        losses = []
        for n in range(self.batch):
            h = [float(v) for v in self.h0]
            seq_h, seq_z = [h], []
            for t in range(self.T):
                z = []
                for r in range(self.units):
                    s = 0.0 if b is None else float(b[r])
                    s += sum(float(wx[r, c]) * float(self.X[n, t, c]) for c in range(self.n))
                    s += sum(float(wh[r, c]) * h[c] for c in range(self.units))
                    z.append(s)
                h = [f(v) for v in z]
                seq_z.append(z)
                seq_h.append(h)
            hs.append(seq_h)
            zs.append(seq_z)
            reads = range(1, self.T + 1) if self.output == "every" else [self.T]
            per_step_z, per_step_a, total = [], [], 0.0
            for t in reads:
                dz, da = self.dense_stack(seq_h[t])
                per_step_z.append(dz)
                per_step_a.append(da)
                y = self.Y[n, t - 1] if self.output == "every" else self.Y[n]
                total += sample_loss(self.loss, da[-1], list(y))  # summed over the steps
            dense_z.append(per_step_z)
            dense_a.append(per_step_a)
            losses.append(total)
        loss = sum(losses) / len(losses) if self.reduction == "mean" else sum(losses)
        return {"h": hs, "z": zs, "dense_z": dense_z, "dense_a": dense_a, "loss": loss}

    def bptt(self) -> dict[str, np.ndarray]:
        """Backpropagation through time by loops: ∂L/∂h_t, δ_t per step and sample, and the
        rnn's parameter gradients summed over steps and samples."""
        fwd = self.forward()
        slope = SLOPE[self.activation]
        wh = self.params["Wh1"]
        scale = 1.0 / self.batch if self.reduction == "mean" else 1.0
        u, n_in = self.units, self.n
        dwx, dwh, db = np.zeros((u, n_in)), np.zeros((u, u)), np.zeros(u)
        dh_all = np.zeros((self.batch, self.T, u))
        delta_all = np.zeros((self.batch, self.T, u))
        for n in range(self.batch):
            above = [[0.0] * u for _ in range(self.T)]  # ∂L/∂h_t from the dense layers
            reads = list(range(1, self.T + 1)) if self.output == "every" else [self.T]
            for r, t in enumerate(reads):
                dz, da = fwd["dense_z"][n][r], fwd["dense_a"][n][r]
                y = list(self.Y[n, t - 1] if self.output == "every" else self.Y[n])
                delta = [
                    scale * d for d in output_delta(self.loss, self.out_act, dz[-1], da[-1], y)
                ]
                for j in range(len(self.dense_layers) - 1, -1, -1):
                    layer, _ = self.dense_layers[j]
                    back = dense_back(self.params[f"W{layer}"], delta)
                    if j > 0:  # through the hidden tanh layer
                        delta = [g * SLOPE["tanh"](z) for g, z in zip(back, dz[j - 1], strict=True)]
                    else:
                        above[t - 1] = back
            nxt = [0.0] * u  # δ_{t+1}
            for t in range(self.T, 0, -1):
                carried = dense_back(wh, nxt) if t < self.T else [0.0] * u
                dh = [a + c for a, c in zip(above[t - 1], carried, strict=True)]
                z = fwd["z"][n][t - 1]
                delta = [g * slope(v) for g, v in zip(dh, z, strict=True)]
                h_prev = fwd["h"][n][t - 1]
                for r in range(u):
                    db[r] += delta[r]
                    for c in range(n_in):
                        dwx[r, c] += delta[r] * float(self.X[n, t - 1, c])
                    for c in range(u):
                        dwh[r, c] += delta[r] * h_prev[c]
                dh_all[n, t - 1] = dh
                delta_all[n, t - 1] = delta
                nxt = delta
        return {"dWx1": dwx, "dWh1": dwh, "db1": db, "dh": dh_all, "delta": delta_all}

    def per_step(self, value: np.ndarray) -> np.ndarray:
        """One sample's or a batch's vectors at one step, as shown: (u,) or (u, batch)."""
        return value[0] if self.single else value.T

    def read_out(self, per_sample: list[list[list[float]]]) -> np.ndarray:
        """A dense layer's values as columns: step-major (step t, then sample) for output every."""
        if self.output == "every":
            cols = [per_sample[n][t] for t in range(self.T) for n in range(self.batch)]
        else:
            cols = [per_sample[n][0] for n in range(self.batch)]
        return np.array(cols).T


@st.composite
def rnn_nets(draw: st.DrawFn, output: str | None = None, single: bool | None = None) -> RnnNet:
    n, u, T = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    activation = draw(st.sampled_from(HIDDEN_ACTS))
    output = output or draw(st.sampled_from(("every", "last")))
    bias = draw(st.booleans())
    spec: dict[str, Any] = {"type": "rnn", "units": u}
    if activation != "tanh" or draw(st.booleans()):  # tanh is the default
        spec["activation"] = activation
    if output != "every" or draw(st.booleans()):
        spec["output"] = output
    if not bias:
        spec["bias"] = False
    h0 = np.zeros(u)
    if draw(st.booleans()):
        h0 = draw(array((u,), -0.9, 0.9))
        spec["h0"] = h0.tolist()
    hidden = draw(st.sampled_from((0, 0, 2)))
    loss, out_act, k = draw(output_layer())
    single = draw(st.booleans()) if single is None else single
    batch = 1 if single else draw(st.integers(2, 3))
    params = {"Wx1": draw(array((u, n))), "Wh1": draw(array((u, u), -0.8, 0.8))}
    if bias:
        params["b1"] = draw(array((u,), -0.5, 0.5))
    fan_in = u
    for layer, width in ([(2, hidden)] if hidden else []) + [(3 if hidden else 2, k)]:
        params[f"W{layer}"] = draw(array((width, fan_in)))
        params[f"b{layer}"] = draw(array((width,), -0.5, 0.5))
        fan_in = width
    X = draw(array((batch, T, n), -2.0, 2.0))
    Y = draw(targets(loss, k, batch * T if output == "every" else batch))
    Y = Y.reshape(batch, T, k) if output == "every" else Y
    return RnnNet(
        n=n,
        units=u,
        activation=activation,
        bias=bias,
        output=output,
        h0=h0,
        hidden=hidden,
        k=k,
        out_act=out_act,
        loss=loss,
        reduction=draw(st.sampled_from(("mean", "sum"))),
        lr=draw(st.sampled_from((0.0, 0.1, 0.5))),
        params=params,
        X=X,
        Y=Y,
        single=single,
        spec=spec,
        scalar_steps=single and n == 1 and draw(st.booleans()),
    )


def rnn_usable(net: RnnNet) -> dict[str, Any]:
    fwd = net.forward()
    assume(math.isfinite(fwd["loss"]))
    z = np.array(fwd["z"])
    assume(np.abs(z).max() <= Z_LIMIT)
    if net.activation == "relu":
        assume(np.abs(z).min() > MARGIN)
    for per_step in fwd["dense_z"]:
        for zs in per_step:
            assume(max(abs(v) for v in zs[-1]) <= Z_LIMIT)
    return fwd


def check_rnn_forward(net: RnnNet, values: dict[str, Any]) -> None:
    fwd = rnn_usable(net)
    z, h = np.array(fwd["z"]), np.array(fwd["h"])  # (batch, T, u), (batch, T + 1, u)
    for t in range(1, net.T + 1):
        close(values[f"Z1_t{t}"], net.per_step(z[:, t - 1]), f"Z1_t{t}", FWD_RTOL, FWD_ATOL)
        close(values[f"A1_t{t}"], net.per_step(h[:, t]), f"A1_t{t}", FWD_RTOL, FWD_ATOL)
    for j, (layer, _) in enumerate(net.dense_layers):
        for kind, key in (("Z", "dense_z"), ("A", "dense_a")):
            cols = net.read_out([[step[j] for step in sample] for sample in fwd[key]])
            got = np.asarray(values[f"{kind}{layer}"])
            if net.single and cols.shape[1] == 1:  # one column: shown as a vector
                cols = cols[:, 0]
            close(got, cols, f"{kind}{layer}", FWD_RTOL, FWD_ATOL)
    assert values["loss"] == pytest_approx(fwd["loss"])


def rnn_shown_shapes(net: RnnNet) -> dict[str, tuple[int, ...]]:
    return {name: v.shape for name, v in net.params.items()}


@examples(100)
@given(net=rnn_nets())
def test_rnn_forward_and_bptt_match_the_naive_loops(net: RnnNet) -> None:
    rnn_usable(net)
    _, values = solve(net.to_dict())
    check_rnn_forward(net, values)
    naive = net.bptt()
    tol = ATOL * 1e-3  # the same sums in another order: only rounding differs
    for name in ("dWx1", "dWh1", "db1"):
        if name == "db1" and not net.bias:
            assert "db1" not in values
            continue
        close(values[name], naive[name], name, 1e-9, tol)
    for t in range(1, net.T + 1):
        close(values[f"dA1_t{t}"], net.per_step(naive["dh"][:, t - 1]), f"dA1_t{t}", 1e-9, tol)
        delta = net.per_step(naive["delta"][:, t - 1])
        close(values[f"delta1_t{t}"], delta, f"delta1_t{t}", 1e-9, tol)


@examples(40)
@given(data=st.data())
def test_rnn_gradients_match_finite_differences(data: st.DataObject) -> None:
    output = data.draw(st.sampled_from(("every", "last")))
    net = data.draw(rnn_nets(output=output))
    rnn_usable(net)
    problem, values = solve(net.to_dict())
    check_rnn_forward(net, values)
    check_parameter_gradients(problem, values, rnn_shown_shapes(net))
    for name, old in net.params.items():  # sgd: θ' = θ − α·∂L/∂θ
        g = np.asarray(values[f"d{name}"])
        close(values[f"{name}_new"], old - net.lr * g, f"{name}_new", 1e-12, 1e-15)


@examples(20)
@given(data=st.data())
def test_rnn_batch_mean_is_the_mean_of_single_sequences(data: st.DataObject) -> None:
    """A batch with reduction mean: loss and dWx/dWh/db are the means over its sequences, each
    solved alone (an engine-only identity, independent of the oracle)."""
    net = data.draw(rnn_nets(single=False))
    net.reduction = "mean"
    rnn_usable(net)
    _, batch_values = solve(net.to_dict())
    singles = []
    for b in range(net.batch):
        one = dataclasses.replace(net, X=net.X[b : b + 1], Y=net.Y[b : b + 1], single=True)
        one.scalar_steps = False
        singles.append(solve(one.to_dict())[1])
    names = ["loss", *[f"d{p}" for p in net.params]]
    assert set(names) <= set(batch_values) and len(singles) == net.batch
    for name in names:
        mean = sum(np.asarray(v[name]) for v in singles) / net.batch
        close(batch_values[name], mean, name, 1e-9, 1e-12)


def test_rnn_worked_example() -> None:
    # u = 1, n = 1, identity activation, T = 2, output last, half_sse: h1 = 0.5·1 + 0.5·h0 =
    # 0.5 + 0.5·0.2 = 0.6; h2 = 0.5·2 + 0.5·0.6 = 1.3; ŷ = 2·1.3 = 2.6; L = ½(2.6 − 1)² = 1.28.
    data = {
        "network": {
            "input": 1,
            "layers": [
                {
                    "type": "rnn",
                    "units": 1,
                    "activation": "identity",
                    "output": "last",
                    "bias": False,
                    "h0": [0.2],
                },
                {"units": 1, "activation": "identity", "bias": False},
            ],
        },
        "loss": "half_sse",
        "learning_rate": 0.1,
        "parameters": {"Wx1": [[0.5]], "Wh1": [[0.5]], "W2": [[2.0]]},
        "x": [[1.0], [2.0]],
        "y": 1.0,
    }
    _, v = solve(data)
    np.testing.assert_allclose(v["A1_t1"], [0.6], rtol=1e-12)
    np.testing.assert_allclose(v["A1_t2"], [1.3], rtol=1e-12)
    assert v["loss"] == pytest_approx(1.28)
    # δ2 = 1.6; ∂L/∂h2 = 3.2 = δ1_t2; ∂L/∂h1 = 0.5·3.2 = 1.6 = δ1_t1 (no read-out at t = 1).
    np.testing.assert_allclose(v["delta1_t2"], [3.2], rtol=1e-12)
    np.testing.assert_allclose(v["delta1_t1"], [1.6], rtol=1e-12)
    # dWx = 3.2·2 + 1.6·1 = 8; dWh = 3.2·h1 + 1.6·h0 = 1.92 + 0.32 = 2.24
    np.testing.assert_allclose(v["dWx1"], [[8.0]], rtol=1e-12)
    np.testing.assert_allclose(v["dWh1"], [[2.24]], rtol=1e-12)

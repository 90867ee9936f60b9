"""The NumPy engine: forward pass, backpropagation and one gradient step.

It reads like a worked solution.  Each operation keeps its backward rule next
to its forward rule, and :func:`solve` records every intermediate, in order, as
a named :class:`Step` with the equation that produced it.

Conventions (as in the reference course): samples are columns, so for layer l
``Z{l} = W{l}·A{l-1} + b{l}`` with W of shape (units, inputs) and Z of shape
(units, batch).  ``delta{l}`` is ∂loss/∂Z{l} for the *reduced* loss (mean or sum
over the batch), so the gradients need no further scaling.  Feature maps are
(batch, channels, height, width) (see :mod:`nncalc.layers`); an rnn keeps one
(units, batch) column block per time step, named ``A1_t3`` and so on, and the
dense layers above it see the steps side by side as extra columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nncalc import layers
from nncalc.errors import NumericError
from nncalc.formula import Formula, grad, param_symbol, sym
from nncalc.names import canonical_name
from nncalc.optimizers import prev
from nncalc.work import worked

if TYPE_CHECKING:
    from nncalc.expr import Variant
    from nncalc.problem import Layer, Problem


def _substitute(formula: str, variable: str) -> str:
    """Write an activation formula in terms of the layer's net input."""
    return re.sub(r"(?<![A-Za-z\\_])x(?![A-Za-z_])", variable, formula)


# ---------------------------------------------------------------------------
# Activations: forward rule and backward rule side by side


class Elementwise:
    """A = f(Z) entry by entry; backward: ∂L/∂Z = ∂L/∂A ⊙ f'(Z)."""

    def __init__(self, layer: Layer) -> None:
        assert layer.elementwise is not None
        self.f = layer.elementwise

    def forward(self, z: np.ndarray, variant: Variant | None = None) -> np.ndarray:
        return self.f(z, variant=variant)

    def derivative(self, z: np.ndarray, variant: Variant | None = None) -> np.ndarray:
        return self.f.derivative(z, variant=variant)

    def formula(self, z: Formula) -> Formula:
        return Formula(_substitute(self.f.text, z.text), _substitute(self.f.latex, z.latex))

    def derivative_formula(self, z: Formula) -> Formula:
        text = _substitute(self.f.derivative_text, z.text)
        return Formula(text, _substitute(self.f.derivative_latex, z.latex))


class Softmax:
    """ŷ = e^Z / Σ e^Z per column; backward through its Jacobian diag(ŷ) − ŷŷᵀ."""

    def forward(self, z: np.ndarray, variant: Variant | None = None) -> np.ndarray:
        # Shifting by the column maximum changes nothing mathematically and keeps e^z finite.
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    @staticmethod
    def log(z: np.ndarray) -> np.ndarray:
        """log softmax(z) = z − logsumexp(z), finite even where softmax underflows to 0."""
        shifted = z - z.max(axis=0, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))

    @staticmethod
    def backward(a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        # (diag(ŷ) − ŷŷᵀ)·g = ŷ ⊙ (g − ŷᵀg), one column per sample, without forming J.
        return a * (grad_a - (a * grad_a).sum(axis=0, keepdims=True))

    def formula(self, z: Formula) -> Formula:
        return Formula(f"softmax({z.text})", rf"\operatorname{{softmax}}({z.latex})")


# ---------------------------------------------------------------------------
# Losses per sample (a column); the batch reduction is applied by the caller


class Loss:
    """A per-sample loss ℓ(ŷ, y) with its gradient ∂ℓ/∂ŷ."""

    name: str
    formula: Formula  # per sample, in ŷ and y
    gradient_formula: Formula

    def per_sample(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Any) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CrossEntropy(Loss):
    name = "cross_entropy"
    formula = Formula("−Σ y·log ŷ", r"-\sum_i y_i \log \hat{y}_i")
    gradient_formula = Formula("−y / ŷ", r"-\frac{y}{\hat{y}}")

    def per_sample(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Any) -> np.ndarray:
        # With softmax, log ŷ = Z − logsumexp(Z) stays finite when ŷ underflows to 0.
        log_a = Softmax.log(z) if isinstance(act, Softmax) else _log_where(y, a, "ŷ")
        return -_xlogy(y, log_a).sum(axis=0)

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        # ∂(−Σ y log ŷ)/∂ŷ = −y/ŷ, and 0 where y = 0 (that term is absent from the loss).
        return np.where(y == 0, 0.0, -y / np.where(a == 0, 1.0, a))


class BinaryCrossEntropy(Loss):
    name = "binary_cross_entropy"
    formula = Formula(
        "−Σ [y·log ŷ + (1−y)·log(1−ŷ)]",
        r"-\sum_i \left[y_i \log \hat{y}_i + (1-y_i)\log(1-\hat{y}_i)\right]",
    )
    gradient_formula = Formula("(ŷ − y) / (ŷ(1 − ŷ))", r"\frac{\hat{y} - y}{\hat{y}(1-\hat{y})}")

    def per_sample(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Any) -> np.ndarray:
        if _is_sigmoid(act):
            # log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z): finite for any z.
            log_a, log_1a = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
        else:
            log_a, log_1a = _log_where(y, a, "ŷ"), _log_where(1.0 - y, 1.0 - a, "1 − ŷ")
        return -(_xlogy(y, log_a) + _xlogy(1.0 - y, log_1a)).sum(axis=0)

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        # ∂ℓ/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)); 0 where ŷ = y, including a saturated ŷ ∈ {0, 1}.
        denominator = a * (1.0 - a)
        return np.where(a == y, 0.0, (a - y) / np.where(denominator == 0, 1.0, denominator))


class SquaredError(Loss):
    """scale·Σ (ŷ − y)²: sse (scale 1), half_sse (½) and mse (1/k)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.half = name == "half_sse"
        self.mean = name == "mse"
        lead = {
            "sse": ("", ""),
            "half_sse": ("½", r"\frac{1}{2}"),
            "mse": ("(1/k)", r"\frac{1}{k}"),
        }
        t, tex = lead[name]
        self.formula = Formula(f"{t}Σ (ŷ − y)²", rf"{tex}\sum_i (\hat{{y}}_i - y_i)^2")
        g, gtex = {"sse": ("2", "2"), "half_sse": ("", ""), "mse": ("(2/k)", r"\frac{2}{k}")}[name]
        self.gradient_formula = Formula(f"{g}(ŷ − y)", rf"{gtex}(\hat{{y}} - y)")

    def _scale(self, k: int) -> float:
        return 0.5 if self.half else (1.0 / k if self.mean else 1.0)

    def per_sample(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Any) -> np.ndarray:
        return self._scale(a.shape[0]) * ((a - y) ** 2).sum(axis=0)

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 2.0 * self._scale(a.shape[0]) * (a - y)


def make_loss(name: str) -> Loss:
    if name == "cross_entropy":
        return CrossEntropy()
    if name == "binary_cross_entropy":
        return BinaryCrossEntropy()
    return SquaredError(name)


def _is_sigmoid(act: Any) -> bool:
    return isinstance(act, Elementwise) and act.f.text == "sigmoid(x)"


def _xlogy(weight: np.ndarray, log_a: np.ndarray) -> np.ndarray:
    """weight·log a with the convention 0·log 0 = 0 (a zero target ignores its output)."""
    return np.where(weight == 0, 0.0, weight * log_a)


def _log_where(weight: np.ndarray, a: np.ndarray, what: str) -> np.ndarray:
    """log a, refusing a ≤ 0 wherever its weight in the loss is not zero."""
    bad = (a <= 0) & (weight != 0)
    if bad.any():
        raise NumericError(
            f"the loss is infinite: log of {what} ≤ 0 (at {what} = {a[bad].min():.6g}); "
            "use an output activation with values in (0, 1), such as softmax or sigmoid",
            path="loss",
        )
    return np.log(np.where(a > 0, a, 1.0))


def _fast_output_delta(act: Any, loss: Loss) -> bool:
    """Pairs whose δ_L = ∂L/∂Z_L has a closed form that skips the Jacobian."""
    return (isinstance(act, Softmax) and isinstance(loss, CrossEntropy)) or (
        _is_sigmoid(act) and isinstance(loss, BinaryCrossEntropy)
    )


# ---------------------------------------------------------------------------
# The trace


@dataclass(frozen=True)
class Step:
    """One named intermediate, the equation that produced it, and its value."""

    phase: str
    name: str
    label: str  # the name as shown, e.g. "A1 (H)"
    equation: Formula
    value: Any  # float or ndarray
    work: Callable[[int], list[str]] | None = None  # the worked arithmetic, at a precision


def all_finite(value: Any) -> bool:
    """Whether every entry is finite.  A finite sum proves it in one cheap pass; a sum of
    finite entries can still overflow (1e308 + 1e308), so only then look entry by entry."""
    return bool(np.isfinite(np.sum(value)) or np.isfinite(value).all())


@dataclass
class Solution:
    """Every intermediate of forward, backward and update, in order."""

    problem: Problem
    steps: list[Step] = field(default_factory=list)

    @property
    def values(self) -> dict[str, Any]:
        return {step.name: step.value for step in self.steps}

    def __getitem__(self, name: str) -> Any:
        canonical = canonical_name(name, self.problem.depth, self.problem.recurrent) or name
        for step in self.steps:
            if step.name == canonical:
                return step.value
        raise KeyError(name)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def add(
        self,
        phase: str,
        name: str,
        equation: Formula,
        value: Any,
        label: str = "",
        work: Callable[[int], list[str]] | None = None,
    ) -> None:
        if not all_finite(value):
            raise NumericError(
                "the value is not finite (overflow or an invalid operation such as log of a "
                "negative number); check the activation and the magnitudes of the inputs",
                source=self.problem.source,
                path=name,
            )
        if isinstance(value, np.floating):
            value = float(value)
        self.steps.append(Step(phase, name, label or name, equation, value, work))

    def _repr_markdown_(self) -> str:
        from nncalc.render import render

        return render(self, "markdown")

    def _repr_html_(self) -> str:
        from nncalc.render import given_steps, to_html

        return to_html(self, given_steps(self) + self.steps, 4)


class Symbols:
    """How each quantity is written: x for A0, ŷ for A_L, H for a lone hidden layer, h_t."""

    def __init__(self, problem: Problem) -> None:
        self.depth = problem.depth
        self.dense = all(layer.kind == "dense" for layer in problem.layers)

    def a(self, layer: int, t: int | None = None) -> Formula:
        if t is not None:  # an rnn's hidden state h_t (x_t for the input)
            letter = "x" if layer == 0 else "h"
            return Formula(f"{letter}_{t}", f"{letter}_{{{t}}}")
        if layer == 0:
            return Formula("x", "x")
        if layer == self.depth:
            return Formula("ŷ", r"\hat{y}")
        if self.depth == 2 and self.dense:
            return Formula("H", "H")
        return sym("A", layer)

    def label(self, name: str) -> str:
        """The name as shown: 'A1 (H)', 'A1_t2 (h_2)'; '' when the name says it all."""
        kind, layer = split_name(name)
        if kind not in ("A", "A_t"):
            return ""
        shown = self.a(layer, time_step(name) if kind == "A_t" else None).text
        return f"{name} ({shown})" if shown != name else ""


def _delta(layer: int, t: int | None = None) -> Formula:
    if t is not None:
        return Formula(f"δ{layer}_t{t}", rf"\delta_{{{layer}}}^{{({t})}}")
    return sym("δ", layer, r"\delta")


_NAME = re.compile(
    r"(?P<q>Z|A|dA|fprime|delta)(?P<ql>\d+)(?P<t>_t\d+)?"
    r"|d(?P<g>Wx|Wh|W|b)(?P<gl>\d+)"
    r"|(?P<n>Wx|Wh|W|b)(?P<nl>\d+)_new"
    r"|(?P<s>[a-z][a-z_]*)_(?P<sp>Wx|Wh|W|b)(?P<sl>\d+)"  # an optimizer's state
    r"|loss"
)


def split_name(name: str) -> tuple[str, int]:
    """'dW2' → ('dW', 2); 'W1_new' → ('W_new', 1); 'Z1_t3' → ('Z_t', 1); 'm_W1' → ('m_W', 1)."""
    match = _NAME.fullmatch(name)
    if not match:
        raise KeyError(name)
    g = match.groupdict()
    if g["q"]:
        return g["q"] + ("_t" if g["t"] else ""), int(g["ql"])
    if g["g"]:
        return f"d{g['g']}", int(g["gl"])
    if g["n"]:
        return f"{g['n']}_new", int(g["nl"])
    if g["s"]:
        return f"{g['s']}_{g['sp']}", int(g["sl"])
    return "loss", 0


def time_step(name: str) -> int:
    """The time step t of a per-step name ('A1_t3' → 3), or 0."""
    _, _, t = name.rpartition("_t")
    return int(t) if t.isdigit() else 0


def param_of(name: str) -> str:
    """The parameter an update or state quantity belongs to: 'W1_new', 'm_hat_W1' → 'W1'."""
    kind, layer = split_name(name)
    letters = kind.removesuffix("_new") if kind.endswith("_new") else kind.rpartition("_")[2]
    return f"{letters}{layer}"


# ---------------------------------------------------------------------------
# The network: every quantity as a rule of the quantities before it


class Network:
    """The problem's layers as rules: each quantity is computed from named earlier ones.

    :meth:`compute` holds the math, one rule per kind of quantity, each backward rule
    right after the forward rule it differentiates.  Values are held with samples as
    columns (a single sample is a (units, 1) column), feature maps as (batch, C, H, W)
    and an rnn's states per time step; :meth:`shown` and :meth:`internal` convert to
    and from the shapes users see (no batch axis for one sample).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.layers = problem.layers
        self.depth = problem.depth
        self.acts: list[Elementwise | Softmax | None] = [
            Softmax()
            if layer.is_softmax
            else Elementwise(layer)
            if layer.elementwise is not None
            else None
            for layer in problem.layers
        ]
        self.loss = make_loss(problem.loss)
        batch = problem.batch_size
        self.scale = 1.0 / batch if problem.reduction == "mean" and batch > 1 else 1.0
        self.fast_output = _fast_output_delta(self.acts[-1], self.loss)
        self.symbols = Symbols(problem)
        self.optimizer = problem.optimizer
        self.time_steps = problem.time_steps  # T, the length of an rnn's input sequence
        self._kept_results: dict[tuple[str, int], tuple[np.ndarray, Any]] = {}
        self.batch = batch

    def layer(self, i: int) -> Layer:
        return self.layers[i - 1]

    # -- the order of a worked solution ------------------------------------------

    def plan(self) -> list[tuple[str, str]]:
        """(phase, name) of every quantity, in the order a worked solution computes them."""
        L, T = self.depth, self.time_steps  # noqa: N806 - as in the formulas
        steps = []
        for i, layer in enumerate(self.layers, start=1):
            if layer.kind == "rnn":
                for t in range(1, T + 1):
                    steps += [("forward", f"Z{i}_t{t}"), ("forward", f"A{i}_t{t}")]
            elif layer.weighted:
                steps += [("forward", f"Z{i}"), ("forward", f"A{i}")]
            else:
                steps.append(("forward", f"A{i}"))
        steps.append(("forward", "loss"))
        if not self.fast_output:
            steps.append(("backward", f"dA{L}"))
        for i in range(L, 0, -1):
            layer = self.layer(i)
            if not any(below.weighted for below in self.layers[:i]):
                break  # nothing below needs a gradient
            if i < L:
                steps.append(("backward", f"dA{i}"))
            if layer.kind == "rnn":  # backpropagation through time, last step first
                for t in range(T, 0, -1):
                    for kind in ("dA", "fprime", "delta"):
                        steps.append(("backward", f"{kind}{i}_t{t}"))
            elif layer.weighted:
                if isinstance(self.acts[i - 1], Elementwise) and (i < L or not self.fast_output):
                    steps.append(("backward", f"fprime{i}"))
                steps.append(("backward", f"delta{i}"))
            steps += [("backward", f"d{p}") for p in self._parameters(i)]
        for param in self.problem.parameter_names():
            if param not in self.problem.frozen:
                steps += [("update", state) for state in self.optimizer.quantities(param)]
            steps.append(("update", f"{param}_new"))
        return steps

    def _parameters(self, i: int) -> list[str]:
        layer = self.layer(i)
        if not layer.weighted:
            return []
        weights = [f"Wx{i}", f"Wh{i}"] if layer.kind == "rnn" else [f"W{i}"]
        return weights + ([f"b{i}"] if layer.bias else [])

    def given(self) -> dict[str, Any]:
        """The known values every rule may read: A0 = x (x_t, h0), y, the parameters and
        the optimizer's state before this step."""
        p = self.problem
        values: dict[str, Any] = {"A0": p.x, "y": p.y, "t": p.optimizer.step, **p.parameters}
        if p.recurrent:
            B = self.batch  # noqa: N806
            for t in range(1, self.time_steps + 1):
                values[f"A0_t{t}"] = p.x[:, (t - 1) * B : t * B]
            h0 = np.asarray(self.layer(1).h0, dtype=float)[:, None]
            values["A1_t0"] = np.repeat(h0, B, axis=1)
        for param in p.parameter_names():
            for state in self.optimizer.carried(param):
                before = self.optimizer.state.get(state)
                values[prev(state)] = (
                    np.zeros_like(p.parameters[param]) if before is None else before
                )
        return values

    def _input_names(self, i: int) -> list[str]:
        """The computed quantities layer i reads as its input (x itself is given)."""
        if i == 1:
            return []
        below = self.layer(i - 1)
        if below.kind == "rnn":
            steps = range(1, self.time_steps + 1) if below.output == "every" else [self.time_steps]
            return [f"A{i - 1}_t{t}" for t in steps]
        return [f"A{i - 1}"]

    def layer_input(self, i: int, v: dict[str, Any]) -> Any:
        """Layer i's input: A_{i-1}; after an rnn, h_t side by side (every step) or h_T."""
        names = self._input_names(i)
        if not names:
            return v["A0"]
        return v[names[0]] if len(names) == 1 else np.concatenate([v[n] for n in names], axis=1)

    def inputs(self, name: str) -> list[str]:
        """The computed quantities (not x, y or parameters) that ``name``'s rule reads."""
        kind, i = split_name(name)
        L, T, t = self.depth, self.time_steps, time_step(name)  # noqa: N806
        if kind == "Z":
            return self._input_names(i)
        if kind in ("A", "fprime") and self.layer(i).weighted:
            return [f"Z{i}"]
        if kind == "A":  # pooling, flatten
            return self._input_names(i)
        if kind == "Z_t":
            return [f"A{i}_t{t - 1}"] if t > 1 else []
        if kind in ("A_t", "fprime_t"):
            return [f"Z{i}_t{t}"]
        if kind == "loss":
            return [f"Z{L}", f"A{L}"]
        if kind == "dA" and i == L:
            return [f"A{L}"]
        if kind == "dA":
            above = self.layer(i + 1)
            if above.weighted:
                return [f"delta{i + 1}"]
            return [f"dA{i + 1}"] + ([f"A{i}"] if above.kind == "maxpool2d" else [])
        if kind == "dA_t":
            return [f"dA{i}"] + ([f"delta{i}_t{t + 1}"] if t < T else [])
        if kind == "delta_t":
            return [f"dA{i}_t{t}", f"fprime{i}_t{t}"]
        if kind == "delta":
            if i == L and self.fast_output:
                return [f"A{L}"]
            if isinstance(self.acts[i - 1], Softmax):
                return [f"A{i}", f"dA{i}"]
            return [f"dA{i}", f"fprime{i}"]
        if kind in ("dWx", "dWh", "db") and self.layer(i).kind == "rnn":
            deltas = [f"delta{i}_t{s}" for s in range(1, T + 1)]
            if kind == "dWh":
                return deltas + [f"A{i}_t{s}" for s in range(1, T)]
            return deltas
        if kind == "dW":
            return [f"delta{i}", *self._input_names(i)]
        if kind == "db":
            return [f"delta{i}"]
        # the update: the gradient, then the optimizer's states in order
        param = param_of(name)
        states = self.optimizer.quantities(param) if param not in self.problem.frozen else []
        own = name if name in states else None
        return [f"d{param}", *states[: states.index(own) if own else len(states)]]

    # -- the math -------------------------------------------------------------------

    def compute(self, name: str, v: dict[str, Any], variant: Variant | None = None) -> Any:
        """The value of ``name`` from the values ``v`` holds (internal shapes).

        ``variant`` evaluates activations differently (degrees, relu's step) to model a
        student's slip; everything else is exact.
        """
        kind, i = split_name(name)
        L, t = self.depth, time_step(name)  # noqa: N806
        act = self.acts[i - 1] if i else None
        layer = self.layer(i) if i else None
        match kind:
            # Dense layer: Z_l = W_l·A_{l-1} + b_l ...
            case "Z" if layer and layer.kind == "dense":
                z = v[f"W{i}"] @ self.layer_input(i, v)
                return z + v[f"b{i}"][:, None] if layer.bias else z
            # ... so ∂L/∂W_l = δ_l·A_{l-1}ᵀ, ∂L/∂b_l = Σ_batch δ_l, ∂L/∂A_{l-1} = W_lᵀ·δ_l.
            case "dW" if layer and layer.kind == "dense":
                return v[f"delta{i}"] @ self.layer_input(i, v).T
            case "db" if layer and layer.kind != "conv2d":
                return v[f"delta{i}"].sum(axis=1) if layer.kind == "dense" else self._sum_t(i, v)
            case "dA" if i < L and self.layer(i + 1).kind == "dense":
                return v[f"W{i + 1}"].T @ v[f"delta{i + 1}"]
            # Convolution: Z_l = W_l ⋆ A_{l-1} + b_l (cross-correlation, stride s, padding p) ...
            case "Z":
                assert layer is not None
                a = self.layer_input(i, v)
                out_shape = (a.shape[0], *layer.shape)
                z = layers.conv_forward(self._columns(i, a), v[f"W{i}"], out_shape)
                return z + v[f"b{i}"][None, :, None, None] if layer.bias else z
            # ... so ∂L/∂W_l = A_{l-1} ⋆ δ_l, ∂L/∂b_l = Σ δ_l over batch and positions, and
            # ∂L/∂A_{l-1} = δ_l full-convolved with W_l (each window sends δ·W back).
            case "dW":
                cols = self._columns(i, self.layer_input(i, v))
                return layers.conv_grad_kernel(cols, v[f"delta{i}"], v[f"W{i}"].shape)
            case "db":
                return v[f"delta{i}"].sum(axis=(0, 2, 3))
            case "dA" if i < L and self.layer(i + 1).kind == "conv2d":
                above = self.layer(i + 1)
                return layers.conv_grad_input(
                    v[f"delta{i + 1}"],
                    v[f"W{i + 1}"],
                    v[f"A{i}"].shape,
                    above.stride,
                    above.padding,
                )
            # Pooling: the max (or mean) of each window; backward, ∂L/∂A of a window goes
            # to the entry that won the max (or is shared equally).  Flatten: a reshape.
            case "A" if layer and layer.kind == "maxpool2d":
                return self._maxpool(i, self.layer_input(i, v))[0]
            case "dA" if i < L and self.layer(i + 1).kind == "maxpool2d":
                above, a = self.layer(i + 1), v[f"A{i}"]
                won = self._maxpool(i + 1, a)[1]
                return layers.maxpool_backward(
                    v[f"dA{i + 1}"], won, a.shape, above.kernel, above.stride, above.padding
                )
            case "A" if layer and layer.kind == "avgpool2d":
                return layers.avgpool_forward(
                    self.layer_input(i, v), layer.kernel, layer.stride, layer.padding
                )
            case "dA" if i < L and self.layer(i + 1).kind == "avgpool2d":
                above = self.layer(i + 1)
                return layers.avgpool_backward(
                    v[f"dA{i + 1}"], v[f"A{i}"].shape, above.kernel, above.stride, above.padding
                )
            case "A" if layer and layer.kind == "flatten":
                a = self.layer_input(i, v)
                return a.reshape(a.shape[0], -1).T  # one column per sample, C·H·W entries
            case "dA" if i < L and self.layer(i + 1).kind == "flatten":
                return v[f"dA{i + 1}"].T.reshape(-1, *self.layer(i).shape)
            # Recurrent layer, step t: Z_t = Wx·x_t + Wh·h_{t-1} + b, h_t = f(Z_t) ...
            case "Z_t":
                assert layer is not None
                z = v[f"Wx{i}"] @ v[f"A0_t{t}"] + v[f"Wh{i}"] @ v[f"A{i}_t{t - 1}"]
                return z + v[f"b{i}"][:, None] if layer.bias else z
            case "A_t":
                assert act is not None
                return act.forward(v[f"Z{i}_t{t}"], variant)
            # ... and back through time: ∂L/∂h_t = (∂L/∂A at step t, from above)
            # + Wh ᵀ·δ_{t+1}, δ_t = ∂L/∂h_t ⊙ f'(Z_t); each parameter's gradient sums over t.
            case "dA_t":
                assert layer is not None
                above = self._step_columns(v[f"dA{i}"], t)
                if t < self.time_steps:
                    above = above + v[f"Wh{i}"].T @ v[f"delta{i}_t{t + 1}"]
                return above
            case "fprime_t":
                assert isinstance(act, Elementwise)
                return act.derivative(v[f"Z{i}_t{t}"], variant)
            case "delta_t":
                return v[f"dA{i}_t{t}"] * v[f"fprime{i}_t{t}"]
            # Σ_t δ_t·x_tᵀ and Σ_t δ_t·h_{t−1}ᵀ, as one product of the steps side by side
            # ([δ_1 … δ_T]·[x_1 … x_T]ᵀ): one matmul instead of T outer products.
            case "dWx":
                return self._over_time(v, f"delta{i}_t", 0) @ self._over_time(v, "A0_t", 0).T
            case "dWh":
                return self._over_time(v, f"delta{i}_t", 0) @ self._over_time(v, f"A{i}_t", 1).T
            # Activation: A_l = f(Z_l), and backward δ_l = ∂L/∂A_l ⊙ f'(Z_l) (or through
            # softmax's Jacobian).
            case "A":
                assert act is not None
                return act.forward(v[f"Z{i}"], variant)
            case "fprime":
                assert isinstance(act, Elementwise)
                return act.derivative(v[f"Z{i}"], variant)
            case "delta" if not (i == L and self.fast_output):
                if isinstance(act, Softmax):
                    return Softmax.backward(v[f"A{i}"], v[f"dA{i}"])
                return v[f"dA{i}"] * v[f"fprime{i}"]
            # Loss: L = (1/B) Σ_b ℓ(ŷ_b, y_b), and its gradient ∂L/∂ŷ ...
            case "loss":
                per_sample = self.loss.per_sample(v[f"Z{L}"], v[f"A{L}"], v["y"], self.acts[-1])
                return float(per_sample.sum() * self.scale)
            case "dA" if i == L:
                return self.loss.gradient(v[f"A{L}"], v["y"]) * self.scale
            # ... or, for softmax + cross-entropy, δ_L = ŷ·Σy − y directly
            # (and for sigmoid + binary cross-entropy δ_L = ŷ − y).
            case "delta":
                y_hat, y = v[f"A{L}"], v["y"]
                if isinstance(self.acts[-1], Softmax):
                    return (y_hat * y.sum(axis=0, keepdims=True) - y) * self.scale
                return (y_hat - y) * self.scale
            # Update: θ' from θ and ∂L/∂θ by the optimizer (sgd: θ' = θ − α·∂L/∂θ);
            # a frozen parameter stays: θ' = θ.
            case _:
                param = param_of(name)
                if param in self.problem.frozen:
                    return v[param].copy()
                state = kind.rpartition("_")[0] if not kind.endswith("new") else "new"
                return self.optimizer.compute(state, param, v, self.problem.learning_rate)
        raise KeyError(name)

    def _columns(self, i: int, a: np.ndarray) -> np.ndarray:
        """The im2col matrix of conv layer i's input ``a``, built by the forward pass and
        reused by the kernel's gradient."""
        layer = self.layer(i)
        return self._kept(
            ("columns", i), a, lambda: layers.columns(a, layer.kernel, layer.stride, layer.padding)
        )

    def _maxpool(self, i: int, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Max-pooling layer i of ``a``: the maxima and which entry won each window, found
        by the forward pass and reused by the backward pass."""
        layer = self.layer(i)
        return self._kept(
            ("maxpool", i), a, lambda: layers.maxpool(a, layer.kernel, layer.stride, layer.padding)
        )

    def _kept(self, key: tuple[str, int], a: np.ndarray, build: Callable[[], Any]) -> Any:
        """``build()``, computed once while its input ``a`` is the same array."""
        kept = self._kept_results.get(key)
        if kept is not None and kept[0] is a:
            return kept[1]
        result = build()
        self._kept_results[key] = (a, result)
        return result

    def times(self) -> range:
        return range(1, self.time_steps + 1)

    def _sum_t(self, i: int, v: dict[str, Any]) -> Any:
        return sum(v[f"delta{i}_t{s}"].sum(axis=1) for s in self.times())

    def _over_time(self, v: dict[str, Any], prefix: str, lag: int) -> Any:
        """The steps' columns side by side: [q_{1−lag} … q_{T−lag}] of quantity ``prefix``."""
        return np.concatenate([v[f"{prefix}{s - lag}"] for s in self.times()], axis=1)

    def _step_columns(self, grad_above: Any, t: int) -> Any:
        """The columns of ∂L/∂A (from the layer above) that belong to step t (0 if none)."""
        B = self.batch  # noqa: N806
        if self.layer(1).output == "every":
            return grad_above[:, (t - 1) * B : t * B]
        return grad_above if t == self.time_steps else np.zeros_like(grad_above)

    # -- how each rule is written --------------------------------------------------

    def equation(self, name: str) -> Formula:
        kind, i = split_name(name)
        s = self.symbols
        L, t = self.depth, time_step(name)  # noqa: N806
        batch = self.problem.batch_size
        layer = self.layer(i) if i else None
        per_batch = Formula(" / B", " / B") if self.scale != 1.0 else Formula("", "")
        a_in = self._input_symbol(i) if i else None
        if kind == "Z" and layer and layer.kind == "conv2d":
            assert a_in is not None
            rhs = Formula(
                f"{sym('W', i).text} ⋆ {a_in.text}", rf"{sym('W', i).latex} \star {a_in.latex}"
            )
            rhs = rhs + sym("b", i) if layer.bias else rhs
            return sym("Z", i).eq(rhs)
        if kind == "Z":
            assert a_in is not None
            rhs = sym("W", i) @ a_in
            return sym("Z", i).eq(rhs + sym("b", i) if self.layer(i).bias else rhs)
        if kind == "A" and layer and not layer.weighted:
            assert a_in is not None
            return s.a(i).eq(_pool_formula(layer, a_in))
        if kind == "A":
            act = self.acts[i - 1]
            assert act is not None
            return s.a(i).eq(act.formula(sym("Z", i)))
        if kind == "Z_t":
            rhs = (Formula(f"Wx{i}", f"W_{{x,{i}}}") @ s.a(0, t)) + (
                Formula(f"Wh{i}", f"W_{{h,{i}}}") @ s.a(i, t - 1)
            )
            rhs = rhs + sym("b", i) if self.layer(i).bias else rhs
            return _z_t(i, t).eq(rhs)
        if kind == "A_t":
            act = self.acts[i - 1]
            assert act is not None
            return s.a(i, t).eq(act.formula(_z_t(i, t)))
        if kind == "dA_t":
            from_above = Formula(
                f"∂L/∂A{i}[t={t}]",
                rf"\left.\frac{{\partial L}}{{\partial A_{{{i}}}}}\right|_{{t={t}}}",
            )
            if self.layer(i).output == "last" and t < self.time_steps:
                from_above = Formula("0", "0")
            if t < self.time_steps:
                from_above = from_above + (Formula(f"Wh{i}", f"W_{{h,{i}}}").T @ _delta(i, t + 1))
            return grad(s.a(i, t)).eq(from_above)
        if kind == "fprime_t":
            act = self.acts[i - 1]
            assert isinstance(act, Elementwise)
            z = _z_t(i, t)
            return Formula(f"f{i}'({z.text})", f"f_{{{i}}}'({z.latex})").eq(
                act.derivative_formula(z)
            )
        if kind == "delta_t":
            z = _z_t(i, t)
            fp = Formula(f"f{i}'({z.text})", f"f_{{{i}}}'({z.latex})")
            return _delta(i, t).eq(grad(s.a(i, t)) * fp)
        if kind in ("dWx", "dWh") or (kind == "db" and layer and layer.kind == "rnn"):
            each = {
                "dWx": Formula(f"δ{i}_t·x_tᵀ", rf"\delta_{{{i}}}^{{(t)}} x_t^{{\top}}"),
                "dWh": Formula(f"δ{i}_t·h_(t−1)ᵀ", rf"\delta_{{{i}}}^{{(t)}} h_{{t-1}}^{{\top}}"),
                "db": Formula(f"δ{i}_t", rf"\delta_{{{i}}}^{{(t)}}"),
            }[kind]
            total = Formula(f"Σ_t {each.text}", rf"\sum_t {each.latex}")
            return grad(param_symbol(f"{kind[1:]}{i}")).eq(total)
        if kind == "loss":
            f = self.loss.formula
            lead = Formula("", "")
            if self.scale != 1.0:
                lead = Formula("(1/B) Σ_b ", r"\frac{1}{B}\sum_b ")
            elif batch > 1:
                lead = Formula("Σ_b ", r"\sum_b ")
            if self.problem.recurrent and self.layer(1).output == "every" and self.time_steps > 1:
                lead = Formula(lead.text + "Σ_t ", lead.latex + r"\sum_t ")
            return Formula("L", "L").eq(Formula(lead.text + f.text, lead.latex + f.latex))
        if kind == "dA" and i == L:
            g = self.loss.gradient_formula
            return grad(s.a(L)).eq(Formula(g.text + per_batch.text, g.latex + per_batch.latex))
        if kind == "dA":
            above = self.layer(i + 1)
            if above.kind == "dense":
                return grad(s.a(i)).eq(sym("W", i + 1).T @ _delta(i + 1))
            return grad(s.a(i)).eq(_pool_backward_formula(above, i + 1, s.a(i + 1)))
        if kind == "fprime":
            act = self.acts[i - 1]
            assert isinstance(act, Elementwise)
            return _fprime(i).eq(act.derivative_formula(sym("Z", i)))
        if kind == "delta" and i == L and self.fast_output:
            return _delta(L).eq(self._output_delta_formula(per_batch))
        if kind == "delta":
            upstream = grad(s.a(i))
            if i == L:
                upstream = grad(s.a(L))
            elif self.layer(i + 1).kind == "dense":
                upstream = (sym("W", i + 1).T @ _delta(i + 1)).paren()
            act = self.acts[i - 1]
            if isinstance(act, Softmax):
                a = s.a(i)
                diag = rf"\operatorname{{diag}}({a.latex})"
                jacobian = Formula(
                    f"(diag({a.text}) − {a.text}·{a.text}ᵀ)",
                    rf"\left({diag} - {a.latex} {a.latex}^{{\top}}\right)",
                )
                return _delta(i).eq(jacobian @ upstream)
            return _delta(i).eq(upstream * _fprime(i))
        if kind == "dW" and layer and layer.kind == "conv2d":
            assert a_in is not None
            return grad(sym("W", i)).eq(
                Formula(f"{a_in.text} ⋆ {_delta(i).text}", rf"{a_in.latex} \star {_delta(i).latex}")
            )
        if kind == "dW":
            assert a_in is not None
            return grad(sym("W", i)).eq(_delta(i) @ a_in.T)
        if kind == "db":
            where = "b,p,q" if layer and layer.kind == "conv2d" else "b"
            if self.problem.recurrent and self.layer(1).output == "every":
                where = "t" if batch == 1 else "b,t"
            sums = Formula(f"Σ_{where} {_delta(i).text}", rf"\sum_{{{where}}} {_delta(i).latex}")
            single = layer is not None and layer.kind == "dense" and self.problem.y.shape[1] == 1
            return grad(sym("b", i)).eq(_delta(i) if single else sums)
        # the update
        param = param_of(name)
        if param in self.problem.frozen:
            old = param_symbol(param)
            return Formula(f"{param}'", f"{old.latex}'").eq(Formula(f"{param} (frozen)", old.latex))
        state = kind.rpartition("_")[0] if not kind.endswith("new") else "new"
        return self.optimizer.equation(state, param, self.problem.learning_rate)

    def _input_symbol(self, i: int) -> Formula:
        names = self._input_names(i)
        if len(names) > 1:
            return Formula("[h_1 … h_T]", r"[h_1 \dots h_T]")
        if names and "_t" in names[0]:
            return self.symbols.a(i - 1, self.time_steps)
        return self.symbols.a(i - 1)

    def _output_delta_formula(self, per_batch: Formula) -> Formula:
        if isinstance(self.acts[-1], Softmax) and not np.allclose(self.problem.y.sum(axis=0), 1):
            core, tex = "ŷ·Σy − y", r"\hat{y}\sum_i y_i - y"
        else:
            core, tex = "ŷ − y", r"\hat{y} - y"
        if self.scale != 1.0:
            return Formula(f"({core}){per_batch.text}", rf"\left({tex}\right){per_batch.latex}")
        return Formula(core, tex)

    # -- shapes --------------------------------------------------------------------

    def layout(self, name: str) -> tuple[int, ...] | None:
        """How ``name`` is held: a feature-map shape (C, H, W) per sample, () for columns
        (one per sample), or None for values shown as they are (parameters, loss)."""
        try:
            kind, i = split_name(name)
        except KeyError:
            return None
        if kind in ("Z_t", "A_t", "dA_t", "fprime_t", "delta_t"):
            return ()
        if kind in ("Z", "A", "fprime", "delta", "dA"):
            shape = self.layer(i).shape if i else self.problem.input_shape
            return shape if len(shape) == 3 else ()
        return None

    def shown(self, name: str, value: Any) -> Any:
        """A value as users see it: one sample without its batch axis (a vector, or a
        feature map, one channel as a matrix); a conv kernel of one channel as a matrix."""
        layout = self.layout(name)
        if layout is None:
            return _squeeze_kernel(value) if self._full_shape(name) else value
        if layout == ():
            if self.problem.single and np.ndim(value) == 2 and value.shape[1] == 1:
                return value[:, 0]
            return value
        if self.problem.single and np.ndim(value) == 4:
            value = value[0]
            return value[0] if value.shape[0] == 1 else value
        return value

    def internal(self, name: str, value: Any) -> Any:
        """The inverse of :meth:`shown`: back to columns, (batch, C, H, W) or kernels."""
        layout = self.layout(name)
        if layout is None:
            full = self._full_shape(name)
            return np.reshape(value, full) if full and np.size(value) == np.prod(full) else value
        if layout == ():
            if self.problem.single and np.ndim(value) == 1:
                return np.asarray(value)[:, None]
            return value
        if self.problem.single and np.ndim(value) in (2, 3):
            return np.reshape(value, (1, *layout))
        return value

    def _full_shape(self, name: str) -> tuple[int, ...] | None:
        """The internal shape of a conv kernel quantity (W, dW, W_new, its states)."""
        if name in self.problem.parameters:
            param = name
        else:
            try:
                param = name[1:] if name.startswith("dW") else param_of(name)
            except KeyError:
                return None
        value = self.problem.parameters.get(param)
        return value.shape if value is not None and value.ndim == 4 else None


def _squeeze_kernel(value: Any) -> Any:
    """A conv kernel bank (out, in, kh, kw) of one output and one input channel: kh×kw."""
    if np.ndim(value) == 4 and value.shape[0] == 1 and value.shape[1] == 1:
        return value[0, 0]
    return value


def _z_t(layer: int, t: int) -> Formula:
    return Formula(f"Z{layer}_t{t}", rf"Z_{{{layer}}}^{{({t})}}")


def _pool_formula(layer: Layer, a: Formula) -> Formula:
    if layer.kind == "flatten":
        return Formula(f"flatten({a.text})", rf"\operatorname{{flatten}}({a.latex})")
    kh, kw = layer.kernel
    op = "max" if layer.kind == "maxpool2d" else "mean"
    sh, sw = layer.stride
    stride = str(sh) if sh == sw else f"{sh}×{sw}"
    window = f"{kh}×{kw}, stride {stride}"
    return Formula(
        f"{op} over each {window} window of {a.text}",
        rf"\operatorname{{{op}pool}}_{{{kh}\times{kw},\,s={stride}}}({a.latex})",
    )


def _pool_backward_formula(above: Layer, i: int, a: Formula) -> Formula:
    g = grad(a)
    if above.kind == "conv2d":
        return Formula(
            f"{_delta(i).text} full-convolved with W{i}",
            rf"\delta_{{{i}}} \ast \operatorname{{rot180}}(W_{{{i}}})",
        )
    if above.kind == "flatten":
        return Formula(f"reshape({g.text})", rf"\operatorname{{reshape}}\left({g.latex}\right)")
    if above.kind == "maxpool2d":
        return Formula(
            f"{g.text} routed to each window's maximum (0 elsewhere)",
            rf"\operatorname{{route\_to\_max}}\left({g.latex}\right)",
        )
    kh, kw = above.kernel
    return Formula(
        f"{g.text} / {kh * kw} spread over each window",
        rf"\operatorname{{spread}}\left({g.latex}\right) / {kh * kw}",
    )


def _fprime(layer: int) -> Formula:
    z = sym("Z", layer)
    return Formula(f"f{layer}'({z.text})", f"f_{{{layer}}}'({z.latex})")


# ---------------------------------------------------------------------------
# Solving


def solve(problem: Problem) -> Solution:
    """Run forward, backward and update, recording every quantity in order."""
    return traced(problem)[0]


def traced(problem: Problem) -> tuple[Solution, dict[str, Any]]:
    """:func:`solve`, and the engine's own values (from which a training run goes on)."""
    network = Network(problem)
    solution = Solution(problem)
    values = network.given()
    with np.errstate(all="ignore"):  # non-finite values are reported by Solution.add
        try:
            for phase, name in network.plan():
                values[name] = network.compute(name, values)
                solution.add(
                    phase,
                    name,
                    network.equation(name),
                    network.shown(name, values[name]),
                    network.symbols.label(name),
                    worked(network, name, values),
                )
        except NumericError as exc:
            raise exc.located(source=problem.source) from None
    return solution, values

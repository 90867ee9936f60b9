"""The NumPy engine: forward pass, backpropagation and one gradient step.

It reads like a worked solution.  Each operation keeps its backward rule next
to its forward rule, and :func:`solve` records every intermediate, in order, as
a named :class:`Step` with the equation that produced it.

Conventions (as in the reference course): samples are columns, so for layer l
``Z{l} = W{l}·A{l-1} + b{l}`` with W of shape (units, inputs) and Z of shape
(units, batch).  ``delta{l}`` is ∂loss/∂Z{l} for the *reduced* loss (mean or sum
over the batch), so the gradients need no further scaling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nncalc.errors import NumericError
from nncalc.names import canonical_name

if TYPE_CHECKING:
    from nncalc.expr import Variant
    from nncalc.problem import Layer, Problem

PHASES = ("forward", "backward", "update")


# ---------------------------------------------------------------------------
# Equations, written once and shown as text or LaTeX


@dataclass(frozen=True)
class Formula:
    """A piece of an equation in two spellings: Unicode text and LaTeX."""

    text: str
    latex: str

    def __add__(self, other: Formula) -> Formula:
        return Formula(f"{self.text} + {other.text}", f"{self.latex} + {other.latex}")

    def __sub__(self, other: Formula) -> Formula:
        return Formula(f"{self.text} − {other.text}", f"{self.latex} - {other.latex}")

    def __matmul__(self, other: Formula) -> Formula:  # matrix product
        return Formula(f"{self.text}·{other.text}", rf"{self.latex} {other.latex}")

    def __mul__(self, other: Formula) -> Formula:  # elementwise (Hadamard) product
        return Formula(f"{self.text} ⊙ {other.text}", rf"{self.latex} \odot {other.latex}")

    @property
    def T(self) -> Formula:  # noqa: N802 - the usual name for a transpose
        return Formula(f"{self.text}ᵀ", rf"{self.latex}^{{\top}}")

    def paren(self) -> Formula:
        return Formula(f"({self.text})", rf"\left({self.latex}\right)")

    def eq(self, other: Formula) -> Formula:
        return Formula(f"{self.text} = {other.text}", f"{self.latex} = {other.latex}")


def sym(letter: str, layer: int | None = None, latex: str | None = None) -> Formula:
    tex = latex or letter
    if layer is None:
        return Formula(letter, tex)
    return Formula(f"{letter}{layer}", f"{tex}_{{{layer}}}")


def grad(of: Formula) -> Formula:
    """∂L/∂of."""
    return Formula(f"∂L/∂{of.text}", rf"\frac{{\partial L}}{{\partial {of.latex}}}")


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


@dataclass
class Solution:
    """Every intermediate of forward, backward and update, in order."""

    problem: Problem
    steps: list[Step] = field(default_factory=list)

    @property
    def values(self) -> dict[str, Any]:
        return {step.name: step.value for step in self.steps}

    def __getitem__(self, name: str) -> Any:
        canonical = canonical_name(name, self.problem.depth) or name
        for step in self.steps:
            if step.name == canonical:
                return step.value
        raise KeyError(name)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def add(self, phase: str, name: str, equation: Formula, value: Any, label: str = "") -> None:
        # A sum is finite only if every entry is (cheap); only then skip the full check.
        if not (np.isfinite(np.sum(value)) or np.all(np.isfinite(value))):
            raise NumericError(
                "the value is not finite (overflow or an invalid operation such as log of a "
                "negative number); check the activation and the magnitudes of the inputs",
                source=self.problem.source,
                path=name,
            )
        if isinstance(value, np.floating):
            value = float(value)
        self.steps.append(Step(phase, name, label or name, equation, value))

    def _repr_markdown_(self) -> str:
        from nncalc.render import render

        return render(self, "markdown")

    def _repr_html_(self) -> str:
        from nncalc.render import given_steps, to_html

        return to_html(self, given_steps(self) + self.steps, 4)


class Symbols:
    """How each quantity is written: x for A0, ŷ for A_L, H for a lone hidden layer."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def a(self, layer: int) -> Formula:
        if layer == 0:
            return Formula("x", "x")
        if layer == self.depth:
            return Formula("ŷ", r"\hat{y}")
        if self.depth == 2:
            return Formula("H", "H")
        return sym("A", layer)

    def label(self, layer: int) -> str:
        return f"A{layer} ({self.a(layer).text})" if self.a(layer).text != f"A{layer}" else ""


def _delta(layer: int) -> Formula:
    return sym("δ", layer, r"\delta")


_NAME = re.compile(r"(Z|A|dA|fprime|delta|dW|db)(\d+)|(W|b)(\d+)_new|(loss)")


def split_name(name: str) -> tuple[str, int]:
    """'dW2' → ('dW', 2); 'W1_new' → ('W_new', 1); 'loss' → ('loss', 0)."""
    match = _NAME.fullmatch(name)
    if not match:
        raise KeyError(name)
    if match.group(1):
        return match.group(1), int(match.group(2))
    if match.group(3):
        return f"{match.group(3)}_new", int(match.group(4))
    return "loss", 0


# ---------------------------------------------------------------------------
# The network: every quantity as a rule of the quantities before it


class Network:
    """The problem's layers as rules: each quantity is computed from named earlier ones.

    :meth:`compute` holds the math, one rule per kind of quantity, each backward rule
    right after the forward rule it differentiates.  Values are held with samples as
    columns (a single sample is a (units, 1) column); :meth:`shown` and
    :meth:`internal` convert to and from the shapes users see (a vector for one sample).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.depth = problem.depth
        self.acts: list[Elementwise | Softmax] = [
            Softmax() if layer.is_softmax else Elementwise(layer) for layer in problem.layers
        ]
        self.loss = make_loss(problem.loss)
        batch = problem.batch_size
        self.scale = 1.0 / batch if problem.reduction == "mean" and batch > 1 else 1.0
        self.fast_output = _fast_output_delta(self.acts[-1], self.loss)
        self.symbols = Symbols(self.depth)

    # -- the order of a worked solution ------------------------------------------

    def plan(self) -> list[tuple[str, str]]:
        """(phase, name) of every quantity, in the order a worked solution computes them."""
        L = self.depth  # noqa: N806 - the number of layers, as in the formulas
        steps = []
        for i in range(1, L + 1):
            steps += [("forward", f"Z{i}"), ("forward", f"A{i}")]
        steps.append(("forward", "loss"))
        if not self.fast_output:
            steps.append(("backward", f"dA{L}"))
        for i in range(L, 0, -1):
            if i < L:
                steps.append(("backward", f"dA{i}"))
            if isinstance(self.acts[i - 1], Elementwise) and (i < L or not self.fast_output):
                steps.append(("backward", f"fprime{i}"))
            steps.append(("backward", f"delta{i}"))
            steps.append(("backward", f"dW{i}"))
            if self.problem.layers[i - 1].bias:
                steps.append(("backward", f"db{i}"))
        for i, layer in enumerate(self.problem.layers, start=1):
            steps.append(("update", f"W{i}_new"))
            if layer.bias:
                steps.append(("update", f"b{i}_new"))
        return steps

    def given(self) -> dict[str, Any]:
        """The known values every rule may read: A0 = x, y and the parameters."""
        return {"A0": self.problem.x, "y": self.problem.y, **self.problem.parameters}

    def inputs(self, name: str) -> list[str]:
        """The computed quantities (not x, y or parameters) that ``name``'s rule reads."""
        kind, i = split_name(name)
        L = self.depth  # noqa: N806
        if kind == "Z":
            return [f"A{i - 1}"] if i > 1 else []
        if kind in ("A", "fprime"):
            return [f"Z{i}"]
        if kind == "loss":
            return [f"Z{L}", f"A{L}"]
        if kind == "dA":
            return [f"A{L}"] if i == L else [f"delta{i + 1}"]
        if kind == "delta":
            if i == L and self.fast_output:
                return [f"A{L}"]
            if isinstance(self.acts[i - 1], Softmax):
                return [f"A{i}", f"dA{i}"]
            return [f"dA{i}", f"fprime{i}"]
        if kind == "dW":
            return [f"delta{i}"] + ([f"A{i - 1}"] if i > 1 else [])
        if kind == "db":
            return [f"delta{i}"]
        return [f"d{kind[0]}{i}"]  # W_new, b_new

    # -- the math -------------------------------------------------------------------

    def compute(self, name: str, v: dict[str, Any], variant: Variant | None = None) -> Any:
        """The value of ``name`` from the values ``v`` holds (internal shapes).

        ``variant`` evaluates activations differently (degrees, relu's step) to model a
        student's slip; everything else is exact.
        """
        kind, i = split_name(name)
        L = self.depth  # noqa: N806
        act = self.acts[i - 1] if i else None
        match kind:
            # Dense layer: Z_l = W_l·A_{l-1} + b_l ...
            case "Z":
                z = v[f"W{i}"] @ v[f"A{i - 1}"]
                return z + v[f"b{i}"][:, None] if self.problem.layers[i - 1].bias else z
            # ... so ∂L/∂W_l = δ_l·A_{l-1}ᵀ, ∂L/∂b_l = Σ_batch δ_l, ∂L/∂A_{l-1} = W_lᵀ·δ_l.
            case "dW":
                return v[f"delta{i}"] @ v[f"A{i - 1}"].T
            case "db":
                return v[f"delta{i}"].sum(axis=1)
            case "dA" if i < L:
                return v[f"W{i + 1}"].T @ v[f"delta{i + 1}"]
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
            case "dA":
                return self.loss.gradient(v[f"A{L}"], v["y"]) * self.scale
            # ... or, for softmax + cross-entropy, δ_L = ŷ·Σy − y directly
            # (and for sigmoid + binary cross-entropy δ_L = ŷ − y).
            case "delta":
                y_hat, y = v[f"A{L}"], v["y"]
                if isinstance(self.acts[-1], Softmax):
                    return (y_hat * y.sum(axis=0, keepdims=True) - y) * self.scale
                return (y_hat - y) * self.scale
            # Update: one step of gradient descent, θ' = θ − α·∂L/∂θ (frozen: θ' = θ).
            case "W_new" | "b_new":
                param = f"{kind[0]}{i}"
                if param in self.problem.frozen:
                    return v[param].copy()
                return v[param] - self.problem.learning_rate * v[f"d{param}"]
        raise KeyError(name)

    # -- how each rule is written --------------------------------------------------

    def equation(self, name: str) -> Formula:
        kind, i = split_name(name)
        s = self.symbols
        L = self.depth  # noqa: N806
        batch = self.problem.batch_size
        per_batch = Formula(" / B", " / B") if self.scale != 1.0 else Formula("", "")
        if kind == "Z":
            rhs = sym("W", i) @ s.a(i - 1)
            if self.problem.layers[i - 1].bias:
                rhs = rhs + sym("b", i)
            return sym("Z", i).eq(rhs)
        if kind == "A":
            return s.a(i).eq(self.acts[i - 1].formula(sym("Z", i)))
        if kind == "loss":
            f = self.loss.formula
            lead = Formula("", "")
            if self.scale != 1.0:
                lead = Formula("(1/B) Σ_b ", r"\frac{1}{B}\sum_b ")
            elif batch > 1:
                lead = Formula("Σ_b ", r"\sum_b ")
            return Formula("L", "L").eq(Formula(lead.text + f.text, lead.latex + f.latex))
        if kind == "dA" and i == L:
            g = self.loss.gradient_formula
            return grad(s.a(L)).eq(Formula(g.text + per_batch.text, g.latex + per_batch.latex))
        if kind == "dA":
            return grad(s.a(i)).eq(sym("W", i + 1).T @ _delta(i + 1))
        if kind == "fprime":
            act = self.acts[i - 1]
            assert isinstance(act, Elementwise)
            return _fprime(i).eq(act.derivative_formula(sym("Z", i)))
        if kind == "delta" and i == L and self.fast_output:
            return _delta(L).eq(self._output_delta_formula(per_batch))
        if kind == "delta":
            upstream = grad(s.a(L)) if i == L else (sym("W", i + 1).T @ _delta(i + 1)).paren()
            if isinstance(self.acts[i - 1], Softmax):
                a = s.a(i)
                diag = rf"\operatorname{{diag}}({a.latex})"
                jacobian = Formula(
                    f"(diag({a.text}) − {a.text}·{a.text}ᵀ)",
                    rf"\left({diag} - {a.latex} {a.latex}^{{\top}}\right)",
                )
                return _delta(i).eq(jacobian @ upstream)
            return _delta(i).eq(upstream * _fprime(i))
        if kind == "dW":
            return grad(sym("W", i)).eq(_delta(i) @ s.a(i - 1).T)
        if kind == "db":
            sums = Formula(f"Σ_b {_delta(i).text}", rf"\sum_b {_delta(i).latex}")
            return grad(sym("b", i)).eq(_delta(i) if batch == 1 else sums)
        # W_new, b_new
        param = f"{kind[0]}{i}"
        old = sym(kind[0], i)
        new = Formula(f"{param}'", f"{old.latex}'")
        if param in self.problem.frozen:
            return new.eq(Formula(f"{param} (frozen)", old.latex))
        rate = self.problem.learning_rate
        step = Formula(f"{rate:g}·{grad(old).text}", rf"{rate:g}\,{grad(old).latex}")
        return new.eq(old - step)

    def _output_delta_formula(self, per_batch: Formula) -> Formula:
        if isinstance(self.acts[-1], Softmax) and not np.allclose(self.problem.y.sum(axis=0), 1):
            core, tex = "ŷ·Σy − y", r"\hat{y}\sum_i y_i - y"
        else:
            core, tex = "ŷ − y", r"\hat{y} - y"
        if self.scale != 1.0:
            return Formula(f"({core}){per_batch.text}", rf"\left({tex}\right){per_batch.latex}")
        return Formula(core, tex)

    # -- shapes --------------------------------------------------------------------

    def shown(self, name: str, value: Any) -> Any:
        """A value as users see it: for one sample, column vectors become vectors."""
        if self.problem.single and _is_column_quantity(name) and np.ndim(value) == 2:
            return value[:, 0]
        return value

    def internal(self, name: str, value: Any) -> Any:
        """The inverse of :meth:`shown`: a vector back to a (units, 1) column."""
        if self.problem.single and _is_column_quantity(name) and np.ndim(value) == 1:
            return np.asarray(value)[:, None]
        return value


def _is_column_quantity(name: str) -> bool:
    """Quantities with one column per sample (Z, A, δ, ∂L/∂A, f')."""
    return name[0] in "ZA" or name.startswith(("delta", "dA", "fprime"))


def _fprime(layer: int) -> Formula:
    z = sym("Z", layer)
    return Formula(f"f{layer}'({z.text})", f"f_{{{layer}}}'({z.latex})")


# ---------------------------------------------------------------------------
# Solving


def solve(problem: Problem) -> Solution:
    """Run forward, backward and update, recording every quantity in order."""
    network = Network(problem)
    solution = Solution(problem)
    values = network.given()
    with np.errstate(all="ignore"):  # non-finite values are reported by Solution.add
        try:
            for phase, name in network.plan():
                values[name] = network.compute(name, values)
                label = network.symbols.label(split_name(name)[1]) if name[0] == "A" else ""
                solution.add(
                    phase, name, network.equation(name), network.shown(name, values[name]), label
                )
        except NumericError as exc:
            raise exc.located(source=problem.source) from None
    return solution

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

    def forward(self, z: np.ndarray) -> np.ndarray:
        return self.f(z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return self.f.derivative(z)

    def formula(self, z: Formula, index: int) -> Formula:
        return Formula(_substitute(self.f.text, z.text), _substitute(self.f.latex, z.latex))

    def derivative_formula(self, z: Formula) -> Formula:
        text = _substitute(self.f.derivative_text, z.text)
        return Formula(text, _substitute(self.f.derivative_latex, z.latex))


class Softmax:
    """ŷ = e^Z / Σ e^Z per column; backward through its Jacobian diag(ŷ) − ŷŷᵀ."""

    def forward(self, z: np.ndarray) -> np.ndarray:
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

    def formula(self, z: Formula, index: int) -> Formula:
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
        one_column = isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 1
        if self.problem.single and one_column and not name.startswith(("W", "dW")):
            value = value[:, 0]  # one sample: show column vectors as vectors
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


# ---------------------------------------------------------------------------
# Solving


def solve(problem: Problem) -> Solution:
    """Run forward, backward and update, recording every quantity in order."""
    with np.errstate(all="ignore"):  # non-finite values are reported by Solution.add
        try:
            return _solve(problem)
        except NumericError as exc:
            raise exc.located(source=problem.source) from None


def _solve(problem: Problem) -> Solution:
    sol = Solution(problem)
    s = Symbols(problem.depth)
    p = problem.parameters
    L = problem.depth  # noqa: N806 - the number of layers, as in the formulas
    acts = [Softmax() if layer.is_softmax else Elementwise(layer) for layer in problem.layers]
    loss = make_loss(problem.loss)
    batch = problem.batch_size
    scale = 1.0 / batch if problem.reduction == "mean" and batch > 1 else 1.0

    # Forward: Z_l = W_l·A_{l-1} + b_l, A_l = f_l(Z_l).
    a_values = [problem.x]
    z_values = []
    for i, (layer, act) in enumerate(zip(problem.layers, acts, strict=True), start=1):
        rhs = sym("W", i) @ s.a(i - 1)
        z = p[f"W{i}"] @ a_values[-1]
        if layer.bias:
            rhs = rhs + sym("b", i)
            z = z + p[f"b{i}"][:, None]
        sol.add("forward", f"Z{i}", sym("Z", i).eq(rhs), z)
        a = act.forward(z)
        sol.add("forward", f"A{i}", s.a(i).eq(act.formula(sym("Z", i), i)), a, s.label(i))
        z_values.append(z)
        a_values.append(a)

    z_out, y_hat, y = z_values[-1], a_values[-1], problem.y
    per_sample = loss.per_sample(z_out, y_hat, y, acts[-1])
    lead = Formula("(1/B) Σ_b ", r"\frac{1}{B}\sum_b ") if scale != 1.0 else Formula("", "")
    if batch > 1 and scale == 1.0:
        lead = Formula("Σ_b ", r"\sum_b ")
    loss_formula = Formula(f"{lead.text}{loss.formula.text}", f"{lead.latex}{loss.formula.latex}")
    sol.add("forward", "loss", Formula("L", "L").eq(loss_formula), float(per_sample.sum() * scale))

    # Backward, output layer: δ_L = ∂L/∂Z_L.
    batch_note = Formula(" / B", r" / B") if scale != 1.0 else Formula("", "")
    if _fast_output_delta(acts[-1], loss):
        # softmax + cross-entropy: δ = ŷ·Σy − y (ŷ − y for a one-hot target);
        # sigmoid + binary cross-entropy: δ = ŷ − y.
        if isinstance(acts[-1], Softmax):
            delta = y_hat * y.sum(axis=0, keepdims=True) - y
            one_hot = np.allclose(y.sum(axis=0), 1.0)
            core = "ŷ − y" if one_hot else "ŷ·Σy − y"
            core_tex = r"\hat{y} - y" if one_hot else r"\hat{y}\sum_i y_i - y"
        else:
            delta = y_hat - y
            core, core_tex = "ŷ − y", r"\hat{y} - y"
        delta = delta * scale
        rhs = Formula(core + batch_note.text, core_tex + batch_note.latex)
        if scale != 1.0:
            rhs = Formula(
                f"({core}){batch_note.text}", rf"\left({core_tex}\right){batch_note.latex}"
            )
        sol.add("backward", f"delta{L}", sym("δ", L, r"\delta").eq(rhs), delta)
    else:
        # General path: ∂L/∂ŷ from the loss, then back through the activation.
        grad_a = loss.gradient(y_hat, y) * scale
        g = loss.gradient_formula
        rhs = Formula(g.text + batch_note.text, g.latex + batch_note.latex)
        sol.add("backward", f"dA{L}", grad(s.a(L)).eq(rhs), grad_a)
        delta = _through_activation(sol, acts[-1], L, z_out, y_hat, grad_a, grad(s.a(L)))

    for i in range(L, 0, -1):
        layer = problem.layers[i - 1]
        a_prev = a_values[i - 1]
        # Z_l = W_l·A_{l-1} + b_l, so ∂L/∂W_l = δ_l·A_{l-1}ᵀ and ∂L/∂b_l = Σ_batch δ_l.
        sol.add(
            "backward", f"dW{i}", grad(sym("W", i)).eq(_delta(i) @ s.a(i - 1).T), delta @ a_prev.T
        )
        if layer.bias:
            rhs = (
                _delta(i)
                if batch == 1
                else Formula(f"Σ_b {_delta(i).text}", rf"\sum_b {_delta(i).latex}")
            )
            sol.add("backward", f"db{i}", grad(sym("b", i)).eq(rhs), delta.sum(axis=1))
        if i == 1:
            break
        # ∂L/∂A_{l-1} = W_lᵀ·δ_l, then δ_{l-1} = ∂L/∂A_{l-1} through f_{l-1}.
        grad_a = p[f"W{i}"].T @ delta
        back = sym("W", i).T @ _delta(i)
        sol.add("backward", f"dA{i - 1}", grad(s.a(i - 1)).eq(back), grad_a)
        delta = _through_activation(
            sol, acts[i - 2], i - 1, z_values[i - 2], a_values[i - 1], grad_a, back.paren()
        )

    # Update: one step of gradient descent with the gradients of the old parameters.
    rate = problem.learning_rate
    for i, layer in enumerate(problem.layers, start=1):
        for letter in ("W", "b") if layer.bias else ("W",):
            name = f"{letter}{i}"
            old = sym(letter, i)
            new = Formula(f"{name}'", f"{old.latex}'")
            if name in problem.frozen:
                sol.add(
                    "update",
                    f"{name}_new",
                    new.eq(Formula(f"{name} (frozen)", old.latex)),
                    p[name].copy(),
                )
                continue
            gradient = sol.values[f"d{name}"]
            rhs = old - Formula(f"{rate:g}·{grad(old).text}", rf"{rate:g}\,{grad(old).latex}")
            sol.add("update", f"{name}_new", new.eq(rhs), p[name] - rate * np.asarray(gradient))
    return sol


def _delta(layer: int) -> Formula:
    return sym("δ", layer, r"\delta")


def _through_activation(
    sol: Solution,
    act: Any,
    layer: int,
    z: np.ndarray,
    a: np.ndarray,
    grad_a: np.ndarray,
    grad_a_formula: Formula,
) -> np.ndarray:
    """δ_l = ∂L/∂Z_l from ∂L/∂A_l, recording f'(Z_l) for elementwise activations."""
    zf = sym("Z", layer)
    if isinstance(act, Softmax):
        delta = Softmax.backward(a, grad_a)
        af = Symbols(sol.problem.depth).a(layer)
        jacobian = Formula(
            f"(diag({af.text}) − {af.text}·{af.text}ᵀ)",
            rf"\left(\operatorname{{diag}}({af.latex}) - {af.latex} {af.latex}^{{\top}}\right)",
        )
        sol.add("backward", f"delta{layer}", _delta(layer).eq(jacobian @ grad_a_formula), delta)
        return delta
    fprime = act.derivative(z)
    fp_name = Formula(f"f{layer}'({zf.text})", f"f_{{{layer}}}'({zf.latex})")
    sol.add("backward", f"fprime{layer}", fp_name.eq(act.derivative_formula(zf)), fprime)
    delta = grad_a * fprime
    sol.add("backward", f"delta{layer}", _delta(layer).eq(grad_a_formula * fp_name), delta)
    return delta

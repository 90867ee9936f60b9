"""The NumPy engine: forward pass, backpropagation and one update, as a worked solution.

A :class:`Network` holds one :class:`~nncalc.layers.Rule` per quantity of the
problem: the layer kinds of :mod:`nncalc.layers` give theirs (each backward step
beside the forward step it differentiates), the loss and the optimizer's update
are written here.  :func:`solve` runs the rules in the order of a worked solution
and records every intermediate as a named :class:`Step` with its equation.

Conventions (as in the reference course): samples are columns, so for layer l
``Z{l} = W{l}·A{l-1} + b{l}`` with W of shape (units, inputs) and Z of shape
(units, batch).  ``delta{l}`` is ∂loss/∂Z{l} for the *reduced* loss (mean or sum
over the batch), so the gradients need no further scaling.  Feature maps are
(batch, channels, height, width) (see :mod:`nncalc.layers`); an rnn keeps one
(units, batch) column block per time step, named ``A1_t3`` and so on, and the
dense layers above it see the steps side by side as extra columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nncalc.display import NotebookDisplay
from nncalc.errors import NumericError
from nncalc.formula import Formula, grad, param_symbol, sym
from nncalc.layers import (
    Elementwise,
    Layer,
    Rule,
    Softmax,
    activation_of,
    delta_symbol,
)
from nncalc.names import canonical_name, param_of, split_name, time_step
from nncalc.optimizers import prev
from nncalc.vocabulary import Phase
from nncalc.work import worked

if TYPE_CHECKING:
    from nncalc.expr import Evaluation
    from nncalc.problem import Problem

Values = dict[str, Any]


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
class Solution(NotebookDisplay):
    """Every intermediate of forward, backward and update, in order."""

    problem: Problem
    network: Network = field(repr=False)  # the rules that produced it (shapes, givens)
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


# ---------------------------------------------------------------------------
# The network: every quantity as a rule of the quantities before it


class Network:
    """The problem's quantities as rules: each one computed from named earlier ones.

    The public interface every other module uses: :meth:`plan` (the quantities in
    order), :meth:`given` (the known values), :meth:`run` and :meth:`steps` (compute the
    plan),
    :meth:`compute` (one quantity from given values: "recompute this from these
    inputs"), :meth:`inputs`, :meth:`equation`, :meth:`label`, and :meth:`shown` /
    :meth:`internal` between the shapes users see and the ones held (samples as
    columns, feature maps as (batch, C, H, W), an rnn's states per time step).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.depth = problem.depth
        self.activations = [activation_of(layer) for layer in problem.layers]
        self.loss = make_loss(problem.loss)
        self.batch = batch = problem.batch_size
        #: ∂(reduced loss)/∂(summed loss): 1/B for a mean over a batch of B, else 1.
        self.scale = 1.0 / batch if problem.reduction == "mean" and batch > 1 else 1.0
        #: δ_L in closed form (softmax with cross-entropy, sigmoid with binary
        #: cross-entropy): no ∂L/∂ŷ and no f'(Z_L) in the worked solution.
        self.closed_form_delta = problem.closed_form_output_delta
        self.symbols = Symbols(problem)
        self.optimizer = problem.optimizer
        self.time_steps = problem.time_steps  # T, the length of an rnn's input sequence
        self.per_step_output = bool(problem.recurrent) and problem.layers[0].output == "every"
        self.single_column = problem.y.shape[1] == 1
        self.single = problem.single
        self._kept_results: dict[tuple[str, int], tuple[np.ndarray, Any]] = {}
        self._plan = problem.plan()
        self.rules = {name: self._rule(phase, name) for phase, name in self._plan}

    def layer(self, i: int) -> Layer:
        return self.problem.layers[i - 1]

    def activation(self, i: int) -> Elementwise | Softmax | None:
        """Layer i's activation: softmax, an elementwise f, or None (pooling, flatten)."""
        return self.activations[i - 1]

    # -- the public interface ----------------------------------------------------------

    def plan(self) -> list[tuple[Phase, str]]:
        """(phase, name) of every quantity, in the order a worked solution computes them."""
        return self._plan

    def given(self) -> Values:
        """The known values every rule may read: A0 = x (x_t, h0), y, the parameters and
        the optimizer's state before this step."""
        p = self.problem
        values: Values = {"A0": p.x, "y": p.y, "t": p.optimizer.step, **p.parameters}
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

    def run(self, values: Values, phases: Iterable[Phase] = ()) -> Values:
        """Compute the plan (or its ``phases``) into ``values``, in order; return them."""
        for _ in self.steps(values, phases):
            pass
        return values

    def steps(self, values: Values, phases: Iterable[Phase] = ()) -> Iterator[tuple[Phase, str]]:
        """:meth:`run`, one quantity at a time: yields each (phase, name) once its value
        is in ``values``."""
        wanted = set(phases)
        for phase, name in self._plan:
            if not wanted or phase in wanted:
                values[name] = self.rules[name].compute(values, None)
                yield phase, name

    def compute(self, name: str, v: Values, evaluation: Evaluation | None = None) -> Any:
        """The value of ``name`` from the values ``v`` holds (internal shapes).

        ``evaluation`` evaluates activations differently (degrees, relu's step) to model
        a student's slip; everything else is exact.
        """
        return self.rules[name].compute(v, evaluation)

    def inputs(self, name: str) -> list[str]:
        """The computed quantities (not x, y or parameters) that ``name``'s rule reads."""
        return self.rules[name].reads

    def equation(self, name: str) -> Formula:
        return self.rules[name].equation()

    def label(self, name: str) -> str:
        """The name as shown: 'A1 (H)', 'A1_t2 (h_2)'; '' when the name says it all."""
        return self.symbols.label(name)

    # -- what the layer kinds' rules read -----------------------------------------------

    def input_names(self, i: int) -> list[str]:
        """The computed quantities layer i reads as its input (x itself is given)."""
        if i == 1:
            return []
        below = self.layer(i - 1)
        if below.kind == "rnn":
            steps = range(1, self.time_steps + 1) if below.output == "every" else [self.time_steps]
            return [f"A{i - 1}_t{t}" for t in steps]
        return [f"A{i - 1}"]

    def layer_input(self, i: int, v: Values) -> Any:
        """Layer i's input: A_{i-1}; after an rnn, h_t side by side (every step) or h_T."""
        names = self.input_names(i)
        if not names:
            return v["A0"]
        return v[names[0]] if len(names) == 1 else np.concatenate([v[n] for n in names], axis=1)

    def input_symbol(self, i: int) -> Formula:
        names = self.input_names(i)
        if len(names) > 1:
            return Formula("[h_1 … h_T]", r"[h_1 \dots h_T]")
        if names and "_t" in names[0]:
            return self.symbols.a(i - 1, self.time_steps)
        return self.symbols.a(i - 1)

    def kept(self, key: tuple[str, int], a: np.ndarray, build: Callable[[], Any]) -> Any:
        """``build()``, computed once while its input ``a`` is the same array (the im2col
        matrix of a convolution, the winners of a max-pooling)."""
        kept = self._kept_results.get(key)
        if kept is not None and kept[0] is a:
            return kept[1]
        result = build()
        self._kept_results[key] = (a, result)
        return result

    # -- the rules ----------------------------------------------------------------------

    def _rule(self, phase: Phase, name: str) -> Rule:
        if phase == "update":
            return self._update_rule(name)
        quantity, i = split_name(name)
        L = self.depth  # noqa: N806 - as in the formulas
        if quantity == "loss":
            return self._loss_rule()
        if quantity == "dA" and i == L:
            return self._loss_gradient_rule()
        if quantity == "delta" and i == L and self.closed_form_delta:
            return self._closed_form_delta_rule()
        if quantity == "dA":  # ∂L/∂A_i: the backward step of the layer above to its input
            return self.layer(i + 1).rules.input_gradient(i + 1, self)
        return self.layer(i).rules.rule(quantity, i, time_step(name), self)

    # Loss: L = (1/B) Σ_b ℓ(ŷ_b, y_b), and its gradient ∂L/∂ŷ ...
    def _loss_rule(self) -> Rule:
        L = self.depth  # noqa: N806
        z, a = f"Z{L}", f"A{L}"

        def loss(v: Values, e: Evaluation | None) -> float:
            per_sample = self.loss.per_sample(v[z], v[a], v["y"], self.activations[-1])
            return float(per_sample.sum() * self.scale)

        return Rule([z, a], loss, self._loss_equation)

    def _loss_equation(self) -> Formula:
        f = self.loss.formula
        lead = Formula("", "")
        if self.scale != 1.0:
            lead = Formula("(1/B) Σ_b ", r"\frac{1}{B}\sum_b ")
        elif self.problem.batch_size > 1:
            lead = Formula("Σ_b ", r"\sum_b ")
        if self.per_step_output and self.time_steps > 1:
            lead = Formula(lead.text + "Σ_t ", lead.latex + r"\sum_t ")
        return Formula("L", "L").eq(Formula(lead.text + f.text, lead.latex + f.latex))

    def _loss_gradient_rule(self) -> Rule:
        L = self.depth  # noqa: N806
        a = f"A{L}"

        def equation() -> Formula:
            g = self.loss.gradient_formula
            per_batch = self._per_batch()
            return grad(self.symbols.a(L)).eq(
                Formula(g.text + per_batch.text, g.latex + per_batch.latex)
            )

        return Rule([a], lambda v, e: self.loss.gradient(v[a], v["y"]) * self.scale, equation)

    # ... or, for softmax + cross-entropy, δ_L = ŷ·Σy − y directly
    # (and for sigmoid + binary cross-entropy δ_L = ŷ − y).
    def _closed_form_delta_rule(self) -> Rule:
        L = self.depth  # noqa: N806
        a = f"A{L}"
        softmax = isinstance(self.activations[-1], Softmax)

        def delta(v: Values, e: Evaluation | None) -> Any:
            y_hat, y = v[a], v["y"]
            if softmax:
                return (y_hat * y.sum(axis=0, keepdims=True) - y) * self.scale
            return (y_hat - y) * self.scale

        return Rule([a], delta, lambda: delta_symbol(L).eq(self._output_delta_formula()))

    def _per_batch(self) -> Formula:
        return Formula(" / B", " / B") if self.scale != 1.0 else Formula("", "")

    def _output_delta_formula(self) -> Formula:
        if isinstance(self.activations[-1], Softmax) and not np.allclose(
            self.problem.y.sum(axis=0), 1
        ):
            core, tex = "ŷ·Σy − y", r"\hat{y}\sum_i y_i - y"
        else:
            core, tex = "ŷ − y", r"\hat{y} - y"
        per_batch = self._per_batch()
        if self.scale != 1.0:
            return Formula(f"({core}){per_batch.text}", rf"\left({tex}\right){per_batch.latex}")
        return Formula(core, tex)

    # Update: θ' from θ and ∂L/∂θ by the optimizer (sgd: θ' = θ − α·∂L/∂θ);
    # a frozen parameter stays: θ' = θ.
    def _update_rule(self, name: str) -> Rule:
        param = param_of(name)
        rate = self.problem.learning_rate
        if param in self.problem.frozen:
            old = param_symbol(param)
            return Rule(
                [f"d{param}"],
                lambda v, e: v[param].copy(),
                lambda: Formula(f"{param}'", f"{old.latex}'").eq(
                    Formula(f"{param} (frozen)", old.latex)
                ),
            )
        quantity = split_name(name)[0]
        state = quantity.rpartition("_")[0] if not quantity.endswith("new") else "new"
        states = self.optimizer.quantities(param)
        before = states[: states.index(name)] if name in states else states
        return Rule(
            [f"d{param}", *before],
            lambda v, e: self.optimizer.compute(state, param, v, rate),
            lambda: self.optimizer.equation(state, param, rate),
        )

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


def as_rows(value: Any) -> np.ndarray:
    """A value in the layout of the mathematics: a scalar 1×1, a vector a column (the
    course's convention), matrices as they are; a view, so that showing the corners of a
    big matrix never turns all of it into Python floats."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr[:, None]
    return arr


def _squeeze_kernel(value: Any) -> Any:
    """A conv kernel bank (out, in, kh, kw) of one output and one input channel: kh×kw."""
    if np.ndim(value) == 4 and value.shape[0] == 1 and value.shape[1] == 1:
        return value[0, 0]
    return value


# ---------------------------------------------------------------------------
# Solving


def solve(problem: Problem) -> Solution:
    """Run forward, backward and update, recording every quantity in order."""
    return traced(problem)[0]


def traced(problem: Problem) -> tuple[Solution, Values]:
    """:func:`solve`, and the engine's own values (from which a training run goes on)."""
    network = Network(problem)
    solution = Solution(problem, network)
    values = network.given()
    with np.errstate(all="ignore"):  # non-finite values are reported by Solution.add
        try:
            for phase, name in network.steps(values):
                solution.add(
                    phase,
                    name,
                    network.equation(name),
                    network.shown(name, values[name]),
                    network.label(name),
                    worked(network, name, values),
                )
        except NumericError as exc:
            raise exc.located(source=problem.source) from None
    return solution, values

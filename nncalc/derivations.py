"""Students' derivations: is a formula the quantity it claims to be?

A formula is right when it **equals the quantity in every one of several random worlds**:
the problem's network with parameters, inputs and targets drawn at random (seeded, so the
verdict never changes), solved by the engine, every name in the formula bound to that
world's value. ``δ2 = softmax(Z2) − y`` and ``ŷ − y`` are both right; ``x·δ1ᵀ`` is not
(transposed), nor is ``(W2ᵀ·δ2)·f'(Z1)`` (a matrix product where ⊙ belongs: the shapes do
not even match). A formula that agrees only at the problem's own numbers cannot pass: the
worlds are not the problem's numbers, and each world draws every entry anew, so a formula
that differs from the quantity as a function differs in some world (the draws exercise both
branches of a piecewise activation).

The worlds are solved once per problem, and each distinct formula is judged once: a class
that writes the same twenty formulas costs twenty judgements. Formulas are evaluated on all
worlds at once: every value is a stack of matrices, (worlds, rows, columns), with the usual
mathematical layout (vectors are columns, a bias is a column, a scalar is 1×1).

Shapes follow the mathematics, not NumPy's broadcasting: a matrix product needs matching
inner sizes (or a scalar factor); ⊙, +, − and / need equal shapes, a scalar, or a bias
column against one column per sample (and a row of per-sample sums against its columns).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncalc import notation as n
from nncalc.engine import Network, Values, as_rows
from nncalc.errors import NncalcError
from nncalc.expr import apply_function
from nncalc.layers import Elementwise, Softmax
from nncalc.names import course_name, plain_layer_numbers, split_name
from nncalc.problem import Problem
from nncalc.vocabulary import ACTIVATION_FUNCTIONS

#: Random worlds a formula must hold in (besides the problem's own numbers).
WORLDS = 4
SEED = 4023
#: Two evaluations agree when within this relative distance (floating-point precision,
#: with room for a different order of operations).
RTOL = 1e-8
#: The learning rate's spellings all reach the parser as this name.
LEARNING_RATE = "lr"

Stack = np.ndarray  # (worlds, rows, columns)


class FormulaMismatchError(NncalcError):
    """A formula that cannot be evaluated: shapes that do not fit, an unknown name. Not a
    refusal of the file: the formula is simply wrong (or unreadable), with this reason."""


@dataclass(frozen=True)
class Judgement:
    """The verdict on one formula for one quantity."""

    verdict: str  # "correct", "wrong" or "invalid" (does not parse, or names nothing known)
    message: str | None  # the hint (wrong) or the reason (invalid)
    text: str  # the formula in the engine's notation, "" when it does not parse
    latex: str


# --- the mathematical layout -------------------------------------------------------------


def _shape(value: Stack) -> str:
    return "×".join(str(s) for s in value.shape[1:])


# --- the worlds --------------------------------------------------------------------------


def _targets(problem: Problem, rng: np.random.Generator) -> np.ndarray:
    """Targets a student's formula must hold for: distributions for a softmax with
    cross-entropy (the closed form ŷ − y needs Σy = 1), values in (0, 1) for binary
    cross-entropy, any numbers otherwise."""
    shape = problem.y.shape
    if problem.loss == "cross_entropy":
        return rng.dirichlet(np.ones(shape[0]), size=shape[1]).T
    if problem.loss == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, size=shape)
    return rng.normal(0.0, 1.0, size=shape)


def _world(problem: Problem, rng: np.random.Generator) -> Values:
    """The engine's values for the problem with random parameters, inputs and targets."""
    parameters = {k: rng.normal(0.0, 0.6, size=v.shape) for k, v in problem.parameters.items()}
    x = rng.normal(0.0, 1.0, size=problem.x.shape)
    drawn = dataclasses.replace(problem, parameters=parameters, x=x, y=_targets(problem, rng))
    network = Network(drawn)
    with np.errstate(all="ignore"):
        return network.run(network.given())


def _both_branches(problem: Problem, worlds: list[Values]) -> bool:
    """Every kinked activation sees net inputs on both sides of 0 across the worlds."""
    for i, layer in enumerate(problem.layers, start=1):
        if layer.elementwise is None or not layer.elementwise.has_step:
            continue
        names = [k for k in worlds[0] if k == f"Z{i}" or k.startswith(f"Z{i}_t")]
        z = np.concatenate([np.ravel(w[k]) for w in worlds for k in names])
        if not ((z > 0).any() and (z < 0).any()):
            return False
    return True


def draw_worlds(problem: Problem, count: int = WORLDS, seed: int = SEED) -> list[Values]:
    """``count`` random worlds of the problem (seeded: the same worlds every run)."""
    rng = np.random.default_rng(seed)
    worlds = [_world(problem, rng) for _ in range(count)]
    for _ in range(20):  # rarely needed: a draw that leaves a branch unexercised
        if _both_branches(problem, worlds):
            break
        worlds[rng.integers(count)] = _world(problem, rng)
    return worlds


# --- binding names -----------------------------------------------------------------------

_PARAMETER = re.compile(r"(Wx|Wh|W|b)_?\{?(\d+)\}?")
_GRADIENT = re.compile(r"d(?:L|Loss|loss|J|E)/d(.+)")
#: ∂L/∂(quantity) → the canonical gradient name.
_GRADIENT_OF = {"A": "dA", "Z": "delta", "W": "dW", "b": "db", "Wx": "dWx", "Wh": "dWh"}


@dataclass(frozen=True)
class _Context:
    """What names mean in one formula: the quantity it defines and its layer."""

    target: str
    layer: int
    fprime: bool  # a derivative formula: x is the layer's net input
    entrywise: bool  # a function of each entry: an activation or its derivative


class _Names:
    """Written names → keys of the values (canonical names, parameters, x, y, lr, B)."""

    def __init__(self, problem: Problem, order: dict[str, int]) -> None:
        self.problem = problem
        self.order = order

    def key(self, written: str, context: _Context, step: int | None = None) -> str:
        key = self._key(written, context, step)
        if key is None:
            raise FormulaMismatchError(f"unknown name {written!r}")
        position = self.order.get(key, -1)
        if key == context.target:
            raise FormulaMismatchError(f"it defines {written} by itself")
        if position > self.order[context.target]:
            raise FormulaMismatchError(
                f"it uses {written}, which the worked solution computes after this"
            )
        return key

    def _key(self, written: str, context: _Context, step: int | None) -> str | None:
        p = self.problem
        plain = written.replace("\\", "").replace(" ", "")
        if step is not None:
            return self._step_key(plain, step)
        if plain == "x":
            return f"Z{context.layer}" if context.fprime else "A0"
        at = re.fullmatch(r"(x|h)_?\{?(\d+)\}?", plain)
        if at and p.recurrent:  # x_2, h_{1}: an rnn's input and state at a step
            return self._step_key(at[1], int(at[2]))
        if plain in ("z", "Z"):
            return f"Z{context.layer}"
        if plain in ("y", LEARNING_RATE, "B", "k", "T"):
            return plain
        parameter = _PARAMETER.fullmatch(plain_layer_numbers(plain))
        if parameter and f"{parameter[1]}{parameter[2]}" in p.parameters:
            return f"{parameter[1]}{parameter[2]}"
        gradient = _GRADIENT.fullmatch(plain.replace("∂", "d"))
        if gradient:
            of = self._key(gradient[1], context, None)
            return _gradient_name(of) if of else None
        return course_name(plain, p.depth, p.recurrent)

    def _step_key(self, base: str, step: int) -> str | None:
        p = self.problem
        if base == "x":
            return f"A0_t{step}"
        if base == "h" and p.recurrent:
            return f"A{p.recurrent}_t{step}"
        return course_name(f"{base}_t{step}", p.depth, p.recurrent)


def _gradient_name(of: str) -> str | None:
    """∂L/∂(of): ∂L/∂W2 → dW2, ∂L/∂Z1 → delta1, ∂L/∂H → dA1."""
    if of in ("loss", "y", "A0", LEARNING_RATE, "B", "k", "T"):
        return None
    parameter = re.fullmatch(r"(Wx|Wh|W|b)(\d+)", of)
    if parameter:
        return f"d{of}"
    try:
        kind, layer = split_name(of)
    except KeyError:
        return None
    suffix = of[len(kind.removesuffix("_t")) + len(str(layer)) :]
    base = _GRADIENT_OF.get(kind.removesuffix("_t"))
    return f"{base}{layer}{suffix}" if base else None


# --- evaluation --------------------------------------------------------------------------


class _Scope:
    """Values for one evaluation: all worlds stacked, or the student's own (one world)."""

    def __init__(
        self,
        lookup: Callable[[str], Stack],
        names: _Names,
        context: _Context,
        network: Network,
    ) -> None:
        self.lookup = lookup
        self.names = names
        self.context = context
        self.network = network
        self.step: int | None = None  # the time step inside Σ_t
        # Inside a Σ (an indexed summand), and in an activation or its derivative (a
        # function of one entry), a product of equal shapes is entry by entry.
        self.entrywise = int(context.entrywise)

    def symbol(self, node: n.Sym | n.StepSym) -> Stack:
        if isinstance(node, n.StepSym):
            if self.step is None:
                raise FormulaMismatchError(f"{node.written}_t outside a sum over t")
            return self.lookup(self.names.key(node.written, self.context, self.step + node.offset))
        return self.lookup(self.names.key(node.written, self.context))


def _same(a: Stack, b: Stack, what: str, left: n.Node, right: n.Node) -> tuple[Stack, Stack]:
    """Operands of an entry-by-entry operation: equal shapes, a scalar, a bias column
    against a column per sample, or a row of per-sample sums against its columns."""
    ra, ca = a.shape[-2:]
    rb, cb = b.shape[-2:]
    if (ra, ca) == (rb, cb) or (ra, ca) == (1, 1) or (rb, cb) == (1, 1):
        return a, b
    if (ra == rb and 1 in (ca, cb)) or (ca == cb and 1 in (ra, rb)):
        return a, b
    raise FormulaMismatchError(
        f"the shapes do not match: {n.text(left)} ({_shape(a)}) {what} "
        f"{n.text(right)} ({_shape(b)})"
    )


def _matmul(a: Stack, b: Stack, left: n.Node, right: n.Node) -> Stack:
    """A·B: a matrix product, or a scalar times a matrix."""
    if a.shape[-2:] == (1, 1) or b.shape[-2:] == (1, 1):
        return a * b
    if a.shape[-1] != b.shape[-2]:
        raise FormulaMismatchError(
            f"the shapes do not match: {n.text(left)} ({_shape(a)}) · "
            f"{n.text(right)} ({_shape(b)}) is no matrix product"
        )
    return np.matmul(a, b)


def _softmax(z: Stack) -> Stack:
    e = np.exp(z - z.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True)


def _sigmoid(z: Stack) -> Stack:
    return 1.0 / (1.0 + np.exp(-z))


#: Functions a formula may call beyond the problem file's own (ACTIVATION_FUNCTIONS,
#: which :func:`nncalc.expr.apply_function` computes as the engine does).
_MORE_FUNCTIONS: dict[str, Callable[[Stack], Stack]] = {
    "log10": np.log10,
    "relu'": lambda z: (z > 0).astype(float),
    "sigmoid'": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh'": lambda z: 1 - np.tanh(z) ** 2,
    "softmax": _softmax,
}
_COMPARE: dict[str, Callable[[Stack, Stack], Stack]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


def _xcorr(a: Stack, b: Stack) -> Stack:
    """Valid cross-correlation: the smaller slides over the larger (W ⋆ x, x ⋆ δ)."""
    big, small = (a, b) if a.shape[-2] >= b.shape[-2] else (b, a)
    kh, kw = small.shape[-2:]
    oh, ow = big.shape[-2] - kh + 1, big.shape[-1] - kw + 1
    if oh < 1 or ow < 1 or small.shape[-1] > big.shape[-1]:
        raise FormulaMismatchError(f"cannot slide {_shape(small)} over {_shape(big)}")
    windows = np.lib.stride_tricks.sliding_window_view(big, (kh, kw), axis=(-2, -1))
    return np.einsum("...ijpq,...pq->...ij", windows, small)


def _evaluate(node: n.Node, scope: _Scope) -> Stack:
    """The formula's value, following the mathematics' shapes (see the module's notes)."""
    e = _evaluate
    if isinstance(node, n.Num):
        return np.full((1, 1, 1), node.value)
    if isinstance(node, (n.Sym, n.StepSym)):
        return scope.symbol(node)
    if isinstance(node, n.Neg):
        return -e(node.u, scope)
    if isinstance(node, (n.Add, n.Sub, n.Hadamard, n.Div)):
        symbol, op = _BINARY[type(node)]
        a, b = _same(e(node.a, scope), e(node.b, scope), symbol, node.a, node.b)
        return op(a, b)
    if isinstance(node, n.MatMul):
        a, b = e(node.a, scope), e(node.b, scope)
        if scope.entrywise and a.shape[-2:] == b.shape[-2:]:
            return a * b  # Σ y·log ŷ: the summand is indexed, Σ_i y_i log ŷ_i
        return _matmul(a, b, node.a, node.b)
    if isinstance(node, n.Pow):
        exponent = e(node.exponent, scope)
        if exponent.shape[-2:] != (1, 1):
            raise FormulaMismatchError("an exponent must be a number")
        return np.power(e(node.base, scope), exponent)
    if isinstance(node, n.Transpose):
        return np.swapaxes(e(node.u, scope), -1, -2)
    if isinstance(node, n.Call):
        return _call(node, scope)
    if isinstance(node, n.Sum):
        return _sum(node, scope)
    if isinstance(node, n.Indicator):
        a, b = _same(e(node.a, scope), e(node.b, scope), node.op, node.a, node.b)
        return _COMPARE[node.op](a, b).astype(float)
    if isinstance(node, n.Piecewise):
        return _piecewise(node, scope)
    raise FormulaMismatchError(f"cannot evaluate {type(node).__name__}")


_BINARY: dict[type, tuple[str, Callable[[Stack, Stack], Stack]]] = {
    n.Add: ("+", np.add),
    n.Sub: ("−", np.subtract),
    n.Hadamard: ("⊙", np.multiply),
    n.Div: ("/", np.divide),
}


def _call(node: n.Call, scope: _Scope) -> Stack:
    if node.func in ACTIVATION_FUNCTIONS:
        return _activation_function(node, scope)
    args = [_evaluate(arg, scope) for arg in node.args]
    func = node.func
    if func == "xcorr" and len(args) == 2:
        return _xcorr(args[0], args[1])
    if len(args) != 1:
        raise FormulaMismatchError(f"{func} takes one argument")
    (u,) = args
    if func in ("flatten", "reshape"):
        return _reshape(u, scope, flat=func == "flatten")
    if func in ("f", "fprime"):
        return _activation(node, u, scope)
    return _MORE_FUNCTIONS[func](u)


def _activation_function(node: n.Call, scope: _Scope) -> Stack:
    """relu(z), leaky_relu(z, a), sin(z) …: as the problem file defines them (the parser
    allows a second argument, the parameter, only where the function has one)."""
    u = _evaluate(node.args[0], scope)
    param = None
    if len(node.args) == 2:
        value = _evaluate(node.args[1], scope)
        if value.size != 1:
            raise FormulaMismatchError(f"the parameter of {node.func} must be a number")
        param = float(value.ravel()[0])
    return np.asarray(apply_function(node.func, u, param), dtype=float)


def _activation(node: n.Call, u: Stack, scope: _Scope) -> Stack:
    """f or f′ of a layer: the one written (f1, f_1) or the layer the formula is about."""
    layer = node.layer or scope.context.layer
    if not 1 <= layer <= scope.network.depth:
        raise FormulaMismatchError(f"there is no layer {layer}")
    act = scope.network.activation(layer)
    if isinstance(act, Softmax):
        if node.func == "fprime":
            raise FormulaMismatchError("softmax has no elementwise derivative f′")
        return _softmax(u)
    if not isinstance(act, Elementwise):
        raise FormulaMismatchError(f"layer {layer} has no activation f")
    return act.forward(u) if node.func == "f" else act.derivative(u)


def _reshape(u: Stack, scope: _Scope, *, flat: bool) -> Stack:
    """flatten(A) to a column (row by row); reshape(∂L/∂A) back to the quantity's shape."""
    rows, cols = u.shape[-2:]
    if flat:
        return u.reshape(*u.shape[:-2], rows * cols, 1)
    target = scope.lookup(scope.context.target).shape[-2:]
    if target[0] * target[1] != rows * cols:
        raise FormulaMismatchError(f"cannot reshape {_shape(u)} to {target[0]}×{target[1]}")
    return u.reshape(*u.shape[:-2], *target)


def _sum(node: n.Sum, scope: _Scope) -> Stack:
    """Σ over time steps (Σ_t with δ1_t in it), samples (Σ_b, Σ_t), a feature map's
    positions (Σ_{b,p,q}: everything) or, without an index, over the units (rows)."""
    scope.entrywise += 1
    try:
        return _summed(node, scope)
    finally:
        scope.entrywise -= 1


def _summed(node: n.Sum, scope: _Scope) -> Stack:
    indices = set(node.indices)
    if "t" in indices and _has_step(node.body):
        if scope.step is not None:
            raise FormulaMismatchError("a sum over t inside a sum over t")
        total = None
        try:
            for t in range(1, scope.network.time_steps + 1):
                scope.step = t
                term = _evaluate(node.body, scope)
                total = term if total is None else _same(total, term, "+", node, node)[0] + term
        finally:
            scope.step = None
        if total is None:
            raise FormulaMismatchError("a sum over t in a problem without time steps")
        return total
    body = _evaluate(node.body, scope)
    if indices & {"p", "q"}:
        return body.sum(axis=(-2, -1), keepdims=True)
    if indices & {"b", "t", "n", "s"}:
        return body.sum(axis=-1, keepdims=True)
    return body.sum(axis=-2, keepdims=True)


def _has_step(node: n.Node) -> bool:
    return any(isinstance(part, n.StepSym) for _, part in _paths(node))


def _piecewise(node: n.Piecewise, scope: _Scope) -> Stack:
    conditions = [_evaluate(cond, scope) > 0 for _, cond in node.cases]
    values = [_evaluate(value, scope) for value, _ in node.cases]
    otherwise = (
        _evaluate(node.otherwise, scope)
        if node.otherwise is not None
        else np.full((1, 1, 1), np.nan)
    )
    try:
        shapes = [c.shape for c in conditions] + [v.shape for v in (*values, otherwise)]
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise FormulaMismatchError("the cases of the formula have different shapes") from None
    return np.select(
        [np.broadcast_to(c, shape) for c in conditions],
        [np.broadcast_to(v, shape) for v in values],
        np.broadcast_to(otherwise, shape),
    )


# --- judging -----------------------------------------------------------------------------


class Derivations:
    """The worlds of one problem, and the judge of students' formulas against them."""

    def __init__(self, problem: Problem, network: Network, shown: Callable[[str, Any], Any]):
        self.problem = problem
        self.network = network
        self.shown = shown
        plan = [name for _, name in network.plan()]
        self.order = {name: i for i, name in enumerate(plan)}
        self.names = _Names(problem, self.order)
        self._worlds: dict[str, Stack] | None = None
        self._judged: dict[tuple[str, str], tuple[Judgement, n.Equation | None]] = {}

    # The worlds are drawn on the first formula: sheets without equations never pay for them.
    @property
    def worlds(self) -> dict[str, Stack]:
        if self._worlds is None:
            drawn = draw_worlds(self.problem)
            stacked = {
                name: np.stack([self._matrix(name, world[name]) for world in drawn])
                for name in drawn[0]
                if name != "t"
            }
            for name, value in self.constants.items():
                stacked[name] = np.full((WORLDS, 1, 1), value)
            self._worlds = stacked
        return self._worlds

    @property
    def constants(self) -> dict[str, float]:
        """The numbers a formula may name: α, the batch size B, the output units k, the
        time steps T."""
        p = self.problem
        return {
            LEARNING_RATE: p.learning_rate,
            "B": float(p.batch_size),
            "k": float(p.layers[-1].units),
            "T": float(p.time_steps),
        }

    def _matrix(self, name: str, value: Any) -> np.ndarray:
        return as_rows(self.shown(name, value))

    def context(self, target: str) -> _Context:
        kind, layer = split_name(target)
        layer = layer or self.problem.depth
        fprime = kind.startswith("fprime")
        elementwise = kind.startswith("A") and isinstance(
            self.network.activation(layer), Elementwise
        )
        return _Context(target, layer, fprime, fprime or elementwise)

    def judge(self, target: str, source: str) -> Judgement:
        """The verdict on ``source`` as the formula of ``target`` (judged once per text)."""
        return self._judge(target, source)[0]

    def _judge(self, target: str, source: str) -> tuple[Judgement, n.Equation | None]:
        key = (target, source)
        if key not in self._judged:
            self._judged[key] = self._judge_new(target, source)
        return self._judged[key]

    def _judge_new(self, target: str, source: str) -> tuple[Judgement, n.Equation | None]:
        try:
            equation = n.parse_equation(source)
        except n.NotationError as exc:
            return Judgement("invalid", str(exc), "", ""), None
        context = self.context(target)
        shown = self._display(equation.sides[-1], context)
        text, latex = n.text(shown), n.latex(shown)
        expected = self.worlds[target]
        hint = None
        for candidate in equation.sides:
            try:
                value = self._evaluate_worlds(candidate, context)
            except FormulaMismatchError as exc:
                if str(exc).startswith("unknown name"):
                    return Judgement("invalid", str(exc), text, latex), equation
                hint = self._edit_hint(candidate, context, expected) or str(exc)
                break
            if not self._agrees(value, expected):
                hint = self._hint(candidate, value, context, expected)
                break
        if hint is None:
            return Judgement("correct", None, text, latex), equation
        return Judgement("wrong", hint, text, latex), equation

    def _display(self, node: n.Node, context: _Context) -> n.Node:
        """The formula with every name in the course's symbols (delta2 → δ2, dW2 → ∂L/∂W2,
        y_hat → ŷ, alpha → α), so that it is typeset as the worked solution is."""
        for path, part in list(_paths(node)):
            if isinstance(part, n.Sym):
                try:
                    key = self.names.key(part.written, context)
                except FormulaMismatchError:
                    continue
                node = _put(node, path, self._symbol(key, part))
        return node

    def _symbol(self, key: str, part: n.Sym) -> n.Node:
        if key == LEARNING_RATE:
            return n.Sym("α", pos=part.pos)
        if key in self.constants or key in ("x", "y") or part.written == "x":
            return part
        try:
            kind, layer = split_name(key)
        except KeyError:
            return n.Sym(key if key != "A0" else "x", pos=part.pos)
        if kind == "fprime":
            z = n.Sym(f"Z{layer}", pos=part.pos)
            return n.Call("fprime", (z,), layer, pos=part.pos)
        label = self.network.label(key)  # "A1 (H)", "A2 (ŷ)"
        symbol = label.partition("(")[2].rstrip(")") if label else key
        if kind.startswith("delta"):
            symbol = "δ" + key.removeprefix("delta")
        elif kind.startswith("d") and kind != "delta":
            base = key[1:]
            symbol = "dL/d" + ({"A1": "H"}.get(base, base) if self.problem.depth == 2 else base)
        return n.Sym(symbol, pos=part.pos)

    def _evaluate_worlds(self, node: n.Node, context: _Context) -> Stack:
        scope = _Scope(self._world_value, self.names, context, self.network)
        with np.errstate(all="ignore"):
            value = _evaluate(node, scope)
        return _entrywise(value, context, self.worlds[context.target])

    def _world_value(self, key: str) -> Stack:
        return self.worlds[key]

    @staticmethod
    def _agrees(value: Stack, expected: Stack) -> bool:
        if value.shape[-2:] != expected.shape[-2:]:
            return False
        value = np.broadcast_to(value, expected.shape)
        scale = max(1.0, float(np.max(np.abs(expected))))
        return bool(np.all(np.abs(value - expected) <= RTOL * (np.abs(expected) + scale)))

    # -- hints --------------------------------------------------------------------------

    def _hint(self, node: n.Node, value: Stack, context: _Context, expected: Stack) -> str:
        """The classic slip that gives the student's formula, else what differs."""
        for hint, candidate in self._slips(context, expected):
            with np.errstate(all="ignore"):
                slipped = candidate()
            if slipped is not None and self._agrees(value, slipped):
                return hint
        edited = self._edit_hint(node, context, expected)
        if edited:
            return edited
        if value.shape[-2:] != expected.shape[-2:]:
            what = self.network.label(context.target) or context.target
            return f"the shape is {_shape(value)}; {what} is {_shape(expected)}"
        return "not equal to the quantity: it differs for other numbers of the same shapes"

    def _slips(
        self, context: _Context, expected: Stack
    ) -> Iterator[tuple[str, Callable[[], Stack | None]]]:
        """Values of the classic slips in the worlds, each with its hint."""
        w, target = self.worlds, context.target
        kind, layer = split_name(target)
        yield "transposed (x·δᵀ for δ·xᵀ)", lambda: np.swapaxes(expected, -1, -2)
        yield "the sign is flipped", lambda: -expected
        if kind == "Z" and f"b{layer}" in w:
            yield f"the bias b{layer} is missing", lambda: expected - w[f"b{layer}"]
        if kind == "delta" and f"dA{layer}" in w:
            yield "f′ is missing: the error is not passed through f′(Z)", lambda: w[f"dA{layer}"]
            act = self.network.activation(layer)
            if isinstance(act, Elementwise):
                yield (
                    "f′ is taken at the activation (H) instead of the net input (Z)",
                    lambda: w[f"dA{layer}"] * act.derivative(w[f"A{layer}"]),
                )
        if kind.endswith("_new"):
            param = target.removesuffix("_new")
            yield (
                "the update goes up the gradient (the sign of the step is flipped)",
                lambda: 2 * w[param] - expected,
            )
        batch = float(self.problem.batch_size)
        if batch > 1:
            yield "the 1/B of the batch mean is missing", lambda: expected * batch
            yield "divided by B once too often", lambda: expected / batch

    def _edit_hint(self, node: n.Node, context: _Context, expected: Stack) -> str | None:
        """A one-edit slip in the formula itself that, undone, makes it right."""
        for hint, edited in _edits(node, self.problem):
            try:
                value = self._evaluate_worlds(edited, context)
            except FormulaMismatchError:
                continue
            if self._agrees(value, expected):
                return hint
        return None

    # -- follow-through -----------------------------------------------------------------

    def value_on(
        self, target: str, source: str, values: Values, shape: tuple[int, ...]
    ) -> np.ndarray | None:
        """The student's formula on the student's own values (internal layout), in the
        ``shape`` ``target`` is shown in; None when it cannot be evaluated there."""
        judgement, equation = self._judge(target, source)
        if equation is None or judgement.verdict == "invalid":
            return None
        context = self.context(target)
        cache: dict[str, Stack] = {}

        def lookup(key: str) -> Stack:
            if key not in cache:
                if key in self.constants:
                    cache[key] = np.full((1, 1, 1), self.constants[key])
                else:
                    cache[key] = self._matrix(key, values[key])[None]
            return cache[key]

        scope = _Scope(lookup, self.names, context, self.network)
        try:
            with np.errstate(all="ignore"):
                value = _evaluate(equation.sides[-1], scope)
        except (FormulaMismatchError, KeyError):
            return None
        value = _entrywise(value, context, np.empty((1, *as_rows(np.empty(shape)).shape)))[0]
        return value.reshape(shape) if value.size == int(np.prod(shape)) else None


def _entrywise(value: Stack, context: _Context, like: Stack) -> Stack:
    """A derivative's formula is applied entry by entry: f′(x) = 1 holds for every entry."""
    if context.entrywise and value.shape[-2:] == (1, 1):
        return np.broadcast_to(value, (value.shape[0], *like.shape[-2:]))
    return value


def _edits(node: n.Node, problem: Problem) -> Iterator[tuple[str, n.Node]]:
    """Every formula one classic edit away from ``node``, with the slip the edit undoes."""
    for path, part in _paths(node):
        if isinstance(part, n.MatMul):
            swapped = n.Hadamard(part.a, part.b, pos=part.pos)
            yield (
                "a matrix product where an elementwise product (⊙) belongs",
                _put(node, path, swapped),
            )
        elif isinstance(part, n.Hadamard):
            swapped_m = n.MatMul(part.a, part.b, pos=part.pos)
            yield (
                "an elementwise product (⊙) where a matrix product belongs",
                _put(node, path, swapped_m),
            )
        elif isinstance(part, n.Transpose):
            yield "a transpose too many", _put(node, path, part.u)
        if isinstance(part, (n.Sym, n.Call)) and not isinstance(part, n.Transpose):
            yield "a transpose is missing", _put(node, path, n.Transpose(part, pos=part.pos))
        if isinstance(part, n.Sym):
            layer = _PARAMETER.fullmatch(plain_layer_numbers(part.written))
            if layer:
                for other in (int(layer[2]) - 1, int(layer[2]) + 1):
                    if f"{layer[1]}{other}" in problem.parameters:
                        replaced = n.Sym(f"{layer[1]}{other}", pos=part.pos)
                        yield "the weights of the wrong layer", _put(node, path, replaced)
        if isinstance(part, n.Call) and part.func == "fprime" and part.args:
            arg = part.args[0]
            if isinstance(arg, n.Sym) and re.fullmatch(r"H|A_?\d+|h", arg.written):
                yield (
                    "f′ is taken at the activation (H) instead of the net input (Z)",
                    _put(node, path, dataclasses.replace(part, args=(n.Sym("z", pos=arg.pos),))),
                )


Path = tuple[Any, ...]


def _paths(node: n.Node, path: Path = ()) -> Iterator[tuple[Path, n.Node]]:
    """Every node below ``node`` (itself included) with the path that reaches it."""
    yield path, node
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, n.Node):
            yield from _paths(value, (*path, f.name))
        elif isinstance(value, tuple):
            for i, part in enumerate(value):
                if isinstance(part, n.Node):
                    yield from _paths(part, (*path, f.name, i))
                elif isinstance(part, tuple):
                    for j, piece in enumerate(part):
                        if isinstance(piece, n.Node):
                            yield from _paths(piece, (*path, f.name, i, j))


def _put(node: Any, path: Path, new: n.Node) -> Any:
    """``node`` with the part at ``path`` replaced by ``new`` (trees are immutable)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(node)
        items[head] = _put(items[head], rest, new)
        return tuple(items)
    return dataclasses.replace(node, **{head: _put(getattr(node, head), rest, new)})

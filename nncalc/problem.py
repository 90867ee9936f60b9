"""Problem files: YAML in, a validated, typed :class:`Problem` out.

Every check happens here, before any computation, so the engine can trust its
input: shapes agree with the architecture, numbers are finite, names exist,
sizes are within :class:`Limits` (checked before anything is allocated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncalc.layers import KINDS, Layer
from nncalc.names import canonical_name
from nncalc.rubric import Rubric, parse_rubric
from nncalc.validate import (
    Limits,
    Validator,
    count,
    describe,
    dims,
    is_scalar,
    nested_shape,
    nesting_depth,
    shape_of,
)
from nncalc.vocabulary import (
    DISTRIBUTIONS,
    LAYER_KINDS,
    LOSSES,
    OPTIMIZERS,
    REDUCTIONS,
    TOP_KEYS,
    Phase,
)
from nncalc.yamlio import STDIN, Document, load_yaml_file

if TYPE_CHECKING:
    import numpy as np

    from nncalc.optimizers import Optimizer

__all__ = ["Layer", "Limits", "Problem", "load_problem", "problem_from_dict"]

#: The windows of a convolution or pooling may hold this many times max_entries entries.
WINDOW_FACTOR = 4
#: All layers' values for the batch and all parameters together may hold this many times
#: max_entries entries: the cost of a problem is bounded before anything is computed.
TOTAL_FACTOR = 4
#: The most entries one kernel or pooling window may have (the engine loops over them).
MAX_WINDOW = 10_000


@dataclass
class Problem:
    """A fully validated exercise: architecture, loss, parameters, data."""

    name: str
    input_size: int
    layers: tuple[Layer, ...]
    loss: str
    learning_rate: float
    reduction: str
    parameters: dict[str, np.ndarray]  # W{l}: (units, inputs); b{l}: (units,); see parameter_shapes
    x: np.ndarray  # (input_size, batch), samples as columns; images (batch, C, H, W); see below
    y: np.ndarray  # (output units, batch); for an rnn read at every step (units, T·batch)
    single: bool  # x was one sample (one sequence), so it is shown without a batch axis
    frozen: frozenset[str] = frozenset()
    input_shape: tuple[int, ...] = ()  # (input_size,) or (channels, height, width)
    time_steps: int = 0  # the length T of the input sequence (rnn problems), else 0
    optimizer: Optimizer = field(default_factory=lambda: _default_optimizer())
    source: str | None = None
    rubric: Rubric = field(default_factory=Rubric)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False)  # field path → YAML line

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def batch_size(self) -> int:
        if len(self.input_shape) == 3:
            return int(self.x.shape[0])
        return int(self.x.shape[1]) // max(self.time_steps, 1)

    @property
    def recurrent(self) -> int:
        """The layer number of the rnn layer (always the first), or 0."""
        return 1 if self.layers and self.layers[0].kind == "rnn" else 0

    def parameter_names(self) -> list[str]:
        return parameter_names(self.layers)

    @property
    def closed_form_output_delta(self) -> bool:
        """Whether δ_L = ∂L/∂Z_L has a closed form that skips ∂L/∂ŷ and f'(Z_L): softmax
        with cross-entropy, sigmoid with binary cross-entropy."""
        out = self.layers[-1]
        sigmoid = out.elementwise is not None and out.elementwise.text == "sigmoid(x)"
        return (out.is_softmax and self.loss == "cross_entropy") or (
            sigmoid and self.loss == "binary_cross_entropy"
        )

    def plan(self) -> list[tuple[Phase, str]]:
        """(phase, name) of every quantity, in the order a worked solution computes them:
        each layer's forward pass, the loss, then back from the output layer (each layer's
        own quantities, then its parameters' gradients), then the updates."""
        L, T = self.depth, self.time_steps  # noqa: N806 - as in the formulas
        steps: list[tuple[Phase, str]] = []
        for i, layer in enumerate(self.layers, start=1):
            steps += [("forward", name) for name in layer.rules.forward_names(i, layer, T)]
        steps.append(("forward", "loss"))
        closed_form = self.closed_form_output_delta
        if not closed_form:
            steps.append(("backward", f"dA{L}"))
        for i in range(L, 0, -1):
            layer = self.layers[i - 1]
            if not any(below.weighted for below in self.layers[:i]):
                break  # nothing below needs a gradient
            if i < L:
                steps.append(("backward", f"dA{i}"))
            own = layer.rules.backward_names(i, layer, T, closed_form and i == L)
            steps += [("backward", name) for name in own]
            steps += [("backward", f"d{p}") for p in layer.rules.parameters(i, layer)]
        for param in self.parameter_names():
            if param not in self.frozen:
                steps += [("update", state) for state in self.optimizer.quantities(param)]
            steps.append(("update", f"{param}_new"))
        return steps

    def as_written(self, which: str) -> np.ndarray:
        """x or y in the layout of the problem file: one sample (or sequence) without a
        batch axis; a batch with samples first; sequences as (batch, T, size)."""
        value = self.x if which == "x" else self.y
        if len(self.input_shape) == 3 and which == "x":
            return value[0] if self.single else value
        if self.time_steps and value.shape[1] != self.batch_size:  # one column per step
            rows = value.shape[0]
            value = value.reshape(rows, self.time_steps, self.batch_size).transpose(2, 1, 0)
            return value[0] if self.single else value
        return value[:, 0] if self.single else value.T


def parameter_shapes(layers: Sequence[Layer]) -> dict[str, tuple[int, ...]]:
    """Every parameter and its shape: W{l} and b{l}; for an rnn Wx{l}, Wh{l} and b{l}."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, layer in enumerate(layers, start=1):
        shapes |= layer.rules.parameters(i, layer)
    return shapes


def parameter_names(layers: Sequence[Layer]) -> list[str]:
    return list(parameter_shapes(layers))


def _default_optimizer() -> Optimizer:
    from nncalc.optimizers import Optimizer

    return Optimizer()


# ---------------------------------------------------------------------------
# Entry points


def load_problem(path: str | Path, *, limits: Limits | None = None) -> Problem:
    """Load and validate a problem file; raises :class:`NncalcError` on any bad input."""
    limits = limits or Limits()
    doc = load_yaml_file(path, max_bytes=limits.max_file_bytes)
    problem = problem_from_document(doc, limits=limits)
    if not problem.raw.get("name"):
        problem.name = "stdin" if str(path) == STDIN else Path(path).stem
    return problem


def problem_from_dict(
    data: Mapping[str, Any], *, source: str | None = None, limits: Limits | None = None
) -> Problem:
    """Validate an already-parsed mapping (for programs and notebooks)."""
    return problem_from_document(Document(data, source or "<problem>"), limits=limits)


def problem_from_document(doc: Document, *, limits: Limits | None = None) -> Problem:
    problem = _Validator(doc, limits or Limits()).problem()
    if problem.rubric.points or problem.rubric.equations:
        _check_rubric_names(problem, doc)
    return problem


def _check_rubric_names(problem: Problem, doc: Document) -> None:
    """Points may only name quantities this problem has (dA2 does not exist in a4, say)."""
    names = [name for _, name in problem.plan()]
    for section in ("points", "equations"):
        for key in doc.data["grading"].get(section) or {}:
            name = canonical_name(str(key), problem.depth, problem.recurrent)
            if name not in names:
                raise doc.error(
                    f"grading.{section}.{key}",
                    f"{name} is not a quantity of this problem; it has: {', '.join(names)}",
                )


# ---------------------------------------------------------------------------
# Validation


class _Validator(Validator):
    """The checks of a problem file: its sections, each layer, the data and parameters."""

    # -- the problem -------------------------------------------------------

    def problem(self) -> Problem:
        import numpy as np

        data = self.mapping(self.doc.data, "", TOP_KEYS, ("network", "loss", "x", "y"))
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail("name", f"expected text, got {describe(name)}")
        input_shape, layers = self.network(data["network"])
        loss = self.choice(data["loss"], "loss", LOSSES)
        reduction = self.choice(data.get("reduction", "mean"), "reduction", REDUCTIONS)
        if "learning_rate" not in data:
            raise self.fail("", "missing required key 'learning_rate'")
        rate = self.number(data["learning_rate"], "learning_rate")
        if rate < 0:
            raise self.fail("learning_rate", f"expected a number ≥ 0, got {rate}")
        if len(input_shape) == 3:
            x, y, single = self.images(data["x"], data["y"], input_shape, layers[-1].units)
            steps = 0
        elif layers[0].kind == "rnn":
            x, y, single, steps = self.sequences(data["x"], data["y"], input_shape[0], layers)
        else:
            xs, ys, single = self.data(data["x"], data["y"], input_shape[0], layers[-1].units)
            x, y, steps = np.asarray(xs).T.copy(), np.asarray(ys).T.copy(), 0
        self.sizes(layers, int(y.shape[1]))
        parameters = self.parameters(data.get("parameters"), data.get("init"), layers)
        frozen = self.frozen(data.get("frozen", []), layers)
        optimizer = self.optimizer(data.get("optimizer", "sgd"), parameters, frozen)
        recurrent = 1 if layers[0].kind == "rnn" else 0
        rubric = (
            parse_rubric(data["grading"], self, len(layers), recurrent)
            if "grading" in data
            else Rubric()
        )
        return Problem(
            name=name or "",
            input_size=math.prod(input_shape),
            layers=layers,
            loss=loss,
            learning_rate=rate,
            reduction=reduction,
            parameters=parameters,
            x=np.asarray(x, dtype=np.float64),
            y=np.asarray(y, dtype=np.float64),
            single=single,
            frozen=frozen,
            input_shape=input_shape,
            time_steps=steps,
            optimizer=optimizer,
            source=self.doc.source,
            rubric=rubric,
            raw=dict(data),
            lines=self.doc.lines,
        )

    # -- the architecture ---------------------------------------------------

    def network(self, value: Any) -> tuple[tuple[int, ...], tuple[Layer, ...]]:
        net = self.mapping(value, "network", ("input", "layers"), ("input", "layers"))
        lim = self.limits
        input_shape = shape = self.input_shape(net["input"])
        specs = net["layers"]
        if not isinstance(specs, (list, tuple)) or not specs:
            raise self.fail("network.layers", f"expected a list of layers, got {describe(specs)}")
        if len(specs) > lim.max_layers:
            raise self.fail(
                "network.layers", f"expected at most {lim.max_layers} layers, got {len(specs)}"
            )
        layers = []
        for i, spec in enumerate(specs):
            path = f"network.layers[{i}]"
            if not isinstance(spec, Mapping):
                raise self.fail(
                    path, f"expected a mapping of keys for {path}, got {describe(spec)}"
                )
            kind = self.choice(spec.get("type", "dense"), f"{path}.type", list(LAYER_KINDS))
            layer = self.layer(kind, spec, path, i, shape)
            layers.append(layer)
            shape = layer.shape
        if layers[-1].kind != "dense":
            raise self.fail(
                f"network.layers[{len(layers) - 1}].type",
                f"expected the output layer to be dense, got {layers[-1].kind}",
            )
        return input_shape, tuple(layers)

    def input_shape(self, value: Any) -> tuple[int, ...]:
        lim = self.limits
        if isinstance(value, (list, tuple)):
            if len(value) != 3:
                raise self.fail(
                    "network.input",
                    f"expected a size, or [channels, height, width], got {shape_of(value)}",
                )
            dims = tuple(
                self.integer(v, f"network.input[{k}]", 1, lim.max_units)
                for k, v in enumerate(value)
            )
            if math.prod(dims) > lim.max_entries:
                raise self.fail("network.input", f"expected at most {lim.max_entries} entries")
            return dims
        return (self.integer(value, "network.input", 1, lim.max_units),)

    def layer(
        self, kind: str, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        rules = KINDS[kind]
        rules.check_input(self, path, i, in_shape)
        return rules.check(self, spec, path, i, in_shape)

    def sizes(self, layers: Sequence[Layer], columns: int) -> None:
        """Refuse a layer whose values for the whole batch (``columns``: samples, or samples
        × time steps above an rnn read at every step) would be over ``max_entries``, and a
        convolution or pooling whose windows (batch × input channels × output positions ×
        window, what the engine multiplies) would be over WINDOW_FACTOR times that, and a
        network whose values and parameters together would be over TOTAL_FACTOR times it."""
        lim = self.limits
        limit = WINDOW_FACTOR * lim.max_entries
        for i, layer in enumerate(layers):
            values = layer.units * columns
            if values > lim.max_entries:
                field = layer.rules.size_key
                raise self.fail(
                    f"network.layers[{i}].{field}",
                    f"layer {i + 1} would hold {values:,} values for the batch ({layer.units:,} "
                    f"per sample × {columns:,}); the limit is {lim.max_entries:,} (max_entries)",
                )
            if not layer.windowed:
                continue
            c, h, w = layer.in_shape
            padded = columns * c * (h + 2 * layer.padding) * (w + 2 * layer.padding)
            if padded > limit:
                raise self.fail(
                    f"network.layers[{i}].padding",
                    f"the padded input of this layer would hold {padded:,} entries (batch × "
                    f"channels × padded height × padded width); the limit is {limit:,} "
                    f"({WINDOW_FACTOR} × max_entries)",
                )
            _, oh, ow = layer.shape
            kh, kw = layer.kernel
            entries = columns * layer.in_shape[0] * oh * ow * kh * kw  # columns: the batch
            if kh * kw > MAX_WINDOW:
                raise self.fail(
                    f"network.layers[{i}].kernel",
                    f"expected a window of at most {MAX_WINDOW:,} entries, got {kh}×{kw}",
                )
            if entries > limit:
                raise self.fail(
                    f"network.layers[{i}].kernel",
                    f"the windows of this layer would hold {entries:,} entries (batch × input "
                    f"channels × output positions × window); the limit is {limit:,} "
                    f"({WINDOW_FACTOR} × max_entries)",
                )
        # All values for the batch and all parameters together: the whole problem's size.
        total = sum(layer.units for layer in layers) * columns
        total += sum(math.prod(shape) for shape in parameter_shapes(layers).values())
        if total > TOTAL_FACTOR * lim.max_entries:
            raise self.fail(
                "network.layers",
                f"the network would hold {total:,} values and parameters in all; the limit "
                f"is {TOTAL_FACTOR * lim.max_entries:,} ({TOTAL_FACTOR} × max_entries)",
            )

    # -- data -----------------------------------------------------------------

    def data(
        self, x: Any, y: Any, n: int, k: int
    ) -> tuple[list[list[float]], list[list[float]], bool]:
        """x and y as lists of samples; one vector means a single sample."""
        single = not (isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)))
        if single:
            xs = [self.vector(x, "x", n, f"network.input = {n}")]
            ys = [self.target(y, "y", k)]
            return xs, ys, True
        batch = len(x)
        if batch > self.limits.max_batch or batch * max(n, k) > self.limits.max_entries:
            raise self.fail("x", f"batch of {batch} samples is over the limit")
        if not isinstance(y, (list, tuple)) or len(y) != batch:
            columns = {len(s) if isinstance(s, (list, tuple)) else -1 for s in x}
            if batch == n and isinstance(y, (list, tuple)) and columns == {len(y)}:
                raise self.fail(
                    "x",
                    f"expected one row per sample ({count(n, 'number')} each); x looks written "
                    f"with the samples as columns ({shape_of(x)} for {count(len(y), 'target')}): "
                    "write each sample as a row",
                )
            raise self.fail(
                "y", f"expected {batch} targets (one per sample in x), got {shape_of(y)}"
            )
        xs = [self.vector(s, f"x[{b}]", n, f"network.input = {n}") for b, s in enumerate(x)]
        ys = [self.target(t, f"y[{b}]", k) for b, t in enumerate(y)]
        return xs, ys, False

    def target(self, value: Any, path: str, k: int) -> list[float]:
        """One target: k numbers (a single number for a 1-unit output)."""
        if k == 1 and not isinstance(value, (list, tuple)):
            value = [value]
        return self.vector(value, path, k, f"output layer: {count(k, 'unit')}")

    def images(
        self, x: Any, y: Any, shape: tuple[int, ...], k: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """x as (batch, C, H, W): one image (C×H×W, or H×W for one channel) or a list."""
        import numpy as np

        depth = nesting_depth(x)
        c = shape[0]
        leading = (nested_shape(x) or (0,))[:1]
        single = (depth == 2 and c == 1) or (depth == 3 and (c > 1 or leading == (1,)))
        samples = [x] if single else x
        if not isinstance(samples, (list, tuple)) or not samples:
            raise self.fail("x", f"expected an image of {dims(shape)} or a list of them")
        if len(samples) * math.prod(shape) > self.limits.max_entries:
            raise self.fail("x", f"batch of {len(samples)} images is over the limit")
        what = f"network.input = {dims(shape)}"
        xs = [
            self.tensor(s, "x" if single else f"x[{b}]", shape, what) for b, s in enumerate(samples)
        ]
        if single:
            ys = [self.target(y, "y", k)]
        else:
            if not isinstance(y, (list, tuple)) or len(y) != len(samples):
                raise self.fail(
                    "y", f"expected {len(samples)} targets (one per image in x), got {shape_of(y)}"
                )
            ys = [self.target(t, f"y[{b}]", k) for b, t in enumerate(y)]
        return np.stack(xs), np.asarray(ys, dtype=float).T.copy(), single

    def sequences(
        self, x: Any, y: Any, n: int, layers: Sequence[Layer]
    ) -> tuple[np.ndarray, np.ndarray, bool, int]:
        """x as (n, T·batch) and y as (k, T·batch) or (k, batch), time step after time step."""
        import numpy as np

        k = layers[-1].units
        every = layers[0].output == "every"
        single = nesting_depth(x) <= 2
        seqs = [x] if single else x
        if not isinstance(seqs, (list, tuple)) or not seqs:
            raise self.fail(
                "x", f"expected a sequence of inputs (each {count(n, 'number')}) or a list of them"
            )
        if len(seqs) > self.limits.max_batch:
            raise self.fail("x", f"batch of {len(seqs)} sequences is over the limit")
        xs, ys = [], []
        steps = None
        for b, seq in enumerate(seqs):
            path = "x" if single else f"x[{b}]"
            if n == 1 and isinstance(seq, (list, tuple)) and all(map(is_scalar, seq)):
                seq = [[v] for v in seq]  # a sequence of single numbers
            if not isinstance(seq, (list, tuple)) or not seq:
                raise self.fail(path, f"expected a sequence of inputs, got {describe(seq)}")
            if steps is None:
                steps = len(seq)
                if steps > self.limits.max_steps:
                    raise self.fail(
                        path, f"expected at most {self.limits.max_steps} time steps, got {steps}"
                    )
                if steps * len(seqs) * max(n, k, layers[0].units) > self.limits.max_entries:
                    raise self.fail("x", "the sequences are over the size limit")
            elif len(seq) != steps:
                raise self.fail(path, f"expected {steps} time steps (as x[0]), got {len(seq)}")
            xs.append(
                [
                    self.vector(v, f"{path}[{t}]", n, f"network.input = {n}")
                    for t, v in enumerate(seq)
                ]
            )
        assert steps is not None
        targets = [y] if single else y
        if not single and (not isinstance(y, (list, tuple)) or len(y) != len(seqs)):
            raise self.fail(
                "y", f"expected {len(seqs)} targets (one per sequence in x), got {shape_of(y)}"
            )
        for b, target in enumerate(targets):
            path = "y" if single else f"y[{b}]"
            if every:
                if k == 1 and isinstance(target, (list, tuple)) and all(map(is_scalar, target)):
                    target = [[v] for v in target]
                if not isinstance(target, (list, tuple)) or len(target) != steps:
                    raise self.fail(
                        path,
                        f"expected {steps} targets, one per time step (output: every), "
                        f"got {shape_of(target)}",
                    )
                ys.append([self.target(v, f"{path}[{t}]", k) for t, v in enumerate(target)])
            else:
                ys.append([self.target(target, path, k)])
        # (batch, T, n) → (n, T·batch), columns ordered step by step, sample within step
        x_arr = np.asarray(xs, dtype=float).transpose(2, 1, 0).reshape(n, -1)
        y_arr = np.asarray(ys, dtype=float).transpose(2, 1, 0).reshape(k, -1)
        return x_arr, y_arr, single, steps

    # -- parameters -------------------------------------------------------------

    def parameters(self, given: Any, init: Any, layers: Sequence[Layer]) -> dict[str, np.ndarray]:
        import numpy as np

        shapes = parameter_shapes(layers)
        if given is None and init is None:
            raise self.fail("", "expected 'parameters' (weights and biases) or 'init'")
        given = self.mapping(given if given is not None else {}, "parameters", list(shapes))
        drawn = self.init(init, shapes) if init is not None else {}
        result: dict[str, np.ndarray] = {}
        for name, shape in shapes.items():
            i = int(name.lstrip("Wxhb"))
            layer = layers[i - 1]
            note = _parameter_note(name, layer)
            path = f"parameters.{name}"
            if name in given:
                value = given[name]
                if len(shape) == 2 and not hasattr(value, "shape"):
                    result[name] = np.asarray(self.matrix(value, path, *shape, note))
                elif len(shape) == 1 and not hasattr(value, "shape"):
                    result[name] = np.asarray(self.vector(value, path, shape[0], note))
                else:
                    result[name] = self.tensor(value, path, shape, note)
            elif name in drawn:
                result[name] = drawn[name]
            else:
                raise self.fail("parameters", f"missing {name} ({note}); give it or use init")
        return {k: np.asarray(v, dtype=np.float64) for k, v in result.items()}

    def init(self, value: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
        import numpy as np

        spec = self.mapping(value, "init", ("seed", "scale", "decimals", "distribution"), ("seed",))
        seed = self.integer(spec["seed"], "init.seed", 0)
        scale = self.number(spec.get("scale", 0.5), "init.scale")
        if not 0 < scale <= 1e6:
            raise self.fail("init.scale", f"expected a number > 0 and ≤ 1e6, got {scale:g}")
        decimals = spec.get("decimals")
        if decimals is not None:
            decimals = self.integer(decimals, "init.decimals", 0, 15)
        dist = self.choice(spec.get("distribution", "uniform"), "init.distribution", DISTRIBUTIONS)
        rng = np.random.default_rng(seed)
        drawn = {}
        for name, shape in shapes.items():
            if dist == "uniform":  # U(-scale, scale)
                arr = rng.uniform(-scale, scale, shape)
            else:  # N(0, scale²)
                arr = rng.normal(0.0, scale, shape)
            drawn[name] = np.round(arr, decimals) if decimals is not None else arr
        return drawn

    def frozen(self, value: Any, layers: Sequence[Layer]) -> frozenset[str]:
        names = parameter_names(layers)
        if not isinstance(value, (list, tuple)):
            raise self.fail("frozen", f"expected a list of parameter names, got {describe(value)}")
        for i, name in enumerate(value):
            if name not in names:
                raise self.fail(
                    f"frozen[{i}]",
                    f"expected a parameter name ({', '.join(names)}), got {describe(name)}",
                )
        return frozenset(value)

    def optimizer(
        self, value: Any, parameters: dict[str, np.ndarray], frozen: frozenset[str]
    ) -> Optimizer:
        from nncalc.optimizers import Optimizer

        if isinstance(value, str):
            value = {"name": value}
        settings = sorted({key for words in OPTIMIZERS.values() for key in words.settings})
        spec = self.mapping(value, "optimizer", ("name", "step", "state", *settings))
        name = self.choice(spec.get("name", "sgd"), "optimizer.name", tuple(OPTIMIZERS))
        words = OPTIMIZERS[name]
        hyper = {}
        for key in spec:
            if key in ("name", "step", "state"):
                continue
            if key not in words.settings:
                expected = ", ".join(words.settings) or "none"
                raise self.fail(
                    f"optimizer.{key}",
                    f"{name} has no setting {key!r}; its settings: {expected}",
                )
            number = self.number(spec[key], f"optimizer.{key}")
            if words.settings[key].accepts == "positive":
                ok, bounds = number > 0, "> 0"
            else:
                ok, bounds = 0 <= number < 1, "in [0, 1)"
            if not ok:
                raise self.fail(f"optimizer.{key}", f"expected a number {bounds}, got {number:g}")
            hyper[key] = number
        step = self.integer(spec.get("step", 1), "optimizer.step", 1, 10**9)
        carried = {
            f"{kind}_{p}": (kind, p)
            for p in parameters
            if p not in frozen
            for kind in words.carried_states
        }
        state = {}
        given = self.mapping(spec.get("state", {}), "optimizer.state", list(carried))
        for key, entry in given.items():
            kind, param = carried[key]
            shape = parameters[param].shape
            state[key] = self.tensor(entry, f"optimizer.state.{key}", shape, f"as {param}")
            if kind in words.nonnegative and (state[key] < 0).any():
                raise self.fail(
                    f"optimizer.state.{key}",
                    "expected numbers ≥ 0 (a running mean of squared gradients), "
                    f"got {float(state[key].min()):g}",
                )
        return Optimizer(name, hyper, step, state)


def _parameter_note(name: str, layer: Layer) -> str:
    if layer.kind == "conv2d":
        return (
            f"{name}: {layer.shape[0]} output channels × {layer.in_shape[0]} input channels × "
            f"{layer.kernel[0]}×{layer.kernel[1]}"
            if name.startswith("W")
            else f"{name}: one per output channel"
        )
    layer_number = name.lstrip("Wxhb")
    if name.startswith("b"):
        return f"layer {layer_number}: {count(layer.units, 'unit')}"
    inputs = layer.units if name.startswith("Wh") else math.prod(layer.in_shape)
    return f"layer {layer_number}: {count(layer.units, 'unit')}, {count(inputs, 'input')}"

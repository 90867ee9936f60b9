"""Problem files: YAML in, a validated, typed :class:`Problem` out.

Every check happens here, before any computation, so the engine can trust its
input: shapes agree with the architecture, numbers are finite, names exist,
sizes are within :class:`Limits` (checked before anything is allocated).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncalc.errors import NncalcError
from nncalc.rubric import Rubric, parse_rubric
from nncalc.vocabulary import DISTRIBUTIONS, LAYER_KINDS, LOSSES, OPTIMIZERS, REDUCTIONS, TOP_KEYS
from nncalc.yamlio import MAX_FILE_BYTES, Document, load_yaml_file

if TYPE_CHECKING:
    import numpy as np

    from nncalc.expr import Activation
    from nncalc.optimizers import Optimizer


@dataclass(frozen=True)
class Limits:
    """Size limits that keep a hostile file from exhausting memory."""

    max_layers: int = 64
    max_units: int = 100_000
    max_entries: int = 4_000_000  # entries in any one array (a weight matrix, Z for a batch)
    max_batch: int = 100_000
    max_steps: int = 10_000  # time steps of an rnn's input sequence
    max_file_bytes: int = MAX_FILE_BYTES

    @classmethod
    def parse(cls, settings: Sequence[str]) -> Limits:
        """Limits from NAME=VALUE settings, e.g. max_entries=10000000; an error names them
        ``limits``."""
        values: dict[str, int] = {}
        names = [f.name for f in fields(cls)]
        for setting in settings:
            name, _, text = setting.partition("=")
            name = name.strip().replace("-", "_")
            if name not in names:
                raise NncalcError(
                    f"unknown limit {name!r}; expected NAME=VALUE with NAME one of: "
                    + ", ".join(names),
                    argument="limits",
                )
            try:
                value = int(text.replace("_", ""))
            except ValueError:
                raise NncalcError(
                    f"{name}: expected a whole number, got {text!r}", argument="limits"
                ) from None
            if value < 1:
                raise NncalcError(f"{name}: expected a number ≥ 1, got {value}", argument="limits")
            values[name] = value
        return cls(**values)


#: The windows of a convolution or pooling may hold this many times max_entries entries.
WINDOW_FACTOR = 4
#: The most entries one kernel or pooling window may have (the engine loops over them).
MAX_WINDOW = 10_000

#: The keys of each kind of layer in a problem file.
LAYER_KEYS: dict[str, tuple[str, ...]] = {kind: words.keys for kind, words in LAYER_KINDS.items()}
#: Layers with weights and an activation: Z = (their linear map) + b, A = f(Z).
WEIGHTED = tuple(kind for kind, words in LAYER_KINDS.items() if "activation" in words.keys)


@dataclass(frozen=True)
class Layer:
    """One layer: dense (Z = W·A_prev + b), conv2d, a pooling, flatten, or a vanilla rnn.

    ``shape`` is the layer's output for one sample (one time step for an rnn):
    ``(units,)`` or ``(channels, height, width)``; ``in_shape`` is its input's.
    """

    units: int  # entries of the output per sample: units, or channels·height·width
    activation: str  # as written in the file, e.g. "relu(x) + sin(x)", "softmax"; "" if none
    elementwise: Activation | None  # None: softmax, or a layer without activation
    bias: bool = True
    kind: str = "dense"
    shape: tuple[int, ...] = ()
    in_shape: tuple[int, ...] = ()
    kernel: tuple[int, int] = (1, 1)  # conv2d and pooling window (height, width)
    stride: tuple[int, int] = (1, 1)  # (down, across)
    padding: int = 0
    output: str = "every"  # rnn: the next layer reads h_t at "every" step or the "last"
    h0: tuple[float, ...] = ()  # rnn: the state before the first step

    @property
    def is_softmax(self) -> bool:
        return self.activation == "softmax"

    @property
    def weighted(self) -> bool:
        return self.kind in WEIGHTED

    @property
    def images(self) -> bool:
        """Whether the output is a stack of feature maps (channels, height, width)."""
        return len(self.shape) == 3

    def describe(self) -> str:
        """A short description for the architecture line, e.g. 'conv2d 2@3×3 (relu)'."""
        size = "×".join(map(str, self.shape))
        if self.kind == "dense":
            return f"{self.units} ({self.activation})"
        if self.kind == "conv2d":
            kh, kw = self.kernel
            extra = (f", stride {_pair_text(self.stride)}" if self.stride != (1, 1) else "") + (
                f", padding {self.padding}" if self.padding else ""
            )
            return f"conv2d {kh}×{kw}{extra} → {size} ({self.activation})"
        if self.kind in ("maxpool2d", "avgpool2d"):
            kh, kw = self.kernel
            return f"{self.kind} {kh}×{kw}, stride {_pair_text(self.stride)} → {size}"
        if self.kind == "flatten":
            return f"flatten → {size}"
        return f"rnn {self.units} ({self.activation}, output {self.output})"


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
        if layer.kind == "dense":
            shapes[f"W{i}"] = (layer.units, math.prod(layer.in_shape))
        elif layer.kind == "conv2d":
            shapes[f"W{i}"] = (layer.shape[0], layer.in_shape[0], *layer.kernel)
        elif layer.kind == "rnn":
            shapes[f"Wx{i}"] = (layer.units, math.prod(layer.in_shape))
            shapes[f"Wh{i}"] = (layer.units, layer.units)
        if layer.weighted and layer.bias:
            shapes[f"b{i}"] = (layer.shape[0],)
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
        problem.name = Path(path).stem
    return problem


def problem_from_dict(
    data: Mapping[str, Any], *, source: str | None = None, limits: Limits | None = None
) -> Problem:
    """Validate an already-parsed mapping (for programs and notebooks)."""
    return problem_from_document(Document(data, source or "<problem>"), limits=limits)


def problem_from_document(doc: Document, *, limits: Limits | None = None) -> Problem:
    problem = _Validator(doc, limits or Limits()).problem()
    if problem.rubric.points:
        _check_rubric_names(problem, doc)
    return problem


def _check_rubric_names(problem: Problem, doc: Document) -> None:
    """Points may only name quantities this problem has (dA2 does not exist in a4, say)."""
    from nncalc.engine import Network
    from nncalc.names import canonical_name

    names = [name for _, name in Network(problem).plan()]
    for key in doc.data["grading"]["points"]:
        name = canonical_name(str(key), problem.depth, problem.recurrent)
        if name not in names:
            raise doc.error(
                f"grading.points.{key}",
                f"{name} is not a quantity of this problem; it has: {', '.join(names)}",
            )


# ---------------------------------------------------------------------------
# Validation

#: A number written as text (YAML 1.1 reads 1e-3 as a string): ASCII digits only.
NUMBER_TEXT = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"string {shown!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r}"


def _shape_of(value: Any) -> str:
    """Describe the shape of a nested list for messages: '3', '3×4' or 'ragged'."""
    if not isinstance(value, (list, tuple)):
        return "a single number" if _is_number(value) else _describe(value)
    if value and all(isinstance(r, (list, tuple)) for r in value):
        widths = {len(r) for r in value}
        return f"{len(value)}×{widths.pop()}" if len(widths) == 1 else "a ragged matrix"
    return f"{len(value)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Validator:
    def __init__(self, doc: Document, limits: Limits) -> None:
        self.doc = doc
        self.limits = limits

    def fail(self, path: str, message: str) -> NncalcError:
        return self.doc.error(path, message)

    # -- generic pieces ----------------------------------------------------

    def mapping(
        self, value: Any, path: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            what = path if path else "the file"
            raise self.fail(path, f"expected a mapping of keys for {what}, got {_describe(value)}")
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else ""
                keys = ", ".join(allowed)
                child = f"{path}.{key}" if path else str(key)
                raise self.fail(child, f"unknown key {key!r}{also}; expected one of: {keys}")
        for key in required:
            if key not in value:
                raise self.fail(path, f"missing required key {key!r}")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-3 as a string
        if not _is_number(value):
            raise self.fail(path, f"expected a number, got {_describe(value)}")
        try:
            result = float(value)
        except OverflowError:
            raise self.fail(
                path,
                "expected a number that fits a float, got an integer with "
                f"{len(str(value))} digits",
            ) from None
        if not math.isfinite(result):
            raise self.fail(path, f"expected a finite number, got {result}")
        return result

    def integer(self, value: Any, path: str, low: int, high: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(path, f"expected a whole number, got {_describe(value)}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(path, f"expected a whole number {bound}, got {value}")
        return value

    def choice(self, value: Any, path: str, options: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in options:
            hint = difflib.get_close_matches(str(value), options, n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.fail(
                path, f"expected one of {', '.join(options)}; got {_describe(value)}{also}"
            )
        return str(value)

    def vector(self, value: Any, path: str, length: int, what: str) -> list[float]:
        if (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(r, (list, tuple)) and len(r) == 1 for r in value)
        ):
            value = [r[0] for r in value]  # a column written as [[a], [b]]
        if not isinstance(value, (list, tuple)) or len(value) != length:
            raise self.fail(path, f"expected {length} numbers ({what}), got {_shape_of(value)}")
        return [self.number(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def matrix(self, value: Any, path: str, rows: int, cols: int, what: str) -> list[list[float]]:
        ok = (
            isinstance(value, (list, tuple))
            and len(value) == rows
            and all(isinstance(r, (list, tuple)) and len(r) == cols for r in value)
        )
        if not ok:
            raise self.fail(path, f"expected shape {rows}×{cols} ({what}), got {_shape_of(value)}")
        return [
            [self.number(v, f"{path}[{i}][{j}]") for j, v in enumerate(row)]
            for i, row in enumerate(value)
        ]

    # -- the problem -------------------------------------------------------

    def problem(self) -> Problem:
        import numpy as np

        data = self.mapping(self.doc.data, "", TOP_KEYS, ("network", "loss", "x", "y"))
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail("name", f"expected text, got {_describe(name)}")
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
        naming = (len(layers), 1 if layers[0].kind == "rnn" else 0)
        rubric = parse_rubric(data["grading"], self, naming) if "grading" in data else Rubric()
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
            raise self.fail("network.layers", f"expected a list of layers, got {_describe(specs)}")
        if len(specs) > lim.max_layers:
            raise self.fail(
                "network.layers", f"expected at most {lim.max_layers} layers, got {len(specs)}"
            )
        layers = []
        for i, spec in enumerate(specs):
            path = f"network.layers[{i}]"
            if not isinstance(spec, Mapping):
                raise self.fail(
                    path, f"expected a mapping of keys for {path}, got {_describe(spec)}"
                )
            kind = self.choice(spec.get("type", "dense"), f"{path}.type", tuple(LAYER_KINDS))
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
                    f"expected a size, or [channels, height, width], got {_shape_of(value)}",
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
        lim = self.limits
        images = len(in_shape) == 3
        if kind in ("conv2d", "maxpool2d", "avgpool2d", "flatten") and not images:
            got = "×".join(map(str, in_shape))
            raise self.fail(
                f"{path}.type",
                f"{kind} needs feature maps as input (network.input: [channels, height, "
                f"width]), got a vector of {got}",
            )
        if kind in ("dense", "rnn") and images:
            raise self.fail(
                f"{path}.type",
                f"a {kind} layer needs a vector as input; add {{type: flatten}} before it",
            )
        if kind == "rnn" and i != 0:
            raise self.fail(f"{path}.type", "an rnn layer must be the first layer")
        if kind == "flatten":
            self.mapping(spec, path, LAYER_KEYS[kind])
            size = math.prod(in_shape)
            return Layer(size, "", None, False, kind, (size,), in_shape)
        if kind in ("maxpool2d", "avgpool2d"):
            spec = self.mapping(spec, path, LAYER_KEYS[kind], ("kernel",))
            kernel = self.pair(spec["kernel"], f"{path}.kernel")
            stride = self.pair(spec.get("stride", list(kernel)), f"{path}.stride")
            padding = self.integer(spec.get("padding", 0), f"{path}.padding", 0, 1000)
            if 2 * padding > min(kernel):
                raise self.fail(
                    f"{path}.padding", f"expected at most half the window, got {padding}"
                )
            shape = self.maps(in_shape[0], in_shape, kernel, stride, padding, path)
            return Layer(
                math.prod(shape), "", None, False, kind, shape, in_shape, kernel, stride, padding
            )
        keys = LAYER_KEYS[kind]
        required = {"dense": ("units", "activation"), "conv2d": ("channels", "kernel")}
        spec = self.mapping(spec, path, keys, required.get(kind, ("units",)))
        default = {"dense": None, "conv2d": "identity", "rnn": "tanh"}[kind]
        activation, elementwise = self.activation(spec.get("activation", default), path)
        if activation == "softmax" and kind != "dense":
            raise self.fail(f"{path}.activation", f"softmax is for dense layers, not {kind}")
        bias = spec.get("bias", True)
        if not isinstance(bias, bool):
            raise self.fail(f"{path}.bias", f"expected true or false, got {_describe(bias)}")
        if kind == "conv2d":
            channels = self.integer(spec["channels"], f"{path}.channels", 1, lim.max_units)
            if "in_channels" in spec:
                self.integer(spec["in_channels"], f"{path}.in_channels", in_shape[0], in_shape[0])
            kernel = self.pair(spec["kernel"], f"{path}.kernel")
            stride = self.pair(spec.get("stride", 1), f"{path}.stride")
            padding = self.integer(spec.get("padding", 0), f"{path}.padding", 0, 1000)
            shape = self.maps(channels, in_shape, kernel, stride, padding, path)
            weights = channels * in_shape[0] * kernel[0] * kernel[1]
            if weights > lim.max_entries:
                raise self.fail(
                    f"{path}.channels",
                    f"W{i + 1} would have {weights} entries; the limit is {lim.max_entries}",
                )
            return Layer(
                math.prod(shape),
                activation,
                elementwise,
                bias,
                kind,
                shape,
                in_shape,
                kernel,
                stride,
                padding,
            )
        units = self.integer(spec["units"], f"{path}.units", 1, lim.max_units)
        inputs = in_shape[0]
        if units * max(inputs, units if kind == "rnn" else 0) > lim.max_entries:
            raise self.fail(
                f"{path}.units",
                f"W{i + 1} would have {units}×{inputs} = {units * inputs} entries; "
                f"the limit is {lim.max_entries}",
            )
        if kind == "dense":
            return Layer(units, activation, elementwise, bias, kind, (units,), in_shape)
        output = self.choice(spec.get("output", "every"), f"{path}.output", ("every", "last"))
        h0 = spec.get("h0")
        state = (
            tuple(self.vector(h0, f"{path}.h0", units, f"{units} units"))
            if h0 is not None
            else (0.0,) * units
        )
        return Layer(
            units, activation, elementwise, bias, kind, (units,), in_shape, output=output, h0=state
        )

    def sizes(self, layers: Sequence[Layer], columns: int) -> None:
        """Refuse a layer whose values for the whole batch (``columns``: samples, or samples
        × time steps above an rnn read at every step) would be over ``max_entries``, and a
        convolution or pooling whose windows (batch × input channels × output positions ×
        window, what the engine multiplies) would be over WINDOW_FACTOR times that."""
        lim = self.limits
        limit = WINDOW_FACTOR * lim.max_entries
        for i, layer in enumerate(layers):
            values = layer.units * columns
            if values > lim.max_entries:
                key = {"conv2d": "channels", "dense": "units", "rnn": "units"}
                field = key.get(layer.kind, "type")
                raise self.fail(
                    f"network.layers[{i}].{field}",
                    f"layer {i + 1} would hold {values:,} values for the batch ({layer.units:,} "
                    f"per sample × {columns:,}); the limit is {lim.max_entries:,} (max_entries)",
                )
            if layer.kind not in ("conv2d", "maxpool2d", "avgpool2d"):
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

    def activation(self, act: Any, path: str) -> tuple[str, Activation | None]:
        from nncalc.expr import parse_activation

        if act is None:
            raise self.fail(path, "missing required key 'activation'")
        if not isinstance(act, str) or not act.strip():
            raise self.fail(f"{path}.activation", f"expected text, got {_describe(act)}")
        if act.strip() == "softmax":
            return "softmax", None
        try:
            return act.strip(), parse_activation(act)
        except NncalcError as exc:
            raise exc.located(
                source=self.doc.source,
                path=f"{path}.activation",
                line=self.doc.line(f"{path}.activation"),
            ) from None

    def pair(self, value: Any, path: str) -> tuple[int, int]:
        """A window size or stride: n (n × n) or [height, width]."""
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise self.fail(path, f"expected a size or [height, width], got {_shape_of(value)}")
            kh, kw = (self.integer(v, f"{path}[{k}]", 1, 1000) for k, v in enumerate(value))
            return kh, kw
        size = self.integer(value, path, 1, 1000)
        return size, size

    def maps(
        self,
        channels: int,
        in_shape: tuple[int, ...],
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: int,
        path: str,
    ) -> tuple[int, int, int]:
        """The output feature maps of a window layer; refuses a window larger than its input."""
        from nncalc.layers import output_size

        _, h, w = in_shape
        if kernel[0] > h + 2 * padding or kernel[1] > w + 2 * padding:
            raise self.fail(
                f"{path}.kernel",
                f"expected a window of at most {h + 2 * padding}×{w + 2 * padding} "
                f"(the input {h}×{w} with padding {padding}), got {kernel[0]}×{kernel[1]}",
            )
        shape = (
            channels,
            output_size(h, kernel[0], stride[0], padding),
            output_size(w, kernel[1], stride[1], padding),
        )
        if math.prod(shape) > self.limits.max_entries:
            raise self.fail(path, f"expected at most {self.limits.max_entries} outputs")
        return shape

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
            raise self.fail(
                "y", f"expected {batch} targets (one per sample in x), got {_shape_of(y)}"
            )
        xs = [self.vector(s, f"x[{b}]", n, f"network.input = {n}") for b, s in enumerate(x)]
        ys = [self.target(t, f"y[{b}]", k) for b, t in enumerate(y)]
        return xs, ys, False

    def target(self, value: Any, path: str, k: int) -> list[float]:
        """One target: k numbers (a single number for a 1-unit output)."""
        if k == 1 and not isinstance(value, (list, tuple)):
            value = [value]
        return self.vector(value, path, k, f"output layer: {k} units")

    def images(
        self, x: Any, y: Any, shape: tuple[int, ...], k: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """x as (batch, C, H, W): one image (C×H×W, or H×W for one channel) or a list."""
        import numpy as np

        depth = nesting_depth(x)
        c = shape[0]
        leading = (_nested_shape(x) or (0,))[:1]
        single = (depth == 2 and c == 1) or (depth == 3 and (c > 1 or leading == (1,)))
        samples = [x] if single else x
        if not isinstance(samples, (list, tuple)) or not samples:
            raise self.fail("x", f"expected an image of {_dims(shape)} or a list of them")
        if len(samples) * math.prod(shape) > self.limits.max_entries:
            raise self.fail("x", f"batch of {len(samples)} images is over the limit")
        what = f"network.input = {_dims(shape)}"
        xs = [
            self.tensor(s, "x" if single else f"x[{b}]", shape, what) for b, s in enumerate(samples)
        ]
        if single:
            ys = [self.target(y, "y", k)]
        else:
            if not isinstance(y, (list, tuple)) or len(y) != len(samples):
                raise self.fail(
                    "y", f"expected {len(samples)} targets (one per image in x), got {_shape_of(y)}"
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
                "x", f"expected a sequence of inputs (each {n} numbers) or a list of them"
            )
        if len(seqs) > self.limits.max_batch:
            raise self.fail("x", f"batch of {len(seqs)} sequences is over the limit")
        xs, ys = [], []
        steps = None
        for b, seq in enumerate(seqs):
            path = "x" if single else f"x[{b}]"
            if n == 1 and isinstance(seq, (list, tuple)) and all(map(_is_scalar, seq)):
                seq = [[v] for v in seq]  # a sequence of single numbers
            if not isinstance(seq, (list, tuple)) or not seq:
                raise self.fail(path, f"expected a sequence of inputs, got {_describe(seq)}")
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
                "y", f"expected {len(seqs)} targets (one per sequence in x), got {_shape_of(y)}"
            )
        for b, target in enumerate(targets):
            path = "y" if single else f"y[{b}]"
            if every:
                if k == 1 and isinstance(target, (list, tuple)) and all(map(_is_scalar, target)):
                    target = [[v] for v in target]
                if not isinstance(target, (list, tuple)) or len(target) != steps:
                    raise self.fail(
                        path,
                        f"expected {steps} targets, one per time step (output: every), "
                        f"got {_shape_of(target)}",
                    )
                ys.append([self.target(v, f"{path}[{t}]", k) for t, v in enumerate(target)])
            else:
                ys.append([self.target(target, path, k)])
        # (batch, T, n) → (n, T·batch), columns ordered step by step, sample within step
        x_arr = np.asarray(xs, dtype=float).transpose(2, 1, 0).reshape(n, -1)
        y_arr = np.asarray(ys, dtype=float).transpose(2, 1, 0).reshape(k, -1)
        return x_arr, y_arr, single, steps

    def tensor(self, value: Any, path: str, shape: tuple[int, ...], what: str) -> np.ndarray:
        """Nested lists of exactly ``shape``; leading sizes of 1 may be left out (a
        one-channel image as a matrix, a 1×1×3×3 kernel bank as 3×3)."""
        import numpy as np

        if hasattr(value, "shape"):  # an array from a program
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape not in (shape, _squeezed(shape)):
                raise self.fail(
                    path, f"expected shape {_dims(shape)} ({what}), got {_dims(arr.shape)}"
                )
            if not np.isfinite(arr).all():
                raise self.fail(path, "expected finite numbers, found NaN or inf")
            return arr.reshape(shape)
        got = _nested_shape(value)
        if got not in (shape, _squeezed(shape)):
            raise self.fail(
                path, f"expected shape {_dims(shape)} ({what}), got {_describe_shape(value, got)}"
            )
        flat = list(_flatten(value))
        if not all(_is_number(v) and not _too_big(v) for v in flat):
            for index in np.ndindex(*got):
                entry = value
                for k in index:
                    entry = entry[k]
                self.number(entry, path + "".join(f"[{k}]" for k in index))
        arr = np.asarray([float(v) for v in flat], dtype=np.float64)
        if not np.isfinite(arr).all():
            raise self.fail(path, "expected finite numbers, found NaN or inf")
        return arr.reshape(shape)

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
            raise self.fail("frozen", f"expected a list of parameter names, got {_describe(value)}")
        for i, name in enumerate(value):
            if name not in names:
                raise self.fail(
                    f"frozen[{i}]",
                    f"expected a parameter name ({', '.join(names)}), got {_describe(name)}",
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


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


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
        return f"layer {layer_number}: {layer.units} units"
    inputs = layer.units if name.startswith("Wh") else math.prod(layer.in_shape)
    return f"layer {layer_number}: {layer.units} units, {inputs} inputs"


def _too_big(value: Any) -> bool:
    """An integer that no float holds (YAML reads 10**400 as a Python int)."""
    return isinstance(value, int) and abs(value) > 2**1023


def _is_scalar(value: Any) -> bool:
    """A number, or text that may be one (checked when read): not a list or mapping."""
    return not isinstance(value, (list, tuple, Mapping))


def nesting_depth(value: Any) -> int:
    """How many levels of lists, following first entries: 2 for [[1, 2]], 0 for a number."""
    depth = 0
    while isinstance(value, (list, tuple)) and value:
        depth += 1
        value = value[0]
    return depth


def _nested_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of rectangular nested lists (numbers at the leaves), or None."""
    if not isinstance(value, (list, tuple)):
        return ()
    if not value:
        return (0,)
    inner = {_nested_shape(v) for v in value}
    if len(inner) != 1:
        return None
    shape = inner.pop()
    return None if shape is None else (len(value), *shape)


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    return shape


def _dims(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape))


def _describe_shape(value: Any, shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "ragged lists"
    if shape == ():
        return _describe(value)
    return _dims(shape)

"""Problem files: YAML in, a validated, typed :class:`Problem` out.

Every check happens here, before any computation, so the engine can trust its
input: shapes agree with the architecture, numbers are finite, names exist,
sizes are within :class:`Limits` (checked before anything is allocated).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncalc.errors import NncalcError
from nncalc.rubric import Rubric, parse_rubric
from nncalc.yamlio import MAX_FILE_BYTES, Document, load_yaml_file

if TYPE_CHECKING:
    import numpy as np

    from nncalc.expr import Activation

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "sse", "half_sse")
REDUCTIONS = ("mean", "sum")
DISTRIBUTIONS = ("uniform", "normal")


@dataclass(frozen=True)
class Limits:
    """Size limits that keep a hostile file from exhausting memory."""

    max_layers: int = 64
    max_units: int = 100_000
    max_entries: int = 4_000_000  # entries in any one array (a weight matrix, Z for a batch)
    max_batch: int = 100_000
    max_file_bytes: int = MAX_FILE_BYTES

    @classmethod
    def parse(cls, settings: Sequence[str]) -> Limits:
        """Limits from NAME=VALUE settings (the CLI's ``--limit``), e.g. max_entries=10000000."""
        values: dict[str, int] = {}
        names = [f.name for f in fields(cls)]
        for setting in settings:
            name, _, text = setting.partition("=")
            name = name.strip().replace("-", "_")
            if name not in names:
                raise NncalcError(
                    f"unknown limit {name!r}; expected NAME=VALUE with NAME one of: "
                    + ", ".join(names),
                    path="--limit",
                )
            try:
                value = int(text.replace("_", ""))
            except ValueError:
                raise NncalcError(
                    f"{name}: expected a whole number, got {text!r}", path="--limit"
                ) from None
            if value < 1:
                raise NncalcError(f"{name}: expected a number ≥ 1, got {value}", path="--limit")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Layer:
    """One dense layer: Z = W·A_prev + b, A = f(Z)."""

    units: int
    activation: str  # as written in the file, e.g. "relu(x) + sin(x)" or "softmax"
    elementwise: Activation | None  # None means softmax (not elementwise)
    bias: bool = True

    @property
    def is_softmax(self) -> bool:
        return self.elementwise is None


@dataclass
class Problem:
    """A fully validated exercise: architecture, loss, parameters, data."""

    name: str
    input_size: int
    layers: tuple[Layer, ...]
    loss: str
    learning_rate: float
    reduction: str
    parameters: dict[str, np.ndarray]  # W{l}: (units, inputs); b{l}: (units,)
    x: np.ndarray  # (input_size, batch): samples are columns
    y: np.ndarray  # (output units, batch)
    single: bool  # x was one vector, so vectors are shown as vectors
    frozen: frozenset[str] = frozenset()
    source: str | None = None
    rubric: Rubric = field(default_factory=Rubric)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False)  # field path → YAML line

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[1])

    def parameter_names(self) -> list[str]:
        return parameter_names(self.layers)


def parameter_names(layers: Sequence[Layer]) -> list[str]:
    names = []
    for i, layer in enumerate(layers, start=1):
        names.append(f"W{i}")
        if layer.bias:
            names.append(f"b{i}")
    return names


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
        name = canonical_name(str(key), problem.depth)
        if name not in names:
            raise doc.error(
                f"grading.points.{key}",
                f"{name} is not a quantity of this problem; it has: {', '.join(names)}",
            )


# ---------------------------------------------------------------------------
# Validation

#: A number written as text (YAML 1.1 reads 1e-3 as a string): ASCII digits only.
NUMBER_TEXT = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")
_TOP_KEYS = (
    *("name", "network", "loss", "reduction", "learning_rate"),
    *("parameters", "init", "frozen", "x", "y", "grading"),
)


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

        data = self.mapping(self.doc.data, "", _TOP_KEYS, ("network", "loss", "x", "y"))
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise self.fail("name", f"expected text, got {_describe(name)}")
        input_size, layers = self.network(data["network"])
        loss = self.choice(data["loss"], "loss", LOSSES)
        reduction = self.choice(data.get("reduction", "mean"), "reduction", REDUCTIONS)
        if "learning_rate" not in data:
            raise self.fail("", "missing required key 'learning_rate'")
        rate = self.number(data["learning_rate"], "learning_rate")
        if rate < 0:
            raise self.fail("learning_rate", f"expected a number ≥ 0, got {rate}")
        x, y, single = self.data(data["x"], data["y"], input_size, layers[-1].units)
        parameters = self.parameters(data.get("parameters"), data.get("init"), input_size, layers)
        frozen = self.frozen(data.get("frozen", []), layers)
        rubric = parse_rubric(data["grading"], self, len(layers)) if "grading" in data else Rubric()
        return Problem(
            name=name or "",
            input_size=input_size,
            layers=layers,
            loss=loss,
            learning_rate=rate,
            reduction=reduction,
            parameters={k: np.asarray(v, dtype=np.float64) for k, v in parameters.items()},
            x=np.asarray(x, dtype=np.float64).T.copy(),
            y=np.asarray(y, dtype=np.float64).T.copy(),
            single=single,
            frozen=frozen,
            source=self.doc.source,
            rubric=rubric,
            raw=dict(data),
            lines=self.doc.lines,
        )

    def network(self, value: Any) -> tuple[int, tuple[Layer, ...]]:
        from nncalc.expr import parse_activation

        net = self.mapping(value, "network", ("input", "layers"), ("input", "layers"))
        lim = self.limits
        input_size = self.integer(net["input"], "network.input", 1, lim.max_units)
        specs = net["layers"]
        if not isinstance(specs, (list, tuple)) or not specs:
            raise self.fail("network.layers", f"expected a list of layers, got {_describe(specs)}")
        if len(specs) > lim.max_layers:
            raise self.fail(
                "network.layers", f"expected at most {lim.max_layers} layers, got {len(specs)}"
            )
        layers = []
        inputs = input_size
        for i, spec in enumerate(specs):
            path = f"network.layers[{i}]"
            spec = self.mapping(
                spec, path, ("units", "activation", "bias"), ("units", "activation")
            )
            units = self.integer(spec["units"], f"{path}.units", 1, lim.max_units)
            if units * inputs > lim.max_entries:
                raise self.fail(
                    f"{path}.units",
                    f"W{i + 1} would have {units}×{inputs} = {units * inputs} entries; "
                    f"the limit is {lim.max_entries}",
                )
            act = spec["activation"]
            if not isinstance(act, str) or not act.strip():
                raise self.fail(f"{path}.activation", f"expected text, got {_describe(act)}")
            bias = spec.get("bias", True)
            if not isinstance(bias, bool):
                raise self.fail(f"{path}.bias", f"expected true or false, got {_describe(bias)}")
            if act.strip() == "softmax":
                elementwise = None
            else:
                try:
                    elementwise = parse_activation(act)
                except NncalcError as exc:
                    raise exc.located(
                        source=self.doc.source,
                        path=f"{path}.activation",
                        line=self.doc.line(f"{path}.activation"),
                    ) from None
            layers.append(Layer(units, act.strip(), elementwise, bias))
            inputs = units
        return input_size, tuple(layers)

    def data(
        self, x: Any, y: Any, n: int, k: int
    ) -> tuple[list[list[float]], list[list[float]], bool]:
        """x and y as lists of samples; one vector means a single sample."""
        single = not (isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)))
        if single:
            xs = [self.vector(x, "x", n, f"network.input = {n}")]
            if k == 1 and not isinstance(y, (list, tuple)):
                y = [y]
            ys = [self.vector(y, "y", k, f"output layer: {k} units")]
            return xs, ys, True
        batch = len(x)
        if batch > self.limits.max_batch or batch * max(n, k) > self.limits.max_entries:
            raise self.fail("x", f"batch of {batch} samples is over the limit")
        if not isinstance(y, (list, tuple)) or len(y) != batch:
            raise self.fail(
                "y", f"expected {batch} targets (one per sample in x), got {_shape_of(y)}"
            )
        xs = [self.vector(s, f"x[{b}]", n, f"network.input = {n}") for b, s in enumerate(x)]
        if k == 1:
            y = [t if isinstance(t, (list, tuple)) else [t] for t in y]
        ys = [self.vector(t, f"y[{b}]", k, f"output layer: {k} units") for b, t in enumerate(y)]
        return xs, ys, False

    def parameters(self, given: Any, init: Any, n: int, layers: Sequence[Layer]) -> dict[str, Any]:
        names = parameter_names(layers)
        if given is None and init is None:
            raise self.fail("", "expected 'parameters' (weights and biases) or 'init'")
        given = self.mapping(given if given is not None else {}, "parameters", names)
        drawn = self.init(init, n, layers) if init is not None else {}
        result: dict[str, Any] = {}
        inputs = n
        for i, layer in enumerate(layers, start=1):
            shape_note = f"layer {i}: {layer.units} units, {inputs} inputs"
            for name in (f"W{i}", f"b{i}") if layer.bias else (f"W{i}",):
                path = f"parameters.{name}"
                if name in given:
                    value = given[name]
                    if hasattr(value, "shape"):  # an array from a program: check shape only
                        value = self.array(value, path, name, layer.units, inputs, shape_note)
                    elif name.startswith("W"):
                        value = self.matrix(value, path, layer.units, inputs, shape_note)
                    else:
                        value = self.vector(
                            value, path, layer.units, f"layer {i}: {layer.units} units"
                        )
                    result[name] = value
                elif name in drawn:
                    result[name] = drawn[name]
                else:
                    raise self.fail(
                        "parameters", f"missing {name} ({shape_note}); give it or use init"
                    )
            inputs = layer.units
        return result

    def array(self, value: Any, path: str, name: str, rows: int, cols: int, note: str) -> Any:
        import numpy as np

        arr = np.asarray(value, dtype=np.float64)
        want = (rows, cols) if name.startswith("W") else (rows,)
        if arr.shape != want:
            got = "×".join(map(str, arr.shape))
            raise self.fail(path, f"expected shape {'×'.join(map(str, want))} ({note}), got {got}")
        if not np.isfinite(arr).all():
            raise self.fail(path, "expected finite numbers, found NaN or inf")
        return arr

    def init(self, value: Any, n: int, layers: Sequence[Layer]) -> dict[str, Any]:
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
        inputs = n
        for i, layer in enumerate(layers, start=1):
            shapes: dict[str, tuple[int, ...]] = {f"W{i}": (layer.units, inputs)}
            if layer.bias:
                shapes[f"b{i}"] = (layer.units,)
            for name, shape in shapes.items():
                if dist == "uniform":  # U(-scale, scale)
                    arr = rng.uniform(-scale, scale, shape)
                else:  # N(0, scale²)
                    arr = rng.normal(0.0, scale, shape)
                drawn[name] = np.round(arr, decimals) if decimals is not None else arr
            inputs = layer.units
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

"""JSON Schemas of the problem and answers files, for editors.

``nncalc schema problem > problem.schema.json`` writes the schema; a YAML file
that starts with ``# yaml-language-server: $schema=problem.schema.json`` (the
path is relative to the YAML file) is then checked and completed as it is
typed in VS Code and every other editor that uses yaml-language-server: the
descriptions below are what the editor shows beside each key.

The schemas follow the loaders (``nncalc/problem.py``, ``nncalc/rubric.py``,
``nncalc/answers.py``) and do not refuse a file the loaders accept, with three
deliberate exceptions: numbers written as text must use ASCII digits; an
answer that is not a number (which the grader marks invalid) is flagged; and an
rnn layer's h0 is a list or null (the loader also reads false, 0, "", [] and {}
as a zero state). The loaders check more than a schema can (shapes against the
architecture, which layer may follow which, names of quantities, size limits),
so a file can satisfy the schema and still be refused.

They declare JSON Schema draft 2020-12 but use only keywords that mean the same
in draft-07, which is what yaml-language-server implements: no ``$ref`` beside
other keywords, no ``prefixItems``, numeric ``exclusiveMinimum``.

This module imports nothing heavy (no NumPy, no YAML): ``nncalc schema`` is quick.
"""

from __future__ import annotations

import json
from typing import Any

from nncalc.errors import NncalcError
from nncalc.vocabulary import (
    ACTIVATION_FUNCTIONS,
    DISTRIBUTIONS,
    LAYER_KINDS,
    LAYOUTS,
    LOSSES,
    OPTIMIZERS,
    PARTIAL,
    REDUCTIONS,
    RNN_OUTPUTS,
    SCHEMA_KINDS,
    LayerKind,
)

__all__ = [
    "KINDS",
    "SCHEMA_COMMENT",
    "SCHEMA_FILE",
    "answers_schema",
    "problem_schema",
    "schema_json",
]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: The kinds of file ``nncalc schema KIND`` describes.
KINDS = SCHEMA_KINDS
#: Where the user is told to write each schema (``nncalc schema problem > problem.schema.json``).
SCHEMA_FILE = {kind: f"{kind}.schema.json" for kind in KINDS}
#: The first line of an example file: yaml-language-server resolves a relative path
#: against the folder of the YAML file, so the schema file goes beside it.
SCHEMA_COMMENT = {
    kind: f"# yaml-language-server: $schema={name}" for kind, name in SCHEMA_FILE.items()
}

# Numbers written as text (YAML 1.1 reads 1e-3 as a string): the grammar of problem.py's
# _NUMBER_TEXT, spelt with [0-9] so that every regex dialect (ECMA-262 in editors,
# Python's re here) reads it the same way.
_MANTISSA = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
_EXPONENT = r"(?:[eE][-+]?[0-9]+)"
_ZERO = r"(?:0+\.?0*|\.0+)"
NUMBER_TEXT = rf"^\s*[-+]?{_MANTISSA}{_EXPONENT}?\s*$"
#: ≥ 0: no minus sign, or a minus before a zero ("-0" is 0 to the loader).
NONNEGATIVE_TEXT = rf"^\s*(?:\+?{_MANTISSA}|-{_ZERO}){_EXPONENT}?\s*$"
#: > 0: no minus sign and a nonzero digit before the exponent.
POSITIVE_TEXT = rf"^\s*\+?(?=[0-9.]*[1-9]){_MANTISSA}{_EXPONENT}?\s*$"
#: An answer's numeric string: the grader also reads a Unicode minus (−0.5).
ANSWER_NUMBER_TEXT = r"^\s*[-+−]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+−]?[0-9]+)?\s*$"
#: W{l} and b{l}, and an rnn layer's Wx{l} and Wh{l}.
PARAMETER_NAME = r"^(?:W[xh]?|b)[1-9][0-9]*$"

#: A JSON Schema (or a part of one) as plain data.
Schema = dict[str, Any]

_NUMBER_NOTE = 'a number, or a numeric string such as "1e-3"'


def _number(description: str, *, nonnegative: bool = False, positive: bool = False) -> Schema:
    """A number or a numeric string; ``nonnegative`` (≥ 0) or ``positive`` (> 0)."""
    as_number: Schema = {"type": "number"}
    pattern = NUMBER_TEXT
    if positive:
        as_number["exclusiveMinimum"] = 0
        pattern = POSITIVE_TEXT
    elif nonnegative:
        as_number["minimum"] = 0
        pattern = NONNEGATIVE_TEXT
    return {
        "description": description,
        "anyOf": [as_number, {"type": "string", "pattern": pattern}],
    }


def _vector(description: str) -> Schema:
    """A list of numbers, or a column written as a list of one-number lists."""
    entry = _number(_NUMBER_NOTE)
    return {
        "description": description,
        "anyOf": [
            {"type": "array", "minItems": 1, "items": entry},
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "description": "one entry of a column: a list of one number",
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": entry,
                },
            },
        ],
    }


def _matrix(
    description: str, row: str = "one row: the weights of one unit, one per input"
) -> Schema:
    return {
        "description": description,
        "type": "array",
        "minItems": 1,
        "items": {
            "description": row,
            "type": "array",
            "minItems": 1,
            "items": _number(_NUMBER_NOTE),
        },
    }


_DEPTHS = {
    1: "a list of numbers",
    2: "a matrix: a list of rows, each a list of numbers",
    3: "a list of matrices",
    4: "a list of lists of matrices",
}


def _tensor(depth: int, description: str) -> Schema:
    """Lists nested exactly ``depth`` deep with numbers (or numeric strings) at the bottom."""
    inner = _number(_NUMBER_NOTE) if depth == 1 else _tensor(depth - 1, _DEPTHS[depth - 1])
    return {"description": description, "type": "array", "minItems": 1, "items": inner}


def _fraction(description: str, default: float) -> Schema:
    """A number in [0, 1), or a numeric string ≥ 0 (the loader checks that it is below 1)."""
    return {
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
            {"type": "string", "pattern": NONNEGATIVE_TEXT},
        ],
        "default": default,
    }


def _activation(*, default: str | None = None) -> Schema:
    """A dense layer's activation (required, softmax allowed), or a conv2d's or an rnn's
    (``default``; elementwise only)."""
    functions = ", ".join(ACTIVATION_FUNCTIONS)
    which = (
        "softmax (across the units of the layer, normally the output layer) or an elementwise "
        "activation"
        if default is None
        else f"an elementwise activation (default {default}; softmax is for dense layers)"
    )
    schema: Schema = {
        "description": (
            f"{which}: one of {functions} (identity and linear are the "
            "same; leaky_relu(x, 0.1) and elu(x, 0.5) set the slope and α, by default "
            "0.01 and 1), or any expression in x built from these functions, numbers, "
            "pi, e, + - * / and ** (or ^, with a constant exponent), e.g. "
            '"relu(x) + sin(x)", "x**2/2 - 3*tanh(x)", "sigmoid(x)*x". At most '
            "1,000 characters; the derivative is derived symbolically."
        ),
        "type": "string",
        "pattern": r"\S",
    }
    if default is None:
        schema["examples"] = ["softmax", *ACTIVATION_FUNCTIONS, "relu(x) + sin(x)"]
    else:
        schema["not"] = {"pattern": r"^\s*softmax\s*$"}
        schema["default"] = default
        schema["examples"] = [*ACTIVATION_FUNCTIONS, "relu(x) + sin(x)"]
    return schema


def _units(description: str) -> Schema:
    return {"description": description, "type": "integer", "minimum": 1}


def _bias() -> Schema:
    return {
        "description": "false: the layer has no bias parameter at all (default true)",
        "type": "boolean",
        "default": True,
    }


def _window(description: str) -> Schema:
    side = {"type": "integer", "minimum": 1, "maximum": 1000}
    return {
        "description": description,
        "anyOf": [
            side,
            {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"description": "the height, then the width", **side},
            },
        ],
    }


def _stride(description: str, default: int | None) -> Schema:
    schema = _window(description)
    if default is not None:
        schema["default"] = default
    return schema


def _padding(description: str) -> Schema:
    return {
        "description": description,
        "type": "integer",
        "minimum": 0,
        "maximum": 1000,
        "default": 0,
    }


def _layer_kind(kind: LayerKind, description: str, properties: Schema) -> Schema:
    """A layer of ``kind``: its keys (vocabulary.LAYER_KINDS) in order, each as described in
    ``properties``; ``type`` is required except for dense, the default."""
    words = LAYER_KINDS[kind]
    return {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "required": [*(() if kind == "dense" else ("type",)), *words.required],
        "properties": {key: properties[key] for key in words.keys},
    }


def _dense() -> Schema:
    return _layer_kind(
        "dense",
        "a dense layer (type may be left out): Z = W·A + b, A = f(Z)",
        {
            "type": {"description": "dense (the default)", "const": "dense", "default": "dense"},
            "units": _units("number of units of this layer (rows of its W)"),
            "activation": _activation(default=LAYER_KINDS["dense"].default_activation),
            "bias": _bias(),
        },
    )


def _conv2d() -> Schema:
    return _layer_kind(
        "conv2d",
        "a 2-D convolution (cross-correlation, as in PyTorch) of feature maps "
        "[channels, height, width]: Z = W ⋆ A + b, A = f(Z); W has shape channels × "
        "in_channels × kernel height × kernel width, b one entry per output channel",
        {
            "type": {"description": "conv2d: a convolution layer", "const": "conv2d"},
            "channels": _units("number of output channels (feature maps)"),
            "in_channels": _units(
                "the channels of its input, as a check (they follow from the layer before)"
            ),
            "kernel": _window("the size of the kernel: k (k × k) or [height, width]"),
            "stride": _stride(
                "the step of the kernel across the input: s or [down, across] (default 1)", 1
            ),
            "padding": _padding("rows and columns of zeros around each input map (default 0)"),
            "activation": _activation(default=LAYER_KINDS["conv2d"].default_activation),
            "bias": _bias(),
        },
    )


def _pooling() -> Schema:
    """maxpool2d and avgpool2d, which have the same keys, in one schema."""
    return _layer_kind(
        "maxpool2d",
        "a pooling layer: the maximum (maxpool2d) or the mean (avgpool2d) of each "
        "window of each feature map; no parameters",
        {
            "type": {
                "description": "maxpool2d or avgpool2d",
                "enum": ["maxpool2d", "avgpool2d"],
            },
            "kernel": _window("the size of the window: k (k × k) or [height, width]"),
            "stride": _stride(
                "the step of the window: s or [down, across] (default: the window's size)", None
            ),
            "padding": _padding(
                "rows and columns of padding around each map, at most half the window "
                "(default 0; max pooling pads with −∞, average pooling with zeros)"
            ),
        },
    )


def _flatten() -> Schema:
    return _layer_kind(
        "flatten",
        "feature maps [channels, height, width] to a vector, channel by channel",
        {"type": {"description": "flatten: before the first dense layer", "const": "flatten"}},
    )


def _rnn() -> Schema:
    return _layer_kind(
        "rnn",
        "a vanilla recurrent layer, the first layer, reading x as a sequence: "
        "h_t = f(Wx·x_t + Wh·h_{t−1} + b), with parameters Wx, Wh and b",
        {
            "type": {"description": "rnn: a recurrent layer", "const": "rnn"},
            "units": _units("number of units, the size of the state h_t"),
            "activation": _activation(default=LAYER_KINDS["rnn"].default_activation),
            "bias": _bias(),
            "output": {
                "description": (
                    "every: the next layer reads h_t at every time step (y gives one target "
                    "per step); last: only the last h_T (one target per sequence). Default every"
                ),
                "enum": list(RNN_OUTPUTS),
                "default": "every",
            },
            "h0": {
                "description": "the state before the first step, one number per unit "
                "(default zeros; null also means zeros)",
                "anyOf": [_vector("h_0: one number per unit"), {"type": "null"}],
            },
        },
    )


def _layer() -> Schema:
    return {
        "description": (
            "one layer; type: dense (the default), conv2d, maxpool2d, avgpool2d, flatten or "
            "rnn. Feature maps (network.input [C, H, W]) go through conv2d and pooling "
            "layers, then flatten, then dense layers; an rnn is the first layer; the output "
            "layer is dense"
        ),
        "type": "object",
        "oneOf": [_dense(), _conv2d(), _pooling(), _flatten(), _rnn()],
    }


def _tolerance() -> Schema:
    return {
        "description": (
            "when an entry counts as equal to the exact value: exactly one of "
            "{decimals: d}, {sigfigs: n} or {rtol, atol} (default {decimals: 3})"
        ),
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "decimals": {
                "description": "|answer − exact| ≤ ½·10⁻ᵈ: correct to d decimal places",
                "type": "integer",
                "minimum": 0,
                "maximum": 12,
            },
            "sigfigs": {
                "description": (
                    "|answer − exact| ≤ ½ unit in the n-th significant figure of the exact value"
                ),
                "type": "integer",
                "minimum": 1,
                "maximum": 15,
            },
            "rtol": _number(
                "relative tolerance: |answer − exact| ≤ atol + rtol·|exact| (as numpy.isclose); "
                "default 0",
                nonnegative=True,
            ),
            "atol": _number(
                "absolute tolerance: |answer − exact| ≤ atol + rtol·|exact| (as numpy.isclose); "
                "default 0",
                nonnegative=True,
            ),
        },
        "oneOf": [
            {"required": ["decimals"]},
            {"required": ["sigfigs"]},
            {"anyOf": [{"required": ["rtol"]}, {"required": ["atol"]}]},
        ],
        "default": {"decimals": 3},
    }


def _grading() -> Schema:
    return {
        "description": (
            "how nncalc verify judges answers: points, tolerance, partial credit and "
            "follow-through. Without it every quantity is worth 1 point, the tolerance is "
            "3 decimals, there is no partial credit and follow-through earns full points"
        ),
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "points": {
                "description": (
                    "points per quantity: canonical names (Z1, A1, loss, delta1, dA1, "
                    "fprime1, dW1, db1, W1_new, b1_new; an rnn's Z1_t2, A1_t2, delta1_t2, "
                    "dWx1, dWh1; an optimizer's velocity_W1, m_W1, …) or aliases (H, y_hat, "
                    "h_2, W2T_delta2, W1', f'(Z1), dL/dW1); unlisted quantities carry no points"
                ),
                "type": "object",
                "additionalProperties": _number("points for this quantity (≥ 0)", nonnegative=True),
            },
            "equations": {
                "description": (
                    "points per formula (an answers file's equations: section), by quantity "
                    "name as in points; formulas not listed carry no points (they are still "
                    "judged, as feedback)"
                ),
                "type": "object",
                "additionalProperties": _number("points for this formula (≥ 0)", nonnegative=True),
            },
            "tolerance": _tolerance(),
            "partial": {
                "description": (
                    "none: a quantity passes only when all its entries do; element: a wrong "
                    "quantity earns the fraction of its entries that pass (default none)"
                ),
                "enum": list(PARTIAL),
                "default": "none",
            },
            "follow_through": {
                "description": (
                    "credit for a step computed correctly from the student's own wrong earlier "
                    "answers: true (full points, the default), false, or a fraction of the "
                    "points, e.g. 0.5"
                ),
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "number", "minimum": 0, "maximum": 1},
                    {"type": "string", "pattern": NONNEGATIVE_TEXT},
                ],
                "default": True,
            },
            "layout": {
                "description": (
                    "either (default): a sheet that writes every non-square matrix "
                    "transposed, in the inputs×outputs layout Z = xW + b, is read that way, "
                    "with a note; strict: the problem asks for its own layout, and a "
                    "transposed matrix is wrong"
                ),
                "enum": list(LAYOUTS),
                "default": "either",
            },
        },
    }


def _init() -> Schema:
    return {
        "description": (
            "reproducible random parameters, drawn in the order W1, b1, W2, b2, … from "
            "NumPy's default_rng(seed); any given in parameters take precedence"
        ),
        "type": ["object", "null"],
        "additionalProperties": False,
        "required": ["seed"],
        "properties": {
            "seed": {
                "description": "the random seed: a given seed always gives the same numbers",
                "type": "integer",
                "minimum": 0,
            },
            "scale": _number(
                "uniform: U(−scale, scale); normal: N(0, scale²) (default 0.5)", positive=True
            ),
            "decimals": {
                "description": (
                    "round the drawn numbers like a hand-made exercise, e.g. 1 "
                    "(default: no rounding)"
                ),
                "type": ["integer", "null"],
                "minimum": 0,
                "maximum": 15,
            },
            "distribution": {
                "description": "uniform (the default) or normal",
                "enum": list(DISTRIBUTIONS),
                "default": "uniform",
            },
        },
    }


def _parameters() -> Schema:
    return {
        "description": (
            "W{l} and b{l} for every dense and conv2d layer, Wx{l}, Wh{l} and b{l} for an "
            "rnn layer (pooling and flatten layers have none), unless init draws them"
        ),
        "type": ["object", "null"],
        "additionalProperties": False,
        "patternProperties": {
            r"^W[1-9][0-9]*$": {
                "description": (
                    "the weights of a layer. Dense: a list of rows, shape units × inputs. "
                    "conv2d: output channels × input channels × kernel height × kernel width; "
                    "leading sizes of 1 may be left out (a one-channel kernel as a matrix)"
                ),
                "anyOf": [
                    _matrix(
                        "units × inputs (dense), or a kernel height × width (conv2d, one input "
                        "and one output channel)",
                        "one row: the weights of one unit, one per input (or a kernel row)",
                    ),
                    _tensor(3, "conv2d, one output channel: input channels × height × width"),
                    _tensor(4, "conv2d: output channels × input channels × height × width"),
                ],
            },
            r"^W[xh][1-9][0-9]*$": _matrix(
                "the weights of an rnn layer: Wx{l} on the input x_t (units × inputs), "
                "Wh{l} on the previous state h_{t−1} (units × units)"
            ),
            r"^b[1-9][0-9]*$": _vector(
                "the biases of a layer: one number per unit (per output channel for conv2d; "
                "a row, or a column [[0.1], [-0.1]])"
            ),
        },
    }


def _optimizer_mapping(name: str) -> Schema:
    """The mapping form of one optimizer: its name, settings, step and carried state."""
    words = OPTIMIZERS[name]
    properties: Schema = {
        "name": {"description": f"{name}: {words.update}", "const": name},
    }
    for key, setting in words.settings.items():
        note = f"{setting.meaning} (default {setting.default:g})"
        if setting.accepts == "positive":
            properties[key] = _number(note, positive=True) | {"default": setting.default}
        else:
            properties[key] = _fraction(note, setting.default)
    properties["step"] = {
        "description": (
            "t, the number of this update counted from 1 (adam's bias correction 1 − βᵗ; default 1)"
        ),
        "type": "integer",
        "minimum": 1,
        "maximum": 1_000_000_000,
        "default": 1,
    }
    kinds = words.carried_states
    examples = ", ".join(f"{kind}_W1" for kind in kinds)
    properties["state"] = {
        "description": (
            f"the state carried from the previous steps, per parameter ({examples}, …; "
            "zeros where not given)"
            if kinds
            else f"{name} carries no state: {{}} or leave it out"
        ),
        "type": "object",
        "additionalProperties": False,
        "patternProperties": {
            rf"^{kind}_(?:W[xh]?|b)[1-9][0-9]*$": {
                "description": (
                    f"{words.symbols.get(kind, kind)} of this parameter before the step, in "
                    "its shape (a list for a bias, a list of rows for a matrix, …)"
                ),
                "anyOf": [_tensor(depth, _DEPTHS[depth]) for depth in _DEPTHS],
            }
            for kind in kinds
        },
    }
    schema: Schema = {
        "description": f"{name} with its settings",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if name == "sgd":  # the default optimizer: the name may be left out
        properties["name"]["default"] = "sgd"
    else:
        schema["required"] = ["name"]
    return schema


def _optimizer() -> Schema:
    updates = "; ".join(f"{name}: {words.update}" for name, words in OPTIMIZERS.items())
    return {
        "description": (
            f"how the gradient g becomes the update, a name or a mapping {{name, settings, "
            f"step, state}}. {updates}. Default sgd"
        ),
        "oneOf": [
            {"description": "an optimizer with its default settings", "enum": list(OPTIMIZERS)},
            *(_optimizer_mapping(name) for name in OPTIMIZERS),
        ],
        "default": "sgd",
    }


def _numbers() -> Schema:
    """$defs/numbers: non-empty lists of numbers, or of such lists, to any depth."""
    return {
        "description": "a list of numbers, or of such lists, nested to any depth",
        "type": "array",
        "minItems": 1,
        "items": {
            "description": "a number, or a list of numbers nested to any depth",
            "anyOf": [_number(_NUMBER_NOTE), {"$ref": "#/$defs/numbers"}],
        },
    }


def problem_schema() -> Schema:
    """The JSON Schema of a problem file (``nncalc solve``, ``nncalc verify``)."""
    return {
        "$schema": DIALECT,
        "title": "nncalc problem file",
        "description": (
            "A neural-network exercise: architecture, loss, parameters, input, target, "
            "learning rate and optimizer, for nncalc solve and nncalc verify."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["network", "loss", "learning_rate", "x", "y"],
        "anyOf": [{"required": ["parameters"]}, {"required": ["init"]}],
        "properties": {
            "name": {
                "description": "title shown on outputs (default: the file name)",
                "type": ["string", "null"],
            },
            "network": {
                "description": "the architecture: the shape of x and the layers",
                "type": "object",
                "additionalProperties": False,
                "required": ["input", "layers"],
                "properties": {
                    "input": {
                        "description": (
                            "the shape of one sample: n, the size of x (for an rnn, of x_t "
                            "at each time step), or [channels, height, width] for images"
                        ),
                        "anyOf": [
                            {"type": "integer", "minimum": 1},
                            {
                                "type": "array",
                                "minItems": 3,
                                "maxItems": 3,
                                "items": {
                                    "description": "channels, then height, then width",
                                    "type": "integer",
                                    "minimum": 1,
                                },
                            },
                        ],
                    },
                    "layers": {
                        "description": "one entry per layer, from the input to the output",
                        "type": "array",
                        "minItems": 1,
                        "items": _layer(),
                    },
                },
            },
            "loss": {
                "description": (
                    "per sample: cross_entropy −Σ y log ŷ; binary_cross_entropy "
                    "−Σ [y log ŷ + (1 − y) log(1 − ŷ)]; mse (1/k) Σ (ŷ − y)²; sse Σ (ŷ − y)²; "
                    "half_sse ½ Σ (ŷ − y)²"
                ),
                "enum": list(LOSSES),
            },
            "reduction": {
                "description": "mean (the default) or sum of the per-sample losses over a batch",
                "enum": list(REDUCTIONS),
                "default": "mean",
            },
            "learning_rate": _number("α ≥ 0 of the one update step", nonnegative=True),
            "optimizer": _optimizer(),
            "parameters": _parameters(),
            "init": _init(),
            "frozen": {
                "description": "parameters kept fixed in the update, e.g. [b1, b2]",
                "type": "array",
                "items": {
                    "description": "a parameter name: W{l}, b{l}, Wx{l} or Wh{l}",
                    "type": "string",
                    "pattern": PARAMETER_NAME,
                },
            },
            "x": {
                "description": (
                    "the input: one sample or a batch (a list of samples). A sample is n "
                    "numbers (a list, or a column [[a], [b]]); with network.input [C, H, W] "
                    "an image, C × H × W nested lists (H × W for one channel); with an rnn "
                    "a sequence, a list of T inputs x_t (for n = 1, a list of numbers)"
                ),
                "allOf": [{"$ref": "#/$defs/numbers"}],
            },
            "y": {
                "description": (
                    "the target(s), one per sample as x: k numbers for a k-unit output, a "
                    "single number for a 1-unit output; with an rnn whose output is every, "
                    "a list of T targets per sequence"
                ),
                "anyOf": [_number(_NUMBER_NOTE), {"$ref": "#/$defs/numbers"}],
            },
            "grading": _grading(),
        },
        "$defs": {"numbers": _numbers()},
    }


def answers_schema() -> Schema:
    """The JSON Schema of an answers file (``nncalc verify``)."""
    return {
        "$schema": DIALECT,
        "title": "nncalc answers file",
        "description": "A student's answers to one problem, graded by nncalc verify.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "problem": {
                "description": (
                    "the problem file, relative to this file (required unless nncalc verify "
                    "is given --problem, which overrides it)"
                ),
                "type": "string",
            },
            "student": {
                "description": "the student's id (default: the file name)",
                "type": ["string", "integer", "null"],
            },
            "answers": {
                "description": (
                    "quantity name → value. Canonical names (Z1, A1, loss, delta1, dA1, "
                    "fprime1, dW1, db1, W1_new, b1_new) and aliases (H, y_hat, W2T_delta2, "
                    "W1', δ1, f'(Z1), dL/dW1) are accepted; any subset may be answered"
                ),
                "type": ["object", "null"],
                "additionalProperties": {"$ref": "#/$defs/value"},
            },
            "equations": {
                "description": (
                    "quantity name → the formula that gives it, as text: plain (W1 x + b1, "
                    "(W2^T delta2) ⊙ f'(Z1)), LaTeX (\\delta_2 H^\\top) or NumPy "
                    "(np.outer(delta1, x)); judged equal to the quantity for any numbers"
                ),
                "type": ["object", "null"],
                "additionalProperties": {
                    "description": "the formula (null: unanswered)",
                    "type": ["string", "number", "null"],
                },
            },
        },
        "$defs": {
            "value": {
                "description": (
                    'a number, a numeric string ("0.5", "−0.5"), null (unanswered), or a '
                    "list of these (a vector, as a row or a column) or of lists (a matrix, "
                    "as a list of rows)"
                ),
                "anyOf": [
                    {"type": "null"},
                    {"type": "number"},
                    {"type": "string", "pattern": ANSWER_NUMBER_TEXT},
                    {"type": "array", "items": {"$ref": "#/$defs/value"}},
                ],
            },
        },
    }


_SCHEMAS = {"problem": problem_schema, "answers": answers_schema}


def schema_json(kind: str) -> str:
    """The schema of ``kind`` (one of KINDS) as indented JSON ending in a newline.

    What ``nncalc schema KIND`` prints; any other kind is an :class:`NncalcError`.
    """
    if kind not in _SCHEMAS:
        raise NncalcError(f"unknown schema {kind!r}; expected one of: {', '.join(KINDS)}")
    return json.dumps(_SCHEMAS[kind](), indent=2, ensure_ascii=False) + "\n"

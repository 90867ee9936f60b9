"""JSON Schemas of the problem and answers files, for editors.

``nncalc schema problem > problem.schema.json`` writes the schema; a YAML file
that starts with ``# yaml-language-server: $schema=problem.schema.json`` (the
path is relative to the YAML file) is then checked and completed as it is
typed in VS Code and every other editor that uses yaml-language-server: the
descriptions below are what the editor shows beside each key.

The schemas follow the loaders (``nncalc/problem.py``, ``nncalc/rubric.py``,
``nncalc/answers.py``) and do not refuse a file the loaders accept, with two
deliberate exceptions: numbers written as text must use ASCII digits, and an
answer that is not a number (which the grader marks invalid) is flagged. The
loaders check more than a schema can (shapes against the architecture, names
of quantities, size limits), so a file can satisfy the schema and still be refused.

They declare JSON Schema draft 2020-12 but use only keywords that mean the same
in draft-07, which is what yaml-language-server implements: no ``$ref`` beside
other keywords, no ``prefixItems``, numeric ``exclusiveMinimum``.

This module imports nothing heavy (no NumPy, no YAML): ``nncalc schema`` is quick.
"""

from __future__ import annotations

import json
from typing import Any

from nncalc.errors import NncalcError

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
KINDS = ("problem", "answers")
#: Where the user is told to write each schema (``nncalc schema problem > problem.schema.json``).
SCHEMA_FILE = {"problem": "problem.schema.json", "answers": "answers.schema.json"}
#: The first line of an example file: yaml-language-server resolves a relative path
#: against the folder of the YAML file, so the schema file goes beside it.
SCHEMA_COMMENT = {
    kind: f"# yaml-language-server: $schema={name}" for kind, name in SCHEMA_FILE.items()
}

# The loader's vocabulary, repeated here so that importing this module stays cheap;
# tests/test_schema.py checks each against its source.
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse", "sse", "half_sse")
REDUCTIONS = ("mean", "sum")
DISTRIBUTIONS = ("uniform", "normal")
PARTIAL = ("none", "element")
ACTIVATION_FUNCTIONS = (
    *("identity", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu"),
    *("sin", "cos", "exp", "log", "sqrt", "abs"),
)

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
PARAMETER_NAME = r"^[Wb][1-9][0-9]*$"

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


def _matrix(description: str) -> Schema:
    row = {
        "description": "one row: the weights of one unit, one per input",
        "type": "array",
        "minItems": 1,
        "items": _number(_NUMBER_NOTE),
    }
    return {"description": description, "type": "array", "minItems": 1, "items": row}


def _activation() -> Schema:
    functions = ", ".join(ACTIVATION_FUNCTIONS)
    return {
        "description": (
            "softmax (across the units of the layer, normally the output layer) or an "
            f"elementwise activation: one of {functions} (identity and linear are the "
            "same; leaky_relu(x, 0.1) and elu(x, 0.5) set the slope and α, by default "
            "0.01 and 1), or any expression in x built from these functions, numbers, "
            "pi, e, + - * / and ** (or ^, with a constant exponent), e.g. "
            '"relu(x) + sin(x)", "x**2/2 - 3*tanh(x)", "sigmoid(x)*x". At most '
            "1,000 characters; the derivative is derived symbolically."
        ),
        "type": "string",
        "pattern": r"\S",
        "examples": ["softmax", *ACTIVATION_FUNCTIONS, "relu(x) + sin(x)"],
    }


def _layer() -> Schema:
    return {
        "description": "one dense layer: Z = W·A + b, A = f(Z)",
        "type": "object",
        "additionalProperties": False,
        "required": ["units", "activation"],
        "properties": {
            "units": {
                "description": "number of units of this layer (rows of its W)",
                "type": "integer",
                "minimum": 1,
            },
            "activation": _activation(),
            "bias": {
                "description": "false: the layer has no bias parameter at all (default true)",
                "type": "boolean",
                "default": True,
            },
        },
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
                    "fprime1, dW1, db1, W1_new, b1_new) or aliases (H, y_hat, W2T_delta2, "
                    "W1', f'(Z1), dL/dW1); unlisted quantities carry no points"
                ),
                "type": "object",
                "additionalProperties": _number("points for this quantity (≥ 0)", nonnegative=True),
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
            "W{l} (a list of rows, shape units × inputs) and b{l} (a list) for every layer, "
            "unless init draws them"
        ),
        "type": ["object", "null"],
        "additionalProperties": False,
        "patternProperties": {
            r"^W[1-9][0-9]*$": _matrix(
                "the weights of a layer: a list of rows, shape units × inputs"
            ),
            r"^b[1-9][0-9]*$": _vector(
                "the biases of a layer: one number per unit (a row, or a column [[0.1], [-0.1]])"
            ),
        },
    }


def _samples(description: str, *, scalars: bool) -> Schema:
    """x (scalars False) or y: one sample or a batch; y may use single numbers."""
    sample = _vector("one sample: a list of numbers (or a column)")
    one = _number(_NUMBER_NOTE)
    batch_item = {"description": "one sample", "anyOf": [one, sample]} if scalars else sample
    batch = {
        "description": "a batch: one entry per sample",
        "type": "array",
        "minItems": 1,
        "items": batch_item,
    }
    options = [one, sample, batch] if scalars else [sample, batch]
    return {"description": description, "anyOf": options}


def problem_schema() -> Schema:
    """The JSON Schema of a problem file (``nncalc solve``, ``nncalc verify``)."""
    return {
        "$schema": DIALECT,
        "title": "nncalc problem file",
        "description": (
            "A neural-network exercise: architecture, loss, parameters, input, target "
            "and learning rate, for nncalc solve and nncalc verify."
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
                "description": "the architecture: the size of x and the layers",
                "type": "object",
                "additionalProperties": False,
                "required": ["input", "layers"],
                "properties": {
                    "input": {
                        "description": "number of inputs n (the size of x)",
                        "type": "integer",
                        "minimum": 1,
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
            "learning_rate": _number("α ≥ 0 of the one gradient-descent step", nonnegative=True),
            "parameters": _parameters(),
            "init": _init(),
            "frozen": {
                "description": "parameters kept fixed in the update, e.g. [b1, b2]",
                "type": "array",
                "items": {
                    "description": "a parameter name: W{l} or b{l}",
                    "type": "string",
                    "pattern": PARAMETER_NAME,
                },
            },
            "x": _samples(
                "the input: one sample (a list of n numbers) or a batch (a list of samples)",
                scalars=False,
            ),
            "y": _samples(
                "the target(s), the same way as x; a single number for a 1-unit output",
                scalars=True,
            ),
            "grading": _grading(),
        },
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

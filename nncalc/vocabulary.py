"""nncalc's vocabulary: every word that a problem file, the engine, the schema and the CLI share.

Written once, here, and read by all of them, so that a new optimizer or a new output
format is one entry and mypy catches a misspelt verdict or tolerance mode.  This
module imports nothing heavy (no NumPy, no YAML): ``nncalc schema`` and the CLI's
option parsing read it at start-up.

Where the math of each word lives: an optimizer's update rule in
:mod:`nncalc.optimizers`, a layer kind's validation, forward, backward and equations
in :mod:`nncalc.layers`, a loss in :mod:`nncalc.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

# -- a worked solution -------------------------------------------------------------------

Phase = Literal["forward", "backward", "update"]
PHASES: tuple[Phase, ...] = get_args(Phase)

# -- problem files -----------------------------------------------------------------------

#: The top-level keys of a problem file, in the order the schema lists them.
TOP_KEYS = (
    *("name", "network", "loss", "reduction", "learning_rate"),
    *("optimizer", "parameters", "init", "frozen", "x", "y", "grading"),
)
LossName = Literal["cross_entropy", "binary_cross_entropy", "mse", "sse", "half_sse"]
LOSSES: tuple[LossName, ...] = get_args(LossName)
Reduction = Literal["mean", "sum"]
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)
Distribution = Literal["uniform", "normal"]  # of drawn (``init``) parameters
DISTRIBUTIONS: tuple[Distribution, ...] = get_args(Distribution)
RnnOutput = Literal["every", "last"]  # which steps of an rnn the next layer reads
RNN_OUTPUTS: tuple[RnnOutput, ...] = get_args(RnnOutput)
#: The functions an activation formula may call, and how many arguments each takes at most.
ACTIVATION_FUNCTIONS: dict[str, int] = {
    **dict.fromkeys(["identity", "linear", "relu"], 1),
    "leaky_relu": 2,
    **dict.fromkeys(["sigmoid", "tanh", "softplus"], 1),
    "elu": 2,
    **dict.fromkeys(["sin", "cos", "exp", "log", "sqrt", "abs"], 1),
}

LayerKind = Literal["dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn"]


@dataclass(frozen=True)
class LayerWords:
    """The keys of one kind of layer in a problem file."""

    keys: tuple[str, ...]  # every key it may have, ``type`` first
    required: tuple[str, ...] = ()
    default_activation: str | None = None  # None: the activation must be given
    images: bool = False  # reads feature maps (channels, height, width), not a vector


#: Every kind of layer; its math (validation, forward, backward, equations) is the class
#: of the same name in :mod:`nncalc.layers`.
LAYER_KINDS: dict[LayerKind, LayerWords] = {
    "dense": LayerWords(("type", "units", "activation", "bias"), ("units", "activation")),
    "conv2d": LayerWords(
        ("type", "channels", "in_channels", "kernel", "stride", "padding", "activation", "bias"),
        ("channels", "kernel"),
        "identity",
        images=True,
    ),
    "maxpool2d": LayerWords(("type", "kernel", "stride", "padding"), ("kernel",), images=True),
    "avgpool2d": LayerWords(("type", "kernel", "stride", "padding"), ("kernel",), images=True),
    "flatten": LayerWords(("type",), images=True),
    "rnn": LayerWords(("type", "units", "activation", "bias", "output", "h0"), ("units",), "tanh"),
}


@dataclass(frozen=True)
class Setting:
    """One optimizer setting: its default, what it means (the schema shows it beside the
    key), and the numbers the loader accepts."""

    default: float
    meaning: str
    accepts: Literal["fraction", "positive"] = "fraction"  # in [0, 1), or any number > 0


@dataclass(frozen=True)
class OptimizerWords:
    """An optimizer's update in one line, its settings, and the state it keeps per parameter."""

    update: str  # the rule in one line, as the schema describes the optimizer
    settings: dict[str, Setting] = field(default_factory=dict)
    states: tuple[str, ...] = ()  # the state quantities shown, in the order computed
    carried: tuple[str, ...] | None = None  # carried to the next step (None: all states)
    nonnegative: tuple[str, ...] = ()  # running means of g²: a negative one given is refused
    #: How a state is written in formulas where not by its own name (velocity_W1 is
    #: v_{W_1}); a ``_hat`` state is the letter of its base with a hat (m_hat is m̂).
    symbols: dict[str, str] = field(default_factory=dict)

    @property
    def carried_states(self) -> tuple[str, ...]:
        return self.states if self.carried is None else self.carried

    @property
    def defaults(self) -> dict[str, float]:
        return {key: setting.default for key, setting in self.settings.items()}


_MOMENTUM = Setting(0.9, "μ in [0, 1): the fraction of the velocity kept, v' = μ·v − α·g")
_EPSILON = Setting(
    1e-8,
    "ε > 0 added to the square root in the denominator, against division by zero",
    "positive",
)
_V = {"velocity": "v"}

#: Every optimizer (defaults as PyTorch's, except rmsprop's ρ = 0.9 as in Hinton's notes);
#: its update rule is the one registered under the same name in :mod:`nncalc.optimizers`.
OPTIMIZERS: dict[str, OptimizerWords] = {
    "sgd": OptimizerWords("θ' = θ − α·g"),
    "momentum": OptimizerWords(
        "v' = μ·v − α·g, θ' = θ + v'", {"momentum": _MOMENTUM}, ("velocity",), symbols=_V
    ),
    "nesterov": OptimizerWords(
        "v' = μ·v − α·g, θ' = θ + μ·v' − α·g", {"momentum": _MOMENTUM}, ("velocity",), symbols=_V
    ),
    "rmsprop": OptimizerWords(
        "s' = ρ·s + (1 − ρ)·g², θ' = θ − α·g / (√s' + ε)",
        {
            "rho": Setting(
                0.9, "ρ in [0, 1): the decay of the running mean of g², s' = ρ·s + (1 − ρ)·g²"
            ),
            "epsilon": _EPSILON,
        },
        ("sq",),
        nonnegative=("sq",),
        symbols={"sq": "s"},
    ),
    "adam": OptimizerWords(
        "m and v, bias-corrected by 1 − βᵗ, θ' = θ − α·m̂ / (√v̂ + ε)",
        {
            "beta1": Setting(
                0.9, "β1 in [0, 1): the decay of the first moment, m' = β1·m + (1 − β1)·g"
            ),
            "beta2": Setting(
                0.999, "β2 in [0, 1): the decay of the second moment, v' = β2·v + (1 − β2)·g²"
            ),
            "epsilon": _EPSILON,
        },
        ("m", "v", "m_hat", "v_hat"),
        ("m", "v"),
        nonnegative=("v",),
    ),
}

# -- grading -----------------------------------------------------------------------------

Verdict = Literal["correct", "follow_through", "wrong", "missing", "invalid"]
#: Verdicts, in the order of the symbols the tables show.
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
#: What a graded item is: a quantity's numbers, or the formula (equation) that gives it.
ItemKind = Literal["value", "equation"]
ITEM_KINDS: tuple[ItemKind, ...] = get_args(ItemKind)
ToleranceMode = Literal["decimals", "sigfigs", "relative"]
PartialCredit = Literal["none", "element"]
PARTIAL: tuple[PartialCredit, ...] = get_args(PartialCredit)
#: Which layout of a weight matrix a sheet may use: ``either`` also reads a sheet that writes
#: every matrix inputs×outputs (Z = xW + b); ``strict`` only the problem's own.
MatrixLayout = Literal["either", "strict"]
LAYOUTS: tuple[MatrixLayout, ...] = get_args(MatrixLayout)

# -- output ------------------------------------------------------------------------------

SolveFormat = Literal["rich", "plain", "json", "markdown", "latex"]
SOLVE_FORMATS: tuple[SolveFormat, ...] = get_args(SolveFormat)
ReportFormat = Literal["rich", "plain", "json", "csv", "gradescope", "markdown", "latex", "html"]
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
SchemaKind = Literal["problem", "answers"]
SCHEMA_KINDS: tuple[SchemaKind, ...] = get_args(SchemaKind)

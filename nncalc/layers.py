"""The layer kinds: each one's problem-file keys, validation, forward, backward and equations.

A layer kind is one class here.  It checks its section of a problem file
(:meth:`LayerKind.check`), names its quantities in the order of a worked solution
(:meth:`~LayerKind.forward_names`, :meth:`~LayerKind.backward_names`), and gives
the :class:`Rule` of each: what it reads, how its value is computed and how its
equation is written, the backward step right beside the forward step it
differentiates, as micrograd keeps ``_backward`` beside each operation.  The
backward step to a layer's input (∂L/∂A_{l-1}) is the layer's own
:meth:`~LayerKind.input_gradient`, beside its forward pass.

Conventions: samples are columns, so for a dense layer ``Z = W·A_prev + b`` with W of
shape (units, inputs); feature maps are (batch, channels, height, width) and a kernel
bank is (out channels, in channels, kh, kw).  "Convolution" is cross-correlation, as
in every deep-learning course and library: no kernel flip in the forward pass.
Convolution and pooling are vectorized with an im2col view (``sliding_window_view``:
every window of the padded input, without copying), so the only Python loops run
over the kh·kw positions inside a window, never over output pixels.

To add a layer kind: its keys in :data:`nncalc.vocabulary.LAYER_KINDS`, its class
here (registered in :data:`KINDS`), its JSON Schema in :mod:`nncalc.schema`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nncalc.errors import NncalcError
from nncalc.formula import Formula, grad, param_symbol, sym
from nncalc.validate import Validator, count, describe
from nncalc.vocabulary import LAYER_KINDS, RNN_OUTPUTS, LayerWords

if TYPE_CHECKING:
    from nncalc.expr import Activation, Evaluation

Values = dict[str, Any]
Pair = tuple[int, int]


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
    def rules(self) -> LayerKind:
        """The layer's kind: its validation, quantities and math."""
        return KINDS[self.kind]

    @property
    def is_softmax(self) -> bool:
        return self.activation == "softmax"

    @property
    def weighted(self) -> bool:
        """Weights and an activation: Z = (its linear map) + b, A = f(Z)."""
        return self.rules.weighted

    @property
    def windowed(self) -> bool:
        """Slides a kernel or pooling window over feature maps."""
        return self.rules.windowed

    @property
    def images(self) -> bool:
        """Whether the output is a stack of feature maps (channels, height, width)."""
        return len(self.shape) == 3

    def describe(self) -> str:
        """A short description for the architecture line, e.g. 'conv2d 2@3×3 (relu)'."""
        return self.rules.describe(self)

    def summary(self) -> dict[str, Any]:
        """The layer as the problem file would write it (every setting spelled out)."""
        return {"type": self.kind, **self.rules.settings(self), "shape": list(self.shape)}


# ---------------------------------------------------------------------------
# Activations: forward rule and backward rule side by side


def _substitute(formula: str, variable: str) -> str:
    """Write an activation formula in terms of the layer's net input."""
    import re

    return re.sub(r"(?<![A-Za-z\\_])x(?![A-Za-z_])", variable, formula)


class Elementwise:
    """A = f(Z) entry by entry; backward: ∂L/∂Z = ∂L/∂A ⊙ f'(Z)."""

    def __init__(self, f: Activation) -> None:
        self.f = f

    def forward(self, z: np.ndarray, evaluation: Evaluation | None = None) -> np.ndarray:
        return self.f(z, evaluation=evaluation)

    def derivative(self, z: np.ndarray, evaluation: Evaluation | None = None) -> np.ndarray:
        return self.f.derivative(z, evaluation=evaluation)

    def formula(self, z: Formula) -> Formula:
        return Formula(_substitute(self.f.shown, z.text), _substitute(self.f.latex, z.latex))

    def derivative_formula(self, z: Formula) -> Formula:
        text = _substitute(self.f.derivative_text, z.text)
        return Formula(text, _substitute(self.f.derivative_latex, z.latex))


class Softmax:
    """ŷ = e^Z / Σ e^Z per column; backward through its Jacobian diag(ŷ) − ŷŷᵀ."""

    def forward(self, z: np.ndarray, evaluation: Evaluation | None = None) -> np.ndarray:
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


def activation_of(layer: Layer) -> Elementwise | Softmax | None:
    """The layer's activation as a rule pair: softmax, elementwise f, or none (pooling)."""
    if layer.is_softmax:
        return Softmax()
    return Elementwise(layer.elementwise) if layer.elementwise is not None else None


# ---------------------------------------------------------------------------
# Rules and what they need of the network


@dataclass(frozen=True)
class Rule:
    """How one quantity is computed from earlier ones: the computed quantities it
    reads (not x, y or the parameters, which are given), its value from the values
    ``v`` (internal shapes; ``evaluation`` evaluates activations as a student's slip
    would), and its equation."""

    reads: list[str]
    compute: Callable[[Values, Evaluation | None], Any]
    equation: Callable[[], Formula]


class Symbols(Protocol):
    def a(self, layer: int, t: int | None = None) -> Formula: ...


class Context(Protocol):
    """What a layer's rules need of their network (:class:`nncalc.engine.Network`)."""

    depth: int
    time_steps: int  # T of an rnn's input sequence, else 0
    batch: int
    per_step_output: bool  # an rnn read at every step: gradients also sum over the steps
    single: bool  # one sample (or sequence): shown without a batch axis
    single_column: bool  # one sample, one step: a bias gradient is δ itself

    @property
    def symbols(self) -> Symbols: ...
    def layer(self, i: int) -> Layer: ...
    def activation(self, i: int) -> Elementwise | Softmax | None: ...
    def input_names(self, i: int) -> list[str]: ...
    def layer_input(self, i: int, v: Values) -> Any: ...
    def input_symbol(self, i: int) -> Formula: ...
    def kept(self, key: tuple[str, int], a: np.ndarray, build: Callable[[], Any]) -> Any: ...


def delta_symbol(layer: int, t: int | None = None) -> Formula:
    if t is not None:
        return Formula(f"δ{layer}_t{t}", rf"\delta_{{{layer}}}^{{({t})}}")
    return sym("δ", layer, r"\delta")


def fprime_symbol(z: Formula, layer: int) -> Formula:
    return Formula(f"f{layer}'({z.text})", f"f_{{{layer}}}'({z.latex})")


class LayerKind:
    """A kind of layer; subclasses fill in what their kind has."""

    name: ClassVar[str]
    weighted: ClassVar[bool] = False
    windowed: ClassVar[bool] = False
    size_key: ClassVar[str] = "type"  # the key that sets its size, named by size limits

    @property
    def words(self) -> LayerWords:
        return LAYER_KINDS[self.name]  # type: ignore[index]

    # -- the problem file --------------------------------------------------------

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        """The layer at ``path`` (layer i + 1), validated: its keys and sizes."""
        raise NotImplementedError

    def check_input(self, v: Validator, path: str, i: int, in_shape: tuple[int, ...]) -> None:
        """Refuse an input this kind cannot read (feature maps versus a vector)."""
        images = len(in_shape) == 3
        if self.words.images and not images:
            got = "×".join(map(str, in_shape))
            raise v.fail(
                f"{path}.type",
                f"{self.name} needs feature maps as input (network.input: [channels, height, "
                f"width]), got a vector of {got}",
            )
        if not self.words.images and images:
            raise v.fail(
                f"{path}.type",
                f"a {self.name} layer needs a vector as input; add {{type: flatten}} before it",
            )

    def parameters(self, i: int, layer: Layer) -> dict[str, tuple[int, ...]]:
        """Its parameters (layer i) and their shapes."""
        return {}

    def settings(self, layer: Layer) -> dict[str, Any]:
        """Its settings as the problem file writes them, for the JSON answer key."""
        return {}

    def describe(self, layer: Layer) -> str:
        raise NotImplementedError

    # -- the quantities and their rules -----------------------------------------------

    def forward_names(self, i: int, layer: Layer, steps: int) -> list[str]:
        return [f"A{i}"]

    def backward_names(self, i: int, layer: Layer, steps: int, closed_form: bool) -> list[str]:
        """Its own backward quantities, down to δ (the parameter gradients follow)."""
        return []

    def rule(self, quantity: str, i: int, t: int, net: Context) -> Rule:
        raise KeyError(f"{quantity}{i}")

    def input_gradient(self, i: int, net: Context) -> Rule:
        """∂L/∂A_{i-1}, the backward step from layer i to its input."""
        raise KeyError(f"dA{i - 1}")


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _activation(v: Validator, act: Any, path: str) -> tuple[str, Activation | None]:
    """A weighted layer's activation: softmax, or an elementwise formula in x."""
    from nncalc.expr import parse_activation

    if act is None:
        raise v.fail(path, "missing required key 'activation'")
    if not isinstance(act, str) or not act.strip():
        raise v.fail(f"{path}.activation", f"expected text, got {describe(act)}")
    if act.strip() == "softmax":
        return "softmax", None
    try:
        return act.strip(), parse_activation(act)
    except NncalcError as exc:
        raise exc.located(
            source=v.doc.source, path=f"{path}.activation", line=v.doc.line(f"{path}.activation")
        ) from None


def _window_maps(
    v: Validator,
    channels: int,
    in_shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: int,
    path: str,
) -> tuple[int, int, int]:
    """The output feature maps of a window layer; refuses a window larger than its input."""
    _, h, w = in_shape
    if kernel[0] > h + 2 * padding or kernel[1] > w + 2 * padding:
        raise v.fail(
            f"{path}.kernel",
            f"expected a window of at most {h + 2 * padding}×{w + 2 * padding} "
            f"(the input {h}×{w} with padding {padding}), got {kernel[0]}×{kernel[1]}",
        )
    shape = (
        channels,
        output_size(h, kernel[0], stride[0], padding),
        output_size(w, kernel[1], stride[1], padding),
    )
    if math.prod(shape) > v.limits.max_entries:
        raise v.fail(path, f"expected at most {v.limits.max_entries} outputs")
    return shape


# ---------------------------------------------------------------------------
# Weighted layers: Z from the layer's linear map, A = f(Z), and back through f


class Weighted(LayerKind):
    """Dense and conv2d: Z = (linear map of A_{l-1}) + b, A = f(Z); the activation's
    forward and backward steps are the same for both."""

    weighted = True
    sum_over = "b"  # the axes a bias gradient sums δ over, as written

    def checked_activation(
        self, v: Validator, spec: Mapping[str, Any], path: str
    ) -> tuple[str, Activation | None, bool]:
        """The activation (text and parsed) and whether there is a bias."""
        activation, elementwise = _activation(
            v, spec.get("activation", self.words.default_activation), path
        )
        if activation == "softmax" and self.name != "dense":
            raise v.fail(f"{path}.activation", f"softmax is for dense layers, not {self.name}")
        bias = spec.get("bias", True)
        if not isinstance(bias, bool):
            raise v.fail(f"{path}.bias", f"expected true or false, got {describe(bias)}")
        return activation, elementwise, bias

    def forward_names(self, i: int, layer: Layer, steps: int) -> list[str]:
        return [f"Z{i}", f"A{i}"]

    def backward_names(self, i: int, layer: Layer, steps: int, closed_form: bool) -> list[str]:
        fprime = layer.elementwise is not None and not closed_form
        return [*([f"fprime{i}"] if fprime else []), f"delta{i}"]

    def rule(self, quantity: str, i: int, t: int, net: Context) -> Rule:
        act, z, a, da = net.activation(i), f"Z{i}", f"A{i}", f"dA{i}"
        s = net.symbols
        match quantity:
            # A_l = f(Z_l) ...
            case "A":
                assert act is not None
                return Rule(
                    [z],
                    lambda v, e: act.forward(v[z], e),
                    lambda: s.a(i).eq(act.formula(sym("Z", i))),
                )
            # ... so δ_l = ∂L/∂A_l ⊙ f'(Z_l), or through softmax's Jacobian.
            case "fprime":
                assert isinstance(act, Elementwise)
                return Rule(
                    [z],
                    lambda v, e: act.derivative(v[z], e),
                    lambda: fprime_symbol(sym("Z", i), i).eq(act.derivative_formula(sym("Z", i))),
                )
            case "delta" if isinstance(act, Softmax):
                return Rule(
                    [a, da],
                    lambda v, e: Softmax.backward(v[a], v[da]),
                    lambda: delta_symbol(i).eq(_softmax_jacobian(s.a(i)) @ self._upstream(i, net)),
                )
            case "delta":
                fp = f"fprime{i}"
                return Rule(
                    [da, fp],
                    lambda v, e: v[da] * v[fp],
                    lambda: delta_symbol(i).eq(
                        self._upstream(i, net) * fprime_symbol(sym("Z", i), i)
                    ),
                )
            case "db":
                d = f"delta{i}"
                return Rule([d], lambda v, e: self.bias_gradient(v[d]), lambda: self._db(i, net))
        return self.linear_rule(quantity, i, net)

    def linear_rule(self, quantity: str, i: int, net: Context) -> Rule:
        """Z and ∂L/∂W: the layer's own linear map and its kernel's gradient."""
        raise KeyError(f"{quantity}{i}")

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _upstream(self, i: int, net: Context) -> Formula:
        """∂L/∂A_l as the δ equation writes it: W_{l+1}ᵀ·δ_{l+1} when a dense layer is above."""
        if i < net.depth and net.layer(i + 1).kind == "dense":
            return (sym("W", i + 1).T @ delta_symbol(i + 1)).paren()
        return grad(net.symbols.a(i))

    def _db(self, i: int, net: Context) -> Formula:
        """∂L/∂b = Σ δ over the batch (and positions, and steps); δ itself for one sample."""
        where = self.sum_over
        if net.per_step_output:
            where = "t" if net.batch == 1 else "b,t"
        d = delta_symbol(i)
        sums = Formula(f"Σ_{where} {d.text}", rf"\sum_{{{where}}} {d.latex}")
        single = self.name == "dense" and net.single_column
        return grad(sym("b", i)).eq(d if single else sums)


def _softmax_jacobian(a: Formula) -> Formula:
    diag = rf"\operatorname{{diag}}({a.latex})"
    return Formula(
        f"(diag({a.text}) − {a.text}·{a.text}ᵀ)",
        rf"\left({diag} - {a.latex} {a.latex}^{{\top}}\right)",
    )


# ---------------------------------------------------------------------------
# dense: Z_l = W_l·A_{l-1} + b_l


class Dense(Weighted):
    name = "dense"
    size_key = "units"

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        spec = v.mapping(spec, path, self.words.keys, self.words.required)
        activation, elementwise, bias = self.checked_activation(v, spec, path)
        units = _units(v, spec, path, i, in_shape, recurrent=False)
        return Layer(units, activation, elementwise, bias, self.name, (units,), in_shape)

    def parameters(self, i: int, layer: Layer) -> dict[str, tuple[int, ...]]:
        weights = {f"W{i}": (layer.units, math.prod(layer.in_shape))}
        return weights | ({f"b{i}": (layer.units,)} if layer.bias else {})

    def settings(self, layer: Layer) -> dict[str, Any]:
        return {"units": layer.units, "activation": layer.activation, "bias": layer.bias}

    def describe(self, layer: Layer) -> str:
        return f"{layer.units} ({layer.activation})"

    def linear_rule(self, quantity: str, i: int, net: Context) -> Rule:
        w, b, d = f"W{i}", f"b{i}", f"delta{i}"
        bias = net.layer(i).bias
        below = net.input_names(i)
        match quantity:
            # Z_l = W_l·A_{l-1} + b_l ...
            case "Z":

                def z(v: Values, e: Evaluation | None) -> Any:
                    product = v[w] @ net.layer_input(i, v)
                    return product + v[b][:, None] if bias else product

                def z_equation() -> Formula:
                    rhs = sym("W", i) @ net.input_symbol(i)
                    return sym("Z", i).eq(rhs + sym("b", i) if bias else rhs)

                return Rule(below, z, z_equation)
            # ... so ∂L/∂W_l = δ_l·A_{l-1}ᵀ (and ∂L/∂b_l = Σ_batch δ_l, ∂L/∂A_{l-1} = W_lᵀ·δ_l).
            case "dW":
                return Rule(
                    [d, *below],
                    lambda v, e: v[d] @ net.layer_input(i, v).T,
                    lambda: grad(sym("W", i)).eq(delta_symbol(i) @ net.input_symbol(i).T),
                )
        raise KeyError(f"{quantity}{i}")

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return delta.sum(axis=1)

    def input_gradient(self, i: int, net: Context) -> Rule:
        w, d = f"W{i}", f"delta{i}"
        return Rule(
            [d],
            lambda v, e: v[w].T @ v[d],
            lambda: grad(net.symbols.a(i - 1)).eq(sym("W", i).T @ delta_symbol(i)),
        )


def _units(
    v: Validator,
    spec: Mapping[str, Any],
    path: str,
    i: int,
    in_shape: tuple[int, ...],
    *,
    recurrent: bool,
) -> int:
    """A dense or rnn layer's units, with its weights within the size limit."""
    lim = v.limits
    units = v.integer(spec["units"], f"{path}.units", 1, lim.max_units)
    inputs = in_shape[0]
    if units * max(inputs, units if recurrent else 0) > lim.max_entries:
        raise v.fail(
            f"{path}.units",
            f"W{i + 1} would have {units}×{inputs} = {units * inputs} entries; "
            f"the limit is {lim.max_entries}",
        )
    return units


# ---------------------------------------------------------------------------
# conv2d: Z[b, o] = Σ_c W[o, c] ⋆ A[b, c] + bias[o]   (⋆: cross-correlation)


class Conv2d(Weighted):
    name = "conv2d"
    windowed = True
    size_key = "channels"
    sum_over = "b,p,q"

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        lim = v.limits
        spec = v.mapping(spec, path, self.words.keys, self.words.required)
        activation, elementwise, bias = self.checked_activation(v, spec, path)
        channels = v.integer(spec["channels"], f"{path}.channels", 1, lim.max_units)
        if "in_channels" in spec:
            v.integer(spec["in_channels"], f"{path}.in_channels", in_shape[0], in_shape[0])
        kernel = v.pair(spec["kernel"], f"{path}.kernel")
        stride = v.pair(spec.get("stride", 1), f"{path}.stride")
        padding = v.integer(spec.get("padding", 0), f"{path}.padding", 0, 1000)
        shape = _window_maps(v, channels, in_shape, kernel, stride, padding, path)
        weights = channels * in_shape[0] * kernel[0] * kernel[1]
        if weights > lim.max_entries:
            raise v.fail(
                f"{path}.channels",
                f"W{i + 1} would have {weights} entries; the limit is {lim.max_entries}",
            )
        return Layer(
            math.prod(shape),
            activation,
            elementwise,
            bias,
            self.name,
            shape,
            in_shape,
            kernel,
            stride,
            padding,
        )

    def parameters(self, i: int, layer: Layer) -> dict[str, tuple[int, ...]]:
        weights = {f"W{i}": (layer.shape[0], layer.in_shape[0], *layer.kernel)}
        return weights | ({f"b{i}": (layer.shape[0],)} if layer.bias else {})

    def settings(self, layer: Layer) -> dict[str, Any]:
        return {"channels": layer.shape[0], **_window_settings(layer)} | {
            "activation": layer.activation,
            "bias": layer.bias,
        }

    def describe(self, layer: Layer) -> str:
        kh, kw = layer.kernel
        extra = (f", stride {_pair_text(layer.stride)}" if layer.stride != (1, 1) else "") + (
            f", padding {layer.padding}" if layer.padding else ""
        )
        size = "×".join(map(str, layer.shape))
        return f"conv2d {kh}×{kw}{extra} → {size} ({layer.activation})"

    def linear_rule(self, quantity: str, i: int, net: Context) -> Rule:
        w, b, d = f"W{i}", f"b{i}", f"delta{i}"
        layer = net.layer(i)
        below = net.input_names(i)
        match quantity:
            # Z_l = W_l ⋆ A_{l-1} + b_l (cross-correlation, stride s, padding p) ...
            case "Z":

                def z(v: Values, e: Evaluation | None) -> Any:
                    a = net.layer_input(i, v)
                    out_shape = (a.shape[0], *layer.shape)
                    maps = conv_forward(self.columns(i, a, net), v[w], out_shape)
                    return maps + v[b][None, :, None, None] if layer.bias else maps

                def z_equation() -> Formula:
                    a_in, kernel = net.input_symbol(i), sym("W", i)
                    rhs = Formula(
                        f"{kernel.text} ⋆ {a_in.text}", rf"{kernel.latex} \star {a_in.latex}"
                    )
                    return sym("Z", i).eq(rhs + sym("b", i) if layer.bias else rhs)

                return Rule(below, z, z_equation)
            # ... so ∂L/∂W_l = A_{l-1} ⋆ δ_l, ∂L/∂b_l = Σ δ_l over batch and positions, and
            # ∂L/∂A_{l-1} = δ_l full-convolved with W_l (each window sends δ·W back).
            case "dW":

                def dw(v: Values, e: Evaluation | None) -> Any:
                    cols = self.columns(i, net.layer_input(i, v), net)
                    return conv_grad_kernel(cols, v[d], v[w].shape)

                def dw_equation() -> Formula:
                    a_in, delta = net.input_symbol(i), delta_symbol(i)
                    return grad(sym("W", i)).eq(
                        Formula(f"{a_in.text} ⋆ {delta.text}", rf"{a_in.latex} \star {delta.latex}")
                    )

                return Rule([d, *below], dw, dw_equation)
        raise KeyError(f"{quantity}{i}")

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return delta.sum(axis=(0, 2, 3))

    def input_gradient(self, i: int, net: Context) -> Rule:
        w, d = f"W{i}", f"delta{i}"
        layer, below = net.layer(i), net.layer(i - 1)
        return Rule(
            [d],
            lambda v, e: conv_grad_input(
                v[d], v[w], (v[d].shape[0], *below.shape), layer.stride, layer.padding
            ),
            lambda: grad(net.symbols.a(i - 1)).eq(
                Formula(
                    f"{delta_symbol(i).text} full-convolved with W{i}",
                    rf"\delta_{{{i}}} \ast \operatorname{{rot180}}(W_{{{i}}})",
                )
            ),
        )

    @staticmethod
    def columns(i: int, a: np.ndarray, net: Context) -> np.ndarray:
        """The im2col matrix of layer i's input ``a``, built by the forward pass and
        reused by the kernel's gradient."""
        layer = net.layer(i)
        return net.kept(
            ("columns", i), a, lambda: columns(a, layer.kernel, layer.stride, layer.padding)
        )


def _window_settings(layer: Layer) -> dict[str, Any]:
    return {"kernel": list(layer.kernel), "stride": list(layer.stride), "padding": layer.padding}


def pad(a: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    if not padding:
        return a
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return np.pad(a, widths, constant_values=value)


def windows(a: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Every window of ``a`` (already padded): (batch, channels, out h, out w, kh, kw), a view."""
    return sliding_window_view(a, kernel, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _scatter(
    grads: Callable[[int, int], np.ndarray],
    shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: int,
    channels_first: bool = False,
) -> np.ndarray:
    """Add each window position's gradient back onto the input it came from (col2im).

    ``grads(i, j)`` is the gradient reaching input entry (i, j) of every window, shaped
    (batch, channels, out h, out w), or (channels, batch, out h, out w) with
    ``channels_first`` (summed in that layout, turned back once at the end); one slice
    assignment per (i, j).
    """
    b, c, h, w = shape
    lead = (c, b) if channels_first else (b, c)
    out = np.zeros((*lead, h + 2 * padding, w + 2 * padding))
    kh, kw = kernel
    sh, sw = stride
    for i in range(kh):
        for j in range(kw):
            g = grads(i, j)
            oh, ow = g.shape[2:]
            out[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += g
    out = out[:, :, padding : padding + h, padding : padding + w]
    return out.transpose(1, 0, 2, 3) if channels_first else out


def columns(a: np.ndarray, kernel: Pair, stride: Pair, padding: int) -> np.ndarray:
    """im2col: every window of the padded input as a column, (C·kh·kw, B·oh·ow).

    Rows run over (channel, i, j) of a window, columns over (sample, p, q) of the output;
    this order copies the windows in runs of a whole output row, and it is the matrix both
    the forward pass and the kernel's gradient multiply, so it is built once per layer.
    """
    cols = windows(pad(a, padding), kernel, stride)  # (B, C, oh, ow, kh, kw), a view
    b, c, oh, ow, kh, kw = cols.shape
    return cols.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, b * oh * ow)


def conv_forward(cols: np.ndarray, w: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    """Z without the bias: each output entry is Σ (window ⊙ kernel) over channels and window.

    ``cols`` from :func:`columns`; ``out_shape`` is (batch, out channels, oh, ow).
    """
    b, o, oh, ow = out_shape
    z = w.reshape(o, -1) @ cols  # (O, B·oh·ow): one row of outputs per kernel
    return z.reshape(o, b, oh, ow).transpose(1, 0, 2, 3)


def conv_grad_kernel(
    cols: np.ndarray, delta: np.ndarray, kernel_shape: tuple[int, ...]
) -> np.ndarray:
    """∂L/∂W[o, c, i, j] = Σ_{b, p, q} δ[b, o, p, q] · A[b, c, p·s + i, q·s + j]  (A ⋆ δ)."""
    o = delta.shape[1]
    d = delta.transpose(1, 0, 2, 3).reshape(o, -1)  # (O, B·oh·ow), as the columns
    return (d @ cols.T).reshape(kernel_shape)


def conv_grad_input(
    delta: np.ndarray, w: np.ndarray, in_shape: tuple[int, ...], stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂A = Σ_o δ[o] full-convolved with W[o] (each window sends δ·W back to its inputs)."""
    # (o, c, kh, kw) · (b, o, oh, ow) over o → (c, kh, kw, b, oh, ow): each window position
    # (i, j) is a contiguous block, added up channels first
    back = np.tensordot(w, delta, axes=([0], [1]))
    return _scatter(
        lambda i, j: back[:, i, j], in_shape, w.shape[2:], stride, padding, channels_first=True
    )


# ---------------------------------------------------------------------------
# Pooling: A[b, c, p, q] = max (or mean) of its window; backward routes ∂L/∂A back


class Pooling(LayerKind):
    """maxpool2d and avgpool2d: a window slides over each channel, no weights."""

    windowed = True
    operation: ClassVar[str]  # "max" or "mean"

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        spec = v.mapping(spec, path, self.words.keys, self.words.required)
        kernel = v.pair(spec["kernel"], f"{path}.kernel")
        stride = v.pair(spec.get("stride", list(kernel)), f"{path}.stride")
        padding = v.integer(spec.get("padding", 0), f"{path}.padding", 0, 1000)
        if 2 * padding > min(kernel):
            raise v.fail(f"{path}.padding", f"expected at most half the window, got {padding}")
        shape = _window_maps(v, in_shape[0], in_shape, kernel, stride, padding, path)
        return Layer(
            math.prod(shape), "", None, False, self.name, shape, in_shape, kernel, stride, padding
        )

    def settings(self, layer: Layer) -> dict[str, Any]:
        return _window_settings(layer)

    def describe(self, layer: Layer) -> str:
        kh, kw = layer.kernel
        size = "×".join(map(str, layer.shape))
        return f"{self.name} {kh}×{kw}, stride {_pair_text(layer.stride)} → {size}"

    def rule(self, quantity: str, i: int, t: int, net: Context) -> Rule:
        if quantity != "A":
            raise KeyError(f"{quantity}{i}")
        layer = net.layer(i)

        def a_equation() -> Formula:
            a, (kh, kw), (sh, sw) = net.input_symbol(i), layer.kernel, layer.stride
            stride = str(sh) if sh == sw else f"{sh}×{sw}"
            return net.symbols.a(i).eq(
                Formula(
                    f"{self.operation} over each {kh}×{kw}, stride {stride} window of {a.text}",
                    rf"\operatorname{{{self.operation}pool}}_{{{kh}\times{kw},\,s={stride}}}"
                    rf"({a.latex})",
                )
            )

        return Rule(net.input_names(i), lambda v, e: self.pool(i, v, net), a_equation)

    def pool(self, i: int, v: Values, net: Context) -> np.ndarray:
        raise NotImplementedError


class MaxPool2d(Pooling):
    name = "maxpool2d"
    operation = "max"

    def pool(self, i: int, v: Values, net: Context) -> np.ndarray:
        return self.winners(i, net.layer_input(i, v), net)[0]

    def input_gradient(self, i: int, net: Context) -> Rule:
        # ∂L/∂A_{l-1}: each window's ∂L/∂A goes to the entry that won the max, 0 elsewhere.
        layer, a, da = net.layer(i), f"A{i - 1}", f"dA{i}"

        def back(v: Values, e: Evaluation | None) -> Any:
            won = self.winners(i, v[a], net)[1]
            return maxpool_backward(
                v[da], won, v[a].shape, layer.kernel, layer.stride, layer.padding
            )

        g = grad(net.symbols.a(i))
        return Rule(
            [da, a],
            back,
            lambda: grad(net.symbols.a(i - 1)).eq(
                Formula(
                    f"{g.text} routed to each window's maximum (0 elsewhere)",
                    rf"\operatorname{{route\_to\_max}}\left({g.latex}\right)",
                )
            ),
        )

    @staticmethod
    def winners(i: int, a: np.ndarray, net: Context) -> tuple[np.ndarray, np.ndarray]:
        """Max-pooling layer i of ``a``: the maxima and which entry won each window, found
        by the forward pass and reused by the backward pass."""
        layer = net.layer(i)
        return net.kept(
            ("maxpool", i), a, lambda: maxpool(a, layer.kernel, layer.stride, layer.padding)
        )


class AvgPool2d(Pooling):
    name = "avgpool2d"
    operation = "mean"

    def pool(self, i: int, v: Values, net: Context) -> np.ndarray:
        layer = net.layer(i)
        return avgpool_forward(net.layer_input(i, v), layer.kernel, layer.stride, layer.padding)

    def input_gradient(self, i: int, net: Context) -> Rule:
        # ∂L/∂A_{l-1}: each window's ∂L/∂A shared equally, 1/(kh·kw) to every entry.
        layer, below, da = net.layer(i), net.layer(i - 1), f"dA{i}"
        kh, kw = layer.kernel
        g = grad(net.symbols.a(i))
        return Rule(
            [da],
            lambda v, e: avgpool_backward(
                v[da], (v[da].shape[0], *below.shape), layer.kernel, layer.stride, layer.padding
            ),
            lambda: grad(net.symbols.a(i - 1)).eq(
                Formula(
                    f"{g.text} / {kh * kw} spread over each window",
                    rf"\operatorname{{spread}}\left({g.latex}\right) / {kh * kw}",
                )
            ),
        )


def maxpool(
    a: np.ndarray, kernel: Pair, stride: Pair, padding: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum, and the flat index (i·kw + j) of the entry that won it (the
    first one on ties): one pass over the whole map per window position (i, j)."""
    cols = windows(pad(a, padding, -np.inf), kernel, stride)
    best = cols[..., 0, 0].copy()
    won = np.zeros(best.shape, dtype=np.intp)
    kh, kw = kernel
    for k in range(1, kh * kw):
        entry = cols[..., k // kw, k % kw]
        better = entry > best
        np.copyto(best, entry, where=better)
        won[better] = k
    return best, won


def maxpool_backward(
    grad: np.ndarray,
    won: np.ndarray,
    shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: int,
) -> np.ndarray:
    """∂L/∂A_prev: each window's ∂L/∂A goes to the entry that won the max, 0 elsewhere."""
    kw = kernel[1]
    return _scatter(
        lambda i, j: np.where(won == i * kw + j, grad, 0.0), shape, kernel, stride, padding
    )


def avgpool_forward(a: np.ndarray, kernel: Pair, stride: Pair, padding: int) -> np.ndarray:
    return windows(pad(a, padding), kernel, stride).mean(axis=(4, 5))


def avgpool_backward(
    grad: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂A_prev: each window's ∂L/∂A shared equally, 1/(kh·kw) to every entry."""
    share = grad / (kernel[0] * kernel[1])
    return _scatter(lambda i, j: share, shape, kernel, stride, padding)


# ---------------------------------------------------------------------------
# flatten: a reshape of the feature maps into one column per sample, and back


class Flatten(LayerKind):
    name = "flatten"

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        v.mapping(spec, path, self.words.keys)
        size = math.prod(in_shape)
        return Layer(size, "", None, False, self.name, (size,), in_shape)

    def describe(self, layer: Layer) -> str:
        return f"flatten → {layer.shape[0]}"

    def rule(self, quantity: str, i: int, t: int, net: Context) -> Rule:
        if quantity != "A":
            raise KeyError(f"{quantity}{i}")

        def flat(v: Values, e: Evaluation | None) -> Any:
            a = net.layer_input(i, v)
            return a.reshape(a.shape[0], -1).T  # one column per sample, C·H·W entries

        def a_equation() -> Formula:
            a = net.input_symbol(i)
            return net.symbols.a(i).eq(
                Formula(f"flatten({a.text})", rf"\operatorname{{flatten}}({a.latex})")
            )

        return Rule(net.input_names(i), flat, a_equation)

    def input_gradient(self, i: int, net: Context) -> Rule:
        da, below = f"dA{i}", net.layer(i - 1)
        g = grad(net.symbols.a(i))
        return Rule(
            [da],
            lambda v, e: v[da].T.reshape(-1, *below.shape),
            lambda: grad(net.symbols.a(i - 1)).eq(
                Formula(f"reshape({g.text})", rf"\operatorname{{reshape}}\left({g.latex}\right)")
            ),
        )


# ---------------------------------------------------------------------------
# rnn, step t: Z_t = Wx·x_t + Wh·h_{t-1} + b, h_t = f(Z_t); back through time from T


class Rnn(LayerKind):
    """A vanilla recurrent layer (always the first layer); its quantities come one block
    per time step, forward from t = 1 and backward from t = T."""

    name = "rnn"
    weighted = True
    size_key = "units"

    def check_input(self, v: Validator, path: str, i: int, in_shape: tuple[int, ...]) -> None:
        super().check_input(v, path, i, in_shape)
        if i != 0:
            raise v.fail(f"{path}.type", "an rnn layer must be the first layer")

    def check(
        self, v: Validator, spec: Mapping[str, Any], path: str, i: int, in_shape: tuple[int, ...]
    ) -> Layer:
        spec = v.mapping(spec, path, self.words.keys, self.words.required)
        activation, elementwise = _activation(
            v, spec.get("activation", self.words.default_activation), path
        )
        if activation == "softmax":
            raise v.fail(f"{path}.activation", f"softmax is for dense layers, not {self.name}")
        bias = spec.get("bias", True)
        if not isinstance(bias, bool):
            raise v.fail(f"{path}.bias", f"expected true or false, got {describe(bias)}")
        units = _units(v, spec, path, i, in_shape, recurrent=True)
        output = v.choice(spec.get("output", "every"), f"{path}.output", RNN_OUTPUTS)
        h0 = spec.get("h0")
        state = (
            tuple(v.vector(h0, f"{path}.h0", units, count(units, "unit")))
            if h0 is not None
            else (0.0,) * units
        )
        return Layer(
            units,
            activation,
            elementwise,
            bias,
            self.name,
            (units,),
            in_shape,
            output=output,
            h0=state,
        )

    def parameters(self, i: int, layer: Layer) -> dict[str, tuple[int, ...]]:
        weights = {
            f"Wx{i}": (layer.units, math.prod(layer.in_shape)),
            f"Wh{i}": (layer.units, layer.units),
        }
        return weights | ({f"b{i}": (layer.units,)} if layer.bias else {})

    def settings(self, layer: Layer) -> dict[str, Any]:
        return {
            "units": layer.units,
            "activation": layer.activation,
            "bias": layer.bias,
            "output": layer.output,
            "h0": list(layer.h0),
        }

    def describe(self, layer: Layer) -> str:
        return f"rnn {layer.units} ({layer.activation}, output {layer.output})"

    def forward_names(self, i: int, layer: Layer, steps: int) -> list[str]:
        return [f"{q}{i}_t{t}" for t in range(1, steps + 1) for q in ("Z", "A")]

    def backward_names(self, i: int, layer: Layer, steps: int, closed_form: bool) -> list[str]:
        # backpropagation through time, last step first
        return [f"{q}{i}_t{t}" for t in range(steps, 0, -1) for q in ("dA", "fprime", "delta")]

    def rule(self, quantity: str, i: int, t: int, net: Context) -> Rule:
        act, layer, s, T = net.activation(i), net.layer(i), net.symbols, net.time_steps  # noqa: N806
        assert isinstance(act, Elementwise)
        wx, wh, b = f"Wx{i}", f"Wh{i}", f"b{i}"
        z, h_before = f"Z{i}_t{t}", f"A{i}_t{t - 1}"
        deltas = [f"delta{i}_t{step}" for step in range(1, T + 1)]
        match quantity:
            # Z_t = Wx·x_t + Wh·h_{t-1} + b, h_t = f(Z_t) ...
            case "Z_t":

                def z_t(v: Values, e: Evaluation | None) -> Any:
                    total = v[wx] @ v[f"A0_t{t}"] + v[wh] @ v[h_before]
                    return total + v[b][:, None] if layer.bias else total

                def z_equation() -> Formula:
                    rhs = (Formula(f"Wx{i}", f"W_{{x,{i}}}") @ s.a(0, t)) + (
                        Formula(f"Wh{i}", f"W_{{h,{i}}}") @ s.a(i, t - 1)
                    )
                    return _z_t(i, t).eq(rhs + sym("b", i) if layer.bias else rhs)

                return Rule([h_before] if t > 1 else [], z_t, z_equation)
            case "A_t":
                return Rule(
                    [z],
                    lambda v, e: act.forward(v[z], e),
                    lambda: s.a(i, t).eq(act.formula(_z_t(i, t))),
                )
            # ... and back through time: ∂L/∂h_t = (∂L/∂A at step t, from above)
            # + Whᵀ·δ_{t+1}, δ_t = ∂L/∂h_t ⊙ f'(Z_t); each parameter's gradient sums over t.
            case "dA_t":
                later = f"delta{i}_t{t + 1}"

                def da_t(v: Values, e: Evaluation | None) -> Any:
                    above = self._step_columns(v[f"dA{i}"], t, net)
                    return above + v[wh].T @ v[later] if t < T else above

                return Rule(
                    [f"dA{i}", *([later] if t < T else [])], da_t, lambda: self._da_t(i, t, net)
                )
            case "fprime_t":
                return Rule(
                    [z],
                    lambda v, e: act.derivative(v[z], e),
                    lambda: fprime_symbol(_z_t(i, t), i).eq(act.derivative_formula(_z_t(i, t))),
                )
            case "delta_t":
                da, fp = f"dA{i}_t{t}", f"fprime{i}_t{t}"
                return Rule(
                    [da, fp],
                    lambda v, e: v[da] * v[fp],
                    lambda: delta_symbol(i, t).eq(grad(s.a(i, t)) * fprime_symbol(_z_t(i, t), i)),
                )
            # Σ_t δ_t·x_tᵀ and Σ_t δ_t·h_{t−1}ᵀ, as one product of the steps side by side
            # ([δ_1 … δ_T]·[x_1 … x_T]ᵀ): one matmul instead of T outer products.
            case "dWx":
                return Rule(
                    deltas,
                    lambda v, e: _over_time(v, f"delta{i}_t", 0, T) @ _over_time(v, "A0_t", 0, T).T,
                    lambda: _summed(i, "dWx"),
                )
            case "dWh":
                return Rule(
                    deltas + [f"A{i}_t{step}" for step in range(1, T)],
                    lambda v, e: (
                        _over_time(v, f"delta{i}_t", 0, T) @ _over_time(v, f"A{i}_t", 1, T).T
                    ),
                    lambda: _summed(i, "dWh"),
                )
            case "db":
                return Rule(
                    deltas,
                    lambda v, e: sum(v[d].sum(axis=1) for d in deltas),
                    lambda: _summed(i, "db"),
                )
        raise KeyError(f"{quantity}{i}")

    @staticmethod
    def _step_columns(grad_above: Any, t: int, net: Context) -> Any:
        """The columns of ∂L/∂A (from the layer above) that belong to step t (0 if none)."""
        B = net.batch  # noqa: N806
        if net.per_step_output:
            return grad_above[:, (t - 1) * B : t * B]
        return grad_above if t == net.time_steps else np.zeros_like(grad_above)

    @staticmethod
    def _da_t(i: int, t: int, net: Context) -> Formula:
        from_above = Formula(
            f"∂L/∂A{i}[t={t}]",
            rf"\left.\frac{{\partial L}}{{\partial A_{{{i}}}}}\right|_{{t={t}}}",
        )
        if not net.per_step_output and t < net.time_steps:
            from_above = Formula("0", "0")
        if t < net.time_steps:
            from_above = from_above + (Formula(f"Wh{i}", f"W_{{h,{i}}}").T @ delta_symbol(i, t + 1))
        return grad(net.symbols.a(i, t)).eq(from_above)


def _z_t(layer: int, t: int) -> Formula:
    return Formula(f"Z{layer}_t{t}", rf"Z_{{{layer}}}^{{({t})}}")


def _over_time(v: Values, prefix: str, lag: int, steps: int) -> Any:
    """The steps' columns side by side: [q_{1−lag} … q_{T−lag}] of quantity ``prefix``."""
    return np.concatenate([v[f"{prefix}{s - lag}"] for s in range(1, steps + 1)], axis=1)


def _summed(i: int, gradient: str) -> Formula:
    """An rnn parameter's gradient, a sum over the time steps."""
    each = {
        "dWx": Formula(f"δ{i}_t·x_tᵀ", rf"\delta_{{{i}}}^{{(t)}} x_t^{{\top}}"),
        "dWh": Formula(f"δ{i}_t·h_(t−1)ᵀ", rf"\delta_{{{i}}}^{{(t)}} h_{{t-1}}^{{\top}}"),
        "db": Formula(f"δ{i}_t", rf"\delta_{{{i}}}^{{(t)}}"),
    }[gradient]
    total = Formula(f"Σ_t {each.text}", rf"\sum_t {each.latex}")
    return grad(param_symbol(f"{gradient[1:]}{i}")).eq(total)


#: Every layer kind, by the name a problem file's ``type`` gives it.
KINDS: dict[str, LayerKind] = {
    kind.name: kind for kind in (Dense(), Conv2d(), MaxPool2d(), AvgPool2d(), Flatten(), Rnn())
}

"""Optimizers: how a gradient becomes an update, with the state each one carries.

Every optimizer updates each parameter θ from its gradient g = ∂L/∂θ; the
state it keeps between steps is shown as named quantities (``velocity_W1``,
``m_W1`` ...), computed from the previous state (zeros before the first step,
or the ``optimizer.state`` of the problem file).  Conventions:

* sgd:       θ' = θ − α·g
* momentum:  v' = μ·v − α·g;  θ' = θ + v'              (Goodfellow et al., Alg. 8.2)
* nesterov:  v' = μ·v − α·g;  θ' = θ + μ·v' − α·g      (Sutskever et al.; as PyTorch, Keras)
* rmsprop:   s' = ρ·s + (1 − ρ)·g²;  θ' = θ − α·g / (√s' + ε)
* adam:      m' = β1·m + (1 − β1)·g;  v' = β2·v + (1 − β2)·g²;
             m̂ = m' / (1 − β1ᵗ);  v̂ = v' / (1 − β2ᵗ);  θ' = θ − α·m̂ / (√v̂ + ε)

An optimizer is two entries: its words in :data:`nncalc.vocabulary.OPTIMIZERS`
(settings and their defaults, the states it shows and carries), which the loader,
the schema and the CLI read, and its :class:`UpdateRule` here, registered under
the same name with ``@rule(name)``: the numbers (``compute``) and the equation
shown (``equation``) of each quantity, side by side.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from nncalc.formula import Formula, grad, param_symbol
from nncalc.vocabulary import OPTIMIZERS, OptimizerWords

#: θ' itself, the last quantity of every update (after the optimizer's states).
NEW = "new"


def prev(name: str) -> str:
    """The key under which the value of a state quantity before this step is given."""
    return f"{name}@prev"


@dataclass(frozen=True)
class Optimizer:
    """An optimizer, its hyper-parameters, and the carried state before this update."""

    name: str = "sgd"
    hyper: dict[str, float] = field(default_factory=dict)
    step: int = 1  # t of this update, counted from 1 (adam's bias correction)
    state: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. velocity_W1; else zeros

    @property
    def words(self) -> OptimizerWords:
        return OPTIMIZERS[self.name]

    @property
    def update_rule(self) -> UpdateRule:
        return RULES[self.name]

    def __getitem__(self, key: str) -> float:
        return self.hyper.get(key, self.words.defaults.get(key, 0.0))

    def quantities(self, param: str) -> list[str]:
        """The state quantities of ``param`` this optimizer shows, in order."""
        return [f"{quantity}_{param}" for quantity in self.words.states]

    def carried(self, param: str) -> list[str]:
        return [f"{quantity}_{param}" for quantity in self.words.carried_states]

    def describe(self) -> str:
        """The name with every setting, e.g. 'momentum (momentum = 0.9)'; sgd is just 'sgd'."""
        settings = [f"{key} = {self[key]:g}" for key in self.words.settings]
        if self.update_rule.counts_steps:
            settings.append(f"t = {self.step}")
        return f"{self.name} ({', '.join(settings)})" if settings else self.name

    def compute(self, quantity: str, param: str, v: dict[str, Any], rate: float) -> Any:
        """The value of ``quantity`` (a state, or NEW for θ') of ``param`` from ``v``."""
        numbers = Numbers(
            theta=v[param],
            g=v[f"d{param}"],
            state={k: v.get(f"{k}_{param}") for k in self.words.states},
            before={k: v[prev(f"{k}_{param}")] for k in self.words.carried_states},
            rate=rate,
            t=v.get("t", self.step),
        )
        return self.update_rule.compute(quantity, self, numbers)

    def equation(self, quantity: str, param: str, rate: float) -> Formula:
        """The equation of ``quantity`` (a state, or NEW for θ') of ``param``."""
        symbols = Symbols(param, rate, self.step, self.words.symbols)
        if quantity == NEW:
            written = Formula(f"{param}'", f"{symbols.theta.latex}'")
        elif quantity in self.words.states:
            written = symbols.state(quantity)
        else:
            raise KeyError(quantity)
        return written.eq(self.update_rule.equation(quantity, self, symbols))


@dataclass(frozen=True)
class Numbers:
    """What an update rule computes one quantity of a parameter θ from."""

    theta: Any  # θ before the update
    g: Any  # ∂L/∂θ
    state: dict[str, Any]  # this step's states, those computed so far (the rest None)
    before: dict[str, Any]  # the carried states before this step
    rate: float  # α
    t: int  # the number of this update, from 1


@dataclass(frozen=True)
class Symbols:
    """The same as written in an equation (numbers as ``:g`` shows them)."""

    param: str
    rate: float
    t: int
    letters: dict[str, str] = field(default_factory=dict)  # of states not written by name

    @property
    def theta(self) -> Formula:
        return param_symbol(self.param)

    @property
    def g(self) -> Formula:
        return grad(self.theta)

    @property
    def descent(self) -> Formula:
        """α·g, the step of plain gradient descent."""
        return _times(self.rate, self.g)

    def state(self, quantity: str) -> Formula:
        """A state of θ this step: velocity_W1 is v_{W_1}, m_hat_W1 is \\hat{m}_{W_1}."""
        moment = quantity.removesuffix("_hat")
        symbol = self.letters.get(moment, moment)
        if moment != quantity:
            symbol = rf"\hat{{{symbol}}}"
        return Formula(f"{quantity}_{self.param}", f"{symbol}_{{{self.theta.latex}}}")

    def before(self, quantity: str) -> Formula:
        """A carried state of θ before this step."""
        return Formula(f"{quantity}_{self.param}(prev)", f"{self.state(quantity).latex}^{{(t-1)}}")


class UpdateRule(ABC):
    """One optimizer's math: each quantity of a parameter's update, computed and written.

    ``quantity`` is one of the optimizer's states (``vocabulary.OPTIMIZERS[name].states``,
    computed in that order) or NEW, θ' itself; ``o[setting]`` is a setting's value.
    """

    counts_steps: ClassVar[bool] = False  # whether the rule reads t (then describe shows it)

    @abstractmethod
    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        """The value of ``quantity``."""

    @abstractmethod
    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        """The right-hand side of the equation of ``quantity``."""


#: The update rule of each optimizer, by name (the names of vocabulary.OPTIMIZERS).
RULES: dict[str, UpdateRule] = {}

_Rule = TypeVar("_Rule", bound=type[UpdateRule])


def rule(name: str) -> Callable[[_Rule], _Rule]:
    """Register the decorated :class:`UpdateRule` as the update of optimizer ``name``."""

    def register(cls: _Rule) -> _Rule:
        RULES[name] = cls()
        return cls

    return register


@rule("sgd")
class Sgd(UpdateRule):
    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        return n.theta - n.rate * n.g  # θ' = θ − α·g

    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        return s.theta - s.descent


@rule("momentum")
class Momentum(UpdateRule):
    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        if quantity == "velocity":
            return o["momentum"] * n.before["velocity"] - n.rate * n.g  # v' = μ·v − α·g
        return n.theta + n.state["velocity"]  # θ' = θ + v'

    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        if quantity == "velocity":
            return _times(o["momentum"], s.before("velocity")) - s.descent
        return s.theta + s.state("velocity")


@rule("nesterov")
class Nesterov(Momentum):
    """Momentum's velocity, then a step that looks ahead along it."""

    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        if quantity == "velocity":
            return super().compute(quantity, o, n)
        return n.theta + o["momentum"] * n.state["velocity"] - n.rate * n.g  # θ + μ·v' − α·g

    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        if quantity == "velocity":
            return super().equation(quantity, o, s)
        return s.theta + _times(o["momentum"], s.state("velocity")) - s.descent


@rule("rmsprop")
class Rmsprop(UpdateRule):
    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        if quantity == "sq":
            return _running_mean(o["rho"], n.before["sq"], n.g**2)  # s' = ρ·s + (1 − ρ)·g²
        return _scaled_step(n, n.g, n.state["sq"], o["epsilon"])  # θ' = θ − α·g / (√s' + ε)

    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        if quantity == "sq":
            return _running_mean_of(o["rho"], s.before("sq"), _squared(s.g))
        return _scaled_step_of(s, s.g, s.state("sq"), o["epsilon"])


@rule("adam")
class Adam(UpdateRule):
    counts_steps = True
    decay: ClassVar[dict[str, str]] = {"m_hat": "beta1", "v_hat": "beta2"}

    def compute(self, quantity: str, o: Optimizer, n: Numbers) -> Any:
        match quantity:
            case "m":  # m' = β1·m + (1 − β1)·g
                return _running_mean(o["beta1"], n.before["m"], n.g)
            case "v":  # v' = β2·v + (1 − β2)·g²
                return _running_mean(o["beta2"], n.before["v"], n.g**2)
            case "m_hat" | "v_hat":  # m̂ = m' / (1 − β1ᵗ): the means started at zero
                return n.state[quantity[0]] / (1 - o[self.decay[quantity]] ** n.t)
        return _scaled_step(n, n.state["m_hat"], n.state["v_hat"], o["epsilon"])

    def equation(self, quantity: str, o: Optimizer, s: Symbols) -> Formula:
        match quantity:
            case "m":
                return _running_mean_of(o["beta1"], s.before("m"), s.g.paren())
            case "v":
                return _running_mean_of(o["beta2"], s.before("v"), _squared(s.g))
            case "m_hat" | "v_hat":
                beta, mean = o[self.decay[quantity]], s.state(quantity[0])
                return Formula(
                    f"{mean.text} / (1 − {beta:g}^{s.t})",
                    rf"\frac{{{mean.latex}}}{{1 - {beta:g}^{{{s.t}}}}}",
                )
        return _scaled_step_of(s, s.state("m_hat"), s.state("v_hat"), o["epsilon"])


# -- the pieces several rules share, each as numbers and as an equation ------------------


def _running_mean(decay: float, before: Any, value: Any) -> Any:
    """decay·before + (1 − decay)·value: an exponential moving average."""
    return decay * before + (1 - decay) * value


def _running_mean_of(decay: float, before: Formula, value: Formula) -> Formula:
    return _times(decay, before) + _times(1 - decay, value)


def _scaled_step(n: Numbers, step: Any, square: Any, epsilon: float) -> Any:
    """θ − α·step / (√square + ε): a step scaled down where gradients have been large."""
    return n.theta - n.rate * step / (np.sqrt(square) + epsilon)


def _scaled_step_of(s: Symbols, step: Formula, square: Formula, epsilon: float) -> Formula:
    a, eps = f"{s.rate:g}", f"{epsilon:g}"
    return Formula(
        f"{s.theta.text} − {a}·{step.text} / (√{square.text} + {eps})",
        rf"{s.theta.latex} - {a}\,\frac{{{step.latex}}}{{\sqrt{{{square.latex}}} + {eps}}}",
    )


def _times(factor: float, formula: Formula) -> Formula:
    """A number times a formula, e.g. 0.9·v_W1(prev)."""
    return Formula(f"{factor:g}·{formula.text}", rf"{factor:g}\,{formula.latex}")


def _squared(formula: Formula) -> Formula:
    bracketed = formula.paren()
    return Formula(f"{bracketed.text}²", f"{bracketed.latex}^2")

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncalc.formula import Formula, grad, param_symbol

NAMES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
#: Hyper-parameters and their defaults (PyTorch's, except rmsprop's ρ = 0.9 as in Hinton's notes).
HYPER: dict[str, dict[str, float]] = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
#: The state quantities of one parameter, in the order they are computed.
STATES: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("velocity",),
    "nesterov": ("velocity",),
    "rmsprop": ("sq",),
    "adam": ("m", "v", "m_hat", "v_hat"),
}
#: The state carried from one step to the next (the rest is recomputed each step).
CARRIED: dict[str, tuple[str, ...]] = {**STATES, "adam": ("m", "v")}


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

    def __getitem__(self, key: str) -> float:
        return self.hyper.get(key, HYPER[self.name].get(key, 0.0))

    def quantities(self, param: str) -> list[str]:
        """The state quantities of ``param`` this optimizer shows, in order."""
        return [f"{kind}_{param}" for kind in STATES[self.name]]

    def carried(self, param: str) -> list[str]:
        return [f"{kind}_{param}" for kind in CARRIED[self.name]]

    def describe(self) -> str:
        if self.name == "sgd":
            return "sgd"
        settings = ", ".join(f"{k} = {self[k]:g}" for k in HYPER[self.name])
        step = f", t = {self.step}" if self.name == "adam" else ""
        return f"{self.name} ({settings}{step})"

    # -- the math: each state from its previous value and g = ∂L/∂θ ------------------

    def compute(self, kind: str, param: str, v: dict[str, Any], rate: float) -> Any:
        g, theta = v[f"d{param}"], v[param]
        state: dict[str, Any] = {k: v.get(f"{k}_{param}") for k in STATES[self.name]}
        before = {k: v[prev(f"{k}_{param}")] for k in CARRIED[self.name]}
        t = v.get("t", self.step)
        match self.name, kind:
            case "momentum" | "nesterov", "velocity":
                return self["momentum"] * before["velocity"] - rate * g  # v' = μ·v − α·g
            case "momentum", "new":
                return theta + state["velocity"]  # θ' = θ + v'
            case "nesterov", "new":
                return theta + self["momentum"] * state["velocity"] - rate * g
            case "rmsprop", "sq":
                return self["rho"] * before["sq"] + (1 - self["rho"]) * g**2
            case "rmsprop", "new":
                return theta - rate * g / (np.sqrt(state["sq"]) + self["epsilon"])
            case "adam", "m":
                return self["beta1"] * before["m"] + (1 - self["beta1"]) * g
            case "adam", "v":
                return self["beta2"] * before["v"] + (1 - self["beta2"]) * g**2
            case "adam", "m_hat":  # bias corrections: the averages started at zero
                return state["m"] / (1 - self["beta1"] ** t)
            case "adam", "v_hat":
                return state["v"] / (1 - self["beta2"] ** t)
            case "adam", "new":
                return theta - rate * state["m_hat"] / (np.sqrt(state["v_hat"]) + self["epsilon"])
        return theta - rate * g  # sgd: θ' = θ − α·g

    def equation(self, kind: str, param: str, rate: float) -> Formula:
        theta = param_symbol(param)
        g = grad(theta)
        a = f"{rate:g}"
        new = Formula(f"{param}'", f"{theta.latex}'")

        def state(k: str) -> Formula:
            tex = {"velocity": "v", "sq": "s", "m": "m", "v": "v"}
            tex.update({"m_hat": r"\hat{m}", "v_hat": r"\hat{v}"})
            return Formula(f"{k}_{param}", f"{tex[k]}_{{{theta.latex}}}")

        def before(k: str) -> Formula:
            return Formula(f"{k}_{param}(prev)", f"{state(k).latex}^{{(t-1)}}")

        h = {k: f"{self[k]:g}" for k in HYPER[self.name]}
        t = self.step
        match self.name, kind:
            case "momentum" | "nesterov", "velocity":
                rhs = Formula(
                    f"{h['momentum']}·{before('velocity').text} − {a}·{g.text}",
                    rf"{h['momentum']}\,{before('velocity').latex} - {a}\,{g.latex}",
                )
            case "momentum", "new":
                rhs = theta + state("velocity")
            case "nesterov", "new":
                rhs = Formula(
                    f"{param} + {h['momentum']}·{state('velocity').text} − {a}·{g.text}",
                    rf"{theta.latex} + {h['momentum']}\,{state('velocity').latex}"
                    rf" - {a}\,{g.latex}",
                )
            case "rmsprop", "sq":
                rho = self["rho"]
                rhs = Formula(
                    f"{h['rho']}·{before('sq').text} + {1 - rho:g}·({g.text})²",
                    rf"{h['rho']}\,{before('sq').latex} + {1 - rho:g}\,\left({g.latex}\right)^2",
                )
            case "rmsprop", "new":
                rhs = _scaled_step(theta, a, g, state("sq"), h["epsilon"])
            case "adam", "m" | "v":
                beta = self["beta1" if kind == "m" else "beta2"]
                power = "" if kind == "m" else "²"
                tex_power = "" if kind == "m" else "^2"
                rhs = Formula(
                    f"{beta:g}·{before(kind).text} + {1 - beta:g}·({g.text}){power}",
                    rf"{beta:g}\,{before(kind).latex} + {1 - beta:g}\,\left({g.latex}\right)"
                    + tex_power,
                )
            case "adam", "m_hat" | "v_hat":
                beta = self["beta1" if kind == "m_hat" else "beta2"]
                base = state(kind[0])
                rhs = Formula(
                    f"{base.text} / (1 − {beta:g}^{t})",
                    rf"\frac{{{base.latex}}}{{1 - {beta:g}^{{{t}}}}}",
                )
            case "adam", "new":
                rhs = Formula(
                    f"{param} − {a}·m_hat_{param} / (√v_hat_{param} + {h['epsilon']})",
                    rf"{theta.latex} - {a}\,\frac{{{state('m_hat').latex}}}"
                    rf"{{\sqrt{{{state('v_hat').latex}}} + {h['epsilon']}}}",
                )
            case _, "new":
                rhs = theta - Formula(f"{a}·{g.text}", rf"{a}\,{g.latex}")
            case _:
                raise KeyError(kind)
        return (new if kind == "new" else state(kind)).eq(rhs)


def _scaled_step(theta: Formula, a: str, g: Formula, s: Formula, eps: str) -> Formula:
    return Formula(
        f"{theta.text} − {a}·{g.text} / (√{s.text} + {eps})",
        rf"{theta.latex} - {a}\,\frac{{{g.latex}}}{{\sqrt{{{s.latex}}} + {eps}}}",
    )

"""Central finite differences: an independent check of the analytic gradients.

∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h for every parameter entry θ.  The error of
an entry is |analytic − numeric| / max(|analytic|, |numeric|, 10⁻³): relative
for gradients of ordinary size, absolute against 10⁻³ for tiny ones (where
relative error only measures round-off).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from nncalc.engine import solve
from nncalc.problem import Problem

#: The threshold for ``nncalc solve --gradcheck``.
TOLERANCE = 1e-6
#: Above this many parameter entries, a fixed sample per parameter is checked.
MAX_ENTRIES = 5000
SAMPLE_PER_PARAMETER = 20


@dataclass(frozen=True)
class GradCheck:
    """The worst disagreement between backpropagation and finite differences."""

    max_error: float
    worst: str  # e.g. "dW1[1, 2]"
    checked: int
    errors: dict[str, float]  # per gradient name, its largest error

    @property
    def ok(self) -> bool:
        return self.max_error <= TOLERANCE


def loss_at(problem: Problem, parameters: dict[str, np.ndarray]) -> float:
    return float(solve(dataclasses.replace(problem, parameters=parameters)).values["loss"])


def gradcheck(problem: Problem, h: float = 1e-5) -> GradCheck:
    """Compare every gradient dW{l}, db{l} with central differences of the loss."""
    analytic = solve(problem).values
    total = sum(v.size for v in problem.parameters.values())
    rng = np.random.default_rng(0)
    worst, worst_at, checked = 0.0, "", 0
    errors: dict[str, float] = {}
    for name, value in problem.parameters.items():
        flat_indices = np.arange(value.size)
        if total > MAX_ENTRIES and value.size > SAMPLE_PER_PARAMETER:
            flat_indices = rng.choice(value.size, SAMPLE_PER_PARAMETER, replace=False)
        gradient = np.asarray(analytic[f"d{name}"]).reshape(value.shape)
        errors[f"d{name}"] = 0.0
        for flat in flat_indices:
            index = tuple(int(i) for i in np.unravel_index(int(flat), value.shape))
            numeric = (_shifted(problem, name, index, h) - _shifted(problem, name, index, -h)) / (
                2 * h
            )
            exact = float(gradient[index])
            error = abs(exact - numeric) / max(abs(exact), abs(numeric), 1e-3)
            errors[f"d{name}"] = max(errors[f"d{name}"], error)
            checked += 1
            if error >= worst:
                worst, worst_at = error, f"d{name}[{', '.join(map(str, index))}]"
    return GradCheck(worst, worst_at, checked, errors)


def _shifted(problem: Problem, name: str, index: tuple[int, ...], h: float) -> float:
    parameters = dict(problem.parameters)
    parameters[name] = parameters[name].copy()
    parameters[name][index] += h
    return loss_at(problem, parameters)

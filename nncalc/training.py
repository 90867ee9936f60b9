"""Training runs: N updates in a row, the loss along the way, the last step in full.

Each update is the step :func:`nncalc.engine.solve` shows; between updates the new
parameters and the optimizer's carried state (velocity, m, v, ...) become the
next step's givens, and adam's t counts up.  Frozen parameters never change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncalc.display import NotebookDisplay
from nncalc.engine import Network, Solution, all_finite, solve, traced
from nncalc.errors import NncalcError, NumericError
from nncalc.optimizers import prev
from nncalc.problem import Problem

#: The most updates one run may take (a run of 10,000 small updates takes about a second).
MAX_STEPS = 1_000_000


@dataclass
class Run(NotebookDisplay):
    """A training run: the loss before each update and after the last; the last step."""

    history: list[float | None]  # None: the loss after the last update is not finite
    solution: Solution  # the last update, every quantity (forward, backward, update)
    final: Problem  # the problem with the parameters and state after the last update

    @property
    def steps(self) -> int:
        return len(self.history) - 1


def train(problem: Problem, steps: int) -> Run:
    """Apply ``steps`` updates; the solution describes the last one."""
    if not 1 <= steps <= MAX_STEPS:
        raise NncalcError(
            f"expected a number of steps from 1 to {MAX_STEPS:,}, got {steps}", argument="steps"
        )
    network = Network(problem)
    updates = ["loss", *(name for phase, name in network.plan() if phase == "update")]
    values = network.given()
    history: list[float | None] = []
    with np.errstate(all="ignore"):  # a run that diverges is reported by _diverged
        for step in range(1, steps):  # every update but the last: the values alone
            given = values
            values = dict(given)
            try:
                network.run(values)
                finite = all(all_finite(values[name]) for name in updates)
            except NumericError:  # e.g. log 0 in the loss
                finite = False
            if not finite:
                raise _diverged(_with_values(problem, network, given), step, steps)
            history.append(float(values["loss"]))
            values = _advance(network, values)
    last = _with_values(problem, network, values)
    try:
        solution, values = traced(last)  # the last update in full, every quantity shown
    except NumericError:
        raise _diverged(last, steps, steps) from None
    history.append(float(values["loss"]))
    values = _advance(network, values)
    with np.errstate(all="ignore"):
        history.append(_loss_after(network, values))
    return Run(history, solution, _with_values(problem, network, values))


def _loss_after(network: Network, values: dict[str, Any]) -> float | None:
    """The loss after the last update (a forward pass), or None where it is not finite:
    the updates themselves all were, so the run stands and this is only reported."""
    try:
        network.run(values, phases=["forward"])
    except NumericError:
        return None
    loss = float(values["loss"])
    return loss if np.isfinite(loss) else None


def _advance(network: Network, values: dict[str, Any]) -> dict[str, Any]:
    """The givens of the next step: θ ← θ', carried state ← its new value, t ← t + 1."""
    problem = network.problem
    given = {"A0": values["A0"], "y": values["y"], "t": values["t"] + 1}
    given.update({k: v for k, v in values.items() if k.startswith("A0_t") or k == "A1_t0"})
    for param in problem.parameter_names():
        given[param] = values[f"{param}_new"]
        for state in network.optimizer.carried(param):
            given[prev(state)] = values.get(state, values[prev(state)])
    return given


def _with_values(problem: Problem, network: Network, values: dict[str, Any]) -> Problem:
    parameters = {name: values[name] for name in problem.parameter_names()}
    state = {
        state: values[prev(state)]
        for param in problem.parameter_names()
        if param not in problem.frozen
        for state in network.optimizer.carried(param)
    }
    optimizer = dataclasses.replace(problem.optimizer, step=int(values["t"]), state=state)
    return dataclasses.replace(problem, parameters=parameters, optimizer=optimizer)


def _diverged(problem: Problem, step: int, steps: int) -> NncalcError:
    """The error of a run whose loss stopped being finite at ``step``: the first quantity
    that overflowed, as ``solve`` reports it, and the update it happened in."""
    where = f" (in update {step} of {steps})" if steps > 1 else ""
    try:
        solve(problem)
    except NumericError as exc:
        exc.message += where
        return exc
    return NumericError(
        f"the loss is not finite after update {step}: training diverged; "
        "lower the learning rate or check the magnitudes of the inputs",
        source=problem.source,
        path="loss",
    )

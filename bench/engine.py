"""Engine benchmark: `nncalc.solve` versus a hand-written NumPy reference of the same math.

The problem: a 784-256-10 network (hidden relu, softmax output, cross-entropy, mean over the
batch), a batch of 1024 random samples with one-hot targets, weights from
``init: {seed: 7, scale: 0.05}``; one forward pass, backward pass and gradient step.

It is built once through the library (``nncalc.problem_from_dict``; not timed).  Then:

1. both sides are run once and every shared quantity (Z, A, loss, deltas, f', gradients,
   updated parameters) is compared with ``np.allclose``, so the timing compares equal work;
2. ``nncalc.solve(problem)`` and the reference are timed alternately (the order flips every
   round), and the medians and their ratio are printed (target: ratio ≤ 1.25);
3. if the ratio is above the target (or with ``--profile``), it shows where nncalc's time
   goes: cProfile of ``solve`` and a side-by-side timing of its pieces.

It only reports: the exit status is 0 whatever the ratio (1 only if the two sides disagree,
which makes the timing meaningless).

    python bench/engine.py                 # 20 interleaved repetitions after 2 warm-ups
    python bench/engine.py --reps 40 --profile
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import (
    Piece,
    check_agreement,
    environment_lines,
    noise_warning,
    print_pieces,
    profile,
    time_against_reference,
    verdict,
)

import nncalc

TARGET_RATIO = 1.25
INPUTS, HIDDEN, OUTPUTS = 784, 256, 10
LEARNING_RATE = 0.1

Arrays = dict[str, Any]


def make_problem(batch: int, data_seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """The nncalc Problem plus X (inputs × batch) and Y (outputs × batch) as the reference uses."""
    rng = np.random.default_rng(data_seed)
    samples = rng.standard_normal((batch, INPUTS))
    labels = rng.integers(0, OUTPUTS, batch)
    one_hot = np.zeros((batch, OUTPUTS))
    one_hot[np.arange(batch), labels] = 1.0
    problem = nncalc.problem_from_dict(
        {
            "name": "bench: 784-256-10, relu + softmax, cross-entropy",
            "network": {
                "input": INPUTS,
                "layers": [
                    {"units": HIDDEN, "activation": "relu"},
                    {"units": OUTPUTS, "activation": "softmax"},
                ],
            },
            "loss": "cross_entropy",
            "reduction": "mean",
            "learning_rate": LEARNING_RATE,
            "init": {"seed": 7, "scale": 0.05},
            "x": samples.tolist(),  # a list of samples, as a problem file has it
            "y": one_hot.tolist(),
        }
    )
    x, y = samples.T.copy(), one_hot.T.copy()  # samples are columns
    if not (np.array_equal(problem.x, x) and np.array_equal(problem.y, y)):
        sys.exit("error: the problem's x or y differs from the data given")
    return problem, x, y


def reference(params: Arrays, x: np.ndarray, y: np.ndarray, rate: float) -> Arrays:
    """Forward, backward and update written out directly in NumPy (samples are columns)."""
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    batch = x.shape[1]
    z1 = w1 @ x + b1[:, None]
    a1 = np.maximum(z1, 0.0)  # relu
    z2 = w2 @ a1 + b2[:, None]
    shifted = z2 - z2.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=0, keepdims=True)
    a2 = e / total  # softmax
    log_a2 = shifted - np.log(total)  # log-softmax
    loss = float(-(y * log_a2).sum() / batch)  # mean cross-entropy
    delta2 = (a2 - y) / batch
    dw2 = delta2 @ a1.T
    db2 = delta2.sum(axis=1)
    da1 = w2.T @ delta2
    fprime1 = z1 > 0
    delta1 = da1 * fprime1
    dw1 = delta1 @ x.T
    db1 = delta1.sum(axis=1)
    return {
        "Z1": z1,
        "A1": a1,
        "Z2": z2,
        "A2": a2,
        "loss": loss,
        "delta2": delta2,
        "dW2": dw2,
        "db2": db2,
        "dA1": da1,
        "fprime1": fprime1,
        "delta1": delta1,
        "dW1": dw1,
        "db1": db1,
        "W1_new": w1 - rate * dw1,
        "b1_new": b1 - rate * db1,
        "W2_new": w2 - rate * dw2,
        "b2_new": b2 - rate * db2,
    }


# ---------------------------------------------------------------------------------------------
# Where nncalc's time goes


def pieces(problem: Any, x: np.ndarray, reps: int) -> None:
    """Median time of each piece that differs between nncalc and the reference."""
    from nncalc.engine import Elementwise

    act = Elementwise(problem.layers[0])
    w1, b1 = problem.parameters["W1"], problem.parameters["b1"]
    z1 = w1 @ x + b1[:, None]
    solution = nncalc.solve(problem)
    values = [s.value for s in solution.steps if isinstance(s.value, np.ndarray)]
    y = problem.y
    delta1 = solution.values["delta1"]

    cases: list[Piece] = [
        (
            "relu f(Z1): expression tree | np.maximum(Z1, 0)",
            lambda: act.forward(z1),
            lambda: np.maximum(z1, 0.0),
        ),
        (
            "relu f'(Z1): expression tree (np.heaviside) | Z1 > 0",
            lambda: act.derivative(z1),
            lambda: z1 > 0,
        ),
        (
            f"isfinite check of the {len(values)} recorded arrays | none",
            lambda: [np.all(np.isfinite(v)) for v in values],
            None,
        ),
        (
            "one-hot test np.allclose(y.sum(0), 1) | none",
            lambda: np.allclose(y.sum(axis=0), 1.0),
            None,
        ),
        ("for scale, on both sides: W1 @ X", lambda: w1 @ x, None),
        ("for scale, on both sides: delta1 @ X.T", lambda: delta1 @ x.T, None),
    ]
    print_pieces(cases, reps)


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions per side (20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per side first (2)")
    parser.add_argument("--batch", type=int, default=1024, help="samples in the batch (1024)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the random x and y")
    parser.add_argument(
        "--profile", action="store_true", help="show where the time goes even within target"
    )
    args = parser.parse_args(argv)

    print(
        f"engine benchmark: {INPUTS}-{HIDDEN}-{OUTPUTS}, relu + softmax, cross_entropy (mean), "
        f"batch {args.batch}, init seed 7 scale 0.05"
    )
    for line in environment_lines():
        print("  " + line)
    start = time.perf_counter()
    problem, x, y = make_problem(args.batch, args.data_seed)
    print(
        f"  problem built via nncalc.problem_from_dict in {time.perf_counter() - start:.1f} s "
        "(not timed)\n"
    )
    check_agreement(
        nncalc.solve(problem).values, reference(problem.parameters, x, y, problem.learning_rate)
    )

    params = {k: v.copy() for k, v in problem.parameters.items()}
    rate = problem.learning_rate
    target, base = time_against_reference(
        lambda: nncalc.solve(problem),
        lambda: reference(params, x, y, rate),
        args.reps,
        args.warmup,
    )
    ratio = target.median / base.median
    print(
        f"ratio of medians {verdict(ratio, TARGET_RATIO)}; "
        f"ratio of minimums {target.low / base.low:.2f}"
    )

    if warning := noise_warning([base, target]):
        print(warning)

    if ratio > TARGET_RATIO or args.profile:
        profile(lambda: nncalc.solve(problem), "nncalc.solve")
        pieces(problem, x, max(args.reps, 20))
    return 0


if __name__ == "__main__":
    sys.exit(main())

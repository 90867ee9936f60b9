"""Convolution benchmark: `nncalc.solve` versus a hand-written NumPy reference of the same math.

The problem: 32×32 RGB images through conv2d 3→8 (3×3, padding 1, relu), conv2d 8→16 (3×3,
padding 1, relu), maxpool2d 2×2, flatten and a dense softmax layer of 10 units, cross-entropy,
mean over a batch of 64 random images with one-hot targets, weights from
``init: {seed: 1, scale: 0.1}``; one forward pass, backward pass and gradient step.

It is built once through the library (``nncalc.problem_from_dict``; not timed).  Then:

1. both sides are run once and every quantity (Z, A, loss, ∂L/∂A, f', deltas, gradients,
   updated parameters) is compared with ``np.allclose``, so the timing compares equal work;
2. ``nncalc.solve(problem)`` and the reference are timed alternately (the order flips every
   round), and the medians and their ratio are printed (target: ratio ≤ 1.25);
3. the same is done, for the record and without a target, with a batch of one image, where
   the fixed cost of a call dominates;
4. if the ratio is above the target (or with ``--profile``), it shows where nncalc's time
   goes: cProfile of ``solve`` and a side-by-side timing of its pieces.

The reference is written independently of ``nncalc.layers``: im2col through
``sliding_window_view`` (one copy per layer) and one matmul per convolution, every feature map
held as (channels, batch, height, width) so that the matmuls need no further copies, and
views in nncalc's (batch, channels, height, width) layout returned for the comparison.

It only reports: the exit status is 0 whatever the ratio (1 only if the two sides disagree,
which makes the timing meaningless).

    python bench/conv.py                   # 20 interleaved repetitions after 2 warm-ups
    python bench/conv.py --reps 40 --profile
"""

from __future__ import annotations

import argparse
import math
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
from numpy.lib.stride_tricks import sliding_window_view

import nncalc
from nncalc.problem import Limits

TARGET_RATIO = 1.25
INPUT_SHAPE = (3, 32, 32)
CHANNELS = (8, 16)
KERNEL, PADDING, POOL = 3, 1, 2
OUTPUTS = 10
LEARNING_RATE = 0.01

Arrays = dict[str, Any]


def make_problem(batch: int, data_seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """The nncalc Problem plus X (batch, C, H, W) and Y (outputs × batch) as the reference uses."""
    rng = np.random.default_rng(data_seed)
    images = rng.standard_normal((batch, *INPUT_SHAPE))
    labels = rng.integers(0, OUTPUTS, batch)
    one_hot = np.zeros((batch, OUTPUTS))
    one_hot[np.arange(batch), labels] = 1.0
    conv = {"type": "conv2d", "kernel": KERNEL, "padding": PADDING, "activation": "relu"}
    problem = nncalc.problem_from_dict(
        {
            "name": "bench: conv 3→8→16, maxpool, dense 10 softmax, cross-entropy",
            "network": {
                "input": list(INPUT_SHAPE),
                "layers": [
                    {**conv, "channels": CHANNELS[0]},
                    {**conv, "channels": CHANNELS[1]},
                    {"type": "maxpool2d", "kernel": POOL},
                    {"type": "flatten"},
                    {"units": OUTPUTS, "activation": "softmax"},
                ],
            },
            "loss": "cross_entropy",
            "reduction": "mean",
            "learning_rate": LEARNING_RATE,
            "init": {"seed": 1, "scale": 0.1},
            "x": images.tolist(),  # a list of C×H×W images, as a problem file has it
            "y": one_hot.tolist(),
        },
        limits=Limits(max_entries=max(Limits().max_entries, images.size)),
    )
    y = one_hot.T.copy()  # samples are columns
    if not (np.array_equal(problem.x, images) and np.array_equal(problem.y, y)):
        sys.exit("error: the problem's x or y differs from the data given")
    return problem, images, y


# ---------------------------------------------------------------------------------------------
# The reference: feature maps as (channels, batch, height, width)


def im2col(a: np.ndarray, k: int, p: int) -> np.ndarray:
    """(C, B, H, W) → (C·k·k, B·oh·ow): every k×k window of the padded maps as a column."""
    c = a.shape[0]
    padded = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))
    win = sliding_window_view(padded, (k, k), axis=(2, 3))  # (C, B, oh, ow, k, k), a view
    return win.transpose(0, 4, 5, 1, 2, 3).reshape(c * k * k, -1)  # the one copy


def col2im(cols: np.ndarray, shape: tuple[int, ...], k: int, p: int) -> np.ndarray:
    """The adjoint of im2col: add each column entry back onto the input it was read from."""
    c, b, h, w = shape
    oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
    cols = cols.reshape(c, k, k, b, oh, ow)
    out = np.zeros((c, b, h + 2 * p, w + 2 * p))
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + oh, j : j + ow] += cols[:, i, j]
    return out[:, :, p : p + h, p : p + w]


def conv(a: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z = W ⋆ A + b (cross-correlation, stride 1) on (C, B, H, W) maps; also the columns."""
    cols = im2col(a, KERNEL, PADDING)
    _, batch, h, wd = a.shape
    oh, ow = h + 2 * PADDING - KERNEL + 1, wd + 2 * PADDING - KERNEL + 1
    z = (w.reshape(w.shape[0], -1) @ cols).reshape(w.shape[0], batch, oh, ow)
    return z + b[:, None, None, None], cols


def bchw(a: np.ndarray) -> np.ndarray:
    """A (C, B, H, W) map in nncalc's (B, C, H, W) layout: a view, no copy."""
    return a.transpose(1, 0, 2, 3)


def reference(params: Arrays, x: np.ndarray, y: np.ndarray, rate: float) -> Arrays:
    """Forward, backward and update written out directly in NumPy."""
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    w5, b5 = params["W5"], params["b5"]
    batch = x.shape[0]
    # forward
    z1, cols1 = conv(x.transpose(1, 0, 2, 3), w1, b1)
    a1 = np.maximum(z1, 0.0)  # relu
    z2, cols2 = conv(a1, w2, b2)
    a2 = np.maximum(z2, 0.0)
    c, _, h, w = a2.shape
    hp, wp = h // POOL, w // POOL
    # 2×2 windows, stride 2: (C, B, hp, wp, 4); the max and the first position that has it
    win = a2.reshape(c, batch, hp, POOL, wp, POOL).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(c, batch, hp, wp, POOL * POOL)
    won = win.argmax(axis=4)
    a3 = np.take_along_axis(win, won[..., None], axis=4)[..., 0]
    a4 = a3.transpose(1, 0, 2, 3).reshape(batch, -1).T  # flatten: one column per image
    z5 = w5 @ a4 + b5[:, None]
    shifted = z5 - z5.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=0, keepdims=True)
    a5 = e / total  # softmax
    log_a5 = shifted - np.log(total)  # log-softmax
    loss = float(-(y * log_a5).sum() / batch)  # mean cross-entropy
    # backward
    delta5 = (a5 - y) / batch
    dw5 = delta5 @ a4.T
    db5 = delta5.sum(axis=1)
    da4 = w5.T @ delta5
    da3 = da4.T.reshape(batch, c, hp, wp).transpose(1, 0, 2, 3)  # (C, B, hp, wp), a view
    routed = (won[..., None] == np.arange(POOL * POOL)) * da3[..., None]  # to the max only
    da2 = routed.reshape(c, batch, hp, wp, POOL, POOL).transpose(0, 1, 2, 4, 3, 5)
    da2 = da2.reshape(c, batch, h, w)
    fprime2 = z2 > 0
    delta2 = da2 * fprime2
    d2 = delta2.reshape(delta2.shape[0], -1)
    dw2 = (d2 @ cols2.T).reshape(w2.shape)
    db2 = d2.sum(axis=1)
    da1 = col2im(w2.reshape(w2.shape[0], -1).T @ d2, a1.shape, KERNEL, PADDING)
    fprime1 = z1 > 0
    delta1 = da1 * fprime1
    d1 = delta1.reshape(delta1.shape[0], -1)
    dw1 = (d1 @ cols1.T).reshape(w1.shape)
    db1 = d1.sum(axis=1)
    return {
        "Z1": bchw(z1),
        "A1": bchw(a1),
        "Z2": bchw(z2),
        "A2": bchw(a2),
        "A3": bchw(a3),
        "A4": a4,
        "Z5": z5,
        "A5": a5,
        "loss": loss,
        "delta5": delta5,
        "dW5": dw5,
        "db5": db5,
        "dA4": da4,
        "dA3": bchw(da3),
        "dA2": bchw(da2),
        "fprime2": bchw(fprime2),
        "delta2": bchw(delta2),
        "dW2": dw2,
        "db2": db2,
        "dA1": bchw(da1),
        "fprime1": bchw(fprime1),
        "delta1": bchw(delta1),
        "dW1": dw1,
        "db1": db1,
        "W1_new": w1 - rate * dw1,
        "b1_new": b1 - rate * db1,
        "W2_new": w2 - rate * dw2,
        "b2_new": b2 - rate * db2,
        "W5_new": w5 - rate * dw5,
        "b5_new": b5 - rate * db5,
    }


# ---------------------------------------------------------------------------------------------


def compare(problem: Any, x: np.ndarray, y: np.ndarray, reps: int, warmup: int) -> float:
    """Time solve against the reference, interleaved; print the table; return the ratio."""
    params = {k: v.copy() for k, v in problem.parameters.items()}
    rate = problem.learning_rate
    target, base = time_against_reference(
        lambda: nncalc.solve(problem), lambda: reference(params, x, y, rate), reps, warmup
    )
    ratio = target.median / base.median
    print(f"ratio of minimums {target.low / base.low:.2f}")
    if warning := noise_warning([base, target]):
        print(warning)
    return ratio


# ---------------------------------------------------------------------------------------------
# Where nncalc's time goes


def pieces(problem: Any, x: np.ndarray, reps: int) -> None:
    """Median time of each step, nncalc's code against the reference's code for it."""
    from nncalc import layers
    from nncalc.engine import Elementwise

    p = problem.parameters
    solution = nncalc.solve(problem)
    v = solution.values  # nncalc's layout: (B, C, H, W)
    a1, z2, a2, da3, delta2 = v["A1"], v["Z2"], v["A2"], v["dA3"], v["delta2"]
    delta1 = v["delta1"]
    w1, b1, w2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    l1, l2, l3 = problem.layers[:3]  # conv2d, conv2d, maxpool2d as nncalc holds them
    relu = Elementwise(l2)
    # the same inputs in the reference's layout (C, B, H, W)
    xc, a1c, a2c = (np.ascontiguousarray(bchw(m)) for m in (x, a1, a2))
    z2c, da3c = (np.ascontiguousarray(bchw(m)) for m in (z2, da3))
    delta1c, delta2c = (np.ascontiguousarray(bchw(m)) for m in (delta1, delta2))
    cols1, cols2 = im2col(xc, KERNEL, PADDING), im2col(a1c, KERNEL, PADDING)
    ncols1 = layers.columns(x, l1.kernel, l1.stride, l1.padding)  # nncalc's, kept from Z
    ncols2 = layers.columns(a1, l2.kernel, l2.stride, l2.padding)
    d1, d2 = delta1c.reshape(delta1c.shape[0], -1), delta2c.reshape(delta2c.shape[0], -1)
    arrays = [s.value for s in solution.steps if isinstance(s.value, np.ndarray)]
    c, batch, h, w = a2c.shape
    q = POOL * POOL

    def pool_ref() -> tuple[np.ndarray, np.ndarray]:
        win = a2c.reshape(c, batch, h // POOL, POOL, w // POOL, POOL).transpose(0, 1, 2, 4, 3, 5)
        win = win.reshape(c, batch, h // POOL, w // POOL, q)
        won = win.argmax(axis=4)
        return np.take_along_axis(win, won[..., None], axis=4)[..., 0], won

    won = pool_ref()[1]
    won_n = layers.maxpool(a2, l3.kernel, l3.stride, l3.padding)[1]  # nncalc's, kept from A3

    def unpool_ref() -> np.ndarray:
        routed = (won[..., None] == np.arange(q)) * da3c[..., None]
        g = routed.reshape(c, batch, h // POOL, w // POOL, POOL, POOL)
        return g.transpose(0, 1, 2, 4, 3, 5).reshape(c, batch, h, w)

    cases: list[Piece] = [
        (
            "Z1: layers.conv_forward + bias | im2col, W·cols + b",
            lambda: (
                layers.conv_forward(
                    layers.columns(x, l1.kernel, l1.stride, l1.padding), w1, v["Z1"].shape
                )
                + b1[None, :, None, None]
            ),
            lambda: conv(xc, w1, b1),
        ),
        (
            "Z2: layers.conv_forward + bias | im2col, W·cols + b",
            lambda: (
                layers.conv_forward(
                    layers.columns(a1, l2.kernel, l2.stride, l2.padding), w2, z2.shape
                )
                + b2[None, :, None, None]
            ),
            lambda: conv(a1c, w2, b2),
        ),
        (
            "dW1: layers.conv_grad_kernel | δ·colsᵀ (cols kept from Z1)",
            lambda: layers.conv_grad_kernel(ncols1, delta1, w1.shape),
            lambda: d1 @ cols1.T,
        ),
        (
            "dW2: layers.conv_grad_kernel | δ·colsᵀ (cols kept from Z2)",
            lambda: layers.conv_grad_kernel(ncols2, delta2, w2.shape),
            lambda: d2 @ cols2.T,
        ),
        (
            "dA1: layers.conv_grad_input | col2im(Wᵀ·δ)",
            lambda: layers.conv_grad_input(delta2, w2, a1.shape, l2.stride, l2.padding),
            lambda: col2im(w2.reshape(w2.shape[0], -1).T @ d2, a1c.shape, KERNEL, PADDING),
        ),
        (
            "A3: layers.maxpool (maxima and winners) | reshape, argmax",
            lambda: layers.maxpool(a2, l3.kernel, l3.stride, l3.padding),
            pool_ref,
        ),
        (
            "dA2: layers.maxpool_backward (winners kept) | one-hot of argmax · dA3",
            lambda: layers.maxpool_backward(da3, won_n, a2.shape, l3.kernel, l3.stride, l3.padding),
            unpool_ref,
        ),
        (
            "A2: relu through the expression tree | np.maximum(Z2, 0)",
            lambda: relu.forward(z2),
            lambda: np.maximum(z2c, 0.0),
        ),
        (
            "fprime2: relu' through the expression tree | Z2 > 0",
            lambda: relu.derivative(z2),
            lambda: z2c > 0,
        ),
        (
            f"finite check of the {len(arrays)} recorded arrays | none",
            lambda: [np.isfinite(np.sum(m)) for m in arrays],
            None,
        ),
    ]
    print_pieces(cases, reps)


# ---------------------------------------------------------------------------------------------


def checked_ratio(problem: Any, x: np.ndarray, y: np.ndarray, reps: int, warmup: int) -> float:
    """Check both sides agree on every quantity (exit 1 if not), then time them."""
    check_agreement(
        nncalc.solve(problem).values,
        reference(problem.parameters, x, y, problem.learning_rate),
        by_kind=True,
    )
    return compare(problem, x, y, reps, warmup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions per side (20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per side first (2)")
    parser.add_argument("--batch", type=int, default=64, help="images in the batch (64)")
    parser.add_argument(
        "--small-batch",
        type=int,
        default=1,
        help="images in the second, untargeted comparison (1; 0 skips it)",
    )
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the random x and y")
    parser.add_argument(
        "--profile", action="store_true", help="show where the time goes even within target"
    )
    args = parser.parse_args(argv)

    c, h, w = INPUT_SHAPE
    print(
        f"conv benchmark: {c}×{h}×{w} → conv2d {CHANNELS[0]} → conv2d {CHANNELS[1]} "
        f"({KERNEL}×{KERNEL}, padding {PADDING}, relu) → maxpool {POOL}×{POOL} → flatten → "
        f"{OUTPUTS} softmax, cross_entropy (mean), batch {args.batch}, init seed 1 scale 0.1"
    )
    for line in environment_lines():
        print("  " + line)
    start = time.perf_counter()
    problem, x, y = make_problem(args.batch, args.data_seed)
    print(
        f"  problem built via nncalc.problem_from_dict in {time.perf_counter() - start:.1f} s "
        f"(not timed); {math.prod(INPUT_SHAPE)} inputs per image\n"
    )
    ratio = checked_ratio(problem, x, y, args.reps, args.warmup)
    print(f"batch {args.batch}: ratio of medians {verdict(ratio, TARGET_RATIO)}")

    if args.small_batch:
        small, xs, ys = make_problem(args.small_batch, args.data_seed)
        print(f"\nbatch {args.small_batch} (for the record, no target):")
        small_ratio = checked_ratio(small, xs, ys, args.reps, args.warmup)
        print(f"batch {args.small_batch}: ratio of medians {small_ratio:.2f}")

    if ratio > TARGET_RATIO or args.profile:
        profile(lambda: nncalc.solve(problem), "nncalc.solve")
        pieces(problem, x, max(args.reps, 20))
    return 0


if __name__ == "__main__":
    sys.exit(main())

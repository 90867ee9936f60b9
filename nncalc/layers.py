"""Convolution and pooling on stacks of feature maps, forward and backward side by side.

Feature maps are held as (batch, channels, height, width); a kernel bank as
(out channels, in channels, kh, kw).  "Convolution" is cross-correlation, as in
every deep-learning course and library: no kernel flip in the forward pass.

Everything is vectorized with an im2col view (``sliding_window_view``: every
window of the padded input, without copying), so the only Python loops run over
the kh·kw positions inside a window, never over output pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pad(a: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    if not padding:
        return a
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return np.pad(a, widths, constant_values=value)


Pair = tuple[int, int]


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
) -> np.ndarray:
    """Add each window position's gradient back onto the input it came from (col2im).

    ``grads(i, j)`` is the gradient reaching input entry (i, j) of every window,
    shaped (batch, channels, out h, out w); one slice assignment per (i, j).
    """
    b, c, h, w = shape
    out = np.zeros((b, c, h + 2 * padding, w + 2 * padding))
    kh, kw = kernel
    for i in range(kh):
        for j in range(kw):
            g = grads(i, j)
            oh, ow = g.shape[2:]
            sh, sw = stride
            out[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += g
    return out[:, :, padding : padding + h, padding : padding + w]


# ---------------------------------------------------------------------------
# conv2d: Z[b, o] = Σ_c W[o, c] ⋆ A[b, c] + bias[o]   (⋆: cross-correlation)


def conv_forward(a: np.ndarray, w: np.ndarray, stride: Pair, padding: int) -> np.ndarray:
    """Z without the bias: each output entry is Σ (window ⊙ kernel) over channels and window."""
    cols = windows(pad(a, padding), w.shape[2:], stride)
    # (b, c, oh, ow, kh, kw) · (o, c, kh, kw) over c, kh, kw → (b, oh, ow, o)
    return np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)


def conv_grad_kernel(
    a: np.ndarray, delta: np.ndarray, kernel: Pair, stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂W[o, c, i, j] = Σ_{b, p, q} δ[b, o, p, q] · A[b, c, p·s + i, q·s + j]  (A ⋆ δ)."""
    cols = windows(pad(a, padding), kernel, stride)
    return np.tensordot(delta, cols, axes=([0, 2, 3], [0, 2, 3]))


def conv_grad_input(
    delta: np.ndarray, w: np.ndarray, in_shape: tuple[int, ...], stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂A = Σ_o δ[o] full-convolved with W[o] (each window sends δ·W back to its inputs)."""
    # (o, c, kh, kw) · (b, o, oh, ow) over o → (c, kh, kw, b, oh, ow): each window position
    # (i, j) is then a block whose rows (ow) are contiguous, so the scatter reads it fast
    back = np.tensordot(w, delta, axes=([0], [1]))
    return _scatter(
        lambda i, j: back[:, i, j].transpose(1, 0, 2, 3), in_shape, w.shape[2:], stride, padding
    )


# ---------------------------------------------------------------------------
# Pooling: A[b, c, p, q] = max (or mean) of its window; backward routes ∂L/∂A back


def maxpool_forward(a: np.ndarray, kernel: Pair, stride: Pair, padding: int) -> np.ndarray:
    return windows(pad(a, padding, -np.inf), kernel, stride).max(axis=(4, 5))


def maxpool_winners(a: np.ndarray, kernel: Pair, stride: Pair, padding: int) -> np.ndarray:
    """The flat index (i·kw + j) of each window's maximum; the first one on ties."""
    cols = windows(pad(a, padding, -np.inf), kernel, stride)
    return cols.reshape(*cols.shape[:4], -1).argmax(axis=4)


def maxpool_backward(
    grad: np.ndarray, a: np.ndarray, kernel: Pair, stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂A_prev: each window's ∂L/∂A goes to the entry that won the max, 0 elsewhere."""
    won = maxpool_winners(a, kernel, stride, padding)
    kw = kernel[1]
    return _scatter(lambda i, j: grad * (won == i * kw + j), a.shape, kernel, stride, padding)


def avgpool_forward(a: np.ndarray, kernel: Pair, stride: Pair, padding: int) -> np.ndarray:
    return windows(pad(a, padding), kernel, stride).mean(axis=(4, 5))


def avgpool_backward(
    grad: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: int
) -> np.ndarray:
    """∂L/∂A_prev: each window's ∂L/∂A shared equally, 1/(kh·kw) to every entry."""
    share = grad / (kernel[0] * kernel[1])
    return _scatter(lambda i, j: share, shape, kernel, stride, padding)

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


# ---------------------------------------------------------------------------
# conv2d: Z[b, o] = Σ_c W[o, c] ⋆ A[b, c] + bias[o]   (⋆: cross-correlation)


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

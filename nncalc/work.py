"""The arithmetic a student writes out, for small convolution and pooling steps.

For one sample and a small output, each entry of a convolution is shown as the
sum of window ⊙ kernel products plus the bias, and each entry of a pooling as
the window it reduces (for max-pooling, which entry won).  Indices count from 1,
as (channel,) row, column; one-channel maps drop the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nncalc.formula import fmt_number
from nncalc.layers import pad, windows
from nncalc.names import split_name

if TYPE_CHECKING:
    from nncalc.layers import Context

#: Show the work only up to this many output entries and this many terms per entry.
MAX_ENTRIES = 36
MAX_TERMS = 27

Work = Callable[[int], list[str]]


def worked(network: Context, name: str, values: dict[str, Any]) -> Work | None:
    """The worked arithmetic of ``name`` (a function of the decimals shown), if it has one."""
    quantity, i = split_name(name)
    if not network.single or quantity not in ("Z", "A") or not i:
        return None
    layer = network.layer(i)
    if layer.kind == "conv2d" and quantity == "Z":
        terms = layer.in_shape[0] * layer.kernel[0] * layer.kernel[1]
    elif layer.kind in ("maxpool2d", "avgpool2d") and quantity == "A":
        terms = layer.kernel[0] * layer.kernel[1]
    else:
        return None
    if layer.units > MAX_ENTRIES or terms > MAX_TERMS:
        return None
    source = network.layer_input(i, values)  # (1, C, H, W)
    cols = windows(pad(source, layer.padding), layer.kernel, layer.stride)[0]
    out = values[name][0]  # (C, oh, ow)
    where = _index_text(out.shape[0])
    below = "x" if i == 1 else f"A{i - 1}"

    if layer.kind == "conv2d":
        kernel = values[f"W{i}"]
        bias = values[f"b{i}"] if layer.bias else None

        def conv(precision: int) -> list[str]:
            lines = []
            for o, p, q in np.ndindex(*out.shape):
                window, k = cols[:, p, q].ravel(), kernel[o].ravel()
                parts = [
                    f"{_n(a, precision)}·{_n(w, precision)}" for a, w in zip(window, k, strict=True)
                ]
                if bias is not None:
                    parts.append(_n(bias[o], precision))
                total = fmt_number(float(out[o, p, q]), precision)
                lines.append(f"{name}{where(o, p, q)} = {' + '.join(parts)} = {total}")
            return lines

        return conv

    def pool(precision: int) -> list[str]:
        lines = []
        kw = layer.kernel[1]
        for c, p, q in np.ndindex(*out.shape):
            window = cols[c, p, q].ravel()
            shown = ", ".join(_n(a, precision) for a in window)
            total = fmt_number(float(out[c, p, q]), precision)
            if layer.kind == "avgpool2d":
                lines.append(f"{name}{where(c, p, q)} = mean({shown}) = {total}")
                continue
            won = int(np.argmax(window))
            r = p * layer.stride[0] + won // kw - layer.padding
            s = q * layer.stride[1] + won % kw - layer.padding
            lines.append(
                f"{name}{where(c, p, q)} = max({shown}) = {total}, from {below}{where(c, r, s)}"
            )
        return lines

    return pool


def _index_text(channels: int) -> Callable[[int, int, int], str]:
    if channels == 1:
        return lambda c, p, q: f"[{p + 1},{q + 1}]"
    return lambda c, p, q: f"[{c + 1},{p + 1},{q + 1}]"


def _n(value: float, precision: int) -> str:
    """A term of a sum: negative numbers in parentheses."""
    text = fmt_number(float(value), precision)
    return f"({text})" if text.startswith("-") else text

"""Quantity names: the canonical ones every tool relies on, and their aliases.

Canonical names, for layers l = 1..L (A0 is the input x): ``Z{l}``, ``A{l}``,
``loss``, ``delta{l}`` (∂loss/∂Z{l}), ``dA{l}`` (∂loss/∂A{l}; W{l+1}ᵀ·delta{l+1}
for l < L), ``fprime{l}``, ``dW{l}``, ``db{l}``, ``W{l}_new``, ``b{l}_new``.

Aliases read anywhere a name is read: ``H`` (A1 in a network with one hidden
layer), ``y_hat`` (A{L}), ``W2T_delta2`` (dA1), ``W1'`` (W1_new), ``δ1``,
``Z_1``, ``f'(Z1)``, ``dL/dW1``.
"""

from __future__ import annotations

import re
from functools import lru_cache

_CANONICAL = re.compile(r"(Z|A|delta|dA|fprime|dW|db)(\d+)|(W|b)(\d+)_new|loss")
_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(W|b)(\d+)'"), r"\1\2_new"),
    (re.compile(r"(W|b)(\d+)(new|_updated|updated|_prime)"), r"\1\2_new"),
    (re.compile(r"W(\d+)(T|\^T|ᵀ)_?(delta|δ)(\d+)"), r"WT\1_\4"),  # checked below
    (re.compile(r"(δ|delta)(\d+)"), r"delta\2"),
    (re.compile(r"(f'|fprime|fp)\(?Z?(\d+)\)?"), r"fprime\2"),
    (re.compile(r"d(L|loss|Loss)/?d(W|b|A|Z)(\d+)"), r"d\2\3"),
]


def normalise(name: str) -> str:
    """Spelling variants to one form: no spaces, no '_' before a layer number."""
    text = name.strip().replace(" ", "")
    text = re.sub(r"_(\d+)", r"\1", text)
    text = text.replace("∂", "d")
    return text


@lru_cache(maxsize=4096)
def canonical_name(name: str, depth: int) -> str | None:
    """The canonical quantity a (possibly aliased) name refers to, or None.

    ``depth`` is the number of layers L; it decides what ``H`` and ``y_hat`` mean.
    """
    text = normalise(name)
    if text in ("H", "h") and depth == 2:
        return "A1"
    if text.lower() in ("y_hat", "yhat", "ŷ", "output") or text == "y^":
        return f"A{depth}"
    if text.lower() in ("l", "loss", "j", "cost"):
        return "loss"
    for pattern, replacement in _ALIASES:
        match = pattern.fullmatch(text)
        if match:
            text = match.expand(replacement)
            break
    transposed = re.fullmatch(r"WT(\d+)_(\d+)", text)
    if transposed:
        upper, delta = int(transposed.group(1)), int(transposed.group(2))
        text = f"dA{upper - 1}" if upper == delta else ""
    match = _CANONICAL.fullmatch(text)
    if not match:
        return None
    layer = int(match.group(2) or match.group(4) or 1)
    if not 1 <= layer <= depth or (match.group(1) == "A" and layer == 0):
        return None
    return text

"""The loss of a training run as a picture: a small plot in the terminal, or a PNG.

A loss that falls over orders of magnitude is drawn on a log scale (otherwise
everything after the first few updates is a flat line at the bottom).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nncalc.errors import NncalcError

#: A log scale when the largest loss is this many times the smallest (positive) one.
LOG_RATIO = 100.0
_BLOCKS = " ▁▂▃▄▅▆▇█"


def log_scale(history: Sequence[float]) -> bool:
    low, high = min(history), max(history)
    return low > 0 and high / low >= LOG_RATIO


def finite(history: Sequence[float | None]) -> list[float]:
    """The losses to draw: a loss that is not finite (None) after the last update is left out."""
    return [loss for loss in history if loss is not None]


def terminal_plot(history: Sequence[float], width: int = 60, height: int = 8) -> list[str]:
    """Lines of a column chart of the loss: one column per group of updates (its mean),
    the highest and lowest loss marked on the left, the updates counted underneath."""
    logarithmic = log_scale(history)

    def level(value: float) -> float:
        return math.log10(value) if logarithmic else value

    n = len(history)
    columns = min(width, n)
    groups = [history[k * n // columns : (k + 1) * n // columns] for k in range(columns)]
    points = [level(sum(g) / len(g)) for g in groups]
    low, high = min(level(v) for v in history), max(level(v) for v in history)
    span = (high - low) or 1.0
    eighths = [round((p - low) / span * (height * 8 - 1)) + 1 for p in points]
    top, bottom = f"{max(history):.4g}", f"{min(history):.4g}"
    label_width = max(len(top), len(bottom))
    lines = []
    for row in range(height - 1, -1, -1):
        cells = "".join(_BLOCKS[min(max(e - row * 8, 0), 8)] for e in eighths)
        label = top if row == height - 1 else bottom if row == 0 else ""
        lines.append(f"{label.rjust(label_width)} ┤{cells}")
    scale = " (log scale)" if logarithmic else ""
    lines.append(f"{'':>{label_width}} └{'─' * columns}")
    lines.append(f"{'':>{label_width}}  0{f'update {n - 1}'.rjust(columns - 1)}{scale}")
    return lines


def check_plot_path(path: Path) -> None:
    """Refuse a plot that cannot be written, before any work is done."""
    if path.suffix.lower() != ".png":
        raise NncalcError(f"expected a .png file name, got {path.name!r}", argument="plot")
    _pyplot()


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NncalcError(
            "writing a plot needs matplotlib: pip install 'nncalc[plot]' (or matplotlib)",
            argument="plot",
        ) from None
    return plt


def png_bytes(history: Sequence[float], title: str) -> bytes:
    """The loss curve as a PNG (matplotlib, imported only here)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    axes.plot(range(len(history)), history, color="#1f77b4", linewidth=1.5)
    if log_scale(history):
        axes.set_yscale("log")
    axes.set_xlabel("update")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()

"""Shared helpers for the benchmarks in this folder (stdlib + NumPy only).

Not a benchmark itself: the benchmarks import it from their own folder.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Summary:
    """Order statistics of one series of timings, in seconds."""

    label: str
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    def quartiles(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q[0], q[2]


def environment_lines() -> list[str]:
    """What a reader needs to compare numbers between machines and runs."""
    try:
        import numpy as np

        numpy_version = np.__version__
    except ImportError:  # pragma: no cover - numpy is a dependency of nncalc
        numpy_version = "not installed"
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    lines = [
        f"python {platform.python_version()} ({sys.executable})",
        f"numpy {numpy_version}; cores: {os.cpu_count()}; {platform.machine()}",
        "OPENBLAS_CORETYPE="
        + (f"{coretype} (set: it slows NumPy; both sides share it)" if coretype else "<unset>"),
    ]
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        lines.append(f"load average (1, 5, 15 min) at start: {load}")
    except OSError:  # pragma: no cover - not on every platform
        pass
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        lines.append("PYTHONDONTWRITEBYTECODE is set: modules without a .pyc compile every run")
    return lines


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain fixed-width table; the first column left-aligned, the others right-aligned."""
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def verdict(ratio: float, target: float) -> str:
    """'1.234 within target (≤ 1.25)'; three decimals so a ratio that prints as 1.25 is clear."""
    where = "within" if ratio <= target else "ABOVE"
    return f"{ratio:.3f} {where} target (≤ {target:g})"


def noise_warning(series: Sequence[Summary], limit: float = 0.10) -> str | None:
    """A warning when a series' interquartile range exceeds `limit` of its median."""
    noisy = []
    for res in series:
        q1, q3 = res.quartiles()
        if res.median > 0 and (q3 - q1) / res.median > limit:
            noisy.append(f"{res.label} (IQR {100 * (q3 - q1) / res.median:.0f}% of the median)")
    if not noisy:
        return None
    return (
        "warning: noisy timings, the machine is probably busy; rerun when it is idle:\n  "
        + "\n  ".join(noisy)
    )


def time_pair(
    target: Callable[[], object], base: Callable[[], object], reps: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Seconds per call of ``target`` and ``base``, interleaved (the order flips every round)."""
    for _ in range(warmup):
        target()
        base()
    t_samples: list[float] = []
    b_samples: list[float] = []
    for r in range(reps):
        pairs = [(target, t_samples), (base, b_samples)]
        for fn, out in pairs if r % 2 == 0 else pairs[::-1]:
            gc.collect()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return t_samples, b_samples


def time_against_reference(
    solve: Callable[[], object], reference: Callable[[], object], reps: int, warmup: int
) -> tuple[Summary, Summary]:
    """Time nncalc's solve and the NumPy reference interleaved and print both side by side;
    return their summaries (nncalc's, the reference's)."""
    t, b = time_pair(solve, reference, reps, warmup)
    target = Summary("nncalc.solve(problem)", t)
    base = Summary("NumPy reference (same math)", b)
    ratio = target.median / base.median
    rows = []
    for res, r in ((base, "1.00"), (target, f"{ratio:.2f}")):
        q1, q3 = res.quartiles()
        rows.append(
            [
                res.label,
                f"{res.median * 1e3:.2f}",
                f"{res.low * 1e3:.2f}",
                f"{q1 * 1e3:.2f}–{q3 * 1e3:.2f}",
                r,
            ]
        )
    print(f"\n{reps} interleaved repetitions per side after {warmup} warm-up(s):")
    print(table(rows, ["", "median ms", "min ms", "IQR ms", "ratio"]))
    return target, base


def check_agreement(
    values: Mapping[str, Any], reference: Mapping[str, Any], *, by_kind: bool = False
) -> None:
    """Compare every quantity of nncalc's solution with the reference's (np.allclose), print
    the largest difference, and exit 1 if they disagree: a timing of unequal work means
    nothing. ``by_kind`` also lists each difference, the learned quantities first."""
    import numpy as np

    rows, bad = [], []
    for name, want in reference.items():
        got = values.get(name)
        if got is None:
            bad.append(f"{name}: missing from nncalc's solution")
            continue
        same = np.shape(got) == np.shape(want) and np.allclose(got, want)
        diff = float(np.max(np.abs(np.asarray(got, float) - np.asarray(want, float))))
        rows.append([name, "×".join(map(str, np.shape(got))) or "scalar", f"{diff:.1e}"])
        if not same:
            bad.append(f"{name}: not allclose (max |difference| {diff:.3g})")
    if extra := sorted(set(values) - set(reference)):
        bad.append(f"not checked (the reference lacks them): {', '.join(extra)}")
    print("agreement (np.allclose on every quantity):", "ok" if not bad else "FAILED")
    worst = max(rows, key=lambda r: float(r[2]))
    print(f"  {len(rows)} quantities, largest max |difference|: {worst[2]} ({worst[0]})")
    if by_kind:
        learned = [r for r in rows if r[0] == "loss" or r[0][:2] in ("dW", "db") or "_new" in r[0]]
        print(
            "  loss, dW, db and *_new: "
            + ", ".join(f"{r[0]} {r[2]}" for r in learned)
            + "; the rest: "
            + ", ".join(f"{r[0]} {r[2]}" for r in rows if r not in learned)
        )
    if bad:
        print("\n".join("  " + b for b in bad))
        sys.exit(1)


def profile(run: Callable[[], object], label: str, runs: int = 5, top: int = 18) -> None:
    """Print the top functions by own time over ``runs`` calls of ``run`` (cProfile)."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        run()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    print(f"\ncProfile of {label} ({runs} calls), top {top} by own time:")
    print("\n".join("  " + ln for ln in lines[start:]))


Piece = tuple[str, Callable[[], object], "Callable[[], object] | None"]


def print_pieces(cases: Sequence[Piece], reps: int) -> None:
    """Time each piece with nncalc's code and the reference's (None: nncalc only), interleaved,
    and print the medians side by side with what nncalc pays extra."""
    rows = []
    for label, ours, theirs in cases:
        ta, tb = time_pair(ours, theirs or (lambda: None), reps, 2)
        ma = Summary(label, ta).median
        if theirs is None:
            extra = "" if "scale" in label else f"{ma * 1e3:+.3f}"
            rows.append([label, f"{ma * 1e3:.3f}", "—", extra])
        else:
            mb = Summary(label, tb).median
            rows.append([label, f"{ma * 1e3:.3f}", f"{mb * 1e3:.3f}", f"{(ma - mb) * 1e3:+.3f}"])
    print("\npieces (nncalc | reference; median ms over interleaved repetitions):")
    print(table(rows, ["piece", "nncalc", "reference", "extra"]))

"""Output benchmark: the memory and time of writing a big answer key.

A problem at the size limit (a 2000-2000-1 network: W1 has 4,000,000 entries, the
`max_entries` limit) is solved as a subprocess, stdout to /dev/null, and its peak resident
memory (from wait4) and wall time are compared with the engine alone in the same
interpreter:

* baseline ``python -c "...train(load_problem(FILE), 1)"``: load, forward, backward, update
* target   ``python -m nncalc solve FILE --format json``
* target   ``python -m nncalc solve FILE --format plain``

Target: JSON's peak memory at most 1.25 × the baseline's (the answer key streams out a row
at a time; building it whole took 10× at 5a866ca). The wall time is reported, with no
target: writing 20 million floats as the shortest decimal that reads back exactly costs
what it costs. It only reports: the exit status is 0 whatever the ratio (1 only if the
setup is broken: a command fails, or the JSON disagrees with a NumPy reference).

    python bench/output.py               # 3 interleaved rounds, ~40 s
    python bench/output.py --units 1000  # a smaller network
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from _common import check_agreement, environment_lines, table, verdict

TARGET_RATIO = 1.25
ENGINE_ONLY = (
    "import sys\n"
    "from nncalc.problem import load_problem\n"
    "from nncalc.training import train\n"
    "train(load_problem(sys.argv[1]), 1)\n"
)


@dataclass
class Command:
    label: str
    argv: list[str]
    peaks: list[float] = field(default_factory=list)  # MB
    seconds: list[float] = field(default_factory=list)

    def run(self) -> None:
        """Run once with stdout to /dev/null; record the peak RSS of that process alone
        (which starts from this process's own at the fork: keep this one small)."""
        start = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=sink)
            _, status, usage = os.wait4(proc.pid, 0)
        self.seconds.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"error: {self.label} exited {os.waitstatus_to_exitcode(status)}")
        self.peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux


def write_problem(folder: Path, units: int) -> Path:
    path = folder / "big.yaml"
    problem = {
        "name": f"{units}-{units}-1 at the size limit",
        "network": {
            "input": units,
            "layers": [
                {"units": units, "activation": "relu"},
                {"units": 1, "activation": "identity"},
            ],
        },
        "loss": "mse",
        "learning_rate": 0.1,
        "init": {"seed": 0},
        "x": [round(0.5 + 0.001 * (i % 7), 3) for i in range(units)],
        "y": [0.25],
    }
    path.write_text(yaml.safe_dump(problem), encoding="utf-8")
    return path


def reference(doc: dict) -> dict[str, np.ndarray | float]:
    """The update by hand from the problem's own numbers (the weights `init` drew)."""
    p = doc["problem"]
    W1, b1 = np.array(p["parameters"]["W1"]), np.array(p["parameters"]["b1"])  # noqa: N806
    W2, b2 = np.array(p["parameters"]["W2"]), np.array(p["parameters"]["b2"])  # noqa: N806
    x, y, lr = np.array(p["x"]), np.array(p["y"]), p["learning_rate"]
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, 0)
    z2 = W2 @ a1 + b2
    delta2 = 2 * (z2 - y) / y.size  # mse, identity output
    delta1 = (W2.T @ delta2) * (z1 > 0)
    return {
        "loss": float(np.mean((z2 - y) ** 2)),
        "W2_new": W2 - lr * np.outer(delta2, a1),
        "W1_new": W1 - lr * np.outer(delta1, x),
        "b1_new": b1 - lr * delta1,
    }


def sanity_check(problem: Path, folder: Path) -> None:
    out = folder / "key.json"
    cmd = [sys.executable, "-m", "nncalc", "solve", str(problem), "-f", "json", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    doc = json.loads(out.read_text(encoding="utf-8"))
    want = reference(doc)
    check_agreement({k: doc["values"][k] for k in want}, want)
    print(f"answer key: {out.stat().st_size / 1e6:.0f} MB of JSON")
    out.unlink()


def report(cmds: Sequence[Command]) -> None:
    base = cmds[0]
    rows = []
    for cmd in cmds:
        peak, seconds = statistics.median(cmd.peaks), statistics.median(cmd.seconds)
        ratio = peak / statistics.median(base.peaks)
        rows.append(
            [
                cmd.label,
                f"{peak:.0f}",
                f"{min(cmd.peaks):.0f}–{max(cmd.peaks):.0f}",
                f"{seconds:.2f}",
                "1.00" if cmd is base else f"{ratio:.2f}",
                f"{seconds / statistics.median(base.seconds):.2f}",
                verdict(ratio, TARGET_RATIO) if "json" in cmd.label else "",
            ]
        )
    header = ["command", "peak MB", "range", "median s", "memory ratio", "time ratio", ""]
    print(table(rows, header))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--units", type=int, default=2000, help="input and hidden units")
    args = parser.parse_args(argv)
    print("\n".join(environment_lines()))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        problem = write_problem(folder, args.units)
        solve = [sys.executable, "-m", "nncalc", "solve", str(problem), "--format"]
        engine = [sys.executable, "-c", ENGINE_ONLY, str(problem)]
        cmds = [
            Command("baseline: the engine alone", engine),
            Command("nncalc solve … --format json", [*solve, "json"]),
            Command("nncalc solve … --format plain", [*solve, "plain"]),
        ]
        for r in range(args.runs):
            shift = r % len(cmds)
            for cmd in cmds[shift:] + cmds[:shift]:
                cmd.run()
        # Last: a child's peak counts the memory of this process at the fork.
        sanity_check(problem, folder)
    print(f"\n{args.units}-{args.units}-1 network, {args.runs} interleaved rounds:")
    report(cmds)


if __name__ == "__main__":
    main()

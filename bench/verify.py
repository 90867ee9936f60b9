"""Benchmark: grade 10,000 a4 submissions in one `nncalc verify DIR --format csv` run.

Targets (issue 3): at least 1,000 files/s on one core, and no more than 3× the time of
only loading the same files with the fastest YAML loader available (libyaml's C loader
when present), each measured as a whole process, interleaved, in the same run.

The submissions are synthetic and varied like a real class: 40 % fully correct, the rest
with one of several slips (a wrong entry early, rounded intermediates, degrees, a missing
bias, a flipped update, missing answers), so both the fast and the slow paths are timed.

    python bench/verify.py                 # 10,000 files, 3 interleaved rounds
    python bench/verify.py --files 2000 --rounds 5

A third series grades the same sheets each with an ``equations:`` section (the course's
ten formulas, in plain text, LaTeX or NumPy notation, some with a slip): issue 13's target
is at least 500 sheets/s with equations on every sheet, one process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Summary, environment_lines, noise_warning, table, verdict

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"

W1 = np.array([[0.1, -0.2, 0.3, 0.4], [0.5, -0.3, 0.1, -0.2], [0.4, 0.2, -0.5, 0.3]])
B1 = np.array([0.1, -0.1, 0.05])
W2 = np.array([[-0.3, 0.2, 0.1], [0.4, -0.5, 0.3]])
B2 = np.array([0.05, -0.05])
X = np.array([1, -1, 0.5, 2.0])
Y = np.array([1, 0.0])


def chain(slip: str, rng: np.random.Generator) -> dict[str, list]:
    """A student's answers for a4, computed by hand-written NumPy with one slip."""
    z1 = W1 @ X + (0 if slip == "no_bias" else B1)
    if slip == "wrong_entry":
        z1 = z1 + np.array([rng.choice([-0.1, 0.1]), 0, 0])
    trig = np.sin(np.deg2rad(z1)) if slip == "degrees" else np.sin(z1)
    h = np.maximum(z1, 0) + trig
    z2 = W2 @ h + B2
    y_hat = np.exp(z2) / np.exp(z2).sum()
    d2 = y_hat - Y
    da1 = W2.T @ d2
    d1 = da1 * ((z1 > 0) + np.cos(z1))
    sign = 1 if slip == "flipped_update" else -1
    answers = {
        "Z1": z1, "H": h, "Z2": z2, "y_hat": y_hat, "W2T_delta2": da1, "delta1": d1,
        "dW2": np.outer(d2, h), "db2": d2, "dW1": np.outer(d1, X), "db1": d1,
        "W2'": W2 + sign * 0.001 * np.outer(d2, h), "b2'": B2 + sign * 0.001 * d2,
        "W1'": W1 + sign * 0.001 * np.outer(d1, X), "b1'": B1 + sign * 0.001 * d1,
    }  # fmt: skip
    decimals = 3 if slip == "rounded" else 4
    out = {k: np.round(v, decimals).tolist() for k, v in answers.items()}
    if slip == "missing":
        for key in ("dW1", "db1", "W1'", "b1'"):
            out.pop(key)
    return out


#: The course's formulas as students write them, and slips of them.
EQUATIONS = [
    {
        "Z1": "W1 x + b1", "Z2": "W2 H + b2", "y_hat": "softmax(Z2)", "delta2": "y_hat - y",
        "dW2": "delta2 H^T", "db2": "delta2", "delta1": "(W2^T delta2) ⊙ f'(Z1)",
        "f'(x)": "1 + cos(x) if x > 0 else cos(x)", "dW1": "delta1 x^T", "db1": "delta1",
    },
    {
        "Z1": "W_1 x + b_1", "Z2": "W_2 H + b_2", "y_hat": r"\frac{e^{z_i}}{\sum_j e^{z_j}}",
        "delta2": r"\hat{y} - y", "dW2": r"\delta_2 H^\top", "db2": r"\delta_2",
        "delta1": r"(W_2^T \delta_2) \odot f'(Z_1)", "dW1": r"\delta_1 x^T", "db1": r"\delta_1",
        "fprime1": r"\begin{cases} 1 + \cos x & x > 0 \\ \cos x & \text{otherwise} \end{cases}",
    },
    {
        "Z1": "np.dot(W1, x) + b1", "Z2": "W2 @ H + b2", "delta2": "y_hat - y",
        "dW2": "np.outer(delta2, H)", "delta1": "np.dot(W2.T, delta2) * fprime1",
        "dW1": "np.outer(delta1, x)", "db1": "delta1",
    },
]  # fmt: skip
EQUATION_SLIPS = [
    {"dW1": "x delta1^T"},
    {"delta1": "W2^T delta2"},
    {"delta2": "y - y_hat"},
    {"Z1": "W1 x"},
    {"f'(x)": "1 + cos(x)"},
]


def write_submissions(folder: Path, count: int, *, equations: bool = False) -> None:
    import yaml

    rng = np.random.default_rng(0)
    slips = ["none"] * 4 + ["wrong_entry", "rounded", "degrees", "no_bias", "flipped_update"]
    slips.append("missing")
    problem = os.path.relpath(A4, folder)
    for i in range(count):
        doc: dict = {
            "problem": problem,
            "student": f"s{i:05d}",
            "answers": chain(slips[i % 10], rng),
        }
        if equations:
            slip = EQUATION_SLIPS[i % 5] if i % 7 >= 5 else {}  # 2 sheets in 7 slip
            doc["equations"] = {**EQUATIONS[i % 3], **slip}
        (folder / f"s{i:05d}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


LOAD_ONLY = """
import sys, pathlib, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    with open(path, "rb") as handle:
        yaml.load(handle, Loader=Loader)
"""


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: some student lacks full marks, as expected
        sys.exit(f"command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import yaml

    print("\n".join(f"  {line}" for line in environment_lines()))
    print(f"  libyaml C loader: {'yes' if hasattr(yaml, 'CSafeLoader') else 'no (pure Python)'}")
    with tempfile.TemporaryDirectory(prefix="nncalc-verify-bench-") as tmp:
        folder, with_equations = Path(tmp) / "numbers", Path(tmp) / "equations"
        folder.mkdir()
        with_equations.mkdir()
        write_submissions(folder, args.files)
        write_submissions(with_equations, args.files, equations=True)

        def verify(where: Path) -> list[str]:
            command = [sys.executable, "-m", "nncalc", "verify", str(where), "--format", "csv"]
            return [*command, "--problem-root", str(A4.parent)]  # claims checked (issue 11)

        load = [sys.executable, "-c", LOAD_ONLY, str(folder)]
        # Pin one core: the target is per core (NumPy's threads do not help small arrays).
        pin = ["taskset", "-c", "0"] if _has_taskset() else []
        series = {
            "load only (baseline)": Summary("load only", []),
            "verify": Summary("verify", []),
            "verify, with equations": Summary("verify, with equations", []),
        }
        timed(pin + verify(folder))  # warm the file cache and the bytecode
        for _ in range(args.rounds):
            series["load only (baseline)"].samples.append(timed(pin + load))
            series["verify"].samples.append(timed(pin + verify(folder)))
            series["verify, with equations"].samples.append(timed(pin + verify(with_equations)))
    base, target = series["load only (baseline)"], series["verify"]
    equations = series["verify, with equations"]
    rows = [
        [label, f"{s.median:.2f}", f"{args.files / s.median:,.0f}", f"{s.median / base.median:.2f}"]
        for label, s in series.items()
    ]
    print(f"\n{args.files:,} a4 submissions, {args.rounds} interleaved rounds, one core:")
    print(table(rows, ["command", "median s", "files/s", "ratio"]))
    print(f"throughput: {args.files / target.median:,.0f} files/s (target ≥ 1,000)")
    print(
        f"with equations: {args.files / equations.median:,.0f} sheets/s (target ≥ 500: "
        f"{'met' if args.files / equations.median >= 500 else 'NOT met'})"
    )
    print(f"ratio to loading only: {verdict(target.median / base.median, 3.0)}")
    warning = noise_warning([base, target, equations])
    if warning:
        print(warning)
    return 0


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


if __name__ == "__main__":
    raise SystemExit(main())

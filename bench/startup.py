"""Startup benchmark: `nncalc solve problems/a4.yaml --format json` versus importing its deps.

Runs, as subprocesses with stdout to /dev/null and interleaved (the order rotates every
round, so drift and caching hit every command alike):

* target  ``python -m nncalc solve problems/a4.yaml --format json``
* target  the installed ``nncalc`` console script with the same arguments (if on PATH)
* baseline ``python -c "import numpy, yaml, typer"``

and prints the median wall time of each and its ratio to the baseline (target: ≤ 1.25).
It only reports: the exit status is 0 whatever the ratio (1 only if the command it
measures fails, which makes the numbers meaningless).

    python bench/startup.py                  # 30 runs each after 3 warm-ups
    python bench/startup.py --runs 50 --warmup 5
    python bench/startup.py --bytecode-cache # as for a normal install: .pyc files cached
    python bench/startup.py --importtime     # also: -X importtime report into a file
    python bench/startup.py --breakdown      # also: what imports, the command and the run add

``--importtime [FILE]`` writes the modules of one ``-X importtime`` run of the nncalc
command, sorted by cumulative and by self time, with a column saying whether the baseline
imports them too, into FILE (default ``bench/importtime.txt``) and prints its path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import Summary, environment_lines, noise_warning, table, verdict

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PROBLEM = "problems/a4.yaml"
ARGS = ["solve", PROBLEM, "--format", "json"]
BASELINE_CODE = "import numpy, yaml, typer"
TARGET_RATIO = 1.25


@dataclass
class Command:
    label: str
    argv: list[str]
    baseline: bool = False


def commands() -> list[Command]:
    found = [
        Command(
            f"baseline: python -c {BASELINE_CODE!r}", [sys.executable, "-c", BASELINE_CODE], True
        ),
        Command("python -m nncalc solve … --format json", [sys.executable, "-m", "nncalc", *ARGS]),
    ]
    script = shutil.which("nncalc")
    if script:
        found.append(Command(f"nncalc solve … --format json ({script})", [script, *ARGS]))
    return found


def run_once(argv: Sequence[str], env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - start


def sanity_check(cmds: Sequence[Command], env: Mapping[str, str]) -> None:
    """Every nncalc command must succeed and print JSON, or its timing means nothing."""
    for cmd in cmds:
        proc = subprocess.run(cmd.argv, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"error: {cmd.label} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        if not cmd.baseline:
            try:
                json.loads(proc.stdout)
            except json.JSONDecodeError:
                sys.exit(f"error: {cmd.label} did not print JSON:\n{proc.stdout[:500]}")


def measure(
    cmds: Sequence[Command], env: Mapping[str, str], runs: int, warmup: int
) -> list[Summary]:
    for _ in range(warmup):
        for cmd in cmds:
            run_once(cmd.argv, env)
    samples: list[list[float]] = [[] for _ in cmds]
    order = list(range(len(cmds)))
    for r in range(runs):
        shift = r % len(order)  # rotate which command goes first in each round
        for i in order[shift:] + order[:shift]:
            samples[i].append(run_once(cmds[i].argv, env))
    return [Summary(cmd.label, s) for cmd, s in zip(cmds, samples, strict=True)]


def report(cmds: Sequence[Command], results: Sequence[Summary]) -> list[float]:
    base = next(r for c, r in zip(cmds, results, strict=True) if c.baseline)
    rows, ratios = [], []
    for cmd, res in zip(cmds, results, strict=True):
        q1, q3 = res.quartiles()
        ratio = res.median / base.median
        if not cmd.baseline:
            ratios.append(ratio)
        rows.append(
            [
                res.label,
                f"{res.median * 1e3:.1f}",
                f"{res.low * 1e3:.1f}",
                f"{q1 * 1e3:.1f}–{q3 * 1e3:.1f}",
                "1.00" if cmd.baseline else f"{ratio:.2f}",
                "1.00" if cmd.baseline else f"{res.low / base.low:.2f}",
                "" if cmd.baseline else verdict(ratio, TARGET_RATIO),
            ]
        )
    header = ["command", "median ms", "min ms", "IQR ms", "ratio", "min ratio", ""]
    print(table(rows, header))
    if warning := noise_warning(results):
        print(warning)
    return ratios


# ---------------------------------------------------------------------------------------------
# --breakdown: a ladder of commands, each adding one part of what the nncalc command does

NNCALC_MODULES = "nncalc.cli, nncalc.engine, nncalc.problem, nncalc.expr, nncalc.render"
LADDER = [
    ("baseline: import numpy, yaml, typer", BASELINE_CODE),
    (
        "+ nncalc modules (cli, engine, problem, expr, render)",
        f"{BASELINE_CODE}, {NNCALC_MODULES}",
    ),
    (
        "+ the command built (typer.main.get_command(app))",
        f"{BASELINE_CODE}, {NNCALC_MODULES}; from nncalc.cli import app; "
        "typer.main.get_command(app)",
    ),
]


def breakdown(env: Mapping[str, str], runs: int, warmup: int) -> None:
    cmds = [Command(label, [sys.executable, "-c", code]) for label, code in LADDER]
    cmds.append(
        Command(
            "+ running it: python -m nncalc solve … --format json",
            [sys.executable, "-m", "nncalc", *ARGS],
        )
    )
    cmds[0].baseline = True
    results = measure(cmds, env, runs, warmup)
    rows, previous = [], None
    for res in results:
        step = "" if previous is None else f"{(res.median - previous) * 1e3:+.1f}"
        rows.append(
            [res.label, f"{res.median * 1e3:.1f}", step, f"{res.median / results[0].median:.2f}"]
        )
        previous = res.median
    print(f"\nbreakdown ({runs} interleaved runs each after {warmup} warm-up round(s)):")
    print(table(rows, ["step", "median ms", "added ms", "ratio to baseline"]))
    if warning := noise_warning(results):
        print(warning)


# ---------------------------------------------------------------------------------------------
# -X importtime


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, nesting level) for each 'import time:' line."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((name.strip(), int(self_us), int(cumulative_us), level))
    return rows


def _seen(name: str, modules: set[str]) -> str:
    return "yes" if name in modules else "NO"


def importtime_report(env: Mapping[str, str], path: Path, top: int = 40) -> None:
    def traced(argv: list[str]) -> list[tuple[str, int, int, int]]:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *argv],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        return parse_importtime(proc.stderr)

    nncalc_rows = traced(["-m", "nncalc", *ARGS])
    base_modules = {name for name, *_ in traced(["-c", BASELINE_CODE])}
    total_self = sum(r[1] for r in nncalc_rows)
    only_here = sum(r[1] for r in nncalc_rows if r[0] not in base_modules)

    def section(title: str, rows: list[tuple[str, int, int, int]]) -> str:
        body = [
            [name, f"{cum / 1e3:.1f}", f"{own / 1e3:.1f}", str(level), _seen(name, base_modules)]
            for name, own, cum, level in rows[:top]
        ]
        header = ["module", "cumulative ms", "self ms", "level", "baseline imports it too"]
        return f"{title}\n\n{table(body, header)}\n"

    # Self time of the modules the baseline does not import, by top-level package: the
    # import cost the nncalc command adds, without double counting nested imports.
    extra: dict[str, list[int]] = {}
    for name, own, _cum, _level in nncalc_rows:
        if name not in base_modules:
            group = extra.setdefault(name.split(".")[0], [0, 0])
            group[0] += own
            group[1] += 1
    extra_rows = sorted(extra.items(), key=lambda kv: -kv[1][0])
    extra_table = table(
        [[pkg, f"{own / 1e3:.1f}", str(n)] for pkg, (own, n) in extra_rows],
        ["package (modules the baseline does not import)", "self ms", "modules"],
    )
    by_cumulative = sorted(nncalc_rows, key=lambda r: -r[2])
    by_self = sorted(nncalc_rows, key=lambda r: -r[1])
    top_level = sorted((r for r in nncalc_rows if r[3] == 0), key=lambda r: -r[2])
    text = "\n".join(
        [
            f"python -X importtime -m nncalc {' '.join(ARGS)}   (one run, cwd {ROOT})",
            *environment_lines(),
            "",
            f"modules imported: {len(nncalc_rows)}; sum of self times {total_self / 1e3:.1f} ms, "
            f"of which {only_here / 1e3:.1f} ms in modules that `{BASELINE_CODE}` does not import",
            "",
            "Import cost added by the nncalc command, by package\n",
            extra_table,
            "",
            section(f"Top {top} by cumulative time", by_cumulative),
            section(f"Top {top} by self time", by_self),
            section("Top-level imports (level 0) by cumulative time", top_level),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"\n-X importtime report written to {path}")
    print(
        f"import self time of the nncalc run: {total_self / 1e3:.1f} ms, "
        f"{only_here / 1e3:.1f} ms of it in modules the baseline does not import:"
    )
    for pkg, (own, n) in extra_rows[:10]:
        print(f"  {own / 1e3:7.1f} ms  {pkg} ({n} modules)")


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per command first (3)")
    parser.add_argument(
        "--bytecode-cache",
        action="store_true",
        help="run every command with PYTHONDONTWRITEBYTECODE unset and PYTHONPYCACHEPREFIX in a "
        "temporary folder, so .pyc files are written once and reused, as after a normal install",
    )
    parser.add_argument(
        "--importtime",
        nargs="?",
        const=str(BENCH / "importtime.txt"),
        metavar="FILE",
        help="also write a -X importtime report of the nncalc run to FILE "
        "(default bench/importtime.txt)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time a ladder of commands (baseline, + nncalc's modules, + the command "
        "built, + the run itself) to show what each part adds",
    )
    args = parser.parse_args(argv)

    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="nncalc-bench-pyc-") as pyc_dir:
        mode = "environment as is"
        if args.bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pyc_dir
            mode = (
                "bytecode cache on: PYTHONDONTWRITEBYTECODE removed and "
                f"PYTHONPYCACHEPREFIX={pyc_dir} for every command"
            )
        cmds = commands()
        print("startup benchmark:", " ".join(ARGS), f"vs {BASELINE_CODE!r}")
        for line in environment_lines():
            print("  " + line)
        print(f"  mode: {mode}")
        print(f"  {args.runs} interleaved runs per command after {args.warmup} warm-up round(s)\n")
        sanity_check(cmds, env)
        results = measure(cmds, env, args.runs, args.warmup)
        report(cmds, results)
        if not shutil.which("nncalc"):
            print("\n(no `nncalc` console script on PATH: only `python -m nncalc` was measured)")
        if args.breakdown:
            breakdown(env, args.runs, args.warmup)
        if args.importtime:
            importtime_report(env, Path(args.importtime).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

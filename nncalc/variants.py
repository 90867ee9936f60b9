"""Per-student variants of a problem: same network, new numbers, good for hand computation.

Each student's numbers are drawn from a generator seeded by (seed, student id), so the
same seed and roster always give byte-identical files. Every array keeps the scale and
the number of decimals of the original (a4's weights: one decimal within ±0.5), and a
draw is rejected and redrawn when it would make a poor exercise:

- a net input within 0.05 of a kink (relu at 0), where the derivative is a convention;
- a saturated softmax (some ŷ > 0.99), where the numbers carry no information;
- an update that changes no printed digit of some parameter.

Layout written under ``out``::

    index.csv                       student, folder, problem, answers, key files
    <folder>/problem.yaml           the variant
    <folder>/answers.yaml           a blank sheet naming ../<folder>/problem.yaml
    <folder>/key.json, key.tex      the solution, as ``nncalc solve`` prints it

A student's folder is the id itself when it is a safe file name (ASCII letters, digits,
'.', '-', '_'); otherwise the safe part plus a short hash of the id, so that no two ids
share a folder (田中 and 山田 are ``__-<hash>`` each). Ids and names are written so that
nncalc reads them back exactly, whatever they hold. An ``out`` that already holds
variants is refused unless ``force``, and nothing is written through a symbolic link.

Filled sheets are collected as ``<student>.yaml`` or ``<student>/answers.yaml`` and
graded with ``nncalc verify out/submissions/ --variants out/``: each against the variant
that ``index.csv`` gives its student (a sheet's own ``problem:`` line is only a claim).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nncalc.engine import Solution, solve
from nncalc.errors import NncalcError
from nncalc.escape import yaml_string
from nncalc.output import atomic_write
from nncalc.problem import Problem, problem_from_dict
from nncalc.render import pieces, render
from nncalc.template import answer_template

KINK_MARGIN = 0.05
SATURATION = 0.99
PRINTED_DECIMALS = 4
MAX_ATTEMPTS = 1000
#: The longest folder name written (well below every file system's 255 bytes).
MAX_FOLDER = 100
#: Hex digits of the id's hash that tell apart ids whose safe names clash.
HASH_DIGITS = 10
#: The files written in each student's folder.
STUDENT_FILES = ("problem.yaml", "answers.yaml", "key.json", "key.tex")
#: Names Windows reserves for devices (also with an extension): never a folder.
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


@dataclass(frozen=True)
class Variant:
    student: str
    folder: str  # the student's folder name (the id, made safe for file names)
    data: dict[str, Any]  # the variant as a problem file holds it
    problem: Problem
    attempts: int  # draws needed to pass the checks


def read_roster(path: str | Path) -> list[str]:
    """Student ids from a CSV roster: the column named student/student_id/id/sid/username
    if there is a header, else the first column. Blank lines are skipped."""
    from nncalc.yamlio import read_text

    rows = [row for row in csv.reader(io.StringIO(read_text(path))) if any(c.strip() for c in row)]
    if not rows:
        raise NncalcError("the roster is empty", source=str(path))
    header = [c.strip().lower() for c in rows[0]]
    column = next(
        (
            header.index(n)
            for n in ("student", "student_id", "id", "sid", "username")
            if n in header
        ),
        None,
    )
    body = rows[1:] if column is not None else rows
    column = column or 0
    ids = [row[column].strip() if column < len(row) else "" for row in body]
    for line, sid in enumerate(ids, start=2 if body is not rows else 1):
        if not sid:
            raise NncalcError("empty student id", source=str(path), line=line)
    first_line: dict[str, int] = {}
    for line, sid in enumerate(ids, start=2 if body is not rows else 1):
        if sid in first_line:
            raise NncalcError(
                f"student id {sid!r} appears twice (also on line {first_line[sid]})",
                source=str(path),
                line=line,
            )
        first_line[sid] = line
    return ids


def safe_folder(student: str, *, hashed: bool = False, digits: int = HASH_DIGITS) -> str:
    """A file-name-safe form of a student id (ASCII letters, digits, '.', '-', '_').

    The id itself when it is already safe; else (or when ``hashed``) its safe part
    followed by the first ``digits`` hex digits of the id's SHA-256, so that ids which
    lose characters on the way (田中, 山田, a/2) still get folders of their own.
    """
    folder = re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "_"
    exact = folder == student and len(folder) <= MAX_FOLDER and not _RESERVED.fullmatch(folder)
    if exact and not hashed:
        return folder
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:digits]
    return f"{folder[: MAX_FOLDER - digits - 1]}-{digest}"


def student_folders(students: Iterable[str]) -> dict[str, str]:
    """Each student's folder, distinct even on file systems that ignore case (Ab, ab).

    Ids whose folders would clash get the hashed form; should two hashes clash as
    well, the whole hash is used. Two identical ids are an error.
    """
    folders: dict[str, str] = {}
    for student in students:
        if student in folders:
            raise NncalcError(f"student id {student!r} appears twice")
        folders[student] = safe_folder(student)
    for digits in (HASH_DIGITS, 64):
        clashing = _clashes(folders)
        for student in clashing:
            folders[student] = safe_folder(student, hashed=True, digits=digits)
    left = _clashes(folders)
    if left:  # two ids with the same SHA-256: not expected in this universe
        raise NncalcError(f"student ids {left[0]!r} and {left[1]!r} need the same folder")
    return folders


def _clashes(folders: dict[str, str]) -> list[str]:
    """The students whose folder another student's folder equals, ignoring case."""
    owners: dict[str, list[str]] = {}
    for student, folder in folders.items():
        owners.setdefault(folder.casefold(), []).append(student)
    return [student for group in owners.values() if len(group) > 1 for student in group]


def _rng(seed: int, student: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\0{student}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals that write every value exactly (0.05 → 2, 0.5 → 1, 2 → 0)."""
    for d in range(7):
        if np.allclose(values, np.round(values, d), rtol=0, atol=1e-12):
            return d
    return 6


def _draw_like(rng: np.random.Generator, original: np.ndarray) -> np.ndarray:
    """Uniform within the original's magnitude, rounded to its decimals, never all zero."""
    decimals = max(_decimals(original), 1)
    scale = float(np.max(np.abs(original))) or 1.0
    while True:
        drawn = np.round(rng.uniform(-scale, scale, original.shape), decimals) + 0.0
        if drawn.any():
            return drawn


def _draw_targets(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Targets of the same kind: one-hot stays one-hot, 0/1 stays 0/1, else like _draw_like."""
    k, batch = y.shape
    one_hot = np.isin(y, (0, 1)).all() and (y.sum(axis=0) == 1).all() and k > 1
    if one_hot:
        drawn = np.zeros_like(y)
        drawn[rng.integers(0, k, batch), np.arange(batch)] = 1.0
        return drawn
    if np.isin(y, (0, 1)).all():
        return rng.integers(0, 2, y.shape).astype(float)
    low, high = float(y.min()), float(y.max())
    decimals = max(_decimals(y), 1)
    return np.round(rng.uniform(low, high, y.shape), decimals) + 0.0


def _rejection(problem: Problem) -> str | None:
    """Why this draw is a poor exercise, or None if it is a good one."""
    try:
        solution = solve(problem)
    except NncalcError as exc:
        return f"numeric trouble: {exc.message}"
    values = solution.values
    for i, layer in enumerate(problem.layers, start=1):
        if layer.elementwise is not None:
            for name in [n for n in values if n == f"Z{i}" or n.startswith(f"Z{i}_t")]:
                if layer.elementwise.kink_distance(np.asarray(values[name])) < KINK_MARGIN:
                    return f"{name} within {KINK_MARGIN} of a kink"
        elif layer.is_softmax and np.max(values[f"A{i}"]) > SATURATION:
            return f"softmax of layer {i} saturates"
        elif layer.kind == "maxpool2d" and _tied(solution, i):
            return f"a tie for the maximum in a window of layer {i}"
    for name, old in problem.parameters.items():
        if name in problem.frozen:
            continue
        new = values[f"{name}_new"]
        if np.array_equal(np.round(new, PRINTED_DECIMALS), np.round(old, PRINTED_DECIMALS)):
            return f"the update changes no printed digit of {name}"
        # The given parameter handed back as the update must fail at the grading tolerance.
        if (np.abs(new - old) <= problem.rubric.tolerance.bound(new)).all():
            return f"the update of {name} is invisible at {problem.rubric.tolerance.describe()}"
    return None


def _tied(solution: Solution, i: int) -> bool:
    """Whether a window of max-pooling layer i has two entries (nearly) equal to its maximum:
    then ∂L/∂A_{i-1} depends on a tie-breaking rule, not on the math."""
    from nncalc.layers import pad, windows

    problem, below = solution.problem, f"A{i - 1}"
    a = solution.network.internal(below, solution[below]) if i > 1 else problem.x
    layer = problem.layers[i - 1]
    cols = windows(pad(a, layer.padding, -np.inf), layer.kernel, layer.stride)
    top = np.sort(cols.reshape(*cols.shape[:4], -1), axis=-1)[..., -2:]
    return bool(np.any(top[..., 1] - top[..., 0] < KINK_MARGIN))


def make_variant(problem: Problem, seed: int, student: str) -> Variant:
    """The variant of ``problem`` for ``student``, drawn from (seed, student id)."""
    rng = _rng(seed, student)
    single = problem.single
    for attempt in range(1, MAX_ATTEMPTS + 1):
        parameters = {n: _draw_like(rng, v) for n, v in problem.parameters.items()}
        x = _draw_like(rng, problem.x)
        y = _draw_targets(rng, problem.y)
        data = variant_data(problem, student, parameters, x, y, single)
        variant = problem_from_dict(data, source="problem.yaml")
        if _rejection(variant) is None:
            return Variant(student, safe_folder(student), data, variant, attempt)
    raise NncalcError(
        f"no good variant for {student!r} in {MAX_ATTEMPTS} draws "
        f"(last: {_rejection(variant)}); the original may be too constrained",
        source=problem.source,
    )


def variant_data(
    problem: Problem,
    student: str,
    parameters: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    single: bool,
) -> dict[str, Any]:
    """The variant as the mapping a problem file holds (the original's keys, new numbers)."""
    raw = problem.raw
    data: dict[str, Any] = {
        "name": f"{problem.name or 'problem'} (variant for {student})",
        "network": raw["network"],
        "loss": problem.loss,
    }
    if "reduction" in raw:
        data["reduction"] = problem.reduction
    data["learning_rate"] = raw["learning_rate"]
    data["parameters"] = {n: v.tolist() for n, v in parameters.items()}
    if problem.frozen:
        data["frozen"] = sorted(problem.frozen)
    if "optimizer" in raw:
        data["optimizer"] = raw["optimizer"]
    drawn = dataclasses.replace(problem, x=x, y=y, single=single)
    data["x"] = drawn.as_written("x").tolist()
    data["y"] = drawn.as_written("y").tolist()
    if "grading" in raw:
        data["grading"] = raw["grading"]
    return data


def variant_yaml(data: dict[str, Any]) -> str:
    """A problem file in the style of problems/a4.yaml: flow lists, one matrix row a line."""
    lines = [f"name: {yaml_string(data['name'])}", "network:"]
    network = data["network"]
    lines.append(f"  input: {network['input']}")
    lines.append("  layers:")
    for layer in network["layers"]:
        lines.append(f"    - {json.dumps(layer, ensure_ascii=False)}")
    for key in ("loss", "reduction", "learning_rate", "optimizer"):
        if key in data:
            lines.append(f"{key}: {json.dumps(data[key])}")
    lines.append("parameters:")
    for name, value in data["parameters"].items():
        if value and isinstance(value[0], list):
            lines.append(f"  {name}:")
            lines += [f"    - {json.dumps(row)}" for row in value]
        else:
            lines.append(f"  {name}: {json.dumps(value)}")
    if "frozen" in data:
        lines.append(f"frozen: {json.dumps(data['frozen'])}")
    lines.append(f"x: {json.dumps(data['x'])}")
    lines.append(f"y: {json.dumps(data['y'])}")
    if "grading" in data:
        lines.append(f"grading: {json.dumps(data['grading'], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def generate(
    problem: Problem,
    students: Sequence[str],
    seed: int,
    out: str | Path,
    *,
    force: bool = False,
) -> list[Variant]:
    """Write every student's variant, blank sheet and keys, and the index; return them.

    Refuses (before writing anything) an ``out`` that already holds variants unless
    ``force``, and any student folder or file there that is a symbolic link.
    """
    out = Path(out)
    folders = student_folders(students)
    check_out_folder(out, list(folders.values()), force=force)
    variants = [
        dataclasses.replace(make_variant(problem, seed, student), folder=folders[student])
        for student in students
    ]
    index = io.StringIO()
    writer = csv.writer(index, lineterminator="\n")
    writer.writerow(["student", "folder", "problem", "answers", "key_json", "key_tex"])
    out.mkdir(parents=True, exist_ok=True)
    for v in variants:
        folder = out / v.folder
        folder.mkdir(exist_ok=True)
        _refuse_links(out, v.folder)  # again, just before writing into it
        solution = solve(v.problem)
        reference = f"../{v.folder}/problem.yaml"
        atomic_write(folder / "problem.yaml", variant_yaml(v.data))
        atomic_write(folder / "answers.yaml", answer_template(v.problem, reference, v.student))
        atomic_write(folder / "key.json", pieces(solution, "json"))
        atomic_write(folder / "key.tex", render(solution, "latex"))
        files = [f"{v.folder}/{name}" for name in ("problem.yaml", "answers.yaml")]
        writer.writerow(
            [v.student, v.folder, *files, f"{v.folder}/key.json", f"{v.folder}/key.tex"]
        )
    atomic_write(out / "index.csv", index.getvalue())
    return variants


def check_out_folder(out: Path, folders: Sequence[str], *, force: bool) -> None:
    """Why ``out`` may not receive these student folders, as an error; else nothing.

    Earlier variants (an index.csv, or a sub-folder holding a problem.yaml) are kept
    unless ``force``: their sheets may already be in students' hands. A student folder
    or a file to be written that is a symbolic link (or not a folder / regular file)
    is refused even with ``force``: writing through it could land outside ``out``.
    """
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise NncalcError("not a folder", source=str(out), argument="out")
    if not force:
        earlier = _earlier_variants(out)
        if earlier is not None:
            raise NncalcError(
                f"already holds variants ({earlier}); their sheets may be handed out "
                "already. Choose another folder, or replace them with force",
                source=str(out),
                argument="out",
            )
    _refuse_file(out / "index.csv")
    for folder in folders:
        _refuse_links(out, folder)


def _earlier_variants(out: Path) -> str | None:
    """What in ``out`` shows an earlier run: index.csv or a folder with a problem.yaml."""
    if os.path.lexists(out / "index.csv"):
        return "index.csv"
    with os.scandir(out) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False) and os.path.lexists(
                Path(entry.path) / "problem.yaml"
            ):
                return f"{entry.name}/problem.yaml"
    return None


def _refuse_links(out: Path, folder: str) -> None:
    """An error when the student folder, or a file to be written in it, is a link."""
    path = out / folder
    if path.is_symlink():
        raise NncalcError(
            "is a symbolic link; nncalc generate does not write through links", source=str(path)
        )
    if os.path.lexists(path) and not path.is_dir():
        raise NncalcError("is in the way of a student folder (not a folder)", source=str(path))
    for name in STUDENT_FILES:
        _refuse_file(path / name)


def _refuse_file(path: Path) -> None:
    """An error when ``path`` exists and is a link or anything but a regular file."""
    if path.is_symlink():
        raise NncalcError(
            "is a symbolic link; nncalc generate does not write through links", source=str(path)
        )
    if os.path.lexists(path) and not path.is_file():
        raise NncalcError("is in the way of a file to write (not a regular file)", source=str(path))

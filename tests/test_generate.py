"""`nncalc generate`: per-student variants, reproducible, good for hand computation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import COURSE_EQUATIONS
from typer.testing import CliRunner

import nncalc
from nncalc.cli import app
from nncalc.variants import KINK_MARGIN, make_variant, read_roster, safe_folder

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"


def generate(runner: CliRunner, out: Path, *args: str) -> None:
    result = runner.invoke(app, ["generate", str(A4), "--out", str(out), *args])
    assert result.exit_code == 0, result.output


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_same_seed_and_roster_give_byte_identical_files(runner: CliRunner, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,student\nAda,s1\nAlan,s2\nGrace,s3\n")
    generate(runner, tmp_path / "one", "--roster", str(roster), "--seed", "2024")
    generate(runner, tmp_path / "two", "--roster", str(roster), "--seed", "2024")
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert one == two
    assert sorted(one) == [
        "index.csv",
        *[
            f"s{i}/{f}"
            for i in (1, 2, 3)
            for f in ("answers.yaml", "key.json", "key.tex", "problem.yaml")
        ],
    ]
    generate(runner, tmp_path / "three", "--roster", str(roster), "--seed", "2025")
    assert tree(tmp_path / "three")["s1/problem.yaml"] != one["s1/problem.yaml"]


def test_every_student_gets_different_numbers_and_the_same_network(tmp_path: Path) -> None:
    problem = nncalc.load_problem(A4)
    variants = [make_variant(problem, 7, f"s{i}") for i in range(12)]
    w1s = {tuple(v.problem.parameters["W1"].ravel()) for v in variants}
    assert len(w1s) == 12
    for v in variants:
        p = v.problem
        assert [(layer.units, layer.activation) for layer in p.layers] == [
            (3, "relu(x) + sin(x)"),
            (2, "softmax"),
        ]
        assert (p.loss, p.learning_rate, p.rubric) == (problem.loss, 0.001, problem.rubric)
        # rounded like the original: weights to one decimal within ±0.5, b1 to two decimals
        assert np.array_equal(p.parameters["W1"], np.round(p.parameters["W1"], 1))
        assert np.abs(p.parameters["W1"]).max() <= 0.5
        assert np.array_equal(p.parameters["b1"], np.round(p.parameters["b1"], 2))
        assert np.array_equal(p.x, np.round(p.x, 1)) and np.abs(p.x).max() <= 2
        assert sorted(p.y[:, 0].tolist()) == [0.0, 1.0]  # one-hot stays one-hot


def test_variants_stay_away_from_kinks_saturation_and_invisible_updates() -> None:
    problem = nncalc.load_problem(A4)
    redrawn = 0
    for i in range(60):
        v = make_variant(problem, 1, f"s{i}")
        redrawn += v.attempts > 1
        sol = nncalc.solve(v.problem)
        assert np.abs(sol["Z1"]).min() >= KINK_MARGIN  # relu's kink at 0
        assert sol["y_hat"].max() <= 0.99
        for name, old in v.problem.parameters.items():
            new = sol[f"{name}_new"]
            assert not np.array_equal(np.round(new, 4), np.round(old, 4)), name
    assert redrawn > 0  # the checks do reject draws (6 of 30 for seed 2024)


def test_round_trip_generate_fill_from_keys_verify_full_marks(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "variants"
    generate(runner, out, "--count", "5", "--seed", "2024")
    submissions = out / "submissions"
    submissions.mkdir()
    for row in csv.DictReader((out / "index.csv").open()):
        sheet = yaml.safe_load((out / row["answers"]).read_text())
        key = json.loads((out / row["key_json"]).read_text())["values"]
        sheet["answers"] = {name: key[name] for name in sheet["answers"]}
        assert sheet["equations"] == dict.fromkeys(sheet["equations"])  # empty slots ...
        assert len(sheet["equations"]) == 10
        sheet["equations"] = COURSE_EQUATIONS  # ... the same formulas in every variant
        (submissions / f"{row['student']}.yaml").write_text(yaml.safe_dump(sheet))
    result = runner.invoke(
        app, ["verify", str(submissions), "--variants", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["student"], r["score"], r["max_score"]) for r in lines] == [
        (f"s00{i}", 20.0, 20.0) for i in range(1, 6)
    ]
    # each graded against its own variant
    assert {r["problem"] for r in lines} == {
        str(out / f"s00{i}" / "problem.yaml") for i in range(1, 6)
    }


def test_a_sheet_graded_against_another_students_variant_fails(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "v"
    generate(runner, out, "--count", "2", "--seed", "3")
    key = json.loads((out / "s001" / "key.json").read_text())["values"]
    sheet = yaml.safe_load((out / "s002" / "answers.yaml").read_text())
    sheet["answers"] = {name: key[name] for name in sheet["answers"]}  # copied from s001
    (out / "submissions").mkdir()
    copied = out / "submissions" / "copied.yaml"
    copied.write_text(yaml.safe_dump(sheet))
    result = runner.invoke(app, ["verify", str(copied), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["score"] < 5


def test_roster_forms(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("s1\ns2,extra\n\n")
    assert read_roster(plain) == ["s1", "s2"]
    header = tmp_path / "header.csv"
    header.write_text("Name,ID\nAda,a-1\nAlan,a/2\n")
    assert read_roster(header) == ["a-1", "a/2"]
    assert safe_folder("a/2").startswith("a_2-")  # lost a character: a hash tells it apart
    twice = tmp_path / "twice.csv"
    twice.write_text("id\nx\ny\nx\n")
    with pytest.raises(nncalc.NncalcError, match=r"twice.csv:4: student id 'x' appears twice"):
        read_roster(twice)


def test_generate_needs_exactly_one_of_roster_and_count(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(A4), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == "error: give exactly one of --roster FILE or --count N\n"


def test_generate_names_its_folder_option_as_the_other_commands_do(
    runner: CliRunner, tmp_path: Path
) -> None:
    """--output / -o, as in solve, verify, template and schema (--out still works)."""
    for option in ("--output", "-o", "--out"):
        out = tmp_path / option.strip("-")
        result = runner.invoke(app, ["generate", str(A4), option, str(out), "--count", "1"])
        assert result.exit_code == 0, result.stderr
        assert (out / "index.csv").is_file()

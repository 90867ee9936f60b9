"""`nncalc gradescope-autograder`: the zip Gradescope builds its image from, run as Gradescope
runs it, in a fake /autograder tree in a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nncalc import __version__
from nncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
SHEETS = ROOT / "tests" / "data" / "a4"
WHEEL = f"nncalc-{__version__}-py3-none-any.whl"

#: results.json as Gradescope documents it ("Autograder Specifications"): the keys used here.
TOP_KEYS = {"score", "output", "tests", "execution_time", "visibility", "stdout_visibility"}
TEST_KEYS = {"name", "score", "max_score", "status", "output", "number", "visibility"}
VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}


def _build(runner: CliRunner, tmp_path: Path, *options: str) -> Path:
    target = tmp_path / "autograder.zip"
    result = runner.invoke(app, ["gradescope-autograder", str(A4), "-o", str(target), *options])
    assert (result.exit_code, result.stderr) == (0, "")
    return target


def _autograder(tmp_path: Path, zipped: Path, *submitted: Path) -> Path:
    """Unpack the zip as Gradescope does (into /autograder/source) and submit the files."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(root / "source")
    for sheet in submitted:
        shutil.copy(sheet, root / "submission" / sheet.name)
    return root


def _run(root: Path) -> dict[str, object]:
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env={"AUTOGRADER_ROOT": str(root), "NNCALC_PYTHON": sys.executable, "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, object] = json.loads((root / "results" / "results.json").read_text())
    return results


def _check_documented(results: dict[str, object]) -> None:
    assert set(results) == TOP_KEYS
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], (int, float)) and results["execution_time"] >= 0
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    tests = results["tests"]
    assert isinstance(tests, list)
    for number, test in enumerate(tests, start=1):
        assert set(test) == TEST_KEYS
        assert test["number"] == str(number) and test["visibility"] in VISIBILITY
        assert test["status"] in ("passed", "failed")
        assert 0 <= test["score"] <= test["max_score"]


def test_the_zip_holds_the_scripts_the_problem_and_nncalc(
    runner: CliRunner, tmp_path: Path
) -> None:
    with zipfile.ZipFile(_build(runner, tmp_path)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            ["setup.sh", "run_autograder", "problem.yaml", "settings.json", WHEEL]
        )
        assert archive.read("problem.yaml") == A4.read_bytes()
        assert f"/autograder/source/{WHEEL}" in archive.read("setup.sh").decode()
        assert archive.getinfo("run_autograder").external_attr >> 16 == 0o755


def test_the_wheel_installs_and_runs(runner: CliRunner, tmp_path: Path) -> None:
    root = _autograder(tmp_path, _build(runner, tmp_path))
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(root / "source" / WHEEL),
        ],
        check=True,
        timeout=120,
    )
    done = subprocess.run(
        # -S: no site-packages, so the editable install of the tests cannot answer instead
        [sys.executable, "-S", "-c", "import nncalc; print(nncalc.__file__, nncalc.__version__)"],
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,  # not the checkout, whose nncalc/ would be found first
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"{target / 'nncalc' / '__init__.py'} {__version__}"


def test_run_autograder_grades_the_submission_against_the_zips_problem(
    runner: CliRunner, tmp_path: Path
) -> None:
    root = _autograder(tmp_path, _build(runner, tmp_path), SHEETS / "mistake_bias.yaml")
    results = _run(root)
    _check_documented(results)
    assert results["score"] == 9.5  # the bias slip costs Z1's 0.5; the rest follows through
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"
    tests = results["tests"]
    assert isinstance(tests, list)
    # the sheet writes numbers only: each equation is a failed test worth 1 (issue 13)
    assert (tests[0]["name"], tests[0]["status"], tests[0]["max_score"]) == (
        "Z1 equation",
        "failed",
        1.0,
    )
    assert tests[0]["output"] == "— missing"
    assert tests[1]["name"] == "Z1" and tests[1]["status"] == "failed"
    assert "the bias b1 seems left out" in tests[1]["output"]
    assert sum(test["max_score"] for test in tests) == 20.0


@pytest.mark.parametrize("submitted", [(), ("full.yaml", "missing.yaml")])
def test_a_submission_without_exactly_one_sheet_gets_a_result_saying_so(
    runner: CliRunner, tmp_path: Path, submitted: tuple[str, ...]
) -> None:
    zipped = _build(runner, tmp_path, "--visibility", "after_published")
    root = _autograder(tmp_path, zipped, *(SHEETS / name for name in submitted))
    results = _run(root)
    _check_documented(results)
    assert results["score"] == 0 and results["tests"] == []
    assert results["visibility"] == "after_published"
    found = "no answers file (.yaml)" if not submitted else "2 answers files"
    assert results["output"] == (
        f"Your submission has {found}; upload exactly one, such as answers.yaml."
    )


def test_an_unknown_visibility_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["gradescope-autograder", str(A4), "-o", str(tmp_path / "a.zip"), "--visibility", "x"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --visibility: expected one of visible, hidden, after_due_date, after_published;"
        " got 'x'\n"
    )
    assert not (tmp_path / "a.zip").exists()

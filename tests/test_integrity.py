"""Issue 11: a student never chooses the key, reads the grader's files, or stops a class.

Each attack of the issue, tried through the command line the way a TA runs it.
Students' files are hostile: every byte of a sheet, its name and its folder.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import COURSE_EQUATIONS
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.grading import Grader, grade_files
from nncalc.results import result_from_dict, result_to_dict

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
FULL = yaml.safe_load((ROOT / "tests" / "data" / "a4" / "full.yaml").read_text())["answers"]
KEY_OPTIONS = "pass --problem FILE, --variants DIR or --problem-root DIR"
SECRET = "SECRET-TOKEN-4711"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def sheet(folder: Path, name: str, problem: str | None = None, **fields: Any) -> Path:
    """An answers file with a4's right answers (or ``answers``) and the course's
    equations, naming ``problem``: full marks, 20/20, on a4."""
    doc: dict[str, Any] = {} if problem is None else {"problem": problem}
    doc |= {"answers": FULL, "equations": COURSE_EQUATIONS} | fields
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def verify(runner: CliRunner, *args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def limited_memory() -> None:
    """A child process that cannot take the machine down (the 'before' behaviour)."""
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run_cli(args: list[str | Path], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nncalc", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limited_memory,
    )


# ---------------------------------------------------------------------------
# A student chooses the key and the score


def rigged_problem(folder: Path) -> Path:
    """The student's own problem: a4 with 1000 points for Z1."""
    data = yaml.safe_load(A4.read_text())
    data["grading"]["points"] = {"Z1": 1000}
    folder.mkdir(parents=True, exist_ok=True)
    rigged = folder / "mine.yaml"
    rigged.write_text(yaml.safe_dump(data))
    return rigged


@pytest.mark.parametrize("fmt", ["csv", "gradescope"])
def test_a_sheet_cannot_choose_a_problem_it_wrote(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    submissions = tmp_path / "submissions"
    rigged_problem(submissions)
    path = sheet(submissions, "mallory.yaml", "mine.yaml")
    # Without the instructor's key there is no grade at all, only a refusal.
    target = path if fmt == "gradescope" else submissions
    code, out, err = verify(runner, target, "--format", fmt)
    assert (code, out) == (2, "")
    assert KEY_OPTIONS in err
    # With the instructor's problems as the root, the claim is an error row.
    problems = tmp_path / "problems"
    problems.mkdir()
    (problems / "a4.yaml").write_text(A4.read_text())
    code, out, _ = verify(runner, target, "--problem-root", problems, "--format", fmt)
    assert code == 2
    assert "1000" not in out
    assert "names mine.yaml, which is not a problem file under the problem roots" in out


def test_problem_root_accepts_a_claim_inside_and_refuses_a_link_out(
    runner: CliRunner, tmp_path: Path
) -> None:
    problems = tmp_path / "problems"
    problems.mkdir()
    (problems / "a4.yaml").write_text(A4.read_text())
    rigged = rigged_problem(tmp_path)
    (problems / "linked.yaml").symlink_to(rigged)  # inside by name, outside in fact
    submissions = tmp_path / "submissions"
    sheet(submissions, "good.yaml", "../problems/a4.yaml")
    sheet(submissions, "linked.yaml", "../problems/linked.yaml")
    sheet(submissions, "dotdot.yaml", "../problems/../mine.yaml")
    code, out, _ = verify(runner, submissions, "--problem-root", problems, "-f", "json")
    assert code == 2
    found = {Path(r["file"]).stem: r for r in rows(out)}
    assert found["good"]["score"] == 20
    assert "not a problem file under the problem roots" in found["linked"]["error"]
    assert "not a problem file under the problem roots" in found["dotdot"]["error"]


def test_a_self_check_is_one_file_in_a_human_format_and_says_so(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = sheet(tmp_path, "me.yaml", str(A4))
    code, out, _ = verify(runner, path, "-f", "json")
    assert code == 0
    (row,) = rows(out)
    assert row["warnings"] == [
        "self-check: graded against the problem the sheet names; not a grade"
    ]
    code, out, _ = verify(runner, path, "-f", "plain")
    assert code == 0 and "self-check" in out
    for refused in ([path, path, "-f", "json"], [tmp_path, "-f", "json"], [path, "-f", "csv"]):
        code, out, err = verify(runner, *refused)
        assert (code, out) == (2, "")
        assert KEY_OPTIONS in err


# ---------------------------------------------------------------------------
# The variants workflow


def variants(runner: CliRunner, out: Path, count: int = 3) -> dict[str, dict[str, Any]]:
    result = runner.invoke(
        app, ["generate", str(A4), "--out", str(out), "--count", str(count), "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    return {row["student"]: row for row in csv.DictReader((out / "index.csv").open())}


def filled(out: Path, row: dict[str, Any]) -> dict[str, Any]:
    """The student's blank sheet filled in from their own key: the numbers (10 of the
    20 points); the equation slots stay empty."""
    doc = yaml.safe_load((out / row["answers"]).read_text())
    key = json.loads((out / row["key_json"]).read_text())["values"]
    doc["answers"] = {name: key[name] for name in doc["answers"]}
    return dict(doc)


def test_a_copied_neighbours_sheet_with_its_problem_line_is_an_error_row(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "variants"
    index = variants(runner, out)
    submissions = out / "submissions"
    submissions.mkdir()
    for student in ("s001", "s003"):
        doc = filled(out, index[student])
        (submissions / f"{student}.yaml").write_text(yaml.safe_dump(doc))
    # s002 hands in s001's sheet, problem line and student field included
    (submissions / "s002.yaml").write_text((submissions / "s001.yaml").read_text())
    code, text, _ = verify(runner, submissions, "--variants", out, "-f", "json")
    assert code == 2
    found = {r["student"]: r for r in rows(text)}
    assert found["s001"]["score"] == found["s003"]["score"] == 10
    assert found["s002"]["error"] == (
        f"{submissions / 's002.yaml'}: names ../s001/problem.yaml, but s002's problem is "
        f"{out / 's002' / 'problem.yaml'}"
    )
    assert "the sheet says student: s001; graded as s002 (its file)" in found["s002"]["warnings"]


def test_a_copied_sheet_with_its_own_problem_line_is_flagged_in_every_format(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "variants"
    index = variants(runner, out)
    submissions = out / "submissions"
    copied = filled(out, index["s001"])
    copied["problem"] = "../s002/problem.yaml"  # s002's own line, s001's numbers
    copied["student"] = "s002"
    (submissions / "s002").mkdir(parents=True)
    (submissions / "s002" / "answers.yaml").write_text(yaml.safe_dump(copied))
    (submissions / "s001.yaml").write_text(yaml.safe_dump(filled(out, index["s001"])))
    code, text, _ = verify(runner, submissions, "--variants", out, "-f", "json")
    assert code == 1
    found = {r["student"]: r for r in rows(text)}
    assert found["s001"]["score"] == 10 and "warnings" not in found["s001"]
    flagged = found["s002"]
    assert flagged["warnings"] == ["matches the key of s001's problem"]
    assert flagged["score"] < 5
    assert all(item["verdict"] != "follow_through" for item in flagged["items"])
    for fmt in ("csv", "plain", "markdown", "html"):
        code, text, _ = verify(runner, submissions, "--variants", out, "-f", fmt)
        assert code == 1 and "matches the key of s001" in text.replace("&#x27;", "'"), fmt
    one = submissions / "s002" / "answers.yaml"
    code, text, _ = verify(runner, one, "--variants", out, "-f", "gradescope")
    assert "matches the key of s001's problem" in json.loads(text)["output"]


def test_a_sheet_of_no_student_in_the_index_is_an_error_row(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "variants"
    index = variants(runner, out, 2)
    submissions = out / "submissions"
    submissions.mkdir()
    (submissions / "zed.yaml").write_text(yaml.safe_dump(filled(out, index["s001"])))
    code, text, _ = verify(runner, submissions, "--variants", out, "-f", "json")
    assert code == 2
    assert "no student 'zed' in" in rows(text)[0]["error"]


# ---------------------------------------------------------------------------
# A student reads the grader's files


def test_no_file_content_and_no_existence_probing(runner: CliRunner, tmp_path: Path) -> None:
    grader = tmp_path / "grader"
    grader.mkdir()
    secret = grader / ".env"
    secret.write_text(f"{SECRET}: hunter2\n")
    problems = tmp_path / "problems"
    problems.mkdir()
    submissions = tmp_path / "submissions"
    one = sheet(submissions, "eve.yaml", str(secret))
    sheet(submissions, "probe.yaml", str(grader / "missing.env"))
    code, out, err = verify(runner, one, "--format", "gradescope")  # as the README showed
    assert code == 2 and SECRET not in out + err
    code, out, err = verify(runner, one, "--format", "json")  # a self-check: no quote either
    assert code == 2 and SECRET not in out + err
    assert rows(out)[0]["error"] == f"{secret}:1: not a valid problem file"
    code, out, err = verify(runner, submissions, "--problem-root", problems, "-f", "json")
    assert code == 2 and SECRET not in out + err
    errors = [r["error"].split(": ", 1)[1] for r in rows(out)]
    assert [e.replace("missing.env", ".env") for e in errors] == [
        f"names {secret}, which is not a problem file under the problem roots (--problem-root)"
    ] * 2  # the same words whether the file exists or not


# ---------------------------------------------------------------------------
# One sheet stops the class


def test_a_sheet_naming_dev_zero_is_refused_before_reading(tmp_path: Path) -> None:
    path = sheet(tmp_path, "z.yaml", "/dev/zero")
    done = run_cli(["verify", path, "-f", "json"], timeout=60)
    assert done.returncode == 2, done.stderr
    assert rows(done.stdout)[0]["error"] == "/dev/zero: not a regular file (a device)"


def test_a_fifo_neither_hangs_nor_vanishes(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    sheet(submissions, "ok.yaml")
    os.mkfifo(submissions / "pipe.yaml")
    done = run_cli(["verify", submissions, "--problem", A4, "-f", "json"], timeout=60)
    assert done.returncode == 2, done.stderr
    found = {Path(r["file"]).name: r for r in rows(done.stdout)}
    assert found["ok.yaml"]["score"] == 20
    assert found["pipe.yaml"]["error"].endswith("not a regular file")
    done = run_cli(["verify", submissions / "pipe.yaml", "--problem", A4, "-f", "json"])
    assert done.returncode == 2
    assert rows(done.stdout)[0]["error"].endswith("not a regular file (a FIFO)")


def test_a_huge_problem_is_refused_before_computing(tmp_path: Path) -> None:
    huge = {
        "network": {
            "input": 2,
            "layers": [{"units": 2000, "activation": "sigmoid"}] * 62
            + [{"units": 1, "activation": "sigmoid"}],
        },
        "loss": "mse",
        "learning_rate": 0.1,
        "init": {"seed": 1},
        "x": [0.5, 0.5],
        "y": [1],
    }
    problem = tmp_path / "huge.yaml"
    problem.write_text(yaml.safe_dump(huge))
    assert problem.stat().st_size < 5000
    path = sheet(tmp_path, "s.yaml", answers={"Z1": [0]})
    done = run_cli(["verify", path, "--problem", problem, "-f", "json"], timeout=60)
    assert done.returncode == 2, done.stderr
    error = rows(done.stdout)[0]["error"]
    assert "values and parameters in all; the limit is 16,000,000 (4 × max_entries)" in error


def test_a_memory_error_in_one_sheet_is_an_error_row(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        sheet(tmp_path, name)
    original = Grader.grade

    def grade(self: Grader, answers: Any) -> Any:
        if Path(answers.file).name == "b.yaml":
            raise MemoryError
        return original(self, answers)

    monkeypatch.setattr(Grader, "grade", grade)
    code, out, err = verify(runner, tmp_path, "--problem", A4, "-f", "json")
    assert code == 2, err
    assert [(Path(r["file"]).name, r.get("error")) for r in rows(out)] == [
        ("a.yaml", None),
        ("b.yaml", f"{tmp_path / 'b.yaml'}: could not be graded (MemoryError)"),
        ("c.yaml", None),
    ]


# ---------------------------------------------------------------------------
# Files are dropped silently


def test_a_folder_given_as_dot_dot_or_below_a_dot_directory_is_graded(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submissions = tmp_path / ".course" / "submissions"
    sheet(submissions, "a.yaml")
    sheet(submissions, ".hidden" / Path("b.yaml"))  # below the folder given: skipped
    work = tmp_path / ".course" / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, _ = verify(runner, "../submissions", "--problem", A4, "-f", "json")
    assert code == 0
    assert [r["file"] for r in rows(out)] == ["../submissions/a.yaml"]
    code, out, _ = verify(runner, submissions, "--problem", A4, "-f", "json")
    assert (code, len(rows(out))) == (0, 1)


def test_links_that_dangle_loop_or_escape_are_error_rows(runner: CliRunner, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    sheet(submissions, "ok.yaml")
    outside = sheet(tmp_path, "outside.yaml")
    (submissions / "dangling.yaml").symlink_to(tmp_path / "nothing.yaml")
    (submissions / "loop.yaml").symlink_to(submissions / "loop.yaml")
    (submissions / "escape.yaml").symlink_to(outside)
    (submissions / "inside.yml").symlink_to(submissions / "ok.yaml")
    code, out, _ = verify(runner, submissions, "--problem", A4, "-f", "json")
    assert code == 2
    found = {Path(r["file"]).name: r.get("error", r.get("score")) for r in rows(out)}
    assert found == {
        "dangling.yaml": f"{submissions / 'dangling.yaml'}: a link to nothing (dangling)",
        "escape.yaml": f"{submissions / 'escape.yaml'}: a link that leads out of the folder "
        "being graded",
        "inside.yml": 20,
        "loop.yaml": f"{submissions / 'loop.yaml'}: a link that loops",
        "ok.yaml": 20,
    }


def test_an_unreadable_sub_folder_is_an_error_row(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any folder whatever its mode, so the refusal is simulated (os.scandir).
    submissions = tmp_path / "submissions"
    sheet(submissions, "a.yaml")
    sheet(submissions / "locked", "b.yaml")
    original = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == submissions / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, _ = verify(runner, submissions, "--problem", A4, "-f", "json")
    assert code == 2
    assert [r.get("error") for r in rows(out)] == [
        None,
        f"{submissions / 'locked'}: cannot read the folder: permission denied",
    ]


def test_a_permission_error_on_a_named_path_is_an_error_row(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root passes every permission check, so the refusal is simulated (os.stat).
    blocked = tmp_path / "blocked" / "s.yaml"
    good = sheet(tmp_path, "good.yaml")
    original = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    code, out, _ = verify(runner, good, blocked, "--problem", A4, "-f", "json")
    assert code == 2
    assert [r.get("error") for r in rows(out)] == [None, f"{blocked}: permission denied"]


def test_a_300_character_name_is_an_error_row(runner: CliRunner, tmp_path: Path) -> None:
    long = tmp_path / ("n" * 300 + ".yaml")
    code, out, _ = verify(runner, long, "--problem", A4, "-f", "json")
    assert code == 2
    assert rows(out)[0]["error"] == f"{long}: the name is too long"


# ---------------------------------------------------------------------------
# Identity


def test_a_self_declared_student_never_replaces_another(runner: CliRunner, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    sheet(submissions, "alice.yaml", student="bob")
    sheet(submissions, "bob.yaml", student="bob")
    sheet(submissions, "carol.yaml")
    sheet(submissions, "carol" / Path("answers.yaml"))
    code, out, _ = verify(runner, submissions, "--problem", A4, "-f", "json")
    assert code == 0
    found = [(r["student"], r.get("warnings", [])) for r in rows(out)]
    assert found == [
        ("alice", ["the sheet says student: bob; graded as alice (its file)"]),
        ("bob", []),
        (
            "carol",
            [f"another sheet of carol: {submissions / 'carol' / 'answers.yaml'}; both are graded"],
        ),
        (
            "carol",
            [f"another sheet of carol: {submissions / 'carol.yaml'}; both are graded"],
        ),
    ]
    for fmt in ("csv", "plain", "markdown", "html"):
        code, text, _ = verify(runner, submissions, "--problem", A4, "-f", fmt)
        assert "graded as alice (its file)" in text and "another sheet of carol" in text, fmt
    code, text, _ = verify(runner, submissions / "alice.yaml", "--problem", A4, "-f", "gradescope")
    assert "graded as alice (its file)" in json.loads(text)["output"]
    table = list(
        csv.DictReader(io.StringIO(verify(runner, submissions, "--problem", A4, "-f", "csv")[1]))
    )
    assert [row["student"] for row in table] == ["alice", "bob", "carol", "carol"]


# ---------------------------------------------------------------------------
# Results survive a crash


def test_results_stream_to_a_partial_file_and_resume(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submissions = tmp_path / "submissions"
    for i in range(5):
        sheet(submissions, f"s{i}.yaml")
    target = tmp_path / "grades.csv"
    original = Grader.grade
    graded: list[str] = []

    def dies_at_the_fourth(self: Grader, answers: Any) -> Any:
        if len(graded) == 3:
            raise KeyboardInterrupt  # the process is killed late in the class
        graded.append(Path(answers.file).name)
        return original(self, answers)

    monkeypatch.setattr(Grader, "grade", dies_at_the_fourth)
    args: list[str | Path] = [submissions, "--problem", A4, "-f", "csv", "-o", target]
    assert verify(runner, *args)[0] == 130
    partial = tmp_path / "grades.csv.partial"
    assert not target.exists()
    assert [Path(r["file"]).name for r in rows(partial.read_text())] == graded
    # resumed: only the two sheets left are graded
    graded.clear()
    monkeypatch.setattr(Grader, "grade", lambda self, a: graded.append(a.file) or original(self, a))
    assert verify(runner, *args, "--resume")[0] == 0
    assert [Path(f).name for f in graded] == ["s3.yaml", "s4.yaml"]
    assert not partial.exists()
    table = list(csv.DictReader(target.open()))
    assert [(row["student"], row["score"]) for row in table] == [(f"s{i}", "20") for i in range(5)]


def test_a_streamed_result_is_the_whole_result(tmp_path: Path) -> None:
    """What `-o` streams per sheet (and `--resume` reads back) is the result, field by
    field: as `dataclasses.asdict` writes it, without its deep copies."""
    folder = tmp_path / "class"
    sheet(folder, "full.yaml")
    sheet(folder, "slips.yaml", answers={**FULL, "Z1": [1, "abc", [2]], "H": "?", "Q": 1},
          equations={**COURSE_EQUATIONS, "delta2": "y - y_hat", "dW2": "delta2 H^"},
          student="mallory")  # fmt: skip
    (folder / "broken.yaml").write_text("answers: [\n")
    results = grade_files(sorted(folder.iterdir()), problem=A4)
    assert [r.error is None for r in results] == [False, True, True]
    for result in results:
        streamed = result_to_dict(result)
        assert streamed == dataclasses.asdict(result)
        assert result_from_dict(json.loads(json.dumps(streamed))) == result


def test_grading_a_class_leaves_the_cycle_collector_as_it_was(tmp_path: Path) -> None:
    """Graded results are frozen out of the collector's walks while a class is graded
    (300 sheets: past the first checkpoint), and handed back at the end; a caller's own
    frozen objects are left alone."""
    for i in range(300):
        sheet(tmp_path, f"s{i:03}.yaml")
    files = sorted(tmp_path.iterdir())
    assert gc.get_freeze_count() == 0
    frozen_during: list[int] = []
    grade_files(files, problem=A4, done=lambda r: frozen_during.append(gc.get_freeze_count()))
    assert max(frozen_during) > 0 and gc.get_freeze_count() == 0 and gc.isenabled()
    gc.freeze()  # a caller that froze its own objects
    try:
        held = gc.get_freeze_count()
        frozen_during.clear()
        grade_files(
            files[:10], problem=A4, done=lambda r: frozen_during.append(gc.get_freeze_count())
        )
        # nothing of ours joins them (the count only falls, as frozen objects die)
        assert len(frozen_during) == 10 and max(frozen_during) <= held
    finally:
        gc.unfreeze()


def test_resume_needs_an_output_file(runner: CliRunner, tmp_path: Path) -> None:
    sheet(tmp_path, "a.yaml")
    code, _, err = verify(runner, tmp_path, "--problem", A4, "-f", "csv", "--resume")
    assert code == 2 and "--resume needs -o FILE" in err

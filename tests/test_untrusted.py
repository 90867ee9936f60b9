"""One hostile answers file in a class: it never changes another student's grade, and nothing it
holds reaches an output unescaped (issue 11's property).

A folder holds three honest sheets and one file a student controls completely: its bytes, its
``problem:`` and ``student:`` fields, and its name.  Graded with the instructor's key
(``--problem``), in every format a TA pipes somewhere:

* each honest sheet's score is the score it gets when graded alone;
* no output contains a raw control character, bidi control or line separator outside the
  format's own line structure, and no CSV cell starts with a character a spreadsheet would
  execute unless the cell is a number;
* the exit code says what happened: 2 when the hostile file could not be graded, else 0 or 1.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
HONEST = {
    "full": ROOT / "tests" / "data" / "a4" / "full.yaml",
    "bias": ROOT / "tests" / "data" / "a4" / "mistake_bias.yaml",
    "zeros": ROOT / "tests" / "data" / "a4" / "all_zeros.yaml",
}
FORMATS = ("csv", "json", "plain", "markdown", "html")

#: What must never appear raw in a text output: C0 controls but the newline, DEL, C1
#: controls, bidi controls, and the separators that line-splitting readers break lines at.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_runner = CliRunner()


def _grade(folder: Path, fmt: str) -> tuple[int, str]:
    result = _runner.invoke(app, ["verify", str(folder), "--problem", str(A4), "-f", fmt])
    return result.exit_code, result.stdout


@functools.cache
def _scores_alone() -> dict[str, float]:
    """Each honest sheet's score when it is graded on its own."""
    scores = {}
    for name, path in HONEST.items():
        folder = Path(tempfile.mkdtemp())
        shutil.copy(path, folder / f"{name}.yaml")
        _, out = _grade(folder, "json")
        scores[name] = json.loads(out)["score"]
        shutil.rmtree(folder)
    return scores


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
#: A file name a student could upload: any character but '/' and NUL, not hidden.
file_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.startswith(".") and len(s.encode()) <= 200 and s not in HONEST)
hostile_sheets = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda problem, student, key, value: (
            f"problem: {json.dumps(problem)}\nstudent: {json.dumps(student)}\n"
            f"answers:\n  {json.dumps(key)}: {json.dumps(value)}\n"
        ).encode(),
        st.one_of(texts, st.sampled_from(["/etc/shadow", "/dev/zero", "../../x.yaml"])),
        st.one_of(texts, st.sampled_from(list(HONEST))),
        st.one_of(texts, st.sampled_from(["Z1", "H", "W1'"])),
        st.one_of(texts, st.lists(texts, max_size=3), st.floats(allow_nan=False)),
    ),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=hostile_sheets, name=file_names)
def test_a_hostile_sheet_changes_no_other_grade_and_reaches_no_output_raw(
    tmp_path_factory: object, content: bytes, name: str
) -> None:
    tmp = Path(tmp_path_factory.mktemp("class"))  # type: ignore[attr-defined]
    alone = _scores_alone()
    folder = tmp / "submissions"
    folder.mkdir()
    for student, path in HONEST.items():
        shutil.copy(path, folder / f"{student}.yaml")
    (folder / f"{name}.yaml").write_bytes(content)
    for fmt in FORMATS:
        code, out = _grade(folder, fmt)
        assert code in (0, 1, 2), (fmt, code)
        lines = out.split("\n")
        assert not [line for line in lines if UNSAFE.search(line)], (fmt, out)
        if fmt == "json":
            rows = [json.loads(line) for line in out.splitlines()]
            assert len(rows) == len(lines) - 1  # no record split by a line separator
            by_file = {Path(row["file"]).stem: row for row in rows}
            for student, score in alone.items():
                assert by_file[student]["score"] == score, (student, by_file[student])
            hostile = [row for row in rows if Path(row["file"]).stem not in HONEST]
            assert (code == 2) == any(row.get("error") for row in hostile)
        if fmt == "csv":
            for row in csv.reader(io.StringIO(out)):
                for cell in row:
                    assert not cell.startswith(FORMULA_START) or _is_number(cell), (cell, row)

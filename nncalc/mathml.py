"""MathML for the HTML reports: nncalc's own LaTeX of a formula, typeset by the browser.

The LaTeX comes from :func:`nncalc.notation.latex` (a parsed formula printed back), never
from a student directly, so it is a small known language: names with subscripts and
superscripts, ``\\frac``, ``\\left( … \\right)``, ``\\hat``, ``\\mathrm``,
``\\operatorname``, ``\\sqrt``, ``\\sum``, ``\\begin{cases}``, Greek letters and a few
operators. :func:`mathml` turns it into presentation MathML (which every current browser
draws, no script, no font to fetch) and returns None for anything outside that language,
so the caller shows the formula as text instead. Every character it writes is one it
knows; nothing is copied through unescaped.
"""

from __future__ import annotations

import re

from nncalc.notation import GREEK

#: Commands that stand for a letter (an identifier) or an operator, and what they show.
_LETTERS = {**GREEK, "partial": "∂"}
_OPERATORS = {
    "cdot": "·", "odot": "⊙", "star": "⋆", "top": "⊤", "geq": "≥", "leq": "≤", "times": "×",
    "sum": "∑", "ldots": "…", "cdots": "⋯",
}  # fmt: skip
_FUNCTIONS = {"exp", "log", "sin", "cos", "tanh", "max", "min"}
_CHAR_OPERATORS = {"+": "+", "-": "−", "=": "=", ",": ",", "'": "′", ">": "&gt;", "<": "&lt;"}
_CHAR_OPERATORS |= {"/": "/", "|": "|"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\[,;!\\_{}]|[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|\s+|.", re.S)
#: What the words of \mathrm, \operatorname and \text may hold.
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_]+")


class _UnknownLatexError(Exception):
    """Something outside nncalc's LaTeX: the caller falls back to text."""


def mathml(tex: str) -> str | None:
    """``<math>`` for a formula nncalc printed as LaTeX; None if it is not one of those."""
    if not tex.isascii() or len(tex) > 20_000:
        return None
    tokens = [t for t in _TOKEN.findall(tex) if not t.isspace()]
    try:
        parser = _Parser(tokens)
        body = parser.sequence(())
        if parser.i != len(tokens):
            raise _UnknownLatexError
    except (_UnknownLatexError, IndexError, RecursionError):
        return None
    return f'<math display="inline"><mrow>{body}</mrow></math>'


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.i]
        if expected is not None and token != expected:
            raise _UnknownLatexError
        self.i += 1
        return token

    def sequence(self, stops: tuple[str, ...]) -> str:
        """Atoms (each with its scripts) up to one of ``stops`` (not taken) or the end."""
        out = []
        while (token := self.peek()) is not None and token not in stops:
            out.append(self.scripted())
        return "".join(out)

    def group(self) -> str:
        """``{…}`` as one row, or a single atom."""
        if self.peek() == "{":
            self.take("{")
            inner = self.sequence(("}",))
            self.take("}")
            return f"<mrow>{inner}</mrow>"
        return self.atom()

    def scripted(self) -> str:
        base = self.atom()
        sub = sup = None
        while self.peek() in ("_", "^"):
            if self.take() == "_":
                sub = self.group()
            else:
                sup = self.group()
        if sub is not None and sup is not None:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub is not None:
            return f"<msub>{base}{sub}</msub>"
        return f"<msup>{base}{sup}</msup>" if sup is not None else base

    def atom(self) -> str:
        token = self.take()
        if token == "{":
            self.i -= 1
            return self.group()
        if token[0].isdigit():
            return f"<mn>{token}</mn>"
        if token.isalpha():  # one letter: TeX's letters are variables, one each
            return f"<mi>{token}</mi>"
        if token in ("(", "["):  # a row of its own: its fences hug what they enclose
            closing = ")" if token == "(" else "]"
            inner = self.sequence((closing,))
            self.take(closing)
            return (
                f'<mrow><mo stretchy="false">{token}</mo>{inner}'
                f'<mo stretchy="false">{closing}</mo></mrow>'
            )
        if token in _CHAR_OPERATORS:
            return f"<mo>{_CHAR_OPERATORS[token]}</mo>"
        if token == "\\,":
            return '<mspace width="0.17em"></mspace>'
        if not token.startswith("\\"):
            raise _UnknownLatexError
        return self.command(token[1:])

    def command(self, name: str) -> str:
        if name in _LETTERS:
            return f"<mi>{_LETTERS[name]}</mi>"
        if name in _OPERATORS:
            return f"<mo>{_OPERATORS[name]}</mo>"
        if name in _FUNCTIONS:
            return f'<mi mathvariant="normal">{name}</mi>'
        if name == "frac":
            top, bottom = self.group(), self.group()
            return f"<mfrac>{top}{bottom}</mfrac>"
        if name == "sqrt":
            return f"<msqrt>{self.group()}</msqrt>"
        if name == "hat":
            return f'<mover accent="true">{self.group()}<mo>^</mo></mover>'
        if name in ("mathrm", "operatorname", "text"):
            word = self.word()
            if name == "text":
                return f"<mtext>{word}</mtext>"
            return f'<mi mathvariant="normal">{word}</mi>'
        if name == "left":
            return self.fenced()
        if name == "begin":
            return self.cases()
        raise _UnknownLatexError

    def word(self) -> str:
        """The braced text of \\mathrm, \\operatorname or \\text (letters, \\_ and spaces)."""
        self.take("{")
        parts = []
        while (token := self.take()) != "}":
            parts.append("_" if token == "\\_" else token)
        word = "".join(parts)  # (nncalc's words have no spaces: otherwise, leaky_relu)
        if not _SAFE_TEXT.fullmatch(word):
            raise _UnknownLatexError
        return word

    def fenced(self) -> str:
        """\\left( … \\right) or \\left| … \\right|: one row that scripts may follow."""
        opening = self.take()
        closing = {"(": ")", "|": "|"}.get(opening)
        if closing is None:
            raise _UnknownLatexError
        inner = self.sequence(("\\right",))
        self.take("\\right")
        self.take(closing)
        bar = "|" if closing != ")" else None
        left, right = (bar, bar) if bar else ("(", ")")
        return f"<mrow><mo>{left}</mo>{inner}<mo>{right}</mo></mrow>"

    def cases(self) -> str:
        """\\begin{cases} a & c \\\\ b & \\text{otherwise} \\end{cases}: a brace and a table."""
        if self.word() != "cases":
            raise _UnknownLatexError
        rows = []
        while True:
            value = self.sequence(("&", "\\\\", "\\end"))
            self.take("&")
            condition = self.sequence(("\\\\", "\\end"))
            rows.append(f"<mtr><mtd>{value}</mtd><mtd>{condition}</mtd></mtr>")
            if self.take() == "\\end":
                break
        if self.word() != "cases":
            raise _UnknownLatexError
        table = f'<mtable columnalign="left left">{"".join(rows)}</mtable>'
        return f'<mrow><mo stretchy="true">{{</mo>{table}</mrow>'

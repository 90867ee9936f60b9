"""Outputs are inert: one escaping rule per output format, for every text that may come
from a student or a file (ids, file names, problem names and paths, labels, answers shown
as text, hints, reasons, errors, warnings).

Every byte of an answers file, its name and its folder may be an attack: an ESC sequence
that writes the clipboard (OSC 52), moves the cursor or sets the window title; a ``\\r``
that overwrites a line or starts a Markdown heading; U+202E that shows a name backwards;
a CSV cell ``=HYPERLINK(...)`` that a spreadsheet runs. Such text is shown, never obeyed:

* :func:`visible` (terminal, plain text, Gradescope's text, YAML comments, error
  messages): every character of :data:`UNSAFE` is written as Python writes it in a
  string literal (``\\x1b``, ``\\r``, ``\\u202e``), so a text is one line of what it is.
* :func:`markdown`: :func:`visible`, then Markdown's structure characters backslashed.
* :func:`html`: :func:`visible`, then HTML-escaped (content and attribute values).
* :func:`latex`: :func:`visible`, then LaTeX's special characters spelled out, and every
  character outside ASCII as ASCII (accent commands, math, or its code point).
* :func:`csv_cell`: :func:`visible`, and a cell that a spreadsheet would read as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, tab or CR, OWASP's list) gets a leading ``'``,
  unless the whole cell is a number: ``-0.5`` stays a number.
* :func:`json_dumps`: JSON keeps the text exact (it is data); ``json.dumps`` escapes C0
  controls, and every other character of :data:`UNSAFE` (U+2028, U+2029 and U+0085, which
  line-splitting readers take for line breaks, among them) is written as ``\\uXXXX``.

Ordinary text (no character of :data:`UNSAFE`) is returned unchanged by :func:`visible`,
so the rules cost one :meth:`str.isprintable` call for it. This module imports nothing of
nncalc (:mod:`nncalc.errors` uses :func:`visible` for every message).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_CONTROLS_C0 = r"\x00-\x1f"  # NUL, \t, \n, \r, ESC ...: json.dumps escapes these itself
_OTHERS = (
    r"\x7f-\x9f"  # DEL, C1 controls (NEL U+0085, CSI U+009B ...)
    r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi controls: reorder what is shown
    r"\u2028\u2029"  # line and paragraph separators
    r"\u00ad\u200b\u2060-\u2065\u206a-\u206f\ufeff"  # invisible: soft hyphen, zero width
    r"\ufff9-\ufffb"  # interlinear annotations: hide the text they enclose
    r"\ud800-\udfff"  # lone surrogates (a file name's undecodable bytes): not even encodable
    r"\ufffe\uffff"  # non-characters, which YAML and XML reject
)
#: The characters never written raw into a text output. Each is a character Python does
#: not call printable, so text that :meth:`str.isprintable` passes has none of them.
#: Zero-width (non-)joiners (U+200C, U+200D) stay: Persian and Indic names, and emoji, need them.
UNSAFE = re.compile(f"[{_CONTROLS_C0}{_OTHERS}]")
#: What :func:`json_text` escapes: a raw C0 control in JSON text is its own layout (the
#: newlines of ``indent``), as the encoder writes those inside strings escaped already.
_JSON_UNSAFE = re.compile(f"[{_OTHERS}]")

#: Markdown's structure characters: emphasis, code, links, HTML, tables, headings, math
#: (Jupyter), strikethrough and entities (``&#x202e;``). Backslashed, they are shown as they are.
MARKDOWN_SPECIALS = frozenset("\\`*_[]<>|#&$~")

#: LaTeX's special characters and how text mode writes each.
LATEX_SPECIALS = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
    "\\": r"\textbackslash{}",
    # braced: after \\ (a table's row) or \item, a bracket would open an optional argument
    "[": "{[}",
    "]": "{]}",
}

#: The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: A number as a spreadsheet reads one (ASCII digits, an optional sign and exponent).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _literal(match: re.Match[str]) -> str:
    r"""The character as Python writes it inside a string literal: ``\x1b``, ``\u202e``."""
    return repr(match.group())[1:-1]


def _code_point(match: re.Match[str]) -> str:
    r"""The character as JSON writes an escaped one: ``\u2028``."""
    return f"\\u{ord(match.group()):04x}"


def visible(text: str) -> str:
    r"""``text`` with every character of :data:`UNSAFE` shown escaped (``\x1b``, ``\r``,
    ``\u202e``): one line, nothing a terminal obeys, nothing reordered or hidden."""
    if text.isprintable():
        return text
    return UNSAFE.sub(_literal, text)


def markdown(text: str) -> str:
    r"""Text inside a Markdown line or table cell: :func:`visible`, then every structure
    character backslashed, so that no text can open a heading, a link, a cell or a "Total"."""
    shown = visible(text)
    if not MARKDOWN_SPECIALS.intersection(shown):
        return shown
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in shown)


def html(text: str) -> str:
    """Text in HTML content or an attribute value: :func:`visible`, then ``& < > " '``
    as entities."""
    from html import escape  # the html package loads its entity tables: only when used

    return escape(visible(text), quote=True)


def latex(text: str) -> str:
    r"""Text in LaTeX's text mode, as ASCII: :func:`visible`, then ``\ { } $ & # ^ _ ~ %``
    spelled out, accented Latin letters as accent commands (``\'{e}``), Greek letters and
    the signs nncalc writes (ᵀ ⊙ ∂ − ≤ →) as math, any other character as its code point
    (``{[}U+7530{]}``, shown as [U+7530]): no name, in any script, stops a document from
    compiling."""
    shown = visible(text)
    if shown.isascii():
        return "".join(LATEX_SPECIALS.get(c, c) for c in shown)
    return "".join(
        LATEX_SPECIALS.get(c, c) if c.isascii() else _latex_letter(c)
        for c in unicodedata.normalize("NFC", shown)
    )


#: Combining accents and LaTeX's text accent commands (all in its default OT1 encoding).
_LATEX_ACCENTS = {
    "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
    "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0323": "d",
    "\u0327": "c", "\u0331": "b",
}  # fmt: skip
#: Letters with a command of their own, and the signs of nncalc's texts.
_LATEX_OTHERS = {
    "ß": r"\ss{}", "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "Œ": r"\OE{}", "ø": r"\o{}",
    "Ø": r"\O{}", "å": r"\aa{}", "Å": r"\AA{}", "ł": r"\l{}", "Ł": r"\L{}", "ı": r"\i{}",
    "\u00a0": "~", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
    "…": r"\ldots{}", "·": r"\ensuremath{\cdot}", "×": r"\ensuremath{\times}",
    "÷": r"\ensuremath{\div}", "±": r"\ensuremath{\pm}", "°": r"\ensuremath{^\circ}",
    "−": r"\ensuremath{-}", "ᵀ": r"\ensuremath{^{\top}}", "⊙": r"\ensuremath{\odot}",
    "∘": r"\ensuremath{\circ}", "⋆": r"\ensuremath{\star}", "∂": r"\ensuremath{\partial}",
    "∑": r"\ensuremath{\sum}", "√": r"\ensuremath{\surd}", "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}", "≠": r"\ensuremath{\neq}", "≈": r"\ensuremath{\approx}",
    "∞": r"\ensuremath{\infty}", "→": r"\ensuremath{\to}", "←": r"\ensuremath{\leftarrow}",
    "′": r"\ensuremath{'}", "⋮": r"\ensuremath{\vdots}", "⋯": r"\ensuremath{\cdots}",
    "✓": r"\ensuremath{\surd}", "✗": r"\ensuremath{\times}", "•": r"\ensuremath{\bullet}",
    "↪": r"\ensuremath{\hookrightarrow}",
    **{d: rf"\textsuperscript{{{i}}}" for i, d in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
    **{d: rf"\ensuremath{{_{{{i}}}}}" for i, d in enumerate("₀₁₂₃₄₅₆₇₈₉")},
}  # fmt: skip
_GREEK_SMALL = (
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "o", "pi", "rho", "varsigma", "sigma", "tau", "upsilon", "phi",
    "chi", "psi", "omega",
)  # fmt: skip
#: Capital Greek letters that look like Latin ones have no command: they are those letters.
_GREEK_CAPITAL = (
    "A", "B", "Gamma", "Delta", "E", "Z", "H", "Theta", "I", "K", "Lambda", "M", "N", "Xi", "O",
    "Pi", "P", "-", "Sigma", "T", "Upsilon", "Phi", "X", "Psi", "Omega",
)  # fmt: skip
_LATEX_GREEK = {
    **{chr(0x3B1 + i): name for i, name in enumerate(_GREEK_SMALL)},
    **{chr(0x391 + i): name for i, name in enumerate(_GREEK_CAPITAL) if name != "-"},
}


def _latex_letter(c: str) -> str:
    """One character outside ASCII, in LaTeX's text mode, as ASCII (see :func:`latex`)."""
    if c in _LATEX_OTHERS:
        return _LATEX_OTHERS[c]
    greek = _LATEX_GREEK.get(c)
    if greek is not None:
        return rf"\ensuremath{{\{greek}}}" if len(greek) > 1 else greek
    decomposed = unicodedata.normalize("NFD", c)
    base, accents = decomposed[0], decomposed[1:]
    if base.isascii() and base.isalpha() and accents and all(a in _LATEX_ACCENTS for a in accents):
        if base in "ij" and accents[0] != "\u0327":  # the dot makes way for the accent
            base = "\\" + base
        for accent in accents:
            base = f"\\{_LATEX_ACCENTS[accent]}{{{base}}}"
        return base
    return f"{{[}}U+{ord(c):04X}{{]}}"


def is_number(text: str) -> bool:
    """Whether a spreadsheet reads ``text`` as a plain number (``-0.5``, ``1e-3``)."""
    return _NUMBER.fullmatch(text) is not None


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows and never runs: :func:`visible`, and a leading ``'``
    on a cell that starts like a formula (:data:`FORMULA_STARTS`) and is not a number."""
    if text.startswith(FORMULA_STARTS) and not is_number(text):
        return "'" + visible(text)
    return visible(text)


def json_text(dumped: str) -> str:
    r"""JSON text (as :func:`json.dumps` wrote it) with every character of :data:`UNSAFE`
    written as ``\uXXXX``: the same data, and one line stays one line for any reader."""
    if dumped.isprintable() or _JSON_UNSAFE.search(dumped) is None:  # JSON Lines; indented
        return dumped
    return _JSON_UNSAFE.sub(_code_point, dumped)


def json_dumps(value: Any, **options: Any) -> str:
    """:func:`json.dumps` with ``ensure_ascii=False`` (text as it is, readable), then
    :func:`json_text`. ``options`` go to :func:`json.dumps` (``indent``, ``allow_nan``)."""
    import json

    return json_text(json.dumps(value, ensure_ascii=False, **options))


# -- YAML (the sheets and variants nncalc writes) ------------------------------------------

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SHORT_ESCAPES |= {"\b": "\\b", "\f": "\\f"}


def yaml_string(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that reads back as exactly ``text``.

    Only printable ASCII is written as itself; everything else is a YAML escape
    (``\\uXXXX``, and ``\\UXXXXXXXX`` beyond the BMP, which PyYAML does not read as a
    pair of surrogates), so the line survives any editor, encoding and line-splitting.
    For text without characters beyond the BMP or DEL this is exactly ``json.dumps``.
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


#: Characters shown escaped in a comment: controls (line breaks included), format
#: characters (bidi overrides, BOM), separators, surrogates, private and unassigned.
_NOT_IN_COMMENTS = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def yaml_comment(text: str) -> str:
    """``text`` made safe to follow a ``#`` on one line of YAML: readable characters
    stay, anything that could end the line, hide text or make PyYAML refuse the file
    is shown as its ``\\uXXXX`` escape."""
    return "".join(
        (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        if unicodedata.category(ch) in _NOT_IN_COMMENTS
        else ch
        for ch in text
    )

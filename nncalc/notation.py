"""Students' equations: a whitelist parser of the notations of a derivation, and two printers.

An answers file may hold an equation such as ``dW2: "\\delta_2 H^\\top"`` or
``"np.dot(W2.T, delta2) * fprime1"``.  This module reads such text in the common spellings
(the engine's Unicode, LaTeX, NumPy, plain text) into one small tree: syntax only, with no
knowledge of a problem and no evaluation (the grader resolves the names and evaluates).
The text is untrusted: it is read by a whitelist tokenizer and a recursive-descent parser
(never ``eval``), with limits on length and nesting, and every refusal is a
:class:`NotationError` that names the column and what was expected.

:func:`text` and :func:`latex` print a tree back in the engine's notation (``·`` a matrix
product, ``⊙`` elementwise, ``ᵀ``, ``Σ_b``, ``f1'(Z1)``) with as few parentheses as its
precedence needs; what they print parses back to the same tree.
"""

from __future__ import annotations

import itertools
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Literal

from nncalc.errors import NncalcError
from nncalc.expr import _fmt


class NotationError(NncalcError):
    """A refused formula; `position` is the 0-based column of the problem in the source."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


# --- The tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A tree node; `pos` is the column where its text starts (not compared), `depth` its height."""

    pos: int = field(default=0, compare=False, kw_only=True)
    depth: int = field(default=1, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", 1 + max((k.depth for k in self.children()), default=0))

    def children(self) -> tuple[Node, ...]:
        found: list[Node] = []
        for f in fields(self):
            if f.init and f.name != "pos":
                _collect(getattr(self, f.name), found)
        return tuple(found)


def _collect(value: object, found: list[Node]) -> None:
    if isinstance(value, Node):
        found.append(value)
    elif isinstance(value, tuple):
        for item in value:
            _collect(item, found)


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Sym(Node):
    """A quantity as written, decorations removed ("W_1", "δ2", "ŷ", "dL/dW2", "W[1]", "lr")."""

    written: str


@dataclass(frozen=True)
class StepSym(Node):
    """A quantity at the rnn time step t + offset: δ1_t is ("δ1", 0), h_(t−1) is ("h", −1)."""

    written: str
    offset: int


@dataclass(frozen=True)
class Neg(Node):
    u: Node


@dataclass(frozen=True)
class Binary(Node):
    a: Node
    b: Node


class Add(Binary):
    pass


class Sub(Binary):
    pass


class Div(Binary):
    pass


class MatMul(Binary):
    """A matrix product (·, @, juxtaposition, np.dot); a scalar factor is a product too."""


class Hadamard(Binary):
    """The elementwise product (⊙, .*, np.multiply, `*` in NumPy notation)."""


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Transpose(Node):
    u: Node


@dataclass(frozen=True)
class Call(Node):
    """func(args): see FUNCTIONS; `layer` is the index written on f or f' (f1'(Z1) → 1)."""

    func: str
    args: tuple[Node, ...]
    layer: int | None = None


@dataclass(frozen=True)
class Sum(Node):
    """Σ over the named indices (Σ_b: over the batch); () sums every entry."""

    indices: tuple[str, ...]
    body: Node


Comparison = Literal[">", ">=", "<", "<="]


@dataclass(frozen=True)
class Indicator(Node):
    """1 where `a op b`, else 0 (Iverson's [a > b])."""

    op: Comparison
    a: Node
    b: Node


@dataclass(frozen=True)
class Piecewise(Node):
    """The first case whose condition holds, else `otherwise` (None: no such case written)."""

    cases: tuple[tuple[Node, Indicator], ...]
    otherwise: Node | None


@dataclass(frozen=True)
class Equation:
    source: str  # as written
    lhs: str | None  # raw text before the first top-level '=' (stripped); None without '='
    sides: tuple[Node, ...]  # every right-hand side
    numpy: bool  # NumPy notation was used (np., numpy., .T): then `*` is elementwise


#: Every function name a Call may hold.
FUNCTIONS = (
    *("exp", "log", "log10", "sin", "cos", "tanh", "relu", "sigmoid", "softmax", "sqrt"),
    *("abs", "xcorr", "flatten", "reshape", "f", "fprime", "relu'", "sigmoid'", "tanh'"),
    *("identity", "linear", "softplus", "leaky_relu", "elu"),  # the problem file's activations
)
_TWO_ARGUMENTS = {"xcorr"}
#: Functions with an optional second argument, their parameter (leaky_relu(z, 0.01)).
_PARAMETER_ARGUMENT = {"leaky_relu", "elu"}
_SPELLINGS = {
    **{name: name for name in FUNCTIONS if name not in ("f", "fprime") and "'" not in name},
    "ln": "log",
    "ReLU": "relu",
    "Relu": "relu",
    "σ": "sigmoid",
    "sigma": "sigmoid",
    "conv2d": "xcorr",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "Softplus": "softplus",
    "correlate": "xcorr",
}
_PRIMED = {"relu", "sigmoid", "tanh"}  # relu'(z), σ'(z), tanh'(z)
_NUMPY = (
    *("dot", "matmul", "outer", "multiply", "transpose", "maximum", "sum", "where"),
    *("exp", "log", "log10", "sin", "cos", "tanh", "sqrt", "abs"),
)
_LEARNING_RATE = {"alpha", "α", "lr", "eta", "η"}
_ENTRY_INDICES = {"i", "j", "k", "n"}  # y_i, z_j: an entry, not a quantity
_WORDS = {"if", "else", "otherwise"}
_FORBIDDEN = {w for w in keyword.kwlist if w not in ("if", "else")} | {"eval", "exec"}
#: Greek letters by their LaTeX commands, as nncalc reads and writes them.
GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ",
    "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ",
    "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω",
}  # fmt: skip
_GREEK_COMMAND = {letter: name for name, letter in GREEK.items() if not name.startswith("var")}

# --- Tokenizer -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_BRACED_WORD = re.compile(r"\s*\{([^{}]*)\}")
_SUPERSCRIPTS = {c: d for d, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
_SUBSCRIPTS = {c: d for d, c in enumerate("₀₁₂₃₄₅₆₇₈₉")}
_SINGLE = {
    "+": "+", "-": "-", "−": "-", "–": "-", "·": "·", "⋅": "·", "×": "·", "@": "·",
    "⊙": "⊙", "∘": "⊙", "⋆": "⋆", "/": "/", "÷": "/", "^": "^", "_": "_", "ᵀ": "ᵀ",
    "'": "'", "′": "'", "’": "'", "(": "(", ")": ")", "[": "[", "]": "]", "{": "{", "}": "}",
    ",": ",", ";": ";", "&": "&", "=": "=", "|": "|", "∂": "∂", "Σ": "Σ", "∑": "Σ",
    "≥": ">=", "≤": "<=", "*": "*",
}  # fmt: skip
_LATEX_OPS = {
    "cdot": "·", "times": "·", "odot": "⊙", "circ": "⊙", "star": "⋆", "div": "/",
    "geq": ">=", "ge": ">=", "leq": "<=", "le": "<=", "gt": ">", "lt": "<", "partial": "∂",
    "sum": "Σ", "frac": "frac", "dfrac": "frac", "tfrac": "frac", "prime": "'",
}  # fmt: skip
_LATEX_NAMES = {
    **{f: f for f in ("exp", "log", "ln", "sin", "cos", "tanh", "max", "sqrt")},
    "top": "⊤",
    "intercal": "⊤",
    **GREEK,
}
_LATEX_SKIP = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
    "biggr", "Biggl", "Biggr", "displaystyle", "textstyle", "quad", "qquad", "limits",
    "nolimits",
}  # fmt: skip
_DECORATIONS = {
    "hat": "hat", "widehat": "hat", "mathbf": "bold", "boldsymbol": "bold", "bm": "bold",
    "vec": "bold", "mathit": "bold", "mathsf": "bold",
}  # fmt: skip
_WORD_COMMANDS = {"text", "textrm", "mathrm", "operatorname"}
_TRANSPOSE_NAMES = {"T", "⊤"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "num" "name" "op" "sup" (superscript digits) "deco" "one" "end" "bad" (refused)
    text: str
    pos: int
    end: int
    value: float = 0.0


def _error(source: str, what: str, pos: int) -> NotationError:
    """The user-facing message: where (1-based column), what was expected, and the text there."""
    shown = re.sub(r"\s", " ", source)
    if len(shown) > 60:
        start = max(0, min(pos - 30, len(shown) - 60))
        end = start + 60
        shown = ("…" if start else "") + shown[start:end] + ("…" if end < len(source) else "")
    return NotationError(f'column {pos + 1}: {what} in "{shown}"', pos)


def _is_letter(c: str) -> bool:
    """Letters of names: Latin (with accents, as in ŷ) and Greek, not Σ (a sum) nor π (a number)."""
    if not c.isalpha() or c in "Σπ×÷":
        return False
    return c.isascii() or "\u00c0" <= c <= "\u024f" or "\u0370" <= c <= "\u03ff"


def _is_combining(c: str) -> bool:
    return "\u0300" <= c <= "\u036f"


class _Tokenizer:
    def __init__(self, source: str, start: int, stop: int, shown: str) -> None:
        self.source = source
        self.shown = shown  # as written (`source` has the surrounding $ … $ blanked)
        self.i = start
        self.stop = stop
        self.tokens: list[_Token] = []

    def error(self, what: str, pos: int) -> NotationError:
        return _error(self.shown, what, pos)

    def add(self, kind: str, text: str, pos: int, end: int, value: float = 0.0) -> None:
        self.tokens.append(_Token(kind, text, pos, end, value))

    def run(self) -> list[_Token]:
        src = self.source
        while self.i < self.stop:
            c, i = src[self.i], self.i
            if c.isspace() or c == "~":
                self.i += 1
            elif (c.isascii() and c.isdigit()) or (c == "." and src[i + 1 : i + 2].isdigit()):
                self.number()
            elif _is_letter(c):
                self.name()
            elif c == "\\":
                self.command()
            elif c == ".":
                self.dot()
            elif c in "<>":
                text = c + ("=" if src.startswith("=", i + 1) else "")
                self.add("op", text, i, i + len(text))
                self.i += len(text)
            elif src.startswith("**", i):
                self.add("op", "^", i, i + 2)
                self.i += 2
            elif src.startswith("==", i) or c == "≠" or src.startswith("!=", i):
                raise self.error(
                    f"{src[i : i + 2] if c != '≠' else c!r} is not allowed; "
                    "a condition is a comparison with > ≥ < ≤",
                    i,
                )
            elif c in _SINGLE:
                self.add("op", _SINGLE[c], i, i + 1)
                self.i += 1
            elif c in _SUPERSCRIPTS or c == "⁻":
                self.superscript()
            elif c in _SUBSCRIPTS:
                j = i
                while j < self.stop and src[j] in _SUBSCRIPTS:
                    j += 1
                digits = "".join(str(_SUBSCRIPTS[d]) for d in src[i:j])
                self.add("op", "_", i, i)
                self.add("num", digits, i, j, float(digits))
                self.i = j
            elif c == "½":
                self.add("num", "0.5", i, i + 1, 0.5)
                self.i += 1
            elif c == "π":
                self.add("name", "π", i, i + 1)
                self.i += 1
            elif c == "𝟙":
                self.add("one", "𝟙", i, i + 1)
                self.i += 1
            elif c == "$":
                raise self.error("'$' may only surround the whole formula", i)
            elif c in '"`':
                raise self.error("quotes are not allowed", i)
            else:
                raise self.error(f"unexpected character {c!r}", i)
        self.add("end", "", self.stop, self.stop)
        return self.tokens

    def number(self) -> None:
        match = _NUMBER.match(self.source, self.i)
        assert match is not None  # a digit, or '.' and a digit, starts a number
        value = float(match.group())
        if not math.isfinite(value):
            raise self.error(f"number {match.group()!r} is too large", self.i)
        self.add("num", match.group(), self.i, match.end(), value)
        self.i = match.end()

    def name(self) -> None:
        src, j = self.source, self.i + 1
        while j < self.stop and (
            _is_letter(src[j]) or _is_combining(src[j]) or (src[j].isascii() and src[j].isdigit())
        ):
            j += 1
        if src[self.i : j] == "leaky" and src[j : j + 5] == "_relu":  # one function's name
            j += 5
        self.add("name", unicodedata.normalize("NFC", src[self.i : j]), self.i, j)
        self.i = j

    def dot(self) -> None:
        nxt = self.source[self.i + 1 : self.i + 2]
        if nxt == "*":
            self.add("op", "⊙", self.i, self.i + 2)
            self.i += 2
        elif nxt.isascii() and nxt.isalpha():
            self.add("op", ".", self.i, self.i + 1)
            self.i += 1
        else:
            raise self.error("unexpected '.'", self.i)

    def superscript(self) -> None:
        src, i = self.source, self.i
        j = i + 1 if src[i] == "⁻" else i
        k = j
        while k < self.stop and src[k] in _SUPERSCRIPTS:
            k += 1
        if k == j:
            raise self.error("expected superscript digits after '⁻'", k)
        value = int("".join(str(_SUPERSCRIPTS[d]) for d in src[j:k]))
        value = -value if j > i else value
        self.add("sup", str(value), i, k, float(value))
        self.i = k

    def command(self) -> None:
        src, i = self.source, self.i
        nxt = src[i + 1 : i + 2]
        if nxt in (",", ";", "!", ":", " ", ">"):
            self.i += 2
            return
        if nxt in ("{", "}"):
            self.add("op", nxt, i, i + 2)
            self.i += 2
            return
        if nxt == "\\":
            self.add("op", "\\\\", i, i + 2)
            self.i += 2
            return
        match = _COMMAND.match(src, i)
        if match is None or match.end() > self.stop:
            raise self.error(f"unexpected {src[i : i + 2]!r}", i)
        name, end = match.group(1), match.end()
        self.i = end
        if name in _LATEX_SKIP:
            if name in ("left", "right") and src[end : end + 1] == ".":
                self.i += 1
        elif name in _LATEX_OPS:
            self.add("op", _LATEX_OPS[name], i, end)
        elif name in _LATEX_NAMES:
            j = end
            while name in GREEK and j < self.stop and src[j].isascii() and src[j].isdigit():
                j += 1  # \delta2 reads as δ2
            self.add("name", _LATEX_NAMES[name] + src[end:j], i, j)
            self.i = j
        elif name in _DECORATIONS:
            self.add("deco", _DECORATIONS[name], i, end)
        elif name in _WORD_COMMANDS:
            self.word_command(name, i, end)
        elif name == "mathbb":
            braced = _BRACED_WORD.match(src, end)
            if braced is None or braced.group(1).strip() != "1" or braced.end() > self.stop:
                raise self.error("expected \\mathbb{1} (an indicator)", end)
            self.add("one", "𝟙", i, braced.end())
            self.i = braced.end()
        elif name in ("begin", "end"):
            braced = _BRACED_WORD.match(src, end)
            if braced is None or braced.group(1).strip() != "cases" or braced.end() > self.stop:
                raise self.error(f"only \\{name}{{cases}} is understood here", i)
            self.add("op", f"{name}_cases", i, braced.end())
            self.i = braced.end()
        else:
            raise self.error(f"unknown LaTeX command '\\{name}'", i)

    def word_command(self, name: str, start: int, end: int) -> None:
        """\\text{otherwise}, \\operatorname{softmax}: the word as a name."""
        braced = _BRACED_WORD.match(self.source, end)
        if braced is None or braced.end() > self.stop:
            raise self.error(f"expected '{{' and a word after \\{name}", end)
        word = braced.group(1).strip()
        self.i = braced.end()
        if not word:
            return
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", word):
            raise self.error(f"\\{name}{{…}} may hold only one word, such as otherwise", end)
        self.add("name", word, braced.start(1), braced.end(1))


# --- Parser --------------------------------------------------------------------------------------

_COMPARISON_OF: dict[str, Comparison] = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_COMPARISONS = set(_COMPARISON_OF)
_ATOM_OPS = {"(", "[", "{", "∂", "Σ", "frac", "begin_cases", "|"}
_CLOSERS = {"(": ")", "[": "]", "{": "}", "|": "|"}
_SubscriptKind = Literal["time", "drop", "append", "concat"]


def _minus_one(node: Node) -> bool:
    return (isinstance(node, Neg) and node.u == Num(1.0)) or node == Num(-1.0)


class _Parser:
    """Recursive descent.  Precedence, lowest first: `A if c, B otherwise`; + −; the products
    (· ⊙ ⋆ / * and juxtaposition, left to right); unary −; powers and the postfix ᵀ ' .T.

    `nesting` counts the recursions (brackets, calls, unary signs, exponents, sums, fractions)
    and every built node is checked against `max_depth`, so parsing and the printers' tree
    walks stay far below Python's recursion limit.
    """

    def __init__(
        self,
        source: str,
        tokens: list[_Token],
        numpy: bool,
        max_depth: int,
        error: NotationError | None = None,
    ) -> None:
        self.source = source
        self.tokens = tokens
        self.numpy = numpy
        self.max_depth = max_depth
        self.i = 0
        self.nesting = 0
        self.tokenizer_error = error or NotationError("", 0)
        self.arrive()

    # -- helpers --

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> _Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
            self.arrive()
        return tok

    def arrive(self) -> None:
        """A character the tokenizer refused is reported when the parser reaches it, so the
        first problem from the left is the one reported ("lambda x: x": 'lambda')."""
        if self.tok.kind == "bad":
            raise self.tokenizer_error

    def at(self, *texts: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok.kind == "op" and tok.text in texts

    def word(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text in words

    def adjacent(self) -> bool:
        """No space between the previous token and this one."""
        return self.i > 0 and self.tokens[self.i - 1].end == self.tok.pos

    def error(self, what: str, pos: int) -> NotationError:
        return _error(self.source, what, pos)

    def unexpected(self, expected: str) -> NotationError:
        tok = self.tok
        if tok.kind == "end":
            return self.error(f"expected {expected}", tok.pos)
        found = self.source[tok.pos : tok.end] or tok.text
        return self.error(f"expected {expected}, found '{found}'", tok.pos)

    def nest(self, pos: int, delta: int = 1) -> None:
        self.nesting += delta
        if self.nesting > self.max_depth:
            raise self.error(f"the formula is nested more than {self.max_depth} levels deep", pos)

    def checked(self, node: Node) -> Node:
        if node.depth > self.max_depth:
            raise self.error(
                f"the formula is nested more than {self.max_depth} levels deep", node.pos
            )
        return node

    def expect(self, text: str, expected: str) -> _Token:
        if not self.at(text):
            raise self.unexpected(expected)
        return self.advance()

    def close(self, opening: _Token) -> None:
        closer = _CLOSERS.get(opening.text, "}")
        if not self.at(closer):
            shown = self.source[opening.pos : opening.end]
            raise self.unexpected(f"{closer!r} to close the {shown!r} at column {opening.pos + 1}")
        self.advance()

    def starts_atom(self) -> bool:
        """Whether the next token starts a factor (juxtaposition: W1 x, δ2 Hᵀ, 2 x)."""
        tok = self.tok
        if tok.kind in ("num", "deco", "one"):
            return True
        if tok.kind == "name":
            return tok.text not in _WORDS
        return tok.kind == "op" and tok.text in _ATOM_OPS and tok.text != "|"

    # -- the grammar, lowest precedence first --

    def side(self) -> Node:
        if self.tok.kind == "end":
            raise self.unexpected("a formula")
        node = self.conditional()
        if self.tok.kind != "end":
            if self.at(")", "]", "}"):
                raise self.error(f"unmatched {self.tok.text!r}", self.tok.pos)
            raise self.unexpected("an operator (+ − · ⊙ / ^) or the end of the formula")
        return node

    def conditional(self, first: Node | None = None) -> Node:
        """`A if c else B`, `A if c, B otherwise`, `A if c; B otherwise`, or just A."""
        value = self.expression() if first is None else first
        if not self.word("if"):
            return value
        start = value.pos
        cases: list[tuple[Node, Indicator]] = []
        otherwise: Node | None = None
        while self.word("if"):
            self.advance()
            cases.append((value, self.condition()))
            if self.word("else"):
                self.advance()
                value = self.expression()
            elif self.at(",", ";"):
                self.advance()
                value = self.expression()
                if not self.word("if", "otherwise"):
                    raise self.unexpected("'if' and a condition, or 'otherwise'")
                if self.word("otherwise"):
                    self.advance()
                    otherwise = value
                    break
            else:
                break
            if not self.word("if"):
                otherwise = value
        return self.checked(Piecewise(tuple(cases), otherwise, pos=start))

    def condition(self) -> Indicator:
        a = self.expression()
        if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            return self.comparison(a)
        if isinstance(a, Indicator):
            return a
        raise self.unexpected("a comparison such as 'Z1 > 0'")

    def comparison(self, a: Node) -> Indicator:
        op: Comparison = _COMPARISON_OF[self.advance().text]
        b = self.expression()
        node = self.checked(Indicator(op, a, b, pos=a.pos))
        assert isinstance(node, Indicator)
        return node

    def expression(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            op = self.advance()
            right = self.term()
            node = self.checked((Add if op.text == "+" else Sub)(node, right, pos=node.pos))
        return node

    def term(self) -> Node:
        node = self.unary()
        while True:
            if self.at("·", "⊙", "⋆", "/", "*"):
                op = self.advance().text
                node = self.product(op, node, self.unary())
            elif self.starts_atom():
                right = self.factor()
                if node == Num(1.0) and isinstance(right, Indicator):
                    node = right  # 1[x > 0], \mathbf{1}\{x > 0\}
                else:
                    node = self.product("·", node, right)
            else:
                return node

    def product(self, op: str, a: Node, b: Node) -> Node:
        pos = a.pos
        if op == "*":
            op = "⊙" if self.numpy else "·"
        if op == "⋆":
            return self.checked(Call("xcorr", (a, b), pos=pos))
        kind = {"·": MatMul, "⊙": Hadamard, "/": Div}[op]
        return self.checked(kind(a, b, pos=pos))

    def unary(self) -> Node:
        if not self.at("-", "+"):
            return self.factor()
        op = self.advance()
        self.nest(op.pos)
        operand = self.unary()
        self.nest(op.pos, -1)
        return operand if op.text == "+" else self.checked(Neg(operand, pos=op.pos))

    def factor(self) -> Node:
        return self.postfix(self.atom())

    def postfix(self, node: Node) -> Node:
        """ᵀ, ' (a transpose), ², ^…, ** …, .T, .dot(b), .astype(float)."""
        while True:
            tok = self.tok
            if self.at("ᵀ", "'"):
                self.advance()
                node = Transpose(node, pos=node.pos)
            elif tok.kind == "sup":
                self.advance()
                if tok.value == -1:
                    raise self.inverse(tok.pos)
                power = Num(abs(tok.value), pos=tok.pos)
                exponent = power if tok.value >= 0 else Neg(power, pos=tok.pos)
                node = Pow(node, exponent, pos=node.pos)
            elif self.at("^"):
                node = self.superscript(node)
            elif self.at(".") and self.peek().kind == "name":
                node = self.method(node)
            else:
                return node
            self.checked(node)

    def inverse(self, pos: int) -> NotationError:
        return self.error(
            "a matrix inverse (^-1) has no place in backpropagation; "
            "the backward pass multiplies by transposes (ᵀ)",
            pos,
        )

    def superscript(self, base: Node) -> Node:
        caret = self.advance()
        if self.tok.kind == "name" and self.tok.text in _TRANSPOSE_NAMES:
            self.advance()
            return Transpose(base, pos=base.pos)
        if self.at("{") and self.peek().text in _TRANSPOSE_NAMES and self.at("}", k=2):
            self.i += 3
            return Transpose(base, pos=base.pos)
        exponent = self.exponent(caret)
        return Pow(base, exponent, pos=base.pos)

    def exponent(self, caret: _Token) -> Node:
        self.nest(caret.pos)
        if self.at("-"):
            minus = self.advance()
            exponent: Node = Neg(self.atom(), pos=minus.pos)
        else:
            exponent = self.atom()
        if self.at("^") and not self.transpose_follows(1):  # x^y^z = x^(y^z)
            exponent = self.checked(Pow(exponent, self.exponent(self.advance()), pos=exponent.pos))
        self.nest(caret.pos, -1)
        if _minus_one(exponent):
            raise self.inverse(caret.pos)
        return exponent

    def method(self, node: Node) -> Node:
        self.advance()  # '.'
        name = self.advance()
        if name.text == "T":
            return Transpose(node, pos=node.pos)
        if name.text == "dot":
            args = self.arguments(1, f".{name.text}")
            return MatMul(node, args[0], pos=node.pos)
        if name.text == "astype":
            opening = self.expect("(", "'(' after .astype")
            kind = self.advance()
            if kind.text in ("np", "numpy") and self.at("."):
                self.advance()
                kind = self.advance()
            if kind.text not in ("float", "int", "float64", "float32", "int64", "int32"):
                raise self.error("expected a number type such as float in .astype(…)", kind.pos)
            self.close(opening)
            return node
        raise self.error(
            f"unknown method '.{name.text}'; expected .T, .dot(…) or .astype(float)", name.pos
        )

    # -- atoms --

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            node: Node = Num(tok.value, pos=tok.pos)
            if tok.value == 1 and self.at("_") and self.adjacent():
                self.advance()
                return self.indicator_group("1_{x > 0}")
            return node
        if tok.kind == "one":
            self.advance()
            if self.at("_"):
                self.advance()
            return self.indicator_group("𝟙[x > 0]")
        if tok.kind == "name":
            return self.name_atom()
        if tok.kind == "deco":
            if self.at("{", k=1) and self.peek(2).kind == "num" and self.at("}", k=3):
                self.i += 4  # \mathbf{1}
                return Num(self.peek(-2).value, pos=tok.pos)
            return self.symbol()
        if self.at("∂"):
            return self.partial()
        if self.at("Σ"):
            return self.sigma()
        if self.at("frac"):
            return self.fraction()
        if self.at("(", "[", "{"):
            return self.group()
        if self.at("|"):
            opening = self.advance()
            self.nest(opening.pos)
            inner = self.expression()
            self.close(opening)
            self.nest(opening.pos, -1)
            return self.checked(Call("abs", (inner,), pos=opening.pos))
        if self.at("begin_cases"):
            return self.cases()
        if self.at("^") or tok.kind == "sup":
            raise self.unexpected("a number, a name or '(' before the power")
        raise self.unexpected("a number, a name, a function or '('")

    def group(self) -> Node:
        """(…), […], {…}: grouping; a comparison inside is an indicator; {A, c; B, otherwise}."""
        opening = self.advance()
        self.nest(opening.pos)
        node = self.expression()
        if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            node = self.comparison(node)
        elif self.word("if"):
            node = self.conditional(node)
        elif opening.text == "{" and self.at(","):
            node = self.brace_cases(node)
        self.close(opening)
        self.nest(opening.pos, -1)
        return node

    def brace_cases(self, value: Node) -> Node:
        """{1 + cos(x), x > 0; cos(x), otherwise}"""
        cases: list[tuple[Node, Indicator]] = []
        otherwise: Node | None = None
        while True:
            self.expect(",", "',' and a condition")
            if self.word("otherwise", "else") and cases:
                self.advance()
                otherwise = value
                break
            if self.word("if"):
                self.advance()
            cases.append((value, self.condition()))
            if not self.at(";"):
                break
            self.advance()
            value = self.expression()
        return self.checked(
            Piecewise(tuple(cases), otherwise, pos=cases[0][0].pos if cases else value.pos)
        )

    def indicator_group(self, example: str) -> Indicator:
        if not self.at("(", "[", "{"):
            raise self.unexpected(f"a condition in brackets, as in {example}")
        start = self.tok.pos
        node = self.group()
        if not isinstance(node, Indicator):
            raise self.error(f"expected a comparison, as in {example}", start)
        return node

    def cases(self) -> Node:
        """\\begin{cases} A & x > 0 \\\\ B & \\text{otherwise} \\end{cases}"""
        begin = self.advance()
        self.nest(begin.pos)
        cases: list[tuple[Node, Indicator]] = []
        otherwise: Node | None = None
        while True:
            value = self.expression()
            self.expect("&", "'&' and a condition")
            if self.word("if"):
                self.advance()
            if self.word("otherwise", "else"):
                self.advance()
                otherwise = value
            else:
                cases.append((value, self.condition()))
            if self.at(","):
                self.advance()
            if self.at("\\\\"):
                self.advance()
            if self.at("end_cases") or otherwise is not None:
                break
        self.expect("end_cases", "\\end{cases}")
        self.nest(begin.pos, -1)
        if not cases:
            raise self.error("expected at least one case with a condition", begin.pos)
        return self.checked(Piecewise(tuple(cases), otherwise, pos=begin.pos))

    def sigma(self) -> Node:
        """Σ_b body, Σ_{b,p,q} body, \\sum_{t=1}^{T} body: the body is the rest of the term."""
        sign = self.advance()
        indices: list[str] = []
        if self.at("_"):
            self.advance()
            indices = self.sum_indices()
        if self.at("^"):  # an upper bound: ignored
            self.advance()
            if self.at("{"):
                self.skip_braces()
            else:
                self.advance()
        self.nest(sign.pos)
        body = self.term()
        self.nest(sign.pos, -1)
        kept = tuple(i for i in indices if i not in _ENTRY_INDICES)
        return self.checked(Sum(kept, body, pos=sign.pos))

    def sum_indices(self) -> list[str]:
        names: list[str] = []
        if self.at("{"):
            opening = self.advance()
            while self.tok.kind == "name":
                names.append(self.advance().text)
                if self.at("="):  # a lower bound: ignored
                    self.advance()
                    while self.tok.kind in ("num", "name") or self.at("+", "-"):
                        self.advance()
                if not self.at(","):
                    break
                self.advance()
            self.close(opening)
            return names
        if self.tok.kind != "name":
            raise self.unexpected("an index such as Σ_b or Σ_{b,p,q}")
        names.append(self.advance().text)
        while self.at(",") and self.peek().kind == "name" and len(self.peek().text) == 1:
            self.advance()
            names.append(self.advance().text)
        return names

    def skip_braces(self) -> None:
        opening = self.advance()
        depth = 1
        while depth:
            if self.tok.kind == "end":
                raise self.unexpected(f"'}}' to close the '{{' at column {opening.pos + 1}")
            tok = self.advance()
            depth += {"{": 1, "}": -1}.get(tok.text, 0) if tok.kind == "op" else 0

    def fraction(self) -> Node:
        """\\frac{a}{b}, and \\frac{\\partial L}{\\partial W_1} (one name, as ∂L/∂W1)."""
        frac = self.advance()
        self.nest(frac.pos)
        if self.at("{") and self.at("∂", k=1):
            opening = self.advance()
            self.advance()
            top = self.symbol_name()[0]
            self.close(opening)
            opening = self.expect("{", "'{' and the denominator")
            self.expect("∂", "'\\partial' in the denominator")
            bottom, offset = self.symbol_name()
            self.close(opening)
            node: Node = _derivative(f"d{top}", f"d{bottom}", offset, frac.pos)
        elif self.tok.kind == "num" and re.fullmatch("[0-9]{2}", self.tok.text):
            digits = self.advance()  # \frac12
            node = Div(Num(float(digits.text[0]), pos=digits.pos), Num(float(digits.text[1])))
        else:
            a, b = self.atom(), self.atom()
            if isinstance(a, Sym) and isinstance(b, Sym | StepSym) and _is_d(a, b):
                node = _derivative(a.written, b.written, _offset(b), frac.pos)
            else:
                node = Div(a, b, pos=frac.pos)
        self.nest(frac.pos, -1)
        return self.checked(node)

    def partial(self) -> Node:
        """∂L/∂W2 (also \\partial L / \\partial W_2): one name, "dL/dW2"."""
        start = self.advance()
        top = self.symbol_name()[0]
        self.expect("/", "'/' in ∂L/∂…")
        self.expect("∂", "'∂' in ∂L/∂…")
        bottom, offset = self.symbol_name()
        return _derivative(f"d{top}", f"d{bottom}", offset, start.pos)

    # -- names --

    def name_atom(self) -> Node:
        tok = self.tok
        name = tok.text
        if name in _WORDS:
            raise self.unexpected("a formula before " + repr(name))
        if name in _FORBIDDEN or name.startswith("__"):
            raise self.error(f"{name!r} is not allowed in a formula", tok.pos)
        if name == "e" and self.at("^", k=1) and not self.transpose_follows(2):
            self.advance()
            caret = self.advance()
            return self.checked(Call("exp", (self.exponent(caret),), pos=tok.pos))
        if name == "e":
            self.advance()
            return Num(math.e, pos=tok.pos)
        if name in ("pi", "π"):
            self.advance()
            return Num(math.pi, pos=tok.pos)
        if name in ("np", "numpy") and self.at(".", k=1):
            return self.numpy_call()
        if name in _SPELLINGS:
            return self.function()
        if name == "max":
            self.advance()
            return self.relu_of_max(tok, self.arguments(2, "max"))
        if name == "sum" and self.at("_", k=1):  # sum_t, sum_b: Σ_t, Σ_b
            return self.sigma()
        if name == "sum" and self.at("(", k=1):
            self.advance()
            return self.sum_call(tok)
        if re.fullmatch(r"(?:[fg]|[fg]prime)[0-9]*", name) and (node := self.activation()):
            return node
        bottom_tok = self.peek(2)
        if (
            name == "dL"
            and self.at("/", k=1)
            and bottom_tok.kind == "name"
            and bottom_tok.text.startswith("d")
            and len(bottom_tok.text) > 1
        ):
            self.i += 2
            bottom, offset = self.symbol_name()
            return _derivative("dL", bottom, offset, tok.pos)
        if (
            name.isascii()
            and name.isalpha()
            and len(name) >= 3
            and name.lower() not in GREEK
            and self.at("(", k=1)
            and self.peek().pos == tok.end
        ):
            raise self.error(
                f"unknown function {name!r}; expected one of {', '.join(_function_names())}",
                tok.pos,
            )
        return self.symbol()

    def transpose_follows(self, k: int) -> bool:
        tok = self.peek(k)
        if tok.kind == "name" and tok.text in _TRANSPOSE_NAMES:
            return True
        return self.at("{", k=k) and self.peek(k + 1).text in _TRANSPOSE_NAMES

    def symbol(self) -> Node:
        start = self.tok.pos
        written, offset = self.symbol_name()
        if written in _LEARNING_RATE:
            written = "lr"
        if offset is not None:
            return StepSym(written, offset, pos=start)
        return Sym(written, pos=start)

    def symbol_name(self) -> tuple[str, int | None]:
        """A name with its decorations and indices: (written, time offset or None)."""
        tok = self.tok
        if tok.kind == "deco":
            self.advance()
            self.nest(tok.pos)
            if self.at("{"):
                opening = self.advance()
                written, offset = self.symbol_name()
                self.close(opening)
            else:
                written, offset = self.symbol_name()
            self.nest(tok.pos, -1)
            if tok.text == "hat":
                written = unicodedata.normalize("NFC", written[0] + "\u0302") + written[1:]
        elif tok.kind == "name" and tok.text not in _WORDS:
            if tok.text in _FORBIDDEN or tok.text.startswith("__"):
                raise self.error(f"{tok.text!r} is not allowed in a formula", tok.pos)
            written, offset = self.advance().text, None
        else:
            raise self.unexpected("a name such as W1 or ŷ")
        while offset is None:
            if self.at("_"):
                kind, text, value = self.subscript()
                if kind == "time":
                    offset = value
                elif kind == "append":
                    written += "_" + text
                elif kind == "concat":
                    written += text
            elif self.at("[") and self.adjacent() and (layer := self.bracket_index("[")):
                written += f"[{layer}]"
            elif self.at("^") and (index := self.index_superscript()):
                kind2, value = index
                if kind2 == "layer":
                    written += f"[{value}]"
                elif kind2 == "step":
                    written += f"_t{value}"
                else:
                    offset = value
            else:
                break
        return written, offset

    def subscript(self) -> tuple[_SubscriptKind, str, int]:
        """_1, _t, _hat, _{x,1}, _{t-1}, _(t−1), _i (an entry: dropped)."""
        underscore = self.advance()
        if self.at("{", "("):
            opening = self.advance()
            items: list[_Token] = []
            while self.tok.kind in ("num", "name") or self.at(",", "+", "-"):
                items.append(self.advance())
            self.close(opening)
        elif self.tok.kind in ("num", "name"):
            items = [self.advance()]
        else:
            raise self.unexpected("a subscript such as _1, _t or _{x,1}")
        texts = [t.text for t in items]
        if offset := _time_offset(texts):
            return "time", "", offset[0]
        if len(items) == 1 and items[0].kind == "name" and texts[0] in _ENTRY_INDICES:
            return "drop", "", 0
        if len(items) == 1 and (items[0].kind == "name" or texts[0].isdigit()):
            return "append", texts[0], 0
        parts = texts[::2]
        if (
            len(items) >= 3
            and all(t == "," for t in texts[1::2])
            and all(t.kind in ("num", "name") for t in items[::2])
        ):
            return "concat", "".join(parts), 0
        raise self.error("expected a subscript such as _1, _{t-1} or _{x,1}", underscore.pos)

    def bracket_index(self, opening: str) -> str | None:
        """[1] right after a name (W[1]): a layer index; consumed only when it is one."""
        if (
            self.at(opening)
            and self.peek().kind == "num"
            and self.peek().text.isdigit()
            and self.at(_CLOSERS[opening], k=2)
        ):
            self.i += 3
            return self.peek(-2).text
        return None

    def index_superscript(self) -> tuple[str, int] | None:
        """^{[1]} or ^[1] (a layer), ^{(t)} ^{(t-1)} ^(t) (a time step), ^{(3)} (step 3)."""
        k = self.i + 1
        braced = self.at("{", k=1)
        k += braced
        opener = self.tokens[k].text if self.tokens[k].kind == "op" else ""
        if opener not in ("(", "["):
            return None
        k += 1
        items: list[_Token] = []
        while len(items) < 4 and (
            self.tokens[k].kind in ("num", "name")
            or (self.tokens[k].kind == "op" and self.tokens[k].text in ("+", "-"))
        ):
            items.append(self.tokens[k])
            k += 1
        if self.tokens[k].text != _CLOSERS[opener] or self.tokens[k].kind != "op":
            return None
        k += 1
        if braced:
            if not (self.tokens[k].kind == "op" and self.tokens[k].text == "}"):
                return None
            k += 1
        texts = [t.text for t in items]
        result: tuple[str, int] | None = None
        if opener == "[" and len(texts) == 1 and texts[0].isdigit():
            result = ("layer", int(texts[0]))
        elif opener == "(" and (offset := _time_offset(texts)):
            result = ("time", offset[0])
        elif opener == "(" and braced and len(texts) == 1 and texts[0].isdigit():
            result = ("step", int(texts[0]))
        if result is not None:
            self.i = k
        return result

    # -- functions --

    def function(self) -> Node:
        """exp log ln sin cos tanh relu σ softmax …: with parentheses, or applied to the next
        factor as in `log ŷ`; `tanh(Z1)²`, `\\tanh^2 Z`; relu'(z); log_{10}."""
        tok = self.advance()
        func = _SPELLINGS[tok.text]
        if func == "log" and self.at("_"):
            if self.peek().text == "10":
                self.i += 2
            elif self.at("{", k=1) and self.peek(2).text == "10" and self.at("}", k=3):
                self.i += 4
            else:
                raise self.unexpected("log_{10} (or log without a base)")
            func = "log10"
        if self.at("'"):
            if func not in _PRIMED:
                raise self.error(f"unknown function {tok.text + chr(39)!r}", tok.pos)
            self.advance()
            func += "'"
        power: Node | None = None
        if self.at("^") and not self.transpose_follows(1):
            power = self.exponent(self.advance())
        elif self.tok.kind == "sup":
            sup = self.advance()
            if sup.value == -1:
                raise self.inverse(sup.pos)
            power = Num(sup.value, pos=sup.pos)
        count = 2 if func in _TWO_ARGUMENTS else 1
        if self.at("(") and func in _PARAMETER_ARGUMENT:
            args = self.call_arguments(tok.text, allowed=())[0]
            if len(args) not in (1, 2):
                raise self.error(f"{tok.text}() takes 1 or 2 arguments", tok.pos)
        elif self.at("("):
            args = self.arguments(count, tok.text)
        elif self.starts_atom() and count == 1:
            self.nest(tok.pos)
            args = (self.factor(),)
            self.nest(tok.pos, -1)
        else:
            raise self.unexpected(f"the argument of {tok.text}")
        node = self.checked(Call(func, args, pos=tok.pos))
        return node if power is None else self.checked(Pow(node, power, pos=tok.pos))

    def activation(self) -> Node | None:
        """f(z), f1(z), f_1(z), f^{[1]}(z), g(z); f'(z), f1'(z), f'_1(z), fprime1(z).
        None (nothing consumed) when no call follows: then f is a name."""
        save = self.i
        tok = self.advance()
        match = re.fullmatch(r"([fg])(prime)?([0-9]*)", tok.text)
        assert match is not None
        prime = named = bool(match.group(2))
        layer = int(match.group(3)) if match.group(3) else None
        while True:
            if self.at("'") and not prime:
                self.advance()
                prime = True
            elif self.at("_") and layer is None and self.peek().text.isdigit():
                self.i += 2
                layer = int(self.peek(-1).text)
            elif (
                self.at("_")
                and layer is None
                and self.at("{", k=1)
                and self.peek(2).text.isdigit()
                and self.at("}", k=3)
            ):
                self.i += 4
                layer = int(self.peek(-2).text)
            elif self.at("^") and layer is None and (index := self.index_superscript()):
                if index[0] != "layer":
                    self.i = save
                    return None
                layer = index[1]
            else:
                break
        if not self.at("("):
            if prime and not named:
                raise self.unexpected(f"'(' and the argument of {tok.text}'")
            self.i = save
            return None
        args = self.arguments(1, tok.text)
        return self.checked(Call("fprime" if prime else "f", args, layer, pos=tok.pos))

    def arguments(self, count: int, name: str) -> tuple[Node, ...]:
        args = self.call_arguments(name, allowed=())[0]
        if len(args) != count:
            takes = "1 argument" if count == 1 else f"{count} arguments"
            raise self.error(f"{name}() takes {takes}, got {len(args)}", self.peek(-1).pos)
        return args

    def call_arguments(
        self, name: str, allowed: tuple[str, ...]
    ) -> tuple[tuple[Node, ...], dict[str, str]]:
        opening = self.expect("(", f"'(' and the arguments of {name}")
        self.nest(opening.pos)
        args: list[Node] = []
        keywords: dict[str, str] = {}
        while not self.at(")"):
            if self.tok.kind == "name" and self.at("=", k=1):
                key = self.advance()
                if key.text not in allowed:
                    raise self.error(f"{name}() takes no argument {key.text!r}", key.pos)
                self.advance()
                value = self.advance()
                if value.kind not in ("num", "name"):
                    raise self.error(f"expected a value for {key.text}=", value.pos)
                keywords[key.text] = value.text
            else:
                arg = self.expression()
                if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
                    arg = self.comparison(arg)
                args.append(arg)
            if not self.at(","):
                break
            self.advance()
        self.close(opening)
        self.nest(opening.pos, -1)
        return tuple(args), keywords

    def relu_of_max(self, tok: _Token, args: tuple[Node, ...]) -> Node:
        """max(0, z) and np.maximum(0, z) are relu(z)."""
        if args[0] == Num(0.0) or args[1] == Num(0.0):
            other = args[1] if args[0] == Num(0.0) else args[0]
            return self.checked(Call("relu", (other,), pos=tok.pos))
        raise self.error("max(…) is understood only as max(0, z), that is relu(z)", tok.pos)

    def sum_call(self, tok: _Token) -> Node:
        """sum(a), np.sum(a), np.sum(a, axis=1, keepdims=True): axis 1 is over the batch."""
        args, keywords = self.call_arguments(tok.text, allowed=("axis", "keepdims"))
        if len(args) != 1:
            raise self.error(f"{tok.text}() takes 1 argument, got {len(args)}", tok.pos)
        axis = keywords.get("axis")
        if axis not in (None, "0", "1"):
            raise self.error(f"expected axis=0 or axis=1, got axis={axis}", tok.pos)
        indices = ("b",) if axis == "1" else ()
        return self.checked(Sum(indices, args[0], pos=tok.pos))

    def numpy_call(self) -> Node:
        np_tok = self.advance()
        self.advance()  # '.'
        name = self.advance()
        func = name.text
        if name.kind != "name" or func not in _NUMPY:
            listed = ", ".join(f"np.{f}" for f in _NUMPY)
            raise self.error(
                f"unknown NumPy function 'np.{func}'; expected one of {listed}", name.pos
            )
        tok = _Token("name", f"np.{func}", np_tok.pos, name.end)
        pos = np_tok.pos
        if func == "sum":
            return self.sum_call(tok)
        if func in ("dot", "matmul", "outer", "multiply", "maximum"):
            a, b = self.arguments(2, tok.text)
            if func == "maximum":
                return self.relu_of_max(tok, (a, b))
            if func == "outer":
                return self.checked(MatMul(a, Transpose(b, pos=b.pos), pos=pos))
            kind = Hadamard if func == "multiply" else MatMul
            return self.checked(kind(a, b, pos=pos))
        if func == "where":
            cond, then, otherwise = self.arguments(3, tok.text)
            if not isinstance(cond, Indicator):
                raise self.error("np.where(…) needs a comparison first, as in Z1 > 0", cond.pos)
            return self.checked(Piecewise(((then, cond),), otherwise, pos=pos))
        (arg,) = self.arguments(1, tok.text)
        if func == "transpose":
            return self.checked(Transpose(arg, pos=pos))
        return self.checked(Call(func, (arg,), pos=pos))


def _function_names() -> list[str]:
    return sorted({*_SPELLINGS, "f", "max", "sum"} - {"σ", "Relu"})


def _time_offset(texts: list[str]) -> tuple[int] | None:
    """t → (0,), t-1 → (−1,), t+2 → (2,); anything else → None."""
    if texts == ["t"]:
        return (0,)
    if len(texts) == 3 and texts[0] == "t" and texts[1] in "+-" and texts[2].isdigit():
        return (int(texts[2]) * (1 if texts[1] == "+" else -1),)
    return None


def _is_d(top: Sym, bottom: Sym | StepSym) -> bool:
    return top.written == "dL" and bottom.written.startswith("d") and len(bottom.written) > 1


def _offset(node: Sym | StepSym) -> int | None:
    return node.offset if isinstance(node, StepSym) else None


def _derivative(top: str, bottom: str, offset: int | None, pos: int) -> Node:
    written = f"{top}/{bottom}"
    return Sym(written, pos=pos) if offset is None else StepSym(written, offset, pos=pos)


# --- Equations -----------------------------------------------------------------------------------

_NUMPY_MARK = re.compile(r"(?<![A-Za-z0-9_])(?:np|numpy)\.|\.T(?![A-Za-z0-9_])|\.dot\(|\.astype\(")
_SURROUNDINGS = (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)"))


def _unwrapped(source: str) -> str:
    """The source with `$…$`, `\\[…\\]` or `\\(…\\)` around it blanked (columns kept)."""
    bare = source.strip()
    start = len(source) - len(source.lstrip())
    for left, right in _SURROUNDINGS:
        if len(bare) >= len(left) + len(right) and bare.startswith(left) and bare.endswith(right):
            end = start + len(bare)
            return (
                source[:start]
                + " " * len(left)
                + source[start + len(left) : end - len(right)]
                + " " * len(right)
                + source[end:]
            )
    return source


def _top_level_equals(text: str) -> list[int]:
    """Columns of the '=' outside brackets that are not part of >=, <=, ==, != or ≤."""
    found, depth = [], 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c == "=" and depth == 0:
            before, after = text[i - 1 : i] if i else "", text[i + 1 : i + 2]
            if before not in ("<", ">", "=", "!") and after != "=":
                found.append(i)
    return found


def parse_equation(text: str, *, max_length: int = 2000, max_depth: int = 64) -> Equation:
    """Parse `lhs = rhs [= rhs …]` (or a lone right-hand side); raise NotationError if refused."""
    if not isinstance(text, str):
        raise NotationError(f"column 1: a formula must be text, got {type(text).__name__}", 0)
    if len(text) > max_length:
        raise _error(text, f"the formula is longer than {max_length} characters", max_length)
    source = _unwrapped(text)
    numpy = bool(_NUMPY_MARK.search(source))
    equals = _top_level_equals(source)
    lhs = source[: equals[0]].strip() if equals else None
    bounds = [-1, *equals, len(source)]
    sides = []
    for start, stop in itertools.pairwise(bounds):
        if start < 0 and equals:
            continue  # the left-hand side is kept as written
        tokenizer = _Tokenizer(source, start + 1, stop, shown=text)
        try:
            tokens = tokenizer.run()
            error = None
        except NotationError as refused:  # reported when the parser gets there
            tokens, error = tokenizer.tokens, refused
            tokens.append(_Token("bad", "", refused.position, refused.position))
        if len(tokens) == 1 and error is None:
            if start < 0:
                raise _error(text, "expected a formula", 0)
            raise _error(text, "expected a formula after '='", len(source[:stop].rstrip()))
        try:
            sides.append(_Parser(text, tokens, numpy, max_depth, error).side())
        except RecursionError:  # only reachable with a max_depth far above the default
            raise _error(text, "the formula is nested too deeply", start + 1) from None
    return Equation(text, lhs, tuple(sides), numpy)


# --- Printing ------------------------------------------------------------------------------------

_PIECE, _ADD, _MUL, _NEG, _POW, _ATOM = range(6)
_SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_TEXT_COMPARISONS = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}
_LATEX_COMPARISONS = {">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}
_LATEX_FUNCTIONS = {
    "exp": r"\exp", "log": r"\log", "log10": r"\log_{10}", "sin": r"\sin", "cos": r"\cos",
    "tanh": r"\tanh", "relu": r"\operatorname{ReLU}", "sigmoid": r"\sigma",
    "softmax": r"\operatorname{softmax}", "flatten": r"\operatorname{flatten}",
    "reshape": r"\operatorname{reshape}", "xcorr": r"\operatorname{xcorr}",
    "relu'": r"\operatorname{ReLU}'", "sigmoid'": r"\sigma'", "tanh'": r"\tanh'",
    "identity": r"\operatorname{identity}", "linear": r"\operatorname{linear}",
    "softplus": r"\operatorname{softplus}", "leaky_relu": r"\operatorname{leaky\_relu}",
    "elu": r"\operatorname{elu}",
}  # fmt: skip


def _is_xcorr(node: Node) -> bool:
    return isinstance(node, Call) and node.func == "xcorr" and len(node.args) == 2


def _product_kind(node: Node) -> str | None:
    if _is_xcorr(node):
        return "xcorr"
    return type(node).__name__ if isinstance(node, MatMul | Hadamard | Div) else None


def _prec(node: Node, tex: bool) -> int:
    if isinstance(node, Piecewise):
        return _ATOM if tex else _PIECE  # \begin{cases} … \end{cases} is a block
    if isinstance(node, Add | Sub):
        return _ADD
    if isinstance(node, Div) and tex:
        return _ATOM  # \frac{a}{b} groups its parts
    if _product_kind(node):
        return _MUL
    if isinstance(node, Neg | Sum):
        return _NEG
    return _POW if isinstance(node, Pow) else _ATOM


def _signed(node: Node, tex: bool) -> bool:
    """Whether the printed form starts with a minus sign."""
    if isinstance(node, Neg) or (isinstance(node, Num) and node.value < 0):
        return True
    if isinstance(node, Binary) and not (tex and isinstance(node, Div)):
        return _signed(node.a, tex)
    return _is_xcorr(node) and isinstance(node, Call) and _signed(node.args[0], tex)


def _number(value: float, tex: bool) -> str:
    if value == math.pi:
        return r"\pi" if tex else "π"
    if value == math.e:
        return "e"
    return _fmt(value)


def _text_name(written: str) -> str:
    """∂L/∂W2 for "dL/dW2"; every other name as written."""
    match = re.fullmatch(r"d(.+?)/d(.+)", written)
    return f"∂{match[1]}/∂{match[2]}" if match else written


def _latex_char(c: str) -> str:
    if c in _GREEK_COMMAND:
        return "\\" + _GREEK_COMMAND[c]
    decomposed = unicodedata.normalize("NFD", c)
    if len(decomposed) == 2 and decomposed[1] == "\u0302":
        return rf"\hat{{{decomposed[0]}}}"
    return c


def _latex_word(word: str) -> str:
    if len(word) == 1:
        return _latex_char(word)
    if word.isdigit():
        return word
    if word.isascii() and word.isalpha():
        return rf"\mathrm{{{word}}}"
    return "".join(_latex_char(c) for c in word)


def _latex_name(written: str, offset: int | None = None) -> str:
    """W_1 → W_{1}, δ2 → \\delta_{2}, ŷ → \\hat{y}, Wx1 → W_{x,1}, W[1] → W^{[1]},
    dL/dW2 → \\frac{\\partial L}{\\partial W_{2}}, Z_1_t3 → Z_{1}^{(3)}; with a time offset
    h → h_{t-1}, δ_1 → \\delta_{1}^{(t)}."""
    if written == "lr" and offset is None:
        return r"\eta"
    if match := re.fullmatch(r"d(.+?)/d(.+)", written):
        top, bottom = _latex_name(match[1]), _latex_name(match[2], offset)
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"
    layer = ""
    if match := re.fullmatch(r"(.+)\[([0-9]+)\]", written):
        written, layer = match[1], f"^{{[{match[2]}]}}"
    head, *subscripts = written.split("_")
    match = re.fullmatch(r"(.*?[^0-9])([0-9]+)", head)
    if match and re.fullmatch(r"W[xh]", match[1]):
        tex = f"W_{{{match[1][1]},{match[2]}}}"
    elif match:
        tex = f"{_latex_word(match[1])}_{{{match[2]}}}"
    else:
        tex = _latex_word(head)
    step = ""
    for sub in subscripts:
        if re.fullmatch(r"t[0-9]+", sub):
            step = f"^{{({sub[1:]})}}"
        else:
            tex += f"_{{{_latex_word(sub)}}}"
    if offset is not None:
        t = "t" if offset == 0 else f"t{offset:+d}"
        if "_" in tex or layer or step:
            step = f"^{{({t})}}"
        else:
            tex += f"_{{{t}}}"
    return tex + layer + step


def _time_text(offset: int) -> str:
    return "_t" if offset == 0 else f"_(t{offset:+d})".replace("-", "−")


class _Printer:
    def __init__(self, tex: bool) -> None:
        self.tex = tex

    def show(self, node: Node, need: int, tail: bool, signed_ok: bool = True) -> str:
        """`node` in parentheses if it binds less tightly than its place needs; `tail`: nothing
        of its term follows (so a Σ, whose body is the rest of the term, may stand bare)."""
        paren = (
            _prec(node, self.tex) < need
            or (not signed_ok and _signed(node, self.tex))
            or (isinstance(node, Sum) and not tail)
        )
        s = self.emit(node, tail or paren)
        if not paren:
            return s
        return rf"\left({s}\right)" if self.tex else f"({s})"

    def emit(self, node: Node, tail: bool) -> str:
        tex = self.tex
        match node:
            case Num(value):
                return _number(value, tex)
            case Sym(written):
                return _latex_name(written) if tex else _text_name(written)
            case StepSym(written, offset):
                return (
                    _latex_name(written, offset)
                    if tex
                    else _text_name(written) + _time_text(offset)
                )
            case Neg(u):
                return ("-" if tex else "−") + self.show(u, _NEG, tail, signed_ok=False)
            case Add(a, b) | Sub(a, b):
                op = " + " if isinstance(node, Add) else (" - " if tex else " − ")
                return self.show(a, _ADD, True) + op + self.show(b, _MUL, tail, signed_ok=False)
            case Div(a, b) if tex:
                return rf"\frac{{{self.emit(a, True)}}}{{{self.emit(b, True)}}}"
            case MatMul(a, b) | Hadamard(a, b) | Div(a, b):
                return self.product(node, a, b, tail)
            case Call("xcorr", (a, b)):
                return self.product(node, a, b, tail)
            case Pow(base, exponent):
                return self.power(base, exponent)
            case Transpose(u):
                return self.superscripted(u) + (r"^{\top}" if tex else "ᵀ")
            case Call(func, args, layer):
                return self.call(func, args, layer)
            case Sum(indices, body):
                return self.sum(indices, body)
            case Indicator():
                return f"[{self.condition(node)}]"
            case Piecewise(cases, otherwise):
                return self.piecewise(cases, otherwise)
        raise TypeError(f"cannot print {node!r}")

    def product(self, node: Node, a: Node, b: Node, tail: bool) -> str:
        kind = _product_kind(node)
        # a product inside a product of another kind gets parentheses, as (W2ᵀ·δ2) ⊙ f1'(Z1)
        left_need = _MUL if _product_kind(a) in (None, kind) else _NEG
        left = self.show(a, left_need, False)
        right = self.show(b, _NEG, tail, signed_ok=False)
        if not self.tex:
            op = {"MatMul": "·", "Hadamard": " ⊙ ", "Div": "/", "xcorr": " ⋆ "}[kind or ""]
            return left + op + right
        if kind == "Hadamard":
            return rf"{left} \odot {right}"
        if kind == "xcorr":
            return rf"{left} \star {right}"
        if isinstance(b, Num | Indicator) or right[0].isdigit() or right.startswith(r"\left|"):
            return rf"{left} \cdot {right}"
        return left + (r"\," if isinstance(a, Num) else " ") + right

    def superscripted(self, base: Node) -> str:
        """The base of a power or a transpose: braced unless it is a plain name."""
        s = self.show(base, _ATOM, False)
        plain = isinstance(base, Sym | StepSym) and "^" not in s and not s.startswith(r"\frac")
        if not self.tex:
            return "(e)" if base == Num(math.e) else s
        return s if plain or s.startswith(r"\left(") else f"{{{s}}}"

    def power(self, base: Node, exponent: Node) -> str:
        whole = isinstance(exponent, Num) and exponent.value.is_integer()
        if not self.tex and whole and isinstance(exponent, Num) and 0 <= exponent.value < 1e15:
            return self.superscripted(base) + str(int(exponent.value)).translate(_SUPER)
        shown = self.emit(exponent, True)
        # x^T is a transpose, so a quantity named T is shown as x^(T); in text only a number,
        # a name or a call stands bare after ^ (LaTeX's braces group the rest)
        named_t = isinstance(exponent, Sym) and exponent.written in _TRANSPOSE_NAMES
        bare = self.tex or (isinstance(exponent, Num | Call | Sym) and not _is_xcorr(exponent))
        if named_t or not bare:
            shown = f"({shown})"
        if self.tex:
            return f"{self.superscripted(base)}^{{{shown}}}"
        return f"{self.superscripted(base)}^{shown}"

    def call(self, func: str, args: tuple[Node, ...], layer: int | None) -> str:
        inner = ", ".join(self.show(arg, _ADD, True) for arg in args)
        if func in ("f", "fprime"):
            prime = "'" if func == "fprime" else ""
            if layer is None:
                return f"f{prime}({inner})"
            return f"f_{{{layer}}}{prime}({inner})" if self.tex else f"f{layer}{prime}({inner})"
        if not self.tex:
            return f"{func}({inner})"
        if func == "sqrt":
            return rf"\sqrt{{{inner}}}"
        if func == "abs":
            return rf"\left|{inner}\right|"
        return f"{_LATEX_FUNCTIONS[func]}({inner})"

    def sum(self, indices: tuple[str, ...], body: Node) -> str:
        shown = self.show(body, _MUL, True)
        if self.tex:
            below = f"_{{{','.join(indices)}}}" if indices else ""
            return rf"\sum{below} {shown}"
        if not indices:
            return f"Σ {shown}"
        if all(len(i) == 1 for i in indices):
            return f"Σ_{','.join(indices)} {shown}"
        return f"Σ_{{{','.join(indices)}}} {shown}"

    def condition(self, node: Indicator) -> str:
        op = (_LATEX_COMPARISONS if self.tex else _TEXT_COMPARISONS)[node.op]
        return f"{self.show(node.a, _ADD, True)} {op} {self.show(node.b, _ADD, True)}"

    def piecewise(self, cases: tuple[tuple[Node, Indicator], ...], otherwise: Node | None) -> str:
        values = [self.show(value, _ADD, True) for value, _ in cases]
        conditions = [self.condition(cond) for _, cond in cases]
        last = None if otherwise is None else self.show(otherwise, _ADD, True)
        if self.tex:
            rows = [f"{v} & {c}" for v, c in zip(values, conditions, strict=True)]
            rows += [] if last is None else [rf"{last} & \text{{otherwise}}"]
            return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        parts = [f"{v} if {c}" for v, c in zip(values, conditions, strict=True)]
        return ", ".join(parts + ([] if last is None else [f"{last} otherwise"]))


def text(node: Node) -> str:
    """The engine's Unicode notation: "W1·x + b1", "(W2ᵀ·δ2) ⊙ f1'(Z1)", "1 − tanh(Z1)²"."""
    return _Printer(tex=False).show(node, _PIECE, True)


def latex(node: Node) -> str:
    """LaTeX: "W_{1} x + b_{1}", "\\left(W_{2}^{\\top} \\delta_{2}\\right) \\odot f_{1}'(Z_{1})"."""
    return _Printer(tex=True).show(node, _PIECE, True)

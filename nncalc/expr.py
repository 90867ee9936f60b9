"""Activation formulas: a safe parser, a symbolic derivative and text/LaTeX printing.

Problem files are written by students, so a formula such as ``"relu(x) + sin(x)"`` is
untrusted input.  It is read by a whitelist tokenizer and a recursive-descent parser (never
``eval``), with limits on length and nesting so that no input can exhaust memory or the Python
stack.  The parsed tree is evaluated elementwise on NumPy arrays, differentiated with the usual
textbook rules and printed so that the derivative reads like a worked solution.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from nncalc.errors import NncalcError
from nncalc.vocabulary import ACTIVATION_FUNCTIONS

FloatArray = npt.NDArray[np.float64]


class ExpressionError(NncalcError):
    """A refused activation expression; `position` is the 0-based column of the problem."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# --- Expression tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A tree node; `depth` and `has_x` are computed once, when the node is built."""

    depth: int = field(init=False, repr=False, compare=False)
    has_x: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kids = self.children()
        object.__setattr__(self, "depth", 1 + max((k.depth for k in kids), default=0))
        object.__setattr__(self, "has_x", isinstance(self, Var) or any(k.has_x for k in kids))

    def children(self) -> tuple[Node, ...]:
        values = (getattr(self, f.name) for f in fields(self) if f.init)
        return tuple(v for v in values if isinstance(v, Node))


@dataclass(frozen=True)
class Num(Node):
    value: float
    name: str | None = field(default=None, compare=False)  # "pi" or "e" for named constants


@dataclass(frozen=True)
class Var(Node):
    """The variable x (the layer's net input)."""


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


class Mul(Binary):
    pass


class Div(Binary):
    pass


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exponent: Node  # always constant (no x), |value| <= 64


@dataclass(frozen=True)
class Call(Node):
    func: str
    arg: Node
    param: float | None = None  # alpha of leaky_relu / elu when written


@dataclass(frozen=True)
class Heaviside(Node):
    """Heaviside step, printed step(u): 1 where u > 0, else 0 (so relu'(0) = 0)."""

    u: Node
    printed: ClassVar[str] = "step"


@dataclass(frozen=True)
class Sign(Node):
    u: Node
    printed: ClassVar[str] = "sign"


@dataclass(frozen=True)
class IfPos(Node):
    """`then` where cond > 0, else `otherwise`."""

    cond: Node
    then: Node
    otherwise: Node


ZERO, ONE, TWO = Num(0.0), Num(1.0), Num(2.0)
_MAX_ARGS = ACTIVATION_FUNCTIONS  # each function and how many arguments it takes at most
_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_HINTS = {"ln": "log", "X": "x", "z": "x", "ReLU": "relu", "sigma": "sigmoid"}
_MAX_EXPONENT = 64.0

# --- Tokenizer and parser ------------------------------------------------------------------------

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOOKALIKES = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u00b2": "**2"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int
    value: float = 0.0


def _error(source: str, what: str, pos: int, hint: str = "") -> ExpressionError:
    """Build the user-facing message: what, where (1-based column) and a window of the text."""
    shown = re.sub(r"\s", " ", source)
    if len(shown) > 60:
        start = max(0, min(pos - 30, len(shown) - 60))
        end = start + 60
        shown = ("…" if start else "") + shown[start:end] + ("…" if end < len(source) else "")
    return ExpressionError(f'{what} at column {pos + 1} in "{shown}"' + hint, pos)


def _tokenize(source: str) -> Iterator[_Token]:
    """Yield tokens lazily, so the first problem from the left is the one reported."""
    i, prev = 0, ""
    while i < len(source):
        c = source[i]
        if c.isspace():
            i += 1
        elif number := _NUMBER.match(source, i):
            value = float(number.group())
            if not math.isfinite(value):
                raise _error(source, f"number {number.group()!r} is too large", i)
            yield _Token("num", number.group(), i, value)
            i, prev = number.end(), "num"
        elif name := _NAME.match(source, i):
            yield _Token("name", name.group(), i)
            i, prev = name.end(), "name"
        elif c in "+-*/^(),=":
            text = "**" if source.startswith("**", i) else c
            yield _Token("op", text, i)
            i, prev = i + len(text), text
        elif c == "." and prev in ("name", "num", ")"):
            raise _error(source, "attribute access with '.' is not allowed", i)
        elif c in "[]{}":
            raise _error(source, f"{c!r} is not allowed", i, "; use parentheses ( ) for grouping")
        elif c in "'\"":
            raise _error(source, "strings (quotes) are not allowed", i)
        else:
            hint = f"; write {_LOOKALIKES[c]!r} instead" if c in _LOOKALIKES else ""
            raise _error(source, f"unexpected character {c!r}", i, hint)
    yield _Token("end", "", len(source.rstrip()))


class _Parser:
    """Recursive descent with Python's precedence: + -  <  * /  <  unary -  <  ** (right-assoc).

    `nesting` counts parentheses, calls, unary signs and exponents (each is a recursion of the
    parser) and every built node is checked against `max_depth`, so both parsing and the later
    tree walks stay far below Python's recursion limit.
    """

    def __init__(self, source: str, max_depth: int) -> None:
        self.source = source
        self.max_depth = max_depth
        self.tokens = _tokenize(source)
        self.tok = next(self.tokens)
        self.nesting = 0

    def parse(self) -> Node:
        node = self.expression()
        if self.tok.kind != "end":
            raise self.unexpected("an operator (+ - * / **) or the end of the expression")
        return node

    def advance(self) -> _Token:
        tok, self.tok = self.tok, next(self.tokens)
        return tok

    def error(self, what: str, pos: int, hint: str = "") -> ExpressionError:
        return _error(self.source, what, pos, hint)

    def nest(self, pos: int, delta: int = 1) -> None:
        self.nesting += delta
        if self.nesting > self.max_depth:
            raise self.error(f"expression is more than {self.max_depth} levels deep", pos)

    def checked(self, node: Node, pos: int) -> Node:
        if node.depth > self.max_depth:
            raise self.error(f"expression is more than {self.max_depth} levels deep", pos)
        return node

    def unexpected(self, expected: str) -> ExpressionError:
        tok = self.tok
        if tok.kind == "end":
            return self.error("unexpected end of expression", tok.pos, f"; expected {expected}")
        if tok.text == "=":
            return self.error("'=' is not allowed (no assignments or keyword arguments)", tok.pos)
        if tok.text == ",":
            return self.error("',' is only allowed between function arguments", tok.pos)
        if tok.text == ")" and self.nesting == 0:
            return self.error("unmatched ')'", tok.pos)
        missing = tok.kind in ("num", "name") or tok.text == "("
        hint = f"; expected {expected}" + (" (is a '*' missing?)" if missing else "")
        return self.error(f"unexpected {tok.text!r}", tok.pos, hint)

    def expression(self) -> Node:
        node = self.term()
        while self.tok.text in ("+", "-"):
            op = self.advance()
            node = self.checked((Add if op.text == "+" else Sub)(node, self.term()), op.pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.text in ("*", "/"):
            op = self.advance()
            node = self.checked((Mul if op.text == "*" else Div)(node, self.unary()), op.pos)
        return node

    def unary(self) -> Node:
        if self.tok.text not in ("+", "-"):
            return self.power()
        op = self.advance()
        self.nest(op.pos)
        operand = self.unary()
        self.nest(op.pos, -1)
        return operand if op.text == "+" else self.checked(Neg(operand), op.pos)

    def power(self) -> Node:
        base = self.atom()
        if self.tok.text not in ("**", "^"):
            return base
        op = self.advance()
        self.nest(op.pos)
        start = self.tok.pos
        exponent = self.unary()
        self.nest(op.pos, -1)
        if exponent.has_x:
            hint = "; for a variable exponent write exp(exponent*log(base))"
            raise self.error("the exponent of '**' must be a constant", start, hint)
        value = _constant(exponent)
        if not math.isfinite(value):
            raise self.error("the exponent is not a finite number", start)
        if abs(value) > _MAX_EXPONENT:
            raise self.error(f"exponent {_fmt(value)} is too large (at most 64)", start)
        return self.checked(Pow(base, exponent), op.pos)

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return Num(tok.value)
        if tok.kind == "name":
            return self.name()
        if tok.text != "(":
            raise self.unexpected("a number, x, a function call or '('")
        self.advance()
        self.nest(tok.pos)
        inner = self.expression()
        self.close(tok, "')'")
        return inner

    def close(self, opening: _Token, expected: str) -> None:
        if self.tok.kind == "end":
            raise self.error("unclosed '('", opening.pos)
        if self.tok.text != ")":
            raise self.unexpected(f"{expected} to close the '(' at column {opening.pos + 1}")
        self.advance()
        self.nest(opening.pos, -1)

    def name(self) -> Node:
        tok = self.advance()
        if tok.text == "x":
            return Var()
        if tok.text in _CONSTANTS:
            return Num(_CONSTANTS[tok.text], tok.text)
        if tok.text in _MAX_ARGS:
            if self.tok.text != "(":
                hint = f"; write {tok.text}(x)"
                raise self.error(f"function {tok.text!r} needs an argument", tok.pos, hint)
            return self.call(tok)
        if self.tok.text == "=":
            hint = "; pass alpha as the second argument, e.g. leaky_relu(x, 0.1)"
            raise self.error("keyword arguments are not allowed", tok.pos, hint)
        if tok.text == "softmax":
            hint = "; use `activation: softmax` on its own"
            raise self.error("softmax is not an elementwise function", tok.pos, hint)
        if tok.text == "lambda":
            raise self.error("lambda is not allowed", tok.pos, "; write the formula in x")
        close = difflib.get_close_matches(tok.text, [*_MAX_ARGS, *_CONSTANTS], n=1)
        if tok.text in _HINTS or close:
            hint = f"; did you mean {_HINTS.get(tok.text) or close[0]!r}?"
        else:
            hint = "; allowed are x, pi, e and the functions " + ", ".join(sorted(_MAX_ARGS))
        raise self.error(f"unknown name {tok.text!r}", tok.pos, hint)

    def call(self, name: _Token) -> Node:
        opening = self.advance()
        self.nest(opening.pos)
        args: list[tuple[Node, int]] = []
        while self.tok.text != ")" or args:
            start = self.tok.pos
            args.append((self.expression(), start))
            if self.tok.text != ",":
                break
            self.advance()
        self.close(opening, "',' or ')'")
        most = _MAX_ARGS[name.text]
        if not 1 <= len(args) <= most:
            takes = "1 argument" if most == 1 else "1 or 2 arguments"
            raise self.error(f"{name.text}() takes {takes}, got {len(args)}", name.pos)
        if name.text in ("identity", "linear"):
            return args[0][0]
        param = None
        if len(args) == 2:
            alpha, pos = args[1]
            param = _constant(alpha) if not alpha.has_x else math.nan
            if not math.isfinite(param):
                raise self.error(f"alpha of {name.text} must be a finite constant", pos)
        return self.checked(Call(name.text, args[0][0], param), name.pos)


# --- Evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """A way of evaluating a formula differently, to recognise a student's slip.

    ``degrees``: sin and cos read their argument in degrees (a calculator in degree mode).
    ``step``: relu's step in a derivative taken as this constant everywhere (0: the relu
    part dropped; 1: relu' applied as 1 for every input).
    """

    degrees: bool = False
    step: float | None = None


def _apply(func: str, u: FloatArray, param: float | None, evaluation: Evaluation) -> FloatArray:
    alpha = _DEFAULT_ALPHA.get(func, 0.0) if param is None else param
    if func in ("sin", "cos") and evaluation.degrees:
        u = np.deg2rad(u)
    table: dict[str, Callable[[FloatArray], FloatArray]] = {
        "relu": lambda v: np.maximum(v, 0.0),
        "leaky_relu": lambda v: np.where(v > 0, v, alpha * v),
        "elu": lambda v: np.where(v > 0, v, alpha * np.expm1(v)),
        "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),  # e^−v = inf gives the exact limit 0
        "tanh": np.tanh,
        "softplus": lambda v: np.logaddexp(0.0, v),  # log(1 + e^v) without overflow
        "sin": np.sin,
        "cos": np.cos,
        "exp": np.exp,
        "log": np.log,
        "sqrt": np.sqrt,
        "abs": np.abs,
    }
    return table[func](u)


def apply_function(func: str, u: FloatArray, param: float | None = None) -> FloatArray:
    """One of the problem file's activation functions (ACTIVATION_FUNCTIONS) on ``u``."""
    if func in ("identity", "linear"):
        return u
    return _apply(func, u, param, Evaluation())


def _eval(node: Node, z: FloatArray, evaluation: Evaluation) -> FloatArray:
    """Walk the tree once over whole arrays (vectorised; the caller silences numpy warnings)."""
    match node:
        case Num(value):
            return np.asarray(value, dtype=np.float64)
        case Var():
            return z
        case Neg(u):
            return -_eval(u, z, evaluation)
        case Binary(a, b):
            op = {Add: np.add, Sub: np.subtract, Mul: np.multiply, Div: np.divide}[type(node)]
            return np.asarray(
                op(_eval(a, z, evaluation), _eval(b, z, evaluation)), dtype=np.float64
            )
        case Pow(base, exponent):
            return np.power(_eval(base, z, evaluation), _constant(exponent))
        case Call(func, arg, param):
            return _apply(func, _eval(arg, z, evaluation), param, evaluation)
        case Heaviside(u):
            # step(u) = 1 where u > 0, else 0 (NaN stays NaN); a comparison is ~10× np.heaviside.
            v = _eval(u, z, evaluation)
            if (
                evaluation.step is not None
            ):  # a student's version of relu': dropped, or 1 everywhere
                return np.where(np.isnan(v), np.nan, evaluation.step)
            out = (v > 0).astype(np.float64)
            out[np.isnan(v)] = np.nan
            return out
        case Sign(u):
            return np.sign(_eval(u, z, evaluation))
        case IfPos(cond, then, otherwise):
            c = _eval(cond, z, evaluation)
            chosen = np.where(c > 0, _eval(then, z, evaluation), _eval(otherwise, z, evaluation))
            return np.where(np.isnan(c), np.nan, chosen)
    raise TypeError(f"not an expression node: {node!r}")


def _evaluate(node: Node, z: npt.ArrayLike, evaluation: Evaluation) -> FloatArray:
    zz = np.asarray(z, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = _eval(node, zz, evaluation)
    if out.shape == zz.shape and out.flags.writeable and not np.shares_memory(out, zz):
        return out  # already a fresh array of the right shape: no copy
    return np.array(np.broadcast_to(out, zz.shape), dtype=np.float64)


def _constant(node: Node) -> float:
    """The value of an x-free subtree (exponents and alpha)."""
    return float(_evaluate(node, 0.0, Evaluation()))


# --- Simplifying constructors ---------------------------------------------------------------------
# Each rule keeps the value (up to rounding) wherever the operands are finite.


def _number_value(node: Node) -> float | None:
    """The value of an unnamed number (pi and e are kept as names, never folded)."""
    return node.value if isinstance(node, Num) and node.name is None else None


def _fold(op: Callable[[float, float], float], a: Node, b: Node) -> Node | None:
    x, y = _number_value(a), _number_value(b)
    if x is None or y is None:
        return None
    with np.errstate(all="ignore"):
        value = float(op(np.float64(x), np.float64(y))) + 0.0  # + 0.0 turns -0 into 0
    # Keep 1/3 or 0.1 + 0.2 as written: a folded number must stay about as short as its parts.
    short = len(_fmt(value)) <= max(len(_fmt(x)), len(_fmt(y))) + 2
    return Num(value) if math.isfinite(value) and short else None


def _neg(u: Node) -> Node:
    if (c := _number_value(u)) is not None:
        return Num(-c + 0.0)
    match u:
        case Neg(v):  # −(−v) = v
            return v
        case Mul(a, b):  # −(a·b) = (−a)·b, so "-2*x" rather than "-(2*x)"
            return Mul(_neg(a), b)
        case Div(a, b):
            return Div(_neg(a), b)
        case Sub(a, b):  # −(a − b) = b − a
            return Sub(b, a)
    return Neg(u)


def _add(a: Node, b: Node) -> Node:
    if (folded := _fold(operator.add, a, b)) is not None:
        return folded
    if _number_value(a) == 0:
        return b
    if _number_value(b) == 0:
        return a
    if isinstance(b, Neg):  # a + (−b) = a − b
        return _sub(a, b.u)
    if (c := _number_value(b)) is not None and c < 0:
        return _sub(a, Num(-c))
    if isinstance(a, Neg):  # −a + b = b − a
        return _sub(b, a.u)
    return Add(a, b)


def _sub(a: Node, b: Node) -> Node:
    if (folded := _fold(operator.sub, a, b)) is not None:
        return folded
    if _number_value(b) == 0:
        return a
    if _number_value(a) == 0:
        return _neg(b)
    if isinstance(b, Neg):  # a − (−b) = a + b
        return _add(a, b.u)
    if (c := _number_value(b)) is not None and c < 0:
        return _add(a, Num(-c))
    return Sub(a, b)


def _signed_op(op: Callable[[Node, Node], Node], a: Node, b: Node) -> Node:
    """(−a)·b = −(a·b) and (−a)·(−b) = a·b, likewise for division."""
    result = op(a.u if isinstance(a, Neg) else a, b.u if isinstance(b, Neg) else b)
    return _neg(result) if isinstance(a, Neg) != isinstance(b, Neg) else result


def _mul(a: Node, b: Node) -> Node:
    if (folded := _fold(operator.mul, a, b)) is not None:
        return folded
    ca, cb = _number_value(a), _number_value(b)
    if ca == 0 or cb == 0:
        return ZERO
    if ca == 1 or cb == 1:
        return b if ca == 1 else a
    if ca == -1 or cb == -1:
        return _neg(b if ca == -1 else a)
    if isinstance(a, Neg) or isinstance(b, Neg):  # pull signs out: (−a)·b = −(a·b)
        return _signed_op(_mul, a, b)
    if cb is not None and ca is None:  # numbers first: 2*x, not x*2
        return _mul(b, a)
    if isinstance(b, Mul) and (folded := _fold(operator.mul, a, b.a)) is not None:
        return _mul(folded, b.b)  # c1·(c2·u) = (c1c2)·u
    if isinstance(b, Div) and _number_value(b.a) == 1:  # a·(1/b) = a/b
        return _div(a, b.b)
    return Mul(a, b)


def _div(a: Node, b: Node) -> Node:
    if (folded := _fold(operator.truediv, a, b)) is not None:
        return folded
    if _number_value(b) == 1:
        return a
    if isinstance(a, Neg) or isinstance(b, Neg):
        return _signed_op(_div, a, b)
    if isinstance(a, Mul) and (folded := _fold(operator.truediv, a.a, b)) is not None:
        return _mul(folded, a.b)  # (c1·u)/c2 = (c1/c2)·u
    return Div(a, b)


def _pow(base: Node, exponent: Node) -> Node:
    if (folded := _fold(operator.pow, base, exponent)) is not None:
        return folded
    if _number_value(exponent) == 1:
        return base
    if _number_value(exponent) == 0:
        return ONE
    return Pow(base, exponent)


def _rebuild(node: Node, replace: Callable[[Node], Node | None]) -> Node:
    """Rebuild bottom-up through the simplifying constructors, substituting via `replace`."""
    if (new := replace(node)) is not None:
        return _rebuild(new, replace)

    def r(n: Node) -> Node:
        return _rebuild(n, replace)

    match node:
        case Neg(u):
            return _neg(r(u))
        case Binary(a, b):
            make = {Add: _add, Sub: _sub, Mul: _mul, Div: _div}[type(node)]
            return make(r(a), r(b))
        case Pow(base, exponent):
            return _pow(r(base), r(exponent))
        case Call(func, arg, param):
            return Call(func, r(arg), param)
        case Heaviside(u):
            u = r(u)
            c = _number_value(u)
            return Heaviside(u) if c is None else Num(float(c > 0))
        case Sign(u):
            return Sign(r(u))
        case IfPos(cond, then, otherwise):
            then, otherwise = r(then), r(otherwise)
            return then if then == otherwise else IfPos(r(cond), then, otherwise)
    return node


def _simplify(node: Node) -> Node:
    """Constant folding and the identities u+0, u·1, u·0, u**1, −(−u) … applied bottom-up."""
    return _rebuild(node, lambda n: None)


# --- Derivative ----------------------------------------------------------------------------------


def _function_derivative(func: str, u: Node, param: float | None) -> Node:
    """f'(u) for each whitelisted function (the chain rule's du is applied by the caller)."""
    alpha = Num(_DEFAULT_ALPHA.get(func, 0.0) if param is None else param)
    sigma = Call("sigmoid", u)
    rules: dict[str, Callable[[], Node]] = {
        "relu": lambda: Heaviside(u),  # relu'(u) = 1 if u > 0 else 0, taking 0 at the kink
        "leaky_relu": lambda: IfPos(u, ONE, alpha),  # 1 if u > 0 else α
        "elu": lambda: IfPos(u, ONE, _mul(alpha, Call("exp", u))),  # 1 if u > 0 else α·e^u
        "sigmoid": lambda: _mul(sigma, _sub(ONE, sigma)),  # σ' = σ(1 − σ)
        "tanh": lambda: _sub(ONE, _pow(Call("tanh", u), TWO)),  # tanh' = 1 − tanh²
        "softplus": lambda: sigma,  # d/du log(1 + e^u) = e^u/(1 + e^u) = σ(u)
        "sin": lambda: Call("cos", u),  # sin' = cos
        "cos": lambda: _neg(Call("sin", u)),  # cos' = −sin
        "exp": lambda: Call("exp", u),  # exp' = exp
        "log": lambda: _div(ONE, u),  # log' = 1/u
        "sqrt": lambda: _div(ONE, _mul(TWO, Call("sqrt", u))),  # √u' = 1/(2√u)
        "abs": lambda: Sign(u),  # |u|' = sign(u), 0 at the kink
    }
    return rules[func]()


def _differentiate(node: Node) -> Node:
    """d/dx of `node` by the textbook rules, built through the simplifying constructors."""
    if not node.has_x:  # dc/dx = 0
        return ZERO
    match node:
        case Var():  # dx/dx = 1
            return ONE
        case Neg(u):  # d(−u) = −du
            return _neg(_differentiate(u))
        case Add(a, b):  # d(a + b) = da + db
            return _add(_differentiate(a), _differentiate(b))
        case Sub(a, b):  # d(a − b) = da − db
            return _sub(_differentiate(a), _differentiate(b))
        case Mul(a, b):  # product rule: d(ab) = da·b + a·db (one term vanishes for a constant)
            if not a.has_x:
                return _mul(a, _differentiate(b))
            if not b.has_x:
                return _mul(_differentiate(a), b)
            return _add(_mul(_differentiate(a), b), _mul(a, _differentiate(b)))
        case Div(a, b):  # quotient rule: d(a/b) = (da·b − a·db)/b²
            if not b.has_x:
                return _div(_differentiate(a), b)
            if not a.has_x:
                return _neg(_div(_mul(a, _differentiate(b)), _pow(b, TWO)))
            top = _sub(_mul(_differentiate(a), b), _mul(a, _differentiate(b)))
            return _div(top, _pow(b, TWO))
        case Pow(u, c):  # power rule, constant c: d(u^c) = c·u^(c−1)·du
            return _mul(_mul(c, _pow(u, _sub(_simplify(c), ONE))), _differentiate(u))
        case Call(func, u, param):  # chain rule: d f(u) = du·f'(u)
            return _mul(_differentiate(u), _function_derivative(func, u, param))
    raise TypeError(f"cannot differentiate {node!r}")


# --- Printing ------------------------------------------------------------------------------------

_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5
_TEXT_OPS = {Add: " + ", Sub: " - ", Mul: "*", Div: "/"}
_MATH_OPS = {Add: " + ", Sub: " − ", Mul: "·", Div: "/"}
_SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LATEX_FUNCS = {
    "relu": r"\operatorname{ReLU}",
    "leaky_relu": r"\operatorname{LeakyReLU}",
    "elu": r"\operatorname{ELU}",
    "softplus": r"\operatorname{softplus}",
    "sigmoid": r"\sigma",
    **{f: "\\" + f for f in ("tanh", "sin", "cos", "exp", "log")},
}


def _fmt(value: float) -> str:
    """Shortest round-tripping form; whole numbers without '.0'."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _signed(node: Node) -> bool:
    c = _number_value(node)
    return isinstance(node, Neg) or (c is not None and c < 0)


def _prec(node: Node, latex: bool) -> int:
    if isinstance(node, Add | Sub):
        return _ADD
    if isinstance(node, Div):
        return _NEG if latex else _MUL  # \frac groups its parts like a factor
    if isinstance(node, Mul):
        return _MUL
    if _signed(node):
        return _NEG
    return _POW if isinstance(node, Pow) else _ATOM


def _show(
    node: Node, latex: bool, need: int = 0, signed_ok: bool = True, math: bool = False
) -> str:
    """Print `node`, in parentheses if it binds less tightly than its position needs."""
    s = _latex(node) if latex else _text(node, math)
    if _prec(node, latex) < need or (not signed_ok and _signed(node)):
        return f"({s})"
    return s


def _text(node: Node, math: bool = False) -> str:
    """The formula as code (``1 - tanh(x)**2``, which the parser reads back) or, with
    ``math``, in mathematical notation (``1 − tanh(x)²``) for the worked solution."""
    ops, minus = (_MATH_OPS, "−") if math else (_TEXT_OPS, "-")
    match node:
        case Num(value, name):
            return name or (_math_number(value) if math else _fmt(value))
        case Var():
            return "x"
        case Neg(u):
            return minus + _show(u, False, _NEG, signed_ok=False, math=math)
        case Binary(a, b):
            prec = _MUL if isinstance(node, Mul | Div) else _ADD
            left = _show(a, False, prec, math=math)
            right = _show(b, False, prec + 1, signed_ok=False, math=math)
            return left + ops[type(node)] + right
        case Pow(base, exponent):
            power = _number_value(exponent)
            if math and power is not None and power >= 0 and power.is_integer():
                return _show(base, False, _ATOM, math=True) + str(int(power)).translate(_SUPER)
            written = "^" if math else "**"
            need = _ATOM if math else _NEG  # x^(−0.5) in mathematical notation
            return (
                _show(base, False, _ATOM, math=math)
                + written
                + _show(exponent, False, need, math=math)
            )
        case Call(func, arg, param):
            extra = "" if param is None else ", " + _fmt(param).replace("-", minus)
            return f"{func}({_text(arg, math)}{extra})"
        case Heaviside(u) | Sign(u):
            return f"{node.printed}({_text(u, math)})"
        case IfPos(cond, then, otherwise):
            return f"({_text(then, math)} if {_text(cond, math)} > 0 else {_text(otherwise, math)})"
    raise TypeError(f"cannot print {node!r}")


def _math_number(value: float) -> str:
    """A number in mathematical notation: −2, 1·10⁻⁵ (not -2, 1e-05)."""
    mantissa, _, exp = _fmt(value).partition("e")
    power = f"·10{str(int(exp)).replace('-', '⁻').translate(_SUPER)}" if exp else ""
    return mantissa.replace("-", "−") + power


def _latex_number(value: float) -> str:
    mantissa, _, exp = _fmt(value).partition("e")
    return mantissa + (rf" \cdot 10^{{{int(exp)}}}" if exp else "")


def _cases(cond: Node, then: str, otherwise: str) -> str:
    return (
        rf"\begin{{cases}} {then} & {_latex(cond)} > 0 \\ "
        rf"{otherwise} & \text{{otherwise}} \end{{cases}}"
    )


def _latex(node: Node) -> str:
    match node:
        case Num(value, name):
            return {"pi": r"\pi", "e": "e"}.get(name or "", "") or _latex_number(value)
        case Var():
            return "x"
        case Neg(u):
            return "-" + _show(u, True, _NEG, signed_ok=False)
        case Div(a, b):
            return rf"\frac{{{_latex(a)}}}{{{_latex(b)}}}"
        case Binary(a, b):
            prec = _MUL if isinstance(node, Mul) else _ADD
            op = r" \cdot " if isinstance(node, Mul) else _TEXT_OPS[type(node)]
            return _show(a, True, prec) + op + _show(b, True, prec + 1, signed_ok=False)
        case Pow(base, exponent):
            return f"{{{_show(base, True, _ATOM)}}}^{{{_latex(exponent)}}}"
        case Call("sqrt", arg):
            return rf"\sqrt{{{_latex(arg)}}}"
        case Call("abs", arg):
            return f"|{_latex(arg)}|"
        case Call(func, arg, param):
            extra = "" if param is None else ", " + _latex_number(param)
            return f"{_LATEX_FUNCS[func]}({_latex(arg)}{extra})"
        case Heaviside(u) | Sign(u):
            return rf"\operatorname{{{node.printed}}}({_latex(u)})"
        case IfPos(cond, then, otherwise):
            return _cases(cond, _latex(then), _latex(otherwise))
    raise TypeError(f"cannot print {node!r}")


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for kid in node.children():
        yield from _walk(kid)


def _conditions(node: Node) -> list[Node]:
    """The arguments u of every `u > 0` test (Heaviside and IfPos) in the tree."""
    own = (
        [node.u] if isinstance(node, Heaviside) else [node.cond] if isinstance(node, IfPos) else []
    )
    return own + [c for kid in node.children() for c in _conditions(kid)]


def _display(d: Node) -> tuple[str, str]:
    """Text and LaTeX of a derivative, as one `A if u > 0, B otherwise` when that is possible."""
    conds = _conditions(d)
    if not conds or any(c != conds[0] for c in conds):
        return _text(d, math=True), _latex(d)
    u = conds[0]

    def assume(positive: bool) -> Node:
        def replace(n: Node) -> Node | None:
            if isinstance(n, Heaviside) and n.u == u:
                return ONE if positive else ZERO
            if isinstance(n, IfPos) and n.cond == u:
                return n.then if positive else n.otherwise
            return None

        return _rebuild(d, replace)

    yes, no = assume(True), assume(False)
    if _text(yes) == _text(no):
        return _text(yes, math=True), _latex(yes)
    text = f"{_text(yes, math=True)} if {_text(u, math=True)} > 0, {_text(no, math=True)} otherwise"
    return text, _cases(u, _latex(yes), _latex(no))


# --- Public API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """A parsed elementwise activation f(x) with its derivative, printable and evaluable."""

    source: str
    text: str
    latex: str
    derivative_text: str
    derivative_latex: str
    tree: Node = field(repr=False, compare=False)
    derivative_tree: Node = field(repr=False, compare=False)
    shown: str = ""  # f in mathematical notation (1 − tanh(x)²), as a worked solution writes it

    def __call__(
        self, z: npt.ArrayLike, *, degrees: bool = False, evaluation: Evaluation | None = None
    ) -> FloatArray:
        """f(z) elementwise; with `degrees`, sin and cos read their argument in degrees."""
        return _evaluate(self.tree, z, evaluation or Evaluation(degrees=degrees))

    def derivative(
        self, z: npt.ArrayLike, *, degrees: bool = False, evaluation: Evaluation | None = None
    ) -> FloatArray:
        """f'(z) elementwise, from the printed derivative formula (relu'(0) = 0)."""
        return _evaluate(self.derivative_tree, z, evaluation or Evaluation(degrees=degrees))

    @property
    def has_step(self) -> bool:
        """Whether the derivative contains relu's step (so "relu' dropped" is a possible slip)."""
        return any(isinstance(n, Heaviside) for n in _walk(self.derivative_tree))

    def kink_distance(self, z: npt.ArrayLike) -> float:
        """How close the inputs come to a kink (relu, leaky_relu, elu, abs): min |u(z)| over
        the kinks u = 0 of the function; inf when it has none. Used to keep generated
        exercises away from points where the derivative is a convention."""
        arguments = [
            n.u if isinstance(n, (Heaviside, Sign)) else n.cond
            for n in _walk(self.derivative_tree)
            if isinstance(n, (Heaviside, Sign, IfPos))
        ]
        distances = [float(np.min(np.abs(_evaluate(u, z, Evaluation())))) for u in arguments]
        return min(distances, default=float("inf"))


def parse_activation(source: str, *, max_length: int = 1000, max_depth: int = 64) -> Activation:
    """Parse an activation formula in x; raise ExpressionError (with position) if refused."""
    if not isinstance(source, str):
        raise ExpressionError(f"an activation must be text, got {type(source).__name__}")
    if len(source) > max_length:
        what = f"expression is longer than {max_length} characters"
        raise _error(source, what, max_length)
    bare = source.strip()
    if not bare:
        raise ExpressionError(
            "empty expression at column 1; write a formula in x such as relu(x)", 0
        )
    if bare in ("identity", "linear"):
        tree: Node = Var()
    elif bare in _MAX_ARGS:
        tree = Call(bare, Var())
    else:
        tree = _Parser(source, max_depth).parse()
    try:
        d = _simplify(_differentiate(tree))
        derivative_text, derivative_latex = _display(d)
    except RecursionError:  # only reachable with a max_depth far above the default
        raise ExpressionError("expression is too complex to differentiate", 0) from None
    text, shown = _text(tree), _text(tree, math=True)
    return Activation(source, text, _latex(tree), derivative_text, derivative_latex, tree, d, shown)

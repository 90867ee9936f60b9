"""Tests for nncalc.notation: every notation of a derivation, the engine's own equations,
refusals (exact messages and columns) and the printers' round trip."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.errors import NncalcError
from nncalc.mathml import mathml
from nncalc.notation import (
    Add,
    Call,
    Div,
    Equation,
    Hadamard,
    Indicator,
    MatMul,
    Neg,
    Node,
    NotationError,
    Num,
    Piecewise,
    Pow,
    StepSym,
    Sub,
    Sum,
    Sym,
    Transpose,
    latex,
    parse_equation,
    text,
)

ROOT = Path(__file__).resolve().parent.parent


def rhs(source: str) -> Node:
    equation = parse_equation(source)
    assert len(equation.sides) == 1
    return equation.sides[0]


# source → text() of the parsed right-hand side
NOTATIONS = [
    # the engine's printed forms
    ("W1·x + b1", "W1·x + b1"),
    ("relu(Z1) + sin(Z1)", "relu(Z1) + sin(Z1)"),
    ("−Σ y·log ŷ", "−Σ y·log(ŷ)"),
    ("1 + cos(Z1) if Z1 > 0, cos(Z1) otherwise", "1 + cos(Z1) if Z1 > 0, cos(Z1) otherwise"),
    ("(W2ᵀ·δ2) ⊙ f1'(Z1)", "(W2ᵀ·δ2) ⊙ f1'(Z1)"),
    ("W1 − 0.001·∂L/∂W1", "W1 − 0.001·∂L/∂W1"),
    ("(ŷ − y) / B", "(ŷ − y)/B"),
    ("Σ_b δ2", "Σ_b δ2"),
    ("1 − tanh(Z1)²", "1 − tanh(Z1)²"),
    (
        "(1/B) Σ_b −Σ [y·log ŷ + (1−y)·log(1−ŷ)]",
        "(1/B)·Σ_b −Σ (y·log(ŷ) + (1 − y)·log(1 − ŷ))",
    ),
    ("W1 ⋆ x + b1", "W1 ⋆ x + b1"),
    ("x ⋆ δ1", "x ⋆ δ1"),
    ("Σ_b,p,q δ1", "Σ_b,p,q δ1"),
    ("Σ_t δ1_t·x_tᵀ", "Σ_t δ1_t·x_tᵀ"),
    ("Σ_t δ1_t·h_(t−1)ᵀ", "Σ_t δ1_t·h_(t−1)ᵀ"),
    ("Wx1·x_1 + Wh1·h_0 + b1", "Wx1·x_1 + Wh1·h_0 + b1"),
    ("Σ_t ½Σ (ŷ − y)²", "Σ_t 0.5·Σ (ŷ − y)²"),
    ("flatten(A2)", "flatten(A2)"),
    ("reshape(∂L/∂A3)", "reshape(∂L/∂A3)"),
    ("sigmoid(Z2)·(1 − sigmoid(Z2))", "sigmoid(Z2)·(1 − sigmoid(Z2))"),
    # the engine's LaTeX
    (r"-\sum_i y_i \log \hat{y}_i", "−Σ y·log(ŷ)"),
    (r"\left(W_{2}^{\top} \delta_{2}\right) \odot f_{1}'(Z_{1})", "(W_2ᵀ·δ_2) ⊙ f1'(Z_1)"),
    (r"W_{1} - 0.001\,\frac{\partial L}{\partial W_{1}}", "W_1 − 0.001·∂L/∂W_1"),
    (r"\sum_t \delta_{1}^{(t)} h_{t-1}^{\top}", "Σ_t δ_1_t·h_(t−1)ᵀ"),
    (r"1 - {\tanh(Z_{1}^{(3)})}^{2}", "1 − tanh(Z_1_t3)²"),
    (
        r"\begin{cases} 1 & Z_{1} > 0 \\ 0 & \text{otherwise} \end{cases}",
        "1 if Z_1 > 0, 0 otherwise",
    ),
    # students' forms
    ("W_1 x + b_1", "W_1·x + b_1"),
    (r"\delta_2 H^\top", "δ_2·Hᵀ"),
    (r"(W_2^T \boldsymbol{\delta}_2) \odot f'(\mathbf{Z}_1)", "(W_2ᵀ·δ_2) ⊙ f'(Z_1)"),
    (r"\hat{y} - y", "ŷ − y"),
    (r"\frac{e^{z_i}}{\sum_j e^{z_j}}", "exp(z)/Σ exp(z)"),
    (r"\sigma(Z_2)", "sigmoid(Z_2)"),
    ("np.dot(W2.T, delta2) * fprime1", "(W2ᵀ·delta2) ⊙ fprime1"),
    ("np.outer(delta1, x)", "delta1·xᵀ"),
    ("W1 - alpha dW1", "W1 − lr·dW1"),
    ("W1 - lr * dW1", "W1 − lr·dW1"),
    ("1 + cos(x) if x > 0 else cos(x)", "1 + cos(x) if x > 0, cos(x) otherwise"),
    ("{1 + cos(x), x > 0; cos(x), otherwise}", "1 + cos(x) if x > 0, cos(x) otherwise"),
    ("{1 + cos(x) if x > 0; cos(x) otherwise}", "1 + cos(x) if x > 0, cos(x) otherwise"),
    ("W2' δ2", "W2ᵀ·δ2"),
    ("softmax(Z2)", "softmax(Z2)"),
    ("x δ1ᵀ", "x·δ1ᵀ"),
    ("delta1 @ x.T", "delta1·xᵀ"),
    ("(Z1 > 0) + cos(Z1)", "[Z1 > 0] + cos(Z1)"),
    ("1[x>0] + cos x", "[x > 0] + cos(x)"),
    # piecewise
    (
        r"\begin{cases} 1 + \cos x & x > 0 \\ \cos x & \text{otherwise} \end{cases}",
        "1 + cos(x) if x > 0, cos(x) otherwise",
    ),
    (
        r"\begin{cases} 1 + \cos x & \text{if } x > 0 \\ \cos x & x \le 0 \end{cases}",
        "1 + cos(x) if x > 0, cos(x) if x ≤ 0",
    ),
    (r"\begin{cases} a & x \geq 0 \\ b & \text{else} \end{cases}", "a if x ≥ 0, b otherwise"),
    (
        "np.where(Z1 > 0, 1 + np.cos(Z1), np.cos(Z1))",
        "1 + cos(Z1) if Z1 > 0, cos(Z1) otherwise",
    ),
    ("a if x > 0 else b if x < -1 else c", "a if x > 0, b if x < −1, c otherwise"),
    ("a if x > 0", "a if x > 0"),
    # indicators
    ("1_{x>0}", "[x > 0]"),
    ("𝟙[x>0]", "[x > 0]"),
    (r"\mathbb{1}[x > 0]", "[x > 0]"),
    (r"\mathbf{1}\{x>0\}", "[x > 0]"),
    ("[x >= 0] + [x <= 1] + [x ≥ 0] + [x ≤ 1]", "[x ≥ 0] + [x ≤ 1] + [x ≥ 0] + [x ≤ 1]"),
    (r"[x \ge 0] + [x \le 1] + [x \gt 0] + [x \lt 1]", "[x ≥ 0] + [x ≤ 1] + [x > 0] + [x < 1]"),
    ("(Z1 > 0).astype(float)", "[Z1 > 0]"),
    # names
    ("W_{1} + W_1 + W1", "W_1 + W_1 + W1"),
    (r"\mathbf{W}_1 + \boldsymbol{W}_1 + \bm{W}_1 + \vec{x}", "W_1 + W_1 + W_1 + x"),
    (r"\delta_2 + δ2 + \delta2", "δ_2 + δ2 + δ2"),
    (r"\hat{y} + ŷ + y_hat + \hat y + \hat{y}_i", "ŷ + ŷ + y_hat + ŷ + ŷ"),
    ("y\u0302", "ŷ"),  # y and a combining circumflex
    ("W^{[1]} + W^[1] + W[1] + dW^{[2]}", "W[1] + W[1] + W[1] + dW[2]"),
    ("W_{x,1} + Wx1 + Wh1", "Wx1 + Wx1 + Wh1"),
    (r"alpha + α + \alpha + lr + eta + η + \eta", "lr + lr + lr + lr + lr + lr + lr"),
    ("B", "B"),
    ("∂L/∂W2 + dL/dW2", "∂L/∂W2 + ∂L/∂W2"),
    (r"\frac{\partial L}{\partial W_2} + \partial L / \partial W_2", "∂L/∂W_2 + ∂L/∂W_2"),
    (r"\frac{dL}{dW_2} + dL/dW_{2}", "∂L/∂W_2 + ∂L/∂W_2"),
    ("y_i + z_j + x_k + a_n", "y + z + x + a"),
    ("W₁ x + b₁", "W_1·x + b_1"),
    # rnn time indices
    ("δ1_t + x_t", "δ1_t + x_t"),
    (r"\delta_1^{(t)}", "δ_1_t"),
    ("h_{t-1} + h_(t−1) + h_{t−1} + h^{(t-1)}", "h_(t−1) + h_(t−1) + h_(t−1) + h_(t−1)"),
    ("h_{t+1}", "h_(t+1)"),
    ("h_2 + δ1_t3 + δ^{(3)}", "h_2 + δ1_t3 + δ_t3"),
    # numbers
    ("e + π + pi + \\pi + ½ + 2.5e-3 + .5", "e + π + π + π + 0.5 + 0.0025 + 0.5"),
    # operators
    ("a / b ÷ c + \\frac{a}{b}", "a/b/c + a/b"),
    ("x^2 + x^{2} + x**2 + x² + x³ + x^0.5", "x² + x² + x² + x² + x³ + x^0.5"),
    (
        "x·y + x@y + x \\cdot y + x \\times y + x ⋅ y + 2 x + 2x",
        "x·y + x·y + x·y + x·y + x·y + 2·x + 2·x",
    ),
    ("x ⊙ y + x ∘ y + x .* y + x \\odot y + x \\circ y", "x ⊙ y + x ⊙ y + x ⊙ y + x ⊙ y + x ⊙ y"),
    ("np.multiply(x, y) + x * y + np.matmul(x, y)", "x ⊙ y + x ⊙ y + x·y"),
    ("x * y", "x·y"),  # without NumPy notation * is the matrix product
    ("x^T + x^{T} + x^\\top + x^{\\top} + xᵀ + x'", "xᵀ + xᵀ + xᵀ + xᵀ + xᵀ + xᵀ"),
    ("np.transpose(x) + x.T + (a·b)'", "xᵀ + xᵀ + (a·b)ᵀ"),
    ("−x + -x + +x", "−x + (−x) + x"),
    ("x^y^z + x**y**z + x⁻² + x^2ᵀ", "x^(y^z) + x^(y^z) + x^(−2) + (x²)ᵀ"),
    ("\\frac12 x + 1/B Σ_b x", "(1/2)·x + (1/B)·Σ_b x"),
    ("W[0] + W[12]", "W[0] + W[12]"),
    ("a − b − c", "a − b − c"),
    ("a − (b − c)", "a − (b − c)"),
    # functions
    ("log(x) + ln(x) + \\ln x + \\log x", "log(x) + log(x) + log(x) + log(x)"),
    (
        "log_{10}(x) + \\log_{10} x + np.log10(x) + log10(x)",
        "log10(x) + log10(x) + log10(x) + log10(x)",
    ),
    (
        "relu(x) + ReLU(x) + max(0, z) + np.maximum(0, z) + \\max(0, z)",
        "relu(x) + relu(x) + relu(z) + relu(z) + relu(z)",
    ),
    (
        "W1 ⋆ x + W1 \\star x + conv2d(a, b) + xcorr(a, b) + correlate(a, b)",
        "W1 ⋆ x + W1 ⋆ x + a ⋆ b + a ⋆ b + a ⋆ b",
    ),
    ("f(x) + f1(x) + f_1(x) + f^{[1]}(x) + g(x)", "f(x) + f1(x) + f1(x) + f1(x) + f(x)"),
    (
        "f'(x) + f1'(x) + f_1'(x) + f'_1(x) + f^{[1]}'(x) + g'(x)",
        "f'(x) + f1'(x) + f1'(x) + f1'(x) + f1'(x) + f'(x)",
    ),
    ("fprime1(Z1) + fprime1", "f1'(Z1) + fprime1"),
    (
        "relu'(x) + sigmoid'(x) + σ'(x) + \\sigma'(x) + tanh'(x)",
        "relu'(x) + sigmoid'(x) + sigmoid'(x) + sigmoid'(x) + tanh'(x)",
    ),
    (
        "log ŷ + \\log \\hat{y}_i + \\exp z + \\tanh Z_1 + sin x",
        "log(ŷ) + log(ŷ) + exp(z) + tanh(Z_1) + sin(x)",
    ),
    ("tanh(Z1)² + \\tanh^2 Z + tanh Z²", "tanh(Z1)² + tanh(Z)² + tanh(Z²)"),
    ("e^{z} + e^z + \\exp(z) + np.exp(z) + e^{-z}", "exp(z) + exp(z) + exp(z) + exp(z) + exp(−z)"),
    (
        "sqrt(x) + \\sqrt{x} + abs(x) + |x| + np.abs(x)",
        "sqrt(x) + sqrt(x) + abs(x) + abs(x) + abs(x)",
    ),
    ("σ(Z)(1 − σ(Z))", "sigmoid(Z)·(1 − sigmoid(Z))"),
    # sums
    (
        "Σ_t δ + Σ_{b,p,q} δ + \\sum_{t=1}^{T} δ + \\sum_j δ + \\sum_{i} δ + ∑_b δ",
        "Σ_t δ + Σ_b,p,q δ + Σ_t δ + Σ δ + Σ δ + Σ_b δ",
    ),
    (
        "sum(x) + np.sum(x) + np.sum(a, axis=1, keepdims=True) + np.sum(a, axis=0)",
        "Σ x + Σ x + Σ_b a + Σ a",
    ),
    ("Σ [y log ŷ + (1−y) log(1−ŷ)]", "Σ (y·log(ŷ) + (1 − y)·log(1 − ŷ))"),
    ("a·Σ_b x·y + c", "a·Σ_b x·y + c"),
    ("(Σ_b x)·y", "(Σ_b x)·y"),
    # LaTeX sizing, spacing and wrappers
    ("$W_1 x$", "W_1·x"),
    ("$$W_1 x$$", "W_1·x"),
    ("\\[ W_1 x \\]", "W_1·x"),
    ("\\( W_1 x \\)", "W_1·x"),
    (
        r"\left( a \right) \big( b \big) \Bigl[ c \Bigr] \, \; \! \: \quad \qquad ~ d"
        r" \displaystyle",
        "a·b·c·d",
    ),
    (
        r"\operatorname{softmax}(z) + \mathrm{softmax}(z) + \text{softmax}(z)",
        "softmax(z) + softmax(z) + softmax(z)",
    ),
    ("{a + b}·c", "(a + b)·c"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "expected"), NOTATIONS)
def test_every_notation_reads_as_the_engine_writes_it(source: str, expected: str) -> None:
    assert text(rhs(source)) == expected


def test_trees_hold_what_the_brief_promises() -> None:
    assert rhs("W1·x + b1") == Add(MatMul(Sym("W1"), Sym("x")), Sym("b1"))
    assert rhs(r"\delta_2 H^\top") == MatMul(Sym("δ_2"), Transpose(Sym("H")))
    assert rhs("h_{t-1}") == StepSym("h", -1)
    assert rhs("np.outer(a, b)") == MatMul(Sym("a"), Transpose(Sym("b")))
    assert rhs("W1 ⋆ x") == Call("xcorr", (Sym("W1"), Sym("x")))
    assert rhs("f^{[1]}'(Z)") == Call("fprime", (Sym("Z"),), 1)
    assert rhs("f(Z)") == Call("f", (Sym("Z"),), None)
    assert rhs("e") == Num(math.e) and rhs("½") == Num(0.5)
    assert rhs("x^{0.5}") == Pow(Sym("x"), Num(0.5))
    assert rhs("1[x>0]") == Indicator(">", Sym("x"), Num(0.0))
    assert rhs("Σ_b x") == Sum(("b",), Sym("x"))
    assert rhs("a ⊙ b / c") == Div(Hadamard(Sym("a"), Sym("b")), Sym("c"))
    assert rhs("−a·b") == MatMul(Neg(Sym("a")), Sym("b"))  # unary minus binds tighter
    assert rhs("a − b") == Sub(Sym("a"), Sym("b"))
    case = rhs("1 if x > 0, 0 otherwise")
    assert case == Piecewise(((Num(1.0), Indicator(">", Sym("x"), Num(0.0))),), Num(0.0))


def test_positions_are_columns_of_the_source() -> None:
    node = rhs("dW2 = δ2·Hᵀ") if False else parse_equation("dW2 = δ2·Hᵀ").sides[0]
    assert isinstance(node, MatMul)
    assert (node.pos, node.a.pos, node.b.pos) == (6, 6, 9)
    neg = rhs("a - -b")
    assert isinstance(neg, Sub) and neg.b.pos == 4


def test_equation_sides_lhs_and_numpy_flag() -> None:
    equation = parse_equation("d2 = ŷ − y = softmax(Z2) − y")
    assert equation == Equation(
        "d2 = ŷ − y = softmax(Z2) − y",
        "d2",
        (Sub(Sym("ŷ"), Sym("y")), Sub(Call("softmax", (Sym("Z2"),)), Sym("y"))),
        False,
    )
    assert parse_equation("ŷ − y").lhs is None
    assert parse_equation("$dW_2 = \\delta_2 H^\\top$").lhs == "dW_2"
    # '=' inside brackets, >= and <= are not the equation's
    assert parse_equation("a = [x >= 0] + \\sum_{t=1} h_t").lhs == "a"
    assert parse_equation("[x <= 0]").lhs is None
    assert parse_equation("delta1 @ x.T").numpy
    assert parse_equation("numpy.dot(a, b)").numpy
    assert not parse_equation("a * b").numpy


def _solution(problem: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        app, ["solve", str(ROOT / "problems" / f"{problem}.yaml"), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    steps: list[dict[str, str]] = json.loads(result.stdout)["steps"]
    return steps


PROSE = ("max over each", "routed to", "[t=", "…", "maxpool", "route", "\\right|", "\\dots")


@pytest.mark.parametrize("problem", ["a4", "cnn", "rnn", "batch_xor", "classic_222"])
def test_every_equation_the_engine_prints_parses(problem: str) -> None:
    parsed = refused = 0
    for step in _solution(problem):
        for source in (step["equation"], step["latex"]):
            if any(p in source for p in PROSE):  # prose: may be refused
                try:
                    parse_equation(source)
                except NotationError:
                    refused += 1
                continue
            equation = parse_equation(source)
            assert equation.lhs and len(equation.sides) == 1, source
            for side in equation.sides:  # and prints back to the same tree
                assert parse_equation(text(side)).sides == (side,), source
            parsed += 1
    assert parsed >= 30


def test_engine_text_and_latex_agree() -> None:
    """The engine's two spellings of one equation read as the same tree up to the
    spelling of names (W1 / W_1) and ½ / \\frac{1}{2}."""
    for step in _solution("batch_xor"):
        plain = text(parse_equation(step["equation"]).sides[0])
        typeset = text(parse_equation(step["latex"]).sides[0])
        assert typeset.replace("_", "") == plain.replace("_", ""), step["equation"]


# source → (message after "column N: ", column)
ERRORS = [
    ("W1·(x + b1", "expected ')' to close the '(' at column 4", 11),
    ("W1·(x + b1]", "expected ')' to close the '(' at column 4, found ']'", 11),
    ("W1·x)", "unmatched ')'", 5),
    ("{a + b", "expected '}' to close the '{' at column 1", 7),
    ("foo(x) + 1", "unknown function 'foo'; expected one of ", 1),
    (
        "W^-1 δ",
        "a matrix inverse (^-1) has no place in backpropagation; "
        "the backward pass multiplies by transposes (ᵀ)",
        2,
    ),
    ("W^{-1}", "a matrix inverse (^-1) has no place in backpropagation;", 2),
    ("W**-1", "a matrix inverse (^-1) has no place in backpropagation;", 2),
    ("W⁻¹", "a matrix inverse (^-1) has no place in backpropagation;", 2),
    ("a $ b", "'$' may only surround the whole formula", 3),
    ("a; b", "expected an operator (+ − · ⊙ / ^) or the end of the formula, found ';'", 2),
    ("a == b", "'==' is not allowed; a condition is a comparison with > ≥ < ≤", 3),
    ("lambda x: x", "'lambda' is not allowed in a formula", 1),
    ("__import__('os')", "expected a number, a name, a function or '(', found '_'", 1),
    ("a\x00b", "unexpected character '\\x00'", 2),
    ("a + ", "expected a number, a name, a function or '('", 5),
    ("", "expected a formula", 1),
    ("dW2 = ", "expected a formula after '='", 6),
    ("x if y", "expected a comparison such as 'Z1 > 0'", 7),
    ("\\foo x", "unknown LaTeX command '\\foo'", 1),
    ("np.linalg(x)", "unknown NumPy function 'np.linalg'; expected one of np.dot", 4),
    ("x.inv()", "unknown method '.inv'; expected .T, .dot(…) or .astype(float)", 3),
    ("max(1, x)", "max(…) is understood only as max(0, z), that is relu(z)", 1),
    ("exp'(x)", "unknown function \"exp'\"", 1),
    ("A1[t=2]", "expected ']' to close the '[' at column 3, found '='", 5),
    ("sum(x, axis=2)", "expected axis=0 or axis=1, got axis=2", 1),
    ("relu(x, y)", "relu() takes 1 argument, got 2", 10),
    ("f(x=1)", "f() takes no argument 'x'", 3),
]  # fmt: skip


@pytest.mark.parametrize(("source", "message", "column"), ERRORS)
def test_refusals_name_the_column_and_what_was_expected(
    source: str, message: str, column: int
) -> None:
    with pytest.raises(NotationError) as caught:
        parse_equation(source)
    error = caught.value
    assert isinstance(error, NncalcError)
    assert error.message.startswith(f"column {column}: {message}"), error.message
    assert error.position == column - 1


def test_message_shows_the_text_around_the_column() -> None:
    with pytest.raises(NotationError) as caught:
        parse_equation("W1·(x + b1")
    assert str(caught.value) == (
        "column 11: expected ')' to close the '(' at column 4 in \"W1·(x + b1\""
    )


def test_limits_on_length_and_depth() -> None:
    with pytest.raises(NotationError, match=r"^column 2001: the formula is longer than 2000"):
        parse_equation("x" * 2001)
    assert rhs("(" * 60 + "x" + ")" * 60) == Sym("x")
    with pytest.raises(NotationError, match=r"nested more than 64 levels deep"):
        parse_equation("(" * 65 + "x" + ")" * 65)
    with pytest.raises(NotationError, match=r"nested more than 64 levels deep"):
        parse_equation(" + ".join(["x"] * 70))
    for deep in ("-" * 500 + "x", "log " * 300 + "x", "x" + "^x" * 500, r"\hat{" * 150 + "y"):
        with pytest.raises(NotationError, match=r"nested more than 64 levels deep"):
            parse_equation(deep)
    with pytest.raises(NotationError):  # the stack never overflows, whatever the limit
        parse_equation("(" * 1500 + "x" + ")" * 1500, max_depth=10**6, max_length=10**6)
    assert sys.getrecursionlimit() >= 1000
    with pytest.raises(NotationError, match="must be text"):
        parse_equation(12)  # type: ignore[arg-type]


# --- The printers' round trip --------------------------------------------------------------------

TEXT_NAMES = ["W1", "b1", "x", "y", "ŷ", "δ2", "H", "W_1", "h_0", "Wx1", "dW1", "dL/dW2", "dL/dŷ"]
TEXT_NAMES += ["W[1]", "B", "lr", "A3", "Z1_t3", "y_hat", "δ_1"]
#: LaTeX writes W1 as W_{1}, which reads back as "W_1": these names are LaTeX's own spelling.
LATEX_NAMES = ["W_1", "b_1", "x", "y", "ŷ", "δ_2", "H", "Z_1", "h_0", "Wx1", "Wh1", "dW_1"]
LATEX_NAMES += ["dL/dW_2", "dL/dŷ", "dL/dH", "W[1]", "dW[2]", "B", "lr", "Z_1_t3", "y_hat"]
NUMBERS = [0.0, 0.5, 1.0, 2.0, 0.001, 1e-05, 3.25, 1e20, math.pi, math.e]
ONE_ARGUMENT = ["exp", "log", "log10", "sin", "cos", "tanh", "relu", "sigmoid", "softmax"]
ONE_ARGUMENT += ["sqrt", "abs", "flatten", "reshape", "relu'", "sigmoid'", "tanh'"]


def _minus_one(node: Node) -> bool:
    return node in (Neg(Num(1.0)), Num(-1.0))


def trees(names: list[str], steps: list[str]) -> st.SearchStrategy[Node]:
    leaves = st.one_of(
        st.sampled_from(NUMBERS).map(Num),
        st.sampled_from(names).map(Sym),
        st.builds(StepSym, st.sampled_from(steps), st.sampled_from([0, -1, 1])),
    )

    def extend(kids: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        comparisons = st.sampled_from([">", ">=", "<", "<="])
        indicator = st.builds(Indicator, comparisons, kids, kids)
        fixed = st.sampled_from([Num(2.0), Num(3.0), Num(0.5), Sym("t"), Sym("T"), Neg(Num(2.0))])
        exponents = fixed | kids.filter(lambda k: not _minus_one(k))
        binary = st.sampled_from([Add, Sub, Div, MatMul, Hadamard])
        return st.one_of(
            st.builds(Neg, kids),
            st.builds(lambda kind, a, b: kind(a, b), binary, kids, kids),
            st.builds(Pow, kids, exponents),
            st.builds(Transpose, kids),
            st.builds(Call, st.sampled_from(ONE_ARGUMENT), st.tuples(kids)),
            st.builds(Call, st.just("xcorr"), st.tuples(kids, kids)),
            st.builds(
                Call,
                st.sampled_from(["f", "fprime"]),
                st.tuples(kids),
                st.sampled_from([None, 1, 2]),
            ),
            st.builds(Sum, st.sampled_from([(), ("b",), ("t",), ("b", "p", "q")]), kids),
            indicator,
            st.builds(
                Piecewise,
                st.lists(st.tuples(kids, indicator), min_size=1, max_size=2).map(tuple),
                st.none() | kids,
            ),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=400)
@given(trees(TEXT_NAMES, ["x", "h", "δ1", "δ_1"]))
def test_text_prints_what_parses_back_to_the_same_tree(tree: Node) -> None:
    printed = text(tree)
    assert rhs(printed) == tree, printed


@settings(max_examples=400)
@given(trees(LATEX_NAMES, ["x", "h", "δ_1", "W_1"]))
def test_latex_prints_what_parses_back_to_the_same_tree(tree: Node) -> None:
    printed = latex(tree)
    assert rhs(printed) == tree, printed


def test_latex_typesets_names_as_the_engine_does() -> None:
    assert latex(rhs("W1·x + b1")) == "W_{1} x + b_{1}"
    assert latex(rhs("(W2ᵀ·δ2) ⊙ f1'(Z1)")) == (
        r"\left(W_{2}^{\top} \delta_{2}\right) \odot f_{1}'(Z_{1})"
    )
    assert latex(rhs("W1 − 0.001·∂L/∂W1")) == (r"W_{1} - 0.001\,\frac{\partial L}{\partial W_{1}}")
    assert latex(rhs("ŷ − y")) == r"\hat{y} - y"
    assert latex(rhs("Σ_t δ1_t·h_(t−1)ᵀ")) == r"\sum_{t} \delta_{1}^{(t)} h_{t-1}^{\top}"
    assert latex(rhs("1 − tanh(Z1)²")) == r"1 - {\tanh(Z_{1})}^{2}"
    assert latex(rhs("1 if Z1 > 0, 0 otherwise")) == (
        r"\begin{cases} 1 & Z_{1} > 0 \\ 0 & \text{otherwise} \end{cases}"
    )
    assert latex(rhs("Wx1 + W[1] + lr")) == r"W_{x,1} + W^{[1]} + \eta"
    assert text(rhs("1 − tanh(Z1)²")) == "1 − tanh(Z1)²"


FRAGMENTS = [
    "W1", "x", "δ2", "ŷ", "·", "⊙", "ᵀ", "'", "(", ")", "[", "]", "{", "}", " + ", "−", "/",
    "^", "²", "⁻¹", "_", "t", "1", "0.5", "Σ", "∂L/∂", "if", "otherwise", ",", ";", ">", "=",
    r"\frac", r"\sum_", r"\left(", r"\right)", r"\hat", r"\begin{cases}", "&", r"\\",
    r"\end{cases}", "np.", "dot", ".T", "*", "log", "f", "f1'", "|", "𝟙", "e", "$", "\x00",
]  # fmt: skip


@settings(max_examples=600)
@given(
    st.one_of(st.text(max_size=40), st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
)
def test_any_text_is_parsed_or_refused_with_a_notation_error(source: str) -> None:
    try:
        equation = parse_equation(source)
    except NotationError as error:
        assert error.message.startswith("column ")
        assert 0 <= error.position <= len(source)
        return
    for side in equation.sides:
        text(side), latex(side)


@settings(max_examples=300)
@given(trees(LATEX_NAMES, ["x", "h", "δ_1", "W_1"]))
def test_every_formula_nncalc_prints_is_typeset_in_mathml(tree: Node) -> None:
    printed = latex(tree)
    shown = mathml(printed)
    assert shown is not None, printed
    element = ElementTree.fromstring(shown)  # well-formed, one <math> element
    assert element.tag == "math" and "\\" not in shown


@pytest.mark.parametrize(
    "tex",
    [r"\input{x}", r"\text{a<b}", "x^^5c", r"\frac{a}", r"\left(x", "δ", r"\begin{array}{r}"],
)
def test_mathml_refuses_what_nncalc_never_prints(tex: str) -> None:
    assert mathml(tex) is None

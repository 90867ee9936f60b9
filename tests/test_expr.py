"""Tests for nncalc.expr: parsing, refusals, printing, evaluation and the symbolic derivative."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nncalc.errors import NncalcError
from nncalc.expr import ExpressionError, parse_activation

CASES = r"\begin{cases} %s & x > 0 \\ %s & \text{otherwise} \end{cases}"

# source, text, latex, derivative_text, derivative_latex
PRINTED = [
    (
        "relu(x) + sin(x)",
        "relu(x) + sin(x)",
        r"\operatorname{ReLU}(x) + \sin(x)",
        "1 + cos(x) if x > 0, cos(x) otherwise",
        CASES % (r"1 + \cos(x)", r"\cos(x)"),
    ),
    ("relu", "relu(x)", r"\operatorname{ReLU}(x)", "1 if x > 0, 0 otherwise", CASES % (1, 0)),
    (
        "sigmoid",
        "sigmoid(x)",
        r"\sigma(x)",
        "sigmoid(x)·(1 − sigmoid(x))",
        r"\sigma(x) \cdot (1 - \sigma(x))",
    ),
    ("tanh", "tanh(x)", r"\tanh(x)", "1 − tanh(x)²", r"1 - {\tanh(x)}^{2}"),
    ("identity", "x", "x", "1", "1"),
    ("  linear\n", "x", "x", "1", "1"),
    ("identity(sin(x))", "sin(x)", r"\sin(x)", "cos(x)", r"\cos(x)"),
    (
        "leaky_relu(x, 0.1)",
        "leaky_relu(x, 0.1)",
        r"\operatorname{LeakyReLU}(x, 0.1)",
        "1 if x > 0, 0.1 otherwise",
        CASES % (1, 0.1),
    ),
    (
        "leaky_relu",
        "leaky_relu(x)",
        r"\operatorname{LeakyReLU}(x)",
        "1 if x > 0, 0.01 otherwise",
        CASES % (1, 0.01),
    ),
    (
        "elu",
        "elu(x)",
        r"\operatorname{ELU}(x)",
        "1 if x > 0, exp(x) otherwise",
        CASES % (1, r"\exp(x)"),
    ),
    (
        "elu(x, 0.5)",
        "elu(x, 0.5)",
        r"\operatorname{ELU}(x, 0.5)",
        "1 if x > 0, 0.5·exp(x) otherwise",
        CASES % (1, r"0.5 \cdot \exp(x)"),
    ),
    ("softplus", "softplus(x)", r"\operatorname{softplus}(x)", "sigmoid(x)", r"\sigma(x)"),
    ("x**2/2", "x**2/2", r"\frac{{x}^{2}}{2}", "x", "x"),
    ("3*x**2", "3*x**2", r"3 \cdot {x}^{2}", "6·x", r"6 \cdot x"),
    (
        "x**2/2 - 3*tanh(x)",
        "x**2/2 - 3*tanh(x)",
        r"\frac{{x}^{2}}{2} - 3 \cdot \tanh(x)",
        "x − 3·(1 − tanh(x)²)",
        r"x - 3 \cdot (1 - {\tanh(x)}^{2})",
    ),
    ("abs(x)", "abs(x)", "|x|", "sign(x)", r"\operatorname{sign}(x)"),
    ("cos(2*x)", "cos(2*x)", r"\cos(2 \cdot x)", "−2·sin(2·x)", r"-2 \cdot \sin(2 \cdot x)"),
    ("log(x)", "log(x)", r"\log(x)", "1/x", r"\frac{1}{x}"),
    ("sqrt(x)", "sqrt(x)", r"\sqrt{x}", "1/(2·sqrt(x))", r"\frac{1}{2 \cdot \sqrt{x}}"),
    ("1/x", "1/x", r"\frac{1}{x}", "−1/x²", r"\frac{-1}{{x}^{2}}"),
    (
        "exp(-x**2)",
        "exp(-x**2)",
        r"\exp(-{x}^{2})",
        "−2·x·exp(−x²)",
        r"-2 \cdot x \cdot \exp(-{x}^{2})",
    ),
    (
        "sin(x)**2",
        "sin(x)**2",
        r"{\sin(x)}^{2}",
        "2·sin(x)·cos(x)",
        r"2 \cdot \sin(x) \cdot \cos(x)",
    ),
    ("x**(1/2)", "x**(1/2)", r"{x}^{\frac{1}{2}}", "0.5·x^(−0.5)", r"0.5 \cdot {x}^{-0.5}"),
    (
        "x**(1/3)",
        "x**(1/3)",
        r"{x}^{\frac{1}{3}}",
        "1/3·x^(1/3 − 1)",
        r"\frac{1}{3} \cdot {x}^{\frac{1}{3} - 1}",
    ),
    ("x^-1", "x**-1", r"{x}^{-1}", "−x^(−2)", r"-{x}^{-2}"),
    ("x/3", "x/3", r"\frac{x}{3}", "1/3", r"\frac{1}{3}"),
    ("1e-5*x", "1e-05*x", r"1 \cdot 10^{-5} \cdot x", "1·10⁻⁵", r"1 \cdot 10^{-5}"),
    ("2.50*x + .5", "2.5*x + 0.5", r"2.5 \cdot x + 0.5", "2.5", "2.5"),
    ("pi*x", "pi*x", r"\pi \cdot x", "pi", r"\pi"),
    ("-x**2", "-x**2", r"-{x}^{2}", "−2·x", r"-2 \cdot x"),
    ("(-x)**2", "(-x)**2", r"{(-x)}^{2}", "2·x", r"2 \cdot x"),
    ("x**2**3", "x**2**3", r"{x}^{{2}^{3}}", "8·x⁷", r"8 \cdot {x}^{7}"),
    ("2 - (x - 1)", "2 - (x - 1)", "2 - (x - 1)", "−1", "-1"),
    ("x*-2", "x*(-2)", r"x \cdot (-2)", "−2", "-2"),
    ("+x - -x", "x - (-x)", "x - (-x)", "2", "2"),
    ("(x + 1)**2", "(x + 1)**2", r"{(x + 1)}^{2}", "2·(x + 1)", r"2 \cdot (x + 1)"),
    (
        "relu(2*x)",
        "relu(2*x)",
        r"\operatorname{ReLU}(2 \cdot x)",
        "2 if 2·x > 0, 0 otherwise",
        r"\begin{cases} 2 & 2 \cdot x > 0 \\ 0 & \text{otherwise} \end{cases}",
    ),
    (
        "leaky_relu(x) + relu(2*x)",
        "leaky_relu(x) + relu(2*x)",
        r"\operatorname{LeakyReLU}(x) + \operatorname{ReLU}(2 \cdot x)",
        "(1 if x > 0 else 0.01) + 2·step(2·x)",
        CASES % (1, 0.01) + r" + 2 \cdot \operatorname{step}(2 \cdot x)",
    ),
    (
        "relu(x) + 0*sin(x)",
        "relu(x) + 0*sin(x)",
        r"\operatorname{ReLU}(x) + 0 \cdot \sin(x)",
        "1 if x > 0, 0 otherwise",
        CASES % (1, 0),
    ),
    ("leaky_relu(x, 1)", "leaky_relu(x, 1)", r"\operatorname{LeakyReLU}(x, 1)", "1", "1"),
    ("2", "2", "2", "0", "0"),
]


@pytest.mark.parametrize(("source", "text", "latex", "d_text", "d_latex"), PRINTED)
def test_printed_forms(source: str, text: str, latex: str, d_text: str, d_latex: str) -> None:
    act = parse_activation(source)
    assert act.source == source
    assert (act.text, act.latex) == (text, latex)
    assert (act.derivative_text, act.derivative_latex) == (d_text, d_latex)


def test_seed_values_and_relu_kink() -> None:
    act = parse_activation("relu(x) + sin(x)")
    z = np.array([1.35, 0.35, 0.6])
    np.testing.assert_allclose(act(z), [2.3257, 0.6929, 1.1646], atol=5e-5)
    np.testing.assert_allclose(act.derivative(z), [1.2190, 1.9394, 1.8253], atol=5e-5)
    np.testing.assert_allclose(act(z), np.maximum(z, 0) + np.sin(z), rtol=1e-15)
    zk = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(act.derivative(zk), (zk > 0) + np.cos(zk))
    assert parse_activation("relu").derivative(np.array([0.0]))[0] == 0.0


def test_kinks_take_the_left_derivative() -> None:
    z0 = np.array([0.0])
    assert parse_activation("leaky_relu(x, 0.2)").derivative(z0)[0] == 0.2
    assert parse_activation("elu(x, 0.5)").derivative(z0)[0] == 0.5
    assert parse_activation("abs").derivative(z0)[0] == 0.0
    assert parse_activation("relu(x - 1)").derivative(np.array([1.0]))[0] == 0.0


def _sig(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-z)))


Formula = Callable[[np.ndarray], np.ndarray]
REFERENCE: list[tuple[str, Formula, Formula]] = [
    ("relu", lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    (
        "leaky_relu(x, 0.1)",
        lambda z: np.where(z > 0, z, 0.1 * z),
        lambda z: np.where(z > 0, 1, 0.1),
    ),
    ("elu", lambda z: np.where(z > 0, z, np.exp(z) - 1), lambda z: np.where(z > 0, 1, np.exp(z))),
    ("sigmoid", _sig, lambda z: _sig(z) * (1 - _sig(z))),
    ("tanh", np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    ("softplus", lambda z: np.log1p(np.exp(z)), _sig),
    ("sin(x)", np.sin, np.cos),
    ("cos", np.cos, lambda z: -np.sin(z)),
    ("exp(x/2)", lambda z: np.exp(z / 2), lambda z: np.exp(z / 2) / 2),
    ("log(1 + x**2)", lambda z: np.log(1 + z**2), lambda z: 2 * z / (1 + z**2)),
    ("sqrt(4 + x^2)", lambda z: np.sqrt(4 + z**2), lambda z: z / np.sqrt(4 + z**2)),
    ("abs(x)", np.abs, np.sign),
    ("identity", lambda z: z, np.ones_like),
    ("x**2/2 - 3*tanh(x)", lambda z: z**2 / 2 - 3 * np.tanh(z), lambda z: z - 3 / np.cosh(z) ** 2),
    ("-x**2 + 2^3^2", lambda z: 512 - z**2, lambda z: -2 * z),
    ("x/(1 + x**2)", lambda z: z / (1 + z**2), lambda z: (1 - z**2) / (1 + z**2) ** 2),
    ("e**2*x + pi", lambda z: np.e**2 * z + np.pi, lambda z: np.full_like(z, np.e**2)),
    ("2**-1*x**-2", lambda z: 0.5 / z**2, lambda z: -1 / z**3),
]


@pytest.mark.parametrize(("source", "f", "df"), REFERENCE)
def test_values_against_hand_formulas(source: str, f: Formula, df: Formula) -> None:
    act = parse_activation(source)
    z = np.array([-2.5, -1.0, -0.3, 0.7, 1.0, 3.2])
    np.testing.assert_allclose(act(z), f(z), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.derivative(z), df(z), rtol=1e-12, atol=1e-14)


def test_degree_mode_only_changes_sin_and_cos() -> None:
    z = np.array([-30.0, 45.0, 90.0])
    act = parse_activation("relu(x) + sin(x)")
    np.testing.assert_allclose(act(z, degrees=True), np.maximum(z, 0) + np.sin(np.deg2rad(z)))
    expected = (z > 0) + np.cos(np.deg2rad(z))  # the formula as written, no pi/180 factor
    np.testing.assert_allclose(act.derivative(z, degrees=True), expected)
    assert act(np.array([90.0]), degrees=True)[0] == pytest.approx(91.0)
    tanh = parse_activation("tanh(x) + cos(x)")
    np.testing.assert_allclose(tanh(z, degrees=True), np.tanh(z) + np.cos(np.deg2rad(z)))


def test_evaluation_is_quiet_and_keeps_inf_and_nan() -> None:
    z = np.array([-1.0, 0.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = parse_activation("log(x) + sqrt(x)")
        assert np.isnan(log(z)[0]) and log(z)[1] == -np.inf
        assert parse_activation("1/x").derivative(z)[1] == -np.inf
        assert parse_activation("exp").__call__(z)[2] == np.inf
        assert parse_activation("sigmoid")(np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
        assert parse_activation("softplus")(np.array([1000.0]))[0] == 1000.0
        assert np.isnan(parse_activation("leaky_relu").derivative(np.array([np.nan])))[0]


def test_shape_and_dtype_follow_the_input() -> None:
    z = np.arange(6, dtype=np.int64).reshape(2, 3)
    for source in ("2", "pi", "relu", "x**2"):
        act = parse_activation(source)
        for out in (act(z), act.derivative(z)):
            assert out.shape == (2, 3) and out.dtype == np.float64
    assert parse_activation("2*pi")(z).tolist() == [[2 * np.pi] * 3] * 2
    assert parse_activation("x**2").derivative(z).tolist() == [[0, 2, 4], [6, 8, 10]]


def test_activation_is_frozen_and_compares_by_text() -> None:
    act = parse_activation("relu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        act.text = "x"  # type: ignore[misc]
    assert act == parse_activation("relu")
    assert act != parse_activation("relu(x)")  # the source as written differs
    assert "tree" not in repr(act)


REFUSALS = [
    ("__import__('os')", "unknown name '__import__'", 0),
    ("os", "unknown name 'os'", 0),
    ("y", "unknown name 'y'", 0),
    ("ln(x)", "unknown name 'ln' at column 1 in \"ln(x)\"; did you mean 'log'?", 0),
    ("x.__class__", "attribute access with '.' is not allowed", 1),
    ("sin(x).real", "attribute access with '.' is not allowed", 6),
    ("2..real", "attribute access with '.' is not allowed", 2),
    ("().__class__", "unexpected ')' at column 2 in \"().__class__\"; expected a number, x", 1),
    ("lambda x: x", "lambda is not allowed", 0),
    ("[x for x in y]", "'[' is not allowed", 0),
    ("{x}", "'{' is not allowed", 0),
    ("x + 'a'", "strings (quotes) are not allowed", 4),
    ('"x"', "strings (quotes) are not allowed", 0),
    ("x**x**x**99", "exponent 99 is too large (at most 64)", 9),
    ("x**x", "the exponent of '**' must be a constant", 3),
    ("2**x", "write exp(exponent*log(base))", 3),
    ("x**65", "exponent 65 is too large", 3),
    ("x**(0/0)", "the exponent is not a finite number", 3),
    ("relu(x", "unclosed '('", 4),
    ("(x + (1)", "unclosed '('", 0),
    ("relu(x))", "unmatched ')'", 7),
    (")", "unmatched ')'", 0),
    ("(x y)", "; expected ')' to close the '(' at column 1 (is a '*' missing?)", 3),
    ("sin()", "sin() takes 1 argument, got 0", 0),
    ("sin(x, 2)", "sin() takes 1 argument, got 2", 0),
    ("1 + leaky_relu(x, 1, 2)", "leaky_relu() takes 1 or 2 arguments, got 3", 4),
    ("sin(x,)", "unexpected ')'", 6),
    ("leaky_relu(x, x)", "alpha of leaky_relu must be a finite constant", 14),
    ("leaky_relu(x, alpha=0.1)", "keyword arguments are not allowed", 14),
    ("x = 1", "'=' is not allowed", 2),
    ("x, 1", "',' is only allowed between function arguments", 1),
    ("(x, 1)", "',' is only allowed between function arguments", 2),
    ("x; 1", "unexpected character ';'", 1),
    ("x % 2", "unexpected character '%'", 2),
    ("x \u2212 1", "write '-' instead", 2),
    ("2 x", "unexpected 'x' at column 3 in \"2 x\"; expected an operator", 2),
    ("2x", "is a '*' missing?", 1),
    ("x(2)", "unexpected '('", 1),
    ("x +", "unexpected end of expression", 3),
    ("x + ", "unexpected end of expression", 3),
    ("x //2", "unexpected '/'", 3),
    ("softmax(x)", "softmax is not an elementwise function", 0),
    ("softmax", "use `activation: softmax` on its own", 0),
    ("relu + 1", "function 'relu' needs an argument", 0),
    ("1e999", "number '1e999' is too large", 0),
    ("x * 1e400", "number '1e400' is too large", 4),
    ("", "empty expression", 0),
    (" \t ", "empty expression", 0),
    ("(" * 200 + "x" + ")" * 200, "expression is more than 64 levels deep", 64),
    ("-" * 70 + "x", "expression is more than 64 levels deep", 64),
    ("x" + "+x" * 70, "expression is more than 64 levels deep", 127),
    ("x+" * 50000 + "x", "expression is longer than 1000 characters", 1000),
]


@pytest.mark.parametrize(("source", "fragment", "position"), REFUSALS)
def test_refusals(source: str, fragment: str, position: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_activation(source)
    assert fragment in str(info.value)
    assert info.value.position == position
    if source.strip():
        assert f"at column {position + 1} in " in str(info.value)


def test_error_message_names_column_and_expression() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_activation("relu(x) + y")
    message = str(info.value)
    assert message.startswith("unknown name 'y' at column 11 in \"relu(x) + y\"; allowed are x, pi")
    assert isinstance(info.value, NncalcError)
    assert str(info.value.located(source="p.yaml", line=4)).startswith("p.yaml:4: unknown name")

    with pytest.raises(ExpressionError) as info:
        parse_activation("sin(x) + " * 10 + "$")
    assert str(info.value) == (
        "unexpected character '$' at column 91 in "
        '"…x) + sin(x) + sin(x) + sin(x) + sin(x) + sin(x) + sin(x) + $"'
    )

    with pytest.raises(ExpressionError) as info:
        parse_activation("y + " + "x + " * 30 + "x")
    assert str(info.value).startswith("unknown name 'y' at column 1 in \"y + " + "x + " * 14 + '…"')


def test_refusal_when_a_non_string_is_given() -> None:
    with pytest.raises(ExpressionError, match="an activation must be text, got int"):
        parse_activation(3)  # type: ignore[arg-type]


def test_limits_are_parameters() -> None:
    assert parse_activation("x" + "+x" * 100, max_depth=200).derivative_text == "101"
    with pytest.raises(ExpressionError) as info:
        parse_activation("relu(x) + 1", max_length=5)
    assert info.value.position == 5
    with pytest.raises(ExpressionError, match="more than 3 levels deep"):
        parse_activation("sin(sin(sin(x)))", max_depth=3)


@pytest.mark.parametrize(
    "source",
    [
        "x+" * 50000 + "x",
        "(" * 100_000,
        "-" * 100_000 + "x",
        "sin(" * 50_000 + "x" + ")" * 50_000,
        "x**" * 50_000 + "2",
        "1" * 100_000,
        "x" * 100_000,
        "x" + "*x" * 50_000,
    ],
)
def test_huge_inputs_are_refused_quickly(source: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse_activation(source, max_length=10**6)
    assert time.perf_counter() - start < 0.5


DEEP: dict[
    str, Callable[[int], str]
] = {  # nestings that grow the tree, the derivative and the printed text
    "division chain": lambda k: "/".join(["x"] * k),
    "product chain": lambda k: "*".join(["x"] * k),
    "nested sigmoid": lambda k: "sigmoid(" * k + "x" + ")" * k,
    "nested quotient": lambda k: "x/(" * k + "x" + ")" * k,
    "nested power": lambda k: "(" * k + "x" + "**2)" * k,
    "sin of quotients": lambda k: "sin(x/(" * k + "x" + "))" * k,
    "leaky of products": lambda k: "leaky_relu(x*" * k + "x" + ")" * k,
}


@pytest.mark.parametrize("name", DEEP)
def test_the_deepest_accepted_expressions_still_work(name: str) -> None:
    template = DEEP[name]

    def accepted(k: int) -> bool:
        try:
            parse_activation(template(k))
        except ExpressionError as exc:
            assert "levels deep" in str(exc)
            return False
        return True

    low, high = 1, 65  # accepted(low) and not accepted(high): bisect to the last accepted k
    assert accepted(low) and not accepted(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if accepted(mid) else (low, mid)
    k = low
    assert k >= 30
    act = parse_activation(template(k))
    z = np.linspace(0.5, 1.5, 3)
    assert act(z).shape == act.derivative(z).shape == (3,)


# -- property tests ---------------------------------------------------------------------------

LEAVES = st.sampled_from(
    [
        "x",
        "x",
        "x",
        "0.5",
        "2",
        "1.5",
        "pi",
        "relu(x)",
        "leaky_relu(x, 0.2)",
        "elu(x)",
        "elu(x, 0.5)",
        "abs(x)",
        "exp(x)",
        "x^2",
    ]
)
UNARY = [
    "-({a})",
    "+({a})",
    "sigmoid({a})",
    "tanh({a})",
    "softplus({a})",
    "sin({a})",
    "cos({a})",
    "exp(tanh({a}))",
    "exp(-({a})**2)",
    "log(1 + ({a})**2)",
    "sqrt(1 + ({a})**2)",
    "({a})**2",
    "({a})**3",
    "(1 + ({a})**2)**(-1/2)",
    "identity({a})",
    "linear({a})",
    "2*({a})",
    "({a})/3",
]
BINARY = [
    "({a}) + ({b})",
    "({a}) - ({b})",
    "({a}) * ({b})",
    "({a}) / (1 + ({b})**2)",
    "({a}) / (2 + sin({b}))",
]


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0].format(a=t[1]))
    binary = st.tuples(st.sampled_from(BINARY), children, children).map(
        lambda t: t[0].format(a=t[1], b=t[2])
    )
    return unary | binary


EXPRESSIONS = st.recursive(LEAVES, _grow, max_leaves=8)
POINTS = st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(EXPRESSIONS, POINTS)
@example("(-(x)) * (-(relu(x)))", 1.0)  # once printed "relu(x) - x if x > 0, ..."
@example("sin((exp(x))**3)", 2.9)  # oscillates fast: plain central differences are too coarse
def test_derivative_matches_central_differences(source: str, x0: float) -> None:
    act = parse_activation(source)
    h = 1e-6
    fx = act(x0 + h * np.arange(-2.0, 3.0))
    assume(np.all(np.isfinite(fx)) and np.max(np.abs(fx)) < 1e6)
    # central differences with steps h and 2h, combined (Richardson) to cancel the h² error
    # term, so that fast-oscillating cases such as sin(exp(x)**3) are still compared sharply
    d1, d2 = (fx[3] - fx[1]) / (2 * h), (fx[4] - fx[0]) / (4 * h)
    numeric = (4 * d1 - d2) / 3
    symbolic = act.derivative(np.array([x0]))[0]
    scale = max(1.0, abs(symbolic), abs(fx[2]))  # rounding error grows like eps·|f|/h
    assert abs(numeric - symbolic) <= 1e-5 * scale, (source, act.derivative_text)


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS)
def test_normalised_text_round_trips(source: str) -> None:
    act = parse_activation(source)
    again = parse_activation(act.text)
    assert again.text == act.text
    assert again.latex == act.latex
    assert again.derivative_text == act.derivative_text
    z = np.linspace(-2.0, 2.0, 9)
    np.testing.assert_array_equal(again(z), act(z))
    np.testing.assert_array_equal(again.derivative(z), act.derivative(z))


def _parses_or_refuses(source: str, max_length: int = 1000) -> str:
    """'parsed' (a usable activation whose text parses back to itself) or 'refused' (an
    ExpressionError pointing into the text); anything else raises."""
    try:
        act = parse_activation(source, max_length=max_length)
    except ExpressionError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(source)
        assert str(exc)
        return "refused"
    z = np.array([-1.0, 0.0, 2.0])
    assert act(z).shape == act.derivative(z).shape == (3,)
    assert parse_activation(act.text, max_length=10**6).text == act.text
    return "parsed"


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_is_refused(source: str) -> None:
    outcome = _parses_or_refuses(source)
    assert outcome in ("parsed", "refused")
    assert outcome == "refused" or source.strip()  # empty or blank text is never an activation


SOUP = st.lists(
    st.sampled_from(
        [
            "x",
            "x",
            "(",
            "(",
            ")",
            ")",
            "+",
            "-",
            "*",
            "/",
            "**",
            "^",
            ",",
            ".",
            " ",
            "2",
            "0.5",
            "1e3",
            "e",
            "pi",
            "relu",
            "sin",
            "sigmoid",
            "leaky_relu",
            "elu",
            "log",
            "abs",
            "tanh",
            "1e999",
            "=",
            "alpha",
            "[",
            "'",
            "softmax",
            "identity",
            "y",
        ]
    ),
    max_size=400,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(SOUP)
def test_token_soup_parses_or_is_refused(source: str) -> None:
    start = time.perf_counter()
    assert _parses_or_refuses(source, max_length=10**6) in ("parsed", "refused")
    assert time.perf_counter() - start < 1.0

"""Issue 13, graded derivations: the course's equations, as students write them, through
`nncalc verify`.

The course (../shared/seed) gives 10 of Problem 1's 20 points for equations, one point
each; `problems/a4.yaml` carries them under `grading.equations`.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import COURSE_EQUATIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
#: The course's Problem 1: 10 points for numbers, 10 for equations (grading.equations).
A4 = ROOT / "problems" / "a4.yaml"
CNN = ROOT / "problems" / "cnn.yaml"
RNN = ROOT / "problems" / "rnn.yaml"
XOR = ROOT / "problems" / "batch_xor.yaml"

#: The seed's worked solution, typed three ways (its LaTeX as printed in the solution).
PLAIN = COURSE_EQUATIONS
LATEX = {
    "Z1": r"Z_1 = W_1 x + b_1",
    "Z2": r"\boldsymbol{Z}_2 = \boldsymbol{W}_2 \boldsymbol{H} + \boldsymbol{b}_2",
    "y_hat": r"\hat{y}_i = \frac{e^{z_i}}{\sum_j e^{z_j}}",
    "delta2": r"\boldsymbol{\delta}_2 = \hat{\boldsymbol{y}} - \boldsymbol{y}",
    "dW2": r"\frac{\partial L}{\partial \boldsymbol{W}_2} = \boldsymbol{\delta}_2 H^T",
    "db2": r"\frac{\partial L}{\partial \boldsymbol{b}_2} = \boldsymbol{\delta}_2",
    "delta1": (
        r"\boldsymbol{\delta}_1 = (\boldsymbol{W}_2^T \boldsymbol{\delta}_2)"
        r" \odot f'(\boldsymbol{Z}_1)"
    ),
    "fprime1": (
        r"f'(x) = \begin{cases} 1 + \cos(x) & \text{if } x > 0 \\"
        r" \cos(x) & \text{if } x \le 0 \end{cases}"
    ),
    "dW1": r"\frac{\partial L}{\partial \boldsymbol{W}_1} = \boldsymbol{\delta}_1 \boldsymbol{x}^T",
    "db1": r"\frac{\partial L}{\partial \boldsymbol{b}_1} = \boldsymbol{\delta}_1",
}  # fmt: skip
NUMPY = {
    "Z1": "np.dot(W1, x) + b1",
    "Z2": "W2 @ H + b2",
    "y_hat": "np.exp(Z2) / np.sum(np.exp(Z2))",
    "delta2": "y_hat - y",
    "dW2": "np.outer(delta2, H)",
    "db2": "delta2",
    "delta1": "np.dot(W2.T, delta2) * fprime1",
    "fprime1": "np.where(x > 0, 1 + np.cos(x), np.cos(x))",
    "dW1": "np.outer(delta1, x)",
    "db1": "delta1",
}


def verify(
    tmp_path: Path,
    equations: dict[str, Any],
    answers: dict[str, Any] | None = None,
    problem: Path = A4,
    fmt: str = "json",
) -> Any:
    """`nncalc verify --problem … --format json` on a sheet; its one JSON line."""
    path = tmp_path / "sheet.yaml"
    sheet = {"student": "sheet", "answers": answers or {}, "equations": equations}
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", str(path), "--problem", str(problem), "-f", fmt])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout.splitlines()[0]) if fmt == "json" else result.stdout


def formulas(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The formulas the sheet wrote (not the missing ones), by quantity."""
    items = line["items"]
    return {i["name"]: i for i in items if i["kind"] == "equation" and i["verdict"] != "missing"}


def equation_points(line: dict[str, Any]) -> float:
    return sum(item["points"] for item in formulas(line).values())


@pytest.mark.parametrize("written", [PLAIN, LATEX, NUMPY], ids=["plain", "latex", "numpy"])
def test_the_worked_solution_earns_all_ten_equation_points(
    tmp_path: Path, written: dict[str, str]
) -> None:
    line = verify(tmp_path, written)
    items = formulas(line)
    assert {n: i["verdict"] for n, i in items.items()} == dict.fromkeys(
        ["Z1", "Z2", "A2", "delta2", "dW2", "db2", "fprime1", "delta1", "dW1", "db1"], "correct"
    )
    assert equation_points(line) == 10
    assert line["max_score"] == 20  # 10 for the numbers (none written), 10 for equations


def test_other_right_forms_are_right_too(tmp_path: Path) -> None:
    line = verify(
        tmp_path,
        {
            "delta2": "softmax(Z2) - y",  # ŷ − y by its definition
            "dW2": "(y_hat - y) H^T",
            "delta1": "W2ᵀ·δ2 ∘ (1[Z1 > 0] + cos(Z1))",
            "f'": "{1 + cos(x), x > 0; cos(x), otherwise}",
            "Z1": "b1 + W1·x",
            "db1": "dL/dZ1",
        },
    )
    assert {n: i["verdict"] for n, i in formulas(line).items()} == dict.fromkeys(
        ["Z1", "delta2", "dW2", "fprime1", "delta1", "db1"], "correct"
    )


@pytest.mark.parametrize(
    ("name", "formula", "hint"),
    [
        ("dW1", "x delta1^T", "transposed (x·δᵀ for δ·xᵀ)"),
        ("delta1", "(W2^T delta2) · f'(Z1)", "a matrix product where an elementwise product (⊙) belongs"),  # noqa: E501
        ("Z1", "W1 ⊙ x + b1", "an elementwise product (⊙) where a matrix product belongs"),
        ("delta1", "W2^T delta2", "f′ is missing: the error is not passed through f′(Z)"),
        ("delta1", "(W2^T delta2) ⊙ f'(H)", "f′ is taken at the activation (H) instead of the net input (Z)"),  # noqa: E501
        ("delta2", "y - y_hat", "the sign is flipped"),
        ("Z1", "W1 x", "the bias b1 is missing"),
        ("Z2", "W1 H + b2", "the weights of the wrong layer"),
        ("dW2", "delta2 H", "a transpose is missing"),
    ],
)  # fmt: skip
def test_each_classic_slip_loses_its_point_with_its_hint(
    tmp_path: Path, name: str, formula: str, hint: str
) -> None:
    line = verify(tmp_path, {**PLAIN, name: formula})
    item = next(i for i in formulas(line).values() if i["name"] == name)
    assert (item["verdict"], item["points"], item["hint"]) == ("wrong", 0, hint)
    assert equation_points(line) == 9


def test_the_batch_mean_missing_is_named(tmp_path: Path) -> None:
    line = verify(tmp_path, {"delta2": "y_hat - y", "dW2": "delta2 H^T"}, problem=XOR)
    items = formulas(line)
    assert items["delta2"]["hint"] == "the 1/B of the batch mean is missing"
    assert items["dW2"]["verdict"] == "correct"  # δ2 already holds the 1/B
    mean = verify(tmp_path, {"delta2": "(y_hat - y) / B"}, problem=XOR)
    assert formulas(mean)["delta2"]["verdict"] == "correct"


def test_right_only_at_the_problems_own_numbers_is_wrong(tmp_path: Path) -> None:
    """a4's Z1 is positive everywhere and y is one-hot: formulas that agree there, and only
    there, are wrong."""
    line = verify(
        tmp_path,
        {"f'": "1 + cos(x)", "delta2": "y_hat - y ⊙ y", "db1": "delta1 ⊙ (Z1 > 0)"},
    )
    assert {n: i["verdict"] for n, i in formulas(line).items()} == {
        "delta2": "wrong",
        "fprime1": "wrong",
        "db1": "wrong",
    }


def test_a_formula_may_not_use_its_own_quantity_or_a_later_one(tmp_path: Path) -> None:
    line = verify(tmp_path, {"delta2": "delta2", "dW1": "(W1 - W1_new) / alpha"})
    items = formulas(line)
    assert items["delta2"]["hint"] == "it defines delta2 by itself"
    assert items["dW1"]["hint"] == ("it uses W1_new, which the worked solution computes after this")
    assert equation_points(line) == 0


def test_a_formula_that_does_not_parse_is_invalid_with_its_position(tmp_path: Path) -> None:
    line = verify(tmp_path, {"Z1": "W1 x +", "Z2": "W2 H + b3", "delta1": "inv(W2) delta2"})
    items = formulas(line)
    assert items["Z1"]["verdict"] == "invalid"
    assert "column" in items["Z1"]["reason"]
    assert items["Z2"]["reason"] == "unknown name 'b3'"
    assert "unknown function 'inv'" in items["delta1"]["reason"]


def test_an_unknown_formula_name_is_invalid(tmp_path: Path) -> None:
    line = verify(tmp_path, {"Z9": "W1 x"})
    item = line["items"][-1]
    assert (item["kind"], item["verdict"], item["reason"]) == (
        "equation",
        "invalid",
        "unknown quantity 'Z9'",
    )


def test_numbers_that_follow_a_wrong_formula_earn_follow_through(tmp_path: Path) -> None:
    """δ1 written as W2ᵀδ2 (f′ forgotten) and computed that way: charged once, at the
    equation; δ1's numbers and everything after follow through."""
    from nncalc.grading import Grader
    from nncalc.problem import load_problem

    grader = Grader(load_problem(A4))
    exact = {n: grader.expected[n] for n in grader.names}
    answers: dict[str, Any] = {}
    for name in ("Z1", "A1", "Z2", "A2", "dW2", "db2", "W2_new", "b2_new", "dA1"):
        answers[name] = [round(float(v), 4) for v in exact[name].ravel()]
        if exact[name].ndim == 2:
            answers[name] = exact[name].round(4).tolist()
    delta1 = np.asarray(exact["dA1"], dtype=float)  # f′ forgotten
    x = np.array([1, -1, 0.5, 2])
    answers["delta1"] = delta1.round(4).tolist()
    answers["dW1"] = np.outer(delta1, x).round(4).tolist()
    answers["db1"] = delta1.round(4).tolist()
    w1 = np.array(yaml.safe_load(A4.read_text())["parameters"]["W1"])
    b1 = np.array(yaml.safe_load(A4.read_text())["parameters"]["b1"])
    answers["W1'"] = (w1 - 0.001 * np.outer(delta1, x)).round(4).tolist()
    answers["b1'"] = (b1 - 0.001 * delta1).round(4).tolist()
    line = verify(tmp_path, {**PLAIN, "delta1": "W2^T delta2"}, answers)
    values = {i["name"]: i for i in line["items"] if i["kind"] == "value"}
    assert formulas(line)["delta1"]["points"] == 0
    assert values["delta1"]["verdict"] == "follow_through"
    assert values["delta1"]["hint"] == "follows from your equation for delta1, which was wrong"
    for name in ("dW1", "db1", "W1_new", "b1_new"):
        assert values[name]["verdict"] in ("follow_through", "correct"), name
    assert line["score"] == 19


def test_template_has_empty_equation_slots(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["template", str(A4)])
    assert result.exit_code == 0
    block = result.stdout.split("equations:\n", 1)[1]
    assert "  Z1: null   # 1 pt; Z1\n" in block
    assert "  delta1: null   # 1 pt; δ1\n" in block
    assert "W1·x" not in block and "f1'(Z1) =" not in block
    key = CliRunner().invoke(app, ["template", str(A4), "--with-equations"]).stdout
    assert yaml.safe_load(key)["equations"]["Z1"] == "W1·x + b1"


def test_the_instructors_key_with_equations_scores_full_marks(tmp_path: Path) -> None:
    """`template --with-equations`, the engine's own formulas, filled in: all correct."""
    key = CliRunner().invoke(app, ["template", str(A4), "--with-equations"]).stdout
    sheet = yaml.safe_load(key)
    line = verify(tmp_path, sheet["equations"])
    assert all(i["verdict"] == "correct" for i in formulas(line).values())
    assert equation_points(line) == 10


def test_json_marks_each_item_with_its_kind_and_typesets_formulas(tmp_path: Path) -> None:
    line = verify(tmp_path, {"dW2": r"\delta_2 H^\top"}, {"Z1": [1.35, 0.35, 0.6]})
    kinds = {(i["name"], i["kind"]) for i in line["items"]}
    assert ("Z1", "value") in kinds and ("dW2", "equation") in kinds
    dw2 = formulas(line)["dW2"]
    assert dw2["answer"] == r"\delta_2 H^\top"  # as the student wrote it
    assert dw2["latex"] == r"\delta_{2} H^{\top}"


def test_markdown_shows_the_formula_as_written_and_typeset(tmp_path: Path) -> None:
    out = verify(tmp_path, {"dW2": "delta2 H^T"}, fmt="markdown")
    assert "| dW2 equation | `delta2 H^T` $\\delta_{2} H^{\\top}$ | ✓ correct | 1 / 1 |" in out


def test_latex_shows_the_formula_as_written_and_typeset(tmp_path: Path) -> None:
    out = verify(tmp_path, {"dW2": "delta2 H^T", "Z1": "W1 x + ƀ"}, fmt="latex")
    assert (
        r"dW2 equation & \texttt{delta2 H\^{}T}\newline $\delta_{2} H^{\top}$ & "
        r"\ensuremath{\surd} correct & 1 / 1 &  \\"
    ) in out
    # a name nncalc cannot typeset as ASCII is shown as written only
    assert r"Z1 equation & \texttt{W1 x + {[}U+0180{]}} & ! invalid & 0 / 1 & " in out


def test_html_typesets_the_formula_in_mathml(tmp_path: Path) -> None:
    out = verify(
        tmp_path, {"dW2": r"\delta_2 H^\top", "Z1": "W1 x + ƀ", "Z2": "<b>W2</b>"}, fmt="html"
    )
    assert (
        "<code>\\delta_2 H^\\top</code><br>"
        '<math display="inline"><mrow><msub><mi>δ</mi><mrow><mn>2</mn></mrow></msub>'
        "<msup><mi>H</mi><mrow><mo>⊤</mo></mrow></msup></mrow></math>"
    ) in out
    # what MathML cannot be made of (a name outside ASCII's LaTeX) is shown as text
    assert '<code>W1 x + ƀ</code><br><span class="formula">W1·x + ƀ</span>' in out
    assert "<b>W2</b>" not in out and "&lt;b&gt;W2&lt;/b&gt;" in out


def test_cnn_kernel_gradient_is_a_cross_correlation(tmp_path: Path) -> None:
    line = verify(
        tmp_path,
        {"Z1": "W1 ⋆ x + b1", "dW1": "x ⋆ delta1", "db1": "Σ_{b,p,q} δ1", "A3": "flatten(A2)"},
        problem=CNN,
    )
    assert {n: i["verdict"] for n, i in formulas(line).items()} == dict.fromkeys(
        ["Z1", "A3", "dW1", "db1"], "correct"
    )


def test_rnn_weight_gradient_is_a_sum_over_time(tmp_path: Path) -> None:
    line = verify(
        tmp_path,
        {
            "dWh1": r"\sum_t \delta_1^{(t)} h_{t-1}^\top",
            "dWx1": "Σ_t δ1_t x_tᵀ",
            "db1": "sum_t delta1_t",
            "h_2": "tanh(Wx1 x_2 + Wh1 h_1 + b1)",
        },
        problem=RNN,
    )
    assert {n: i["verdict"] for n, i in formulas(line).items()} == dict.fromkeys(
        ["A1_t2", "dWx1", "dWh1", "db1"], "correct"
    )
    one_step = verify(tmp_path, {"dWh1": "delta1_t3 h_2^T"}, problem=RNN)
    assert formulas(one_step)["dWh1"]["verdict"] == "wrong"


# -- property: the engine's own equations are right; one slip makes them wrong ----------

ACTIVATIONS = ["relu", "tanh", "sigmoid", "identity", "relu(x) + sin(x)", "leaky_relu(x, 0.1)"]
OUTPUTS = [
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("identity", "mse"),
]


@st.composite
def dense_problems(draw: st.DrawFn) -> Any:
    """A random dense network: 1–3 layers of 2–4 units, any activation, 1–2 samples."""
    from nncalc.problem import problem_from_dict

    inputs = draw(st.integers(2, 4))
    hidden = draw(st.lists(st.integers(2, 4), min_size=0, max_size=2))
    output, loss = draw(st.sampled_from(OUTPUTS))
    units = [*hidden, draw(st.integers(2, 3))]
    layers = [{"units": u, "activation": draw(st.sampled_from(ACTIVATIONS))} for u in hidden]
    layers.append({"units": units[-1], "activation": output})
    batch = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    sizes = [inputs, *units]
    parameters: dict[str, Any] = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        parameters[f"W{i}"] = rng.normal(0, 0.5, (n_out, n_in)).round(2).tolist()
        parameters[f"b{i}"] = rng.normal(0, 0.5, n_out).round(2).tolist()
    x = rng.normal(0, 1, (batch, inputs)).round(2)
    y = np.eye(units[-1])[rng.integers(units[-1], size=batch)]
    spec = {
        "network": {"input": inputs, "layers": layers},
        "loss": loss,
        "learning_rate": 0.1,
        "parameters": parameters,
        "x": x.tolist() if batch > 1 else x[0].tolist(),
        "y": y.tolist() if batch > 1 else y[0].tolist(),
    }
    return problem_from_dict(spec)


def _slips(tree: Any, shape_of: Any, entrywise: bool) -> list[Any]:
    """Single slips of a formula that change its value: a transpose of a non-square,
    non-scalar operand, the kind of a product of two non-scalars swapped, the sign (not
    inside a Σ, whose summand is indexed: Σ yᵀ·log ŷ is Σ y·log ŷ)."""
    from nncalc import notation as nt
    from nncalc.derivations import _paths, _put

    slipped = [nt.Neg(tree, pos=0)]
    for path, part in _paths(tree):
        if "body" in path:
            continue
        shape = shape_of(part)
        if shape is None:
            continue
        if isinstance(part, nt.Sym) and shape[0] != shape[1]:
            slipped.append(_put(tree, path, nt.Transpose(part, pos=part.pos)))
        if isinstance(part, (nt.MatMul, nt.Hadamard)) and not entrywise:
            a, b = shape_of(part.a), shape_of(part.b)
            if a and b and (1, 1) not in (a, b):
                kind = nt.Hadamard if isinstance(part, nt.MatMul) else nt.MatMul
                slipped.append(_put(tree, path, kind(part.a, part.b, pos=part.pos)))
    return slipped


@settings(max_examples=25, deadline=None)
@given(dense_problems())
def test_engine_equations_are_right_and_one_slip_makes_them_wrong(problem: Any) -> None:
    from nncalc import notation as nt
    from nncalc.derivations import FormulaMismatchError
    from nncalc.grading import Grader

    grader = Grader(problem)
    derivations = grader.derivations
    for name in grader.names:
        equation = grader.network.equation(name)
        for written in (equation.text, equation.latex):
            rhs = written.partition(" = ")[2]
            judged = derivations.judge(name, rhs)
            assert judged.verdict == "correct", (name, rhs, judged.message)
        tree = nt.parse_equation(equation.text.partition(" = ")[2]).sides[-1]
        context = derivations.context(name)

        def shape_of(node: Any, context: Any = context) -> tuple[int, int] | None:
            try:
                return tuple(derivations._evaluate_worlds(node, context).shape[-2:])  # type: ignore[return-value]
            except FormulaMismatchError:
                return None

        for slipped in _slips(tree, shape_of, context.entrywise):
            verdict = derivations.judge(name, nt.text(slipped))
            assert verdict.verdict == "wrong", (name, nt.text(slipped))

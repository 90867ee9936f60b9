"""A new optimizer is one vocabulary entry plus its update rule, and nothing else.

The made-up optimizer "halving" keeps a state h, half the gradient plus a share κ of its
previous value, and steps along it:

    h' = κ·h + g/2;  θ' = θ − α·h'        (κ = 0.5 unless the file says otherwise)

It is added by touching only ``vocabulary.OPTIMIZERS`` and registering one update rule;
the loader, the engine, the renderers and ``nncalc schema`` must then all know it. The
expected numbers are worked out by hand on the example of tests/test_optimizers.py: one
identity unit, half_sse, x = [1, 2], W1 = [[0.5, −0.25]], b1 = [0.1], y = 1, so
dW1 = [[−0.9, −1.8]] and db1 = [−0.9].
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import nncalc
from nncalc import optimizers, vocabulary
from nncalc.cli import app
from nncalc.formula import Formula
from nncalc.names import canonical_name
from nncalc.optimizers import Numbers, Optimizer, Symbols, UpdateRule, rule
from nncalc.vocabulary import OptimizerWords, Setting

HALVING = OptimizerWords(
    "h' = κ·h + g/2, θ' = θ − α·h'",
    {"keep": Setting(0.5, "κ in [0, 1): the share of the previous h kept")},
    ("half",),
    symbols={"half": "h"},
)


@pytest.fixture
def halving(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The optimizer "halving": its vocabulary entry and its update rule, for one test."""
    monkeypatch.setitem(vocabulary.OPTIMIZERS, "halving", HALVING)
    monkeypatch.setattr(optimizers, "RULES", dict(optimizers.RULES))
    canonical_name.cache_clear()  # names read before (or after) this test knew no half_W1

    @rule("halving")
    class Halving(UpdateRule):
        def compute(self, kind: str, o: Optimizer, n: Numbers) -> Any:
            if kind == "half":
                return o["keep"] * n.before["half"] + n.g / 2  # h' = κ·h + g/2
            return n.theta - n.rate * n.state["half"]  # θ' = θ − α·h'

        def equation(self, kind: str, o: Optimizer, s: Symbols) -> Formula:
            if kind == "half":
                before = s.before("half")
                return Formula(
                    f"{o['keep']:g}·{before.text} + {s.g.text}/2",
                    rf"{o['keep']:g}\,{before.latex} + \frac{{{s.g.latex}}}{{2}}",
                )
            return s.theta - Formula(f"{s.rate:g}·{s.state('half').text}", "")

    assert Halving  # registered by the decorator
    yield
    canonical_name.cache_clear()


def example(optimizer: Any) -> dict[str, Any]:
    return {
        "network": {"input": 2, "layers": [{"units": 1, "activation": "identity"}]},
        "loss": "half_sse",
        "learning_rate": 0.1,
        "optimizer": optimizer,
        "parameters": {"W1": [[0.5, -0.25]], "b1": [0.1]},
        "x": [1.0, 2.0],
        "y": [1.0],
    }


@pytest.mark.usefixtures("halving")
def test_a_new_optimizer_updates_by_its_rule() -> None:
    given = {"name": "halving", "keep": 0.25, "state": {"half_W1": [[0.2, -0.4]]}}
    values = nncalc.solve(nncalc.problem_from_dict(example(given))).values
    # h_W1 = 0.25·[0.2, −0.4] + [−0.9, −1.8]/2 = [0.05 − 0.45, −0.1 − 0.9] = [−0.4, −1.0]
    # W1' = [0.5, −0.25] − 0.1·[−0.4, −1.0] = [0.54, −0.15]
    # h_b1 = 0.25·0 + (−0.9)/2 = −0.45 (no state given: zeros); b1' = 0.1 + 0.045 = 0.145
    expected = {"half_W1": [[-0.4, -1.0]], "W1_new": [[0.54, -0.15]]}
    expected |= {"half_b1": [-0.45], "b1_new": [0.145]}
    for name, value in expected.items():
        np.testing.assert_allclose(values[name], value, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.usefixtures("halving")
def test_a_new_optimizer_uses_its_default_setting() -> None:
    values = nncalc.solve(nncalc.problem_from_dict(example("halving"))).values
    # κ = 0.5 and h = 0: h_W1 = [−0.45, −0.9]; W1' = [0.5 + 0.045, −0.25 + 0.09]
    np.testing.assert_allclose(values["half_W1"], [[-0.45, -0.9]], rtol=1e-12)
    np.testing.assert_allclose(values["W1_new"], [[0.545, -0.16]], rtol=1e-12)


@pytest.mark.usefixtures("halving")
def test_a_new_optimizer_is_shown_with_its_equations(tmp_path: Path, runner: CliRunner) -> None:
    problem = tmp_path / "halving.yaml"
    given = {"name": "halving", "keep": 0.25, "state": {"half_W1": [[0.2, -0.4]]}}
    problem.write_text(yaml.safe_dump(example(given)))
    result = runner.invoke(app, ["solve", str(problem), "-f", "plain"])
    assert result.exit_code == 0, result.stderr
    assert "halving (keep = 0.25)" in result.stdout
    assert "half_W1 = 0.25·half_W1(prev) + ∂L/∂W1/2" in result.stdout
    assert "W1' = W1 − 0.1·half_W1" in result.stdout
    shown = runner.invoke(app, ["solve", str(problem), "-f", "json", "-q", "half_b1"])
    (step,) = json.loads(shown.stdout)["steps"]
    assert step["equation"] == "half_b1 = 0.25·half_b1(prev) + ∂L/∂b1/2"
    assert (
        step["latex"]
        == r"h_{b_{1}} = 0.25\,h_{b_{1}}^{(t-1)} + \frac{\frac{\partial L}{\partial b_{1}}}{2}"
    )


@pytest.mark.usefixtures("halving")
def test_a_new_optimizer_is_checked_by_the_loader() -> None:
    with pytest.raises(nncalc.NncalcError, match=r"optimizer.keep: expected a number in \[0, 1\)"):
        nncalc.problem_from_dict(example({"name": "halving", "keep": 1.5}))
    with pytest.raises(
        nncalc.NncalcError, match="halving has no setting 'rho'; its settings: keep"
    ):
        nncalc.problem_from_dict(example({"name": "halving", "rho": 0.5}))
    with pytest.raises(nncalc.NncalcError, match="unknown key 'velocity_W1'"):
        nncalc.problem_from_dict(
            example({"name": "halving", "state": {"velocity_W1": [[0.0, 0.0]]}})
        )


@pytest.mark.usefixtures("halving")
def test_a_new_optimizer_is_in_the_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "problem"])
    assert result.exit_code == 0
    optimizer = json.loads(result.stdout)["properties"]["optimizer"]
    assert "halving" in optimizer["oneOf"][0]["enum"]
    assert "halving: h' = κ·h + g/2, θ' = θ − α·h'" in optimizer["description"]
    (form,) = [f for f in optimizer["oneOf"][1:] if f["properties"]["name"]["const"] == "halving"]
    assert form["required"] == ["name"]
    assert list(form["properties"]) == ["name", "keep", "step", "state"]
    keep = form["properties"]["keep"]
    assert keep["default"] == 0.5
    assert keep["description"].startswith("κ in [0, 1): the share of the previous h kept")
    ((pattern, state),) = form["properties"]["state"]["patternProperties"].items()
    assert pattern == "^half_(?:W[xh]?|b)[1-9][0-9]*$"
    assert state["description"].startswith("h of this parameter before the step")


def test_every_optimizer_has_an_update_rule() -> None:
    assert set(optimizers.RULES) == set(vocabulary.OPTIMIZERS)

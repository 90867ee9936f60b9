"""Quantity names and aliases: the contract other tools read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nncalc.names import canonical_name, course_name


@pytest.mark.parametrize(
    ("alias", "depth", "canonical"),
    [
        ("Z1", 2, "Z1"),
        ("H", 2, "A1"),
        ("y_hat", 2, "A2"),
        ("ŷ", 3, "A3"),
        ("W2T_delta2", 2, "dA1"),
        ("W3ᵀδ3", 3, "dA2"),
        ("W1'", 2, "W1_new"),
        ("b2'", 2, "b2_new"),
        ("δ1", 2, "delta1"),
        ("delta_1", 2, "delta1"),
        ("f'(Z1)", 2, "fprime1"),
        ("dL/dW1", 2, "dW1"),
        ("Z_2", 2, "Z2"),
        ("loss", 2, "loss"),
        ("L", 2, "loss"),
    ],
)
def test_aliases_resolve(alias: str, depth: int, canonical: str) -> None:
    assert canonical_name(alias, depth) == canonical


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        ("H", 3),  # H means A1 only with exactly one hidden layer
        ("Z3", 2),  # no such layer
        ("A0", 2),  # the input is x, not a quantity
        ("W2T_delta1", 2),  # mismatched layers
        ("banana", 2),
        ("", 2),
    ],
)
def test_names_that_do_not_resolve(name: str, depth: int) -> None:
    assert canonical_name(name, depth) is None


@given(
    st.sampled_from(["Z", "A", "delta", "dA", "fprime", "dW", "db"]),
    st.integers(1, 9),
    st.integers(1, 9),
)
def test_every_canonical_name_is_its_own_canonical_name(
    prefix: str, layer: int, depth: int
) -> None:
    name = f"{prefix}{layer}"
    assert canonical_name(name, depth) == (name if layer <= depth else None)


@given(st.text(max_size=30), st.integers(1, 6))
def test_any_text_resolves_to_a_canonical_name_or_none(text: str, depth: int) -> None:
    result = canonical_name(text, depth)
    assert result is None or canonical_name(result, depth) == result


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Z[1]", "Z1"),
        ("Z^{[2]}", "Z2"),
        ("dW^{[2]}", "dW2"),
        ("W^[1]'", "W1_new"),
        ("\\delta^{[1]}", "delta1"),
        ("\\delta_{1}", "delta1"),  # LaTeX subscripts, braced
        ("dW_{2}", "dW2"),
        ("W_{1}'", "W1_new"),
        ("Z^{1}", "Z1"),
        ("\\hat{y}", "A2"),
    ],
)
def test_the_course_notations_for_layer_numbers(written: str, canonical: str) -> None:
    assert course_name(written, 2) == canonical

"""Equations, written once and shown as text (Unicode) or LaTeX; numbers as they are shown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Formula:
    """A piece of an equation in two spellings: Unicode text and LaTeX."""

    text: str
    latex: str

    def __add__(self, other: Formula) -> Formula:
        return Formula(f"{self.text} + {other.text}", f"{self.latex} + {other.latex}")

    def __sub__(self, other: Formula) -> Formula:
        return Formula(f"{self.text} − {other.text}", f"{self.latex} - {other.latex}")

    def __matmul__(self, other: Formula) -> Formula:  # matrix product
        return Formula(f"{self.text}·{other.text}", rf"{self.latex} {other.latex}")

    def __mul__(self, other: Formula) -> Formula:  # elementwise (Hadamard) product
        return Formula(f"{self.text} ⊙ {other.text}", rf"{self.latex} \odot {other.latex}")

    @property
    def T(self) -> Formula:  # noqa: N802 - the usual name for a transpose
        return Formula(f"{self.text}ᵀ", rf"{self.latex}^{{\top}}")

    def paren(self) -> Formula:
        return Formula(f"({self.text})", rf"\left({self.latex}\right)")

    def eq(self, other: Formula) -> Formula:
        return Formula(f"{self.text} = {other.text}", f"{self.latex} = {other.latex}")


def sym(letter: str, layer: int | None = None, latex: str | None = None) -> Formula:
    tex = latex or letter
    if layer is None:
        return Formula(letter, tex)
    return Formula(f"{letter}{layer}", f"{tex}_{{{layer}}}")


def grad(of: Formula) -> Formula:
    """∂L/∂of."""
    return Formula(f"∂L/∂{of.text}", rf"\frac{{\partial L}}{{\partial {of.latex}}}")


def param_symbol(name: str) -> Formula:
    """A parameter as written: W1 → W_{1}, b2 → b_{2}, Wx1 → W_{x,1} (an rnn's input weights)."""
    letters = name.rstrip("0123456789")
    layer = name[len(letters) :]
    if len(letters) == 2:  # Wx, Wh
        return Formula(name, f"{letters[0]}_{{{letters[1]},{layer}}}")
    return sym(letters, int(layer))


#: From this magnitude on, numbers are written as 1.2345e+12: fixed point would print
#: every digit of 1e300 (301 of them) and push the table off the screen.
SCIENTIFIC_FROM = 1e9


def fmt_number(value: float, precision: int) -> str:
    """A number as every format shows it: ``precision`` decimals, never ``-0.0000``."""
    if abs(value) >= SCIENTIFIC_FROM:
        return f"{value:.{precision}e}"  # also inf and nan, as "inf" and "nan"
    text = f"{value:.{precision}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # never show -0.0000
    return text

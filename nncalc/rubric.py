"""How answers are judged: tolerance, points, partial credit and follow-through.

Read from a problem file's optional ``grading:`` section::

    grading:
      points: {Z1: 0.5, H: 1, W1': 1}    # per quantity (aliases allowed); others are worth 0
      tolerance: {decimals: 3}            # or {sigfigs: 3} or {rtol: 0.001, atol: 1e-6}
      partial: element                    # or none (default): all entries must pass
      follow_through: true                # or false, or a fraction of the points, e.g. 0.5
      layout: either                      # or strict: no inputs×outputs (Z = xW + b) sheets
      equations: {Z1: 1, delta2: 1}       # points for the formulas (answers files' equations:)

Without the section every quantity is worth 1 point, the tolerance is 3 decimals,
there is no partial credit and follow-through earns full points. Equations are worth 0
unless ``equations`` gives them points (a sheet's formulas are still judged, as feedback).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nncalc.vocabulary import LAYOUTS, MatrixLayout, ToleranceMode

if TYPE_CHECKING:
    import numpy as np

    from nncalc.validate import Validator

#: Slack added to every bound so that float representation never fails a correct answer
#: (0.1 + 0.2 ≠ 0.3 in binary): a billionth of the bound plus a few units in the last place
#: of the exact value, far below any printed digit at every magnitude.
SLACK = 1e-9
ULPS = 4
#: Slack, in units of the last required decimal, when cutting a number after d decimals:
#: 2.325·1000 is 2324.9999999999995 in binary and must cut to 2325.
TRUNCATION_SLACK = 1e-6
#: Points of one quantity (a bound keeps every total finite).
MAX_POINTS = 1e6


@dataclass(frozen=True)
class Tolerance:
    """When an answer's entry counts as equal to the exact value.

    - ``decimals`` d: |answer − exact| ≤ ½·10⁻ᵈ, i.e. correct to d decimal places
      (d = 3: exact 0.66707 accepts 0.66657 … 0.66757); or the first d decimals are the
      exact value's, cut off rather than rounded (2.325 or 2.3250 for 2.32572).
    - ``sigfigs`` n: |answer − exact| ≤ ½ unit in the n-th significant figure of the
      exact value (n = 3: exact 1.8181 accepts 1.8131 … 1.8231; exact 0 needs 0).
    - ``rtol``/``atol``: |answer − exact| ≤ atol + rtol·|exact| (as numpy.isclose).
    """

    mode: ToleranceMode = "decimals"
    decimals: int = 3
    sigfigs: int = 3
    rtol: float = 0.0
    atol: float = 0.0

    def bound(self, exact: np.ndarray) -> np.ndarray:
        import numpy as np

        with np.errstate(all="ignore"):  # an inf or NaN exact value gives an inf/NaN bound
            return self._bound(np.abs(np.asarray(exact, dtype=float)))

    def _bound(self, exact: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.mode == "decimals":  # the same half unit for every entry
            return 0.5 * 10.0**-self.decimals * (1 + SLACK) + ULPS * np.spacing(exact)
        if self.mode == "sigfigs":
            with np.errstate(divide="ignore"):
                magnitude = np.floor(np.log10(np.where(exact > 0, exact, 1.0)))
            bound = np.where(exact > 0, 0.5 * 10.0 ** (magnitude - self.sigfigs + 1), 0.0)
            return bound * (1 + SLACK) + ULPS * np.spacing(exact)
        return (self.atol + self.rtol * exact) * (1 + SLACK) + ULPS * np.spacing(exact)

    def passes(self, answer: Any, exact: Any, cut: bool = True) -> np.ndarray:
        """Entry by entry: does the answer pass against the exact value? (``cut`` False:
        by rounding only, for recognising a slip, where a cut value proves nothing more.)"""
        import numpy as np

        answer = np.asarray(answer, dtype=float)
        exact = np.asarray(exact, dtype=float)
        passes = np.abs(answer - exact) <= self.bound(exact)  # NaN (an empty entry) fails
        return passes if not cut or passes.all() else passes | self.truncated(answer, exact)

    def truncated(self, answer: Any, exact: Any) -> np.ndarray:
        """Entry by entry: is the answer the exact value cut after d decimals (or after
        more, with right digits)? Only for ``decimals``: trunc(a·10ᵈ) = trunc(e·10ᵈ), with a
        between 0 and e (digits dropped, never added)."""
        import numpy as np

        answer = np.asarray(answer, dtype=float)
        exact = np.asarray(exact, dtype=float)
        if self.mode != "decimals":
            return np.zeros(np.broadcast_shapes(answer.shape, exact.shape), dtype=bool)
        scale = 10.0**self.decimals
        with np.errstate(all="ignore"):  # a millionth of the last decimal absorbs binary error
            # digits dropped, never added: a between 0 and e (within the rounding bound)
            dropped = (answer * exact >= 0) & (np.abs(answer) <= np.abs(exact) + self.bound(exact))
            if not dropped.any():
                return dropped
            cut_answer = np.trunc(answer * scale + np.sign(answer) * TRUNCATION_SLACK)
            cut_exact = np.trunc(exact * scale + np.sign(exact) * TRUNCATION_SLACK)
        return (cut_answer == cut_exact) & dropped  # NaN (an empty entry) fails

    def round(self, value: Any) -> Any:
        """A value as a student who rounds to this tolerance would carry it forward."""
        import numpy as np

        if self.mode == "decimals":
            return np.round(value, self.decimals)
        if self.mode == "sigfigs":
            v = np.asarray(value, dtype=float)
            with np.errstate(divide="ignore"):
                magnitude = np.floor(np.log10(np.where(v != 0, np.abs(v), 1.0)))
            factor = 10.0 ** (self.sigfigs - 1 - magnitude)
            rounded = np.round(v * factor) / factor
            return float(rounded) if np.ndim(value) == 0 else rounded
        return value

    def describe(self) -> str:
        if self.mode == "decimals":
            return f"{self.decimals} decimals"
        if self.mode == "sigfigs":
            return f"{self.sigfigs} significant figures"
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


@dataclass(frozen=True)
class Rubric:
    """Points per quantity and the rules of judging; ``points`` None means 1 each."""

    points: dict[str, float] | None = None  # canonical name → points
    tolerance: Tolerance = field(default_factory=Tolerance)
    partial: bool = False
    follow_through: float = 1.0  # fraction of the points; 0 disables
    #: ``either``: a sheet that writes every matrix transposed (Z = xW + b) is read in
    #: that layout; ``strict``: the problem asks for its own layout, a transposed matrix
    #: is wrong.
    layout: MatrixLayout = "either"
    equations: dict[str, float] = field(default_factory=dict)  # canonical name → points

    def points_for(self, name: str) -> float:
        return 1.0 if self.points is None else self.points.get(name, 0.0)

    def equation_points_for(self, name: str) -> float:
        return self.equations.get(name, 0.0)


def parse_rubric(section: Any, v: Validator, depth: int, recurrent: int) -> Rubric:
    """Validate the ``grading:`` section of a problem of ``depth`` layers (``recurrent``:
    the rnn layer, 0 if none), which the names of ``points`` are read against."""
    spec = v.mapping(
        section,
        "grading",
        ("points", "tolerance", "partial", "follow_through", "layout", "equations"),
    )
    points = _points(spec, "points", v, depth, recurrent) if "points" in spec else None
    equations = _points(spec, "equations", v, depth, recurrent) if "equations" in spec else {}
    tolerance = Tolerance()
    if "tolerance" in spec:
        tolerance = _tolerance(spec["tolerance"], v)
    partial = v.choice(spec.get("partial", "none"), "grading.partial", ("none", "element"))
    follow = spec.get("follow_through", True)
    if isinstance(follow, bool):
        fraction = 1.0 if follow else 0.0
    else:
        fraction = v.number(follow, "grading.follow_through")
        if not 0 <= fraction <= 1:
            raise v.fail(
                "grading.follow_through",
                f"expected true, false or a fraction 0–1, got {fraction:g}",
            )
    chosen = v.choice(spec.get("layout", "either"), "grading.layout", LAYOUTS)
    layout: MatrixLayout = "strict" if chosen == "strict" else "either"
    return Rubric(points, tolerance, partial == "element", fraction, layout, equations)


def _points(
    spec: Mapping[str, Any], key: str, v: Validator, depth: int, recurrent: int
) -> dict[str, float]:
    """``grading.points`` or ``grading.equations``: quantity name (aliases allowed) → points."""
    from nncalc.names import canonical_name

    given = v.mapping(spec[key], f"grading.{key}", _AnyKey())
    points: dict[str, float] = {}
    for name_written, value in given.items():
        path = f"grading.{key}.{name_written}"
        name = canonical_name(str(name_written), depth, recurrent)
        if name is None:
            raise v.fail(path, f"unknown quantity {name_written!r}")
        if name in points:
            raise v.fail(path, f"{name_written!r} names {name}, which already has points")
        number = v.number(value, path)
        if not 0 <= number <= MAX_POINTS:
            raise v.fail(path, f"expected points between 0 and {MAX_POINTS:g}, got {number:g}")
        points[name] = number
    return points


def _tolerance(value: Any, v: Validator) -> Tolerance:
    spec = v.mapping(value, "grading.tolerance", ("decimals", "sigfigs", "rtol", "atol"))
    modes = [m for m in ("decimals", "sigfigs") if m in spec]
    relative = [k for k in ("rtol", "atol") if k in spec]
    if len(modes) + bool(relative) != 1:
        raise v.fail(
            "grading.tolerance",
            "expected exactly one of: decimals, sigfigs, or rtol/atol",
        )
    if modes == ["decimals"]:
        return Tolerance(
            "decimals", decimals=v.integer(spec["decimals"], "grading.tolerance.decimals", 0, 12)
        )
    if modes == ["sigfigs"]:
        return Tolerance(
            "sigfigs", sigfigs=v.integer(spec["sigfigs"], "grading.tolerance.sigfigs", 1, 15)
        )
    rtol = v.number(spec.get("rtol", 0), "grading.tolerance.rtol")
    atol = v.number(spec.get("atol", 0), "grading.tolerance.atol")
    if rtol < 0 or atol < 0 or not (math.isfinite(rtol) and math.isfinite(atol)):
        raise v.fail("grading.tolerance", "expected rtol and atol ≥ 0")
    return Tolerance("relative", rtol=rtol, atol=atol)


class _AnyKey(tuple[str, ...]):
    """An 'allowed keys' collection that admits every key (names are checked after)."""

    def __contains__(self, key: object) -> bool:
        return True

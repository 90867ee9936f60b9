"""Checking parsed YAML against what nncalc expects, with one-line messages.

:class:`Validator` holds the generic checks (a mapping with known keys, a number, a
whole number, a choice, vectors, matrices and tensors of a given shape) that every
loader shares: problem files (:mod:`nncalc.problem`), their ``grading:`` section
(:mod:`nncalc.rubric`) and each layer kind's keys (:mod:`nncalc.layers`).  A failed
check is an :class:`~nncalc.errors.NncalcError` naming the file, the YAML line, the
field path and what was expected versus found.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from nncalc.errors import NncalcError
from nncalc.yamlio import MAX_FILE_BYTES, Document

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Limits:
    """Size limits that keep a hostile file from exhausting memory."""

    max_layers: int = 64
    max_units: int = 100_000
    max_entries: int = 4_000_000  # entries in any one array (a weight matrix, Z for a batch)
    max_batch: int = 100_000
    max_steps: int = 10_000  # time steps of an rnn's input sequence
    max_file_bytes: int = MAX_FILE_BYTES

    @classmethod
    def parse(cls, settings: Sequence[str]) -> Limits:
        """Limits from NAME=VALUE settings, e.g. max_entries=10000000; an error names them
        ``limits``."""
        values: dict[str, int] = {}
        names = [f.name for f in fields(cls)]
        for setting in settings:
            name, _, text = setting.partition("=")
            name = name.strip().replace("-", "_")
            if name not in names:
                raise NncalcError(
                    f"unknown limit {name!r}; expected NAME=VALUE with NAME one of: "
                    + ", ".join(names),
                    argument="limits",
                )
            try:
                value = int(text.replace("_", ""))
            except ValueError:
                raise NncalcError(
                    f"{name}: expected a whole number, got {text!r}", argument="limits"
                ) from None
            if value < 1:
                raise NncalcError(f"{name}: expected a number ≥ 1, got {value}", argument="limits")
            values[name] = value
        return cls(**values)


#: A number written as text (YAML 1.1 reads 1e-3 as a string): ASCII digits only.
NUMBER_TEXT = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"string {shown!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r}"


def shape_of(value: Any) -> str:
    """Describe the shape of a nested list for messages: '3', '3×4' or 'ragged'."""
    if not isinstance(value, (list, tuple)):
        return "a single number" if is_number(value) else describe(value)
    if value and all(isinstance(r, (list, tuple)) for r in value):
        widths = {len(r) for r in value}
        return f"{len(value)}×{widths.pop()}" if len(widths) == 1 else "a ragged matrix"
    return f"{len(value)}"


def count(n: int, word: str) -> str:
    """``n`` and the word, plural unless n is 1: '1 unit', '3 units'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Validator:
    """The generic checks, each failing with the location of the value in ``doc``."""

    def __init__(self, doc: Document, limits: Limits | None = None) -> None:
        self.doc = doc
        self.limits = limits or Limits()

    def fail(self, path: str, message: str) -> NncalcError:
        return self.doc.error(path, message)

    # -- generic pieces ----------------------------------------------------

    def mapping(
        self, value: Any, path: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            what = path if path else "the file"
            raise self.fail(path, f"expected a mapping of keys for {what}, got {describe(value)}")
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else ""
                keys = ", ".join(allowed)
                child = f"{path}.{key}" if path else str(key)
                raise self.fail(child, f"unknown key {key!r}{also}; expected one of: {keys}")
        for key in required:
            if key not in value:
                raise self.fail(path, f"missing required key {key!r}")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-3 as a string
        if not is_number(value):
            raise self.fail(path, f"expected a number, got {describe(value)}")
        try:
            result = float(value)
        except OverflowError:
            raise self.fail(
                path,
                "expected a number that fits a float, got an integer with "
                f"{len(str(value))} digits",
            ) from None
        if not math.isfinite(result):
            raise self.fail(path, f"expected a finite number, got {result}")
        return result

    def integer(self, value: Any, path: str, low: int, high: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(path, f"expected a whole number, got {describe(value)}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(path, f"expected a whole number {bound}, got {value}")
        return value

    def choice(self, value: Any, path: str, options: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in options:
            hint = difflib.get_close_matches(str(value), options, n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.fail(
                path, f"expected one of {', '.join(options)}; got {describe(value)}{also}"
            )
        return str(value)

    def vector(self, value: Any, path: str, length: int, what: str) -> list[float]:
        if (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(r, (list, tuple)) and len(r) == 1 for r in value)
        ):
            value = [r[0] for r in value]  # a column written as [[a], [b]]
        if length == 1 and is_scalar(value):
            value = [value]  # one number for a vector of one, as for a 1-unit layer's bias
        if not isinstance(value, (list, tuple)) or len(value) != length:
            raise self.fail(
                path, f"expected {count(length, 'number')} ({what}), got {shape_of(value)}"
            )
        return [self.number(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def matrix(self, value: Any, path: str, rows: int, cols: int, what: str) -> list[list[float]]:
        ok = (
            isinstance(value, (list, tuple))
            and len(value) == rows
            and all(isinstance(r, (list, tuple)) and len(r) == cols for r in value)
        )
        if not ok:
            raise self.fail(path, f"expected shape {rows}×{cols} ({what}), got {shape_of(value)}")
        return [
            [self.number(v, f"{path}[{i}][{j}]") for j, v in enumerate(row)]
            for i, row in enumerate(value)
        ]

    def pair(self, value: Any, path: str) -> tuple[int, int]:
        """A window size or stride: n (n × n) or [height, width]."""
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise self.fail(path, f"expected a size or [height, width], got {shape_of(value)}")
            kh, kw = (self.integer(v, f"{path}[{k}]", 1, 1000) for k, v in enumerate(value))
            return kh, kw
        size = self.integer(value, path, 1, 1000)
        return size, size

    def tensor(self, value: Any, path: str, shape: tuple[int, ...], what: str) -> np.ndarray:
        """Nested lists of exactly ``shape``; leading sizes of 1 may be left out (a
        one-channel image as a matrix, a 1×1×3×3 kernel bank as 3×3)."""
        import numpy as np

        if hasattr(value, "shape"):  # an array from a program
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape not in (shape, drop_leading_ones(shape)):
                raise self.fail(
                    path, f"expected shape {dims(shape)} ({what}), got {dims(arr.shape)}"
                )
            if not np.isfinite(arr).all():
                raise self.fail(path, "expected finite numbers, found NaN or inf")
            return arr.reshape(shape)
        got = nested_shape(value)
        if got not in (shape, drop_leading_ones(shape)):
            raise self.fail(
                path, f"expected shape {dims(shape)} ({what}), got {describe_shape(value, got)}"
            )
        flat = list(flatten(value))
        if not all(is_number(v) and not too_big(v) for v in flat):
            for index in np.ndindex(*got):
                entry = value
                for k in index:
                    entry = entry[k]
                self.number(entry, path + "".join(f"[{k}]" for k in index))
        arr = np.asarray([float(v) for v in flat], dtype=np.float64)
        if not np.isfinite(arr).all():
            raise self.fail(path, "expected finite numbers, found NaN or inf")
        return arr.reshape(shape)


def too_big(value: Any) -> bool:
    """An integer that no float holds (YAML reads 10**400 as a Python int)."""
    return isinstance(value, int) and abs(value) > 2**1023


def is_scalar(value: Any) -> bool:
    """A number, or text that may be one (checked when read): not a list or mapping."""
    return not isinstance(value, (list, tuple, Mapping))


def nesting_depth(value: Any) -> int:
    """How many levels of lists, following first entries: 2 for [[1, 2]], 0 for a number."""
    depth = 0
    while isinstance(value, (list, tuple)) and value:
        depth += 1
        value = value[0]
    return depth


def nested_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of rectangular nested lists (numbers at the leaves), or None."""
    if not isinstance(value, (list, tuple)):
        return ()
    if not value:
        return (0,)
    inner = {nested_shape(v) for v in value}
    if len(inner) != 1:
        return None
    shape = inner.pop()
    return None if shape is None else (len(value), *shape)


def flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from flatten(v)
    else:
        yield value


def drop_leading_ones(shape: tuple[int, ...], keep: int = 2) -> tuple[int, ...]:
    """The shape without its leading sizes of 1, keeping at least ``keep`` axes: a
    one-channel image (1, H, W) is (H, W), a 1×1×3×3 kernel bank 3×3."""
    while len(shape) > keep and shape[0] == 1:
        shape = shape[1:]
    return shape


def dims(shape: Sequence[int]) -> str:
    return "×".join(map(str, shape))


def describe_shape(value: Any, shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "ragged lists"
    if shape == ():
        return describe(value)
    return dims(shape)
